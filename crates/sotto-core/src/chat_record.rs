//! A chat: the history's owner, with its settings and counters. A chat is
//! direct (one peer over one pairwise connection) or a group's (its MLS state
//! and log in `group_record`, under the same chat id).
//!
//! ```text
//! table "chats", key chat id u64:
//! version (1) = 0x02 || kind || created_at u64 || next message number u64
//! || unread u32 || timer secs u32 (0 = off) || read receipts u8 (0 global, 1 on, 2 off)
//! || last activity u64 || flags u8 (bit 0 pinned, bit 1 archived, bit 2 blocked,
//!    bit 3 saving and exporting media blocked, bit 4 automatic downloads on, bit 5
//!    automatic downloads off; neither: the profile's limit)
//! || option(alias: len u16 || UTF-8) || option(muted until u64, Unix ms; u64::MAX always)
//! kind = 0x01 (direct) || peer id u64 || option(connection id u64)
//!      | 0x02 (group) || members u32 (the group's current member count, this profile included)
//! ```
//!
//! Version 0x01 (read only) ends after the last activity: no flags, no alias.

use crate::codec::{Reader, Writer, corrupt};
use crate::ids::{ChatId, ConnectionId, PeerId};
use crate::store::Table;
use crate::{CoreError, Store, WriteBatch};

pub(crate) const CHATS: Table = Table::new("chats");
const VERSION: u8 = 2;
const PINNED: u8 = 1;
const ARCHIVED: u8 = 2;
const BLOCKED: u8 = 4;
const BLOCK_SAVING: u8 = 8;
const AUTO_DOWNLOAD_ON: u8 = 16;
const AUTO_DOWNLOAD_OFF: u8 = 32;

/// Automatic downloads in one chat.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoDownload {
    /// Follow the profile's size limit.
    Default,
    /// Every file of the chat downloads as it arrives, whatever its size.
    On,
    /// No file of the chat downloads by itself.
    Off,
}

/// Read receipts in one chat.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptSetting {
    /// Follow the global setting.
    Default,
    /// Always send.
    On,
    /// Never send.
    Off,
}

impl ReceiptSetting {
    fn byte(self) -> u8 {
        match self {
            ReceiptSetting::Default => 0,
            ReceiptSetting::On => 1,
            ReceiptSetting::Off => 2,
        }
    }

    pub(crate) fn from_byte(byte: u8) -> Option<ReceiptSetting> {
        Some(match byte {
            0 => ReceiptSetting::Default,
            1 => ReceiptSetting::On,
            2 => ReceiptSetting::Off,
            _ => return None,
        })
    }
}

/// A chat's media settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct MediaSettings {
    /// Automatic downloads in the chat (this device only).
    pub auto_download: AutoDownload,
    /// Media may not be saved out of the chat nor exported with it (set by
    /// either side, for both).
    pub block_saving: bool,
}

/// Who a chat is with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChatKind {
    /// One peer, over its current pairwise connection (none while the chat
    /// has no working connection, after a failed one).
    Direct {
        peer: PeerId,
        connection: Option<ConnectionId>,
    },
    /// A group: its messages go on its log (`groups`).
    Group {
        /// How many members it has (this profile included), as of the last
        /// commit read.
        members: u32,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ChatRecord {
    pub(crate) id: ChatId,
    pub(crate) kind: ChatKind,
    pub(crate) created_at: u64,
    pub(crate) next_number: u64,
    pub(crate) unread: u32,
    pub(crate) timer_secs: Option<u32>,
    pub(crate) read_receipts: ReceiptSetting,
    pub(crate) last_activity: u64,
    /// Shown before the other chats.
    pub(crate) pinned: bool,
    /// Kept out of the main chat list (new messages leave it there).
    pub(crate) archived: bool,
    /// The peer was blocked: its connection ended and nothing more arrives.
    pub(crate) blocked: bool,
    /// The name the user gave the peer, shown instead of theirs.
    pub(crate) alias: Option<String>,
    /// No notifications until then (Unix milliseconds; `u64::MAX`: always).
    pub(crate) muted_until: Option<u64>,
    /// Media may not be saved out of the chat nor exported with it (either
    /// side sets it for both, `MediaPrivacy` chat messages).
    pub(crate) block_saving: bool,
    /// Automatic downloads in this chat (this device only).
    pub(crate) auto_download: AutoDownload,
}

impl ChatRecord {
    /// A new direct chat with `peer`.
    pub(crate) fn direct(
        id: ChatId,
        peer: PeerId,
        connection: ConnectionId,
        now: u64,
    ) -> ChatRecord {
        ChatRecord {
            id,
            kind: ChatKind::Direct {
                peer,
                connection: Some(connection),
            },
            created_at: now,
            next_number: 1,
            unread: 0,
            timer_secs: None,
            read_receipts: ReceiptSetting::Default,
            last_activity: now,
            pinned: false,
            archived: false,
            blocked: false,
            alias: None,
            muted_until: None,
            block_saving: false,
            auto_download: AutoDownload::Default,
        }
    }

    /// A new group chat of `members` members.
    pub(crate) fn group(id: ChatId, members: u32, now: u64) -> ChatRecord {
        ChatRecord {
            kind: ChatKind::Group { members },
            ..ChatRecord::direct(id, PeerId(0), ConnectionId(0), now)
        }
    }

    /// The peer of a direct chat (a group has none).
    pub(crate) fn peer(&self) -> Result<PeerId, CoreError> {
        match self.kind {
            ChatKind::Direct { peer, .. } => Ok(peer),
            ChatKind::Group { .. } => Err(CoreError::InvalidValue("a group has no single peer")),
        }
    }

    /// The connection a direct chat's messages go over (none for a group).
    pub(crate) fn connection(&self) -> Option<ConnectionId> {
        match self.kind {
            ChatKind::Direct { connection, .. } => connection,
            ChatKind::Group { .. } => None,
        }
    }

    /// Whether this is a group's chat.
    pub(crate) fn is_group(&self) -> bool {
        matches!(self.kind, ChatKind::Group { .. })
    }

    pub(crate) fn set_connection(&mut self, id: Option<ConnectionId>) {
        if let ChatKind::Direct { connection, .. } = &mut self.kind {
            *connection = id;
        }
    }

    /// The next message number of this chat.
    pub(crate) fn allocate_number(&mut self) -> u64 {
        let number = self.next_number;
        self.next_number += 1;
        number
    }

    pub(crate) fn load(store: &impl Store, id: ChatId) -> Result<ChatRecord, CoreError> {
        let bytes = store
            .get(CHATS, &id.0.to_be_bytes())?
            .ok_or(CoreError::UnknownContact)?;
        ChatRecord::decode(id, &bytes).map_err(corrupt("chat"))
    }

    pub(crate) fn load_all(store: &impl Store) -> Result<Vec<ChatRecord>, CoreError> {
        crate::codec::load_table(store, CHATS, "chat", |id, bytes| {
            ChatRecord::decode(ChatId(id), bytes)
        })
    }

    pub(crate) fn put(&self, batch: &mut WriteBatch) {
        batch.put(CHATS, self.id.0.to_be_bytes().to_vec(), self.encode());
    }

    pub(crate) fn delete(id: ChatId, batch: &mut WriteBatch) {
        batch.delete(CHATS, id.0.to_be_bytes().to_vec());
    }

    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(VERSION);
        match self.kind {
            ChatKind::Direct { peer, connection } => {
                w.u8(1).u64(peer.0);
                w.option(connection.as_ref(), |w, c| {
                    w.u64(c.0);
                });
            }
            ChatKind::Group { members } => {
                w.u8(2).u32(members);
            }
        }
        w.u64(self.created_at)
            .u64(self.next_number)
            .u32(self.unread)
            .u32(self.timer_secs.unwrap_or(0))
            .u8(self.read_receipts.byte())
            .u64(self.last_activity);
        let flags = [
            (self.pinned, PINNED),
            (self.archived, ARCHIVED),
            (self.blocked, BLOCKED),
            (self.block_saving, BLOCK_SAVING),
            (self.auto_download == AutoDownload::On, AUTO_DOWNLOAD_ON),
            (self.auto_download == AutoDownload::Off, AUTO_DOWNLOAD_OFF),
        ]
        .into_iter()
        .filter(|(set, _)| *set)
        .fold(0, |flags, (_, bit)| flags | bit);
        w.u8(flags);
        w.option(self.alias.as_ref(), |w, alias| {
            w.bytes16(alias.as_bytes());
        });
        w.option(self.muted_until.as_ref(), |w, until| {
            w.u64(*until);
        });
        w.finish()
    }

    pub(crate) fn decode(id: ChatId, bytes: &[u8]) -> Result<ChatRecord, CoreError> {
        const BAD: CoreError = CoreError::Malformed("chat");
        let mut r = Reader::new(bytes, "chat");
        let version = r.u8()?;
        if !(1..=VERSION).contains(&version) {
            return Err(BAD);
        }
        let kind = match r.u8()? {
            1 => ChatKind::Direct {
                peer: PeerId(r.u64()?),
                connection: r.option(|r| Ok(ConnectionId(r.u64()?)))?,
            },
            2 if version >= 2 => ChatKind::Group { members: r.u32()? },
            _ => return Err(BAD),
        };
        let mut record = ChatRecord {
            id,
            kind,
            created_at: r.u64()?,
            next_number: r.u64()?,
            unread: r.u32()?,
            timer_secs: Some(r.u32()?).filter(|&secs| secs != 0),
            read_receipts: ReceiptSetting::from_byte(r.u8()?).ok_or(BAD)?,
            last_activity: r.u64()?,
            pinned: false,
            archived: false,
            blocked: false,
            alias: None,
            muted_until: None,
            block_saving: false,
            auto_download: AutoDownload::Default,
        };
        if version >= 2 {
            let flags = r.u8()?;
            let known = PINNED | ARCHIVED | BLOCKED | BLOCK_SAVING | AUTO_DOWNLOAD_ON;
            if flags & !(known | AUTO_DOWNLOAD_OFF) != 0
                || flags & (AUTO_DOWNLOAD_ON | AUTO_DOWNLOAD_OFF)
                    == AUTO_DOWNLOAD_ON | AUTO_DOWNLOAD_OFF
            {
                return Err(BAD);
            }
            record.pinned = flags & PINNED != 0;
            record.archived = flags & ARCHIVED != 0;
            record.blocked = flags & BLOCKED != 0;
            record.block_saving = flags & BLOCK_SAVING != 0;
            record.auto_download = if flags & AUTO_DOWNLOAD_ON != 0 {
                AutoDownload::On
            } else if flags & AUTO_DOWNLOAD_OFF != 0 {
                AutoDownload::Off
            } else {
                AutoDownload::Default
            };
            record.alias = r.option(|r| r.text(crate::MAX_DISPLAY_NAME_LEN))?;
            record.muted_until = r.option(Reader::u64)?;
        }
        r.finish()?;
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::MemoryStore;

    fn sample() -> ChatRecord {
        let mut chat = ChatRecord::direct(ChatId(3), PeerId(4), ConnectionId(5), 6);
        chat.next_number = 9;
        chat.unread = 2;
        chat.timer_secs = Some(30);
        chat.read_receipts = ReceiptSetting::Off;
        chat.pinned = true;
        chat.blocked = true;
        chat.alias = Some("Mum".to_owned());
        chat.muted_until = Some(u64::MAX);
        chat.block_saving = true;
        chat.auto_download = AutoDownload::Off;
        chat
    }

    #[test]
    fn round_trip_through_a_store() {
        let mut store = MemoryStore::new();
        let mut batch = WriteBatch::new();
        sample().put(&mut batch);
        let mut gone = sample();
        gone.id = ChatId(8);
        gone.set_connection(None);
        gone.put(&mut batch);
        store.apply(batch).unwrap();
        assert_eq!(ChatRecord::load(&store, ChatId(3)).unwrap(), sample());
        assert_eq!(ChatRecord::load(&store, ChatId(8)).unwrap(), gone);
        let mut group = ChatRecord::group(ChatId(10), 40, 6);
        group.timer_secs = Some(60);
        let mut batch = WriteBatch::new();
        group.put(&mut batch);
        store.apply(batch).unwrap();
        assert_eq!(ChatRecord::load(&store, ChatId(10)).unwrap(), group);
        assert!(group.peer().is_err());
        assert!(matches!(
            ChatRecord::load(&store, ChatId(9)),
            Err(CoreError::UnknownContact)
        ));
    }

    proptest! {
        #[test]
        fn damaged_records_are_errors_not_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..100),
            cut in 0usize..100,
        ) {
            let _ = ChatRecord::decode(ChatId(1), &bytes);
            let encoded = sample().encode();
            let cut = cut % encoded.len();
            prop_assert!(ChatRecord::decode(ChatId(1), &encoded[..cut]).is_err());
        }
    }
}
