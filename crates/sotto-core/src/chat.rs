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
use crate::contact::{ConnectionState, ContactRecord, ReceiptSetting};
use crate::core::Core;
use crate::event::Pending;
use crate::ids::{ChatId, MessageNumber};
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
        contact: ChatId,
        text: &str,
        reply_to: Option<MessageNumber>,
    ) -> Result<MessageNumber, CoreError> {
        check_text(text)?;
        self.with_session(now, rng, contact, |core, rng, contact, session, batch| {
            let reference = reply_to
                .map(|number| core.reference(contact.id, number))
                .transpose()?;
            let number = MessageNumber(contact.allocate_number());
            let content = Content::Text {
                reply_to: reference,
                text: text.to_owned(),
            };
            let seq = core.send_envelope(
                now,
                rng,
                contact,
                session,
                content,
                true,
                Some(number),
                batch,
            )?;
            let item = ChatItem {
                contact: contact.id,
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
                expires_at: core.expiry(contact, now),
            };
            core.add_item(&item, batch);
            contact.last_activity = now.0;
            Ok(number)
        })
    }

    /// Reacts to a message (an empty `emoji` removes this user's reaction).
    pub fn react(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        contact: ChatId,
        message: MessageNumber,
        emoji: &str,
    ) -> Result<(), CoreError> {
        if emoji.len() > MAX_REACTION_LEN {
            return Err(CoreError::TooLong {
                what: "reaction",
                max: MAX_REACTION_LEN,
            });
        }
        self.with_session(now, rng, contact, |core, rng, contact, session, batch| {
            let target = core.reference(contact.id, message)?;
            let mut item = core.item(contact.id, message)?;
            let content = Content::Reaction {
                target,
                emoji: emoji.to_owned(),
            };
            core.send_envelope(now, rng, contact, session, content, true, None, batch)?;
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
        contact: ChatId,
        message: MessageNumber,
        text: &str,
    ) -> Result<(), CoreError> {
        check_text(text)?;
        self.with_session(now, rng, contact, |core, rng, contact, session, batch| {
            let mut item = core.own_text(contact.id, message)?;
            let target = MessageRef {
                author: Author::Sender,
                seq: item.seq,
            };
            let content = Content::Edit {
                target,
                text: text.to_owned(),
            };
            core.send_envelope(now, rng, contact, session, content, true, None, batch)?;
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
        contact: ChatId,
        message: MessageNumber,
    ) -> Result<(), CoreError> {
        self.with_session(now, rng, contact, |core, rng, contact, session, batch| {
            let mut item = core.own_text(contact.id, message)?;
            let target = MessageRef {
                author: Author::Sender,
                seq: item.seq,
            };
            core.send_envelope(
                now,
                rng,
                contact,
                session,
                Content::Delete { target },
                true,
                None,
                batch,
            )?;
            mark_deleted(&mut item);
            core.put_item(&item, batch);
            Ok(())
        })
    }

    /// The user read the chat: incoming messages become read, and read
    /// receipts go out if the setting allows.
    pub fn mark_read(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        contact: ChatId,
    ) -> Result<(), CoreError> {
        let send_receipts = self.read_receipts_enabled(&ContactRecord::load(&self.store, contact)?);
        self.with_session(now, rng, contact, |core, rng, contact, session, batch| {
            let mut seqs = Vec::new();
            let mut before = None;
            while contact.unread > 0 {
                let page = core.items(contact.id, before, 64)?;
                let Some(first) = page.first() else { break };
                before = Some(first.number);
                for mut item in page.into_iter().rev() {
                    if item.direction == MessageDirection::Incoming
                        && item.status == MessageStatus::Delivered
                    {
                        item.status = MessageStatus::Read;
                        seqs.push(item.seq);
                        // One ChatChanged says it all; no event per item.
                        item.put(batch);
                        contact.unread = contact.unread.saturating_sub(1);
                    }
                }
            }
            contact.unread = 0;
            core.notify(Pending::ChatChanged(contact.id));
            if send_receipts {
                seqs.sort_unstable();
                for chunk in seqs.chunks(MAX_RECEIPT_SEQS) {
                    let content = Content::Receipt {
                        kind: ReceiptKind::Read,
                        seqs: chunk.to_vec(),
                    };
                    core.send_envelope(now, rng, contact, session, content, true, None, batch)?;
                }
            }
            Ok(())
        })
    }

    /// Tells the contact that this user is (or stopped) typing, if typing
    /// indicators are on in the settings.
    pub fn set_typing(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        contact: ChatId,
        typing: bool,
    ) -> Result<(), CoreError> {
        if !self.account.settings.typing_indicators {
            return Ok(());
        }
        self.with_session(now, rng, contact, |core, rng, contact, session, batch| {
            core.send_envelope(
                now,
                rng,
                contact,
                session,
                Content::Typing { typing },
                true,
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
        contact: ChatId,
        seconds: Option<u32>,
    ) -> Result<(), CoreError> {
        check_timer(seconds)?;
        self.with_session(now, rng, contact, |core, rng, contact, session, batch| {
            core.send_envelope(
                now,
                rng,
                contact,
                session,
                Content::Timer { seconds },
                true,
                None,
                batch,
            )?;
            contact.timer_secs = seconds;
            let notice = ChatNotice::TimerChanged {
                by_me: true,
                seconds,
            };
            core.add_notice(now, contact, notice, batch);
            core.notify(Pending::ChatChanged(contact.id));
            Ok(())
        })
    }

    /// Changes this user's profile and sends it to every connected contact.
    pub fn update_profile(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        profile: Profile,
    ) -> Result<(), CoreError> {
        self.account.profile = profile.clone();
        self.commit(WriteBatch::new())?;
        for contact in ContactRecord::load_all(&self.store)? {
            if contact.state != ConnectionState::Connected {
                continue;
            }
            let content = Content::ProfileUpdate {
                profile: profile.clone(),
            };
            self.with_session(
                now,
                rng,
                contact.id,
                |core, rng, contact, session, batch| {
                    core.send_envelope(now, rng, contact, session, content, true, None, batch)?;
                    Ok(())
                },
            )?;
        }
        Ok(())
    }

    /// Loads a connected contact and its session, runs `change`, and commits
    /// the contact, the session and whatever `change` wrote, all at once.
    fn with_session<R: CryptoRngCore, T>(
        &mut self,
        now: UnixMillis,
        rng: &mut R,
        contact: ChatId,
        change: impl FnOnce(
            &mut Self,
            &mut R,
            &mut ContactRecord,
            &mut Session,
            &mut WriteBatch,
        ) -> Result<T, CoreError>,
    ) -> Result<T, CoreError> {
        let mut contact = ContactRecord::load(&self.store, contact)?;
        if contact.state != ConnectionState::Connected {
            return Err(CoreError::NotConnected);
        }
        let mut session = self.load_session(&contact)?;
        let mut batch = WriteBatch::new();
        let value = change(self, rng, &mut contact, &mut session, &mut batch)?;
        contact.session = Some(self.pickle_session(rng, &session));
        contact.put(&mut batch);
        self.commit(batch)?;
        self.tick(now)?;
        Ok(value)
    }

    /// Encrypts `content` once and queues it for the contact's queue. Returns
    /// the envelope's sequence number.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn send_envelope(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        contact: &mut ContactRecord,
        session: &mut Session,
        content: Content,
        signed: bool,
        item: Option<MessageNumber>,
        batch: &mut WriteBatch,
    ) -> Result<u64, CoreError> {
        let seq = contact.outgoing.next_seq;
        let envelope = Envelope {
            seq,
            prev_hash: contact.outgoing.last_hash,
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
        contact.outgoing.next_seq += 1;
        contact.outgoing.last_hash = envelope_hash(&plaintext);
        let queue = contact
            .send_queue
            .as_ref()
            .ok_or(CoreError::CorruptRecord("contact send queue"))?;
        let command = JobCommand::Send {
            sender_id: queue.address.sender_id,
            auth_secret: signed.then(|| queue.signing_key.clone()),
            body: ciphertext,
        };
        let purpose = match item {
            Some(number) => JobPurpose::ChatMessage {
                contact: contact.id,
                number,
            },
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
        contact: &mut ContactRecord,
        notice: ChatNotice,
        batch: &mut WriteBatch,
    ) {
        let number = MessageNumber(contact.allocate_number());
        let item = ChatItem {
            contact: contact.id,
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
        self.notify(Pending::ItemAdded(item.contact, item.number));
    }

    /// Writes a changed item: [`crate::Event::ItemChanged`].
    pub(crate) fn put_item(&mut self, item: &ChatItem, batch: &mut WriteBatch) {
        self.write_item(item, batch);
        self.notify(Pending::ItemChanged(item.contact, item.number));
    }

    fn write_item(&mut self, item: &ChatItem, batch: &mut WriteBatch) {
        item.put(batch);
        if let Some(at) = item.expires_at {
            self.note_expiry(at);
        }
    }

    pub(crate) fn expiry(&self, contact: &ContactRecord, now: UnixMillis) -> Option<UnixMillis> {
        contact
            .timer_secs
            .map(|secs| now.after(std::time::Duration::from_secs(u64::from(secs))))
    }

    pub(crate) fn read_receipts_enabled(&self, contact: &ContactRecord) -> bool {
        match contact.read_receipts {
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
