//! The log of writes in the browser's database: each group of sealed records
//! the bridge writes goes into IndexedDB as one value (IndexedDB costs per
//! value far more than per byte), and the log is folded into the records now
//! and then, each record once however often it changed (see docs/storage.md).
//!
//! ```text
//! entry  = count u32 BE || count × (index (32) || len u32 BE || sealed)
//!          len = 0xFFFFFFFF: the record was deleted (no bytes follow)
//! ```
//!
//! The entries are attacker-controlled input (whoever can write the browser's
//! files): every length is bounded before it is used, trailing bytes are
//! refused, and each sealed record is still opened and checked on its own.

use std::collections::BTreeMap;

use sotto_sealed_store::sealed_profile::SealedWrite;
use sotto_sealed_store::sealed_record::{INDEX_LEN, MAX_SEALED_LEN, RecordIndex};

/// The `len` of a deleted record.
const DELETED: u32 = u32::MAX;

/// Entries the log holds before the next write folds it.
pub(crate) const FOLD_ENTRIES: u32 = 64;
/// Bytes of the latest values of the records the log touches before the
/// next write folds it (what the bridge keeps in memory for the fold).
pub(crate) const FOLD_BYTES: usize = 4 << 20;

/// A log entry that does not parse.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("a stored write log entry is malformed")]
pub(crate) struct MalformedEntry;

/// One entry's bytes for `writes`, in their order.
pub(crate) fn encode(writes: &[SealedWrite]) -> Vec<u8> {
    let size: usize = writes
        .iter()
        .map(|write| INDEX_LEN + 4 + write.sealed.as_ref().map_or(0, Vec::len))
        .sum();
    let mut entry = Vec::with_capacity(4 + size);
    // A write holds far fewer than 2^32 records (each is at least 256 bytes).
    entry.extend_from_slice(
        &u32::try_from(writes.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    for write in writes {
        entry.extend_from_slice(&write.index.0);
        match &write.sealed {
            Some(sealed) => {
                // Sealed records are at most MAX_SEALED_LEN, far below 2^32 - 1.
                let len = u32::try_from(sealed.len()).unwrap_or(DELETED - 1);
                entry.extend_from_slice(&len.to_be_bytes());
                entry.extend_from_slice(sealed);
            }
            None => entry.extend_from_slice(&DELETED.to_be_bytes()),
        }
    }
    entry
}

/// The records an entry writes, in order.
pub(crate) fn decode(mut entry: &[u8]) -> Result<Vec<SealedWrite>, MalformedEntry> {
    let count = take_u32(&mut entry)?;
    let mut writes = Vec::new();
    for _ in 0..count {
        let index: [u8; INDEX_LEN] = take(&mut entry, INDEX_LEN)?
            .try_into()
            .map_err(|_| MalformedEntry)?;
        let len = take_u32(&mut entry)?;
        let sealed = if len == DELETED {
            None
        } else {
            let len = usize::try_from(len).map_err(|_| MalformedEntry)?;
            if len > MAX_SEALED_LEN {
                return Err(MalformedEntry);
            }
            Some(take(&mut entry, len)?.to_vec())
        };
        writes.push(SealedWrite {
            index: RecordIndex(index),
            sealed,
        });
    }
    if !entry.is_empty() {
        return Err(MalformedEntry);
    }
    Ok(writes)
}

fn take<'a>(bytes: &mut &'a [u8], len: usize) -> Result<&'a [u8], MalformedEntry> {
    if bytes.len() < len {
        return Err(MalformedEntry);
    }
    let (head, rest) = bytes.split_at(len);
    *bytes = rest;
    Ok(head)
}

fn take_u32(bytes: &mut &[u8]) -> Result<u32, MalformedEntry> {
    let head: [u8; 4] = take(bytes, 4)?.try_into().map_err(|_| MalformedEntry)?;
    Ok(u32::from_be_bytes(head))
}

/// What the bridge knows of the log in IndexedDB: how many entries it holds,
/// the key of the next one, and the latest value of every record it touches
/// (what a fold writes).
#[derive(Debug, Default)]
pub(crate) struct WriteLog {
    pub(crate) entries: u32,
    pub(crate) next: u64,
    touched: BTreeMap<RecordIndex, Option<Vec<u8>>>,
    touched_bytes: usize,
}

impl WriteLog {
    /// Notes an entry of `writes` appended.
    pub(crate) fn appended(&mut self, writes: &[SealedWrite]) {
        self.entries += 1;
        self.next += 1;
        for write in writes {
            self.touch(write.index, write.sealed.clone());
        }
    }

    /// Notes the records of an entry read back at unlock.
    pub(crate) fn read_back(&mut self, key: u64, writes: &[SealedWrite]) {
        self.entries += 1;
        self.next = self.next.max(key.saturating_add(1));
        for write in writes {
            self.touch(write.index, write.sealed.clone());
        }
    }

    /// Whether the next write should fold the log into the records.
    pub(crate) fn full(&self) -> bool {
        self.entries >= FOLD_ENTRIES || self.touched_bytes >= FOLD_BYTES
    }

    /// Every record the log touches with `writes` after them, once each, for
    /// a fold; the log is then empty (its next key goes on).
    pub(crate) fn fold(&mut self, writes: Vec<SealedWrite>) -> Vec<SealedWrite> {
        for write in writes {
            self.touch(write.index, write.sealed);
        }
        self.entries = 0;
        self.touched_bytes = 0;
        std::mem::take(&mut self.touched)
            .into_iter()
            .map(|(index, sealed)| SealedWrite { index, sealed })
            .collect()
    }

    /// The log is empty (a snapshot replaced everything).
    pub(crate) fn cleared(&mut self) {
        self.entries = 0;
        self.touched.clear();
        self.touched_bytes = 0;
    }

    fn touch(&mut self, index: RecordIndex, sealed: Option<Vec<u8>>) {
        self.touched_bytes += sealed.as_ref().map_or(0, Vec::len);
        if let Some(Some(replaced)) = self.touched.insert(index, sealed) {
            self.touched_bytes -= replaced.len();
        }
    }
}

/// `records` (index → sealed, as IndexedDB holds them) with the log's
/// entries applied in order.
pub(crate) fn apply(
    records: Vec<(Vec<u8>, Vec<u8>)>,
    entries: &[Vec<SealedWrite>],
) -> Vec<(Vec<u8>, Vec<u8>)> {
    if entries.is_empty() {
        return records;
    }
    let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = records.into_iter().collect();
    for entry in entries {
        for write in entry {
            match &write.sealed {
                Some(sealed) => {
                    merged.insert(write.index.0.to_vec(), sealed.clone());
                }
                None => {
                    merged.remove(write.index.0.as_slice());
                }
            }
        }
    }
    merged.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(byte: u8, sealed: Option<&[u8]>) -> SealedWrite {
        SealedWrite {
            index: RecordIndex([byte; INDEX_LEN]),
            sealed: sealed.map(<[u8]>::to_vec),
        }
    }

    #[test]
    fn entries_round_trip() {
        let writes = vec![
            write(1, Some(&[7; 300])),
            write(2, None),
            write(3, Some(&[])),
        ];
        let decoded = decode(&encode(&writes)).unwrap();
        assert_eq!(decoded.len(), 3);
        for (write, read) in writes.iter().zip(&decoded) {
            assert_eq!(write.index, read.index);
            assert_eq!(write.sealed, read.sealed);
        }
        assert!(decode(&encode(&[])).unwrap().is_empty());
    }

    #[test]
    fn malformed_entries_are_refused() {
        let entry = encode(&[write(1, Some(&[7; 40])), write(2, None)]);
        for cut in 0..entry.len() {
            assert!(decode(&entry[..cut]).is_err(), "cut at {cut}");
        }
        let mut trailing = entry.clone();
        trailing.push(0);
        assert!(decode(&trailing).is_err());
        // A count far beyond the bytes, and a length beyond any sealed record.
        assert!(decode(&u32::MAX.to_be_bytes()).is_err());
        let mut huge = 1u32.to_be_bytes().to_vec();
        huge.extend_from_slice(&[0; INDEX_LEN]);
        huge.extend_from_slice(&(u32::MAX - 1).to_be_bytes());
        assert!(decode(&huge).is_err());
    }

    #[test]
    fn the_log_applies_over_the_records_in_order_and_folds_each_record_once() {
        let records = vec![
            (vec![1; INDEX_LEN], vec![10]),
            (vec![2; INDEX_LEN], vec![20]),
        ];
        let first = vec![write(1, Some(&[11])), write(3, Some(&[30]))];
        let second = vec![write(1, Some(&[12])), write(2, None)];
        let entries: Vec<_> = [&first, &second]
            .iter()
            .map(|writes| decode(&encode(writes)).unwrap())
            .collect();
        let merged = apply(records, &entries);
        assert_eq!(
            merged,
            vec![
                (vec![1; INDEX_LEN], vec![12]),
                (vec![3; INDEX_LEN], vec![30])
            ]
        );

        let mut log = WriteLog::default();
        log.appended(&first);
        log.read_back(7, &entries[1]);
        assert_eq!((log.entries, log.next), (2, 8));
        let folded = log.fold(vec![write(4, Some(&[40]))]);
        let folded: Vec<_> = folded
            .into_iter()
            .map(|w| (w.index.0[0], w.sealed))
            .collect();
        assert_eq!(
            folded,
            vec![
                (1, Some(vec![12])),
                (2, None),
                (3, Some(vec![30])),
                (4, Some(vec![40]))
            ]
        );
        assert_eq!((log.entries, log.next, log.full()), (0, 8, false));
    }
}
