//! The appending end of the log: the active segment, the batch being encoded,
//! and the rollover to a new segment.
//!
//! Records are encoded into one buffer and written with one `pwrite` per batch
//! (two when the batch crosses into a new segment), then synced with one
//! `fdatasync` when the batch is durable. A segment is synced before the next
//! one is created, so a record that is torn or missing after a power loss can
//! only be in the last segment.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use super::index::Location;
use super::record::Record;
use super::segment;
use super::tail::Tail;
use crate::Error;

/// The next batch's buffer has room for twice the last one, up to this.
const KEPT_BUFFER: usize = 4 << 20;

/// Batches smaller than this are not kept in the tail: no message of a
/// useful size is in them, and their buffer is reused at once.
const TAIL_MIN_BATCH: usize = 4096;

/// Open segment files by number, shared with readers.
pub(super) type Files = RwLock<BTreeMap<u32, Arc<File>>>;

/// The log's appending end. Only the holder of the store's writer lock uses it.
pub(super) struct Writer {
    dir: PathBuf,
    segment_bytes: u64,
    active: u32,
    file: Arc<File>,
    /// Bytes of the active segment written to the file.
    written: u64,
    /// Records encoded, not yet written; they follow `written`.
    buffer: Vec<u8>,
    /// Something was written since the last sync.
    unsynced: bool,
    /// Where written batches go, for readers.
    tail: Arc<Tail>,
}

impl Writer {
    /// Appends to segment `active`, whose first `written` bytes are whole.
    pub(super) fn new(
        dir: PathBuf,
        segment_bytes: u64,
        active: u32,
        file: Arc<File>,
        written: u64,
        tail: Arc<Tail>,
    ) -> Self {
        Self {
            dir,
            segment_bytes,
            active,
            file,
            written,
            buffer: Vec::new(),
            unsynced: false,
            tail,
        }
    }

    /// The active segment's number.
    pub(super) fn active(&self) -> u32 {
        self.active
    }

    /// The log position after everything written and encoded.
    pub(super) fn end_position(&self) -> u64 {
        (u64::from(self.active) << 32) | self.end()
    }

    fn end(&self) -> u64 {
        self.written + self.buffer.len() as u64
    }

    /// Encodes `record` at the end of the log, first moving to a new segment
    /// if the active one is full; where it will sit.
    pub(super) fn append(&mut self, record: &Record<'_>, files: &Files) -> Result<Location, Error> {
        let len = record.framed_len() as u64;
        if self.end() + len > self.segment_bytes && self.end() > segment::HEADER_LEN {
            self.rollover(files)?;
        }
        let at = Location {
            segment: self.active,
            offset: u32::try_from(self.end())
                .map_err(|_| Error::Storage("a log segment outgrew 4 GiB".into()))?,
            len: u32::try_from(len).map_err(|_| Error::Storage("a record outgrew 4 GiB".into()))?,
        };
        record.encode(&mut self.buffer);
        Ok(at)
    }

    /// Writes what was encoded to the file (the page cache).
    pub(super) fn flush(&mut self) -> Result<(), Error> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        self.file
            .write_all_at(&self.buffer, self.written)
            .map_err(Error::io("writing the log"))?;
        let offset = self.written;
        self.written += self.buffer.len() as u64;
        self.unsynced = true;
        if self.buffer.len() < TAIL_MIN_BATCH {
            // Too small to hold a message worth keeping (ACKs, queue records).
            self.buffer.clear();
            return Ok(());
        }
        // The batch goes to the tail; the next one gets a buffer it dropped,
        // with room for twice this one (a batch grows by copying).
        let next = self
            .tail
            .buffer(self.buffer.len().saturating_mul(2).min(KEPT_BUFFER));
        self.tail.push(
            self.active,
            offset,
            std::mem::replace(&mut self.buffer, next),
        );
        Ok(())
    }

    /// Writes and syncs everything encoded so far.
    pub(super) fn sync(&mut self) -> Result<(), Error> {
        self.flush()?;
        if self.unsynced {
            self.file
                .sync_data()
                .map_err(Error::io("syncing the log"))?;
            self.unsynced = false;
        }
        Ok(())
    }

    /// Seals the active segment (synced) and starts the next one.
    fn rollover(&mut self, files: &Files) -> Result<(), Error> {
        self.sync()?;
        let next = self
            .active
            .checked_add(1)
            .ok_or_else(|| Error::Storage("log segment numbers are exhausted".into()))?;
        let file = Arc::new(segment::create(&self.dir, next)?);
        files
            .write()
            .map_err(|_| Error::StoreFailed)?
            .insert(next, Arc::clone(&file));
        self.active = next;
        self.file = file;
        self.written = segment::HEADER_LEN;
        Ok(())
    }
}
