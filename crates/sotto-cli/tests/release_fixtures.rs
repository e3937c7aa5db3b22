//! Profiles and archives made by an earlier release keep opening.
//!
//! `tests/fixtures/v0.1/` holds a profile directory and its export archive,
//! both written by release 0.1 (by `write_release_fixtures` below, run with
//! that release: `cargo test -p sotto-cli --test release_fixtures -- --ignored`).
//! Every later release must open the profile and import the archive, and show
//! the same contacts, chats, requests and settings. The relays those records
//! point at are gone, so everything here is checked offline.

// Test glue: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

use common::{Profile, Relay, connect_by_invitation, wait_until};

/// The passphrase of the fixture profile and archive.
const PASSPHRASE: &str = "correct horse";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v0.1")
}

#[test]
fn a_profile_made_by_release_0_1_opens_with_everything_in_it() {
    let root = tempfile::tempdir().unwrap();
    let alice = Profile::new(root.path(), "alice");
    copy_dir(&fixtures().join("profile"), &alice.dir);
    check_alice(&alice);
}

#[test]
fn an_archive_exported_by_release_0_1_imports_with_everything_in_it() {
    let root = tempfile::tempdir().unwrap();
    let alice = Profile::new(root.path(), "alice-imported");
    let archive = fixtures().join("alice.sotto");
    let imported = alice.run(&["import", archive.to_str().unwrap()]);
    assert_eq!(imported["name"], "Alice");
    check_alice(&alice);
}

/// What Alice's profile held when release 0.1 wrote it.
fn check_alice(alice: &Profile) {
    let impatient = alice.impatient(1);
    let profile = impatient.run(&["profile"]);
    assert_eq!(profile["name"], "Alice");
    assert_eq!(profile["bio"], "fixture of release 0.1");

    let contacts = impatient.run(&["contacts"]);
    let contacts = contacts["contacts"].as_array().unwrap();
    let bob = contacts.iter().find(|c| c["name"] == "Bob").unwrap();
    assert_eq!(bob["state"], "connected", "{bob}");
    assert_eq!(bob["verified"], true, "{bob}");
    assert_eq!(bob["unread"], 2, "{bob}");
    assert_eq!(bob["timer_secs"], 2_419_200, "{bob}");
    assert_eq!(bob["read_receipts"], "off", "{bob}");
    let states: Vec<&str> = contacts
        .iter()
        .map(|c| c["state"].as_str().unwrap())
        .collect();
    assert!(states.contains(&"awaiting_confirmation"), "{contacts:?}");
    assert!(states.contains(&"joining"), "{contacts:?}");
    assert_eq!(contacts.len(), 3, "{contacts:?}");

    let history = impatient.history("Bob");
    let texts: Vec<&str> = history
        .iter()
        .filter(|i| i["deleted"] == false)
        .filter_map(|i| i["text"].as_str())
        .collect();
    assert_eq!(texts, ["hello Bob", "hi Alice", "fixed", "unread one"]);
    let notices: Vec<&Value> = history
        .iter()
        .filter(|i| i["direction"] == "notice")
        .map(|i| &i["notice"])
        .collect();
    assert_eq!(notices[0]["type"], "connected", "{notices:?}");
    assert_eq!(notices[1]["type"], "timer_changed", "{notices:?}");
    let reply = history.iter().find(|i| i["text"] == "hi Alice").unwrap();
    assert_eq!(reply["reactions"][0]["emoji"], "👍", "{reply}");
    assert_eq!(reply["reactions"][0]["mine"], true, "{reply}");
    assert!(reply["reply_to"].is_u64(), "{reply}");
    let edited = history.iter().find(|i| i["text"] == "fixed").unwrap();
    assert_eq!(edited["edited"], true, "{edited}");
    assert!(
        history.iter().any(|i| i["deleted"] == true),
        "the message deleted for everyone stays as a deleted item: {history:?}"
    );

    let requests = impatient.run(&["requests"]);
    let requests = requests["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0]["name"], "Dave");

    let address = impatient.run(&["address", "show"]);
    assert!(
        address["link"].as_str().unwrap().contains("/contact#"),
        "{address}"
    );
    let code = impatient.run(&["verify", "Bob"]);
    assert_eq!(code["verified"], true, "{code}");
    let receipts = impatient.run(&["receipts"]);
    assert_eq!(receipts["read_receipts"], "on", "{receipts}");
}

/// Writes the fixtures with the release under test. Run it only on the
/// release that the fixtures stand for.
#[test]
#[ignore = "writes tests/fixtures: run only to record a release's fixtures"]
fn write_release_fixtures() {
    let mut relay = Relay::start();
    let mut other_relay = Relay::start();
    let root = tempfile::tempdir().unwrap();
    let alice = Profile::init(root.path(), "Alice", &relay);
    let bob = Profile::init(root.path(), "Bob", &relay);
    let carol = Profile::init(root.path(), "Carol", &relay);
    let dave = Profile::init(root.path(), "Dave", &relay);
    let erin = Profile::init(root.path(), "Erin", &other_relay);
    for profile in [&alice, &bob, &carol, &dave, &erin] {
        assert_eq!(profile.passphrase, PASSPHRASE);
    }
    alice.run(&["profile", "--bio", "fixture of release 0.1"]);

    // A chat with Bob that has a reply, a reaction, an edit, a deletion, an
    // unread message and settings.
    connect_by_invitation(&alice, "Alice", &bob, "Bob");
    alice.run(&["send", "Bob", "hello Bob"]);
    let received = bob.run(&["receive"]);
    let hello = received["messages"][0]["number"].as_u64().unwrap();
    bob.run(&["reply", "Alice", &hello.to_string(), "hi Alice"]);
    let received = alice.run(&["receive"]);
    let reply = received["messages"][0]["number"].as_u64().unwrap();
    alice.run(&["react", "Bob", &reply.to_string(), "👍"]);
    let typo = alice.run(&["send", "Bob", "fxied"])["message"]
        .as_u64()
        .unwrap();
    alice.run(&["edit", "Bob", &typo.to_string(), "fixed"]);
    let regret = alice.run(&["send", "Bob", "regret"])["message"]
        .as_u64()
        .unwrap();
    alice.run(&["delete", "Bob", &regret.to_string()]);
    bob.run(&["receive"]);
    alice.run(&["verify", "Bob", "--mark"]);
    alice.run(&["receipts", "off", "--contact", "Bob"]);
    bob.run(&["send", "Alice", "unread one"]);
    alice.run(&["receive"]);
    // Last, so that no message of the fixture ever expires.
    alice.run(&["timer", "Bob", "2419200"]);

    // A contact request from Dave through the address, not yet answered.
    let address = alice.run(&["address", "create"]);
    dave.run(&["connect", address["link"].as_str().unwrap()]);
    wait_until("Dave's request", || {
        alice.run(&["receive"]);
        let requests = alice.run(&["requests"]);
        (!requests["requests"].as_array().unwrap().is_empty()).then_some(())
    });

    // A one-time invitation nobody used.
    alice.run(&["invite", "--no-qr"]);
    // Carol's invitation, answered but never confirmed.
    let invitation = carol.run(&["invite", "--no-qr"]);
    alice.run(&["connect", invitation["link"].as_str().unwrap()]);
    // Erin's invitation while Alice's own relay is down: still joining
    // (making the queue for Erin's answer).
    let invitation = erin.run(&["invite", "--no-qr"]);
    other_relay.stop();
    relay.stop();
    let (_, _) = alice
        .impatient(2)
        .try_run(&["connect", invitation["link"].as_str().unwrap()]);

    let out = fixtures();
    if out.exists() {
        std::fs::remove_dir_all(&out).unwrap();
    }
    std::fs::create_dir_all(&out).unwrap();
    copy_dir(&alice.dir, &out.join("profile"));
    // Export retires the copy it reads, so it runs after the copy above; the
    // relay is down, which export does not need.
    let archive = out.join("alice.sotto");
    alice.run(&["export", archive.to_str().unwrap()]);
    drop(relay);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
