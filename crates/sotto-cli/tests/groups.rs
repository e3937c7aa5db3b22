//! End to end with real processes: three `sotto` profiles on two relay
//! processes make a group on one relay's group log: create, invite two
//! contacts over their pairwise chats, write, remove one (who then reads
//! nothing written after and cannot write), leave; every message type of a
//! chat in a group, with receipts, and a member listening live.

// Test glue: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use serde_json::Value;

use common::{Listener, Profile, Relay, connect_by_invitation, wait_until};

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

/// Alice (on one relay), Bob and Carol (on another), contacts of Alice,
/// in Alice's group "Climbing".
fn group_of_three(root: &std::path::Path, relays: &[Relay; 2]) -> [Profile; 3] {
    let [relay_a, relay_b] = relays;
    let alice = Profile::init(root, "Alice", relay_a);
    let bob = Profile::init(root, "Bob", relay_b);
    let carol = Profile::init(root, "Carol", relay_b);
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
    [alice, bob, carol]
}

#[test]
fn a_group_of_three_profiles_on_two_relays() {
    let relays = [Relay::start(), Relay::start()];
    let root = tempfile::tempdir().unwrap();
    let [alice, bob, carol] = group_of_three(root.path(), &relays);

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

    // Bob changes the name and picture he shows in this group; the others
    // read the change from the log.
    let picture = root.path().join("bob.webp");
    std::fs::write(&picture, [0x52, 0x49, 0x46, 0x46, 7, 7, 7]).unwrap();
    let picture = picture.to_str().unwrap();
    let changed = bob.run(&[
        "group",
        "me",
        "Climbing",
        "--name",
        "Robert",
        "--picture",
        picture,
    ]);
    assert_eq!(changed["name"], "Robert", "{changed}");
    assert_eq!(changed["picture"], "UklGRgcHBw==", "{changed}");
    let read = carol.run(&["receive"]);
    let change = &read["groups"][0]["change"];
    assert_eq!(change["type"], "member_profile", "{read}");
    assert_eq!(
        (&change["name"], &change["picture"]),
        (&"Robert".into(), &true.into())
    );
    for profile in [&alice, &carol] {
        profile.run(&["receive"]);
        let members = profile.run(&["group", "members", "Climbing"]);
        let robert = members["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == "Robert")
            .unwrap_or_else(|| panic!("{members}"))
            .clone();
        assert_eq!(robert["picture"], "UklGRgcHBw==", "{members}");
        assert_eq!(robert["id"], changed["id"]);
    }
    let members = alice.run(&["group", "members", "Climbing"]);
    assert!(members["members"][0]["picture"].is_null(), "{members}");
    // His messages show the new name; the picture goes as he asks.
    bob.run(&["send", "Climbing", "new name"]);
    assert_eq!(
        group_texts(&[carol.run(&["receive"])]),
        ["Robert: new name"]
    );
    let removed = bob.run(&["group", "me", "Climbing", "--no-picture"]);
    assert!(removed["picture"].is_null(), "{removed}");
    assert_eq!(removed["name"], "Robert");
    // A picture too large is refused before anything is sent, naming the limit.
    let large = root.path().join("large.jpg");
    std::fs::write(&large, vec![0xff; 2049]).unwrap();
    let (ok, refused) = bob.try_run(&[
        "group",
        "me",
        "Climbing",
        "--picture",
        large.to_str().unwrap(),
    ]);
    assert!(!ok && refused["error"]["kind"] == "usage", "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 2048 bytes: choose a smaller image"),
        "{refused}"
    );
    alice.run(&["receive"]);
    carol.run(&["receive"]);

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
    assert_eq!(member_names(&bob, "Climbing"), ["Alice", "Robert"]);

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

/// A message of a group's history, by its text.
fn item(profile: &Profile, text: &str) -> Value {
    let history = profile.run(&["history", "Climbing"]);
    history["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("{history}"))
        .iter()
        .find(|m| m["text"] == text)
        .unwrap_or_else(|| panic!("no {text:?} in {history}"))
        .clone()
}

#[test]
fn every_message_type_in_a_group_with_receipts_and_a_member_listening_live() {
    let mut relays = [Relay::start(), Relay::start()];
    let root = tempfile::tempdir().unwrap();
    let [alice, bob, carol] = group_of_three(root.path(), &relays);
    // The group is a chat in the list.
    let contacts = carol.run(&["contacts"]);
    let group = contacts["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Climbing")
        .unwrap_or_else(|| panic!("{contacts}"))
        .clone();
    assert_eq!(group["members"], 3, "{group}");

    // Bob listens: the group's log is subscribed, and what Alice writes,
    // mentioning him, shows as it arrives.
    let listener = Listener::start(&bob);
    std::thread::sleep(std::time::Duration::from_secs(1));
    let sent = alice.run(&["send", "Climbing", "ropes on Saturday?", "--mention", "Bob"]);
    let question = sent["message"].as_u64().unwrap_or_else(|| panic!("{sent}"));
    let pushed = listener.wait_for("Alice's text", |event| {
        event["type"] == "item_added" && event["item"]["text"] == "ropes on Saturday?"
    });
    assert_eq!(pushed["item"]["sender"]["name"], "Alice", "{pushed}");
    assert_eq!(pushed["item"]["mentions_me"], true, "{pushed}");
    // Bob replies through the listening process.
    let bob_question = item(&bob, "ropes on Saturday?")["number"].as_u64().unwrap();
    bob.run(&["reply", "Climbing", &bob_question.to_string(), "I have two"]);

    // Carol reads, reacts; Alice edits her text.
    carol.run(&["receive"]);
    let carol_question = item(&carol, "ropes on Saturday?");
    assert_eq!(carol_question["mentions_me"], false);
    let number = carol_question["number"].as_u64().unwrap().to_string();
    carol.run(&["react", "Climbing", &number, "👍"]);
    alice.run(&["receive"]);
    let reply = item(&alice, "I have two");
    assert_eq!(reply["reply_to"], question, "{reply}");
    assert_eq!(reply["sender"]["name"], "Bob");
    let reacted = item(&alice, "ropes on Saturday?");
    assert_eq!(reacted["reactions"][0]["emoji"], "👍", "{reacted}");
    let edited = alice.run(&[
        "edit",
        "Climbing",
        &question.to_string(),
        "ropes on Sunday?",
    ]);
    assert_eq!(edited["sent"], true, "{edited}");
    listener.wait_for("the edit", |event| {
        event["type"] == "item_changed" && event["item"]["text"] == "ropes on Sunday?"
    });
    // The group's relay restarts: Bob's listener subscribes again and reads
    // what was written meanwhile from its cursor.
    relays[0].restart();
    alice.run(&["send", "Climbing", "written across the restart"]);
    listener.wait_for("the text written across the restart", |event| {
        event["type"] == "item_added" && event["item"]["text"] == "written across the restart"
    });

    // Receipts: Bob's delivery receipt went with his reply, Carol's with her
    // reaction; Carol reads the chat (read receipt), Bob does not.
    carol.run(&["history", "Climbing", "--mark-read"]);
    alice.run(&["receive"]);
    let receipts = item(&alice, "ropes on Sunday?")["receipts"].clone();
    assert_eq!(receipts["members"], 2, "{receipts}");
    assert_eq!(receipts["delivered"], 2, "{receipts}");
    assert_eq!(receipts["read"], 1, "{receipts}");
    let read_by: Vec<_> = receipts["by"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "read")
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(read_by, ["Carol"]);
    // Bob turns read receipts off for the group: reading sends none.
    bob.run(&["receipts", "off", "--contact", "Climbing"]);
    bob.run(&["history", "Climbing", "--mark-read"]);
    alice.run(&["receive"]);
    assert_eq!(item(&alice, "ropes on Sunday?")["receipts"]["read"], 1);

    // The timer, then a delete for everyone.
    let timer = bob.run(&["timer", "Climbing", "3600"]);
    assert_eq!(timer["sent"], true, "{timer}");
    alice.run(&["delete", "Climbing", &question.to_string()]);
    carol.run(&["receive"]);
    let chat = carol.run(&["contacts"]);
    let group = chat["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Climbing")
        .unwrap()
        .clone();
    assert_eq!(group["timer_secs"], 3600, "{group}");
    let history = carol.run(&["history", "Climbing"]);
    let deleted = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["number"].as_u64() == Some(carol_question["number"].as_u64().unwrap()))
        .unwrap()
        .clone();
    assert_eq!(deleted["deleted"], true, "{deleted}");
    listener.wait_for("the delete", |event| {
        event["type"] == "item_changed" && event["item"]["deleted"] == true
    });
    listener.stop();
}

#[test]
fn a_member_away_across_several_epochs_and_removals_reads_everything_when_back() {
    let relays = [Relay::start(), Relay::start()];
    let root = tempfile::tempdir().unwrap();
    let [alice, bob, carol] = group_of_three(root.path(), &relays);
    let dave = Profile::init(root.path(), "Dave", &relays[0]);
    connect_by_invitation(&alice, "Alice", &dave, "Dave");
    alice.run(&["group", "invite", "Climbing", "Dave"]);
    wait_until("Dave in the group", || {
        for profile in [&dave, &alice] {
            profile.run(&["receive"]);
        }
        dave.try_run(&["group", "members", "Climbing"])
            .0
            .then_some(())
    });

    // Carol is away while Alice removes Dave (the log's write key rotates),
    // writes, and Bob leaves (Alice's client commits it): three epochs.
    alice.run(&["group", "remove", "Climbing", "Dave"]);
    alice.run(&["send", "Climbing", "Dave is out"]);
    bob.run(&["receive"]);
    bob.run(&["group", "leave", "Climbing"]);
    alice.run(&["receive"]);
    alice.run(&["send", "Climbing", "Bob left too"]);
    assert_eq!(member_names(&alice, "Climbing"), ["Alice", "Carol"]);

    // Carol comes back: every commit and every text, in order.
    let back = [carol.run(&["receive"])];
    assert_eq!(
        group_texts(&back),
        ["Alice: Dave is out", "Alice: Bob left too"],
        "{back:?}"
    );
    assert_eq!(member_names(&carol, "Climbing"), ["Alice", "Carol"]);
    // She acknowledged the removals: the read key rotates too, and the two
    // go on with the new keys.
    alice.run(&["receive"]);
    alice.run(&["send", "Climbing", "just us"]);
    assert_eq!(group_texts(&[carol.run(&["receive"])]), ["Alice: just us"]);
    carol.run(&["send", "Climbing", "yes"]);
    assert_eq!(group_texts(&[alice.run(&["receive"])]), ["Carol: yes"]);
    // Dave and Bob read nothing of it.
    for gone in [&dave, &bob] {
        let (_, nothing) = gone.try_run(&["receive"]);
        assert!(group_texts(&[nothing]).is_empty());
    }
}
