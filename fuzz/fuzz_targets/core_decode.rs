//! The client core's decoders: chat messages (what a contact sends inside the
//! end-to-end session, and what a group's member sends in an MLS application
//! message), stored records, invitation and group links, and the requests
//! and replies of group links. None panics; a chat
//! message that parses re-encodes to the same bytes (a group message of the
//! current version too).

#![no_main]

use libfuzzer_sys::fuzz_target;
use sotto_core::fuzzing::{
    decode_envelope, decode_group_link_messages, decode_group_message, decode_records,
};
use sotto_core::{GroupLink, InvitationLink};

fuzz_target!(|data: &[u8]| {
    if let Some(encoded) = decode_envelope(data) {
        assert_eq!(encoded, data);
    }
    // Older versions read, and are written as the current one (3).
    if let Some(encoded) = decode_group_message(data)
        && data.first() == Some(&3)
    {
        assert_eq!(encoded, data);
    }
    let _ = decode_records(data);
    let _ = decode_group_link_messages(data);
    let _ = InvitationLink::from_payload(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = InvitationLink::parse(text);
        let _ = GroupLink::parse(text);
    }
});
