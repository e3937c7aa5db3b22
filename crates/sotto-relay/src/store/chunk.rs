//! What the store keeps of a file chunk: its keys, ids, size class, digest,
//! state and the name of the file that holds its bytes. The bytes themselves
//! live in the chunk directory ([`crate::chunk_files`]), outside the store.

use sotto_wire::{ChunkDigest, ChunkSize, DownloadId, MAX_DOWNLOADS, UploadId};

use super::AuthKey;

/// Length of a chunk file's random name, in bytes (written as 32 hex digits).
pub const CHUNK_FILE_NAME_LEN: usize = 16;

/// The random name of the file that holds a chunk's bytes: drawn apart from
/// the chunk's ids, so the directory listing names no id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChunkFile([u8; CHUNK_FILE_NAME_LEN]);

impl ChunkFile {
    /// The name with these random bytes.
    pub const fn from_bytes(bytes: [u8; CHUNK_FILE_NAME_LEN]) -> Self {
        Self(bytes)
    }

    /// The name's bytes.
    pub const fn as_bytes(&self) -> &[u8; CHUNK_FILE_NAME_LEN] {
        &self.0
    }

    /// The file name: 32 lower-case hex digits.
    pub fn file_name(&self) -> String {
        let mut name = String::with_capacity(2 * CHUNK_FILE_NAME_LEN);
        for byte in self.0 {
            name.push(hex_digit(byte >> 4));
            name.push(hex_digit(byte & 0x0f));
        }
        name
    }

    /// The name a file in the chunk directory is called by, if it is one.
    pub fn parse(name: &str) -> Option<ChunkFile> {
        let digits = name.as_bytes();
        if digits.len() != 2 * CHUNK_FILE_NAME_LEN {
            return None;
        }
        let mut bytes = [0u8; CHUNK_FILE_NAME_LEN];
        for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
            *byte = (hex_value(pair[0])? << 4) | hex_value(pair[1])?;
        }
        Some(ChunkFile(bytes))
    }
}

impl std::fmt::Debug for ChunkFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChunkFile(..)")
    }
}

fn hex_digit(nibble: u8) -> char {
    char::from(b"0123456789abcdef"[usize::from(nibble & 0x0f)])
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

/// A chunk's stored state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkRecord {
    /// Key that authorizes FPUT, FSTAT and FDEL.
    pub upload_key: AuthKey,
    /// The chunk's size class: the file holds exactly this many bytes once
    /// complete, and the storage budget counts them from FNEW on.
    pub size: ChunkSize,
    /// The digest the whole chunk must have.
    pub digest: ChunkDigest,
    /// The file that holds its bytes.
    pub file: ChunkFile,
    /// When it was created, or completed once it is: unix seconds. It expires
    /// the file TTL after.
    pub since: u64,
    /// Whether every byte arrived, matched the digest and is on disk.
    pub complete: bool,
    /// The recipients that have not acknowledged it, each by its download id
    /// and key.
    pub downloads: Vec<(DownloadId, AuthKey)>,
}

/// Bytes of an encoded chunk state before its downloads.
const FIXED_LEN: usize = 32 + 1 + 32 + CHUNK_FILE_NAME_LEN + 8 + 1 + 1;

/// Bytes of one download (id and key) in an encoded chunk state.
const DOWNLOAD_LEN: usize = 24 + 32;

impl ChunkRecord {
    /// Bytes of [`ChunkRecord::encode`]'s output.
    pub fn encoded_len(&self) -> usize {
        FIXED_LEN + DOWNLOAD_LEN * self.downloads.len()
    }

    /// Writes the state as both backends store it: upload key (32) ‖ size
    /// class (1) ‖ digest (32) ‖ file name (16) ‖ since (u64) ‖ complete (1:
    /// 0 or 1) ‖ count (u8) ‖ count × (download id (24) ‖ download key (32)).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.upload_key.as_bytes());
        out.push(self.size.code());
        out.extend_from_slice(self.digest.as_bytes());
        out.extend_from_slice(self.file.as_bytes());
        out.extend_from_slice(&self.since.to_be_bytes());
        out.push(u8::from(self.complete));
        // At most MAX_DOWNLOADS downloads, which fits in u8.
        out.push(self.downloads.len() as u8);
        for (download_id, key) in &self.downloads {
            out.extend_from_slice(download_id.as_bytes());
            out.extend_from_slice(key.as_bytes());
        }
    }

    /// Reads what [`ChunkRecord::encode`] wrote, exactly; `None` if it is not
    /// that.
    pub fn decode(bytes: &[u8]) -> Option<ChunkRecord> {
        let (upload_key, rest) = bytes.split_first_chunk::<32>()?;
        let (&size, rest) = rest.split_first()?;
        let (digest, rest) = rest.split_first_chunk::<32>()?;
        let (file, rest) = rest.split_first_chunk::<CHUNK_FILE_NAME_LEN>()?;
        let (since, rest) = rest.split_first_chunk::<8>()?;
        let (&complete, rest) = rest.split_first()?;
        let (&count, rest) = rest.split_first()?;
        let count = usize::from(count);
        if count > MAX_DOWNLOADS || rest.len() != count * DOWNLOAD_LEN {
            return None;
        }
        let downloads = rest
            .chunks_exact(DOWNLOAD_LEN)
            .map(|download| {
                let (id, key) = download.split_first_chunk::<24>()?;
                let key = <[u8; 32]>::try_from(key).ok()?;
                Some((DownloadId::from_bytes(*id), AuthKey::from_bytes(key)))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(ChunkRecord {
            upload_key: AuthKey::from_bytes(*upload_key),
            size: ChunkSize::from_code(size).ok()?,
            digest: ChunkDigest::from_bytes(*digest),
            file: ChunkFile::from_bytes(*file),
            since: u64::from_be_bytes(*since),
            complete: match complete {
                0 => false,
                1 => true,
                _ => return None,
            },
            downloads,
        })
    }

    /// Whether the chunk's ids, its upload id among them, are not all
    /// different (a new chunk must have distinct ids).
    pub fn repeats_an_id(&self, upload_id: &UploadId) -> bool {
        let ids = self.ids(upload_id);
        (1..ids.len()).any(|n| ids[..n].contains(&ids[n]))
    }

    /// The upload id and every download id, as bytes.
    pub fn ids(&self, upload_id: &UploadId) -> Vec<[u8; 24]> {
        let mut ids = vec![*upload_id.as_bytes()];
        ids.extend(self.downloads.iter().map(|(id, _)| *id.as_bytes()));
        ids
    }

    /// The key of this download id, if it is one of the chunk's.
    pub fn download_key(&self, download_id: &DownloadId) -> Option<AuthKey> {
        self.downloads
            .iter()
            .find(|(id, _)| id == download_id)
            .map(|(_, key)| *key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_hex_and_parse_back() {
        let file = ChunkFile::from_bytes([0xab; CHUNK_FILE_NAME_LEN]);
        let name = file.file_name();
        assert_eq!(name, "ab".repeat(CHUNK_FILE_NAME_LEN));
        assert_eq!(ChunkFile::parse(&name), Some(file));
        assert_eq!(ChunkFile::parse(&name.to_uppercase()), None);
        assert_eq!(ChunkFile::parse(&name[1..]), None);
        assert_eq!(ChunkFile::parse("relay.redb"), None);
        assert_eq!(format!("{file:?}"), "ChunkFile(..)");
    }
}
