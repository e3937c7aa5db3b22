//! A group's life among three members: create, add, message, remove, leave.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{create, invite, read, settle};
use sotto_groups::{Error, GroupEvent, PADDING_SIZE, Role};

#[test]
fn three_party_lifecycle() {
    let mut alice = create("Alice");
    let [mut bob] = invite(&mut alice, &mut [], &["Bob"]).try_into().unwrap();
    let [mut carol] = invite(&mut alice, &mut [&mut bob], &["Carol"])
        .try_into()
        .unwrap();
    assert_eq!(alice.epoch(), 2);
    assert_eq!(bob.epoch(), 2);
    assert_eq!(carol.epoch(), 2);

    // Everyone sees the same members, names and roles.
    let members = alice.members().unwrap();
    assert_eq!(members, bob.members().unwrap());
    assert_eq!(members, carol.members().unwrap());
    let names: Vec<_> = members.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["Alice", "Bob", "Carol"]);
    let roles: Vec<_> = members.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::Owner, Role::Member, Role::Member]);

    // Messages go both ways and carry their sender.
    let hello = alice.encrypt(b"hello").unwrap();
    assert_eq!(read(&mut bob, hello.as_bytes()), b"hello");
    assert_eq!(read(&mut carol, hello.as_bytes()), b"hello");
    let reply = bob.encrypt(b"hi Alice").unwrap();
    match alice.process(reply.as_bytes()).unwrap() {
        GroupEvent::Message { sender, plaintext } => {
            assert_eq!(sender, bob.own_member_id());
            assert_eq!(plaintext, b"hi Alice");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(read(&mut carol, reply.as_bytes()), b"hi Alice");
    // The sender's own message and a replay are reported, not shown.
    assert_eq!(bob.process(reply.as_bytes()), Err(Error::OwnMessage));
    assert_eq!(carol.process(reply.as_bytes()), Err(Error::Duplicate));

    // Security codes agree pairwise and differ between pairs.
    let code = alice.security_code(&bob.own_member_id()).unwrap();
    assert_eq!(code, bob.security_code(&alice.own_member_id()).unwrap());
    assert_ne!(code, alice.security_code(&carol.own_member_id()).unwrap());

    // Alice removes Carol; Carol learns it and cannot read the next epoch.
    let removal = alice.remove_members(&[carol.own_member_id()]).unwrap();
    let summary = settle(&removal, &mut alice, &mut [&mut bob, &mut carol]);
    assert_eq!(summary.removed, [carol.own_member_id()]);
    assert!(!carol.is_active());
    let secret = alice.encrypt(b"after Carol").unwrap();
    assert_eq!(read(&mut bob, secret.as_bytes()), b"after Carol");
    assert!(carol.process(secret.as_bytes()).is_err());
    assert_eq!(alice.member_count(), 2);
}

#[test]
fn a_member_leaves_by_proposal() {
    let mut alice = create("Alice");
    let [mut bob, mut carol] = invite(&mut alice, &mut [], &["Bob", "Carol"])
        .try_into()
        .unwrap();

    let leave = carol.leave().unwrap();
    for member in [&mut alice, &mut bob] {
        assert_eq!(
            member.process(leave.as_bytes()),
            Ok(GroupEvent::ProposalQueued {
                proposer: carol.own_member_id()
            })
        );
    }
    // MLS sends no application message while a proposal awaits its commit.
    assert_eq!(alice.encrypt(b"wait").unwrap_err(), Error::ProposalsPending);
    // Any member commits it, here a plain member.
    let commit = bob.commit_proposals().unwrap();
    let summary = settle(&commit, &mut bob, &mut [&mut alice, &mut carol]);
    assert_eq!(summary.removed, [carol.own_member_id()]);
    assert!(!carol.is_active());
    let message = alice.encrypt(b"two of us").unwrap();
    assert_eq!(read(&mut bob, message.as_bytes()), b"two of us");
}

#[test]
fn self_update_and_padding() {
    let mut alice = create("Alice");
    let [mut bob] = invite(&mut alice, &mut [], &["Bob"]).try_into().unwrap();
    let update = bob.self_update().unwrap();
    settle(&update, &mut bob, &mut [&mut alice]);
    assert_eq!(alice.epoch(), 2);

    // Short and medium texts give the same ciphertext size; longer ones grow in steps.
    let short = alice.encrypt(b"ok").unwrap();
    let medium = alice.encrypt(&[b'x'; 3000]).unwrap();
    let long = alice.encrypt(&vec![b'x'; PADDING_SIZE + 100]).unwrap();
    assert_eq!(short.as_bytes().len(), medium.as_bytes().len());
    assert!(long.as_bytes().len() >= short.as_bytes().len() + PADDING_SIZE);
    assert_eq!(read(&mut bob, medium.as_bytes()), vec![b'x'; 3000]);
}

#[test]
fn the_last_owner_cannot_leave() {
    let mut alice = create("Alice");
    let [mut bob] = invite(&mut alice, &mut [], &["Bob"]).try_into().unwrap();
    assert_eq!(alice.leave().unwrap_err(), Error::LastOwner);
    let promote = alice.set_role(bob.own_member_id(), Role::Owner).unwrap();
    settle(&promote, &mut alice, &mut [&mut bob]);
    assert!(alice.leave().is_ok());
}

#[test]
fn key_package_lifetimes_are_checked() {
    use sotto_groups::{DisplayName, MAX_KEY_PACKAGE_LIFETIME_SECS, PendingJoin};
    let name = DisplayName::new("Late").unwrap();
    let now = common::now();
    assert_eq!(
        PendingJoin::new(&name, now, 0).unwrap_err(),
        Error::InvalidLifetime
    );
    assert_eq!(
        PendingJoin::new(&name, now, MAX_KEY_PACKAGE_LIFETIME_SECS + 1).unwrap_err(),
        Error::InvalidLifetime
    );
    // A key package that expired an hour ago is refused by the adder.
    let (_, expired) = PendingJoin::new(&name, now - 2 * 3600, 1800).unwrap();
    let mut alice = create("Alice");
    assert_eq!(
        alice.add_members(&[expired]).unwrap_err(),
        Error::Rejected("key package")
    );
    assert!(!alice.has_pending_commit());
}

#[test]
fn debug_output_shows_no_secret() {
    let alice = create("Alice");
    let shown = format!("{alice:?}");
    assert!(shown.starts_with("Group { member_id: MemberId("), "{shown}");
    let (join, key_package) = common::pseudonym("Bob");
    assert!(format!("{join:?}").starts_with("PendingJoin { member_id: MemberId("));
    assert!(format!("{key_package:?}").starts_with("KeyPackage("));
}

#[test]
fn a_member_renames_itself_in_one_group() {
    use sotto_groups::{DisplayName, Group};
    let mut alice = create("Alice");
    let [mut bob] = invite(&mut alice, &mut [], &["Bob"]).try_into().unwrap();
    let name = DisplayName::new("Robert").unwrap();
    let rename = bob.rename(&name).unwrap();
    // The pending rename survives a restart.
    let mut bob = Group::from_pickle(&bob.pickle().unwrap()).unwrap();
    let summary = settle(&rename, &mut bob, &mut [&mut alice]);
    assert_eq!(summary.renamed, [(bob.own_member_id(), name.clone())]);
    let names: Vec<_> = alice
        .members()
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(names, [DisplayName::new("Alice").unwrap(), name]);
    // A plain self-update renames no one.
    let update = bob.self_update().unwrap();
    assert!(
        settle(&update, &mut bob, &mut [&mut alice])
            .renamed
            .is_empty()
    );
}
