//! What a group log entry carries: one MLS message (commit, proposal or
//! application message), framed and padded to the relay's fixed entry size,
//! and the group chat messages inside MLS application messages.
//!
//! ```text
//! entry (exactly 16000 bytes) = version (1) = 0x01 || len u32 || MLS message (len bytes)
//!                               || zero bytes to 16000
//!   or, one piece of an MLS message too long for one entry (a commit):
//!   0x02 || message id (16) || index u16 || count u16 (2..=MAX_PIECES)
//!   || len u32 || piece (len bytes) || zero bytes to 16000
//!   message id = the first 16 bytes of SHA-256(MLS message)
//! group chat message (MLS application plaintext)
//!   = version (1) = 0x03 || sent_at u64 (Unix ms) || number u64 (≥ 1)
//!     || count u8 || member id (16) × count || content (as a pairwise chat's)
//!   (version 0x02: no number; version 0x01: sent_at u64 || 0x01 || text16)
//! ```
//!
//! `number` counts the sender's own messages in the group, 1, 2, …: what
//! the log dropped, reordered or repeated of one member's messages shows
//! to the others (`groups::integrity`).
//!
//! An entry whose version, length or padding is wrong is refused whole: the
//! padding must be zero, so an entry has one encoding only.

use sha2::Digest;
use sotto_wire::{GROUP_ENTRY_LEN, GroupEntry};

use sotto_groups::{MEMBER_ID_LEN, MemberId};

use crate::CoreError;
use crate::chat_message::{Author, Content, MAX_TEXT_LEN, MessageRef, check_text};
use crate::codec::{Reader, Writer};

const ENTRY_VERSION: u8 = 1;
const MESSAGE_VERSION: u8 = 3;
/// Without the sender's number.
const UNNUMBERED_VERSION: u8 = 2;
/// The first version: a text and nothing else.
const TEXT_ONLY_VERSION: u8 = 1;
const TEXT_ONLY: u8 = 0x01;
/// Most members one message mentions.
pub(crate) const MAX_MENTIONS: usize = 32;
/// The entry's framing before the MLS message.
const HEADER_LEN: usize = 5;
/// The longest MLS message one entry carries.
pub const MAX_ENTRY_MESSAGE_LEN: usize = GROUP_ENTRY_LEN - HEADER_LEN;

/// The version byte of an entry carrying one piece of a longer message.
const PIECE_VERSION: u8 = 2;
/// A piece's framing before its bytes.
const PIECE_HEADER_LEN: usize = 1 + MESSAGE_ID_LEN + 2 + 2 + 4;
/// The longest piece one entry carries.
pub(crate) const MAX_PIECE_LEN: usize = GROUP_ENTRY_LEN - PIECE_HEADER_LEN;
/// Most pieces of one message: an MLS message up to 16 MB (a commit that
/// removes a member from a group of 10,000 whose tree has no parent keys
/// is about 11 MB).
pub(crate) const MAX_PIECES: usize = 1024;
/// The length of a message id.
pub(crate) const MESSAGE_ID_LEN: usize = 16;

/// What one entry carries.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum EntryContent<'a> {
    /// A whole MLS message.
    Whole(&'a [u8]),
    /// One piece of a longer one.
    Piece(Piece<'a>),
}

/// One piece of an MLS message that spans several entries.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Piece<'a> {
    /// Names the message: the first 16 bytes of its SHA-256.
    pub(crate) message: [u8; MESSAGE_ID_LEN],
    pub(crate) index: u16,
    pub(crate) count: u16,
    pub(crate) bytes: &'a [u8],
}

/// The entries that carry one MLS message: one when it fits, else its
/// pieces, in order (to append in that order).
pub(crate) fn entries_of(mls_message: &[u8]) -> Result<Vec<GroupEntry>, CoreError> {
    if mls_message.len() <= MAX_ENTRY_MESSAGE_LEN {
        return Ok(vec![entry_of(mls_message)?]);
    }
    let count = mls_message.len().div_ceil(MAX_PIECE_LEN);
    let count = u16::try_from(count)
        .ok()
        .filter(|&count| usize::from(count) <= MAX_PIECES)
        .ok_or(CoreError::TooLong {
            what: "group message",
            max: MAX_PIECES * MAX_PIECE_LEN,
        })?;
    let digest: [u8; 32] = sha2::Sha256::digest(mls_message).into();
    let mut message = [0; MESSAGE_ID_LEN];
    message.copy_from_slice(&digest[..MESSAGE_ID_LEN]);
    mls_message
        .chunks(MAX_PIECE_LEN)
        .zip(0u16..)
        .map(|(piece, index)| {
            let mut bytes = Vec::with_capacity(GROUP_ENTRY_LEN);
            bytes.push(PIECE_VERSION);
            bytes.extend_from_slice(&message);
            bytes.extend_from_slice(&index.to_be_bytes());
            bytes.extend_from_slice(&count.to_be_bytes());
            // A piece is at most MAX_PIECE_LEN bytes.
            bytes.extend_from_slice(&u32::try_from(piece.len()).unwrap_or(0).to_be_bytes());
            bytes.extend_from_slice(piece);
            bytes.resize(GROUP_ENTRY_LEN, 0);
            Ok(GroupEntry::new(bytes)?)
        })
        .collect()
}

/// What an entry carries: a whole MLS message or a piece of one. The
/// framing is checked (lengths, zero padding); the pieces' agreement with
/// each other is `groups::pieces`' to check.
pub(crate) fn content_of(entry: &GroupEntry) -> Result<EntryContent<'_>, CoreError> {
    const BAD: CoreError = CoreError::Malformed("group entry");
    let bytes = entry.as_bytes();
    if bytes[0] != PIECE_VERSION {
        return message_of(entry).map(EntryContent::Whole);
    }
    let (header, rest) = bytes.split_at(PIECE_HEADER_LEN);
    let mut message = [0; MESSAGE_ID_LEN];
    message.copy_from_slice(&header[1..=MESSAGE_ID_LEN]);
    let field = |at: usize| u16::from_be_bytes([header[at], header[at + 1]]);
    let (index, count) = (field(1 + MESSAGE_ID_LEN), field(3 + MESSAGE_ID_LEN));
    let len = u32::from_be_bytes([header[21], header[22], header[23], header[24]]);
    let len = usize::try_from(len).map_err(|_| BAD)?;
    if count < 2 || usize::from(count) > MAX_PIECES || index >= count || len == 0 {
        return Err(BAD);
    }
    if len > rest.len() {
        return Err(BAD);
    }
    let (piece, padding) = rest.split_at(len);
    if padding.iter().any(|&byte| byte != 0) {
        return Err(BAD);
    }
    Ok(EntryContent::Piece(Piece {
        message,
        index,
        count,
        bytes: piece,
    }))
}

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
    /// The sender's count of its messages to the group (from 1); 0 in a
    /// message of a version without it.
    pub(crate) number: u64,
    pub(crate) mentions: Vec<MemberId>,
    pub(crate) content: Content,
}

impl GroupChatMessage {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        let count = self.mentions.len().min(MAX_MENTIONS);
        w.u8(MESSAGE_VERSION)
            .u64(self.sent_at)
            .u64(self.number)
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
                number: 0,
                mentions: Vec::new(),
                content: Content::Text {
                    reply_to: None,
                    text,
                },
            });
        }
        let number = match version {
            MESSAGE_VERSION => match r.u64()? {
                0 => return Err(BAD),
                number => number,
            },
            UNNUMBERED_VERSION => 0,
            _ => return Err(BAD),
        };
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
            Content::Receipt { .. }
            | Content::GroupReceipt { .. }
            | Content::GroupDeleted
            | Content::Timer { .. }
            | Content::File { .. }
            | Content::MediaPrivacy { .. } => true,
            _ => false,
        };
        let mentions_allowed = mentions.is_empty() || matches!(content, Content::Text { .. });
        if !allowed || !mentions_allowed {
            return Err(BAD);
        }
        Ok(GroupChatMessage {
            sent_at,
            number,
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
    fn a_long_message_spans_pieces_that_frame_it_exactly() {
        let long: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
        let entries = entries_of(&long).unwrap();
        assert_eq!(entries.len(), 3);
        let mut joined = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            let EntryContent::Piece(piece) = content_of(entry).unwrap() else {
                panic!("a piece");
            };
            assert_eq!((usize::from(piece.index), piece.count), (index, 3));
            joined.extend_from_slice(piece.bytes);
        }
        assert_eq!(joined, long);
        let short = entries_of(b"mls").unwrap();
        assert_eq!(content_of(&short[0]).unwrap(), EntryContent::Whole(b"mls"));
        assert!(entries_of(&vec![1; MAX_PIECES * MAX_PIECE_LEN + 1]).is_err());

        // An index past the count, a count of one, junk in the padding.
        for (at, value) in [(17, 0), (20, 1), (GROUP_ENTRY_LEN - 1, 1)] {
            let mut bytes = entries[2].as_bytes().to_vec();
            if at == 17 {
                bytes[17..19].copy_from_slice(&3u16.to_be_bytes());
            } else {
                bytes[at] = value;
            }
            assert!(
                content_of(&GroupEntry::new(bytes).unwrap()).is_err(),
                "{at}"
            );
        }
    }

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
            Content::GroupDeleted,
        ];
        for content in contents {
            let mentions = match content {
                Content::Text { .. } => vec![MemberId::from_bytes([4; MEMBER_ID_LEN])],
                _ => Vec::new(),
            };
            let message = GroupChatMessage {
                sent_at: 1_700_000_000_000,
                number: 9,
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
                number: 1,
                mentions: Vec::new(),
                content: Content::Typing { typing: true },
            },
            GroupChatMessage {
                sent_at: 1,
                number: 1,
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
                number: 1,
                mentions: vec![MemberId::from_bytes([4; MEMBER_ID_LEN])],
                content: Content::Timer { seconds: None },
            },
        ];
        for message in refused {
            assert!(GroupChatMessage::decode(&message.encode()).is_err());
        }
    }

    #[test]
    fn a_message_numbered_zero_is_refused_and_an_unnumbered_version_reads() {
        let message = GroupChatMessage {
            sent_at: 5,
            number: 0,
            mentions: Vec::new(),
            content: Content::Timer { seconds: None },
        };
        let mut bytes = message.encode();
        assert!(GroupChatMessage::decode(&bytes).is_err());
        // Version 2: the same without the number.
        bytes[0] = UNNUMBERED_VERSION;
        bytes.drain(9..17);
        assert_eq!(GroupChatMessage::decode(&bytes).unwrap(), message);
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
            let entry = GroupEntry::new(bytes).unwrap();
            let _ = message_of(&entry);
            let _ = content_of(&entry);
        }

        #[test]
        fn hostile_chat_messages_are_errors_not_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let _ = GroupChatMessage::decode(&bytes);
        }
    }
}
