//! End to end with real processes: a file sent in a group of three
//! `sotto` profiles on two relays is uploaded once; two members download
//! the same chunks, byte for byte, one after the other (no member
//! acknowledges a group's chunk, so the first download leaves them for
//! the second), one of them automatically; a member blocks saving the
//! group's media for everyone; the sender's delete for everyone removes the
//! chunks from the relay and the members' copies.

// Test glue: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

use common::{Profile, Relay, connect_by_invitation, files_under, wait_until};

fn member_count(profile: &Profile, group: &str) -> usize {
    let (ok, members) = profile.try_run(&["group", "members", group]);
    if !ok {
        return 0;
    }
    members["members"].as_array().map_or(0, Vec::len)
}

/// Alice (on one relay), Bob and Carol (on another), contacts of Alice,
/// in Alice's group "Climbing".
fn group_of_three(root: &Path, relays: &[Relay; 2]) -> [Profile; 3] {
    let [relay_a, relay_b] = relays;
    let alice = Profile::init(root, "Alice", relay_a);
    let bob = Profile::init(root, "Bob", relay_b);
    let carol = Profile::init(root, "Carol", relay_b);
    connect_by_invitation(&alice, "Alice", &bob, "Bob");
    connect_by_invitation(&alice, "Alice", &carol, "Carol");
    alice.run(&["group", "create", "Climbing"]);
    alice.run(&["group", "invite", "Climbing", "Bob"]);
    alice.run(&["group", "invite", "Climbing", "Carol"]);
    wait_until("everyone in the group", || {
        for profile in [&bob, &carol, &alice] {
            profile.run(&["receive"]);
        }
        [&alice, &bob, &carol]
            .iter()
            .all(|profile| member_count(profile, "Climbing") == 3)
            .then_some(())
    });
    [alice, bob, carol]
}

/// The relay's chunk files.
fn chunk_files(relay: &Relay) -> Vec<PathBuf> {
    let mut files = files_under(&relay.data.path().join("relay").join("chunks"));
    files.sort();
    files
}

/// The newest file item of a chat.
fn last_file(profile: &Profile, chat: &str) -> Option<Value> {
    profile
        .history(chat)
        .into_iter()
        .rev()
        .find(|item| item["file"].is_object())
}

#[test]
fn a_group_file_is_uploaded_once_and_downloaded_by_two_members() {
    let relays = [Relay::start(), Relay::start()];
    let root = tempfile::tempdir().unwrap();
    let [alice, bob, carol] = group_of_three(root.path(), &relays);
    // Carol's files from the group download as they arrive.
    carol.run(&["media", "Climbing", "--auto-download", "on"]);

    // A file of several chunks.
    let content: Vec<u8> = (0..1_500_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let path = root.path().join("topo.pdf");
    std::fs::write(&path, &content).unwrap();
    let before = chunk_files(&relays[0]);
    let sent = alice.run(&["send-file", "Climbing", path.to_str().unwrap()]);
    assert_eq!(sent["state"], "sent", "{sent}");
    let number = sent["message"].as_u64().unwrap();
    let uploaded: Vec<_> = chunk_files(&relays[0])
        .into_iter()
        .filter(|file| !before.contains(file))
        .collect();
    assert!(uploaded.len() >= 2, "{uploaded:?}");
    // Its message is in the log: the item has its place there.
    let at_alice = last_file(&alice, "Climbing").unwrap();
    assert_eq!(at_alice["status"], "sent", "{at_alice}");
    assert_ne!(at_alice["seq"], 0);

    // Bob downloads it when he asks.
    let offered = wait_until("the file at Bob", || {
        bob.try_run(&["receive"]);
        last_file(&bob, "Climbing")
    });
    assert_eq!(offered["sender"]["name"], "Alice", "{offered}");
    assert_eq!(offered["file"]["state"], "available", "{offered}");
    let saved = tempfile::tempdir().unwrap();
    let got = bob.run(&[
        "download",
        "Climbing",
        &offered["number"].to_string(),
        "--dir",
        saved.path().to_str().unwrap(),
    ]);
    assert_eq!(got["files"][0]["state"], "saved", "{got}");
    assert_eq!(
        std::fs::read(saved.path().join("topo.pdf")).unwrap(),
        content
    );
    // Bob acknowledged nothing: every chunk is still there for Carol.
    let after_bob: Vec<_> = chunk_files(&relays[0])
        .into_iter()
        .filter(|file| !before.contains(file))
        .collect();
    assert_eq!(after_bob, uploaded);

    // Carol's copy came by itself.
    wait_until("Carol's automatic download", || {
        carol.try_run(&["receive"]);
        (last_file(&carol, "Climbing")?["file"]["state"] == "received").then_some(())
    });
    let number_at_carol = last_file(&carol, "Climbing").unwrap()["number"].to_string();
    let saved_by_carol = tempfile::tempdir().unwrap();
    let got = carol.run(&[
        "download",
        "Climbing",
        &number_at_carol,
        "--dir",
        saved_by_carol.path().to_str().unwrap(),
    ]);
    assert_eq!(got["files"][0]["state"], "saved", "{got}");
    assert_eq!(
        std::fs::read(saved_by_carol.path().join("topo.pdf")).unwrap(),
        content
    );

    // Bob blocks saving the group's media: for every member.
    let set = bob.run(&["media", "Climbing", "--block-saving", "on"]);
    assert_eq!(set["block_saving"], true, "{set}");
    wait_until("the block at Carol", || {
        carol.try_run(&["receive"]);
        (carol.run(&["media", "Climbing"])["block_saving"] == true).then_some(())
    });
    let (saved, refused) = carol.try_run(&[
        "download",
        "Climbing",
        &number_at_carol,
        "--dir",
        saved_by_carol.path().to_str().unwrap(),
    ]);
    assert!(!saved);
    assert_eq!(refused["error"]["kind"], "saving_blocked", "{refused}");

    // Alice deletes it for everyone: the chunks leave the relay, the
    // members' copies their profiles.
    let copies = |profile: &Profile| files_under(&profile.dir.join("files")).len();
    assert!(copies(&bob) > 0 && copies(&carol) > 0);
    alice.run(&["delete", "Climbing", &number.to_string()]);
    let left: Vec<_> = chunk_files(&relays[0])
        .into_iter()
        .filter(|file| !before.contains(file))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    for member in [&bob, &carol] {
        wait_until("the delete at a member", || {
            member.try_run(&["receive"]);
            (last_file(member, "Climbing")?["deleted"] == true && copies(member) == 0).then_some(())
        });
    }
}
