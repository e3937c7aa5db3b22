//! Receiving chat messages: decrypting, checking integrity, and applying each
//! kind of content to the chat.

use rand_core::CryptoRngCore;
use sotto_crypto::Session;
use zeroize::Zeroizing;

use crate::chat::{mark_deleted, set_reaction};
use crate::chat_item::{ChatItem, ChatNotice, ItemContent, MessageDirection, MessageStatus};
use crate::chat_message::{
    Author, Content, Envelope, MAX_RECEIPT_SEQS, MessageRef, ReceiptKind, envelope_hash,
};
use crate::contact::{ConnectionState, ContactRecord};
use crate::core::Core;
use crate::event::{Event, Pending};
use crate::ids::{ChatId, MessageNumber};
use crate::integrity::IntegrityNotice;
use crate::time::UnixMillis;
use crate::{CoreError, Store, WriteBatch};

/// How old a typing indicator may be (by the sender's clock) to be shown.
const TYPING_FRESHNESS: std::time::Duration = std::time::Duration::from_secs(30);

/// How long a delivery receipt waits for others to go out with.
pub(crate) const RECEIPT_DELAY: std::time::Duration = std::time::Duration::from_millis(500);

impl<S: Store> Core<S> {
    /// Sends the contact's pending delivery receipts in one envelope.
    pub(crate) fn send_receipts(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        contact: &mut ContactRecord,
        session: &mut Session,
        batch: &mut WriteBatch,
    ) -> Result<(), CoreError> {
        self.receipts_due.remove(&contact.id);
        if contact.pending_receipts.is_empty() || contact.state != ConnectionState::Connected {
            contact.pending_receipts.clear();
            return Ok(());
        }
        let receipt = Content::Receipt {
            kind: ReceiptKind::Delivered,
            seqs: std::mem::take(&mut contact.pending_receipts),
        };
        self.send_envelope(now, rng, contact, session, receipt, true, None, batch)?;
        Ok(())
    }

    /// Sends every delivery receipt whose wait is over.
    pub(crate) fn flush_receipts(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(), CoreError> {
        let due: Vec<ChatId> = self
            .receipts_due
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            self.receipts_due.remove(&id);
            let Ok(mut contact) = ContactRecord::load(&self.store, id) else {
                continue;
            };
            if contact.state != ConnectionState::Connected {
                continue;
            }
            let mut session = self.load_session(&contact)?;
            let mut batch = WriteBatch::new();
            self.send_receipts(now, rng, &mut contact, &mut session, &mut batch)?;
            contact.session = Some(self.pickle_session(rng, &session));
            contact.put(&mut batch);
            self.commit(batch)?;
        }
        Ok(())
    }

    /// A message arrived on a contact's queue.
    pub(crate) fn receive_chat(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        contact: ChatId,
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
                self.notify(Pending::Ready(Event::RelayFault {
                    relay: contact
                        .send_queue
                        .as_ref()
                        .map(|q| q.address.relay.clone())
                        .ok_or(CoreError::CorruptRecord("contact send queue"))?,
                    reason: error.to_string(),
                }));
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
                self.add_item(&item, batch);
                contact.unread = contact.unread.saturating_add(1);
                contact.last_activity = now.0;
                if contact.state == ConnectionState::Connected {
                    // Delivery receipts wait a moment to go out together.
                    contact.pending_receipts.push(envelope.seq);
                    if contact.pending_receipts.len() >= MAX_RECEIPT_SEQS {
                        self.send_receipts(now, rng, contact, session, batch)?;
                    } else {
                        self.receipts_due
                            .entry(id)
                            .or_insert(now.after(RECEIPT_DELAY));
                    }
                }
            }
            Content::Reaction { target, emoji } => {
                if let Some(mut item) = self.target(id, target)? {
                    set_reaction(&mut item, false, &emoji);
                    self.put_item(&item, batch);
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
                }
            }
            Content::Delete { target } => {
                if let Some(mut item) = self.peer_text(id, target)? {
                    mark_deleted(&mut item);
                    self.put_item(&item, batch);
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
                    }
                }
            }
            Content::Typing { typing } => {
                // A typing indicator that waited in a queue is old news.
                let age = now.since(UnixMillis(envelope.sent_at));
                if age <= TYPING_FRESHNESS {
                    self.notify(Pending::Ready(Event::Typing { chat: id, typing }));
                }
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
                self.notify(Pending::ChatChanged(id));
            }
        }
        Ok(())
    }

    /// Our number for a message the contact referenced.
    fn resolve(
        &self,
        contact: ChatId,
        reference: MessageRef,
    ) -> Result<Option<MessageNumber>, CoreError> {
        let mine = reference.author == Author::Recipient;
        ChatItem::find_by_seq(&self.store, contact, mine, reference.seq)
    }

    fn target(
        &self,
        contact: ChatId,
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
        contact: ChatId,
        reference: MessageRef,
    ) -> Result<Option<ChatItem>, CoreError> {
        if reference.author != Author::Sender {
            return Ok(None);
        }
        self.target(contact, reference)
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
