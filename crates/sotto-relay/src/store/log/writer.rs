//! The appending end of the log: the active segment, the batch being encoded,
//! and the rollover to a new segment.
//!
//! Records are encoded into one buffer and written with one `pwrite` per batch
//! (two when the batch crosses into a new segment), then synced with one
//! `fdatasync` when the batch is durable. A segment is synced before the next
//! one is created, so a record that is torn or missing after a power loss can
//! only be in the last segment.
//!
//! Where the filesystem allows it, the batches go to the disk directly
//! (`O_DIRECT`), not through the page cache: copying every message into the
//! page cache and writing it back later cost the relay more CPU than anything
//! else it does per message (docs/benchmarks.md). A direct write covers whole
//! [`ALIGN`]-byte blocks from a buffer aligned to [`ALIGN`]: a batch starts
//! with the bytes already written in the block where the log ends (the carry,
//! written again unchanged) and ends with zeros up to the next block boundary
//! (the next batch writes over them). Zeros after the last record are padding
//! to the replay ([`super::segment::replay`]), and a segment is cut to its
//! records before the next one is created. Readers use the segment's other,
//! buffered handle; the kernel keeps the two coherent. A filesystem that
//! refuses direct I/O (tmpfs, some FUSE filesystems) gets buffered writes of
//! the same bytes.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use super::index::Location;
use super::record::Record;
use super::segment;
use super::tail::Tail;
use crate::Error;

/// The block size and memory alignment of direct writes: a multiple of every
/// logical block size in use (512 and 4096 bytes).
pub(super) const ALIGN: usize = 4096;

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
    /// The active segment's buffered handle, shared with readers.
    file: Arc<File>,
    /// Its direct handle, if the filesystem allows direct writes.
    direct: Option<Arc<File>>,
    /// The filesystem refused a direct write: no more are tried.
    buffered_only: bool,
    /// Bytes of the active segment written to the file.
    written: u64,
    /// The batch: `bytes[start..head]` is the carry (the bytes of the active
    /// segment from the block boundary at or before `written`, when writes
    /// are direct), `bytes[head..]` the records encoded, not yet written; they
    /// follow `written`. `bytes[start..]` is aligned to [`ALIGN`] in memory
    /// unless the buffer grew since (a flush then aligns it again).
    bytes: Vec<u8>,
    start: usize,
    head: usize,
    /// Something was written since the last sync.
    unsynced: bool,
    /// Records were encoded by [`Storage::apply_now`](crate::store::Storage::apply_now)
    /// since the last batch was taken.
    unwritten: bool,
    /// Where written batches go, for readers.
    tail: Arc<Tail>,
}

/// Encoded records taken out of the [`Writer`] to be written (and synced)
/// without holding it; see [`Writer::take`].
pub(super) struct Batch {
    segment: u32,
    /// The segment's buffered handle, and its direct one if writes are direct.
    file: Arc<File>,
    direct: Option<Arc<File>>,
    /// `bytes[start..head]` is the carry, `bytes[head..logical]` the records,
    /// and a direct write covers `bytes[start..]` (padded to whole blocks).
    bytes: Vec<u8>,
    start: usize,
    head: usize,
    logical: usize,
    /// Where the records go in the segment.
    offset: u64,
    /// Whether the segment is synced after the write.
    sync: bool,
    /// The log position after the batch's records.
    end_position: u64,
}

/// How a batch was written.
pub(super) struct Written {
    /// The filesystem refused the direct write: the batch went through the
    /// page cache, and so will every later one.
    fell_back: bool,
}

impl Batch {
    /// The log position after the batch's records: readers may see what is
    /// before it once the batch is written (and synced, if it was durable).
    pub(super) fn end_position(&self) -> u64 {
        self.end_position
    }

    /// Writes the records (to the disk when writes are direct, else to the
    /// page cache), then syncs the segment if the batch is durable.
    pub(super) fn write(&self) -> Result<Written, Error> {
        let mut fell_back = false;
        if self.logical > self.head {
            let carry = (self.head - self.start) as u64;
            match &self.direct {
                Some(direct) => {
                    match direct.write_all_at(&self.bytes[self.start..], self.offset - carry) {
                        Ok(()) => {}
                        Err(error) if error.kind() == io::ErrorKind::InvalidInput => {
                            // The filesystem took the handle but refuses direct
                            // writes: the same bytes go through the page cache.
                            fell_back = true;
                            self.write_buffered()?;
                        }
                        Err(error) => return Err(Error::io("writing the log")(error)),
                    }
                }
                None => self.write_buffered()?,
            }
        }
        if self.sync {
            self.file
                .sync_data()
                .map_err(Error::io("syncing the log"))?;
        }
        Ok(Written { fell_back })
    }

    /// Writes the records through the page cache.
    fn write_buffered(&self) -> Result<(), Error> {
        self.file
            .write_all_at(&self.bytes[self.head..self.logical], self.offset)
            .map_err(Error::io("writing the log"))
    }
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
    ) -> Result<Self, Error> {
        let mut writer = Self {
            direct: segment::open_direct(&dir, active).map(Arc::new),
            buffered_only: false,
            dir,
            segment_bytes,
            active,
            file,
            written,
            bytes: Vec::new(),
            start: 0,
            head: 0,
            unsynced: false,
            unwritten: false,
            tail,
        };
        let carry = writer.read_carry()?;
        writer.bytes = writer.tail.buffer(KEPT_BUFFER.min(1 << 20));
        writer.prepare(&carry);
        Ok(writer)
    }

    /// Whether batches go to the disk directly.
    #[cfg(test)]
    pub(super) fn is_direct(&self) -> bool {
        self.direct.is_some()
    }

    /// Writes through the page cache from now on, as on a filesystem that
    /// refuses direct writes.
    #[cfg(test)]
    pub(super) fn refuse_direct_writes(&mut self) {
        let records = self.bytes.split_off(self.head);
        self.direct = None;
        self.buffered_only = true;
        self.prepare(&[]);
        self.bytes.extend_from_slice(&records);
    }

    /// The active segment's number.
    pub(super) fn active(&self) -> u32 {
        self.active
    }

    /// Makes room for `additional` more bytes of records (and the padding of
    /// a direct write) in the batch's buffer, so that it does not grow, and
    /// move, while they are encoded. A buffer too small is replaced by one
    /// of the right size; only what it holds already (the carry, and maybe a
    /// few ACKs) is copied.
    pub(super) fn reserve(&mut self, additional: usize) {
        let needed = self.bytes.len() - self.start + additional + ALIGN;
        if self.bytes.capacity() - self.start >= needed {
            return;
        }
        let mut bigger: Vec<u8> = Vec::with_capacity(needed + ALIGN);
        let start = bigger.as_ptr().align_offset(ALIGN);
        bigger.resize(start, 0);
        bigger.extend_from_slice(&self.bytes[self.start..]);
        self.head = self.head - self.start + start;
        self.start = start;
        let old = std::mem::replace(&mut self.bytes, bigger);
        self.tail.recycle(old);
    }

    /// Whether `len` more bytes fit in the active segment.
    pub(super) fn has_room(&self, len: u64) -> bool {
        self.end() + len <= self.segment_bytes
    }

    /// Notes that records were encoded outside a batch's commit; whether they
    /// are the first since the last batch was taken (someone must see that
    /// they are written).
    pub(super) fn note_unwritten(&mut self) -> bool {
        !std::mem::replace(&mut self.unwritten, true)
    }

    /// The log position after everything written and encoded.
    pub(super) fn end_position(&self) -> u64 {
        (u64::from(self.active) << 32) | self.end()
    }

    fn end(&self) -> u64 {
        self.written + (self.bytes.len() - self.head) as u64
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
        record.encode(&mut self.bytes);
        Ok(at)
    }

    /// Writes what was encoded to the file (to the disk when writes are
    /// direct, else to the page cache).
    #[cfg(test)]
    pub(super) fn flush(&mut self) -> Result<(), Error> {
        let batch = self.take(false);
        let written = batch.write();
        self.finish(batch, written)
    }

    /// Takes what was encoded as a batch to write (and to sync, if `sync`)
    /// without the writer: records appended meanwhile go to the next batch.
    /// Give it back with [`Writer::finish`] before taking the next one.
    pub(super) fn take(&mut self, sync: bool) -> Batch {
        let has_records = self.bytes.len() > self.head;
        self.unwritten = false;
        let mut batch = Batch {
            segment: self.active,
            file: Arc::clone(&self.file),
            direct: None,
            bytes: Vec::new(),
            start: 0,
            head: 0,
            logical: 0,
            offset: self.written,
            sync: sync && (has_records || self.unsynced),
            end_position: self.end_position(),
        };
        if !has_records {
            return batch;
        }
        if self.direct.is_some() {
            self.align();
        }
        let logical = self.bytes.len();
        let head = self.head;
        self.written += (logical - head) as u64;
        self.unsynced = true;
        let carry = self.carry_bytes();
        // A small batch (ACKs, queue records) holds no message worth keeping
        // in the tail, and its buffer comes back for a later batch. A larger
        // one goes to the tail, and the next batch gets a buffer the tail
        // dropped, with room for one like this one; a larger batch makes room
        // first ([`Writer::reserve`]).
        let capacity = if logical - head < TAIL_MIN_BATCH {
            self.bytes.capacity()
        } else {
            (logical - head).min(KEPT_BUFFER) + 2 * ALIGN
        };
        let next = self.tail.buffer(capacity);
        let mut bytes = std::mem::replace(&mut self.bytes, next);
        if let Some(direct) = &self.direct {
            let padded = self.start + (logical - self.start).next_multiple_of(ALIGN);
            // `align` left room for the padding: the buffer does not move.
            debug_assert!(padded <= bytes.capacity());
            bytes.resize(padded, 0);
            batch.direct = Some(Arc::clone(direct));
        }
        batch.bytes = bytes;
        batch.start = self.start;
        batch.head = head;
        batch.logical = logical;
        self.prepare(&carry);
        batch
    }

    /// Takes a batch back after its write (`written`, from
    /// [`Batch::write`]): the tail keeps it for readers. A failed write is
    /// returned: the store stops.
    pub(super) fn finish(
        &mut self,
        batch: Batch,
        written: Result<Written, Error>,
    ) -> Result<(), Error> {
        let written = written?;
        if written.fell_back {
            tracing::info!("the log's filesystem refuses direct writes; using buffered writes");
            self.direct = None;
            self.buffered_only = true;
        }
        if batch.sync {
            self.unsynced = false;
        }
        let Batch {
            segment,
            mut bytes,
            head,
            logical,
            offset,
            ..
        } = batch;
        if logical - head < TAIL_MIN_BATCH {
            if bytes.capacity() > 0 {
                self.tail.recycle(bytes);
            }
        } else {
            bytes.truncate(logical);
            self.tail.push(segment, offset, bytes, head);
        }
        Ok(())
    }

    /// The bytes a direct write after `written` must start with: those of the
    /// active segment from the block boundary at or before `written`, read
    /// from the batch just written. Nothing when writes are buffered.
    fn carry_bytes(&self) -> Vec<u8> {
        if self.direct.is_none() {
            return Vec::new();
        }
        let partial = (self.written % ALIGN as u64) as usize;
        self.bytes[self.bytes.len() - partial..].to_vec()
    }

    /// The carry read back from the active segment's file (after opening it,
    /// or after a rollover).
    fn read_carry(&self) -> Result<Vec<u8>, Error> {
        if self.direct.is_none() {
            return Ok(Vec::new());
        }
        let partial = self.written % ALIGN as u64;
        let mut carry = vec![0; partial as usize];
        self.file
            .read_exact_at(&mut carry, self.written - partial)
            .map_err(Error::io("reading a log segment"))?;
        Ok(carry)
    }

    /// Empties the batch's buffer and starts it, aligned, with `carry`.
    fn prepare(&mut self, carry: &[u8]) {
        self.bytes.clear();
        self.bytes.reserve(2 * ALIGN);
        self.start = self.bytes.as_ptr().align_offset(ALIGN);
        self.bytes.resize(self.start, 0);
        self.bytes.extend_from_slice(carry);
        self.head = self.bytes.len();
    }

    /// Moves the batch to an aligned address with room for its padding to a
    /// whole block, if it is not at one already: the buffer grew since it was
    /// prepared (a batch larger than its buffer), or the padding would grow it
    /// (a batch that ends less than a block before the buffer's end), which
    /// would move it. The kernel refuses a direct write from an unaligned
    /// buffer.
    fn align(&mut self) {
        let len = self.bytes.len() - self.start;
        let room = self.bytes.capacity() - self.start;
        if self.bytes[self.start..].as_ptr().align_offset(ALIGN) == 0
            && room >= len.next_multiple_of(ALIGN)
        {
            return;
        }
        let mut moved: Vec<u8> = Vec::with_capacity(len + 2 * ALIGN);
        let start = moved.as_ptr().align_offset(ALIGN);
        moved.resize(start, 0);
        moved.extend_from_slice(&self.bytes[self.start..]);
        self.head = self.head - self.start + start;
        self.start = start;
        self.bytes = moved;
    }

    /// Writes and syncs everything encoded so far.
    pub(super) fn sync(&mut self) -> Result<(), Error> {
        let batch = self.take(true);
        let written = batch.write();
        self.finish(batch, written)
    }

    /// Seals the active segment (synced, cut to its records) and starts the
    /// next one.
    fn rollover(&mut self, files: &Files) -> Result<(), Error> {
        self.sync()?;
        if self.direct.is_some() {
            // The padding of the last direct write goes, durably, before a
            // later segment exists: only the last segment may end in zeros.
            self.file
                .set_len(self.written)
                .and_then(|()| self.file.sync_all())
                .map_err(Error::io("sealing a log segment"))?;
        }
        let next = self
            .active
            .checked_add(1)
            .ok_or_else(|| Error::Storage("log segment numbers are exhausted".into()))?;
        let file = Arc::new(segment::create(&self.dir, next)?);
        files
            .write()
            .map_err(|_| Error::StoreFailed)?
            .insert(next, Arc::clone(&file));
        self.direct = if self.buffered_only {
            None
        } else {
            segment::open_direct(&self.dir, next).map(Arc::new)
        };
        self.active = next;
        self.file = file;
        self.written = segment::HEADER_LEN;
        // The sync above wrote every record encoded: the batch starts anew.
        let carry = self.read_carry()?;
        self.prepare(&carry);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::log::record::tests::samples;

    #[test]
    fn a_batch_ending_just_before_its_buffers_end_is_still_written_directly() {
        let dir = tempfile::tempdir().unwrap();
        let file = Arc::new(segment::create(dir.path(), 1).unwrap());
        let files: Files = RwLock::new(BTreeMap::from([(1, Arc::clone(&file))]));
        let tail = Arc::new(Tail::default());
        let mut writer = Writer::new(
            dir.path().to_path_buf(),
            1 << 30,
            1,
            file,
            segment::HEADER_LEN,
            tail,
        )
        .unwrap();
        if !writer.is_direct() {
            // A filesystem without direct I/O (tmpfs): nothing to check.
            return;
        }
        let overhead = samples(&[])[2].framed_len();
        let capacity = 64 * 1024;
        for slack in [1, 100, ALIGN / 2, ALIGN - 1] {
            let carry = writer.bytes[writer.start..writer.head].to_vec();
            writer.bytes = Vec::with_capacity(capacity);
            writer.prepare(&carry);
            // One message that fills the buffer to `slack` bytes before its
            // end, where padding it to a whole block would grow the buffer.
            let body = vec![5; capacity - slack - writer.bytes.len() - overhead];
            writer.append(&samples(&body)[2], &files).unwrap();
            assert_eq!(writer.bytes.len(), capacity - slack);
            writer.flush().unwrap();
            assert!(
                writer.is_direct(),
                "slack {slack}: the write fell back to buffered"
            );
        }
    }
}
