//! A group's chat messages as chat items: the pairwise chat's contents
//! (text with replies, reactions, edits, deletes, receipts, the timer) sent
//! in MLS application messages (`group_entry`), kept in the chat's history
//! like a direct chat's, with the sender's member id and name on incoming
//! items, mentions, and each member's receipts on our own messages.
//!
//! A message is named by the log sequence number of the entry that carried
//! it: every member sees the same numbers. Our own text is an item at once,
//! numbered by the log once its entry comes back.
//!
//! A file goes to the group as a file message (`Content::File`) when its
//! chunks are up. It is uploaded once whatever the group's size: its
//! description has one download id per chunk that every member uses, and
//! members never acknowledge a group's chunk (they stay until their TTL, or
//! the sender's FDEL when the message is deleted for everyone or
//! disappears). The longest file message
//! ([`crate::file_message::MAX_FILE_MESSAGE_LEN`]) fits one entry, so a group
//! chooses inline or redirect as a pairwise chat does.
//!
//! ```text
//! table "group_sending", key chat id u64 || SHA-256(entry) (32):
//!   message number u64 (0: no item) || group chat message (len u32 || bytes)
//!                                      our message until the log has it
//! table "group_receipts", key chat id u64 || message number u64 || member id (16):
//!   status u8 (2 delivered, 3 read) || text16(member name)
//! table "group_receipt_counts", key chat id u64 || message number u64:
//!   delivered u32 || read u32          members in "group_receipts" (read counts
//!                                      as delivered too)
//! table "group_owed", key chat id u64 || kind u8 (1 delivered, 2 read) || log seq u64:
//!   empty                              receipts to send with the next write
//! ```
//!
//! Receipts are made to scale with the group: a member sends at most one
//! receipt entry per kind per batch, for the range of log seqs it owes (it
//! reads the log in order and reads a chat to its end, so every message in
//! the range is delivered, or read); above
//! [`MAX_MEMBERS_WITH_DELIVERY_RECEIPTS`] members it sends read receipts
//! only. The counts keep a message's aggregate status without reading every
//! member's receipt at each one.

use sha2::{Digest, Sha256};
use sotto_groups::MemberId;
use sotto_wire::{GROUP_ENTRY_LEN, GroupEntry};
use zeroize::Zeroizing;

use crate::chat_item::{
    ChatItem, ChatNotice, GroupSender, ItemContent, MAX_REACTIONS, MessageDirection, MessageStatus,
    Reaction, hex, parse_member_id,
};
use crate::chat_message::{
    Author, Content, MAX_REACTION_LEN, MessageRef, ReceiptKind, check_text, check_timer,
};
use crate::chat_record::{ChatKind, ChatRecord};
use crate::chats::{Chats, mark_deleted, set_reaction};
use crate::codec::{Reader, Writer, corrupt};
use crate::core::Core;
use crate::event::Pending;
use crate::file_message::{FileMessage, FileState};
use crate::file_transfer::auto_download;
use crate::group_entry::{GroupChatMessage, MAX_MENTIONS, entry_of};
use crate::group_record::GroupRecord;
use crate::groups::integrity::Numbering;
use crate::ids::{ChatId, MessageNumber};
use crate::shared::Shared;
use crate::staged_batch::StagedBatch;
use crate::store::{Direction, KeyRange, Table, WriteBatch};
use crate::time::UnixMillis;
use crate::view::{GroupReceiptsView, MemberReceiptView};
use crate::{CoreError, Store};

pub(crate) const GROUP_SENDING: Table = Table::new("group_sending");
pub(crate) const GROUP_RECEIPTS: Table = Table::new("group_receipts");
pub(crate) const GROUP_RECEIPT_COUNTS: Table = Table::new("group_receipt_counts");
pub(crate) const GROUP_OWED: Table = Table::new("group_owed");

/// Most unsent texts one call encrypts again (the rest wait for the next).
const MAX_UNSENT_ENTRIES: usize = 16;
/// Most owed receipts one call sends (the rest wait for the next).
const MAX_OWED_PER_CALL: usize = 4096;
/// Groups of more members send no delivery receipts, only read receipts
/// (and the acknowledgement of a removal that the log's keys wait for):
/// one text would otherwise make an entry per member that every member
/// downloads and decrypts.
pub const MAX_MEMBERS_WITH_DELIVERY_RECEIPTS: u32 = 32;
/// Most of our own messages one receipt updates: the latest in its range.
const MAX_RECEIPT_ITEMS: usize = 1024;

/// What this user sends to a group.
#[derive(Clone, Copy, Debug)]
pub enum GroupSend<'a> {
    /// A text, maybe replying to a message, maybe mentioning members (by
    /// the hex ids of [`Core::group_members`]).
    Text {
        /// The text.
        text: &'a str,
        /// The message it replies to.
        reply_to: Option<MessageNumber>,
        /// The members it mentions.
        mentions: &'a [String],
    },
    /// A reaction (empty removes this user's).
    Reaction {
        /// The message reacted to.
        message: MessageNumber,
        /// The emoji.
        emoji: &'a str,
    },
    /// An edit of one of this user's texts.
    Edit {
        /// The text edited.
        message: MessageNumber,
        /// Its new text.
        text: &'a str,
    },
    /// A delete for everyone of one of this user's texts or files (a file's
    /// chunks are deleted from the relay, `FileTransfer::item_gone`).
    Delete {
        /// The message deleted.
        message: MessageNumber,
    },
    /// The group's disappearing-message timer (30 s to 4 weeks, or off).
    Timer {
        /// The timer in seconds, `None` for off.
        seconds: Option<u32>,
    },
    /// Blocks saving and exporting the group's media for every member (or
    /// allows it again).
    MediaPrivacy {
        /// Whether saving is blocked.
        block_saving: bool,
    },
    /// Deletes the group for everyone (owners only): it takes effect for
    /// each member, this one included, when the entry is read from the
    /// log ([`crate::GroupChange::Deleted`]).
    DeleteGroup,
}

impl<S: Store> Core<S> {
    /// Encrypts a message for the group: the entry to append to its log.
    /// What it changes in the history shows at once (a text as a pending
    /// item, numbered by the log once its entry comes back).
    pub fn group_send(
        &mut self,
        now: UnixMillis,
        chat: ChatId,
        send: GroupSend<'_>,
    ) -> Result<GroupEntry, CoreError> {
        let (mut record, _) = self.group_cache.load(self.store.inner(), chat)?;
        if record.deleted {
            return Err(CoreError::Group(sotto_groups::Error::NotAMember));
        }
        let mut chat_record = group_chat(self.store(), &record, now)?;
        let mut numbering = Numbering::load(self.store(), chat)?;
        let (mut cx, _, _, chats) = self.parts();
        let mut batch = StagedBatch::new();
        let mut mentions = Vec::new();
        let mut item = None;
        let content = match send {
            GroupSend::Text {
                text,
                reply_to,
                mentions: named,
            } => {
                check_text(text)?;
                mentions = mentioned(&record, named)?;
                let reference = reply_to
                    .map(|number| reference(&cx.item(chat, number)?))
                    .transpose()?;
                item = Some(ChatItem {
                    chat,
                    number: MessageNumber(chat_record.allocate_number()),
                    direction: MessageDirection::Outgoing,
                    seq: 0,
                    sent_at: now,
                    at: now,
                    status: MessageStatus::Pending,
                    content: ItemContent::Text {
                        text: text.to_owned(),
                        reply_to,
                    },
                    edited: false,
                    deleted: false,
                    reactions: Vec::new(),
                    expires_at: Chats::expiry(&chat_record, now),
                    sender: None,
                    mentions_me: false,
                });
                chat_record.last_activity = now.0;
                Content::Text {
                    reply_to: reference,
                    text: text.to_owned(),
                }
            }
            GroupSend::Reaction { message, emoji } => {
                if emoji.len() > MAX_REACTION_LEN {
                    return Err(CoreError::TooLong {
                        what: "reaction",
                        max: MAX_REACTION_LEN,
                    });
                }
                let mut item = cx.item(chat, message)?;
                let target = reference(&item)?;
                set_reaction(&mut item, true, emoji);
                chats.put_item(&item, &mut batch);
                Content::Reaction {
                    target,
                    emoji: emoji.to_owned(),
                }
            }
            GroupSend::Edit { message, text } => {
                check_text(text)?;
                let mut item = own_text(&cx, chat, message)?;
                let target = reference(&item)?;
                if let ItemContent::Text { text: old, .. } = &mut item.content {
                    *old = text.to_owned();
                }
                item.edited = true;
                chats.put_item(&item, &mut batch);
                Content::Edit {
                    target,
                    text: text.to_owned(),
                }
            }
            GroupSend::Delete { message } => {
                let mut item = own_message(&cx, chat, message)?;
                let target = reference(&item)?;
                mark_deleted(&mut item);
                chats.put_item(&item, &mut batch);
                Content::Delete { target }
            }
            GroupSend::Timer { seconds } => {
                check_timer(seconds)?;
                chat_record.timer_secs = seconds;
                let notice = ChatNotice::TimerChanged {
                    by_me: true,
                    seconds,
                };
                chats.add_notice(now, &mut chat_record, notice, &mut batch);
                batch.notify(Pending::ChatChanged(chat));
                Content::Timer { seconds }
            }
            GroupSend::MediaPrivacy { block_saving } => {
                chat_record.block_saving = block_saving;
                let notice = ChatNotice::MediaPrivacyChanged {
                    by_me: true,
                    block_saving,
                };
                chats.add_notice(now, &mut chat_record, notice, &mut batch);
                batch.notify(Pending::ChatChanged(chat));
                Content::MediaPrivacy { block_saving }
            }
            GroupSend::DeleteGroup => {
                let role = record.group.role(&record.group.own_member_id())?;
                if role != sotto_groups::Role::Owner {
                    return Err(CoreError::Group(sotto_groups::Error::Forbidden {
                        role,
                        action: sotto_groups::Action::DeleteGroup,
                    }));
                }
                Content::GroupDeleted
            }
        };
        let message = GroupChatMessage {
            sent_at: now.0,
            number: numbering.take(),
            mentions,
            content,
        };
        numbering.put(&mut batch);
        let plaintext = Zeroizing::new(message.encode());
        let sealed = record.group.encrypt(&plaintext)?;
        let entry = entry_of(sealed.as_bytes())?;
        // Kept until the log has it, to append again (a number the other
        // members saw missing would show as dropped).
        put_sending(
            &mut batch,
            chat,
            &entry,
            item.as_ref().map_or(NO_ITEM, |item| item.number),
            &plaintext,
        );
        if let Some(item) = item {
            chats.add_item(&item, &mut batch);
        }
        let stored = record.put_kept(&mut batch)?;
        chat_record.put(&mut batch);
        cx.commit(batch)?;
        self.group_cache.keep(stored, record);
        Ok(entry)
    }

    /// The upload of item `number` (a group's file) ended: encrypts its file
    /// message for the group, the entry to append to its log. It is kept
    /// until the log has it, as a text is (a runtime that does not append it
    /// at once sends it with [`Core::group_unsent`] at its next read). A
    /// group this member is no longer in gets nothing: the file fails as
    /// cancelled.
    pub(crate) fn group_file(
        &mut self,
        now: UnixMillis,
        chat: ChatId,
        number: MessageNumber,
        file: FileMessage,
    ) -> Result<Option<GroupEntry>, CoreError> {
        let (mut record, _) = self.group_cache.load(self.store.inner(), chat)?;
        let mut chat_record = group_chat(self.store(), &record, now)?;
        let mut numbering = Numbering::load(self.store(), chat)?;
        let (mut cx, _, _, chats) = self.parts();
        let mut item = cx.item(chat, number)?;
        let ItemContent::File {
            file: started,
            state: FileState::Uploading,
        } = &item.content
        else {
            return Err(CoreError::UnknownMessage);
        };
        if item.deleted {
            return Err(CoreError::UnknownMessage);
        }
        if !record.is_active() {
            let cancelled = FileState::Failed(sotto_files::TransferFailure::Cancelled);
            chats.set_file_state(&mut cx, chat, number, cancelled, |_| {})?;
            return Ok(None);
        }
        // The media chosen when the upload started go with the message.
        let mut file = file;
        if file.media.is_none() {
            file.media = started.media.clone();
        }
        file.fit_media();
        let message = GroupChatMessage {
            sent_at: now.0,
            number: numbering.take(),
            mentions: Vec::new(),
            content: Content::File { file: file.clone() },
        };
        let mut batch = StagedBatch::new();
        numbering.put(&mut batch);
        let plaintext = Zeroizing::new(message.encode());
        let sealed = record.group.encrypt(&plaintext)?;
        let entry = entry_of(sealed.as_bytes())?;
        put_sending(&mut batch, chat, &entry, number, &plaintext);
        item.sent_at = now;
        item.expires_at = Chats::expiry(&chat_record, now);
        item.content = ItemContent::File {
            file,
            state: FileState::Sent,
        };
        chats.put_item(&item, &mut batch);
        chat_record.last_activity = now.0;
        let stored = record.put_kept(&mut batch)?;
        chat_record.put(&mut batch);
        cx.commit(batch)?;
        self.group_cache.keep(stored, record);
        Ok(Some(entry))
    }

    /// Our messages whose entries did not come back from the log (their
    /// append failed, or never ran): encrypted again for the group's current
    /// epoch, the entries to append. The runtime calls this once it read
    /// the log to its end, where each entry appended would have come back.
    pub fn group_unsent(&mut self, chat: ChatId) -> Result<Vec<GroupEntry>, CoreError> {
        let unsent = self.store().range(
            GROUP_SENDING,
            &KeyRange::prefix(&chat.0.to_be_bytes()),
            Direction::Forward,
            MAX_UNSENT_ENTRIES,
        )?;
        if unsent.is_empty() {
            return Ok(Vec::new());
        }
        let mut record = GroupRecord::load(self.store(), chat)?;
        if !record.is_active() {
            return Ok(Vec::new());
        }
        let mut batch = StagedBatch::new();
        let mut entries = Vec::new();
        for unsent in unsent {
            let value = Zeroizing::new(unsent.value);
            let mut r = Reader::new(&value, "group sending");
            let number = MessageNumber(r.u64()?);
            let plaintext = r.bytes32(GROUP_ENTRY_LEN)?;
            r.finish()?;
            let sealed = record.group.encrypt(plaintext)?;
            let entry = entry_of(sealed.as_bytes())?;
            batch.delete(GROUP_SENDING, unsent.key);
            put_sending(&mut batch, chat, &entry, number, plaintext);
            entries.push(entry);
        }
        record.put(&mut batch)?;
        self.parts().0.commit(batch)?;
        Ok(entries)
    }

    /// The receipts this profile owes the group's members (delivered for
    /// every text read from the log in groups of at most
    /// [`MAX_MEMBERS_WITH_DELIVERY_RECEIPTS`] members, read once the user
    /// read them if read receipts are on in this chat, and the
    /// acknowledgement of a removal's commit): the entries to append, at
    /// most one per kind, each for the range of log seqs owed. The runtime
    /// calls this once per batch of entries it read (or after the user read
    /// the chat), so receipts coalesce.
    pub fn group_receipts(
        &mut self,
        now: UnixMillis,
        chat: ChatId,
    ) -> Result<Vec<GroupEntry>, CoreError> {
        let owed = self.store().range(
            GROUP_OWED,
            &KeyRange::prefix(&chat.0.to_be_bytes()),
            Direction::Forward,
            MAX_OWED_PER_CALL,
        )?;
        if owed.is_empty() {
            return Ok(Vec::new());
        }
        let (mut record, _) = self.group_cache.load(self.store.inner(), chat)?;
        let mut numbering = Numbering::load(self.store(), chat)?;
        let mut batch = StagedBatch::new();
        let mut ranges: [(ReceiptKind, Option<(u64, u64)>); 2] =
            [(ReceiptKind::Delivered, None), (ReceiptKind::Read, None)];
        for owed in &owed {
            batch.delete(GROUP_OWED, owed.key.clone());
            let (kind, seq) = parse_owed_key(&owed.key)?;
            let range = &mut ranges[usize::from(kind == ReceiptKind::Read)].1;
            *range = Some(match *range {
                Some((from, to)) => (from.min(seq), to.max(seq)),
                None => (seq, seq),
            });
        }
        let mut entries = Vec::new();
        if record.is_active() {
            for (kind, range) in ranges {
                let Some((from, to)) = range else { continue };
                let message = GroupChatMessage {
                    sent_at: now.0,
                    number: numbering.take(),
                    mentions: Vec::new(),
                    content: Content::GroupReceipt { kind, from, to },
                };
                let plaintext = Zeroizing::new(message.encode());
                let sealed = record.group.encrypt(&plaintext)?;
                let entry = entry_of(sealed.as_bytes())?;
                put_sending(&mut batch, chat, &entry, NO_ITEM, &plaintext);
                entries.push(entry);
            }
        }
        numbering.put(&mut batch);
        let stored = record.put_kept(&mut batch)?;
        self.parts().0.commit(batch)?;
        self.group_cache.keep(stored, record);
        Ok(entries)
    }
}

/// The group's chat record; a group kept before groups were chats gets one.
pub(crate) fn group_chat(
    store: &impl Store,
    record: &GroupRecord,
    now: UnixMillis,
) -> Result<ChatRecord, CoreError> {
    match ChatRecord::load(store, record.chat) {
        Ok(chat) => Ok(chat),
        Err(CoreError::UnknownContact) => {
            Ok(ChatRecord::group(record.chat, member_count(record), now.0))
        }
        Err(error) => Err(error),
    }
}

pub(crate) fn member_count(record: &GroupRecord) -> u32 {
    u32::try_from(record.group.member_count()).unwrap_or(u32::MAX)
}

/// How the members name one of our items: by the log seq of its entry.
fn reference(item: &ChatItem) -> Result<MessageRef, CoreError> {
    if item.direction == MessageDirection::Notice {
        return Err(CoreError::UnknownMessage);
    }
    if item.seq == 0 {
        return Err(CoreError::InvalidValue(
            "message not in the group's log yet",
        ));
    }
    Ok(MessageRef {
        author: Author::Sender,
        seq: item.seq,
    })
}

fn own_text<S: Store>(
    cx: &Shared<'_, S>,
    chat: ChatId,
    number: MessageNumber,
) -> Result<ChatItem, CoreError> {
    let item = cx.item(chat, number)?;
    if item.direction != MessageDirection::Outgoing
        || item.deleted
        || !matches!(item.content, ItemContent::Text { .. })
    {
        return Err(CoreError::UnknownMessage);
    }
    Ok(item)
}

/// One of our texts or files, not deleted (only its author deletes it for
/// everyone).
fn own_message<S: Store>(
    cx: &Shared<'_, S>,
    chat: ChatId,
    number: MessageNumber,
) -> Result<ChatItem, CoreError> {
    let item = cx.item(chat, number)?;
    if item.direction != MessageDirection::Outgoing
        || item.deleted
        || matches!(item.content, ItemContent::Notice(_))
    {
        return Err(CoreError::UnknownMessage);
    }
    Ok(item)
}

/// The members a text mentions, each a current member, once.
fn mentioned(record: &GroupRecord, named: &[String]) -> Result<Vec<MemberId>, CoreError> {
    let members = record.group.members()?;
    let mut mentions = Vec::new();
    for name in named {
        let id = parse_member_id(name).ok_or(CoreError::InvalidValue("member id"))?;
        if !members.iter().any(|member| member.id == id) {
            return Err(CoreError::InvalidValue("not a member of the group"));
        }
        if !mentions.contains(&id) {
            mentions.push(id);
        }
    }
    if mentions.len() > MAX_MENTIONS {
        return Err(CoreError::TooLong {
            what: "mentions",
            max: MAX_MENTIONS,
        });
    }
    Ok(mentions)
}

fn put_sending(
    batch: &mut WriteBatch,
    chat: ChatId,
    entry: &GroupEntry,
    number: MessageNumber,
    plaintext: &[u8],
) {
    let mut w = Writer::new();
    w.u64(number.0).bytes32(plaintext);
    batch.put(GROUP_SENDING, sending_key(chat, entry), w.finish());
}

fn sending_key(chat: ChatId, entry: &GroupEntry) -> Vec<u8> {
    let digest: [u8; 32] = Sha256::digest(entry.as_bytes()).into();
    [&chat.0.to_be_bytes()[..], &digest[..]].concat()
}

fn owed_key(chat: ChatId, kind: ReceiptKind, seq: u64) -> Vec<u8> {
    let kind = match kind {
        ReceiptKind::Delivered => 1,
        ReceiptKind::Read => 2,
    };
    let mut key = chat.0.to_be_bytes().to_vec();
    key.push(kind);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

fn parse_owed_key(key: &[u8]) -> Result<(ReceiptKind, u64), CoreError> {
    const BAD: CoreError = CoreError::CorruptRecord("group receipt owed");
    let kind = match key.get(8) {
        Some(1) => ReceiptKind::Delivered,
        Some(2) => ReceiptKind::Read,
        _ => return Err(BAD),
    };
    let seq = key
        .get(9..17)
        .and_then(|seq| <[u8; 8]>::try_from(seq).ok())
        .map(u64::from_be_bytes)
        .ok_or(BAD)?;
    Ok((kind, seq))
}

/// Notes receipts to send for messages of the group (log seqs).
pub(crate) fn owe_receipts(batch: &mut WriteBatch, chat: ChatId, kind: ReceiptKind, seqs: &[u64]) {
    for &seq in seqs {
        batch.put(GROUP_OWED, owed_key(chat, kind, seq), Vec::new());
    }
}

/// What `group_sending` names for a message that made no item (a
/// reaction, an edit, a receipt…).
const NO_ITEM: MessageNumber = MessageNumber(0);

/// Our message's entry came back from the log at `seq`: it is no longer
/// kept to send again, and a text's item takes its number and is sent.
/// Returns what the message carried, when it was one of ours.
pub(crate) fn confirm_sent<S: Store>(
    cx: &Shared<'_, S>,
    chats: &mut Chats,
    batch: &mut StagedBatch,
    chat: ChatId,
    seq: u64,
    entry: &GroupEntry,
) -> Result<Option<Content>, CoreError> {
    let key = sending_key(chat, entry);
    let Some(value) = cx.store().get(GROUP_SENDING, &key)? else {
        return Ok(None);
    };
    batch.delete(GROUP_SENDING, key);
    let value = Zeroizing::new(value);
    let mut r = Reader::new(&value, "group sending");
    let number = MessageNumber(r.u64()?);
    let content = GroupChatMessage::decode(r.bytes32(GROUP_ENTRY_LEN)?)
        .map_err(|_| CoreError::CorruptRecord("group sending"))?
        .content;
    r.finish()?;
    if number == NO_ITEM {
        return Ok(Some(content));
    }
    let Some(mut item) = ChatItem::load(cx.store(), chat, number)? else {
        return Ok(Some(content));
    };
    item.seq = seq;
    if item.status == MessageStatus::Pending {
        item.status = MessageStatus::Sent;
    }
    chats.put_item(&item, batch);
    Ok(Some(content))
}

/// The item a member's message names (by log seq), whoever wrote it.
fn find(store: &impl Store, chat: ChatId, seq: u64) -> Result<Option<ChatItem>, CoreError> {
    for mine in [false, true] {
        if let Some(number) = ChatItem::find_by_seq(store, chat, mine, seq)? {
            return ChatItem::load(store, chat, number);
        }
    }
    Ok(None)
}

/// The member's own item that `target` names (only its author edits or
/// deletes it).
fn sender_text(
    store: &impl Store,
    chat: ChatId,
    sender: MemberId,
    target: MessageRef,
) -> Result<Option<ChatItem>, CoreError> {
    Ok(find(store, chat, target.seq)?.filter(|item| {
        item.direction == MessageDirection::Incoming
            && item.sender.as_ref().is_some_and(|s| s.id == sender)
    }))
}

/// A member as an item names it: its id and its name in the group now
/// (empty when it is no longer a member).
pub(crate) fn group_sender(record: &GroupRecord, id: MemberId) -> Result<GroupSender, CoreError> {
    let name = match record.group.member_name(&id) {
        Ok(name) => name.as_str().to_owned(),
        Err(sotto_groups::Error::UnknownMember) => String::new(),
        Err(error) => return Err(error.into()),
    };
    Ok(GroupSender { id, name })
}

/// A member's message read from the log at `seq`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn apply<S: Store>(
    cx: &Shared<'_, S>,
    chats: &mut Chats,
    now: UnixMillis,
    record: &GroupRecord,
    chat: &mut ChatRecord,
    seq: u64,
    sender: MemberId,
    message: GroupChatMessage,
    batch: &mut StagedBatch,
) -> Result<(), CoreError> {
    let id = chat.id;
    let sender_name = group_sender(record, sender)?.name;
    match message.content {
        Content::Text { reply_to, text } => {
            let reply_to = match reply_to {
                Some(target) => find(cx.store(), id, target.seq)?.map(|item| item.number),
                None => None,
            };
            let item = ChatItem {
                chat: id,
                number: MessageNumber(chat.allocate_number()),
                direction: MessageDirection::Incoming,
                seq,
                sent_at: UnixMillis(message.sent_at),
                at: now,
                status: MessageStatus::Delivered,
                content: ItemContent::Text { text, reply_to },
                edited: false,
                deleted: false,
                reactions: Vec::new(),
                expires_at: Chats::expiry(chat, now),
                sender: Some(GroupSender {
                    id: sender,
                    name: sender_name,
                }),
                mentions_me: message.mentions.contains(&record.group.own_member_id()),
            };
            chats.add_item(&item, batch);
            chat.unread = chat.unread.saturating_add(1);
            chat.last_activity = now.0;
            if member_count(record) <= MAX_MEMBERS_WITH_DELIVERY_RECEIPTS {
                owe_receipts(batch, id, ReceiptKind::Delivered, &[seq]);
            }
        }
        Content::File { file } => {
            let number = MessageNumber(chat.allocate_number());
            let state = auto_download(
                cx.store(),
                chat.auto_download,
                id,
                number,
                &file,
                true,
                batch,
            )?;
            let item = ChatItem {
                chat: id,
                number,
                direction: MessageDirection::Incoming,
                seq,
                sent_at: UnixMillis(message.sent_at),
                at: now,
                status: MessageStatus::Delivered,
                content: ItemContent::File { file, state },
                edited: false,
                deleted: false,
                reactions: Vec::new(),
                expires_at: Chats::expiry(chat, now),
                sender: Some(GroupSender {
                    id: sender,
                    name: sender_name,
                }),
                mentions_me: false,
            };
            chats.add_item(&item, batch);
            chat.unread = chat.unread.saturating_add(1);
            chat.last_activity = now.0;
            if member_count(record) <= MAX_MEMBERS_WITH_DELIVERY_RECEIPTS {
                owe_receipts(batch, id, ReceiptKind::Delivered, &[seq]);
            }
        }
        Content::Reaction { target, emoji } => {
            if let Some(mut item) = find(cx.store(), id, target.seq)?
                && item.direction != MessageDirection::Notice
                && !item.deleted
            {
                let member = hex(sender.as_bytes());
                item.reactions
                    .retain(|reaction| reaction.member.as_deref() != Some(member.as_str()));
                if !emoji.is_empty() && item.reactions.len() < MAX_REACTIONS {
                    item.reactions.push(Reaction {
                        mine: false,
                        emoji,
                        member: Some(member),
                    });
                }
                chats.put_item(&item, batch);
            }
        }
        Content::Edit { target, text } => {
            if let Some(mut item) = sender_text(cx.store(), id, sender, target)?
                && !item.deleted
                && let ItemContent::Text { text: old, .. } = &mut item.content
            {
                *old = text;
                item.edited = true;
                chats.put_item(&item, batch);
            }
        }
        Content::Delete { target } => {
            if let Some(mut item) = sender_text(cx.store(), id, sender, target)? {
                mark_deleted(&mut item);
                chats.put_item(&item, batch);
            }
        }
        Content::Receipt { kind, mut seqs } => {
            // The first receipts named each message.
            seqs.sort_unstable();
            seqs.dedup();
            let mut numbers = Vec::new();
            for seq in seqs {
                if let Some(number) = ChatItem::find_by_seq(cx.store(), id, true, seq)? {
                    numbers.push(number);
                }
            }
            let receipt = Receipt::new(sender, sender_name, kind);
            receipt.count(cx, chats, record, id, &numbers, batch)?;
        }
        Content::GroupReceipt { kind, from, to } => {
            let numbers = own_messages_between(cx.store(), id, from, to)?;
            let receipt = Receipt::new(sender, sender_name, kind);
            receipt.count(cx, chats, record, id, &numbers, batch)?;
        }
        Content::Timer { seconds } => {
            chat.timer_secs = seconds;
            let notice = ChatNotice::TimerChanged {
                by_me: false,
                seconds,
            };
            chats.add_notice(now, chat, notice, batch);
            batch.notify(Pending::ChatChanged(id));
        }
        Content::MediaPrivacy { block_saving } => {
            chat.block_saving = block_saving;
            let notice = ChatNotice::MediaPrivacyChanged {
                by_me: false,
                block_saving,
            };
            chats.add_notice(now, chat, notice, batch);
            batch.notify(Pending::ChatChanged(id));
        }
        // The group message's decoder lets no other content through.
        _ => {}
    }
    Ok(())
}

/// Our own messages with a log seq in `from..=to`, the latest
/// [`MAX_RECEIPT_ITEMS`] of them.
fn own_messages_between(
    store: &impl Store,
    chat: ChatId,
    from: u64,
    to: u64,
) -> Result<Vec<MessageNumber>, CoreError> {
    let mine = ChatItem::seq_key(chat, true, 0);
    let mut range = KeyRange::prefix(&mine[..mine.len() - 8]);
    range.start = ChatItem::seq_key(chat, true, from);
    if let Some(next) = to.checked_add(1) {
        range.end = Some(ChatItem::seq_key(chat, true, next));
    }
    store
        .range(
            crate::chat_item::MESSAGE_SEQS,
            &range,
            Direction::Backward,
            MAX_RECEIPT_ITEMS,
        )?
        .into_iter()
        .map(|record| {
            <[u8; 8]>::try_from(record.value.as_slice())
                .map(|number| MessageNumber(u64::from_be_bytes(number)))
                .map_err(|_| CoreError::CorruptRecord("index"))
        })
        .collect()
}

/// One member's receipt, as it counts on our messages.
struct Receipt {
    member: MemberId,
    name: String,
    status: MessageStatus,
}

impl Receipt {
    fn new(member: MemberId, name: String, kind: ReceiptKind) -> Receipt {
        let status = match kind {
            ReceiptKind::Delivered => MessageStatus::Delivered,
            ReceiptKind::Read => MessageStatus::Read,
        };
        Receipt {
            member,
            name,
            status,
        }
    }

    /// Records the receipt on each of our messages `numbers` (each once): a
    /// member's receipt only moves forward, and a message is delivered once
    /// every other member has it, read once all read it.
    fn count<S: Store>(
        &self,
        cx: &Shared<'_, S>,
        chats: &mut Chats,
        record: &GroupRecord,
        chat: ChatId,
        numbers: &[MessageNumber],
        batch: &mut StagedBatch,
    ) -> Result<(), CoreError> {
        let others = usize::try_from(member_count(record).saturating_sub(1)).unwrap_or(usize::MAX);
        for &number in numbers {
            let Some(mut item) = ChatItem::load(cx.store(), chat, number)? else {
                continue;
            };
            let key = receipt_key(chat, number, self.member);
            let before = match cx.store().get(GROUP_RECEIPTS, &key)? {
                Some(bytes) => decode_receipt(&bytes)?.0,
                None => MessageStatus::Sent,
            };
            if self.status <= before {
                continue;
            }
            let mut w = Writer::new();
            w.u8(status_byte(self.status)).bytes16(self.name.as_bytes());
            batch.put(GROUP_RECEIPTS, key, w.finish());
            let (mut delivered, mut read) = counts(cx.store(), chat, number)?;
            if before < MessageStatus::Delivered {
                delivered = delivered.saturating_add(1);
            }
            if self.status == MessageStatus::Read {
                read = read.saturating_add(1);
            }
            let mut w = Writer::new();
            w.u32(delivered).u32(read);
            batch.put(
                GROUP_RECEIPT_COUNTS,
                ChatItem::key(chat, number),
                w.finish(),
            );
            // The item's own status says what every other member did.
            let reached = |count: u32| usize::try_from(count).unwrap_or(usize::MAX) >= others;
            let aggregate = if reached(read) {
                MessageStatus::Read
            } else if reached(delivered) {
                MessageStatus::Delivered
            } else {
                MessageStatus::Sent
            };
            if aggregate > item.status && item.status != MessageStatus::Failed {
                item.status = aggregate;
            }
            chats.put_item(&item, batch);
        }
        Ok(())
    }
}

/// How many members have our message `number` (delivered) and how many read
/// it; counted from the receipts themselves for a message kept before the
/// counts were.
fn counts(
    store: &impl Store,
    chat: ChatId,
    number: MessageNumber,
) -> Result<(u32, u32), CoreError> {
    if let Some(bytes) = store.get(GROUP_RECEIPT_COUNTS, &ChatItem::key(chat, number))? {
        let mut r = Reader::new(&bytes, "group receipt counts");
        let counts = (r.u32()?, r.u32()?);
        r.finish()?;
        return Ok(counts);
    }
    let receipts = receipts(store, chat, number)?;
    let count = |least: MessageStatus| {
        u32::try_from(receipts.iter().filter(|(_, s, _)| *s >= least).count()).unwrap_or(u32::MAX)
    };
    Ok((count(MessageStatus::Delivered), count(MessageStatus::Read)))
}

fn receipt_key(chat: ChatId, number: MessageNumber, member: MemberId) -> Vec<u8> {
    let mut key = ChatItem::key(chat, number);
    key.extend_from_slice(member.as_bytes());
    key
}

fn status_byte(status: MessageStatus) -> u8 {
    match status {
        MessageStatus::Read => 3,
        _ => 2,
    }
}

fn decode_receipt(bytes: &[u8]) -> Result<(MessageStatus, String), CoreError> {
    let mut r = Reader::new(bytes, "group receipt");
    let status = match r.u8()? {
        2 => MessageStatus::Delivered,
        3 => MessageStatus::Read,
        _ => return Err(CoreError::Malformed("group receipt")),
    };
    let name = r.text(sotto_groups::MAX_DISPLAY_NAME_LEN)?;
    r.finish()?;
    Ok((status, name))
}

/// Every member's receipt on our message `number`.
fn receipts(
    store: &impl Store,
    chat: ChatId,
    number: MessageNumber,
) -> Result<Vec<(MemberId, MessageStatus, String)>, CoreError> {
    store
        .range(
            GROUP_RECEIPTS,
            &KeyRange::prefix(&ChatItem::key(chat, number)),
            Direction::Forward,
            usize::MAX,
        )?
        .into_iter()
        .map(|record| {
            let member = record
                .key
                .get(16..)
                .and_then(MemberId::from_slice)
                .ok_or(CoreError::CorruptRecord("group receipt"))?;
            let (status, name) = decode_receipt(&record.value).map_err(corrupt("group receipt"))?;
            Ok((member, status, name))
        })
        .collect()
}

/// The receipts on one of our messages in a group, as the item view shows
/// them.
pub(crate) fn receipts_view(
    store: &impl Store,
    chat: &ChatRecord,
    number: MessageNumber,
) -> Result<GroupReceiptsView, CoreError> {
    let ChatKind::Group { members } = chat.kind else {
        return Err(CoreError::UnknownGroup);
    };
    let by: Vec<MemberReceiptView> = receipts(store, chat.id, number)?
        .into_iter()
        .map(|(member, status, name)| MemberReceiptView {
            id: hex(member.as_bytes()),
            name,
            status,
        })
        .collect();
    let count = |least: MessageStatus| {
        u32::try_from(by.iter().filter(|r| r.status >= least).count()).unwrap_or(u32::MAX)
    };
    Ok(GroupReceiptsView {
        members: members.saturating_sub(1),
        delivered: count(MessageStatus::Delivered),
        read: count(MessageStatus::Read),
        by,
    })
}

/// Forgets the members' receipts on one of our messages (it is deleted).
pub(crate) fn forget_item_receipts(batch: &mut WriteBatch, chat: ChatId, number: MessageNumber) {
    batch.delete_range(
        GROUP_RECEIPTS,
        KeyRange::prefix(&ChatItem::key(chat, number)),
    );
    batch.delete(GROUP_RECEIPT_COUNTS, ChatItem::key(chat, number));
}

/// Forgets the members' receipts on a group's messages (its history was
/// cleared).
pub(crate) fn forget_receipts(batch: &mut WriteBatch, chat: ChatId) {
    batch.delete_range(GROUP_RECEIPTS, KeyRange::prefix(&chat.0.to_be_bytes()));
    batch.delete_range(
        GROUP_RECEIPT_COUNTS,
        KeyRange::prefix(&chat.0.to_be_bytes()),
    );
}
