//! Chats: the sub-machine that manages a chat's history and settings. It
//! sends every kind of chat message (encrypted once, queued as a SEND job),
//! writes the items and notices that the other sub-machines add, keeps the
//! read state, sends delivery receipts a moment after what they acknowledge,
//! and expires disappearing messages.
//!
//! Its own state is the schedule of its timers (`chats/timers.rs`): which
//! connections owe delivery receipts and when they go out, and when the
//! first disappearing message expires. The chats, items and receipts
//! themselves are records in the store.

use std::collections::BTreeMap;

use rand_core::CryptoRngCore;
use sotto_crypto::{ENCRYPT_RANDOMNESS_LEN, MAX_PLAINTEXT_LEN, Session};
use zeroize::Zeroizing;

use crate::account::Settings;
use crate::chat_item::{
    ChatItem, ChatNotice, ItemContent, MessageDirection, MessageStatus, Reaction,
};
use crate::chat_message::{
    Author, Content, Envelope, MAX_REACTION_LEN, MAX_RECEIPT_SEQS, MessageRef, ReceiptKind,
    check_text, check_timer, envelope_hash,
};
use crate::chat_record::{ChatRecord, ReceiptSetting};
use crate::connection::{Channel, ConnectionRecord, Established, Stage};
use crate::event::Pending;
use crate::ids::{ChatId, ConnectionId, MessageNumber, PeerId};
use crate::job::{JobCommand, JobPurpose};
use crate::profile::Profile;
use crate::shared::Shared;
use crate::staged_batch::StagedBatch;
use crate::time::UnixMillis;
use crate::{CoreError, Store};

/// How long a delivery receipt waits for others to go out with.
pub(crate) const RECEIPT_DELAY: std::time::Duration = std::time::Duration::from_millis(500);

mod files;
mod timers;

/// The chats sub-machine. See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct Chats {
    /// Connections with delivery receipts waiting, and when they go out.
    receipts_due: BTreeMap<ConnectionId, UnixMillis>,
    /// When the first disappearing message expires.
    next_expiry: Option<UnixMillis>,
}

impl Chats {
    /// The chats of a profile just opened: receipts left waiting go out at
    /// the first timeout, and the first expiry is read from the store.
    pub(crate) fn open(store: &impl Store) -> Result<Chats, CoreError> {
        let mut chats = Chats::default();
        for connection in ConnectionRecord::load_all(store)? {
            if let Stage::Established(established) = &connection.stage
                && !established.pending_receipts.is_empty()
            {
                chats.receipts_due.insert(connection.id, UnixMillis(0));
            }
        }
        chats.refresh_expiry(store)?;
        Ok(chats)
    }

    /// Sends a text, optionally replying to `reply_to`. Returns its number in
    /// the chat; its status starts at [`MessageStatus::Pending`].
    pub(crate) fn send_text<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        text: &str,
        reply_to: Option<MessageNumber>,
    ) -> Result<MessageNumber, CoreError> {
        check_text(text)?;
        self.with_session(cx, rng, chat, |chats, cx, rng, chat, link, batch| {
            let reference = reply_to
                .map(|number| Chats::reference(cx, chat.id, number))
                .transpose()?;
            let number = MessageNumber(chat.allocate_number());
            let content = Content::Text {
                reply_to: reference,
                text: text.to_owned(),
            };
            let seq = chats.send(cx, now, rng, chat.id, link, content, Some(number), batch)?;
            let item = ChatItem {
                chat: chat.id,
                number,
                direction: MessageDirection::Outgoing,
                seq,
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
                expires_at: Chats::expiry(chat, now),
                sender: None,
                mentions_me: false,
            };
            chats.add_item(&item, batch);
            chat.last_activity = now.0;
            Ok(number)
        })
    }

    /// Reacts to a message (an empty `emoji` removes this user's reaction).
    pub(crate) fn react<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        message: MessageNumber,
        emoji: &str,
    ) -> Result<(), CoreError> {
        if emoji.len() > MAX_REACTION_LEN {
            return Err(CoreError::TooLong {
                what: "reaction",
                max: MAX_REACTION_LEN,
            });
        }
        self.with_session(cx, rng, chat, |chats, cx, rng, chat, link, batch| {
            let target = Chats::reference(cx, chat.id, message)?;
            let mut item = cx.item(chat.id, message)?;
            let content = Content::Reaction {
                target,
                emoji: emoji.to_owned(),
            };
            chats.send(cx, now, rng, chat.id, link, content, None, batch)?;
            set_reaction(&mut item, true, emoji);
            chats.put_item(&item, batch);
            Ok(())
        })
    }

    /// Edits one of this user's texts, for both sides.
    pub(crate) fn edit<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        message: MessageNumber,
        text: &str,
    ) -> Result<(), CoreError> {
        check_text(text)?;
        self.with_session(cx, rng, chat, |chats, cx, rng, chat, link, batch| {
            let mut item = Chats::own_text(cx, chat.id, message)?;
            if !matches!(item.content, ItemContent::Text { .. }) {
                return Err(CoreError::UnknownMessage);
            }
            let target = MessageRef {
                author: Author::Sender,
                seq: item.seq,
            };
            let content = Content::Edit {
                target,
                text: text.to_owned(),
            };
            chats.send(cx, now, rng, chat.id, link, content, None, batch)?;
            if let ItemContent::Text { text: old, .. } = &mut item.content {
                *old = text.to_owned();
            }
            item.edited = true;
            chats.put_item(&item, batch);
            Ok(())
        })
    }

    /// Deletes one of this user's texts for everyone.
    pub(crate) fn delete_for_everyone<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        message: MessageNumber,
    ) -> Result<(), CoreError> {
        // A file still uploading was never sent: it goes on this device
        // (and its upload is cancelled, see `file_transfer`).
        let item = Chats::own_text(cx, chat, message)?;
        if item.seq == 0 {
            let mut item = item;
            mark_deleted(&mut item);
            let mut batch = StagedBatch::new();
            self.put_item(&item, &mut batch);
            return cx.commit(batch);
        }
        self.with_session(cx, rng, chat, |chats, cx, rng, chat, link, batch| {
            let mut item = Chats::own_text(cx, chat.id, message)?;
            let target = MessageRef {
                author: Author::Sender,
                seq: item.seq,
            };
            chats.send(
                cx,
                now,
                rng,
                chat.id,
                link,
                Content::Delete { target },
                None,
                batch,
            )?;
            mark_deleted(&mut item);
            chats.put_item(&item, batch);
            Ok(())
        })
    }

    /// The user read the chat: incoming messages become read, and read
    /// receipts go out if the setting allows and the chat is connected.
    pub(crate) fn mark_read<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
    ) -> Result<(), CoreError> {
        let mut record = ChatRecord::load(cx.store(), chat)?;
        let mut seqs = Vec::new();
        let mut before = None;
        let mut batch = StagedBatch::new();
        while record.unread > 0 {
            let page = crate::queries::load_items(cx.store(), chat, before, 64)?;
            let Some(first) = page.first() else { break };
            before = Some(first.number);
            for mut item in page.into_iter().rev() {
                if item.direction == MessageDirection::Incoming
                    && item.status == MessageStatus::Delivered
                {
                    item.status = MessageStatus::Read;
                    seqs.push(item.seq);
                    // One ChatChanged says it all; no event per item.
                    item.put(&mut batch);
                    record.unread = record.unread.saturating_sub(1);
                }
            }
        }
        record.unread = 0;
        record.put(&mut batch);
        batch.notify(Pending::ChatChanged(chat));
        cx.commit(batch)?;
        if seqs.is_empty() || !Chats::read_receipts_enabled(&cx.account.settings, &record) {
            return Ok(());
        }
        seqs.sort_unstable();
        if record.is_group() {
            // A group's receipts go with the member's next write to its log.
            let mut batch = StagedBatch::new();
            crate::groups::messages::owe_receipts(&mut batch, chat, ReceiptKind::Read, &seqs);
            return cx.commit(batch);
        }
        match self.with_session(cx, rng, chat, |chats, cx, rng, chat, link, batch| {
            for chunk in seqs.chunks(MAX_RECEIPT_SEQS) {
                let content = Content::Receipt {
                    kind: ReceiptKind::Read,
                    seqs: chunk.to_vec(),
                };
                chats.send(cx, now, rng, chat.id, link, content, None, batch)?;
            }
            Ok(())
        }) {
            // Read is read; a chat that cannot send keeps no receipt.
            Err(CoreError::NotConnected) => Ok(()),
            other => other,
        }
    }

    /// Tells the contact that this user is (or stopped) typing, if typing
    /// indicators are on in the settings.
    pub(crate) fn set_typing<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        typing: bool,
    ) -> Result<(), CoreError> {
        if !cx.account.settings.typing_indicators {
            return Ok(());
        }
        self.with_session(cx, rng, chat, |chats, cx, rng, chat, link, batch| {
            chats.send(
                cx,
                now,
                rng,
                chat.id,
                link,
                Content::Typing { typing },
                None,
                batch,
            )?;
            Ok(())
        })
    }

    /// Sets the chat's disappearing-message timer (30 s to 4 weeks, or `None`
    /// for off), for both sides. It applies to messages sent after it.
    pub(crate) fn set_timer<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        seconds: Option<u32>,
    ) -> Result<(), CoreError> {
        check_timer(seconds)?;
        self.with_session(cx, rng, chat, |chats, cx, rng, chat, link, batch| {
            chats.send(
                cx,
                now,
                rng,
                chat.id,
                link,
                Content::Timer { seconds },
                None,
                batch,
            )?;
            chat.timer_secs = seconds;
            let notice = ChatNotice::TimerChanged {
                by_me: true,
                seconds,
            };
            chats.add_notice(now, chat, notice, batch);
            batch.notify(Pending::ChatChanged(chat.id));
            Ok(())
        })
    }

    /// Blocks (or allows again) saving media out of the chat and exporting
    /// it with the chat, for both sides.
    pub(crate) fn set_block_saving<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        block_saving: bool,
    ) -> Result<(), CoreError> {
        self.with_session(cx, rng, chat, |chats, cx, rng, chat, link, batch| {
            chats.send(
                cx,
                now,
                rng,
                chat.id,
                link,
                Content::MediaPrivacy { block_saving },
                None,
                batch,
            )?;
            chat.block_saving = block_saving;
            let notice = ChatNotice::MediaPrivacyChanged {
                by_me: true,
                block_saving,
            };
            chats.add_notice(now, chat, notice, batch);
            batch.notify(Pending::ChatChanged(chat.id));
            Ok(())
        })
    }

    /// Changes this user's profile and sends it to every connected peer.
    pub(crate) fn update_profile<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        profile: Profile,
    ) -> Result<(), CoreError> {
        cx.account.profile = profile.clone();
        cx.commit(StagedBatch::new())?;
        for connection in ConnectionRecord::load_all(cx.store())? {
            if !matches!(connection.stage, Stage::Established(_)) {
                continue;
            }
            let content = Content::ProfileUpdate {
                profile: profile.clone(),
            };
            self.with_session(
                cx,
                rng,
                connection.chat,
                |chats, cx, rng, chat, link, batch| {
                    chats.send(cx, now, rng, chat.id, link, content, None, batch)?;
                    Ok(())
                },
            )?;
        }
        Ok(())
    }

    /// Loads a chat and its established connection with the open session,
    /// runs `change`, and commits the chat, the connection with its session
    /// and whatever `change` wrote, all at once.
    pub(crate) fn with_session<S: Store, R: CryptoRngCore, T>(
        &mut self,
        cx: &mut Shared<'_, S>,
        rng: &mut R,
        chat: ChatId,
        change: impl FnOnce(
            &mut Self,
            &mut Shared<'_, S>,
            &mut R,
            &mut ChatRecord,
            &mut Link,
            &mut StagedBatch,
        ) -> Result<T, CoreError>,
    ) -> Result<T, CoreError> {
        let mut chat = ChatRecord::load(cx.store(), chat)?;
        let connection = chat.connection().ok_or(CoreError::NotConnected)?;
        let record = ConnectionRecord::load(cx.store(), connection)?;
        let Stage::Established(state) = record.stage else {
            return Err(CoreError::NotConnected);
        };
        let session = cx.open_session(record.id, &state.channel)?;
        let mut link = Link {
            id: record.id,
            peer: record.peer,
            created_at: record.created_at,
            state,
            session,
        };
        let mut batch = StagedBatch::new();
        let value = change(self, cx, rng, &mut chat, &mut link, &mut batch)?;
        link.state.channel.session = cx.pickle_session(rng, &link.session);
        ConnectionRecord {
            id: link.id,
            peer: link.peer,
            chat: chat.id,
            created_at: link.created_at,
            stage: Stage::Established(link.state),
        }
        .put(&mut batch);
        chat.put(&mut batch);
        cx.commit(batch)?;
        cx.keep_session(link.id, link.session);
        Ok(value)
    }

    /// Sends `content` over an established connection, signed.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn send<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        link: &mut Link,
        content: Content,
        item: Option<MessageNumber>,
        batch: &mut StagedBatch,
    ) -> Result<u64, CoreError> {
        let Link { state, session, .. } = link;
        self.send_envelope(
            cx,
            now,
            rng,
            chat,
            &mut state.channel,
            session,
            content,
            true,
            item,
            batch,
        )
    }

    /// Encrypts `content` once and queues it for the peer's queue. Returns
    /// the envelope's sequence number.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn send_envelope<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        channel: &mut Channel,
        session: &mut Session,
        content: Content,
        signed: bool,
        item: Option<MessageNumber>,
        batch: &mut StagedBatch,
    ) -> Result<u64, CoreError> {
        let seq = channel.outgoing.next_seq;
        let envelope = Envelope {
            seq,
            prev_hash: channel.outgoing.last_hash,
            sent_at: now.0,
            content,
        };
        let plaintext = Zeroizing::new(envelope.encode());
        if plaintext.len() > MAX_PLAINTEXT_LEN {
            return Err(CoreError::TooLong {
                what: "message",
                max: MAX_PLAINTEXT_LEN,
            });
        }
        let mut randomness = Zeroizing::new([0u8; ENCRYPT_RANDOMNESS_LEN]);
        rng.fill_bytes(randomness.as_mut());
        let ciphertext = session.encrypt(&plaintext, &randomness)?;
        channel.outgoing.next_seq += 1;
        channel.outgoing.last_hash = envelope_hash(&plaintext);
        let queue = &channel.send_queue;
        let command = JobCommand::Send {
            sender_id: queue.address.sender_id,
            auth_secret: signed.then(|| queue.signing_key.clone()),
            body: ciphertext,
        };
        let purpose = match item {
            Some(number) => JobPurpose::ChatMessage { chat, number },
            None => JobPurpose::None,
        };
        let relay = queue.address.relay.clone();
        cx.add_job(batch, now, relay, command, purpose);
        Ok(seq)
    }

    /// Adds a notice to the chat.
    pub(crate) fn add_notice(
        &mut self,
        now: UnixMillis,
        chat: &mut ChatRecord,
        notice: ChatNotice,
        batch: &mut StagedBatch,
    ) {
        self.add_notice_about(now, chat, notice, None, batch);
    }

    /// A notice about one member of a group (`sender`: whose messages it
    /// concerns).
    pub(crate) fn add_notice_about(
        &mut self,
        now: UnixMillis,
        chat: &mut ChatRecord,
        notice: ChatNotice,
        sender: Option<crate::chat_item::GroupSender>,
        batch: &mut StagedBatch,
    ) {
        let number = MessageNumber(chat.allocate_number());
        let item = ChatItem {
            chat: chat.id,
            number,
            direction: MessageDirection::Notice,
            seq: 0,
            sent_at: now,
            at: now,
            status: MessageStatus::Delivered,
            content: ItemContent::Notice(notice),
            edited: false,
            deleted: false,
            reactions: Vec::new(),
            expires_at: None,
            sender,
            mentions_me: false,
        };
        self.add_item(&item, batch);
    }

    /// Writes a new item: [`crate::Event::ItemAdded`].
    pub(crate) fn add_item(&mut self, item: &ChatItem, batch: &mut StagedBatch) {
        self.write_item(item, batch);
        batch.notify(Pending::ItemAdded(item.chat, item.number));
    }

    /// Writes a changed item: [`crate::Event::ItemChanged`].
    pub(crate) fn put_item(&mut self, item: &ChatItem, batch: &mut StagedBatch) {
        self.write_item(item, batch);
        batch.notify(Pending::ItemChanged(item.chat, item.number));
    }

    fn write_item(&mut self, item: &ChatItem, batch: &mut StagedBatch) {
        item.put(batch);
        if let Some(at) = item.expires_at {
            self.note_expiry(at);
        }
    }

    /// Notes a new expiry time written by a batch.
    fn note_expiry(&mut self, at: UnixMillis) {
        self.next_expiry = Some(self.next_expiry.map_or(at, |e| e.min(at)));
    }

    pub(crate) fn expiry(chat: &ChatRecord, now: UnixMillis) -> Option<UnixMillis> {
        chat.timer_secs
            .map(|secs| now.after(std::time::Duration::from_secs(u64::from(secs))))
    }

    pub(crate) fn read_receipts_enabled(settings: &Settings, chat: &ChatRecord) -> bool {
        match chat.read_receipts {
            ReceiptSetting::Default => settings.read_receipts,
            ReceiptSetting::On => true,
            ReceiptSetting::Off => false,
        }
    }

    /// How the contact will name message `number` of our history.
    fn reference<S: Store>(
        cx: &Shared<'_, S>,
        contact: ChatId,
        number: MessageNumber,
    ) -> Result<MessageRef, CoreError> {
        let item = cx.item(contact, number)?;
        let author = match item.direction {
            MessageDirection::Outgoing => Author::Sender,
            MessageDirection::Incoming => Author::Recipient,
            MessageDirection::Notice => return Err(CoreError::UnknownMessage),
        };
        Ok(MessageRef {
            author,
            seq: item.seq,
        })
    }

    fn own_text<S: Store>(
        cx: &Shared<'_, S>,
        contact: ChatId,
        number: MessageNumber,
    ) -> Result<ChatItem, CoreError> {
        let item = cx.item(contact, number)?;
        if item.direction != MessageDirection::Outgoing || item.deleted {
            return Err(CoreError::UnknownMessage);
        }
        Ok(item)
    }
}

pub(crate) fn set_reaction(item: &mut ChatItem, mine: bool, emoji: &str) {
    item.reactions.retain(|reaction| reaction.mine != mine);
    if !emoji.is_empty() {
        item.reactions.push(Reaction {
            mine,
            emoji: emoji.to_owned(),
            member: None,
        });
    }
}

pub(crate) fn mark_deleted(item: &mut ChatItem) {
    item.deleted = true;
    item.reactions.clear();
    match &mut item.content {
        ItemContent::Text { text, .. } => text.clear(),
        // The description holds the file's key: it goes with the message.
        ItemContent::File { file, .. } => file.description = Zeroizing::new(Vec::new()),
        ItemContent::Notice(_) => {}
    }
}

/// An established connection opened for sending: its state and its open
/// session, written back together by the caller.
pub(crate) struct Link {
    pub(crate) id: ConnectionId,
    pub(crate) peer: PeerId,
    pub(crate) created_at: u64,
    pub(crate) state: Established,
    pub(crate) session: Session,
}
