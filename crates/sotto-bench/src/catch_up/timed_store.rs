//! A [`Store`] that times every call it passes on: how much of a catch-up is
//! spent in the database (reads, batches applied, and the syncs that commit
//! them with their fsync), measured on the receiver's own task, without
//! touching the core.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sotto_core::{Direction, KeyRange, PendingSync, Record, Store, StoreError, Table, WriteBatch};

/// Calls and wall time of one kind of store call.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Tally {
    pub(crate) calls: u64,
    pub(crate) time: Duration,
}

impl Tally {
    fn add(&mut self, started: Instant) {
        self.calls += 1;
        self.time += started.elapsed();
    }
}

/// What the store was asked since the last [`TimedStore::take`].
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct StoreTimes {
    /// `get` and `range`.
    pub(crate) reads: Tally,
    /// `apply`: each batch written into the pending transaction.
    pub(crate) applies: Tally,
    /// `sync` and `start_sync` on the receiver's task: the pending
    /// transaction committed (with its fsync for `sync`).
    pub(crate) syncs: Tally,
    /// The fsyncs `start_sync` left to a blocking thread (off the receiver's
    /// task, overlapping its work).
    pub(crate) background: Tally,
    /// Writes (puts and deletes) in those commits.
    pub(crate) writes: u64,
}

/// `inner`, timed. See the module documentation.
pub(crate) struct TimedStore<S> {
    inner: S,
    reads: Cell<Tally>,
    applies: Cell<Tally>,
    syncs: Cell<Tally>,
    writes: Cell<u64>,
    /// Calls and nanoseconds of the background fsyncs.
    background: Arc<(AtomicU64, AtomicU64)>,
}

impl<S: Store> TimedStore<S> {
    pub(crate) fn new(inner: S) -> TimedStore<S> {
        TimedStore {
            inner,
            reads: Cell::new(Tally::default()),
            applies: Cell::new(Tally::default()),
            syncs: Cell::new(Tally::default()),
            writes: Cell::new(0),
            background: Arc::default(),
        }
    }

    /// The tallies so far; they start again from zero. (`&self`: the core
    /// lends its store only for reading.)
    pub(crate) fn take(&self) -> StoreTimes {
        StoreTimes {
            reads: self.reads.take(),
            applies: self.applies.take(),
            syncs: self.syncs.take(),
            writes: self.writes.take(),
            background: Tally {
                calls: self.background.0.swap(0, Ordering::Relaxed),
                time: Duration::from_nanos(self.background.1.swap(0, Ordering::Relaxed)),
            },
        }
    }

    /// Runs `call` on the inner store and counts it in `tally`.
    fn timed<T>(&self, tally: &Cell<Tally>, call: impl FnOnce(&S) -> T) -> T {
        let started = Instant::now();
        let result = call(&self.inner);
        let mut sum = tally.get();
        sum.add(started);
        tally.set(sum);
        result
    }
}

impl<S: Store> Store for TimedStore<S> {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.timed(&self.reads, |inner| inner.get(table, key))
    }

    fn range(
        &self,
        table: Table,
        range: &KeyRange,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        self.timed(&self.reads, |inner| {
            inner.range(table, range, direction, limit)
        })
    }

    fn apply(&mut self, batch: WriteBatch) -> Result<(), StoreError> {
        self.writes
            .set(self.writes.get() + batch.writes().len() as u64);
        let started = Instant::now();
        let result = self.inner.apply(batch);
        let mut tally = self.applies.get();
        tally.add(started);
        self.applies.set(tally);
        result
    }

    fn sync(&self) -> Result<(), StoreError> {
        self.timed(&self.syncs, Store::sync)
    }

    fn start_sync(&self) -> Result<Option<PendingSync>, StoreError> {
        let pending = self.timed(&self.syncs, Store::start_sync)?;
        Ok(pending.map(|pending| {
            let background = self.background.clone();
            PendingSync::new(move || {
                let started = Instant::now();
                let result = pending.finish();
                let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
                background.0.fetch_add(1, Ordering::Relaxed);
                background.1.fetch_add(nanos, Ordering::Relaxed);
                result
            })
        }))
    }

    fn tables(&self) -> Result<Vec<String>, StoreError> {
        self.inner.tables()
    }

    fn records_after(
        &self,
        table: &str,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        self.inner.records_after(table, after, limit)
    }

    fn import_record(&mut self, table: &str, record: Record) -> Result<(), StoreError> {
        self.inner.import_record(table, record)
    }
}
