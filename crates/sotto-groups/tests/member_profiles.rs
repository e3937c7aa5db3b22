//! A member's name and picture in one group: chosen when joining, changed by the member's
//! own self-update, checked by every member, never changed by anyone else.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{WEEK, create, invite, name, now, read, settle};
use sotto_groups::{
    CommitIntent, Error, Group, MAX_MEMBER_PICTURE_LEN, MemberProfile, PendingJoin,
};

fn profile(member: &str, picture: &[u8]) -> MemberProfile {
    MemberProfile::new(name(member), picture.to_vec()).unwrap()
}

#[test]
fn a_member_changes_its_name_and_picture() {
    let mut alice = create("Alice");
    let [mut bob, mut carol] = invite(&mut alice, &mut [], &["Bob", "Carol"])
        .try_into()
        .unwrap();
    let bob_id = bob.own_member_id();
    let picture = vec![0xAB; MAX_MEMBER_PICTURE_LEN];
    let commit = bob
        .set_member_profile(&profile("Robert", &picture))
        .unwrap();
    // The pending change survives a restart.
    let mut bob = Group::from_pickle(&bob.pickle().unwrap()).unwrap();
    let summary = settle(&commit, &mut bob, &mut [&mut alice, &mut carol]);
    assert_eq!(summary.renamed, [(bob_id, name("Robert"))]);
    assert_eq!(summary.picture_changes, [(bob_id, picture.clone())]);
    for member in [&alice, &bob, &carol] {
        let shown = member.members().unwrap();
        assert_eq!(shown[1].name, name("Robert"));
        assert_eq!(shown[1].picture, picture);
        assert!(shown[0].picture.is_empty());
        assert_eq!(
            member.member_profile(&bob_id).unwrap(),
            profile("Robert", &picture)
        );
    }

    // A rename keeps the picture; a profile without one removes it.
    let commit = bob.rename(&name("Bobby")).unwrap();
    let summary = settle(&commit, &mut bob, &mut [&mut alice, &mut carol]);
    assert_eq!(summary.renamed, [(bob_id, name("Bobby"))]);
    assert!(summary.picture_changes.is_empty());
    assert_eq!(alice.member_profile(&bob_id).unwrap().picture(), picture);
    let commit = bob.set_member_profile(&profile("Bobby", &[])).unwrap();
    let summary = settle(&commit, &mut bob, &mut [&mut alice, &mut carol]);
    assert!(summary.renamed.is_empty());
    assert_eq!(summary.picture_changes, [(bob_id, Vec::new())]);
    assert!(carol.members().unwrap()[1].picture.is_empty());

    // A plain member may; the group goes on.
    let commit = carol
        .set_member_profile(&profile("Caro", &[1, 2, 3]))
        .unwrap();
    settle(&commit, &mut carol, &mut [&mut alice, &mut bob]);
    let message = carol.encrypt(b"new look").unwrap();
    assert_eq!(read(&mut alice, message.as_bytes()), b"new look");
}

#[test]
fn a_joiner_brings_its_picture_and_sees_the_others() {
    let mut alice = create("Alice");
    let commit = alice
        .set_member_profile(&profile("Alice", b"alice's face"))
        .unwrap();
    settle(&commit, &mut alice, &mut []);
    let (join, key_package) =
        PendingJoin::with_profile(&profile("Bob", b"bob's face"), now(), WEEK).unwrap();
    assert_eq!(
        key_package.member_profile().unwrap(),
        profile("Bob", b"bob's face")
    );
    let commit = alice.add_members(&[key_package]).unwrap();
    let (_, welcome) = common::settle_with_welcome(&commit, &mut alice, &mut []);
    let bob = join.join(welcome.unwrap().as_bytes()).unwrap();
    for member in [&alice, &bob] {
        let pictures: Vec<_> = member
            .members()
            .unwrap()
            .into_iter()
            .map(|m| m.picture)
            .collect();
        assert_eq!(pictures, [b"alice's face".to_vec(), b"bob's face".to_vec()]);
    }
}

#[test]
fn a_picture_too_large_is_refused_by_everyone() {
    let mut alice = create("Alice");
    let [mut bob, mut carol] = invite(&mut alice, &mut [], &["Bob", "Carol"])
        .try_into()
        .unwrap();
    let too_large = vec![1; MAX_MEMBER_PICTURE_LEN + 1];
    assert!(matches!(
        MemberProfile::new(name("Bob"), too_large.clone()),
        Err(Error::TooLong { .. })
    ));

    // A client that skips the bound gets its commit refused by everyone else.
    let forged = MemberProfile::dangerous_unchecked(name("Bob"), too_large.clone());
    let commit = bob
        .dangerous_commit_without_policy(CommitIntent::SetMemberProfile(forged.clone()))
        .unwrap();
    for member in [&mut alice, &mut carol] {
        let epoch = member.epoch();
        assert_eq!(
            member.process(commit.as_bytes()),
            Err(Error::InvalidProfile)
        );
        assert_eq!(member.epoch(), epoch);
    }
    bob.discard_commit().unwrap();

    // So is a key package carrying one, read or added.
    let (_, key_package) = PendingJoin::with_profile(&forged, now(), WEEK).unwrap();
    assert_eq!(key_package.display_name(), Err(Error::InvalidProfile));
    assert_eq!(
        alice.add_members(&[key_package]).unwrap_err(),
        Error::InvalidProfile
    );
    assert!(!alice.has_pending_commit());

    let message = alice.encrypt(b"still here").unwrap();
    assert_eq!(read(&mut bob, message.as_bytes()), b"still here");
}

#[test]
fn a_member_cannot_change_another_members_name_or_picture() {
    let mut alice = create("Alice");
    let [mut bob, mut carol] = invite(&mut alice, &mut [], &["Bob", "Carol"])
        .try_into()
        .unwrap();
    let alice_id = alice.own_member_id();
    let forged = bob
        .dangerous_update_as(alice_id, &profile("Mallory", b"not alice"))
        .unwrap();
    for member in [&mut alice, &mut carol] {
        let epoch = member.epoch();
        assert_eq!(
            member.process(forged.as_bytes()),
            Err(Error::InvalidCredential)
        );
        assert_eq!(member.epoch(), epoch);
        assert_eq!(
            member.member_profile(&alice_id).unwrap(),
            MemberProfile::named(name("Alice"))
        );
    }
    bob.discard_commit().unwrap();
    let message = alice.encrypt(b"still me").unwrap();
    assert_eq!(read(&mut carol, message.as_bytes()), b"still me");
}
