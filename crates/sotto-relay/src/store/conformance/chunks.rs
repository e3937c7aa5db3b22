//! The file chunk behaviour every backend shares.

use sotto_wire::{ChunkDigest, ChunkSize, DownloadId, UploadId};

use super::{NOW, Opener, id, policy};
use crate::store::{AuthKey, ChunkFile, ChunkRecord, Commit, Storage, WriteOp, WriteOutcome};

fn chunk(seed: u8, downloads: u8) -> Box<ChunkRecord> {
    Box::new(ChunkRecord {
        upload_key: AuthKey::from_bytes([seed; 32]),
        size: ChunkSize::Kib256,
        digest: ChunkDigest::from_bytes([seed; 32]),
        file: ChunkFile::from_bytes([seed; 16]),
        since: NOW,
        complete: false,
        downloads: (0..downloads)
            .map(|n| {
                (
                    DownloadId::from_bytes(id(seed.wrapping_add(100 + n))),
                    AuthKey::from_bytes([n; 32]),
                )
            })
            .collect(),
    })
}

fn upload(seed: u8) -> UploadId {
    UploadId::from_bytes(id(seed))
}

fn download(seed: u8, n: u8) -> DownloadId {
    DownloadId::from_bytes(id(seed.wrapping_add(100 + n)))
}

fn apply(store: &dyn Storage, op: WriteOp, now: u64) -> WriteOutcome {
    let outcomes = store.apply(&[op], now, Commit::Durable).unwrap();
    assert_eq!(outcomes.len(), 1);
    outcomes[0]
}

fn create(seed: u8, downloads: u8) -> WriteOp {
    WriteOp::CreateChunk {
        upload_id: upload(seed),
        record: chunk(seed, downloads),
    }
}

pub(crate) fn chunks_are_created_completed_acked_and_survive_reopen(open: Opener) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    assert_eq!(apply(&*store, create(1, 2), NOW), WriteOutcome::Done);
    // Every id of a new chunk must be new, its own download ids included.
    assert_eq!(apply(&*store, create(1, 1), NOW), WriteOutcome::IdTaken);
    let mut clash = chunk(2, 1);
    clash.downloads[0].0 = download(1, 0);
    let clash = WriteOp::CreateChunk {
        upload_id: upload(2),
        record: clash,
    };
    assert_eq!(apply(&*store, clash, NOW), WriteOutcome::IdTaken);
    assert_eq!(store.chunk(&upload(1), NOW).unwrap(), Some(*chunk(1, 2)));
    let by_download = store.chunk_by_download(&download(1, 1), NOW).unwrap();
    assert_eq!(
        by_download.unwrap().download_key(&download(1, 1)),
        Some(AuthKey::from_bytes([1; 32]))
    );
    assert_eq!(store.chunk(&upload(9), NOW).unwrap(), None);
    assert_eq!(store.chunk_by_download(&download(9, 0), NOW).unwrap(), None);

    let complete = WriteOp::CompleteChunk {
        upload_id: upload(1),
    };
    assert_eq!(
        apply(&*store, complete.clone(), NOW + 5),
        WriteOutcome::Done
    );
    assert_eq!(apply(&*store, complete, NOW + 6), WriteOutcome::Done);
    let stored = store.chunk(&upload(1), NOW + 6).unwrap().unwrap();
    assert!(stored.complete);
    assert_eq!(stored.since, NOW + 5);

    // The first recipient is done: only its download id stops working.
    let ack = |n| WriteOp::AckChunk {
        download_id: download(1, n),
    };
    assert_eq!(apply(&*store, ack(0), NOW + 7), WriteOutcome::Done);
    assert_eq!(apply(&*store, ack(0), NOW + 7), WriteOutcome::Refused);
    assert_eq!(
        store.chunk_by_download(&download(1, 0), NOW + 7).unwrap(),
        None
    );
    assert!(
        store
            .chunk_by_download(&download(1, 1), NOW + 7)
            .unwrap()
            .is_some()
    );
    assert_eq!(store.chunks().unwrap().len(), 1);

    drop(store);
    let store = open(dir.path());
    let reopened = store.chunk(&upload(1), NOW + 7).unwrap().unwrap();
    assert!(reopened.complete);
    assert_eq!(reopened.downloads.len(), 1);
    assert_eq!(
        store.chunk_by_download(&download(1, 0), NOW + 7).unwrap(),
        None
    );
    // The last recipient of a complete chunk deletes it.
    assert_eq!(
        apply(&*store, ack(1), NOW + 8),
        WriteOutcome::ChunkRemoved(ChunkFile::from_bytes([1; 16]))
    );
    assert_eq!(store.chunk(&upload(1), NOW + 8).unwrap(), None);
    assert!(store.chunks().unwrap().is_empty());
}

pub(crate) fn chunks_are_deleted_by_their_uploader_and_expire(open: Opener) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    assert_eq!(apply(&*store, create(3, 3), NOW), WriteOutcome::Done);
    assert_eq!(apply(&*store, create(40, 1), NOW), WriteOutcome::Done);
    let delete = WriteOp::DeleteChunk {
        upload_id: upload(3),
    };
    assert_eq!(
        apply(&*store, delete.clone(), NOW),
        WriteOutcome::ChunkRemoved(ChunkFile::from_bytes([3; 16]))
    );
    assert_eq!(apply(&*store, delete, NOW), WriteOutcome::Refused);
    for n in 0..3 {
        assert_eq!(store.chunk_by_download(&download(3, n), NOW).unwrap(), None);
    }
    // Half uploaded, chunk 40 expires the file TTL after its FNEW.
    let ttl = policy().file_ttl_secs;
    assert!(store.chunk(&upload(40), NOW + ttl - 1).unwrap().is_some());
    assert_eq!(store.chunk(&upload(40), NOW + ttl).unwrap(), None);
    let complete = WriteOp::CompleteChunk {
        upload_id: upload(40),
    };
    assert_eq!(apply(&*store, complete, NOW + ttl), WriteOutcome::Refused);
    assert_eq!(store.expire_chunks(NOW + ttl - 1).unwrap(), []);
    assert_eq!(
        store.expire_chunks(NOW + ttl).unwrap(),
        [ChunkFile::from_bytes([40; 16])]
    );
    assert!(store.chunks().unwrap().is_empty());
    drop(store);
    // Reopened (the log replays at NOW, when it had not expired yet), it
    // stays hidden once expired.
    let store = open(dir.path());
    assert_eq!(store.chunk(&upload(40), NOW + ttl).unwrap(), None);
    assert_eq!(store.chunk(&upload(3), NOW).unwrap(), None);
}
