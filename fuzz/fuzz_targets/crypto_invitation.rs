//! Invitation decoder: never panics; what parses re-encodes to the same bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sotto_crypto::Invitation;

fuzz_target!(|data: &[u8]| {
    if let Ok(invitation) = Invitation::from_bytes(data) {
        assert_eq!(invitation.to_bytes(), data);
    }
});
