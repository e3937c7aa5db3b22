//! Durable storage of queues, their messages, link blobs, and the index of
//! file chunks (their bytes live in the chunk directory).
//!
//! - [`Storage`]: the trait every backend implements (PostgreSQL fits behind the
//!   same trait later). Reads are direct; all writes go through
//!   [`Storage::apply`], one durable transaction per batch.
//! - [`log`]: the default backend, append-only segment files and an index in
//!   memory (one write and one fdatasync per batch).
//! - [`embedded`]: the redb backend, one file in the data directory, kept to
//!   compare the two.
//! - [`chunk`]: what the store keeps of a file chunk.
//! - [`group_log`]: what the store keeps of a group log.
//! - [`group_commit`]: the single writer task that batches concurrent writes into
//!   one transaction and one fsync.
//!
//! Time is passed in as unix seconds, so expiry is testable without a clock.

pub mod chunk;
pub mod embedded;
pub mod group_commit;
pub mod group_log;
pub mod log;

#[cfg(test)]
mod conformance;

use bytes::Bytes;
use sotto_wire::{
    DownloadId, GroupAdminId, GroupEntry, GroupReadId, GroupWriteId, LinkBlob, LinkId, MessageId,
    QueueAuthKey, QueueKey, RecipientId, SenderId, UploadId,
};

pub use self::chunk::{ChunkFile, ChunkRecord};
pub use self::group_log::{GroupIds, GroupKeys, GroupRecord};

use crate::Error;

/// A queue's X25519 auth key as stored (opaque 32 bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AuthKey([u8; 32]);

impl AuthKey {
    /// The key with these bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The key's bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key as the wire protocol names it.
    pub const fn queue_auth_key(&self) -> QueueAuthKey {
        QueueAuthKey::from_bytes(self.0)
    }
}

impl From<QueueAuthKey> for AuthKey {
    fn from(key: QueueAuthKey) -> Self {
        Self(*key.as_bytes())
    }
}

impl std::fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys stay out of logs.
        f.write_str("AuthKey(..)")
    }
}

/// A queue's stored state.
#[derive(Clone)]
pub struct QueueRecord {
    /// Key that authorizes the recipient's commands.
    pub recipient_key: AuthKey,
    /// The id senders use for this queue.
    pub sender_id: SenderId,
    /// Key that authorizes sends once the queue is secured (KEY).
    pub sender_key: Option<AuthKey>,
    /// Whether sends are accepted.
    pub status: QueueStatus,
    /// Key that seals delivered messages to the recipient.
    pub queue_key: QueueKey,
    /// Messages waiting, not counting a QUOTA_REACHED marker.
    pub pending: u32,
    /// A QUOTA_REACHED marker is waiting in the queue (at most one at a time).
    pub quota_marker: bool,
    /// Sequence number of the next message, which orders the queue.
    pub next_seq: u64,
}

/// Whether a queue accepts messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueStatus {
    /// Sends are accepted.
    Active,
    /// Suspended by its recipient (OFF): sends fail, pending messages can be read.
    Suspended,
}

/// One stored message, as the relay accepted it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMessage {
    /// Random id, also the sealing nonce.
    pub id: MessageId,
    /// When the relay accepted it, unix seconds.
    pub accepted_at: u64,
    /// Message flags (bit 0: QUOTA_REACHED marker).
    pub flags: u8,
    /// The sender's opaque body (empty for a marker); shared, not copied,
    /// when it is read from the log's tail in memory.
    pub body: Bytes,
}

/// The flag of a QUOTA_REACHED marker message.
pub const FLAG_QUOTA_REACHED: u8 = 0x01;

/// A change to the store. Ops of one batch apply in order, in one transaction.
#[derive(Clone)]
pub enum WriteOp {
    /// Creates a queue (NEW).
    CreateQueue {
        /// The new queue's recipient id.
        recipient_id: RecipientId,
        /// Its initial record.
        record: Box<QueueRecord>,
    },
    /// Sets the sender key (KEY); idempotent for the same key.
    SecureQueue {
        /// The queue.
        recipient_id: RecipientId,
        /// The sender's key.
        sender_key: AuthKey,
    },
    /// Appends a message (SEND).
    Send {
        /// The queue, as the sender names it.
        sender_id: SenderId,
        /// The message to append.
        message: StoredMessage,
        /// The id of the QUOTA_REACHED marker, should the send exceed the quota.
        marker_id: MessageId,
    },
    /// Deletes the queue's first message if it has this id (ACK).
    Ack {
        /// The queue.
        recipient_id: RecipientId,
        /// The message delivered.
        message_id: MessageId,
    },
    /// Suspends the queue (OFF).
    Suspend {
        /// The queue.
        recipient_id: RecipientId,
    },
    /// Deletes the queue and its messages (DEL).
    Delete {
        /// The queue.
        recipient_id: RecipientId,
    },
    /// Stores a new link blob (LNEW).
    CreateLink {
        /// The new link's id.
        link_id: LinkId,
        /// Key that authorizes LSET and LDEL.
        auth_key: AuthKey,
        /// The blob.
        blob: Box<LinkBlob>,
    },
    /// Replaces a link's blob (LSET); the link's expiry starts again.
    SetLink {
        /// The link.
        link_id: LinkId,
        /// The new blob.
        blob: Box<LinkBlob>,
    },
    /// Deletes a link (LDEL).
    DeleteLink {
        /// The link.
        link_id: LinkId,
    },
    /// Records a new file chunk (FNEW); its file exists already.
    CreateChunk {
        /// The new chunk's upload id.
        upload_id: UploadId,
        /// Its state: not complete, with its download ids.
        record: Box<ChunkRecord>,
    },
    /// Marks a chunk complete (its last FPUT, once its file is synced); its
    /// expiry starts again.
    CompleteChunk {
        /// The chunk.
        upload_id: UploadId,
    },
    /// Deletes a chunk and its download ids (FDEL).
    DeleteChunk {
        /// The chunk.
        upload_id: UploadId,
    },
    /// Removes one recipient's download id (FACK); a complete chunk whose
    /// last recipient acknowledges it is deleted.
    AckChunk {
        /// The recipient's id for the chunk.
        download_id: DownloadId,
    },
    /// Creates a group log (GNEW).
    CreateGroup {
        /// Its ids.
        ids: GroupIds,
        /// Its keys.
        keys: GroupKeys,
    },
    /// Appends an entry to a group log (GAPP); the store gives it the log's
    /// next sequence number.
    AppendGroup {
        /// The log, as its writers name it.
        write_id: GroupWriteId,
        /// The write key that authorized the GAPP: a log rekeyed since
        /// refuses the entry.
        write_key: AuthKey,
        /// The entry.
        entry: GroupEntry,
    },
    /// Replaces a group log's write and read keys (GKEY).
    RekeyGroup {
        /// The log.
        admin_id: GroupAdminId,
        /// The new write key.
        write_key: AuthKey,
        /// The new read key.
        read_key: AuthKey,
    },
    /// Deletes a group log and its entries (GDEL).
    DeleteGroup {
        /// The log.
        admin_id: GroupAdminId,
    },
}

impl WriteOp {
    /// Whether the op must be on disk before it is answered. An ACK need not: if
    /// it is lost in a crash the message is delivered again (at-least-once).
    pub fn needs_fsync(&self) -> bool {
        !matches!(self, WriteOp::Ack { .. })
    }

    /// The bytes of message, blob or entry the op carries: most of what its
    /// records take, for a store to make room before it encodes a batch.
    pub fn payload_len(&self) -> usize {
        match self {
            WriteOp::Send { message, .. } => message.body.len(),
            WriteOp::CreateLink { .. } | WriteOp::SetLink { .. } => sotto_wire::LINK_BLOB_LEN,
            WriteOp::AppendGroup { .. } => sotto_wire::GROUP_ENTRY_LEN,
            _ => 0,
        }
    }
}

/// How a batch of writes is committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Commit {
    /// On disk (fsync) before [`Storage::apply`] returns.
    Durable,
    /// Visible at once, on disk with the next durable commit or [`Storage::sync`].
    Deferred,
}

/// What [`Storage::apply_now`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The op's outcome, as [`Storage::apply`] would give it.
    pub outcome: WriteOutcome,
    /// Nothing else was waiting to be written: someone must make sure it is,
    /// within [`group_commit::SYNC_DELAY`].
    pub first_unwritten: bool,
}

/// What one [`WriteOp`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Done (for SEND: the message is durable).
    Done,
    /// The message was stored in the queue of this recipient id.
    Sent(RecipientId),
    /// No such queue, a suspended queue for a send, or a different sender key
    /// for KEY: all answered AUTH.
    Refused,
    /// The queue is full; a marker may have been appended.
    QuotaExceeded {
        /// The queue that is full.
        recipient_id: RecipientId,
        /// Whether this send appended the QUOTA_REACHED marker.
        marker_added: bool,
    },
    /// The message id is not the queue's first message.
    NoMessage,
    /// The new queue's ids are already taken (astronomically unlikely).
    IdTaken,
    /// The relay's storage budget (`--max-storage`) is used up: no new queue or
    /// message until space is reclaimed.
    StorageFull,
    /// The chunk is gone from the store: its file may be deleted.
    ChunkRemoved(ChunkFile),
    /// The entry was appended to the log of this read id with this sequence
    /// number.
    Appended {
        /// The log, as its readers name it.
        read_id: GroupReadId,
        /// The entry's sequence number.
        seq: u64,
    },
    /// The log of this read id was rekeyed or deleted: its subscriptions end.
    GroupEnded(GroupReadId),
}

/// Limits a store enforces.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// Pending messages per queue.
    pub queue_quota: u32,
    /// Seconds a message is kept, and a link blob after its last LNEW or LSET.
    pub message_ttl_secs: u64,
    /// Seconds a file chunk is kept after its FNEW, and again after its
    /// upload completes.
    pub file_ttl_secs: u64,
    /// Seconds a group log entry is kept after its GAPP, and a group log
    /// after its last GNEW, GKEY or GAPP.
    pub group_ttl_secs: u64,
}

impl Policy {
    /// Whether a message accepted at `accepted_at` has expired at `now`.
    pub fn is_expired(&self, accepted_at: u64, now: u64) -> bool {
        accepted_at.saturating_add(self.message_ttl_secs) <= now
    }

    /// Whether a chunk created or completed at `since` has expired at `now`.
    pub fn is_chunk_expired(&self, since: u64, now: u64) -> bool {
        since.saturating_add(self.file_ttl_secs) <= now
    }

    /// Whether a group log entry appended, or a log last active, at `since`
    /// has expired at `now`.
    pub fn is_group_expired(&self, since: u64, now: u64) -> bool {
        since.saturating_add(self.group_ttl_secs) <= now
    }

    /// Messages accepted before this instant have expired at `now`.
    pub fn expiry_cutoff(&self, now: u64) -> u64 {
        now.saturating_sub(self.message_ttl_secs).saturating_add(1)
    }
}

/// A queue store. Implementations are shared between connection tasks (reads) and
/// the single group-commit writer (writes).
pub trait Storage: Send + Sync + 'static {
    /// The queue with this recipient id.
    fn queue(&self, recipient_id: &RecipientId) -> Result<Option<QueueRecord>, Error>;

    /// The queue with this sender id, with its recipient id.
    fn queue_by_sender(
        &self,
        sender_id: &SenderId,
    ) -> Result<Option<(RecipientId, QueueRecord)>, Error>;

    /// The queue's oldest message that has not expired at `now`, with the key
    /// that seals it, read together.
    fn delivery(
        &self,
        recipient_id: &RecipientId,
        now: u64,
    ) -> Result<Option<(QueueKey, StoredMessage)>, Error>;

    /// The queue's oldest message that has not expired at `now`.
    fn first_message(
        &self,
        recipient_id: &RecipientId,
        now: u64,
    ) -> Result<Option<StoredMessage>, Error>;

    /// Applies `ops` in order in one transaction, durable (fsync) before returning
    /// if `commit` says so. One outcome per op; an `Err` means nothing was
    /// applied.
    fn apply(&self, ops: &[WriteOp], now: u64, commit: Commit) -> Result<Vec<WriteOutcome>, Error>;

    /// Applies `op` at once, without waiting for the group-commit writer, if
    /// it needs no fsync ([`WriteOp::needs_fsync`]) and the store can decide
    /// and encode it without I/O: like a [`Commit::Deferred`] commit, it is
    /// visible at once, and its records reach the disk with a later batch or
    /// [`Storage::sync`]. `None`: hand it to the writer.
    fn apply_now(&self, _op: &WriteOp, _now: u64) -> Option<Result<Applied, Error>> {
        None
    }

    /// The key that authorizes changes to the link, if the link exists and
    /// has not expired at `now`. Reads no blob, so that a refused LSET or LDEL
    /// costs the same whether the link exists or not.
    fn link_key(&self, link_id: &LinkId, now: u64) -> Result<Option<AuthKey>, Error>;

    /// The link's blob, if the link exists and has not expired at `now`.
    fn link_blob(&self, link_id: &LinkId, now: u64) -> Result<Option<LinkBlob>, Error>;

    /// The chunk, if it exists and has not expired at `now`.
    fn chunk(&self, upload_id: &UploadId, now: u64) -> Result<Option<ChunkRecord>, Error>;

    /// The chunk one of whose download ids this is, if it exists and has not
    /// expired at `now`.
    fn chunk_by_download(
        &self,
        download_id: &DownloadId,
        now: u64,
    ) -> Result<Option<ChunkRecord>, Error>;

    /// Every chunk the store holds, expired or not: what the chunk directory
    /// must hold at start.
    fn chunks(&self) -> Result<Vec<ChunkRecord>, Error>;

    /// Forgets every chunk expired at `now`; their files, to delete.
    fn expire_chunks(&self, now: u64) -> Result<Vec<ChunkFile>, Error>;

    /// The group log with this admin id, unless it has expired at `now`.
    fn group_by_admin(
        &self,
        admin_id: &GroupAdminId,
        now: u64,
    ) -> Result<Option<GroupRecord>, Error>;

    /// The group log with this write id, unless it has expired at `now`.
    fn group_by_write(
        &self,
        write_id: &GroupWriteId,
        now: u64,
    ) -> Result<Option<GroupRecord>, Error>;

    /// The group log with this read id, unless it has expired at `now`.
    fn group_by_read(&self, read_id: &GroupReadId, now: u64) -> Result<Option<GroupRecord>, Error>;

    /// The entry with sequence number `seq` of the log with this read id, if
    /// the log holds it durably and it has not expired at `now`.
    fn group_entry(
        &self,
        read_id: &GroupReadId,
        seq: u64,
        now: u64,
    ) -> Result<Option<GroupEntry>, Error>;

    /// Makes every deferred commit durable.
    fn sync(&self) -> Result<(), Error>;

    /// Deletes up to `limit` messages expired at `now`; returns how many.
    fn expire(&self, now: u64, limit: usize) -> Result<u64, Error>;
}
