//! Message and header decoders: arbitrary messages (of either format version) to an
//! established session fail cleanly and leave it working; headers that parse re-encode
//! to the same bytes; arbitrary filler in a genuine message changes nothing, arbitrary
//! changes to its authenticated bytes make it fail.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sotto_crypto::{
    ENCRYPT_RANDOMNESS_LEN, ENCRYPTED_HEADER_LEN, ENCRYPTED_MESSAGE_LEN, IdentityKeyPair,
    JOIN_RANDOMNESS_LEN, PendingInvitation, Session, fuzzing, join,
};

/// What the receiver authenticates of a message whose plaintext is `len` bytes long
/// (docs/e2e-protocol.md 4.3): prefix, header, payload (KEM key and plaintext), tag.
fn authenticated_len(len: usize) -> usize {
    2 + 24 + ENCRYPTED_HEADER_LEN + 1184 + len + 16
}

fn sessions() -> &'static (Session, Session) {
    static SESSIONS: OnceLock<(Session, Session)> = OnceLock::new();
    SESSIONS.get_or_init(|| {
        let inviter = IdentityKeyPair::from_secret_bytes(&[1; 32]);
        let joiner = IdentityKeyPair::from_secret_bytes(&[2; 32]);
        let pending = PendingInvitation::new(&inviter, &[3; 96]).unwrap();
        let (joiner_session, answer) = join(
            &joiner,
            &pending.invitation(),
            b"hi",
            &[4; JOIN_RANDOMNESS_LEN],
        )
        .unwrap();
        let (inviter_session, _) = pending.accept(&inviter, &answer).unwrap();
        (inviter_session, joiner_session)
    })
}

fuzz_target!(|data: &[u8]| {
    if let Some(encoded) = fuzzing::decode_header(data) {
        assert_eq!(encoded, data);
    }
    let _ = fuzzing::decode_header_v1(data);
    if let Some(plaintext) = fuzzing::unpad_v1(data) {
        assert!(plaintext.len() + 2 <= data.len());
    }
    let (inviter, joiner) = sessions();
    for version in [1u8, 2] {
        let mut framed = vec![version, 0x03];
        framed.extend_from_slice(data);
        framed.resize(ENCRYPTED_MESSAGE_LEN, 0);
        for session in [inviter, joiner] {
            let mut session = session.clone();
            assert!(session.decrypt(data).is_err());
            assert!(session.decrypt(&framed).is_err());
        }
    }

    // A genuine message: the fuzz input becomes its filler (which changes nothing), or
    // is XORed into its authenticated bytes (which makes it fail if it changes any).
    let mut inviter = inviter.clone();
    let mut joiner = joiner.clone();
    let message = inviter
        .encrypt(b"still fine", &[5; ENCRYPT_RANDOMNESS_LEN])
        .unwrap();
    let authenticated = authenticated_len(b"still fine".len());
    let mut refilled = message.clone();
    for (byte, new) in refilled[authenticated..].iter_mut().zip(data) {
        *byte = *new;
    }
    let mut tampered = message.clone();
    for (byte, mask) in tampered[..authenticated].iter_mut().zip(data) {
        *byte ^= mask;
    }
    if tampered != message {
        assert!(joiner.clone().decrypt(&tampered).is_err());
    }
    assert_eq!(joiner.clone().decrypt(&refilled).unwrap(), b"still fine");
    assert_eq!(joiner.decrypt(&message).unwrap(), b"still fine");
});
