//! Two commits for one epoch: the first in the log wins, the other is discarded by its
//! author and re-applied in the next epoch.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{pseudonym, read, settle_with_welcome, three_with_an_admin};
use sotto_groups::{CommitIntent, Error, Group, GroupEvent};

/// Processes a commit that should lose our own pending one; what ours meant to do.
fn lose(member: &mut Group, winner: &[u8]) -> CommitIntent {
    match member.process(winner).unwrap() {
        GroupEvent::CommitLost { lost, .. } => lost,
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_first_commit_in_the_log_wins() {
    let (mut alice, mut bob, mut carol) = three_with_an_admin();
    let epoch = alice.epoch();

    // Alice adds Dave and Bob adds Erin, both in the same epoch.
    let (dave_join, dave) = pseudonym("Dave");
    let (erin_join, erin) = pseudonym("Erin");
    let alices = alice.add_members(std::slice::from_ref(&dave)).unwrap();
    let bobs = bob.add_members(&[erin]).unwrap();

    // The log orders Bob's commit first: it wins everywhere.
    let GroupEvent::OwnCommitConfirmed { summary, welcome } = bob.process(bobs.as_bytes()).unwrap()
    else {
        panic!("Bob's commit did not confirm");
    };
    let lost = lose(&mut alice, bobs.as_bytes());
    assert_eq!(lost, CommitIntent::Add(vec![dave]));
    assert!(!alice.has_pending_commit());
    assert_eq!(
        carol.process(bobs.as_bytes()),
        Ok(GroupEvent::CommitApplied(summary))
    );
    let mut erin = erin_join.join(welcome.unwrap().as_bytes()).unwrap();

    // Alice's losing commit follows in the log: everyone skips it, Alice included.
    for member in [&mut alice, &mut bob, &mut carol, &mut erin] {
        assert_eq!(member.process(alices.as_bytes()), Err(Error::PastEpoch));
        assert_eq!(member.epoch(), epoch + 1);
    }
    // The losing commit's welcome was never released: Dave cannot join a dead branch.

    // Alice re-applies what she meant to do, in the new epoch.
    let again = alice.reapply(lost).unwrap().unwrap();
    let (_, welcome) =
        settle_with_welcome(&again, &mut alice, &mut [&mut bob, &mut carol, &mut erin]);
    let mut dave = dave_join.join(welcome.unwrap().as_bytes()).unwrap();
    assert_eq!(dave.member_count(), 5);
    let message = dave.encrypt(b"made it").unwrap();
    for member in [&mut alice, &mut bob, &mut carol, &mut erin] {
        assert_eq!(read(member, message.as_bytes()), b"made it");
    }
}

#[test]
fn a_lost_commit_already_done_by_the_winner_is_not_repeated() {
    let (mut alice, mut bob, mut carol) = three_with_an_admin();
    let carol_id = carol.own_member_id();
    let _alices = alice.remove_members(&[carol_id]).unwrap();
    let bobs = bob.remove_members(&[carol_id]).unwrap();
    assert!(matches!(
        bob.process(bobs.as_bytes()),
        Ok(GroupEvent::OwnCommitConfirmed { .. })
    ));
    let lost = lose(&mut alice, bobs.as_bytes());
    assert_eq!(
        carol
            .process(bobs.as_bytes())
            .map(|e| matches!(e, GroupEvent::Removed(_))),
        Ok(true)
    );
    assert!(alice.reapply(lost).unwrap().is_none());
    assert_eq!(alice.epoch(), bob.epoch());
}

#[test]
fn messages_and_proposals_arrive_while_a_commit_is_pending() {
    let (mut alice, mut bob, mut carol) = three_with_an_admin();
    let (_, dave) = pseudonym("Dave");
    let pending = alice.add_members(&[dave]).unwrap();

    // Carol's message of the current epoch still reads at Alice's.
    let message = carol.encrypt(b"before the commit").unwrap();
    assert_eq!(read(&mut alice, message.as_bytes()), b"before the commit");

    // Carol's leave proposal is queued everywhere; Alice's commit, made before it,
    // comes first in the log and leaves the proposal behind in the old epoch.
    let leave = carol.leave().unwrap();
    for member in [&mut alice, &mut bob] {
        assert!(matches!(
            member.process(leave.as_bytes()),
            Ok(GroupEvent::ProposalQueued { .. })
        ));
    }
    assert!(matches!(
        alice.process(pending.as_bytes()),
        Ok(GroupEvent::OwnCommitConfirmed { .. })
    ));
    assert!(matches!(
        bob.process(pending.as_bytes()),
        Ok(GroupEvent::CommitApplied(_))
    ));
    assert_eq!(alice.member_count(), 4);
    // The proposal did not survive its epoch: Carol sends it again.
    assert_eq!(
        alice.commit_proposals().unwrap_err(),
        Error::NothingToCommit
    );
}
