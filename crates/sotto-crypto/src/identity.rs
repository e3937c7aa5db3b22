//! Long-term identity keys: what a contact verifies with the security code.

use crate::primitives::x25519::{X25519_LEN, X25519Public, X25519Secret};

/// Length of an encoded identity public key.
pub const IDENTITY_KEY_LEN: usize = X25519_LEN;

/// A user's long-term X25519 identity key pair. The secret is zeroized on drop.
#[derive(Clone)]
pub struct IdentityKeyPair {
    secret: X25519Secret,
}

impl IdentityKeyPair {
    /// Builds the key pair from 32 random bytes supplied by the caller.
    pub fn from_secret_bytes(secret: &[u8; IDENTITY_KEY_LEN]) -> Self {
        Self {
            secret: X25519Secret::from_bytes(secret),
        }
    }

    /// The secret key, for the caller's encrypted storage.
    pub fn to_secret_bytes(&self) -> zeroize::Zeroizing<[u8; IDENTITY_KEY_LEN]> {
        self.secret.to_bytes()
    }

    /// The public half, shared with contacts.
    pub fn public_key(&self) -> IdentityPublicKey {
        IdentityPublicKey(self.secret.public_key())
    }

    pub(crate) fn secret(&self) -> &X25519Secret {
        &self.secret
    }
}

impl core::fmt::Debug for IdentityKeyPair {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IdentityKeyPair")
            .field("public", &self.public_key())
            .finish_non_exhaustive()
    }
}

/// A contact's long-term identity public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct IdentityPublicKey(pub(crate) X25519Public);

impl IdentityPublicKey {
    /// Wraps 32 encoded bytes. Low-order keys are rejected when first used in an agreement.
    pub fn from_bytes(bytes: &[u8; IDENTITY_KEY_LEN]) -> Self {
        Self(X25519Public(*bytes))
    }

    /// The encoded key.
    pub fn to_bytes(&self) -> [u8; IDENTITY_KEY_LEN] {
        self.0.0
    }
}
