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
use crate::contact::{ContactRecord, ContactState, ReceiptSetting};
use crate::core::Core;
use crate::event::Event;
use crate::ids::{ContactId, MessageNumber};
use crate::integrity::IntegrityNotice;
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
        contact: ContactId,
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
            core.put_item(&item, batch);
            contact.last_activity = now.0;
            Ok(number)
        })
    }

    /// Reacts to a message (an empty `emoji` removes this user's reaction).
    pub fn react(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        contact: ContactId,
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
        contact: ContactId,
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
        contact: ContactId,
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
        contact: ContactId,
    ) -> Result<(), CoreError> {
        let send_receipts = self.read_receipts_enabled(&ContactRecord::load(&self.store, contact)?);
        self.with_session(now, rng, contact, |core, rng, contact, session, batch| {
            let mut seqs = Vec::new();
            let mut before = None;
            while contact.unread > 0 {
                let page = core.history(contact.id, before, 64)?;
                let Some(first) = page.first() else { break };
                before = Some(first.number);
                for mut item in page.into_iter().rev() {
                    if item.direction == MessageDirection::Incoming
                        && item.status == MessageStatus::Delivered
                    {
                        item.status = MessageStatus::Read;
                        seqs.push(item.seq);
                        core.put_item(&item, batch);
                        contact.unread = contact.unread.saturating_sub(1);
                    }
                }
            }
            contact.unread = 0;
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
        contact: ContactId,
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
        contact: ContactId,
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
            if contact.state != ContactState::Connected {
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
        contact: ContactId,
        change: impl FnOnce(
            &mut Self,
            &mut R,
            &mut ContactRecord,
            &mut Session,
            &mut WriteBatch,
        ) -> Result<T, CoreError>,
    ) -> Result<T, CoreError> {
        let mut contact = ContactRecord::load(&self.store, contact)?;
        if contact.state != ContactState::Connected {
            return Err(CoreError::NotConnected);
        }
        let mut session = self.load_session(&contact)?;
        let mut batch = WriteBatch::new();
        let value = change(self, rng, &mut contact, &mut session, &mut batch)?;
        contact.session = Some(self.pickle_session(rng, &session));
        contact.put(&mut batch);
        self.commit(batch)?;
        self.handle_timeout(now)?;
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

    /// A message arrived on a contact's queue.
    pub(crate) fn receive_chat(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        contact: ContactId,
        body: &[u8],
        batch: &mut WriteBatch,
    ) -> Result<(), CoreError> {
        let mut contact = ContactRecord::load(&self.store, contact)?;
        let mut session = self
            .load_session(&contact)
            .map_err(|_| CoreError::UnexpectedMessage("message before the handshake"))?;
        let plaintext = match session.decrypt(body) {
            Ok(plaintext) => Zeroizing::new(plaintext),
            Err(sotto_crypto::Error::Duplicate) => {
                let notice = ChatNotice::Integrity(IntegrityNotice::Replayed);
                self.add_notice(now, &mut contact, notice, batch);
                contact.put(batch);
                return Ok(());
            }
            Err(error) => return Err(error.into()),
        };
        // The session moved on: store it whatever the message turns out to be.
        let envelope = match Envelope::decode(&plaintext) {
            Ok(envelope) => envelope,
            Err(error) => {
                contact.session = Some(self.pickle_session(rng, &session));
                contact.put(batch);
                self.events.push_back(Event::RelayFault {
                    relay: contact
                        .send_queue
                        .as_ref()
                        .map(|q| q.address.relay.clone())
                        .ok_or(CoreError::CorruptRecord("contact send queue"))?,
                    reason: error.to_string(),
                });
                return Ok(());
            }
        };
        let verdict =
            contact
                .incoming
                .receive(envelope.seq, &envelope.prev_hash, envelope_hash(&plaintext));
        for notice in verdict.notices {
            self.add_notice(now, &mut contact, ChatNotice::Integrity(notice), batch);
        }
        if verdict.accept {
            self.apply(now, rng, &mut contact, &mut session, envelope, batch)?;
        }
        contact.session = Some(self.pickle_session(rng, &session));
        contact.put(batch);
        Ok(())
    }

    fn apply(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        contact: &mut ContactRecord,
        session: &mut Session,
        envelope: Envelope,
        batch: &mut WriteBatch,
    ) -> Result<(), CoreError> {
        let id = contact.id;
        match envelope.content {
            Content::Hello { .. } => {}
            Content::Confirm {
                sender_key,
                profile,
                reply_queue,
            } => self.receive_confirm(now, contact, sender_key, profile, reply_queue, batch)?,
            Content::Text { reply_to, text } => {
                let reply_to = match reply_to {
                    Some(reference) => self.resolve(id, reference)?,
                    None => None,
                };
                let number = MessageNumber(contact.allocate_number());
                let item = ChatItem {
                    contact: id,
                    number,
                    direction: MessageDirection::Incoming,
                    seq: envelope.seq,
                    sent_at: UnixMillis(envelope.sent_at),
                    at: now,
                    status: MessageStatus::Delivered,
                    content: ItemContent::Text { text, reply_to },
                    edited: false,
                    deleted: false,
                    reactions: Vec::new(),
                    expires_at: self.expiry(contact, now),
                };
                self.put_item(&item, batch);
                contact.unread = contact.unread.saturating_add(1);
                contact.last_activity = now.0;
                self.events.push_back(Event::MessageReceived {
                    contact: id,
                    message: number,
                });
                if contact.state == ContactState::Connected {
                    let receipt = Content::Receipt {
                        kind: ReceiptKind::Delivered,
                        seqs: vec![envelope.seq],
                    };
                    self.send_envelope(now, rng, contact, session, receipt, true, None, batch)?;
                }
            }
            Content::Reaction { target, emoji } => {
                if let Some(mut item) = self.target(id, target)? {
                    set_reaction(&mut item, false, &emoji);
                    self.put_item(&item, batch);
                    self.changed(id, item.number);
                }
            }
            Content::Edit { target, text } => {
                if let Some(mut item) = self.peer_text(id, target)?
                    && !item.deleted
                {
                    if let ItemContent::Text { text: old, .. } = &mut item.content {
                        *old = text;
                    }
                    item.edited = true;
                    self.put_item(&item, batch);
                    self.changed(id, item.number);
                }
            }
            Content::Delete { target } => {
                if let Some(mut item) = self.peer_text(id, target)? {
                    mark_deleted(&mut item);
                    self.put_item(&item, batch);
                    self.changed(id, item.number);
                }
            }
            Content::Receipt { kind, seqs } => {
                let status = match kind {
                    ReceiptKind::Delivered => MessageStatus::Delivered,
                    ReceiptKind::Read => MessageStatus::Read,
                };
                for seq in seqs {
                    let Some(number) = ChatItem::find_by_seq(&self.store, id, true, seq)? else {
                        continue;
                    };
                    let Some(mut item) = crate::ChatItem::load(&self.store, id, number)? else {
                        continue;
                    };
                    if status_rank(status) > status_rank(item.status) {
                        item.status = status;
                        self.put_item(&item, batch);
                        self.events.push_back(Event::MessageStatus {
                            contact: id,
                            message: number,
                            status,
                        });
                    }
                }
            }
            Content::Typing { typing } => {
                self.events.push_back(Event::Typing {
                    contact: id,
                    typing,
                });
            }
            Content::Timer { seconds } => {
                contact.timer_secs = seconds;
                let notice = ChatNotice::TimerChanged {
                    by_me: false,
                    seconds,
                };
                self.add_notice(now, contact, notice, batch);
            }
            Content::ProfileUpdate { profile } => {
                contact.profile = Some(profile);
                self.events.push_back(Event::ProfileUpdated { contact: id });
            }
        }
        Ok(())
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
        self.put_item(&item, batch);
        self.events.push_back(Event::Notice {
            contact: contact.id,
            message: number,
            notice,
        });
    }

    fn put_item(&mut self, item: &ChatItem, batch: &mut WriteBatch) {
        item.put(batch);
        if let Some(at) = item.expires_at {
            self.note_expiry(at);
        }
    }

    fn changed(&mut self, contact: ContactId, message: MessageNumber) {
        self.events
            .push_back(Event::MessageChanged { contact, message });
    }

    fn expiry(&self, contact: &ContactRecord, now: UnixMillis) -> Option<UnixMillis> {
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
    fn reference(
        &self,
        contact: ContactId,
        number: MessageNumber,
    ) -> Result<MessageRef, CoreError> {
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

    /// Our number for a message the contact referenced.
    fn resolve(
        &self,
        contact: ContactId,
        reference: MessageRef,
    ) -> Result<Option<MessageNumber>, CoreError> {
        let mine = reference.author == Author::Recipient;
        ChatItem::find_by_seq(&self.store, contact, mine, reference.seq)
    }

    fn target(
        &self,
        contact: ContactId,
        reference: MessageRef,
    ) -> Result<Option<ChatItem>, CoreError> {
        match self.resolve(contact, reference)? {
            Some(number) => ChatItem::load(&self.store, contact, number),
            None => Ok(None),
        }
    }

    /// A text the contact wrote (only its author may edit or delete it).
    fn peer_text(
        &self,
        contact: ContactId,
        reference: MessageRef,
    ) -> Result<Option<ChatItem>, CoreError> {
        if reference.author != Author::Sender {
            return Ok(None);
        }
        self.target(contact, reference)
    }

    fn own_text(&self, contact: ContactId, number: MessageNumber) -> Result<ChatItem, CoreError> {
        let item = self.item(contact, number)?;
        if item.direction != MessageDirection::Outgoing || item.deleted {
            return Err(CoreError::UnknownMessage);
        }
        Ok(item)
    }
}

fn set_reaction(item: &mut ChatItem, mine: bool, emoji: &str) {
    item.reactions.retain(|reaction| reaction.mine != mine);
    if !emoji.is_empty() {
        item.reactions.push(Reaction {
            mine,
            emoji: emoji.to_owned(),
        });
    }
}

fn mark_deleted(item: &mut ChatItem) {
    item.deleted = true;
    item.reactions.clear();
    if let ItemContent::Text { text, .. } = &mut item.content {
        text.clear();
    }
}

/// Receipts only move a message forward; a failed message stays failed.
fn status_rank(status: MessageStatus) -> u8 {
    match status {
        MessageStatus::Pending => 0,
        MessageStatus::Sent => 1,
        MessageStatus::Delivered => 2,
        MessageStatus::Read => 3,
        MessageStatus::Failed => 4,
    }
}
