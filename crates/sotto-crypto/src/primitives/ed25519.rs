//! Ed25519 signatures (strict verification), for identities that sign.

use ed25519_dalek::{Signer, SigningKey as DalekSigningKey, VerifyingKey as DalekVerifyingKey};

use crate::Error;

/// Length of an Ed25519 public key.
pub const ED25519_PUBLIC_KEY_LEN: usize = 32;
/// Length of an Ed25519 signature.
pub const ED25519_SIGNATURE_LEN: usize = 64;

/// An Ed25519 signing key; zeroized on drop by `ed25519-dalek`.
pub struct SigningKey(DalekSigningKey);

impl SigningKey {
    /// Builds a signing key from a 32-byte seed (uniformly random, from the caller).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(DalekSigningKey::from_bytes(seed))
    }

    /// The public half.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey(self.0.verifying_key())
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign(message).to_bytes())
    }
}

impl core::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SigningKey")
            .field("verifying_key", &self.verifying_key())
            .finish_non_exhaustive()
    }
}

/// An Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct VerifyingKey(DalekVerifyingKey);

impl VerifyingKey {
    /// Parses a public key; non-canonical encodings and small-order keys are rejected.
    pub fn from_bytes(bytes: &[u8; ED25519_PUBLIC_KEY_LEN]) -> Result<Self, Error> {
        let key = DalekVerifyingKey::from_bytes(bytes).map_err(|_| Error::InvalidSignature)?;
        if key.is_weak() {
            return Err(Error::InvalidSignature);
        }
        Ok(Self(key))
    }

    /// The encoded key.
    pub fn to_bytes(&self) -> [u8; ED25519_PUBLIC_KEY_LEN] {
        self.0.to_bytes()
    }

    /// Verifies with the strict rules (no malleable or small-order signatures).
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), Error> {
        let signature = ed25519_dalek::Signature::from_bytes(&signature.0);
        self.0
            .verify_strict(message, &signature)
            .map_err(|_| Error::InvalidSignature)
    }
}

impl core::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let bytes = self.0.to_bytes();
        write!(f, "VerifyingKey({:02x}{:02x}…)", bytes[0], bytes[1])
    }
}

/// An Ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature([u8; ED25519_SIGNATURE_LEN]);

impl Signature {
    /// Wraps the 64 encoded bytes (checked when verified).
    pub fn from_bytes(bytes: &[u8; ED25519_SIGNATURE_LEN]) -> Self {
        Self(*bytes)
    }

    /// The encoded signature.
    pub fn to_bytes(&self) -> [u8; ED25519_SIGNATURE_LEN] {
        self.0
    }
}

impl core::fmt::Debug for Signature {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Signature({:02x}{:02x}…)", self.0[0], self.0[1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify() {
        let key = SigningKey::from_seed(&[5; 32]);
        let signature = key.sign(b"sotto");
        let public = VerifyingKey::from_bytes(&key.verifying_key().to_bytes()).unwrap();
        assert!(public.verify(b"sotto", &signature).is_ok());
        assert_eq!(
            public.verify(b"other", &signature),
            Err(Error::InvalidSignature)
        );
    }

    #[test]
    fn debug_shows_no_seed() {
        let key = SigningKey::from_seed(&[0x5a; 32]);
        assert!(!format!("{key:?}").contains("5a5a5a"));
    }
}
