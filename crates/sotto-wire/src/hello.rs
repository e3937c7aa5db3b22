//! The two plaintext hello blocks that open a connection.
//!
//! Every hello starts with `"SOTTOREL"` and a kind byte and is zero-padded to a
//! full block:
//! - ClientHello (kind 1): `min_version u16 | max_version u16 | client ephemeral
//!   X25519 (32) | suites_len u8 | suite ids`; the suite list is there when the
//!   client offers version 2 or later, so a relay can still read an older
//!   client's hello and reject it.
//! - ServerHello (kind 2): `version u16 | identity Ed25519 (32) | session X25519
//!   (32) | signature (64) | suite u8`
//! - VersionReject (kind 3): `relay min u16 | relay max u16`

use ed25519_dalek::{Signature, VerifyingKey};
use x25519_dalek::PublicKey as DhPublicKey;

use crate::WireError;
use crate::block::Block;
use crate::codec::Reader;
use crate::suite::CipherSuite;
use crate::version::{Version, VersionRange};

/// The first 8 bytes of every hello.
pub const HELLO_MAGIC: [u8; 8] = *b"SOTTOREL";

const KIND_CLIENT_HELLO: u8 = 1;
const KIND_SERVER_HELLO: u8 = 2;
const KIND_VERSION_REJECT: u8 = 3;

/// The client's first block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    /// The versions the client speaks.
    pub versions: VersionRange,
    /// The client's fresh X25519 public key.
    pub ephemeral_key: DhPublicKey,
    /// The cipher suites the client offers, preferred first: at least one when
    /// it offers version 2 or later, none (absent) for an older client.
    pub suites: Vec<CipherSuite>,
}

impl ClientHello {
    /// The hello block.
    pub fn encode(&self) -> Block {
        let mut block = Block::zeroed();
        let mut out = Vec::with_capacity(48);
        out.extend_from_slice(&HELLO_MAGIC);
        out.push(KIND_CLIENT_HELLO);
        out.extend_from_slice(&self.versions.min().number().to_be_bytes());
        out.extend_from_slice(&self.versions.max().number().to_be_bytes());
        out.extend_from_slice(self.ephemeral_key.as_bytes());
        if !self.suites.is_empty() {
            // At most the two defined suites, which fits in u8.
            out.push(self.suites.len() as u8);
            out.extend(self.suites.iter().map(|suite| suite.id()));
        }
        write_head(&mut block, &out);
        block
    }

    /// Parses a hello block from a client. The suite list must be there, valid
    /// and without repeats when the client offers version 2 or later, and absent
    /// otherwise.
    pub fn decode(block: &Block) -> Result<ClientHello, WireError> {
        let mut reader = Reader::new(block.as_bytes());
        expect_kind(&mut reader, KIND_CLIENT_HELLO)?;
        let versions = VersionRange::new(reader.u16()?, reader.u16()?)?;
        let ephemeral_key = DhPublicKey::from(reader.array::<32>()?);
        let mut suites = Vec::new();
        if versions.max() >= Version::V2 {
            let count = reader.u8()?;
            for _ in 0..count {
                let suite = CipherSuite::from_id(reader.u8()?).ok_or(WireError::InvalidSuites)?;
                if suites.contains(&suite) {
                    return Err(WireError::InvalidSuites);
                }
                suites.push(suite);
            }
            if suites.is_empty() {
                return Err(WireError::InvalidSuites);
            }
        }
        reader.finish_padding()?;
        Ok(ClientHello {
            versions,
            ephemeral_key,
            suites,
        })
    }
}

/// The relay's answer when the versions overlap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// The version both sides use from now on.
    pub version: Version,
    /// The relay's long-term identity key.
    pub identity_key: VerifyingKey,
    /// The relay's fresh X25519 session key.
    pub session_key: DhPublicKey,
    /// The identity key's signature over the handshake (see
    /// [`ServerHello::signing_input`]).
    pub signature: Signature,
    /// The cipher suite both sides use from now on.
    pub suite: CipherSuite,
}

impl ServerHello {
    /// `"sotto-relay-handshake-v2" || SHA-256(ClientHello block) || version u16 ||
    /// session public key || suite u8`.
    pub fn signing_input(
        client_hello_hash: &[u8; 32],
        version: Version,
        session_key: &DhPublicKey,
        suite: CipherSuite,
    ) -> Vec<u8> {
        let mut input = Vec::with_capacity(24 + 32 + 2 + 32 + 1);
        input.extend_from_slice(b"sotto-relay-handshake-v2");
        input.extend_from_slice(client_hello_hash);
        input.extend_from_slice(&version.number().to_be_bytes());
        input.extend_from_slice(session_key.as_bytes());
        input.push(suite.id());
        input
    }

    /// The hello block.
    pub fn encode(&self) -> Block {
        let mut block = Block::zeroed();
        let mut out = Vec::with_capacity(140);
        out.extend_from_slice(&HELLO_MAGIC);
        out.push(KIND_SERVER_HELLO);
        out.extend_from_slice(&self.version.number().to_be_bytes());
        out.extend_from_slice(self.identity_key.as_bytes());
        out.extend_from_slice(self.session_key.as_bytes());
        out.extend_from_slice(&self.signature.to_bytes());
        out.push(self.suite.id());
        write_head(&mut block, &out);
        block
    }
}

/// The relay's answer when the versions do not overlap; the relay closes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionReject {
    /// The versions the relay speaks.
    pub relay_versions: VersionRange,
}

impl VersionReject {
    /// The reject block.
    pub fn encode(&self) -> Block {
        let mut block = Block::zeroed();
        let mut out = Vec::with_capacity(13);
        out.extend_from_slice(&HELLO_MAGIC);
        out.push(KIND_VERSION_REJECT);
        out.extend_from_slice(&self.relay_versions.min().number().to_be_bytes());
        out.extend_from_slice(&self.relay_versions.max().number().to_be_bytes());
        write_head(&mut block, &out);
        block
    }
}

/// What a relay answers a ClientHello with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerReply {
    /// The handshake goes on.
    Hello(Box<ServerHello>),
    /// No common version.
    Reject(VersionReject),
}

impl ServerReply {
    /// The reply block.
    pub fn encode(&self) -> Block {
        match self {
            ServerReply::Hello(hello) => hello.encode(),
            ServerReply::Reject(reject) => reject.encode(),
        }
    }

    /// Parses the relay's answer block.
    pub fn decode(block: &Block) -> Result<ServerReply, WireError> {
        let mut reader = Reader::new(block.as_bytes());
        if reader.array::<8>()? != HELLO_MAGIC {
            return Err(WireError::BadMagic);
        }
        let reply = match reader.u8()? {
            KIND_SERVER_HELLO => {
                let version = Version::new(reader.u16()?)?;
                let identity_key = VerifyingKey::from_bytes(&reader.array()?)
                    .map_err(|_| WireError::BadSignature)?;
                let session_key = DhPublicKey::from(reader.array::<32>()?);
                let signature = Signature::from_bytes(&reader.array()?);
                let suite = CipherSuite::from_id(reader.u8()?).ok_or(WireError::InvalidSuites)?;
                ServerReply::Hello(Box::new(ServerHello {
                    version,
                    identity_key,
                    session_key,
                    signature,
                    suite,
                }))
            }
            KIND_VERSION_REJECT => ServerReply::Reject(VersionReject {
                relay_versions: VersionRange::new(reader.u16()?, reader.u16()?)?,
            }),
            kind => return Err(WireError::UnexpectedHelloKind(kind)),
        };
        reader.finish_padding()?;
        Ok(reply)
    }
}

fn expect_kind(reader: &mut Reader<'_>, expected: u8) -> Result<(), WireError> {
    if reader.array::<8>()? != HELLO_MAGIC {
        return Err(WireError::BadMagic);
    }
    match reader.u8()? {
        kind if kind == expected => Ok(()),
        kind => Err(WireError::UnexpectedHelloKind(kind)),
    }
}

/// Writes a hello's fields at the start of a zeroed block.
fn write_head(block: &mut Block, head: &[u8]) {
    if let Some(start) = block.as_mut_bytes().get_mut(..head.len()) {
        start.copy_from_slice(head);
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::block::BLOCK_SIZE;

    fn client_hello() -> ClientHello {
        ClientHello {
            versions: VersionRange::new(1, 3).unwrap(),
            ephemeral_key: DhPublicKey::from([7; 32]),
            suites: vec![CipherSuite::ChaCha20Poly1305, CipherSuite::Aes256Gcm],
        }
    }

    fn server_hello() -> ServerHello {
        ServerHello {
            version: Version::V2,
            identity_key: SigningKey::from_bytes(&[1; 32]).verifying_key(),
            session_key: DhPublicKey::from([2; 32]),
            signature: Signature::from_bytes(&[3; 64]),
            suite: CipherSuite::Aes256Gcm,
        }
    }

    #[test]
    fn client_hello_layout() {
        let block = client_hello().encode();
        let bytes = block.as_bytes();
        assert_eq!(bytes.len(), BLOCK_SIZE);
        assert_eq!(&bytes[..8], b"SOTTOREL");
        assert_eq!(&bytes[8..13], &[1, 0, 1, 0, 3]);
        assert_eq!(&bytes[13..45], &[7; 32]);
        assert_eq!(&bytes[45..48], &[2, 2, 1]);
        assert!(bytes[48..].iter().all(|&b| b == 0));
        assert_eq!(ClientHello::decode(&block), Ok(client_hello()));
    }

    #[test]
    fn an_older_clients_hello_has_no_suites_and_still_decodes() {
        let old = ClientHello {
            versions: VersionRange::new(1, 1).unwrap(),
            ephemeral_key: DhPublicKey::from([7; 32]),
            suites: Vec::new(),
        };
        let block = old.encode();
        assert!(block.as_bytes()[45..].iter().all(|&b| b == 0));
        assert_eq!(ClientHello::decode(&block), Ok(old));
    }

    #[test]
    fn suite_lists_must_be_valid() {
        let good = client_hello().encode().into_vec();
        let with = |index: usize, value: u8| {
            let mut bytes = good.clone();
            bytes[index] = value;
            Block::from_vec(bytes).unwrap()
        };
        // Empty, unknown id, a repeat, a count past the ids.
        for (index, value) in [(45, 0), (46, 3), (47, 2), (45, 3)] {
            assert!(
                ClientHello::decode(&with(index, value)).is_err(),
                "{index}={value}"
            );
        }
        assert_eq!(
            ClientHello::decode(&with(46, 9)),
            Err(WireError::InvalidSuites)
        );
    }

    #[test]
    fn server_replies_round_trip() {
        let hello = ServerReply::Hello(Box::new(server_hello()));
        let block = hello.encode();
        assert_eq!(block.as_bytes()[8], 2);
        assert_eq!(&block.as_bytes()[75..139], &[3; 64]);
        assert_eq!(block.as_bytes()[139], 1);
        assert!(block.as_bytes()[140..].iter().all(|&b| b == 0));
        assert_eq!(ServerReply::decode(&block), Ok(hello));

        let reject = ServerReply::Reject(VersionReject {
            relay_versions: VersionRange::new(2, 4).unwrap(),
        });
        let block = reject.encode();
        assert_eq!(&block.as_bytes()[8..13], &[3, 0, 2, 0, 4]);
        assert_eq!(ServerReply::decode(&block), Ok(reject));
    }

    proptest::proptest! {
        #[test]
        fn hellos_round_trip(
            min in 1u16..,
            span in 0u16..10,
            key in proptest::prelude::any::<[u8; 32]>(),
            seed in proptest::prelude::any::<[u8; 32]>(),
            signature in proptest::prelude::any::<[u8; 32]>(),
        ) {
            let versions = VersionRange::new(min, min.saturating_add(span)).unwrap();
            let suites = if versions.max() >= Version::V2 {
                vec![CipherSuite::Aes256Gcm]
            } else {
                Vec::new()
            };
            let hello = ClientHello { versions, ephemeral_key: DhPublicKey::from(key), suites };
            proptest::prop_assert_eq!(ClientHello::decode(&hello.encode()), Ok(hello));

            let mut signature_bytes = [0; 64];
            signature_bytes[..32].copy_from_slice(&signature);
            let reply = ServerReply::Hello(Box::new(ServerHello {
                version: versions.max(),
                identity_key: SigningKey::from_bytes(&seed).verifying_key(),
                session_key: DhPublicKey::from(key),
                signature: Signature::from_bytes(&signature_bytes),
                suite: CipherSuite::ChaCha20Poly1305,
            }));
            proptest::prop_assert_eq!(ServerReply::decode(&reply.encode()), Ok(reply));
            let reject = ServerReply::Reject(VersionReject { relay_versions: versions });
            proptest::prop_assert_eq!(ServerReply::decode(&reject.encode()), Ok(reject));
        }

        #[test]
        fn decoding_arbitrary_heads_never_panics(
            head in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..160),
            magic in proptest::prelude::any::<bool>(),
        ) {
            let mut bytes = vec![0; BLOCK_SIZE];
            bytes[..head.len()].copy_from_slice(&head);
            if magic {
                bytes[..8].copy_from_slice(&HELLO_MAGIC);
            }
            let block = Block::from_vec(bytes).unwrap();
            if let Ok(hello) = ClientHello::decode(&block) {
                proptest::prop_assert_eq!(hello.encode(), block.clone());
            }
            if let Ok(reply) = ServerReply::decode(&block) {
                proptest::prop_assert_eq!(reply.encode(), block);
            }
        }
    }

    #[test]
    fn malformed_hellos_are_refused() {
        let good = client_hello().encode().into_vec();
        let with = |index: usize, value: u8| {
            let mut bytes = good.clone();
            bytes[index] = value;
            Block::from_vec(bytes).unwrap()
        };
        assert_eq!(
            ClientHello::decode(&with(0, b's')),
            Err(WireError::BadMagic)
        );
        assert_eq!(
            ClientHello::decode(&with(8, 2)),
            Err(WireError::UnexpectedHelloKind(2))
        );
        assert_eq!(
            ClientHello::decode(&with(10, 0)),
            Err(WireError::InvalidVersion)
        );
        assert_eq!(
            ClientHello::decode(&with(10, 9)),
            Err(WireError::InvalidVersion)
        );
        assert_eq!(
            ClientHello::decode(&with(BLOCK_SIZE - 1, 1)),
            Err(WireError::NonZeroPadding)
        );
        assert_eq!(
            ServerReply::decode(&client_hello().encode()),
            Err(WireError::UnexpectedHelloKind(1))
        );

        let good = server_hello().encode().into_vec();
        let with = |index: usize, value: u8| {
            let mut bytes = good.clone();
            bytes[index] = value;
            Block::from_vec(bytes).unwrap()
        };
        assert_eq!(
            ServerReply::decode(&with(10, 0)),
            Err(WireError::InvalidVersion)
        );
        assert_eq!(
            ServerReply::decode(&with(140, 1)),
            Err(WireError::NonZeroPadding)
        );
        assert_eq!(
            ServerReply::decode(&with(139, 0)),
            Err(WireError::InvalidSuites)
        );
        assert_eq!(
            ServerReply::decode(&with(8, 4)),
            Err(WireError::UnexpectedHelloKind(4))
        );
        assert_eq!(
            ServerReply::decode(&Block::from_vec(vec![0; BLOCK_SIZE]).unwrap()),
            Err(WireError::BadMagic)
        );
    }
}
