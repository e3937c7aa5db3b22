//! Sealing and opening the archive's chunks: STREAM-style XChaCha20-Poly1305 with
//! a counter in the nonce and the final-chunk flag in the associated data.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use super::ArchiveError;
use super::header::{Header, NONCE_PREFIX_LEN};

/// Plaintext bytes in every chunk but the last.
pub(super) const CHUNK_LEN: usize = 64 * 1024;
/// Poly1305 tag length.
pub(super) const TAG_LEN: usize = 16;
/// A chunk's frame before its ciphertext: final flag (1) and sealed length (4).
pub(super) const FRAME_HEADER_LEN: usize = 5;
/// The largest sealed chunk a reader accepts.
pub(super) const MAX_SEALED_LEN: usize = CHUNK_LEN + TAG_LEN;

/// Flag byte of a chunk that more chunks follow.
pub(super) const MORE: u8 = 0x00;
/// Flag byte of the last chunk.
pub(super) const FINAL: u8 = 0x01;

/// The keys and position of one archive's chunk sequence.
pub(super) struct ChunkCipher {
    cipher: XChaCha20Poly1305,
    nonce_prefix: [u8; NONCE_PREFIX_LEN],
    header_hash: [u8; 32],
    counter: u64,
}

impl ChunkCipher {
    pub(super) fn new(header: &Header) -> ChunkCipher {
        ChunkCipher {
            cipher: XChaCha20Poly1305::new(Key::from_slice(header.chunk_key.as_slice())),
            nonce_prefix: header.nonce_prefix,
            header_hash: header.hash,
            counter: 0,
        }
    }

    /// The number of the next chunk.
    pub(super) fn counter(&self) -> u64 {
        self.counter
    }

    /// Seals the next chunk and frames it: `flag || sealed length || sealed`.
    pub(super) fn seal(&mut self, plaintext: &[u8], last: bool) -> Result<Vec<u8>, ArchiveError> {
        let flag = if last { FINAL } else { MORE };
        let (nonce, aad) = self.position(flag);
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| ArchiveError::RecordTooLarge)?;
        let length = u32::try_from(sealed.len()).map_err(|_| ArchiveError::RecordTooLarge)?;
        let mut frame = Vec::with_capacity(FRAME_HEADER_LEN + sealed.len());
        frame.push(flag);
        frame.extend_from_slice(&length.to_be_bytes());
        frame.extend_from_slice(&sealed);
        self.advance()?;
        Ok(frame)
    }

    /// Opens the next chunk. A chunk that is not the next one, was modified, or
    /// carries the wrong final flag fails here.
    pub(super) fn open(
        &mut self,
        flag: u8,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, ArchiveError> {
        let (nonce, aad) = self.position(flag);
        let plaintext = self
            .cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| ArchiveError::Tampered(self.counter))?;
        self.advance()?;
        Ok(Zeroizing::new(plaintext))
    }

    /// Nonce `prefix || counter` and associated data `header hash || counter || flag`.
    fn position(&self, flag: u8) -> (XNonce, [u8; 41]) {
        let counter = self.counter.to_be_bytes();
        let mut nonce = XNonce::default();
        nonce[..NONCE_PREFIX_LEN].copy_from_slice(&self.nonce_prefix);
        nonce[NONCE_PREFIX_LEN..].copy_from_slice(&counter);
        let mut aad = [0u8; 41];
        aad[..32].copy_from_slice(&self.header_hash);
        aad[32..40].copy_from_slice(&counter);
        aad[40] = flag;
        (nonce, aad)
    }

    fn advance(&mut self) -> Result<(), ArchiveError> {
        self.counter = self
            .counter
            .checked_add(1)
            .ok_or(ArchiveError::Malformed("too many chunks"))?;
        Ok(())
    }
}
