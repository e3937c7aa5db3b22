//! Byte layouts of an encrypted message: format version 2 (written and read) and format
//! version 1 (read only, so that messages in flight across an upgrade are not lost).
//!
//! ```text
//! version 2 (every message ENCRYPTED_MESSAGE_LEN bytes):
//! message = 0x02 || kind 0x03 || header nonce (24)
//!        || encrypted header (HEADER_LEN + 16)
//!        || encrypted payload (payload length + 16) || filler (the rest)
//! header  = ratchet key (32) || ML-KEM ciphertext (1088)
//!        || previous chain length (u32 BE) || message number (u32 BE)
//!        || payload descriptor (u16 BE: bit 15 KEM key present, bits 0..14 payload length)
//! payload = [ML-KEM encapsulation key (1184), if present] || plaintext
//!
//! version 1:
//! message = 0x01 || kind 0x03 || header nonce (24) || encrypted header (2312 + 16)
//!        || encrypted padded plaintext (12288 + 16)
//! header  = ratchet key (32) || ML-KEM encapsulation key (1184) || ML-KEM ciphertext (1088)
//!        || previous chain length (u32 BE) || message number (u32 BE)
//! ```

use core::ops::Range;

use crate::Error;
use crate::codec::{MESSAGE_VERSION, MESSAGE_VERSION_1, Reader, kind};
use crate::primitives::aead::{AEAD_NONCE_LEN, AEAD_TAG_LEN};
use crate::primitives::kem::{KEM_CIPHERTEXT_LEN, KEM_PUBLIC_KEY_LEN};
use crate::primitives::x25519::{X25519_LEN, X25519Public};

/// Length of a version-2 header before encryption: ratchet key, KEM ciphertext, two
/// counters and the payload descriptor. The KEM ciphertext is in the header because the
/// message key of a chain's messages derives from its shared secret.
pub const HEADER_LEN: usize = X25519_LEN + KEM_CIPHERTEXT_LEN + 4 + 4 + 2;
/// Length of an encrypted version-2 header.
pub const ENCRYPTED_HEADER_LEN: usize = HEADER_LEN + AEAD_TAG_LEN;
/// Offset of the encrypted payload; everything before it is the payload's AD.
pub(crate) const PAYLOAD_OFFSET: usize = 2 + AEAD_NONCE_LEN + ENCRYPTED_HEADER_LEN;
/// Length of every encrypted message (both format versions).
pub const ENCRYPTED_MESSAGE_LEN: usize = 14_658;
/// The longest payload: what is left once the header and the payload tag are in place.
pub(crate) const MAX_PAYLOAD_LEN: usize = ENCRYPTED_MESSAGE_LEN - PAYLOAD_OFFSET - AEAD_TAG_LEN;
/// Length of the optional ML-KEM encapsulation key at the start of the payload.
pub(crate) const PAYLOAD_KEM_KEY_LEN: usize = KEM_PUBLIC_KEY_LEN;
/// The longest plaintext one message carries (with the KEM key in its payload).
pub const MAX_PLAINTEXT_LEN: usize = MAX_PAYLOAD_LEN - PAYLOAD_KEM_KEY_LEN;

/// Bit of the payload descriptor saying that the payload opens with a KEM key.
const KEM_KEY_FLAG: u16 = 0x8000;
/// Bits of the payload descriptor holding the payload length.
const PAYLOAD_LEN_MASK: u16 = 0x7fff;

/// The version and kind bytes that open a message; authenticated with the header.
pub(crate) const MESSAGE_PREFIX: [u8; 2] = [MESSAGE_VERSION, kind::MESSAGE];

/// Where the header ciphertext (without its tag) lies in a message, for encrypting it
/// in place.
pub(crate) const HEADER_RANGE: Range<usize> = 2 + AEAD_NONCE_LEN..2 + AEAD_NONCE_LEN + HEADER_LEN;

/// The plaintext's length, or an error if it does not fit one message (checked before
/// any work is done for it).
pub(crate) fn checked_len(plaintext: &[u8]) -> Result<usize, Error> {
    if plaintext.len() <= MAX_PLAINTEXT_LEN {
        Ok(plaintext.len())
    } else {
        Err(Error::PlaintextTooLong {
            len: plaintext.len(),
            max: MAX_PLAINTEXT_LEN,
        })
    }
}

/// How the plaintext follows the header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Body {
    /// Version 1: a padded plaintext of fixed size; the KEM key was in the header.
    Padded,
    /// Version 2: a payload of this length, opening with a KEM key if the flag is set.
    Payload { len: usize, kem_key: bool },
}

/// The decrypted ratchet header, borrowing the KEM fields from the decrypted bytes (they
/// are copied out only when a message starts a new chain).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Header<'a> {
    pub(crate) ratchet_key: X25519Public,
    /// The sender's current ML-KEM key if the header carries it (version 1 only); in
    /// version 2 it travels in the payload.
    pub(crate) kem_key: Option<&'a [u8; KEM_PUBLIC_KEY_LEN]>,
    pub(crate) kem_ciphertext: &'a [u8; KEM_CIPHERTEXT_LEN],
    pub(crate) previous_chain_length: u32,
    pub(crate) message_number: u32,
    pub(crate) body: Body,
}

impl<'a> Header<'a> {
    /// Appends the encoded version-2 header (exactly [`HEADER_LEN`] bytes) to a message
    /// being written; the body must be a payload.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        let descriptor = match self.body {
            Body::Payload { len, kem_key } => {
                // `len` is at most MAX_PAYLOAD_LEN, far below the 15-bit mask.
                let len = u16::try_from(len).unwrap_or(PAYLOAD_LEN_MASK) & PAYLOAD_LEN_MASK;
                len | if kem_key { KEM_KEY_FLAG } else { 0 }
            }
            Body::Padded => 0,
        };
        out.extend_from_slice(&self.ratchet_key.0);
        out.extend_from_slice(self.kem_ciphertext);
        out.extend_from_slice(&self.previous_chain_length.to_be_bytes());
        out.extend_from_slice(&self.message_number.to_be_bytes());
        out.extend_from_slice(&descriptor.to_be_bytes());
    }

    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN);
        self.write(&mut out);
        out
    }

    /// Decodes a decrypted version-2 header. The payload must fit the message, and a
    /// payload without a KEM key no more than [`MAX_PLAINTEXT_LEN`] of plaintext.
    pub(crate) fn decode(bytes: &'a [u8]) -> Result<Self, Error> {
        const MALFORMED: Error = Error::Malformed("header");
        let mut reader = Reader::new(bytes, "header");
        let ratchet_key = X25519Public(reader.array()?);
        let kem_ciphertext = reader.array_ref()?;
        let previous_chain_length = reader.u32()?;
        let message_number = reader.u32()?;
        let descriptor = u16::from_be_bytes(reader.array()?);
        reader.finish()?;
        let kem_key = descriptor & KEM_KEY_FLAG != 0;
        let len = usize::from(descriptor & PAYLOAD_LEN_MASK);
        let plaintext_len = if kem_key {
            len.checked_sub(PAYLOAD_KEM_KEY_LEN).ok_or(MALFORMED)?
        } else {
            len
        };
        if plaintext_len > MAX_PLAINTEXT_LEN {
            return Err(MALFORMED);
        }
        Ok(Self {
            ratchet_key,
            kem_key: None,
            kem_ciphertext,
            previous_chain_length,
            message_number,
            body: Body::Payload { len, kem_key },
        })
    }
}

/// A parsed (still encrypted) message of either format version.
pub(crate) struct EncryptedMessage<'a> {
    pub(crate) version: u8,
    /// Everything before the body or payload: its associated data.
    pub(crate) authenticated_prefix: &'a [u8],
    pub(crate) header_nonce: &'a [u8; AEAD_NONCE_LEN],
    pub(crate) encrypted_header: &'a [u8],
    pub(crate) header_tag: &'a [u8; AEAD_TAG_LEN],
    /// Everything after the header tag: version 1, padded body and tag; version 2,
    /// payload, tag and filler.
    pub(crate) rest: &'a [u8],
}

impl<'a> EncryptedMessage<'a> {
    /// Checks the version (2, or 1 for messages written before the upgrade), the kind
    /// and the exact length, and splits off the header.
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let version = match bytes.first() {
            Some(&MESSAGE_VERSION_1) => MESSAGE_VERSION_1,
            _ => MESSAGE_VERSION,
        };
        let header_len = match version {
            MESSAGE_VERSION_1 => v1::HEADER_LEN,
            _ => HEADER_LEN,
        };
        let mut reader = Reader::new(bytes, "message");
        reader.versioned_prefix(version, kind::MESSAGE)?;
        if bytes.len() != ENCRYPTED_MESSAGE_LEN {
            return Err(Error::Malformed("message"));
        }
        let header_nonce = reader.array_ref()?;
        let (encrypted_header, after) = reader
            .rest()
            .split_at_checked(header_len)
            .ok_or(Error::Malformed("message"))?;
        let (header_tag, rest) = after
            .split_first_chunk::<AEAD_TAG_LEN>()
            .ok_or(Error::Malformed("message"))?;
        let prefix_len = 2 + AEAD_NONCE_LEN + header_len + AEAD_TAG_LEN;
        Ok(Self {
            version,
            authenticated_prefix: bytes.get(..prefix_len).ok_or(Error::Malformed("message"))?,
            header_nonce,
            encrypted_header,
            header_tag,
            rest,
        })
    }

    /// Decodes the decrypted header according to the message's version.
    pub(crate) fn decode_header<'h>(&self, header: &'h [u8]) -> Result<Header<'h>, Error> {
        match self.version {
            MESSAGE_VERSION_1 => v1::decode_header(header),
            _ => Header::decode(header),
        }
    }
}

/// Format version 1, read only.
pub(crate) mod v1 {
    use super::{Body, Header};
    use crate::Error;
    use crate::codec::Reader;
    use crate::primitives::kem::{KEM_CIPHERTEXT_LEN, KEM_PUBLIC_KEY_LEN};
    use crate::primitives::x25519::{X25519_LEN, X25519Public};

    /// Length of a version-1 header: room for the KEM key and ciphertext in every header.
    pub(crate) const HEADER_LEN: usize =
        X25519_LEN + KEM_PUBLIC_KEY_LEN + KEM_CIPHERTEXT_LEN + 4 + 4;
    /// Every version-1 plaintext was padded to exactly this many bytes.
    pub(crate) const PADDED_PLAINTEXT_LEN: usize = 12_288;
    /// The version-1 length prefix inside the padded plaintext.
    pub(crate) const LENGTH_PREFIX_LEN: usize = 2;

    /// Decodes a decrypted version-1 header.
    pub(crate) fn decode_header(bytes: &[u8]) -> Result<Header<'_>, Error> {
        let mut reader = Reader::new(bytes, "header");
        let header = Header {
            ratchet_key: X25519Public(reader.array()?),
            kem_key: Some(reader.array_ref()?),
            kem_ciphertext: reader.array_ref()?,
            previous_chain_length: reader.u32()?,
            message_number: reader.u32()?,
            body: Body::Padded,
        };
        reader.finish()?;
        Ok(header)
    }

    /// The plaintext inside a decrypted version-1 body: `u16 length || plaintext ||
    /// zero bytes`. The padding is checked without branching on its bytes.
    pub(crate) fn unpad(padded: &[u8]) -> Result<&[u8], Error> {
        const MALFORMED: Error = Error::Malformed("padded plaintext");
        let (prefix, rest) = padded
            .split_first_chunk::<LENGTH_PREFIX_LEN>()
            .ok_or(MALFORMED)?;
        let len = usize::from(u16::from_be_bytes(*prefix));
        if len > PADDED_PLAINTEXT_LEN - LENGTH_PREFIX_LEN || len > rest.len() {
            return Err(MALFORMED);
        }
        let (plaintext, padding) = rest.split_at(len);
        if padding.iter().fold(0, |any, &byte| any | byte) != 0 {
            return Err(MALFORMED);
        }
        Ok(plaintext)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(body: Body) -> Header<'static> {
        Header {
            ratchet_key: X25519Public([1; 32]),
            kem_key: None,
            kem_ciphertext: &[3; KEM_CIPHERTEXT_LEN],
            previous_chain_length: 7,
            message_number: 9,
            body,
        }
    }

    #[test]
    fn sizes_are_as_documented() {
        assert_eq!(HEADER_LEN, 1130);
        assert_eq!(ENCRYPTED_HEADER_LEN, 1146);
        assert_eq!(PAYLOAD_OFFSET, 1172);
        assert_eq!(MAX_PAYLOAD_LEN, 13_470);
        assert_eq!(MAX_PLAINTEXT_LEN, 12_286);
        // Version 1 had the same message length and the same longest plaintext.
        assert_eq!(
            2 + AEAD_NONCE_LEN + v1::HEADER_LEN + v1::PADDED_PLAINTEXT_LEN + 2 * AEAD_TAG_LEN,
            ENCRYPTED_MESSAGE_LEN
        );
        assert_eq!(
            v1::PADDED_PLAINTEXT_LEN - v1::LENGTH_PREFIX_LEN,
            MAX_PLAINTEXT_LEN
        );
    }

    #[test]
    fn header_round_trip() {
        let payload = Body::Payload {
            len: MAX_PAYLOAD_LEN,
            kem_key: true,
        };
        let bytes = header(payload).encode();
        assert_eq!(bytes.len(), HEADER_LEN);
        assert_eq!(
            bytes[HEADER_LEN - 10..HEADER_LEN - 2],
            [0, 0, 0, 7, 0, 0, 0, 9]
        );
        assert_eq!(bytes[HEADER_LEN - 2..], (0x8000 | 13_470u16).to_be_bytes());
        let decoded = Header::decode(&bytes).unwrap();
        assert_eq!(decoded.body, payload);
        assert_eq!(decoded.encode(), bytes);
        assert!(Header::decode(&bytes[1..]).is_err());
    }

    #[test]
    fn payload_lengths_beyond_the_message_are_malformed() {
        let cases = [
            (MAX_PAYLOAD_LEN + 1, true),
            (PAYLOAD_KEM_KEY_LEN - 1, true),
            (MAX_PLAINTEXT_LEN + 1, false),
        ];
        for (len, kem_key) in cases {
            let bytes = header(Body::Payload { len, kem_key }).encode();
            assert_eq!(
                Header::decode(&bytes).err(),
                Some(Error::Malformed("header"))
            );
        }
        let mut bytes = header(Body::Payload {
            len: 0,
            kem_key: false,
        })
        .encode();
        assert!(Header::decode(&bytes).is_ok());
        bytes[HEADER_LEN - 2] = 0x7f;
        assert!(Header::decode(&bytes).is_err());
    }

    #[test]
    fn header_range_ends_where_its_tag_starts() {
        assert_eq!(HEADER_RANGE.end + AEAD_TAG_LEN, PAYLOAD_OFFSET);
        assert_eq!(HEADER_RANGE.len(), HEADER_LEN);
    }

    #[test]
    fn message_length_and_version_are_exact() {
        let mut bytes = vec![0u8; ENCRYPTED_MESSAGE_LEN];
        bytes[..2].copy_from_slice(&MESSAGE_PREFIX);
        let parsed = EncryptedMessage::parse(&bytes).unwrap();
        assert_eq!(parsed.authenticated_prefix.len(), PAYLOAD_OFFSET);
        assert_eq!(parsed.rest.len(), ENCRYPTED_MESSAGE_LEN - PAYLOAD_OFFSET);
        bytes[0] = 1;
        let parsed = EncryptedMessage::parse(&bytes).unwrap();
        assert_eq!(parsed.encrypted_header.len(), v1::HEADER_LEN);
        assert_eq!(parsed.rest.len(), v1::PADDED_PLAINTEXT_LEN + AEAD_TAG_LEN);
        bytes[0] = 3;
        assert_eq!(
            EncryptedMessage::parse(&bytes).err(),
            Some(Error::UnsupportedVersion(3))
        );
        bytes[0] = MESSAGE_VERSION;
        bytes.push(0);
        assert!(EncryptedMessage::parse(&bytes).is_err());
        assert!(EncryptedMessage::parse(&bytes[..100]).is_err());
    }

    #[test]
    fn version_1_padding_is_checked() {
        let mut padded = vec![0u8; v1::PADDED_PLAINTEXT_LEN];
        padded[..4].copy_from_slice(&[0, 2, b'h', b'i']);
        assert_eq!(v1::unpad(&padded).unwrap(), b"hi");
        padded[10] = 1;
        assert!(v1::unpad(&padded).is_err());
        padded[10] = 0;
        padded[0] = 0xff;
        assert!(v1::unpad(&padded).is_err());
    }
}
