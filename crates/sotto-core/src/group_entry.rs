//! What a group log entry carries: one MLS message (commit, proposal or
//! application message), framed and padded to the relay's fixed entry size,
//! and the group chat messages inside MLS application messages.
//!
//! ```text
//! entry (exactly 16000 bytes) = version (1) = 0x01 || len u32 || MLS message (len bytes)
//!                               || zero bytes to 16000
//! group chat message (MLS application plaintext)
//!   = version (1) = 0x01 || sent_at u64 (Unix ms) || type u8 || body
//!   type 0x01 text: text_len u16 || UTF-8 text (at most MAX_TEXT_LEN bytes)
//! ```
//!
//! An entry whose version, length or padding is wrong is refused whole: the
//! padding must be zero, so an entry has one encoding only.

use sotto_wire::{GROUP_ENTRY_LEN, GroupEntry};

use crate::CoreError;
use crate::chat_message::MAX_TEXT_LEN;
use crate::codec::{Reader, Writer};

const ENTRY_VERSION: u8 = 1;
const MESSAGE_VERSION: u8 = 1;
const TEXT: u8 = 0x01;
/// The entry's framing before the MLS message.
const HEADER_LEN: usize = 5;
/// The longest MLS message one entry carries.
pub const MAX_ENTRY_MESSAGE_LEN: usize = GROUP_ENTRY_LEN - HEADER_LEN;

/// Frames and pads one MLS message into an entry.
pub(crate) fn entry_of(mls_message: &[u8]) -> Result<GroupEntry, CoreError> {
    if mls_message.len() > MAX_ENTRY_MESSAGE_LEN {
        return Err(CoreError::TooLong {
            what: "group message",
            max: MAX_ENTRY_MESSAGE_LEN,
        });
    }
    let mut bytes = Vec::with_capacity(GROUP_ENTRY_LEN);
    bytes.push(ENTRY_VERSION);
    // The check above bounds the length far below u32::MAX.
    bytes.extend_from_slice(&u32::try_from(mls_message.len()).unwrap_or(0).to_be_bytes());
    bytes.extend_from_slice(mls_message);
    bytes.resize(GROUP_ENTRY_LEN, 0);
    Ok(GroupEntry::new(bytes)?)
}

/// The MLS message an entry carries.
pub(crate) fn message_of(entry: &GroupEntry) -> Result<&[u8], CoreError> {
    const BAD: CoreError = CoreError::Malformed("group entry");
    let bytes = entry.as_bytes();
    let (header, rest) = bytes.split_at(HEADER_LEN);
    if header[0] != ENTRY_VERSION {
        return Err(BAD);
    }
    let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]);
    let len = usize::try_from(len).map_err(|_| BAD)?;
    if len == 0 || len > rest.len() {
        return Err(BAD);
    }
    let (message, padding) = rest.split_at(len);
    if padding.iter().any(|&byte| byte != 0) {
        return Err(BAD);
    }
    Ok(message)
}

/// A chat message sent to a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GroupChatMessage {
    pub(crate) sent_at: u64,
    pub(crate) text: String,
}

impl GroupChatMessage {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(MESSAGE_VERSION)
            .u64(self.sent_at)
            .u8(TEXT)
            .bytes16(self.text.as_bytes());
        w.finish()
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<GroupChatMessage, CoreError> {
        let mut r = Reader::new(bytes, "group chat message");
        if r.u8()? != MESSAGE_VERSION {
            return Err(CoreError::Malformed("group chat message"));
        }
        let sent_at = r.u64()?;
        if r.u8()? != TEXT {
            return Err(CoreError::Malformed("group chat message"));
        }
        let text = r.text(MAX_TEXT_LEN)?;
        r.finish()?;
        Ok(GroupChatMessage { sent_at, text })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn an_entry_carries_its_message_and_nothing_else() {
        let entry = entry_of(b"mls").unwrap();
        assert_eq!(entry.as_bytes().len(), GROUP_ENTRY_LEN);
        assert_eq!(message_of(&entry).unwrap(), b"mls");
        let longest = vec![7; MAX_ENTRY_MESSAGE_LEN];
        assert_eq!(
            message_of(&entry_of(&longest).unwrap()).unwrap(),
            &longest[..]
        );
        assert!(entry_of(&[7; MAX_ENTRY_MESSAGE_LEN + 1]).is_err());

        let mut bytes = entry.as_bytes().to_vec();
        bytes[GROUP_ENTRY_LEN - 1] = 1;
        let padded_with_junk = GroupEntry::new(bytes).unwrap();
        assert!(message_of(&padded_with_junk).is_err());
    }

    #[test]
    fn texts_round_trip() {
        let message = GroupChatMessage {
            sent_at: 1_700_000_000_000,
            text: "hello, group".to_owned(),
        };
        assert_eq!(
            GroupChatMessage::decode(&message.encode()).unwrap(),
            message
        );
    }

    proptest! {
        #[test]
        fn hostile_entries_are_errors_not_panics(
            head in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut bytes = head;
            bytes.resize(GROUP_ENTRY_LEN, 0);
            let _ = message_of(&GroupEntry::new(bytes).unwrap());
        }

        #[test]
        fn hostile_chat_messages_are_errors_not_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let _ = GroupChatMessage::decode(&bytes);
        }
    }
}
