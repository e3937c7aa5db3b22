//! The relay handshake, as states consumed on each transition.
//!
//! ```text
//! client                                   relay
//! ClientHandshake::start ── ClientHello ──▶ ServerHandshake::handle_client_hello
//!         ◀── ServerHello (or VersionReject, then close) ──
//! ClientHandshake::handle_server_hello
//!         ═════════ encrypted blocks (Transport) ═════════
//! ```
//!
//! Key schedule: `session_id = SHA-256("sotto-relay-session-v2" || ClientHello
//! block || ServerHello block)`, `shared = X25519(client ephemeral, relay
//! session key)`, and each direction's key is `HKDF-SHA256(salt = session_id,
//! ikm = shared, info = "sotto-relay-v2 client-to-relay" or
//! "sotto-relay-v2 relay-to-client")` for the suite the relay chose from the
//! client's list. The relay keeps its session secret for the connection's
//! lifetime: command keys are derived from it (see `auth`).

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use x25519_dalek::{PublicKey as DhPublicKey, SharedSecret, StaticSecret};
use zeroize::Zeroizing;

use crate::WireError;
use crate::address::RelayFingerprint;
use crate::auth::RelaySessionAuth;
use crate::block::Block;
use crate::hello::{ClientHello, ServerHello, ServerReply, VersionReject};
use crate::identity::RelayIdentity;
use crate::suite::CipherSuite;
use crate::transport::{BlockOpener, BlockSealer, SessionId, SessionParameters, Transport};
use crate::version::VersionRange;

const SESSION_LABEL: &[u8] = b"sotto-relay-session-v2";
const CLIENT_TO_RELAY: &[u8] = b"sotto-relay-v2 client-to-relay";
const RELAY_TO_CLIENT: &[u8] = b"sotto-relay-v2 relay-to-client";

/// A client that sent its ClientHello and waits for the relay's reply.
pub struct ClientHandshake {
    ephemeral: StaticSecret,
    versions: VersionRange,
    suites: Vec<CipherSuite>,
    client_hello_hash: [u8; 32],
    /// The session transcript so far: label and ClientHello.
    transcript: Sha256,
}

impl ClientHandshake {
    /// Starts a handshake with a fresh random X25519 secret (32 bytes from the
    /// caller's RNG, used for this connection only) and the versions the client
    /// speaks ([`VersionRange::SUPPORTED`]; wider ranges only make sense for
    /// testing negotiation), offering the suites this build prefers
    /// ([`CipherSuite::offered`]). Send the returned block first.
    pub fn start(ephemeral_secret: [u8; 32], versions: VersionRange) -> (ClientHandshake, Block) {
        ClientHandshake::start_with_suites(ephemeral_secret, versions, CipherSuite::offered())
    }

    /// [`ClientHandshake::start`] offering `suites`, preferred first (one at
    /// least; only suites this build has).
    pub fn start_with_suites(
        ephemeral_secret: [u8; 32],
        versions: VersionRange,
        suites: &[CipherSuite],
    ) -> (ClientHandshake, Block) {
        let ephemeral = StaticSecret::from(ephemeral_secret);
        let mut offered: Vec<CipherSuite> = Vec::with_capacity(suites.len());
        for &suite in suites {
            if suite.is_available() && !offered.contains(&suite) {
                offered.push(suite);
            }
        }
        if offered.is_empty() {
            offered.push(CipherSuite::ChaCha20Poly1305);
        }
        let hello = ClientHello {
            versions,
            ephemeral_key: DhPublicKey::from(&ephemeral),
            suites: offered.clone(),
        }
        .encode();
        let mut transcript = Sha256::new();
        transcript.update(SESSION_LABEL);
        transcript.update(hello.as_bytes());
        let handshake = ClientHandshake {
            ephemeral,
            versions,
            suites: offered,
            client_hello_hash: Sha256::digest(hello.as_bytes()).into(),
            transcript,
        };
        (handshake, hello)
    }

    /// Checks the relay's reply against the fingerprint from its address and
    /// derives the transport. Refuses a version reject
    /// ([`WireError::VersionRejected`]), an identity that does not match
    /// ([`WireError::FingerprintMismatch`]), a version the client did not offer,
    /// a bad signature, and a low-order session key. On any error close the
    /// connection.
    pub fn handle_server_hello(
        self,
        block: &Block,
        expected: &RelayFingerprint,
    ) -> Result<Transport, WireError> {
        let hello = match ServerReply::decode(block)? {
            ServerReply::Hello(hello) => hello,
            ServerReply::Reject(VersionReject { relay_versions }) => {
                return Err(WireError::VersionRejected {
                    relay_min: relay_versions.min().number(),
                    relay_max: relay_versions.max().number(),
                });
            }
        };
        let fingerprint = RelayFingerprint::of(&hello.identity_key);
        if !bool::from(fingerprint.ct_eq(expected)) {
            return Err(WireError::FingerprintMismatch);
        }
        if !self.versions.contains(hello.version) {
            return Err(WireError::VersionNotOffered {
                version: hello.version.number(),
            });
        }
        if !self.suites.contains(&hello.suite) {
            return Err(WireError::SuiteNotOffered);
        }
        let signed = ServerHello::signing_input(
            &self.client_hello_hash,
            hello.version,
            &hello.session_key,
            hello.suite,
        );
        hello
            .identity_key
            .verify_strict(&signed, &hello.signature)
            .map_err(|_| WireError::BadSignature)?;
        let shared = self.ephemeral.diffie_hellman(&hello.session_key);
        if !shared.was_contributory() {
            return Err(WireError::LowOrderKey);
        }
        let mut transcript = self.transcript;
        transcript.update(block.as_bytes());
        let session_id = SessionId::from_bytes(transcript.finalize().into());
        let keys = DirectionKeys::derive(&shared, &session_id)?;
        let parameters = SessionParameters {
            session_id,
            version: hello.version,
            suite: hello.suite,
            relay_session_key: hello.session_key,
        };
        Ok(Transport::new(
            parameters,
            BlockSealer::new(hello.suite, &keys.client_to_relay)?,
            BlockOpener::new(hello.suite, &keys.relay_to_client)?,
        ))
    }
}

impl fmt::Debug for ClientHandshake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientHandshake")
            .field("versions", &self.versions)
            .finish_non_exhaustive()
    }
}

/// A relay waiting for a client's ClientHello.
pub struct ServerHandshake {
    session_secret: StaticSecret,
    versions: VersionRange,
}

/// What the relay does after a ClientHello.
// Made and taken apart once per connection: boxing the larger variant would buy
// nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum ServerHandshakeOutcome {
    /// Send `server_hello`, then speak encrypted blocks through `transport`.
    Accepted {
        /// The ServerHello block to send.
        server_hello: Block,
        /// The established transport.
        transport: Transport,
        /// Derives the command keys that check this connection's commands.
        auth: RelaySessionAuth,
    },
    /// No common version: send `version_reject`, then close.
    Rejected {
        /// The VersionReject block to send.
        version_reject: Block,
    },
}

impl ServerHandshake {
    /// A handshake with a fresh random X25519 session secret (32 bytes from the
    /// relay's RNG, used for this connection only) and the versions the relay
    /// speaks ([`VersionRange::SUPPORTED`]; wider ranges only make sense for
    /// testing negotiation).
    pub fn new(session_secret: [u8; 32], versions: VersionRange) -> ServerHandshake {
        ServerHandshake {
            session_secret: StaticSecret::from(session_secret),
            versions,
        }
    }

    /// Answers a ClientHello. An error (malformed hello, no common cipher
    /// suite, or a low-order client key) means: close without a reply.
    pub fn handle_client_hello(
        self,
        block: &Block,
        identity: &RelayIdentity,
    ) -> Result<ServerHandshakeOutcome, WireError> {
        let client_hello = ClientHello::decode(block)?;
        let Some(version) = VersionRange::negotiate(client_hello.versions, self.versions) else {
            return Ok(ServerHandshakeOutcome::Rejected {
                version_reject: VersionReject {
                    relay_versions: self.versions,
                }
                .encode(),
            });
        };
        let suite = client_hello
            .suites
            .iter()
            .copied()
            .find(|suite| suite.is_available())
            .ok_or(WireError::NoCommonSuite)?;
        let shared = self
            .session_secret
            .diffie_hellman(&client_hello.ephemeral_key);
        if !shared.was_contributory() {
            return Err(WireError::LowOrderKey);
        }
        let session_key = DhPublicKey::from(&self.session_secret);
        let client_hello_hash: [u8; 32] = Sha256::digest(block.as_bytes()).into();
        let signature = identity.sign(&ServerHello::signing_input(
            &client_hello_hash,
            version,
            &session_key,
            suite,
        ));
        let server_hello = ServerHello {
            version,
            identity_key: identity.public_key(),
            session_key,
            signature,
            suite,
        }
        .encode();
        let mut transcript = Sha256::new();
        transcript.update(SESSION_LABEL);
        transcript.update(block.as_bytes());
        transcript.update(server_hello.as_bytes());
        let session_id = SessionId::from_bytes(transcript.finalize().into());
        let keys = DirectionKeys::derive(&shared, &session_id)?;
        let parameters = SessionParameters {
            session_id,
            version,
            suite,
            relay_session_key: session_key,
        };
        Ok(ServerHandshakeOutcome::Accepted {
            server_hello,
            transport: Transport::new(
                parameters,
                BlockSealer::new(suite, &keys.relay_to_client)?,
                BlockOpener::new(suite, &keys.client_to_relay)?,
            ),
            auth: RelaySessionAuth::new(self.session_secret, session_id),
        })
    }
}

impl fmt::Debug for ServerHandshake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandshake")
            .field("versions", &self.versions)
            .finish_non_exhaustive()
    }
}

/// The two direction keys, zeroized when dropped.
struct DirectionKeys {
    client_to_relay: Zeroizing<[u8; 32]>,
    relay_to_client: Zeroizing<[u8; 32]>,
}

impl DirectionKeys {
    fn derive(shared: &SharedSecret, session_id: &SessionId) -> Result<DirectionKeys, WireError> {
        let hkdf = hkdf::Hkdf::<Sha256>::new(Some(session_id.as_bytes()), shared.as_bytes());
        let mut keys = DirectionKeys {
            client_to_relay: Zeroizing::new([0; 32]),
            relay_to_client: Zeroizing::new([0; 32]),
        };
        let too_long = |_| WireError::LengthOutOfRange {
            field: "session key",
        };
        hkdf.expand(CLIENT_TO_RELAY, keys.client_to_relay.as_mut())
            .map_err(too_long)?;
        hkdf.expand(RELAY_TO_CLIENT, keys.relay_to_client.as_mut())
            .map_err(too_long)?;
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::{Signature, SigningKey};

    use super::*;
    use crate::block::{BLOCK_SIZE, InnerBlock};
    use crate::version::Version;

    fn identity() -> RelayIdentity {
        RelayIdentity::from_secret_bytes([42; 32])
    }

    fn accept(outcome: ServerHandshakeOutcome) -> (Block, Transport) {
        match outcome {
            ServerHandshakeOutcome::Accepted {
                server_hello,
                transport,
                ..
            } => (server_hello, transport),
            ServerHandshakeOutcome::Rejected { .. } => panic!("rejected"),
        }
    }

    fn connect() -> (Transport, Transport) {
        let identity = identity();
        let (client, client_hello) = ClientHandshake::start([1; 32], VersionRange::SUPPORTED);
        let server = ServerHandshake::new([2; 32], VersionRange::SUPPORTED);
        let (server_hello, server_transport) = accept(
            server
                .handle_client_hello(&client_hello, &identity)
                .unwrap(),
        );
        let client_transport = client
            .handle_server_hello(&server_hello, &identity.fingerprint())
            .unwrap();
        (client_transport, server_transport)
    }

    fn batch(byte: u8) -> InnerBlock {
        let mut batch = InnerBlock::new();
        batch.push_encoded(vec![byte; 3]).unwrap();
        batch
    }

    #[test]
    fn both_ends_agree_and_talk_both_ways() {
        let (mut client, mut server) = connect();
        assert_eq!(client.session_id(), server.session_id());
        assert_eq!(client.version(), Version::V2);
        assert_eq!(server.version(), Version::V2);
        assert_eq!(client.suite(), CipherSuite::offered()[0]);
        assert_eq!(client.suite(), server.suite());
        for byte in 0..3 {
            let block = client.seal(&batch(byte)).unwrap();
            assert_eq!(server.open(block).unwrap(), batch(byte));
            let block = server.seal(&batch(byte + 10)).unwrap();
            assert_eq!(client.open(block).unwrap(), batch(byte + 10));
        }
    }

    #[test]
    fn directions_use_different_keys() {
        let (mut client, mut server) = connect();
        // A block reflected back to its sender does not open.
        let block = client.seal(&batch(1)).unwrap();
        assert_eq!(client.open(block), Err(WireError::DecryptFailed));
        let block = server.seal(&batch(1)).unwrap();
        assert_eq!(server.open(block), Err(WireError::DecryptFailed));
    }

    #[test]
    fn session_ids_differ_per_connection() {
        let identity = identity();
        let run = |client_secret, server_secret| {
            let (client, hello) = ClientHandshake::start(client_secret, VersionRange::SUPPORTED);
            let server = ServerHandshake::new(server_secret, VersionRange::SUPPORTED);
            let (reply, _) = accept(server.handle_client_hello(&hello, &identity).unwrap());
            client
                .handle_server_hello(&reply, &identity.fingerprint())
                .unwrap()
                .session_id()
        };
        assert_ne!(run([1; 32], [2; 32]), run([3; 32], [2; 32]));
        assert_ne!(run([1; 32], [2; 32]), run([1; 32], [4; 32]));
    }

    #[test]
    fn a_wrong_fingerprint_is_refused() {
        let identity = identity();
        let (client, hello) = ClientHandshake::start([1; 32], VersionRange::SUPPORTED);
        let server = ServerHandshake::new([2; 32], VersionRange::SUPPORTED);
        let (reply, _) = accept(server.handle_client_hello(&hello, &identity).unwrap());
        let other = RelayIdentity::from_secret_bytes([43; 32]).fingerprint();
        assert_eq!(
            client.handle_server_hello(&reply, &other).map(|_| ()),
            Err(WireError::FingerprintMismatch)
        );
    }

    #[test]
    fn an_impostor_with_the_right_public_key_but_no_secret_is_refused() {
        // The impostor copies the real identity key into its hello but signs with
        // its own key.
        let real = identity();
        let impostor = RelayIdentity::from_secret_bytes([7; 32]);
        let (client, hello) = ClientHandshake::start([1; 32], VersionRange::SUPPORTED);
        let server = ServerHandshake::new([2; 32], VersionRange::SUPPORTED);
        let (reply, _) = accept(server.handle_client_hello(&hello, &impostor).unwrap());
        let ServerReply::Hello(mut forged) = ServerReply::decode(&reply).unwrap() else {
            panic!("not a hello");
        };
        forged.identity_key = real.public_key();
        assert_eq!(
            client
                .handle_server_hello(&forged.encode(), &real.fingerprint())
                .map(|_| ()),
            Err(WireError::BadSignature)
        );
    }

    #[test]
    fn a_signature_over_another_client_hello_is_refused() {
        // A recorded ServerHello replayed to a new client.
        let identity = identity();
        let (_, old_hello) = ClientHandshake::start([1; 32], VersionRange::SUPPORTED);
        let server = ServerHandshake::new([2; 32], VersionRange::SUPPORTED);
        let (recorded, _) = accept(server.handle_client_hello(&old_hello, &identity).unwrap());
        let (client, _) = ClientHandshake::start([3; 32], VersionRange::SUPPORTED);
        assert_eq!(
            client
                .handle_server_hello(&recorded, &identity.fingerprint())
                .map(|_| ()),
            Err(WireError::BadSignature)
        );
    }

    #[test]
    fn a_tampered_session_key_or_signature_is_refused() {
        let identity = identity();
        for index in [44, 100] {
            let (client, hello) = ClientHandshake::start([1; 32], VersionRange::SUPPORTED);
            let server = ServerHandshake::new([2; 32], VersionRange::SUPPORTED);
            let (reply, _) = accept(server.handle_client_hello(&hello, &identity).unwrap());
            let mut bytes = reply.into_vec();
            bytes[index] ^= 1;
            let result = client
                .handle_server_hello(&Block::from_vec(bytes).unwrap(), &identity.fingerprint());
            assert_eq!(result.map(|_| ()), Err(WireError::BadSignature), "{index}");
        }
    }

    /// A ServerHello validly signed by the real identity over a low-order key.
    fn signed_hello(client_hello: &Block, session_key: [u8; 32]) -> Block {
        let identity = identity();
        let session_key = DhPublicKey::from(session_key);
        let hash: [u8; 32] = Sha256::digest(client_hello.as_bytes()).into();
        ServerHello {
            version: Version::V2,
            identity_key: identity.public_key(),
            session_key,
            signature: identity.sign(&ServerHello::signing_input(
                &hash,
                Version::V2,
                &session_key,
                CipherSuite::ChaCha20Poly1305,
            )),
            suite: CipherSuite::ChaCha20Poly1305,
        }
        .encode()
    }

    #[test]
    fn low_order_session_keys_are_refused_by_the_client() {
        let mut one = [0; 32];
        one[0] = 1;
        for key in [[0; 32], one] {
            let (client, hello) = ClientHandshake::start([1; 32], VersionRange::SUPPORTED);
            let reply = signed_hello(&hello, key);
            assert_eq!(
                client
                    .handle_server_hello(&reply, &identity().fingerprint())
                    .map(|_| ()),
                Err(WireError::LowOrderKey)
            );
        }
    }

    #[test]
    fn low_order_client_keys_are_refused_by_the_relay() {
        let hello = ClientHello {
            versions: VersionRange::SUPPORTED,
            ephemeral_key: DhPublicKey::from([0; 32]),
            suites: vec![CipherSuite::ChaCha20Poly1305],
        }
        .encode();
        let server = ServerHandshake::new([2; 32], VersionRange::SUPPORTED);
        assert_eq!(
            server.handle_client_hello(&hello, &identity()).map(|_| ()),
            Err(WireError::LowOrderKey)
        );
    }

    #[test]
    fn versions_negotiate_to_the_lower_maximum() {
        let identity = identity();
        let client_versions = VersionRange::new(1, 3).unwrap();
        let relay_versions = VersionRange::new(2, 5).unwrap();
        let (client, hello) = ClientHandshake::start([1; 32], client_versions);
        let server = ServerHandshake::new([2; 32], relay_versions);
        let (reply, server_transport) =
            accept(server.handle_client_hello(&hello, &identity).unwrap());
        assert_eq!(server_transport.version().number(), 3);
        let transport = client
            .handle_server_hello(&reply, &identity.fingerprint())
            .unwrap();
        assert_eq!(transport.version().number(), 3);
    }

    #[test]
    fn disjoint_versions_are_rejected_with_the_relay_range() {
        let identity = identity();
        let (client, hello) = ClientHandshake::start([1; 32], VersionRange::new(3, 4).unwrap());
        let server = ServerHandshake::new([2; 32], VersionRange::SUPPORTED);
        let outcome = server.handle_client_hello(&hello, &identity).unwrap();
        let ServerHandshakeOutcome::Rejected { version_reject } = outcome else {
            panic!("accepted");
        };
        assert_eq!(version_reject.as_bytes().len(), BLOCK_SIZE);
        assert_eq!(
            client
                .handle_server_hello(&version_reject, &identity.fingerprint())
                .map(|_| ()),
            Err(WireError::VersionRejected {
                relay_min: 2,
                relay_max: 2
            })
        );
    }

    #[test]
    fn a_version_the_client_did_not_offer_is_refused() {
        let identity = identity();
        let (client, hello) = ClientHandshake::start([1; 32], VersionRange::SUPPORTED);
        let server = ServerHandshake::new([2; 32], VersionRange::SUPPORTED);
        let (reply, _) = accept(server.handle_client_hello(&hello, &identity).unwrap());
        let ServerReply::Hello(mut hello) = ServerReply::decode(&reply).unwrap() else {
            panic!("not a hello");
        };
        hello.version = Version::new(3).unwrap();
        assert_eq!(
            client
                .handle_server_hello(&hello.encode(), &identity.fingerprint())
                .map(|_| ()),
            Err(WireError::VersionNotOffered { version: 3 })
        );
    }

    #[test]
    fn the_relay_takes_the_clients_first_suite_and_the_client_checks_it() {
        let identity = identity();
        for suites in [
            [CipherSuite::ChaCha20Poly1305, CipherSuite::Aes256Gcm],
            [CipherSuite::Aes256Gcm, CipherSuite::ChaCha20Poly1305],
        ] {
            let (client, hello) =
                ClientHandshake::start_with_suites([1; 32], VersionRange::SUPPORTED, &suites);
            let server = ServerHandshake::new([2; 32], VersionRange::SUPPORTED);
            let (reply, relay) = accept(server.handle_client_hello(&hello, &identity).unwrap());
            assert_eq!(relay.suite(), suites[0]);
            let transport = client
                .handle_server_hello(&reply, &identity.fingerprint())
                .unwrap();
            assert_eq!(transport.suite(), suites[0]);
        }
        // A relay that picks a suite the client did not offer (signed, so only a
        // relay could do it) is refused.
        let (client, hello) = ClientHandshake::start_with_suites(
            [1; 32],
            VersionRange::SUPPORTED,
            &[CipherSuite::Aes256Gcm],
        );
        let mut one = [0; 32];
        one[0] = 9;
        let reply = signed_hello(&hello, one);
        assert_eq!(
            client
                .handle_server_hello(&reply, &identity.fingerprint())
                .map(|_| ()),
            Err(WireError::SuiteNotOffered)
        );
    }

    #[test]
    fn an_older_client_gets_a_version_reject() {
        let old = ClientHello {
            versions: VersionRange::new(1, 1).unwrap(),
            ephemeral_key: DhPublicKey::from([9; 32]),
            suites: Vec::new(),
        }
        .encode();
        let server = ServerHandshake::new([2; 32], VersionRange::SUPPORTED);
        assert!(matches!(
            server.handle_client_hello(&old, &identity()),
            Ok(ServerHandshakeOutcome::Rejected { .. })
        ));
    }

    #[test]
    fn malformed_hellos_fail_on_both_sides() {
        let garbage = Block::from_vec(vec![0xff; BLOCK_SIZE]).unwrap();
        let server = ServerHandshake::new([2; 32], VersionRange::SUPPORTED);
        assert_eq!(
            server
                .handle_client_hello(&garbage, &identity())
                .map(|_| ()),
            Err(WireError::BadMagic)
        );
        let (client, hello) = ClientHandshake::start([1; 32], VersionRange::SUPPORTED);
        assert!(
            client
                .handle_server_hello(&garbage, &identity().fingerprint())
                .is_err()
        );
        let (client, _) = ClientHandshake::start([1; 32], VersionRange::SUPPORTED);
        // The client's own hello echoed back.
        assert_eq!(
            client
                .handle_server_hello(&hello, &identity().fingerprint())
                .map(|_| ()),
            Err(WireError::UnexpectedHelloKind(1))
        );
    }

    #[test]
    fn the_server_hello_signature_is_over_the_documented_input() {
        let identity = identity();
        let (_, hello) = ClientHandshake::start([1; 32], VersionRange::SUPPORTED);
        let server = ServerHandshake::new([2; 32], VersionRange::SUPPORTED);
        let (reply, _) = accept(server.handle_client_hello(&hello, &identity).unwrap());
        let bytes = reply.as_bytes();
        let mut input = b"sotto-relay-handshake-v2".to_vec();
        input.extend_from_slice(&Sha256::digest(hello.as_bytes()));
        input.extend_from_slice(&bytes[9..11]);
        input.extend_from_slice(&bytes[43..75]);
        input.push(bytes[139]);
        let signature = Signature::from_bytes(bytes[75..139].try_into().unwrap());
        assert!(
            identity
                .public_key()
                .verify_strict(&input, &signature)
                .is_ok()
        );
        assert_eq!(&bytes[11..43], identity.public_key().as_bytes());
    }

    #[test]
    fn the_key_schedule_matches_the_documented_derivation() {
        let identity = identity();
        let (client, hello) = ClientHandshake::start([1; 32], VersionRange::SUPPORTED);
        let server = ServerHandshake::new([2; 32], VersionRange::SUPPORTED);
        let (reply, _) = accept(server.handle_client_hello(&hello, &identity).unwrap());
        let mut transport = client
            .handle_server_hello(&reply, &identity.fingerprint())
            .unwrap();

        let mut session = Sha256::new();
        session.update(b"sotto-relay-session-v2");
        session.update(hello.as_bytes());
        session.update(reply.as_bytes());
        let session_id: [u8; 32] = session.finalize().into();
        assert_eq!(transport.session_id().as_bytes(), &session_id);

        let shared = StaticSecret::from([1; 32])
            .diffie_hellman(&DhPublicKey::from(&StaticSecret::from([2; 32])));
        let hkdf = hkdf::Hkdf::<Sha256>::new(Some(&session_id), shared.as_bytes());
        let mut key = [0; 32];
        hkdf.expand(b"sotto-relay-v2 client-to-relay", &mut key)
            .unwrap();
        let mut opener = BlockOpener::new(transport.suite(), &key).unwrap();
        assert_eq!(
            opener.open(transport.seal(&batch(9)).unwrap()).unwrap(),
            batch(9)
        );
    }

    proptest::proptest! {
        #[test]
        fn any_secrets_and_ranges_agree_or_reject_cleanly(
            client_secret in proptest::prelude::any::<[u8; 32]>(),
            relay_secret in proptest::prelude::any::<[u8; 32]>(),
            client_range in (2u16..6, 0u16..4),
            relay_range in (2u16..6, 0u16..4),
        ) {
            let identity = identity();
            let client_versions =
                VersionRange::new(client_range.0, client_range.0 + client_range.1).unwrap();
            let relay_versions =
                VersionRange::new(relay_range.0, relay_range.0 + relay_range.1).unwrap();
            let (client, hello) = ClientHandshake::start(client_secret, client_versions);
            let outcome = ServerHandshake::new(relay_secret, relay_versions)
                .handle_client_hello(&hello, &identity)
                .unwrap();
            let result = match outcome {
                ServerHandshakeOutcome::Accepted { server_hello, transport: mut relay, .. } => {
                    let mut client = client
                        .handle_server_hello(&server_hello, &identity.fingerprint())
                        .unwrap();
                    proptest::prop_assert_eq!(client.session_id(), relay.session_id());
                    proptest::prop_assert_eq!(client.version(), relay.version());
                    proptest::prop_assert_eq!(
                        relay.open(client.seal(&batch(1)).unwrap()).unwrap(),
                        batch(1)
                    );
                    proptest::prop_assert_eq!(
                        client.open(relay.seal(&batch(2)).unwrap()).unwrap(),
                        batch(2)
                    );
                    Some(client.version())
                }
                ServerHandshakeOutcome::Rejected { version_reject } => {
                    let refused = client.handle_server_hello(&version_reject, &identity.fingerprint());
                    let is_rejected = matches!(refused, Err(WireError::VersionRejected { .. }));
                    proptest::prop_assert!(is_rejected);
                    None
                }
            };
            proptest::prop_assert_eq!(
                result,
                VersionRange::negotiate(client_versions, relay_versions)
            );
        }
    }

    #[test]
    fn handshake_states_do_not_print_secrets() {
        let (client, _) = ClientHandshake::start([0xab; 32], VersionRange::SUPPORTED);
        let text = format!("{client:?}");
        assert!(text.starts_with("ClientHandshake"));
        assert!(!text.contains("171"));
        let server = ServerHandshake::new([0xab; 32], VersionRange::SUPPORTED);
        assert!(!format!("{server:?}").contains("171"));
        let _ = SigningKey::from_bytes(&[0; 32]);
    }
}
