//! Transmissions: one command or response with its signature, correlation id and
//! entity id.
//!
//! `auth_len u8 (0 or 64) | signature | corr_id (8) | entity_len u8 (0 or 24) |
//! entity_id | tag u8 | body`. The signature covers
//! `"sotto-relay-auth-v1" || session_id || <bytes from corr_id to the end>`, so a
//! command replayed on another connection fails to verify.

use std::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use crate::WireError;
use crate::block::MAX_TRANSMISSION_LEN;
use crate::codec::Reader;
use crate::ids::{CORR_ID_LEN, CorrId, EntityId, ID_LEN};
use crate::transport::SessionId;

/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// Domain separation for transmission signatures.
const AUTH_LABEL: &[u8] = b"sotto-relay-auth-v1";

/// One command or response as framed on the wire; [`Command`](crate::Command) and
/// [`Response`](crate::Response) give the tag and body their meaning.
#[derive(Clone, PartialEq, Eq)]
pub struct Transmission {
    /// Signature by the queue key that authorizes the command, if any.
    pub signature: Option<Signature>,
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
        let signature = if self.signature.is_some() {
            SIGNATURE_LEN
        } else {
            0
        };
        1 + signature + self.signed_len()
    }

    fn signed_len(&self) -> usize {
        let entity = if self.entity.is_some() { ID_LEN } else { 0 };
        CORR_ID_LEN + 1 + entity + 1 + self.body.len()
    }

    /// The wire encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        match &self.signature {
            Some(signature) => {
                out.push(SIGNATURE_LEN as u8);
                out.extend_from_slice(&signature.to_bytes());
            }
            None => out.push(0),
        }
        self.encode_signed_part(&mut out);
        out
    }

    /// Appends the bytes from corr_id to the end: the part the signature covers.
    fn encode_signed_part(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.corr_id.as_bytes());
        match &self.entity {
            Some(entity) => {
                out.push(ID_LEN as u8);
                out.extend_from_slice(entity.as_bytes());
            }
            None => out.push(0),
        }
        out.push(self.tag);
        out.extend_from_slice(&self.body);
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
        let signature = match reader.u8()? {
            0 => None,
            64 => Some(Signature::from_bytes(&reader.array()?)),
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
            signature,
            corr_id,
            entity,
            tag,
            body,
        })
    }

    /// The bytes a queue key signs: `"sotto-relay-auth-v1" || session_id ||` the
    /// transmission from corr_id to its end.
    pub fn signing_input(&self, session_id: &SessionId) -> Vec<u8> {
        let mut input = Vec::with_capacity(AUTH_LABEL.len() + 32 + self.signed_len());
        input.extend_from_slice(AUTH_LABEL);
        input.extend_from_slice(session_id.as_bytes());
        self.encode_signed_part(&mut input);
        input
    }

    /// Signs the transmission for this session with a queue key (replacing any
    /// earlier signature).
    pub fn sign(&mut self, session_id: &SessionId, key: &SigningKey) {
        self.signature = Some(key.sign(&self.signing_input(session_id)));
    }

    /// Checks the signature against a queue key; [`WireError::BadSignature`] when it
    /// is missing or wrong. Uses strict verification (no weak keys, canonical
    /// signatures).
    pub fn verify(&self, session_id: &SessionId, key: &VerifyingKey) -> Result<(), WireError> {
        let signature = self.signature.as_ref().ok_or(WireError::BadSignature)?;
        key.verify_strict(&self.signing_input(session_id), signature)
            .map_err(|_| WireError::BadSignature)
    }
}

impl fmt::Debug for Transmission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The body may hold a server password: print its size only.
        f.debug_struct("Transmission")
            .field("signed", &self.signature.is_some())
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

    fn session(byte: u8) -> SessionId {
        SessionId::from_bytes([byte; 32])
    }

    fn sample() -> Transmission {
        Transmission {
            signature: None,
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
    fn signatures_bind_the_session_and_every_signed_byte() {
        let key = SigningKey::from_bytes(&[9; 32]);
        let mut transmission = sample();
        assert_eq!(
            transmission.verify(&session(1), &key.verifying_key()),
            Err(WireError::BadSignature)
        );
        transmission.sign(&session(1), &key);
        assert_eq!(transmission.encode().len(), transmission.encoded_len());
        assert_eq!(
            transmission.verify(&session(1), &key.verifying_key()),
            Ok(())
        );
        // Replayed on another connection.
        assert_eq!(
            transmission.verify(&session(2), &key.verifying_key()),
            Err(WireError::BadSignature)
        );
        // Another key.
        let other = SigningKey::from_bytes(&[8; 32]).verifying_key();
        assert!(transmission.verify(&session(1), &other).is_err());
        // Any change to the signed part.
        let mut changed = transmission.clone();
        changed.corr_id = CorrId::from_bytes([3; 8]);
        assert!(changed.verify(&session(1), &key.verifying_key()).is_err());
        let mut changed = transmission.clone();
        changed.entity = None;
        assert!(changed.verify(&session(1), &key.verifying_key()).is_err());
        let mut changed = transmission.clone();
        changed.tag = 0x06;
        assert!(changed.verify(&session(1), &key.verifying_key()).is_err());
        let mut changed = transmission;
        changed.body.push(0);
        assert!(changed.verify(&session(1), &key.verifying_key()).is_err());
    }

    #[test]
    fn signing_input_starts_with_label_and_session() {
        let input = sample().signing_input(&session(5));
        assert!(input.starts_with(b"sotto-relay-auth-v1"));
        assert_eq!(&input[19..51], &[5; 32]);
        assert_eq!(&input[51..], &sample().encode()[1..]);
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
        bad_auth[0] = 63;
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
            .prop_map(|(signature, corr_id, entity, tag, body)| Transmission {
                signature: signature.map(|half| {
                    let mut bytes = [0; 64];
                    bytes[..32].copy_from_slice(&half);
                    bytes[32..].copy_from_slice(&half);
                    Signature::from_bytes(&bytes)
                }),
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
