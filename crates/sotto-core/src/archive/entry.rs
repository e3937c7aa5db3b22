//! The plaintext inside the chunks: a stream of entries naming tables and their
//! records, in order, closed by an end entry that counts them.
//!
//! ```text
//! table  = 0x01 || name length (u8, 1..=32) || name ([a-z0-9_])
//! record = 0x02 || key length (u32 BE, <= 4 KiB) || key || value length (u32 BE, <= 16 MiB) || value
//! end    = 0x03 || tables (u32 BE) || records (u64 BE)
//! ```
//! Tables come in strictly increasing name order, each followed by at least one
//! record; keys within a table are strictly increasing. Entries may span chunks.

use zeroize::Zeroizing;

use super::{ArchiveError, ImportedRecord};
use crate::store::Record;

const TABLE: u8 = 0x01;
const RECORD: u8 = 0x02;
const END: u8 = 0x03;

/// The longest record key an archive carries.
pub const MAX_KEY_LEN: usize = 4 * 1024;
/// The longest record value an archive carries.
pub const MAX_VALUE_LEN: usize = 16 * 1024 * 1024;
/// The longest table name.
const MAX_TABLE_NAME_LEN: usize = 32;

/// Whether `name` is a valid table name (the rule of [`crate::Table::new`]).
pub(super) fn valid_table_name(name: &str) -> bool {
    (1..=MAX_TABLE_NAME_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

pub(super) fn encode_table(out: &mut Vec<u8>, name: &str) -> Result<(), ArchiveError> {
    if !valid_table_name(name) {
        return Err(ArchiveError::InvalidTableName);
    }
    out.push(TABLE);
    // At most 32 bytes, checked above.
    out.push(u8::try_from(name.len()).map_err(|_| ArchiveError::InvalidTableName)?);
    out.extend_from_slice(name.as_bytes());
    Ok(())
}

pub(super) fn encode_record(out: &mut Vec<u8>, record: &Record) -> Result<(), ArchiveError> {
    if record.key.len() > MAX_KEY_LEN || record.value.len() > MAX_VALUE_LEN {
        return Err(ArchiveError::RecordTooLarge);
    }
    out.push(RECORD);
    for field in [&record.key, &record.value] {
        // Both bounds are far below u32::MAX.
        let len = u32::try_from(field.len()).map_err(|_| ArchiveError::RecordTooLarge)?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(field);
    }
    Ok(())
}

pub(super) fn encode_end(out: &mut Vec<u8>, tables: u32, records: u64) {
    out.push(END);
    out.extend_from_slice(&tables.to_be_bytes());
    out.extend_from_slice(&records.to_be_bytes());
}

/// Parses the entry stream as plaintext arrives, checking every rule.
#[derive(Default)]
pub(super) struct EntryParser {
    pending: Zeroizing<Vec<u8>>,
    table: Option<String>,
    last_key: Option<Vec<u8>>,
    tables: u32,
    records: u64,
    ended: bool,
}

impl EntryParser {
    /// Adds the plaintext of one chunk and returns the records completed by it.
    pub(super) fn push(&mut self, plaintext: &[u8]) -> Result<Vec<ImportedRecord>, ArchiveError> {
        if self.ended && !plaintext.is_empty() {
            return Err(ArchiveError::Malformed("data after the end entry"));
        }
        self.pending.extend_from_slice(plaintext);
        let mut out = Vec::new();
        let mut at = 0;
        while let Some(used) = self.entry(at, &mut out)? {
            at += used;
        }
        self.pending.drain(..at);
        if self.ended && !self.pending.is_empty() {
            return Err(ArchiveError::Malformed("data after the end entry"));
        }
        Ok(out)
    }

    /// After the final chunk: the stream must have ended exactly there.
    pub(super) fn finish(&self) -> Result<(u32, u64), ArchiveError> {
        if self.ended && self.pending.is_empty() {
            Ok((self.tables, self.records))
        } else {
            Err(ArchiveError::Malformed(
                "the final chunk does not end the entries",
            ))
        }
    }

    /// Parses one entry at `at` if it is complete; the bytes it used.
    fn entry(
        &mut self,
        at: usize,
        out: &mut Vec<ImportedRecord>,
    ) -> Result<Option<usize>, ArchiveError> {
        let bytes = &self.pending[at..];
        let Some((&tag, body)) = bytes.split_first() else {
            return Ok(None);
        };
        if self.ended {
            return Err(ArchiveError::Malformed("data after the end entry"));
        }
        match tag {
            TABLE => {
                let Some((&len, rest)) = body.split_first() else {
                    return Ok(None);
                };
                let len = usize::from(len);
                let Some(name) = rest.get(..len) else {
                    if len > MAX_TABLE_NAME_LEN {
                        return Err(ArchiveError::Malformed("table name too long"));
                    }
                    return Ok(None);
                };
                let name = std::str::from_utf8(name)
                    .ok()
                    .filter(|name| valid_table_name(name))
                    .ok_or(ArchiveError::Malformed("invalid table name"))?;
                if name == super::moved::MOVED_TABLE.name() {
                    return Err(ArchiveError::Malformed("reserved table name"));
                }
                if self.table.is_some() && self.last_key.is_none() {
                    return Err(ArchiveError::Malformed("empty table"));
                }
                if self
                    .table
                    .as_deref()
                    .is_some_and(|previous| name <= previous)
                {
                    return Err(ArchiveError::Malformed("tables out of order"));
                }
                self.table = Some(name.to_owned());
                self.last_key = None;
                self.tables = self
                    .tables
                    .checked_add(1)
                    .ok_or(ArchiveError::Malformed("too many tables"))?;
                Ok(Some(2 + len))
            }
            RECORD => {
                let Some(key_len) = length(body, 0, MAX_KEY_LEN)? else {
                    return Ok(None);
                };
                let Some(value_len) = length(body, 4 + key_len, MAX_VALUE_LEN)? else {
                    return Ok(None);
                };
                let total = 4 + key_len + 4 + value_len;
                if body.len() < total {
                    return Ok(None);
                }
                let key = &body[4..4 + key_len];
                let value = &body[8 + key_len..total];
                let Some(table) = self.table.clone() else {
                    return Err(ArchiveError::Malformed("record before any table"));
                };
                if self.last_key.as_deref().is_some_and(|last| key <= last) {
                    return Err(ArchiveError::Malformed("keys out of order"));
                }
                self.last_key = Some(key.to_vec());
                self.records = self
                    .records
                    .checked_add(1)
                    .ok_or(ArchiveError::Malformed("too many records"))?;
                out.push(ImportedRecord {
                    table,
                    record: Record {
                        key: key.to_vec(),
                        value: value.to_vec(),
                    },
                });
                Ok(Some(1 + total))
            }
            END => {
                let Some(counts) = body.get(..12) else {
                    return Ok(None);
                };
                let mut tables = [0u8; 4];
                tables.copy_from_slice(&counts[..4]);
                let mut records = [0u8; 8];
                records.copy_from_slice(&counts[4..]);
                if self.table.is_some() && self.last_key.is_none() {
                    return Err(ArchiveError::Malformed("empty table"));
                }
                if u32::from_be_bytes(tables) != self.tables
                    || u64::from_be_bytes(records) != self.records
                {
                    return Err(ArchiveError::Malformed("counts do not match the entries"));
                }
                self.ended = true;
                Ok(Some(13))
            }
            _ => Err(ArchiveError::Malformed("unknown entry")),
        }
    }
}

/// The u32 length at `at` of `body`, if present, refused above `max`.
fn length(body: &[u8], at: usize, max: usize) -> Result<Option<usize>, ArchiveError> {
    let Some(bytes) = body.get(at..at + 4) else {
        return Ok(None);
    };
    let mut word = [0u8; 4];
    word.copy_from_slice(bytes);
    let len = usize::try_from(u32::from_be_bytes(word)).unwrap_or(usize::MAX);
    if len > max {
        return Err(ArchiveError::Malformed("record too long"));
    }
    Ok(Some(len))
}
