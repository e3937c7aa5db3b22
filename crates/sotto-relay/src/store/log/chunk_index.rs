//! File chunks in the in-memory index: each chunk's state and where its
//! record sits, its download ids, and the bytes their files take in the
//! storage budget. Sans-IO, like the rest of the index.

use std::collections::HashMap;

use sotto_wire::{DownloadId, UploadId};

use super::index::{Index, Location};
use crate::store::{ChunkFile, ChunkRecord, Policy};

/// A live chunk.
#[derive(Clone, Debug)]
pub(super) struct ChunkEntry {
    /// Its state.
    pub(super) chunk: ChunkRecord,
    /// Its record.
    pub(super) at: Location,
}

/// The chunks of the index.
#[derive(Default)]
pub(super) struct ChunkIndex {
    /// Chunks by upload id.
    pub(super) chunks: HashMap<UploadId, ChunkEntry>,
    /// Upload ids by download id.
    downloads: HashMap<DownloadId, UploadId>,
    /// Bytes the live chunks' files take once complete (each counted at its
    /// size class from FNEW on).
    pub(super) bytes: u64,
}

impl ChunkIndex {
    /// Whether any chunk uses this id, as upload id or download id.
    pub(super) fn holds_id(&self, id: &[u8; 24]) -> bool {
        self.chunks.contains_key(&UploadId::from_bytes(*id))
            || self.downloads.contains_key(&DownloadId::from_bytes(*id))
    }

    /// The chunk, unless it has expired at `now`.
    pub(super) fn get(
        &self,
        upload_id: &UploadId,
        policy: &Policy,
        now: u64,
    ) -> Option<&ChunkEntry> {
        self.chunks
            .get(upload_id)
            .filter(|entry| !policy.is_chunk_expired(entry.chunk.since, now))
    }

    /// The chunk of this download id and its upload id, unless it has
    /// expired at `now`.
    pub(super) fn by_download(
        &self,
        download_id: &DownloadId,
        policy: &Policy,
        now: u64,
    ) -> Option<(UploadId, &ChunkEntry)> {
        let upload_id = self.downloads.get(download_id)?;
        self.get(upload_id, policy, now)
            .map(|entry| (*upload_id, entry))
    }

    /// Puts a chunk's new state in; its old one, if any.
    fn insert(&mut self, upload_id: UploadId, entry: ChunkEntry) -> Option<ChunkEntry> {
        self.bytes = self
            .bytes
            .saturating_add(u64::from(entry.chunk.size.bytes()));
        for (download_id, _) in &entry.chunk.downloads {
            self.downloads.insert(*download_id, upload_id);
        }
        let old = self.chunks.insert(upload_id, entry);
        if let Some(old) = &old {
            let kept: Vec<bool> = old
                .chunk
                .downloads
                .iter()
                .map(|(id, _)| {
                    self.chunks
                        .get(&upload_id)
                        .is_some_and(|new| new.chunk.download_key(id).is_some())
                })
                .collect();
            self.forget_old(old, &kept);
        }
        old
    }

    /// Takes a chunk out; what it was.
    fn remove(&mut self, upload_id: &UploadId) -> Option<ChunkEntry> {
        let old = self.chunks.remove(upload_id)?;
        self.forget_old(&old, &[]);
        Some(old)
    }

    /// Forgets the bytes `old` counted and its download ids, but those
    /// marked `kept` (the chunk's state now still has them).
    fn forget_old(&mut self, old: &ChunkEntry, kept: &[bool]) {
        self.bytes = self.bytes.saturating_sub(u64::from(old.chunk.size.bytes()));
        for (index, (download_id, _)) in old.chunk.downloads.iter().enumerate() {
            if !kept.get(index).copied().unwrap_or(false) {
                self.downloads.remove(download_id);
            }
        }
    }
}

impl Index {
    /// Applies a chunk record (its whole state) written at `at`.
    pub(super) fn apply_chunk(&mut self, upload_id: UploadId, chunk: &ChunkRecord, at: Location) {
        let entry = ChunkEntry {
            chunk: chunk.clone(),
            at,
        };
        self.add_live(at);
        if let Some(old) = self.chunks.insert(upload_id, entry) {
            self.release(old.at);
        }
    }

    /// Applies a chunk deletion.
    pub(super) fn apply_chunk_delete(&mut self, upload_id: &UploadId) {
        if let Some(old) = self.chunks.remove(upload_id) {
            self.release(old.at);
        }
    }

    /// Forgets every chunk expired at `now`; their files. Needs no record:
    /// replay finds them expired again.
    pub(super) fn expire_chunks(&mut self, policy: &Policy, now: u64) -> Vec<ChunkFile> {
        let expired: Vec<UploadId> = self
            .chunks
            .chunks
            .iter()
            .filter(|(_, entry)| policy.is_chunk_expired(entry.chunk.since, now))
            .map(|(id, _)| *id)
            .collect();
        let mut files = Vec::with_capacity(expired.len());
        for upload_id in &expired {
            if let Some(old) = self.chunks.remove(upload_id) {
                self.release(old.at);
                files.push(old.chunk.file);
            }
        }
        files
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::log::record::Record;
    use crate::store::log::record::tests::sample_chunk;

    fn at(offset: u32) -> Location {
        Location {
            segment: 1,
            offset,
            len: 100,
        }
    }

    #[test]
    fn chunks_count_their_size_and_map_their_downloads() {
        let mut index = Index::default();
        let upload_id = UploadId::from_bytes([10; 24]);
        let policy = Policy {
            queue_quota: 1,
            message_ttl_secs: 10,
            file_ttl_secs: 100,
        };
        let chunk = sample_chunk(3);
        index.apply(
            &Record::Chunk {
                upload_id,
                chunk: Box::new(chunk.clone()),
            },
            at(16),
        );
        assert_eq!(index.chunks.bytes, 1 << 20);
        let second = DownloadId::from_bytes([21; 24]);
        let (found, _) = index
            .chunks
            .by_download(&second, &policy, chunk.since)
            .unwrap();
        assert_eq!(found, upload_id);
        // A FACK: the same chunk without its second download.
        let mut acked = chunk.clone();
        acked.downloads.remove(1);
        index.apply(
            &Record::Chunk {
                upload_id,
                chunk: Box::new(acked),
            },
            at(116),
        );
        assert_eq!(index.chunks.bytes, 1 << 20);
        assert!(
            index
                .chunks
                .by_download(&second, &policy, chunk.since)
                .is_none()
        );
        let first = DownloadId::from_bytes([20; 24]);
        assert!(
            index
                .chunks
                .by_download(&first, &policy, chunk.since)
                .is_some()
        );
        assert_eq!(index.live_bytes(), 100);
        // Expired at its TTL, and then gone for good.
        assert!(
            index
                .chunks
                .get(&upload_id, &policy, chunk.since + 100)
                .is_none()
        );
        let files = index.expire_chunks(&policy, chunk.since + 100);
        assert_eq!(files, [chunk.file]);
        assert_eq!(index.chunks.bytes, 0);
        assert_eq!(index.live_bytes(), 0);
        assert!(!index.chunks.holds_id(&[20; 24]));
    }
}
