//! Header keys: encrypt the ratchet header so a relay sees no key, counter or length.

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::Error;
use crate::primitives::aead::{self, AEAD_NONCE_LEN};

/// A header key, shared by every message of one chain.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub(crate) struct HeaderKey([u8; 32]);

impl HeaderKey {
    pub(crate) fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub(crate) fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Header keys are reused within a chain, so every header gets a fresh random nonce.
    pub(crate) fn seal(
        &self,
        nonce: &[u8; AEAD_NONCE_LEN],
        associated_data: &[u8],
        header: &[u8],
    ) -> Result<Vec<u8>, Error> {
        aead::seal(&self.0, nonce, associated_data, header)
    }

    pub(crate) fn open(
        &self,
        nonce: &[u8; AEAD_NONCE_LEN],
        associated_data: &[u8],
        ciphertext: &[u8],
    ) -> Option<Zeroizing<Vec<u8>>> {
        aead::open(&self.0, nonce, associated_data, ciphertext).ok()
    }
}

impl core::fmt::Debug for HeaderKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("HeaderKey(<redacted>)")
    }
}
