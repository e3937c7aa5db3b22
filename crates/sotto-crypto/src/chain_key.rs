//! The symmetric-key ratchet: a chain key yields one message key per step.

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::message_key::MessageKey;
use crate::primitives::kdf::hmac_pair;

/// HMAC input byte that derives a message key.
const MESSAGE_KEY_SEED: u8 = 0x01;
/// HMAC input byte that derives the next chain key.
const CHAIN_KEY_SEED: u8 = 0x02;

/// A sending or receiving chain key.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct ChainKey([u8; 32]);

impl ChainKey {
    pub(crate) fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub(crate) fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// KDF_CK: message key = HMAC(ck, 0x01), next chain key = HMAC(ck, 0x02).
    pub(crate) fn step(&self) -> (MessageKey, ChainKey) {
        let [message_key, next] = hmac_pair(&self.0, [MESSAGE_KEY_SEED, CHAIN_KEY_SEED]);
        (MessageKey::new(*message_key), ChainKey(*next))
    }
}

impl core::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ChainKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_deterministic_and_distinct() {
        let chain = ChainKey::new([1; 32]);
        let (first, next) = chain.step();
        let (again, _) = ChainKey::new([1; 32]).step();
        assert_eq!(first.as_bytes(), again.as_bytes());
        assert_ne!(next.as_bytes(), chain.as_bytes());
        assert_ne!(first.as_bytes(), next.as_bytes());
    }
}
