//! A TLS relay (`sotto://`) reached only through a SOCKS5 proxy: a real
//! `sotto-relay` with a certificate for `localhost`, two `sotto` profiles whose
//! relay address names `localhost` on a port where nothing but a tripwire
//! listens, and a proxy that alone knows where the relay really is. The TLS
//! and WebSocket handshakes run over the proxied stream; the host name reaches
//! the proxy as a name (SOCKS5 domain address type), never resolved here.

// Test glue: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::proxy::{NOT_ALLOWED, SUCCEEDED, read_request};
use common::{Profile, Relay, connect_by_invitation};

/// The relay's test certificate (for `localhost` and 127.0.0.1) and its key.
fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../sotto-relay/tests/fixtures")
        .join(name)
}

/// A relay with TLS on loopback.
fn tls_relay() -> Relay {
    let (cert, key) = (fixture("test-cert.pem"), fixture("test-key.pem"));
    Relay::start_with(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ])
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

/// What the proxy saw: one entry per request, with its address type and
/// "host:port" as requested.
type ProxyLog = Arc<Mutex<Vec<(u8, String)>>>;

/// A SOCKS5 proxy on loopback that alone knows where the relay is: it sends
/// CONNECT `localhost:<tripwire port>` to the relay's real port, refuses every
/// other request, logs them all, and passes the bytes through untouched (the
/// TLS and WebSocket handshakes run over it).
fn socks5_proxy(tripwire_port: u16, relay_port: u16) -> (String, ProxyLog) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let log = ProxyLog::default();
    let shared = log.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { break };
            let log = shared.clone();
            std::thread::spawn(move || {
                if let Some(relay) = route(&client, &log, tripwire_port, relay_port) {
                    pipe(client, relay);
                }
            });
        }
    });
    (address, log)
}

fn route(
    mut client: &TcpStream,
    log: &ProxyLog,
    tripwire_port: u16,
    relay_port: u16,
) -> Option<TcpStream> {
    let request = read_request(client)?;
    log.lock().unwrap().push((
        request.address_type,
        format!("{}:{}", request.host, request.port),
    ));
    if request.command != 1 || request.host != "localhost" || request.port != tripwire_port {
        client.write_all(&NOT_ALLOWED).ok()?;
        return None;
    }
    let relay = TcpStream::connect(("127.0.0.1", relay_port)).ok()?;
    client.write_all(&SUCCEEDED).ok()?;
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

#[test]
fn a_tls_relay_is_reached_through_a_socks5_proxy_by_host_name() {
    let relay = tls_relay();
    let (tripwire_port, direct) = tripwire();
    let (proxy, log) = socks5_proxy(tripwire_port, relay.port());
    let address = format!("sotto://{}@localhost:{tripwire_port}", relay.fingerprint());
    let root = tempfile::tempdir().unwrap();
    let profile = |name: &str| Profile {
        socks5: Some(proxy.clone()),
        trusted_certificates: Some(fixture("test-cert.pem")),
        ..Profile::new(root.path(), name)
    };
    let alice = profile("alice");
    let bob = profile("bob");
    alice.run(&["init", "--name", "Alice", "--relay", &address]);
    bob.run(&["init", "--name", "Bob", "--relay", &address]);

    connect_by_invitation(&alice, "Alice", &bob, "Bob");
    alice.run(&["send", "Bob", "over tls through the proxy"]);
    let received = bob.run(&["receive"]);
    assert_eq!(
        received["messages"][0]["text"], "over tls through the proxy",
        "{received}"
    );

    let requests = log.lock().unwrap().clone();
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
        trusted_certificates: Some(fixture("test-key.pem")),
        ..alice
    };
    let (ok, value) = untrusting.try_run(&["invite", "--no-qr"]);
    assert!(!ok, "{value}");
    let message = value["error"]["message"].as_str().unwrap();
    assert!(message.contains("certificate"), "{message}");
    assert_eq!(direct.load(Ordering::SeqCst), 0, "a connection went direct");
}
