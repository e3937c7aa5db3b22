//! Recorded test vectors, also printed in docs/protocol.md (section 14) so that
//! another implementation can check its handshake, key schedule, block
//! encryption for both cipher suites, command authenticators (a group log
//! append among them) and message sealing byte for byte. `docs/relay_vectors.py` computes the same values
//! independently.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::panic)]

use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use sotto_wire::x25519_dalek::{PublicKey as DhPublicKey, StaticSecret};
use sotto_wire::{
    Block, ChunkDigest, CipherSuite, ClientHandshake, Command, CommandKey, CorrId, FilePiece,
    GROUP_ENTRY_LEN, GroupEntry, GroupReadId, GroupWriteId, InnerBlock, LINK_BLOB_LEN, LinkBlob,
    LinkId, MAX_PIECE_LEN, MessageBody, MessageContent, MessageId, QueueAuthSecret, QueueKey,
    QueueMessage, RecipientId, RelayIdentity, RelaySessionAuth, ServerHandshake,
    ServerHandshakeOutcome, Transport, UploadId, VersionRange,
};

const CLIENT_EPHEMERAL_SECRET: [u8; 32] = [0x01; 32];
const RELAY_SESSION_SECRET: [u8; 32] = [0x02; 32];
const RELAY_IDENTITY_SECRET: [u8; 32] = [0x2a; 32];
const PING_CORR_ID: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Bytes `first`, `first + 1`, … (`N` of them).
fn counting<const N: usize>(first: u8) -> [u8; N] {
    std::array::from_fn(|index| first + index as u8)
}

/// Prints the values (to update the document) and compares them with the
/// recorded ones, name by name.
fn check(values: &[(&str, String)], expected: &[(&str, &str)]) {
    for (name, value) in values {
        println!("{name}: {value}");
    }
    assert_eq!(values.len(), expected.len());
    for ((name, value), (expected_name, expected_value)) in values.iter().zip(expected) {
        assert_eq!(name, expected_name);
        assert_eq!(value, expected_value, "{name}");
    }
}

struct Connection {
    client_hello: Block,
    server_hello: Block,
    client: Transport,
    relay: Transport,
    relay_auth: RelaySessionAuth,
    identity: RelayIdentity,
}

/// The handshake of section 14's secrets, the client offering `suites`.
fn connect(suites: &[CipherSuite]) -> Connection {
    let identity = RelayIdentity::from_secret_bytes(RELAY_IDENTITY_SECRET);
    let (client, client_hello) = ClientHandshake::start_with_suites(
        CLIENT_EPHEMERAL_SECRET,
        VersionRange::SUPPORTED,
        suites,
    );
    let ServerHandshakeOutcome::Accepted {
        server_hello,
        transport: relay,
        auth: relay_auth,
    } = ServerHandshake::new(RELAY_SESSION_SECRET, VersionRange::SUPPORTED)
        .handle_client_hello(&client_hello, &identity)
        .unwrap()
    else {
        panic!("rejected");
    };
    let client = client
        .handle_server_hello(&server_hello, &identity.fingerprint())
        .unwrap();
    assert_eq!(client.session_id(), relay.session_id());
    assert_eq!(client.suite(), suites[0]);
    Connection {
        client_hello,
        server_hello,
        client,
        relay,
        relay_auth,
        identity,
    }
}

fn shared_secret() -> [u8; 32] {
    StaticSecret::from(CLIENT_EPHEMERAL_SECRET)
        .diffie_hellman(&DhPublicKey::from(&StaticSecret::from(
            RELAY_SESSION_SECRET,
        )))
        .to_bytes()
}

/// `k_c2s` and `k_s2c`, derived here from the key schedule's definition.
fn direction_keys(connection: &Connection) -> ([u8; 32], [u8; 32]) {
    let hkdf = Hkdf::<Sha256>::new(
        Some(connection.client.session_id().as_bytes()),
        &shared_secret(),
    );
    let (mut c2s, mut s2c) = ([0; 32], [0; 32]);
    hkdf.expand(b"sotto-relay-v2 client-to-relay", &mut c2s)
        .unwrap();
    hkdf.expand(b"sotto-relay-v2 relay-to-client", &mut s2c)
        .unwrap();
    (c2s, s2c)
}

/// One PING with corr id `0102030405060708`.
fn ping_batch() -> InnerBlock {
    let mut batch = InnerBlock::new();
    batch
        .push(&Command::Ping.to_transmission(CorrId::from_bytes(PING_CORR_ID)))
        .unwrap();
    batch
}

#[test]
fn handshake_offering_both_suites_and_blocks_under_aes_256_gcm() {
    let mut connection = connect(&[CipherSuite::Aes256Gcm, CipherSuite::ChaCha20Poly1305]);
    let (c2s, s2c) = direction_keys(&connection);
    let first = connection.client.seal(&ping_batch()).unwrap();
    assert_eq!(connection.relay.open(first.clone()).unwrap(), ping_batch());
    let mut later = first.clone();
    for _ in 1..=300 {
        later = connection.client.seal(&ping_batch()).unwrap();
        assert_eq!(connection.relay.open(later.clone()).unwrap(), ping_batch());
    }
    let values = [
        (
            "client hello (first 48 bytes)",
            hex(&connection.client_hello.as_bytes()[..48]),
        ),
        (
            "server hello (first 140 bytes)",
            hex(&connection.server_hello.as_bytes()[..140]),
        ),
        ("fingerprint", connection.identity.fingerprint().to_string()),
        ("shared", hex(&shared_secret())),
        ("session_id", hex(connection.client.session_id().as_bytes())),
        ("k_c2s", hex(&c2s)),
        ("k_s2c", hex(&s2c)),
        ("block 0, last 32 bytes", hex(&first.as_bytes()[16352..])),
        ("block 0, SHA-256", hex(&Sha256::digest(first.as_bytes()))),
        ("block 300, last 32 bytes", hex(&later.as_bytes()[16352..])),
        ("block 300, SHA-256", hex(&Sha256::digest(later.as_bytes()))),
    ];
    check(&values, &EXPECTED_AES_CONNECTION);
}

#[test]
fn handshake_offering_chacha20_poly1305_only_and_its_first_block() {
    let mut connection = connect(&[CipherSuite::ChaCha20Poly1305]);
    let (c2s, s2c) = direction_keys(&connection);
    let first = connection.client.seal(&ping_batch()).unwrap();
    assert_eq!(connection.relay.open(first.clone()).unwrap(), ping_batch());
    let values = [
        (
            "client hello (first 47 bytes)",
            hex(&connection.client_hello.as_bytes()[..47]),
        ),
        (
            "server hello (first 140 bytes)",
            hex(&connection.server_hello.as_bytes()[..140]),
        ),
        ("session_id", hex(connection.client.session_id().as_bytes())),
        ("k_c2s", hex(&c2s)),
        ("k_s2c", hex(&s2c)),
        ("block 0, last 32 bytes", hex(&first.as_bytes()[16352..])),
        ("block 0, SHA-256", hex(&Sha256::digest(first.as_bytes()))),
    ];
    check(&values, &EXPECTED_CHACHA_CONNECTION);
}

/// The command key of `secret` on `connection`, from its definition (to check
/// the crate's authenticators), and as the crate derives it.
fn command_keys(connection: &Connection, secret: &QueueAuthSecret) -> ([u8; 32], CommandKey) {
    let session_id = connection.client.session_id();
    let shared = StaticSecret::from(*secret.as_bytes())
        .diffie_hellman(&connection.client.relay_session_key());
    let mut info = b"sotto-relay-v2 command-auth".to_vec();
    info.extend_from_slice(secret.public_key().as_bytes());
    let mut command_key = [0; 32];
    Hkdf::<Sha256>::new(Some(session_id.as_bytes()), shared.as_bytes())
        .expand(&info, &mut command_key)
        .unwrap();
    let key = CommandKey::for_client(secret, &connection.client.relay_session_key(), &session_id)
        .unwrap();
    (command_key, key)
}

#[test]
fn authorized_sub() {
    let connection = connect(&[CipherSuite::Aes256Gcm, CipherSuite::ChaCha20Poly1305]);
    let secret = QueueAuthSecret::from_bytes([0x0d; 32]);
    let public = secret.public_key();
    let (command_key, key) = command_keys(&connection, &secret);
    let sub = Command::Sub {
        recipient_id: RecipientId::from_bytes(counting(0x20)),
    }
    .to_authorized_transmission(CorrId::from_bytes(counting(0x11)), &key);
    let bytes = sub.encode();
    assert_eq!(bytes.len(), 67);
    let authenticator = sub.authenticator.unwrap();
    // Bytes 33.. are corr id, entity and tag (SUB has an empty body).
    assert_eq!(
        authenticator.as_bytes(),
        blake3::keyed_hash(&command_key, &bytes[33..]).as_bytes()
    );
    // The relay derives the same key from its session secret and accepts it.
    let relay_key = connection.relay_auth.command_key(&public).unwrap();
    assert!(sub.verify(&relay_key));

    let values = [
        ("queue auth public", hex(public.as_bytes())),
        ("command key", hex(&command_key)),
        ("authenticator", hex(authenticator.as_bytes())),
        ("SUB transmission", hex(&bytes)),
    ];
    check(&values, &EXPECTED_SUB);
}

#[test]
fn authorized_link_set() {
    let connection = connect(&[CipherSuite::Aes256Gcm, CipherSuite::ChaCha20Poly1305]);
    let secret = QueueAuthSecret::from_bytes([0x0e; 32]);
    let public = secret.public_key();
    let (command_key, key) = command_keys(&connection, &secret);
    let blob: Vec<u8> = (0..LINK_BLOB_LEN).map(|i| i as u8).collect();
    let set = Command::LinkSet {
        link_id: LinkId::from_bytes(counting(0x60)),
        blob: LinkBlob::new(blob.clone()).unwrap(),
    }
    .to_authorized_transmission(CorrId::from_bytes(counting(0x11)), &key);
    let bytes = set.encode();
    assert_eq!(bytes.len(), 67 + LINK_BLOB_LEN);
    assert_eq!(&bytes[67..], blob.as_slice());
    let authenticator = set.authenticator.unwrap();
    // The authenticator covers corr id, entity and tag, not the blob.
    assert_eq!(
        authenticator.as_bytes(),
        blake3::keyed_hash(&command_key, &bytes[33..67]).as_bytes()
    );
    let relay_key = connection.relay_auth.command_key(&public).unwrap();
    assert!(set.verify(&relay_key));

    let values = [
        ("link auth public", hex(public.as_bytes())),
        ("command key", hex(&command_key)),
        ("authenticator", hex(authenticator.as_bytes())),
        ("LSET transmission, first 67 bytes", hex(&bytes[..67])),
    ];
    check(&values, &EXPECTED_LSET);
}

#[test]
fn authorized_file_put() {
    let connection = connect(&[CipherSuite::Aes256Gcm, CipherSuite::ChaCha20Poly1305]);
    let secret = QueueAuthSecret::from_bytes([0x0f; 32]);
    let public = secret.public_key();
    let (command_key, key) = command_keys(&connection, &secret);
    // The second piece of a chunk: offset 16256, 16256 bytes, byte i = i mod 251.
    let piece: Vec<u8> = (0..MAX_PIECE_LEN).map(|i| (i % 251) as u8).collect();
    let put = Command::FilePut {
        upload_id: UploadId::from_bytes(counting(0xa0)),
        offset: MAX_PIECE_LEN as u32,
        piece: FilePiece::new(piece.clone()).unwrap(),
    }
    .to_authorized_transmission(CorrId::from_bytes(counting(0x11)), &key);
    let bytes = put.encode();
    assert_eq!(bytes.len(), 73 + MAX_PIECE_LEN);
    assert_eq!(&bytes[73..], piece.as_slice());
    let authenticator = put.authenticator.unwrap();
    assert_eq!(
        authenticator.as_bytes(),
        blake3::keyed_hash(&command_key, &bytes[33..67]).as_bytes()
    );
    let relay_key = connection.relay_auth.command_key(&public).unwrap();
    assert!(put.verify(&relay_key));
    // The digest of a whole 64 KiB chunk whose byte i is i mod 256.
    let chunk: Vec<u8> = (0..65536).map(|i| i as u8).collect();

    let values = [
        ("upload auth public", hex(public.as_bytes())),
        ("command key", hex(&command_key)),
        ("authenticator", hex(authenticator.as_bytes())),
        ("FPUT transmission, first 73 bytes", hex(&bytes[..73])),
        (
            "digest of the 64 KiB chunk",
            hex(ChunkDigest::of(&chunk).as_bytes()),
        ),
    ];
    check(&values, &EXPECTED_FPUT);
}

const EXPECTED_FPUT: [(&str, &str); 5] = [
    (
        "upload auth public",
        "7e81e916e3afcdb31ef74d8db923f2ba15b82a1aa6594ea228dcdf27d7b54f6c",
    ),
    (
        "command key",
        "8b5efa364b9f5d06e9a8b24712bbefe03095c2d8ad34b5150409f99fe1c8ffa0",
    ),
    (
        "authenticator",
        "8d9181f77967a8a67dd1939ccf5f26f0e2a524694bc53b5da8f5b92e39806289",
    ),
    (
        "FPUT transmission, first 73 bytes",
        "208d9181f77967a8a67dd1939ccf5f26f0e2a524694bc53b5da8f5b92e39806289111213141516171818a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b70f00003f803f80",
    ),
    (
        "digest of the 64 KiB chunk",
        "f16c9f867cc5384c7329aa4481eba6518c50ab21bf8a615e26bad55e57569b2c",
    ),
];

#[test]
fn authorized_group_append_and_read() {
    let connection = connect(&[CipherSuite::Aes256Gcm, CipherSuite::ChaCha20Poly1305]);
    let secret = QueueAuthSecret::from_bytes([0x10; 32]);
    let public = secret.public_key();
    let (command_key, key) = command_keys(&connection, &secret);
    // The 16000-byte entry whose byte i is i mod 241.
    let entry: Vec<u8> = (0..GROUP_ENTRY_LEN).map(|i| (i % 241) as u8).collect();
    let append = Command::GroupAppend {
        write_id: GroupWriteId::from_bytes(counting(0xc0)),
        entry: GroupEntry::new(entry.clone()).unwrap(),
    }
    .to_authorized_transmission(CorrId::from_bytes(counting(0x11)), &key);
    let bytes = append.encode();
    assert_eq!(bytes.len(), 67 + GROUP_ENTRY_LEN);
    assert_eq!(&bytes[67..], entry.as_slice());
    let authenticator = append.authenticator.unwrap();
    assert_eq!(
        authenticator.as_bytes(),
        blake3::keyed_hash(&command_key, &bytes[33..67]).as_bytes()
    );
    let relay_key = connection.relay_auth.command_key(&public).unwrap();
    assert!(append.verify(&relay_key));
    // GREAD of entry 258 on the read id e0 e1 .. f7, by the read auth secret 11..11.
    let read_secret = QueueAuthSecret::from_bytes([0x11; 32]);
    let (_, read_key) = command_keys(&connection, &read_secret);
    let read = Command::GroupRead {
        read_id: GroupReadId::from_bytes(counting(0xe0)),
        from: 258,
    }
    .to_authorized_transmission(CorrId::from_bytes(counting(0x11)), &read_key);

    let values = [
        ("write auth public", hex(public.as_bytes())),
        ("command key", hex(&command_key)),
        ("authenticator", hex(authenticator.as_bytes())),
        ("GAPP transmission, first 67 bytes", hex(&bytes[..67])),
        ("GREAD transmission", hex(&read.encode())),
    ];
    check(&values, &EXPECTED_GAPP);
}

const EXPECTED_GAPP: [(&str, &str); 5] = [
    (
        "write auth public",
        "781faab908430150daccdd6f9d6c5086e34f73a93ebbaa271765e5036edfc519",
    ),
    (
        "command key",
        "6dc79e232a4cae8737f69bbb0824595f7bbe37a5a09fa829586445c2bb7afd76",
    ),
    (
        "authenticator",
        "793363680febaf10041c28749df06ca1e4f8a86d975eb12c763a32a795eeb01e",
    ),
    (
        "GAPP transmission, first 67 bytes",
        "20793363680febaf10041c28749df06ca1e4f8a86d975eb12c763a32a795eeb01e111213141516171818c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d716",
    ),
    (
        "GREAD transmission",
        "20fc46892934fbf834232b43a0fc424bb97a8aaa04d0e43155d98619ddec732d17111213141516171818e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7170000000000000102",
    ),
];

#[test]
fn queue_key_and_a_message_sealed_for_each_suite() {
    let relay_queue_secret = StaticSecret::from([0x0c; 32]);
    let recipient_dh_secret = StaticSecret::from([0x0b; 32]);
    let key = QueueKey::derive(
        &relay_queue_secret,
        &DhPublicKey::from(&recipient_dh_secret),
    )
    .unwrap();
    let recipient_key = QueueKey::derive(
        &recipient_dh_secret,
        &DhPublicKey::from(&relay_queue_secret),
    )
    .unwrap();
    assert_eq!(key.as_bytes(), recipient_key.as_bytes());
    let suite_key = |info: &[u8]| {
        let mut out = [0; 32];
        Hkdf::<Sha256>::from_prk(key.as_bytes())
            .unwrap()
            .expand(info, &mut out)
            .unwrap();
        out
    };
    let message_id = MessageId::from_bytes(counting(0x40));
    let message = QueueMessage {
        timestamp: 1_800_000_000,
        content: MessageContent::Body(MessageBody::new(b"hello".to_vec()).unwrap()),
    };
    let sealed = |suite| {
        let sealed = key.seal(suite, &message_id, &message).unwrap();
        assert_eq!(
            recipient_key.open(suite, &message_id, &sealed).unwrap(),
            message
        );
        hex(sealed.as_bytes())
    };
    let values = [
        (
            "relay queue public",
            hex(DhPublicKey::from(&relay_queue_secret).as_bytes()),
        ),
        (
            "recipient DH public",
            hex(DhPublicKey::from(&recipient_dh_secret).as_bytes()),
        ),
        ("queue key", hex(key.as_bytes())),
        (
            "AES-256-GCM seal key",
            hex(&suite_key(b"sotto-relay-v2 seal aes-256-gcm")),
        ),
        (
            "XChaCha20-Poly1305 seal key",
            hex(&suite_key(b"sotto-relay-v2 seal xchacha20-poly1305")),
        ),
        ("sealed, AES-256-GCM", sealed(CipherSuite::Aes256Gcm)),
        (
            "sealed, XChaCha20-Poly1305",
            sealed(CipherSuite::ChaCha20Poly1305),
        ),
    ];
    check(&values, &EXPECTED_QUEUE);
}

const EXPECTED_AES_CONNECTION: [(&str, &str); 11] = [
    (
        "client hello (first 48 bytes)",
        "534f54544f52454c0100020002a4e09292b651c278b9772c569f5fa9bb13d906b46ab68c9df9dc2b4409f8a209020102",
    ),
    (
        "server hello (first 140 bytes)",
        "534f54544f52454c020002197f6b23e16c8532c6abc838facd5ea789be0c76b2920334039bfa8b3d368d61ce8d3ad1ccb633ec7b70c17814a5c76ecd029685050d344745ba05870e587d59f71f1fa7af80b06a9e704211198880ee6de33e6b7ae4622d08ae22b8bade3287f7dd299edf084169a63be7dcd5e6e70aef93bc5c2fdae204e6ead9e890c7b30801",
    ),
    ("fingerprint", "tgAwbPp2cj_ew5XlOps9n9t4seLXojwy_LzS3G0MQJI"),
    (
        "shared",
        "2ed76ab549b1e73c031eb49c9448f0798aea81b698279a0c3dc3e49fbfc4b953",
    ),
    (
        "session_id",
        "8e44e495a8d1442f202e1223187f2541c751a8e59836ba90cb46eebb17c0e59b",
    ),
    (
        "k_c2s",
        "1ef1e2b6401411348ebf5415c60c7e865c5562e87686e150ee449e704cb0a281",
    ),
    (
        "k_s2c",
        "383f372a22efda2db9dd5f6253f8322d4f6154cb5893e3cc56fdb1a466300d40",
    ),
    (
        "block 0, last 32 bytes",
        "0a5a9836d7f24a7c97f66bb05a89a70a3abaaf60a1f5d1f46fb472a5b596a355",
    ),
    (
        "block 0, SHA-256",
        "6d8ba038eb523ac59595fa04b25af96f477588b78c6e5b804b3617159e68def1",
    ),
    (
        "block 300, last 32 bytes",
        "07701c03909b825fb840ec089fb32bfa4cb67eb6d98da3429d576474dd7d97ce",
    ),
    (
        "block 300, SHA-256",
        "ad24fd221269bb24a1b24cab3478dd6aa22928ad9e022fad5d5de356ee66d69b",
    ),
];

const EXPECTED_CHACHA_CONNECTION: [(&str, &str); 7] = [
    (
        "client hello (first 47 bytes)",
        "534f54544f52454c0100020002a4e09292b651c278b9772c569f5fa9bb13d906b46ab68c9df9dc2b4409f8a2090102",
    ),
    (
        "server hello (first 140 bytes)",
        "534f54544f52454c020002197f6b23e16c8532c6abc838facd5ea789be0c76b2920334039bfa8b3d368d61ce8d3ad1ccb633ec7b70c17814a5c76ecd029685050d344745ba05870e587d59a53a4fb419939ecf7aca6f34ae8f157b09cebff7ac30a28b9f7b9210301f2299673a2ca70bf931e424f668c91a0145cb495c26cc40fe2a5b89a2c7f68945de0102",
    ),
    (
        "session_id",
        "32a14113f85e4592e614e42410fc4592cbeb03cf608b14f61887bf13da7f2176",
    ),
    (
        "k_c2s",
        "66cea1951ba8d91fb0cfe61491305f42798fc648748a78c181288a913d559246",
    ),
    (
        "k_s2c",
        "c5a8b228c7dea6bd05f6c29c2aa51f2f32e8c31acfbbcbdcee921573295c6799",
    ),
    (
        "block 0, last 32 bytes",
        "f4bea17db3cca06262b8c1958cb4615d096cfaf43240a685aa5cd8dc954514e4",
    ),
    (
        "block 0, SHA-256",
        "b5a0dc48d931920f9e278233373398cb3fd0ef33547e7c0556e1209fe5020166",
    ),
];

const EXPECTED_SUB: [(&str, &str); 4] = [
    (
        "queue auth public",
        "b307ae8660efaed4d6a65f6640896892ea4a1f0075555c489d1312a2e1677c28",
    ),
    (
        "command key",
        "268ce81b40fa3c084b62870cd0485d9d9c1358cfa5eae2f6ee7336d0cd7fd858",
    ),
    (
        "authenticator",
        "9c017b69d2b258709eb4faceb65b44fbf2caba60f8bfede0f4d1476c8b9cb0fd",
    ),
    (
        "SUB transmission",
        "209c017b69d2b258709eb4faceb65b44fbf2caba60f8bfede0f4d1476c8b9cb0fd111213141516171818202122232425262728292a2b2c2d2e2f303132333435363703",
    ),
];

const EXPECTED_LSET: [(&str, &str); 4] = [
    (
        "link auth public",
        "5855784cb3c8c796d84ac93e8f4a53dab0bb31e80960042cfa87f03a4293b308",
    ),
    (
        "command key",
        "bb43da41a365eada15f151d16cc8cf9e170c052bfb83e2dc3a957b863acc79c9",
    ),
    (
        "authenticator",
        "e1a1bd2e95ec78f95ec91c35885100122f320a213a8353c82a707fe99bb0a776",
    ),
    (
        "LSET transmission, first 67 bytes",
        "20e1a1bd2e95ec78f95ec91c35885100122f320a213a8353c82a707fe99bb0a776111213141516171818606162636465666768696a6b6c6d6e6f70717273747576770b",
    ),
];

const EXPECTED_QUEUE: [(&str, &str); 7] = [
    (
        "relay queue public",
        "97c3b10b4d6c133a78ea5dcc1cf6421d3f81ae37b1f628ce14ca6fce7730f333",
    ),
    (
        "recipient DH public",
        "73b2d8b76aa9b53660032bc8f5d8bee3a3ae4e3b3a7fd49ade81f7347a34aa68",
    ),
    (
        "queue key",
        "dec3acc8dcf07219c193302795751b0f53c7d535f0dc5863ddd9dd29fc2cd97a",
    ),
    (
        "AES-256-GCM seal key",
        "81ced9094f2a1538b406b23235025486145a3956a43457c1100add0f3df73da9",
    ),
    (
        "XChaCha20-Poly1305 seal key",
        "27f4a24da7601d6f3538b56e982590787140a317f08c6f9010f338badd3037b6",
    ),
    (
        "sealed, AES-256-GCM",
        "6d30ee1d97538e2abf023d9f243896967dbf4e560a92a0a32d9dd8e3a6e925f1",
    ),
    (
        "sealed, XChaCha20-Poly1305",
        "5b66dae693b24bd9d25f17915b94d89d5813ac4cf98b9bab9e005a5342a26d06",
    ),
];
