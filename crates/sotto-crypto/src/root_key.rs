//! The root key and its KDF step, which mixes one X25519 output and one ML-KEM secret.

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::chain_key::ChainKey;
use crate::header_key::HeaderKey;
use crate::primitives::kdf::{hkdf, label};
use crate::primitives::kem::KemSharedSecret;
use crate::primitives::x25519::DhSecret;

/// The root key of the double ratchet.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct RootKey([u8; 32]);

impl RootKey {
    pub(crate) fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub(crate) fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// KDF_RK: HKDF(salt = root key, ikm = DH output || KEM secret, info = "Sotto v1 root")
    /// split into (next root key, chain key, next header key).
    pub(crate) fn advance(
        &self,
        dh: &DhSecret,
        kem: &KemSharedSecret,
    ) -> (RootKey, ChainKey, HeaderKey) {
        let mut ikm = Zeroizing::new([0u8; 64]);
        ikm[..32].copy_from_slice(dh.as_bytes());
        ikm[32..].copy_from_slice(kem.as_bytes());
        let okm = hkdf::<96>(&self.0, ikm.as_ref(), label::ROOT);
        (
            RootKey(split::<0>(&okm)),
            ChainKey::new(split::<32>(&okm)),
            HeaderKey::new(split::<64>(&okm)),
        )
    }
}

/// Copies the 32 bytes at `AT` out of a 96-byte KDF output.
pub(crate) fn split<const AT: usize>(okm: &[u8; 96]) -> [u8; 32] {
    let mut out = [0u8; 32];
    if let Some(part) = okm.get(AT..AT + 32) {
        out.copy_from_slice(part);
    }
    out
}

impl core::fmt::Debug for RootKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("RootKey(<redacted>)")
    }
}
