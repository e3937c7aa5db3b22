//! Creating, opening and re-keying the SQLCipher database.
//!
//! The key is Argon2id(passphrase, salt) from the key file, handed to SQLCipher as
//! a raw key (`PRAGMA key = "x'…'"`), so SQLCipher runs no PBKDF2 of its own. The
//! database runs in WAL mode with an exclusive lock: one process per profile, and
//! the WAL index lives in memory instead of a `-shm` file. Temporary tables and
//! indices stay in memory; deleted records are overwritten.
//!
//! Commits are grouped. The first batch applied after a sync opens a
//! transaction, and every batch runs under its own savepoint inside it (a batch
//! that fails is rolled back alone, the ones before it stay). A sync commits
//! the transaction with `synchronous = NORMAL`, which writes its frames to the
//! WAL without waiting for the disk (SQLite keeps the database consistent
//! through any crash: it syncs the WAL before every checkpoint and the
//! database after it), then fsyncs the WAL: [`Store::sync`] does both, and
//! [`Store::start_sync`] leaves the fsync to another thread while the runtime
//! goes on. The runtime syncs before it sends anything the batches produced,
//! so a burst of deliveries costs one commit, not one each: a commit per batch
//! made a catch-up wait on the disk for four fifths of its time, and SQLCipher
//! encrypted and wrote the pages every batch shares (the account record, the
//! tree's inner pages) again for each (docs/benchmarks.md, "Catch-up").
//! Dropping the store commits what is pending, and closing the database
//! checkpoints and syncs it; a crash loses what was not synced, which nothing
//! outside the process depended on.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use rand::RngCore;
use rand::rngs::OsRng;
use rusqlite::{Connection, ErrorCode, OpenFlags};
use sotto_core::{
    ArchiveError, ArchiveReader, ArchiveSummary, Argon2Params, ExportRandomness, ExportReceipt,
    Exporter, KeyDerivation, Passphrase, PendingSync, StorageKey, Store, StoreError,
};
use zeroize::Zeroizing;

use crate::key_file::{self, key_file_path, pending_key_file_path};
use crate::records;

/// Bytes read from an archive file at a time during import.
const IMPORT_READ_LEN: usize = 64 * 1024;

/// A profile's records in one SQLCipher database. See the module documentation.
pub struct SqlCipherStore {
    pub(crate) connection: Connection,
    path: PathBuf,
    key: StorageKey,
}

impl std::fmt::Debug for SqlCipherStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlCipherStore").finish_non_exhaustive()
    }
}

impl SqlCipherStore {
    /// Creates a new, empty database at `path` (and its key file beside it) under
    /// `passphrase`, with the default Argon2id parameters.
    pub fn create(path: &Path, passphrase: &Passphrase) -> Result<SqlCipherStore, StoreError> {
        Self::create_with_params(path, passphrase, Argon2Params::DEFAULT)
    }

    /// [`SqlCipherStore::create`] with chosen Argon2id parameters. Parameters
    /// cheaper than the default make the passphrase easier to guess: only tests
    /// should want them. [`StoreError::EmptyPassphrase`] for an empty passphrase.
    pub fn create_with_params(
        path: &Path,
        passphrase: &Passphrase,
        params: Argon2Params,
    ) -> Result<SqlCipherStore, StoreError> {
        check_chosen(passphrase)?;
        let key_path = key_file_path(path);
        if path.exists() || key_path.exists() {
            return Err(StoreError::Unavailable(
                "a database already exists at this path".into(),
            ));
        }
        let derivation = KeyDerivation {
            params,
            salt: sotto_core::Salt(random_salt()),
        };
        let key = derive(&derivation, passphrase)?;
        // The key file first: a database without one could never be opened.
        key_file::write(&key_path, &derivation)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE;
        let created = connect(path, &key, flags).and_then(|connection| {
            records::create_schema(&connection)?;
            Ok(connection)
        });
        match created {
            Ok(connection) => Ok(SqlCipherStore {
                connection,
                path: path.to_owned(),
                key,
            }),
            Err(error) => {
                // Leave nothing half-made that would block the next attempt.
                let _ = std::fs::remove_file(path);
                let _ = key_file::remove(&key_path);
                Err(error)
            }
        }
    }

    /// Opens the database at `path` with `passphrase`.
    /// [`StoreError::WrongPassphrase`] if it does not open it.
    pub fn open(path: &Path, passphrase: &Passphrase) -> Result<SqlCipherStore, StoreError> {
        if !path.exists() {
            return Err(StoreError::Unavailable("no database at this path".into()));
        }
        let key_path = key_file_path(path);
        let pending_path = pending_key_file_path(path);
        let derivation = key_file::read(&key_path)?
            .ok_or_else(|| StoreError::Corrupt("the key file is missing".into()))?;
        let key = derive(&derivation, passphrase)?;
        let (connection, key) = match connect(path, &key, OpenFlags::SQLITE_OPEN_READ_WRITE) {
            Ok(connection) => {
                // A passphrase change that stopped before re-keying: forget it.
                key_file::remove(&pending_path)?;
                (connection, key)
            }
            Err(StoreError::WrongPassphrase) => {
                // A change that re-keyed but stopped before replacing the key
                // file: the pending file holds the new salt.
                let Some(pending) = key_file::read(&pending_path)? else {
                    return Err(StoreError::WrongPassphrase);
                };
                let key = derive(&pending, passphrase)?;
                let connection = connect(path, &key, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
                key_file::replace(&pending_path, &key_path)?;
                (connection, key)
            }
            Err(error) => return Err(error),
        };
        records::check_schema(&connection)?;
        Ok(SqlCipherStore {
            connection,
            path: path.to_owned(),
            key,
        })
    }

    /// Re-encrypts the database under `new`, after checking `old`. The new key
    /// gets a fresh salt and the default parameters (whatever the old key
    /// file recorded). [`StoreError::EmptyPassphrase`] if `new` is empty.
    pub fn change_passphrase(
        &mut self,
        old: &Passphrase,
        new: &Passphrase,
    ) -> Result<(), StoreError> {
        check_chosen(new)?;
        self.sync()?;
        let key_path = key_file_path(&self.path);
        let pending_path = pending_key_file_path(&self.path);
        let current = key_file::read(&key_path)?
            .ok_or_else(|| StoreError::Corrupt("the key file is missing".into()))?;
        if !same_key(&derive(&current, old)?, &self.key) {
            return Err(StoreError::WrongPassphrase);
        }
        let derivation = KeyDerivation::new(random_salt());
        let new_key = derive(&derivation, new)?;
        key_file::write(&pending_path, &derivation)?;
        // SQLCipher re-keys page by page in one transaction; leave WAL mode so
        // no frame under the old key outlives the change.
        self.connection
            .execute_batch("PRAGMA journal_mode = DELETE;")
            .map_err(sql_error)?;
        let rekeyed = self
            .connection
            .pragma_update(None, "rekey", &*raw_key(&new_key))
            .map_err(sql_error);
        self.connection
            .execute_batch("PRAGMA journal_mode = WAL;")
            .map_err(sql_error)?;
        if let Err(error) = rekeyed {
            key_file::remove(&pending_path)?;
            return Err(error);
        }
        key_file::replace(&pending_path, &key_path)?;
        self.key = new_key;
        Ok(())
    }

    /// Writes an archive of every record to `out` under `passphrase` (default
    /// Argon2id parameters, fresh randomness), piece by piece. Once `out` is
    /// safely on disk, pass the receipt to `sotto_core::mark_moved`.
    pub fn export_archive(
        &self,
        out: &mut impl Write,
        passphrase: &Passphrase,
    ) -> Result<ExportReceipt, ArchiveError> {
        // The archive holds sessions: it must never be ahead of what a crash
        // would leave in the database, or both could be used and a ratchet
        // step repeated.
        self.sync()?;
        let mut nonce_prefix = [0u8; 16];
        OsRng.fill_bytes(&mut nonce_prefix);
        let randomness = ExportRandomness {
            salt: random_salt(),
            nonce_prefix,
        };
        let mut exporter = Exporter::new(self, passphrase, Argon2Params::DEFAULT, randomness)?;
        while let Some(piece) = exporter.next_bytes()? {
            out.write_all(&piece)
                .map_err(|error| key_file::unavailable("writing the archive", &error))?;
        }
        out.flush()
            .map_err(|error| key_file::unavailable("writing the archive", &error))?;
        exporter
            .receipt()
            .ok_or(ArchiveError::Malformed("export did not finish"))
    }

    /// Imports an archive read from `archive` into this database, which must be
    /// empty, in one transaction that commits only once the whole archive has
    /// been verified: a wrong passphrase, a truncated, reordered or modified
    /// archive leaves the database empty. Memory use does not grow with the
    /// archive.
    pub fn import_archive(
        &mut self,
        archive: &mut impl Read,
        passphrase: Passphrase,
    ) -> Result<ArchiveSummary, ArchiveError> {
        self.sync()?;
        if !self.tables()?.is_empty() {
            return Err(ArchiveError::TargetNotEmpty);
        }
        let mut reader = ArchiveReader::new(passphrase);
        let transaction = self.connection.transaction().map_err(sql_error)?;
        let mut buffer = Zeroizing::new(vec![0u8; IMPORT_READ_LEN]);
        loop {
            let read = match archive.read(&mut buffer) {
                Ok(0) => break,
                Ok(read) => read,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    return Err(key_file::unavailable("reading the archive", &error).into());
                }
            };
            for imported in reader.push(&buffer[..read])? {
                records::put(&transaction, &imported.table, &imported.record)?;
            }
        }
        let summary = reader.finish()?;
        transaction.commit().map_err(sql_error)?;
        self.sync()?;
        Ok(summary)
    }
}

impl SqlCipherStore {
    /// Runs `write` under a savepoint of the pending transaction (opened if
    /// there is none): all of it is applied, or none of it.
    pub(crate) fn in_savepoint(
        &self,
        write: impl FnOnce(&Connection) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let connection = &self.connection;
        if connection.is_autocommit() {
            execute_cached(connection, "BEGIN")?;
        }
        execute_cached(connection, "SAVEPOINT batch")?;
        match write(connection) {
            Ok(()) => execute_cached(connection, "RELEASE batch"),
            Err(error) => {
                // Undo this batch alone; if even that fails, the whole pending
                // transaction goes, so that nothing half-applied can commit.
                if execute_cached(connection, "ROLLBACK TO batch")
                    .and_then(|()| execute_cached(connection, "RELEASE batch"))
                    .is_err()
                    && !connection.is_autocommit()
                {
                    let _ = connection.execute_batch("ROLLBACK");
                }
                Err(error)
            }
        }
    }

    /// Commits the pending transaction, if any, into the WAL (not yet
    /// fsynced). `true` if there was one.
    pub(crate) fn commit_pending(&self) -> Result<bool, StoreError> {
        if self.connection.is_autocommit() {
            return Ok(false);
        }
        execute_cached(&self.connection, "COMMIT")?;
        Ok(true)
    }

    /// Commits the pending transaction and fsyncs the WAL, also when there
    /// was nothing to commit: an fsync started by [`Store::start_sync`] may
    /// still be under way on another thread.
    pub(crate) fn sync_now(&self) -> Result<(), StoreError> {
        self.commit_pending()?;
        fsync_wal(&self.wal_path())
    }

    fn wal_path(&self) -> PathBuf {
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        PathBuf::from(wal)
    }

    /// Commits the pending transaction and returns the fsync that makes it
    /// durable, to run on any thread.
    pub(crate) fn start_sync_wal(&self) -> Result<Option<PendingSync>, StoreError> {
        if !self.commit_pending()? {
            return Ok(None);
        }
        let wal = self.wal_path();
        Ok(Some(PendingSync::new(move || fsync_wal(&wal))))
    }
}

/// fsyncs the WAL: every frame written to it so far is then on disk, and so
/// is every transaction they hold. The file is opened anew each time (SQLite
/// may have restarted it after a checkpoint); SQLite takes no lock on it in
/// exclusive mode, so closing this descriptor releases none of SQLite's.
fn fsync_wal(wal: &Path) -> Result<(), StoreError> {
    match std::fs::File::open(wal) {
        Ok(file) => file
            .sync_data()
            .map_err(|error| key_file::unavailable("syncing the database", &error)),
        // Checkpointed into the database and removed: SQLite synced both.
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(key_file::unavailable("syncing the database", &error)),
    }
}

impl Drop for SqlCipherStore {
    fn drop(&mut self) {
        // What was applied stays applied, as if every batch had been
        // committed at once. An error here has nowhere to go; the batches are
        // then lost as in a crash, and the database stays consistent.
        let _ = self.sync();
    }
}

fn execute_cached(connection: &Connection, sql: &str) -> Result<(), StoreError> {
    connection
        .prepare_cached(sql)
        .and_then(|mut statement| statement.execute([]))
        .map(drop)
        .map_err(sql_error)
}

/// Opens a connection, applies the key and checks that it decrypts the database.
fn connect(path: &Path, key: &StorageKey, flags: OpenFlags) -> Result<Connection, StoreError> {
    let connection = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(sql_error)?;
    connection
        .pragma_update(None, "key", &*raw_key(key))
        .map_err(sql_error)?;
    // Before anything is read: no SQLCipher log lines (it writes to stderr by
    // default, process-wide), the lock (which also keeps the WAL index in memory
    // instead of a `-shm` file) and in-memory temporary storage.
    connection
        .execute_batch(
            "PRAGMA cipher_log_level = NONE;
             PRAGMA locking_mode = EXCLUSIVE;
             PRAGMA temp_store = MEMORY;",
        )
        .map_err(sql_error)?;
    // The first read decrypts page 1: a wrong key shows here as "not a database".
    match connection.query_row("SELECT count(*) FROM sqlite_master", [], |row| {
        row.get::<_, i64>(0)
    }) {
        Ok(_) => {}
        Err(error) if error.sqlite_error_code() == Some(ErrorCode::NotADatabase) => {
            return Err(StoreError::WrongPassphrase);
        }
        Err(error) => return Err(sql_error(error)),
    }
    connection
        .execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA secure_delete = ON;",
        )
        .map_err(sql_error)?;
    Ok(connection)
}

/// `x'<64 hex digits>'`: SQLCipher's syntax for a raw key.
fn raw_key(key: &StorageKey) -> Zeroizing<String> {
    let hex = Zeroizing::new(hex::encode(key.as_bytes()));
    let mut literal = Zeroizing::new(String::with_capacity(hex.len() + 3));
    literal.push_str("x'");
    literal.push_str(&hex);
    literal.push('\'');
    literal
}

fn derive(derivation: &KeyDerivation, passphrase: &Passphrase) -> Result<StorageKey, StoreError> {
    derivation
        .derive(passphrase)
        .map_err(|error| StoreError::Corrupt(format!("key file: {error}")))
}

fn check_chosen(passphrase: &Passphrase) -> Result<(), StoreError> {
    passphrase
        .check_chosen()
        .map_err(|_| StoreError::EmptyPassphrase)
}

fn random_salt() -> [u8; 16] {
    let mut salt = [0u8; 16];
    OsRng.fill_bytes(&mut salt);
    salt
}

/// Compares two keys without an early exit.
fn same_key(a: &StorageKey, b: &StorageKey) -> bool {
    a.as_bytes()
        .iter()
        .zip(b.as_bytes())
        .fold(0u8, |difference, (x, y)| difference | (x ^ y))
        == 0
}

/// An SQLite error as a store error. SQLite's messages hold no record contents.
pub(crate) fn sql_error(error: rusqlite::Error) -> StoreError {
    match error.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt) => {
            StoreError::Corrupt(error.to_string())
        }
        _ => StoreError::Unavailable(error.to_string()),
    }
}
