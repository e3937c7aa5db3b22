//! The relay's long-term Ed25519 identity.

use std::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use zeroize::{Zeroize, Zeroizing};

use crate::address::RelayFingerprint;

/// A relay's long-term identity key; its fingerprint is in the relay's address.
/// Zeroized on drop; `Debug` prints the fingerprint only.
pub struct RelayIdentity {
    signing_key: SigningKey,
}

impl RelayIdentity {
    /// The identity with this 32-byte Ed25519 secret (drawn at random on the
    /// relay's first start, then loaded from its data directory).
    pub fn from_secret_bytes(secret: [u8; 32]) -> RelayIdentity {
        let mut secret = secret;
        let signing_key = SigningKey::from_bytes(&secret);
        secret.zeroize();
        RelayIdentity { signing_key }
    }

    /// The secret bytes, to store. Keep them away from logs.
    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.signing_key.to_bytes())
    }

    /// The public identity key.
    pub fn public_key(&self) -> VerifyingKey {
        self.signing_key.verifying_key()
    }

    /// The fingerprint clients pin in the relay's address.
    pub fn fingerprint(&self) -> RelayFingerprint {
        RelayFingerprint::of(&self.public_key())
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Signature {
        self.signing_key.sign(message)
    }
}

impl fmt::Debug for RelayIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RelayIdentity")
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_round_trips_and_does_not_print() {
        let identity = RelayIdentity::from_secret_bytes([0x5a; 32]);
        assert_eq!(*identity.secret_bytes(), [0x5a; 32]);
        let debug = format!("{identity:?}");
        assert!(debug.contains(&identity.fingerprint().to_string()));
        assert!(!debug.contains("90, 90"));
        assert!(!debug.to_lowercase().contains("5a5a"));
    }
}
