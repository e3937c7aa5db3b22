//! Pickles: restored sessions continue, and the recorded version-1 fixture keeps loading.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{TestRng, connect};
use serde::{Deserialize, Serialize};
use sotto_crypto::{Error, IdentityKeyPair, PendingInvitation, PickleKey, Session, join};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pickle_v1.json");

#[test]
fn restored_session_continues_both_ways() {
    let mut rng = TestRng::new(20);
    let mut pair = connect(&mut rng);
    let key = PickleKey::from_bytes(&rng.bytes());
    let skipped = pair
        .inviter
        .encrypt(b"skipped", &rng.encrypt_randomness())
        .unwrap();
    let delivered = pair
        .inviter
        .encrypt(b"delivered", &rng.encrypt_randomness())
        .unwrap();
    assert_eq!(pair.joiner.decrypt(&delivered).unwrap(), b"delivered");

    let mut joiner = Session::from_pickle(&key, &pair.joiner.pickle(&key, &rng.bytes())).unwrap();
    let mut inviter = Session::from_pickle(&key, &pair.inviter.pickle(&key, &rng.bytes())).unwrap();
    assert_eq!(joiner.decrypt(&skipped).unwrap(), b"skipped");
    assert_eq!(joiner.decrypt(&delivered), Err(Error::Duplicate));
    let reply = joiner.encrypt(b"reply", &rng.encrypt_randomness()).unwrap();
    assert_eq!(inviter.decrypt(&reply).unwrap(), b"reply");
    let again = inviter
        .encrypt(b"again", &rng.encrypt_randomness())
        .unwrap();
    assert_eq!(joiner.decrypt(&again).unwrap(), b"again");
}

#[test]
fn pickle_with_the_wrong_key_fails() {
    let mut rng = TestRng::new(21);
    let pair = connect(&mut rng);
    let pickle = pair
        .joiner
        .pickle(&PickleKey::from_bytes(&[1; 32]), &rng.bytes());
    assert_eq!(
        Session::from_pickle(&PickleKey::from_bytes(&[2; 32]), &pickle).err(),
        Some(Error::PickleDecryption)
    );
    let mut tampered = pickle.clone();
    tampered[40] ^= 1;
    assert_eq!(
        Session::from_pickle(&PickleKey::from_bytes(&[1; 32]), &tampered).err(),
        Some(Error::PickleDecryption)
    );
}

#[test]
fn pending_invitation_survives_a_pickle() {
    let mut rng = TestRng::new(22);
    let identity = IdentityKeyPair::from_secret_bytes(&rng.bytes());
    let joiner = IdentityKeyPair::from_secret_bytes(&rng.bytes());
    let pending = PendingInvitation::new(&identity, &rng.bytes()).unwrap();
    let key = PickleKey::from_bytes(&rng.bytes());
    let restored =
        PendingInvitation::from_pickle(&key, &pending.pickle(&key, &rng.bytes())).unwrap();
    assert_eq!(restored.invitation(), pending.invitation());
    let (_, answer) = join(&joiner, &pending.invitation(), b"hi", &rng.bytes()).unwrap();
    assert_eq!(restored.accept(&identity, &answer).unwrap().1, b"hi");
}

/// The recorded version-1 fixture.
#[derive(Serialize, Deserialize)]
struct Fixture {
    pickle_key: String,
    inviter_identity_secret: String,
    pending_invitation_pickle: String,
    answer: String,
    answer_plaintext: String,
    joiner_session_pickle: String,
    /// Messages to the joiner, sent after the pickle was taken, in delivery order.
    messages: Vec<String>,
    plaintexts: Vec<String>,
}

fn record() -> Fixture {
    let mut rng = TestRng::new(0x5077_0001);
    let key_bytes: [u8; 32] = rng.bytes();
    let key = PickleKey::from_bytes(&key_bytes);
    let inviter_secret: [u8; 32] = rng.bytes();
    let inviter_identity = IdentityKeyPair::from_secret_bytes(&inviter_secret);
    let joiner_identity = IdentityKeyPair::from_secret_bytes(&rng.bytes());
    let pending = PendingInvitation::new(&inviter_identity, &rng.bytes()).unwrap();
    let pending_pickle = pending.pickle(&key, &rng.bytes());
    let (mut joiner, answer) = join(
        &joiner_identity,
        &pending.invitation(),
        b"answer",
        &rng.bytes(),
    )
    .unwrap();
    let (mut inviter, _) = pending.accept(&inviter_identity, &answer).unwrap();
    let first = inviter.encrypt(b"one", &rng.encrypt_randomness()).unwrap();
    let skipped = inviter
        .encrypt(b"two (late)", &rng.encrypt_randomness())
        .unwrap();
    let third = inviter
        .encrypt(b"three", &rng.encrypt_randomness())
        .unwrap();
    joiner.decrypt(&first).unwrap();
    joiner.decrypt(&third).unwrap();
    let reply = joiner.encrypt(b"reply", &rng.encrypt_randomness()).unwrap();
    let joiner_pickle = joiner.pickle(&key, &rng.bytes());
    inviter.decrypt(&reply).unwrap();
    let next_chain = inviter
        .encrypt(b"four (new chain)", &rng.encrypt_randomness())
        .unwrap();
    Fixture {
        pickle_key: hex::encode(key_bytes),
        inviter_identity_secret: hex::encode(inviter_secret),
        pending_invitation_pickle: hex::encode(pending_pickle),
        answer: hex::encode(&answer),
        answer_plaintext: hex::encode(b"answer"),
        joiner_session_pickle: hex::encode(joiner_pickle),
        messages: vec![hex::encode(next_chain), hex::encode(skipped)],
        plaintexts: vec![hex::encode(b"four (new chain)"), hex::encode(b"two (late)")],
    }
}

fn unhex(text: &str) -> Vec<u8> {
    hex::decode(text).unwrap()
}

#[test]
fn version_1_fixture_keeps_loading() {
    let fixture: Fixture =
        serde_json::from_str(&std::fs::read_to_string(FIXTURE).unwrap()).unwrap();
    let key = PickleKey::from_bytes(&unhex(&fixture.pickle_key).try_into().unwrap());
    let identity = IdentityKeyPair::from_secret_bytes(
        &unhex(&fixture.inviter_identity_secret).try_into().unwrap(),
    );
    let pending =
        PendingInvitation::from_pickle(&key, &unhex(&fixture.pending_invitation_pickle)).unwrap();
    let (_, plaintext) = pending.accept(&identity, &unhex(&fixture.answer)).unwrap();
    assert_eq!(plaintext, unhex(&fixture.answer_plaintext));

    let mut joiner = Session::from_pickle(&key, &unhex(&fixture.joiner_session_pickle)).unwrap();
    for (message, plaintext) in fixture.messages.iter().zip(&fixture.plaintexts) {
        assert_eq!(joiner.decrypt(&unhex(message)).unwrap(), unhex(plaintext));
    }
    let mut rng = TestRng::new(23);
    assert!(
        joiner
            .encrypt(b"still works", &rng.encrypt_randomness())
            .is_ok()
    );
}

/// Writes the fixture. Run once per format version, never to refresh version 1:
/// `cargo test -p sotto-crypto --test pickle -- --ignored record_fixture`.
#[test]
#[ignore = "records the committed fixture"]
fn record_fixture() {
    let json = serde_json::to_string_pretty(&record()).unwrap();
    std::fs::write(FIXTURE, json + "\n").unwrap();
}
