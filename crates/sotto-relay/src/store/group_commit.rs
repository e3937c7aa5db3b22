//! Group commit: many concurrent writes share one fsync.
//!
//! Connection tasks [`Committer::enqueue`] a [`WriteOp`] and get a [`PendingWrite`]
//! to await. The writer thread waits for the first pending op, then takes every op
//! already waiting (up to the batch limit) and applies them in arrival order in
//! one transaction.
//!
//! With a store that hides unsynced messages from readers
//! ([`Storage::hides_unsynced`]: the log), the writer commits each batch without
//! fsync ([`Commit::Deferred`]), hands its waiters to a syncer thread and goes
//! on with the next batch at once. The syncer takes every waiter handed to it so
//! far, runs one [`Storage::sync`], which covers every batch written before it
//! began, and only then answers them. So batches are appended while the disk
//! works, and one fsync covers all that came in during the one before: the
//! write path is an append plus a share of an fsync. With any other store
//! (redb), the writer commits each batch with fsync itself before answering it;
//! under load the next batch queues up meanwhile.
//!
//! With [`WriterConfig::defer_acks`] (the relay's default; `--sync-acks` turns it
//! off), ACKs are answered once written, without waiting for an fsync: losing an
//! ACK in a crash only means the message is delivered again, which at-least-once
//! delivery allows, and the next message is pushed without waiting for the disk.
//! The next sync makes them durable too, and there is one at most [`SYNC_DELAY`]
//! after an ACK if nothing else asks for one.
//!
//! Shutdown: [`WriterHandle::stop`] queues a stop behind every write enqueued so
//! far; the writer commits them, answers their waiters (after their sync) and
//! exits.
//!
//! A fatal storage error ([`Error::is_fatal`]: the store can no longer tell
//! what is on disk) stops the writer at once and raises
//! [`WriterHandle::failed`], so that the relay stops instead of answering from
//! a store that fails every write; a restart recovers from what was synced.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::{Commit, Storage, WriteOp, WriteOutcome};
use crate::Error;
use crate::clock::unix_now;
use crate::metrics::Metrics;

/// Ops waiting for the writer before `enqueue` waits for room (back-pressure).
const QUEUE_CAPACITY: usize = 16_384;

/// Longest a deferred commit (ACKs) stays without fsync.
pub const SYNC_DELAY: Duration = Duration::from_millis(100);

/// Where a write's outcome goes.
type Reply = oneshot::Sender<Result<WriteOutcome, Error>>;

struct Request {
    op: WriteOp,
    reply: Reply,
}

// Jobs live only in the channel; boxing writes would cost an allocation each.
#[allow(clippy::large_enum_variant)]
enum Job {
    Write(Request),
    /// Commit what came before, then stop.
    Stop,
}

/// Bytes of records the writer encodes and writes in one go, about: a batch
/// of SENDs beyond it is cut, so that an ACK waiting for the store (see
/// [`Committer::enqueue`]) waits for at most this much copying.
const MAX_BATCH_BYTES: usize = 1 << 20;

/// Submits writes to the group-commit writer. Cheap to clone.
#[derive(Clone)]
pub struct Committer {
    requests: mpsc::Sender<Job>,
    /// Where a deferred ACK is committed at once, by the connection that
    /// sends it, when the store syncs apart (see [`Committer::enqueue`]).
    direct: Option<Arc<Direct>>,
}

/// What a connection needs to commit an ACK itself.
struct Direct {
    writer: Arc<Writer>,
    syncer: Arc<Syncer>,
}

/// A write handed to the writer; await its outcome with [`PendingWrite::outcome`].
#[must_use = "a write's outcome must be awaited before answering the client"]
pub struct PendingWrite {
    reply: oneshot::Receiver<Result<WriteOutcome, Error>>,
}

/// The writer thread, to wait for at shutdown.
pub struct WriterHandle {
    thread: thread::JoinHandle<()>,
    requests: mpsc::Sender<Job>,
    failure: watch::Sender<bool>,
}

/// How the writer commits.
#[derive(Clone, Copy, Debug)]
pub struct WriterConfig {
    /// Most ops in one transaction.
    pub max_batch: usize,
    /// Commit ACK-only batches without fsync (see the module docs).
    pub defer_acks: bool,
}

/// Starts the writer thread over `storage`.
pub fn start(
    storage: Arc<dyn Storage>,
    config: WriterConfig,
    metrics: Arc<Metrics>,
) -> Result<(Committer, WriterHandle), Error> {
    let (requests, receiver) = mpsc::channel(QUEUE_CAPACITY);
    let config = WriterConfig {
        max_batch: config.max_batch.max(1),
        ..config
    };
    let failure = watch::Sender::new(false);
    let apart = storage.hides_unsynced();
    let writer = Arc::new(Writer {
        storage,
        config,
        metrics,
        failure: failure.clone(),
    });
    let syncer = if apart {
        let syncer = Arc::new(Syncer::default());
        let thread = thread::Builder::new()
            .name("sotto-syncer".into())
            .spawn({
                let writer = Arc::clone(&writer);
                let syncer = Arc::clone(&syncer);
                move || run_syncer(&writer, &syncer)
            })
            .map_err(Error::io("starting the storage syncer"))?;
        Some((syncer, thread))
    } else {
        None
    };
    let direct = match &syncer {
        Some((syncer, _)) if config.defer_acks => Some(Arc::new(Direct {
            writer: Arc::clone(&writer),
            syncer: Arc::clone(syncer),
        })),
        _ => None,
    };
    let thread = thread::Builder::new()
        .name("sotto-writer".into())
        .spawn(move || run_writer(&writer, receiver, syncer))
        .map_err(Error::io("starting the storage writer"))?;
    Ok((
        Committer {
            requests: requests.clone(),
            direct,
        },
        WriterHandle {
            thread,
            requests,
            failure,
        },
    ))
}

impl Committer {
    /// Hands `op` to the writer, waiting for room if the writer is behind.
    ///
    /// A deferred ACK, when the store syncs apart, is committed here and now
    /// instead: the queue's next message waits for it, and the trips to the
    /// writer thread and back cost more than the commit, a 41-byte append
    /// (the store's writer lock is held for at most [`MAX_BATCH_BYTES`] of
    /// copying).
    pub async fn enqueue(&self, op: WriteOp) -> Result<PendingWrite, Error> {
        let (reply, receiver) = oneshot::channel();
        if let Some(direct) = &self.direct
            && !op.needs_fsync()
        {
            if self.requests.is_closed() {
                return Err(Error::WriterStopped);
            }
            // The receiver is right here: the outcome cannot go missing.
            let _ = reply.send(direct.ack(&op));
            return Ok(PendingWrite { reply: receiver });
        }
        self.requests
            .send(Job::Write(Request { op, reply }))
            .await
            .map_err(|_| Error::WriterStopped)?;
        Ok(PendingWrite { reply: receiver })
    }

    /// Applies `op` durably and returns its outcome.
    pub async fn write(&self, op: WriteOp) -> Result<WriteOutcome, Error> {
        self.enqueue(op).await?.outcome().await
    }
}

impl PendingWrite {
    /// Waits until the op's transaction is durable (or failed).
    pub async fn outcome(mut self) -> Result<WriteOutcome, Error> {
        self.wait().await
    }

    /// Waits until the op's transaction is durable (or failed). Cancel-safe: if
    /// the wait is dropped, waiting again later gets the outcome. Call it once
    /// it returned no more.
    pub async fn wait(&mut self) -> Result<WriteOutcome, Error> {
        (&mut self.reply).await.map_err(|_| Error::WriterStopped)?
    }

    /// The outcome if the transaction is done, without waiting.
    pub fn try_outcome(&mut self) -> Option<Result<WriteOutcome, Error>> {
        match self.reply.try_recv() {
            Ok(outcome) => Some(outcome),
            Err(oneshot::error::TryRecvError::Empty) => None,
            Err(oneshot::error::TryRecvError::Closed) => Some(Err(Error::WriterStopped)),
        }
    }
}

impl WriterHandle {
    /// Completes once the store failed fatally (see the module docs).
    pub fn failed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut failed = self.failure.subscribe();
        async move {
            // An error means the writer is gone, which only a stop does.
            if failed.wait_for(|failed| *failed).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Raises [`WriterHandle::failed`] from elsewhere (the expiry sweep).
    pub fn failure_signal(&self) -> watch::Sender<bool> {
        self.failure.clone()
    }

    /// Waits for the writer to commit what was enqueued so far and stop; later
    /// writes fail with [`Error::WriterStopped`].
    pub async fn stop(self) {
        // Fails only if the writer is gone already.
        let _ = self.requests.send(Job::Stop).await;
        drop(self.requests);
        let thread = self.thread;
        match tokio::task::spawn_blocking(move || thread.join()).await {
            Ok(Ok(())) => {}
            _ => tracing::error!("the storage writer panicked"),
        }
    }
}

impl Direct {
    /// Commits `ack` without fsync and asks the syncer for one soon.
    fn ack(&self, ack: &WriteOp) -> Result<WriteOutcome, Error> {
        let writer = &self.writer;
        let outcome = writer
            .storage
            .apply(std::slice::from_ref(ack), unix_now(), Commit::Deferred)
            .and_then(|outcomes| {
                outcomes
                    .into_iter()
                    .next()
                    .ok_or_else(|| Error::Storage("storage returned no outcome".into()))
            });
        match &outcome {
            Ok(_) => {
                writer.metrics.record_deferred_commit();
                self.syncer.hand(Vec::new(), true);
            }
            Err(error) => {
                tracing::error!(%error, "committing an ACK failed");
                writer.check(error);
            }
        }
        outcome
    }
}

/// What the writer thread owns.
struct Writer {
    storage: Arc<dyn Storage>,
    config: WriterConfig,
    metrics: Arc<Metrics>,
    failure: watch::Sender<bool>,
}

impl Writer {
    /// Notes a fatal error: the writer stops taking writes.
    fn check(&self, error: &Error) -> bool {
        if error.is_fatal() {
            tracing::error!(%error, "stopping the relay: the store failed");
            self.failure.send_replace(true);
            return false;
        }
        true
    }
}

fn run_writer(
    writer: &Writer,
    mut receiver: mpsc::Receiver<Job>,
    syncer: Option<(Arc<Syncer>, thread::JoinHandle<()>)>,
) {
    // A runtime of its own, to wait on the channel and for the timer of the
    // deferred sync: blocking in it on storage is fine, nothing else runs there.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "cannot start the storage writer");
            return;
        }
    };
    let Some((syncer, thread)) = syncer else {
        runtime.block_on(write_inline(writer, receiver));
        return;
    };
    runtime.block_on(write_apart(writer, &mut receiver, &syncer));
    // Writes still waiting in the channel fail (the channel closes); what was
    // committed is synced before the syncer stops.
    drop(receiver);
    syncer.lock().stopping = true;
    syncer.wake.notify_one();
    if thread.join().is_err() {
        tracing::error!("the storage syncer panicked");
    }
}

/// Commits batch after batch without fsync, handing their waiters to the
/// syncer, until a stop, the end of the channel or a fatal error.
async fn write_apart(writer: &Writer, receiver: &mut mpsc::Receiver<Job>, syncer: &Syncer) {
    let max_batch = writer.config.max_batch;
    let mut batch = Batch::with_capacity(max_batch);
    let mut stopping = false;
    while !stopping {
        let mut bytes = 0;
        match receiver.recv().await {
            Some(Job::Write(request)) => {
                bytes += request.op.record_bytes();
                batch.take(request);
            }
            Some(Job::Stop) | None => break,
        }
        while batch.len() < max_batch && bytes < MAX_BATCH_BYTES {
            match receiver.try_recv() {
                Ok(Job::Write(request)) => {
                    bytes += request.op.record_bytes();
                    batch.take(request);
                }
                Ok(Job::Stop) => {
                    stopping = true;
                    break;
                }
                Err(_) => break,
            }
        }
        if !commit_apart(writer, &mut batch, syncer) {
            return;
        }
    }
}

/// The ops of one commit and where their outcomes go.
struct Batch {
    ops: Vec<WriteOp>,
    /// Each op's reply, with whether it may be answered before an fsync.
    replies: Vec<(Reply, bool)>,
}

impl Batch {
    fn with_capacity(capacity: usize) -> Self {
        Self {
            ops: Vec::with_capacity(capacity),
            replies: Vec::with_capacity(capacity),
        }
    }

    fn take(&mut self, request: Request) {
        self.replies
            .push((request.reply, !request.op.needs_fsync()));
        self.ops.push(request.op);
    }

    fn len(&self) -> usize {
        self.ops.len()
    }
}

/// Commits `batch` (emptying it) without fsync; answers the ACKs in it if they
/// may be (deferred ACKs) and hands the other waiters to the syncer. `false`
/// if the store failed fatally.
fn commit_apart(writer: &Writer, batch: &mut Batch, syncer: &Syncer) -> bool {
    let defer_acks = writer.config.defer_acks;
    let result = writer
        .storage
        .apply(&batch.ops, unix_now(), Commit::Deferred);
    batch.ops.clear();
    match result {
        Ok(outcomes) if outcomes.len() == batch.replies.len() => {
            let mut to_sync = Vec::with_capacity(batch.replies.len());
            let mut answered = false;
            for ((reply, is_ack), outcome) in batch.replies.drain(..).zip(outcomes) {
                if is_ack && defer_acks {
                    // A waiter that went away (its client left) needs no answer.
                    let _ = reply.send(Ok(outcome));
                    answered = true;
                } else {
                    to_sync.push((reply, outcome));
                }
            }
            if answered {
                writer.metrics.record_deferred_commit();
            }
            syncer.hand(to_sync, answered);
            true
        }
        Ok(_) => {
            tracing::error!("storage returned the wrong number of outcomes");
            let replies = batch.replies.drain(..).map(|(reply, _)| reply).collect();
            fail_all(replies, "storage returned the wrong number of outcomes");
            true
        }
        Err(error) => {
            tracing::error!(%error, "group commit failed");
            let replies = batch.replies.drain(..).map(|(reply, _)| reply).collect();
            fail_all(replies, &error.to_string());
            writer.check(&error)
        }
    }
}

/// Writes committed without fsync, handed from the writer to the syncer.
#[derive(Default)]
struct Syncer {
    queue: Mutex<SyncQueue>,
    wake: Condvar,
}

#[derive(Default)]
struct SyncQueue {
    /// Waiters and their outcomes, answered once a sync covers them.
    waiting: Vec<(Reply, WriteOutcome)>,
    /// When the oldest write answered without waiting for a sync (an ACK)
    /// and not yet synced was committed.
    unsynced_since: Option<std::time::Instant>,
    /// The writer is done: sync what is left, then exit.
    stopping: bool,
    /// A sync failed fatally: every waiter handed later fails at once.
    failed: bool,
}

impl Syncer {
    fn lock(&self) -> MutexGuard<'_, SyncQueue> {
        // The queue holds no invariant a panic elsewhere could break.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands over the waiters of a batch just committed (`unsynced`: it also
    /// holds writes answered already, which a sync must follow soon).
    fn hand(&self, waiters: Vec<(Reply, WriteOutcome)>, unsynced: bool) {
        if waiters.is_empty() && !unsynced {
            return;
        }
        let mut queue = self.lock();
        if queue.failed {
            drop(queue);
            let replies = waiters.into_iter().map(|(reply, _)| reply).collect();
            fail_all(replies, "the store failed");
            return;
        }
        // The syncer sleeps without a deadline while nothing is unsynced: wake
        // it to set one.
        let mut wake = !waiters.is_empty();
        if unsynced && queue.unsynced_since.is_none() {
            queue.unsynced_since = Some(std::time::Instant::now());
            wake = true;
        }
        queue.waiting.extend(waiters);
        drop(queue);
        if wake {
            self.wake.notify_one();
        }
    }

    /// Waits until there is something to sync: waiters, a stop, or writes
    /// answered [`SYNC_DELAY`] ago. Takes the waiters; `None` when stopping
    /// with nothing left to sync.
    fn next(&self) -> Option<Vec<(Reply, WriteOutcome)>> {
        let mut queue = self.lock();
        loop {
            if !queue.waiting.is_empty() {
                break;
            }
            if queue.stopping {
                // Stopping with nothing unsynced: nothing left to do.
                queue.unsynced_since?;
                break;
            }
            match queue.unsynced_since {
                None => {
                    queue = self
                        .wake
                        .wait(queue)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                Some(since) => {
                    let left = SYNC_DELAY.saturating_sub(since.elapsed());
                    if left.is_zero() {
                        break;
                    }
                    queue = self
                        .wake
                        .wait_timeout(queue, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
            }
        }
        queue.unsynced_since = None;
        Some(std::mem::take(&mut queue.waiting))
    }
}

/// Syncs what the writer committed, answering its waiters after each sync,
/// until the writer stops or a sync fails fatally.
fn run_syncer(writer: &Writer, syncer: &Syncer) {
    while let Some(waiting) = syncer.next() {
        // Every write handed over so far returned from `apply` before this
        // sync begins, so this sync covers them all.
        match writer.storage.sync() {
            Ok(()) => {
                writer.metrics.record_commit(waiting.len());
                for (reply, outcome) in waiting {
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(error) => {
                tracing::error!(%error, "syncing the log failed");
                let replies = waiting.into_iter().map(|(reply, _)| reply).collect();
                fail_all(replies, &error.to_string());
                if !writer.check(&error) {
                    let mut queue = syncer.lock();
                    queue.failed = true;
                    let replies = queue.waiting.drain(..).map(|(reply, _)| reply).collect();
                    drop(queue);
                    fail_all(replies, "the store failed");
                    return;
                }
            }
        }
    }
}

/// Commits each batch that needs it with fsync before answering it, for a
/// store whose deferred commits show their messages at once.
async fn write_inline(writer: &Writer, mut receiver: mpsc::Receiver<Job>) {
    let config = writer.config;
    let max_batch = config.max_batch;
    let mut batch: Vec<Request> = Vec::with_capacity(max_batch);
    let mut ops: Vec<WriteOp> = Vec::with_capacity(max_batch);
    // When the oldest commit that is not yet durable was made.
    let mut unsynced_since: Option<Instant> = None;
    let mut stopping = false;
    while !stopping {
        let job = match unsynced_since {
            None => receiver.recv().await,
            Some(since) => match tokio::time::timeout_at(since + SYNC_DELAY, receiver.recv()).await
            {
                Ok(job) => job,
                Err(_) => {
                    if !sync(writer) {
                        return;
                    }
                    unsynced_since = None;
                    continue;
                }
            },
        };
        match job {
            Some(Job::Write(first)) => batch.push(first),
            Some(Job::Stop) | None => break,
        }
        while batch.len() < max_batch {
            match receiver.try_recv() {
                Ok(Job::Write(request)) => batch.push(request),
                Ok(Job::Stop) => {
                    stopping = true;
                    break;
                }
                Err(_) => break,
            }
        }
        let overdue = unsynced_since.is_some_and(|since| since.elapsed() >= SYNC_DELAY);
        if config.defer_acks && !overdue {
            // ACKs first, without fsync, so that they are answered at once instead
            // of after the fsync of the SENDs beside them. ACKs commute with the
            // other writes: they only delete a queue's first message.
            let (mut acks, others): (Vec<_>, Vec<_>) = batch
                .drain(..)
                .partition(|request| !request.op.needs_fsync());
            if !acks.is_empty() {
                match commit_batch(writer, &mut acks, &mut ops, Commit::Deferred) {
                    Committed::Fatal => return,
                    Committed::Yes | Committed::No => {}
                }
                unsynced_since = unsynced_since.or_else(|| Some(Instant::now()));
            }
            batch = others;
        }
        if !batch.is_empty() {
            match commit_batch(writer, &mut batch, &mut ops, Commit::Durable) {
                Committed::Yes => unsynced_since = None,
                Committed::No => {}
                Committed::Fatal => return,
            }
        }
    }
    if unsynced_since.is_some() {
        sync(writer);
    }
}

/// How a batch went.
enum Committed {
    Yes,
    No,
    /// The store failed fatally: the writer stops.
    Fatal,
}

/// Applies one batch (emptying it) and answers its waiters.
fn commit_batch(
    writer: &Writer,
    batch: &mut Vec<Request>,
    ops: &mut Vec<WriteOp>,
    commit: Commit,
) -> Committed {
    let metrics = &writer.metrics;
    let replies: Vec<_> = batch
        .drain(..)
        .map(|request| {
            ops.push(request.op);
            request.reply
        })
        .collect();
    let result = writer.storage.apply(ops, unix_now(), commit);
    match commit {
        Commit::Durable => metrics.record_commit(ops.len()),
        Commit::Deferred => metrics.record_deferred_commit(),
    }
    ops.clear();
    match result {
        Ok(outcomes) if outcomes.len() == replies.len() => {
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                // A waiter that went away (its client left) needs no answer.
                let _ = reply.send(Ok(outcome));
            }
            Committed::Yes
        }
        Ok(_) => {
            tracing::error!("storage returned the wrong number of outcomes");
            fail_all(replies, "storage returned the wrong number of outcomes");
            Committed::No
        }
        Err(error) => {
            tracing::error!(%error, "group commit failed");
            fail_all(replies, &error.to_string());
            if writer.check(&error) {
                Committed::No
            } else {
                Committed::Fatal
            }
        }
    }
}

/// Makes every deferred commit durable; `false` if the store failed fatally.
fn sync(writer: &Writer) -> bool {
    match writer.storage.sync() {
        Ok(()) => {
            writer.metrics.record_commit(0);
            true
        }
        Err(error) => {
            tracing::error!(%error, "syncing deferred commits failed");
            writer.check(&error)
        }
    }
}

fn fail_all(replies: Vec<Reply>, reason: &str) {
    for reply in replies {
        let _ = reply.send(Err(Error::Storage(reason.to_owned())));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use sotto_wire::RecipientId;

    use super::*;
    use crate::store::{QueueRecord, StoredMessage};

    /// Records the size and kind of every batch; answers every op with `Done`.
    #[derive(Default)]
    struct CountingStore {
        batches: Mutex<Vec<usize>>,
        commits: Mutex<Vec<Commit>>,
        syncs: std::sync::atomic::AtomicUsize,
    }

    impl Storage for CountingStore {
        fn queue(&self, _: &RecipientId) -> Result<Option<QueueRecord>, Error> {
            Ok(None)
        }

        fn queue_by_sender(
            &self,
            _: &sotto_wire::SenderId,
        ) -> Result<Option<(RecipientId, QueueRecord)>, Error> {
            Ok(None)
        }

        fn delivery(
            &self,
            _: &RecipientId,
            _: u64,
        ) -> Result<Option<(sotto_wire::QueueKey, StoredMessage)>, Error> {
            Ok(None)
        }

        fn first_message(&self, _: &RecipientId, _: u64) -> Result<Option<StoredMessage>, Error> {
            Ok(None)
        }

        fn apply(
            &self,
            ops: &[WriteOp],
            _: u64,
            commit: Commit,
        ) -> Result<Vec<WriteOutcome>, Error> {
            self.commits.lock().unwrap().push(commit);
            // Slow enough that concurrent writers pile up behind one commit.
            thread::sleep(std::time::Duration::from_millis(20));
            self.batches.lock().unwrap().push(ops.len());
            Ok(vec![WriteOutcome::Done; ops.len()])
        }

        fn expire(&self, _: u64, _: usize) -> Result<u64, Error> {
            Ok(0)
        }

        fn sync(&self) -> Result<(), Error> {
            self.syncs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        }
    }

    fn batching(max_batch: usize) -> WriterConfig {
        WriterConfig {
            max_batch,
            defer_acks: false,
        }
    }

    fn suspend(seed: u8) -> WriteOp {
        WriteOp::Suspend {
            recipient_id: RecipientId::from_bytes([seed; 24]),
        }
    }

    #[tokio::test]
    async fn concurrent_writes_share_commits() {
        let store = Arc::new(CountingStore::default());
        let metrics = Arc::new(Metrics::default());
        let (committer, writer) = start(store.clone(), batching(64), metrics.clone()).unwrap();
        let mut tasks = Vec::new();
        for seed in 0..200u8 {
            let committer = committer.clone();
            tasks.push(tokio::spawn(
                async move { committer.write(suspend(seed)).await },
            ));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap(), WriteOutcome::Done);
        }
        drop(committer);
        writer.stop().await;
        let batches = store.batches.lock().unwrap();
        assert_eq!(batches.iter().sum::<usize>(), 200);
        assert!(batches.len() < 200, "no batching happened: {batches:?}");
        assert!(batches.iter().all(|&size| size <= 64));
        assert_eq!(metrics.commits(), batches.len() as u64);
    }

    #[tokio::test]
    async fn writes_enqueued_before_shutdown_are_committed() {
        let store = Arc::new(CountingStore::default());
        let (committer, writer) =
            start(store.clone(), batching(8), Arc::new(Metrics::default())).unwrap();
        let mut pending = Vec::new();
        for seed in 0..20 {
            pending.push(committer.enqueue(suspend(seed)).await.unwrap());
        }
        let stopped = tokio::spawn(writer.stop());
        for write in pending {
            assert_eq!(write.outcome().await.unwrap(), WriteOutcome::Done);
        }
        stopped.await.unwrap();
        // Writes after the stop fail instead of hanging.
        assert!(matches!(
            committer.write(suspend(99)).await,
            Err(Error::WriterStopped)
        ));
        assert_eq!(store.batches.lock().unwrap().iter().sum::<usize>(), 20);
    }

    fn ack(seed: u8) -> WriteOp {
        WriteOp::Ack {
            recipient_id: RecipientId::from_bytes([seed; 24]),
            message_id: sotto_wire::MessageId::from_bytes([seed; 24]),
        }
    }

    #[tokio::test]
    async fn ack_only_batches_are_deferred_then_synced() {
        let store = Arc::new(CountingStore::default());
        let config = WriterConfig {
            max_batch: 64,
            defer_acks: true,
        };
        let (committer, writer) =
            start(store.clone(), config, Arc::new(Metrics::default())).unwrap();
        assert_eq!(committer.write(ack(1)).await.unwrap(), WriteOutcome::Done);
        assert_eq!(store.commits.lock().unwrap().as_slice(), [Commit::Deferred]);
        // Nothing else comes: the writer syncs on its own soon after.
        tokio::time::sleep(SYNC_DELAY * 3).await;
        assert_eq!(store.syncs.load(std::sync::atomic::Ordering::SeqCst), 1);
        // Anything but an ACK is durable at once.
        committer.write(suspend(1)).await.unwrap();
        assert_eq!(store.commits.lock().unwrap().last(), Some(&Commit::Durable));
        // A deferred commit left at shutdown is synced before the writer stops.
        committer.write(ack(2)).await.unwrap();
        writer.stop().await;
        assert_eq!(store.syncs.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn acks_beside_other_writes_are_committed_first_without_fsync() {
        let store = Arc::new(CountingStore::default());
        let config = WriterConfig {
            max_batch: 64,
            defer_acks: true,
        };
        let (committer, writer) =
            start(store.clone(), config, Arc::new(Metrics::default())).unwrap();
        // The first write keeps the writer busy while the next two queue up.
        let busy = committer.enqueue(suspend(1)).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let other = committer.enqueue(suspend(2)).await.unwrap();
        let acked = committer.enqueue(ack(3)).await.unwrap();
        for write in [busy, other, acked] {
            assert_eq!(write.outcome().await.unwrap(), WriteOutcome::Done);
        }
        writer.stop().await;
        assert_eq!(
            store.commits.lock().unwrap().as_slice(),
            [Commit::Durable, Commit::Deferred, Commit::Durable]
        );
        assert_eq!(store.batches.lock().unwrap().as_slice(), [1, 1, 1]);
    }

    #[tokio::test]
    async fn acks_are_durable_unless_deferral_is_asked_for() {
        let store = Arc::new(CountingStore::default());
        let (committer, writer) =
            start(store.clone(), batching(64), Arc::new(Metrics::default())).unwrap();
        committer.write(ack(1)).await.unwrap();
        writer.stop().await;
        assert_eq!(store.commits.lock().unwrap().as_slice(), [Commit::Durable]);
        assert_eq!(store.syncs.load(std::sync::atomic::Ordering::SeqCst), 0);
    }

    /// A store that syncs apart: records each commit and sync, in order, and
    /// whether a commit came while a sync was running.
    #[derive(Default)]
    struct SyncingStore {
        events: Mutex<Vec<&'static str>>,
        syncing: std::sync::atomic::AtomicBool,
        applied_during_sync: std::sync::atomic::AtomicUsize,
    }

    impl Storage for SyncingStore {
        fn queue(&self, _: &RecipientId) -> Result<Option<QueueRecord>, Error> {
            Ok(None)
        }

        fn queue_by_sender(
            &self,
            _: &sotto_wire::SenderId,
        ) -> Result<Option<(RecipientId, QueueRecord)>, Error> {
            Ok(None)
        }

        fn delivery(
            &self,
            _: &RecipientId,
            _: u64,
        ) -> Result<Option<(sotto_wire::QueueKey, StoredMessage)>, Error> {
            Ok(None)
        }

        fn first_message(&self, _: &RecipientId, _: u64) -> Result<Option<StoredMessage>, Error> {
            Ok(None)
        }

        fn apply(
            &self,
            ops: &[WriteOp],
            _: u64,
            commit: Commit,
        ) -> Result<Vec<WriteOutcome>, Error> {
            assert_eq!(commit, Commit::Deferred);
            if self.syncing.load(std::sync::atomic::Ordering::SeqCst) {
                self.applied_during_sync
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            let event = if ops.iter().all(|op| !op.needs_fsync()) {
                "acks"
            } else {
                "writes"
            };
            self.events.lock().unwrap().push(event);
            Ok(vec![WriteOutcome::Done; ops.len()])
        }

        fn sync(&self) -> Result<(), Error> {
            self.syncing
                .store(true, std::sync::atomic::Ordering::SeqCst);
            // A slow disk: writes pile up behind the fsync.
            thread::sleep(std::time::Duration::from_millis(30));
            self.events.lock().unwrap().push("sync");
            self.syncing
                .store(false, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        }

        fn expire(&self, _: u64, _: usize) -> Result<u64, Error> {
            Ok(0)
        }

        fn hides_unsynced(&self) -> bool {
            true
        }
    }

    fn deferring() -> WriterConfig {
        WriterConfig {
            max_batch: 64,
            defer_acks: true,
        }
    }

    #[tokio::test]
    async fn writes_are_answered_after_a_sync_that_runs_beside_the_writer() {
        let store = Arc::new(SyncingStore::default());
        let metrics = Arc::new(Metrics::default());
        let (committer, writer) = start(store.clone(), deferring(), metrics.clone()).unwrap();
        // The first write starts a sync; the next come while it runs.
        let first = committer.enqueue(suspend(0)).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        let mut tasks = Vec::new();
        for seed in 1..50u8 {
            let committer = committer.clone();
            tasks.push(tokio::spawn(
                async move { committer.write(suspend(seed)).await },
            ));
        }
        assert_eq!(first.outcome().await.unwrap(), WriteOutcome::Done);
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap(), WriteOutcome::Done);
            // Answered only once a sync followed its commit.
            assert_eq!(store.events.lock().unwrap().last(), Some(&"sync"));
        }
        assert!(
            store
                .applied_during_sync
                .load(std::sync::atomic::Ordering::SeqCst)
                > 0,
            "the writer waited for the sync: {:?}",
            store.events.lock().unwrap()
        );
        let syncs = store
            .events
            .lock()
            .unwrap()
            .iter()
            .filter(|&&event| event == "sync")
            .count();
        assert!(syncs < 50, "no group commit: {syncs} syncs");
        assert_eq!(metrics.commits(), syncs as u64);
        drop(committer);
        writer.stop().await;
    }

    #[tokio::test]
    async fn acks_are_answered_before_any_sync_and_synced_soon_after() {
        let store = Arc::new(SyncingStore::default());
        let (committer, writer) =
            start(store.clone(), deferring(), Arc::new(Metrics::default())).unwrap();
        assert_eq!(committer.write(ack(1)).await.unwrap(), WriteOutcome::Done);
        assert_eq!(store.events.lock().unwrap().as_slice(), ["acks"]);
        tokio::time::sleep(SYNC_DELAY * 3).await;
        assert_eq!(store.events.lock().unwrap().as_slice(), ["acks", "sync"]);
        // An ACK while a sync runs is answered before that sync ends.
        let busy = committer.enqueue(suspend(1)).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        assert_eq!(committer.write(ack(2)).await.unwrap(), WriteOutcome::Done);
        assert!(store.syncing.load(std::sync::atomic::Ordering::SeqCst));
        busy.outcome().await.unwrap();
        // An ACK left unsynced at shutdown is synced before the writer stops.
        committer.write(ack(3)).await.unwrap();
        writer.stop().await;
        assert_eq!(store.events.lock().unwrap().last(), Some(&"sync"));
    }

    #[tokio::test]
    async fn an_ack_does_not_wait_behind_the_writes_before_it() {
        let store = Arc::new(SyncingStore::default());
        let (committer, writer) =
            start(store.clone(), deferring(), Arc::new(Metrics::default())).unwrap();
        let mut pending = Vec::new();
        for seed in 0..20 {
            pending.push(committer.enqueue(suspend(seed)).await.unwrap());
        }
        let mut acked = committer.enqueue(ack(1)).await.unwrap();
        // Committed by the time it is handed back, while the writes before it
        // wait for their sync.
        assert_eq!(acked.try_outcome().unwrap().unwrap(), WriteOutcome::Done);
        assert!(pending.last_mut().unwrap().try_outcome().is_none());
        for write in pending {
            assert_eq!(write.outcome().await.unwrap(), WriteOutcome::Done);
        }
        writer.stop().await;
    }

    #[tokio::test]
    async fn with_sync_acks_an_ack_waits_for_its_sync() {
        let store = Arc::new(SyncingStore::default());
        let config = WriterConfig {
            max_batch: 64,
            defer_acks: false,
        };
        let (committer, writer) =
            start(store.clone(), config, Arc::new(Metrics::default())).unwrap();
        committer.write(ack(1)).await.unwrap();
        assert_eq!(store.events.lock().unwrap().as_slice(), ["acks", "sync"]);
        writer.stop().await;
    }

    #[test]
    fn failed_commit_fails_every_waiter() {
        struct FailingStore;
        impl Storage for FailingStore {
            fn queue(&self, _: &RecipientId) -> Result<Option<QueueRecord>, Error> {
                Ok(None)
            }
            fn queue_by_sender(
                &self,
                _: &sotto_wire::SenderId,
            ) -> Result<Option<(RecipientId, QueueRecord)>, Error> {
                Ok(None)
            }
            fn delivery(
                &self,
                _: &RecipientId,
                _: u64,
            ) -> Result<Option<(sotto_wire::QueueKey, StoredMessage)>, Error> {
                Ok(None)
            }
            fn first_message(
                &self,
                _: &RecipientId,
                _: u64,
            ) -> Result<Option<StoredMessage>, Error> {
                Ok(None)
            }
            fn apply(&self, _: &[WriteOp], _: u64, _: Commit) -> Result<Vec<WriteOutcome>, Error> {
                Err(Error::Storage("disk full".into()))
            }
            fn sync(&self) -> Result<(), Error> {
                Ok(())
            }
            fn expire(&self, _: u64, _: usize) -> Result<u64, Error> {
                Ok(0)
            }
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (committer, writer) = start(
            Arc::new(FailingStore),
            batching(8),
            Arc::new(Metrics::default()),
        )
        .unwrap();
        let result = runtime.block_on(committer.write(suspend(1)));
        assert!(matches!(result, Err(Error::Storage(_))));
        drop(committer);
        runtime.block_on(writer.stop());
    }

    #[tokio::test]
    async fn a_fatal_store_error_stops_the_writer_and_raises_failed() {
        struct BrokenStore;
        impl Storage for BrokenStore {
            fn queue(&self, _: &RecipientId) -> Result<Option<QueueRecord>, Error> {
                Ok(None)
            }
            fn queue_by_sender(
                &self,
                _: &sotto_wire::SenderId,
            ) -> Result<Option<(RecipientId, QueueRecord)>, Error> {
                Ok(None)
            }
            fn delivery(
                &self,
                _: &RecipientId,
                _: u64,
            ) -> Result<Option<(sotto_wire::QueueKey, StoredMessage)>, Error> {
                Ok(None)
            }
            fn first_message(
                &self,
                _: &RecipientId,
                _: u64,
            ) -> Result<Option<StoredMessage>, Error> {
                Ok(None)
            }
            fn apply(&self, _: &[WriteOp], _: u64, _: Commit) -> Result<Vec<WriteOutcome>, Error> {
                Err(Error::StoreFailed)
            }
            fn sync(&self) -> Result<(), Error> {
                Err(Error::StoreFailed)
            }
            fn expire(&self, _: u64, _: usize) -> Result<u64, Error> {
                Err(Error::StoreFailed)
            }
        }
        let (committer, writer) = start(
            Arc::new(BrokenStore),
            batching(8),
            Arc::new(Metrics::default()),
        )
        .unwrap();
        let failed = writer.failed();
        assert!(committer.write(suspend(1)).await.is_err());
        tokio::time::timeout(std::time::Duration::from_secs(5), failed)
            .await
            .unwrap();
        // Nothing more is taken.
        assert!(committer.write(suspend(2)).await.is_err());
        writer.stop().await;
    }
}
