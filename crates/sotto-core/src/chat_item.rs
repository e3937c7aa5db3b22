//! The history of a chat: messages and notices, in the order this device saw
//! them, with an index from the author's sequence numbers to local numbers
//! (for replies, reactions, edits, deletes and receipts) and an index of
//! expiry times (disappearing messages).
//!
//! ```text
//! table "messages", key chat id u64 || message number u64:
//!   version (1) = 0x02 || direction u8 (0 incoming, 1 outgoing, 2 notice) || seq u64
//!   || sent_at u64 || at u64 || status u8 || body || edited u8 || deleted u8
//!   || reactions count u16 (..=1024) × (mine u8 || option(member id 16) || emoji_len u16 || emoji)
//!   || option(expires_at u64) || option(sender: member id 16 || text16(name))
//!   || mentions me u8
//!   (version 0x01, read only: reactions count u8 (..=2) × (mine u8 || emoji16), and
//!   the record ends after expires_at)
//!   body = 0x01 || option(reply to: message number u64) || text_len u16 || text
//!        | 0x02 || notice
//!        | 0x03 || file message || file state u8 || failure u8 (`file_message`)
//! table "message_seqs", key chat id u64 || author u8 (0 me, 1 peer) || seq u64:
//!   message number u64
//! table "expiry", key expires_at u64 || chat id u64 || message number u64: empty
//! ```
//!
//! In a group's chat, `seq` is the log sequence number of the entry that
//! carried the message (0 for our own until the log has it), the index
//! holds it under the author byte of the item's direction, and an incoming
//! item names its sender (the member's id and its name in the group).

use sotto_groups::{MEMBER_ID_LEN, MemberId};
use zeroize::Zeroizing;

use crate::chat_message::{MAX_REACTION_LEN, MAX_TEXT_LEN};
use crate::codec::{Reader, Writer, corrupt};
use crate::file_message::{FileMessage, FileState};
use crate::ids::{ChatId, MessageNumber};
use crate::integrity::IntegrityNotice;
use crate::store::Table;
use crate::time::UnixMillis;
use crate::{CoreError, Store, WriteBatch};

pub(crate) const MESSAGES: Table = Table::new("messages");
pub(crate) const MESSAGE_SEQS: Table = Table::new("message_seqs");
pub(crate) const EXPIRY: Table = Table::new("expiry");
const VERSION: u8 = 2;
/// Most reactions on one item (one per member of a group).
pub(crate) const MAX_REACTIONS: usize = 1024;

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageDirection {
    /// The contact.
    Incoming,
    /// This profile.
    Outgoing,
    /// Neither: a notice the core adds to the chat.
    Notice,
}

/// Where a message stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// Outgoing: encrypted and queued, not yet accepted by the relay.
    Pending,
    /// Outgoing: the contact's relay holds it.
    Sent,
    /// Outgoing: the contact's device has it. Incoming: not read yet.
    Delivered,
    /// The contact read it (outgoing), or this user did (incoming).
    Read,
    /// Outgoing: the relay refused it for good (the queue is gone).
    Failed,
}

impl MessageStatus {
    fn byte(self) -> u8 {
        match self {
            MessageStatus::Pending => 0,
            MessageStatus::Sent => 1,
            MessageStatus::Delivered => 2,
            MessageStatus::Read => 3,
            MessageStatus::Failed => 4,
        }
    }

    fn from_byte(byte: u8) -> Option<MessageStatus> {
        Some(match byte {
            0 => MessageStatus::Pending,
            1 => MessageStatus::Sent,
            2 => MessageStatus::Delivered,
            3 => MessageStatus::Read,
            4 => MessageStatus::Failed,
            _ => return None,
        })
    }
}

/// A notice the core adds to a chat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChatNotice {
    /// The relay dropped, duplicated or reordered messages.
    Integrity(IntegrityNotice),
    /// The disappearing-message timer changed.
    TimerChanged {
        /// Whether this user changed it.
        by_me: bool,
        /// The new timer in seconds, `None` when turned off.
        seconds: Option<u32>,
    },
    /// The chat's media privacy changed: whether media may be saved out
    /// of the chat and exported with it, on both sides.
    MediaPrivacyChanged {
        /// Whether this user changed it.
        by_me: bool,
        /// Whether saving and exporting media is blocked now.
        block_saving: bool,
    },
    /// The connection is established.
    Connected,
    /// The contact connected again with a different identity key: the
    /// security code changed and the contact is no longer verified.
    KeysChanged,
    /// An owner of the group deleted it for everyone: nothing more is
    /// written to it or read from it.
    GroupDeleted {
        /// Whether this user deleted it.
        by_me: bool,
    },
    /// The group's relay no longer lets this member read its log: the
    /// group was deleted, or this member was removed while away.
    GroupLogGone,
}

impl ChatNotice {
    fn encode(&self, w: &mut Writer) {
        match self {
            ChatNotice::Integrity(notice) => {
                let (kind, a, b) = match *notice {
                    IntegrityNotice::Skipped { first, last } => (1, first, last),
                    IntegrityNotice::OutOfOrder { seq } => (2, seq, 0),
                    IntegrityNotice::Duplicate { seq } => (3, seq, 0),
                    IntegrityNotice::BrokenChain { seq } => (4, seq, 0),
                    IntegrityNotice::Replayed => (7, 0, 0),
                    IntegrityNotice::Unreadable => (10, 0, 0),
                    IntegrityNotice::MissingChange => (11, 0, 0),
                };
                w.u8(kind).u64(a).u64(b);
            }
            ChatNotice::TimerChanged { by_me, seconds } => {
                w.u8(5).bool(*by_me).u32(seconds.unwrap_or(0));
            }
            ChatNotice::MediaPrivacyChanged {
                by_me,
                block_saving,
            } => {
                w.u8(9).bool(*by_me).bool(*block_saving);
            }
            ChatNotice::Connected => {
                w.u8(6);
            }
            ChatNotice::KeysChanged => {
                w.u8(8);
            }
            ChatNotice::GroupDeleted { by_me } => {
                w.u8(12).bool(*by_me);
            }
            ChatNotice::GroupLogGone => {
                w.u8(13);
            }
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<ChatNotice, CoreError> {
        let kind = r.u8()?;
        Ok(match kind {
            1..=4 => {
                let (a, b) = (r.u64()?, r.u64()?);
                ChatNotice::Integrity(match kind {
                    1 => IntegrityNotice::Skipped { first: a, last: b },
                    2 => IntegrityNotice::OutOfOrder { seq: a },
                    3 => IntegrityNotice::Duplicate { seq: a },
                    _ => IntegrityNotice::BrokenChain { seq: a },
                })
            }
            5 => ChatNotice::TimerChanged {
                by_me: r.bool()?,
                seconds: Some(r.u32()?).filter(|&s| s != 0),
            },
            6 => ChatNotice::Connected,
            8 => ChatNotice::KeysChanged,
            9 => ChatNotice::MediaPrivacyChanged {
                by_me: r.bool()?,
                block_saving: r.bool()?,
            },
            12 => ChatNotice::GroupDeleted { by_me: r.bool()? },
            13 => ChatNotice::GroupLogGone,
            7 | 10 | 11 => {
                let (_, _) = (r.u64()?, r.u64()?);
                ChatNotice::Integrity(match kind {
                    7 => IntegrityNotice::Replayed,
                    10 => IntegrityNotice::Unreadable,
                    _ => IntegrityNotice::MissingChange,
                })
            }
            _ => return Err(CoreError::Malformed("notice")),
        })
    }
}

/// What a chat item holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemContent {
    /// A text message.
    Text {
        /// The text (the latest edit; empty once deleted).
        text: String,
        /// The message it replies to, if that is still in the history.
        reply_to: Option<MessageNumber>,
    },
    /// A notice.
    Notice(ChatNotice),
    /// A file.
    File {
        /// The file as offered.
        file: FileMessage,
        /// Where it stands on this device.
        state: FileState,
    },
}

/// A reaction on a message.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Reaction {
    /// Whether this user reacted (else the contact, or a group's member).
    pub mine: bool,
    /// The reaction, e.g. an emoji.
    pub emoji: String,
    /// In a group, the member who reacted (their id, hex), if not this user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
}

/// The member of a group who wrote an item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupSender {
    /// The member's id in the group.
    pub id: MemberId,
    /// The member's name in the group when the item arrived.
    pub name: String,
}

/// One message or notice of a chat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatItem {
    /// The chat.
    pub chat: ChatId,
    /// Its position in the chat.
    pub number: MessageNumber,
    /// Who wrote it.
    pub direction: MessageDirection,
    /// The author's sequence number (0 for notices).
    pub seq: u64,
    /// When the author sent it (the author's clock).
    pub sent_at: UnixMillis,
    /// When this device created or received it.
    pub at: UnixMillis,
    /// Delivery state.
    pub status: MessageStatus,
    /// The text or notice.
    pub content: ItemContent,
    /// Whether the text was edited.
    pub edited: bool,
    /// Whether it was deleted for everyone.
    pub deleted: bool,
    /// Reactions (at most one per side).
    pub reactions: Vec<Reaction>,
    /// When it disappears, if a timer applies.
    pub expires_at: Option<UnixMillis>,
    /// In a group, who wrote an incoming item.
    pub sender: Option<GroupSender>,
    /// In a group, the message mentions this user (a notification is due).
    pub mentions_me: bool,
}

impl ChatItem {
    pub(crate) fn key(contact: ChatId, number: MessageNumber) -> Vec<u8> {
        let mut key = contact.0.to_be_bytes().to_vec();
        key.extend_from_slice(&number.0.to_be_bytes());
        key
    }

    /// The chat and message number of a `messages` key.
    pub(crate) fn parse_key(key: &[u8]) -> Result<(ChatId, MessageNumber), CoreError> {
        let bad = || CoreError::CorruptRecord("message key");
        let chat = key
            .get(..8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .ok_or_else(bad)?;
        let number = key
            .get(8..)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .ok_or_else(bad)?;
        Ok((
            ChatId(u64::from_be_bytes(chat)),
            MessageNumber(u64::from_be_bytes(number)),
        ))
    }

    pub(crate) fn seq_key(contact: ChatId, mine: bool, seq: u64) -> Vec<u8> {
        let mut key = contact.0.to_be_bytes().to_vec();
        key.push(if mine { 0 } else { 1 });
        key.extend_from_slice(&seq.to_be_bytes());
        key
    }

    pub(crate) fn expiry_key(at: UnixMillis, contact: ChatId, number: MessageNumber) -> Vec<u8> {
        let mut key = at.0.to_be_bytes().to_vec();
        key.extend_from_slice(&contact.0.to_be_bytes());
        key.extend_from_slice(&number.0.to_be_bytes());
        key
    }

    pub(crate) fn load(
        store: &impl Store,
        contact: ChatId,
        number: MessageNumber,
    ) -> Result<Option<ChatItem>, CoreError> {
        store
            .get(MESSAGES, &ChatItem::key(contact, number))?
            .map(|bytes| ChatItem::decode(contact, number, &bytes).map_err(corrupt("message")))
            .transpose()
    }

    /// The local number of the message `seq` written by `mine ? me : contact`.
    pub(crate) fn find_by_seq(
        store: &impl Store,
        contact: ChatId,
        mine: bool,
        seq: u64,
    ) -> Result<Option<MessageNumber>, CoreError> {
        let Some(bytes) = store.get(MESSAGE_SEQS, &ChatItem::seq_key(contact, mine, seq))? else {
            return Ok(None);
        };
        let number =
            <[u8; 8]>::try_from(bytes.as_slice()).map_err(|_| CoreError::CorruptRecord("index"))?;
        Ok(Some(MessageNumber(u64::from_be_bytes(number))))
    }

    /// Writes the item, its sequence index and its expiry entry.
    pub(crate) fn put(&self, batch: &mut WriteBatch) {
        batch.put(
            MESSAGES,
            ChatItem::key(self.chat, self.number),
            Zeroizing::new(self.encode()).to_vec(),
        );
        // An outgoing file has no sequence number until its upload ends.
        if self.direction != MessageDirection::Notice && self.seq != 0 {
            batch.put(
                MESSAGE_SEQS,
                ChatItem::seq_key(
                    self.chat,
                    self.direction == MessageDirection::Outgoing,
                    self.seq,
                ),
                self.number.0.to_be_bytes().to_vec(),
            );
        }
        if let Some(at) = self.expires_at {
            batch.put(
                EXPIRY,
                ChatItem::expiry_key(at, self.chat, self.number),
                Vec::new(),
            );
        }
    }

    /// Removes the item and its index entries.
    pub(crate) fn delete(
        &self,
        store: &impl Store,
        batch: &mut WriteBatch,
    ) -> Result<(), CoreError> {
        batch.delete(MESSAGES, ChatItem::key(self.chat, self.number));
        let mine = self.direction == MessageDirection::Outgoing;
        // After a reconnection a new session numbers from 1 again: the index
        // entry may name a newer message by now.
        let indexed = ChatItem::find_by_seq(store, self.chat, mine, self.seq)?;
        if self.direction != MessageDirection::Notice && indexed == Some(self.number) {
            batch.delete(
                MESSAGE_SEQS,
                ChatItem::seq_key(
                    self.chat,
                    self.direction == MessageDirection::Outgoing,
                    self.seq,
                ),
            );
        }
        if let Some(at) = self.expires_at {
            batch.delete(EXPIRY, ChatItem::expiry_key(at, self.chat, self.number));
        }
        // A group member's receipts on our message go with it.
        if self.direction == MessageDirection::Outgoing {
            crate::groups::messages::forget_item_receipts(batch, self.chat, self.number);
        }
        Ok(())
    }

    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(VERSION)
            .u8(match self.direction {
                MessageDirection::Incoming => 0,
                MessageDirection::Outgoing => 1,
                MessageDirection::Notice => 2,
            })
            .u64(self.seq)
            .u64(self.sent_at.0)
            .u64(self.at.0)
            .u8(self.status.byte());
        match &self.content {
            ItemContent::Text { text, reply_to } => {
                w.u8(1);
                w.option(reply_to.as_ref(), |w, n| {
                    w.u64(n.0);
                });
                w.bytes16(text.as_bytes());
            }
            ItemContent::Notice(notice) => {
                w.u8(2);
                notice.encode(&mut w);
            }
            ItemContent::File { file, state } => {
                w.u8(3);
                file.encode(&mut w);
                state.encode(&mut w);
            }
        }
        w.bool(self.edited).bool(self.deleted);
        let count = self.reactions.len().min(MAX_REACTIONS);
        w.u16(u16::try_from(count).unwrap_or(0));
        for reaction in self.reactions.iter().take(count) {
            w.bool(reaction.mine);
            let member = reaction.member.as_deref().and_then(parse_member_id);
            w.option(member.as_ref(), |w, id| {
                w.array(id.as_bytes());
            });
            w.bytes16(reaction.emoji.as_bytes());
        }
        w.option(self.expires_at.as_ref(), |w, at| {
            w.u64(at.0);
        });
        w.option(self.sender.as_ref(), |w, sender| {
            w.array(sender.id.as_bytes())
                .bytes16(sender.name.as_bytes());
        });
        w.bool(self.mentions_me);
        w.finish()
    }

    pub(crate) fn decode(
        contact: ChatId,
        number: MessageNumber,
        bytes: &[u8],
    ) -> Result<ChatItem, CoreError> {
        const BAD: CoreError = CoreError::Malformed("message");
        let mut r = Reader::new(bytes, "message");
        let version = r.u8()?;
        if !(1..=VERSION).contains(&version) {
            return Err(BAD);
        }
        let direction = match r.u8()? {
            0 => MessageDirection::Incoming,
            1 => MessageDirection::Outgoing,
            2 => MessageDirection::Notice,
            _ => return Err(BAD),
        };
        let seq = r.u64()?;
        let sent_at = UnixMillis(r.u64()?);
        let at = UnixMillis(r.u64()?);
        let status = MessageStatus::from_byte(r.u8()?).ok_or(BAD)?;
        let content = match r.u8()? {
            1 => {
                let reply_to = r.option(|r| Ok(MessageNumber(r.u64()?)))?;
                ItemContent::Text {
                    reply_to,
                    text: r.text(MAX_TEXT_LEN)?,
                }
            }
            2 => ItemContent::Notice(ChatNotice::decode(&mut r)?),
            3 => ItemContent::File {
                file: FileMessage::decode(&mut r, false)?,
                state: FileState::decode(&mut r)?,
            },
            _ => return Err(BAD),
        };
        let edited = r.bool()?;
        let deleted = r.bool()?;
        let mut reactions = Vec::new();
        if version == 1 {
            let count = r.u8()?;
            if count > 2 {
                return Err(BAD);
            }
            for _ in 0..count {
                reactions.push(Reaction {
                    mine: r.bool()?,
                    emoji: r.text(MAX_REACTION_LEN)?,
                    member: None,
                });
            }
        } else {
            let count = usize::from(r.u16()?);
            if count > MAX_REACTIONS {
                return Err(BAD);
            }
            for _ in 0..count {
                let mine = r.bool()?;
                let member = r.option(|r| Ok(hex(&r.array::<MEMBER_ID_LEN>()?)))?;
                reactions.push(Reaction {
                    mine,
                    emoji: r.text(MAX_REACTION_LEN)?,
                    member,
                });
            }
        }
        let expires_at = r.option(|r| Ok(UnixMillis(r.u64()?)))?;
        let (sender, mentions_me) = if version == 1 {
            (None, false)
        } else {
            let sender = r.option(|r| {
                Ok(GroupSender {
                    id: MemberId::from_bytes(r.array()?),
                    name: r.text(sotto_groups::MAX_DISPLAY_NAME_LEN)?,
                })
            })?;
            (sender, r.bool()?)
        };
        r.finish()?;
        Ok(ChatItem {
            chat: contact,
            number,
            direction,
            seq,
            sent_at,
            at,
            status,
            content,
            edited,
            deleted,
            reactions,
            expires_at,
            sender,
            mentions_me,
        })
    }
}

/// A member id in hex, as the views show it.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The member id of its hex text.
pub(crate) fn parse_member_id(text: &str) -> Option<MemberId> {
    if text.len() != 2 * MEMBER_ID_LEN || !text.is_ascii() {
        return None;
    }
    let mut bytes = [0; MEMBER_ID_LEN];
    for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(MemberId::from_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;

    #[test]
    fn round_trip_with_indexes() {
        let item = ChatItem {
            chat: ChatId(3),
            number: MessageNumber(9),
            direction: MessageDirection::Outgoing,
            seq: 4,
            sent_at: UnixMillis(10),
            at: UnixMillis(11),
            status: MessageStatus::Delivered,
            content: ItemContent::Text {
                text: "hi".into(),
                reply_to: Some(MessageNumber(2)),
            },
            edited: true,
            deleted: false,
            reactions: vec![
                Reaction {
                    mine: false,
                    emoji: "👍".into(),
                    member: None,
                },
                Reaction {
                    mine: false,
                    emoji: "🎉".into(),
                    member: Some("07".repeat(MEMBER_ID_LEN)),
                },
            ],
            expires_at: Some(UnixMillis(99)),
            sender: Some(GroupSender {
                id: MemberId::from_bytes([7; MEMBER_ID_LEN]),
                name: "Cy".into(),
            }),
            mentions_me: true,
        };
        let mut store = MemoryStore::new();
        let mut batch = WriteBatch::new();
        item.put(&mut batch);
        store.apply(batch).unwrap();
        assert_eq!(
            ChatItem::load(&store, ChatId(3), MessageNumber(9)).unwrap(),
            Some(item.clone())
        );
        assert_eq!(
            ChatItem::find_by_seq(&store, ChatId(3), true, 4).unwrap(),
            Some(MessageNumber(9))
        );
        let mut batch = WriteBatch::new();
        item.delete(&store, &mut batch).unwrap();
        store.apply(batch).unwrap();
        assert!(store.tables().unwrap().is_empty());
    }

    proptest::proptest! {
        #[test]
        fn damaged_records_are_errors_not_panics(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400),
        ) {
            let _ = ChatItem::decode(ChatId(1), MessageNumber(1), &bytes);
        }
    }
}
