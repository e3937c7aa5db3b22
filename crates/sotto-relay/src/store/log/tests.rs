use std::path::Path;

use sotto_wire::{MessageId, QueueKey, RecipientId, SenderId};

use super::*;
use crate::store::conformance::{self, NOW, suite};
use crate::store::{AuthKey, QueueStatus};

const DAY: u64 = index::DAY_SECS;

fn config() -> LogConfig {
    LogConfig {
        policy: conformance::policy(),
        segment_bytes: DEFAULT_SEGMENT_BYTES,
        max_bytes: None,
        idle_queue_secs: 1000 * DAY,
    }
}

fn open_with(dir: &Path, config: LogConfig, now: u64) -> LogStore {
    LogStore::open(dir, config, now).unwrap()
}

fn open(dir: &Path) -> Box<dyn Storage> {
    Box::new(open_with(dir, config(), NOW))
}

suite!(open);

fn recipient(seed: u8) -> RecipientId {
    RecipientId::from_bytes([seed; 24])
}

fn create(seed: u8) -> WriteOp {
    WriteOp::CreateQueue {
        recipient_id: recipient(seed),
        record: Box::new(QueueRecord {
            recipient_key: AuthKey::from_bytes([seed; 32]),
            sender_id: SenderId::from_bytes([seed.wrapping_add(128); 24]),
            sender_key: None,
            status: QueueStatus::Active,
            queue_key: QueueKey::from_bytes([seed; 32]),
            pending: 0,
            quota_marker: false,
            next_seq: 0,
        }),
    }
}

fn message_id(queue: u8, n: u32) -> MessageId {
    let mut id = [queue; 24];
    id[..4].copy_from_slice(&n.to_be_bytes());
    MessageId::from_bytes(id)
}

fn send(queue: u8, n: u32, body_len: usize, accepted_at: u64) -> WriteOp {
    WriteOp::Send {
        sender_id: SenderId::from_bytes([queue.wrapping_add(128); 24]),
        message: StoredMessage {
            id: message_id(queue, n),
            accepted_at,
            flags: 0,
            body: vec![n as u8; body_len].into(),
        },
        marker_id: message_id(queue, n | 1 << 31),
    }
}

fn ack(queue: u8, n: u32) -> WriteOp {
    WriteOp::Ack {
        recipient_id: recipient(queue),
        message_id: message_id(queue, n),
    }
}

fn apply(store: &LogStore, ops: &[WriteOp], now: u64) -> Vec<WriteOutcome> {
    store.apply(ops, now, Commit::Durable).unwrap()
}

/// A queue's record, flattened to bytes, and its messages by sequence number.
type QueueSnapshot = (Vec<u8>, Vec<(u64, StoredMessage)>);

/// Everything a store holds that anyone can observe, in a comparable form:
/// per queue its record and every live message with its body.
fn snapshot(store: &LogStore) -> Vec<QueueSnapshot> {
    let index = store.index.read().unwrap();
    let mut queues: Vec<_> = index
        .queues
        .iter()
        .map(|(recipient_id, entry)| {
            let record = entry.to_record().unwrap();
            let mut described = recipient_id.as_bytes().to_vec();
            described.extend_from_slice(record.recipient_key.as_bytes());
            described.extend_from_slice(record.sender_id.as_bytes());
            described.extend_from_slice(
                record
                    .sender_key
                    .map(|k| *k.as_bytes())
                    .unwrap_or_default()
                    .as_slice(),
            );
            described.push(record.status as u8);
            described.extend_from_slice(record.queue_key.as_bytes());
            described.extend_from_slice(&record.pending.to_be_bytes());
            described.push(u8::from(record.quota_marker));
            described.extend_from_slice(&record.next_seq.to_be_bytes());
            let messages = entry
                .messages
                .iter()
                .map(|m| {
                    let file = store.file(m.at.segment).unwrap();
                    (m.seq, LogStore::stored_in_file(m.clone(), &file).unwrap())
                })
                .collect();
            (described, messages)
        })
        .collect();
    queues.sort_by(|a, b| a.0.cmp(&b.0));
    queues
}

fn last_segment(dir: &Path) -> std::path::PathBuf {
    let log = dir.join(LOG_DIR);
    let last = segment::list(&log).unwrap().into_iter().last().unwrap();
    segment::path(&log, last)
}

fn copy_dir(from: &Path, to: &Path) {
    let log = to.join(LOG_DIR);
    std::fs::create_dir_all(&log).unwrap();
    for entry in std::fs::read_dir(from.join(LOG_DIR)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), log.join(entry.file_name())).unwrap();
    }
}

#[test]
fn a_torn_last_record_is_cut_off_at_every_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (before, after, kept) = {
        let store = open_with(dir.path(), config(), NOW);
        apply(&store, &[create(1), send(1, 1, 300, NOW)], NOW);
        let kept = snapshot(&store);
        let before = std::fs::metadata(last_segment(dir.path())).unwrap().len();
        apply(&store, &[send(1, 2, 300, NOW)], NOW);
        let after = std::fs::metadata(last_segment(dir.path())).unwrap().len();
        (before, after, kept)
    };
    let whole = std::fs::read(last_segment(dir.path())).unwrap();
    for cut in before..after {
        for garbage in [None, Some(0x00), Some(0xa5)] {
            let copy = tempfile::tempdir().unwrap();
            copy_dir(dir.path(), copy.path());
            let mut bytes = whole[..cut as usize].to_vec();
            if let Some(fill) = garbage {
                // The power went after the file grew but before its pages came.
                bytes.resize(whole.len(), fill);
            }
            std::fs::write(last_segment(copy.path()), &bytes).unwrap();
            let store = open_with(copy.path(), config(), NOW);
            assert_eq!(snapshot(&store), kept, "cut at {cut}, fill {garbage:?}");
            assert_eq!(
                std::fs::metadata(last_segment(copy.path())).unwrap().len(),
                before
            );
            // The log goes on from there, and what follows survives a reopen.
            assert_eq!(
                apply(&store, &[send(1, 3, 10, NOW)], NOW),
                [WriteOutcome::Sent(recipient(1))]
            );
            let expected = snapshot(&store);
            drop(store);
            assert_eq!(snapshot(&open_with(copy.path(), config(), NOW)), expected);
        }
    }
}

#[test]
fn a_new_segment_without_its_header_is_started_again() {
    let dir = tempfile::tempdir().unwrap();
    let small = LogConfig {
        segment_bytes: 1 << 16,
        ..config()
    };
    let kept = {
        let store = open_with(dir.path(), small, NOW);
        apply(&store, &[create(1)], NOW);
        for n in 0..3 {
            apply(&store, &[send(1, n, 10_000, NOW)], NOW);
        }
        snapshot(&store)
    };
    // A segment created just before the power went: on disk, empty.
    let log = dir.path().join(LOG_DIR);
    let next = segment::list(&log).unwrap().last().unwrap() + 1;
    std::fs::write(segment::path(&log, next), b"").unwrap();
    let store = open_with(dir.path(), small, NOW);
    assert_eq!(snapshot(&store), kept);
    apply(&store, &[send(1, 9, 10, NOW)], NOW);
    drop(store);
    let store = open_with(dir.path(), small, NOW);
    assert_eq!(
        store.first_message(&recipient(1), NOW).unwrap().unwrap().id,
        message_id(1, 0)
    );
}

#[test]
fn damage_before_the_last_segment_refuses_to_open() {
    let dir = tempfile::tempdir().unwrap();
    let small = LogConfig {
        segment_bytes: 1 << 16,
        policy: Policy {
            queue_quota: 1000,
            message_ttl_secs: 100 * DAY,
            file_ttl_secs: 200,
            group_ttl_secs: 200,
        },
        ..config()
    };
    {
        let store = open_with(dir.path(), small, NOW);
        apply(&store, &[create(1)], NOW);
        for n in 0..10 {
            apply(&store, &[send(1, n, 10_000, NOW)], NOW);
        }
    }
    let log = dir.path().join(LOG_DIR);
    let numbers = segment::list(&log).unwrap();
    assert!(numbers.len() > 1, "{numbers:?}");
    let first = segment::path(&log, numbers[0]);
    let mut bytes = std::fs::read(&first).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&first, bytes).unwrap();
    assert!(matches!(
        LogStore::open(dir.path(), small, NOW),
        Err(Error::CorruptLog { .. })
    ));
}

#[test]
fn compaction_copies_live_records_forward_and_keeps_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let small = LogConfig {
        segment_bytes: 1 << 16,
        policy: Policy {
            queue_quota: 1000,
            message_ttl_secs: 100 * DAY,
            file_ttl_secs: 200,
            group_ttl_secs: 200,
        },
        ..config()
    };
    let store = open_with(dir.path(), small, NOW);
    apply(&store, &[create(1), create(2), create(3)], NOW);
    apply(
        &store,
        &[WriteOp::SecureQueue {
            recipient_id: recipient(2),
            sender_key: AuthKey::from_bytes([7; 32]),
        }],
        NOW,
    );
    // Queue 1 is read at once, queue 2 keeps its first messages, queue 3 is
    // deleted: old segments end up mostly dead but not all.
    for n in 0..40 {
        let accepted_at = NOW + u64::from(n);
        apply(
            &store,
            &[
                send(1, n, 3000, accepted_at),
                send(2, n, 3000, accepted_at),
                send(3, n, 500, accepted_at),
            ],
            accepted_at,
        );
        apply(&store, &[ack(1, n)], accepted_at);
    }
    for n in 0..35 {
        apply(&store, &[ack(2, n)], NOW + 100);
    }
    apply(
        &store,
        &[WriteOp::Delete {
            recipient_id: recipient(3),
        }],
        NOW + 100,
    );
    apply(
        &store,
        &[WriteOp::Suspend {
            recipient_id: recipient(2),
        }],
        NOW + 100,
    );
    let before = snapshot(&store);
    let segments_before = store.segments().unwrap();
    let (total_before, live) = store.usage().unwrap();
    store.reclaim().unwrap();
    let segments_after = store.segments().unwrap();
    let (total_after, live_after) = store.usage().unwrap();
    assert!(
        segments_after.len() < segments_before.len(),
        "{segments_before:?} → {segments_after:?}"
    );
    assert!(segments_after[0] > segments_before[0]);
    assert!(total_after < total_before);
    assert!(live_after <= live + 10_000, "{live} → {live_after}");
    assert_eq!(snapshot(&store), before);
    // Writes go on, and the compacted log replays to the same state.
    apply(&store, &[send(1, 99, 100, NOW + 200)], NOW + 200);
    let expected = snapshot(&store);
    drop(store);
    let store = open_with(dir.path(), small, NOW + 200);
    assert_eq!(snapshot(&store), expected);
    assert_eq!(store.segments().unwrap(), segments_after);
    // A crash after the copies were synced but before the old segment went:
    // originals and copies both replay, to the same state.
    drop(store);
    let copy = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), copy.path());
    let store = open_with(copy.path(), small, NOW + 200);
    store.reclaim().unwrap();
    assert_eq!(snapshot(&store), expected);
}

#[test]
fn the_budget_refuses_new_queues_and_messages_but_not_acks() {
    let dir = tempfile::tempdir().unwrap();
    let budget = LogConfig {
        max_bytes: Some(64 * 1024),
        policy: Policy {
            queue_quota: 1000,
            message_ttl_secs: 100 * DAY,
            file_ttl_secs: 200,
            group_ttl_secs: 200,
        },
        ..config()
    };
    let store = open_with(dir.path(), budget, NOW);
    apply(&store, &[create(1)], NOW);
    let mut sent = 0;
    loop {
        match apply(&store, &[send(1, sent, 10_000, NOW)], NOW)[..] {
            [WriteOutcome::Sent(_)] => sent += 1,
            [WriteOutcome::StorageFull] => break,
            ref other => panic!("{other:?}"),
        }
    }
    assert_eq!(sent, 6);
    // What is left still takes a new queue, then empty messages until the
    // budget cannot take even one more.
    assert_eq!(apply(&store, &[create(2)], NOW), [WriteOutcome::Done]);
    while apply(&store, &[send(1, sent, 0, NOW)], NOW) == [WriteOutcome::Sent(recipient(1))] {
        sent += 1;
    }
    assert_eq!(
        apply(&store, &[create(3)], NOW),
        [WriteOutcome::StorageFull]
    );
    assert_eq!(apply(&store, &[ack(1, 0)], NOW), [WriteOutcome::Done]);
    // Only the ACK's few bytes went past the budget.
    assert!(store.usage().unwrap().0 <= 64 * 1024 + 64);
}

#[test]
fn the_budget_refuses_new_group_logs_and_entries_but_not_rotations_or_deletions() {
    use crate::store::conformance::{append, create_group, group_ids, group_keys};

    let dir = tempfile::tempdir().unwrap();
    let budget = LogConfig {
        max_bytes: Some(64 * 1024),
        ..config()
    };
    let store = open_with(dir.path(), budget, NOW);
    apply(&store, &[create_group(1), create_group(10)], NOW);
    let write_key = group_keys(1).write_key;
    let mut appended = 0;
    loop {
        match apply(&store, &[append(1, write_key, 7)], NOW)[..] {
            [WriteOutcome::Appended { .. }] => appended += 1,
            [WriteOutcome::StorageFull] => break,
            ref other => panic!("{other:?}"),
        }
    }
    assert_eq!(appended, 4);
    let record = store
        .group_by_read(&group_ids(1).read_id, NOW)
        .unwrap()
        .unwrap();
    assert_eq!((record.first, record.next), (1, 5));
    // Removing a member must still work when the relay is full.
    let rekey = WriteOp::RekeyGroup {
        admin_id: group_ids(1).admin_id,
        write_key: AuthKey::from_bytes([50; 32]),
        read_key: AuthKey::from_bytes([51; 32]),
    };
    assert_eq!(
        apply(&store, &[rekey], NOW),
        [WriteOutcome::GroupEnded(group_ids(1).read_id)]
    );
    let delete = WriteOp::DeleteGroup {
        admin_id: group_ids(10).admin_id,
    };
    assert_eq!(
        apply(&store, &[delete], NOW),
        [WriteOutcome::GroupEnded(group_ids(10).read_id)]
    );
    assert!(store.usage().unwrap().0 <= 64 * 1024 + 1024);
}

/// What readers see of the group logs of `seeds` at `now`: each log's record
/// and its live entries.
type GroupSnapshot = Vec<(Option<GroupRecord>, Vec<(u64, sotto_wire::GroupEntry)>)>;

fn group_snapshot(store: &LogStore, seeds: &[u8], now: u64) -> GroupSnapshot {
    use crate::store::conformance::group_ids;

    seeds
        .iter()
        .map(|seed| {
            let read_id = group_ids(*seed).read_id;
            let record = store.group_by_read(&read_id, now).unwrap();
            let entries = record.map_or(Vec::new(), |record| {
                (record.first..record.next)
                    .filter_map(|seq| {
                        let entry = store.group_entry(&read_id, seq, now).unwrap()?;
                        Some((seq, entry))
                    })
                    .collect()
            });
            (record, entries)
        })
        .collect()
}

#[test]
fn compaction_copies_live_group_logs_forward_and_keeps_their_sequence_numbers() {
    use crate::store::conformance::{append, create_group, group_ids, group_keys};

    let dir = tempfile::tempdir().unwrap();
    let small = LogConfig {
        segment_bytes: 1 << 16,
        ..config()
    };
    let store = open_with(dir.path(), small, NOW);
    apply(
        &store,
        &[create_group(1), create_group(10), create_group(20)],
        NOW,
    );
    // Log 1: 24 entries, a second apart; log 10 deleted; log 20 rekeyed.
    for n in 0..24u8 {
        let at = NOW + u64::from(n);
        apply(&store, &[append(1, group_keys(1).write_key, n)], at);
        if n % 4 == 0 {
            apply(&store, &[append(20, group_keys(20).write_key, 100 + n)], at);
        }
    }
    apply(
        &store,
        &[WriteOp::DeleteGroup {
            admin_id: group_ids(10).admin_id,
        }],
        NOW + 30,
    );
    apply(
        &store,
        &[WriteOp::RekeyGroup {
            admin_id: group_ids(20).admin_id,
            write_key: AuthKey::from_bytes([60; 32]),
            read_key: AuthKey::from_bytes([61; 32]),
        }],
        NOW + 30,
    );
    // The group TTL is 200 s: at NOW + 219 log 1's first 20 entries have
    // expired, and all of log 20's (it lives on from its rotation).
    let now = NOW + 219;
    let before = group_snapshot(&store, &[1, 10, 20], now);
    assert_eq!(
        before[0].0.map(|record| (record.first, record.next)),
        Some((21, 25))
    );
    assert_eq!(before[1], (None, Vec::new()));
    // The sweep forgets the expired entries, then old segments are reclaimed
    // and the group records in them copied forward.
    let segments_before = store.segments().unwrap();
    store.expire(now, usize::MAX).unwrap();
    store.reclaim().unwrap();
    let segments_after = store.segments().unwrap();
    assert!(
        segments_after[0] > segments_before[0] && segments_after.len() < segments_before.len(),
        "{segments_before:?} → {segments_after:?}"
    );
    assert_eq!(group_snapshot(&store, &[1, 10, 20], now), before);
    drop(store);
    let store = open_with(dir.path(), small, now);
    assert_eq!(group_snapshot(&store, &[1, 10, 20], now), before);
    // Sequence numbers go on where they were.
    assert_eq!(
        apply(&store, &[append(1, group_keys(1).write_key, 77)], now),
        [WriteOutcome::Appended {
            read_id: group_ids(1).read_id,
            seq: 25,
        }]
    );
    assert_eq!(
        apply(
            &store,
            &[append(20, AuthKey::from_bytes([60; 32]), 78)],
            now
        ),
        [WriteOutcome::Appended {
            read_id: group_ids(20).read_id,
            seq: 7,
        }]
    );
}

#[test]
fn queues_nobody_uses_expire_and_a_read_counts_as_use() {
    let dir = tempfile::tempdir().unwrap();
    let idle = LogConfig {
        idle_queue_secs: 2 * DAY,
        ..config()
    };
    let start = NOW - NOW % DAY;
    let store = open_with(dir.path(), idle, start);
    apply(&store, &[create(1), create(2), create(3)], start);
    // A day later queue 2 is read (a SUB, say), queue 3 written to.
    apply(&store, &[send(3, 1, 10, start + DAY)], start + DAY);
    assert!(store.queue(&recipient(2)).unwrap().is_some());
    assert_eq!(store.expire(start + DAY, 100).unwrap(), 0);
    // Two whole days after its last use, queue 1 is still there...
    store.expire(start + 3 * DAY - 1, 100).unwrap();
    assert!(store.queue(&recipient(1)).unwrap().is_some());
    drop(store);
    // ...and gone on the day after, by the sweep or at replay.
    let store = open_with(dir.path(), idle, start + 3 * DAY);
    assert!(store.queue(&recipient(1)).unwrap().is_none());
    assert!(store.queue(&recipient(2)).unwrap().is_some());
    store.expire(start + 3 * DAY, 100).unwrap();
    drop(store);
    let store = open_with(dir.path(), idle, start + 3 * DAY);
    assert!(store.queue(&recipient(1)).unwrap().is_none());
    assert!(store.queue(&recipient(3)).unwrap().is_some());
    assert_eq!(store.expire(start + 6 * DAY, 100).unwrap(), 0);
    assert!(store.queue(&recipient(2)).unwrap().is_none());
    assert!(store.queue(&recipient(3)).unwrap().is_none());
}

#[test]
fn a_power_loss_keeps_every_durable_write_and_a_prefix_of_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let small = LogConfig {
        segment_bytes: 1 << 16,
        policy: Policy {
            queue_quota: 1000,
            message_ttl_secs: 100 * DAY,
            file_ttl_secs: 200,
            group_ttl_secs: 200,
        },
        ..config()
    };
    let store = open_with(dir.path(), small, NOW);
    apply(&store, &[create(1)], NOW);
    for n in 0..8 {
        apply(&store, &[send(1, n, 10_000, NOW)], NOW);
    }
    // Then writes that are never synced, across two new segments: only the
    // segments sealed on the way are synced (at each rollover).
    for n in 8..20 {
        store
            .apply(&[send(1, n, 10_000, NOW)], NOW, Commit::Deferred)
            .unwrap();
    }
    let segments = store.segments().unwrap();
    assert!(segments.len() >= 3, "{segments:?}");
    drop(store);
    // The machine loses what the last segment held past its synced header.
    std::fs::OpenOptions::new()
        .write(true)
        .open(last_segment(dir.path()))
        .unwrap()
        .set_len(segment::HEADER_LEN)
        .unwrap();
    let store = open_with(dir.path(), small, NOW);
    let queue = store.queue(&recipient(1)).unwrap().unwrap();
    assert!((8..20).contains(&queue.pending), "{}", queue.pending);
    let ids: Vec<MessageId> = store.index.read().unwrap().queues[&recipient(1)]
        .messages
        .iter()
        .map(|m| m.id)
        .collect();
    let expected: Vec<MessageId> = (0..queue.pending).map(|n| message_id(1, n)).collect();
    assert_eq!(ids, expected);
}

#[test]
fn a_body_longer_than_the_protocol_allows_is_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(dir.path(), config(), NOW);
    apply(&store, &[create(1)], NOW);
    assert_eq!(
        apply(
            &store,
            &[send(1, 1, sotto_wire::MAX_MESSAGE_BODY + 1, NOW)],
            NOW
        ),
        [WriteOutcome::Refused]
    );
    assert_eq!(
        apply(
            &store,
            &[send(1, 2, sotto_wire::MAX_MESSAGE_BODY, NOW)],
            NOW
        ),
        [WriteOutcome::Sent(recipient(1))]
    );
    drop(store);
    let store = open_with(dir.path(), config(), NOW);
    assert_eq!(store.queue(&recipient(1)).unwrap().unwrap().pending, 1);
}

#[test]
fn a_failed_store_answers_nothing_more() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(dir.path(), config(), NOW);
    apply(&store, &[create(1)], NOW);
    let _ = store.fail(Error::Storage("fsync failed".into()));
    assert!(matches!(
        store.apply(&[create(2)], NOW, Commit::Durable),
        Err(Error::StoreFailed)
    ));
    assert!(matches!(
        store.queue(&recipient(1)),
        Err(Error::StoreFailed)
    ));
    assert!(matches!(store.sync(), Err(Error::StoreFailed)));
    assert!(
        store
            .apply(&[create(2)], NOW, Commit::Durable)
            .unwrap_err()
            .is_fatal()
    );
}

#[test]
fn messages_are_read_only_once_their_batch_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(dir.path(), config(), NOW);
    apply(&store, &[create(1), send(1, 1, 100, NOW)], NOW);
    // Hide everything written after this point, as during a batch's fsync.
    let end = store.visible_end.load(Ordering::Acquire);
    apply(&store, &[ack(1, 1), send(1, 2, 100, NOW)], NOW);
    store.visible_end.store(end, Ordering::Release);
    assert_eq!(store.first_message(&recipient(1), NOW).unwrap(), None);
    apply(&store, &[], NOW);
    assert_eq!(
        store.first_message(&recipient(1), NOW).unwrap().unwrap().id,
        message_id(1, 2)
    );
}

#[test]
fn a_queue_head_not_yet_durable_hides_the_messages_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(dir.path(), config(), NOW);
    apply(
        &store,
        &[create(1), send(1, 0, 100, NOW), send(1, 1, 100, NOW)],
        NOW,
    );
    // As reclaiming does: the head is copied forward, after the next message,
    // and is not yet synced.
    let head = store.index.read().unwrap().queues[&recipient(1)].messages[0].clone();
    let body = LogStore::read_body(&store.file(head.at.segment).unwrap(), head.at).unwrap();
    let copy = Record::Message {
        recipient_id: recipient(1),
        message: index::message_record(&head, &body),
    };
    let mut writer = store.writer.lock().unwrap();
    {
        let mut index = store.index.write().unwrap();
        store
            .append_records(&mut writer, &mut index, &[copy])
            .unwrap();
    }
    // The message after it must not be delivered first meanwhile.
    assert_eq!(store.first_message(&recipient(1), NOW).unwrap(), None);
    store.commit(&mut writer, Commit::Durable).unwrap();
    drop(writer);
    assert_eq!(
        store
            .first_message(&recipient(1), NOW)
            .unwrap()
            .map(|m| m.id),
        Some(message_id(1, 0))
    );
}

#[test]
fn a_message_written_lately_reads_from_memory_as_from_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(dir.path(), config(), NOW);
    apply(&store, &[create(1), send(1, 0, 16_000, NOW)], NOW);
    let head = store.index.read().unwrap().queues[&recipient(1)].messages[0].clone();
    let file = store.file(head.at.segment).unwrap();
    let from_file = LogStore::stored_in_file(head.clone(), &file).unwrap();
    assert!(store.tail.read(head.at, MESSAGE_BODY_OFFSET).is_some());
    assert_eq!(
        store.first_message(&recipient(1), NOW).unwrap(),
        Some(from_file.clone())
    );
    // After a restart nothing is in memory: the file answers the same.
    drop(file);
    drop(store);
    let store = open_with(dir.path(), config(), NOW);
    assert!(store.tail.read(head.at, MESSAGE_BODY_OFFSET).is_none());
    assert_eq!(
        store.first_message(&recipient(1), NOW).unwrap(),
        Some(from_file)
    );
}

#[test]
fn compaction_copies_live_links_forward_and_the_budget_refuses_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let small = LogConfig {
        segment_bytes: 1 << 16,
        max_bytes: Some(1 << 20),
        policy: Policy {
            queue_quota: 1000,
            message_ttl_secs: 100 * DAY,
            file_ttl_secs: 200,
            group_ttl_secs: 200,
        },
        ..config()
    };
    let store = open_with(dir.path(), small, NOW);
    let link = |n: u8| sotto_wire::LinkId::from_bytes([n; 24]);
    let create = |n: u8| WriteOp::CreateLink {
        link_id: link(n),
        auth_key: AuthKey::from_bytes([n; 32]),
        blob: conformance::link_blob(n),
    };
    // Links 0..100 fill a few segments; all but every tenth is deleted.
    for n in 0..100 {
        assert_eq!(apply(&store, &[create(n)], NOW), [WriteOutcome::Done]);
    }
    for n in (0..100).filter(|n| n % 10 != 0) {
        let delete = WriteOp::DeleteLink { link_id: link(n) };
        assert_eq!(apply(&store, &[delete], NOW), [WriteOutcome::Done]);
    }
    let segments_before = store.segments().unwrap();
    store.reclaim().unwrap();
    let segments_after = store.segments().unwrap();
    assert!(segments_after[0] > segments_before[0], "{segments_after:?}");
    let check = |store: &LogStore| {
        for n in 0..100 {
            let blob = store.link_blob(&link(n), NOW).unwrap();
            if n % 10 == 0 {
                assert_eq!(blob, Some(*conformance::link_blob(n)));
                let key = store.link_key(&link(n), NOW).unwrap();
                assert_eq!(key, Some(AuthKey::from_bytes([n; 32])));
            } else {
                assert_eq!(blob, None);
            }
        }
    };
    check(&store);
    drop(store);
    let store = open_with(dir.path(), small, NOW);
    check(&store);
    // At the budget, new links and new blobs are refused, and deletes are not.
    let mut outcome = WriteOutcome::Done;
    for n in 0..1000u16 {
        let mut id = [0xee; 24];
        id[..2].copy_from_slice(&n.to_be_bytes());
        let create = WriteOp::CreateLink {
            link_id: sotto_wire::LinkId::from_bytes(id),
            auth_key: AuthKey::from_bytes([1; 32]),
            blob: conformance::link_blob(1),
        };
        outcome = apply(&store, &[create], NOW)[0];
        if outcome != WriteOutcome::Done {
            break;
        }
    }
    assert_eq!(outcome, WriteOutcome::StorageFull);
    let set = WriteOp::SetLink {
        link_id: link(0),
        blob: conformance::link_blob(1),
    };
    assert_eq!(apply(&store, &[set], NOW), [WriteOutcome::StorageFull]);
    let delete = WriteOp::DeleteLink { link_id: link(0) };
    assert_eq!(apply(&store, &[delete], NOW), [WriteOutcome::Done]);
}

#[test]
fn compaction_copies_live_chunks_forward_and_chunks_share_the_budget() {
    use sotto_wire::{ChunkDigest, ChunkSize, DownloadId, UploadId};

    use crate::store::{ChunkFile, ChunkRecord};

    let dir = tempfile::tempdir().unwrap();
    let small = LogConfig {
        segment_bytes: 1 << 16,
        max_bytes: Some(20 << 20),
        ..config()
    };
    let store = open_with(dir.path(), small, NOW);
    let upload = |n: u8| UploadId::from_bytes([n; 24]);
    let chunk = |n: u8| ChunkRecord {
        upload_key: AuthKey::from_bytes([n; 32]),
        size: ChunkSize::Kib64,
        digest: ChunkDigest::from_bytes([n; 32]),
        file: ChunkFile::from_bytes([n; 16]),
        since: NOW,
        complete: false,
        // Many downloads, so that a few chunks fill a segment.
        downloads: (0..60)
            .map(|d| {
                let mut id = [n; 24];
                id[0] = 0xd0;
                id[1] = d;
                (DownloadId::from_bytes(id), AuthKey::from_bytes([d; 32]))
            })
            .collect(),
    };
    for n in 0..100 {
        let create = WriteOp::CreateChunk {
            upload_id: upload(n),
            record: Box::new(chunk(n)),
        };
        assert_eq!(apply(&store, &[create], NOW), [WriteOutcome::Done]);
    }
    for n in (0..100).filter(|n| n % 10 != 0) {
        let delete = WriteOp::DeleteChunk {
            upload_id: upload(n),
        };
        assert!(matches!(
            apply(&store, &[delete], NOW)[0],
            WriteOutcome::ChunkRemoved(_)
        ));
    }
    let segments_before = store.segments().unwrap();
    store.reclaim().unwrap();
    let segments_after = store.segments().unwrap();
    assert!(segments_after[0] > segments_before[0], "{segments_after:?}");
    let check = |store: &LogStore| {
        for n in 0..100 {
            let found = store.chunk(&upload(n), NOW).unwrap();
            assert_eq!(found, (n % 10 == 0).then(|| chunk(n)), "{n}");
        }
    };
    check(&store);
    drop(store);
    let store = open_with(dir.path(), small, NOW);
    check(&store);
    // Ten 64 KiB chunks live: the budget takes 4 MiB chunks until it is full.
    let mut created = 0;
    loop {
        let mut big = chunk(200);
        big.size = ChunkSize::Mib4;
        big.downloads.clear();
        let mut id = [0xbb; 24];
        id[0] = created;
        let create = WriteOp::CreateChunk {
            upload_id: UploadId::from_bytes(id),
            record: Box::new(big),
        };
        if apply(&store, &[create], NOW) != [WriteOutcome::Done] {
            break;
        }
        created += 1;
    }
    assert_eq!(created, 4);
}

/// Replays every segment of the log in `dir`: each one's whole records and
/// its file's length.
fn segment_ends(dir: &Path) -> Vec<(segment::ReplayEnd, u64)> {
    let log = dir.join(LOG_DIR);
    segment::list(&log)
        .unwrap()
        .into_iter()
        .map(|number| {
            let file = segment::open(&log, number).unwrap();
            let end = segment::replay(&file, number, |_, _| {}).unwrap();
            (end, file.metadata().unwrap().len())
        })
        .collect()
}

/// Writes of every size, across rollovers, then a reopen (whose writes are
/// direct where the filesystem allows it), direct or through the page cache
/// (as on a filesystem that refuses direct writes): the same records on
/// disk, but the padding.
fn writes_keep_every_record_across_rollovers_and_reopens(dir: &Path, direct: bool) {
    let small = LogConfig {
        segment_bytes: 1 << 16,
        policy: Policy {
            queue_quota: 1000,
            ..conformance::policy()
        },
        ..config()
    };
    let kept = {
        let store = open_with(dir, small, NOW);
        if !direct {
            store.writer.lock().unwrap().refuse_direct_writes();
        }
        apply(&store, &[create(1), create(2)], NOW);
        for n in 0..40 {
            // Bodies of odd sizes, so batches end anywhere in a block.
            apply(&store, &[send(1, n, 97 * n as usize + 13, NOW)], NOW);
            if n % 3 == 0 {
                store
                    .apply(&[ack(1, n / 3)], NOW, Commit::Deferred)
                    .unwrap();
            }
        }
        apply(&store, &[send(2, 0, 5, NOW), send(2, 1, 4096, NOW)], NOW);
        assert_eq!(store.writer.lock().unwrap().is_direct(), direct);
        snapshot(&store)
    };
    let ends = segment_ends(dir);
    assert!(ends.len() > 1, "{} segments", ends.len());
    let (last, sealed) = ends.split_last().unwrap();
    for (end, len) in sealed {
        // A segment before the last is cut to its records.
        assert_eq!((end.valid_len, end.damage), (*len, None));
    }
    // The last ends in records, then fewer than a block of zeros.
    assert_eq!(last.0.damage, None);
    assert!(last.1 >= last.0.valid_len && last.1 - last.0.valid_len < writer::ALIGN as u64);
    let store = open_with(dir, small, NOW);
    assert_eq!(snapshot(&store), kept);
    // Appending after the reopen rewrites the padded block; nothing is lost.
    apply(&store, &[send(2, 2, 3000, NOW)], NOW);
    let more = snapshot(&store);
    drop(store);
    assert_eq!(snapshot(&open_with(dir, small, NOW)), more);
}

#[test]
fn direct_writes_keep_every_record_across_rollovers_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join(LOG_DIR);
    segment::create_dir(&log).unwrap();
    segment::create(&log, 1).unwrap();
    if segment::open_direct(&log, 1).is_none() {
        // A temporary directory on a filesystem without direct I/O.
        return;
    }
    writes_keep_every_record_across_rollovers_and_reopens(dir.path(), true);
}

#[test]
fn buffered_writes_keep_every_record_across_rollovers_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    writes_keep_every_record_across_rollovers_and_reopens(dir.path(), false);
}

#[test]
fn zeros_are_padding_only_within_the_last_block() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open_with(dir.path(), config(), NOW);
        apply(&store, &[create(1), send(1, 0, 100, NOW)], NOW);
    }
    let path = last_segment(dir.path());
    let records = segment_ends(dir.path())[0].0.valid_len;
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    // Zeros to the end of the block: padding.
    file.set_len(records.next_multiple_of(writer::ALIGN as u64))
        .unwrap();
    assert_eq!(segment_ends(dir.path())[0].0.damage, None);
    // Zeros beyond it: not padding, a torn write (cut off at the next open).
    file.set_len(records.next_multiple_of(writer::ALIGN as u64) + 1)
        .unwrap();
    assert!(segment_ends(dir.path())[0].0.damage.is_some());
    let store = open_with(dir.path(), config(), NOW);
    assert_eq!(
        store.first_message(&recipient(1), NOW).unwrap().unwrap().id,
        message_id(1, 0)
    );
}

#[test]
fn batches_that_outgrow_their_buffer_are_written_whole() {
    let dir = tempfile::tempdir().unwrap();
    let roomy = LogConfig {
        policy: Policy {
            queue_quota: 100_000,
            ..conformance::policy()
        },
        ..config()
    };
    let store = open_with(dir.path(), roomy, NOW);
    apply(&store, &[create(1), create(2), create(3), create(4)], NOW);
    let mut n = 0u32;
    // Small batches (whose buffer is kept), then ones many times larger
    // (the buffer grows, and moves, while records are encoded).
    for count in [1, 2, 300, 1, 5, 40, 700, 3, 1, 90] {
        let ops: Vec<_> = (0..count)
            .map(|i| {
                n += 1;
                send((i % 4 + 1) as u8, n, 200 + (n as usize * 7 % 300), NOW)
            })
            .collect();
        apply(&store, &ops, NOW);
    }
    let kept = snapshot(&store);
    // What a process started after a kill would read.
    let copy = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), copy.path());
    assert_eq!(snapshot(&open_with(copy.path(), roomy, NOW)), kept);
}

#[test]
fn acks_applied_at_once_are_visible_at_once_and_written_with_the_next_batch() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(dir.path(), config(), NOW);
    apply(
        &store,
        &[create(1), send(1, 1, 16_000, NOW), send(1, 2, 100, NOW)],
        NOW,
    );
    let applied = store.apply_now(&ack(1, 1), NOW).unwrap().unwrap();
    assert_eq!(applied.outcome, WriteOutcome::Done);
    assert!(applied.first_unwritten);
    // Visible at once: the next message is first.
    let first = store.first_message(&recipient(1), NOW).unwrap().unwrap();
    assert_eq!(first.id, message_id(1, 2));
    // The wrong id, as from the group-commit writer.
    let wrong = store.apply_now(&ack(1, 1), NOW).unwrap().unwrap();
    assert_eq!(wrong.outcome, WriteOutcome::NoMessage);
    assert!(!wrong.first_unwritten);
    // Only ACKs: anything else needs an fsync before it is answered.
    assert!(store.apply_now(&send(1, 3, 100, NOW), NOW).is_none());
    // The next batch writes the ACK before its own records.
    apply(&store, &[send(1, 3, 100, NOW)], NOW);
    drop(store);
    let store = open_with(dir.path(), config(), NOW);
    let first = store.first_message(&recipient(1), NOW).unwrap().unwrap();
    assert_eq!(first.id, message_id(1, 2));
    // A sync alone writes them too.
    assert_eq!(
        store.apply_now(&ack(1, 2), NOW).unwrap().unwrap().outcome,
        WriteOutcome::Done
    );
    store.sync().unwrap();
    drop(store);
    let store = open_with(dir.path(), config(), NOW);
    let first = store.first_message(&recipient(1), NOW).unwrap().unwrap();
    assert_eq!(first.id, message_id(1, 3));
}

#[test]
fn acks_go_to_the_writer_while_its_lock_is_held_across_io() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(dir.path(), config(), NOW);
    apply(&store, &[create(1), send(1, 1, 100, NOW)], NOW);
    // Rollover, the sweep and compaction hold the writer lock across I/O.
    let held = store.lock_writer().unwrap();
    assert!(store.apply_now(&ack(1, 1), NOW).is_none());
    drop(held);
    assert!(store.apply_now(&ack(1, 1), NOW).is_some());
}

#[test]
fn acks_are_applied_while_a_batch_is_written() {
    // The writer lock is released during a batch's write and fsync: an ACK
    // is applied meanwhile, and the batch's records become visible after it.
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open_with(dir.path(), config(), NOW));
    apply(&store, &[create(1), send(1, 1, 100, NOW)], NOW);
    let io = store.lock_io().unwrap();
    let mut writer = store.lock_appending().unwrap();
    let limits = store.config.limits();
    {
        let mut index = store.write_index().unwrap();
        let mut sink = Sink {
            writer: &mut writer,
            files: &store.files,
        };
        ops::apply(
            &send(1, 2, 16_000, NOW),
            &mut index,
            &limits,
            NOW,
            &mut sink,
        )
        .unwrap();
    }
    let batch = writer.take(true);
    drop(writer);
    // Between the take and the write, as if the write were slow.
    let applied = store.apply_now(&ack(1, 1), NOW).unwrap().unwrap();
    assert_eq!(applied.outcome, WriteOutcome::Done);
    // Message 2 is not visible before its batch is written.
    assert!(store.first_message(&recipient(1), NOW).unwrap().is_none());
    let written = batch.write();
    let end = batch.end_position();
    store.writer.lock().unwrap().finish(batch, written).unwrap();
    store.visible_end.store(end, Ordering::Release);
    drop(io);
    let first = store.first_message(&recipient(1), NOW).unwrap().unwrap();
    assert_eq!(first.id, message_id(1, 2));
    assert_eq!(first.body.len(), 16_000);
    store.sync().unwrap();
    drop(store);
    let store = open_with(dir.path(), config(), NOW);
    let first = store.first_message(&recipient(1), NOW).unwrap().unwrap();
    assert_eq!(first.id, message_id(1, 2));
}
