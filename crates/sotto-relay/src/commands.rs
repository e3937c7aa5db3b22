//! The commands of one connection: authorisation, storage and replies.
//!
//! A [`Session`] takes the transmissions of each decrypted block and gives back
//! the transmissions to send, in order. Writes are handed to the group-commit
//! writer as they come; a block whose writes are not committed yet waits in a
//! short pipeline while the next blocks are read, so a connection keeps several
//! blocks' writes in one fsync. Replies leave in the order of the commands. A
//! command that reads a queue with a write still pending (in its block or an
//! earlier one) first waits for every pending write.
//!
//! Unknown queues and bad authenticators give the same ERR AUTH after the same
//! work: a command key is always derived and an authenticator always checked,
//! with a dummy key when the queue does not exist. Failed checks are counted: a
//! connection that keeps failing them is closed, so that probing costs the
//! prober a connection (and its handshake) every few attempts.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use rand::RngCore;
use sotto_wire::x25519_dalek::{PublicKey as DhPublicKey, StaticSecret};
use sotto_wire::{
    BLOCK_SIZE, CipherSuite, Command, CorrId, DownloadId, EntityId, ErrorCode, GroupWriteId,
    ID_LEN, InnerBlock, LinkId, MAX_MESSAGE_BODY, MessageBody, MessageContent, MessageId,
    QueueAuthKey, QueueKey, QueueMessage, RecipientId, RelaySessionAuth, Response, SendId,
    SenderId, ServerPassword, Transmission, UploadId, WireError,
};
use zeroize::Zeroize;

use crate::clock::unix_now;
use crate::command_keys::CommandKeys;
use crate::limits::TokenBucket;
use crate::metrics::Event;
use crate::recent_sends::SendDigest;
use crate::relay::Relay;
use crate::store::group_commit::PendingWrite;
use crate::store::{
    AuthKey, ChunkFile, FLAG_QUOTA_REACHED, GroupIds, QueueRecord, QueueStatus, StoredMessage,
    WriteOp, WriteOutcome,
};
use crate::subscriptions::Subscriber;

mod file_chunks;
mod group_logs;

/// The SEND tag, to tell an oversized body (LARGE_MSG) from other syntax errors.
const TAG_SEND: u8 = 0x04;

/// Failed authorizations per second a connection may make in the long run.
pub const AUTH_FAILURES_PER_SECOND: u32 = 1;

/// One connection's command state.
pub struct Session {
    relay: Arc<Relay>,
    auth: RelaySessionAuth,
    suite: CipherSuite,
    subscriber: Arc<Subscriber>,
    subscribed: HashMap<RecipientId, Delivery>,
    groups: group_logs::GroupSubscriptions,
    bucket: TokenBucket,
    /// Failed authorizations: when it runs dry the connection is closed.
    failure_budget: TokenBucket,
    failures_exhausted: bool,
    /// Whether a command passed an authenticator check (or found its queue).
    authorized: bool,
    /// Command keys that checked valid commands here, so they are not derived again.
    command_keys: CommandKeys,
    /// Blocks whose replies wait for their writes (or for an earlier block).
    in_flight: VecDeque<BlockInFlight>,
}

/// Blocks a connection may have waiting for their writes before the relay stops
/// reading from it. Enough for a busy sender to fill the next group commit while
/// the last one is on its fsync (with 8, four senders gave at most 32 SENDs per
/// commit and the relay sat idle between fsyncs); the bytes they hold count in
/// the writer's queue, which is bounded for the whole relay.
pub const MAX_BLOCKS_IN_FLIGHT: usize = 32;

/// The replies of one block, some waiting for their writes.
#[derive(Default)]
struct BlockInFlight {
    slots: Vec<Slot>,
    pending: PendingQueues,
    /// What its replies may take, in bytes (see [`Slot::reply_bytes`]).
    reply_bytes: usize,
}

/// Where delivery stands on a subscribed queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Delivery {
    /// Nothing delivered and unacknowledged: the next message may be pushed.
    Idle,
    /// This message was pushed; the next follows its ACK.
    Awaiting(MessageId),
}

/// The replies of one transmission, ready or waiting for a durable write.
enum Slot {
    Ready(Vec<Transmission>),
    Write {
        corr_id: CorrId,
        entity: Option<EntityId>,
        write: PendingWrite,
        /// The outcome, once received.
        outcome: Option<Result<WriteOutcome, crate::Error>>,
        then: AfterWrite,
    },
}

impl Slot {
    /// The bytes its replies take, or may take once its write is done: an ACK
    /// may bring the queue's next message, a whole block.
    fn reply_bytes(&self) -> usize {
        match self {
            Slot::Ready(replies) => replies.iter().map(Transmission::encoded_len).sum(),
            Slot::Write {
                then: AfterWrite::Ack(_),
                ..
            } => BLOCK_SIZE,
            // FIDS: an upload id and up to 64 download ids.
            Slot::Write {
                then: AfterWrite::FileIds { download_ids, .. },
                ..
            } => SMALL_REPLY_BYTES + ID_LEN * download_ids.len(),
            Slot::Write { .. } => SMALL_REPLY_BYTES,
        }
    }
}

/// A generous bound on a reply that carries no message (OK, IDS, ERR).
const SMALL_REPLY_BYTES: usize = 256;

/// What to answer once a write is durable.
enum AfterWrite {
    Ids {
        recipient_id: RecipientId,
        sender_id: SenderId,
        queue_dh_key: DhPublicKey,
    },
    Ok,
    Send(SendDigest),
    Ack(RecipientId),
    Del(RecipientId),
    LinkIds(LinkId),
    LinkDeleted,
    /// FIDS once the chunk is recorded; its file goes if it is not.
    FileIds {
        upload_id: UploadId,
        download_ids: Vec<DownloadId>,
        file: ChunkFile,
    },
    /// OK to the last FPUT once the chunk is recorded complete.
    ChunkCompleted(ChunkFile),
    /// OK to FDEL or FACK; the file goes if the chunk did.
    ChunkReleased,
    /// GIDS once the log is recorded.
    GroupIds(GroupIds),
    /// GSEQ once the entry is durable; its subscribers are told.
    GroupSeq(GroupWriteId),
    /// OK to GKEY; the log's subscriptions end.
    GroupRekeyed,
    /// OK to GDEL; the log's subscriptions end.
    GroupDeleted,
}

/// Queues with writes pending in a block.
#[derive(Default)]
struct PendingQueues {
    /// Recipient id → whether every pending write on it is a SEND.
    queues: HashMap<RecipientId, bool>,
}

impl PendingQueues {
    fn must_wait(&self, recipient_id: &RecipientId, is_send: bool) -> bool {
        match self.queues.get(recipient_id) {
            None => false,
            // SENDs to one queue commute with each other.
            Some(&only_sends) => !(is_send && only_sends),
        }
    }

    fn add(&mut self, recipient_id: RecipientId, is_send: bool) {
        let only_sends = self.queues.entry(recipient_id).or_insert(true);
        *only_sends &= is_send;
    }
}

impl Session {
    /// A session for a connection whose handshake produced `auth` and chose
    /// `suite`.
    pub fn new(
        relay: Arc<Relay>,
        auth: RelaySessionAuth,
        suite: CipherSuite,
        subscriber: Arc<Subscriber>,
    ) -> Self {
        let limits = relay.limits;
        let now = Instant::now();
        Self {
            relay,
            auth,
            suite,
            subscriber,
            subscribed: HashMap::new(),
            groups: group_logs::GroupSubscriptions::default(),
            bucket: TokenBucket::new(limits.rate_limit, limits.rate_burst, now),
            failure_budget: TokenBucket::new(
                AUTH_FAILURES_PER_SECOND,
                limits.auth_failure_burst,
                now,
            ),
            failures_exhausted: false,
            authorized: false,
            command_keys: CommandKeys::default(),
            in_flight: VecDeque::new(),
        }
    }

    /// Whether a command of this connection passed an authenticator check, or
    /// was a SEND to an unsecured queue it found: until then the connection
    /// has shown no right to any queue and holds its slot on a short deadline.
    pub fn has_authorized(&self) -> bool {
        self.authorized
    }

    /// Whether the connection failed so many authorizations that it must close.
    pub fn failures_exhausted(&self) -> bool {
        self.failures_exhausted
    }

    /// Runs the transmissions of one block. Its replies come out of
    /// [`Session::ready_replies`] or [`Session::finish_oldest`], after those of
    /// earlier blocks.
    pub async fn handle_block(&mut self, block: InnerBlock) {
        let mut input = VecDeque::from(block.into_transmissions());
        self.handle_transmissions(&mut input, usize::MAX).await;
    }

    /// Runs transmissions from the front of `input` (what is left of a block)
    /// until their replies may take `room` bytes or more, so that a block of
    /// commands each answered with a whole message (GETs) does not produce a
    /// hundred messages at once: the rest waits in `input` until the replies
    /// before have been written. At least one transmission runs. Their replies
    /// come out like those of [`Session::handle_block`].
    pub async fn handle_transmissions(&mut self, input: &mut VecDeque<Vec<u8>>, room: usize) {
        let mut current = BlockInFlight::default();
        while let Some(bytes) = input.pop_front() {
            let slot = self.handle_transmission(&bytes, &mut current).await;
            current.slots.push(slot);
            // `settle_all` may have merged earlier slots into one: count them all.
            current.reply_bytes = current.slots.iter().map(Slot::reply_bytes).sum();
            if current.reply_bytes >= room {
                break;
            }
        }
        if !current.slots.is_empty() {
            self.in_flight.push_back(current);
        }
    }

    /// Bytes that the replies of the blocks in flight take or may take, not yet
    /// handed out by [`Session::ready_replies`].
    pub fn reply_bytes_held(&self) -> usize {
        self.in_flight.iter().map(|block| block.reply_bytes).sum()
    }

    /// Queues replies that need no write (pushes, ERR BLOCK) behind the blocks
    /// in flight, so that everything leaves in order.
    pub fn queue_replies(&mut self, replies: Vec<Transmission>) {
        if !replies.is_empty() {
            let slot = Slot::Ready(replies);
            self.in_flight.push_back(BlockInFlight {
                reply_bytes: slot.reply_bytes(),
                slots: vec![slot],
                pending: PendingQueues::default(),
            });
        }
    }

    /// Blocks waiting for their writes or for an earlier block.
    pub fn blocks_in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// The replies of the oldest blocks whose writes are all committed, without
    /// waiting.
    pub fn ready_replies(&mut self) -> Vec<Transmission> {
        let mut replies = Vec::new();
        while let Some(front) = self.in_flight.front_mut() {
            let mut done = true;
            for slot in &mut front.slots {
                if let Slot::Write {
                    write,
                    outcome: outcome @ None,
                    ..
                } = slot
                {
                    *outcome = write.try_outcome();
                    done &= outcome.is_some();
                }
            }
            if !done {
                break;
            }
            replies.extend(self.finish_oldest());
        }
        replies
    }

    /// Waits until the oldest block's writes are all committed (forever if no
    /// block is in flight). Cancel-safe.
    pub async fn oldest_committed(&mut self) {
        let Some(front) = self.in_flight.front_mut() else {
            return std::future::pending().await;
        };
        for slot in &mut front.slots {
            if let Slot::Write {
                write,
                outcome: outcome @ None,
                ..
            } = slot
            {
                *outcome = Some(write.wait().await);
            }
        }
    }

    /// The replies of the oldest block; its writes must be committed (see
    /// [`Session::oldest_committed`]), else they are awaited here.
    pub async fn finish_oldest_waiting(&mut self) -> Vec<Transmission> {
        match self.in_flight.pop_front() {
            Some(block) => self.settle(block.slots).await,
            None => Vec::new(),
        }
    }

    /// The replies of every block in flight, waiting for their writes.
    pub async fn finish_all(&mut self) -> Vec<Transmission> {
        let mut replies = Vec::new();
        while !self.in_flight.is_empty() {
            replies.extend(self.finish_oldest_waiting().await);
        }
        replies
    }

    fn finish_oldest(&mut self) -> Vec<Transmission> {
        let Some(block) = self.in_flight.pop_front() else {
            return Vec::new();
        };
        let mut replies = Vec::with_capacity(block.slots.len());
        for slot in block.slots {
            match slot {
                Slot::Ready(ready) => replies.extend(ready),
                Slot::Write {
                    corr_id,
                    entity,
                    outcome,
                    then,
                    ..
                } => {
                    let outcome = outcome.unwrap_or(Err(crate::Error::WriterStopped));
                    replies.extend(self.reply_after_write(corr_id, entity, outcome, then));
                }
            }
        }
        replies
    }

    /// Whether a command on `recipient_id` must wait for pending writes.
    fn must_wait(
        &self,
        current: &BlockInFlight,
        recipient_id: &RecipientId,
        is_send: bool,
    ) -> bool {
        current.pending.must_wait(recipient_id, is_send)
            || self
                .in_flight
                .iter()
                .any(|block| block.pending.must_wait(recipient_id, is_send))
    }

    /// Waits for every pending write, of earlier blocks and of `current` so far;
    /// their replies become the first slot of `current`.
    async fn settle_all(&mut self, current: &mut BlockInFlight) {
        let mut replies = self.finish_all().await;
        let slots = std::mem::take(&mut current.slots);
        replies.extend(self.settle(slots).await);
        current.slots.push(Slot::Ready(replies));
        current.pending = PendingQueues::default();
    }

    /// An ERR BLOCK reply for an authentic block whose inner block is malformed.
    pub fn block_error(&self) -> Transmission {
        self.error(CorrId::PUSH, None, ErrorCode::Block)
    }

    async fn handle_transmission(&mut self, bytes: &[u8], current: &mut BlockInFlight) -> Slot {
        let transmission = match Transmission::decode(bytes) {
            Ok(transmission) => transmission,
            Err(_) => return self.ready_error(readable_corr_id(bytes), None, ErrorCode::Cmd),
        };
        let corr_id = transmission.corr_id;
        let entity = transmission.entity;
        if !self.bucket.try_take(Instant::now()) {
            return self.ready_error(corr_id, entity, ErrorCode::Limit);
        }
        let command = match Command::from_transmission(&transmission) {
            Ok(command) => command,
            Err(error) => {
                let code = if is_oversized_send(&transmission, error) {
                    ErrorCode::LargeMsg
                } else {
                    ErrorCode::Cmd
                };
                return self.ready_error(corr_id, entity, code);
            }
        };
        // A command on a queue with a write pending in this block sees that write.
        let touched = match &command {
            Command::Key { recipient_id, .. }
            | Command::Sub { recipient_id }
            | Command::Ack { recipient_id, .. }
            | Command::Get { recipient_id }
            | Command::Off { recipient_id }
            | Command::Del { recipient_id } => Some(*recipient_id),
            // Link ids never equal queue ids (the relay draws them apart), so a
            // link's pending writes are tracked under its id as if it were one.
            Command::LinkSet { link_id, .. }
            | Command::LinkDel { link_id }
            | Command::LinkGet { link_id } => Some(link_as_pending(link_id)),
            // Chunk ids too (upload and download ids are drawn apart as well).
            Command::FilePut { upload_id, .. }
            | Command::FileStat { upload_id }
            | Command::FileDel { upload_id } => Some(id_as_pending(upload_id.as_bytes())),
            Command::FileGet { download_id, .. } | Command::FileAck { download_id } => {
                Some(id_as_pending(download_id.as_bytes()))
            }
            Command::New { .. }
            | Command::Send { .. }
            | Command::Ping
            | Command::LinkNew { .. }
            | Command::FileNew { .. }
            | Command::FileLimits => None,
            // A log's pending writes are tracked under its read id; GAPP, GKEY
            // and GDEL find it in the store and wait there.
            Command::GroupRead { read_id, .. }
            | Command::GroupSub { read_id }
            | Command::GroupUnsub { read_id } => Some(id_as_pending(read_id.as_bytes())),
            Command::GroupNew { .. }
            | Command::GroupAppend { .. }
            | Command::GroupKey { .. }
            | Command::GroupDel { .. } => None,
        };
        if touched.is_some_and(|id| self.must_wait(current, &id, false)) {
            self.settle_all(current).await;
        }
        match self.execute(command, &transmission, current).await {
            Ok(slot) => slot,
            Err(error) => {
                tracing::warn!(%error, "command failed");
                self.ready_error(corr_id, entity, ErrorCode::Internal)
            }
        }
    }

    async fn execute(
        &mut self,
        command: Command,
        transmission: &Transmission,
        current: &mut BlockInFlight,
    ) -> Result<Slot, crate::Error> {
        let corr_id = transmission.corr_id;
        let entity = transmission.entity;
        let relay = Arc::clone(&self.relay);
        match command {
            Command::Ping => Ok(Slot::Ready(vec![Response::Pong.to_transmission(corr_id)])),
            Command::FileNew { .. }
            | Command::FilePut { .. }
            | Command::FileStat { .. }
            | Command::FileGet { .. }
            | Command::FileDel { .. }
            | Command::FileAck { .. }
            | Command::FileLimits => self.execute_file(command, transmission, current).await,
            Command::GroupNew { .. }
            | Command::GroupAppend { .. }
            | Command::GroupRead { .. }
            | Command::GroupSub { .. }
            | Command::GroupUnsub { .. }
            | Command::GroupKey { .. }
            | Command::GroupDel { .. } => self.execute_group(command, transmission, current).await,
            Command::LinkNew {
                link_auth_key,
                password,
                blob,
            } => {
                let authorised = self.verify(transmission, Some(link_auth_key.into()));
                let allowed = self.password_allowed(password.as_ref());
                if !(authorised && allowed) {
                    return Ok(self.ready_error(corr_id, entity, ErrorCode::Auth));
                }
                self.authorized = true;
                let link_id = LinkId::from_bytes(random_id());
                let op = WriteOp::CreateLink {
                    link_id,
                    auth_key: link_auth_key.into(),
                    blob: Box::new(blob),
                };
                self.write(corr_id, None, op, AfterWrite::LinkIds(link_id))
                    .await
            }
            Command::LinkSet { link_id, blob } => {
                if !self.authorise_link(transmission, &link_id)? {
                    return Ok(self.ready_error(corr_id, entity, ErrorCode::Auth));
                }
                current.pending.add(link_as_pending(&link_id), false);
                let op = WriteOp::SetLink {
                    link_id,
                    blob: Box::new(blob),
                };
                self.write(corr_id, entity, op, AfterWrite::Ok).await
            }
            Command::LinkDel { link_id } => {
                if !self.authorise_link(transmission, &link_id)? {
                    return Ok(self.ready_error(corr_id, entity, ErrorCode::Auth));
                }
                current.pending.add(link_as_pending(&link_id), false);
                let op = WriteOp::DeleteLink { link_id };
                self.write(corr_id, entity, op, AfterWrite::LinkDeleted)
                    .await
            }
            Command::LinkGet { link_id } => match relay.storage.link_blob(&link_id, unix_now())? {
                Some(blob) => {
                    // Like a SEND to an unsecured queue: holding the id is the right.
                    self.authorized = true;
                    relay.metrics.count(Event::LinkFetched);
                    let link = Response::Link { link_id, blob };
                    Ok(Slot::Ready(vec![link.to_transmission(corr_id)]))
                }
                None => {
                    self.count_failure();
                    Ok(self.ready_error(corr_id, entity, ErrorCode::Auth))
                }
            },
            Command::New {
                recipient_auth_key,
                recipient_dh_key,
                password,
            } => {
                let authorised = self.verify(transmission, Some(recipient_auth_key.into()));
                let allowed = self.password_allowed(password.as_ref());
                if !(authorised && allowed) {
                    return Ok(self.ready_error(corr_id, entity, ErrorCode::Auth));
                }
                self.authorized = true;
                self.create_queue(corr_id, recipient_auth_key, &recipient_dh_key)
                    .await
            }
            Command::Send {
                sender_id,
                send_id,
                body,
            } => {
                self.send(transmission, sender_id, send_id, body, current)
                    .await
            }
            Command::Key {
                recipient_id,
                sender_auth_key,
            } => {
                if self
                    .authorise_recipient(transmission, &recipient_id)?
                    .is_none()
                {
                    return Ok(self.ready_error(corr_id, entity, ErrorCode::Auth));
                }
                if !self.is_usable_key(&sender_auth_key) {
                    return Ok(self.ready_error(corr_id, entity, ErrorCode::Cmd));
                }
                let op = WriteOp::SecureQueue {
                    recipient_id,
                    sender_key: sender_auth_key.into(),
                };
                current.pending.add(recipient_id, false);
                self.write(corr_id, entity, op, AfterWrite::Ok).await
            }
            Command::Sub { recipient_id } => {
                if self
                    .authorise_recipient(transmission, &recipient_id)?
                    .is_none()
                {
                    return Ok(self.ready_error(corr_id, entity, ErrorCode::Auth));
                }
                // Queues and group logs count together.
                let subscriptions = self.subscribed.len() + self.groups.logs.len();
                if !self.subscribed.contains_key(&recipient_id)
                    && subscriptions >= relay.limits.max_subscriptions
                {
                    return Ok(self.ready_error(corr_id, entity, ErrorCode::Limit));
                }
                relay
                    .subscriptions
                    .subscribe(recipient_id, &self.subscriber);
                // A repeated SUB pushes the pending message again (at-least-once).
                self.subscribed.insert(recipient_id, Delivery::Idle);
                let mut replies = vec![Response::Ok { entity }.to_transmission(corr_id)];
                replies.extend(self.deliver(&recipient_id)?);
                Ok(Slot::Ready(replies))
            }
            Command::Ack {
                recipient_id,
                message_id,
            } => {
                if self
                    .authorise_recipient(transmission, &recipient_id)?
                    .is_none()
                {
                    return Ok(self.ready_error(corr_id, entity, ErrorCode::Auth));
                }
                let op = WriteOp::Ack {
                    recipient_id,
                    message_id,
                };
                current.pending.add(recipient_id, false);
                self.write(corr_id, entity, op, AfterWrite::Ack(recipient_id))
                    .await
            }
            Command::Get { recipient_id } => {
                let Some(record) = self.authorise_recipient(transmission, &recipient_id)? else {
                    return Ok(self.ready_error(corr_id, entity, ErrorCode::Auth));
                };
                match relay.storage.first_message(&recipient_id, unix_now())? {
                    Some(message) => {
                        let reply =
                            self.seal(corr_id, &recipient_id, &record.queue_key, message)?;
                        Ok(Slot::Ready(vec![reply]))
                    }
                    None => Ok(self.ready_error(corr_id, entity, ErrorCode::NoMsg)),
                }
            }
            Command::Off { recipient_id } => {
                if self
                    .authorise_recipient(transmission, &recipient_id)?
                    .is_none()
                {
                    return Ok(self.ready_error(corr_id, entity, ErrorCode::Auth));
                }
                current.pending.add(recipient_id, false);
                let op = WriteOp::Suspend { recipient_id };
                self.write(corr_id, entity, op, AfterWrite::Ok).await
            }
            Command::Del { recipient_id } => {
                if self
                    .authorise_recipient(transmission, &recipient_id)?
                    .is_none()
                {
                    return Ok(self.ready_error(corr_id, entity, ErrorCode::Auth));
                }
                current.pending.add(recipient_id, false);
                let op = WriteOp::Delete { recipient_id };
                self.write(corr_id, entity, op, AfterWrite::Del(recipient_id))
                    .await
            }
        }
    }

    async fn send(
        &mut self,
        transmission: &Transmission,
        sender_id: SenderId,
        send_id: SendId,
        body: MessageBody,
        current: &mut BlockInFlight,
    ) -> Result<Slot, crate::Error> {
        let corr_id = transmission.corr_id;
        let entity = transmission.entity;
        let storage = Arc::clone(&self.relay.storage);
        let mut found = storage.queue_by_sender(&sender_id)?;
        let must_wait = found
            .as_ref()
            .is_some_and(|(recipient_id, _)| self.must_wait(current, recipient_id, true));
        if must_wait {
            self.settle_all(current).await;
            found = storage.queue_by_sender(&sender_id)?;
        }
        let authorised = match &found {
            Some((_, record)) => match record.sender_key {
                Some(key) => {
                    let valid = self.verify(transmission, Some(key));
                    self.authorized |= valid;
                    valid
                }
                // Unsecured: anyone holding the sender id may send. (Its OK tells
                // that the queue exists anyway, so no dummy check for timing.)
                None => {
                    self.authorized = true;
                    true
                }
            },
            None => self.verify(transmission, None),
        };
        let Some((recipient_id, record)) = found.filter(|_| authorised) else {
            return Ok(self.ready_error(corr_id, entity, ErrorCode::Auth));
        };
        if record.status != QueueStatus::Active {
            return Ok(self.ready_error(corr_id, entity, ErrorCode::Auth));
        }
        // The same message again: a sender's retry after a lost OK. Answered
        // as the first was, and not stored twice (an idempotent SEND).
        let digest = self.relay.recent_sends.digest(&send_id);
        if self.relay.recent_sends.contains(&recipient_id, &digest) {
            let ok = Response::Ok { entity }.to_transmission(corr_id);
            return Ok(Slot::Ready(vec![ok]));
        }
        let op = WriteOp::Send {
            sender_id,
            message: StoredMessage {
                id: random_message_id(),
                accepted_at: unix_now(),
                flags: 0,
                body: body.into_vec().into(),
            },
            marker_id: random_message_id(),
        };
        current.pending.add(recipient_id, true);
        self.write(corr_id, entity, op, AfterWrite::Send(digest))
            .await
    }

    async fn create_queue(
        &mut self,
        corr_id: CorrId,
        recipient_key: QueueAuthKey,
        recipient_dh_key: &DhPublicKey,
    ) -> Result<Slot, crate::Error> {
        let mut secret_bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret_bytes);
        // StaticSecret zeroizes itself on drop; the byte copy is wiped here.
        let queue_secret = StaticSecret::from(secret_bytes);
        secret_bytes.zeroize();
        let queue_key = match QueueKey::derive(&queue_secret, recipient_dh_key) {
            Ok(key) => key,
            Err(_) => return Ok(self.ready_error(corr_id, None, ErrorCode::Cmd)),
        };
        let queue_dh_key = DhPublicKey::from(&queue_secret);
        let recipient_id = RecipientId::from_bytes(random_id());
        let sender_id = SenderId::from_bytes(random_id());
        let record = QueueRecord {
            recipient_key: recipient_key.into(),
            sender_id,
            sender_key: None,
            status: QueueStatus::Active,
            queue_key,
            pending: 0,
            quota_marker: false,
            next_seq: 0,
        };
        let op = WriteOp::CreateQueue {
            recipient_id,
            record: Box::new(record),
        };
        let then = AfterWrite::Ids {
            recipient_id,
            sender_id,
            queue_dh_key,
        };
        self.write(corr_id, None, op, then).await
    }

    async fn write(
        &self,
        corr_id: CorrId,
        entity: Option<EntityId>,
        op: WriteOp,
        then: AfterWrite,
    ) -> Result<Slot, crate::Error> {
        let write = self.relay.committer.enqueue(op).await?;
        Ok(Slot::Write {
            corr_id,
            entity,
            write,
            outcome: None,
            then,
        })
    }

    /// Checks the transmission's authenticator with the command key of `key`,
    /// or of the dummy key when there is none, so that both take the same time.
    /// Counts a failure against the connection's budget.
    fn verify(&mut self, transmission: &Transmission, key: Option<AuthKey>) -> bool {
        let valid = self.check_authenticator(transmission, key);
        if !valid {
            self.count_failure();
        }
        valid
    }

    /// Takes a failed authorization from the connection's budget.
    fn count_failure(&mut self) {
        if !self.failure_budget.try_take(Instant::now()) {
            self.failures_exhausted = true;
        }
    }

    /// Whether the link exists and the transmission is authorized by its key;
    /// a missing link is checked against the dummy key, for the same work.
    fn authorise_link(
        &mut self,
        transmission: &Transmission,
        link_id: &LinkId,
    ) -> Result<bool, crate::Error> {
        let key = self.relay.storage.link_key(link_id, unix_now())?;
        let valid = self.verify(transmission, key);
        self.authorized |= valid;
        Ok(valid)
    }

    fn check_authenticator(&mut self, transmission: &Transmission, key: Option<AuthKey>) -> bool {
        let (key, real) = match key {
            Some(key) => (key, true),
            None => (self.relay.dummy_key, false),
        };
        // Only a key that authorized a command here before has its command key
        // kept (see `command_keys`); for any other, the dummy key too, it is
        // derived first, so that a queue that does not exist and a key not held
        // take the same work.
        if real && let Some(command_key) = self.command_keys.get(&key) {
            return transmission.verify(command_key);
        }
        let Ok(command_key) = self.auth.command_key(&key.queue_auth_key()) else {
            return false;
        };
        let valid = transmission.verify(&command_key);
        if valid && real {
            self.command_keys.insert(&key, command_key);
        }
        valid && real
    }

    /// Whether the server password given (if the relay requires one) is right.
    fn password_allowed(&self, given: Option<&ServerPassword>) -> bool {
        match &self.relay.password {
            Some(expected) => given.is_some_and(|given| expected.matches(given.as_bytes())),
            None => true,
        }
    }

    /// Whether a sender auth key can authorize commands (not a low-order point).
    fn is_usable_key(&self, key: &QueueAuthKey) -> bool {
        self.auth.command_key(key).is_ok()
    }

    /// The queue if it exists and the transmission is authorized by its recipient key.
    fn authorise_recipient(
        &mut self,
        transmission: &Transmission,
        recipient_id: &RecipientId,
    ) -> Result<Option<QueueRecord>, crate::Error> {
        let record = self.relay.storage.queue(recipient_id)?;
        let valid = self.verify(
            transmission,
            record.as_ref().map(|queue| queue.recipient_key),
        );
        self.authorized |= valid;
        Ok(record.filter(|_| valid))
    }

    /// Awaits the writes in order and returns every reply in order.
    async fn settle(&mut self, slots: Vec<Slot>) -> Vec<Transmission> {
        let mut replies = Vec::with_capacity(slots.len());
        for slot in slots {
            match slot {
                Slot::Ready(ready) => replies.extend(ready),
                Slot::Write {
                    corr_id,
                    entity,
                    write,
                    outcome,
                    then,
                } => {
                    let outcome = match outcome {
                        Some(outcome) => outcome,
                        None => write.outcome().await,
                    };
                    replies.extend(self.reply_after_write(corr_id, entity, outcome, then));
                }
            }
        }
        replies
    }

    fn reply_after_write(
        &mut self,
        corr_id: CorrId,
        entity: Option<EntityId>,
        outcome: Result<WriteOutcome, crate::Error>,
        then: AfterWrite,
    ) -> Vec<Transmission> {
        match self.after_write(corr_id, entity, outcome, then) {
            Ok(ready) => ready,
            Err(error) => {
                tracing::warn!(%error, "write failed");
                vec![self.error(corr_id, entity, ErrorCode::Internal)]
            }
        }
    }

    fn after_write(
        &mut self,
        corr_id: CorrId,
        entity: Option<EntityId>,
        outcome: Result<WriteOutcome, crate::Error>,
        then: AfterWrite,
    ) -> Result<Vec<Transmission>, crate::Error> {
        let relay = Arc::clone(&self.relay);
        let ok = || vec![Response::Ok { entity }.to_transmission(corr_id)];
        let error = |code| vec![self.error(corr_id, entity, code)];
        Ok(match (outcome?, then) {
            (
                WriteOutcome::Done,
                AfterWrite::Ids {
                    recipient_id,
                    sender_id,
                    queue_dh_key,
                },
            ) => {
                relay.metrics.count(Event::QueueCreated);
                let ids = Response::Ids {
                    recipient_id,
                    sender_id,
                    queue_dh_key,
                };
                vec![ids.to_transmission(corr_id)]
            }
            (WriteOutcome::Sent(recipient_id), AfterWrite::Send(digest)) => {
                relay.recent_sends.remember(recipient_id, digest);
                relay.metrics.count(Event::MessageSent);
                relay.subscriptions.message_arrived(&recipient_id);
                ok()
            }
            (
                WriteOutcome::QuotaExceeded {
                    recipient_id,
                    marker_added,
                },
                AfterWrite::Send(_),
            ) => {
                if marker_added {
                    relay.metrics.count(Event::QuotaMarker);
                    relay.subscriptions.message_arrived(&recipient_id);
                }
                error(ErrorCode::Quota)
            }
            (WriteOutcome::Done, AfterWrite::Ack(recipient_id)) => {
                relay.metrics.count(Event::MessageAcked);
                let mut replies = ok();
                replies.extend(self.deliver_next(&recipient_id)?);
                replies
            }
            (WriteOutcome::NoMessage, AfterWrite::Ack(recipient_id)) => {
                let mut replies = error(ErrorCode::NoMsg);
                replies.extend(self.redeliver_if_gone(&recipient_id)?);
                replies
            }
            (WriteOutcome::Done, AfterWrite::Del(recipient_id)) => {
                relay.recent_sends.forget(&recipient_id);
                relay.metrics.count(Event::QueueDeleted);
                self.subscribed.remove(&recipient_id);
                relay.subscriptions.remove(&recipient_id, &self.subscriber);
                ok()
            }
            (WriteOutcome::Done, AfterWrite::Ok) => ok(),
            (WriteOutcome::Done, AfterWrite::LinkIds(link_id)) => {
                relay.metrics.count(Event::LinkCreated);
                vec![Response::LinkIds { link_id }.to_transmission(corr_id)]
            }
            (WriteOutcome::Done, AfterWrite::LinkDeleted) => {
                relay.metrics.count(Event::LinkDeleted);
                ok()
            }
            (
                outcome,
                then @ (AfterWrite::FileIds { .. }
                | AfterWrite::ChunkCompleted(_)
                | AfterWrite::ChunkReleased),
            ) => {
                return self.after_file_write(corr_id, entity, outcome, then);
            }
            (
                outcome,
                then @ (AfterWrite::GroupIds(_)
                | AfterWrite::GroupSeq(_)
                | AfterWrite::GroupRekeyed
                | AfterWrite::GroupDeleted),
            ) => self.after_group_write(corr_id, entity, outcome, then),
            (WriteOutcome::Refused, _) => error(ErrorCode::Auth),
            (WriteOutcome::NoMessage, _) => error(ErrorCode::NoMsg),
            // The storage budget is used up: nothing new until space is freed.
            (WriteOutcome::StorageFull, _) => error(ErrorCode::Full),
            (outcome, _) => {
                tracing::warn!(?outcome, "unexpected write outcome");
                error(ErrorCode::Internal)
            }
        })
    }

    /// After an ACK: the next message, if this connection subscribes the queue.
    fn deliver_next(
        &mut self,
        recipient_id: &RecipientId,
    ) -> Result<Vec<Transmission>, crate::Error> {
        match self.subscribed.get_mut(recipient_id) {
            Some(delivery) => *delivery = Delivery::Idle,
            None => return Ok(Vec::new()),
        }
        self.deliver(recipient_id)
    }

    /// After an ACK that matched nothing: if the message awaiting its ACK is gone
    /// (it expired), delivery would stall, so push what is first now.
    fn redeliver_if_gone(
        &mut self,
        recipient_id: &RecipientId,
    ) -> Result<Vec<Transmission>, crate::Error> {
        let Some(Delivery::Awaiting(awaited)) = self.subscribed.get(recipient_id).copied() else {
            return Ok(Vec::new());
        };
        let first = self.relay.storage.first_message(recipient_id, unix_now())?;
        if first.is_some_and(|message| message.id == awaited) {
            return Ok(Vec::new());
        }
        self.deliver_next(recipient_id)
    }

    /// Pushes the queue's first message if the queue is subscribed here and no
    /// message is awaiting its ACK.
    fn deliver(&mut self, recipient_id: &RecipientId) -> Result<Vec<Transmission>, crate::Error> {
        if self.subscribed.get(recipient_id) != Some(&Delivery::Idle)
            // Taken over by another connection (its END is on the way).
            || !self
                .relay
                .subscriptions
                .is_subscriber(recipient_id, &self.subscriber)
        {
            return Ok(Vec::new());
        }
        let Some((queue_key, message)) = self.relay.storage.delivery(recipient_id, unix_now())?
        else {
            return Ok(Vec::new());
        };
        let message_id = message.id;
        let push = self.seal(CorrId::PUSH, recipient_id, &queue_key, message)?;
        self.subscribed
            .insert(*recipient_id, Delivery::Awaiting(message_id));
        Ok(vec![push])
    }

    /// Handles what other connections did to this one's subscriptions: pushes
    /// new messages, END for queues taken over and GEND for group logs
    /// rekeyed or deleted, and notes group logs with new entries (see
    /// [`Session::group_pushes`]).
    pub fn handle_events(&mut self) -> Vec<Transmission> {
        let events = self.subscriber.take();
        let mut replies = Vec::new();
        for recipient_id in events.ended {
            // Ignore a stale END if this connection subscribed again since.
            if self.subscribed.contains_key(&recipient_id)
                && !self
                    .relay
                    .subscriptions
                    .is_subscriber(&recipient_id, &self.subscriber)
            {
                self.subscribed.remove(&recipient_id);
                replies.push(Response::End { recipient_id }.to_transmission(CorrId::PUSH));
            }
        }
        for recipient_id in events.arrived {
            match self.deliver(&recipient_id) {
                Ok(pushes) => replies.extend(pushes),
                Err(error) => tracing::warn!(%error, "delivery failed"),
            }
        }
        // New group entries go out by `group_pushes`, as replies make room.
        replies.extend(self.handle_group_events(events.groups_arrived, events.groups_ended));
        replies
    }

    /// The MSG of `message`, sealed with the queue key for this connection's
    /// suite: the body is copied once, from the store's buffer into the reply.
    fn seal(
        &self,
        corr_id: CorrId,
        recipient_id: &RecipientId,
        queue_key: &QueueKey,
        message: StoredMessage,
    ) -> Result<Transmission, crate::Error> {
        let corrupt = |_| crate::Error::CorruptRecord { table: "messages" };
        let reply = if message.flags & FLAG_QUOTA_REACHED != 0 {
            let sealed = queue_key
                .seal(
                    self.suite,
                    &message.id,
                    &QueueMessage {
                        timestamp: message.accepted_at,
                        content: MessageContent::QuotaReached,
                    },
                )
                .map_err(corrupt)?;
            Response::Msg {
                recipient_id: *recipient_id,
                message_id: message.id,
                sealed,
            }
            .to_transmission(corr_id)
        } else {
            Response::msg_transmission(corr_id, *recipient_id, &message.id, |out| {
                queue_key.seal_body_into(
                    self.suite,
                    &message.id,
                    message.accepted_at,
                    &message.body,
                    out,
                )
            })
            .map_err(corrupt)?
        };
        self.relay.metrics.count(Event::MessageDelivered);
        Ok(reply)
    }

    fn error(&self, corr_id: CorrId, entity: Option<EntityId>, code: ErrorCode) -> Transmission {
        self.relay.metrics.count_error(code);
        Response::Err { entity, code }.to_transmission(corr_id)
    }

    fn ready_error(&self, corr_id: CorrId, entity: Option<EntityId>, code: ErrorCode) -> Slot {
        Slot::Ready(vec![self.error(corr_id, entity, code)])
    }

    /// Drops this connection's subscriptions from the registry (it is closing).
    pub fn unsubscribe_all(&mut self) {
        for recipient_id in self.subscribed.keys() {
            self.relay
                .subscriptions
                .unsubscribe(recipient_id, &self.subscriber);
        }
        self.subscribed.clear();
        self.unsubscribe_groups();
    }
}

/// Whether a SEND failed to parse only because its body is longer than allowed.
fn is_oversized_send(transmission: &Transmission, error: WireError) -> bool {
    if transmission.tag != TAG_SEND || !matches!(error, WireError::LengthOutOfRange { .. }) {
        return false;
    }
    // SEND body: flags u8 | body_len u16 | body.
    match transmission.body.get(1..3) {
        Some(&[high, low]) => usize::from(u16::from_be_bytes([high, low])) > MAX_MESSAGE_BODY,
        _ => false,
    }
}

/// The corr id of a transmission that does not parse, if its first fields can be
/// read (`auth_len` 0 or 32, then the corr id); all zero otherwise.
fn readable_corr_id(bytes: &[u8]) -> CorrId {
    let start = match bytes.first() {
        Some(0) => 1,
        Some(32) => 33,
        _ => return CorrId::PUSH,
    };
    match bytes
        .get(start..start + 8)
        .and_then(|id| <[u8; 8]>::try_from(id).ok())
    {
        Some(id) => CorrId::from_bytes(id),
        None => CorrId::PUSH,
    }
}

/// A link's id where pending writes are tracked by queue id.
fn link_as_pending(link_id: &LinkId) -> RecipientId {
    id_as_pending(link_id.as_bytes())
}

/// A chunk's or link's id where pending writes are tracked by queue id.
fn id_as_pending(id: &[u8; 24]) -> RecipientId {
    RecipientId::from_bytes(*id)
}

fn random_id() -> [u8; 24] {
    let mut id = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut id);
    id
}

/// A message id (also the nonce its delivery is sealed with), from the
/// thread's ChaCha12 generator, which `rand` seeds and reseeds from the OS:
/// a SEND takes two, and `OsRng` made a system call for each.
fn random_message_id() -> MessageId {
    let mut id = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut id);
    MessageId::from_bytes(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send_transmission(body: Vec<u8>) -> Transmission {
        Transmission {
            authenticator: None,
            corr_id: CorrId::from_bytes([1; 8]),
            entity: Some(EntityId::from_bytes([2; 24])),
            tag: TAG_SEND,
            body,
        }
    }

    #[test]
    fn oversized_send_bodies_are_large_msg() {
        let length = WireError::LengthOutOfRange { field: "body_len" };
        let mut body = vec![0];
        body.extend_from_slice(&16001u16.to_be_bytes());
        assert!(is_oversized_send(&send_transmission(body.clone()), length));
        // The same bytes under another tag, or another error, are plain syntax errors.
        let mut other = send_transmission(body.clone());
        other.tag = 0x06;
        assert!(!is_oversized_send(&other, length));
        assert!(!is_oversized_send(
            &send_transmission(body),
            WireError::Truncated
        ));
        let mut empty = vec![0];
        empty.extend_from_slice(&0u16.to_be_bytes());
        assert!(!is_oversized_send(&send_transmission(empty), length));
        assert!(!is_oversized_send(&send_transmission(vec![0]), length));
    }

    #[test]
    fn corr_id_is_echoed_when_readable() {
        let mut unsigned = vec![0];
        unsigned.extend_from_slice(&[9; 8]);
        assert_eq!(readable_corr_id(&unsigned), CorrId::from_bytes([9; 8]));
        let mut authorized = vec![32];
        authorized.extend_from_slice(&[0; 32]);
        authorized.extend_from_slice(&[5; 8]);
        authorized.push(99);
        assert_eq!(readable_corr_id(&authorized), CorrId::from_bytes([5; 8]));
        assert_eq!(readable_corr_id(&[7, 1, 2, 3]), CorrId::PUSH);
        assert_eq!(readable_corr_id(&[0, 1, 2]), CorrId::PUSH);
        assert_eq!(readable_corr_id(&[]), CorrId::PUSH);
    }

    #[test]
    fn pending_writes_order_commands_on_one_queue() {
        let queue = RecipientId::from_bytes([1; 24]);
        let other = RecipientId::from_bytes([2; 24]);
        let mut pending = PendingQueues::default();
        assert!(!pending.must_wait(&queue, false));
        pending.add(queue, true);
        // SENDs to one queue commute; anything else waits for them.
        assert!(!pending.must_wait(&queue, true));
        assert!(pending.must_wait(&queue, false));
        assert!(!pending.must_wait(&other, false));
        pending.add(queue, false);
        assert!(pending.must_wait(&queue, true));
    }
}
