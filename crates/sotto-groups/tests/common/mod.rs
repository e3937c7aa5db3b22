//! Helpers shared by the integration tests: members, a group log delivered in order, and
//! invitations.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::panic)]

use sotto_groups::{
    Commit, CommitSummary, DisplayName, Group, GroupEvent, KeyPackage, PendingJoin, Role, Welcome,
};

/// Key packages in tests last a week.
pub const WEEK: u64 = 7 * 24 * 60 * 60;

/// Seconds since the Unix epoch (OpenMLS checks key package lifetimes against the clock).
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

pub fn name(name: &str) -> DisplayName {
    DisplayName::new(name).unwrap()
}

/// A new group whose owner is called `owner`.
pub fn create(owner: &str) -> Group {
    Group::create(&name(owner), now(), WEEK).unwrap()
}

/// A pending join and its key package for a member called `member`.
pub fn pseudonym(member: &str) -> (PendingJoin, KeyPackage) {
    PendingJoin::new(&name(member), now(), WEEK).unwrap()
}

/// Delivers one log entry to every listed member, in order; their events.
pub fn deliver(bytes: &[u8], members: &mut [&mut Group]) -> Vec<GroupEvent> {
    members
        .iter_mut()
        .map(|member| member.process(bytes).unwrap())
        .collect()
}

/// Delivers a commit made by `committer` to it and to `others`; the common summary and
/// the welcome the committer may now send.
pub fn settle_with_welcome(
    commit: &Commit,
    committer: &mut Group,
    others: &mut [&mut Group],
) -> (CommitSummary, Option<Welcome>) {
    let GroupEvent::OwnCommitConfirmed { summary, welcome } =
        committer.process(commit.as_bytes()).unwrap()
    else {
        panic!("the committer's own commit did not confirm");
    };
    for event in deliver(commit.as_bytes(), others) {
        assert!(
            matches!(&event, GroupEvent::CommitApplied(s) | GroupEvent::Removed(s) if *s == summary),
            "{event:?}"
        );
    }
    (summary, welcome)
}

/// Like [`settle_with_welcome`], for commits that add no one.
pub fn settle(commit: &Commit, committer: &mut Group, others: &mut [&mut Group]) -> CommitSummary {
    settle_with_welcome(commit, committer, others).0
}

/// `adder` adds new members called `names`; every member of `others` applies the
/// commit and the new members join by welcome.
pub fn invite(adder: &mut Group, others: &mut [&mut Group], names: &[&str]) -> Vec<Group> {
    let (pending, key_packages): (Vec<_>, Vec<_>) = names.iter().map(|n| pseudonym(n)).unzip();
    let commit = adder.add_members(&key_packages).unwrap();
    let welcome = settle_with_welcome(&commit, adder, others).1.unwrap();
    pending
        .iter()
        .map(|join| join.join(welcome.as_bytes()).unwrap())
        .collect()
}

/// The plaintext of an application message, as `reader` decrypts it.
pub fn read(reader: &mut Group, message: &[u8]) -> Vec<u8> {
    match reader.process(message).unwrap() {
        GroupEvent::Message { plaintext, .. } => plaintext,
        other => panic!("not a message: {other:?}"),
    }
}

/// Alice (owner), Bob (admin) and Carol (member).
pub fn three_with_an_admin() -> (Group, Group, Group) {
    let mut alice = create("Alice");
    let [mut bob, mut carol] = invite(&mut alice, &mut [], &["Bob", "Carol"])
        .try_into()
        .unwrap();
    let promote = alice.set_role(bob.own_member_id(), Role::Admin).unwrap();
    let summary = settle(&promote, &mut alice, &mut [&mut bob, &mut carol]);
    assert_eq!(summary.role_changes, [(bob.own_member_id(), Role::Admin)]);
    (alice, bob, carol)
}
