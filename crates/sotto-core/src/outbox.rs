//! The outbox: durable relay jobs (see `job` for the record), their schedule
//! and what their answers mean. Jobs on one lane (one destination queue) go
//! out in the order they were made, up to [`SEND_WINDOW`] at a time so the
//! relay can commit them together; after a failure the failed job goes alone,
//! after its backoff, until it succeeds, and nothing overtakes it. An answer is
//! applied and its job deleted in one batch.

use std::collections::{BTreeMap, HashMap, VecDeque};

use rand_core::CryptoRngCore;
use sotto_wire::x25519_dalek::StaticSecret;
use sotto_wire::{
    Command, ErrorCode, QueueAuthSecret, QueueKey, RecipientId, RelayAddress, Response,
};

use crate::chats::Chats;
use crate::connection::ConnectionRecord;
use crate::connector::Connector;
use crate::durability::WriteMark;
use crate::event::Pending;
use crate::ids::JobId;
use crate::job::{JobCommand, JobPurpose, JobRecord, backoff};
use crate::queue_record::QueueRecord;
use crate::relay_request::{RelayRequest, RequestToken};
use crate::shared::Shared;
use crate::staged_batch::StagedBatch;
use crate::time::UnixMillis;
use crate::{ChatItem, CoreError, MessageStatus, Store, WriteBatch};

/// How many SENDs to one queue may wait for their answers at once.
pub(crate) const SEND_WINDOW: usize = 16;

/// The schedule of one stored job.
#[derive(Clone, Debug)]
pub(crate) struct JobSlot {
    pub(crate) relay: RelayAddress,
    pub(crate) lane: Vec<u8>,
    pub(crate) not_before: UnixMillis,
    pub(crate) attempts: u32,
    pub(crate) in_flight: bool,
}

impl JobSlot {
    /// The schedule of a job as stored, not yet handed out.
    pub(crate) fn new(job: &JobRecord) -> JobSlot {
        JobSlot {
            relay: job.relay.clone(),
            lane: job.lane.clone(),
            not_before: job.not_before,
            attempts: job.attempts,
            in_flight: false,
        }
    }
}

/// A request the core waits on.
#[derive(Clone, Debug)]
pub(crate) enum InFlight {
    Job(JobId),
    Subscribe(RelayAddress),
    Get(RecipientId),
    Ack {
        recipient_id: RecipientId,
        then_get: bool,
    },
}

/// The outbox's own state: the schedule of the stored jobs, the commands
/// ready to hand out, and what each request in flight waits for. It reads no
/// store; the core loads and writes the job records around it.
pub(crate) struct Outbox {
    jobs: BTreeMap<JobId, JobSlot>,
    /// Commands to hand out, in order, each with the mark of the writes it
    /// depends on (those applied when it was made).
    ready: VecDeque<(WriteMark, RelayRequest)>,
    in_flight: HashMap<RequestToken, InFlight>,
    next_token: u64,
}

impl Outbox {
    pub(crate) fn new() -> Outbox {
        Outbox {
            jobs: BTreeMap::new(),
            ready: VecDeque::new(),
            in_flight: HashMap::new(),
            next_token: 1,
        }
    }

    /// The next command to send, once the writes it depends on are durable.
    /// Marks grow along the queue, so the order is kept.
    pub(crate) fn poll_request(&mut self, durable: WriteMark) -> Option<RelayRequest> {
        match self.ready.front() {
            Some((mark, _)) if *mark <= durable => self.ready.pop_front().map(|(_, r)| r),
            _ => None,
        }
    }

    /// Takes back the commands still waiting for writes beyond `durable`
    /// (their sync failed); returns their tokens, to be failed.
    pub(crate) fn take_held(&mut self, durable: WriteMark) -> Vec<RequestToken> {
        let held = self.ready.iter().position(|(mark, _)| *mark > durable);
        match held {
            Some(first) => self
                .ready
                .drain(first..)
                .map(|(_, request)| request.token)
                .collect(),
            None => Vec::new(),
        }
    }

    /// When the first job held back by its backoff falls due.
    pub(crate) fn poll_timeout(&self) -> Option<UnixMillis> {
        // Walking at time zero: what could go out is "due" only if it was due
        // from the start; the rest tells when the first backoff ends.
        let (due, next) = self.walk(UnixMillis(0));
        let due = due
            .iter()
            .filter_map(|id| self.jobs.get(id))
            .map(|slot| slot.not_before)
            .min();
        [due, next].into_iter().flatten().min()
    }

    /// Nothing to hand out and no answer awaited.
    pub(crate) fn is_idle(&self) -> bool {
        self.ready.is_empty() && self.in_flight.is_empty()
    }

    /// Queues a command; its answer comes back to `waiting`.
    pub(crate) fn request(
        &mut self,
        relay: RelayAddress,
        command: Command,
        auth_key: Option<QueueAuthSecret>,
        waiting: InFlight,
        mark: WriteMark,
    ) {
        let token = RequestToken(self.next_token);
        self.next_token += 1;
        self.in_flight.insert(token, waiting);
        self.ready.push_back((
            mark,
            RelayRequest {
                token,
                relay,
                command,
                auth_key,
            },
        ));
    }

    /// What the request `token` was for, once it is answered or failed.
    pub(crate) fn answered(&mut self, token: RequestToken) -> Option<InFlight> {
        self.in_flight.remove(&token)
    }

    /// Schedules a stored job.
    pub(crate) fn schedule(&mut self, job: &JobRecord) {
        self.schedule_slot(job.id, JobSlot::new(job));
    }

    /// Schedules a job whose record a committed batch wrote.
    pub(crate) fn schedule_slot(&mut self, id: JobId, slot: JobSlot) {
        self.jobs.insert(id, slot);
    }

    /// Ends the backoff of every job waiting (for `relay`, or all): they go
    /// out at the next promotion.
    pub(crate) fn hurry(&mut self, now: UnixMillis, relay: Option<&RelayAddress>) {
        for slot in self.jobs.values_mut() {
            if !slot.in_flight && relay.is_none_or(|relay| &slot.relay == relay) {
                slot.not_before = slot.not_before.min(now);
            }
        }
    }

    /// The relays the scheduled jobs go to.
    pub(crate) fn relays(&self) -> impl Iterator<Item = &RelayAddress> {
        self.jobs.values().map(|slot| &slot.relay)
    }

    pub(crate) fn slot_mut(&mut self, id: JobId) -> Option<&mut JobSlot> {
        self.jobs.get_mut(&id)
    }

    pub(crate) fn forget(&mut self, id: JobId) {
        self.jobs.remove(&id);
    }

    /// The jobs on `lane`.
    pub(crate) fn lane(&self, lane: &[u8]) -> Vec<JobId> {
        self.jobs
            .iter()
            .filter(|(_, slot)| slot.lane == lane)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Hands out a job's command (loaded by the caller).
    fn send(
        &mut self,
        id: JobId,
        relay: RelayAddress,
        command: Command,
        auth_key: Option<QueueAuthSecret>,
        mark: WriteMark,
    ) {
        if let Some(slot) = self.jobs.get_mut(&id) {
            slot.in_flight = true;
        }
        self.request(relay, command, auth_key, InFlight::Job(id), mark);
    }

    /// The jobs that may go out at `now`, in order, and the earliest time a job
    /// held back only by its backoff falls due.
    pub(crate) fn walk(&self, now: UnixMillis) -> (Vec<JobId>, Option<UnixMillis>) {
        #[derive(Default)]
        struct Lane {
            in_flight: usize,
            closed: bool,
        }
        let mut lanes: HashMap<&[u8], Lane> = HashMap::new();
        let mut due = Vec::new();
        let mut next: Option<UnixMillis> = None;
        let mut wait = |at: UnixMillis| next = Some(next.map_or(at, |n: UnixMillis| n.min(at)));
        for (id, slot) in &self.jobs {
            if slot.lane.is_empty() {
                if !slot.in_flight {
                    if slot.not_before <= now {
                        due.push(*id);
                    } else {
                        wait(slot.not_before);
                    }
                }
                continue;
            }
            let lane = lanes.entry(slot.lane.as_slice()).or_default();
            if lane.closed {
                continue;
            }
            if slot.in_flight {
                lane.in_flight += 1;
                // A retry in flight goes alone: nothing may overtake it.
                lane.closed = slot.attempts > 0;
                continue;
            }
            if lane.in_flight >= SEND_WINDOW {
                lane.closed = true;
                continue;
            }
            if slot.not_before > now {
                wait(slot.not_before);
                lane.closed = true;
                continue;
            }
            due.push(*id);
            lane.in_flight += 1;
            lane.closed = slot.attempts > 0;
        }
        (due, next)
    }
}

/// Hands out every job that may run now.
pub(crate) fn promote_jobs<S: Store>(
    cx: &mut Shared<'_, S>,
    now: UnixMillis,
) -> Result<(), CoreError> {
    let (due, _) = cx.outbox.walk(now);
    for id in due {
        let Some(job) = JobRecord::load(cx.store(), id)? else {
            // Its batch never committed.
            cx.outbox.forget(id);
            continue;
        };
        let Ok((command, auth_key)) = job.command.to_command() else {
            // A damaged job can never be sent: drop it rather than retry forever.
            let mut batch = WriteBatch::new();
            JobRecord::delete(id, &mut batch);
            cx.journal.apply(batch)?;
            cx.outbox.forget(id);
            continue;
        };
        let mark = cx.journal.applied();
        cx.outbox.send(id, job.relay, command, auth_key, mark);
    }
    Ok(())
}

pub(crate) fn retry_job<S: Store>(
    cx: &mut Shared<'_, S>,
    now: UnixMillis,
    id: JobId,
) -> Result<(), CoreError> {
    let Some(mut job) = JobRecord::load(cx.store(), id)? else {
        cx.outbox.forget(id);
        return Ok(());
    };
    job.attempts = job.attempts.saturating_add(1);
    job.not_before = now.after(backoff(job.attempts));
    let mut batch = WriteBatch::new();
    job.put(&mut batch);
    cx.journal.apply(batch)?;
    if let Some(slot) = cx.outbox.slot_mut(id) {
        slot.in_flight = false;
        slot.not_before = job.not_before;
        slot.attempts = job.attempts;
    }
    Ok(())
}

/// A job's command was answered: apply what the answer means.
pub(crate) fn handle_job_answer<S: Store>(
    cx: &mut Shared<'_, S>,
    chats: &mut Chats,
    connector: &mut Connector,
    now: UnixMillis,
    rng: &mut impl CryptoRngCore,
    id: JobId,
    response: Response,
) -> Result<(), CoreError> {
    let Some(job) = JobRecord::load(cx.store(), id)? else {
        cx.outbox.forget(id);
        return Ok(());
    };
    if matches!(
        job.purpose,
        JobPurpose::PublishLink(_) | JobPurpose::RefreshLink | JobPurpose::ResolveLink { .. }
    ) {
        return connector.handle_link_answer(cx, chats, now, rng, job, response);
    }
    match response {
        Response::Ok { .. } => job_done(cx, now, job, true),
        Response::Ids {
            recipient_id,
            sender_id,
            queue_dh_key,
        } => {
            let (
                JobCommand::New {
                    auth_secret,
                    dh_secret,
                },
                JobPurpose::NewQueue(owner),
            ) = (&job.command, job.purpose)
            else {
                return job_done(cx, now, job, false);
            };
            let queue_key = QueueKey::derive(&StaticSecret::from(**dh_secret), &queue_dh_key)?;
            let queue = QueueRecord {
                relay: job.relay.clone(),
                recipient_id,
                sender_id,
                auth_secret: auth_secret.clone(),
                queue_key,
                owner,
                last_message: None,
            };
            let mut batch = StagedBatch::new();
            JobRecord::delete(id, &mut batch);
            let wanted = connector.handle_queue_created(cx, chats, now, rng, &queue, &mut batch)?;
            if wanted {
                queue.put(&mut batch);
            }
            cx.commit(batch)?;
            cx.outbox.forget(id);
            if !wanted {
                return Ok(());
            }
            let command = Command::Sub { recipient_id };
            cx.request(
                queue.relay.clone(),
                command,
                Some(&queue),
                InFlight::Subscribe(queue.relay.clone()),
            );
            Ok(())
        }
        Response::Err {
            code:
                ErrorCode::Quota
                | ErrorCode::Internal
                | ErrorCode::Limit
                | ErrorCode::Block
                | ErrorCode::Full,
            ..
        } => retry_job(cx, now, id),
        // AUTH (queue gone), CMD, LARGE_MSG, NO_MSG: retrying cannot help.
        Response::Err { .. } => job_done(cx, now, job, false),
        // Link answers go to the connector above; the core sends no file chunk
        // or group log command yet: such an answer is as unexpected as a push.
        Response::Msg { .. }
        | Response::End { .. }
        | Response::Pong
        | Response::LinkIds { .. }
        | Response::Link { .. }
        | Response::FileIds { .. }
        | Response::FilePos { .. }
        | Response::FileData { .. }
        | Response::FileLimits { .. }
        | Response::GroupIds { .. }
        | Response::GroupSeq { .. }
        | Response::GroupEntry { .. }
        | Response::GroupPos { .. }
        | Response::GroupEnd { .. } => retry_job(cx, now, id),
    }
}

/// Removes a finished job and applies what its success or failure means.
fn job_done<S: Store>(
    cx: &mut Shared<'_, S>,
    now: UnixMillis,
    job: JobRecord,
    ok: bool,
) -> Result<(), CoreError> {
    let mut batch = WriteBatch::new();
    JobRecord::delete(job.id, &mut batch);
    let mut event = None;
    if let JobPurpose::ChatMessage { chat, number } = job.purpose
        && let Some(mut item) = ChatItem::load(cx.store(), chat, number)?
        && item.status == MessageStatus::Pending
    {
        let status = if ok {
            MessageStatus::Sent
        } else {
            MessageStatus::Failed
        };
        item.status = status;
        item.put(&mut batch);
        event = Some(Pending::ItemChanged(chat, number));
    }
    let refused_join = match (job.purpose, ok) {
        (JobPurpose::GroupJoinRequest { join }, false) => Some(join),
        _ => None,
    };
    if let (JobPurpose::Answer { connection }, false) = (job.purpose, ok)
        && let Ok(record) = ConnectionRecord::load(cx.store(), connection)
    {
        // The invitation's queue is gone (withdrawn, used, or never was).
        event = Some(Pending::ConnectionFailed(record.chat));
    }
    cx.journal.apply(batch)?;
    cx.outbox.forget(job.id);
    if let Some(event) = event {
        cx.notify(event);
    }
    if let Some(join) = refused_join {
        crate::groups::link_joins::request_refused(cx, now, join)?;
    }
    Ok(())
}

/// Forgets the jobs on `lane` (the queue of a deleted contact).
pub(crate) fn drop_lane<S: Store>(
    cx: &mut Shared<'_, S>,
    chats: &mut Chats,
    lane: &[u8],
    batch: &mut StagedBatch,
) {
    let dropped = cx.outbox.lane(lane);
    for id in dropped {
        // A message that will never be sent is failed, not pending forever.
        if let Ok(Some(job)) = JobRecord::load(cx.store(), id)
            && let JobPurpose::ChatMessage { chat, number } = job.purpose
            && let Ok(Some(mut item)) = ChatItem::load(cx.store(), chat, number)
            && item.status == MessageStatus::Pending
        {
            item.status = MessageStatus::Failed;
            chats.put_item(&item, batch);
        }
        JobRecord::delete(id, batch);
        batch.unschedule(id);
    }
}
