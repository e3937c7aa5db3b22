//! Group commit: one writer thread turns many concurrent writes into one durable
//! transaction and one fsync.
//!
//! Connection tasks [`Committer::enqueue`] a [`WriteOp`] and get a [`PendingWrite`]
//! to await. The writer blocks for the first pending op, then takes every op
//! already waiting (up to the batch limit), applies them in arrival order in one
//! transaction, commits it with fsync, and only then answers each waiter. Under
//! load the batch grows by itself: while one fsync runs, the next batch queues up.
//!
//! Shutdown: [`WriterHandle::stop`] queues a stop behind every write enqueued so
//! far; the writer commits them, answers their waiters and exits.

use std::sync::Arc;
use std::thread;

use tokio::sync::{mpsc, oneshot};

use super::{Storage, WriteOp, WriteOutcome};
use crate::Error;
use crate::clock::unix_now;
use crate::metrics::Metrics;

/// Ops waiting for the writer before `enqueue` waits for room (back-pressure).
const QUEUE_CAPACITY: usize = 16_384;

struct Request {
    op: WriteOp,
    reply: oneshot::Sender<Result<WriteOutcome, Error>>,
}

// Jobs live only in the channel; boxing writes would cost an allocation each.
#[allow(clippy::large_enum_variant)]
enum Job {
    Write(Request),
    /// Commit what came before, then stop.
    Stop,
}

/// Submits writes to the group-commit writer. Cheap to clone.
#[derive(Clone)]
pub struct Committer {
    requests: mpsc::Sender<Job>,
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
}

/// Starts the writer thread over `storage`, committing at most `max_batch` ops
/// per transaction.
pub fn start(
    storage: Arc<dyn Storage>,
    max_batch: usize,
    metrics: Arc<Metrics>,
) -> Result<(Committer, WriterHandle), Error> {
    let (requests, receiver) = mpsc::channel(QUEUE_CAPACITY);
    let thread = thread::Builder::new()
        .name("sotto-writer".into())
        .spawn(move || run_writer(storage.as_ref(), receiver, max_batch.max(1), &metrics))
        .map_err(Error::io("starting the storage writer"))?;
    Ok((
        Committer {
            requests: requests.clone(),
        },
        WriterHandle { thread, requests },
    ))
}

impl Committer {
    /// Hands `op` to the writer, waiting for room if the writer is behind.
    pub async fn enqueue(&self, op: WriteOp) -> Result<PendingWrite, Error> {
        let (reply, receiver) = oneshot::channel();
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
    pub async fn outcome(self) -> Result<WriteOutcome, Error> {
        self.reply.await.map_err(|_| Error::WriterStopped)?
    }
}

impl WriterHandle {
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

fn run_writer(
    storage: &dyn Storage,
    mut receiver: mpsc::Receiver<Job>,
    max_batch: usize,
    metrics: &Metrics,
) {
    let mut batch: Vec<Request> = Vec::with_capacity(max_batch);
    let mut ops: Vec<WriteOp> = Vec::with_capacity(max_batch);
    let mut stopping = false;
    while !stopping {
        match receiver.blocking_recv() {
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
        let replies: Vec<_> = batch
            .drain(..)
            .map(|request| {
                ops.push(request.op);
                request.reply
            })
            .collect();
        let result = storage.apply(&ops, unix_now());
        metrics.record_commit(ops.len());
        ops.clear();
        match result {
            Ok(outcomes) if outcomes.len() == replies.len() => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    // A waiter that went away (its client left) needs no answer.
                    let _ = reply.send(Ok(outcome));
                }
            }
            Ok(_) => {
                tracing::error!("storage returned the wrong number of outcomes");
                fail_all(replies, "storage returned the wrong number of outcomes");
            }
            Err(error) => {
                tracing::error!(%error, "group commit failed");
                fail_all(replies, &error.to_string());
            }
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

    use sotto_wire::RecipientId;

    use super::*;
    use crate::store::{QueueRecord, StoredMessage};

    /// Records the size of every batch; answers every op with `Done`.
    #[derive(Default)]
    struct CountingStore {
        batches: Mutex<Vec<usize>>,
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

        fn apply(&self, ops: &[WriteOp], _: u64) -> Result<Vec<WriteOutcome>, Error> {
            // Slow enough that concurrent writers pile up behind one commit.
            thread::sleep(std::time::Duration::from_millis(20));
            self.batches.lock().unwrap().push(ops.len());
            Ok(vec![WriteOutcome::Done; ops.len()])
        }

        fn expire(&self, _: u64, _: usize) -> Result<u64, Error> {
            Ok(0)
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
        let (committer, writer) = start(store.clone(), 64, metrics.clone()).unwrap();
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
        let (committer, writer) = start(store.clone(), 8, Arc::new(Metrics::default())).unwrap();
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
            fn apply(&self, _: &[WriteOp], _: u64) -> Result<Vec<WriteOutcome>, Error> {
                Err(Error::Storage("disk full".into()))
            }
            fn expire(&self, _: u64, _: usize) -> Result<u64, Error> {
                Ok(0)
            }
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (committer, writer) =
            start(Arc::new(FailingStore), 8, Arc::new(Metrics::default())).unwrap();
        let result = runtime.block_on(committer.write(suspend(1)));
        assert!(matches!(result, Err(Error::Storage(_))));
        drop(committer);
        runtime.block_on(writer.stop());
    }
}
