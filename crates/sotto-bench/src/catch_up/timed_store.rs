//! A [`Store`] that times every call it passes on: how much of a catch-up is
//! spent in the database (reads, batches applied, and the syncs that commit
//! them with their fsync), measured on the receiver's own task, without
//! touching the core.

use std::cell::Cell;
use std::time::{Duration, Instant};

use sotto_core::{Direction, KeyRange, Record, Store, StoreError, Table, WriteBatch};

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
    /// `sync`: the pending transaction committed, with its fsync.
    pub(crate) syncs: Tally,
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
}

impl<S: Store> TimedStore<S> {
    pub(crate) fn new(inner: S) -> TimedStore<S> {
        TimedStore {
            inner,
            reads: Cell::new(Tally::default()),
            applies: Cell::new(Tally::default()),
            syncs: Cell::new(Tally::default()),
            writes: Cell::new(0),
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
