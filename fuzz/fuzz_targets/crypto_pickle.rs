//! Pickle decoders: encrypted containers and the session state inside them.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sotto_crypto::{PendingInvitation, PickleKey, Session, fuzzing};

fuzz_target!(|data: &[u8]| {
    let key = PickleKey::from_bytes(&[7; 32]);
    let _ = Session::from_pickle(&key, data);
    let _ = PendingInvitation::from_pickle(&key, data);
    if let Some(encoded) = fuzzing::decode_session_state(data) {
        assert_eq!(encoded, data);
    }
});
