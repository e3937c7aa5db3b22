//! Byte layouts of the ratchet header and of an encrypted message.
//!
//! ```text
//! message = version (1) || kind 0x03 (1) || header nonce (24)
//!        || encrypted header (HEADER_LEN + 16) || encrypted body (PADDED_PLAINTEXT_LEN + 16)
//! header  = ratchet key (32) || ML-KEM encapsulation key (1184) || ML-KEM ciphertext (1088)
//!        || previous chain length (u32 BE) || message number (u32 BE)
//! ```

use crate::Error;
use crate::codec::{FORMAT_VERSION, Reader, kind};
use crate::padding::PADDED_PLAINTEXT_LEN;
use crate::primitives::aead::{AEAD_NONCE_LEN, AEAD_TAG_LEN};
use crate::primitives::kem::{KEM_CIPHERTEXT_LEN, KEM_PUBLIC_KEY_LEN, KemCiphertext};
use crate::primitives::x25519::{X25519_LEN, X25519Public};

/// Length of a header before encryption. Every header has room for the KEM material, so
/// a relay cannot tell the first message of a chain from the others.
pub const HEADER_LEN: usize = X25519_LEN + KEM_PUBLIC_KEY_LEN + KEM_CIPHERTEXT_LEN + 4 + 4;
/// Length of an encrypted header.
pub const ENCRYPTED_HEADER_LEN: usize = HEADER_LEN + AEAD_TAG_LEN;
/// Offset of the encrypted body within a message; everything before it is body AD.
pub(crate) const BODY_OFFSET: usize = 2 + AEAD_NONCE_LEN + ENCRYPTED_HEADER_LEN;
/// Length of every encrypted message.
pub const ENCRYPTED_MESSAGE_LEN: usize = BODY_OFFSET + PADDED_PLAINTEXT_LEN + AEAD_TAG_LEN;

/// The version and kind bytes that open a message; authenticated with the header.
pub(crate) const MESSAGE_PREFIX: [u8; 2] = [FORMAT_VERSION, kind::MESSAGE];

/// The decrypted ratchet header.
#[derive(Clone, Debug)]
pub(crate) struct Header {
    pub(crate) ratchet_key: X25519Public,
    /// The sender's current ML-KEM key, validated only when it starts a chain.
    pub(crate) kem_key: Box<[u8; KEM_PUBLIC_KEY_LEN]>,
    pub(crate) kem_ciphertext: KemCiphertext,
    pub(crate) previous_chain_length: u32,
    pub(crate) message_number: u32,
}

impl Header {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN);
        out.extend_from_slice(&self.ratchet_key.0);
        out.extend_from_slice(&self.kem_key[..]);
        out.extend_from_slice(&self.kem_ciphertext.0[..]);
        out.extend_from_slice(&self.previous_chain_length.to_be_bytes());
        out.extend_from_slice(&self.message_number.to_be_bytes());
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let mut reader = Reader::new(bytes, "header");
        let header = Self {
            ratchet_key: X25519Public(reader.array()?),
            kem_key: Box::new(reader.array()?),
            kem_ciphertext: KemCiphertext(Box::new(reader.array()?)),
            previous_chain_length: reader.u32()?,
            message_number: reader.u32()?,
        };
        reader.finish()?;
        Ok(header)
    }
}

/// A parsed (still encrypted) message.
pub(crate) struct EncryptedMessage<'a> {
    /// Version, kind, nonce and encrypted header: the body's associated data.
    pub(crate) authenticated_prefix: &'a [u8],
    pub(crate) header_nonce: [u8; AEAD_NONCE_LEN],
    pub(crate) encrypted_header: &'a [u8],
    pub(crate) encrypted_body: &'a [u8],
}

impl<'a> EncryptedMessage<'a> {
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let mut reader = Reader::new(bytes, "message");
        reader.prefix(kind::MESSAGE)?;
        if bytes.len() != ENCRYPTED_MESSAGE_LEN {
            return Err(Error::Malformed("message"));
        }
        let header_nonce = reader.array()?;
        let encrypted_header = reader.slice(ENCRYPTED_HEADER_LEN)?;
        let encrypted_body = reader.rest();
        Ok(Self {
            authenticated_prefix: bytes
                .get(..BODY_OFFSET)
                .ok_or(Error::Malformed("message"))?,
            header_nonce,
            encrypted_header,
            encrypted_body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_as_documented() {
        assert_eq!(HEADER_LEN, 2312);
        assert_eq!(ENCRYPTED_HEADER_LEN, 2328);
        assert_eq!(ENCRYPTED_MESSAGE_LEN, 14_658);
    }

    #[test]
    fn header_round_trip() {
        let header = Header {
            ratchet_key: X25519Public([1; 32]),
            kem_key: Box::new([2; KEM_PUBLIC_KEY_LEN]),
            kem_ciphertext: KemCiphertext(Box::new([3; KEM_CIPHERTEXT_LEN])),
            previous_chain_length: 7,
            message_number: 9,
        };
        let bytes = header.encode();
        assert_eq!(bytes.len(), HEADER_LEN);
        let decoded = Header::decode(&bytes).unwrap();
        assert_eq!(decoded.encode(), bytes);
        assert!(Header::decode(&bytes[1..]).is_err());
    }

    #[test]
    fn message_length_is_exact() {
        let mut bytes = vec![0u8; ENCRYPTED_MESSAGE_LEN];
        bytes[..2].copy_from_slice(&MESSAGE_PREFIX);
        assert!(EncryptedMessage::parse(&bytes).is_ok());
        bytes.push(0);
        assert!(EncryptedMessage::parse(&bytes).is_err());
        assert!(EncryptedMessage::parse(&bytes[..100]).is_err());
    }
}
