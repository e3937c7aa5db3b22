//! What the front ends show: chats, items, requests and notices as plain
//! values, in the one serde vocabulary that `sotto --json` prints and the
//! browser receives (field names and spellings in docs/cli.md). A front end
//! never calls back into the core to complete a view.

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::chat_item::{ChatItem, ChatNotice, ItemContent, MessageDirection, MessageStatus};
use crate::chat_record::{AutoDownload, ChatRecord, ReceiptSetting};
use crate::connection::ConnectionState;
use crate::file_message::{FileMessage, FileState};
use crate::ids::{ChatId, MessageNumber, RequestId};
use crate::integrity::IntegrityNotice;
use crate::profile::Profile;
use crate::time::UnixMillis;

/// A chat as the chat list and the chat header show it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ChatView {
    /// The chat.
    pub id: ChatId,
    /// The peer's display name, once their profile arrived (`None` while
    /// connecting).
    pub name: Option<String>,
    /// The peer's bio.
    pub bio: Option<String>,
    /// Where the connection with the peer stands.
    pub state: ConnectionState,
    /// Whether the user marked the peer's security code as verified.
    pub verified: bool,
    /// Incoming messages not read yet.
    pub unread: u32,
    /// The disappearing-message timer, in seconds.
    pub timer_secs: Option<u32>,
    /// Read receipts in this chat.
    pub read_receipts: ReceiptSetting,
    /// When something last happened in the chat.
    pub last_activity: UnixMillis,
    /// The newest item, for the chat list's preview.
    pub last_item: Option<Box<ItemView>>,
    /// The name the user gave the peer on this device (shown instead of
    /// `name`, which stays the peer's own).
    pub alias: Option<String>,
    /// Shown before the other chats.
    pub pinned: bool,
    /// Kept out of the main chat list.
    pub archived: bool,
    /// The peer is blocked: its connection ended and nothing more arrives.
    pub blocked: bool,
    /// No notifications for this chat until then (`u64::MAX`: always).
    pub muted_until: Option<UnixMillis>,
    /// A group's member count, this profile included (`None` for a direct
    /// chat). A group's `name` is the group's, its `state` is `connected`
    /// while this profile is a member and `disconnected` after.
    pub members: Option<u32>,
    /// Media may not be saved out of the chat nor exported with it (either
    /// side sets it, for both).
    pub block_saving: bool,
    /// Automatic downloads in this chat (this device only).
    pub auto_download: AutoDownload,
}

impl ChatView {
    /// The fields a chat's own record gives; the peer's (or group's) are
    /// left empty for the caller.
    pub(crate) fn of_record(record: &ChatRecord, last_item: Option<Box<ItemView>>) -> ChatView {
        ChatView {
            id: record.id,
            name: None,
            bio: None,
            state: ConnectionState::Disconnected,
            verified: false,
            unread: record.unread,
            timer_secs: record.timer_secs,
            read_receipts: record.read_receipts,
            last_activity: UnixMillis(record.last_activity),
            last_item,
            alias: record.alias.clone(),
            pinned: record.pinned,
            archived: record.archived,
            blocked: record.blocked,
            muted_until: record.muted_until.map(UnixMillis),
            members: None,
            block_saving: record.block_saving,
            auto_download: record.auto_download,
        }
    }

    /// The name to show: the user's alias, the peer's display name, or a
    /// placeholder while connecting.
    pub fn display_name(&self) -> &str {
        self.alias
            .as_deref()
            .or(self.name.as_deref())
            .unwrap_or("(connecting)")
    }
}

/// One message or notice of a chat.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ItemView {
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
    /// Delivery state (meaningful for outgoing messages).
    pub status: MessageStatus,
    /// The text (the latest edit; empty once deleted); `None` for notices.
    pub text: Option<String>,
    /// The message this one replies to, if it is still in the history.
    pub reply_to: Option<MessageNumber>,
    /// That message, as a reply shows it.
    pub quoted: Option<QuotedView>,
    /// The notice, for notices.
    pub notice: Option<NoticeView>,
    /// Whether the text was edited.
    pub edited: bool,
    /// Whether it was deleted for everyone.
    pub deleted: bool,
    /// Reactions (at most one per side).
    pub reactions: Vec<crate::Reaction>,
    /// When it disappears, if a timer applies.
    pub expires_at: Option<UnixMillis>,
    /// The file, for a file message.
    pub file: Option<Box<FileView>>,
    /// In a group, the member who wrote an incoming item.
    pub sender: Option<Box<SenderView>>,
    /// In a group, the message mentions this user: notify even in a chat
    /// that only notifies of mentions.
    pub mentions_me: bool,
    /// In a group, on this user's own message: each member's receipt.
    pub receipts: Option<Box<GroupReceiptsView>>,
}

/// The member of a group who wrote an item.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SenderView {
    /// The member's id in the group (hex).
    pub id: String,
    /// The member's name in the group.
    pub name: String,
}

/// The receipts on one of this user's messages in a group: "read by
/// `read` of `members`", and who.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct GroupReceiptsView {
    /// The group's other members now.
    pub members: u32,
    /// Members whose device has it (read ones included).
    pub delivered: u32,
    /// Members who read it.
    pub read: u32,
    /// Each member's receipt, by member id.
    pub by: Vec<MemberReceiptView>,
}

/// One member's receipt on a message.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct MemberReceiptView {
    /// The member's id in the group (hex).
    pub id: String,
    /// The member's name in the group.
    pub name: String,
    /// `delivered` or `read`.
    pub status: MessageStatus,
}

/// A file in a chat, as a front end shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FileView {
    /// Its name, as its sender named it.
    pub name: String,
    /// Its length in bytes.
    pub size: u64,
    /// Its media type.
    pub media_type: String,
    /// `uploading`, `sent`, `available`, `downloading`, `received` or
    /// `failed`.
    pub state: &'static str,
    /// Why it failed, for `failed`.
    pub failure: Option<&'static str>,
    /// The small preview image the message carries (standard base64), if
    /// any.
    pub preview: Option<String>,
    /// A voice message's length in milliseconds, if it is one.
    pub duration_ms: Option<u32>,
    /// A voice message's loudness (0..=255) in equal slices of its length.
    pub waveform: Vec<u8>,
}

impl FileView {
    fn new(file: &FileMessage, state: FileState) -> FileView {
        use base64::Engine;
        let media = file.media.as_ref();
        FileView {
            name: file.name.clone(),
            size: file.size,
            media_type: file.media_type.clone(),
            state: state.name(),
            failure: match state {
                FileState::Failed(failure) => Some(failure.reason()),
                _ => None,
            },
            preview: media
                .filter(|media| !media.preview.is_empty())
                .map(|media| base64::engine::general_purpose::STANDARD.encode(&media.preview)),
            duration_ms: media
                .map(|media| media.duration_ms)
                .filter(|duration| *duration > 0),
            waveform: media
                .map(|media| media.waveform.clone())
                .unwrap_or_default(),
        }
    }
}

impl ItemView {
    /// The view of `item`, quoting `quoted` (the item it replies to).
    pub(crate) fn new(item: &ChatItem, quoted: Option<&ChatItem>) -> ItemView {
        let (text, reply_to, notice) = match &item.content {
            ItemContent::Text { text, reply_to } => (Some(text.clone()), *reply_to, None),
            ItemContent::Notice(notice) => (None, None, Some(NoticeView(*notice))),
            ItemContent::File { .. } => (None, None, None),
        };
        let file = match &item.content {
            ItemContent::File { file, state } => Some(Box::new(FileView::new(file, *state))),
            _ => None,
        };
        ItemView {
            chat: item.chat,
            number: item.number,
            direction: item.direction,
            seq: item.seq,
            sent_at: item.sent_at,
            at: item.at,
            status: item.status,
            text,
            reply_to,
            quoted: quoted.map(QuotedView::new),
            notice,
            edited: item.edited,
            deleted: item.deleted,
            reactions: item.reactions.clone(),
            expires_at: item.expires_at,
            file,
            sender: item.sender.as_ref().map(|sender| {
                Box::new(SenderView {
                    id: crate::chat_item::hex(sender.id.as_bytes()),
                    name: sender.name.clone(),
                })
            }),
            mentions_me: item.mentions_me,
            receipts: None,
        }
    }
}

/// The message a reply quotes.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct QuotedView {
    /// Its position in the chat.
    pub number: MessageNumber,
    /// Who wrote it.
    pub direction: MessageDirection,
    /// Its text (empty once deleted).
    pub text: String,
    /// Whether it was deleted for everyone.
    pub deleted: bool,
}

impl QuotedView {
    fn new(item: &ChatItem) -> QuotedView {
        QuotedView {
            number: item.number,
            direction: item.direction,
            text: match &item.content {
                ItemContent::Text { text, .. } => text.clone(),
                ItemContent::Notice(_) => String::new(),
                ItemContent::File { file, .. } => file.name.clone(),
            },
            deleted: item.deleted,
        }
    }
}

/// A notice in a chat, serialized as an object tagged by `type`:
/// `skipped {first, last}`, `out_of_order {seq}`, `duplicate {seq}`,
/// `broken_chain {seq}`, `replayed`, `unreadable`, `missing_change`,
/// `timer_changed {by_me, seconds}`,
/// `connected`, `keys_changed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoticeView(pub ChatNotice);

impl Serialize for NoticeView {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        match self.0 {
            ChatNotice::Integrity(IntegrityNotice::Skipped { first, last }) => {
                map.serialize_entry("type", "skipped")?;
                map.serialize_entry("first", &first)?;
                map.serialize_entry("last", &last)?;
            }
            ChatNotice::Integrity(IntegrityNotice::OutOfOrder { seq }) => {
                map.serialize_entry("type", "out_of_order")?;
                map.serialize_entry("seq", &seq)?;
            }
            ChatNotice::Integrity(IntegrityNotice::Duplicate { seq }) => {
                map.serialize_entry("type", "duplicate")?;
                map.serialize_entry("seq", &seq)?;
            }
            ChatNotice::Integrity(IntegrityNotice::BrokenChain { seq }) => {
                map.serialize_entry("type", "broken_chain")?;
                map.serialize_entry("seq", &seq)?;
            }
            ChatNotice::Integrity(IntegrityNotice::Replayed) => {
                map.serialize_entry("type", "replayed")?;
            }
            ChatNotice::Integrity(IntegrityNotice::Unreadable) => {
                map.serialize_entry("type", "unreadable")?;
            }
            ChatNotice::Integrity(IntegrityNotice::MissingChange) => {
                map.serialize_entry("type", "missing_change")?;
            }
            ChatNotice::TimerChanged { by_me, seconds } => {
                map.serialize_entry("type", "timer_changed")?;
                map.serialize_entry("by_me", &by_me)?;
                map.serialize_entry("seconds", &seconds)?;
            }
            ChatNotice::MediaPrivacyChanged {
                by_me,
                block_saving,
            } => {
                map.serialize_entry("type", "media_privacy_changed")?;
                map.serialize_entry("by_me", &by_me)?;
                map.serialize_entry("block_saving", &block_saving)?;
            }
            ChatNotice::Connected => map.serialize_entry("type", "connected")?,
            ChatNotice::KeysChanged => map.serialize_entry("type", "keys_changed")?,
            ChatNotice::GroupDeleted { by_me } => {
                map.serialize_entry("type", "group_deleted")?;
                map.serialize_entry("by_me", &by_me)?;
            }
            ChatNotice::GroupLogGone => map.serialize_entry("type", "group_log_gone")?,
        }
        map.end()
    }
}

/// A contact request waiting for a decision.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RequestView {
    /// The request.
    pub id: RequestId,
    /// The requester's display name.
    pub name: String,
    /// The requester's bio.
    pub bio: Option<String>,
    /// When it arrived.
    pub received_at: UnixMillis,
}

impl RequestView {
    pub(crate) fn new(id: RequestId, profile: &Profile, received_at: UnixMillis) -> RequestView {
        RequestView {
            id,
            name: profile.display_name().to_owned(),
            bio: profile.bio().map(str::to_owned),
            received_at,
        }
    }
}

/// Serializes a value by its `Display` text (relay addresses).
pub(crate) fn display<T: std::fmt::Display, S: Serializer>(
    value: &T,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_serialize_tagged_by_type() {
        let cases = [
            (
                ChatNotice::Integrity(IntegrityNotice::Skipped { first: 2, last: 4 }),
                r#"{"type":"skipped","first":2,"last":4}"#,
            ),
            (
                ChatNotice::Integrity(IntegrityNotice::BrokenChain { seq: 9 }),
                r#"{"type":"broken_chain","seq":9}"#,
            ),
            (
                ChatNotice::Integrity(IntegrityNotice::Replayed),
                r#"{"type":"replayed"}"#,
            ),
            (
                ChatNotice::Integrity(IntegrityNotice::Unreadable),
                r#"{"type":"unreadable"}"#,
            ),
            (
                ChatNotice::Integrity(IntegrityNotice::MissingChange),
                r#"{"type":"missing_change"}"#,
            ),
            (
                ChatNotice::TimerChanged {
                    by_me: true,
                    seconds: None,
                },
                r#"{"type":"timer_changed","by_me":true,"seconds":null}"#,
            ),
            (ChatNotice::KeysChanged, r#"{"type":"keys_changed"}"#),
            (
                ChatNotice::MediaPrivacyChanged {
                    by_me: false,
                    block_saving: true,
                },
                r#"{"type":"media_privacy_changed","by_me":false,"block_saving":true}"#,
            ),
            (
                ChatNotice::GroupDeleted { by_me: false },
                r#"{"type":"group_deleted","by_me":false}"#,
            ),
            (ChatNotice::GroupLogGone, r#"{"type":"group_log_gone"}"#),
        ];
        for (notice, json) in cases {
            assert_eq!(serde_json::to_string(&NoticeView(notice)).unwrap(), json);
        }
    }
}
