//! Managing chats from the command line, with real processes: `pin`, `alias`,
//! `archive`, `search`, `clear`, `block` and `delete-chat`, in the shapes
//! scripts use.

// Test glue: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{Profile, Relay, connect_by_invitation};

#[test]
fn chats_are_pinned_renamed_archived_cleared_blocked_and_deleted() {
    let relay = Relay::start();
    let root = tempfile::tempdir().unwrap();
    let alice = Profile::init(root.path(), "Alice", &relay);
    let bob = Profile::init(root.path(), "Bob", &relay);
    connect_by_invitation(&alice, "Alice", &bob, "Bob");

    // The terminal UI without a terminal says so and exits cleanly.
    let (ok, refused) = alice.try_run(&["chat"]);
    assert!(!ok && refused["error"]["kind"] == "usage", "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("needs a terminal")
    );

    let pinned = alice.run(&["pin", "Bob"]);
    assert_eq!(pinned["contact"]["pinned"], true, "{pinned}");
    let renamed = alice.run(&["alias", "Bob", "Bobby"]);
    assert_eq!(renamed["contact"]["alias"], "Bobby", "{renamed}");
    assert_eq!(renamed["contact"]["name"], "Bob", "{renamed}");
    // The alias names the contact in every command.
    alice.run(&["send", "Bobby", "hello"]);
    let archived = alice.run(&["archive", "bobby"]);
    assert_eq!(archived["contact"]["archived"], true, "{archived}");
    let contact = &alice.run(&["contacts"])["contacts"][0];
    assert_eq!(contact["archived"], true, "{contact}");
    let back = alice.run(&["archive", "Bobby", "--undo"]);
    assert_eq!(back["contact"]["archived"], false, "{back}");
    let (ok, refused) = alice.try_run(&["alias", "Bobby", ""]);
    assert!(!ok, "{refused}");

    bob.run(&["send", "Alice", "one"]);
    alice.run(&["receive"]);
    assert_eq!(alice.texts("Bobby").last().unwrap(), "one");
    // Search finds text in any case, newest first, with the chat to open.
    let found = alice.run(&["search", "ONE"]);
    let results = found["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{found}");
    assert_eq!(results[0]["chat_name"], "Bobby");
    assert_eq!(results[0]["item"]["text"], "one");
    let found = alice.run(&["search", "hello"]);
    assert_eq!(
        found["results"][0]["item"]["direction"], "outgoing",
        "{found}"
    );
    assert_eq!(
        alice.run(&["search", "nowhere"])["results"],
        serde_json::json!([])
    );
    let muted = alice.run(&["mute", "Bobby", "--for", "8h"]);
    assert!(
        muted["contact"]["muted_until"].as_u64().is_some(),
        "{muted}"
    );
    let (ok, refused) = alice.try_run(&["mute", "Bobby", "--for", "soon"]);
    assert!(!ok && refused["error"]["kind"] == "usage", "{refused}");
    let unmuted = alice.run(&["mute", "Bobby", "--undo"]);
    assert!(unmuted["contact"]["muted_until"].is_null(), "{unmuted}");
    let number = alice.history("Bobby").last().unwrap()["number"].to_string();
    alice.run(&["delete", "Bobby", &number, "--for-me"]);
    assert_ne!(alice.texts("Bobby").last().map(String::as_str), Some("one"));
    alice.run(&["clear", "Bobby"]);
    assert!(alice.history("Bobby").is_empty());

    let blocked = alice.run(&["block", "Bobby"]);
    assert_eq!(blocked["contact"]["blocked"], true, "{blocked}");
    assert_eq!(blocked["contact"]["state"], "disconnected", "{blocked}");
    // Alice's queue is gone: the relay refuses Bob's text, and `send` says so.
    let (ok, refused) = bob.try_run(&["send", "Alice", "after the block"]);
    assert!(!ok && refused["error"]["kind"] == "relay", "{refused}");
    alice.run(&["receive"]);
    assert!(alice.history("Bobby").is_empty());
    let unblocked = alice.run(&["block", "Bobby", "--undo"]);
    assert_eq!(unblocked["contact"]["blocked"], false, "{unblocked}");

    let deleted = alice.run(&["delete-chat", "Bobby"]);
    assert_eq!(deleted["deleted"], true, "{deleted}");
    assert_eq!(alice.run(&["contacts"])["contacts"], serde_json::json!([]));
}
