//! `/metrics` against the real relay: served on its own listener
//! (`--metrics-listen`), never on the public one, where anyone could watch the
//! delivery counters tick and learn when a recipient comes online.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{Relay, http_get};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_on_their_own_listener_only() {
    let relay = Relay::start(&[]);
    let public = http_get(&format!("{}metrics", relay.web_url)).await;
    assert!(public.starts_with("HTTP/1.1 404"), "{public}");
    assert!(!public.contains("sotto_"), "{public}");
    assert_ne!(relay.web_url, relay.metrics_url);
    let client = relay.connect().await;
    client.connection.create_queue(None).await.unwrap();
    assert!(relay.metric("sotto_connections_open").await >= 1);
    // The metrics listener serves nothing else.
    let other = http_get(&relay.metrics_url.replace("/metrics", "/ws")).await;
    assert!(other.starts_with("HTTP/1.1 404"), "{other}");
}

#[test]
fn metrics_off_loopback_need_an_explicit_flag() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_sotto-relay"))
        .args(["--metrics-listen", "0.0.0.0:0", "--data"])
        .arg(tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--metrics-public"));
}
