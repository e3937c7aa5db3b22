//! The browser's [`Store`]: the records in memory, every change also queued
//! for IndexedDB.
//!
//! The core's store is synchronous and IndexedDB is not, so the bridge keeps
//! the whole profile in a [`MemoryStore`] and writes each applied batch to
//! IndexedDB afterwards. The order that makes this safe is the driver's: after
//! every call into the core it writes the queued changes ([`MirrorStore::take_changes`])
//! and waits for IndexedDB to commit them before it sends any relay command the
//! call produced, so a message is acknowledged only once its effects are on disk.
//!
//! A range delete is expanded here into the keys it removes, because the
//! records' places in IndexedDB are opaque ([`crate::sealed_record`]).

use std::cell::RefCell;

use zeroize::Zeroize;

use sotto_core::{
    Direction, KeyRange, MemoryStore, Record, Store, StoreError, Table, Write, WriteBatch,
};

/// One change to write to IndexedDB.
#[derive(Clone, PartialEq, Eq)]
pub enum MirrorChange {
    /// Insert or replace a record.
    Put {
        /// The table's name.
        table: String,
        /// The record.
        record: Record,
    },
    /// Remove a record.
    Delete {
        /// The table's name.
        table: String,
        /// The record's key.
        key: Vec<u8>,
    },
}

impl std::fmt::Debug for MirrorChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MirrorChange::Put { table, record } => write!(f, "Put({table}, {record:?})"),
            MirrorChange::Delete { table, key } => {
                write!(f, "Delete({table}, {} bytes)", key.len())
            }
        }
    }
}

/// Records in memory plus the changes IndexedDB has not seen yet.
#[derive(Debug, Default)]
pub struct MirrorStore {
    records: MemoryStore,
    // Taken through `&self`: the core lends its store out only shared.
    changes: RefCell<Vec<MirrorChange>>,
}

impl Drop for MirrorStore {
    // The records zeroize themselves (`MemoryStore`); the changes not yet
    // written hold the same plaintext.
    fn drop(&mut self) {
        for change in self.changes.get_mut().drain(..) {
            if let MirrorChange::Put { mut record, .. } = change {
                record.value.zeroize();
            }
        }
    }
}

impl MirrorStore {
    /// An empty store.
    pub fn new() -> MirrorStore {
        MirrorStore::default()
    }

    /// A store holding the records read back from IndexedDB, with nothing to write.
    pub fn loaded(
        records: impl IntoIterator<Item = (String, Record)>,
    ) -> Result<MirrorStore, StoreError> {
        let mut store = MirrorStore::new();
        for (table, record) in records {
            store.records.import_record(&table, record)?;
        }
        Ok(store)
    }

    /// The changes since the last call, in order.
    pub fn take_changes(&self) -> Vec<MirrorChange> {
        self.changes.take()
    }

    /// Whether changes wait to be written.
    pub fn has_changes(&self) -> bool {
        !self.changes.borrow().is_empty()
    }

    fn removed_by(&self, table: Table, range: &KeyRange) -> Result<Vec<Vec<u8>>, StoreError> {
        Ok(self
            .records
            .range(table, range, Direction::Forward, usize::MAX)?
            .into_iter()
            .map(|record| record.key)
            .collect())
    }
}

impl Store for MirrorStore {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.records.get(table, key)
    }

    fn range(
        &self,
        table: Table,
        range: &KeyRange,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        self.records.range(table, range, direction, limit)
    }

    fn apply(&mut self, batch: WriteBatch) -> Result<(), StoreError> {
        // Changes are recorded write by write against the state each write sees,
        // so a range delete after a put in the same batch removes that put.
        for write in batch.writes() {
            let mut single = WriteBatch::new();
            match write {
                Write::Put { table, record } => {
                    self.changes.get_mut().push(MirrorChange::Put {
                        table: table.name().to_owned(),
                        record: record.clone(),
                    });
                    single.put(*table, record.key.clone(), record.value.clone());
                }
                Write::Delete { table, key } => {
                    self.changes.get_mut().push(MirrorChange::Delete {
                        table: table.name().to_owned(),
                        key: key.clone(),
                    });
                    single.delete(*table, key.clone());
                }
                Write::DeleteRange { table, range } => {
                    for key in self.removed_by(*table, range)? {
                        self.changes.get_mut().push(MirrorChange::Delete {
                            table: table.name().to_owned(),
                            key,
                        });
                    }
                    single.delete_range(*table, range.clone());
                }
            }
            self.records.apply(single)?;
        }
        Ok(())
    }

    fn tables(&self) -> Result<Vec<String>, StoreError> {
        self.records.tables()
    }

    fn records_after(
        &self,
        table: &str,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        self.records.records_after(table, after, limit)
    }

    fn import_record(&mut self, table: &str, record: Record) -> Result<(), StoreError> {
        self.changes.get_mut().push(MirrorChange::Put {
            table: table.to_owned(),
            record: record.clone(),
        });
        self.records.import_record(table, record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHATS: Table = Table::new("chats");

    fn record(key: u8) -> Record {
        Record {
            key: vec![key],
            value: vec![key; 3],
        }
    }

    /// Replays changes onto a plain map, as IndexedDB would hold them.
    fn replay(changes: &[MirrorChange], into: &mut MemoryStore) {
        for change in changes {
            match change {
                MirrorChange::Put { table, record } => {
                    into.import_record(table, record.clone()).unwrap();
                }
                MirrorChange::Delete { key, .. } => {
                    let mut batch = WriteBatch::new();
                    batch.delete(CHATS, key.clone());
                    into.apply(batch).unwrap();
                }
            }
        }
    }

    #[test]
    fn changes_replayed_elsewhere_give_the_same_records() {
        let mut store = MirrorStore::new();
        let mut disk = MemoryStore::new();
        let mut batch = WriteBatch::new();
        for key in 0..6 {
            batch.put(CHATS, vec![key], vec![key; 3]);
        }
        batch.delete(CHATS, vec![1]);
        batch.delete_range(
            CHATS,
            KeyRange {
                start: vec![3],
                end: Some(vec![5]),
            },
        );
        batch.put(CHATS, vec![4], vec![9]);
        store.apply(batch).unwrap();
        let changes = store.take_changes();
        assert!(!store.has_changes());
        // The range delete became one delete per removed key.
        let deletes = changes
            .iter()
            .filter(|c| matches!(c, MirrorChange::Delete { .. }))
            .count();
        assert_eq!(deletes, 3);
        replay(&changes, &mut disk);
        let all = |s: &dyn Store| {
            s.range(CHATS, &KeyRange::all(), Direction::Forward, 100)
                .unwrap()
        };
        assert_eq!(all(&store), all(&disk));
        assert_eq!(
            all(&store).iter().map(|r| r.key[0]).collect::<Vec<_>>(),
            [0, 2, 4, 5]
        );
    }

    #[test]
    fn a_loaded_store_has_nothing_to_write() {
        let store = MirrorStore::loaded([
            ("chats".to_owned(), record(1)),
            ("chats".to_owned(), record(2)),
        ])
        .unwrap();
        assert!(!store.has_changes());
        assert_eq!(store.get(CHATS, &[2]).unwrap(), Some(vec![2; 3]));
    }

    #[test]
    fn change_debug_prints_no_contents() {
        let change = MirrorChange::Put {
            table: "chats".to_owned(),
            record: Record {
                key: vec![1],
                value: b"secret".to_vec(),
            },
        };
        assert!(!format!("{change:?}").contains("secret"));
    }
}
