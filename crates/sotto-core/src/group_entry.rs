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

use sotto_groups::{MEMBER_ID_LEN, MemberId};

use crate::CoreError;
use crate::chat_message::{Author, Content, MAX_TEXT_LEN, MessageRef, check_text};
use crate::codec::{Reader, Writer};

const ENTRY_VERSION: u8 = 1;
const MESSAGE_VERSION: u8 = 2;
/// The first version: a text and nothing else.
const TEXT_ONLY_VERSION: u8 = 1;
const TEXT_ONLY: u8 = 0x01;
/// Most members one message mentions.
pub(crate) const MAX_MENTIONS: usize = 32;
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

/// A chat message sent to a group: a pairwise chat message's content,
/// with the members it mentions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GroupChatMessage {
    pub(crate) sent_at: u64,
    pub(crate) mentions: Vec<MemberId>,
    pub(crate) content: Content,
}

impl GroupChatMessage {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        let count = self.mentions.len().min(MAX_MENTIONS);
        w.u8(MESSAGE_VERSION)
            .u64(self.sent_at)
            .u8(u8::try_from(count).unwrap_or(0));
        for member in self.mentions.iter().take(count) {
            w.array(member.as_bytes());
        }
        self.content.encode(&mut w);
        w.finish()
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<GroupChatMessage, CoreError> {
        const BAD: CoreError = CoreError::Malformed("group chat message");
        let mut r = Reader::new(bytes, "group chat message");
        let version = r.u8()?;
        let sent_at = r.u64()?;
        if version == TEXT_ONLY_VERSION {
            if r.u8()? != TEXT_ONLY {
                return Err(BAD);
            }
            let text = r.text(MAX_TEXT_LEN)?;
            check_text(&text).map_err(|_| BAD)?;
            r.finish()?;
            return Ok(GroupChatMessage {
                sent_at,
                mentions: Vec::new(),
                content: Content::Text {
                    reply_to: None,
                    text,
                },
            });
        }
        if version != MESSAGE_VERSION {
            return Err(BAD);
        }
        let count = usize::from(r.u8()?);
        if count > MAX_MENTIONS {
            return Err(BAD);
        }
        let mut mentions = Vec::with_capacity(count);
        for _ in 0..count {
            mentions.push(MemberId::from_bytes(r.array::<MEMBER_ID_LEN>()?));
        }
        let content = Content::decode(&mut r)?;
        r.finish()?;
        let reference = |target: &MessageRef| target.author == Author::Sender;
        let allowed = match &content {
            Content::Text { reply_to, .. } => reply_to.as_ref().is_none_or(reference),
            Content::Reaction { target, .. }
            | Content::Edit { target, .. }
            | Content::Delete { target } => reference(target),
            Content::Receipt { .. } | Content::GroupReceipt { .. } | Content::Timer { .. } => true,
            _ => false,
        };
        let mentions_allowed = mentions.is_empty() || matches!(content, Content::Text { .. });
        if !allowed || !mentions_allowed {
            return Err(BAD);
        }
        Ok(GroupChatMessage {
            sent_at,
            mentions,
            content,
        })
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
    fn every_group_kind_round_trips_and_others_are_refused() {
        let target = MessageRef {
            author: Author::Sender,
            seq: 12,
        };
        let contents = [
            Content::Text {
                reply_to: Some(target),
                text: "hello, group".to_owned(),
            },
            Content::Reaction {
                target,
                emoji: "👍".to_owned(),
            },
            Content::Edit {
                target,
                text: "hello again".to_owned(),
            },
            Content::Delete { target },
            Content::Receipt {
                kind: crate::chat_message::ReceiptKind::Read,
                seqs: vec![3, 12],
            },
            Content::GroupReceipt {
                kind: crate::chat_message::ReceiptKind::Read,
                from: 3,
                to: 12,
            },
            Content::Timer { seconds: Some(60) },
        ];
        for content in contents {
            let mentions = match content {
                Content::Text { .. } => vec![MemberId::from_bytes([4; MEMBER_ID_LEN])],
                _ => Vec::new(),
            };
            let message = GroupChatMessage {
                sent_at: 1_700_000_000_000,
                mentions,
                content,
            };
            let bytes = message.encode();
            assert_eq!(GroupChatMessage::decode(&bytes).unwrap(), message);
            for cut in 0..bytes.len() {
                assert!(GroupChatMessage::decode(&bytes[..cut]).is_err());
            }
        }
        let refused = [
            GroupChatMessage {
                sent_at: 1,
                mentions: Vec::new(),
                content: Content::Typing { typing: true },
            },
            GroupChatMessage {
                sent_at: 1,
                mentions: Vec::new(),
                content: Content::Delete {
                    target: MessageRef {
                        author: Author::Recipient,
                        seq: 3,
                    },
                },
            },
            GroupChatMessage {
                sent_at: 1,
                mentions: vec![MemberId::from_bytes([4; MEMBER_ID_LEN])],
                content: Content::Timer { seconds: None },
            },
        ];
        for message in refused {
            assert!(GroupChatMessage::decode(&message.encode()).is_err());
        }
    }

    #[test]
    fn a_first_version_text_still_reads() {
        let mut w = Writer::new();
        w.u8(1).u64(7).u8(1).bytes16(b"hi");
        let message = GroupChatMessage::decode(&w.finish()).unwrap();
        assert_eq!(
            message.content,
            Content::Text {
                reply_to: None,
                text: "hi".to_owned()
            }
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
