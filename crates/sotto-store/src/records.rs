//! The core's tables in one SQL table:
//!
//! ```sql
//! CREATE TABLE records (tbl TEXT NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL,
//!                       PRIMARY KEY (tbl, key));
//! ```
//! A table with rowids, its primary key a separate index of the keys alone:
//! a lookup compares keys, never values. Version 1 kept the whole record in
//! the key's B-tree (`WITHOUT ROWID`), where SQLite reads a record that
//! overflows its page (a group's state, a file's piece) whole, every overflow
//! page of it, each time a search passes it: a lookup near a 1 MiB value cost
//! milliseconds. Version 1 databases are converted on open.
//! SQLite orders BLOBs bytewise (memcmp, then length), the order the trait
//! promises. Batches are applied inside one transaction that stays open until
//! the next sync, each batch under its own savepoint (see `database`). Records are bounded like the archive's
//! (`MAX_KEY_LEN`, `MAX_VALUE_LEN`), so every stored profile can be exported.

use rusqlite::{Connection, params};
use sotto_core::{
    Direction, KeyRange, MAX_KEY_LEN, MAX_VALUE_LEN, PendingSync, Record, Store, StoreError, Table,
    Write, WriteBatch,
};

use crate::database::{SqlCipherStore, sql_error};

/// `PRAGMA user_version` of the schema above.
pub(crate) const SCHEMA_VERSION: i64 = 2;

/// The records table of the current schema.
const CREATE_RECORDS: &str = "CREATE TABLE records (
     tbl TEXT NOT NULL,
     key BLOB NOT NULL,
     value BLOB NOT NULL,
     PRIMARY KEY (tbl, key)
 );";

pub(crate) fn create_schema(connection: &rusqlite::Connection) -> Result<(), StoreError> {
    connection
        .execute_batch(&format!(
            "BEGIN;
             {CREATE_RECORDS}
             PRAGMA user_version = {SCHEMA_VERSION};
             COMMIT;"
        ))
        .map_err(sql_error)
}

/// Checks the schema's version, converting a version 1 database (one
/// transaction: a crash leaves it as it was).
pub(crate) fn check_schema(connection: &rusqlite::Connection) -> Result<(), StoreError> {
    let version: i64 = connection
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(sql_error)?;
    match version {
        SCHEMA_VERSION => Ok(()),
        1 => {
            let converted = connection.execute_batch(&format!(
                "BEGIN;
                 ALTER TABLE records RENAME TO records_v1;
                 {CREATE_RECORDS}
                 INSERT INTO records (tbl, key, value)
                     SELECT tbl, key, value FROM records_v1 ORDER BY tbl, key;
                 DROP TABLE records_v1;
                 PRAGMA user_version = {SCHEMA_VERSION};
                 COMMIT;"
            ));
            if converted.is_err() && !connection.is_autocommit() {
                // What ran of it is undone; the error below says why.
                let _ = connection.execute_batch("ROLLBACK;");
            }
            converted.map_err(sql_error)
        }
        _ => Err(StoreError::Corrupt(format!(
            "database schema version {version} is not supported"
        ))),
    }
}

/// Inserts or replaces one record (inside a transaction).
pub(crate) fn put(connection: &Connection, table: &str, record: &Record) -> Result<(), StoreError> {
    check_size(&record.key, &record.value)?;
    connection
        .prepare_cached("INSERT OR REPLACE INTO records (tbl, key, value) VALUES (?1, ?2, ?3)")
        .and_then(|mut statement| statement.execute(params![table, record.key, record.value]))
        .map_err(sql_error)?;
    Ok(())
}

fn check_size(key: &[u8], value: &[u8]) -> Result<(), StoreError> {
    if key.len() > MAX_KEY_LEN || value.len() > MAX_VALUE_LEN {
        return Err(StoreError::Unavailable("record too large to store".into()));
    }
    Ok(())
}

fn limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

fn collect(
    statement: &mut rusqlite::Statement<'_>,
    params: impl rusqlite::Params,
) -> Result<Vec<Record>, StoreError> {
    statement
        .query_map(params, |row| {
            Ok(Record {
                key: row.get(0)?,
                value: row.get(1)?,
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(sql_error)
}

impl Store for SqlCipherStore {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached("SELECT value FROM records WHERE tbl = ?1 AND key = ?2")
            .map_err(sql_error)?;
        let mut rows = statement
            .query(params![table.name(), key])
            .map_err(sql_error)?;
        match rows.next().map_err(sql_error)? {
            Some(row) => Ok(Some(row.get(0).map_err(sql_error)?)),
            None => Ok(None),
        }
    }

    fn range(
        &self,
        table: Table,
        range: &KeyRange,
        direction: Direction,
        count: usize,
    ) -> Result<Vec<Record>, StoreError> {
        let order = match direction {
            Direction::Forward => "ASC",
            Direction::Backward => "DESC",
        };
        let mut statement;
        match &range.end {
            Some(end) => {
                statement = self
                    .connection
                    .prepare_cached(&format!(
                        "SELECT key, value FROM records WHERE tbl = ?1 AND key >= ?2 AND key < ?3
                         ORDER BY key {order} LIMIT ?4"
                    ))
                    .map_err(sql_error)?;
                collect(
                    &mut statement,
                    params![table.name(), range.start, end, limit(count)],
                )
            }
            None => {
                statement = self
                    .connection
                    .prepare_cached(&format!(
                        "SELECT key, value FROM records WHERE tbl = ?1 AND key >= ?2
                         ORDER BY key {order} LIMIT ?3"
                    ))
                    .map_err(sql_error)?;
                collect(
                    &mut statement,
                    params![table.name(), range.start, limit(count)],
                )
            }
        }
    }

    fn apply(&mut self, mut batch: WriteBatch) -> Result<(), StoreError> {
        let writes = batch.take();
        self.in_savepoint(|connection| {
            for write in writes {
                apply_write(connection, write)?;
            }
            Ok(())
        })
    }

    fn sync(&self) -> Result<(), StoreError> {
        self.sync_now()
    }

    fn start_sync(&self) -> Result<Option<PendingSync>, StoreError> {
        self.start_sync_wal()
    }

    fn tables(&self) -> Result<Vec<String>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached("SELECT DISTINCT tbl FROM records ORDER BY tbl")
            .map_err(sql_error)?;
        statement
            .query_map([], |row| row.get(0))
            .and_then(|rows| rows.collect())
            .map_err(sql_error)
    }

    fn records_after(
        &self,
        table: &str,
        after: Option<&[u8]>,
        count: usize,
    ) -> Result<Vec<Record>, StoreError> {
        match after {
            Some(after) => {
                let mut statement = self
                    .connection
                    .prepare_cached(
                        "SELECT key, value FROM records WHERE tbl = ?1 AND key > ?2
                         ORDER BY key LIMIT ?3",
                    )
                    .map_err(sql_error)?;
                collect(&mut statement, params![table, after, limit(count)])
            }
            None => {
                let mut statement = self
                    .connection
                    .prepare_cached(
                        "SELECT key, value FROM records WHERE tbl = ?1 ORDER BY key LIMIT ?2",
                    )
                    .map_err(sql_error)?;
                collect(&mut statement, params![table, limit(count)])
            }
        }
    }

    fn import_record(&mut self, table: &str, record: Record) -> Result<(), StoreError> {
        self.in_savepoint(|connection| put(connection, table, &record))
    }
}

fn apply_write(connection: &Connection, write: Write) -> Result<(), StoreError> {
    match write {
        Write::Put { table, record } => put(connection, table.name(), &record),
        Write::Delete { table, key } => connection
            .prepare_cached("DELETE FROM records WHERE tbl = ?1 AND key = ?2")
            .and_then(|mut statement| statement.execute(params![table.name(), key]))
            .map(drop)
            .map_err(sql_error),
        Write::DeleteRange { table, range } => match &range.end {
            Some(end) => connection
                .prepare_cached("DELETE FROM records WHERE tbl = ?1 AND key >= ?2 AND key < ?3")
                .and_then(|mut s| s.execute(params![table.name(), range.start, end])),
            None => connection
                .prepare_cached("DELETE FROM records WHERE tbl = ?1 AND key >= ?2")
                .and_then(|mut s| s.execute(params![table.name(), range.start])),
        }
        .map(drop)
        .map_err(sql_error),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_version_1_database_is_converted_with_every_record() {
        let connection = Connection::open_in_memory().unwrap();
        connection
            .execute_batch(
                "CREATE TABLE records (tbl TEXT NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL,
                     PRIMARY KEY (tbl, key)) WITHOUT ROWID;
                 PRAGMA user_version = 1;",
            )
            .unwrap();
        let big = vec![7u8; 300_000];
        for (table, key, value) in [
            ("group_state", &b"a"[..], &big[..]),
            ("items", b"\x00\x01", b"one"),
            ("items", b"\x00", b"zero"),
        ] {
            connection
                .execute(
                    "INSERT INTO records (tbl, key, value) VALUES (?1, ?2, ?3)",
                    params![table, key, value],
                )
                .unwrap();
        }
        check_schema(&connection).unwrap();
        let version: i64 = connection
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let rows: Vec<(String, Vec<u8>, Vec<u8>)> = connection
            .prepare("SELECT tbl, key, value FROM records ORDER BY tbl, key")
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            vec![
                ("group_state".into(), b"a".to_vec(), big),
                ("items".into(), b"\x00".to_vec(), b"zero".to_vec()),
                ("items".into(), b"\x00\x01".to_vec(), b"one".to_vec()),
            ]
        );
        // The records have rowids now: the values live apart from the keys.
        connection
            .query_row("SELECT rowid FROM records LIMIT 1", [], |row| {
                row.get::<_, i64>(0)
            })
            .unwrap();
        // Opening again changes nothing.
        check_schema(&connection).unwrap();
    }

    #[test]
    fn an_unknown_version_is_refused() {
        let connection = Connection::open_in_memory().unwrap();
        connection
            .execute_batch("PRAGMA user_version = 9;")
            .unwrap();
        assert!(check_schema(&connection).is_err());
    }
}
