//! End to end with real processes: a relay run by a hostile operator (the
//! real relay server over a store that drops, reorders, duplicates and
//! replays messages: `sotto-relay`'s example `hostile_relay`). The recipient
//! must show each as an integrity notice and never show a message twice; in
//! a group, whose log the relay drops, reorders, repeats and adds entries
//! to, the members must also stay in one group.

// Test glue: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Profile, Relay, SOTTO, connect_by_invitation, wait_until};

/// The hostile relay, built (or brought up to date) first.
fn hostile_relay_binary() -> PathBuf {
    let dir = Path::new(SOTTO).parent().unwrap();
    let target = dir.parent().unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .args(["build", "-p", "sotto-relay", "--example", "hostile_relay"])
        .env("CARGO_TARGET_DIR", target)
        .status()
        .unwrap();
    assert!(status.success(), "building the hostile relay failed");
    dir.join("examples").join("hostile_relay")
}

#[test]
fn a_hostile_relay_shows_as_integrity_notices_and_no_message_twice() {
    let relay = Relay::start_binary(hostile_relay_binary(), &[]);
    let root = tempfile::tempdir().unwrap();
    let alice = Profile::init(root.path(), "Alice", &relay);
    let bob = Profile::init(root.path(), "Bob", &relay);
    connect_by_invitation(&alice, "Alice", &bob, "Bob");

    // From now on the relay misbehaves on the SENDs it gets: Bob's texts 2
    // (dropped), 4 (after 5), 6 (twice), 8 (followed by text 1 again).
    std::fs::write(relay.data.path().join("relay").join("armed"), b"").unwrap();
    let texts: Vec<String> = (1..=10).map(|i| format!("hostile text {i}")).collect();
    let mut numbers = Vec::new();
    for text in &texts {
        let sent = bob.run(&["send", "Alice", text]);
        assert_eq!(sent["status"], "sent", "{sent}");
        numbers.push(sent["message"].clone());
    }

    let history = wait_until("every text that was stored", || {
        alice.run(&["receive"]);
        let history = alice.history("Bob");
        let last = history.iter().rev().find(|i| i["direction"] == "incoming");
        let replays = history
            .iter()
            .filter(|i| i["notice"]["type"] == "replayed")
            .count();
        (last.is_some_and(|i| i["text"] == "hostile text 10") && replays >= 2).then_some(history)
    });
    let shown: Vec<&str> = history
        .iter()
        .filter(|i| i["direction"] == "incoming")
        .map(|i| i["text"].as_str().unwrap())
        .collect();
    // Each stored text once, in the order the relay delivered them; the
    // dropped one never.
    assert_eq!(
        shown,
        [1, 3, 5, 4, 6, 7, 8, 9, 10].map(|i| format!("hostile text {i}")),
        "{history:#?}"
    );
    let seq_of = |text: &str| {
        history.iter().find(|i| i["text"] == text).unwrap()["seq"]
            .as_u64()
            .unwrap()
    };
    let notices: Vec<&serde_json::Value> = history
        .iter()
        .filter(|i| i["direction"] == "notice")
        .map(|i| &i["notice"])
        .collect();
    let dropped = seq_of("hostile text 1") + 1;
    assert!(
        notices.iter().any(|n| n["type"] == "skipped"
            && n["first"].as_u64() <= Some(dropped)
            && n["last"].as_u64() >= Some(dropped)),
        "the gap of text 2: {notices:?}"
    );
    let late = seq_of("hostile text 4");
    assert!(
        notices
            .iter()
            .any(|n| n["type"] == "out_of_order" && n["seq"] == late),
        "text 4 after text 5: {notices:?}"
    );
    let copies = notices
        .iter()
        .filter(|n| n["type"] == "replayed" || n["type"] == "duplicate")
        .count();
    assert!(copies >= 2, "the copies of texts 6 and 1: {notices:?}");

    // Bob learns which texts arrived: all but the dropped one.
    wait_until("the delivery receipts", || {
        bob.run(&["receive"]);
        let history = bob.history("Alice");
        let status = |number: &serde_json::Value| {
            history.iter().find(|i| i["number"] == *number).unwrap()["status"].clone()
        };
        numbers
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 1)
            .all(|(_, n)| status(n) == "delivered")
            .then_some(())
    });
    let history = bob.history("Alice");
    let second = history.iter().find(|i| i["number"] == numbers[1]).unwrap();
    assert_eq!(second["status"], "sent");
}

/// Whether `profile` is a member of `group` and sees `count` members.
fn members(profile: &Profile, group: &str) -> usize {
    match profile.try_run(&["group", "members", group]) {
        (true, members) => members["members"].as_array().map_or(0, Vec::len),
        _ => 0,
    }
}

#[test]
fn a_hostile_group_log_shows_as_notices_shows_nothing_twice_and_does_not_fork() {
    let relay = Relay::start_binary(hostile_relay_binary(), &[]);
    let root = tempfile::tempdir().unwrap();
    let alice = Profile::init(root.path(), "Alice", &relay);
    let bob = Profile::init(root.path(), "Bob", &relay);
    connect_by_invitation(&alice, "Alice", &bob, "Bob");
    alice.run(&["group", "create", "Climbing"]);
    alice.run(&["group", "invite", "Climbing", "Bob"]);
    wait_until("Bob in the group", || {
        bob.run(&["receive"]);
        alice.run(&["receive"]);
        (members(&alice, "Climbing") == 2 && members(&bob, "Climbing") == 2).then_some(())
    });
    // Everything owed (receipts of the join) goes out before the relay turns.
    for profile in [&alice, &bob, &alice, &bob] {
        profile.run(&["receive"]);
    }

    // From now on the relay misbehaves on the entries appended: it drops
    // Bob's 2nd, stores his 4th after the 5th, doubles the 6th, replays the
    // 1st after the 8th and makes up one after the 9th.
    std::fs::write(relay.data.path().join("relay").join("armed-groups"), b"").unwrap();
    let texts: Vec<String> = (1..=10).map(|i| format!("group text {i}")).collect();
    for text in &texts {
        let sent = bob.run(&["send", "Climbing", text]);
        assert_eq!(sent["sent"], true, "{sent}");
    }

    let history = wait_until("every text of Bob", || {
        alice.run(&["receive"]);
        let history = alice.history("Climbing");
        history
            .iter()
            .any(|i| i["text"] == "group text 10")
            .then_some(history)
    });
    // Bob's client appended again what did not come back: every text shows,
    // once, in his order.
    let shown: Vec<&str> = history
        .iter()
        .filter(|i| i["direction"] == "incoming")
        .map(|i| i["text"].as_str().unwrap())
        .collect();
    assert_eq!(shown, texts, "{history:#?}");
    let notices: Vec<&serde_json::Value> = history
        .iter()
        .filter(|i| i["direction"] == "notice")
        .map(|i| &i["notice"])
        .collect();
    let count = |kind: &str| notices.iter().filter(|n| n["type"] == kind).count();
    // The late 4th entry repeats a number already read; the doubled 6th and
    // the replayed 1st cannot be decrypted twice; the made-up entry is none
    // of the group's.
    assert_eq!(count("duplicate"), 1, "{notices:?}");
    assert_eq!(count("replayed"), 2, "{notices:?}");
    assert_eq!(count("unreadable"), 1, "{notices:?}");
    let duplicate = notices.iter().find(|n| n["type"] == "duplicate").unwrap();
    let about = history.iter().find(|i| i["notice"] == **duplicate).unwrap();
    assert_eq!(about["sender"]["name"], "Bob", "{about}");

    // No fork: both still write and read each other in one group.
    std::fs::remove_file(relay.data.path().join("relay").join("armed-groups")).unwrap();
    alice.run(&["send", "Climbing", "still one group"]);
    wait_until("Alice's text at Bob", || {
        bob.run(&["receive"]);
        bob.history("Climbing")
            .iter()
            .any(|i| i["text"] == "still one group")
            .then_some(())
    });
    bob.run(&["send", "Climbing", "yes"]);
    wait_until("Bob's answer at Alice", || {
        alice.run(&["receive"]);
        alice
            .history("Climbing")
            .iter()
            .any(|i| i["text"] == "yes")
            .then_some(())
    });
    assert_eq!(members(&alice, "Climbing"), 2);
    assert_eq!(members(&bob, "Climbing"), 2);
}
