//! The relay's long-term Ed25519 identity, kept in the data directory.
//!
//! The file holds a magic tag and the 32-byte secret, is created on first start with
//! mode 0600 (written to a temporary name, synced, then renamed so a crash never
//! leaves half a key), and is never rewritten. Clients pin its fingerprint through
//! the relay address, so losing it changes the relay's address.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use rand::RngCore;
use zeroize::Zeroizing;

use crate::Error;

/// Name of the identity file in the data directory.
pub const IDENTITY_FILE: &str = "relay-identity.key";

/// Tags the file format so that a future format is recognised.
const MAGIC: &[u8; 8] = b"SOTTOID1";
const FILE_LEN: usize = MAGIC.len() + 32;

/// Reads the relay's identity secret from `data_dir`, creating it on first start.
pub fn load_or_create(data_dir: &Path) -> Result<Zeroizing<[u8; 32]>, Error> {
    let path = data_dir.join(IDENTITY_FILE);
    match File::open(&path) {
        Ok(file) => read_identity(file, &path),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            create_identity(data_dir, &path)
        }
        Err(source) => Err(Error::ReadFile { path, source }),
    }
}

fn read_identity(mut file: File, path: &Path) -> Result<Zeroizing<[u8; 32]>, Error> {
    let invalid = |reason| Error::Identity {
        path: path.to_path_buf(),
        reason,
    };
    let mut contents = Zeroizing::new(Vec::with_capacity(FILE_LEN));
    // One byte more than a valid file, to notice trailing bytes.
    (&mut file)
        .take(FILE_LEN as u64 + 1)
        .read_to_end(&mut contents)
        .map_err(|source| Error::ReadFile {
            path: path.to_path_buf(),
            source,
        })?;
    if contents.len() != FILE_LEN {
        return Err(invalid("wrong length"));
    }
    let (magic, secret) = contents.split_at(MAGIC.len());
    if magic != MAGIC {
        return Err(invalid("unknown format"));
    }
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(secret);
    Ok(key)
}

fn create_identity(data_dir: &Path, path: &Path) -> Result<Zeroizing<[u8; 32]>, Error> {
    let mut secret = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(secret.as_mut_slice());
    let mut contents = Zeroizing::new(Vec::with_capacity(FILE_LEN));
    contents.extend_from_slice(MAGIC);
    contents.extend_from_slice(secret.as_slice());

    let temporary: PathBuf = data_dir.join(format!("{IDENTITY_FILE}.new"));
    // A leftover from a crash during an earlier first start holds no used key.
    match fs::remove_file(&temporary) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(Error::io("removing a stale identity file")(error)),
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&temporary)
        .map_err(Error::io("creating the identity file"))?;
    file.write_all(&contents)
        .and_then(|()| file.sync_all())
        .map_err(Error::io("writing the identity file"))?;
    drop(file);
    fs::rename(&temporary, path).map_err(Error::io("installing the identity file"))?;
    sync_dir(data_dir)?;
    Ok(secret)
}

/// Makes a rename or a new file in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(Error::io("syncing the data directory"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path()).unwrap();
        let second = load_or_create(dir.path()).unwrap();
        assert_eq!(*first, *second);
        assert_ne!(*first, [0u8; 32]);
        assert!(!dir.path().join(format!("{IDENTITY_FILE}.new")).exists());
    }

    #[cfg(unix)]
    #[test]
    fn file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        load_or_create(dir.path()).unwrap();
        let mode = fs::metadata(dir.path().join(IDENTITY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn damaged_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(IDENTITY_FILE);
        fs::write(&path, b"SOTTOID1short").unwrap();
        assert!(matches!(
            load_or_create(dir.path()),
            Err(Error::Identity { .. })
        ));
        let mut wrong_magic = b"NOTSOTTO".to_vec();
        wrong_magic.extend_from_slice(&[7u8; 32]);
        fs::write(&path, wrong_magic).unwrap();
        assert!(matches!(
            load_or_create(dir.path()),
            Err(Error::Identity { .. })
        ));
        let mut trailing = MAGIC.to_vec();
        trailing.extend_from_slice(&[7u8; 33]);
        fs::write(&path, trailing).unwrap();
        assert!(matches!(
            load_or_create(dir.path()),
            Err(Error::Identity { .. })
        ));
    }
}
