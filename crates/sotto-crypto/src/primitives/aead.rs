//! XChaCha20-Poly1305, the one AEAD of the protocol.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::Error;

/// Key length.
pub(crate) const AEAD_KEY_LEN: usize = 32;
/// Nonce length (XChaCha20: 192 bits, safe to pick at random).
pub(crate) const AEAD_NONCE_LEN: usize = 24;
/// Poly1305 tag length.
pub(crate) const AEAD_TAG_LEN: usize = 16;

/// Encrypts `plaintext`, returning ciphertext with the tag appended.
pub(crate) fn seal(
    key: &[u8; AEAD_KEY_LEN],
    nonce: &[u8; AEAD_NONCE_LEN],
    associated_data: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, Error> {
    XChaCha20Poly1305::new(key.into())
        .encrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: plaintext,
                aad: associated_data,
            },
        )
        // Only reachable for plaintexts beyond 256 GiB, which no caller can build.
        .map_err(|_| Error::Malformed("plaintext"))
}

/// Decrypts and authenticates; any failure is `AuthenticationFailed`.
pub(crate) fn open(
    key: &[u8; AEAD_KEY_LEN],
    nonce: &[u8; AEAD_NONCE_LEN],
    associated_data: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Error> {
    XChaCha20Poly1305::new(key.into())
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: associated_data,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| Error::AuthenticationFailed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let key = [1; 32];
        let nonce = [2; 24];
        let mut sealed = seal(&key, &nonce, b"ad", b"hello").unwrap();
        assert_eq!(sealed.len(), 5 + AEAD_TAG_LEN);
        assert_eq!(&open(&key, &nonce, b"ad", &sealed).unwrap()[..], b"hello");
        assert_eq!(
            open(&key, &nonce, b"da", &sealed).err(),
            Some(Error::AuthenticationFailed)
        );
        sealed[0] ^= 1;
        assert!(open(&key, &nonce, b"ad", &sealed).is_err());
    }
}
