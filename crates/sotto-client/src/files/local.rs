//! The profile's own copies of files: each file's chunks as they travel
//! (encrypted under the file key, which only the profile's database holds),
//! one file per transfer in the profile's `files` directory. Encrypting a
//! file into it, checking a downloaded copy decrypts, and saving a copy in
//! plain form where the user chose are blocking work: call them on a
//! blocking thread. None holds more than a chunk (4 MiB) in memory.
//!
//! Names: `CHAT-NUMBER` for a file's chunks, `CHAT-NUMBER.d` for the chunks
//! of its redirect (the description as a small file, docs/client-protocol.md
//! §15), `tmp-RANDOM` while a file is being encrypted.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use rand::RngCore;
use rand::rngs::OsRng;
use sotto_core::{ChatId, MessageNumber};
use sotto_files::{FileDecryptor, FileDescription, FileEncryptor, FileError, FileKey, FileNonce};
use sotto_wire::{ChunkDigest, ChunkDigester};

/// Plaintext read at a time.
const BLOCK: usize = 1024 * 1024;

/// The largest redirect content read into memory (a description of 4096
/// chunks is well under it).
pub const MAX_REDIRECT_LEN: u64 = 4 * 1024 * 1024;

/// The directory of a profile's file copies.
#[derive(Debug, Clone)]
pub struct FileStore {
    dir: PathBuf,
}

/// A file encrypted into the store, not yet given to a transfer.
#[derive(Debug)]
pub struct Encrypted {
    /// Where its chunks are.
    pub path: PathBuf,
    /// The file key.
    pub key: FileKey,
    /// The file nonce.
    pub nonce: FileNonce,
    /// The plaintext length.
    pub len: u64,
    /// Each chunk's digest, in order.
    pub digests: Vec<ChunkDigest>,
}

impl FileStore {
    /// The store in `dir`, made if missing (private to its owner); copies
    /// of files being encrypted when a process stopped are removed.
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<FileStore> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
        }
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with("tmp-") {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(FileStore { dir })
    }

    /// The copy of item `number`'s chunks (`redirect`: its description's).
    pub fn path(&self, chat: ChatId, number: MessageNumber, redirect: bool) -> PathBuf {
        let suffix = if redirect { ".d" } else { "" };
        self.dir.join(format!("{}-{}{suffix}", chat.0, number.0))
    }

    /// Removes item `number`'s copies.
    pub fn remove(&self, chat: ChatId, number: MessageNumber) -> io::Result<()> {
        for redirect in [false, true] {
            match fs::remove_file(self.path(chat, number, redirect)) {
                Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
                _ => {}
            }
        }
        Ok(())
    }

    /// Removes every copy but those of `kept` (a copy whose record is gone).
    pub fn remove_unless(&self, kept: &[(ChatId, MessageNumber)]) -> io::Result<()> {
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let base = name.strip_suffix(".d").unwrap_or(&name);
            let Some((chat, number)) = base.split_once('-') else {
                continue;
            };
            let (Ok(chat), Ok(number)) = (chat.parse(), number.parse()) else {
                continue;
            };
            if !kept.contains(&(ChatId(chat), MessageNumber(number))) {
                fs::remove_file(entry.path())?;
            }
        }
        Ok(())
    }

    /// Encrypts what `source` reads (`len` bytes) under a fresh key into a
    /// new copy in the store.
    pub fn encrypt(&self, source: &mut impl Read, len: u64) -> Result<Encrypted, FileError> {
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        let mut nonce = [0u8; sotto_files::FILE_NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let key = FileKey::from_bytes(key);
        let nonce = FileNonce::from_bytes(nonce);
        let path = self.dir.join(format!("tmp-{:016x}", OsRng.next_u64()));
        let result = private_file(&path)
            .map_err(io_error)
            .and_then(|out| encrypt_into(out, &key, &nonce, source, len, &mut |_, _| {}));
        match result {
            Ok(digests) => Ok(Encrypted {
                path,
                key,
                nonce,
                len,
                digests,
            }),
            Err(error) => {
                let _ = fs::remove_file(&path);
                Err(error)
            }
        }
    }

    /// Gives an encrypted copy its item's name (once the item exists).
    pub fn adopt(
        &self,
        encrypted: &Encrypted,
        chat: ChatId,
        number: MessageNumber,
        redirect: bool,
    ) -> io::Result<()> {
        fs::rename(&encrypted.path, self.path(chat, number, redirect))?;
        sync_dir(&self.dir)
    }
}

fn io_error(_: io::Error) -> FileError {
    // FileError has no I/O variant: a file that cannot be read or written
    // whole has the wrong length as far as the stream is concerned.
    FileError::WrongLength
}

/// Encrypts what `source` reads (`len` bytes) under `key` and `nonce` (an
/// upload's, whose record exists already) into the copy at `path`,
/// overwriting it in place (the same key gives the same bytes, so chunks
/// being read meanwhile stay right), handing each chunk's digest to
/// `written` once the chunk is in the copy, the last one only once the copy
/// is durable. Chunks can go up as they come.
pub fn encrypt_known(
    path: &Path,
    key: &FileKey,
    nonce: &FileNonce,
    source: &mut impl Read,
    len: u64,
    written: &mut dyn FnMut(usize, ChunkDigest),
) -> Result<(), FileError> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let out = options.open(path).map_err(io_error)?;
    encrypt_into(out, key, nonce, source, len, written).map(|_| ())
}

fn encrypt_into(
    mut out: File,
    key: &FileKey,
    nonce: &FileNonce,
    source: &mut impl Read,
    len: u64,
    written: &mut dyn FnMut(usize, ChunkDigest),
) -> Result<Vec<ChunkDigest>, FileError> {
    let mut encryptor = FileEncryptor::new(key, nonce, len)?;
    let count = encryptor.chunk_sizes().len();
    let mut digests = Vec::with_capacity(count);
    let mut block = vec![0u8; BLOCK];
    let mut left = len;
    // The copy reaches the disk as it is written, a helper thread syncing
    // it every few chunks, so that the one sync the last chunk waits for
    // has little left to do.
    let early = EarlySync::start(&out);
    let mut write = |encryptor: &mut FileEncryptor| -> Result<(), FileError> {
        while let Some(chunk) = encryptor.poll_chunk() {
            let digest = ChunkDigest::of(&chunk);
            digests.push(digest);
            out.write_all(&chunk).map_err(io_error)?;
            if digests.len() < count {
                written(digests.len() - 1, digest);
            }
            if digests.len() % EARLY_SYNC_CHUNKS == 0 {
                early.nudge();
            }
        }
        Ok(())
    };
    while left > 0 {
        let want = block.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let read = source.read(&mut block[..want]).map_err(io_error)?;
        if read == 0 {
            // The file got shorter while it was read.
            return Err(FileError::WrongLength);
        }
        encryptor.push(&block[..read])?;
        left -= read as u64;
        write(&mut encryptor)?;
    }
    encryptor.finish()?;
    write(&mut encryptor)?;
    early.stop();
    out.sync_all().map_err(io_error)?;
    if let Some(last) = digests.last() {
        written(digests.len() - 1, *last);
    }
    Ok(digests)
}

/// Chunks written between two early syncs of a copy being encrypted.
const EARLY_SYNC_CHUNKS: usize = 16;

/// A thread that syncs a copy while it is being written, when nudged (a
/// nudge while it syncs waits for the next round; a failure is left to the
/// final sync, which reports it).
struct EarlySync {
    nudges: Option<std::sync::mpsc::SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EarlySync {
    fn start(out: &File) -> EarlySync {
        let Ok(file) = out.try_clone() else {
            return EarlySync {
                nudges: None,
                thread: None,
            };
        };
        let (nudges, nudged) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::spawn(move || {
            while nudged.recv().is_ok() {
                let _ = file.sync_data();
            }
        });
        EarlySync {
            nudges: Some(nudges),
            thread: Some(thread),
        }
    }

    fn nudge(&self) {
        if let Some(nudges) = &self.nudges {
            let _ = nudges.try_send(());
        }
    }

    fn stop(mut self) {
        self.nudges = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A new file only its owner reads.
fn private_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    Ok(())
}

/// Reads chunk bytes `[offset, offset + len)` of a copy.
pub fn read_chunk(path: &Path, offset: u64, len: u32) -> io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut bytes = vec![0u8; len as usize];
    file.read_exact(&mut bytes)?;
    Ok(bytes)
}

/// Writes a whole chunk at `offset` of a copy (made if missing), without
/// waiting for the disk: the check after the download makes the copy
/// durable once ([`sync_copy`]), before the relay is told it may delete
/// the chunks, and finds any chunk whose bytes a crash lost
/// ([`DecryptError::Damaged`]), to be fetched again.
pub fn write_chunk(path: &Path, offset: u64, bytes: &[u8]) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    file.write_all(bytes)
}

/// Makes a copy's bytes durable.
pub fn sync_copy(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_data()
}

/// Where each chunk of `description` starts in a copy.
pub fn chunk_offset(description: &FileDescription, chunk: usize) -> u64 {
    description
        .chunks
        .iter()
        .take(chunk)
        .map(|c| u64::from(c.size.bytes()))
        .sum()
}

/// Decrypts the copy at `path` as `description` says, every chunk's digest
/// and every segment checked, handing the plaintext to `sink` as it opens.
/// `Damaged` when chunks of the copy do not have their digests (their bytes
/// were lost: they are to be fetched again); `Forged` when every chunk has
/// its digest and the whole still does not decrypt.
pub fn decrypt(
    path: &Path,
    description: &FileDescription,
    sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
) -> Result<(), DecryptError> {
    let mut file = File::open(path).map_err(DecryptError::Io)?;
    let mut decryptor = FileDecryptor::new(&description.key, &description.nonce, description.size)
        .map_err(|_| DecryptError::Forged)?;
    let mut block = vec![0u8; BLOCK];
    let mut damaged = Vec::new();
    let mut forged = false;
    for (index, chunk) in description.chunks.iter().enumerate() {
        let mut digester = ChunkDigester::default();
        let mut left = u64::from(chunk.size.bytes());
        while left > 0 {
            let want = block.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            match file.read_exact(&mut block[..want]) {
                Ok(()) => {}
                // A copy cut short by a crash: the rest is damaged.
                Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => {
                    damaged.extend(index..description.chunks.len());
                    return Err(DecryptError::Damaged(damaged));
                }
                Err(error) => return Err(DecryptError::Io(error)),
            }
            left -= want as u64;
            digester.update(&block[..want]);
            // Once a chunk is damaged, the rest is only checked for others.
            if damaged.is_empty() && !forged {
                match decryptor.push(&block[..want]) {
                    Ok(plain) => sink(&plain).map_err(DecryptError::Io)?,
                    Err(_) => forged = true,
                }
            }
        }
        if digester.finish() != chunk.digest {
            damaged.push(index);
        }
    }
    if !damaged.is_empty() {
        return Err(DecryptError::Damaged(damaged));
    }
    if forged {
        return Err(DecryptError::Forged);
    }
    decryptor.finish().map_err(|_| DecryptError::Forged)
}

/// Why a copy did not decrypt.
#[derive(Debug)]
pub enum DecryptError {
    /// It does not decrypt although its chunks have their digests: the
    /// file was altered.
    Forged,
    /// These chunks of the copy do not have their digests (a crash lost
    /// their bytes): fetch them again.
    Damaged(Vec<usize>),
    /// It could not be read, or the plaintext not written.
    Io(io::Error),
}

/// Reads a redirect's content (a description, at most [`MAX_REDIRECT_LEN`]).
pub fn read_redirect(path: &Path, description: &FileDescription) -> Result<Vec<u8>, DecryptError> {
    if description.size > MAX_REDIRECT_LEN {
        return Err(DecryptError::Forged);
    }
    let mut content = Vec::with_capacity(description.size as usize);
    decrypt(path, description, &mut |plain| {
        content.extend_from_slice(plain);
        Ok(())
    })?;
    Ok(content)
}

/// Saves the plaintext of a received copy as `destination` (a new file:
/// an existing one is never overwritten). It is written beside it under a
/// hidden name (`.NAME.sotto-part`) and takes its name only once whole and
/// checked, so nothing is ever at `destination` but the whole file.
pub fn save(
    path: &Path,
    description: &FileDescription,
    destination: &Path,
) -> Result<(), DecryptError> {
    let name = destination
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let part = destination.with_file_name(format!(".{name}.sotto-part"));
    if destination.exists() {
        return Err(DecryptError::Io(io::ErrorKind::AlreadyExists.into()));
    }
    let _ = fs::remove_file(&part);
    let mut out = private_file(&part).map_err(DecryptError::Io)?;
    let result = decrypt(path, description, &mut |plain| out.write_all(plain))
        .and_then(|()| out.sync_all().map_err(DecryptError::Io))
        // A link fails if the name was taken meanwhile: never overwrites.
        .and_then(|()| fs::hard_link(&part, destination).map_err(DecryptError::Io));
    let _ = fs::remove_file(&part);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_is_encrypted_and_saved_back() {
        let dir = std::env::temp_dir().join(format!("sotto-files-{:x}", OsRng.next_u64()));
        let store = FileStore::open(&dir).unwrap();
        let plain: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let encrypted = store
            .encrypt(&mut plain.as_slice(), plain.len() as u64)
            .unwrap();
        let stored = fs::read(&encrypted.path).unwrap();
        assert!(!stored.windows(64).any(|w| w == &plain[1000..1064]));
        // Too short a source is refused and leaves nothing.
        assert!(store.encrypt(&mut &plain[..10], 11).is_err());
        store
            .adopt(&encrypted, ChatId(1), MessageNumber(2), false)
            .unwrap();
        let path = store.path(ChatId(1), MessageNumber(2), false);
        let relay: sotto_wire::RelayAddress =
            "sotto+ws://tgAwbPp2cj_ew5XlOps9n9t4seLXojwy_LzS3G0MQJI@127.0.0.1:7000"
                .parse()
                .unwrap();
        let mut upload = sotto_files::Upload::new(
            encrypted.key.clone(),
            encrypted.nonce,
            encrypted.len,
            &encrypted.digests,
            &[relay],
            1,
        )
        .unwrap();
        for chunk in 0..encrypted.digests.len() {
            upload.next_steps(0);
            upload
                .handle_created(
                    chunk,
                    sotto_files::ChunkIds {
                        upload_id: sotto_wire::UploadId::from_bytes([1; 24]),
                        upload_secret: sotto_wire::QueueAuthSecret::from_bytes([1; 32]),
                        downloads: vec![(
                            sotto_wire::DownloadId::from_bytes([2; 24]),
                            sotto_wire::QueueAuthSecret::from_bytes([2; 32]),
                        )],
                    },
                )
                .unwrap();
            upload.handle_stored(chunk).unwrap();
        }
        let description = upload.description(0, "a.bin", "").unwrap();
        let destination = dir.join("saved.bin");
        save(&path, &description, &destination).unwrap();
        assert_eq!(fs::read(&destination).unwrap(), plain);
        // Never over an existing file; a damaged copy saves nothing.
        assert!(matches!(
            save(&path, &description, &destination),
            Err(DecryptError::Io(_))
        ));
        let mut damaged = stored.clone();
        damaged[5000] ^= 1;
        fs::write(&path, &damaged).unwrap();
        let other = dir.join("other.bin");
        assert!(matches!(
            save(&path, &description, &other),
            Err(DecryptError::Damaged(chunks)) if chunks == [0]
        ));
        assert!(!other.exists());
        // A copy cut short (its end lost in a crash): the chunks from the cut
        // on are damaged.
        fs::write(&path, &stored[..200_000]).unwrap();
        assert!(matches!(
            decrypt(&path, &description, &mut |_| Ok(())),
            Err(DecryptError::Damaged(chunks)) if chunks == [0, 1]
        ));
        // Chunks with their digests but a description that lies about the
        // file (another nonce): forged.
        fs::write(&path, &stored).unwrap();
        let mut lying = description.clone();
        lying.nonce = sotto_files::FileNonce::from_bytes([7; sotto_files::FILE_NONCE_LEN]);
        assert!(matches!(
            save(&path, &lying, &other),
            Err(DecryptError::Forged)
        ));
        assert!(!other.exists());
        store.remove(ChatId(1), MessageNumber(2)).unwrap();
        assert!(!path.exists());
        fs::remove_dir_all(dir).unwrap();
    }
}
