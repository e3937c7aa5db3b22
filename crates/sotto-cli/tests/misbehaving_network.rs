//! End to end with real processes: a proxy between a client and its relay
//! that drops, duplicates, reorders and replays WebSocket frames. The blocks
//! are encrypted and authenticated per connection, so all it can do is break
//! connections: the client must reconnect (live) or retry (commands) and
//! lose or duplicate nothing.

// Test glue: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use common::proxy::{Mischief, Plan, TamperingProxy, Toward};
use common::{Listener, Profile, Relay, connect_by_invitation, wait_until};

/// Every mischief on frame `frame` going `toward`.
fn every_mischief(toward: Toward, frame: usize) -> Vec<Plan> {
    [
        Mischief::Drop,
        Mischief::Duplicate,
        Mischief::Reorder,
        Mischief::Replay,
    ]
    .into_iter()
    .map(|mischief| Plan {
        toward,
        frame,
        mischief,
    })
    .collect()
}

/// `profile`'s chat with `contact` holds exactly `expected` incoming texts,
/// in this order, and no notice of a gap or reorder.
fn exactly(profile: &Profile, contact: &str, expected: &[String]) {
    let incoming: Vec<String> = profile
        .history(contact)
        .iter()
        .filter(|item| item["direction"] == "incoming")
        .map(|item| item["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(incoming, expected);
    // A SEND whose OK was lost with its connection goes again, the same
    // bytes, which the relay does not store twice; were a copy to reach the
    // receiver (a relay restarted in between), it says so ("replayed") and
    // shows it once; nothing is skipped.
    let notices = profile.notices(contact);
    assert!(
        notices
            .iter()
            .all(|n| n["type"] == "connected" || n["type"] == "replayed"),
        "{notices:?}"
    );
}

#[test]
fn tampered_frames_only_break_connections_and_nothing_is_lost_or_repeated() {
    let relay = Relay::start();
    let proxy = TamperingProxy::start();
    let root = tempfile::tempdir().unwrap();
    let alice = Profile {
        socks5: Some(proxy.address.clone()),
        ..Profile::init(root.path(), "Alice", &relay)
    };
    let bob = Profile::init(root.path(), "Bob", &relay);
    connect_by_invitation(&alice, "Alice", &bob, "Bob");

    // Live: Alice listens through the proxy while Bob sends; her first
    // connections are tampered with on the way to her, at several points.
    let mut plans = every_mischief(Toward::Client, 2);
    plans.extend(every_mischief(Toward::Client, 4));
    proxy.arm(&plans);
    let before = proxy.connections.load(Ordering::SeqCst);
    let listener = Listener::start(&alice);
    let texts: Vec<String> = (1..=8).map(|i| format!("live text {i}")).collect();
    for text in &texts {
        bob.run(&["send", "Alice", text]);
    }
    let mut seen = HashSet::new();
    while seen.len() < texts.len() {
        let what = format!(
            "every live text (seen {seen:?}; connections {}, plans applied {}, left {})",
            proxy.connections.load(Ordering::SeqCst) - before,
            proxy.applied.load(Ordering::SeqCst),
            proxy.armed()
        );
        let event = listener.wait_for(&what, |e| {
            e["type"] == "item_added" && e["item"]["direction"] == "incoming"
        });
        let text = event["item"]["text"].as_str().unwrap().to_owned();
        assert!(seen.insert(text.clone()), "{text:?} shown twice");
    }
    listener.stop();
    // Broken connections were replaced (a connection's plan is not applied
    // when its frame never comes; a frame held back with nothing behind it
    // goes out in order and breaks nothing).
    let applied = proxy.applied.load(Ordering::SeqCst);
    let connections = proxy.connections.load(Ordering::SeqCst) - before;
    assert!(applied >= 2, "only {applied} frames tampered with");
    assert!(connections >= 2, "{connections} connections");
    proxy.disarm();
    exactly(&alice, "Bob", &texts);

    // Commands: Alice's sends go through connections tampered with on the
    // way to the relay; each later command retries what is left.
    let mut plans = every_mischief(Toward::Relay, 2);
    plans.extend(every_mischief(Toward::Relay, 3));
    proxy.arm(&plans);
    let applied = proxy.applied.load(Ordering::SeqCst);
    let replies: Vec<String> = (1..=4).map(|i| format!("reply {i}")).collect();
    // A command whose connection was broken fails (kind `relay`) and keeps
    // what it queued for the next one.
    for reply in &replies {
        let _ = alice.impatient(5).try_run(&["send", "Bob", reply]);
    }
    wait_until("every reply", || {
        let _ = alice.impatient(5).try_run(&["receive"]);
        bob.run(&["receive"]);
        let incoming = bob.history("Alice");
        let incoming = incoming.iter().filter(|i| i["direction"] == "incoming");
        (incoming.count() >= replies.len()).then_some(())
    });
    for _ in 0..2 {
        let _ = alice.impatient(5).try_run(&["receive"]);
        bob.run(&["receive"]);
    }
    exactly(&bob, "Alice", &replies);
    assert!(proxy.applied.load(Ordering::SeqCst) > applied);
    for item in alice.history("Bob") {
        if item["direction"] == "outgoing" {
            assert_eq!(item["status"], "delivered", "{item}");
        }
    }
}
