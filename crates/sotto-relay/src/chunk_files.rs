//! The bytes of file chunks: one file per chunk in `DIR/chunks/`, named by a
//! random [`ChunkFile`] name that is none of the chunk's ids.
//!
//! Pieces are written where they belong with `pwrite`, without an fsync each:
//! a chunk becomes durable once, when its last piece arrives, after its digest
//! is checked ([`ChunkFiles::finish`]). Reads are `pread`s of one piece. The
//! store holds the index (ids, keys, state, expiry); this directory holds
//! nothing else, and at start it keeps only the files of chunks the store
//! holds, so a file whose chunk was deleted or expired (or whose FNEW never
//! became durable) goes then.
//!
//! How much of each incomplete chunk arrived is kept in memory; at start it is
//! the file's length, which after a crash is what the page cache held and
//! after a power cut at worst what reached the disk (a piece lost there shows
//! up as a digest mismatch at the end, and the upload starts again).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use sotto_wire::{ChunkDigest, ChunkDigester, ChunkSize};

use crate::Error;
use crate::identity::sync_dir;
use crate::store::{ChunkFile, ChunkRecord};

/// The chunk directory's name in the data directory.
pub const CHUNK_DIR: &str = "chunks";

/// Bytes read at a time to check a chunk's digest.
const DIGEST_READ: usize = 64 * 1024;

/// The chunk directory.
pub struct ChunkFiles {
    dir: PathBuf,
    /// Bytes received from the start of each chunk whose upload is not
    /// complete.
    received: Mutex<HashMap<ChunkFile, u32>>,
}

/// What a piece did to its chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PieceOutcome {
    /// Written; the chunk now holds this many bytes from its start.
    Received(u32),
    /// Its offset is past what the chunk holds: it would leave a gap.
    Gap,
    /// It runs past the chunk's size.
    PastEnd,
}

impl ChunkFiles {
    /// Opens (or creates) `DIR/chunks`, keeps the files of `chunks` and
    /// deletes every other file in it.
    pub fn open(data_dir: &Path, chunks: &[ChunkRecord]) -> Result<ChunkFiles, Error> {
        let dir = data_dir.join(CHUNK_DIR);
        std::fs::DirBuilder::new()
            .mode(0o700)
            .recursive(true)
            .create(&dir)
            .map_err(Error::io("creating the chunk directory"))?;
        sync_dir(data_dir)?;
        let wanted: HashMap<ChunkFile, &ChunkRecord> =
            chunks.iter().map(|chunk| (chunk.file, chunk)).collect();
        let mut received = HashMap::new();
        let entries = std::fs::read_dir(&dir).map_err(Error::io("listing the chunk directory"))?;
        for entry in entries {
            let entry = entry.map_err(Error::io("listing the chunk directory"))?;
            let name = entry.file_name();
            let chunk = name
                .to_str()
                .and_then(ChunkFile::parse)
                .and_then(|file| wanted.get(&file).map(|chunk| (file, *chunk)));
            match chunk {
                Some((file, chunk)) if !chunk.complete => {
                    let len = entry
                        .metadata()
                        .map_err(Error::io("reading a chunk file's length"))?
                        .len();
                    let len = u32::try_from(len).unwrap_or(u32::MAX);
                    received.insert(file, len.min(chunk.size.bytes()));
                }
                Some(_) => {}
                None => remove_file(&entry.path())?,
            }
        }
        for chunk in chunks.iter().filter(|chunk| !chunk.complete) {
            // An incomplete chunk whose file is missing starts again, empty.
            if let std::collections::hash_map::Entry::Vacant(entry) = received.entry(chunk.file) {
                create_file(&dir.join(chunk.file.file_name()))?;
                entry.insert(0);
            }
        }
        let missing = chunks
            .iter()
            .filter(|chunk| chunk.complete && !dir.join(chunk.file.file_name()).exists())
            .count();
        if missing > 0 {
            // Not a power cut (a complete chunk's file was synced first):
            // someone removed files. Their FGETs fail with ERR INTERNAL.
            tracing::error!(missing, "complete file chunks whose files are missing");
        }
        sync_dir(&dir)?;
        Ok(ChunkFiles {
            dir,
            received: Mutex::new(received),
        })
    }

    fn path(&self, file: ChunkFile) -> PathBuf {
        self.dir.join(file.file_name())
    }

    fn lock(&self) -> Result<MutexGuard<'_, HashMap<ChunkFile, u32>>, Error> {
        self.received.lock().map_err(|_| Error::StoreFailed)
    }

    /// Creates the empty file of a new chunk, durably (the directory synced).
    pub fn create(&self, file: ChunkFile) -> Result<(), Error> {
        create_file(&self.path(file))?;
        sync_dir(&self.dir)?;
        self.lock()?.insert(file, 0);
        Ok(())
    }

    /// Bytes received from the start of an incomplete chunk.
    pub fn received(&self, file: ChunkFile) -> Result<u32, Error> {
        Ok(self.lock()?.get(&file).copied().unwrap_or(0))
    }

    /// Writes a piece at `offset`, which must not be past what the chunk holds
    /// (a piece sent again is written again), and must not run past its size.
    pub fn write_piece(
        &self,
        file: ChunkFile,
        size: ChunkSize,
        offset: u32,
        piece: &[u8],
    ) -> Result<PieceOutcome, Error> {
        let held = self.received(file)?;
        let end = u64::from(offset) + piece.len() as u64;
        if offset > held {
            return Ok(PieceOutcome::Gap);
        }
        if end > u64::from(size.bytes()) {
            return Ok(PieceOutcome::PastEnd);
        }
        let handle = OpenOptions::new()
            .write(true)
            .open(self.path(file))
            .map_err(Error::io("opening a chunk file"))?;
        handle
            .write_all_at(piece, u64::from(offset))
            .map_err(Error::io("writing a chunk file"))?;
        // The end is at most the size, a u32.
        let end = u32::try_from(end).unwrap_or(u32::MAX);
        let mut received = self.lock()?;
        let held = received.entry(file).or_insert(0);
        *held = (*held).max(end);
        Ok(PieceOutcome::Received(*held))
    }

    /// Checks that the whole chunk has `digest` and makes it durable
    /// (fdatasync). On a mismatch the file is emptied and the upload starts
    /// again from 0; `false`. Blocking: reads the whole chunk.
    pub fn finish(
        &self,
        file: ChunkFile,
        size: ChunkSize,
        digest: &ChunkDigest,
    ) -> Result<bool, Error> {
        let handle = OpenOptions::new()
            .read(true)
            .write(true)
            .open(self.path(file))
            .map_err(Error::io("opening a chunk file"))?;
        let mut digester = ChunkDigester::default();
        let mut buffer = vec![0; DIGEST_READ];
        let total = u64::from(size.bytes());
        let mut offset = 0u64;
        while offset < total {
            let len =
                usize::try_from((total - offset).min(DIGEST_READ as u64)).unwrap_or(DIGEST_READ);
            let part = buffer.get_mut(..len).unwrap_or_default();
            handle
                .read_exact_at(part, offset)
                .map_err(Error::io("reading a chunk file"))?;
            digester.update(part);
            offset += len as u64;
        }
        if digester.finish() != *digest {
            handle
                .set_len(0)
                .map_err(Error::io("emptying a chunk file"))?;
            self.lock()?.insert(file, 0);
            return Ok(false);
        }
        handle
            .sync_data()
            .map_err(Error::io("syncing a chunk file"))?;
        Ok(true)
    }

    /// The chunk is complete: its length is no longer tracked.
    pub fn completed(&self, file: ChunkFile) -> Result<(), Error> {
        self.lock()?.remove(&file);
        Ok(())
    }

    /// Reads `len` bytes at `offset` of a complete chunk.
    pub fn read_piece(&self, file: ChunkFile, offset: u32, len: u32) -> Result<Vec<u8>, Error> {
        let handle = File::open(self.path(file)).map_err(Error::io("opening a chunk file"))?;
        let mut piece = vec![0; usize::try_from(len).unwrap_or(0)];
        handle
            .read_exact_at(&mut piece, u64::from(offset))
            .map_err(Error::io("reading a chunk file"))?;
        Ok(piece)
    }

    /// Deletes a chunk's file (its record is gone from the store already).
    pub fn remove(&self, file: ChunkFile) -> Result<(), Error> {
        self.lock()?.remove(&file);
        remove_file(&self.path(file))
    }
}

fn create_file(path: &Path) -> Result<(), Error> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(Error::io("creating a chunk file"))?;
    Ok(())
}

fn remove_file(path: &Path) -> Result<(), Error> {
    match std::fs::remove_file(path) {
        Err(error) if error.kind() != ErrorKind::NotFound => {
            Err(Error::io("deleting a chunk file")(error))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use sotto_wire::DownloadId;

    use super::*;
    use crate::store::AuthKey;

    fn chunk(seed: u8, complete: bool) -> ChunkRecord {
        ChunkRecord {
            upload_key: AuthKey::from_bytes([1; 32]),
            size: ChunkSize::Kib64,
            digest: ChunkDigest::of(&[seed; 65536]),
            file: ChunkFile::from_bytes([seed; 16]),
            since: 0,
            complete,
            downloads: vec![(
                DownloadId::from_bytes([2; 24]),
                AuthKey::from_bytes([3; 32]),
            )],
        }
    }

    #[test]
    fn pieces_arrive_in_order_and_the_digest_decides() {
        let dir = tempfile::tempdir().unwrap();
        let files = ChunkFiles::open(dir.path(), &[]).unwrap();
        let good = chunk(7, false);
        files.create(good.file).unwrap();
        let piece = vec![7u8; 16384];
        let write = |offset| {
            files
                .write_piece(good.file, good.size, offset, &piece)
                .unwrap()
        };
        assert_eq!(write(16384), PieceOutcome::Gap);
        assert_eq!(write(0), PieceOutcome::Received(16384));
        assert_eq!(write(0), PieceOutcome::Received(16384));
        assert_eq!(write(16384), PieceOutcome::Received(32768));
        assert_eq!(write(32768 + 16384 + 1), PieceOutcome::Gap);
        assert_eq!(write(32768), PieceOutcome::Received(49152));
        assert_eq!(write(49153), PieceOutcome::Gap);
        assert_eq!(
            files
                .write_piece(good.file, good.size, 49152, &[7; 16385])
                .unwrap(),
            PieceOutcome::PastEnd
        );
        assert_eq!(write(49152), PieceOutcome::Received(65536));
        assert!(files.finish(good.file, good.size, &good.digest).unwrap());
        assert_eq!(files.read_piece(good.file, 100, 5).unwrap(), vec![7; 5]);

        let bad = chunk(8, false);
        files.create(bad.file).unwrap();
        for offset in (0..65536).step_by(16384) {
            files
                .write_piece(bad.file, bad.size, offset, &piece)
                .unwrap();
        }
        assert!(!files.finish(bad.file, bad.size, &bad.digest).unwrap());
        assert_eq!(files.received(bad.file).unwrap(), 0);
    }

    #[test]
    fn opening_keeps_only_the_files_of_known_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let files = ChunkFiles::open(dir.path(), &[]).unwrap();
        let (kept, half, gone) = (chunk(1, true), chunk(2, false), chunk(3, false));
        for chunk in [&kept, &half, &gone] {
            files.create(chunk.file).unwrap();
        }
        files
            .write_piece(half.file, half.size, 0, &[2; 1000])
            .unwrap();
        std::fs::write(dir.path().join(CHUNK_DIR).join("stray"), b"x").unwrap();
        drop(files);
        let files = ChunkFiles::open(dir.path(), &[kept.clone(), half.clone()]).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(dir.path().join(CHUNK_DIR))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, [kept.file.file_name(), half.file.file_name()]);
        assert_eq!(files.received(half.file).unwrap(), 1000);
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: PathBuf| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(dir.path().join(CHUNK_DIR)), 0o700);
        assert_eq!(mode(files.path(half.file)), 0o600);
    }
}
