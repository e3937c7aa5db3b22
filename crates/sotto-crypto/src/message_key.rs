//! One-time message keys and the body encryption they drive.

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::Error;
use crate::primitives::aead::{self, AEAD_KEY_LEN, AEAD_NONCE_LEN, AEAD_TAG_LEN};
use crate::primitives::kdf::{hkdf, label};

/// A message key: used for exactly one message body, then erased.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct MessageKey([u8; 32]);

impl MessageKey {
    pub(crate) fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub(crate) fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// HKDF(salt = header nonce, ikm = message key, info = "Sotto v1 message") gives the
    /// AEAD key and nonce. Salting with the header's random nonce keeps key and nonce
    /// fresh even if a state rolled back (a crash before saving) reuses a message key.
    fn expand(
        &self,
        header_nonce: &[u8; AEAD_NONCE_LEN],
    ) -> (Zeroizing<[u8; AEAD_KEY_LEN]>, [u8; AEAD_NONCE_LEN]) {
        let okm = hkdf::<{ AEAD_KEY_LEN + AEAD_NONCE_LEN }>(header_nonce, &self.0, label::MESSAGE);
        let mut key = Zeroizing::new([0u8; AEAD_KEY_LEN]);
        let mut nonce = [0u8; AEAD_NONCE_LEN];
        let (key_part, nonce_part) = okm.split_at(AEAD_KEY_LEN);
        key.copy_from_slice(key_part);
        nonce.copy_from_slice(nonce_part);
        (key, nonce)
    }

    /// Encrypts a padded body in place and returns its tag.
    pub(crate) fn seal(
        &self,
        header_nonce: &[u8; AEAD_NONCE_LEN],
        associated_data: &[u8],
        body: &mut [u8],
    ) -> Result<[u8; AEAD_TAG_LEN], Error> {
        let (key, nonce) = self.expand(header_nonce);
        aead::seal_in_place(&key, &nonce, associated_data, body)
    }

    /// Authenticates and decrypts a body in place.
    pub(crate) fn open(
        &self,
        header_nonce: &[u8; AEAD_NONCE_LEN],
        associated_data: &[u8],
        body: &mut [u8],
        tag: &[u8; AEAD_TAG_LEN],
    ) -> Result<(), Error> {
        let (key, nonce) = self.expand(header_nonce);
        aead::open_in_place(&key, &nonce, associated_data, body, tag)
    }
}

impl core::fmt::Debug for MessageKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("MessageKey(<redacted>)")
    }
}
