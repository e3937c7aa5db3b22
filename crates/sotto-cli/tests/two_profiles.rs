//! End to end with real processes: a `sotto-relay` and two `sotto` profiles
//! that connect, chat, reply, react, and move one profile to a new directory
//! by export and import.

// Test glue: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

const SOTTO: &str = env!("CARGO_BIN_EXE_sotto");

/// The relay binary beside `sotto`, built first if it is not there.
fn relay_binary() -> PathBuf {
    let dir = Path::new(SOTTO).parent().unwrap();
    let relay = dir.join("sotto-relay");
    if !relay.exists() {
        let target = dir.parent().unwrap();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let status = Command::new(cargo)
            .args(["build", "-p", "sotto-relay"])
            .env("CARGO_TARGET_DIR", target)
            .status()
            .unwrap();
        assert!(status.success(), "building sotto-relay failed");
    }
    relay
}

/// A running relay, killed on drop.
struct Relay {
    child: Child,
    address: String,
    _data: tempfile::TempDir,
}

impl Relay {
    // The child is waited for in `Drop`.
    #[allow(clippy::zombie_processes)]
    fn start() -> Relay {
        let data = tempfile::tempdir().unwrap();
        let mut child = Command::new(relay_binary())
            .args(["--listen", "127.0.0.1:0", "--data"])
            .arg(data.path().join("relay"))
            .args(["--log-level", "warn"])
            .env_remove("SOTTO_RELAY_PASSWORD")
            .env_remove("SOTTO_RELAY_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
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
                .recv_timeout(Duration::from_secs(20))
                .expect("the relay did not print its address");
            if let Some(address) = line.strip_prefix("relay address: ") {
                return Relay {
                    child,
                    address: address.trim().to_owned(),
                    _data: data,
                };
            }
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One profile directory driven through the `sotto` binary.
struct Profile {
    dir: PathBuf,
}

impl Profile {
    fn new(root: &Path, name: &str) -> Profile {
        Profile {
            dir: root.join(name),
        }
    }

    /// Runs `sotto --json …` and returns its JSON, or the error object on
    /// failure (with `ok == false`).
    fn try_run(&self, args: &[&str]) -> (bool, Value) {
        let output = Command::new(SOTTO)
            .arg("--profile")
            .arg(&self.dir)
            .args(["--json", "--timeout", "20"])
            .args(args)
            .env("SOTTO_PASSPHRASE", "correct horse")
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

    fn run(&self, args: &[&str]) -> Value {
        let (ok, value) = self.try_run(args);
        assert!(ok, "sotto {args:?} failed: {value}");
        value
    }

    fn texts(&self, contact: &str) -> Vec<String> {
        let history = self.run(&["history", contact]);
        history["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|item| item["text"].as_str().map(str::to_owned))
            .collect()
    }
}

#[test]
fn two_profiles_connect_chat_and_move_by_export_and_import() {
    let relay = Relay::start();
    let root = tempfile::tempdir().unwrap();
    let alice = Profile::new(root.path(), "alice");
    let bob = Profile::new(root.path(), "bob");

    let created = alice.run(&["init", "--name", "Alice", "--relay", &relay.address]);
    assert_eq!(created["name"], "Alice");
    bob.run(&["init", "--name", "Bob", "--relay", &relay.address]);

    // Invitation, answer, confirmation.
    let invitation = alice.run(&["invite"]);
    let link = invitation["link"].as_str().unwrap();
    assert!(link.contains("/invite#"), "{link}");
    let joined = bob.run(&["connect", link]);
    assert!(joined["contact"].is_u64());
    let received = alice.run(&["receive"]);
    let events = received["events"].as_array().unwrap();
    assert!(
        events.iter().any(|e| e["type"] == "contact_connected"),
        "{received}"
    );
    bob.run(&["receive"]);
    let contacts = alice.run(&["contacts"]);
    assert_eq!(contacts["contacts"][0]["name"], "Bob");
    assert_eq!(contacts["contacts"][0]["state"], "connected");
    let contacts = bob.run(&["contacts"]);
    assert_eq!(contacts["contacts"][0]["name"], "Alice");

    // A text, a reply, a reaction.
    let sent = alice.run(&["send", "Bob", "hello Bob"]);
    assert_eq!(sent["status"], "sent");
    let hello = sent["message"].as_u64().unwrap();
    let received = bob.run(&["receive"]);
    assert_eq!(received["messages"][0]["text"], "hello Bob");
    let hello_at_bob = received["messages"][0]["number"].as_u64().unwrap();
    let reply = bob.run(&["reply", "Alice", &hello_at_bob.to_string(), "hi Alice"]);
    let received = alice.run(&["receive"]);
    let reply_at_alice = &received["messages"][0];
    assert_eq!(reply_at_alice["text"], "hi Alice");
    assert_eq!(reply_at_alice["reply_to"].as_u64(), Some(hello));
    // Bob's receive sent the delivery receipt for "hello Bob".
    assert!(
        received["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "message_status" && e["status"] == "delivered"),
        "{received}"
    );
    let reply_number = reply_at_alice["number"].as_u64().unwrap().to_string();
    alice.run(&["react", "Bob", &reply_number, "👍"]);
    bob.run(&["receive"]);
    let history = bob.run(&["history", "Alice"]);
    let reply_at_bob = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["number"] == reply["message"])
        .unwrap();
    assert_eq!(reply_at_bob["reactions"][0]["emoji"], "👍");
    assert_eq!(reply_at_bob["reactions"][0]["mine"], false);
    assert_eq!(alice.texts("Bob"), ["hello Bob", "hi Alice"]);

    // Bob moves to a new profile directory.
    let archive = root.path().join("bob.sotto");
    let exported = bob.run(&["export", archive.to_str().unwrap()]);
    assert!(exported["records"].as_u64().unwrap() > 0);
    let (ok, refused) = bob.try_run(&["contacts"]);
    assert!(!ok);
    assert_eq!(refused["error"]["kind"], "profile_moved");
    let bob2 = Profile::new(root.path(), "bob-new");
    let imported = bob2.run(&["import", archive.to_str().unwrap()]);
    assert_eq!(imported["name"], "Bob");
    assert_eq!(bob2.texts("Alice"), ["hello Bob", "hi Alice"]);

    // The new copy keeps chatting both ways.
    bob2.run(&["send", "Alice", "from my new device"]);
    let received = alice.run(&["receive"]);
    assert_eq!(received["messages"][0]["text"], "from my new device");
    alice.run(&["send", "Bob", "welcome back"]);
    let received = bob2.run(&["receive"]);
    assert_eq!(received["messages"][0]["text"], "welcome back");

    // Clear errors.
    let (ok, unknown) = alice.try_run(&["send", "Carol", "hi"]);
    assert!(!ok);
    assert_eq!(unknown["error"]["kind"], "unknown_contact");
    let output = Command::new(SOTTO)
        .arg("--profile")
        .arg(&alice.dir)
        .args(["--json", "contacts"])
        .env("SOTTO_PASSPHRASE", "wrong")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let value: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["error"]["kind"], "wrong_passphrase");
}
