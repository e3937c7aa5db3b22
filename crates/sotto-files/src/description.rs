//! The file description: what a recipient needs to download and decrypt a
//! file, sent end to end inside a chat message. The relays never see it.
//!
//! Encoding (all integers big-endian; decoded exactly, every length bounded
//! before anything is allocated):
//!
//! ```text
//! version u8 (1) | size u64 | key (32) | nonce (19)
//! | name_len u8 | name (UTF-8, 0..=255 bytes)
//! | type_len u8 | media type (printable ASCII, 0..=127 bytes)
//! | count u16 (1..=4096)
//! | count × ( address_len u16 (1..=512) | relay address (canonical text)
//!           | download id (24) | download auth secret (32)
//!           | size u8 (0..=3) | digest (32) )
//! ```
//!
//! The chunk sizes must be the ones [`plan_chunks`] gives for the file's
//! size, in order.

use std::fmt;

use sotto_wire::{
    ChunkDigest, ChunkSize, DownloadId, MAX_ADDRESS_LEN, QueueAuthSecret, RelayAddress,
};

use crate::layout::{encrypted_len, plan_chunks};
use crate::{FILE_NONCE_LEN, FileError, FileKey, FileNonce};

/// The longest file name, in bytes of UTF-8.
pub const MAX_NAME_LEN: usize = 255;

/// The longest media type (`image/jpeg`, `audio/ogg`, …).
pub const MAX_MEDIA_TYPE_LEN: usize = 127;

/// The most chunks a description lists: a 16 GiB file in 4 MiB chunks.
pub const MAX_DESCRIBED_CHUNKS: usize = 4096;

const VERSION: u8 = 1;

/// Where one chunk is and how one recipient reads it.
#[derive(Clone)]
pub struct ChunkDescription {
    /// The relay that holds the chunk.
    pub relay: RelayAddress,
    /// This recipient's id for the chunk.
    pub download_id: DownloadId,
    /// The secret of this recipient's download auth key (FGET, FACK).
    pub download_secret: QueueAuthSecret,
    /// The chunk's size class.
    pub size: ChunkSize,
    /// The chunk's digest, checked after download.
    pub digest: ChunkDigest,
}

/// A file as one recipient receives it. `Debug` prints no name, key or id.
#[derive(Clone)]
pub struct FileDescription {
    /// The file's name, as the sender shows it.
    pub name: String,
    /// Its media type, for the recipient's viewer.
    pub media_type: String,
    /// Its length in bytes.
    pub size: u64,
    /// The key it is encrypted under.
    pub key: FileKey,
    /// Its STREAM nonce prefix.
    pub nonce: FileNonce,
    /// Its chunks, in order.
    pub chunks: Vec<ChunkDescription>,
}

impl FileDescription {
    /// The encoding above; `MalformedDescription` if a field is out of its
    /// bounds.
    pub fn encode(&self) -> Result<Vec<u8>, FileError> {
        self.check()?;
        let mut out = Vec::with_capacity(64 + self.name.len() + self.chunks.len() * 200);
        out.push(VERSION);
        out.extend_from_slice(&self.size.to_be_bytes());
        out.extend_from_slice(self.key.as_bytes());
        out.extend_from_slice(self.nonce.as_bytes());
        // Lengths checked above.
        out.push(self.name.len() as u8);
        out.extend_from_slice(self.name.as_bytes());
        out.push(self.media_type.len() as u8);
        out.extend_from_slice(self.media_type.as_bytes());
        out.extend_from_slice(&(self.chunks.len() as u16).to_be_bytes());
        for chunk in &self.chunks {
            let address = chunk.relay.to_string();
            out.extend_from_slice(&(address.len() as u16).to_be_bytes());
            out.extend_from_slice(address.as_bytes());
            out.extend_from_slice(chunk.download_id.as_bytes());
            out.extend_from_slice(chunk.download_secret.as_bytes());
            out.push(chunk.size.code());
            out.extend_from_slice(chunk.digest.as_bytes());
        }
        Ok(out)
    }

    /// Reads the encoding above, exactly.
    pub fn decode(bytes: &[u8]) -> Result<FileDescription, FileError> {
        let mut reader = Reader(bytes);
        if reader.array::<1>()? != [VERSION] {
            return Err(FileError::MalformedDescription("version"));
        }
        let size = u64::from_be_bytes(reader.array()?);
        let key = FileKey::from_bytes(reader.array()?);
        let nonce = FileNonce::from_bytes(reader.array::<FILE_NONCE_LEN>()?);
        let name_len = usize::from(reader.array::<1>()?[0]);
        let name = String::from_utf8(reader.take(name_len)?.to_vec())
            .map_err(|_| FileError::MalformedDescription("name"))?;
        let type_len = usize::from(reader.array::<1>()?[0]);
        let media_type = String::from_utf8(reader.take(type_len)?.to_vec())
            .map_err(|_| FileError::MalformedDescription("media type"))?;
        let count = usize::from(u16::from_be_bytes(reader.array()?));
        if count == 0 || count > MAX_DESCRIBED_CHUNKS {
            return Err(FileError::MalformedDescription("chunk count"));
        }
        let mut chunks = Vec::with_capacity(count);
        for _ in 0..count {
            let address_len = usize::from(u16::from_be_bytes(reader.array()?));
            if address_len == 0 || address_len > MAX_ADDRESS_LEN {
                return Err(FileError::MalformedDescription("relay address"));
            }
            let relay = std::str::from_utf8(reader.take(address_len)?)
                .ok()
                .and_then(|text| text.parse::<RelayAddress>().ok())
                .ok_or(FileError::MalformedDescription("relay address"))?;
            chunks.push(ChunkDescription {
                relay,
                download_id: DownloadId::from_bytes(reader.array()?),
                download_secret: QueueAuthSecret::from_bytes(reader.array()?),
                size: ChunkSize::from_code(reader.array::<1>()?[0])
                    .map_err(|_| FileError::MalformedDescription("chunk size"))?,
                digest: ChunkDigest::from_bytes(reader.array()?),
            });
        }
        if !reader.0.is_empty() {
            return Err(FileError::MalformedDescription("trailing bytes"));
        }
        let description = FileDescription {
            name,
            media_type,
            size,
            key,
            nonce,
            chunks,
        };
        description.check()?;
        Ok(description)
    }

    fn check(&self) -> Result<(), FileError> {
        if self.name.len() > MAX_NAME_LEN {
            return Err(FileError::MalformedDescription("name"));
        }
        if self.media_type.len() > MAX_MEDIA_TYPE_LEN
            || !self.media_type.bytes().all(|byte| byte.is_ascii_graphic())
        {
            return Err(FileError::MalformedDescription("media type"));
        }
        if self.chunks.is_empty() || self.chunks.len() > MAX_DESCRIBED_CHUNKS {
            return Err(FileError::MalformedDescription("chunk count"));
        }
        let planned = plan_chunks(encrypted_len(self.size)?);
        if !planned
            .iter()
            .eq(self.chunks.iter().map(|chunk| &chunk.size))
        {
            return Err(FileError::MalformedDescription("chunk sizes"));
        }
        Ok(())
    }
}

impl fmt::Debug for FileDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FileDescription({} chunks)", self.chunks.len())
    }
}

impl fmt::Debug for ChunkDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkDescription")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// A cursor over an untrusted description: every read is bounds-checked.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], FileError> {
        let (head, tail) = self
            .0
            .split_at_checked(len)
            .ok_or(FileError::MalformedDescription("truncated"))?;
        self.0 = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], FileError> {
        <[u8; N]>::try_from(self.take(N)?).map_err(|_| FileError::MalformedDescription("truncated"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address() -> RelayAddress {
        "sotto+ws://tgAwbPp2cj_ew5XlOps9n9t4seLXojwy_LzS3G0MQJI@127.0.0.1:7000"
            .parse()
            .unwrap()
    }

    fn description(size: u64) -> FileDescription {
        let chunks = plan_chunks(encrypted_len(size).unwrap())
            .into_iter()
            .enumerate()
            .map(|(n, size)| ChunkDescription {
                relay: address(),
                download_id: DownloadId::from_bytes([n as u8; 24]),
                download_secret: QueueAuthSecret::from_bytes([9; 32]),
                size,
                digest: ChunkDigest::from_bytes([n as u8; 32]),
            })
            .collect();
        FileDescription {
            name: "holiday photo ☀.jpg".into(),
            media_type: "image/jpeg".into(),
            size,
            key: FileKey::from_bytes([1; 32]),
            nonce: FileNonce::from_bytes([2; 19]),
            chunks,
        }
    }

    #[test]
    fn descriptions_round_trip_and_print_nothing_secret() {
        for size in [0, 70_000, 5 * 1024 * 1024] {
            let original = description(size);
            let encoded = original.encode().unwrap();
            let decoded = FileDescription::decode(&encoded).unwrap();
            assert_eq!(decoded.encode().unwrap(), encoded);
            assert_eq!(decoded.name, original.name);
            assert_eq!(decoded.chunks[0].relay, address());
            let printed = format!("{original:?}");
            assert!(!printed.contains("holiday"), "{printed}");
        }
    }

    #[test]
    fn every_truncation_and_extension_is_refused() {
        let encoded = description(70_000).encode().unwrap();
        for len in 0..encoded.len() {
            assert!(FileDescription::decode(&encoded[..len]).is_err(), "{len}");
        }
        let mut longer = encoded.clone();
        longer.push(0);
        assert!(FileDescription::decode(&longer).is_err());
    }

    #[test]
    fn bounds_and_chunk_sizes_are_checked() {
        let mut long_name = description(1);
        long_name.name = "x".repeat(MAX_NAME_LEN + 1);
        assert!(long_name.encode().is_err());
        let mut odd_type = description(1);
        odd_type.media_type = "image/jpeg\n".into();
        assert!(odd_type.encode().is_err());
        // A description whose chunks do not fit its size is refused.
        let mut lying = description(5 * 1024 * 1024);
        lying.size = 1;
        assert!(matches!(
            lying.encode(),
            Err(FileError::MalformedDescription("chunk sizes"))
        ));
    }
}
