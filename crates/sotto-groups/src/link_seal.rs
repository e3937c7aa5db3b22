//! Sealing to a group link's key: HPKE (RFC 9180) in base mode with the
//! ciphersuite's KEM, KDF and AEAD (X-Wing, HKDF-SHA256, ChaCha20-Poly1305),
//! through the MLS provider's HPKE. A request to join a group through its
//! link is sealed to the link's public key, so only the client that made the
//! link opens it.
//!
//! ```text
//! sealed = kem output (LINK_KEM_OUTPUT_LEN) || HPKE ciphertext (plaintext + 16)
//! ```

use openmls_libcrux_crypto::CryptoProvider;
use openmls_traits::crypto::OpenMlsCrypto;
use openmls_traits::random::OpenMlsRand;
use openmls_traits::types::HpkeCiphertext;
use zeroize::Zeroizing;

use crate::{CIPHERSUITE, Error};

/// Length of a link's public key (an X-Wing encapsulation key).
pub const LINK_PUBLIC_KEY_LEN: usize = 1216;
/// Length of the KEM output at the start of a sealed message.
pub const LINK_KEM_OUTPUT_LEN: usize = 1120;
/// Longest secret key a link keeps (an X-Wing decapsulation key or its seed).
pub const MAX_LINK_SECRET_KEY_LEN: usize = 4096;
/// Bytes the seal adds to its plaintext.
pub const LINK_SEAL_OVERHEAD: usize = LINK_KEM_OUTPUT_LEN + 16;

/// A link's key pair: the secret stays with the client that made the link.
pub struct LinkKeyPair {
    secret: Zeroizing<Vec<u8>>,
    public: Vec<u8>,
}

impl LinkKeyPair {
    /// A fresh key pair from the provider's random generator.
    pub fn generate() -> Result<Self, Error> {
        let crypto = provider()?;
        let ikm: Zeroizing<[u8; 32]> = Zeroizing::new(
            crypto
                .random_array()
                .map_err(|_| Error::Local("randomness"))?,
        );
        let pair = crypto
            .derive_hpke_keypair(CIPHERSUITE.hpke_config(), ikm.as_ref())
            .map_err(|_| Error::Local("link key pair"))?;
        if pair.public.len() != LINK_PUBLIC_KEY_LEN
            || pair.private.as_ref().len() > MAX_LINK_SECRET_KEY_LEN
        {
            return Err(Error::Local("link key pair"));
        }
        Ok(Self {
            secret: Zeroizing::new(pair.private.as_ref().to_vec()),
            public: pair.public,
        })
    }

    /// A key pair as [`LinkKeyPair::secret`] and [`LinkKeyPair::public`]
    /// stored it.
    pub fn from_parts(secret: &[u8], public: &[u8]) -> Result<Self, Error> {
        if public.len() != LINK_PUBLIC_KEY_LEN || secret.len() > MAX_LINK_SECRET_KEY_LEN {
            return Err(Error::Malformed("link key pair"));
        }
        Ok(Self {
            secret: Zeroizing::new(secret.to_vec()),
            public: public.to_vec(),
        })
    }

    /// The secret key, to store (encrypted with the profile).
    pub fn secret(&self) -> &[u8] {
        &self.secret
    }

    /// The public key, which the link carries.
    pub fn public(&self) -> &[u8] {
        &self.public
    }

    /// Opens what [`seal_to_link`] sealed to this pair's public key with the
    /// same `info`.
    pub fn open(&self, info: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
        if sealed.len() < LINK_SEAL_OVERHEAD {
            return Err(Error::Malformed("sealed link message"));
        }
        let (kem_output, ciphertext) = sealed.split_at(LINK_KEM_OUTPUT_LEN);
        let input = HpkeCiphertext {
            kem_output: kem_output.to_vec().into(),
            ciphertext: ciphertext.to_vec().into(),
        };
        provider()?
            .hpke_open(CIPHERSUITE.hpke_config(), &input, &self.secret, info, &[])
            .map(Zeroizing::new)
            .map_err(|_| Error::Rejected("sealed link message"))
    }
}

impl std::fmt::Debug for LinkKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKeyPair(..)")
    }
}

/// Seals `plaintext` to a link's public key, bound to `info`.
pub fn seal_to_link(public: &[u8], info: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Error> {
    if public.len() != LINK_PUBLIC_KEY_LEN {
        return Err(Error::Malformed("link public key"));
    }
    let sealed = provider()?
        .hpke_seal(CIPHERSUITE.hpke_config(), public, info, &[], plaintext)
        .map_err(|_| Error::Rejected("link public key"))?;
    let kem_output = sealed.kem_output.as_slice();
    if kem_output.len() != LINK_KEM_OUTPUT_LEN {
        return Err(Error::Local("link seal"));
    }
    let mut out = Vec::with_capacity(kem_output.len() + sealed.ciphertext.as_slice().len());
    out.extend_from_slice(kem_output);
    out.extend_from_slice(sealed.ciphertext.as_slice());
    Ok(out)
}

fn provider() -> Result<CryptoProvider, Error> {
    CryptoProvider::new().map_err(|_| Error::Local("random generator"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_opens_with_its_key_and_info_only() {
        let pair = LinkKeyPair::generate().unwrap();
        let sealed = seal_to_link(pair.public(), b"info", b"hello").unwrap();
        assert_eq!(sealed.len(), LINK_SEAL_OVERHEAD + 5);
        assert_eq!(pair.open(b"info", &sealed).unwrap().as_slice(), b"hello");
        assert!(pair.open(b"other", &sealed).is_err());
        let other = LinkKeyPair::generate().unwrap();
        assert!(other.open(b"info", &sealed).is_err());
        let stored = LinkKeyPair::from_parts(pair.secret(), pair.public()).unwrap();
        assert_eq!(stored.open(b"info", &sealed).unwrap().as_slice(), b"hello");
        let mut damaged = sealed.clone();
        damaged[LINK_KEM_OUTPUT_LEN + 1] ^= 1;
        assert!(pair.open(b"info", &damaged).is_err());
        assert!(pair.open(b"info", &sealed[..100]).is_err());
        assert_eq!(format!("{pair:?}"), "LinkKeyPair(..)");
    }

    #[test]
    fn a_key_that_is_no_encapsulation_key_takes_no_seal() {
        assert!(seal_to_link(&[0xff; LINK_PUBLIC_KEY_LEN], b"info", b"hello").is_err());
        assert!(seal_to_link(&[1; 100], b"info", b"hello").is_err());
    }
}
