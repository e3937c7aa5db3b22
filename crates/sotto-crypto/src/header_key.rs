//! Header keys: encrypt the ratchet header so a relay sees no key, counter or length.

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::Error;
use crate::primitives::aead::{self, AEAD_NONCE_LEN, AEAD_TAG_LEN};

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

    /// Encrypts a header in place and returns its tag. Header keys are reused within a
    /// chain, so every header gets a fresh random nonce.
    pub(crate) fn seal(
        &self,
        nonce: &[u8; AEAD_NONCE_LEN],
        associated_data: &[u8],
        header: &mut [u8],
    ) -> Result<[u8; AEAD_TAG_LEN], Error> {
        aead::seal_in_place(&self.0, nonce, associated_data, header)
    }

    /// Authenticates and decrypts a header in place; `false` if this key does not open it.
    pub(crate) fn open(
        &self,
        nonce: &[u8; AEAD_NONCE_LEN],
        associated_data: &[u8],
        header: &mut [u8],
        tag: &[u8; AEAD_TAG_LEN],
    ) -> bool {
        aead::open_in_place(&self.0, nonce, associated_data, header, tag).is_ok()
    }
}

impl core::fmt::Debug for HeaderKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("HeaderKey(<redacted>)")
    }
}
