//! The client core's decoders: chat messages (what a contact sends inside the
//! end-to-end session), stored records, and invitation links. None panics; a
//! chat message that parses re-encodes to the same bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sotto_core::InvitationLink;
use sotto_core::fuzzing::{decode_envelope, decode_records};

fuzz_target!(|data: &[u8]| {
    if let Some(encoded) = decode_envelope(data) {
        assert_eq!(encoded, data);
    }
    let _ = decode_records(data);
    let _ = InvitationLink::from_payload(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = InvitationLink::parse(text);
    }
});
