//! End to end with real processes: joining a group through its link. Dave
//! and Erin are no one's contacts: they ask through the link, under a name
//! of their own for the group, and the admin sees nothing of their
//! profiles. With approval by an admin, one is approved and one declined;
//! with automatic approval, one joins at once; after the link is replaced,
//! a request through the old one is refused. And a member blocked by
//! another is hidden for that one only.

// Test glue: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{Profile, Relay, connect_by_invitation, received_events, wait_until};
use serde_json::Value;

fn names(profile: &Profile, group: &str) -> Vec<String> {
    match profile.try_run(&["group", "members", group]) {
        (true, members) => {
            let mut names: Vec<String> = members["members"]
                .as_array()
                .unwrap_or_else(|| panic!("{members}"))
                .iter()
                .map(|m| m["name"].as_str().unwrap().to_owned())
                .collect();
            names.sort();
            names
        }
        (false, _) => Vec::new(),
    }
}

fn requests(profile: &Profile, group: &str) -> Vec<Value> {
    let listed = profile.run(&["group", "requests", group]);
    listed["requests"]
        .as_array()
        .unwrap_or_else(|| panic!("{listed}"))
        .clone()
}

#[test]
fn joining_by_link_with_approval_automatically_declined_and_after_a_replacement() {
    let relays = [Relay::start(), Relay::start()];
    let root = tempfile::tempdir().unwrap();
    let alice = Profile::init(root.path(), "Alice", &relays[0]);
    let bob = Profile::init(root.path(), "Bob", &relays[1]);
    let dave = Profile::init(root.path(), "Dave Realname", &relays[1]);
    let erin = Profile::init(root.path(), "Erin Realname", &relays[0]);
    let frank = Profile::init(root.path(), "Frank Realname", &relays[1]);
    connect_by_invitation(&alice, "Alice", &bob, "Bob");
    alice.run(&["group", "create", "Climbers"]);

    // Only owners and admins make links; a plain link needs an admin.
    let made = alice.run(&["group", "link", "Climbers", "--qr"]);
    assert_eq!(made["approval"], "admin", "{made}");
    let link = made["link"].as_str().unwrap().to_owned();
    assert!(link.contains("/group#"), "{link}");
    assert_eq!(
        alice.run(&["group", "link", "Climbers"])["link"],
        link.as_str(),
        "shown again, not replaced"
    );
    let (ok, refused) = alice.try_run(&["connect", &link]);
    assert!(!ok, "a group link is not a contact's: {refused}");

    // Dave asks under a name for this group; Alice's client holds the request.
    let picture = root.path().join("dave.jpg");
    std::fs::write(&picture, [0xff, 0xd8, 0xff, 0xe0, 0, 16]).unwrap();
    let asked = dave.run(&[
        "group",
        "join",
        &link,
        "--name",
        "Rope Dave",
        "--picture",
        picture.to_str().unwrap(),
    ]);
    assert_eq!(asked["pending"], true, "{asked}");
    assert_eq!(asked["name"], "Climbers", "{asked}");
    assert_eq!(
        dave.run(&["group", "joins"])["joins"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let received = alice.receive_until("Dave's request", |outputs| {
        received_events(outputs)
            .iter()
            .any(|e| e["type"] == "group_join_requested")
    });
    let waiting = requests(&alice, "Climbers");
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert_eq!(waiting[0]["name"], "Rope Dave");
    // Nothing of Dave's profile reaches Alice.
    let seen = format!("{received:?} {waiting:?} {}", alice.run(&["contacts"]));
    assert!(!seen.contains("Realname"), "{seen}");
    dave.run(&["receive"]);
    assert!(
        names(&dave, "Climbers").is_empty(),
        "not in before approval"
    );

    let request = waiting[0]["id"].as_u64().unwrap().to_string();
    let approved = alice.run(&["group", "approve", "Climbers", &request]);
    assert_eq!(approved["approved"], true, "{approved}");
    wait_until("Dave in the group", || {
        dave.run(&["receive"]);
        (names(&dave, "Climbers") == ["Alice", "Rope Dave"]).then_some(())
    });
    assert_eq!(names(&alice, "Climbers"), ["Alice", "Rope Dave"]);
    // The picture Dave joined with shows for him and for Alice.
    for profile in [&alice, &dave] {
        let members = profile.run(&["group", "members", "Climbers"]);
        let dave = members["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == "Rope Dave")
            .unwrap_or_else(|| panic!("{members}"))
            .clone();
        assert_eq!(dave["picture"], "/9j/4AAQ", "{members}");
    }
    assert!(requests(&alice, "Climbers").is_empty());
    assert!(
        dave.run(&["group", "joins"])["joins"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // A plain member makes no link.
    let (ok, refused) = dave.try_run(&["group", "link", "Climbers"]);
    assert!(!ok, "{refused}");
    assert_eq!(refused["error"]["kind"], "forbidden", "{refused}");

    // They chat; the admin's view never shows Dave's profile name.
    dave.run(&["send", "Climbers", "hello from the wall"]);
    wait_until("Dave's text", || {
        alice.run(&["receive"]);
        let history = alice.run(&["history", "Climbers"]);
        history
            .to_string()
            .contains("hello from the wall")
            .then_some(())
    });
    let view = format!(
        "{} {} {}",
        alice.run(&["history", "Climbers"]),
        alice.run(&["group", "members", "Climbers"]),
        alice.run(&["contacts"])
    );
    assert!(!view.contains("Realname"), "{view}");

    // Erin is declined: told so, and not in the group.
    erin.run(&["group", "join", &link, "--name", "Erin E"]);
    alice.receive_until("Erin's request", |outputs| {
        received_events(outputs)
            .iter()
            .any(|e| e["type"] == "group_join_requested")
    });
    let erin_request = requests(&alice, "Climbers")[0]["id"]
        .as_u64()
        .unwrap()
        .to_string();
    let declined = alice.run(&["group", "decline", "Climbers", &erin_request]);
    assert_eq!(declined["declined"], true, "{declined}");
    erin.receive_until("the refusal", |outputs| {
        received_events(outputs)
            .iter()
            .any(|e| e["type"] == "group_join_refused")
    });
    assert!(names(&erin, "Climbers").is_empty());
    assert!(
        erin.run(&["group", "joins"])["joins"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Automatic: Frank is in as soon as Alice's client reads his request.
    let automatic = alice.run(&["group", "link", "Climbers", "--approval", "automatic"]);
    assert_eq!(automatic["approval"], "automatic", "{automatic}");
    assert_eq!(automatic["link"], link.as_str(), "the same link");
    frank.run(&["group", "join", &link]);
    wait_until("Frank in the group", || {
        alice.run(&["receive"]);
        bob.run(&["receive"]);
        frank.run(&["receive"]);
        (names(&frank, "Climbers") == ["Alice", "Frank Realname", "Rope Dave"]).then_some(())
    });
    dave.run(&["receive"]);
    assert_eq!(
        names(&dave, "Climbers"),
        ["Alice", "Frank Realname", "Rope Dave"]
    );

    // Replaced: the old link is refused, the new one works.
    let replaced = alice.run(&["group", "link", "Climbers", "--replace"]);
    let new_link = replaced["link"].as_str().unwrap().to_owned();
    assert_ne!(new_link, link);
    assert_eq!(replaced["approval"], "automatic", "{replaced}");
    let (ok, refused) = bob.try_run(&["group", "join", &link, "--name", "Bob B"]);
    assert!(!ok, "{refused}");
    assert_eq!(refused["error"]["kind"], "refused", "{refused}");
    assert!(
        bob.run(&["group", "joins"])["joins"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    bob.run(&["group", "join", &new_link, "--name", "Bob B"]);
    wait_until("Bob in the group", || {
        alice.run(&["receive"]);
        bob.run(&["receive"]);
        (names(&bob, "Climbers").len() == 4).then_some(())
    });

    // A join given up forgets its reply queue.
    let asked = erin.run(&["group", "join", &new_link, "--name", "Erin E"]);
    let join = asked["join"].as_u64().unwrap().to_string();
    let cancelled = erin.run(&["group", "joins", "--cancel", &join]);
    assert_eq!(cancelled["joins"], serde_json::json!([]), "{cancelled}");

    // Deleted: no link, and requests through it are refused.
    let deleted = alice.run(&["group", "link", "Climbers", "--delete"]);
    assert_eq!(deleted["deleted"], true, "{deleted}");
    let (ok, refused) = erin.try_run(&["group", "join", &new_link]);
    assert!(!ok, "{refused}");
    assert_eq!(refused["error"]["kind"], "refused", "{refused}");
}

#[test]
fn a_blocked_member_is_hidden_for_the_blocker_only() {
    let relay = Relay::start();
    let root = tempfile::tempdir().unwrap();
    let alice = Profile::init(root.path(), "Alice", &relay);
    let bob = Profile::init(root.path(), "Bob", &relay);
    let carol = Profile::init(root.path(), "Carol", &relay);
    alice.run(&["group", "create", "Hikers"]);
    let made = alice.run(&["group", "link", "Hikers", "--approval", "automatic"]);
    let link = made["link"].as_str().unwrap().to_owned();
    bob.run(&["group", "join", &link]);
    carol.run(&["group", "join", &link]);
    wait_until("everyone in the group", || {
        alice.run(&["receive"]);
        bob.run(&["receive"]);
        carol.run(&["receive"]);
        [&alice, &bob, &carol]
            .iter()
            .all(|p| names(p, "Hikers") == ["Alice", "Bob", "Carol"])
            .then_some(())
    });

    let blocked = bob.run(&["group", "block", "Hikers", "Carol"]);
    assert_eq!(blocked["blocked"], true, "{blocked}");
    let (ok, refused) = bob.try_run(&["group", "block", "Hikers", "Bob"]);
    assert!(!ok, "no one blocks themselves: {refused}");
    let members = bob.run(&["group", "members", "Hikers"]);
    let carol_member = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "Carol")
        .unwrap()
        .clone();
    assert_eq!(carol_member["blocked"], true, "{members}");

    carol.run(&["send", "Hikers", "while blocked"]);
    alice.run(&["send", "Hikers", "from alice"]);
    let texts = |profile: &Profile| profile.run(&["history", "Hikers"]).to_string();
    wait_until("Alice's text at Bob's", || {
        bob.run(&["receive"]);
        texts(&bob).contains("from alice").then_some(())
    });
    assert!(!texts(&bob).contains("while blocked"), "{}", texts(&bob));
    alice.run(&["receive"]);
    assert!(
        texts(&alice).contains("while blocked"),
        "only Bob blocked Carol"
    );

    let unblocked = bob.run(&["group", "unblock", "Hikers", "Carol"]);
    assert_eq!(unblocked["blocked"], false, "{unblocked}");
    carol.run(&["send", "Hikers", "after unblocking"]);
    wait_until("Carol's new text at Bob's", || {
        bob.run(&["receive"]);
        texts(&bob).contains("after unblocking").then_some(())
    });
    assert!(!texts(&bob).contains("while blocked"), "not shown later");
}
