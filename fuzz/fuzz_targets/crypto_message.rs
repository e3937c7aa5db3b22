//! Message and header decoders: arbitrary messages to an established session fail
//! cleanly and leave it working; headers that parse re-encode to the same bytes.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sotto_crypto::{
    ENCRYPTED_MESSAGE_LEN, IdentityKeyPair, PendingInvitation, Session, fuzzing, join,
};

fn sessions() -> &'static (Session, Session) {
    static SESSIONS: OnceLock<(Session, Session)> = OnceLock::new();
    SESSIONS.get_or_init(|| {
        let inviter = IdentityKeyPair::from_secret_bytes(&[1; 32]);
        let joiner = IdentityKeyPair::from_secret_bytes(&[2; 32]);
        let pending = PendingInvitation::new(&inviter, &[3; 96]).unwrap();
        let (joiner_session, answer) =
            join(&joiner, &pending.invitation(), b"hi", &[4; 216]).unwrap();
        let (inviter_session, _) = pending.accept(&inviter, &answer).unwrap();
        (inviter_session, joiner_session)
    })
}

fuzz_target!(|data: &[u8]| {
    if let Some(encoded) = fuzzing::decode_header(data) {
        assert_eq!(encoded, data);
    }
    let (inviter, joiner) = sessions();
    let mut framed = vec![1u8, 0x03];
    framed.extend_from_slice(data);
    framed.resize(ENCRYPTED_MESSAGE_LEN, 0);
    for session in [inviter, joiner] {
        let mut session = session.clone();
        assert!(session.decrypt(data).is_err());
        assert!(session.decrypt(&framed).is_err());
    }
    let mut inviter = inviter.clone();
    let mut joiner = joiner.clone();
    let message = inviter.encrypt(b"still fine", &[5; 152]).unwrap();
    assert_eq!(joiner.decrypt(&message).unwrap(), b"still fine");
});
