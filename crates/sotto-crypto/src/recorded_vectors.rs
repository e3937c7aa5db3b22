//! The vectors recorded before answer version 2 (`tests/vectors/session_v1.json` and
//! `session_v2.json`), replayed here rather than in `tests/known_answers.rs` because their
//! answers carry the joiner's identity key in clear: only the test-only version-1 answer
//! writer reproduces the joiner's side of them.

use serde::Deserialize;

use crate::key_agreement::{PendingInvitation, join_version_1};
use crate::{Error, IdentityKeyPair, Session};

const VECTORS_V1: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/session_v1.json");
const VECTORS_V2: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/session_v2.json");

#[derive(Deserialize)]
struct Vectors {
    inviter_identity_secret: String,
    joiner_identity_secret: String,
    inviter_identity_public: String,
    joiner_identity_public: String,
    invitation_randomness: String,
    invitation: String,
    join_randomness: String,
    answer_plaintext: String,
    answer: String,
    security_code: String,
    security_code_qr: String,
    messages: Vec<MessageVector>,
}

#[derive(Deserialize)]
struct MessageVector {
    sender: String,
    randomness: String,
    plaintext: String,
    message: String,
}

fn unhex(text: &str) -> Vec<u8> {
    hex::decode(text).unwrap()
}

fn load(path: &str) -> Vectors {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Both sides of a recorded session, right after the recorded answer was accepted; the
/// joiner's own (version-1) answer is returned beside them.
fn connect(recorded: &Vectors, join_randomness: &[u8]) -> (Session, Session, Vec<u8>, Vec<u8>) {
    let inviter_identity = IdentityKeyPair::from_secret_bytes(
        &unhex(&recorded.inviter_identity_secret).try_into().unwrap(),
    );
    let joiner_identity = IdentityKeyPair::from_secret_bytes(
        &unhex(&recorded.joiner_identity_secret).try_into().unwrap(),
    );
    assert_eq!(
        hex::encode(inviter_identity.public_key().to_bytes()),
        recorded.inviter_identity_public
    );
    assert_eq!(
        hex::encode(joiner_identity.public_key().to_bytes()),
        recorded.joiner_identity_public
    );
    let pending = PendingInvitation::new(
        &inviter_identity,
        &unhex(&recorded.invitation_randomness).try_into().unwrap(),
    )
    .unwrap();
    assert_eq!(
        hex::encode(pending.invitation().to_bytes()),
        recorded.invitation
    );
    let (joiner, answer) = join_version_1(
        &joiner_identity,
        &pending.invitation(),
        &unhex(&recorded.answer_plaintext),
        join_randomness.try_into().unwrap(),
    )
    .unwrap();
    let (inviter, first) = pending
        .accept(&inviter_identity, &unhex(&recorded.answer))
        .unwrap();
    (inviter, joiner, answer, first)
}

/// `session_v2.json` (answer version 1, messages version 2): every recorded byte is
/// reproduced, and the recorded answer is still accepted.
#[test]
fn answer_version_1_vectors_are_reproduced() {
    let recorded = load(VECTORS_V2);
    let (mut inviter, mut joiner, answer, first) =
        connect(&recorded, &unhex(&recorded.join_randomness));
    assert_eq!(hex::encode(answer), recorded.answer);
    assert_eq!(first, unhex(&recorded.answer_plaintext));
    for vector in &recorded.messages {
        let (from, to) = match vector.sender.as_str() {
            "inviter" => (&mut inviter, &mut joiner),
            _ => (&mut joiner, &mut inviter),
        };
        let plaintext = unhex(&vector.plaintext);
        let message = from
            .encrypt(&plaintext, &unhex(&vector.randomness).try_into().unwrap())
            .unwrap();
        assert_eq!(hex::encode(&message), vector.message);
        assert_eq!(to.decrypt(&message).unwrap(), plaintext);
    }
    let code = inviter.security_code();
    assert_eq!(code, joiner.security_code());
    assert_eq!(code.digits(), recorded.security_code);
    assert_eq!(hex::encode(code.qr_payload()), recorded.security_code_qr);
}

/// `session_v1.json`, recorded by the version-1 implementation: this one reads it. Each
/// side's state evolves as it did then if its randomness is laid out as version 2
/// expects (version 1 had no filler seed: 32 bytes are inserted after the header nonce
/// of every encryption, and appended to the join randomness); the messages it writes
/// are version 2, but its peer decrypts the recorded version-1 bytes.
#[test]
fn recorded_version_1_messages_still_decrypt() {
    let recorded = load(VECTORS_V1);
    let filler_seed = [0x5f; 32];
    let join_randomness = [unhex(&recorded.join_randomness), filler_seed.to_vec()].concat();
    let (mut inviter, mut joiner, _, first) = connect(&recorded, &join_randomness);
    assert_eq!(first, unhex(&recorded.answer_plaintext));
    for vector in &recorded.messages {
        let (from, to) = match vector.sender.as_str() {
            "inviter" => (&mut inviter, &mut joiner),
            _ => (&mut joiner, &mut inviter),
        };
        let randomness = unhex(&vector.randomness);
        let (nonce, step) = randomness.split_at(24);
        let randomness = [nonce, &filler_seed, step].concat();
        from.encrypt(b"(advances the state)", &randomness.try_into().unwrap())
            .unwrap();
        let message = unhex(&vector.message);
        assert_eq!(message[0], 1);
        assert_eq!(to.decrypt(&message).unwrap(), unhex(&vector.plaintext));
        assert_eq!(to.decrypt(&message), Err(Error::Duplicate));
    }
}
