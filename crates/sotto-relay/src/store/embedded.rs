//! The embedded backend: one redb file in the data directory.
//!
//! Tables (all keys fixed-size byte arrays, so the order is the byte order):
//! - `queues`: recipient id → queue record (fixed layout, versioned)
//! - `senders`: sender id → recipient id
//! - `messages`: recipient id ‖ sequence (u64 BE) → id ‖ accepted_at ‖ flags ‖ body
//! - `expiry`: accepted_at (u64 BE) ‖ recipient id ‖ sequence → (), so the sweep
//!   reads only what has expired, whatever TTL the relay restarted with.
//! - `links`: link id → auth key ‖ stored_at (u64 BE) ‖ blob; the sweep scans
//!   it (this backend is kept for comparison, not for many links).
//! - `chunks` and `chunk_downloads`: file chunks (see [`chunks`]).
//! - `groups`, `group_ids` and `group_entries`: group logs (see [`groups`]).

mod chunks;
mod groups;

use std::path::Path;

use redb::{
    Builder, Database, Durability, ReadableTable, Table, TableDefinition, WriteTransaction,
};
use sotto_wire::{
    DownloadId, GroupAdminId, GroupEntry, GroupReadId, GroupWriteId, LINK_BLOB_LEN, LinkBlob,
    LinkId, MessageId, QueueKey, RecipientId, SenderId, UploadId,
};

use self::chunks::{CHUNK_DOWNLOADS, CHUNKS};
use self::groups::{GROUP_ENTRIES, GROUP_IDS, GROUPS};
use super::{
    AuthKey, ChunkFile, ChunkRecord, Commit, FLAG_QUOTA_REACHED, GroupRecord, Policy, QueueRecord,
    QueueStatus, Storage, StoredMessage, WriteOp, WriteOutcome,
};
use crate::Error;

type Id = [u8; 24];
type MessageKey = [u8; 32];
type ExpiryKey = [u8; 40];

const QUEUES: TableDefinition<'_, Id, &[u8]> = TableDefinition::new("queues");
const SENDERS: TableDefinition<'_, Id, Id> = TableDefinition::new("senders");
const MESSAGES: TableDefinition<'_, MessageKey, &[u8]> = TableDefinition::new("messages");
const EXPIRY: TableDefinition<'_, ExpiryKey, ()> = TableDefinition::new("expiry");
const LINKS: TableDefinition<'_, Id, &[u8]> = TableDefinition::new("links");

/// The database file's name in the data directory.
pub const DATABASE_FILE: &str = "relay.redb";

/// The redb-backed [`Storage`].
pub struct EmbeddedStore {
    db: Database,
    policy: Policy,
}

impl EmbeddedStore {
    /// Opens (or creates) the database at `path`, caching at most `cache_bytes`
    /// of it in memory.
    pub fn open(path: &Path, policy: Policy, cache_bytes: usize) -> Result<Self, Error> {
        // redb would create the file with the umask's mode (often 0644); the
        // messages it holds are for the relay's eyes only.
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        options
            .open(path)
            .map_err(Error::io("creating the database file"))?;
        let db = Builder::new().set_cache_size(cache_bytes).create(path)?;
        let txn = db.begin_write()?;
        {
            // Creating the tables up front lets read transactions assume them.
            txn.open_table(QUEUES)?;
            txn.open_table(SENDERS)?;
            txn.open_table(MESSAGES)?;
            txn.open_table(EXPIRY)?;
            txn.open_table(LINKS)?;
            txn.open_table(CHUNKS)?;
            txn.open_table(CHUNK_DOWNLOADS)?;
            txn.open_table(GROUPS)?;
            txn.open_table(GROUP_IDS)?;
            txn.open_table(GROUP_ENTRIES)?;
        }
        txn.commit()?;
        Ok(Self { db, policy })
    }

    fn write(&self, commit: Commit) -> Result<WriteTransaction, Error> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(match commit {
            Commit::Durable => Durability::Immediate,
            Commit::Deferred => Durability::None,
        });
        Ok(txn)
    }
}

impl Storage for EmbeddedStore {
    fn queue(&self, recipient_id: &RecipientId) -> Result<Option<QueueRecord>, Error> {
        let txn = self.db.begin_read()?;
        let queues = txn.open_table(QUEUES)?;
        let record = queues.get(recipient_id.as_bytes())?;
        record.map(|bytes| decode_queue(bytes.value())).transpose()
    }

    fn queue_by_sender(
        &self,
        sender_id: &SenderId,
    ) -> Result<Option<(RecipientId, QueueRecord)>, Error> {
        let txn = self.db.begin_read()?;
        let senders = txn.open_table(SENDERS)?;
        let recipient = senders.get(sender_id.as_bytes())?;
        let queues = txn.open_table(QUEUES)?;
        let Some(recipient) = recipient else {
            // An unknown sender id costs the same two lookups as a known one
            // (the answer, ERR AUTH, must not tell them apart by its timing).
            queues.get(sender_id.as_bytes())?;
            return Ok(None);
        };
        let recipient_id = RecipientId::from_bytes(recipient.value());
        let record = queues.get(recipient_id.as_bytes())?;
        Ok(match record {
            Some(bytes) => Some((recipient_id, decode_queue(bytes.value())?)),
            None => None,
        })
    }

    fn delivery(
        &self,
        recipient_id: &RecipientId,
        now: u64,
    ) -> Result<Option<(QueueKey, StoredMessage)>, Error> {
        let txn = self.db.begin_read()?;
        let Some(message) =
            first_unexpired(&txn.open_table(MESSAGES)?, recipient_id, self.policy, now)?
        else {
            return Ok(None);
        };
        let queues = txn.open_table(QUEUES)?;
        let Some(record) = queues.get(recipient_id.as_bytes())? else {
            return Ok(None);
        };
        Ok(Some((decode_queue(record.value())?.queue_key, message)))
    }

    fn first_message(
        &self,
        recipient_id: &RecipientId,
        now: u64,
    ) -> Result<Option<StoredMessage>, Error> {
        let txn = self.db.begin_read()?;
        first_unexpired(&txn.open_table(MESSAGES)?, recipient_id, self.policy, now)
    }

    fn apply(&self, ops: &[WriteOp], now: u64, commit: Commit) -> Result<Vec<WriteOutcome>, Error> {
        let txn = self.write(commit)?;
        let outcomes = {
            let mut tables = Tables::open(&txn, self.policy)?;
            ops.iter()
                .map(|op| tables.apply(op, now))
                .collect::<Result<Vec<_>, Error>>()?
        };
        txn.commit()?;
        Ok(outcomes)
    }

    fn link_key(&self, link_id: &LinkId, now: u64) -> Result<Option<AuthKey>, Error> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(LINKS)?;
        let Some(value) = table.get(link_id.as_bytes())? else {
            return Ok(None);
        };
        Ok(decode_link(value.value(), self.policy, now)?.map(|(key, _)| key))
    }

    fn link_blob(&self, link_id: &LinkId, now: u64) -> Result<Option<LinkBlob>, Error> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(LINKS)?;
        let Some(value) = table.get(link_id.as_bytes())? else {
            return Ok(None);
        };
        decode_link(value.value(), self.policy, now)?
            .map(|(_, blob)| LinkBlob::new(blob.to_vec()))
            .transpose()
            .map_err(|_| Error::Storage("a stored link blob has the wrong size".into()))
    }

    fn chunk(&self, upload_id: &UploadId, now: u64) -> Result<Option<ChunkRecord>, Error> {
        chunks::chunk(&self.db, &self.policy, upload_id, now)
    }

    fn chunk_by_download(
        &self,
        download_id: &DownloadId,
        now: u64,
    ) -> Result<Option<ChunkRecord>, Error> {
        chunks::chunk_by_download(&self.db, &self.policy, download_id, now)
    }

    fn chunks(&self) -> Result<Vec<ChunkRecord>, Error> {
        chunks::all(&self.db)
    }

    fn expire_chunks(&self, now: u64) -> Result<Vec<ChunkFile>, Error> {
        let txn = self.write(Commit::Durable)?;
        let files = Tables::open(&txn, self.policy)?.expire_chunks(now)?;
        txn.commit()?;
        Ok(files)
    }

    fn group_by_admin(
        &self,
        admin_id: &GroupAdminId,
        now: u64,
    ) -> Result<Option<GroupRecord>, Error> {
        groups::record(&self.db, &self.policy, Some(*admin_id), now)
    }

    fn group_by_write(
        &self,
        write_id: &GroupWriteId,
        now: u64,
    ) -> Result<Option<GroupRecord>, Error> {
        let admin_id = groups::admin_of(&self.db, write_id.as_bytes())?;
        let record = groups::record(&self.db, &self.policy, admin_id, now)?;
        Ok(record.filter(|record| record.ids.write_id == *write_id))
    }

    fn group_by_read(&self, read_id: &GroupReadId, now: u64) -> Result<Option<GroupRecord>, Error> {
        let admin_id = groups::admin_of(&self.db, read_id.as_bytes())?;
        let record = groups::record(&self.db, &self.policy, admin_id, now)?;
        Ok(record.filter(|record| record.ids.read_id == *read_id))
    }

    fn group_entry(
        &self,
        read_id: &GroupReadId,
        seq: u64,
        now: u64,
    ) -> Result<Option<GroupEntry>, Error> {
        let admin_id = groups::admin_of(&self.db, read_id.as_bytes())?;
        let Some(record) = groups::record(&self.db, &self.policy, admin_id, now)? else {
            return Ok(None);
        };
        if record.ids.read_id != *read_id {
            return Ok(None);
        }
        groups::entry(&self.db, &self.policy, admin_id, seq, now)
    }

    fn sync(&self) -> Result<(), Error> {
        // An empty durable commit persists every deferred one before it.
        self.write(Commit::Durable)?.commit()?;
        Ok(())
    }

    fn expire(&self, now: u64, limit: usize) -> Result<u64, Error> {
        let cutoff = self.policy.expiry_cutoff(now);
        let mut end: ExpiryKey = [0; 40];
        end[..8].copy_from_slice(&cutoff.to_be_bytes());
        let txn = self.write(Commit::Durable)?;
        let mut expired = 0;
        {
            let mut tables = Tables::open(&txn, self.policy)?;
            let keys = tables
                .expiry
                .range(..end)?
                .take(limit)
                .map(|entry| entry.map(|(key, _)| key.value()))
                .collect::<Result<Vec<ExpiryKey>, _>>()?;
            for key in keys {
                tables.expiry.remove(key)?;
                let mut recipient = [0; 24];
                recipient.copy_from_slice(&key[8..32]);
                let mut seq = [0; 8];
                seq.copy_from_slice(&key[32..]);
                let recipient_id = RecipientId::from_bytes(recipient);
                if tables.remove_message(&recipient_id, u64::from_be_bytes(seq))? {
                    expired += 1;
                }
            }
            let mut expired_links = Vec::new();
            for entry in tables.links.iter()? {
                let (id, value) = entry?;
                if decode_link(value.value(), self.policy, now)?.is_none() {
                    expired_links.push(id.value());
                }
            }
            for id in expired_links {
                tables.links.remove(id)?;
            }
            tables.expire_groups(now)?;
        }
        txn.commit()?;
        Ok(expired)
    }
}

/// Bytes of a `links` value: auth key, stored_at, blob.
const LINK_VALUE_LEN: usize = 32 + 8 + LINK_BLOB_LEN;

/// A `links` value's key and blob, or `None` if it has expired at `now`.
fn decode_link(value: &[u8], policy: Policy, now: u64) -> Result<Option<(AuthKey, &[u8])>, Error> {
    let damaged = || Error::Storage("a stored link has the wrong size".into());
    if value.len() != LINK_VALUE_LEN {
        return Err(damaged());
    }
    let (key, rest) = value.split_first_chunk::<32>().ok_or_else(damaged)?;
    let (stored_at, blob) = rest.split_first_chunk::<8>().ok_or_else(damaged)?;
    if policy.is_expired(u64::from_be_bytes(*stored_at), now) {
        return Ok(None);
    }
    Ok(Some((AuthKey::from_bytes(*key), blob)))
}

/// The open tables of one write transaction.
struct Tables<'txn> {
    queues: Table<'txn, Id, &'static [u8]>,
    senders: Table<'txn, Id, Id>,
    messages: Table<'txn, MessageKey, &'static [u8]>,
    expiry: Table<'txn, ExpiryKey, ()>,
    links: Table<'txn, Id, &'static [u8]>,
    chunks: Table<'txn, Id, &'static [u8]>,
    chunk_downloads: Table<'txn, Id, Id>,
    groups: Table<'txn, Id, &'static [u8]>,
    group_ids: Table<'txn, Id, Id>,
    group_entries: Table<'txn, [u8; 32], &'static [u8]>,
    policy: Policy,
}

impl<'txn> Tables<'txn> {
    fn open(txn: &'txn WriteTransaction, policy: Policy) -> Result<Self, Error> {
        Ok(Self {
            queues: txn.open_table(QUEUES)?,
            senders: txn.open_table(SENDERS)?,
            messages: txn.open_table(MESSAGES)?,
            expiry: txn.open_table(EXPIRY)?,
            links: txn.open_table(LINKS)?,
            chunks: txn.open_table(CHUNKS)?,
            chunk_downloads: txn.open_table(CHUNK_DOWNLOADS)?,
            groups: txn.open_table(GROUPS)?,
            group_ids: txn.open_table(GROUP_IDS)?,
            group_entries: txn.open_table(GROUP_ENTRIES)?,
            policy,
        })
    }

    fn apply(&mut self, op: &WriteOp, now: u64) -> Result<WriteOutcome, Error> {
        match op {
            WriteOp::CreateQueue {
                recipient_id,
                record,
            } => self.create(recipient_id, record),
            WriteOp::SecureQueue {
                recipient_id,
                sender_key,
            } => self.secure(recipient_id, sender_key),
            WriteOp::Send {
                sender_id,
                message,
                marker_id,
            } => self.send(sender_id, message, marker_id),
            WriteOp::Ack {
                recipient_id,
                message_id,
            } => self.ack(recipient_id, message_id, now),
            WriteOp::Suspend { recipient_id } => {
                let Some(mut record) = self.queue(recipient_id)? else {
                    return Ok(WriteOutcome::Refused);
                };
                record.status = QueueStatus::Suspended;
                self.put_queue(recipient_id, &record)?;
                Ok(WriteOutcome::Done)
            }
            WriteOp::Delete { recipient_id } => self.delete(recipient_id),
            WriteOp::CreateLink {
                link_id,
                auth_key,
                blob,
            } => {
                let id = link_id.as_bytes();
                if self.links.get(id)?.is_some()
                    || self.chunks.get(id)?.is_some()
                    || self.chunk_downloads.get(id)?.is_some()
                    || self.queues.get(id)?.is_some()
                    || self.senders.get(id)?.is_some()
                {
                    return Ok(WriteOutcome::IdTaken);
                }
                self.put_link(link_id, auth_key, now, blob)
            }
            WriteOp::SetLink { link_id, blob } => {
                let auth_key = match self.links.get(link_id.as_bytes())? {
                    Some(value) => {
                        decode_link(value.value(), self.policy, now)?.map(|(key, _)| key)
                    }
                    None => None,
                };
                match auth_key {
                    Some(auth_key) => self.put_link(link_id, &auth_key, now, blob),
                    None => Ok(WriteOutcome::Refused),
                }
            }
            WriteOp::DeleteLink { link_id } => {
                let live = match self.links.remove(link_id.as_bytes())? {
                    Some(value) => decode_link(value.value(), self.policy, now)?.is_some(),
                    None => false,
                };
                Ok(if live {
                    WriteOutcome::Done
                } else {
                    WriteOutcome::Refused
                })
            }
            WriteOp::CreateChunk { upload_id, record } => self.create_chunk(upload_id, record),
            WriteOp::CompleteChunk { upload_id } => self.complete_chunk(upload_id, now),
            WriteOp::DeleteChunk { upload_id } => self.delete_chunk(upload_id, now),
            WriteOp::AckChunk { download_id } => self.ack_chunk(download_id, now),
            WriteOp::CreateGroup { ids, keys } => self.create_group(ids, keys, now),
            WriteOp::AppendGroup {
                write_id,
                write_key,
                entry,
            } => self.append_group(write_id, write_key, entry, now),
            WriteOp::RekeyGroup {
                admin_id,
                write_key,
                read_key,
            } => self.rekey_group(admin_id, *write_key, *read_key, now),
            WriteOp::DeleteGroup { admin_id } => self.delete_group(admin_id, now),
        }
    }

    fn put_link(
        &mut self,
        link_id: &LinkId,
        auth_key: &AuthKey,
        now: u64,
        blob: &LinkBlob,
    ) -> Result<WriteOutcome, Error> {
        let mut value = Vec::with_capacity(LINK_VALUE_LEN);
        value.extend_from_slice(auth_key.as_bytes());
        value.extend_from_slice(&now.to_be_bytes());
        value.extend_from_slice(blob.as_bytes());
        self.links.insert(link_id.as_bytes(), value.as_slice())?;
        Ok(WriteOutcome::Done)
    }

    fn queue(&self, recipient_id: &RecipientId) -> Result<Option<QueueRecord>, Error> {
        let record = self.queues.get(recipient_id.as_bytes())?;
        record.map(|bytes| decode_queue(bytes.value())).transpose()
    }

    fn put_queue(&mut self, recipient_id: &RecipientId, record: &QueueRecord) -> Result<(), Error> {
        self.queues
            .insert(recipient_id.as_bytes(), encode_queue(record).as_slice())?;
        Ok(())
    }

    fn create(
        &mut self,
        recipient_id: &RecipientId,
        record: &QueueRecord,
    ) -> Result<WriteOutcome, Error> {
        if self.queues.get(recipient_id.as_bytes())?.is_some()
            || self.senders.get(record.sender_id.as_bytes())?.is_some()
        {
            return Ok(WriteOutcome::IdTaken);
        }
        self.put_queue(recipient_id, record)?;
        self.senders
            .insert(record.sender_id.as_bytes(), recipient_id.as_bytes())?;
        Ok(WriteOutcome::Done)
    }

    fn secure(
        &mut self,
        recipient_id: &RecipientId,
        sender_key: &AuthKey,
    ) -> Result<WriteOutcome, Error> {
        let Some(mut record) = self.queue(recipient_id)? else {
            return Ok(WriteOutcome::Refused);
        };
        match record.sender_key {
            Some(existing) if existing == *sender_key => Ok(WriteOutcome::Done),
            Some(_) => Ok(WriteOutcome::Refused),
            None => {
                record.sender_key = Some(*sender_key);
                self.put_queue(recipient_id, &record)?;
                Ok(WriteOutcome::Done)
            }
        }
    }

    fn send(
        &mut self,
        sender_id: &SenderId,
        message: &StoredMessage,
        marker_id: &MessageId,
    ) -> Result<WriteOutcome, Error> {
        let Some(recipient) = self.senders.get(sender_id.as_bytes())?.map(|id| id.value()) else {
            return Ok(WriteOutcome::Refused);
        };
        let recipient_id = RecipientId::from_bytes(recipient);
        let Some(mut record) = self.queue(&recipient_id)? else {
            return Ok(WriteOutcome::Refused);
        };
        if record.status != QueueStatus::Active {
            return Ok(WriteOutcome::Refused);
        }
        if record.pending >= self.policy.queue_quota {
            let marker_added = !record.quota_marker;
            if marker_added {
                let marker = StoredMessage {
                    id: *marker_id,
                    accepted_at: message.accepted_at,
                    flags: FLAG_QUOTA_REACHED,
                    body: bytes::Bytes::new(),
                };
                self.append(&recipient_id, &mut record, &marker)?;
                record.quota_marker = true;
                self.put_queue(&recipient_id, &record)?;
            }
            return Ok(WriteOutcome::QuotaExceeded {
                recipient_id,
                marker_added,
            });
        }
        self.append(&recipient_id, &mut record, message)?;
        record.pending = record.pending.saturating_add(1);
        self.put_queue(&recipient_id, &record)?;
        Ok(WriteOutcome::Sent(recipient_id))
    }

    fn append(
        &mut self,
        recipient_id: &RecipientId,
        record: &mut QueueRecord,
        message: &StoredMessage,
    ) -> Result<(), Error> {
        let seq = record.next_seq;
        record.next_seq = seq.saturating_add(1);
        // Written in place in the page: no intermediate copy of the 16 KB body.
        let len = u32::try_from(MESSAGE_HEADER_LEN + message.body.len())
            .map_err(|_| Error::CorruptRecord { table: "messages" })?;
        let mut value = self
            .messages
            .insert_reserve(message_key(recipient_id, seq), len)?;
        encode_message_into(message, value.as_mut());
        drop(value);
        self.expiry
            .insert(expiry_key(message.accepted_at, recipient_id, seq), ())?;
        Ok(())
    }

    fn ack(
        &mut self,
        recipient_id: &RecipientId,
        message_id: &MessageId,
        now: u64,
    ) -> Result<WriteOutcome, Error> {
        if self.queues.get(recipient_id.as_bytes())?.is_none() {
            return Ok(WriteOutcome::Refused);
        }
        let mut first = None;
        for entry in self.messages.range(queue_range(recipient_id))? {
            let (key, value) = entry?;
            let message = decode_header(value.value())?;
            if !self.policy.is_expired(message.accepted_at, now) {
                first = Some((key.value(), message));
                break;
            }
        }
        let Some((key, message)) = first else {
            return Ok(WriteOutcome::NoMessage);
        };
        if message.id != *message_id {
            return Ok(WriteOutcome::NoMessage);
        }
        let seq = seq_of(&key);
        self.expiry
            .remove(expiry_key(message.accepted_at, recipient_id, seq))?;
        self.remove_message(recipient_id, seq)?;
        Ok(WriteOutcome::Done)
    }

    /// Removes one message and updates its queue's counters; `false` if it was
    /// already gone. The caller removes the expiry entry.
    fn remove_message(&mut self, recipient_id: &RecipientId, seq: u64) -> Result<bool, Error> {
        let Some(removed) = self.messages.remove(message_key(recipient_id, seq))? else {
            return Ok(false);
        };
        let message = decode_header(removed.value())?;
        drop(removed);
        if let Some(mut record) = self.queue(recipient_id)? {
            if message.flags & FLAG_QUOTA_REACHED != 0 {
                record.quota_marker = false;
            } else {
                record.pending = record.pending.saturating_sub(1);
            }
            self.put_queue(recipient_id, &record)?;
        }
        Ok(true)
    }

    fn delete(&mut self, recipient_id: &RecipientId) -> Result<WriteOutcome, Error> {
        let Some(record) = self.queue(recipient_id)? else {
            return Ok(WriteOutcome::Refused);
        };
        let stored = self
            .messages
            .range(queue_range(recipient_id))?
            .map(|entry| {
                let (key, value) = entry?;
                Ok((
                    seq_of(&key.value()),
                    decode_header(value.value())?.accepted_at,
                ))
            })
            .collect::<Result<Vec<(u64, u64)>, Error>>()?;
        for (seq, accepted_at) in stored {
            self.messages.remove(message_key(recipient_id, seq))?;
            self.expiry
                .remove(expiry_key(accepted_at, recipient_id, seq))?;
        }
        self.senders.remove(record.sender_id.as_bytes())?;
        self.queues.remove(recipient_id.as_bytes())?;
        Ok(WriteOutcome::Done)
    }
}

fn first_unexpired(
    messages: &impl ReadableTable<MessageKey, &'static [u8]>,
    recipient_id: &RecipientId,
    policy: Policy,
    now: u64,
) -> Result<Option<StoredMessage>, Error> {
    for entry in messages.range(queue_range(recipient_id))? {
        let (_, value) = entry?;
        let message = decode_message(value.value())?;
        if !policy.is_expired(message.accepted_at, now) {
            return Ok(Some(message));
        }
    }
    Ok(None)
}

fn message_key(recipient_id: &RecipientId, seq: u64) -> MessageKey {
    let mut key = [0; 32];
    key[..24].copy_from_slice(recipient_id.as_bytes());
    key[24..].copy_from_slice(&seq.to_be_bytes());
    key
}

fn seq_of(key: &MessageKey) -> u64 {
    let mut seq = [0; 8];
    seq.copy_from_slice(&key[24..]);
    u64::from_be_bytes(seq)
}

fn queue_range(recipient_id: &RecipientId) -> std::ops::RangeInclusive<MessageKey> {
    message_key(recipient_id, 0)..=message_key(recipient_id, u64::MAX)
}

fn expiry_key(accepted_at: u64, recipient_id: &RecipientId, seq: u64) -> ExpiryKey {
    let mut key = [0; 40];
    key[..8].copy_from_slice(&accepted_at.to_be_bytes());
    key[8..32].copy_from_slice(recipient_id.as_bytes());
    key[32..].copy_from_slice(&seq.to_be_bytes());
    key
}

const QUEUE_RECORD_VERSION: u8 = 1;
const QUEUE_RECORD_LEN: usize = 1 + 32 + 24 + 1 + 32 + 1 + 32 + 4 + 1 + 8;

fn encode_queue(record: &QueueRecord) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(QUEUE_RECORD_LEN);
    bytes.push(QUEUE_RECORD_VERSION);
    bytes.extend_from_slice(record.recipient_key.as_bytes());
    bytes.extend_from_slice(record.sender_id.as_bytes());
    match &record.sender_key {
        Some(key) => {
            bytes.push(1);
            bytes.extend_from_slice(key.as_bytes());
        }
        None => {
            bytes.push(0);
            bytes.extend_from_slice(&[0; 32]);
        }
    }
    bytes.push(match record.status {
        QueueStatus::Active => 0,
        QueueStatus::Suspended => 1,
    });
    bytes.extend_from_slice(record.queue_key.as_bytes());
    bytes.extend_from_slice(&record.pending.to_be_bytes());
    bytes.push(u8::from(record.quota_marker));
    bytes.extend_from_slice(&record.next_seq.to_be_bytes());
    bytes
}

fn decode_queue(bytes: &[u8]) -> Result<QueueRecord, Error> {
    let corrupt = || Error::CorruptRecord { table: "queues" };
    if bytes.len() != QUEUE_RECORD_LEN || bytes[0] != QUEUE_RECORD_VERSION {
        return Err(corrupt());
    }
    let mut rest = &bytes[1..];
    let recipient_key = AuthKey::from_bytes(take::<32>(&mut rest));
    let sender_id = SenderId::from_bytes(take::<24>(&mut rest));
    let [has_sender_key] = take::<1>(&mut rest);
    let sender_key_bytes = take::<32>(&mut rest);
    let sender_key = match has_sender_key {
        0 => None,
        1 => Some(AuthKey::from_bytes(sender_key_bytes)),
        _ => return Err(corrupt()),
    };
    let status = match take::<1>(&mut rest) {
        [0] => QueueStatus::Active,
        [1] => QueueStatus::Suspended,
        _ => return Err(corrupt()),
    };
    let queue_key = QueueKey::from_bytes(take::<32>(&mut rest));
    let pending = u32::from_be_bytes(take::<4>(&mut rest));
    let quota_marker = match take::<1>(&mut rest) {
        [0] => false,
        [1] => true,
        _ => return Err(corrupt()),
    };
    let next_seq = u64::from_be_bytes(take::<8>(&mut rest));
    Ok(QueueRecord {
        recipient_key,
        sender_id,
        sender_key,
        status,
        queue_key,
        pending,
        quota_marker,
        next_seq,
    })
}

const MESSAGE_HEADER_LEN: usize = 24 + 8 + 1;

/// Writes `message` into `out`, reserved in its page at exactly
/// `MESSAGE_HEADER_LEN` plus the body's length (so neither copy can panic).
fn encode_message_into(message: &StoredMessage, out: &mut [u8]) {
    let mut header = [0u8; MESSAGE_HEADER_LEN];
    header[..24].copy_from_slice(message.id.as_bytes());
    header[24..32].copy_from_slice(&message.accepted_at.to_be_bytes());
    header[32] = message.flags;
    let (head, body) = out.split_at_mut(MESSAGE_HEADER_LEN);
    head.copy_from_slice(&header);
    body.copy_from_slice(&message.body);
}

fn decode_message(bytes: &[u8]) -> Result<StoredMessage, Error> {
    let header = decode_header(bytes)?;
    Ok(StoredMessage {
        id: header.id,
        accepted_at: header.accepted_at,
        flags: header.flags,
        body: bytes
            .get(MESSAGE_HEADER_LEN..)
            .unwrap_or_default()
            .to_vec()
            .into(),
    })
}

/// What a stored message says about itself, without its body: what ACK,
/// removal and deletion need, so that they do not copy 16 KB bodies.
struct MessageHeader {
    id: MessageId,
    accepted_at: u64,
    flags: u8,
}

fn decode_header(bytes: &[u8]) -> Result<MessageHeader, Error> {
    if bytes.len() < MESSAGE_HEADER_LEN {
        return Err(Error::CorruptRecord { table: "messages" });
    }
    let mut rest = bytes;
    let id = MessageId::from_bytes(take::<24>(&mut rest));
    let accepted_at = u64::from_be_bytes(take::<8>(&mut rest));
    let [flags] = take::<1>(&mut rest);
    Ok(MessageHeader {
        id,
        accepted_at,
        flags,
    })
}

/// Takes `N` bytes off the front of `rest`. Callers check the total length first,
/// so a short slice here is a bug; it yields zeros rather than a panic.
fn take<const N: usize>(rest: &mut &[u8]) -> [u8; N] {
    let mut out = [0; N];
    if let Some((head, tail)) = rest.split_first_chunk::<N>() {
        out = *head;
        *rest = tail;
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::store::conformance::{self, suite};

    fn open(dir: &Path) -> Box<dyn Storage> {
        Box::new(
            EmbeddedStore::open(&dir.join(DATABASE_FILE), conformance::policy(), 1 << 20).unwrap(),
        )
    }

    suite!(open);

    #[test]
    fn queue_record_round_trips() {
        let mut queue = QueueRecord {
            recipient_key: AuthKey::from_bytes([1; 32]),
            sender_id: SenderId::from_bytes([2; 24]),
            sender_key: Some(AuthKey::from_bytes([3; 32])),
            status: QueueStatus::Suspended,
            queue_key: QueueKey::from_bytes([9; 32]),
            pending: 77,
            quota_marker: true,
            next_seq: 1 << 40,
        };
        let decoded = decode_queue(&encode_queue(&queue)).unwrap();
        assert_eq!(encode_queue(&decoded), encode_queue(&queue));
        assert!(decode_queue(&encode_queue(&queue)[1..]).is_err());
        let mut bad_status = encode_queue(&queue);
        bad_status[1 + 32 + 24 + 1 + 32] = 9;
        assert!(decode_queue(&bad_status).is_err());
        assert!(decode_message(&[0; 10]).is_err());
        queue.sender_key = None;
        assert!(
            decode_queue(&encode_queue(&queue))
                .unwrap()
                .sender_key
                .is_none()
        );
    }
}
