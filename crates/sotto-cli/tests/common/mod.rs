//! Shared glue of the end-to-end tests: real `sotto-relay` processes on
//! loopback, profile directories driven through the `sotto` binary, `sotto
//! listen` followers, and condition waits with generous deadlines (the tests
//! run on loaded machines: they wait for what they need, never for a fixed
//! time).

// Each test binary uses a different part of this module.
#![allow(dead_code)]

pub(crate) mod proxy;

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

pub(crate) const SOTTO: &str = env!("CARGO_BIN_EXE_sotto");

/// How long a test waits for something that should happen soon.
pub(crate) const PATIENCE: Duration = Duration::from_secs(60);

/// A binary of the workspace beside `sotto`, built first if it is not there.
pub(crate) fn workspace_binary(package: &str, name: &str, extra: &[&str]) -> PathBuf {
    let dir = Path::new(SOTTO).parent().unwrap();
    let binary = dir.join(name);
    if !binary.exists() {
        let target = dir.parent().unwrap();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let status = Command::new(cargo)
            .args(["build", "-p", package])
            .args(extra)
            .env("CARGO_TARGET_DIR", target)
            .status()
            .unwrap();
        assert!(status.success(), "building {name} failed");
    }
    binary
}

/// The relay binary beside `sotto`, built first if it is not there.
pub(crate) fn relay_binary() -> PathBuf {
    workspace_binary("sotto-relay", "sotto-relay", &[])
}

/// Calls `check` until it returns `Some`, or panics after [`PATIENCE`].
pub(crate) fn wait_until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A running relay process, killed on drop. Its stderr log goes to a file in
/// its data directory's parent.
pub(crate) struct Relay {
    child: Option<Child>,
    pub(crate) address: String,
    pub(crate) data: tempfile::TempDir,
    binary: PathBuf,
    args: Vec<String>,
    log: PathBuf,
}

impl Relay {
    pub(crate) fn start() -> Relay {
        Relay::start_with(&[])
    }

    /// A relay with extra command-line options.
    pub(crate) fn start_with(args: &[&str]) -> Relay {
        Relay::start_binary(relay_binary(), args)
    }

    /// Any binary that takes the relay's `--listen`, `--data` and
    /// `--log-level` options and prints `relay address: …` when it listens.
    pub(crate) fn start_binary(binary: PathBuf, args: &[&str]) -> Relay {
        let data = tempfile::tempdir().unwrap();
        let log = data.path().join("stderr.log");
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let (child, address) = spawn_relay(&binary, data.path(), "127.0.0.1:0", &args, &log);
        Relay {
            child: Some(child),
            address,
            data,
            binary,
            args,
            log,
        }
    }

    /// The port the relay listens on.
    pub(crate) fn port(&self) -> u16 {
        self.address.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// The certificate fingerprint in a TLS relay's address
    /// (`sotto://FINGERPRINT@host:port`).
    pub(crate) fn fingerprint(&self) -> &str {
        let rest = self.address.strip_prefix("sotto://").unwrap();
        rest.split('@').next().unwrap()
    }

    /// Kills the relay process (its data stays).
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the relay again on the same port and data.
    pub(crate) fn start_again(&mut self) {
        assert!(self.child.is_none(), "the relay is running");
        let listen = format!("127.0.0.1:{}", self.port());
        let (child, address) = spawn_relay(
            &self.binary,
            self.data.path(),
            &listen,
            &self.args,
            &self.log,
        );
        assert_eq!(address, self.address);
        self.child = Some(child);
    }

    /// Kills the relay and starts it again on the same port and data.
    pub(crate) fn restart(&mut self) {
        self.stop();
        self.start_again();
    }

    /// Everything the relay logged on stderr so far (every run).
    pub(crate) fn log(&self) -> Vec<u8> {
        std::fs::read(&self.log).unwrap_or_default()
    }
}

// The child is waited for by `Relay`.
#[allow(clippy::zombie_processes)]
fn spawn_relay(
    binary: &Path,
    data: &Path,
    listen: &str,
    args: &[String],
    log: &Path,
) -> (Child, String) {
    let log = File::options().create(true).append(true).open(log).unwrap();
    let mut child = Command::new(binary)
        .args(["--listen", listen, "--data"])
        .arg(data.join("relay"))
        .args(["--log-level", "info"])
        .args(args)
        .env_remove("SOTTO_RELAY_PASSWORD")
        .env_remove("SOTTO_RELAY_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = lines.send(line);
        }
    });
    loop {
        let line = received
            .recv_timeout(PATIENCE)
            .expect("the relay did not print its address");
        if let Some(address) = line.strip_prefix("relay address: ") {
            return (child, address.trim().to_owned());
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One profile directory driven through the `sotto` binary.
#[derive(Clone)]
pub(crate) struct Profile {
    pub(crate) dir: PathBuf,
    pub(crate) passphrase: String,
    pub(crate) socks5: Option<String>,
    /// A PEM file of the only certificates the client trusts
    /// (`SSL_CERT_FILE`), instead of the system's.
    pub(crate) trusted_certificates: Option<PathBuf>,
    /// `--timeout`: how long a command waits for relays.
    pub(crate) timeout_secs: u64,
}

impl Profile {
    pub(crate) fn new(root: &Path, name: &str) -> Profile {
        Profile {
            dir: root.join(name),
            passphrase: "correct horse".to_owned(),
            socks5: None,
            trusted_certificates: None,
            timeout_secs: 30,
        }
    }

    /// A new profile, created with `init` on `relay`.
    pub(crate) fn init(root: &Path, name: &str, relay: &Relay) -> Profile {
        let profile = Profile::new(root, &name.to_lowercase());
        let created = profile.run(&["init", "--name", name, "--relay", &relay.address]);
        assert_eq!(created["name"], name);
        profile
    }

    pub(crate) fn command(&self) -> Command {
        let mut command = Command::new(SOTTO);
        command
            .arg("--profile")
            .arg(&self.dir)
            .args(["--json", "--timeout", &self.timeout_secs.to_string()])
            .env("SOTTO_PASSPHRASE", &self.passphrase);
        if let Some(proxy) = &self.socks5 {
            command.args(["--socks5", proxy]);
        }
        if let Some(certificates) = &self.trusted_certificates {
            command
                .env("SSL_CERT_FILE", certificates)
                .env_remove("SSL_CERT_DIR");
        }
        command
    }

    /// The same profile, with commands that give up on relays after
    /// `seconds`.
    pub(crate) fn impatient(&self, seconds: u64) -> Profile {
        Profile {
            timeout_secs: seconds,
            ..self.clone()
        }
    }

    /// Runs `sotto --json …` and returns its JSON, or the error object on
    /// failure (with `ok == false`).
    pub(crate) fn try_run(&self, args: &[&str]) -> (bool, Value) {
        let output = self
            .command()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        let value = serde_json::from_str(stdout.trim()).unwrap_or_else(|error| {
            panic!(
                "sotto {args:?}: not one JSON object ({error}): {stdout}\nstderr: {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
        (output.status.success(), value)
    }

    pub(crate) fn run(&self, args: &[&str]) -> Value {
        let (ok, value) = self.try_run(args);
        assert!(ok, "sotto {args:?} failed: {value}");
        value
    }

    /// The chat's history items.
    pub(crate) fn history(&self, contact: &str) -> Vec<Value> {
        let history = self.run(&["history", contact, "--limit", "100000"]);
        history["messages"].as_array().unwrap().clone()
    }

    /// The texts of the chat's messages, oldest first.
    pub(crate) fn texts(&self, contact: &str) -> Vec<String> {
        self.history(contact)
            .iter()
            .filter_map(|item| item["text"].as_str().map(str::to_owned))
            .collect()
    }

    /// The chat's notices (their `notice` objects), oldest first.
    pub(crate) fn notices(&self, contact: &str) -> Vec<Value> {
        self.history(contact)
            .iter()
            .filter(|item| item["direction"] == "notice")
            .map(|item| item["notice"].clone())
            .collect()
    }

    /// The contact's summary in `contacts`.
    pub(crate) fn contact(&self, name: &str) -> Value {
        let contacts = self.run(&["contacts"]);
        contacts["contacts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no contact {name}: {contacts}"))
            .clone()
    }

    /// Runs `receive` until `check` accepts what it returned (each run's
    /// output), accumulating every run's output in `seen`.
    pub(crate) fn receive_until(&self, what: &str, check: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let mut seen = Vec::new();
        wait_until(what, || {
            // A relay that is down (a peer's, for a receipt) fails the command
            // but what arrived is in its output all the same.
            let (_, received) = self.try_run(&["receive"]);
            assert!(received["messages"].is_array(), "{received}");
            seen.push(received);
            check(&seen).then(|| seen.clone())
        })
    }
}

/// Every `messages` item of these `receive` outputs.
pub(crate) fn received_messages(outputs: &[Value]) -> Vec<Value> {
    outputs
        .iter()
        .flat_map(|o| o["messages"].as_array().unwrap().clone())
        .collect()
}

/// Every event of these `receive` outputs.
pub(crate) fn received_events(outputs: &[Value]) -> Vec<Value> {
    outputs
        .iter()
        .flat_map(|o| o["events"].as_array().unwrap().clone())
        .collect()
}

/// Connects `inviter` and `joiner` through a one-time invitation and waits
/// until both see the other connected under its name.
pub(crate) fn connect_by_invitation(
    inviter: &Profile,
    inviter_name: &str,
    joiner: &Profile,
    joiner_name: &str,
) {
    let invitation = inviter.run(&["invite", "--no-qr"]);
    let link = invitation["link"].as_str().unwrap();
    assert!(link.contains("/invite#"), "{link}");
    joiner.run(&["connect", link]);
    settle_connection(inviter, inviter_name, joiner, joiner_name);
}

/// Runs `receive` on both sides until each lists the other as connected.
pub(crate) fn settle_connection(a: &Profile, a_name: &str, b: &Profile, b_name: &str) {
    wait_until("both sides connected", || {
        a.run(&["receive"]);
        b.run(&["receive"]);
        let connected = |p: &Profile, name: &str| {
            p.run(&["contacts"])["contacts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["name"] == name && c["state"] == "connected")
        };
        (connected(a, b_name) && connected(b, a_name)).then_some(())
    });
}

/// `sotto listen`: its JSON lines as they come.
pub(crate) struct Listener {
    child: Child,
    lines: mpsc::Receiver<Value>,
}

impl Listener {
    // The child is waited for in `Drop`.
    #[allow(clippy::zombie_processes)]
    pub(crate) fn start(profile: &Profile) -> Listener {
        let mut child = profile
            .command()
            .arg("listen")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let value: Value = serde_json::from_str(&line).unwrap();
                if sender.send(value).is_err() {
                    break;
                }
            }
        });
        Listener { child, lines }
    }

    /// Waits for an event that `wanted` accepts.
    pub(crate) fn wait_for(&self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(value) if wanted(&value) => return value,
                Ok(_) => {}
                Err(_) => panic!("`sotto listen` did not report {what}"),
            }
        }
    }

    /// The events reported so far and not yet consumed.
    pub(crate) fn drain(&self) -> Vec<Value> {
        self.lines.try_iter().collect()
    }

    /// Stops the listener (the profile is free again once this returns).
    pub(crate) fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every file under `dir`, recursively.
pub(crate) fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// The (file, needle) pairs where a needle's bytes occur in a file under one
/// of `dirs`.
pub(crate) fn find_plaintext(dirs: &[&Path], needles: &[&str]) -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    for dir in dirs {
        for file in files_under(dir) {
            let bytes = std::fs::read(&file).unwrap();
            for needle in needles {
                if contains(&bytes, needle.as_bytes()) {
                    found.push((file.clone(), (*needle).to_owned()));
                }
            }
        }
    }
    found
}

/// Whether `needle` occurs in `haystack`.
pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
