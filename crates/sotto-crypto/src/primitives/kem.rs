//! ML-KEM-768 (FIPS 203) from `libcrux-ml-kem`, with zeroized secret keys.

use libcrux_ml_kem::mlkem768;
use zeroize::{Zeroize, Zeroizing};

use crate::Error;

/// Length of an ML-KEM-768 encapsulation (public) key.
pub(crate) const KEM_PUBLIC_KEY_LEN: usize = 1184;
/// Length of an ML-KEM-768 ciphertext.
pub(crate) const KEM_CIPHERTEXT_LEN: usize = 1088;
/// Length of an ML-KEM-768 decapsulation (secret) key.
pub(crate) const KEM_SECRET_KEY_LEN: usize = 2400;
/// Randomness consumed by key generation (d || z).
pub(crate) const KEM_KEYGEN_RANDOMNESS_LEN: usize = 64;
/// Randomness consumed by encapsulation (m).
pub(crate) const KEM_ENCAPS_RANDOMNESS_LEN: usize = 32;

/// Where the encapsulation key sits inside a FIPS 203 decapsulation key
/// (dk = dk_PKE || ek || H(ek) || z, dk_PKE being 1152 bytes for ML-KEM-768).
const EK_OFFSET_IN_DK: usize = 1152;

/// An ML-KEM-768 key pair. The secret key is zeroized on drop.
pub(crate) struct KemKeyPair {
    secret: Box<Zeroizing<[u8; KEM_SECRET_KEY_LEN]>>,
    public: KemPublicKey,
}

impl KemKeyPair {
    /// Deterministic key generation from 64 caller-supplied random bytes.
    pub(crate) fn generate(randomness: &[u8; KEM_KEYGEN_RANDOMNESS_LEN]) -> Self {
        let (mut secret_key, public_key) = mlkem768::generate_key_pair(*randomness).into_parts();
        let secret = Box::new(Zeroizing::new(*secret_key.as_slice()));
        secret_key[0..].zeroize();
        Self {
            secret,
            public: KemPublicKey(Box::new(*public_key.as_slice())),
        }
    }

    /// Restores a key pair from its decapsulation key, re-checking the public half.
    pub(crate) fn from_secret_bytes(bytes: &[u8; KEM_SECRET_KEY_LEN]) -> Result<Self, Error> {
        let secret = Box::new(Zeroizing::new(*bytes));
        let public_bytes = secret
            .get(EK_OFFSET_IN_DK..EK_OFFSET_IN_DK + KEM_PUBLIC_KEY_LEN)
            .and_then(|slice| <&[u8; KEM_PUBLIC_KEY_LEN]>::try_from(slice).ok())
            .ok_or(Error::Malformed("ML-KEM secret key"))?;
        let public = KemPublicKey::from_bytes(public_bytes)?;
        Ok(Self { secret, public })
    }

    pub(crate) fn secret_bytes(&self) -> &[u8; KEM_SECRET_KEY_LEN] {
        &self.secret
    }

    pub(crate) fn public_key(&self) -> &KemPublicKey {
        &self.public
    }

    /// Decapsulates. ML-KEM's implicit rejection turns a forged ciphertext into an
    /// unrelated secret, which then fails authentication downstream.
    pub(crate) fn decapsulate(&self, ciphertext: &[u8; KEM_CIPHERTEXT_LEN]) -> KemSharedSecret {
        let mut secret_key = mlkem768::MlKem768PrivateKey::from(&**self.secret);
        let ciphertext = mlkem768::MlKem768Ciphertext::from(ciphertext);
        let shared = KemSharedSecret(Zeroizing::new(mlkem768::decapsulate(
            &secret_key,
            &ciphertext,
        )));
        secret_key[0..].zeroize();
        shared
    }
}

impl Clone for KemKeyPair {
    fn clone(&self) -> Self {
        Self {
            secret: self.secret.clone(),
            public: self.public.clone(),
        }
    }
}

impl core::fmt::Debug for KemKeyPair {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KemKeyPair")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// A validated ML-KEM-768 encapsulation key.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct KemPublicKey(Box<[u8; KEM_PUBLIC_KEY_LEN]>);

impl KemPublicKey {
    /// Parses and runs the FIPS 203 encapsulation-key check.
    pub(crate) fn from_bytes(bytes: &[u8; KEM_PUBLIC_KEY_LEN]) -> Result<Self, Error> {
        if !mlkem768::validate_public_key(&mlkem768::MlKem768PublicKey::from(bytes)) {
            return Err(Error::InvalidKemKey);
        }
        Ok(Self(Box::new(*bytes)))
    }

    pub(crate) fn as_bytes(&self) -> &[u8; KEM_PUBLIC_KEY_LEN] {
        &self.0
    }

    /// Encapsulates to this key with 32 caller-supplied random bytes.
    pub(crate) fn encapsulate(
        &self,
        randomness: &[u8; KEM_ENCAPS_RANDOMNESS_LEN],
    ) -> (KemCiphertext, KemSharedSecret) {
        let public = mlkem768::MlKem768PublicKey::from(&*self.0);
        let (ciphertext, shared) = mlkem768::encapsulate(&public, *randomness);
        (
            KemCiphertext(Box::new(*ciphertext.as_slice())),
            KemSharedSecret(Zeroizing::new(shared)),
        )
    }
}

impl core::fmt::Debug for KemPublicKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "KemPublicKey({:02x}{:02x}…)", self.0[0], self.0[1])
    }
}

/// An ML-KEM-768 ciphertext.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct KemCiphertext(pub(crate) Box<[u8; KEM_CIPHERTEXT_LEN]>);

impl core::fmt::Debug for KemCiphertext {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "KemCiphertext({:02x}{:02x}…)", self.0[0], self.0[1])
    }
}

/// The 32-byte shared secret of one encapsulation.
pub(crate) struct KemSharedSecret(Zeroizing<[u8; 32]>);

impl KemSharedSecret {
    pub(crate) fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encapsulation_round_trip() {
        let pair = KemKeyPair::generate(&[4; 64]);
        let public = KemPublicKey::from_bytes(pair.public_key().as_bytes()).unwrap();
        let (ciphertext, sent) = public.encapsulate(&[5; 32]);
        assert_eq!(pair.decapsulate(&ciphertext.0).as_bytes(), sent.as_bytes());
    }

    #[test]
    fn secret_bytes_restore_the_pair() {
        let pair = KemKeyPair::generate(&[6; 64]);
        let restored = KemKeyPair::from_secret_bytes(pair.secret_bytes()).unwrap();
        assert_eq!(restored.public_key(), pair.public_key());
    }

    #[test]
    fn out_of_range_coefficients_are_rejected() {
        assert_eq!(
            KemPublicKey::from_bytes(&[0xff; KEM_PUBLIC_KEY_LEN]).err(),
            Some(Error::InvalidKemKey)
        );
    }

    #[test]
    fn forged_ciphertext_gives_another_secret() {
        let pair = KemKeyPair::generate(&[7; 64]);
        let (mut ciphertext, sent) = pair.public_key().encapsulate(&[8; 32]);
        ciphertext.0[0] ^= 1;
        assert_ne!(pair.decapsulate(&ciphertext.0).as_bytes(), sent.as_bytes());
    }
}
