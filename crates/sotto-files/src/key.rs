//! The file key and nonce, drawn at random by the sender for each file, and
//! what is derived from them.

use std::fmt;

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Bytes of the STREAM nonce prefix: XChaCha20-Poly1305's 24-byte nonce less
/// STREAM's 4-byte segment counter and 1-byte last flag.
pub const FILE_NONCE_LEN: usize = 19;

/// The key a file is encrypted under (32 random bytes). Zeroized on drop,
/// never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct FileKey([u8; 32]);

impl FileKey {
    /// The key with these (random) bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        FileKey(bytes)
    }

    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key that encrypts the file's segments.
    pub(crate) fn stream_key(&self) -> [u8; 32] {
        self.expand(b"sotto-file-v1 stream")
    }

    /// The seed of the bytes that fill out the last chunk.
    pub(crate) fn filler_seed(&self) -> [u8; 32] {
        self.expand(b"sotto-file-v1 filler")
    }

    fn expand(&self, info: &[u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's limit of 8160: expanding cannot fail.
        let _ = Hkdf::<Sha256>::from_prk(&self.0).map(|prk| prk.expand(info, &mut out));
        out
    }
}

impl fmt::Debug for FileKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FileKey(..)")
    }
}

/// The STREAM nonce prefix of a file (19 random bytes). With a fresh key per
/// file it need not be secret; it is random anyway, so that a key used twice
/// by mistake does not repeat nonces.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct FileNonce([u8; FILE_NONCE_LEN]);

impl FileNonce {
    /// The nonce with these (random) bytes.
    pub const fn from_bytes(bytes: [u8; FILE_NONCE_LEN]) -> Self {
        FileNonce(bytes)
    }

    /// The nonce's bytes.
    pub const fn as_bytes(&self) -> &[u8; FILE_NONCE_LEN] {
        &self.0
    }
}

impl fmt::Debug for FileNonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FileNonce(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subkeys_differ_and_nothing_prints() {
        let key = FileKey::from_bytes([7; 32]);
        assert_ne!(key.stream_key(), key.filler_seed());
        assert_ne!(key.stream_key(), [7; 32]);
        assert_ne!(key.stream_key(), [0; 32]);
        assert_eq!(format!("{key:?}"), "FileKey(..)");
        assert_eq!(
            format!("{:?}", FileNonce::from_bytes([1; 19])),
            "FileNonce(..)"
        );
    }
}
