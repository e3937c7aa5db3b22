//! Transmissions: one command or response with its authenticator, correlation
//! id and entity id.
//!
//! `auth_len u8 (0 or 32) | authenticator | corr_id (8) | entity_len u8 (0 or 24)
//! | entity_id | tag u8 | body`. The authenticator is keyed by the connection's
//! [`CommandKey`] for the queue and covers the bytes from corr_id to the tag, so
//! a command replayed on another connection, or under another corr id, entity
//! or tag, fails to verify (see `auth`). It does not cover the body: the block
//! that carries the transmission is sealed with an AEAD between this client
//! and this relay, which already authenticates every byte, so an authenticator
//! costs one keyed BLAKE3 of at most 34 bytes whatever the body's size.

use std::fmt;

use subtle::ConstantTimeEq;

use crate::WireError;
use crate::auth::{AUTHENTICATOR_LEN, Authenticator, CommandKey};
use crate::block::MAX_TRANSMISSION_LEN;
use crate::codec::Reader;
use crate::ids::{CORR_ID_LEN, CorrId, EntityId, ID_LEN};

/// One command or response as framed on the wire; [`Command`](crate::Command) and
/// [`Response`](crate::Response) give the tag and body their meaning.
#[derive(Clone, PartialEq, Eq)]
pub struct Transmission {
    /// Authenticator by the queue's command key that authorizes the command, if any.
    pub authenticator: Option<Authenticator>,
    /// Chosen by the client, echoed by the relay; [`CorrId::PUSH`] in pushes.
    pub corr_id: CorrId,
    /// The queue the transmission is about, if any.
    pub entity: Option<EntityId>,
    /// Which command or response.
    pub tag: u8,
    /// The tag-specific body.
    pub body: Vec<u8>,
}

impl Transmission {
    /// Length of the encoding.
    pub fn encoded_len(&self) -> usize {
        let auth = if self.authenticator.is_some() {
            AUTHENTICATOR_LEN
        } else {
            0
        };
        1 + auth + self.authenticated_len()
    }

    fn authenticated_len(&self) -> usize {
        let entity = if self.entity.is_some() { ID_LEN } else { 0 };
        CORR_ID_LEN + 1 + entity + 1 + self.body.len()
    }

    /// The wire encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        match &self.authenticator {
            Some(authenticator) => {
                out.push(AUTHENTICATOR_LEN as u8);
                out.extend_from_slice(authenticator.as_bytes());
            }
            None => out.push(0),
        }
        out.extend_from_slice(&self.header());
        out.extend_from_slice(&self.body);
        out
    }

    /// Writes the wire encoding over the start of `out`, which must hold
    /// [`Transmission::encoded_len`] bytes: [`Transmission::encode`] without a
    /// buffer of its own, so that a block is filled straight from its
    /// replies. Returns the length written.
    pub(crate) fn encode_into(&self, out: &mut [u8]) -> Result<usize, WireError> {
        let len = self.encoded_len();
        let out = out.get_mut(..len).ok_or(WireError::BatchFull)?;
        let header = self.header();
        let auth = match &self.authenticator {
            Some(authenticator) => {
                out[0] = AUTHENTICATOR_LEN as u8;
                out[1..=AUTHENTICATOR_LEN].copy_from_slice(authenticator.as_bytes());
                1 + AUTHENTICATOR_LEN
            }
            None => {
                out[0] = 0;
                1
            }
        };
        // `encoded_len` counts exactly these parts.
        let (head, body) = out[auth..].split_at_mut(header.len());
        head.copy_from_slice(&header);
        body.copy_from_slice(&self.body);
        Ok(len)
    }

    /// `corr_id | entity_len | entity | tag`: the authenticated part before the
    /// body, at most 34 bytes.
    fn header(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(CORR_ID_LEN + 2 + ID_LEN);
        out.extend_from_slice(self.corr_id.as_bytes());
        match &self.entity {
            Some(entity) => {
                out.push(ID_LEN as u8);
                out.extend_from_slice(entity.as_bytes());
            }
            None => out.push(0),
        }
        out.push(self.tag);
        out
    }

    /// Parses one transmission (the bytes one length prefix of an inner block
    /// covers). The body is everything after the tag; [`Command`](crate::Command)
    /// and [`Response`](crate::Response) check it.
    pub fn decode(bytes: &[u8]) -> Result<Transmission, WireError> {
        if bytes.len() > MAX_TRANSMISSION_LEN {
            return Err(WireError::LengthOutOfRange {
                field: "transmission",
            });
        }
        let mut reader = Reader::new(bytes);
        let authenticator = match reader.u8()? {
            0 => None,
            32 => Some(Authenticator::from_bytes(reader.array()?)),
            _ => {
                return Err(WireError::LengthOutOfRange { field: "auth_len" });
            }
        };
        let corr_id = CorrId::from_bytes(reader.array()?);
        let entity = match reader.u8()? {
            0 => None,
            24 => Some(EntityId::from_bytes(reader.array()?)),
            _ => {
                return Err(WireError::LengthOutOfRange {
                    field: "entity_len",
                });
            }
        };
        let tag = reader.u8()?;
        let body = reader.rest().to_vec();
        Ok(Transmission {
            authenticator,
            corr_id,
            entity,
            tag,
            body,
        })
    }

    /// The authenticator of this transmission under `key`.
    fn expected_authenticator(&self, key: &CommandKey) -> Authenticator {
        key.authenticate(&self.header())
    }

    /// Authenticates the transmission with a queue's command key for this
    /// connection (replacing any earlier authenticator).
    pub fn authenticate(&mut self, key: &CommandKey) {
        self.authenticator = Some(self.expected_authenticator(key));
    }

    /// Whether the transmission carries the right authenticator for `key`, in
    /// constant time. A missing authenticator takes the same work and fails.
    pub fn verify(&self, key: &CommandKey) -> bool {
        let expected = self.expected_authenticator(key);
        match &self.authenticator {
            Some(given) => bool::from(given.as_bytes().ct_eq(expected.as_bytes())),
            None => {
                let _ = bool::from([0u8; AUTHENTICATOR_LEN].ct_eq(expected.as_bytes()));
                false
            }
        }
    }
}

impl fmt::Debug for Transmission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The body may hold a server password: print its size only.
        f.debug_struct("Transmission")
            .field("authenticated", &self.authenticator.is_some())
            .field("corr_id", &self.corr_id)
            .field("entity", &self.entity)
            .field("tag", &format_args!("{:#04x}", self.tag))
            .field("body_len", &self.body.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn key(byte: u8) -> CommandKey {
        let relay = x25519_dalek::StaticSecret::from([2; 32]);
        CommandKey::for_client(
            &crate::QueueAuthSecret::from_bytes([byte; 32]),
            &x25519_dalek::PublicKey::from(&relay),
            &crate::SessionId::from_bytes([1; 32]),
        )
        .unwrap()
    }

    fn sample() -> Transmission {
        Transmission {
            authenticator: None,
            corr_id: CorrId::from_bytes([1; 8]),
            entity: Some(EntityId::from_bytes([2; 24])),
            tag: 0x03,
            body: vec![],
        }
    }

    #[test]
    fn layout_matches_the_protocol() {
        let bytes = sample().encode();
        let mut expected = vec![0];
        expected.extend_from_slice(&[1; 8]);
        expected.push(24);
        expected.extend_from_slice(&[2; 24]);
        expected.push(0x03);
        assert_eq!(bytes, expected);
        assert_eq!(bytes.len(), sample().encoded_len());
    }

    #[test]
    fn authenticators_bind_the_key_and_every_byte_before_the_body() {
        let mut transmission = sample();
        assert!(!transmission.verify(&key(9)));
        transmission.authenticate(&key(9));
        assert_eq!(transmission.encode().len(), transmission.encoded_len());
        assert_eq!(transmission.encoded_len(), 1 + 32 + 8 + 1 + 24 + 1);
        assert!(transmission.verify(&key(9)));
        // Another queue key (or the same queue on another connection: another key).
        assert!(!transmission.verify(&key(8)));
        // Any change to the authenticated part.
        let mut changed = transmission.clone();
        changed.corr_id = CorrId::from_bytes([3; 8]);
        assert!(!changed.verify(&key(9)));
        let mut changed = transmission.clone();
        changed.entity = None;
        assert!(!changed.verify(&key(9)));
        let mut changed = transmission.clone();
        changed.tag = 0x06;
        assert!(!changed.verify(&key(9)));
        // The body is the block's AEAD's to protect: the authenticator costs
        // the same whatever its size.
        let mut changed = transmission.clone();
        changed.body.push(0);
        assert!(changed.verify(&key(9)));
    }

    #[test]
    fn malformed_transmissions_are_refused() {
        let bytes = sample().encode();
        for len in 0..bytes.len() - 1 {
            // Anything shorter than the tag is truncated.
            if len < 1 + 8 + 1 + 24 + 1 {
                assert!(Transmission::decode(&bytes[..len]).is_err(), "{len}");
            }
        }
        let mut bad_auth = bytes.clone();
        bad_auth[0] = 64;
        assert!(Transmission::decode(&bad_auth).is_err());
        let mut bad_entity = bytes.clone();
        bad_entity[9] = 23;
        assert!(Transmission::decode(&bad_entity).is_err());
        assert!(Transmission::decode(&vec![0; MAX_TRANSMISSION_LEN + 1]).is_err());
    }

    fn arb_transmission() -> impl Strategy<Value = Transmission> {
        (
            proptest::option::of(any::<[u8; 32]>()),
            any::<[u8; 8]>(),
            proptest::option::of(any::<[u8; 24]>()),
            any::<u8>(),
            prop::collection::vec(any::<u8>(), 0..200),
        )
            .prop_map(|(authenticator, corr_id, entity, tag, body)| Transmission {
                authenticator: authenticator.map(Authenticator::from_bytes),
                corr_id: CorrId::from_bytes(corr_id),
                entity: entity.map(EntityId::from_bytes),
                tag,
                body,
            })
    }

    proptest! {
        #[test]
        fn transmissions_round_trip(transmission in arb_transmission()) {
            let bytes = transmission.encode();
            prop_assert_eq!(bytes.len(), transmission.encoded_len());
            prop_assert_eq!(Transmission::decode(&bytes), Ok(transmission));
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(transmission) = Transmission::decode(&bytes) {
                prop_assert_eq!(transmission.encode(), bytes);
            }
        }
    }
}
