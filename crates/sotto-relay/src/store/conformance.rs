//! The behaviour every [`Storage`] backend shares, run against each of them by
//! [`suite!`]: each test takes a function that opens a backend over a directory
//! with [`policy`] at [`NOW`].

use std::path::Path;

mod chunks;
mod groups;
pub(crate) use self::chunks::*;
pub(crate) use self::groups::*;

use sotto_wire::{LINK_BLOB_LEN, LinkBlob, LinkId, MessageId, QueueKey, RecipientId, SenderId};

use super::{
    AuthKey, Commit, FLAG_QUOTA_REACHED, Policy, QueueRecord, QueueStatus, Storage, StoredMessage,
    WriteOp, WriteOutcome,
};

/// Opens a backend over a directory (again, to test a reopen).
pub(crate) type Opener = fn(&Path) -> Box<dyn Storage>;

pub(crate) const NOW: u64 = 1_800_000_000;

pub(crate) fn policy() -> Policy {
    Policy {
        queue_quota: 3,
        message_ttl_secs: 100,
        file_ttl_secs: 200,
        group_ttl_secs: 200,
    }
}

fn id(seed: u8) -> [u8; 24] {
    [seed; 24]
}

fn record(sender: u8) -> Box<QueueRecord> {
    Box::new(QueueRecord {
        recipient_key: AuthKey::from_bytes([1; 32]),
        sender_id: SenderId::from_bytes(id(sender)),
        sender_key: None,
        status: QueueStatus::Active,
        queue_key: QueueKey::from_bytes([9; 32]),
        pending: 0,
        quota_marker: false,
        next_seq: 0,
    })
}

fn message(seed: u8, accepted_at: u64) -> StoredMessage {
    StoredMessage {
        id: MessageId::from_bytes(id(seed)),
        accepted_at,
        flags: 0,
        body: vec![seed; 100].into(),
    }
}

fn send(seed: u8, accepted_at: u64) -> WriteOp {
    WriteOp::Send {
        sender_id: SenderId::from_bytes(id(2)),
        message: message(seed, accepted_at),
        marker_id: MessageId::from_bytes(id(seed.wrapping_add(100))),
    }
}

fn with_queue(open: Opener, dir: &tempfile::TempDir) -> (Box<dyn Storage>, RecipientId) {
    let store = open(dir.path());
    let recipient_id = RecipientId::from_bytes(id(1));
    let created = store
        .apply(
            &[WriteOp::CreateQueue {
                recipient_id,
                record: record(2),
            }],
            NOW,
            Commit::Durable,
        )
        .unwrap();
    assert_eq!(created, [WriteOutcome::Done]);
    (store, recipient_id)
}

fn ack(recipient_id: RecipientId, seed: u8) -> WriteOp {
    WriteOp::Ack {
        recipient_id,
        message_id: MessageId::from_bytes(id(seed)),
    }
}

pub(crate) fn send_then_ack_in_order(open: Opener) {
    let dir = tempfile::tempdir().unwrap();
    let (store, recipient_id) = with_queue(open, &dir);
    let sent = store
        .apply(&[send(10, NOW), send(11, NOW)], NOW, Commit::Durable)
        .unwrap();
    assert_eq!(sent, [WriteOutcome::Sent(recipient_id); 2]);
    assert_eq!(
        store.first_message(&recipient_id, NOW).unwrap(),
        Some(message(10, NOW))
    );
    // Only the first message can be acknowledged.
    assert_eq!(
        store
            .apply(&[ack(recipient_id, 11)], NOW, Commit::Durable)
            .unwrap(),
        [WriteOutcome::NoMessage]
    );
    assert_eq!(
        store
            .apply(&[ack(recipient_id, 10)], NOW, Commit::Durable)
            .unwrap(),
        [WriteOutcome::Done]
    );
    assert_eq!(
        store.first_message(&recipient_id, NOW).unwrap(),
        Some(message(11, NOW))
    );
    assert_eq!(
        store
            .apply(&[ack(recipient_id, 11)], NOW, Commit::Durable)
            .unwrap(),
        [WriteOutcome::Done]
    );
    assert_eq!(store.first_message(&recipient_id, NOW).unwrap(), None);
    assert_eq!(store.queue(&recipient_id).unwrap().unwrap().pending, 0);
}

pub(crate) fn unknown_queues_are_refused(open: Opener) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let nobody = RecipientId::from_bytes(id(42));
    let outcomes = store
        .apply(
            &[
                send(10, NOW),
                ack(nobody, 1),
                WriteOp::Suspend {
                    recipient_id: nobody,
                },
                WriteOp::Delete {
                    recipient_id: nobody,
                },
                WriteOp::SecureQueue {
                    recipient_id: nobody,
                    sender_key: AuthKey::from_bytes([3; 32]),
                },
            ],
            NOW,
            Commit::Durable,
        )
        .unwrap();
    assert_eq!(outcomes, [WriteOutcome::Refused; 5]);
    assert!(store.queue(&nobody).unwrap().is_none());
    assert!(
        store
            .queue_by_sender(&SenderId::from_bytes(id(2)))
            .unwrap()
            .is_none()
    );
}

pub(crate) fn ids_are_never_reused(open: Opener) {
    let dir = tempfile::tempdir().unwrap();
    let (store, recipient_id) = with_queue(open, &dir);
    let again = store
        .apply(
            &[WriteOp::CreateQueue {
                recipient_id,
                record: record(5),
            }],
            NOW,
            Commit::Durable,
        )
        .unwrap();
    assert_eq!(again, [WriteOutcome::IdTaken]);
}

pub(crate) fn secure_is_idempotent_for_one_key_only(open: Opener) {
    let dir = tempfile::tempdir().unwrap();
    let (store, recipient_id) = with_queue(open, &dir);
    let key = AuthKey::from_bytes([3; 32]);
    let other = AuthKey::from_bytes([4; 32]);
    let secure = |sender_key| WriteOp::SecureQueue {
        recipient_id,
        sender_key,
    };
    let outcomes = store
        .apply(
            &[secure(key), secure(key), secure(other)],
            NOW,
            Commit::Durable,
        )
        .unwrap();
    assert_eq!(
        outcomes,
        [
            WriteOutcome::Done,
            WriteOutcome::Done,
            WriteOutcome::Refused
        ]
    );
    let (found, queue) = store
        .queue_by_sender(&SenderId::from_bytes(id(2)))
        .unwrap()
        .unwrap();
    assert_eq!(found, recipient_id);
    assert_eq!(queue.sender_key, Some(key));
}

pub(crate) fn quota_appends_one_marker_until_it_is_acked(open: Opener) {
    let dir = tempfile::tempdir().unwrap();
    let (store, recipient_id) = with_queue(open, &dir);
    let outcomes = store
        .apply(
            &[
                send(1, NOW),
                send(2, NOW),
                send(3, NOW),
                send(4, NOW),
                send(5, NOW),
            ],
            NOW,
            Commit::Durable,
        )
        .unwrap();
    assert_eq!(
        outcomes[3..],
        [
            WriteOutcome::QuotaExceeded {
                recipient_id,
                marker_added: true
            },
            WriteOutcome::QuotaExceeded {
                recipient_id,
                marker_added: false
            },
        ]
    );
    for seed in 1..=3 {
        assert_eq!(
            store
                .apply(&[ack(recipient_id, seed)], NOW, Commit::Durable)
                .unwrap(),
            [WriteOutcome::Done]
        );
    }
    let marker = store.first_message(&recipient_id, NOW).unwrap().unwrap();
    assert_eq!(marker.flags, FLAG_QUOTA_REACHED);
    assert!(marker.body.is_empty());
    assert_eq!(marker.id, MessageId::from_bytes(id(104)));
    // Room again once the recipient acknowledged.
    assert_eq!(
        store.apply(&[send(6, NOW)], NOW, Commit::Durable).unwrap(),
        [WriteOutcome::Sent(recipient_id)]
    );
    assert_eq!(
        store
            .apply(&[ack(recipient_id, 104)], NOW, Commit::Durable)
            .unwrap(),
        [WriteOutcome::Done]
    );
    let queue = store.queue(&recipient_id).unwrap().unwrap();
    assert!(!queue.quota_marker);
    assert_eq!(queue.pending, 1);
}

pub(crate) fn suspended_queue_refuses_sends_but_keeps_messages(open: Opener) {
    let dir = tempfile::tempdir().unwrap();
    let (store, recipient_id) = with_queue(open, &dir);
    let outcomes = store
        .apply(
            &[
                send(1, NOW),
                WriteOp::Suspend { recipient_id },
                send(2, NOW),
            ],
            NOW,
            Commit::Durable,
        )
        .unwrap();
    assert_eq!(
        outcomes,
        [
            WriteOutcome::Sent(recipient_id),
            WriteOutcome::Done,
            WriteOutcome::Refused
        ]
    );
    assert_eq!(
        store.first_message(&recipient_id, NOW).unwrap(),
        Some(message(1, NOW))
    );
}

pub(crate) fn delete_removes_queue_and_messages(open: Opener) {
    let dir = tempfile::tempdir().unwrap();
    let (store, recipient_id) = with_queue(open, &dir);
    store
        .apply(&[send(1, NOW), send(2, NOW)], NOW, Commit::Durable)
        .unwrap();
    assert_eq!(
        store
            .apply(&[WriteOp::Delete { recipient_id }], NOW, Commit::Durable)
            .unwrap(),
        [WriteOutcome::Done]
    );
    assert!(store.queue(&recipient_id).unwrap().is_none());
    assert!(store.first_message(&recipient_id, NOW).unwrap().is_none());
    assert_eq!(
        store.apply(&[send(3, NOW)], NOW, Commit::Durable).unwrap(),
        [WriteOutcome::Refused]
    );
    // Nothing is left for the sweep either.
    assert_eq!(store.expire(NOW + 1_000, 100).unwrap(), 0);
}

pub(crate) fn expired_messages_are_hidden_then_swept(open: Opener) {
    let dir = tempfile::tempdir().unwrap();
    let (store, recipient_id) = with_queue(open, &dir);
    store
        .apply(
            &[send(1, NOW - 100), send(2, NOW - 99), send(3, NOW)],
            NOW,
            Commit::Durable,
        )
        .unwrap();
    // Message 1 expired exactly at NOW (TTL 100): reads skip it.
    assert_eq!(
        store.first_message(&recipient_id, NOW).unwrap(),
        Some(message(2, NOW - 99))
    );
    assert_eq!(
        store
            .apply(&[ack(recipient_id, 1)], NOW, Commit::Durable)
            .unwrap(),
        [WriteOutcome::NoMessage]
    );
    assert_eq!(store.expire(NOW, 100).unwrap(), 1);
    assert_eq!(store.queue(&recipient_id).unwrap().unwrap().pending, 2);
    // The sweep is bounded per call.
    assert_eq!(store.expire(NOW + 200, 1).unwrap(), 1);
    assert_eq!(store.expire(NOW + 200, 100).unwrap(), 1);
    assert_eq!(store.queue(&recipient_id).unwrap().unwrap().pending, 0);
    assert_eq!(store.first_message(&recipient_id, NOW + 200).unwrap(), None);
}

pub(crate) fn data_survives_reopen(open: Opener) {
    let dir = tempfile::tempdir().unwrap();
    let recipient_id = {
        let (store, recipient_id) = with_queue(open, &dir);
        store
            .apply(&[send(1, NOW), send(2, NOW)], NOW, Commit::Durable)
            .unwrap();
        store
            .apply(&[ack(recipient_id, 1)], NOW, Commit::Durable)
            .unwrap();
        recipient_id
    };
    let store = open(dir.path());
    let queue = store.queue(&recipient_id).unwrap().unwrap();
    assert_eq!(queue.pending, 1);
    assert_eq!(queue.next_seq, 2);
    assert_eq!(
        store.first_message(&recipient_id, NOW).unwrap(),
        Some(message(2, NOW))
    );
    // Expiry also works after a restart, with the entries written before it.
    assert_eq!(store.expire(NOW + 100, 100).unwrap(), 1);
    assert_eq!(store.first_message(&recipient_id, NOW).unwrap(), None);
}

pub(crate) fn deferred_commits_are_visible_and_durable_after_sync(open: Opener) {
    let dir = tempfile::tempdir().unwrap();
    let recipient_id = {
        let (store, recipient_id) = with_queue(open, &dir);
        store
            .apply(&[send(1, NOW), send(2, NOW)], NOW, Commit::Durable)
            .unwrap();
        let acked = store
            .apply(&[ack(recipient_id, 1)], NOW, Commit::Deferred)
            .unwrap();
        assert_eq!(acked, [WriteOutcome::Done]);
        // Visible at once to readers.
        assert_eq!(
            store.first_message(&recipient_id, NOW).unwrap(),
            Some(message(2, NOW))
        );
        store.sync().unwrap();
        recipient_id
    };
    let store = open(dir.path());
    assert_eq!(
        store.first_message(&recipient_id, NOW).unwrap(),
        Some(message(2, NOW))
    );
    let (_, message_found) = store
        .delivery(&recipient_id, NOW)
        .unwrap()
        .map(|(key, message)| (key.as_bytes().to_vec(), message))
        .unwrap();
    assert_eq!(message_found, message(2, NOW));
}

/// Runs every test of the suite against the backend `open` opens.
pub(crate) fn link_blob(seed: u8) -> Box<LinkBlob> {
    Box::new(LinkBlob::new(vec![seed; LINK_BLOB_LEN]).unwrap())
}

pub(crate) fn links_are_created_replaced_deleted_and_survive_reopen(open: Opener) {
    let dir = tempfile::tempdir().unwrap();
    let (store, recipient_id) = with_queue(open, &dir);
    let link = LinkId::from_bytes(id(40));
    let key = AuthKey::from_bytes([41; 32]);
    let create = |seed| WriteOp::CreateLink {
        link_id: link,
        auth_key: key,
        blob: link_blob(seed),
    };
    assert_eq!(store.link_key(&link, NOW).unwrap(), None);
    assert_eq!(store.link_blob(&link, NOW).unwrap(), None);
    let outcomes = store.apply(&[create(1)], NOW, Commit::Durable).unwrap();
    assert_eq!(outcomes, [WriteOutcome::Done]);
    assert_eq!(store.link_key(&link, NOW).unwrap(), Some(key));
    assert_eq!(store.link_blob(&link, NOW).unwrap(), Some(*link_blob(1)));
    // An id taken by a link or by a queue is not given again.
    let taken = WriteOp::CreateLink {
        link_id: LinkId::from_bytes(*recipient_id.as_bytes()),
        auth_key: key,
        blob: link_blob(1),
    };
    let outcomes = store
        .apply(&[create(2), taken], NOW, Commit::Durable)
        .unwrap();
    assert_eq!(outcomes, [WriteOutcome::IdTaken, WriteOutcome::IdTaken]);
    assert_eq!(store.link_blob(&link, NOW).unwrap(), Some(*link_blob(1)));

    let set = |seed| WriteOp::SetLink {
        link_id: link,
        blob: link_blob(seed),
    };
    let unknown = LinkId::from_bytes(id(42));
    let outcomes = store
        .apply(
            &[
                set(3),
                WriteOp::SetLink {
                    link_id: unknown,
                    blob: link_blob(3),
                },
                WriteOp::DeleteLink { link_id: unknown },
            ],
            NOW + 50,
            Commit::Durable,
        )
        .unwrap();
    assert_eq!(
        outcomes,
        [
            WriteOutcome::Done,
            WriteOutcome::Refused,
            WriteOutcome::Refused
        ]
    );
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.link_key(&link, NOW + 50).unwrap(), Some(key));
    assert_eq!(
        store.link_blob(&link, NOW + 50).unwrap(),
        Some(*link_blob(3))
    );
    // The TTL runs from the last LSET: alive at NOW + 149, gone at NOW + 150.
    assert!(store.link_blob(&link, NOW + 149).unwrap().is_some());
    assert_eq!(store.link_blob(&link, NOW + 150).unwrap(), None);
    assert_eq!(store.link_key(&link, NOW + 150).unwrap(), None);
    let outcomes = store.apply(&[set(4)], NOW + 150, Commit::Durable).unwrap();
    assert_eq!(outcomes, [WriteOutcome::Refused]);

    let outcomes = store
        .apply(
            &[WriteOp::DeleteLink { link_id: link }, set(5)],
            NOW + 60,
            Commit::Durable,
        )
        .unwrap();
    assert_eq!(outcomes, [WriteOutcome::Done, WriteOutcome::Refused]);
    assert_eq!(store.link_blob(&link, NOW + 60).unwrap(), None);
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.link_blob(&link, NOW + 60).unwrap(), None);
    assert_eq!(store.link_key(&link, NOW + 60).unwrap(), None);
    // The queue is untouched by all this.
    assert!(store.queue(&recipient_id).unwrap().is_some());
}

pub(crate) fn expired_links_are_swept(open: Opener) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let old = LinkId::from_bytes(id(50));
    let young = LinkId::from_bytes(id(51));
    let create = |link_id| WriteOp::CreateLink {
        link_id,
        auth_key: AuthKey::from_bytes([1; 32]),
        blob: link_blob(7),
    };
    store.apply(&[create(old)], NOW, Commit::Durable).unwrap();
    store
        .apply(&[create(young)], NOW + 60, Commit::Durable)
        .unwrap();
    store.expire(NOW + 120, usize::MAX).unwrap();
    assert_eq!(store.link_blob(&old, NOW + 120).unwrap(), None);
    assert!(store.link_blob(&young, NOW + 120).unwrap().is_some());
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.link_blob(&old, NOW + 120).unwrap(), None);
    assert!(store.link_blob(&young, NOW + 120).unwrap().is_some());
}

macro_rules! suite {
    ($open:path) => {
        #[test]
        fn chunks_are_created_completed_acked_and_survive_reopen() {
            $crate::store::conformance::chunks_are_created_completed_acked_and_survive_reopen(
                $open,
            );
        }
        #[test]
        fn chunks_are_deleted_by_their_uploader_and_expire() {
            $crate::store::conformance::chunks_are_deleted_by_their_uploader_and_expire($open);
        }
        #[test]
        fn groups_are_created_appended_read_and_survive_reopen() {
            $crate::store::conformance::groups_are_created_appended_read_and_survive_reopen(
                $open,
            );
        }
        #[test]
        fn rekeying_refuses_the_old_write_key_and_deletion_forgets_the_log() {
            $crate::store::conformance::rekeying_refuses_the_old_write_key_and_deletion_forgets_the_log($open);
        }
        #[test]
        fn group_entries_expire_and_idle_logs_go() {
            $crate::store::conformance::group_entries_expire_and_idle_logs_go($open);
        }
        #[test]
        fn links_are_created_replaced_deleted_and_survive_reopen() {
            $crate::store::conformance::links_are_created_replaced_deleted_and_survive_reopen(
                $open,
            );
        }
        #[test]
        fn expired_links_are_swept() {
            $crate::store::conformance::expired_links_are_swept($open);
        }
        #[test]
        fn send_then_ack_in_order() {
            $crate::store::conformance::send_then_ack_in_order($open);
        }
        #[test]
        fn unknown_queues_are_refused() {
            $crate::store::conformance::unknown_queues_are_refused($open);
        }
        #[test]
        fn ids_are_never_reused() {
            $crate::store::conformance::ids_are_never_reused($open);
        }
        #[test]
        fn secure_is_idempotent_for_one_key_only() {
            $crate::store::conformance::secure_is_idempotent_for_one_key_only($open);
        }
        #[test]
        fn quota_appends_one_marker_until_it_is_acked() {
            $crate::store::conformance::quota_appends_one_marker_until_it_is_acked($open);
        }
        #[test]
        fn suspended_queue_refuses_sends_but_keeps_messages() {
            $crate::store::conformance::suspended_queue_refuses_sends_but_keeps_messages($open);
        }
        #[test]
        fn delete_removes_queue_and_messages() {
            $crate::store::conformance::delete_removes_queue_and_messages($open);
        }
        #[test]
        fn expired_messages_are_hidden_then_swept() {
            $crate::store::conformance::expired_messages_are_hidden_then_swept($open);
        }
        #[test]
        fn data_survives_reopen() {
            $crate::store::conformance::data_survives_reopen($open);
        }
        #[test]
        fn deferred_commits_are_visible_and_durable_after_sync() {
            $crate::store::conformance::deferred_commits_are_visible_and_durable_after_sync($open);
        }
    };
}

pub(crate) use suite;
