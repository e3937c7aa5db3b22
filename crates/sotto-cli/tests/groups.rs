//! End to end with real processes: three `sotto` profiles on two relay
//! processes make a group on one relay's group log: create, invite two
//! contacts over their pairwise chats, write, remove one (who then reads
//! nothing written after and cannot write), leave.

// Test glue: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use serde_json::Value;

use common::{Profile, Relay, connect_by_invitation, wait_until};

/// The group texts of `receive` outputs, as "sender: text".
fn group_texts(outputs: &[Value]) -> Vec<String> {
    outputs
        .iter()
        .flat_map(|o| o["messages"].as_array().cloned().unwrap_or_default())
        .filter(|m| m["sender"].is_object())
        .map(|m| {
            format!(
                "{}: {}",
                m["sender"]["name"].as_str().unwrap(),
                m["text"].as_str().unwrap()
            )
        })
        .collect()
}

fn member_names(profile: &Profile, group: &str) -> Vec<String> {
    let mut names: Vec<String> = profile.run(&["group", "members", group])["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_group_of_three_profiles_on_two_relays() {
    let relay_a = Relay::start();
    let relay_b = Relay::start();
    let root = tempfile::tempdir().unwrap();
    let alice = Profile::init(root.path(), "Alice", &relay_a);
    let bob = Profile::init(root.path(), "Bob", &relay_b);
    let carol = Profile::init(root.path(), "Carol", &relay_b);
    connect_by_invitation(&alice, "Alice", &bob, "Bob");
    connect_by_invitation(&alice, "Alice", &carol, "Carol");

    let created = alice.run(&["group", "create", "Climbing"]);
    assert_eq!(created["name"], "Climbing", "{created}");
    alice.run(&["group", "invite", "Climbing", "Bob"]);
    alice.run(&["group", "invite", "Climbing", "Carol"]);
    // The invitations, the key packages, the commits and the welcomes.
    wait_until("both invitees in the group", || {
        for profile in [&bob, &carol, &alice] {
            profile.run(&["receive"]);
        }
        (member_names(&alice, "Climbing") == ["Alice", "Bob", "Carol"]
            && bob.try_run(&["group", "members", "Climbing"]).0
            && carol.try_run(&["group", "members", "Climbing"]).0)
            .then_some(())
    });
    wait_until("everyone sees three members", || {
        for profile in [&bob, &carol] {
            profile.run(&["receive"]);
        }
        (member_names(&bob, "Climbing") == ["Alice", "Bob", "Carol"]
            && member_names(&carol, "Climbing") == ["Alice", "Bob", "Carol"])
        .then_some(())
    });

    // A group is a chat: `send` and `receive` work on it.
    let sent = alice.run(&["send", "Climbing", "Saturday at the wall?"]);
    assert_eq!(sent["sent"], true, "{sent}");
    bob.run(&["send", "Climbing", "I'm in"]);
    let received = [carol.run(&["receive"])];
    assert_eq!(
        group_texts(&received),
        ["Alice: Saturday at the wall?", "Bob: I'm in"]
    );
    assert_eq!(group_texts(&[alice.run(&["receive"])]), ["Bob: I'm in"]);
    // `history` shows a group's messages as chat items.
    let history = alice.run(&["history", "Climbing"]);
    let lines: Vec<_> = history["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("{history}"))
        .iter()
        .map(|m| {
            (
                m["direction"] == "outgoing",
                m["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            (true, "Saturday at the wall?".to_owned()),
            (false, "I'm in".to_owned())
        ]
    );

    // Alice removes Carol: the log's keys rotate; Carol is out.
    alice.run(&["group", "remove", "Climbing", "Carol"]);
    let after_removal = [carol.run(&["receive"])];
    let changes: Vec<_> = after_removal[0]["groups"]
        .as_array()
        .unwrap_or_else(|| panic!("{after_removal:?}"))
        .iter()
        .map(|g| g["change"]["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(changes, ["removed"], "{after_removal:?}");
    bob.run(&["receive"]);
    alice.run(&["send", "Climbing", "just us now"]);
    assert_eq!(
        group_texts(&[bob.run(&["receive"])]),
        ["Alice: just us now"]
    );
    // Carol reads nothing more and cannot write.
    let (_, nothing) = carol.try_run(&["receive"]);
    assert!(group_texts(&[nothing]).is_empty());
    let (ok, refused) = carol.try_run(&["send", "Climbing", "still here?"]);
    assert!(!ok, "{refused}");
    assert_eq!(member_names(&bob, "Climbing"), ["Alice", "Bob"]);

    // Bob leaves: Alice's client commits it as it reads it.
    bob.run(&["group", "leave", "Climbing"]);
    alice.run(&["receive"]);
    let left = bob.run(&["receive"]);
    assert!(
        left["groups"]
            .as_array()
            .unwrap_or_else(|| panic!("{left}"))
            .iter()
            .any(|g| g["change"]["type"] == "removed"),
        "{left}"
    );
    assert_eq!(member_names(&alice, "Climbing"), ["Alice"]);
}
