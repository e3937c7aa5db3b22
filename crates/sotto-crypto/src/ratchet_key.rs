//! A party's ratchet key pair: one X25519 key and one ML-KEM-768 key, always renewed
//! together, so that every DH ratchet step is also a KEM step.

use std::sync::OnceLock;

use crate::Error;
use crate::codec::Entropy;
use crate::primitives::kem::{KemKeyPair, KemPublicKey};
use crate::primitives::x25519::{X25519Public, X25519Secret};

/// Randomness consumed to generate one ratchet key pair.
pub(crate) const RATCHET_KEY_RANDOMNESS_LEN: usize = 32 + 64;

/// Our current ratchet key pair (secrets zeroized on drop).
#[derive(Clone, Debug)]
pub(crate) struct RatchetKeyPair {
    pub(crate) dh: X25519Secret,
    pub(crate) kem: KemKeyPair,
    /// Every header carries the X25519 public key: computing it is a base-point
    /// multiplication, so it is done once per key pair, not once per message,
    /// and only when a header needs it: a session restored from its pickle to
    /// decrypt (every message received) never does.
    public_dh: OnceLock<X25519Public>,
}

impl RatchetKeyPair {
    pub(crate) fn new(dh: X25519Secret, kem: KemKeyPair) -> Self {
        Self {
            dh,
            kem,
            public_dh: OnceLock::new(),
        }
    }

    pub(crate) fn generate(entropy: &mut Entropy<'_>) -> Result<Self, Error> {
        let dh = X25519Secret::from_bytes(&*entropy.take::<32>()?);
        let kem = KemKeyPair::generate(&*entropy.take::<64>()?);
        Ok(Self::new(dh, kem))
    }

    pub(crate) fn public_dh(&self) -> X25519Public {
        *self.public_dh.get_or_init(|| self.dh.public_key())
    }
}

/// The peer's current ratchet public keys, as read from its latest chain's headers.
#[derive(Clone, Debug)]
pub(crate) struct PeerRatchetKey {
    pub(crate) dh: X25519Public,
    pub(crate) kem: KemPublicKey,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_may_be_shared_between_threads() {
        // The fuzz targets keep sessions in statics; runtimes move them.
        fn shared<T: Send + Sync>() {}
        shared::<crate::Session>();
    }

    #[test]
    fn cached_public_key_matches_the_secret() {
        let randomness = [9u8; RATCHET_KEY_RANDOMNESS_LEN];
        let pair = RatchetKeyPair::generate(&mut Entropy::new(&randomness)).unwrap();
        assert_eq!(pair.public_dh(), pair.dh.public_key());
        let rebuilt = RatchetKeyPair::new(pair.dh.clone(), pair.kem.clone());
        assert_eq!(rebuilt.public_dh(), pair.public_dh());
    }
}
