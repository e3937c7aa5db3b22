//! Recorded test vectors, also printed in docs/protocol.md so that another
//! implementation can check its handshake, key schedule, block encryption and
//! message sealing byte for byte.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::panic)]

use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use sotto_wire::x25519_dalek::{PublicKey as DhPublicKey, StaticSecret};
use sotto_wire::{
    ClientHandshake, Command, CorrId, InnerBlock, MessageBody, MessageContent, MessageId, QueueKey,
    QueueMessage, RelayIdentity, ServerHandshake, ServerHandshakeOutcome, VersionRange,
};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

const CLIENT_EPHEMERAL_SECRET: [u8; 32] = [0x01; 32];
const RELAY_SESSION_SECRET: [u8; 32] = [0x02; 32];
const RELAY_IDENTITY_SECRET: [u8; 32] = [0x2a; 32];

#[test]
fn handshake_and_first_block() {
    let identity = RelayIdentity::from_secret_bytes(RELAY_IDENTITY_SECRET);
    let (client, client_hello) =
        ClientHandshake::start(CLIENT_EPHEMERAL_SECRET, VersionRange::SUPPORTED);
    let ServerHandshakeOutcome::Accepted { server_hello, .. } =
        ServerHandshake::new(RELAY_SESSION_SECRET, VersionRange::SUPPORTED)
            .handle_client_hello(&client_hello, &identity)
            .unwrap()
    else {
        panic!("rejected");
    };
    let mut transport = client
        .handle_server_hello(&server_hello, &identity.fingerprint())
        .unwrap();

    let shared = StaticSecret::from(CLIENT_EPHEMERAL_SECRET).diffie_hellman(&DhPublicKey::from(
        &StaticSecret::from(RELAY_SESSION_SECRET),
    ));
    let hkdf = Hkdf::<Sha256>::new(Some(transport.session_id().as_bytes()), shared.as_bytes());
    let (mut c2s, mut s2c) = ([0; 32], [0; 32]);
    hkdf.expand(b"sotto-relay-v1 client-to-relay", &mut c2s)
        .unwrap();
    hkdf.expand(b"sotto-relay-v1 relay-to-client", &mut s2c)
        .unwrap();

    let mut batch = InnerBlock::new();
    batch
        .push(&Command::Ping.to_transmission(CorrId::from_bytes([1, 2, 3, 4, 5, 6, 7, 8])))
        .unwrap();
    let first = transport.seal(&batch).unwrap();

    let values = [
        (
            "client hello (first 45 bytes)",
            hex(&client_hello.as_bytes()[..45]),
        ),
        (
            "server hello (first 139 bytes)",
            hex(&server_hello.as_bytes()[..139]),
        ),
        ("fingerprint", identity.fingerprint().to_string()),
        ("shared", hex(shared.as_bytes())),
        ("session_id", hex(transport.session_id().as_bytes())),
        ("k_c2s", hex(&c2s)),
        ("k_s2c", hex(&s2c)),
        (
            "first block, last 32 bytes",
            hex(&first.as_bytes()[16352..]),
        ),
        (
            "first block, SHA-256",
            hex(&Sha256::digest(first.as_bytes())),
        ),
    ];
    for (name, value) in &values {
        println!("{name}: {value}");
    }
    let expected = EXPECTED_HANDSHAKE;
    for ((name, value), (expected_name, expected_value)) in values.iter().zip(expected) {
        assert_eq!(*name, expected_name);
        assert_eq!(value, expected_value, "{name}");
    }
}

#[test]
fn queue_key_and_sealed_message() {
    let relay_queue_secret = StaticSecret::from([0x0c; 32]);
    let recipient_dh_secret = StaticSecret::from([0x0b; 32]);
    let key = QueueKey::derive(
        &relay_queue_secret,
        &DhPublicKey::from(&recipient_dh_secret),
    )
    .unwrap();
    let sealed = key
        .seal(
            &MessageId::from_bytes([0x28; 24]),
            &QueueMessage {
                timestamp: 1_800_000_000,
                content: MessageContent::Body(MessageBody::new(b"hello".to_vec()).unwrap()),
            },
        )
        .unwrap();
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
        ("sealed", hex(sealed.as_bytes())),
    ];
    for (name, value) in &values {
        println!("{name}: {value}");
    }
    for ((name, value), (expected_name, expected_value)) in values.iter().zip(EXPECTED_QUEUE) {
        assert_eq!(*name, expected_name);
        assert_eq!(value, expected_value, "{name}");
    }
}

const EXPECTED_HANDSHAKE: [(&str, &str); 9] = [
    (
        "client hello (first 45 bytes)",
        "534f54544f52454c0100010001a4e09292b651c278b9772c569f5fa9bb13d906b46ab68c9df9dc2b4409f8a209",
    ),
    (
        "server hello (first 139 bytes)",
        "534f54544f52454c020001197f6b23e16c8532c6abc838facd5ea789be0c76b2920334039bfa8b3d368d61ce8d3ad1ccb633ec7b70c17814a5c76ecd029685050d344745ba05870e587d5959f3c68bd2e8c1cb42b86c13d5cc30a217e8564011f25581a1cb538c7a5c9928106befb26a2ae1cdbe1553e689ff9db2ee2c2dc2cc6133e093e5bd31d2021102",
    ),
    ("fingerprint", "tgAwbPp2cj_ew5XlOps9n9t4seLXojwy_LzS3G0MQJI"),
    (
        "shared",
        "2ed76ab549b1e73c031eb49c9448f0798aea81b698279a0c3dc3e49fbfc4b953",
    ),
    (
        "session_id",
        "e8a3264559ba01b448f26abffe44669c1b1aa2ab7da6e14707f5d4447bae05c6",
    ),
    (
        "k_c2s",
        "230f6b51f337702830a346ccfc5bc90778f0d0a47631e5f288b3705dac69e372",
    ),
    (
        "k_s2c",
        "0748e818264d41c8680f144de7343ccead213d52408adff6f62cb3fce5ed6e97",
    ),
    (
        "first block, last 32 bytes",
        "05e537434964e29319e784b3b1dfed541efd59f496abc8ba7de2d5521a14e657",
    ),
    (
        "first block, SHA-256",
        "29329f68b581aee25fd9e9bd836c02e4cec9efdc381c059c181c6f971788e5b0",
    ),
];

const EXPECTED_QUEUE: [(&str, &str); 4] = [
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
        "19fd3549c2bafa4c8c18a6e06cc2d41bc918c4d7bab171c24ddcd72db149aec6",
    ),
    (
        "sealed",
        "25afdf484fc6a96eadf7096ddf573bb115a91bfd267f3ccf7e551e5bff62934e",
    ),
];
