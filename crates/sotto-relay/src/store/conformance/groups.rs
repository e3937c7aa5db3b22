//! The group log behaviour every backend shares.

use sotto_wire::{GROUP_ENTRY_LEN, GroupAdminId, GroupEntry, GroupReadId, GroupWriteId};

use super::{NOW, Opener, id};
use crate::store::{
    AuthKey, Commit, GroupIds, GroupKeys, GroupRecord, Storage, WriteOp, WriteOutcome,
};

pub(crate) fn group_ids(seed: u8) -> GroupIds {
    GroupIds {
        admin_id: GroupAdminId::from_bytes(id(seed)),
        write_id: GroupWriteId::from_bytes(id(seed.wrapping_add(1))),
        read_id: GroupReadId::from_bytes(id(seed.wrapping_add(2))),
    }
}

pub(crate) fn group_keys(seed: u8) -> GroupKeys {
    GroupKeys {
        admin_key: AuthKey::from_bytes([seed; 32]),
        write_key: AuthKey::from_bytes([seed.wrapping_add(1); 32]),
        read_key: AuthKey::from_bytes([seed.wrapping_add(2); 32]),
    }
}

pub(crate) fn group_entry(fill: u8) -> GroupEntry {
    GroupEntry::new(vec![fill; GROUP_ENTRY_LEN]).unwrap()
}

pub(crate) fn create_group(seed: u8) -> WriteOp {
    WriteOp::CreateGroup {
        ids: group_ids(seed),
        keys: group_keys(seed),
    }
}

pub(crate) fn append(seed: u8, write_key: AuthKey, fill: u8) -> WriteOp {
    WriteOp::AppendGroup {
        write_id: group_ids(seed).write_id,
        write_key,
        entry: group_entry(fill),
    }
}

fn apply(store: &dyn Storage, op: WriteOp, now: u64) -> WriteOutcome {
    let outcomes = store.apply(&[op], now, Commit::Durable).unwrap();
    assert_eq!(outcomes.len(), 1);
    outcomes[0]
}

fn positions(store: &dyn Storage, seed: u8, now: u64) -> Option<(u64, u64)> {
    let ids = group_ids(seed);
    let by_read = store.group_by_read(&ids.read_id, now).unwrap();
    let by_write = store.group_by_write(&ids.write_id, now).unwrap();
    let by_admin = store.group_by_admin(&ids.admin_id, now).unwrap();
    assert_eq!(by_read, by_write);
    assert_eq!(by_read, by_admin);
    by_read.map(|record: GroupRecord| (record.first, record.next))
}

pub(crate) fn groups_are_created_appended_read_and_survive_reopen(open: Opener) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    assert_eq!(apply(&*store, create_group(1), NOW), WriteOutcome::Done);
    // Every id of a new log must be new, and the three apart.
    assert_eq!(apply(&*store, create_group(1), NOW), WriteOutcome::IdTaken);
    assert_eq!(apply(&*store, create_group(3), NOW), WriteOutcome::IdTaken);
    let mut same = group_ids(10);
    same.read_id = GroupReadId::from_bytes(*same.write_id.as_bytes());
    let same = WriteOp::CreateGroup {
        ids: same,
        keys: group_keys(10),
    };
    assert_eq!(apply(&*store, same, NOW), WriteOutcome::IdTaken);
    assert_eq!(positions(&*store, 1, NOW), Some((1, 1)));
    let write_key = group_keys(1).write_key;
    let read_id = group_ids(1).read_id;
    for seq in 1..=3 {
        assert_eq!(
            apply(&*store, append(1, write_key, seq as u8), NOW),
            WriteOutcome::Appended { read_id, seq }
        );
    }
    // The read id is not a write id, nor is the write id a read id.
    let wrong = WriteOp::AppendGroup {
        write_id: GroupWriteId::from_bytes(*read_id.as_bytes()),
        write_key,
        entry: group_entry(9),
    };
    assert_eq!(apply(&*store, wrong, NOW), WriteOutcome::Refused);
    let as_read = GroupReadId::from_bytes(*group_ids(1).write_id.as_bytes());
    assert_eq!(store.group_by_read(&as_read, NOW).unwrap(), None);
    assert_eq!(store.group_entry(&as_read, 1, NOW).unwrap(), None);
    let check = |store: &dyn Storage| {
        assert_eq!(positions(store, 1, NOW), Some((1, 4)));
        let record = store.group_by_read(&read_id, NOW).unwrap().unwrap();
        assert_eq!((record.ids, record.keys), (group_ids(1), group_keys(1)));
        for seq in 1..=3u64 {
            let entry = store.group_entry(&read_id, seq, NOW).unwrap();
            assert_eq!(entry, Some(group_entry(seq as u8)));
        }
        assert_eq!(store.group_entry(&read_id, 0, NOW).unwrap(), None);
        assert_eq!(store.group_entry(&read_id, 4, NOW).unwrap(), None);
        assert_eq!(store.group_entry(&read_id, u64::MAX, NOW).unwrap(), None);
    };
    check(&*store);
    drop(store);
    let store = open(dir.path());
    check(&*store);
    assert_eq!(
        apply(&*store, append(1, write_key, 4), NOW),
        WriteOutcome::Appended { read_id, seq: 4 }
    );
}

pub(crate) fn rekeying_refuses_the_old_write_key_and_deletion_forgets_the_log(open: Opener) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    assert_eq!(apply(&*store, create_group(1), NOW), WriteOutcome::Done);
    assert_eq!(apply(&*store, create_group(20), NOW), WriteOutcome::Done);
    let ids = group_ids(1);
    let old = group_keys(1);
    let read_id = ids.read_id;
    apply(&*store, append(1, old.write_key, 1), NOW);
    let new_write = AuthKey::from_bytes([77; 32]);
    let new_read = AuthKey::from_bytes([78; 32]);
    let rekey = |admin_id| WriteOp::RekeyGroup {
        admin_id,
        write_key: new_write,
        read_key: new_read,
    };
    assert_eq!(
        apply(&*store, rekey(ids.admin_id), NOW + 1),
        WriteOutcome::GroupEnded(read_id)
    );
    let unknown = GroupAdminId::from_bytes(id(99));
    assert_eq!(apply(&*store, rekey(unknown), NOW), WriteOutcome::Refused);
    // A write authorized by the old key before the rotation is refused after it.
    assert_eq!(
        apply(&*store, append(1, old.write_key, 2), NOW + 1),
        WriteOutcome::Refused
    );
    assert_eq!(
        apply(&*store, append(1, new_write, 2), NOW + 1),
        WriteOutcome::Appended { read_id, seq: 2 }
    );
    let record = store.group_by_read(&read_id, NOW + 1).unwrap().unwrap();
    assert_eq!(record.keys.admin_key, old.admin_key);
    assert_eq!(
        (record.keys.write_key, record.keys.read_key),
        (new_write, new_read)
    );
    drop(store);
    let store = open(dir.path());
    let record = store.group_by_read(&read_id, NOW + 1).unwrap().unwrap();
    assert_eq!(
        (record.keys.write_key, record.first, record.next),
        (new_write, 1, 3)
    );

    let delete = |admin_id| WriteOp::DeleteGroup { admin_id };
    assert_eq!(
        apply(&*store, delete(ids.admin_id), NOW + 2),
        WriteOutcome::GroupEnded(read_id)
    );
    assert_eq!(
        apply(&*store, delete(ids.admin_id), NOW + 2),
        WriteOutcome::Refused
    );
    assert_eq!(
        apply(&*store, append(1, new_write, 3), NOW + 2),
        WriteOutcome::Refused
    );
    let gone = |store: &dyn Storage| {
        assert_eq!(positions(store, 1, NOW + 2), None);
        assert_eq!(store.group_entry(&read_id, 1, NOW + 2).unwrap(), None);
        assert_eq!(positions(store, 20, NOW + 2), Some((1, 1)));
    };
    gone(&*store);
    drop(store);
    let store = open(dir.path());
    gone(&*store);
    // Its ids are free again only as far as the store goes: the relay draws
    // new ones at random, and a clash is refused like any other.
    assert_eq!(
        apply(&*store, create_group(20), NOW + 2),
        WriteOutcome::IdTaken
    );
}

pub(crate) fn group_entries_expire_and_idle_logs_go(open: Opener) {
    // The group TTL of `policy` is 200 seconds.
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    apply(&*store, create_group(1), NOW);
    let write_key = group_keys(1).write_key;
    let read_id = group_ids(1).read_id;
    apply(&*store, append(1, write_key, 1), NOW);
    apply(&*store, append(1, write_key, 2), NOW + 100);
    assert_eq!(positions(&*store, 1, NOW + 199), Some((1, 3)));
    // The first entry is hidden at once, then swept.
    assert_eq!(positions(&*store, 1, NOW + 200), Some((2, 3)));
    assert_eq!(store.group_entry(&read_id, 1, NOW + 200).unwrap(), None);
    assert!(store.group_entry(&read_id, 2, NOW + 200).unwrap().is_some());
    store.expire(NOW + 200, usize::MAX).unwrap();
    drop(store);
    let store = open(dir.path());
    assert_eq!(positions(&*store, 1, NOW + 200), Some((2, 3)));
    // A rotation keeps the log alive; its sequence numbers go on after
    // every entry has expired.
    let rekey = WriteOp::RekeyGroup {
        admin_id: group_ids(1).admin_id,
        write_key,
        read_key: group_keys(1).read_key,
    };
    assert_eq!(
        apply(&*store, rekey, NOW + 250),
        WriteOutcome::GroupEnded(read_id)
    );
    assert_eq!(positions(&*store, 1, NOW + 350), Some((3, 3)));
    store.expire(NOW + 350, usize::MAX).unwrap();
    drop(store);
    let store = open(dir.path());
    assert_eq!(positions(&*store, 1, NOW + 350), Some((3, 3)));
    assert_eq!(
        apply(&*store, append(1, write_key, 3), NOW + 350),
        WriteOutcome::Appended { read_id, seq: 3 }
    );
    assert_eq!(positions(&*store, 1, NOW + 351), Some((3, 4)));
    drop(store);
    let store = open(dir.path());
    assert_eq!(positions(&*store, 1, NOW + 351), Some((3, 4)));
    // A log nobody appended to, rekeyed or created for the TTL goes whole.
    assert_eq!(positions(&*store, 1, NOW + 550), None);
    store.expire(NOW + 550, usize::MAX).unwrap();
    drop(store);
    let store = open(dir.path());
    assert_eq!(positions(&*store, 1, NOW + 550), None);
    assert_eq!(
        apply(&*store, append(1, write_key, 4), NOW + 550),
        WriteOutcome::Refused
    );
}
