//! Roles are enforced by every member: a commit the sender's role does not allow is
//! refused by everyone and changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{create, invite, pseudonym, read, settle, three_with_an_admin};
use sotto_groups::{Action, CommitIntent, Error, GroupProfile, Role};

#[test]
fn a_members_add_is_refused_by_everyone() {
    let mut alice = create("Alice");
    let [mut bob, mut carol] = invite(&mut alice, &mut [], &["Bob", "Carol"])
        .try_into()
        .unwrap();
    let (_, dave) = pseudonym("Dave");

    // Bob's own client refuses to make the commit.
    let refused = Error::Forbidden {
        role: Role::Member,
        action: Action::Add,
    };
    assert_eq!(
        bob.add_members(std::slice::from_ref(&dave)).unwrap_err(),
        refused
    );
    assert!(!bob.has_pending_commit());

    // A client that skips the check still gets its commit refused by everyone else.
    let forged = bob
        .dangerous_commit_without_policy(CommitIntent::Add(vec![dave]))
        .unwrap();
    for member in [&mut alice, &mut carol] {
        let epoch = member.epoch();
        assert_eq!(member.process(forged.as_bytes()), Err(refused));
        assert_eq!(member.epoch(), epoch);
        assert_eq!(member.member_count(), 3);
    }
    bob.discard_commit().unwrap();

    // Nothing changed: the group goes on.
    let message = alice.encrypt(b"still here").unwrap();
    assert_eq!(read(&mut bob, message.as_bytes()), b"still here");
    assert_eq!(read(&mut carol, message.as_bytes()), b"still here");
}

#[test]
fn admins_add_and_remove_but_not_owners() {
    let (mut alice, mut bob, mut carol) = three_with_an_admin();
    assert_eq!(carol.role(&bob.own_member_id()), Ok(Role::Admin));

    // An admin adds.
    let [mut dave] = invite(&mut bob, &mut [&mut alice, &mut carol], &["Dave"])
        .try_into()
        .unwrap();
    assert_eq!(dave.role(&bob.own_member_id()), Ok(Role::Admin));

    // An admin may not remove the owner nor make anyone owner.
    let forbidden_remove = Error::Forbidden {
        role: Role::Admin,
        action: Action::Remove,
    };
    assert_eq!(
        bob.remove_members(&[alice.own_member_id()]).unwrap_err(),
        forbidden_remove
    );
    let forged = bob
        .dangerous_commit_without_policy(CommitIntent::Remove(vec![alice.own_member_id()]))
        .unwrap();
    for member in [&mut alice, &mut carol, &mut dave] {
        assert_eq!(member.process(forged.as_bytes()), Err(forbidden_remove));
    }
    bob.discard_commit().unwrap();
    let forbidden_role = Error::Forbidden {
        role: Role::Admin,
        action: Action::ChangeRole,
    };
    assert_eq!(
        bob.set_role(carol.own_member_id(), Role::Owner)
            .unwrap_err(),
        forbidden_role
    );

    // A member may not change roles; the forged change is refused by all.
    let forged = carol
        .dangerous_commit_without_policy(CommitIntent::SetRole(carol.own_member_id(), Role::Admin))
        .unwrap();
    let forbidden_member = Error::Forbidden {
        role: Role::Member,
        action: Action::ChangeRole,
    };
    for member in [&mut alice, &mut bob, &mut dave] {
        assert_eq!(member.process(forged.as_bytes()), Err(forbidden_member));
    }
    carol.discard_commit().unwrap();

    // An admin removes a member; the owner demotes the admin, whose role entry goes.
    let removal = bob.remove_members(&[dave.own_member_id()]).unwrap();
    settle(&removal, &mut bob, &mut [&mut alice, &mut carol, &mut dave]);
    let demote = alice.set_role(bob.own_member_id(), Role::Member).unwrap();
    settle(&demote, &mut alice, &mut [&mut bob, &mut carol]);
    assert_eq!(alice.roles().unwrap().entries().count(), 1);
    assert_eq!(
        bob.add_members(&[pseudonym("Erin").1]).unwrap_err(),
        Error::Forbidden {
            role: Role::Member,
            action: Action::Add
        }
    );
}

#[test]
fn a_removed_admin_leaves_no_role_behind() {
    let (mut alice, mut bob, mut carol) = three_with_an_admin();
    let removal = alice.remove_members(&[bob.own_member_id()]).unwrap();
    settle(&removal, &mut alice, &mut [&mut bob, &mut carol]);
    let roles = carol.roles().unwrap();
    assert_eq!(roles.entries().count(), 1);
    assert_eq!(roles.role(&bob.own_member_id()), Role::Member);
}

#[test]
fn the_last_owner_cannot_step_down() {
    let mut alice = create("Alice");
    let [mut bob] = invite(&mut alice, &mut [], &["Bob"]).try_into().unwrap();
    let alice_id = alice.own_member_id();
    assert_eq!(
        alice.set_role(alice_id, Role::Admin).unwrap_err(),
        Error::Forbidden {
            role: Role::Owner,
            action: Action::ChangeRole
        }
    );
    // Once Bob is an owner too, Alice may step down.
    let promote = alice.set_role(bob.own_member_id(), Role::Owner).unwrap();
    settle(&promote, &mut alice, &mut [&mut bob]);
    let step_down = alice.set_role(alice_id, Role::Admin).unwrap();
    settle(&step_down, &mut alice, &mut [&mut bob]);
    assert_eq!(bob.role(&alice_id), Ok(Role::Admin));
}

#[test]
fn owners_and_admins_set_the_group_profile_and_members_may_not() {
    let (mut alice, mut bob, mut carol) = three_with_an_admin();
    assert_eq!(carol.profile(), Ok(None));
    let profile = GroupProfile::new("Climbing", "Saturdays at the wall", vec![9; 300]).unwrap();
    let commit = alice.set_profile(profile.clone()).unwrap();
    let summary = settle(&commit, &mut alice, &mut [&mut bob, &mut carol]);
    assert_eq!(summary.profile.as_ref(), Some(&profile));
    assert_eq!(carol.profile(), Ok(Some(profile.clone())));

    // An admin renames it; the roles stay as they were.
    let renamed = GroupProfile::new("Climbing club", "", Vec::new()).unwrap();
    let commit = bob.set_profile(renamed.clone()).unwrap();
    settle(&commit, &mut bob, &mut [&mut alice, &mut carol]);
    assert_eq!(alice.profile(), Ok(Some(renamed.clone())));
    assert_eq!(carol.role(&bob.own_member_id()), Ok(Role::Admin));
    // Changing a role keeps the profile.
    let commit = alice.set_role(carol.own_member_id(), Role::Admin).unwrap();
    settle(&commit, &mut alice, &mut [&mut bob, &mut carol]);
    assert_eq!(bob.profile(), Ok(Some(renamed.clone())));
    let commit = alice.set_role(carol.own_member_id(), Role::Member).unwrap();
    settle(&commit, &mut alice, &mut [&mut bob, &mut carol]);

    // A plain member may not, and everyone refuses a client that tries anyway.
    let refused = Error::Forbidden {
        role: Role::Member,
        action: Action::ChangeGroupContext,
    };
    let defaced = GroupProfile::new("Not climbing", "", Vec::new()).unwrap();
    assert_eq!(carol.set_profile(defaced.clone()).unwrap_err(), refused);
    let forged = carol
        .dangerous_commit_without_policy(CommitIntent::SetProfile(defaced))
        .unwrap();
    for member in [&mut alice, &mut bob] {
        assert_eq!(member.process(forged.as_bytes()), Err(refused));
        assert_eq!(member.profile(), Ok(Some(renamed.clone())));
    }
}

#[test]
fn a_group_made_with_a_profile_shows_it_to_a_joiner() {
    let profile = GroupProfile::new("Book club", "One book a month", Vec::new()).unwrap();
    let mut alice = sotto_groups::Group::create_with_profile(
        &sotto_groups::DisplayName::new("Alice").unwrap(),
        Some(&profile),
        common::now(),
        3600,
    )
    .unwrap();
    let [bob] = invite(&mut alice, &mut [], &["Bob"]).try_into().unwrap();
    assert_eq!(bob.profile(), Ok(Some(profile)));
}
