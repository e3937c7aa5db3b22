//! Group commit: one writer thread turns many concurrent writes into one durable
//! transaction and one fsync.
//!
//! Connection tasks [`Committer::enqueue`] a [`WriteOp`] and get a [`PendingWrite`]
//! to await. The writer waits for the first pending op, then takes every op
//! already waiting (up to the batch limit), applies them in arrival order in one
//! transaction, commits it with fsync, and only then answers each waiter. Under
//! load the batch grows by itself: while one fsync runs, the next batch queues up.
//!
//! With [`WriterConfig::defer_acks`] (the relay's default; `--sync-acks` turns it
//! off), ACKs are not made durable before they are answered: losing an ACK in a
//! crash only means the message is delivered again, which at-least-once
//! delivery allows. The committer applies an ACK at once where the store can
//! ([`Storage::apply_now`]), so that the next message is pushed without waiting
//! for the writer, which may be in the middle of an fsync; otherwise the writer
//! commits a batch of ACKs only without fsync ([`Commit::Deferred`]). The next
//! durable commit makes ACKs durable too, and the writer makes one at most
//! [`SYNC_DELAY`] after the first ACK if nothing else does.
//!
//! Shutdown: [`WriterHandle::stop`] queues a stop behind every write enqueued so
//! far; the writer commits them, answers their waiters and exits.
//!
//! A fatal storage error ([`Error::is_fatal`]: the store can no longer tell
//! what is on disk) stops the writer at once and raises
//! [`WriterHandle::failed`], so that the relay stops instead of answering from
//! a store that fails every write; a restart recovers from what was synced.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::{Applied, Commit, Storage, WriteOp, WriteOutcome};
use crate::Error;
use crate::clock::unix_now;
use crate::metrics::Metrics;

/// Ops waiting for the writer before `enqueue` waits for room (back-pressure).
const QUEUE_CAPACITY: usize = 16_384;

/// Longest a deferred (ACK-only) commit stays without fsync.
pub const SYNC_DELAY: Duration = Duration::from_millis(100);

struct Request {
    op: WriteOp,
    reply: oneshot::Sender<Result<WriteOutcome, Error>>,
}

// Jobs live only in the channel; boxing writes would cost an allocation each.
#[allow(clippy::large_enum_variant)]
enum Job {
    Write(Request),
    /// Records applied at once wait to be written: commit within [`SYNC_DELAY`].
    Flush,
    /// Commit what came before, then stop.
    Stop,
}

/// Submits writes to the group-commit writer. Cheap to clone.
#[derive(Clone)]
pub struct Committer {
    requests: mpsc::Sender<Job>,
    /// The store, for the writes applied at once (ACKs, with `defer_acks`).
    storage: Option<Arc<dyn Storage>>,
    metrics: Arc<Metrics>,
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
    let committer = Committer {
        requests: requests.clone(),
        storage: config.defer_acks.then(|| Arc::clone(&storage)),
        metrics: Arc::clone(&metrics),
    };
    let writer = Writer {
        storage,
        config,
        metrics,
        failure: failure.clone(),
    };
    let thread = thread::Builder::new()
        .name("sotto-writer".into())
        .spawn(move || run_writer(&writer, receiver))
        .map_err(Error::io("starting the storage writer"))?;
    Ok((
        committer,
        WriterHandle {
            thread,
            requests,
            failure,
        },
    ))
}

impl Committer {
    /// Hands `op` to the writer, waiting for room if the writer is behind; an
    /// op that needs no fsync is applied at once where the store can (see the
    /// module docs).
    pub async fn enqueue(&self, op: WriteOp) -> Result<PendingWrite, Error> {
        let (reply, receiver) = oneshot::channel();
        if let Some(storage) = self.storage.as_ref().filter(|_| !op.needs_fsync())
            && let Some(applied) = storage.apply_now(&op, unix_now())
        {
            if let Ok(Applied {
                first_unwritten: true,
                ..
            }) = applied
            {
                // A full queue has writes coming that will carry these records
                // too; a closed one, a writer that stopped.
                let _ = self.requests.try_send(Job::Flush);
            }
            self.metrics.record_deferred_commit();
            let _ = reply.send(applied.map(|applied| applied.outcome));
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

fn run_writer(writer: &Writer, receiver: mpsc::Receiver<Job>) {
    // A runtime of its own, only for the timer of the deferred sync: blocking in
    // it on storage is fine, nothing else runs there.
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
    runtime.block_on(write_batches(writer, receiver));
}

async fn write_batches(writer: &Writer, mut receiver: mpsc::Receiver<Job>) {
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
            Some(Job::Flush) => {
                unsynced_since = unsynced_since.or_else(|| Some(Instant::now()));
                continue;
            }
            Some(Job::Stop) | None => break,
        }
        while batch.len() < max_batch {
            match receiver.try_recv() {
                Ok(Job::Write(request)) => batch.push(request),
                Ok(Job::Flush) => {
                    unsynced_since = unsynced_since.or_else(|| Some(Instant::now()));
                }
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
    // ACKs applied at once may wait to be written even if no Flush came (the
    // queue was full).
    if unsynced_since.is_some() || config.defer_acks {
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

fn fail_all(replies: Vec<oneshot::Sender<Result<WriteOutcome, Error>>>, reason: &str) {
    for reply in replies {
        let _ = reply.send(Err(Error::Storage(reason.to_owned())));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    /// The file chunk methods of a store that holds none.
    macro_rules! without_files_or_groups {
        () => {
            fn chunk(
                &self,
                _: &sotto_wire::UploadId,
                _: u64,
            ) -> Result<Option<crate::store::ChunkRecord>, Error> {
                Ok(None)
            }

            fn chunk_by_download(
                &self,
                _: &sotto_wire::DownloadId,
                _: u64,
            ) -> Result<Option<crate::store::ChunkRecord>, Error> {
                Ok(None)
            }

            fn chunks(&self) -> Result<Vec<crate::store::ChunkRecord>, Error> {
                Ok(Vec::new())
            }

            fn expire_chunks(&self, _: u64) -> Result<Vec<crate::store::ChunkFile>, Error> {
                Ok(Vec::new())
            }

            fn group_by_admin(
                &self,
                _: &sotto_wire::GroupAdminId,
                _: u64,
            ) -> Result<Option<crate::store::GroupRecord>, Error> {
                Ok(None)
            }

            fn group_by_write(
                &self,
                _: &sotto_wire::GroupWriteId,
                _: u64,
            ) -> Result<Option<crate::store::GroupRecord>, Error> {
                Ok(None)
            }

            fn group_by_read(
                &self,
                _: &sotto_wire::GroupReadId,
                _: u64,
            ) -> Result<Option<crate::store::GroupRecord>, Error> {
                Ok(None)
            }

            fn group_entry(
                &self,
                _: &sotto_wire::GroupReadId,
                _: u64,
                _: u64,
            ) -> Result<Option<sotto_wire::GroupEntry>, Error> {
                Ok(None)
            }
        };
    }

    use sotto_wire::RecipientId;

    use super::*;
    use crate::store::{QueueRecord, StoredMessage};

    /// Records the size and kind of every batch; answers every op with `Done`.
    #[derive(Default)]
    struct CountingStore {
        batches: Mutex<Vec<usize>>,
        commits: Mutex<Vec<Commit>>,
        syncs: std::sync::atomic::AtomicUsize,
        /// Applies ACKs at once ([`Storage::apply_now`]), counting them here.
        applied_now: Option<std::sync::atomic::AtomicUsize>,
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

        fn apply_now(&self, op: &WriteOp, _: u64) -> Option<Result<Applied, Error>> {
            let applied = self.applied_now.as_ref()?;
            if op.needs_fsync() {
                return None;
            }
            let before = applied.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Some(Ok(Applied {
                outcome: WriteOutcome::Done,
                first_unwritten: before == 0,
            }))
        }

        fn expire(&self, _: u64, _: usize) -> Result<u64, Error> {
            Ok(0)
        }

        fn link_key(
            &self,
            _: &sotto_wire::LinkId,
            _: u64,
        ) -> Result<Option<crate::store::AuthKey>, Error> {
            Ok(None)
        }

        fn link_blob(
            &self,
            _: &sotto_wire::LinkId,
            _: u64,
        ) -> Result<Option<sotto_wire::LinkBlob>, Error> {
            Ok(None)
        }

        without_files_or_groups!();

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
    async fn acks_applied_at_once_are_synced_soon_after() {
        let store = Arc::new(CountingStore {
            applied_now: Some(Default::default()),
            ..CountingStore::default()
        });
        let config = WriterConfig {
            max_batch: 64,
            defer_acks: true,
        };
        let (committer, writer) =
            start(store.clone(), config, Arc::new(Metrics::default())).unwrap();
        // Answered without the writer: the store applied it.
        let mut pending = committer.enqueue(ack(1)).await.unwrap();
        assert_eq!(pending.try_outcome().unwrap().unwrap(), WriteOutcome::Done);
        committer.write(ack(2)).await.unwrap();
        assert!(store.commits.lock().unwrap().is_empty());
        // Nothing else comes: the writer syncs them soon after.
        tokio::time::sleep(SYNC_DELAY * 3).await;
        assert_eq!(store.syncs.load(std::sync::atomic::Ordering::SeqCst), 1);
        // And once more at shutdown, for what came since.
        committer.write(ack(3)).await.unwrap();
        writer.stop().await;
        assert_eq!(store.syncs.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert!(store.commits.lock().unwrap().is_empty());
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
            fn link_key(
                &self,
                _: &sotto_wire::LinkId,
                _: u64,
            ) -> Result<Option<crate::store::AuthKey>, Error> {
                Ok(None)
            }

            fn link_blob(
                &self,
                _: &sotto_wire::LinkId,
                _: u64,
            ) -> Result<Option<sotto_wire::LinkBlob>, Error> {
                Ok(None)
            }

            without_files_or_groups!();

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
            fn link_key(
                &self,
                _: &sotto_wire::LinkId,
                _: u64,
            ) -> Result<Option<crate::store::AuthKey>, Error> {
                Ok(None)
            }

            fn link_blob(
                &self,
                _: &sotto_wire::LinkId,
                _: u64,
            ) -> Result<Option<sotto_wire::LinkBlob>, Error> {
                Ok(None)
            }

            without_files_or_groups!();

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
