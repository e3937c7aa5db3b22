//! Groups and pending joins survive a pickle round trip; hostile bytes anywhere give an
//! error, never a panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{create, invite, pseudonym, read, settle, settle_with_welcome};
use sotto_groups::{Error, Group, GroupEvent, PICKLE_VERSION, PendingJoin};

#[test]
fn a_group_round_trips_and_goes_on() {
    let mut alice = create("Alice");
    let [mut bob] = invite(&mut alice, &mut [], &["Bob"]).try_into().unwrap();
    let before = alice.members().unwrap();

    let mut alice = Group::from_pickle(&alice.pickle().unwrap()).unwrap();
    assert_eq!(alice.members().unwrap(), before);
    assert_eq!(
        alice.pickle().unwrap(),
        Group::from_pickle(&alice.pickle().unwrap())
            .unwrap()
            .pickle()
            .unwrap()
    );

    let message = alice.encrypt(b"restored").unwrap();
    assert_eq!(read(&mut bob, message.as_bytes()), b"restored");
    let reply = bob.encrypt(b"welcome back").unwrap();
    assert_eq!(read(&mut alice, reply.as_bytes()), b"welcome back");
}

#[test]
fn a_pending_commit_and_its_welcome_survive_a_restart() {
    let mut alice = create("Alice");
    let [mut bob] = invite(&mut alice, &mut [], &["Bob"]).try_into().unwrap();
    let (carol_join, carol) = pseudonym("Carol");
    let commit = alice.add_members(&[carol]).unwrap();

    let mut alice = Group::from_pickle(&alice.pickle().unwrap()).unwrap();
    assert!(alice.has_pending_commit());
    let carol_join = PendingJoin::from_pickle(&carol_join.pickle().unwrap()).unwrap();
    let (_, welcome) = settle_with_welcome(&commit, &mut alice, &mut [&mut bob]);
    let carol = carol_join.join(welcome.unwrap().as_bytes()).unwrap();
    let mut carol = Group::from_pickle(&carol.pickle().unwrap()).unwrap();
    let message = bob.encrypt(b"hi Carol").unwrap();
    assert_eq!(read(&mut carol, message.as_bytes()), b"hi Carol");
    let update = carol.self_update().unwrap();
    settle(&update, &mut carol, &mut [&mut alice, &mut bob]);
}

#[test]
fn hostile_pickles_are_errors() {
    let mut alice = create("Alice");
    let [_bob] = invite(&mut alice, &mut [], &["Bob"]).try_into().unwrap();
    let pickle = alice.pickle().unwrap();

    // Every truncation.
    for len in (0..pickle.len()).step_by(7) {
        assert!(
            Group::from_pickle(&pickle[..len]).is_err(),
            "truncated at {len}"
        );
    }
    // Trailing bytes, another version, another kind.
    assert!(Group::from_pickle(&[pickle.as_slice(), &[0]].concat()).is_err());
    let mut other_version = pickle.to_vec();
    other_version[4] = PICKLE_VERSION + 1;
    assert_eq!(
        Group::from_pickle(&other_version).unwrap_err(),
        Error::UnsupportedVersion(PICKLE_VERSION + 1)
    );
    assert!(PendingJoin::from_pickle(&pickle).is_err());
    // A pending join's pickle is not a group's.
    let (join, _) = pseudonym("Carol");
    assert!(Group::from_pickle(&join.pickle().unwrap()).is_err());
    // Flipped bits throughout (the store authenticates pickles; this is defence in depth).
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..1500 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let mut flipped = pickle.to_vec();
        let at = (state as usize) % flipped.len();
        flipped[at] ^= 1 << (state % 8);
        // A flip that still loads must leave a group that errs, not panics, when used.
        if let Ok(mut group) = Group::from_pickle(&flipped) {
            let _ = group.members();
            let _ = group.encrypt(b"after a flip");
            let _ = group.self_update();
        }
    }
    // Lengths and counts that claim more than there is.
    let mut huge = b"SMLS".to_vec();
    huge.extend_from_slice(&[PICKLE_VERSION, 0x21]);
    huge.extend_from_slice(&[0; 48]);
    huge.extend_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(
        PendingJoin::from_pickle(&huge).unwrap_err(),
        Error::Malformed("pickle")
    );
}

#[test]
fn hostile_messages_and_welcomes_are_errors() {
    let mut alice = create("Alice");
    let [mut bob] = invite(&mut alice, &mut [], &["Bob"]).try_into().unwrap();
    let message = alice.encrypt(b"hello").unwrap();
    let bytes = message.as_bytes();
    for len in 0..bytes.len().min(200) {
        assert!(bob.process(&bytes[..len]).is_err());
    }
    for at in (0..bytes.len()).step_by(5) {
        let mut flipped = bytes.to_vec();
        flipped[at] ^= 0x40;
        assert!(bob.process(&flipped).is_err(), "flipped byte {at}");
    }
    // The untouched message still decrypts: nothing above changed the group.
    assert_eq!(read(&mut bob, bytes), b"hello");

    let (carol_join, carol) = pseudonym("Carol");
    let commit = alice.add_members(&[carol]).unwrap();
    let GroupEvent::OwnCommitConfirmed {
        welcome: Some(welcome),
        ..
    } = alice.process(commit.as_bytes()).unwrap()
    else {
        panic!("no welcome");
    };
    let welcome = welcome.as_bytes();
    for at in (0..welcome.len()).step_by(welcome.len() / 300 + 1) {
        let mut flipped = welcome.to_vec();
        flipped[at] ^= 0x01;
        let _ = carol_join.join(&flipped);
    }
    assert!(carol_join.join(&welcome[..welcome.len() - 1]).is_err());
    assert!(carol_join.join(bytes).is_err());
    assert!(carol_join.join(welcome).is_ok());
}

/// A caller's store of a group's values: the changes applied to it.
fn apply(
    stored: &mut std::collections::BTreeMap<Vec<u8>, Vec<u8>>,
    changes: Vec<sotto_groups::StateChange>,
) {
    for change in changes {
        match change.value {
            Some(value) => stored.insert(change.key, value.to_vec()),
            None => stored.remove(&change.key),
        };
    }
}

fn restore(header: &[u8], stored: &std::collections::BTreeMap<Vec<u8>, Vec<u8>>) -> Group {
    Group::from_state(
        header,
        stored
            .iter()
            .map(|(key, value)| (key.clone(), zeroize::Zeroizing::new(value.clone()))),
    )
    .unwrap()
}

#[test]
fn a_group_stored_apart_writes_only_what_changed() {
    let mut alice = create("Alice");
    let [mut bob] = invite(&mut alice, &mut [], &["Bob"]).try_into().unwrap();
    let mut stored = std::collections::BTreeMap::new();
    apply(&mut stored, alice.take_whole_state().unwrap());
    assert!(alice.take_state_changes().unwrap().is_empty());
    let header = alice.state_header().unwrap();
    let tree: Vec<_> = stored
        .keys()
        .filter(|key| key.starts_with(b"tree:"))
        .cloned()
        .collect();
    assert_eq!(tree.len(), 1);

    // A message changes a few values, never the tree.
    let message = alice.encrypt(b"one").unwrap();
    assert_eq!(read(&mut bob, message.as_bytes()), b"one");
    let changes = alice.take_state_changes().unwrap();
    assert!(!changes.is_empty());
    assert!(
        changes
            .iter()
            .all(|change| !change.key.starts_with(b"tree:"))
    );
    apply(&mut stored, changes);
    let mut alice = restore(&header, &stored);
    assert!(alice.take_state_changes().unwrap().is_empty());
    let message = alice.encrypt(b"two").unwrap();
    assert_eq!(read(&mut bob, message.as_bytes()), b"two");
    apply(&mut stored, alice.take_state_changes().unwrap());

    // A commit changes the tree and deletes the last epoch's values it no longer
    // needs; the restored group goes on.
    let update = bob.self_update().unwrap();
    settle(&update, &mut bob, &mut [&mut alice]);
    let changes = alice.take_state_changes().unwrap();
    assert!(
        changes
            .iter()
            .any(|change| change.key.starts_with(b"tree:"))
    );
    apply(&mut stored, changes);
    let mut alice = restore(&alice.state_header().unwrap(), &stored);
    let message = alice.encrypt(b"three").unwrap();
    assert_eq!(read(&mut bob, message.as_bytes()), b"three");
    apply(&mut stored, alice.take_state_changes().unwrap());
    assert_eq!(
        alice.pickle().unwrap(),
        restore(&alice.state_header().unwrap(), &stored)
            .pickle()
            .unwrap()
    );
}

#[test]
fn the_header_is_written_again_only_when_a_commit_of_ours_comes_or_goes() {
    let mut alice = create("Alice");
    let [mut bob] = invite(&mut alice, &mut [], &["Bob"]).try_into().unwrap();
    let mut stored = std::collections::BTreeMap::new();
    apply(&mut stored, alice.take_whole_state().unwrap());
    let mut header = alice.take_header_change().unwrap().unwrap();
    assert_eq!(header, alice.state_header().unwrap());
    assert!(alice.take_header_change().unwrap().is_none());

    // A message changes values, not the header.
    let message = alice.encrypt(b"one").unwrap();
    assert_eq!(read(&mut bob, message.as_bytes()), b"one");
    apply(&mut stored, alice.take_state_changes().unwrap());
    assert!(alice.take_header_change().unwrap().is_none());

    // Our commit awaiting the log is in the header, written once; restored from
    // what was written, the group has no change to write and confirms it.
    let (_, carol) = pseudonym("Carol");
    let commit = alice.add_members(&[carol]).unwrap();
    apply(&mut stored, alice.take_state_changes().unwrap());
    header = alice.take_header_change().unwrap().unwrap();
    assert!(alice.take_header_change().unwrap().is_none());
    let mut alice = restore(&header, &stored);
    assert!(alice.has_pending_commit());
    assert!(alice.take_header_change().unwrap().is_none());
    settle_with_welcome(&commit, &mut alice, &mut [&mut bob]);
    apply(&mut stored, alice.take_state_changes().unwrap());
    header = alice.take_header_change().unwrap().unwrap();
    assert_eq!(header, alice.state_header().unwrap());
    let mut alice = restore(&header, &stored);
    assert!(!alice.has_pending_commit());
    let message = alice.encrypt(b"two").unwrap();
    assert_eq!(read(&mut bob, message.as_bytes()), b"two");
}

#[test]
fn a_damaged_state_is_an_error() {
    let mut alice = create("Alice");
    let [_bob] = invite(&mut alice, &mut [], &["Bob"]).try_into().unwrap();
    let header = alice.state_header().unwrap();
    let mut stored = std::collections::BTreeMap::new();
    apply(&mut stored, alice.take_whole_state().unwrap());
    let values = |stored: &std::collections::BTreeMap<Vec<u8>, Vec<u8>>| {
        stored
            .iter()
            .map(|(key, value)| (key.clone(), zeroize::Zeroizing::new(value.clone())))
            .collect::<Vec<_>>()
    };
    // The header's truncations, a pickle as a header.
    for len in 0..header.len() {
        assert!(Group::from_state(&header[..len], values(&stored)).is_err());
    }
    assert!(Group::from_state(&alice.pickle().unwrap(), values(&stored)).is_err());
    assert!(Group::from_state(&header, std::iter::empty()).is_err());
    // A key twice, an empty key, a value missing, a value damaged.
    let mut twice = values(&stored);
    twice.push(twice[0].clone());
    assert!(Group::from_state(&header, twice).is_err());
    let mut empty = values(&stored);
    empty.push((Vec::new(), zeroize::Zeroizing::new(vec![1])));
    assert!(Group::from_state(&header, empty).is_err());
    for key in stored.keys().filter(|key| key.starts_with(b"tree:")) {
        let mut missing = stored.clone();
        missing.remove(key);
        assert!(Group::from_state(&header, values(&missing)).is_err());
        let mut damaged = stored.clone();
        damaged.insert(key.clone(), vec![0xff; 3]);
        assert!(Group::from_state(&header, values(&damaged)).is_err());
    }
}
