//! The values file chunks carry (FNEW, FPUT, FGET and their answers): the
//! fixed chunk sizes, the chunk digest, the pieces a chunk travels in, and
//! the download keys of its recipients.
//!
//! A chunk is end-to-end ciphertext the client padded to one of
//! [`ChunkSize`]'s four sizes, so the relay learns only the size class. It
//! travels in pieces of at most [`MAX_PIECE_LEN`] bytes, one piece per
//! transmission, so that a piece and its command fill most of a block.

use std::fmt;

use crate::WireError;
use crate::auth::QueueAuthKey;
use crate::codec::{Reader, write_u16_prefixed};

/// The largest piece of a chunk one FPUT or FDATA carries. An FPUT with its
/// authenticator and a piece this long is 16329 bytes as a transmission, so it
/// fills a block alone (16365 at most).
pub const MAX_PIECE_LEN: usize = 16256;

/// The most recipients (download ids) one chunk may have.
pub const MAX_DOWNLOADS: usize = 64;

/// The most bytes one FGET may ask for: its answer is one FDATA, so what one
/// command makes the relay read and hold is bounded by a piece, and a client
/// keeps many FGETs in flight to fill the connection.
pub const MAX_READ_LEN: u32 = MAX_PIECE_LEN as u32;

/// Length of a chunk digest.
pub const CHUNK_DIGEST_LEN: usize = 32;

/// The size of a chunk: one of four fixed sizes (XFTP's), so the relay learns
/// only the class, and a file's size only to within its chunks' sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChunkSize {
    /// 0: 64 KiB.
    Kib64,
    /// 1: 256 KiB.
    Kib256,
    /// 2: 1 MiB.
    Mib1,
    /// 3: 4 MiB.
    Mib4,
}

impl ChunkSize {
    /// Every size, smallest first.
    pub const ALL: [ChunkSize; 4] = [
        ChunkSize::Kib64,
        ChunkSize::Kib256,
        ChunkSize::Mib1,
        ChunkSize::Mib4,
    ];

    /// The size's code byte.
    pub const fn code(self) -> u8 {
        match self {
            ChunkSize::Kib64 => 0,
            ChunkSize::Kib256 => 1,
            ChunkSize::Mib1 => 2,
            ChunkSize::Mib4 => 3,
        }
    }

    /// The size with this code byte.
    pub const fn from_code(code: u8) -> Result<ChunkSize, WireError> {
        Ok(match code {
            0 => ChunkSize::Kib64,
            1 => ChunkSize::Kib256,
            2 => ChunkSize::Mib1,
            3 => ChunkSize::Mib4,
            _ => {
                return Err(WireError::LengthOutOfRange {
                    field: "chunk size",
                });
            }
        })
    }

    /// The chunk's length in bytes.
    pub const fn bytes(self) -> u32 {
        match self {
            ChunkSize::Kib64 => 64 * 1024,
            ChunkSize::Kib256 => 256 * 1024,
            ChunkSize::Mib1 => 1024 * 1024,
            ChunkSize::Mib4 => 4 * 1024 * 1024,
        }
    }

    /// The smallest size that holds `len` bytes, if any does.
    pub fn smallest_for(len: u64) -> Option<ChunkSize> {
        ChunkSize::ALL
            .into_iter()
            .find(|size| len <= u64::from(size.bytes()))
    }
}

/// The BLAKE3 hash (unkeyed, 32 bytes) of a chunk's whole content, all
/// [`ChunkSize::bytes`] of it. The relay checks it when the last piece
/// arrives; a recipient checks it again after downloading.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChunkDigest([u8; CHUNK_DIGEST_LEN]);

impl ChunkDigest {
    /// The digest with these bytes.
    pub const fn from_bytes(bytes: [u8; CHUNK_DIGEST_LEN]) -> Self {
        ChunkDigest(bytes)
    }

    /// The digest's bytes.
    pub const fn as_bytes(&self) -> &[u8; CHUNK_DIGEST_LEN] {
        &self.0
    }

    /// The digest of a whole chunk held in memory.
    pub fn of(chunk: &[u8]) -> Self {
        let mut digester = ChunkDigester::default();
        digester.update(chunk);
        digester.finish()
    }
}

impl fmt::Debug for ChunkDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A digest names a chunk's content: it stays out of logs.
        f.write_str("ChunkDigest(..)")
    }
}

/// Computes a [`ChunkDigest`] over a chunk read piece by piece.
#[derive(Default)]
pub struct ChunkDigester(blake3::Hasher);

impl ChunkDigester {
    /// Adds the next bytes of the chunk.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The digest of everything added.
    pub fn finish(&self) -> ChunkDigest {
        ChunkDigest(*self.0.finalize().as_bytes())
    }
}

/// One piece of a chunk: 1 to [`MAX_PIECE_LEN`] bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct FilePiece(Vec<u8>);

impl FilePiece {
    /// A piece of 1 to [`MAX_PIECE_LEN`] bytes.
    pub fn new(bytes: Vec<u8>) -> Result<FilePiece, WireError> {
        if bytes.is_empty() || bytes.len() > MAX_PIECE_LEN {
            return Err(WireError::LengthOutOfRange { field: "piece" });
        }
        Ok(FilePiece(bytes))
    }

    /// The piece's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The piece's length (1 to [`MAX_PIECE_LEN`]).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a piece is never empty. Present for API symmetry with `len`.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Writes `piece_len u16 | piece`.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        write_u16_prefixed(out, &self.0);
    }

    /// Reads `piece_len u16 | piece`.
    pub(crate) fn decode(reader: &mut Reader<'_>) -> Result<FilePiece, WireError> {
        FilePiece::new(reader.u16_prefixed(MAX_PIECE_LEN, "piece_len")?.to_vec())
    }
}

impl fmt::Debug for FilePiece {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FilePiece({} bytes)", self.0.len())
    }
}

/// The auth keys of a chunk's recipients, one per download id: 1 to
/// [`MAX_DOWNLOADS`] X25519 public keys, each fresh.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DownloadKeys(Vec<QueueAuthKey>);

impl DownloadKeys {
    /// 1 to [`MAX_DOWNLOADS`] keys.
    pub fn new(keys: Vec<QueueAuthKey>) -> Result<DownloadKeys, WireError> {
        if keys.is_empty() || keys.len() > MAX_DOWNLOADS {
            return Err(WireError::LengthOutOfRange {
                field: "download keys",
            });
        }
        Ok(DownloadKeys(keys))
    }

    /// The keys, in the order their download ids are answered.
    pub fn as_slice(&self) -> &[QueueAuthKey] {
        &self.0
    }

    /// Writes `count u8 | count × key (32)`.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        // At most MAX_DOWNLOADS keys, which fits in u8.
        out.push(self.0.len() as u8);
        for key in &self.0 {
            out.extend_from_slice(key.as_bytes());
        }
    }

    /// Reads `count u8 | count × key (32)`.
    pub(crate) fn decode(reader: &mut Reader<'_>) -> Result<DownloadKeys, WireError> {
        let count = usize::from(reader.u8()?);
        if count == 0 || count > MAX_DOWNLOADS {
            return Err(WireError::LengthOutOfRange {
                field: "download count",
            });
        }
        let mut keys = Vec::with_capacity(count);
        for _ in 0..count {
            keys.push(QueueAuthKey::from_bytes(reader.array()?));
        }
        DownloadKeys::new(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_xftps_and_codes_round_trip() {
        let bytes: Vec<u32> = ChunkSize::ALL.iter().map(|size| size.bytes()).collect();
        assert_eq!(bytes, [65536, 262144, 1048576, 4194304]);
        for size in ChunkSize::ALL {
            assert_eq!(ChunkSize::from_code(size.code()), Ok(size));
        }
        assert!(ChunkSize::from_code(4).is_err());
        assert_eq!(ChunkSize::smallest_for(0), Some(ChunkSize::Kib64));
        assert_eq!(ChunkSize::smallest_for(65537), Some(ChunkSize::Kib256));
        assert_eq!(ChunkSize::smallest_for(4 << 20), Some(ChunkSize::Mib4));
        assert_eq!(ChunkSize::smallest_for((4 << 20) + 1), None);
    }

    #[test]
    fn pieces_and_key_lists_are_bounded() {
        assert!(FilePiece::new(vec![]).is_err());
        assert!(FilePiece::new(vec![0; MAX_PIECE_LEN]).is_ok());
        assert!(FilePiece::new(vec![0; MAX_PIECE_LEN + 1]).is_err());
        let key = crate::QueueAuthSecret::from_bytes([3; 32]).public_key();
        assert!(DownloadKeys::new(vec![]).is_err());
        assert!(DownloadKeys::new(vec![key; MAX_DOWNLOADS]).is_ok());
        assert!(DownloadKeys::new(vec![key; MAX_DOWNLOADS + 1]).is_err());
    }

    #[test]
    fn a_digest_is_blake3_of_the_chunk_and_does_not_print() {
        let chunk = vec![7u8; 1000];
        let mut digester = ChunkDigester::default();
        digester.update(&chunk[..10]);
        digester.update(&chunk[10..]);
        assert_eq!(digester.finish(), ChunkDigest::of(&chunk));
        assert_eq!(
            ChunkDigest::of(&chunk).as_bytes(),
            blake3::hash(&chunk).as_bytes()
        );
        assert_eq!(format!("{:?}", ChunkDigest::of(&chunk)), "ChunkDigest(..)");
        assert_eq!(
            format!("{:?}", FilePiece::new(vec![1; 5]).unwrap()),
            "FilePiece(5 bytes)"
        );
    }
}
