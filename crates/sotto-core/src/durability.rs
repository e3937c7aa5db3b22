//! The durability rule: nothing the core hands out runs ahead of the disk.
//!
//! Every batch the core applies to its store is numbered by a [`WriteMark`].
//! Each output records the mark it depends on: a relay request the batches
//! applied before it was made (an ACK follows the batch holding the message's
//! effects, a SEND the batch holding its job), an event the batch it was
//! staged with (`staged_batch`: it is let out only if that batch is
//! committed, and dropped with it otherwise) or, noted outside a batch, the
//! batches applied before it. [`crate::Core::poll_relay_request`] and
//! [`crate::Core::poll_event`] hand an output out only once the store has
//! reported its mark durable, through [`crate::Core::handle_synced`] (or
//! [`crate::Core::sync`], which waits for the disk on the spot).
//!
//! A driver therefore never needs to know which output depends on which
//! write; it only makes the store durable when the core asks
//! ([`crate::Core::start_sync`] returns a [`SyncTicket`] to run on any
//! thread) and reports the mark it reached. Outputs made while a sync runs
//! wait for the next one, so many batches share one sync.

use std::fmt;

use crate::store::{
    Direction, KeyRange, PendingSync, Record, Store, StoreError, Table, WriteBatch,
};

/// A point in the sequence of batches a core has applied to its store: the
/// number of batches applied up to it. Marks only grow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WriteMark(pub(crate) u64);

/// A sync the core started with [`crate::Core::start_sync`]: the batches up
/// to [`SyncTicket::mark`] are durable once [`SyncTicket::finish`] has run.
/// It may run on any thread; its result goes back to
/// [`crate::Core::handle_synced`].
pub struct SyncTicket {
    mark: WriteMark,
    wait: PendingSync,
}

impl SyncTicket {
    /// The mark this sync makes durable.
    pub fn mark(&self) -> WriteMark {
        self.mark
    }

    /// Blocks until the batches are durable; returns the mark to report.
    pub fn finish(self) -> Result<WriteMark, StoreError> {
        self.wait.finish().map(|()| self.mark)
    }
}

impl fmt::Debug for SyncTicket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncTicket")
            .field("mark", &self.mark)
            .finish_non_exhaustive()
    }
}

/// The core's store, with the marks of what was applied and what is durable.
/// Every batch goes through [`Store::apply`] here, so none escapes the count.
pub(crate) struct Journal<S> {
    store: S,
    applied: WriteMark,
    durable: WriteMark,
}

impl<S: Store> Journal<S> {
    /// A store whose earlier batches (a profile just created or migrated)
    /// may not be durable yet: the first sync covers them.
    pub(crate) fn new(store: S) -> Journal<S> {
        Journal {
            store,
            applied: WriteMark(1),
            durable: WriteMark(0),
        }
    }

    pub(crate) fn inner(&self) -> &S {
        &self.store
    }

    pub(crate) fn into_inner(self) -> S {
        self.store
    }

    /// The mark of the last batch applied.
    pub(crate) fn applied(&self) -> WriteMark {
        self.applied
    }

    /// The mark the store last reported durable.
    pub(crate) fn durable(&self) -> WriteMark {
        self.durable
    }

    /// Whether every batch up to `mark` is durable.
    pub(crate) fn is_durable(&self, mark: WriteMark) -> bool {
        mark <= self.durable
    }

    /// The store reached `mark` (a stale report changes nothing).
    pub(crate) fn synced(&mut self, mark: WriteMark) {
        self.durable = self.durable.max(mark.min(self.applied));
    }

    /// Starts making every applied batch durable. `None` when nothing waits,
    /// or when the store made them durable on the spot (then marked so).
    pub(crate) fn start_sync_applied(&mut self) -> Result<Option<SyncTicket>, StoreError> {
        let mark = self.applied;
        if self.is_durable(mark) {
            return Ok(None);
        }
        match self.store.start_sync()? {
            None => {
                self.synced(mark);
                Ok(None)
            }
            Some(wait) => Ok(Some(SyncTicket { mark, wait })),
        }
    }

    /// Makes every applied batch durable before returning (at once if the
    /// store reported them durable already).
    pub(crate) fn sync_applied(&mut self) -> Result<(), StoreError> {
        let mark = self.applied;
        if self.is_durable(mark) {
            return Ok(());
        }
        self.store.sync()?;
        self.synced(mark);
        Ok(())
    }
}

impl<S: Store> Store for Journal<S> {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.get(table, key)
    }

    fn range(
        &self,
        table: Table,
        range: &KeyRange,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        self.store.range(table, range, direction, limit)
    }

    fn apply(&mut self, batch: WriteBatch) -> Result<(), StoreError> {
        // Counted before it is tried: a batch that failed halfway in some
        // backend is waited for like any other.
        self.applied = WriteMark(self.applied.0.saturating_add(1));
        self.store.apply(batch)
    }

    fn sync(&self) -> Result<(), StoreError> {
        self.store.sync()
    }

    fn start_sync(&self) -> Result<Option<PendingSync>, StoreError> {
        self.store.start_sync()
    }

    fn tables(&self) -> Result<Vec<String>, StoreError> {
        self.store.tables()
    }

    fn records_after(
        &self,
        table: &str,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        self.store.records_after(table, after, limit)
    }

    fn import_record(&mut self, table: &str, record: Record) -> Result<(), StoreError> {
        self.applied = WriteMark(self.applied.0.saturating_add(1));
        self.store.import_record(table, record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    const T: Table = Table::new("t");

    #[test]
    fn marks_count_batches_and_syncs_reach_them() {
        let mut journal = Journal::new(MemoryStore::new());
        assert!(!journal.is_durable(journal.applied()));
        let mut batch = WriteBatch::new();
        batch.put(T, vec![1], vec![1]);
        journal.apply(batch).unwrap();
        let mark = journal.applied();
        assert_eq!(mark, WriteMark(2));
        // The memory store is durable by itself: no ticket, marked at once.
        assert!(journal.start_sync_applied().unwrap().is_none());
        assert!(journal.is_durable(mark));
        assert!(journal.start_sync_applied().unwrap().is_none());
    }

    #[test]
    fn a_stale_or_future_report_never_moves_past_what_was_applied() {
        let mut journal = Journal::new(MemoryStore::new());
        journal.synced(WriteMark(9));
        assert_eq!(journal.durable(), WriteMark(1));
        journal.apply(WriteBatch::new()).unwrap();
        journal.sync_applied().unwrap();
        journal.synced(WriteMark(1));
        assert_eq!(journal.durable(), WriteMark(2));
    }
}
