//! XChaCha20-Poly1305, the one AEAD of the protocol.

use chacha20poly1305::aead::{Aead, AeadInPlace, KeyInit, Payload};
use chacha20poly1305::{Tag, XChaCha20Poly1305, XNonce};
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

/// Encrypts `buffer` in place and returns the tag: for fixed layouts that reserve the
/// ciphertext's place in the output and put the tag after it (no copy of the plaintext).
pub(crate) fn seal_in_place(
    key: &[u8; AEAD_KEY_LEN],
    nonce: &[u8; AEAD_NONCE_LEN],
    associated_data: &[u8],
    buffer: &mut [u8],
) -> Result<[u8; AEAD_TAG_LEN], Error> {
    XChaCha20Poly1305::new(key.into())
        .encrypt_in_place_detached(XNonce::from_slice(nonce), associated_data, buffer)
        .map(Into::into)
        // Only reachable for plaintexts beyond 256 GiB, which no caller can build.
        .map_err(|_| Error::Malformed("plaintext"))
}

/// Authenticates `buffer` with `tag`, then decrypts it in place. On failure the contents
/// of `buffer` are unspecified (callers re-copy before trying another key).
pub(crate) fn open_in_place(
    key: &[u8; AEAD_KEY_LEN],
    nonce: &[u8; AEAD_NONCE_LEN],
    associated_data: &[u8],
    buffer: &mut [u8],
    tag: &[u8; AEAD_TAG_LEN],
) -> Result<(), Error> {
    XChaCha20Poly1305::new(key.into())
        .decrypt_in_place_detached(
            XNonce::from_slice(nonce),
            associated_data,
            buffer,
            Tag::from_slice(tag),
        )
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

    #[test]
    fn in_place_matches_the_appended_form() {
        let key = [3; 32];
        let nonce = [4; 24];
        let sealed = seal(&key, &nonce, b"ad", b"hello").unwrap();
        let mut buffer = *b"hello";
        let tag = seal_in_place(&key, &nonce, b"ad", &mut buffer).unwrap();
        assert_eq!([&buffer[..], &tag[..]].concat(), sealed);
        let mut forged = buffer;
        forged[4] ^= 1;
        assert_eq!(
            open_in_place(&key, &nonce, b"ad", &mut forged, &tag),
            Err(Error::AuthenticationFailed)
        );
        open_in_place(&key, &nonce, b"ad", &mut buffer, &tag).unwrap();
        assert_eq!(&buffer, b"hello");
    }
}
