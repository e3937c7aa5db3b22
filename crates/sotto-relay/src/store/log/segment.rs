//! Segment files: naming, creation with the permissions and directory syncs that
//! make them survive a power loss, and reading one back record by record.
//!
//! A segment is `NNNNNNNNNN.seg` (its number, 10 decimal digits: any u32) in the log
//! directory, and starts with a 16-byte header:
//!
//! ```text
//! "SOTTOLOG" (8) || version (1: 0x01) || zero (3) || segment number (4, BE)
//! ```
//!
//! then records back to back (see [`super::record`]).

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, BufReader, Read};
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::index::Location;
use super::record::{self, DecodeError, FRAME_HEADER_LEN, Record};
use crate::Error;

/// Bytes of a segment's header.
pub(super) const HEADER_LEN: u64 = 16;

const MAGIC: [u8; 8] = *b"SOTTOLOG";
const VERSION: u8 = 1;
const SUFFIX: &str = ".seg";

/// The header of segment `number`.
fn header(number: u32) -> [u8; HEADER_LEN as usize] {
    let mut header = [0; HEADER_LEN as usize];
    header[..8].copy_from_slice(&MAGIC);
    header[8] = VERSION;
    header[12..].copy_from_slice(&number.to_be_bytes());
    header
}

/// The path of segment `number` in `dir`.
pub(super) fn path(dir: &Path, number: u32) -> PathBuf {
    dir.join(format!("{number:010}{SUFFIX}"))
}

/// Creates the log directory (mode 0700) if it is missing, syncing its parent.
pub(super) fn create_dir(dir: &Path) -> Result<(), Error> {
    if dir.is_dir() {
        return Ok(());
    }
    DirBuilder::new()
        .mode(0o700)
        .create(dir)
        .map_err(Error::io("creating the log directory"))?;
    if let Some(parent) = dir.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Makes the directory's entries (files created, removed) durable.
pub(super) fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|dir| dir.sync_all())
        .map_err(Error::io("syncing the log directory"))
}

/// The numbers of the segments in `dir`, ascending. Anything else in the
/// directory is refused: the relay owns it.
pub(super) fn list(dir: &Path) -> Result<Vec<u32>, Error> {
    let mut numbers = Vec::new();
    for entry in fs::read_dir(dir).map_err(Error::io("listing the log directory"))? {
        let entry = entry.map_err(Error::io("listing the log directory"))?;
        let name = entry.file_name();
        let number = name
            .to_str()
            .and_then(|name| name.strip_suffix(SUFFIX))
            .filter(|digits| digits.len() == 10 && digits.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|digits| digits.parse::<u32>().ok())
            .ok_or(Error::CorruptLog {
                segment: 0,
                offset: 0,
                reason: "a file that is not a segment is in the log directory",
            })?;
        numbers.push(number);
    }
    numbers.sort_unstable();
    // Segments are only ever deleted oldest first, so the ones left are
    // consecutive; a gap means a segment was lost.
    for pair in numbers.windows(2) {
        if let [older, newer] = pair
            && older.checked_add(1) != Some(*newer)
        {
            return Err(Error::CorruptLog {
                segment: older.saturating_add(1),
                offset: 0,
                reason: "the segment is missing",
            });
        }
    }
    Ok(numbers)
}

/// Creates segment `number` (mode 0600) with its header, durable with its
/// directory entry before it returns.
pub(super) fn create(dir: &Path, number: u32) -> Result<File, Error> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path(dir, number))
        .map_err(Error::io("creating a log segment"))?;
    file.write_all_at(&header(number), 0)
        .and_then(|()| file.sync_all())
        .map_err(Error::io("writing a log segment's header"))?;
    sync_dir(dir)?;
    Ok(file)
}

/// Opens segment `number` for reading and writing.
pub(super) fn open(dir: &Path, number: u32) -> Result<File, Error> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path(dir, number))
        .map_err(Error::io("opening a log segment"))
}

/// Opens segment `number` for direct writes (`O_DIRECT`, see
/// [`super::writer`]); `None` if its filesystem does not allow them.
pub(super) fn open_direct(dir: &Path, number: u32) -> Option<File> {
    match OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_DIRECT)
        .open(path(dir, number))
    {
        Ok(file) => Some(file),
        Err(error) => {
            tracing::debug!(%error, "direct writes are not available for the log");
            None
        }
    }
}

/// Deletes segment `number`, durably.
pub(super) fn remove(dir: &Path, number: u32) -> Result<(), Error> {
    fs::remove_file(path(dir, number)).map_err(Error::io("deleting a log segment"))?;
    sync_dir(dir)
}

/// How far a segment's records are whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ReplayEnd {
    /// Bytes of header and whole records.
    pub(super) valid_len: u64,
    /// Why reading stopped before the end of the file, if it did.
    pub(super) damage: Option<DecodeError>,
    /// The header is missing or not this segment's.
    pub(super) bad_header: bool,
}

/// Reads segment `number` from `file`, handing each whole record and its
/// location to `visit`, until the end, the zeros that pad the last direct
/// write (fewer than a block of them, up to the end of the file), or the
/// first record that is torn or fails its checksum.
pub(super) fn replay(
    file: &File,
    number: u32,
    mut visit: impl FnMut(&Record<'_>, Location),
) -> Result<ReplayEnd, Error> {
    let read_error = Error::io("reading a log segment");
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut found = [0; HEADER_LEN as usize];
    if !read_full(&mut reader, &mut found).map_err(read_error)? || found != header(number) {
        return Ok(ReplayEnd {
            valid_len: 0,
            damage: None,
            bad_header: true,
        });
    }
    let mut offset = HEADER_LEN;
    let mut frame = Vec::new();
    loop {
        let mut head = [0; FRAME_HEADER_LEN];
        match read_some(&mut reader, &mut head).map_err(Error::io("reading a log segment"))? {
            0 => return Ok(end(offset, None)),
            n if n < FRAME_HEADER_LEN => return Ok(end(offset, Some(DecodeError::Truncated))),
            _ => {}
        }
        if head == [0; FRAME_HEADER_LEN] && is_padding(&mut reader, offset)? {
            return Ok(end(offset, None));
        }
        let len = match record::framed_len(&head) {
            Ok(len) => len,
            Err(damage) => return Ok(end(offset, Some(damage))),
        };
        // Bounded by `framed_len` before this allocation.
        frame.clear();
        frame.extend_from_slice(&head);
        frame.resize(len, 0);
        let rest = frame.get_mut(FRAME_HEADER_LEN..).unwrap_or_default();
        if !read_full(&mut reader, rest).map_err(Error::io("reading a log segment"))? {
            return Ok(end(offset, Some(DecodeError::Truncated)));
        }
        let (record, _) = match record::decode(&frame) {
            Ok(decoded) => decoded,
            Err(damage) => return Ok(end(offset, Some(damage))),
        };
        let (Ok(offset32), Ok(len32)) = (u32::try_from(offset), u32::try_from(len)) else {
            return Ok(end(offset, Some(DecodeError::Malformed)));
        };
        visit(
            &record,
            Location {
                segment: number,
                offset: offset32,
                len: len32,
            },
        );
        offset += len as u64;
    }
}

/// Whether the file ends within the block where its records end (at
/// `offset`), in zeros only: the padding of a direct write, not damage. The
/// frame header before `reader`'s position was zeros.
fn is_padding(reader: &mut impl Read, offset: u64) -> Result<bool, Error> {
    let room = super::writer::ALIGN - (offset % super::writer::ALIGN as u64) as usize;
    let mut rest = vec![0; room];
    let read = read_some(reader, &mut rest).map_err(Error::io("reading a log segment"))?;
    let mut beyond = [0; 1];
    let more = read_some(reader, &mut beyond).map_err(Error::io("reading a log segment"))?;
    Ok(read + FRAME_HEADER_LEN <= room && more == 0 && rest.iter().all(|&byte| byte == 0))
}

fn end(valid_len: u64, damage: Option<DecodeError>) -> ReplayEnd {
    ReplayEnd {
        valid_len,
        damage,
        bad_header: false,
    }
}

/// Fills `buf`; `false` if the file ends first.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<bool> {
    Ok(read_some(reader, buf)? == buf.len())
}

/// Reads until `buf` is full or the file ends; how many bytes were read.
fn read_some(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..)
        && !rest.is_empty()
    {
        match reader.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

/// Cuts `file` to `len` bytes and makes the cut durable: what follows was never
/// acknowledged, and must not be mistaken later for records.
pub(super) fn truncate(file: &File, len: u64) -> Result<(), Error> {
    file.set_len(len)
        .and_then(|()| file.sync_all())
        .map_err(Error::io("truncating a log segment's torn tail"))
}

/// Rewrites the header of segment `number` over an empty file.
pub(super) fn reset(file: &File, number: u32) -> Result<(), Error> {
    file.set_len(0)
        .and_then(|()| file.write_all_at(&header(number), 0))
        .and_then(|()| file.sync_all())
        .map_err(Error::io("rewriting a log segment's header"))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use sotto_wire::RecipientId;

    use super::*;

    #[test]
    fn created_segments_are_private_and_replay_their_records() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        create_dir(&log).unwrap();
        assert_eq!(
            fs::metadata(&log).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let file = create(&log, 7).unwrap();
        assert_eq!(
            fs::metadata(path(&log, 7)).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let mut bytes = Vec::new();
        for seed in 0..3 {
            Record::Delete {
                recipient_id: RecipientId::from_bytes([seed; 24]),
            }
            .encode(&mut bytes);
        }
        file.write_all_at(&bytes, HEADER_LEN).unwrap();
        let mut seen = Vec::new();
        let end = replay(&file, 7, |record, at| {
            assert!(matches!(record, Record::Delete { .. }));
            seen.push(at);
        })
        .unwrap();
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[1].offset as u64, HEADER_LEN + 33);
        assert_eq!(end.valid_len, HEADER_LEN + bytes.len() as u64);
        assert_eq!(end.damage, None);
        // A segment read under another number is not that segment.
        assert!(replay(&file, 8, |_, _| {}).unwrap().bad_header);
    }

    #[test]
    fn listing_refuses_strangers_and_gaps() {
        let dir = tempfile::tempdir().unwrap();
        for number in [3, 4, 5] {
            create(dir.path(), number).unwrap();
        }
        assert_eq!(list(dir.path()).unwrap(), [3, 4, 5]);
        remove(dir.path(), 4).unwrap();
        assert!(list(dir.path()).is_err());
        remove(dir.path(), 3).unwrap();
        assert_eq!(list(dir.path()).unwrap(), [5]);
        fs::write(dir.path().join("notes.txt"), b"").unwrap();
        assert!(list(dir.path()).is_err());
    }
}
