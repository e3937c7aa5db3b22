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

use rand_core::CryptoRngCore;
use sotto_wire::{
    CipherSuite, Command, MessageId, RecipientId, RelayAddress, Response, SealedMessage,
};

use crate::account::Account;
use crate::chats::Chats;
use crate::connection::ConnectionRecord;
use crate::connector::Connector;
use crate::durability::{Journal, SyncTicket, WriteMark};
use crate::event::{Event, EventQueue, Pending};
use crate::inbox::Inbox;
use crate::job::{JobRecord, backoff};
use crate::locked_inbox::LockedInbox;
use crate::outbox::{self, InFlight, Outbox};
use crate::profile::Profile;
use crate::queue_record::QueueRecord;
use crate::relay_request::{RelayRequest, RequestToken};
use crate::shared::{Sessions, Shared, random_secret};
use crate::staged_batch::StagedBatch;
use crate::time::UnixMillis;
use crate::{CoreError, Store, WriteBatch};

/// One Sotto profile: contacts, chats and the connections being made, kept in
/// a [`Store`]. See the module documentation for how to drive it.
///
/// The core routes each input to the sub-machine it is for, lending it the
/// common state (store, account, outbox, open sessions, events): the inbox
/// receives, the connector makes connections, the chats keep the history and
/// its timers, and the outbox schedules relay commands and applies their
/// answers.
pub struct Core<S: Store> {
    /// The store, counting the batches applied and those made durable.
    pub(crate) store: Journal<S>,
    pub(crate) account: Account,
    /// Relay commands: durable jobs, what is ready to hand out, what waits
    /// for an answer.
    pub(crate) outbox: Outbox,
    pub(crate) events: EventQueue,
    sessions: Sessions,
    pub(crate) inbox: Inbox,
    pub(crate) connector: Connector,
    pub(crate) chats: Chats,
    /// The group the last log entry or message went to, decoded.
    pub(crate) group_cache: crate::group_record::GroupCache,
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
        let mut outbox = Outbox::new();
        for job in JobRecord::load_all(&store)? {
            outbox.schedule(&job);
        }
        let chats = Chats::open(&store)?;
        Ok(Core {
            store: Journal::new(store),
            account,
            outbox,
            events: EventQueue::default(),
            sessions: Sessions::default(),
            inbox: Inbox,
            connector: Connector,
            chats,
            group_cache: crate::group_record::GroupCache::default(),
        })
    }

    /// The common state lent to a sub-machine, and the sub-machines, each
    /// borrowed apart.
    pub(crate) fn parts(&mut self) -> (Shared<'_, S>, &mut Inbox, &mut Connector, &mut Chats) {
        let shared = Shared {
            journal: &mut self.store,
            account: &mut self.account,
            outbox: &mut self.outbox,
            sessions: &mut self.sessions,
            events: &mut self.events,
        };
        (
            shared,
            &mut self.inbox,
            &mut self.connector,
            &mut self.chats,
        )
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

    /// What receiving needs while the profile is locked: every queue's relay,
    /// recipient id and recipient auth secret, and nothing else (see
    /// [`LockedInbox`]). The core itself can then be dropped.
    pub fn locked_inbox(&self) -> Result<LockedInbox, CoreError> {
        let queues = QueueRecord::load_all(&self.store)?;
        Ok(LockedInbox::new(queues.into_iter().map(|queue| {
            let auth_secret = queue.auth_key();
            (queue.relay, queue.recipient_id, auth_secret)
        })))
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
        while let Some(pending) = self.events.pop(self.store.durable()) {
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
        let (mut cx, ..) = self.parts();
        for token in cx.outbox.take_held(cx.journal.durable()) {
            if let Some(InFlight::Job(id)) = cx.outbox.answered(token) {
                outbox::retry_job(&mut cx, now, id)?;
            }
        }
        cx.events.release_all();
        outbox::promote_jobs(&mut cx, now)
    }

    /// When [`Core::handle_timeout`] should be called next, if ever.
    pub fn poll_timeout(&self) -> Option<UnixMillis> {
        [self.chats.poll_timeout(), self.outbox.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Whether nothing waits: no command to hand out (or held for a sync) or
    /// answer to wait for, and no job due. A command-line `receive` stops
    /// when this holds; events may still wait for a sync ([`Core::sync`]
    /// lets them out).
    pub fn is_idle(&self, now: UnixMillis) -> bool {
        self.outbox.is_idle()
            && !self.chats.owes_receipts()
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
        let (mut cx, _, _, chats) = self.parts();
        chats.handle_timeout(&mut cx, now, rng)?;
        self.tick(now)
    }

    /// Expires messages and hands out the jobs that are due.
    pub(crate) fn tick(&mut self, now: UnixMillis) -> Result<(), CoreError> {
        let (mut cx, _, _, chats) = self.parts();
        chats.expire_messages(&mut cx, now)?;
        outbox::promote_jobs(&mut cx, now)
    }

    /// The runtime is connected to `relay` (again): subscribe every queue there,
    /// and send what waits for it now instead of after its backoff.
    pub fn handle_relay_connected(
        &mut self,
        now: UnixMillis,
        relay: &RelayAddress,
    ) -> Result<(), CoreError> {
        let (mut cx, ..) = self.parts();
        for queue in QueueRecord::load_all(cx.store())? {
            if &queue.relay == relay {
                let command = Command::Sub {
                    recipient_id: queue.recipient_id,
                };
                cx.request(
                    relay.clone(),
                    command,
                    Some(&queue),
                    InFlight::Subscribe(relay.clone()),
                );
            }
        }
        cx.outbox.hurry(now, Some(relay));
        outbox::promote_jobs(&mut cx, now)
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
        let (mut cx, ..) = self.parts();
        for queue in QueueRecord::load_all(cx.store())? {
            Inbox::request_get(&mut cx, &queue);
        }
        outbox::promote_jobs(&mut cx, now)
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
        let (mut cx, inbox, connector, chats) = self.parts();
        let Some(waiting) = cx.outbox.answered(token) else {
            return Ok(());
        };
        let result = match waiting {
            InFlight::Job(id) => {
                let result =
                    outbox::handle_job_answer(&mut cx, chats, connector, now, rng, id, response);
                if result.is_err()
                    && let Some(slot) = cx.outbox.slot_mut(id)
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
                    cx.notify(Pending::ready(Event::RelayFault {
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
                } if delivered == recipient_id => inbox.handle_delivery(
                    &mut cx,
                    chats,
                    connector,
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
                    && let Some(queue) = QueueRecord::load(cx.store(), &recipient_id)?
                {
                    Inbox::request_get(&mut cx, &queue);
                }
                Ok(())
            }
        };
        outbox::promote_jobs(&mut cx, now)?;
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
        let (mut cx, ..) = self.parts();
        if let Some(InFlight::Job(id)) = cx.outbox.answered(token) {
            outbox::retry_job(&mut cx, now, id)?;
        }
        outbox::promote_jobs(&mut cx, now)
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
        let (mut cx, inbox, connector, chats) = self.parts();
        let result = inbox.handle_delivery(
            &mut cx,
            chats,
            connector,
            now,
            rng,
            Some(relay),
            recipient_id,
            message_id,
            sealed,
            suite,
            false,
        );
        outbox::promote_jobs(&mut cx, now)?;
        result
    }

    /// Applies `batch` together with the account record (its id counter),
    /// and lets out what was staged with it.
    pub(crate) fn commit(&mut self, batch: StagedBatch) -> Result<(), CoreError> {
        self.parts().0.commit(batch)
    }

    /// Hands out every job that may run now.
    pub(crate) fn promote_jobs(&mut self, now: UnixMillis) -> Result<(), CoreError> {
        let (mut cx, ..) = self.parts();
        outbox::promote_jobs(&mut cx, now)
    }
}

#[cfg(test)]
mod tests;
