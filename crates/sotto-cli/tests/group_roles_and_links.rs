//! End to end with real processes: a group's roles (an admin promoted by
//! the owner adds someone; a plain member's removal is refused), and "who
//! can add me to groups" set to nobody holding an invitation as a request.

// Test glue: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{Profile, Relay, connect_by_invitation, wait_until};

/// Each member's name and role as `profile` sees them, sorted by name.
fn roles(profile: &Profile, group: &str) -> Vec<(String, String)> {
    let members = profile.run(&["group", "members", group]);
    let mut roles: Vec<_> = members["members"]
        .as_array()
        .unwrap_or_else(|| panic!("{members}"))
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_owned(),
                m["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    roles.sort();
    roles
}

fn names(profile: &Profile, group: &str) -> Vec<String> {
    match profile.try_run(&["group", "members", group]) {
        (true, _) => roles(profile, group).into_iter().map(|(n, _)| n).collect(),
        (false, _) => Vec::new(),
    }
}

/// `inviter` invites its contact `invitee` (named `invitee_name` in
/// `inviter`'s contacts) and everyone receives until `everyone` see the
/// members `expected`.
fn invite(
    group: &str,
    inviter: &Profile,
    invitee: &Profile,
    invitee_name: &str,
    everyone: &[&Profile],
    expected: &[&str],
) {
    inviter.run(&["group", "invite", group, invitee_name]);
    wait_until("the invitee in the group", || {
        invitee.run(&["receive"]);
        for profile in everyone {
            profile.run(&["receive"]);
        }
        everyone
            .iter()
            .chain([&invitee])
            .all(|profile| names(profile, group) == expected)
            .then_some(())
    });
}

#[test]
fn an_admin_promoted_by_the_owner_adds_and_a_plain_member_removes_no_one() {
    let relays = [Relay::start(), Relay::start()];
    let root = tempfile::tempdir().unwrap();
    let alice = Profile::init(root.path(), "Alice", &relays[0]);
    let bob = Profile::init(root.path(), "Bob", &relays[1]);
    let carol = Profile::init(root.path(), "Carol", &relays[1]);
    let dave = Profile::init(root.path(), "Dave", &relays[0]);
    connect_by_invitation(&alice, "Alice", &bob, "Bob");
    connect_by_invitation(&alice, "Alice", &carol, "Carol");
    connect_by_invitation(&bob, "Bob", &dave, "Dave");

    alice.run(&["group", "create", "Ropes"]);
    invite("Ropes", &alice, &bob, "Bob", &[&alice], &["Alice", "Bob"]);
    invite(
        "Ropes",
        &alice,
        &carol,
        "Carol",
        &[&alice, &bob],
        &["Alice", "Bob", "Carol"],
    );

    // Bob may not add anyone yet.
    let (ok, refused) = bob.try_run(&["group", "invite", "Ropes", "Dave"]);
    assert!(!ok, "{refused}");
    assert_eq!(refused["error"]["kind"], "forbidden", "{refused}");

    // Alice makes Bob an admin; every member sees it.
    let promoted = alice.run(&["group", "promote", "Ropes", "Bob", "admin"]);
    assert_eq!(promoted["role"], "admin", "{promoted}");
    for profile in [&bob, &carol] {
        profile.run(&["receive"]);
    }
    let expected = [
        ("Alice".to_owned(), "owner".to_owned()),
        ("Bob".to_owned(), "admin".to_owned()),
        ("Carol".to_owned(), "member".to_owned()),
    ];
    for profile in [&alice, &bob, &carol] {
        assert_eq!(roles(profile, "Ropes"), expected);
    }

    // The new admin adds his own contact.
    invite(
        "Ropes",
        &bob,
        &dave,
        "Dave",
        &[&alice, &bob, &carol],
        &["Alice", "Bob", "Carol", "Dave"],
    );

    // Carol, a plain member, may neither remove nor promote anyone.
    let (ok, refused) = carol.try_run(&["group", "remove", "Ropes", "Dave"]);
    assert!(!ok, "{refused}");
    assert_eq!(refused["error"]["kind"], "forbidden", "{refused}");
    let (ok, refused) = carol.try_run(&["group", "promote", "Ropes", "Dave", "admin"]);
    assert!(!ok, "{refused}");
    assert_eq!(refused["error"]["kind"], "forbidden", "{refused}");
    // An admin names no owner.
    let (ok, refused) = bob.try_run(&["group", "promote", "Ropes", "Dave", "owner"]);
    assert!(!ok, "{refused}");
    for profile in [&alice, &bob, &carol, &dave] {
        profile.run(&["receive"]);
        assert_eq!(
            names(profile, "Ropes"),
            ["Alice", "Bob", "Carol", "Dave"],
            "nothing changed"
        );
    }
    assert_eq!(
        roles(&dave, "Ropes")[3],
        ("Dave".to_owned(), "member".to_owned())
    );
}

#[test]
fn who_can_add_me_nobody_holds_an_invitation_until_accepted() {
    let relay = Relay::start();
    let root = tempfile::tempdir().unwrap();
    let alice = Profile::init(root.path(), "Alice", &relay);
    let bob = Profile::init(root.path(), "Bob", &relay);
    connect_by_invitation(&alice, "Alice", &bob, "Bob");
    assert_eq!(bob.run(&["group-adds"])["group_adds"], "contacts");
    assert_eq!(bob.run(&["group-adds", "nobody"])["group_adds"], "nobody");
    let (ok, refused) = bob.try_run(&["group-adds", "everyone"]);
    assert!(!ok, "{refused}");

    alice.run(&["group", "create", "Quiet"]);
    alice.run(&["group", "create", "Loud"]);
    alice.run(&["group", "invite", "Quiet", "Bob"]);
    alice.run(&["group", "invite", "Loud", "Bob"]);
    let received = bob.receive_until("both invitations", |outputs| {
        common::received_events(outputs)
            .iter()
            .filter(|e| e["type"] == "group_invitation")
            .count()
            == 2
    });
    let events = common::received_events(&received);
    let invitation = events
        .iter()
        .find(|e| e["type"] == "group_invitation" && e["name"] == "Quiet")
        .unwrap_or_else(|| panic!("{received:?}"));
    let listed = bob.run(&["group", "invitations"]);
    let waiting = listed["invitations"].as_array().unwrap();
    assert_eq!(waiting.len(), 2, "{listed}");
    assert_eq!(waiting[0]["id"], invitation["invitation"], "{listed}");
    assert_eq!(waiting[0]["name"], "Quiet");
    let quiet = waiting[0]["id"].as_u64().unwrap().to_string();
    let loud = waiting[1]["id"].as_u64().unwrap().to_string();

    // Nothing joins while the invitations wait.
    alice.run(&["receive"]);
    bob.run(&["receive"]);
    assert!(!bob.try_run(&["group", "members", "Quiet"]).0);

    // Bob declines one and accepts the other.
    let declined = bob.run(&["group", "invitations", "decline", &loud]);
    assert_eq!(declined["declined"], true, "{declined}");
    let accepted = bob.run(&["group", "invitations", "accept", &quiet]);
    assert_eq!(accepted["accepted"], true, "{accepted}");
    let (ok, gone) = bob.try_run(&["group", "invitations", "accept", &quiet]);
    assert!(!ok);
    assert_eq!(gone["error"]["kind"], "unknown_invitation", "{gone}");
    wait_until("Bob in Quiet", || {
        alice.run(&["receive"]);
        bob.run(&["receive"]);
        (names(&bob, "Quiet") == ["Alice", "Bob"]).then_some(())
    });
    assert_eq!(names(&alice, "Loud"), ["Alice"]);
    assert!(!bob.try_run(&["group", "members", "Loud"]).0);
    let listed = bob.run(&["group", "invitations"]);
    assert_eq!(listed["invitations"], serde_json::json!([]), "{listed}");
}
