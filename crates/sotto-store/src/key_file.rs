//! The key file: the Argon2id parameters and salt of a database, in plaintext
//! beside it (they are not secret, and they are needed before anything can be
//! decrypted).
//!
//! ```text
//! <database>.kdf (38 bytes) = "SOTTOKDF" || version (1: 0x01) || key derivation (29)
//! ```
//! A passphrase change first writes the new file as `<database>.kdf-new`, then
//! re-keys the database, then renames the new file over the old one; opening
//! finishes or discards a change that a crash interrupted.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use sotto_core::{KeyDerivation, StoreError};

const MAGIC: [u8; 8] = *b"SOTTOKDF";
const VERSION: u8 = 1;
const FILE_LEN: usize = MAGIC.len() + 1 + KeyDerivation::ENCODED_LEN;

/// The key file of the database at `database`: the same path with `.kdf` added.
pub fn key_file_path(database: &Path) -> PathBuf {
    with_suffix(database, ".kdf")
}

/// Where a passphrase change writes the new key file first.
pub(crate) fn pending_key_file_path(database: &Path) -> PathBuf {
    with_suffix(database, ".kdf-new")
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Reads a key file; `None` if there is none.
pub(crate) fn read(path: &Path) -> Result<Option<KeyDerivation>, StoreError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(unavailable("reading the key file", &error)),
    };
    let Some(body) = bytes
        .strip_prefix(&MAGIC)
        .filter(|_| bytes.len() == FILE_LEN)
    else {
        return Err(StoreError::Corrupt(
            "the key file is not a Sotto key file".into(),
        ));
    };
    if body[0] != VERSION {
        return Err(StoreError::Corrupt(format!(
            "key file version {} is not supported",
            body[0]
        )));
    }
    let mut derivation = [0u8; KeyDerivation::ENCODED_LEN];
    derivation.copy_from_slice(&body[1..]);
    KeyDerivation::decode(&derivation)
        .map(Some)
        .map_err(|error| StoreError::Corrupt(format!("key file: {error}")))
}

/// Writes a key file durably (written, flushed, and its directory entry synced).
pub(crate) fn write(path: &Path, derivation: &KeyDerivation) -> Result<(), StoreError> {
    let mut bytes = Vec::with_capacity(FILE_LEN);
    bytes.extend_from_slice(&MAGIC);
    bytes.push(VERSION);
    bytes.extend_from_slice(&derivation.encode());
    let mut file = fs::File::create(path).map_err(|e| unavailable("writing the key file", &e))?;
    file.write_all(&bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| unavailable("writing the key file", &e))?;
    sync_directory(path)
}

/// Renames `from` over `to` durably.
pub(crate) fn replace(from: &Path, to: &Path) -> Result<(), StoreError> {
    fs::rename(from, to).map_err(|e| unavailable("replacing the key file", &e))?;
    sync_directory(to)
}

/// Removes a file if it exists.
pub(crate) fn remove(path: &Path) -> Result<(), StoreError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(unavailable("removing the pending key file", &error)),
    }
}

fn sync_directory(path: &Path) -> Result<(), StoreError> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    fs::File::open(directory)
        .and_then(|directory| directory.sync_all())
        .map_err(|e| unavailable("syncing the profile directory", &e))
}

/// An I/O failure, described without any path (paths may name the user).
pub(crate) fn unavailable(doing: &str, error: &std::io::Error) -> StoreError {
    StoreError::Unavailable(format!("{doing}: {}", error.kind()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_round_trip_and_damage_is_refused() {
        let directory = tempfile::tempdir().unwrap();
        let database = directory.path().join("profile.db");
        let path = key_file_path(&database);
        assert!(path.ends_with("profile.db.kdf"));
        assert_eq!(read(&path).unwrap(), None);

        let derivation = KeyDerivation::new([4; 16]);
        write(&path, &derivation).unwrap();
        assert_eq!(fs::read(&path).unwrap().len(), FILE_LEN);
        assert_eq!(read(&path).unwrap(), Some(derivation));

        let mut bytes = fs::read(&path).unwrap();
        bytes[8] = 2;
        fs::write(&path, &bytes).unwrap();
        assert!(matches!(read(&path), Err(StoreError::Corrupt(_))));
        fs::write(&path, &bytes[..20]).unwrap();
        assert!(matches!(read(&path), Err(StoreError::Corrupt(_))));
    }
}
