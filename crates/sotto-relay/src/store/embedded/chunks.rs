//! File chunks in the redb backend:
//! - `chunks`: upload id → the chunk's state ([`ChunkRecord::encode`]);
//! - `chunk_downloads`: download id → upload id.
//!
//! Expired chunks are found by scanning `chunks` (this backend is kept for
//! comparison, not for many chunks).

use redb::{Database, ReadableTable, TableDefinition};
use sotto_wire::{DownloadId, UploadId};

use super::{Id, Tables};
use crate::Error;
use crate::store::{ChunkFile, ChunkRecord, Policy, WriteOutcome};

pub(super) const CHUNKS: TableDefinition<'_, Id, &[u8]> = TableDefinition::new("chunks");
pub(super) const CHUNK_DOWNLOADS: TableDefinition<'_, Id, Id> =
    TableDefinition::new("chunk_downloads");

fn decode(value: &[u8]) -> Result<ChunkRecord, Error> {
    ChunkRecord::decode(value).ok_or_else(|| Error::Storage("a stored chunk is damaged".into()))
}

fn encode(chunk: &ChunkRecord) -> Vec<u8> {
    let mut value = Vec::with_capacity(chunk.encoded_len());
    chunk.encode(&mut value);
    value
}

/// The chunk, unless it is missing or expired at `now`.
pub(super) fn chunk(
    db: &Database,
    policy: &Policy,
    upload_id: &UploadId,
    now: u64,
) -> Result<Option<ChunkRecord>, Error> {
    let txn = db.begin_read()?;
    let table = txn.open_table(CHUNKS)?;
    let Some(value) = table.get(upload_id.as_bytes())? else {
        return Ok(None);
    };
    let chunk = decode(value.value())?;
    Ok((!policy.is_chunk_expired(chunk.since, now)).then_some(chunk))
}

/// The chunk of a download id, unless it is missing or expired at `now`.
pub(super) fn chunk_by_download(
    db: &Database,
    policy: &Policy,
    download_id: &DownloadId,
    now: u64,
) -> Result<Option<ChunkRecord>, Error> {
    let upload_id = {
        let txn = db.begin_read()?;
        let table = txn.open_table(CHUNK_DOWNLOADS)?;
        match table.get(download_id.as_bytes())? {
            Some(upload_id) => UploadId::from_bytes(upload_id.value()),
            None => return Ok(None),
        }
    };
    chunk(db, policy, &upload_id, now)
}

/// Every chunk, expired or not.
pub(super) fn all(db: &Database) -> Result<Vec<ChunkRecord>, Error> {
    let txn = db.begin_read()?;
    let table = txn.open_table(CHUNKS)?;
    let mut chunks = Vec::new();
    for entry in table.iter()? {
        let (_, value) = entry?;
        chunks.push(decode(value.value())?);
    }
    Ok(chunks)
}

impl Tables<'_> {
    /// Deletes every chunk expired at `now`; their files.
    pub(super) fn expire_chunks(&mut self, now: u64) -> Result<Vec<ChunkFile>, Error> {
        let mut expired = Vec::new();
        for entry in self.chunks.iter()? {
            let (id, value) = entry?;
            let chunk = decode(value.value())?;
            if self.policy.is_chunk_expired(chunk.since, now) {
                expired.push(UploadId::from_bytes(id.value()));
            }
        }
        let mut files = Vec::with_capacity(expired.len());
        for upload_id in expired {
            if let Some(chunk) = self.remove_chunk(&upload_id)? {
                files.push(chunk.file);
            }
        }
        Ok(files)
    }

    /// Whether any queue, link or chunk uses this id.
    fn id_in_use(&self, id: &Id) -> Result<bool, Error> {
        Ok(self.queues.get(id)?.is_some()
            || self.senders.get(id)?.is_some()
            || self.links.get(id)?.is_some()
            || self.chunks.get(id)?.is_some()
            || self.chunk_downloads.get(id)?.is_some())
    }

    pub(super) fn create_chunk(
        &mut self,
        upload_id: &UploadId,
        chunk: &ChunkRecord,
    ) -> Result<WriteOutcome, Error> {
        if chunk.repeats_an_id(upload_id) {
            return Ok(WriteOutcome::IdTaken);
        }
        for id in &chunk.ids(upload_id) {
            if self.id_in_use(id)? {
                return Ok(WriteOutcome::IdTaken);
            }
        }
        self.put_chunk(upload_id, chunk)?;
        Ok(WriteOutcome::Done)
    }

    fn put_chunk(&mut self, upload_id: &UploadId, chunk: &ChunkRecord) -> Result<(), Error> {
        for (download_id, _) in &chunk.downloads {
            self.chunk_downloads
                .insert(download_id.as_bytes(), upload_id.as_bytes())?;
        }
        self.chunks
            .insert(upload_id.as_bytes(), encode(chunk).as_slice())?;
        Ok(())
    }

    /// The chunk, unless it is missing or expired at `now`.
    fn live_chunk(&self, upload_id: &UploadId, now: u64) -> Result<Option<ChunkRecord>, Error> {
        let Some(value) = self.chunks.get(upload_id.as_bytes())? else {
            return Ok(None);
        };
        let chunk = decode(value.value())?;
        Ok((!self.policy.is_chunk_expired(chunk.since, now)).then_some(chunk))
    }

    /// Deletes the chunk and its download ids; what it was.
    fn remove_chunk(&mut self, upload_id: &UploadId) -> Result<Option<ChunkRecord>, Error> {
        let Some(value) = self.chunks.remove(upload_id.as_bytes())? else {
            return Ok(None);
        };
        let chunk = decode(value.value())?;
        drop(value);
        for (download_id, _) in &chunk.downloads {
            self.chunk_downloads.remove(download_id.as_bytes())?;
        }
        Ok(Some(chunk))
    }

    pub(super) fn complete_chunk(
        &mut self,
        upload_id: &UploadId,
        now: u64,
    ) -> Result<WriteOutcome, Error> {
        let Some(mut chunk) = self.live_chunk(upload_id, now)? else {
            return Ok(WriteOutcome::Refused);
        };
        if !chunk.complete {
            chunk.complete = true;
            chunk.since = now;
            self.put_chunk(upload_id, &chunk)?;
        }
        Ok(WriteOutcome::Done)
    }

    pub(super) fn delete_chunk(
        &mut self,
        upload_id: &UploadId,
        now: u64,
    ) -> Result<WriteOutcome, Error> {
        if self.live_chunk(upload_id, now)?.is_none() {
            return Ok(WriteOutcome::Refused);
        }
        Ok(match self.remove_chunk(upload_id)? {
            Some(chunk) => WriteOutcome::ChunkRemoved(chunk.file),
            None => WriteOutcome::Refused,
        })
    }

    pub(super) fn ack_chunk(
        &mut self,
        download_id: &DownloadId,
        now: u64,
    ) -> Result<WriteOutcome, Error> {
        let upload_id = match self.chunk_downloads.get(download_id.as_bytes())? {
            Some(upload_id) => UploadId::from_bytes(upload_id.value()),
            None => return Ok(WriteOutcome::Refused),
        };
        let Some(mut chunk) = self.live_chunk(&upload_id, now)? else {
            return Ok(WriteOutcome::Refused);
        };
        chunk.downloads.retain(|(id, _)| id != download_id);
        self.chunk_downloads.remove(download_id.as_bytes())?;
        if chunk.downloads.is_empty() && chunk.complete {
            self.remove_chunk(&upload_id)?;
            return Ok(WriteOutcome::ChunkRemoved(chunk.file));
        }
        self.chunks
            .insert(upload_id.as_bytes(), encode(&chunk).as_slice())?;
        Ok(WriteOutcome::Done)
    }
}
