//! Cipher suites: the AEAD that encrypts blocks and re-seals delivered messages.
//!
//! The client lists the suites it offers in its hello, fastest first for it; the
//! relay takes the first one it supports. AES-256-GCM runs at hardware speed
//! where the CPU has AES instructions (ring's assembly, the same code rustls
//! uses); ChaCha20-Poly1305 is the fast choice without them, as in a browser,
//! where this crate is built without ring and offers ChaCha20-Poly1305 only.

use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit, Nonce, Tag};

use crate::WireError;

/// Length of an AEAD tag, for both suites.
pub const AEAD_TAG_LEN: usize = 16;

/// An AEAD for blocks and delivered messages, negotiated in the hellos.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CipherSuite {
    /// AES-256-GCM (id 1); delivered messages use a 12-byte nonce.
    Aes256Gcm,
    /// ChaCha20-Poly1305 (id 2); delivered messages use XChaCha20-Poly1305.
    ChaCha20Poly1305,
}

impl CipherSuite {
    /// The suite's id in the hellos.
    pub const fn id(self) -> u8 {
        match self {
            CipherSuite::Aes256Gcm => 1,
            CipherSuite::ChaCha20Poly1305 => 2,
        }
    }

    /// The suite with this id, if there is one.
    pub const fn from_id(id: u8) -> Option<CipherSuite> {
        match id {
            1 => Some(CipherSuite::Aes256Gcm),
            2 => Some(CipherSuite::ChaCha20Poly1305),
            _ => None,
        }
    }

    /// Whether this build can use the suite (the browser build has no AES-GCM).
    pub const fn is_available(self) -> bool {
        match self {
            CipherSuite::Aes256Gcm => cfg!(not(target_arch = "wasm32")),
            CipherSuite::ChaCha20Poly1305 => true,
        }
    }

    /// The suites this build offers, in its order of preference: AES-256-GCM
    /// first natively (measured several times faster than ChaCha20-Poly1305 on
    /// CPUs with AES instructions), ChaCha20-Poly1305 only in the browser.
    pub const fn offered() -> &'static [CipherSuite] {
        if cfg!(target_arch = "wasm32") {
            &[CipherSuite::ChaCha20Poly1305]
        } else {
            &[CipherSuite::Aes256Gcm, CipherSuite::ChaCha20Poly1305]
        }
    }

    /// The name used in labels and logs.
    pub const fn name(self) -> &'static str {
        match self {
            CipherSuite::Aes256Gcm => "aes-256-gcm",
            CipherSuite::ChaCha20Poly1305 => "chacha20-poly1305",
        }
    }
}

/// A keyed AEAD with a 12-byte nonce. Keys are zeroized on drop by both
/// implementations.
pub(crate) enum Aead {
    #[cfg(not(target_arch = "wasm32"))]
    Aes(Box<ring::aead::LessSafeKey>),
    ChaCha(ChaCha20Poly1305),
}

impl Aead {
    /// The suite's AEAD under `key`; [`WireError::SuiteUnavailable`] if this
    /// build lacks it.
    pub(crate) fn new(suite: CipherSuite, key: &[u8; 32]) -> Result<Aead, WireError> {
        match suite {
            #[cfg(not(target_arch = "wasm32"))]
            CipherSuite::Aes256Gcm => {
                let key = ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, key)
                    .map_err(|_| WireError::SuiteUnavailable)?;
                Ok(Aead::Aes(Box::new(ring::aead::LessSafeKey::new(key))))
            }
            #[cfg(target_arch = "wasm32")]
            CipherSuite::Aes256Gcm => Err(WireError::SuiteUnavailable),
            CipherSuite::ChaCha20Poly1305 => Ok(Aead::ChaCha(ChaCha20Poly1305::new(key.into()))),
        }
    }

    /// Encrypts `buffer` in place and returns the tag.
    pub(crate) fn seal(
        &self,
        nonce: [u8; 12],
        buffer: &mut [u8],
    ) -> Result<[u8; AEAD_TAG_LEN], WireError> {
        let mut tag_out = [0; AEAD_TAG_LEN];
        match self {
            #[cfg(not(target_arch = "wasm32"))]
            Aead::Aes(key) => {
                let tag = key
                    .seal_in_place_separate_tag(
                        ring::aead::Nonce::assume_unique_for_key(nonce),
                        ring::aead::Aad::empty(),
                        buffer,
                    )
                    .map_err(|_| WireError::LengthOutOfRange { field: "sealed" })?;
                tag_out.copy_from_slice(tag.as_ref());
            }
            Aead::ChaCha(cipher) => {
                let tag = cipher
                    .encrypt_in_place_detached(Nonce::from_slice(&nonce), &[], buffer)
                    .map_err(|_| WireError::LengthOutOfRange { field: "sealed" })?;
                tag_out.copy_from_slice(&tag);
            }
        }
        Ok(tag_out)
    }

    /// Decrypts `sealed` (ciphertext followed by the tag) in place; returns the
    /// plaintext's length. [`WireError::DecryptFailed`] if it is not authentic.
    pub(crate) fn open(&self, nonce: [u8; 12], sealed: &mut [u8]) -> Result<usize, WireError> {
        let plaintext_len = sealed
            .len()
            .checked_sub(AEAD_TAG_LEN)
            .ok_or(WireError::DecryptFailed)?;
        match self {
            #[cfg(not(target_arch = "wasm32"))]
            Aead::Aes(key) => {
                key.open_in_place(
                    ring::aead::Nonce::assume_unique_for_key(nonce),
                    ring::aead::Aad::empty(),
                    sealed,
                )
                .map_err(|_| WireError::DecryptFailed)?;
            }
            Aead::ChaCha(cipher) => {
                let (ciphertext, tag) = sealed.split_at_mut(plaintext_len);
                cipher
                    .decrypt_in_place_detached(
                        Nonce::from_slice(&nonce),
                        &[],
                        ciphertext,
                        Tag::from_slice(tag),
                    )
                    .map_err(|_| WireError::DecryptFailed)?;
            }
        }
        Ok(plaintext_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_unknown_ids_are_none() {
        for suite in [CipherSuite::Aes256Gcm, CipherSuite::ChaCha20Poly1305] {
            assert_eq!(CipherSuite::from_id(suite.id()), Some(suite));
        }
        assert_eq!(CipherSuite::from_id(0), None);
        assert_eq!(CipherSuite::from_id(3), None);
    }

    #[test]
    fn both_suites_seal_and_open_and_refuse_tampering() {
        for &suite in CipherSuite::offered() {
            let aead = Aead::new(suite, &[7; 32]).unwrap();
            let mut buffer = b"sotto block".to_vec();
            let tag = aead.seal([1; 12], &mut buffer).unwrap();
            assert_ne!(&buffer[..], b"sotto block");
            let mut sealed = buffer.clone();
            sealed.extend_from_slice(&tag);
            let mut good = sealed.clone();
            let len = aead.open([1; 12], &mut good).unwrap();
            assert_eq!(&good[..len], b"sotto block");
            let mut wrong_nonce = sealed.clone();
            assert_eq!(
                aead.open([2; 12], &mut wrong_nonce),
                Err(WireError::DecryptFailed)
            );
            for index in 0..sealed.len() {
                let mut tampered = sealed.clone();
                tampered[index] ^= 1;
                assert_eq!(
                    aead.open([1; 12], &mut tampered),
                    Err(WireError::DecryptFailed)
                );
            }
            assert_eq!(
                aead.open([1; 12], &mut [0; 15]),
                Err(WireError::DecryptFailed)
            );
        }
    }

    #[test]
    fn aes_gcm_matches_a_published_vector() {
        // NIST GCM test vector (gcmEncryptExtIV256, Count 0 of the 96-bit IV,
        // 128-bit plaintext set): key, IV, plaintext, ciphertext, tag.
        let key: [u8; 32] =
            hex32("31bdadd96698c204aa9ce1448ea94ae1fb4a9a0b3c9d773b51bb1822666b8f22");
        let nonce: [u8; 12] = hex_bytes("0d18e06c7c725ac9e362e1ce").try_into().unwrap();
        let mut buffer = hex_bytes("2db5168e932556f8089a0622981d017d");
        let tag = Aead::new(CipherSuite::Aes256Gcm, &key)
            .unwrap()
            .seal(nonce, &mut buffer)
            .unwrap();
        assert_eq!(buffer, hex_bytes("fa4362189661d163fcd6a56d8bf0405a"));
        assert_eq!(tag.to_vec(), hex_bytes("d636ac1bbedd5cc3ee727dc2ab4a9489"));
    }

    fn hex_bytes(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|index| u8::from_str_radix(&text[index..index + 2], 16).unwrap())
            .collect()
    }

    fn hex32(text: &str) -> [u8; 32] {
        hex_bytes(text).try_into().unwrap()
    }
}
