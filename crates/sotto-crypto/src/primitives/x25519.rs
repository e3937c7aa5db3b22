//! X25519 with low-order rejection.

use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::Error;

/// Length of an X25519 public key, secret key and shared secret.
pub(crate) const X25519_LEN: usize = 32;

/// An X25519 secret key; zeroized on drop by `x25519-dalek`.
#[derive(Clone)]
pub(crate) struct X25519Secret(StaticSecret);

impl X25519Secret {
    /// Builds a secret from 32 uniformly random bytes (clamping happens inside).
    pub(crate) fn from_bytes(bytes: &[u8; X25519_LEN]) -> Self {
        Self(StaticSecret::from(*bytes))
    }

    pub(crate) fn to_bytes(&self) -> Zeroizing<[u8; X25519_LEN]> {
        Zeroizing::new(self.0.to_bytes())
    }

    pub(crate) fn public_key(&self) -> X25519Public {
        X25519Public(PublicKey::from(&self.0).to_bytes())
    }

    /// Diffie-Hellman; a non-contributory (low-order) result is an error, never a key.
    pub(crate) fn diffie_hellman(&self, public: &X25519Public) -> Result<DhSecret, Error> {
        let shared = self.0.diffie_hellman(&PublicKey::from(public.0));
        if !shared.was_contributory() {
            return Err(Error::LowOrderPublicKey);
        }
        Ok(DhSecret(Zeroizing::new(shared.to_bytes())))
    }
}

impl core::fmt::Debug for X25519Secret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("X25519Secret").field(&"<redacted>").finish()
    }
}

/// An X25519 public key as sent on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct X25519Public(pub(crate) [u8; X25519_LEN]);

impl core::fmt::Debug for X25519Public {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "X25519Public(")?;
        for byte in &self.0[..4] {
            write!(f, "{byte:02x}")?;
        }
        write!(f, "…)")
    }
}

/// The output of one X25519 agreement, checked to be contributory.
pub(crate) struct DhSecret(Zeroizing<[u8; X25519_LEN]>);

impl DhSecret {
    pub(crate) fn as_bytes(&self) -> &[u8; X25519_LEN] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agreement_is_symmetric() {
        let a = X25519Secret::from_bytes(&[1; 32]);
        let b = X25519Secret::from_bytes(&[2; 32]);
        let ab = a.diffie_hellman(&b.public_key()).unwrap();
        let ba = b.diffie_hellman(&a.public_key()).unwrap();
        assert_eq!(ab.as_bytes(), ba.as_bytes());
    }

    #[test]
    fn low_order_points_are_rejected() {
        let secret = X25519Secret::from_bytes(&[9; 32]);
        let mut one = [0u8; 32];
        one[0] = 1;
        for point in [[0u8; 32], one] {
            assert_eq!(
                secret.diffie_hellman(&X25519Public(point)).err(),
                Some(Error::LowOrderPublicKey)
            );
        }
    }

    #[test]
    fn debug_redacts_the_secret() {
        let secret = X25519Secret::from_bytes(&[0xab; 32]);
        let printed = format!("{secret:?}");
        assert!(!printed.contains("ab, ab") && !printed.contains("171"));
    }
}
