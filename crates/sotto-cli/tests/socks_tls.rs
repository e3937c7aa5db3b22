//! A TLS relay (`sotto://`) reached only through a SOCKS5 proxy: a real
//! `sotto-relay` with a certificate for `localhost`, two `sotto` profiles whose
//! relay address names `localhost` on a port where nothing but a tripwire
//! listens, and a proxy that alone knows where the relay really is. The TLS
//! and WebSocket handshakes run over the proxied stream; the host name reaches
//! the proxy as a name (SOCKS5 domain address type), never resolved here.

// Test glue: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use serde_json::Value;

const SOTTO: &str = env!("CARGO_BIN_EXE_sotto");

/// The relay's test certificate (for `localhost` and 127.0.0.1) and its key.
fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../sotto-relay/tests/fixtures")
        .join(name)
}

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

/// A relay with TLS on loopback, killed on drop.
struct TlsRelay {
    child: Child,
    /// `sotto://FINGERPRINT@127.0.0.1:PORT`, as the relay prints it.
    address: String,
    _data: tempfile::TempDir,
}

impl TlsRelay {
    // The child is waited for on drop.
    #[allow(clippy::zombie_processes)]
    fn start() -> TlsRelay {
        let data = tempfile::tempdir().unwrap();
        let mut child = Command::new(relay_binary())
            .args(["--listen", "127.0.0.1:0", "--data"])
            .arg(data.path().join("relay"))
            .arg("--tls-cert")
            .arg(fixture("test-cert.pem"))
            .arg("--tls-key")
            .arg(fixture("test-key.pem"))
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
        let address = loop {
            let line = received
                .recv_timeout(Duration::from_secs(20))
                .expect("the relay did not print its address");
            if let Some(address) = line.strip_prefix("relay address: ") {
                break address.trim().to_owned();
            }
        };
        TlsRelay {
            child,
            address,
            _data: data,
        }
    }

    fn fingerprint(&self) -> &str {
        let rest = self.address.strip_prefix("sotto://").unwrap();
        rest.split('@').next().unwrap()
    }

    fn port(&self) -> u16 {
        self.address.rsplit(':').next().unwrap().parse().unwrap()
    }
}

impl Drop for TlsRelay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port where the relay address points but the relay is not: it counts the
/// connections that arrive there, which would be connections around the proxy.
fn tripwire() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let direct = Arc::new(AtomicUsize::new(0));
    let counter = direct.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (port, direct)
}

/// What the proxy saw: one entry per CONNECT, "host:port" as requested, with
/// the address type.
#[derive(Default)]
struct ProxyLog {
    requests: Mutex<Vec<(u8, String)>>,
}

/// A minimal SOCKS5 proxy (no authentication, CONNECT only) on loopback that
/// sends `localhost:<tripwire port>` to the relay's real port and logs every
/// request.
fn socks5_proxy(tripwire_port: u16, relay_port: u16) -> (String, Arc<ProxyLog>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let log = Arc::new(ProxyLog::default());
    let shared = log.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { break };
            let log = shared.clone();
            std::thread::spawn(move || {
                if let Some(relay) = socks5_handshake(&client, &log, tripwire_port, relay_port) {
                    pipe(client, relay);
                }
            });
        }
    });
    (address, log)
}

fn socks5_handshake(
    mut client: &TcpStream,
    log: &ProxyLog,
    tripwire_port: u16,
    relay_port: u16,
) -> Option<TcpStream> {
    let mut head = [0u8; 2];
    client.read_exact(&mut head).ok()?;
    let mut methods = vec![0u8; usize::from(head[1])];
    client.read_exact(&mut methods).ok()?;
    client.write_all(&[5, 0]).ok()?;
    let mut request = [0u8; 4];
    client.read_exact(&mut request).ok()?;
    let host = match request[3] {
        1 => {
            let mut ip = [0u8; 4];
            client.read_exact(&mut ip).ok()?;
            std::net::Ipv4Addr::from(ip).to_string()
        }
        3 => {
            let mut len = [0u8; 1];
            client.read_exact(&mut len).ok()?;
            let mut name = vec![0u8; usize::from(len[0])];
            client.read_exact(&mut name).ok()?;
            String::from_utf8(name).ok()?
        }
        _ => return None,
    };
    let mut port = [0u8; 2];
    client.read_exact(&mut port).ok()?;
    let port = u16::from_be_bytes(port);
    log.requests
        .lock()
        .unwrap()
        .push((request[3], format!("{host}:{port}")));
    if request[1] != 1 || host != "localhost" || port != tripwire_port {
        // Connection refused by the proxy's rules.
        client.write_all(&[5, 2, 0, 1, 0, 0, 0, 0, 0, 0]).ok()?;
        return None;
    }
    let relay = TcpStream::connect(("127.0.0.1", relay_port)).ok()?;
    client.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]).ok()?;
    Some(relay)
}

fn pipe(client: TcpStream, relay: TcpStream) {
    let (mut client_read, mut relay_write) =
        (client.try_clone().unwrap(), relay.try_clone().unwrap());
    let upstream = std::thread::spawn(move || {
        let _ = std::io::copy(&mut client_read, &mut relay_write);
        let _ = relay_write.shutdown(std::net::Shutdown::Write);
    });
    let (mut relay_read, mut client_write) = (relay, client);
    let _ = std::io::copy(&mut relay_read, &mut client_write);
    let _ = client_write.shutdown(std::net::Shutdown::Write);
    let _ = upstream.join();
}

/// One profile directory driven through the `sotto` binary, always through
/// the proxy, trusting the certificates in `trusted` (a PEM file).
struct Profile {
    dir: PathBuf,
    proxy: String,
    trusted: PathBuf,
}

impl Profile {
    fn try_run(&self, args: &[&str]) -> (bool, Value) {
        let output = Command::new(SOTTO)
            .arg("--profile")
            .arg(&self.dir)
            .args(["--json", "--timeout", "20", "--socks5", &self.proxy])
            .args(args)
            .env("SOTTO_PASSPHRASE", "correct horse")
            .env("SSL_CERT_FILE", &self.trusted)
            .env_remove("SSL_CERT_DIR")
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
}

#[test]
fn a_tls_relay_is_reached_through_a_socks5_proxy_by_host_name() {
    let relay = TlsRelay::start();
    let (tripwire_port, direct) = tripwire();
    let (proxy, log) = socks5_proxy(tripwire_port, relay.port());
    let address = format!("sotto://{}@localhost:{tripwire_port}", relay.fingerprint());
    let root = tempfile::tempdir().unwrap();
    let profile = |name: &str| Profile {
        dir: root.path().join(name),
        proxy: proxy.clone(),
        trusted: fixture("test-cert.pem"),
    };
    let alice = profile("alice");
    let bob = profile("bob");
    alice.run(&["init", "--name", "Alice", "--relay", &address]);
    bob.run(&["init", "--name", "Bob", "--relay", &address]);

    let invitation = alice.run(&["invite", "--no-qr"]);
    bob.run(&["connect", invitation["link"].as_str().unwrap()]);
    alice.run(&["receive"]);
    bob.run(&["receive"]);
    alice.run(&["send", "Bob", "over tls through the proxy"]);
    let received = bob.run(&["receive"]);
    assert_eq!(
        received["messages"][0]["text"], "over tls through the proxy",
        "{received}"
    );

    let requests = log.requests.lock().unwrap().clone();
    assert!(requests.len() >= 5, "{requests:?}");
    let wanted = format!("localhost:{tripwire_port}");
    for (address_type, target) in &requests {
        // 3: a domain name, for the proxy to resolve.
        assert_eq!((*address_type, target.as_str()), (3, wanted.as_str()));
    }
    assert_eq!(direct.load(Ordering::SeqCst), 0, "a connection went direct");

    // Certificate checks are unchanged through the proxy: a client that does
    // not trust the relay's certificate refuses it (and the message waits).
    let untrusting = Profile {
        trusted: fixture("test-key.pem"),
        ..profile("alice")
    };
    let (ok, value) = untrusting.try_run(&["invite", "--no-qr"]);
    assert!(!ok, "{value}");
    let message = value["error"]["message"].as_str().unwrap();
    assert!(message.contains("certificate"), "{message}");
    assert_eq!(direct.load(Ordering::SeqCst), 0, "a connection went direct");
}
