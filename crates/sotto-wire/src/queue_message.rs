//! The relay's per-queue sealing of delivered messages.
//!
//! At NEW the relay draws an X25519 key pair for the queue; the queue key is
//! `HKDF-SHA256(salt = none, ikm = X25519(relay queue secret, recipient DH key),
//! info = "sotto-relay-v2 queue-message")`. At delivery the relay seals
//! `timestamp u64 | flags u8 | body_len u16 | body` with the AEAD of the
//! recipient's connection, under a key expanded from the queue key for that
//! suite, with the message id as nonce (AES-256-GCM: its first 12 bytes;
//! otherwise XChaCha20-Poly1305 with all 24), so the bytes a sender sent and
//! the bytes a recipient receives share nothing.

use std::fmt;

use chacha20poly1305::aead::{Aead as _, AeadInPlace, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use sha2::Sha256;
use x25519_dalek::{PublicKey as DhPublicKey, StaticSecret};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::WireError;
use crate::codec::Reader;
use crate::command::{MAX_MESSAGE_BODY, MessageBody};
use crate::ids::MessageId;
use crate::suite::{Aead, CipherSuite};

const QUEUE_KEY_INFO: &[u8] = b"sotto-relay-v2 queue-message";
const AES_KEY_INFO: &[u8] = b"sotto-relay-v2 seal aes-256-gcm";
const XCHACHA_KEY_INFO: &[u8] = b"sotto-relay-v2 seal xchacha20-poly1305";

/// Bytes the sealed form adds to a body: timestamp, flags, body length and tag.
const SEAL_OVERHEAD: usize = 8 + 1 + 2 + 16;

/// Shortest sealed message (a QUOTA_REACHED marker).
pub const MIN_SEALED_LEN: usize = SEAL_OVERHEAD;

/// Longest sealed message (a body of [`MAX_MESSAGE_BODY`] bytes).
pub const MAX_SEALED_LEN: usize = SEAL_OVERHEAD + MAX_MESSAGE_BODY;

const FLAG_QUOTA_REACHED: u8 = 0x01;

/// The key that seals a queue's delivered messages. Zeroized on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct QueueKey([u8; 32]);

impl QueueKey {
    /// Derives the queue key from one side's X25519 secret and the other side's
    /// public key: the relay uses its queue secret and the recipient DH key from
    /// NEW, the recipient its DH secret and the queue DH key from IDS. Refuses a
    /// low-order peer key ([`WireError::LowOrderKey`]).
    pub fn derive(
        own_secret: &StaticSecret,
        peer_key: &DhPublicKey,
    ) -> Result<QueueKey, WireError> {
        let shared = own_secret.diffie_hellman(peer_key);
        if !shared.was_contributory() {
            return Err(WireError::LowOrderKey);
        }
        let mut key = [0; 32];
        Hkdf::<Sha256>::new(None, shared.as_bytes())
            .expand(QUEUE_KEY_INFO, &mut key)
            .map_err(|_| WireError::LengthOutOfRange { field: "queue key" })?;
        Ok(QueueKey(key))
    }

    /// A queue key loaded from storage.
    pub const fn from_bytes(bytes: [u8; 32]) -> QueueKey {
        QueueKey(bytes)
    }

    /// The key's bytes, to store. Secret: keep them away from logs.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key that seals with `suite`, expanded from the queue key.
    fn suite_key(&self, suite: CipherSuite) -> Result<Zeroizing<[u8; 32]>, WireError> {
        let info = match suite {
            CipherSuite::Aes256Gcm => AES_KEY_INFO,
            CipherSuite::ChaCha20Poly1305 => XCHACHA_KEY_INFO,
        };
        let mut key = Zeroizing::new([0; 32]);
        Hkdf::<Sha256>::from_prk(&self.0)
            .and_then(|hkdf| {
                hkdf.expand(info, key.as_mut())
                    .map_err(|_| hkdf::InvalidPrkLength)
            })
            .map_err(|_| WireError::LengthOutOfRange { field: "queue key" })?;
        Ok(key)
    }

    /// Seals a message for the recipient with the suite of its connection and
    /// the message id as nonce. Sealing the same message with the same id and
    /// suite gives the same bytes, so redelivery after a crash reveals nothing;
    /// a message id must never seal two different messages.
    pub fn seal(
        &self,
        suite: CipherSuite,
        message_id: &MessageId,
        message: &QueueMessage,
    ) -> Result<SealedMessage, WireError> {
        // Sealed in place: the encoding has room for the tag, so a 16 KB body is
        // neither copied nor reallocated, and nothing but ciphertext is left.
        let mut buffer = Zeroizing::new(message.encode());
        let key = self.suite_key(suite)?;
        match suite {
            CipherSuite::Aes256Gcm => {
                let tag = Aead::new(suite, &key)?.seal(aes_nonce(message_id), &mut buffer)?;
                buffer.extend_from_slice(&tag);
            }
            CipherSuite::ChaCha20Poly1305 => {
                XChaCha20Poly1305::new(key.as_ref().into())
                    .encrypt_in_place(XNonce::from_slice(message_id.as_bytes()), b"", &mut *buffer)
                    .map_err(|_| WireError::LengthOutOfRange { field: "sealed" })?;
            }
        }
        SealedMessage::from_vec(std::mem::take(&mut *buffer))
    }

    /// Seals a message of `body` accepted at `timestamp` and appends it to
    /// `out` as a MSG carries it (`sealed_len u16 | sealed`): the same bytes
    /// as [`QueueKey::seal`] of a [`MessageContent::Body`] and its encoding,
    /// with the body copied once, from where it lies, and encrypted in place.
    /// A body is 1 to [`MAX_MESSAGE_BODY`] bytes, as [`MessageBody`] holds.
    /// On an error `out` is left as it was.
    pub fn seal_body_into(
        &self,
        suite: CipherSuite,
        message_id: &MessageId,
        timestamp: u64,
        body: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), WireError> {
        if body.is_empty() || body.len() > MAX_MESSAGE_BODY {
            return Err(WireError::LengthOutOfRange {
                field: "message body",
            });
        }
        let key = self.suite_key(suite)?;
        let start = out.len();
        out.reserve(2 + SEAL_OVERHEAD + body.len());
        // At most MAX_SEALED_LEN bytes, which fits in u16.
        out.extend_from_slice(&((SEAL_OVERHEAD + body.len()) as u16).to_be_bytes());
        let plain = out.len();
        out.extend_from_slice(&timestamp.to_be_bytes());
        out.push(0);
        out.extend_from_slice(&(body.len() as u16).to_be_bytes());
        out.extend_from_slice(body);
        let tag = match suite {
            CipherSuite::Aes256Gcm => Aead::new(suite, &key)
                .and_then(|aead| aead.seal(aes_nonce(message_id), &mut out[plain..])),
            CipherSuite::ChaCha20Poly1305 => XChaCha20Poly1305::new(key.as_ref().into())
                .encrypt_in_place_detached(
                    XNonce::from_slice(message_id.as_bytes()),
                    b"",
                    &mut out[plain..],
                )
                .map(|tag| tag.into())
                .map_err(|_| WireError::LengthOutOfRange { field: "sealed" }),
        };
        match tag {
            Ok(tag) => {
                out.extend_from_slice(&tag);
                Ok(())
            }
            Err(error) => {
                out[start..].zeroize();
                out.truncate(start);
                Err(error)
            }
        }
    }

    /// Opens a delivered message; [`WireError::DecryptFailed`] if it was not
    /// sealed with this key, suite and message id.
    pub fn open(
        &self,
        suite: CipherSuite,
        message_id: &MessageId,
        sealed: &SealedMessage,
    ) -> Result<QueueMessage, WireError> {
        let key = self.suite_key(suite)?;
        let plaintext = match suite {
            CipherSuite::Aes256Gcm => {
                let mut buffer = Zeroizing::new(sealed.0.clone());
                let len = Aead::new(suite, &key)?.open(aes_nonce(message_id), &mut buffer)?;
                buffer.truncate(len);
                buffer
            }
            CipherSuite::ChaCha20Poly1305 => Zeroizing::new(
                XChaCha20Poly1305::new(key.as_ref().into())
                    .decrypt(
                        XNonce::from_slice(message_id.as_bytes()),
                        sealed.0.as_slice(),
                    )
                    .map_err(|_| WireError::DecryptFailed)?,
            ),
        };
        QueueMessage::decode(&plaintext)
    }
}

/// AES-256-GCM's nonce for a message: the first 12 of the id's 24 random bytes
/// (random 96-bit nonces are safe for far more messages than a queue holds).
fn aes_nonce(message_id: &MessageId) -> [u8; 12] {
    let mut nonce = [0; 12];
    nonce.copy_from_slice(&message_id.as_bytes()[..12]);
    nonce
}

impl fmt::Debug for QueueKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QueueKey(..)")
    }
}

/// What a delivered message holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageContent {
    /// A message a sender sent.
    Body(MessageBody),
    /// Marker (flags bit 0, empty body): a sender hit this queue's quota. Not
    /// counted in the quota; the recipient should drain the queue.
    QuotaReached,
}

/// A message as the relay delivers it, before sealing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    /// Unix seconds when the relay accepted the message.
    pub timestamp: u64,
    /// The message or the quota marker.
    pub content: MessageContent,
}

impl QueueMessage {
    /// `timestamp u64 | flags u8 | body_len u16 | body`.
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MAX_SEALED_LEN);
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        match &self.content {
            MessageContent::Body(body) => {
                out.push(0);
                body.encode(&mut out);
            }
            MessageContent::QuotaReached => {
                out.push(FLAG_QUOTA_REACHED);
                out.extend_from_slice(&0u16.to_be_bytes());
            }
        }
        out
    }

    fn decode(bytes: &[u8]) -> Result<QueueMessage, WireError> {
        let mut reader = Reader::new(bytes);
        let timestamp = reader.u64()?;
        let content = match reader.u8()? {
            0 => MessageContent::Body(MessageBody::decode(&mut reader)?),
            FLAG_QUOTA_REACHED => {
                if reader.u16()? != 0 {
                    return Err(WireError::LengthOutOfRange { field: "body_len" });
                }
                MessageContent::QuotaReached
            }
            _ => return Err(WireError::ReservedFlags),
        };
        reader.finish()?;
        Ok(QueueMessage { timestamp, content })
    }
}

/// A message sealed with a queue key: [`MIN_SEALED_LEN`] to [`MAX_SEALED_LEN`] bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedMessage(Vec<u8>);

impl SealedMessage {
    /// Sealed bytes of [`MIN_SEALED_LEN`] to [`MAX_SEALED_LEN`] bytes.
    pub fn from_vec(bytes: Vec<u8>) -> Result<SealedMessage, WireError> {
        if !(MIN_SEALED_LEN..=MAX_SEALED_LEN).contains(&bytes.len()) {
            return Err(WireError::LengthOutOfRange {
                field: "sealed_len",
            });
        }
        Ok(SealedMessage(bytes))
    }

    /// The sealed bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Writes `sealed_len u16 | sealed`.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        // At most MAX_SEALED_LEN bytes, which fits in u16.
        out.extend_from_slice(&(self.0.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.0);
    }

    /// Reads `sealed_len u16 | sealed`.
    pub(crate) fn decode(reader: &mut Reader<'_>) -> Result<SealedMessage, WireError> {
        let len = usize::from(reader.u16()?);
        if !(MIN_SEALED_LEN..=MAX_SEALED_LEN).contains(&len) {
            return Err(WireError::LengthOutOfRange {
                field: "sealed_len",
            });
        }
        SealedMessage::from_vec(reader.take(len)?.to_vec())
    }
}

impl fmt::Debug for SealedMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedMessage({} bytes)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::command::tests::arb_body;

    const SUITE: CipherSuite = CipherSuite::Aes256Gcm;

    fn keys() -> (QueueKey, QueueKey) {
        let relay = StaticSecret::from([1; 32]);
        let recipient = StaticSecret::from([2; 32]);
        let relay_side = QueueKey::derive(&relay, &DhPublicKey::from(&recipient)).unwrap();
        let recipient_side = QueueKey::derive(&recipient, &DhPublicKey::from(&relay)).unwrap();
        (relay_side, recipient_side)
    }

    fn message() -> QueueMessage {
        QueueMessage {
            timestamp: 1_700_000_000,
            content: MessageContent::Body(MessageBody::new(b"hello".to_vec()).unwrap()),
        }
    }

    #[test]
    fn both_sides_derive_the_same_key() {
        let (relay, recipient) = keys();
        assert_eq!(relay.as_bytes(), recipient.as_bytes());
    }

    #[test]
    fn sealed_messages_open_for_the_recipient() {
        let (relay, recipient) = keys();
        let id = MessageId::from_bytes([3; 24]);
        let sealed = relay.seal(SUITE, &id, &message()).unwrap();
        assert_eq!(sealed.as_bytes().len(), 5 + SEAL_OVERHEAD);
        assert_eq!(recipient.open(SUITE, &id, &sealed), Ok(message()));
        // Deterministic: redelivery gives the same bytes.
        assert_eq!(relay.seal(SUITE, &id, &message()).unwrap(), sealed);
    }

    #[test]
    fn a_body_sealed_into_a_buffer_is_what_seal_gives() {
        let (relay, recipient) = keys();
        let id = MessageId::from_bytes([3; 24]);
        for suite in [CipherSuite::Aes256Gcm, CipherSuite::ChaCha20Poly1305] {
            for len in [1, 700, MAX_MESSAGE_BODY] {
                let body = MessageBody::new(vec![9; len]).unwrap();
                let message = QueueMessage {
                    timestamp: 1_700_000_000,
                    content: MessageContent::Body(body),
                };
                let mut expected = b"prefix".to_vec();
                relay
                    .seal(suite, &id, &message)
                    .unwrap()
                    .encode(&mut expected);
                let mut out = b"prefix".to_vec();
                relay
                    .seal_body_into(suite, &id, 1_700_000_000, &vec![9; len], &mut out)
                    .unwrap();
                assert_eq!(out, expected, "{suite:?}, {len} bytes");
                let mut reader = Reader::new(&out[6..]);
                let sealed = SealedMessage::decode(&mut reader).unwrap();
                assert_eq!(recipient.open(suite, &id, &sealed), Ok(message));
            }
        }
        let mut out = b"prefix".to_vec();
        for wrong in [0, MAX_MESSAGE_BODY + 1] {
            let body = vec![0; wrong];
            assert!(
                relay
                    .seal_body_into(SUITE, &id, 0, &body, &mut out)
                    .is_err()
            );
            assert_eq!(out, b"prefix");
        }
    }

    #[test]
    fn each_suite_seals_differently_and_opens_only_its_own() {
        let (relay, recipient) = keys();
        let id = MessageId::from_bytes([3; 24]);
        let aes = relay.seal(CipherSuite::Aes256Gcm, &id, &message()).unwrap();
        let chacha = relay
            .seal(CipherSuite::ChaCha20Poly1305, &id, &message())
            .unwrap();
        assert_eq!(aes.as_bytes().len(), chacha.as_bytes().len());
        assert_ne!(aes, chacha);
        assert_eq!(
            recipient.open(CipherSuite::ChaCha20Poly1305, &id, &chacha),
            Ok(message())
        );
        assert_eq!(
            recipient.open(CipherSuite::ChaCha20Poly1305, &id, &aes),
            Err(WireError::DecryptFailed)
        );
        assert_eq!(
            recipient.open(CipherSuite::Aes256Gcm, &id, &chacha),
            Err(WireError::DecryptFailed)
        );
    }

    #[test]
    fn quota_marker_round_trips() {
        let (relay, recipient) = keys();
        let id = MessageId::from_bytes([3; 24]);
        let marker = QueueMessage {
            timestamp: 5,
            content: MessageContent::QuotaReached,
        };
        let sealed = relay.seal(SUITE, &id, &marker).unwrap();
        assert_eq!(sealed.as_bytes().len(), MIN_SEALED_LEN);
        assert_eq!(recipient.open(SUITE, &id, &sealed), Ok(marker));
    }

    #[test]
    fn tampering_or_wrong_id_or_key_fails() {
        let (relay, recipient) = keys();
        let id = MessageId::from_bytes([3; 24]);
        let sealed = relay.seal(SUITE, &id, &message()).unwrap();
        let mut tampered = sealed.as_bytes().to_vec();
        tampered[0] ^= 1;
        let tampered = SealedMessage::from_vec(tampered).unwrap();
        assert_eq!(
            recipient.open(SUITE, &id, &tampered),
            Err(WireError::DecryptFailed)
        );
        assert_eq!(
            recipient.open(SUITE, &MessageId::from_bytes([4; 24]), &sealed),
            Err(WireError::DecryptFailed)
        );
        assert_eq!(
            QueueKey::from_bytes([9; 32]).open(SUITE, &id, &sealed),
            Err(WireError::DecryptFailed)
        );
    }

    #[test]
    fn malformed_plaintexts_are_refused() {
        let mut body = 7u64.to_be_bytes().to_vec();
        body.extend_from_slice(&[0, 0, 1, 0xaa]);
        assert!(QueueMessage::decode(&body).is_ok());
        for len in 0..body.len() {
            assert!(QueueMessage::decode(&body[..len]).is_err());
        }
        let mut trailing = body.clone();
        trailing.push(0);
        assert_eq!(
            QueueMessage::decode(&trailing),
            Err(WireError::TrailingBytes)
        );
        let mut flags = body.clone();
        flags[8] = 2;
        assert_eq!(QueueMessage::decode(&flags), Err(WireError::ReservedFlags));
        let mut marker_with_body = body.clone();
        marker_with_body[8] = 1;
        assert!(QueueMessage::decode(&marker_with_body).is_err());
        let mut empty = 7u64.to_be_bytes().to_vec();
        empty.extend_from_slice(&[0, 0, 0]);
        assert!(QueueMessage::decode(&empty).is_err());
    }

    #[test]
    fn low_order_peer_keys_are_refused() {
        let secret = StaticSecret::from([1; 32]);
        assert_eq!(
            QueueKey::derive(&secret, &DhPublicKey::from([0; 32])).map(|_| ()),
            Err(WireError::LowOrderKey)
        );
        let mut one = [0; 32];
        one[0] = 1;
        assert!(QueueKey::derive(&secret, &DhPublicKey::from(one)).is_err());
    }

    #[test]
    fn the_key_does_not_print() {
        assert_eq!(format!("{:?}", keys().0), "QueueKey(..)");
    }

    #[test]
    fn sealed_length_is_bounded() {
        assert!(SealedMessage::from_vec(vec![0; MIN_SEALED_LEN - 1]).is_err());
        assert!(SealedMessage::from_vec(vec![0; MAX_SEALED_LEN + 1]).is_err());
    }

    proptest! {
        #[test]
        fn messages_round_trip(timestamp in any::<u64>(), body in arb_body(), id in any::<[u8; 24]>()) {
            let (relay, recipient) = keys();
            let id = MessageId::from_bytes(id);
            let message = QueueMessage { timestamp, content: MessageContent::Body(body) };
            let sealed = relay.seal(SUITE, &id, &message).unwrap();
            prop_assert_eq!(recipient.open(SUITE, &id, &sealed), Ok(message));
        }
    }
}
