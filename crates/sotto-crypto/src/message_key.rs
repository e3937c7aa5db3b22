//! One-time message keys and the payload encryption they drive.

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::Error;
use crate::codec::{MESSAGE_VERSION, MESSAGE_VERSION_1};
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

    /// HKDF(salt = header nonce, ikm = message key, info = "Sotto v2 payload", or
    /// "Sotto v1 message" for a version-1 body) gives the AEAD key and nonce. Salting with
    /// the header's random nonce keeps key and nonce fresh even if a state rolled back (a
    /// crash before saving) reuses a message key.
    fn expand(
        &self,
        header_nonce: &[u8; AEAD_NONCE_LEN],
        version: u8,
    ) -> (Zeroizing<[u8; AEAD_KEY_LEN]>, [u8; AEAD_NONCE_LEN]) {
        let info = if version == MESSAGE_VERSION_1 {
            label::MESSAGE
        } else {
            label::PAYLOAD
        };
        let okm = hkdf::<{ AEAD_KEY_LEN + AEAD_NONCE_LEN }>(header_nonce, &self.0, info);
        let mut key = Zeroizing::new([0u8; AEAD_KEY_LEN]);
        let mut nonce = [0u8; AEAD_NONCE_LEN];
        let (key_part, nonce_part) = okm.split_at(AEAD_KEY_LEN);
        key.copy_from_slice(key_part);
        nonce.copy_from_slice(nonce_part);
        (key, nonce)
    }

    /// Encrypts a version-2 payload in place and returns its tag.
    pub(crate) fn seal(
        &self,
        header_nonce: &[u8; AEAD_NONCE_LEN],
        associated_data: &[u8],
        body: &mut [u8],
    ) -> Result<[u8; AEAD_TAG_LEN], Error> {
        let (key, nonce) = self.expand(header_nonce, MESSAGE_VERSION);
        aead::seal_in_place(&key, &nonce, associated_data, body)
    }

    /// Authenticates and decrypts a payload (or version-1 body) in place.
    pub(crate) fn open(
        &self,
        version: u8,
        header_nonce: &[u8; AEAD_NONCE_LEN],
        associated_data: &[u8],
        body: &mut [u8],
        tag: &[u8; AEAD_TAG_LEN],
    ) -> Result<(), Error> {
        let (key, nonce) = self.expand(header_nonce, version);
        aead::open_in_place(&key, &nonce, associated_data, body, tag)
    }
}

impl core::fmt::Debug for MessageKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("MessageKey(<redacted>)")
    }
}
