//! End to end with real processes: disappearing messages that expire on both
//! sides, clients and relays killed mid-conversation, and a relay whose queue
//! quota makes the sender wait. Nothing may be lost or shown twice.

// Test glue: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::time::{Duration, Instant};

use serde_json::Value;

use common::{Listener, Profile, Relay, connect_by_invitation, received_messages, wait_until};

/// The texts of `profile`'s chat with `contact`, and whether each appears
/// once.
fn texts_once(profile: &Profile, contact: &str) -> Vec<String> {
    let texts = profile.texts(contact);
    for text in &texts {
        let count = texts.iter().filter(|t| *t == text).count();
        assert_eq!(count, 1, "{text:?} shown {count} times: {texts:?}");
    }
    texts
}

#[test]
fn disappearing_messages_and_their_edits_expire_on_both_sides() {
    let relay = Relay::start();
    let root = tempfile::tempdir().unwrap();
    let alice = Profile::init(root.path(), "Alice", &relay);
    let bob = Profile::init(root.path(), "Bob", &relay);
    connect_by_invitation(&alice, "Alice", &bob, "Bob");
    alice.run(&["send", "Bob", "kept forever"]);
    bob.receive_until("the first text", |o| !received_messages(o).is_empty());

    // The shortest timer the product allows.
    let (ok, refused) = alice.try_run(&["timer", "Bob", "29"]);
    assert!(!ok, "{refused}");
    let timer = alice.run(&["timer", "Bob", "30"]);
    assert_eq!(timer["timer_secs"], 30);
    wait_until("Bob's side of the timer", || {
        bob.run(&["receive"]);
        (bob.contact("Alice")["timer_secs"] == 30).then_some(())
    });
    let notices = bob.notices("Alice");
    assert!(
        notices
            .iter()
            .any(|n| n["type"] == "timer_changed" && n["seconds"] == 30 && n["by_me"] == false),
        "{notices:?}"
    );

    // A text, a reply and an edit under the timer.
    let vanishing = alice.run(&["send", "Bob", "vanishing text"])["message"].clone();
    let received = bob.receive_until("the vanishing text", |o| !received_messages(o).is_empty());
    let at_bob = received_messages(&received)[0]["number"].to_string();
    bob.run(&["reply", "Alice", &at_bob, "vanishing reply"]);
    alice.receive_until("the reply", |o| !received_messages(o).is_empty());
    alice.run(&[
        "edit",
        "Bob",
        &vanishing.to_string(),
        "vanishing text, edited",
    ]);
    wait_until("the edit", || {
        bob.run(&["receive"]);
        bob.texts("Alice")
            .contains(&"vanishing text, edited".to_owned())
            .then_some(())
    });
    for (profile, contact) in [(&alice, "Bob"), (&bob, "Alice")] {
        for item in profile.history(contact) {
            let text = item["text"].as_str().unwrap_or_default();
            if text.starts_with("vanishing") {
                assert!(item["expires_at"].is_u64(), "{item}");
            }
            if text == "kept forever" {
                assert_eq!(item["expires_at"], Value::Null);
            }
        }
    }

    // About 30 s later, both databases no longer hold them.
    let deadline = Instant::now() + Duration::from_secs(150);
    for (profile, contact) in [(&alice, "Bob"), (&bob, "Alice")] {
        loop {
            let texts = profile.texts(contact);
            if !texts.iter().any(|t| t.starts_with("vanishing")) {
                assert_eq!(texts, ["kept forever"]);
                break;
            }
            assert!(Instant::now() < deadline, "nothing expired: {texts:?}");
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

#[test]
fn a_killed_client_and_restarted_relays_deliver_each_message_once() {
    let mut relay = Relay::start();
    let root = tempfile::tempdir().unwrap();
    let alice = Profile::init(root.path(), "Alice", &relay);
    let bob = Profile::init(root.path(), "Bob", &relay);
    connect_by_invitation(&alice, "Alice", &bob, "Bob");

    // The relay goes down: the text waits in Alice's outbox.
    relay.stop();
    let (ok, sent) = alice.impatient(1).try_run(&["send", "Bob", "outbox one"]);
    assert!(!ok && sent["error"]["kind"] == "relay", "{sent}");
    assert_eq!(alice.history("Bob").last().unwrap()["status"], "pending");
    // A live client retries it, and is killed (SIGKILL) while it does.
    let listener = Listener::start(&alice);
    wait_until("the live client to hold the profile", || {
        alice.dir.join("control.sock").exists().then_some(())
    });
    listener.stop();
    let (ok, sent) = alice.impatient(1).try_run(&["send", "Bob", "outbox two"]);
    assert!(!ok && sent["error"]["kind"] == "relay", "{sent}");

    // Relay and client come back: each text arrives once, in order.
    relay.start_again();
    let after = alice.run(&["send", "Bob", "after the restart"]);
    assert_eq!(after["status"], "sent", "{after}");
    wait_until("the three texts", || {
        bob.run(&["receive"]);
        (bob.texts("Alice").len() >= 3).then_some(())
    });
    for _ in 0..2 {
        bob.run(&["receive"]);
        alice.run(&["receive"]);
    }
    assert_eq!(
        texts_once(&bob, "Alice"),
        ["outbox one", "outbox two", "after the restart"]
    );
    for item in alice.history("Bob") {
        if item["direction"] == "outgoing" {
            assert_eq!(item["status"], "delivered", "{item}");
        }
    }

    // The relay restarts between a send and its reception.
    alice.run(&["send", "Bob", "stored across the restart"]);
    relay.restart();
    let received = bob.receive_until("the stored text", |o| !received_messages(o).is_empty());
    assert_eq!(
        received_messages(&received)[0]["text"],
        "stored across the restart"
    );
    bob.run(&["receive"]);
    assert_eq!(
        texts_once(&bob, "Alice").last().unwrap(),
        "stored across the restart"
    );
    let notices = bob.notices("Alice");
    assert!(
        !notices.iter().any(|n| n["type"] != "connected"),
        "integrity notices without a misbehaving relay: {notices:?}"
    );
}

#[test]
fn a_full_queue_makes_the_sender_wait_without_loss_or_duplicates() {
    let relay = Relay::start_with(&["--queue-quota", "2"]);
    let root = tempfile::tempdir().unwrap();
    let alice = Profile::init(root.path(), "Alice", &relay);
    let bob = Profile::init(root.path(), "Bob", &relay);
    connect_by_invitation(&alice, "Alice", &bob, "Bob");
    // Bob's queue may still hold the end of the handshake: empty it.
    bob.run(&["receive"]);

    let texts: Vec<String> = (1..=6).map(|i| format!("quota text {i}")).collect();
    let mut statuses = Vec::new();
    for text in &texts {
        let sent = alice.impatient(2).run(&["send", "Bob", text]);
        statuses.push(sent["status"].as_str().unwrap().to_owned());
    }
    assert_eq!(statuses[..2], ["sent", "sent"], "{statuses:?}");
    assert!(
        statuses.iter().any(|s| s == "pending"),
        "the quota of 2 let everything through: {statuses:?}"
    );

    // Bob drains his queue, Alice's next command sends what waited, and so
    // on until everything is there.
    wait_until("every text", || {
        bob.run(&["receive"]);
        alice.impatient(5).run(&["receive"]);
        let received = bob.texts("Alice");
        (received.len() == texts.len()).then_some(())
    });
    assert_eq!(texts_once(&bob, "Alice"), texts);
    let notices = bob.notices("Alice");
    assert!(
        !notices.iter().any(|n| n["type"] != "connected"),
        "{notices:?}"
    );
}
