//! The archive header and the keys derived from it.

use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{ArchiveError, ArchiveId};
use crate::passphrase::{KeyDerivation, Passphrase, StorageKey};

/// The first bytes of every archive.
pub(super) const MAGIC: [u8; 8] = *b"SOTTOARC";
/// The archive version this client writes and the only one it reads.
pub(super) const VERSION: u16 = 1;
/// Length of the random nonce prefix.
pub(super) const NONCE_PREFIX_LEN: usize = 16;
/// Length of the key check value.
const KEY_CHECK_LEN: usize = 32;
/// Magic and version: enough to tell an archive and its version.
pub(super) const PREAMBLE_LEN: usize = MAGIC.len() + 2;
/// Length of a version-1 header.
pub(super) const HEADER_LEN: usize =
    PREAMBLE_LEN + KeyDerivation::ENCODED_LEN + NONCE_PREFIX_LEN + KEY_CHECK_LEN;

/// Where the key derivation ends in a header: what
/// [`super::archive_key_derivation`] needs.
pub(crate) const DERIVATION_END: usize = PREAMBLE_LEN + KeyDerivation::ENCODED_LEN;

/// What opens an archive: the passphrase, or the key derived from it already.
pub(super) enum Credential {
    Passphrase(Passphrase),
    DerivedKey(StorageKey),
}

/// HKDF salt: separates archive keys from every other use of a passphrase key.
const HKDF_SALT: &[u8] = b"Sotto archive v1";
const CHUNK_KEY_INFO: &[u8] = b"chunk key";
const KEY_CHECK_INFO: &[u8] = b"key check";

/// A parsed header, with the keys it leads to.
pub(super) struct Header {
    /// The exact header bytes, hashed into every chunk's associated data.
    pub(super) hash: [u8; 32],
    pub(super) nonce_prefix: [u8; NONCE_PREFIX_LEN],
    pub(super) chunk_key: Zeroizing<[u8; 32]>,
}

impl Header {
    /// Writes a header for a new archive; returns it with its bytes.
    pub(super) fn create(
        passphrase: &Passphrase,
        derivation: &KeyDerivation,
        nonce_prefix: [u8; NONCE_PREFIX_LEN],
    ) -> Result<(Header, Vec<u8>), ArchiveError> {
        Self::create_with_key(&derivation.derive(passphrase)?, derivation, nonce_prefix)
    }

    /// [`Header::create`] with the key `derivation` gives for the passphrase,
    /// derived already.
    pub(super) fn create_with_key(
        master: &StorageKey,
        derivation: &KeyDerivation,
        nonce_prefix: [u8; NONCE_PREFIX_LEN],
    ) -> Result<(Header, Vec<u8>), ArchiveError> {
        let (chunk_key, key_check) = expand(master, &nonce_prefix)?;
        let mut bytes = Vec::with_capacity(HEADER_LEN);
        bytes.extend_from_slice(&MAGIC);
        bytes.extend_from_slice(&VERSION.to_be_bytes());
        bytes.extend_from_slice(&derivation.encode());
        bytes.extend_from_slice(&nonce_prefix);
        bytes.extend_from_slice(&key_check);
        let header = Header {
            hash: Sha256::digest(&bytes).into(),
            nonce_prefix,
            chunk_key,
        };
        Ok((header, bytes))
    }

    /// Checks the magic and version of the first [`PREAMBLE_LEN`] bytes.
    pub(super) fn check_preamble(bytes: &[u8]) -> Result<(), ArchiveError> {
        let (magic, rest) = bytes.split_at(MAGIC.len().min(bytes.len()));
        if magic != MAGIC {
            return Err(ArchiveError::NotAnArchive);
        }
        let version = match rest {
            [high, low, ..] => u16::from_be_bytes([*high, *low]),
            _ => return Err(ArchiveError::Truncated),
        };
        if version != VERSION {
            return Err(ArchiveError::UnsupportedVersion(version));
        }
        Ok(())
    }

    /// The key derivation recorded in a version-1 header (needs its first
    /// [`DERIVATION_END`] bytes).
    pub(super) fn derivation(bytes: &[u8; DERIVATION_END]) -> Result<KeyDerivation, ArchiveError> {
        Self::check_preamble(bytes)?;
        let mut derivation = [0u8; KeyDerivation::ENCODED_LEN];
        derivation.copy_from_slice(&bytes[PREAMBLE_LEN..]);
        Ok(KeyDerivation::decode(&derivation)?)
    }

    /// Parses a complete version-1 header and derives its keys (one Argon2id
    /// run, unless the key comes derived already).
    pub(super) fn open(
        bytes: &[u8; HEADER_LEN],
        credential: &Credential,
    ) -> Result<Header, ArchiveError> {
        Self::check_preamble(bytes)?;
        let mut at = PREAMBLE_LEN;
        let mut take = |len: usize| {
            let field = &bytes[at..at + len];
            at += len;
            field
        };
        let mut derivation = [0u8; KeyDerivation::ENCODED_LEN];
        derivation.copy_from_slice(take(KeyDerivation::ENCODED_LEN));
        let mut nonce_prefix = [0u8; NONCE_PREFIX_LEN];
        nonce_prefix.copy_from_slice(take(NONCE_PREFIX_LEN));
        let stored_check = take(KEY_CHECK_LEN);

        let derived;
        let master = match credential {
            Credential::Passphrase(passphrase) => {
                derived = KeyDerivation::decode(&derivation)?.derive(passphrase)?;
                &derived
            }
            // A key derived under other parameters or salt fails the check
            // below like a wrong passphrase.
            Credential::DerivedKey(key) => key,
        };
        let (chunk_key, key_check) = expand(master, &nonce_prefix)?;
        // The check value is public (it is in the file): no need for a
        // constant-time comparison.
        if key_check.as_slice() != stored_check {
            return Err(ArchiveError::WrongPassphrase);
        }
        Ok(Header {
            hash: Sha256::digest(bytes).into(),
            nonce_prefix,
            chunk_key,
        })
    }

    /// The archive's identity: the hash of its header.
    pub(super) fn id(&self) -> ArchiveId {
        ArchiveId(self.hash)
    }
}

type ChunkKey = Zeroizing<[u8; 32]>;

/// HKDF-SHA256(salt "Sotto archive v1", master) expanded to the chunk key and the
/// key check, each bound to this archive's nonce prefix.
fn expand(
    master: &StorageKey,
    nonce_prefix: &[u8; NONCE_PREFIX_LEN],
) -> Result<(ChunkKey, [u8; KEY_CHECK_LEN]), ArchiveError> {
    let hkdf = Hkdf::<Sha256>::new(Some(HKDF_SALT), master.as_bytes());
    let mut chunk_key = Zeroizing::new([0u8; 32]);
    let mut key_check = [0u8; KEY_CHECK_LEN];
    // Expanding 32 bytes never exceeds HKDF's 255 * 32 byte limit.
    hkdf.expand_multi_info(&[CHUNK_KEY_INFO, nonce_prefix], chunk_key.as_mut())
        .map_err(|_| ArchiveError::Malformed("key expansion"))?;
    hkdf.expand_multi_info(&[KEY_CHECK_INFO, nonce_prefix], &mut key_check)
        .map_err(|_| ArchiveError::Malformed("key expansion"))?;
    Ok((chunk_key, key_check))
}
