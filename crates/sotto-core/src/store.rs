//! The one storage trait through which the core keeps its state.
//!
//! Storage is a set of named tables of records, each record a byte key and a byte
//! value, keys ordered bytewise. The core encodes its own records (see the modules
//! that own them); a backend only stores bytes. Writes go in atomic batches, so
//! the core never leaves a half-applied change behind a crash.
//!
//! The trait is synchronous. The native backend (SQLCipher, in `sotto-store`)
//! applies each batch at once, inside one open transaction, and commits the
//! batches together with one fsync at [`Store::sync`] (or
//! [`Store::start_sync`]), which the core asks for before it hands out what
//! they produced (see "Durability" in `core`); the browser backend keeps the
//! records in memory and mirrors every batch into IndexedDB, each record
//! sealed, in the background.
//!
//! [`MemoryStore`] is the backend for unit tests.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Bound;

use zeroize::Zeroize;

/// A table name: lower-case ASCII letters, digits and `_`, 1 to 32 characters.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Table(&'static str);

impl Table {
    /// A table with a name fixed in the code. Names outside the allowed alphabet are
    /// refused at compile time when used in a `const`.
    pub const fn new(name: &'static str) -> Table {
        let bytes = name.as_bytes();
        let valid_len = !bytes.is_empty() && bytes.len() <= 32;
        let mut index = 0;
        let mut valid_chars = true;
        while index < bytes.len() {
            let byte = bytes[index];
            valid_chars &= byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_';
            index += 1;
        }
        // A const fn cannot return an error; an invalid name is a programming
        // error caught by the first test or const evaluation that uses it.
        #[allow(clippy::panic)]
        if !(valid_len && valid_chars) {
            panic!("table names are 1-32 characters of a-z, 0-9 and _");
        }
        Table(name)
    }

    /// The table's name.
    pub fn name(self) -> &'static str {
        self.0
    }
}

impl fmt::Debug for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Table({})", self.0)
    }
}

/// One stored record.
#[derive(Clone, PartialEq, Eq)]
pub struct Record {
    /// The record's key within its table.
    pub key: Vec<u8>,
    /// The record's value.
    pub value: Vec<u8>,
}

impl fmt::Debug for Record {
    // Values may hold message text or key material: never print them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Record")
            .field("key_len", &self.key.len())
            .field("value_len", &self.value.len())
            .finish()
    }
}

/// Which way a range is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Smallest key first.
    Forward,
    /// Largest key first.
    Backward,
}

/// A range of keys of one table: `start` inclusive, `end` exclusive (`None`: to the
/// end of the table).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRange {
    /// The first key in the range.
    pub start: Vec<u8>,
    /// The first key past the range, if any.
    pub end: Option<Vec<u8>>,
}

impl KeyRange {
    /// Every key of the table.
    pub fn all() -> KeyRange {
        KeyRange {
            start: Vec::new(),
            end: None,
        }
    }

    /// Every key that starts with `prefix`.
    pub fn prefix(prefix: &[u8]) -> KeyRange {
        KeyRange {
            start: prefix.to_vec(),
            end: prefix_successor(prefix),
        }
    }

    /// Whether `key` lies in the range.
    pub fn contains(&self, key: &[u8]) -> bool {
        key >= self.start.as_slice() && self.end.as_deref().is_none_or(|end| key < end)
    }
}

/// The smallest key greater than every key with this prefix, if there is one.
fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// One change in a [`WriteBatch`].
#[derive(Clone, PartialEq, Eq)]
pub enum Write {
    /// Insert or replace a record.
    Put {
        /// The table.
        table: Table,
        /// The record.
        record: Record,
    },
    /// Remove a record if it exists.
    Delete {
        /// The table.
        table: Table,
        /// The record's key.
        key: Vec<u8>,
    },
    /// Remove every record of a range.
    DeleteRange {
        /// The table.
        table: Table,
        /// The keys to remove.
        range: KeyRange,
    },
}

impl fmt::Debug for Write {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Write::Put { table, record } => write!(f, "Put({table:?}, {record:?})"),
            Write::Delete { table, key } => write!(f, "Delete({table:?}, {} bytes)", key.len()),
            Write::DeleteRange { table, .. } => write!(f, "DeleteRange({table:?})"),
        }
    }
}

/// Changes applied all together or not at all, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteBatch {
    writes: Vec<Write>,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> WriteBatch {
        WriteBatch::default()
    }

    /// Adds an insert-or-replace.
    pub fn put(&mut self, table: Table, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.writes.push(Write::Put {
            table,
            record: Record {
                key: key.into(),
                value: value.into(),
            },
        });
    }

    /// Adds a delete.
    pub fn delete(&mut self, table: Table, key: impl Into<Vec<u8>>) {
        self.writes.push(Write::Delete {
            table,
            key: key.into(),
        });
    }

    /// Adds a delete of every record in `range`.
    pub fn delete_range(&mut self, table: Table, range: KeyRange) {
        self.writes.push(Write::DeleteRange { table, range });
    }

    /// Whether the batch has no changes.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    /// The changes, in order.
    pub fn writes(&self) -> &[Write] {
        &self.writes
    }

    /// Takes the changes out, leaving the batch empty.
    pub fn take(&mut self) -> Vec<Write> {
        std::mem::take(&mut self.writes)
    }
}

/// Why a storage backend failed. The text is safe to log: it never holds record
/// contents, keys or passphrases.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The passphrase does not open this database.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// A new passphrase was empty (`Passphrase::check_chosen`).
    #[error("the passphrase is empty: choose one")]
    EmptyPassphrase,
    /// The stored data is damaged or not a Sotto database.
    #[error("the database is damaged or not a Sotto profile: {0}")]
    Corrupt(String),
    /// The backend could not read or write (disk full, permissions, I/O error).
    #[error("storage is unavailable: {0}")]
    Unavailable(String),
}

/// Storage of the core's records. See the module documentation.
pub trait Store {
    /// The record with this key, if any.
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// At most `limit` records of `range`, in key order (`Forward`) or reverse key
    /// order (`Backward`).
    fn range(
        &self,
        table: Table,
        range: &KeyRange,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError>;

    /// Applies every change of `batch` atomically. What the core reads next
    /// sees it at once; it is durable once [`Store::sync`] has returned (a
    /// backend may make every batch durable by itself, or defer that so that
    /// one sync covers many batches).
    fn apply(&mut self, batch: WriteBatch) -> Result<(), StoreError>;

    /// Makes every batch applied so far durable. The core calls it (or
    /// [`Store::start_sync`]) from [`crate::Core::sync`] and
    /// [`crate::Core::start_sync`], and hands out nothing those batches
    /// produced (relay commands, events) before it has: a message is
    /// acknowledged, and an encrypted message sent, only once the changes
    /// behind it would survive a power cut. The default does nothing, for
    /// backends whose `apply` is durable by itself.
    fn sync(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// [`Store::sync`] in two halves, for a runtime that keeps working while
    /// the disk does: what must happen on the store's thread happens now, and
    /// the rest (the wait for the disk) is returned to run on another thread.
    /// The batches applied before this call are durable once it has run; the
    /// store may take more batches meanwhile. `None`: they are durable already.
    fn start_sync(&self) -> Result<Option<PendingSync>, StoreError> {
        self.sync().map(|()| None)
    }

    /// The names of the tables that hold at least one record (for export).
    fn tables(&self) -> Result<Vec<String>, StoreError>;

    /// At most `limit` records of the table named `table` with keys greater than
    /// `after` (all keys when `None`), in key order (for export, which walks
    /// tables by name).
    fn records_after(
        &self,
        table: &str,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError>;

    /// Inserts or replaces one record of the table named `table` (for import, which
    /// recreates tables by name).
    fn import_record(&mut self, table: &str, record: Record) -> Result<(), StoreError>;
}

/// The second half of a [`Store::start_sync`]: runs on any thread, and
/// blocks until the batches it covers are durable.
pub struct PendingSync(Box<dyn FnOnce() -> Result<(), StoreError> + Send>);

impl PendingSync {
    /// The wait for the disk, as a backend has it.
    pub fn new(wait: impl FnOnce() -> Result<(), StoreError> + Send + 'static) -> PendingSync {
        PendingSync(Box::new(wait))
    }

    /// Blocks until the batches are durable.
    pub fn finish(self) -> Result<(), StoreError> {
        (self.0)()
    }
}

impl fmt::Debug for PendingSync {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PendingSync")
    }
}

/// Records in memory: the backend of unit tests, and the browser's working
/// copy of its records. The records hold keys in the clear, so a value that is
/// replaced or deleted, and every record when the store is dropped (the
/// browser's lock), is zeroized.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    tables: BTreeMap<String, BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn table(&self, name: &str) -> Option<&BTreeMap<Vec<u8>, Vec<u8>>> {
        self.tables.get(name)
    }
}

impl Drop for MemoryStore {
    fn drop(&mut self) {
        for (_, records) in std::mem::take(&mut self.tables) {
            for (mut key, mut value) in records {
                key.zeroize();
                value.zeroize();
            }
        }
    }
}

impl Store for MemoryStore {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .table(table.name())
            .and_then(|records| records.get(key))
            .cloned())
    }

    fn range(
        &self,
        table: Table,
        range: &KeyRange,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        let Some(records) = self.table(table.name()) else {
            return Ok(Vec::new());
        };
        // An empty range (end at or before start) selects nothing; BTreeMap would
        // refuse it.
        if range.end.as_ref().is_some_and(|end| *end <= range.start) {
            return Ok(Vec::new());
        }
        let end = match &range.end {
            Some(end) => Bound::Excluded(end.clone()),
            None => Bound::Unbounded,
        };
        let selected = records.range((Bound::Included(range.start.clone()), end));
        let to_record = |(key, value): (&Vec<u8>, &Vec<u8>)| Record {
            key: key.clone(),
            value: value.clone(),
        };
        Ok(match direction {
            Direction::Forward => selected.take(limit).map(to_record).collect(),
            Direction::Backward => selected.rev().take(limit).map(to_record).collect(),
        })
    }

    fn apply(&mut self, mut batch: WriteBatch) -> Result<(), StoreError> {
        for write in batch.take() {
            match write {
                Write::Put { table, record } => {
                    let replaced = self
                        .tables
                        .entry(table.name().to_owned())
                        .or_default()
                        .insert(record.key, record.value);
                    if let Some(mut old) = replaced {
                        old.zeroize();
                    }
                }
                Write::Delete { table, key } => {
                    if let Some(records) = self.tables.get_mut(table.name())
                        && let Some(mut old) = records.remove(&key)
                    {
                        old.zeroize();
                    }
                }
                Write::DeleteRange { table, range } => {
                    if let Some(records) = self.tables.get_mut(table.name()) {
                        records.retain(|key, value| {
                            let keep = !range.contains(key);
                            if !keep {
                                value.zeroize();
                            }
                            keep
                        });
                    }
                }
            }
        }
        self.tables.retain(|_, records| !records.is_empty());
        Ok(())
    }

    fn tables(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.tables.keys().cloned().collect())
    }

    fn records_after(
        &self,
        table: &str,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        let Some(records) = self.table(table) else {
            return Ok(Vec::new());
        };
        let start = match after {
            Some(after) => Bound::Excluded(after.to_vec()),
            None => Bound::Unbounded,
        };
        Ok(records
            .range((start, Bound::Unbounded))
            .take(limit)
            .map(|(key, value)| Record {
                key: key.clone(),
                value: value.clone(),
            })
            .collect())
    }

    fn import_record(&mut self, table: &str, record: Record) -> Result<(), StoreError> {
        self.tables
            .entry(table.to_owned())
            .or_default()
            .insert(record.key, record.value);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHATS: Table = Table::new("chats");

    #[test]
    fn prefix_ranges_cover_exactly_the_prefix() {
        let range = KeyRange::prefix(&[1, 0xff]);
        assert!(range.contains(&[1, 0xff]));
        assert!(range.contains(&[1, 0xff, 0xff, 3]));
        assert!(!range.contains(&[2]));
        assert!(!range.contains(&[1, 0xfe, 9]));
        assert_eq!(range.end, Some(vec![2]));
        assert_eq!(KeyRange::prefix(&[0xff, 0xff]).end, None);
    }

    #[test]
    fn batches_apply_in_order_and_ranges_read_both_ways() {
        let mut store = MemoryStore::new();
        let mut batch = WriteBatch::new();
        for key in 0u8..10 {
            batch.put(CHATS, vec![key], vec![key * 2]);
        }
        batch.delete(CHATS, vec![3]);
        batch.delete_range(
            CHATS,
            KeyRange {
                start: vec![7],
                end: Some(vec![9]),
            },
        );
        store.apply(batch).unwrap();
        let forward = store
            .range(CHATS, &KeyRange::all(), Direction::Forward, 3)
            .unwrap();
        assert_eq!(
            forward.iter().map(|r| r.key[0]).collect::<Vec<_>>(),
            [0, 1, 2]
        );
        let backward = store
            .range(CHATS, &KeyRange::all(), Direction::Backward, 3)
            .unwrap();
        assert_eq!(
            backward.iter().map(|r| r.key[0]).collect::<Vec<_>>(),
            [9, 6, 5]
        );
        assert_eq!(store.get(CHATS, &[4]).unwrap(), Some(vec![8]));
        assert_eq!(store.get(CHATS, &[3]).unwrap(), None);
    }

    #[test]
    fn export_walk_sees_every_record_once() {
        let mut store = MemoryStore::new();
        let mut batch = WriteBatch::new();
        for key in 0u8..5 {
            batch.put(CHATS, vec![key], vec![key]);
        }
        store.apply(batch).unwrap();
        assert_eq!(store.tables().unwrap(), ["chats"]);
        let mut seen = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = store.records_after("chats", after.as_deref(), 2).unwrap();
            let Some(last) = page.last() else { break };
            after = Some(last.key.clone());
            seen.extend(page.into_iter().map(|r| r.key[0]));
        }
        assert_eq!(seen, [0, 1, 2, 3, 4]);
    }

    #[test]
    fn inverted_ranges_select_nothing() {
        let mut store = MemoryStore::new();
        let mut batch = WriteBatch::new();
        batch.put(CHATS, vec![5], vec![5]);
        store.apply(batch).unwrap();
        let inverted = KeyRange {
            start: vec![9],
            end: Some(vec![1]),
        };
        for direction in [Direction::Forward, Direction::Backward] {
            assert!(
                store
                    .range(CHATS, &inverted, direction, 10)
                    .unwrap()
                    .is_empty()
            );
        }
    }

    #[test]
    fn record_debug_prints_no_contents() {
        let record = Record {
            key: b"key".to_vec(),
            value: b"secret text".to_vec(),
        };
        let printed = format!("{record:?}");
        assert!(!printed.contains("secret"));
    }
}
