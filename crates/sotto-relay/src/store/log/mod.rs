//! The log-structured backend: append-only segment files in `log/` under the
//! data directory, and an index in memory rebuilt from them at open.
//!
//! - [`record`]: the records and their framing (sans-IO).
//! - [`index`]: queues, message and link locations in memory; the one place
//!   records change state, at replay as after a write.
//! - [`ops`]: what each write op does, as records.
//! - [`segment`]: segment files, their creation, replay and removal.
//! - [`writer`]: the appending end (one write and one fdatasync per batch).
//! - [`tail`]: the last batches written, kept in memory for deliveries.
//! - `group_index`: group logs and their entries in the index.
//! - [`compaction`]: reclaiming the oldest segment by copying its live records
//!   forward.
//!
//! Locks: the I/O lock serialises what writes the log (the group-commit
//! thread's batches, the sweep, compaction) and is held across the writes and
//! fsyncs. The writer lock guards the appending end, and the index lock is
//! taken for writing only while records are decided and encoded, in memory. A
//! batch's write and fsync happen with the writer lock released: meanwhile an
//! ACK is decided and encoded at once by its connection ([`Storage::apply_now`])
//! and goes to disk with the next batch. Rollover, the sweep and compaction
//! keep the writer lock across their I/O (they are rare); an ACK that finds it
//! taken goes the group-commit way. Records not yet durable are already in the
//! index, so readers see messages only before a log position (`visible_end`)
//! that moves once the batch is on disk.
//!
//! A failed write or fsync stops the store: after an fsync error the kernel
//! may have dropped the pages it could not write, so neither the index nor the
//! file can be trusted. Every later call fails with [`Error::StoreFailed`]; the
//! group-commit writer stops the relay, and a restart replays the log, which
//! holds exactly what was synced.

mod chunk_index;
mod compaction;
mod group_index;
mod index;
mod ops;
mod record;
mod segment;
mod tail;
mod writer;

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::ops::{Deref, DerefMut};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard, TryLockError};

use sotto_wire::{
    DownloadId, GROUP_ENTRY_LEN, GroupAdminId, GroupEntry, GroupReadId, GroupWriteId,
    LINK_BLOB_LEN, LinkBlob, LinkId, QueueKey, RecipientId, SenderId, UploadId,
};

use self::index::{Index, Location, MessageEntry, day_of};
use self::ops::{Limits, RecordSink};
use self::record::{GROUP_ENTRY_OFFSET, LINK_BLOB_OFFSET, MESSAGE_BODY_OFFSET, Record};
use self::tail::Tail;
use self::writer::{Files, Writer};
use super::{
    Applied, AuthKey, ChunkFile, ChunkRecord, Commit, GroupRecord, Policy, QueueRecord, Storage,
    StoredMessage, WriteOp, WriteOutcome,
};
use crate::Error;

/// The log's directory in the data directory.
pub const LOG_DIR: &str = "log";

/// Room for the records of one op beyond its payload ([`WriteOp::payload_len`]):
/// headers, ids, and the records an op may write besides (a queue's, a touch).
const RECORD_ROOM: usize = 1024;

/// Room an ACK's records surely fit in ([`Storage::apply_now`] does not move to
/// a new segment).
const APPLY_NOW_ROOM: u64 = 4096;

/// The default size at which a segment is sealed and the next one started.
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 << 20;

/// How the log store is configured.
#[derive(Clone, Copy, Debug)]
pub struct LogConfig {
    /// Per-queue quota and message TTL.
    pub policy: Policy,
    /// Size at which a segment is sealed (at most 1 GiB).
    pub segment_bytes: u64,
    /// Bytes of log beyond which new queues and messages are refused.
    pub max_bytes: Option<u64>,
    /// Seconds a queue may go unused before it is deleted.
    pub idle_queue_secs: u64,
}

impl LogConfig {
    /// The segment size for a storage budget: small enough that a budget holds
    /// sixteen segments, so that sealed segments exist to be reclaimed.
    pub fn segment_bytes_for(max_bytes: Option<u64>) -> u64 {
        match max_bytes {
            Some(max) => (max / 16).clamp(1 << 20, DEFAULT_SEGMENT_BYTES),
            None => DEFAULT_SEGMENT_BYTES,
        }
    }

    /// Whole days a queue may go unused: at least the configured time, so a
    /// queue is deleted between that and one day later, never earlier.
    fn idle_days(&self) -> u32 {
        u32::try_from(self.idle_queue_secs.div_ceil(index::DAY_SECS).max(1)).unwrap_or(u32::MAX)
    }

    fn limits(&self) -> Limits {
        Limits {
            policy: self.policy,
            max_bytes: self.max_bytes,
        }
    }
}

/// The log-structured [`Storage`].
pub struct LogStore {
    config: LogConfig,
    dir: std::path::PathBuf,
    index: RwLock<Index>,
    files: Files,
    /// Held across every write and fsync of the log (see the module docs).
    io: Mutex<()>,
    writer: Mutex<Writer>,
    /// The last batches written, shared with the writer.
    tail: Arc<Tail>,
    /// Log position before which every record is written (and synced, if its
    /// batch was durable): readers see messages before it only.
    visible_end: AtomicU64,
    /// The latest day a write or sweep was told, for readers' use marks.
    today: AtomicU32,
    failed: AtomicBool,
}

impl LogStore {
    /// Opens (or creates) the log in `data_dir`, replaying it at `now`.
    pub fn open(data_dir: &Path, config: LogConfig, now: u64) -> Result<Self, Error> {
        if config.segment_bytes > 1 << 30 || config.segment_bytes < 1 << 16 {
            return Err(Error::Config(
                "log segments must be between 64 KiB and 1 GiB".into(),
            ));
        }
        let dir = data_dir.join(LOG_DIR);
        segment::create_dir(&dir)?;
        let mut numbers = segment::list(&dir)?;
        if numbers.is_empty() {
            segment::create(&dir, 1)?;
            numbers.push(1);
        }
        let mut index = Index::default();
        let mut files = BTreeMap::new();
        let mut active_len = segment::HEADER_LEN;
        for (position, &number) in numbers.iter().enumerate() {
            let last = position + 1 == numbers.len();
            let file = segment::open(&dir, number)?;
            let end = segment::replay(&file, number, |record, at| index.apply(record, at))?;
            if end.bad_header {
                if !last {
                    return Err(Error::CorruptLog {
                        segment: number,
                        offset: 0,
                        reason: "the segment's header is damaged",
                    });
                }
                // Created, then the power went before its header was synced.
                segment::reset(&file, number)?;
            } else if let Some(damage) = end.damage {
                if !last {
                    return Err(Error::CorruptLog {
                        segment: number,
                        offset: end.valid_len,
                        reason: "a record is damaged before the end of the log",
                    });
                }
                // Never synced, hence never acknowledged: cut it off.
                tracing::warn!(?damage, "the log ends in a torn record; truncating it");
                segment::truncate(&file, end.valid_len)?;
            }
            let valid_len = end.valid_len.max(segment::HEADER_LEN);
            let usage = index.segments.entry(number).or_default();
            usage.size = usage.size.max(valid_len);
            if last {
                active_len = valid_len;
            }
            files.insert(number, Arc::new(file));
        }
        index.finish_replay(&config.policy, now, config.idle_days());
        let active = numbers.last().copied().unwrap_or(1);
        let active_file = files
            .get(&active)
            .cloned()
            .ok_or_else(|| Error::Storage("the active segment is not open".into()))?;
        let tail = Arc::new(Tail::default());
        let writer = Writer::new(
            dir.clone(),
            config.segment_bytes,
            active,
            active_file,
            active_len,
            Arc::clone(&tail),
        )?;
        let visible_end = writer.end_position();
        Ok(Self {
            config,
            dir,
            index: RwLock::new(index),
            files: RwLock::new(files),
            io: Mutex::new(()),
            writer: Mutex::new(writer),
            tail,
            visible_end: AtomicU64::new(visible_end),
            today: AtomicU32::new(day_of(now)),
            failed: AtomicBool::new(false),
        })
    }

    /// Bytes of every segment, and bytes of them still live.
    pub fn usage(&self) -> Result<(u64, u64), Error> {
        let index = self.read_index()?;
        Ok((index.total_bytes(), index.live_bytes()))
    }

    /// The numbers of the segments on disk, oldest first.
    pub fn segments(&self) -> Result<Vec<u32>, Error> {
        Ok(self.read_index()?.segments.keys().copied().collect())
    }

    fn check(&self) -> Result<(), Error> {
        if self.failed.load(Ordering::Acquire) {
            return Err(Error::StoreFailed);
        }
        Ok(())
    }

    /// Marks the store failed after `error`; what to return instead.
    fn fail(&self, error: Error) -> Error {
        self.failed.store(true, Ordering::Release);
        tracing::error!(%error, "the log store failed; it accepts nothing more until restarted");
        Error::StoreFailed
    }

    fn read_index(&self) -> Result<RwLockReadGuard<'_, Index>, Error> {
        self.check()?;
        self.index.read().map_err(|_| Error::StoreFailed)
    }

    fn write_index(&self) -> Result<RwLockWriteGuard<'_, Index>, Error> {
        self.index.write().map_err(|_| Error::StoreFailed)
    }

    /// The I/O lock and the writer lock, for changes that do I/O with both held.
    fn lock_writer(&self) -> Result<WriterGuard<'_>, Error> {
        let io = self.lock_io()?;
        let writer = self.lock_appending()?;
        Ok(WriterGuard { writer, _io: io })
    }

    fn lock_io(&self) -> Result<MutexGuard<'_, ()>, Error> {
        self.check()?;
        self.io.lock().map_err(|_| Error::StoreFailed)
    }

    /// The writer lock alone: only to append, or with the I/O lock held.
    fn lock_appending(&self) -> Result<MutexGuard<'_, Writer>, Error> {
        self.check()?;
        self.writer.lock().map_err(|_| Error::StoreFailed)
    }

    fn file(&self, segment: u32) -> Result<Arc<File>, Error> {
        self.files
            .read()
            .map_err(|_| Error::StoreFailed)?
            .get(&segment)
            .cloned()
            .ok_or_else(|| Error::Storage("a record points to a deleted segment".into()))
    }

    /// Reads the body of the message at `at` from its segment's `file`.
    fn read_body(file: &File, at: Location) -> Result<Vec<u8>, Error> {
        // The record was checked when it was written or replayed, so its length
        // is bounded by the largest record.
        let len = (at.len as usize).saturating_sub(MESSAGE_BODY_OFFSET);
        let mut body = vec![0; len];
        file.read_exact_at(&mut body, u64::from(at.offset) + MESSAGE_BODY_OFFSET as u64)
            .map_err(Error::io("reading a message from the log"))?;
        Ok(body)
    }

    /// Reads the blob of the link at `at` from its segment's `file`.
    fn read_link_blob(file: &File, at: Location) -> Result<Vec<u8>, Error> {
        let mut blob = vec![0; LINK_BLOB_LEN];
        file.read_exact_at(&mut blob, u64::from(at.offset) + LINK_BLOB_OFFSET as u64)
            .map_err(Error::io("reading a link from the log"))?;
        Ok(blob)
    }

    /// Reads the entry of the group entry record at `at` from its segment's
    /// `file`.
    fn read_group_entry(file: &File, at: Location) -> Result<Vec<u8>, Error> {
        let mut entry = vec![0; GROUP_ENTRY_LEN];
        file.read_exact_at(&mut entry, u64::from(at.offset) + GROUP_ENTRY_OFFSET as u64)
            .map_err(Error::io("reading a group entry from the log"))?;
        Ok(entry)
    }

    /// The group log with this admin id as readers see it at `now`.
    fn group_record(
        &self,
        admin_id: Option<GroupAdminId>,
        now: u64,
    ) -> Result<Option<GroupRecord>, Error> {
        let index = self.read_index()?;
        let visible_end = self.visible_end.load(Ordering::Acquire);
        Ok(admin_id
            .and_then(|admin_id| index.groups.get(&admin_id, &self.config.policy, now))
            .and_then(|log| log.to_record(&self.config.policy, now, visible_end)))
    }

    /// The queue's first message readers may see, its queue key, and its
    /// segment's file, taken under the index lock: compaction may move the
    /// message and delete that file as soon as the lock is released, and the
    /// open file still reads.
    fn first_visible(
        &self,
        recipient_id: &RecipientId,
        now: u64,
    ) -> Result<Option<(QueueKey, MessageEntry, Arc<File>)>, Error> {
        let index = self.read_index()?;
        let Some(entry) = index.queues.get(recipient_id) else {
            return Ok(None);
        };
        let visible_end = self.visible_end.load(Ordering::Acquire);
        let (Some(state), Some(message)) = (
            &entry.state,
            entry.first_message(&self.config.policy, now, visible_end),
        ) else {
            return Ok(None);
        };
        let file = self.file(message.at.segment)?;
        Ok(Some((state.queue_key.clone(), message.clone(), file)))
    }

    /// The message at `entry`: from the tail if it was written lately, else
    /// from its segment's `file`.
    fn stored(&self, entry: MessageEntry, file: &File) -> Result<StoredMessage, Error> {
        match self.tail.read(entry.at, MESSAGE_BODY_OFFSET) {
            Some(body) => Ok(Self::message(entry, body)),
            None => Self::stored_in_file(entry, file),
        }
    }

    /// The message at `entry`, read from its segment's `file`.
    fn stored_in_file(entry: MessageEntry, file: &File) -> Result<StoredMessage, Error> {
        let body = Self::read_body(file, entry.at)?;
        Ok(Self::message(entry, body))
    }

    fn message(entry: MessageEntry, body: impl Into<bytes::Bytes>) -> StoredMessage {
        StoredMessage {
            id: entry.id,
            accepted_at: entry.accepted_at,
            flags: entry.flags,
            body: body.into(),
        }
    }

    /// Appends `records` and applies them to `index`.
    fn append_records(
        &self,
        writer: &mut Writer,
        index: &mut Index,
        records: &[Record<'_>],
    ) -> Result<(), Error> {
        let mut sink = Sink {
            writer,
            files: &self.files,
        };
        for record in records {
            let at = sink.append(record).map_err(|error| self.fail(error))?;
            index.apply(record, at);
        }
        Ok(())
    }

    /// Writes (and, if durable, syncs) what the writer holds, then shows it
    /// to readers. The caller holds the I/O lock.
    fn commit(&self, writer: &mut Writer, commit: Commit) -> Result<(), Error> {
        let batch = writer.take(commit == Commit::Durable);
        let written = batch.write();
        let end = batch.end_position();
        writer
            .finish(batch, written)
            .map_err(|error| self.fail(error))?;
        self.visible_end.store(end, Ordering::Release);
        Ok(())
    }

    /// Like [`LogStore::commit`], with the writer lock released during the
    /// write and the fsync, so that ACKs are applied meanwhile. The caller
    /// holds the I/O lock, so no other batch is taken before this one is back.
    fn commit_released(
        &self,
        mut writer: MutexGuard<'_, Writer>,
        commit: Commit,
    ) -> Result<(), Error> {
        let batch = writer.take(commit == Commit::Durable);
        drop(writer);
        let written = batch.write();
        let end = batch.end_position();
        let mut writer = self.writer.lock().map_err(|_| Error::StoreFailed)?;
        writer
            .finish(batch, written)
            .map_err(|error| self.fail(error))?;
        drop(writer);
        self.visible_end.store(end, Ordering::Release);
        Ok(())
    }
}

/// The I/O lock and the writer lock held together.
struct WriterGuard<'a> {
    writer: MutexGuard<'a, Writer>,
    _io: MutexGuard<'a, ()>,
}

impl Deref for WriterGuard<'_> {
    type Target = Writer;

    fn deref(&self) -> &Writer {
        &self.writer
    }
}

impl DerefMut for WriterGuard<'_> {
    fn deref_mut(&mut self) -> &mut Writer {
        &mut self.writer
    }
}

/// The writer as the ops see it.
struct Sink<'a> {
    writer: &'a mut Writer,
    files: &'a Files,
}

impl RecordSink for Sink<'_> {
    fn append(&mut self, record: &Record<'_>) -> Result<Location, Error> {
        self.writer.append(record, self.files)
    }
}

impl Storage for LogStore {
    fn queue(&self, recipient_id: &RecipientId) -> Result<Option<QueueRecord>, Error> {
        let index = self.read_index()?;
        let entry = index.queues.get(recipient_id);
        if let Some(entry) = entry {
            entry.touch(self.today.load(Ordering::Relaxed));
        }
        Ok(entry.and_then(index::QueueEntry::to_record))
    }

    fn queue_by_sender(
        &self,
        sender_id: &SenderId,
    ) -> Result<Option<(RecipientId, QueueRecord)>, Error> {
        let index = self.read_index()?;
        let Some(recipient_id) = index.senders.get(sender_id).copied() else {
            // An unknown sender id costs the same two lookups as a known one
            // (the answer, ERR AUTH, must not tell them apart by its timing).
            let _ = index
                .queues
                .get(&RecipientId::from_bytes(*sender_id.as_bytes()));
            return Ok(None);
        };
        let Some(entry) = index.queues.get(&recipient_id) else {
            return Ok(None);
        };
        entry.touch(self.today.load(Ordering::Relaxed));
        Ok(entry.to_record().map(|record| (recipient_id, record)))
    }

    fn delivery(
        &self,
        recipient_id: &RecipientId,
        now: u64,
    ) -> Result<Option<(QueueKey, StoredMessage)>, Error> {
        match self.first_visible(recipient_id, now)? {
            Some((queue_key, entry, file)) => Ok(Some((queue_key, self.stored(entry, &file)?))),
            None => Ok(None),
        }
    }

    fn first_message(
        &self,
        recipient_id: &RecipientId,
        now: u64,
    ) -> Result<Option<StoredMessage>, Error> {
        match self.first_visible(recipient_id, now)? {
            Some((_, entry, file)) => Ok(Some(self.stored(entry, &file)?)),
            None => Ok(None),
        }
    }

    fn apply(&self, ops: &[WriteOp], now: u64, commit: Commit) -> Result<Vec<WriteOutcome>, Error> {
        self.today.fetch_max(day_of(now), Ordering::Relaxed);
        let io = self.lock_io()?;
        let mut writer = self.lock_appending()?;
        // Room for the whole batch before encoding it: a buffer that grows
        // while messages are copied in copies them again.
        let payload: usize = ops.iter().map(WriteOp::payload_len).sum();
        writer.reserve(payload.saturating_add(ops.len().saturating_mul(RECORD_ROOM)));
        let limits = self.config.limits();
        let outcomes = {
            let mut index = self.write_index()?;
            let mut sink = Sink {
                writer: &mut writer,
                files: &self.files,
            };
            ops.iter()
                .map(|op| ops::apply(op, &mut index, &limits, now, &mut sink))
                .collect::<Result<Vec<_>, Error>>()
                // The index may hold part of the batch: it no longer matches
                // the log.
                .map_err(|error| self.fail(error))?
        };
        self.commit_released(writer, commit)?;
        drop(io);
        Ok(outcomes)
    }

    fn apply_now(&self, op: &WriteOp, now: u64) -> Option<Result<Applied, Error>> {
        if op.needs_fsync() {
            return None;
        }
        if let Err(error) = self.check() {
            return Some(Err(error));
        }
        let mut writer = match self.writer.try_lock() {
            Ok(writer) => writer,
            // Rollover, the sweep or compaction holds it across I/O.
            Err(TryLockError::WouldBlock) => return None,
            Err(TryLockError::Poisoned(_)) => return Some(Err(Error::StoreFailed)),
        };
        // Moving to a new segment writes and syncs: not here.
        if !writer.has_room(APPLY_NOW_ROOM) {
            return None;
        }
        self.today.fetch_max(day_of(now), Ordering::Relaxed);
        let limits = self.config.limits();
        let outcome = {
            let mut index = match self.write_index() {
                Ok(index) => index,
                Err(error) => return Some(Err(error)),
            };
            let mut sink = Sink {
                writer: &mut writer,
                files: &self.files,
            };
            ops::apply(op, &mut index, &limits, now, &mut sink).map_err(|error| self.fail(error))
        };
        let first_unwritten = writer.note_unwritten();
        Some(outcome.map(|outcome| Applied {
            outcome,
            first_unwritten,
        }))
    }

    fn link_key(&self, link_id: &LinkId, now: u64) -> Result<Option<AuthKey>, Error> {
        let index = self.read_index()?;
        Ok(index
            .link(link_id, &self.config.policy, now)
            .map(|entry| entry.auth_key))
    }

    fn link_blob(&self, link_id: &LinkId, now: u64) -> Result<Option<LinkBlob>, Error> {
        // Unlike a message, a blob replaced by an LSET whose batch is not yet
        // durable is served at once: the old blob is gone from the index, and
        // either version is one its owner wrote. Its LSET is answered OK only
        // once durable.
        // The file is taken under the index lock: compaction may move the link
        // and delete that file as soon as the lock is released, and the open
        // file still reads.
        let (at, file) = {
            let index = self.read_index()?;
            let Some(entry) = index.link(link_id, &self.config.policy, now) else {
                return Ok(None);
            };
            (entry.at, self.file(entry.at.segment)?)
        };
        let blob = match self.tail.read(at, LINK_BLOB_OFFSET) {
            Some(blob) => blob.to_vec(),
            None => Self::read_link_blob(&file, at)?,
        };
        LinkBlob::new(blob)
            .map(Some)
            .map_err(|_| Error::Storage("a link record holds a blob of the wrong size".into()))
    }

    fn chunk(&self, upload_id: &UploadId, now: u64) -> Result<Option<ChunkRecord>, Error> {
        let index = self.read_index()?;
        Ok(index
            .chunks
            .get(upload_id, &self.config.policy, now)
            .map(|entry| entry.chunk.clone()))
    }

    fn chunk_by_download(
        &self,
        download_id: &DownloadId,
        now: u64,
    ) -> Result<Option<ChunkRecord>, Error> {
        let index = self.read_index()?;
        Ok(index
            .chunks
            .by_download(download_id, &self.config.policy, now)
            .map(|(_, entry)| entry.chunk.clone()))
    }

    fn chunks(&self) -> Result<Vec<ChunkRecord>, Error> {
        let index = self.read_index()?;
        Ok(index
            .chunks
            .chunks
            .values()
            .map(|entry| entry.chunk.clone())
            .collect())
    }

    fn expire_chunks(&self, now: u64) -> Result<Vec<ChunkFile>, Error> {
        // Under the writer lock, like every change of the index.
        let _writer = self.lock_writer()?;
        let mut index = self.write_index()?;
        Ok(index.expire_chunks(&self.config.policy, now))
    }

    fn group_by_admin(
        &self,
        admin_id: &GroupAdminId,
        now: u64,
    ) -> Result<Option<GroupRecord>, Error> {
        self.group_record(Some(*admin_id), now)
    }

    fn group_by_write(
        &self,
        write_id: &GroupWriteId,
        now: u64,
    ) -> Result<Option<GroupRecord>, Error> {
        let admin_id = self.read_index()?.groups.by_write(write_id);
        self.group_record(admin_id, now)
    }

    fn group_by_read(&self, read_id: &GroupReadId, now: u64) -> Result<Option<GroupRecord>, Error> {
        let admin_id = self.read_index()?.groups.by_read(read_id);
        self.group_record(admin_id, now)
    }

    fn group_entry(
        &self,
        read_id: &GroupReadId,
        seq: u64,
        now: u64,
    ) -> Result<Option<GroupEntry>, Error> {
        // The file is taken under the index lock, as for messages.
        let (at, file) = {
            let index = self.read_index()?;
            let visible_end = self.visible_end.load(Ordering::Acquire);
            let policy = &self.config.policy;
            let Some(slot) = index
                .groups
                .by_read(read_id)
                .and_then(|admin_id| index.groups.get(&admin_id, policy, now))
                .and_then(|log| log.entry(seq, policy, now, visible_end))
            else {
                return Ok(None);
            };
            (slot.at, self.file(slot.at.segment)?)
        };
        let bytes = match self.tail.read(at, GROUP_ENTRY_OFFSET) {
            Some(bytes) => bytes.to_vec(),
            None => Self::read_group_entry(&file, at)?,
        };
        GroupEntry::new(bytes)
            .map(Some)
            .map_err(|_| Error::Storage("a group entry record has the wrong size".into()))
    }

    fn sync(&self) -> Result<(), Error> {
        let io = self.lock_io()?;
        let writer = self.lock_appending()?;
        self.commit_released(writer, Commit::Durable)?;
        drop(io);
        Ok(())
    }

    fn expire(&self, now: u64, limit: usize) -> Result<u64, Error> {
        let today = day_of(now);
        self.today.fetch_max(today, Ordering::Relaxed);
        let expired = {
            let mut writer = self.lock_writer()?;
            let mut index = self.write_index()?;
            let expired = index.expire(&self.config.policy, now, limit);
            index.expire_links(&self.config.policy, now);
            index.expire_groups(&self.config.policy, now);
            // Queues nobody used for too long go, and the days of use readers
            // noted reach the log, in one durable commit per sweep.
            let idle: HashSet<RecipientId> = index
                .idle_queues(today, self.config.idle_days())
                .into_iter()
                .collect();
            let mut records: Vec<Record<'static>> = idle
                .iter()
                .map(|recipient_id| Record::Delete {
                    recipient_id: *recipient_id,
                })
                .collect();
            records.extend(
                index
                    .unpersisted_uses()
                    .into_iter()
                    .filter(|(recipient_id, _)| !idle.contains(recipient_id))
                    .map(|(recipient_id, day)| Record::Touch { recipient_id, day }),
            );
            self.append_records(&mut writer, &mut index, &records)?;
            drop(index);
            self.commit(&mut writer, Commit::Durable)?;
            expired
        };
        self.reclaim()?;
        Ok(expired)
    }
}

#[cfg(test)]
mod tests;
