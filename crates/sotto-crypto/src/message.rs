//! Byte layouts of the ratchet header and of an encrypted message.
//!
//! ```text
//! message = version (1) || kind 0x03 (1) || header nonce (24)
//!        || encrypted header (HEADER_LEN + 16) || encrypted body (PADDED_PLAINTEXT_LEN + 16)
//! header  = ratchet key (32) || ML-KEM encapsulation key (1184) || ML-KEM ciphertext (1088)
//!        || previous chain length (u32 BE) || message number (u32 BE)
//! ```

use core::ops::Range;

use crate::Error;
use crate::codec::{FORMAT_VERSION, Reader, kind};
use crate::padding::PADDED_PLAINTEXT_LEN;
use crate::primitives::aead::{AEAD_NONCE_LEN, AEAD_TAG_LEN};
use crate::primitives::kem::{KEM_CIPHERTEXT_LEN, KEM_PUBLIC_KEY_LEN};
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

/// Where the header ciphertext (without its tag) lies in a message, for encrypting it
/// in place.
pub(crate) const HEADER_RANGE: Range<usize> = 2 + AEAD_NONCE_LEN..2 + AEAD_NONCE_LEN + HEADER_LEN;

/// The decrypted ratchet header, borrowing the KEM fields from the decrypted bytes (they
/// are copied out only when a message starts a new chain).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Header<'a> {
    pub(crate) ratchet_key: X25519Public,
    /// The sender's current ML-KEM key, validated only when it starts a chain.
    pub(crate) kem_key: &'a [u8; KEM_PUBLIC_KEY_LEN],
    pub(crate) kem_ciphertext: &'a [u8; KEM_CIPHERTEXT_LEN],
    pub(crate) previous_chain_length: u32,
    pub(crate) message_number: u32,
}

impl<'a> Header<'a> {
    /// Appends the encoded header (exactly [`HEADER_LEN`] bytes) to a message being written.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.ratchet_key.0);
        out.extend_from_slice(self.kem_key);
        out.extend_from_slice(self.kem_ciphertext);
        out.extend_from_slice(&self.previous_chain_length.to_be_bytes());
        out.extend_from_slice(&self.message_number.to_be_bytes());
    }

    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN);
        self.write(&mut out);
        out
    }

    pub(crate) fn decode(bytes: &'a [u8]) -> Result<Self, Error> {
        let mut reader = Reader::new(bytes, "header");
        let header = Self {
            ratchet_key: X25519Public(reader.array()?),
            kem_key: reader.array_ref()?,
            kem_ciphertext: reader.array_ref()?,
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
    pub(crate) authenticated_prefix: &'a [u8; BODY_OFFSET],
    pub(crate) header_nonce: &'a [u8; AEAD_NONCE_LEN],
    pub(crate) encrypted_header: &'a [u8; HEADER_LEN],
    pub(crate) header_tag: &'a [u8; AEAD_TAG_LEN],
    pub(crate) encrypted_body: &'a [u8; PADDED_PLAINTEXT_LEN],
    pub(crate) body_tag: &'a [u8; AEAD_TAG_LEN],
}

impl<'a> EncryptedMessage<'a> {
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let mut reader = Reader::new(bytes, "message");
        reader.prefix(kind::MESSAGE)?;
        if bytes.len() != ENCRYPTED_MESSAGE_LEN {
            return Err(Error::Malformed("message"));
        }
        let header_nonce = reader.array_ref()?;
        let encrypted_header = reader.array_ref()?;
        let header_tag = reader.array_ref()?;
        let encrypted_body = reader.array_ref()?;
        let body_tag = reader.array_ref()?;
        reader.finish()?;
        Ok(Self {
            authenticated_prefix: bytes.first_chunk().ok_or(Error::Malformed("message"))?,
            header_nonce,
            encrypted_header,
            header_tag,
            encrypted_body,
            body_tag,
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
            kem_key: &[2; KEM_PUBLIC_KEY_LEN],
            kem_ciphertext: &[3; KEM_CIPHERTEXT_LEN],
            previous_chain_length: 7,
            message_number: 9,
        };
        let bytes = header.encode();
        assert_eq!(bytes.len(), HEADER_LEN);
        assert_eq!(bytes[HEADER_LEN - 8..], [0, 0, 0, 7, 0, 0, 0, 9]);
        let decoded = Header::decode(&bytes).unwrap();
        assert_eq!(decoded.encode(), bytes);
        assert!(Header::decode(&bytes[1..]).is_err());
    }

    #[test]
    fn header_range_ends_where_its_tag_starts() {
        assert_eq!(HEADER_RANGE.end + AEAD_TAG_LEN, BODY_OFFSET);
        assert_eq!(HEADER_RANGE.len(), HEADER_LEN);
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
