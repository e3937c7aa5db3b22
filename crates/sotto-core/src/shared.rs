//! What every sub-machine of the core works with while it handles an input:
//! the store (batches are applied through it, counted by write marks), the
//! account (ids, keys, profile), the outbox (jobs and relay requests), the
//! open ratchet sessions and the events. [`crate::Core`] lends them out as
//! one [`Shared`] for the length of a call, beside the sub-machine's own
//! state. What a batch being assembled makes (events, changes to the job
//! schedule) is staged with it (`staged_batch`) and takes effect only in
//! [`Shared::commit`].

use std::collections::HashMap;

use rand_core::CryptoRngCore;
use sotto_crypto::{PICKLE_NONCE_LEN, Session};
use sotto_wire::{Command, RelayAddress};
use zeroize::Zeroizing;

use crate::account::Account;
use crate::connection::Channel;
use crate::durability::Journal;
use crate::event::{EventQueue, Pending};
use crate::ids::{ChatId, ConnectionId, JobId, MessageNumber};
use crate::job::{JobCommand, JobPurpose, JobRecord};
use crate::outbox::{InFlight, Outbox};
use crate::queue_record::QueueRecord;
use crate::staged_batch::StagedBatch;
use crate::time::UnixMillis;
use crate::{ChatItem, CoreError, Store};

/// How many connections keep their ratchet session open between messages (a
/// session is a few KiB).
const MAX_OPEN_SESSIONS: usize = 256;

/// The open ratchet sessions of recently active connections, so a burst of
/// messages does not unpickle each time. The stored pickle stays the truth: a
/// session is taken out while in use and put back only once the batch
/// holding its new pickle is committed.
#[derive(Default)]
pub(crate) struct Sessions {
    open: HashMap<ConnectionId, Session>,
}

/// The core's common state, lent to a sub-machine for one call.
pub(crate) struct Shared<'a, S: Store> {
    pub(crate) journal: &'a mut Journal<S>,
    pub(crate) account: &'a mut Account,
    pub(crate) outbox: &'a mut Outbox,
    pub(crate) sessions: &'a mut Sessions,
    pub(crate) events: &'a mut EventQueue,
}

impl<S: Store> Shared<'_, S> {
    /// The store, to read.
    pub(crate) fn store(&self) -> &Journal<S> {
        self.journal
    }

    /// Applies `batch` together with the account record (its id counter),
    /// then lets out what was staged with it: its events wait for its mark,
    /// its jobs join the schedule. A batch the store refuses lets nothing
    /// out, as one never committed.
    pub(crate) fn commit(&mut self, batch: StagedBatch) -> Result<(), CoreError> {
        let (mut writes, outputs) = batch.into_parts();
        self.account.put(&mut writes);
        self.journal.apply(writes)?;
        let mark = self.journal.applied();
        for id in outputs.unscheduled {
            self.outbox.forget(id);
        }
        for (id, slot) in outputs.scheduled {
            self.outbox.schedule_slot(id, slot);
        }
        for pending in outputs.events {
            self.events.notify(mark, pending);
        }
        Ok(())
    }

    /// Queues an event for [`crate::Core::poll_event`] about writes applied
    /// already. An event about a batch being assembled is staged with it
    /// instead ([`StagedBatch::notify`]), so that it goes if the batch does.
    pub(crate) fn notify(&mut self, pending: Pending) {
        self.events.notify(self.journal.applied(), pending);
    }

    /// Queues a transient relay command; it waits for the writes applied so
    /// far.
    pub(crate) fn request(
        &mut self,
        relay: RelayAddress,
        command: Command,
        queue: Option<&QueueRecord>,
        waiting: InFlight,
    ) {
        let mark = self.journal.applied();
        self.outbox.request(
            relay,
            command,
            queue.map(QueueRecord::auth_key),
            waiting,
            mark,
        );
    }

    /// Adds a job to `batch`, and to the outbox's schedule once `batch` is
    /// committed.
    pub(crate) fn add_job(
        &mut self,
        batch: &mut StagedBatch,
        now: UnixMillis,
        relay: RelayAddress,
        command: JobCommand,
        purpose: JobPurpose,
    ) {
        self.add_job_at(batch, now, now, relay, command, purpose);
    }

    /// Adds a job that waits until `not_before` to `batch`.
    pub(crate) fn add_job_at(
        &mut self,
        batch: &mut StagedBatch,
        now: UnixMillis,
        not_before: UnixMillis,
        relay: RelayAddress,
        command: JobCommand,
        purpose: JobPurpose,
    ) {
        let id = JobId(self.account.allocate_id());
        let mut job = JobRecord::new(id, relay, command, purpose, now);
        job.not_before = not_before;
        job.put(batch);
        batch.schedule(&job);
    }

    /// The open session of `connection`: the kept one, or its stored pickle
    /// opened. The caller puts it back with [`Shared::keep_session`] once the
    /// batch with its new pickle is committed (or drops it on failure, so the
    /// next use opens what is stored).
    pub(crate) fn open_session(
        &mut self,
        connection: ConnectionId,
        channel: &Channel,
    ) -> Result<Session, CoreError> {
        if let Some(session) = self.sessions.open.remove(&connection) {
            return Ok(session);
        }
        Session::from_pickle(&self.account.pickle_key, &channel.session)
            .map_err(|_| CoreError::CorruptRecord("session"))
    }

    /// Keeps a session open after its pickle was committed.
    pub(crate) fn keep_session(&mut self, connection: ConnectionId, session: Session) {
        let open = &mut self.sessions.open;
        if open.len() >= MAX_OPEN_SESSIONS
            && !open.contains_key(&connection)
            && let Some(evicted) = open.keys().next().copied()
        {
            open.remove(&evicted);
        }
        open.insert(connection, session);
    }

    /// Forgets a connection's open session (the connection is gone).
    pub(crate) fn forget_session(&mut self, connection: ConnectionId) {
        self.sessions.open.remove(&connection);
    }

    /// The session's pickle, to store in its connection's channel.
    pub(crate) fn pickle_session(
        &self,
        rng: &mut impl CryptoRngCore,
        session: &Session,
    ) -> Vec<u8> {
        let mut nonce = [0u8; PICKLE_NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        session.pickle(&self.account.pickle_key, &nonce)
    }

    /// Item `number` of a chat, or [`CoreError::UnknownMessage`].
    pub(crate) fn item(&self, chat: ChatId, number: MessageNumber) -> Result<ChatItem, CoreError> {
        ChatItem::load(self.store(), chat, number)?.ok_or(CoreError::UnknownMessage)
    }
}

/// 32 random bytes from the caller's generator.
pub(crate) fn random_secret(rng: &mut impl CryptoRngCore) -> Zeroizing<[u8; 32]> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(bytes.as_mut());
    bytes
}
