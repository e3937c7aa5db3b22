//! End to end with real processes: a `sotto-relay` and two `sotto` profiles
//! that connect, chat, reply, react, and move one profile to a new directory
//! by export and import.

// Test glue: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::process::Command;
use std::sync::atomic::Ordering;

use serde_json::Value;

use common::proxy::socks5_proxy;
use common::{Listener, Profile, Relay, SOTTO, received_messages};

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
            .any(|e| e["type"] == "item_changed" && e["item"]["status"] == "delivered"),
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

#[test]
fn an_empty_passphrase_is_refused_for_a_new_profile() {
    let relay = Relay::start();
    let root = tempfile::tempdir().unwrap();
    let mut alice = Profile::new(root.path(), "alice");
    alice.passphrase = String::new();
    let (ok, error) = alice.try_run(&["init", "--name", "Alice", "--relay", &relay.address]);
    assert!(!ok);
    assert_eq!(error["error"]["kind"], "empty_passphrase");
    assert!(!alice.dir.join("profile.db").exists());
}

#[test]
fn contact_address_live_listening_through_a_relay_restart_and_chat_settings() {
    let mut relay = Relay::start();
    let root = tempfile::tempdir().unwrap();
    let alice = Profile::new(root.path(), "alice");
    let bob = Profile::new(root.path(), "bob");
    alice.run(&["init", "--name", "Alice", "--relay", &relay.address]);
    bob.run(&["init", "--name", "Bob", "--relay", &relay.address]);

    // A contact request through Alice's long-term address.
    let address = alice.run(&["address", "create"]);
    let link = address["link"].as_str().unwrap().to_owned();
    assert_eq!(alice.run(&["address", "show"])["link"], link.as_str());
    bob.run(&["connect", &link]);
    alice.run(&["receive"]);
    let requests = alice.run(&["requests"]);
    assert_eq!(requests["requests"][0]["name"], "Bob");
    let request = requests["requests"][0]["id"].as_u64().unwrap().to_string();
    let accepted = alice.run(&["requests", "accept", &request]);
    assert!(accepted["contact"].is_u64());
    assert_eq!(alice.run(&["requests"])["requests"], serde_json::json!([]));
    for _ in 0..3 {
        bob.run(&["receive"]);
        alice.run(&["receive"]);
    }
    assert_eq!(bob.run(&["contacts"])["contacts"][0]["state"], "connected");
    assert_eq!(
        alice.run(&["contacts"])["contacts"][0]["state"],
        "connected"
    );

    // Bob listens live; his one-shot commands then run through the live
    // process (its control socket), not on a second copy of the profile.
    let listener = Listener::start(&bob);
    alice.run(&["send", "Bob", "one"]);
    listener.wait_for("the first message", |event| event["item"]["text"] == "one");
    assert!(bob.dir.join("control.sock").exists());
    let contacts = bob.run(&["contacts"]);
    assert_eq!(contacts["contacts"][0]["name"], "Alice", "{contacts}");
    let sent = bob.run(&["send", "Alice", "sent while listening"]);
    assert_eq!(sent["status"], "sent", "{sent}");
    let received = alice.receive_until("the text sent through the live process", |outputs| {
        received_messages(outputs)
            .iter()
            .any(|m| m["text"] == "sent while listening")
    });
    assert!(!received.is_empty());
    // Two commands at once: both run, one after the other, and both arrive.
    let (first, second) = std::thread::scope(|scope| {
        let first = scope.spawn(|| bob.run(&["send", "Alice", "at once, first"]));
        let second = scope.spawn(|| bob.run(&["send", "Alice", "at once, second"]));
        (first.join().unwrap(), second.join().unwrap())
    });
    assert_eq!(
        (&first["status"], &second["status"]),
        (&"sent".into(), &"sent".into())
    );
    alice.receive_until("both texts sent at once", |outputs| {
        let messages = received_messages(outputs);
        ["at once, first", "at once, second"]
            .iter()
            .all(|text| messages.iter().any(|m| m["text"] == *text))
    });
    // The live process checks the passphrase, and keeps what it alone may do.
    let intruder = Profile {
        passphrase: "not the passphrase".to_owned(),
        ..Profile::new(
            bob.dir.parent().unwrap(),
            bob.dir.file_name().unwrap().to_str().unwrap(),
        )
    };
    let (ok, refused) = intruder.try_run(&["contacts"]);
    assert!(
        !ok && refused["error"]["kind"] == "wrong_passphrase",
        "{refused}"
    );
    let (ok, busy) = bob.try_run(&["export", "/nonexistent/archive"]);
    assert!(!ok && busy["error"]["kind"] != "error", "{busy}");

    // The relay restarts: the listener reconnects and subscribes again.
    relay.restart();
    alice.run(&["send", "Bob", "two"]);
    listener.wait_for("a message after the restart", |event| {
        event["item"]["text"] == "two"
    });

    // Edit, delete for everyone, timer, all seen live.
    let three = alice.run(&["send", "Bob", "three"]);
    let three = three["message"].as_u64().unwrap().to_string();
    listener.wait_for("the third message", |event| {
        event["item"]["text"] == "three"
    });
    alice.run(&["edit", "Bob", &three, "three, edited"]);
    listener.wait_for("the edit", |event| {
        event["type"] == "item_changed" && event["item"]["edited"] == true
    });
    let timer = alice.run(&["timer", "Bob", "3600"]);
    assert_eq!(timer["timer_secs"], 3600);
    listener.wait_for("the timer notice", |event| {
        event["type"] == "item_added" && event["item"]["notice"]["type"] == "timer_changed"
    });
    drop(listener);
    let history = bob.run(&["history", "Alice"]);
    let texts: Vec<&str> = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|item| item["text"].as_str())
        .collect();
    // The two sent at once are in either order.
    let (at_once, others): (Vec<&str>, Vec<&str>) =
        texts.iter().partition(|text| text.starts_with("at once"));
    assert_eq!(at_once.len(), 2, "{texts:?}");
    assert_eq!(
        others,
        ["one", "sent while listening", "two", "three, edited"]
    );
    assert_eq!(bob.run(&["contacts"])["contacts"][0]["timer_secs"], 3600);
    alice.run(&["delete", "Bob", &three]);
    bob.run(&["receive"]);
    let history = bob.run(&["history", "Alice"]);
    let last = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|item| item["direction"] == "incoming")
        .unwrap()
        .clone();
    assert_eq!(last["deleted"], true);

    // Settings and verification.
    assert_eq!(alice.run(&["receipts", "off"])["read_receipts"], "off");
    assert_eq!(
        alice.run(&["receipts", "on", "--contact", "Bob"])["read_receipts"],
        "on"
    );
    let code = alice.run(&["verify", "Bob"]);
    assert_eq!(code["verified"], false);
    let marked = alice.run(&["verify", "Bob", "--mark"]);
    assert_eq!(marked["verified"], true);
    assert_eq!(
        bob.run(&["verify", "Alice"])["security_code"],
        code["security_code"]
    );

    // A new passphrase.
    let new = root.path().join("new-passphrase");
    std::fs::write(&new, "battery staple\n").unwrap();
    alice.run(&["passphrase", "--new-passphrase-file", new.to_str().unwrap()]);
    let (ok, refused) = alice.try_run(&["contacts"]);
    assert!(!ok);
    assert_eq!(refused["error"]["kind"], "wrong_passphrase");
    let alice = Profile {
        passphrase: "battery staple".to_owned(),
        ..alice
    };
    assert_eq!(alice.run(&["contacts"])["contacts"][0]["verified"], true);

    // Deleting the address.
    assert_eq!(alice.run(&["address", "delete"])["deleted"], true);
    assert_eq!(alice.run(&["address", "show"])["link"], Value::Null);
}

#[test]
fn every_relay_connection_of_a_profile_can_go_through_a_socks5_proxy() {
    let relay = Relay::start();
    let (proxy, connections) = socks5_proxy();
    let root = tempfile::tempdir().unwrap();
    let alice = Profile {
        socks5: Some(proxy),
        ..Profile::new(root.path(), "alice")
    };
    let bob = Profile::new(root.path(), "bob");
    alice.run(&["init", "--name", "Alice", "--relay", &relay.address]);
    bob.run(&["init", "--name", "Bob", "--relay", &relay.address]);
    let invitation = alice.run(&["invite"]);
    assert_eq!(connections.load(Ordering::SeqCst), 1);
    bob.run(&["connect", invitation["link"].as_str().unwrap()]);
    alice.run(&["receive"]);
    bob.run(&["receive"]);
    alice.run(&["send", "Bob", "through the proxy"]);
    let received = bob.run(&["receive"]);
    assert_eq!(received["messages"][0]["text"], "through the proxy");
    assert_eq!(connections.load(Ordering::SeqCst), 3);
    // A proxy that is not there: the command says so instead of going direct.
    let nowhere = Profile {
        socks5: Some("127.0.0.1:1".to_owned()),
        ..Profile::new(root.path(), "alice")
    };
    let (ok, sent) = nowhere.try_run(&["send", "Bob", "not sent"]);
    assert!(!ok && sent["error"]["kind"] == "relay", "{sent}");
    let message = sent["error"]["message"].as_str().unwrap();
    assert!(message.contains("not sent yet"), "{message}");
}
