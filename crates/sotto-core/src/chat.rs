//! Chats: sending every kind of chat message through the outbox, and applying
//! what a contact sends.

use rand_core::CryptoRngCore;
use sotto_crypto::{ENCRYPT_RANDOMNESS_LEN, MAX_PLAINTEXT_LEN, Session};
use zeroize::Zeroizing;

use crate::chat_item::{
    ChatItem, ChatNotice, ItemContent, MessageDirection, MessageStatus, Reaction,
};
use crate::chat_message::{
    Author, Content, Envelope, MAX_REACTION_LEN, MAX_RECEIPT_SEQS, MessageRef, ReceiptKind,
    check_text, check_timer, envelope_hash,
};
use crate::chat_record::{ChatRecord, ReceiptSetting};
use crate::connection::{Channel, ConnectionRecord, Established, Stage};
use crate::core::Core;
use crate::event::Pending;
use crate::ids::{ChatId, ConnectionId, MessageNumber, PeerId};
use crate::job::{JobCommand, JobPurpose};
use crate::profile::Profile;
use crate::time::UnixMillis;
use crate::{CoreError, Store, WriteBatch};

impl<S: Store> Core<S> {
    /// Sends a text, optionally replying to `reply_to`. Returns its number in
    /// the chat; its status starts at [`MessageStatus::Pending`].
    pub fn send_text(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        text: &str,
        reply_to: Option<MessageNumber>,
    ) -> Result<MessageNumber, CoreError> {
        check_text(text)?;
        self.with_session(now, rng, chat, |core, rng, chat, link, batch| {
            let reference = reply_to
                .map(|number| core.reference(chat.id, number))
                .transpose()?;
            let number = MessageNumber(chat.allocate_number());
            let content = Content::Text {
                reply_to: reference,
                text: text.to_owned(),
            };
            let seq = core.send(now, rng, chat.id, link, content, Some(number), batch)?;
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
                expires_at: core.expiry(chat, now),
            };
            core.add_item(&item, batch);
            chat.last_activity = now.0;
            Ok(number)
        })
    }

    /// Reacts to a message (an empty `emoji` removes this user's reaction).
    pub fn react(
        &mut self,
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
        self.with_session(now, rng, chat, |core, rng, chat, link, batch| {
            let target = core.reference(chat.id, message)?;
            let mut item = core.item(chat.id, message)?;
            let content = Content::Reaction {
                target,
                emoji: emoji.to_owned(),
            };
            core.send(now, rng, chat.id, link, content, None, batch)?;
            set_reaction(&mut item, true, emoji);
            core.put_item(&item, batch);
            Ok(())
        })
    }

    /// Edits one of this user's texts, for both sides.
    pub fn edit(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        message: MessageNumber,
        text: &str,
    ) -> Result<(), CoreError> {
        check_text(text)?;
        self.with_session(now, rng, chat, |core, rng, chat, link, batch| {
            let mut item = core.own_text(chat.id, message)?;
            let target = MessageRef {
                author: Author::Sender,
                seq: item.seq,
            };
            let content = Content::Edit {
                target,
                text: text.to_owned(),
            };
            core.send(now, rng, chat.id, link, content, None, batch)?;
            if let ItemContent::Text { text: old, .. } = &mut item.content {
                *old = text.to_owned();
            }
            item.edited = true;
            core.put_item(&item, batch);
            Ok(())
        })
    }

    /// Deletes one of this user's texts for everyone.
    pub fn delete_for_everyone(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        message: MessageNumber,
    ) -> Result<(), CoreError> {
        self.with_session(now, rng, chat, |core, rng, chat, link, batch| {
            let mut item = core.own_text(chat.id, message)?;
            let target = MessageRef {
                author: Author::Sender,
                seq: item.seq,
            };
            core.send(
                now,
                rng,
                chat.id,
                link,
                Content::Delete { target },
                None,
                batch,
            )?;
            mark_deleted(&mut item);
            core.put_item(&item, batch);
            Ok(())
        })
    }

    /// The user read the chat: incoming messages become read, and read
    /// receipts go out if the setting allows and the chat is connected.
    pub fn mark_read(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
    ) -> Result<(), CoreError> {
        let mut record = ChatRecord::load(&self.store, chat)?;
        let mut seqs = Vec::new();
        let mut before = None;
        let mut batch = WriteBatch::new();
        while record.unread > 0 {
            let page = self.items(chat, before, 64)?;
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
        self.commit(batch)?;
        self.notify(Pending::ChatChanged(chat));
        if seqs.is_empty() || !self.read_receipts_enabled(&record) {
            return Ok(());
        }
        seqs.sort_unstable();
        match self.with_session(now, rng, chat, |core, rng, chat, link, batch| {
            for chunk in seqs.chunks(MAX_RECEIPT_SEQS) {
                let content = Content::Receipt {
                    kind: ReceiptKind::Read,
                    seqs: chunk.to_vec(),
                };
                core.send(now, rng, chat.id, link, content, None, batch)?;
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
    pub fn set_typing(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        typing: bool,
    ) -> Result<(), CoreError> {
        if !self.account.settings.typing_indicators {
            return Ok(());
        }
        self.with_session(now, rng, chat, |core, rng, chat, link, batch| {
            core.send(
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
    pub fn set_timer(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        seconds: Option<u32>,
    ) -> Result<(), CoreError> {
        check_timer(seconds)?;
        self.with_session(now, rng, chat, |core, rng, chat, link, batch| {
            core.send(
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
            core.add_notice(now, chat, notice, batch);
            core.notify(Pending::ChatChanged(chat.id));
            Ok(())
        })
    }

    /// Changes this user's profile and sends it to every connected peer.
    pub fn update_profile(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        profile: Profile,
    ) -> Result<(), CoreError> {
        self.account.profile = profile.clone();
        self.commit(WriteBatch::new())?;
        for connection in ConnectionRecord::load_all(&self.store)? {
            if !matches!(connection.stage, Stage::Established(_)) {
                continue;
            }
            let content = Content::ProfileUpdate {
                profile: profile.clone(),
            };
            self.with_session(now, rng, connection.chat, |core, rng, chat, link, batch| {
                core.send(now, rng, chat.id, link, content, None, batch)?;
                Ok(())
            })?;
        }
        Ok(())
    }

    /// Loads a chat and its established connection with the open session,
    /// runs `change`, and commits the chat, the connection with its session
    /// and whatever `change` wrote, all at once.
    fn with_session<R: CryptoRngCore, T>(
        &mut self,
        now: UnixMillis,
        rng: &mut R,
        chat: ChatId,
        change: impl FnOnce(
            &mut Self,
            &mut R,
            &mut ChatRecord,
            &mut Link,
            &mut WriteBatch,
        ) -> Result<T, CoreError>,
    ) -> Result<T, CoreError> {
        let mut chat = ChatRecord::load(&self.store, chat)?;
        let connection = chat.connection().ok_or(CoreError::NotConnected)?;
        let record = ConnectionRecord::load(&self.store, connection)?;
        let Stage::Established(state) = record.stage else {
            return Err(CoreError::NotConnected);
        };
        let session = self.open_session(record.id, &state.channel)?;
        let mut link = Link {
            id: record.id,
            peer: record.peer,
            created_at: record.created_at,
            state,
            session,
        };
        let mut batch = WriteBatch::new();
        let value = change(self, rng, &mut chat, &mut link, &mut batch)?;
        link.state.channel.session = self.pickle_session(rng, &link.session);
        ConnectionRecord {
            id: link.id,
            peer: link.peer,
            chat: chat.id,
            created_at: link.created_at,
            stage: Stage::Established(link.state),
        }
        .put(&mut batch);
        chat.put(&mut batch);
        self.commit(batch)?;
        self.keep_session(link.id, link.session);
        self.tick(now)?;
        Ok(value)
    }

    /// Sends `content` over an established connection, signed.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn send(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        link: &mut Link,
        content: Content,
        item: Option<MessageNumber>,
        batch: &mut WriteBatch,
    ) -> Result<u64, CoreError> {
        let Link { state, session, .. } = link;
        self.send_envelope(
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
    pub(crate) fn send_envelope(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        channel: &mut Channel,
        session: &mut Session,
        content: Content,
        signed: bool,
        item: Option<MessageNumber>,
        batch: &mut WriteBatch,
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
        self.add_job(batch, now, relay, command, purpose);
        Ok(seq)
    }

    /// Adds a notice to the chat.
    pub(crate) fn add_notice(
        &mut self,
        now: UnixMillis,
        chat: &mut ChatRecord,
        notice: ChatNotice,
        batch: &mut WriteBatch,
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
        };
        self.add_item(&item, batch);
    }

    /// Writes a new item: [`crate::Event::ItemAdded`].
    pub(crate) fn add_item(&mut self, item: &ChatItem, batch: &mut WriteBatch) {
        self.write_item(item, batch);
        self.notify(Pending::ItemAdded(item.chat, item.number));
    }

    /// Writes a changed item: [`crate::Event::ItemChanged`].
    pub(crate) fn put_item(&mut self, item: &ChatItem, batch: &mut WriteBatch) {
        self.write_item(item, batch);
        self.notify(Pending::ItemChanged(item.chat, item.number));
    }

    fn write_item(&mut self, item: &ChatItem, batch: &mut WriteBatch) {
        item.put(batch);
        if let Some(at) = item.expires_at {
            self.note_expiry(at);
        }
    }

    pub(crate) fn expiry(&self, chat: &ChatRecord, now: UnixMillis) -> Option<UnixMillis> {
        chat.timer_secs
            .map(|secs| now.after(std::time::Duration::from_secs(u64::from(secs))))
    }

    pub(crate) fn read_receipts_enabled(&self, chat: &ChatRecord) -> bool {
        match chat.read_receipts {
            ReceiptSetting::Default => self.account.settings.read_receipts,
            ReceiptSetting::On => true,
            ReceiptSetting::Off => false,
        }
    }

    /// How the contact will name message `number` of our history.
    fn reference(&self, contact: ChatId, number: MessageNumber) -> Result<MessageRef, CoreError> {
        let item = self.item(contact, number)?;
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

    fn own_text(&self, contact: ChatId, number: MessageNumber) -> Result<ChatItem, CoreError> {
        let item = self.item(contact, number)?;
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
        });
    }
}

pub(crate) fn mark_deleted(item: &mut ChatItem) {
    item.deleted = true;
    item.reactions.clear();
    if let ItemContent::Text { text, .. } = &mut item.content {
        text.clear();
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
