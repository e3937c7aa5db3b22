//! The core: one profile's state machine, driven by the runtime.
//!
//! Inputs come in through `handle_*` (with the current time and a random number
//! generator), outputs go out through `poll_*`:
//!
//! - [`Core::poll_relay_request`]: commands to send to relays; their answers go
//!   back through [`Core::handle_relay_response`] (or
//!   [`Core::handle_relay_failure`] when no answer came).
//! - [`Core::handle_delivery`]: a message a relay pushed on a subscribed queue.
//! - [`Core::handle_relay_connected`]: a (re)connection to a relay; the core
//!   subscribes its queues there and resends what waits for that relay.
//! - [`Core::poll_timeout`] / [`Core::handle_timeout`]: retries and
//!   disappearing messages.
//! - [`Core::poll_event`]: what to show.
//! - [`Core::start_sync`] / [`Core::handle_synced`]: making the store's
//!   writes durable, which lets out the outputs that wait for them.
//!
//! A runtime's loop, in outline:
//!
//! ```text
//! for relay in core.relays()?        { connect; core.handle_relay_connected(now, &relay)? }
//! loop {
//!     if let Some(ticket) = core.start_sync()? {      // on another thread:
//!         let mark = ticket.finish()?;                //   the wait for the disk
//!         core.handle_synced(mark);
//!     }
//!     while let Some(request) = core.poll_relay_request() {
//!         match connection(request.relay).request(&request.command, request.auth_key.as_ref()) {
//!             Ok(response) => core.handle_relay_response(now, rng, request.token, response, suite)?,
//!             Err(_)       => core.handle_relay_failure(now, request.token)?,
//!         }
//!     }
//!     while let Some(event) = core.poll_event() { show(event) }
//!     wait for: a pushed MSG  -> core.handle_delivery(now, rng, &relay, id, message_id, &sealed, suite)?
//!               a reconnection -> core.handle_relay_connected(now, &relay)?
//!               core.poll_timeout() -> core.handle_timeout(now, rng)?
//!               a user action  -> core.send_text(now, rng, contact, text, None)? …
//! }
//! ```
//!
//! Requests may be sent concurrently and answered in any order; the core keeps
//! the order that matters (one SEND at a time per destination queue).
//!
//! Every change is written to the store in one atomic batch before any command
//! that depends on it is made (a message is acknowledged only once its effects
//! are stored), so the process may stop after any call and a core opened again
//! on the same store carries on.
//!
//! # Durability
//!
//! A batch applied is not yet durable: a backend may group many batches under
//! one sync (see [`Store::sync`]). The core states the rule itself: **a relay
//! request or an event is handed out only once the writes it depends on are
//! durable.** Each batch applied gets the next [`WriteMark`]; each request
//! records the mark of the writes made before it, each event the mark of the
//! batch assembled with it; [`Core::poll_relay_request`] and
//! [`Core::poll_event`] hold back what the store has not reported durable. A
//! driver asks for a sync with [`Core::start_sync`] (or blocks on
//! [`Core::sync`]), runs the returned [`SyncTicket`] where the wait does no
//! harm, and reports its mark with [`Core::handle_synced`]; a driver whose
//! store is made durable by other means (the browser's IndexedDB) reads
//! [`Core::write_mark`] before it takes the changes and reports that mark once
//! they are committed. What is made while a sync runs waits for the next
//! one, so a burst of deliveries is acknowledged a group at a time. A failed
//! sync is reported with [`Core::handle_sync_failed`].

use std::collections::{BTreeMap, HashMap};

use rand_core::CryptoRngCore;
use sotto_crypto::{PICKLE_NONCE_LEN, Session};
use sotto_wire::{
    CipherSuite, Command, MessageContent, MessageId, RecipientId, RelayAddress, Response,
    SealedMessage,
};
use zeroize::Zeroizing;

use crate::account::Account;
use crate::chat_item::{EXPIRY, MESSAGES};
use crate::connection::{Channel, ConnectionRecord, Stage};
use crate::durability::{Journal, SyncTicket, WriteMark};
use crate::event::{Event, EventQueue, Pending};
use crate::ids::{ConnectionId, MessageNumber};
use crate::job::{JobRecord, backoff};
use crate::outbox::{InFlight, Outbox};
use crate::profile::Profile;
use crate::queue_record::{QueueOwner, QueueRecord};
use crate::relay_request::{RelayRequest, RequestToken};
use crate::time::UnixMillis;
use crate::{ChatItem, CoreError, KeyRange, Store, WriteBatch};

/// How many connections keep their ratchet session open between messages (a
/// session is a few KiB).
const MAX_OPEN_SESSIONS: usize = 256;

/// One Sotto profile: contacts, chats and the connections being made, kept in
/// a [`Store`]. See the module documentation for how to drive it.
pub struct Core<S: Store> {
    /// The store, counting the batches applied and those made durable.
    pub(crate) store: Journal<S>,
    pub(crate) account: Account,
    /// Relay commands: durable jobs, what is ready to hand out, what waits
    /// for an answer.
    pub(crate) outbox: Outbox,
    pub(crate) events: EventQueue,
    /// Connections with delivery receipts waiting, and when they go out.
    pub(crate) receipts_due: BTreeMap<ConnectionId, UnixMillis>,
    /// The open ratchet sessions of recently active connections, so a burst
    /// of messages does not unpickle each time. The stored pickle stays the
    /// truth: a session is taken out while in use and put back only once
    /// the batch holding its new pickle is committed.
    sessions: HashMap<ConnectionId, Session>,
    next_expiry: Option<UnixMillis>,
}

impl<S: Store> Core<S> {
    /// Creates a new profile in an empty store: a fresh identity key and the
    /// user's profile (name and bio, sent only to contacts).
    pub fn create(
        mut store: S,
        rng: &mut impl CryptoRngCore,
        profile: Profile,
    ) -> Result<Core<S>, CoreError> {
        if Account::load(&store)?.is_some() {
            return Err(CoreError::ProfileExists);
        }
        let identity = random_secret(rng);
        let pickle_key = random_secret(rng);
        let account = Account::new(*identity, *pickle_key, profile);
        let mut batch = WriteBatch::new();
        account.put(&mut batch);
        store.apply(batch)?;
        Core::open(store)
    }

    /// Opens the profile in `store` and schedules the jobs it left pending.
    /// A profile marked as moved (exported to another device) is refused.
    pub fn open(mut store: S) -> Result<Core<S>, CoreError> {
        if crate::archive::moved(&store)?.is_some() {
            return Err(CoreError::ProfileMoved);
        }
        crate::migrate::migrate(&mut store)?;
        let account = Account::load(&store)?.ok_or(CoreError::NoProfile)?;
        let mut core = Core {
            store: Journal::new(store),
            account,
            outbox: Outbox::new(),
            events: EventQueue::default(),
            receipts_due: BTreeMap::new(),
            sessions: HashMap::new(),
            next_expiry: None,
        };
        for job in JobRecord::load_all(&core.store)? {
            core.outbox.schedule(&job);
        }
        for connection in ConnectionRecord::load_all(&core.store)? {
            if let Stage::Established(established) = &connection.stage
                && !established.pending_receipts.is_empty()
            {
                core.receipts_due.insert(connection.id, UnixMillis(0));
            }
        }
        core.refresh_expiry()?;
        Ok(core)
    }

    /// The store, for export and tests.
    pub fn store(&self) -> &S {
        self.store.inner()
    }

    /// Gives the store back.
    pub fn into_store(self) -> S {
        self.store.into_inner()
    }

    /// Every relay the core talks to: where its queues are, where its
    /// contacts' queues are and where its jobs go. The runtime connects to
    /// each and reports it with [`Core::handle_relay_connected`].
    pub fn relays(&self) -> Result<Vec<RelayAddress>, CoreError> {
        let mut relays: Vec<RelayAddress> = Vec::new();
        let queues = QueueRecord::load_all(&self.store)?;
        let connections = ConnectionRecord::load_all(&self.store)?;
        let wanted = queues
            .iter()
            .map(|queue| &queue.relay)
            .chain(
                connections
                    .iter()
                    .filter_map(|connection| connection.stage.channel())
                    .map(|channel| &channel.send_queue.address.relay),
            )
            .chain(self.outbox.relays());
        for relay in wanted {
            if !relays.contains(relay) {
                relays.push(relay.clone());
            }
        }
        Ok(relays)
    }

    /// The relays that hold this profile's own queues. A live runtime keeps
    /// a connection to each (subscribed, renewed when lost); the other relays
    /// of [`Core::relays`] only receive what this profile sends, so it
    /// connects to them when a request goes there and lets an idle
    /// connection go (a relay closes a connection that authorizes nothing).
    pub fn subscribed_relays(&self) -> Result<Vec<RelayAddress>, CoreError> {
        let mut relays: Vec<RelayAddress> = Vec::new();
        for queue in QueueRecord::load_all(&self.store)? {
            if !relays.contains(&queue.relay) {
                relays.push(queue.relay);
            }
        }
        Ok(relays)
    }

    // --- Outputs ---------------------------------------------------------------

    /// The next command to send to a relay, once the writes it depends on
    /// are durable (see "Durability" in the module documentation).
    pub fn poll_relay_request(&mut self) -> Option<RelayRequest> {
        self.outbox.poll_request(self.store.durable())
    }

    /// The next event for the user interface, once the writes behind it are
    /// durable; its views are read from the store as it is now (an event
    /// about something gone since is skipped).
    pub fn poll_event(&mut self) -> Result<Option<Event>, CoreError> {
        while let Some(pending) = self.events.pop(self.store.applied(), self.store.durable()) {
            if let Some(event) = self.complete(pending)? {
                return Ok(Some(event));
            }
        }
        Ok(None)
    }

    // --- Durability ------------------------------------------------------------

    /// The mark of the last batch applied to the store: every output made
    /// so far waits for at most this mark. A driver that makes the store
    /// durable by its own means (the browser's IndexedDB) reads it before
    /// it takes the store's changes, and reports it to
    /// [`Core::handle_synced`] once they are committed.
    pub fn write_mark(&self) -> WriteMark {
        self.store.applied()
    }

    /// Whether batches were applied that no sync has covered yet: outputs
    /// may be waiting for [`Core::start_sync`] or [`Core::sync`].
    pub fn needs_sync(&self) -> bool {
        !self.store.is_durable(self.store.applied())
    }

    /// Starts making every applied batch durable ([`Store::start_sync`]).
    /// Returns the wait for the disk, to run on any thread and report with
    /// [`Core::handle_synced`]; `None` when nothing waits or the store was
    /// durable at once, and then what waited for it can be polled now.
    pub fn start_sync(&mut self) -> Result<Option<SyncTicket>, CoreError> {
        Ok(self.store.start_sync_applied()?)
    }

    /// Makes every applied batch durable now ([`Store::sync`]), blocking
    /// for the disk: every output made so far can be polled after it.
    pub fn sync(&mut self) -> Result<(), CoreError> {
        Ok(self.store.sync_applied()?)
    }

    /// The store made every batch up to `mark` durable: the outputs that
    /// waited for them can be polled. A stale mark changes nothing.
    pub fn handle_synced(&mut self, mark: WriteMark) {
        self.store.synced(mark);
    }

    /// A sync failed (the writes it covered may be lost): the relay commands
    /// that waited for it are failed as if unanswered (jobs are retried after
    /// their backoff, once a later sync covers them), and the events that
    /// waited are let out, since they show what the core holds.
    pub fn handle_sync_failed(&mut self, now: UnixMillis) -> Result<(), CoreError> {
        for token in self.outbox.take_held(self.store.durable()) {
            if let Some(InFlight::Job(id)) = self.outbox.answered(token) {
                self.retry_job(now, id)?;
            }
        }
        self.events.release_all();
        self.promote_jobs(now)
    }

    /// When [`Core::handle_timeout`] should be called next, if ever.
    pub fn poll_timeout(&self) -> Option<UnixMillis> {
        let receipts = self.receipts_due.values().min().copied();
        [self.next_expiry, self.outbox.poll_timeout(), receipts]
            .into_iter()
            .flatten()
            .min()
    }

    /// Whether nothing waits: no command to hand out or answer to wait for, and
    /// no job due. A command-line `receive` stops when this holds.
    pub fn is_idle(&self, now: UnixMillis) -> bool {
        self.outbox.is_idle()
            && self.receipts_due.is_empty()
            && self.poll_timeout().is_none_or(|at| at > now)
    }

    // --- Inputs ----------------------------------------------------------------

    /// Time passed: retries fall due, delivery receipts go out and
    /// disappearing messages expire.
    pub fn handle_timeout(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(), CoreError> {
        self.flush_receipts(now, rng)?;
        self.tick(now)
    }

    /// Expires messages and hands out the jobs that are due.
    pub(crate) fn tick(&mut self, now: UnixMillis) -> Result<(), CoreError> {
        self.expire_messages(now)?;
        self.promote_jobs(now)
    }

    /// The runtime is connected to `relay` (again): subscribe every queue there,
    /// and send what waits for it now instead of after its backoff.
    pub fn handle_relay_connected(
        &mut self,
        now: UnixMillis,
        relay: &RelayAddress,
    ) -> Result<(), CoreError> {
        for queue in QueueRecord::load_all(&self.store)? {
            if &queue.relay == relay {
                let command = Command::Sub {
                    recipient_id: queue.recipient_id,
                };
                self.request(
                    relay.clone(),
                    command,
                    Some(&queue),
                    InFlight::Subscribe(relay.clone()),
                );
            }
        }
        self.outbox.hurry(now, Some(relay));
        self.promote_jobs(now)
    }

    /// The user acted again (a new command, a "retry" button): everything
    /// that waits in the outbox for the end of its backoff goes out now. The
    /// backoff spaces automatic retries; it must not make a user's next
    /// command skip what the last one could not send.
    pub fn retry_now(&mut self, now: UnixMillis) -> Result<(), CoreError> {
        self.outbox.hurry(now, None);
        self.promote_jobs(now)
    }

    /// Fetches what waits on every queue with GET (no subscription), for a
    /// command-line `receive`: each message is processed and acknowledged,
    /// then the next one is fetched until the relay has none.
    pub fn fetch_all(&mut self, now: UnixMillis) -> Result<(), CoreError> {
        for queue in QueueRecord::load_all(&self.store)? {
            self.request_get(&queue);
        }
        self.promote_jobs(now)
    }

    /// The relay answered the request `token`.
    pub fn handle_relay_response(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        token: RequestToken,
        response: Response,
        suite: CipherSuite,
    ) -> Result<(), CoreError> {
        let Some(waiting) = self.outbox.answered(token) else {
            return Ok(());
        };
        let result = match waiting {
            InFlight::Job(id) => {
                let result = self.job_answered(now, rng, id, response);
                if result.is_err()
                    && let Some(slot) = self.outbox.slot_mut(id)
                    && slot.in_flight
                {
                    // The answer could not be applied (storage failed, or the
                    // relay's IDS was unusable): the job runs again later.
                    slot.in_flight = false;
                    slot.attempts = slot.attempts.saturating_add(1);
                    slot.not_before = now.after(backoff(slot.attempts));
                }
                result
            }
            InFlight::Subscribe(relay) => {
                if let Response::Err { code, .. } = response {
                    // The relay no longer knows the queue (or refuses us): the
                    // chat on it is cut off; say so rather than wait forever.
                    self.notify(Pending::Ready(Event::RelayFault {
                        relay,
                        reason: format!("subscription refused ({code:?})"),
                    }));
                }
                Ok(())
            }
            InFlight::Get(recipient_id) => match response {
                Response::Msg {
                    recipient_id: delivered,
                    message_id,
                    sealed,
                } if delivered == recipient_id => self.deliver(
                    now,
                    rng,
                    None,
                    recipient_id,
                    message_id,
                    &sealed,
                    suite,
                    true,
                ),
                _ => Ok(()),
            },
            InFlight::Ack {
                recipient_id,
                then_get,
            } => {
                if then_get
                    && matches!(response, Response::Ok { .. })
                    && let Some(queue) = QueueRecord::load(&self.store, &recipient_id)?
                {
                    self.request_get(&queue);
                }
                Ok(())
            }
        };
        self.promote_jobs(now)?;
        result
    }

    /// No answer came for `token` (connection lost, timeout): jobs are retried
    /// after their backoff; subscriptions are renewed by
    /// [`Core::handle_relay_connected`].
    pub fn handle_relay_failure(
        &mut self,
        now: UnixMillis,
        token: RequestToken,
    ) -> Result<(), CoreError> {
        if let Some(InFlight::Job(id)) = self.outbox.answered(token) {
            self.retry_job(now, id)?;
        }
        self.promote_jobs(now)
    }

    /// A relay pushed a message on a subscribed queue (MSG). The core opens it
    /// with the queue's key, stores its effects, then asks for its ACK.
    ///
    /// A message that opens but is bad (not for this chat, tampered end to end,
    /// malformed) is dropped, acknowledged and reported as
    /// [`Event::RelayFault`]; that is `Ok`. An `Err` means the message was not
    /// acknowledged (it does not open with the queue key, or storage failed):
    /// log it and carry on — the core stays usable and the relay will deliver
    /// the message again.
    // The parts of one pushed MSG, as the runtime has them.
    #[allow(clippy::too_many_arguments)]
    pub fn handle_delivery(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        relay: &RelayAddress,
        recipient_id: RecipientId,
        message_id: MessageId,
        sealed: &SealedMessage,
        suite: CipherSuite,
    ) -> Result<(), CoreError> {
        let result = self.deliver(
            now,
            rng,
            Some(relay),
            recipient_id,
            message_id,
            sealed,
            suite,
            false,
        );
        self.promote_jobs(now)?;
        result
    }

    // --- Deliveries ------------------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    fn deliver(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        relay: Option<&RelayAddress>,
        recipient_id: RecipientId,
        message_id: MessageId,
        sealed: &SealedMessage,
        suite: CipherSuite,
        fetched: bool,
    ) -> Result<(), CoreError> {
        let Some(mut queue) = QueueRecord::load(&self.store, &recipient_id)? else {
            return Ok(());
        };
        if relay.is_some_and(|relay| relay != &queue.relay) {
            return Ok(());
        }
        if queue.last_message == Some(message_id) {
            // Redelivered after a lost ACK: its effects are stored already.
            self.request_ack(&queue, message_id, fetched);
            return Ok(());
        }
        let message = match queue.queue_key.open(suite, &message_id, sealed) {
            Ok(message) => message,
            Err(error) => {
                // Not sealed for us: a relay fault. Not acknowledged.
                self.notify(Pending::Ready(Event::RelayFault {
                    relay: queue.relay.clone(),
                    reason: error.to_string(),
                }));
                return Err(error.into());
            }
        };
        let mut batch = WriteBatch::new();
        queue.last_message = Some(message_id);
        let mut opened = None;
        if let MessageContent::Body(body) = message.content {
            let outcome = match queue.owner {
                QueueOwner::Connection(connection) => self
                    .receive_chat(now, rng, connection, body.as_bytes(), &mut batch)
                    .map(|session| opened = session),
                QueueOwner::Invitation(invitation) => self.receive_answer(
                    now,
                    rng,
                    invitation,
                    &mut queue,
                    body.as_bytes(),
                    &mut batch,
                ),
                QueueOwner::Address => self.receive_request(now, rng, body.as_bytes(), &mut batch),
            };
            if let Err(error) = outcome {
                // Whatever a sender put in the queue, it must not block it:
                // the message is dropped (and acknowledged), the reason shown.
                if !error.is_remote_fault() {
                    return Err(error);
                }
                batch = WriteBatch::new();
                opened = None;
                self.notify(Pending::Ready(Event::RelayFault {
                    relay: queue.relay.clone(),
                    reason: error.to_string(),
                }));
            }
        }
        queue.put(&mut batch);
        self.commit(batch)?;
        if let Some((connection, session)) = opened {
            self.keep_session(connection, session);
        }
        self.request_ack(&queue, message_id, fetched);
        Ok(())
    }

    // --- Transient requests ----------------------------------------------------

    pub(crate) fn request(
        &mut self,
        relay: RelayAddress,
        command: Command,
        queue: Option<&QueueRecord>,
        waiting: InFlight,
    ) {
        let mark = self.store.applied();
        self.outbox.request(
            relay,
            command,
            queue.map(QueueRecord::auth_key),
            waiting,
            mark,
        );
    }

    fn request_get(&mut self, queue: &QueueRecord) {
        let command = Command::Get {
            recipient_id: queue.recipient_id,
        };
        self.request(
            queue.relay.clone(),
            command,
            Some(queue),
            InFlight::Get(queue.recipient_id),
        );
    }

    fn request_ack(&mut self, queue: &QueueRecord, message_id: MessageId, then_get: bool) {
        let command = Command::Ack {
            recipient_id: queue.recipient_id,
            message_id,
        };
        self.request(
            queue.relay.clone(),
            command,
            Some(queue),
            InFlight::Ack {
                recipient_id: queue.recipient_id,
                then_get,
            },
        );
    }

    /// Queues an event for [`Core::poll_event`], unless the same one waits
    /// last already (a burst that touches one chat or item many times).
    pub(crate) fn notify(&mut self, pending: Pending) {
        self.events.notify(self.store.applied(), pending);
    }

    // --- Storage helpers -------------------------------------------------------

    /// Applies `batch` together with the account record (its id counter).
    pub(crate) fn commit(&mut self, mut batch: WriteBatch) -> Result<(), CoreError> {
        self.account.put(&mut batch);
        self.store.apply(batch)?;
        Ok(())
    }

    /// The open session of `connection`: the kept one, or its stored pickle
    /// opened. The caller puts it back with [`Core::keep_session`] once the
    /// batch with its new pickle is committed (or drops it on failure, so
    /// the next use opens what is stored).
    pub(crate) fn open_session(
        &mut self,
        connection: ConnectionId,
        channel: &Channel,
    ) -> Result<Session, CoreError> {
        if let Some(session) = self.sessions.remove(&connection) {
            return Ok(session);
        }
        Session::from_pickle(&self.account.pickle_key, &channel.session)
            .map_err(|_| CoreError::CorruptRecord("session"))
    }

    /// Keeps a session open after its pickle was committed.
    pub(crate) fn keep_session(&mut self, connection: ConnectionId, session: Session) {
        if self.sessions.len() >= MAX_OPEN_SESSIONS
            && !self.sessions.contains_key(&connection)
            && let Some(evicted) = self.sessions.keys().next().copied()
        {
            self.sessions.remove(&evicted);
        }
        self.sessions.insert(connection, session);
    }

    /// Forgets a connection's open session (the connection is gone).
    pub(crate) fn forget_session(&mut self, connection: ConnectionId) {
        self.sessions.remove(&connection);
    }

    pub(crate) fn pickle_session(
        &self,
        rng: &mut impl CryptoRngCore,
        session: &Session,
    ) -> Vec<u8> {
        let mut nonce = [0u8; PICKLE_NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        session.pickle(&self.account.pickle_key, &nonce)
    }

    /// Deletes every message whose timer ran out.
    fn expire_messages(&mut self, now: UnixMillis) -> Result<(), CoreError> {
        loop {
            let due = self.store.range(
                EXPIRY,
                &KeyRange {
                    start: Vec::new(),
                    end: Some((now.0.saturating_add(1)).to_be_bytes().to_vec()),
                },
                crate::Direction::Forward,
                256,
            )?;
            if due.is_empty() {
                break;
            }
            let mut batch = WriteBatch::new();
            let mut expired: BTreeMap<crate::ChatId, Vec<MessageNumber>> = BTreeMap::new();
            for record in &due {
                batch.delete(EXPIRY, record.key.clone());
                let (Some(contact), Some(number)) = (
                    record
                        .key
                        .get(8..16)
                        .and_then(|b| <[u8; 8]>::try_from(b).ok()),
                    record
                        .key
                        .get(16..24)
                        .and_then(|b| <[u8; 8]>::try_from(b).ok()),
                ) else {
                    continue;
                };
                let contact = crate::ChatId(u64::from_be_bytes(contact));
                let number = MessageNumber(u64::from_be_bytes(number));
                if let Some(item) = ChatItem::load(&self.store, contact, number)? {
                    item.delete(&self.store, &mut batch)?;
                }
                batch.delete(MESSAGES, ChatItem::key(contact, number));
                expired.entry(contact).or_default().push(number);
            }
            self.store.apply(batch)?;
            for (chat, numbers) in expired {
                self.notify(Pending::Ready(Event::ItemsRemoved { chat, numbers }));
                // The chat's preview may have been one of them.
                self.notify(Pending::ChatChanged(chat));
            }
        }
        self.refresh_expiry()
    }

    pub(crate) fn refresh_expiry(&mut self) -> Result<(), CoreError> {
        let first = self
            .store
            .range(EXPIRY, &KeyRange::all(), crate::Direction::Forward, 1)?;
        self.next_expiry = first
            .first()
            .and_then(|record| record.key.get(..8))
            .and_then(|bytes| <[u8; 8]>::try_from(bytes).ok())
            .map(|bytes| UnixMillis(u64::from_be_bytes(bytes)));
        Ok(())
    }

    /// Notes a new expiry time written by a batch.
    pub(crate) fn note_expiry(&mut self, at: UnixMillis) {
        self.next_expiry = Some(self.next_expiry.map_or(at, |e| e.min(at)));
    }

    /// Item `number` of a chat, or [`CoreError::UnknownMessage`].
    pub(crate) fn item(
        &self,
        contact: crate::ChatId,
        number: MessageNumber,
    ) -> Result<ChatItem, CoreError> {
        ChatItem::load(&self.store, contact, number)?.ok_or(CoreError::UnknownMessage)
    }
}

/// 32 random bytes from the caller's generator.
pub(crate) fn random_secret(rng: &mut impl CryptoRngCore) -> Zeroizing<[u8; 32]> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(bytes.as_mut());
    bytes
}
