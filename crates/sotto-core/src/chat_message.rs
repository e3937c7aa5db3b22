//! The chat message: what travels inside the end-to-end session.
//!
//! ```text
//! envelope = version (1) = 0x01 || seq u64 (1, 2, …) || prev_hash (32)
//!         || sent_at u64 (Unix ms, sender's clock) || kind u8 || content
//! ```
//!
//! `seq` counts every envelope one side sends in one direction of a contact,
//! from 1; `prev_hash` is the [`envelope_hash`] of the previous envelope in that
//! direction (32 zero bytes for seq 1). Contents, by kind:
//!
//! | kind | content | layout |
//! |-----:|---------|--------|
//! | 0x01 | Hello   | queue address, sender auth key (32), profile |
//! | 0x02 | Confirm | sender auth key (32), profile, option(queue address) |
//! | 0x10 | Text    | option(message ref), text_len u16 (1..=8000), text |
//! | 0x11 | Reaction | message ref, emoji_len u16 (0..=32), emoji (empty removes) |
//! | 0x12 | Edit    | message ref, text_len u16 (1..=8000), text |
//! | 0x13 | Delete  | message ref |
//! | 0x14 | Receipt | receipt kind u8 (1 delivered, 2 read), count u16 (1..=64), seq u64 × count |
//! | 0x15 | Typing  | u8 (0 stopped, 1 typing) |
//! | 0x16 | Timer   | seconds u32 (0 = off, else 30..=2419200) |
//! | 0x17 | ProfileUpdate | profile |
//! | 0x18 | File    | file message (`file_message`) |
//! | 0x19 | GroupInvite | invite id (16), group name (`group_invite`) |
//! | 0x1a | GroupKeyPackage | invite id (16), key package (`group_invite`) |
//! | 0x1b | GroupWelcome | welcome and log credentials (`group_invite`) |
//! | 0x1c | GroupWelcomePiece | a piece of a GroupWelcome too long for one message (`group_invite`) |
//! | 0x1d | MediaPrivacy | flags u8 (bit 0: block saving and exporting media; others 0) |
//! | 0x1e | GroupReceipt | receipt kind u8 (1 delivered, 2 read), from u64, to u64 (1 ≤ from ≤ to); groups only |
//! | 0x1f | GroupDeleted | empty: an owner deleted the group for everyone; groups only |
//!
//! `message ref = author u8 (0: the envelope's sender, 1: its recipient) || seq u64`.
//! `option(x) = 0x00 | 0x01 || x`. Texts are UTF-8.

use sha2::{Digest, Sha256};

use crate::CoreError;
use crate::codec::{Reader, Writer};
use crate::file_message::FileMessage;
use crate::group_invite::{
    GroupWelcome, InviteId, WelcomePiece, decode_group_name, decode_key_package,
};
use crate::profile::Profile;
use crate::queue_address::QueueAddress;

/// Version byte of the envelope.
const ENVELOPE_VERSION: u8 = 1;
/// Longest text of one message, in bytes of UTF-8.
pub const MAX_TEXT_LEN: usize = 8000;
/// Longest reaction, in bytes of UTF-8.
pub const MAX_REACTION_LEN: usize = 32;
/// Most message numbers in one receipt.
pub const MAX_RECEIPT_SEQS: usize = 64;
/// Shortest disappearing-message timer, in seconds.
pub const MIN_TIMER_SECS: u32 = 30;
/// Longest disappearing-message timer: four weeks, in seconds.
pub const MAX_TIMER_SECS: u32 = 28 * 24 * 3600;

/// Hash of an envelope, chained through `prev_hash`:
/// SHA-256("sotto-chat-v1 envelope" || envelope bytes).
pub(crate) fn envelope_hash(envelope: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(b"sotto-chat-v1 envelope");
    hash.update(envelope);
    hash.finalize().into()
}

/// Who wrote the message a reference points to, from the envelope sender's view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Author {
    /// The envelope's sender wrote it.
    Sender,
    /// The envelope's recipient wrote it.
    Recipient,
}

/// A reference to an earlier message: its author and its `seq`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MessageRef {
    pub(crate) author: Author,
    pub(crate) seq: u64,
}

impl MessageRef {
    fn encode(&self, writer: &mut Writer) {
        writer
            .u8(match self.author {
                Author::Sender => 0,
                Author::Recipient => 1,
            })
            .u64(self.seq);
    }

    fn decode(reader: &mut Reader<'_>) -> Result<MessageRef, CoreError> {
        let author = match reader.u8()? {
            0 => Author::Sender,
            1 => Author::Recipient,
            _ => return Err(CoreError::Malformed("message reference")),
        };
        let seq = reader.u64()?;
        if seq == 0 {
            return Err(CoreError::Malformed("message reference"));
        }
        Ok(MessageRef { author, seq })
    }
}

/// Delivery or read receipt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReceiptKind {
    /// The message reached the contact's device.
    Delivered,
    /// The contact opened the chat with the message.
    Read,
}

impl ReceiptKind {
    fn to_byte(self) -> u8 {
        match self {
            ReceiptKind::Delivered => 1,
            ReceiptKind::Read => 2,
        }
    }

    fn from_byte(byte: u8) -> Result<ReceiptKind, CoreError> {
        match byte {
            1 => Ok(ReceiptKind::Delivered),
            2 => Ok(ReceiptKind::Read),
            _ => Err(CoreError::Malformed("chat message")),
        }
    }
}

/// What an envelope carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Content {
    /// Joiner → inviter, in the answer: where to reply and with which key.
    Hello {
        queue: QueueAddress,
        sender_key: [u8; 32],
        profile: Profile,
    },
    /// Inviter → joiner, first message: the key that secures the joiner's
    /// queue, and (contact addresses) the queue to send to from now on.
    Confirm {
        sender_key: [u8; 32],
        profile: Profile,
        reply_queue: Option<QueueAddress>,
    },
    Text {
        reply_to: Option<MessageRef>,
        text: String,
    },
    Reaction {
        target: MessageRef,
        emoji: String,
    },
    Edit {
        target: MessageRef,
        text: String,
    },
    Delete {
        target: MessageRef,
    },
    Receipt {
        kind: ReceiptKind,
        seqs: Vec<u64>,
    },
    Typing {
        typing: bool,
    },
    Timer {
        seconds: Option<u32>,
    },
    /// The chat's media privacy, for both sides: whether media may be saved
    /// out of the chat and exported with it.
    MediaPrivacy {
        block_saving: bool,
    },
    ProfileUpdate {
        profile: Profile,
    },
    File {
        file: FileMessage,
    },
    GroupInvite {
        invite: InviteId,
        name: String,
    },
    GroupKeyPackage {
        invite: InviteId,
        key_package: Vec<u8>,
    },
    GroupWelcome(GroupWelcome),
    GroupWelcomePiece(WelcomePiece),
    /// A group member's receipt for every message of the group's log with
    /// a sequence number in `from..=to` (only in a group's log: a contact's
    /// is ignored).
    GroupReceipt {
        kind: ReceiptKind,
        from: u64,
        to: u64,
    },
    /// An owner deleted the group for everyone (only in a group's log, from
    /// an owner: another member's, or a contact's, is ignored).
    GroupDeleted,
}

impl Content {
    /// `kind u8 || content`, as the table above lays them out.
    pub(crate) fn encode(&self, w: &mut Writer) {
        match self {
            Content::Hello {
                queue,
                sender_key,
                profile,
            } => {
                w.u8(0x01);
                queue.encode(w);
                w.array(sender_key);
                profile.encode(w);
            }
            Content::Confirm {
                sender_key,
                profile,
                reply_queue,
            } => {
                w.u8(0x02).array(sender_key);
                profile.encode(w);
                w.option(reply_queue.as_ref(), |w, q| q.encode(w));
            }
            Content::Text { reply_to, text } => {
                w.u8(0x10);
                w.option(reply_to.as_ref(), |w, r| r.encode(w));
                w.bytes16(text.as_bytes());
            }
            Content::Reaction { target, emoji } => {
                w.u8(0x11);
                target.encode(w);
                w.bytes16(emoji.as_bytes());
            }
            Content::Edit { target, text } => {
                w.u8(0x12);
                target.encode(w);
                w.bytes16(text.as_bytes());
            }
            Content::Delete { target } => {
                w.u8(0x13);
                target.encode(w);
            }
            Content::Receipt { kind, seqs } => {
                w.u8(0x14).u8(kind.to_byte());
                let count = seqs.len().min(MAX_RECEIPT_SEQS);
                w.u16(u16::try_from(count).unwrap_or(0));
                for seq in seqs.iter().take(count) {
                    w.u64(*seq);
                }
            }
            Content::Typing { typing } => {
                w.u8(0x15).bool(*typing);
            }
            Content::Timer { seconds } => {
                w.u8(0x16).u32(seconds.unwrap_or(0));
            }
            Content::ProfileUpdate { profile } => {
                w.u8(0x17);
                profile.encode(w);
            }
            Content::File { file } => {
                w.u8(0x18);
                file.encode(w);
            }
            Content::GroupInvite { invite, name } => {
                w.u8(0x19).array(invite).bytes16(name.as_bytes());
            }
            Content::GroupKeyPackage {
                invite,
                key_package,
            } => {
                w.u8(0x1a).array(invite).bytes32(key_package);
            }
            Content::GroupWelcome(welcome) => {
                w.u8(0x1b);
                welcome.encode(w);
            }
            Content::GroupWelcomePiece(piece) => {
                w.u8(0x1c);
                piece.encode(w);
            }
            Content::MediaPrivacy { block_saving } => {
                w.u8(0x1d).u8(u8::from(*block_saving));
            }
            Content::GroupReceipt { kind, from, to } => {
                w.u8(0x1e).u8(kind.to_byte()).u64(*from).u64(*to);
            }
            Content::GroupDeleted => {
                w.u8(0x1f);
            }
        }
    }

    /// One content, its kind byte first.
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Content, CoreError> {
        const WHAT: &str = "chat message";
        Ok(match r.u8()? {
            0x01 => Content::Hello {
                queue: QueueAddress::decode(r)?,
                sender_key: r.array()?,
                profile: Profile::decode(r)?,
            },
            0x02 => Content::Confirm {
                sender_key: r.array()?,
                profile: Profile::decode(r)?,
                reply_queue: r.option(QueueAddress::decode)?,
            },
            0x10 => {
                let reply_to = r.option(MessageRef::decode)?;
                let text = r.text(MAX_TEXT_LEN)?;
                check_text(&text).map_err(|_| CoreError::Malformed(WHAT))?;
                Content::Text { reply_to, text }
            }
            0x11 => Content::Reaction {
                target: MessageRef::decode(r)?,
                emoji: r.text(MAX_REACTION_LEN)?,
            },
            0x12 => {
                let target = MessageRef::decode(r)?;
                let text = r.text(MAX_TEXT_LEN)?;
                check_text(&text).map_err(|_| CoreError::Malformed(WHAT))?;
                Content::Edit { target, text }
            }
            0x13 => Content::Delete {
                target: MessageRef::decode(r)?,
            },
            0x14 => {
                let kind = ReceiptKind::from_byte(r.u8()?)?;
                let count = usize::from(r.u16()?);
                if count == 0 || count > MAX_RECEIPT_SEQS {
                    return Err(CoreError::Malformed(WHAT));
                }
                let mut seqs = Vec::with_capacity(count);
                for _ in 0..count {
                    seqs.push(r.u64()?);
                }
                Content::Receipt { kind, seqs }
            }
            0x15 => Content::Typing { typing: r.bool()? },
            0x16 => {
                let seconds = Some(r.u32()?).filter(|&secs| secs != 0);
                check_timer(seconds).map_err(|_| CoreError::Malformed(WHAT))?;
                Content::Timer { seconds }
            }
            0x17 => Content::ProfileUpdate {
                profile: Profile::decode(r)?,
            },
            0x18 => Content::File {
                file: FileMessage::decode(r, true)?,
            },
            0x19 => Content::GroupInvite {
                invite: r.array()?,
                name: decode_group_name(r)?,
            },
            0x1a => Content::GroupKeyPackage {
                invite: r.array()?,
                key_package: decode_key_package(r)?,
            },
            0x1b => Content::GroupWelcome(GroupWelcome::decode(r)?),
            0x1c => Content::GroupWelcomePiece(WelcomePiece::decode(r)?),
            0x1d => match r.u8()? {
                0 => Content::MediaPrivacy {
                    block_saving: false,
                },
                1 => Content::MediaPrivacy { block_saving: true },
                _ => return Err(CoreError::Malformed(WHAT)),
            },
            0x1e => {
                let kind = ReceiptKind::from_byte(r.u8()?)?;
                let (from, to) = (r.u64()?, r.u64()?);
                if from == 0 || from > to {
                    return Err(CoreError::Malformed(WHAT));
                }
                Content::GroupReceipt { kind, from, to }
            }
            0x1f => Content::GroupDeleted,
            _ => return Err(CoreError::Malformed(WHAT)),
        })
    }
}

/// One decoded envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Envelope {
    pub(crate) seq: u64,
    pub(crate) prev_hash: [u8; 32],
    pub(crate) sent_at: u64,
    pub(crate) content: Content,
}

pub(crate) fn check_text(text: &str) -> Result<(), CoreError> {
    if text.is_empty() {
        return Err(CoreError::InvalidValue("empty text"));
    }
    if text.len() > MAX_TEXT_LEN {
        return Err(CoreError::TooLong {
            what: "text",
            max: MAX_TEXT_LEN,
        });
    }
    Ok(())
}

pub(crate) fn check_timer(seconds: Option<u32>) -> Result<(), CoreError> {
    match seconds {
        Some(secs) if !(MIN_TIMER_SECS..=MAX_TIMER_SECS).contains(&secs) => {
            Err(CoreError::InvalidValue("timer"))
        }
        _ => Ok(()),
    }
}

impl Envelope {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(ENVELOPE_VERSION)
            .u64(self.seq)
            .array(&self.prev_hash)
            .u64(self.sent_at);
        self.content.encode(&mut w);
        w.finish()
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Envelope, CoreError> {
        const WHAT: &str = "chat message";
        let mut r = Reader::new(bytes, WHAT);
        let version = r.u8()?;
        if version != ENVELOPE_VERSION {
            return Err(CoreError::UnsupportedVersion {
                what: WHAT,
                version,
            });
        }
        let seq = r.u64()?;
        if seq == 0 {
            return Err(CoreError::Malformed(WHAT));
        }
        let prev_hash = r.array()?;
        let sent_at = r.u64()?;
        let content = Content::decode(&mut r)?;
        r.finish()?;
        Ok(Envelope {
            seq,
            prev_hash,
            sent_at,
            content,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use sotto_wire::SenderId;

    fn samples() -> Vec<Content> {
        let profile = Profile::new("Bob", Some("bio")).unwrap();
        let queue = QueueAddress {
            relay: "sotto+ws://tgAwbPp2cj_ew5XlOps9n9t4seLXojwy_LzS3G0MQJI@127.0.0.1:7000"
                .parse()
                .unwrap(),
            sender_id: SenderId::from_bytes([1; 24]),
        };
        let target = MessageRef {
            author: Author::Recipient,
            seq: 3,
        };
        vec![
            Content::Hello {
                queue: queue.clone(),
                sender_key: [2; 32],
                profile: profile.clone(),
            },
            Content::Confirm {
                sender_key: [3; 32],
                profile: profile.clone(),
                reply_queue: Some(queue),
            },
            Content::Text {
                reply_to: Some(target),
                text: "hé".into(),
            },
            Content::Text {
                reply_to: None,
                text: "x".repeat(MAX_TEXT_LEN),
            },
            Content::Reaction {
                target,
                emoji: "👍".into(),
            },
            Content::Edit {
                target,
                text: "new".into(),
            },
            Content::Delete { target },
            Content::Receipt {
                kind: ReceiptKind::Read,
                seqs: vec![1, 2, 9],
            },
            Content::GroupReceipt {
                kind: ReceiptKind::Delivered,
                from: 4,
                to: 4,
            },
            Content::GroupReceipt {
                kind: ReceiptKind::Read,
                from: 1,
                to: u64::MAX,
            },
            Content::Typing { typing: true },
            Content::Timer { seconds: Some(30) },
            Content::Timer { seconds: None },
            Content::MediaPrivacy { block_saving: true },
            Content::MediaPrivacy {
                block_saving: false,
            },
            Content::ProfileUpdate { profile },
            Content::File {
                file: crate::file_message::tests::inline(70_000),
            },
            Content::File {
                file: crate::file_message::tests::inline(180 * 1024 * 1024),
            },
            Content::File {
                file: crate::file_message::tests::longest_inline(),
            },
            Content::File {
                file: crate::file_message::tests::with_largest_preview(),
            },
            Content::GroupInvite {
                invite: [3; 16],
                name: "Climbing".into(),
            },
            Content::GroupKeyPackage {
                invite: [3; 16],
                key_package: vec![1; 2000],
            },
            Content::GroupWelcome(GroupWelcome {
                invite: [3; 16],
                next_seq: 4,
                log: crate::group_record::tests::log_without_admin(),
                welcome: vec![2; 9000],
            }),
            Content::GroupWelcomePiece(WelcomePiece {
                invite: [3; 16],
                index: 1,
                count: 2,
                bytes: vec![4; crate::group_invite::MAX_WELCOME_PIECE_LEN],
            }),
        ]
    }

    #[test]
    fn every_kind_round_trips_and_fits_a_message() {
        for content in samples() {
            let envelope = Envelope {
                seq: 7,
                prev_hash: [9; 32],
                sent_at: 1_800_000_000_000,
                content,
            };
            let bytes = envelope.encode();
            assert!(
                bytes.len() <= sotto_crypto::MAX_PLAINTEXT_LEN,
                "{} > {}",
                bytes.len(),
                sotto_crypto::MAX_PLAINTEXT_LEN
            );
            assert_eq!(Envelope::decode(&bytes).unwrap(), envelope);
            let mut longer = bytes.clone();
            longer.push(0);
            assert!(Envelope::decode(&longer).is_err());
            for cut in 0..bytes.len() {
                assert!(Envelope::decode(&bytes[..cut]).is_err());
            }
        }
    }

    #[test]
    fn out_of_range_values_are_refused() {
        let timer = Envelope {
            seq: 1,
            prev_hash: [0; 32],
            sent_at: 0,
            content: Content::Timer { seconds: Some(29) },
        };
        assert!(Envelope::decode(&timer.encode()).is_err());
        let mut zero_seq = Envelope {
            seq: 1,
            prev_hash: [0; 32],
            sent_at: 0,
            content: Content::Typing { typing: false },
        }
        .encode();
        zero_seq[1..9].copy_from_slice(&[0; 8]);
        assert!(Envelope::decode(&zero_seq).is_err());
        for (from, to) in [(0, 3), (5, 4)] {
            let receipt = Envelope {
                seq: 1,
                prev_hash: [0; 32],
                sent_at: 0,
                content: Content::GroupReceipt {
                    kind: ReceiptKind::Read,
                    from,
                    to,
                },
            };
            assert!(Envelope::decode(&receipt.encode()).is_err());
        }
    }

    proptest! {
        #[test]
        fn hostile_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            if let Ok(envelope) = Envelope::decode(&bytes) {
                prop_assert_eq!(envelope.encode(), bytes);
            }
        }

        #[test]
        fn texts_round_trip(text in "\\PC{1,200}", seq in 1u64.., sent_at in any::<u64>()) {
            let envelope = Envelope {
                seq,
                prev_hash: [1; 32],
                sent_at,
                content: Content::Text { reply_to: None, text },
            };
            prop_assert_eq!(Envelope::decode(&envelope.encode()).unwrap(), envelope);
        }
    }
}
