//! Receiving chat messages: decrypting, checking integrity, and applying each
//! kind of content to the chat (or, for the inviter's Confirm, to the
//! connection's handshake).

use rand_core::CryptoRngCore;
use sotto_crypto::Session;
use zeroize::Zeroizing;

use crate::chat::{mark_deleted, set_reaction};
use crate::chat_item::{ChatItem, ChatNotice, ItemContent, MessageDirection, MessageStatus};
use crate::chat_message::{
    Author, Content, Envelope, MAX_RECEIPT_SEQS, MessageRef, ReceiptKind, envelope_hash,
};
use crate::chat_record::ChatRecord;
use crate::connection::{ConnectionMeta, ConnectionRecord, Established, Stage};
use crate::core::Core;
use crate::event::{Event, Pending};
use crate::ids::{ChatId, ConnectionId, MessageNumber};
use crate::integrity::IntegrityNotice;
use crate::job::{JobCommand, JobPurpose};
use crate::peer::PeerRecord;
use crate::queue_record::QueueRecord;
use crate::time::UnixMillis;
use crate::{CoreError, Store, WriteBatch};

/// How old a typing indicator may be (by the sender's clock) to be shown.
const TYPING_FRESHNESS: std::time::Duration = std::time::Duration::from_secs(30);

/// How long a delivery receipt waits for others to go out with.
pub(crate) const RECEIPT_DELAY: std::time::Duration = std::time::Duration::from_millis(500);

impl<S: Store> Core<S> {
    /// Sends the connection's pending delivery receipts in one envelope.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn send_receipts(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        connection: ConnectionId,
        chat: ChatId,
        state: &mut Established,
        session: &mut Session,
        batch: &mut WriteBatch,
    ) -> Result<(), CoreError> {
        self.receipts_due.remove(&connection);
        if state.pending_receipts.is_empty() {
            return Ok(());
        }
        let receipt = Content::Receipt {
            kind: ReceiptKind::Delivered,
            seqs: std::mem::take(&mut state.pending_receipts),
        };
        self.send_envelope(
            now,
            rng,
            chat,
            &mut state.channel,
            session,
            receipt,
            true,
            None,
            batch,
        )?;
        Ok(())
    }

    /// Sends every delivery receipt whose wait is over.
    pub(crate) fn flush_receipts(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(), CoreError> {
        let due: Vec<ConnectionId> = self
            .receipts_due
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            self.receipts_due.remove(&id);
            let Ok(record) = ConnectionRecord::load(&self.store, id) else {
                continue;
            };
            let Stage::Established(mut state) = record.stage else {
                continue;
            };
            let mut session = self.open_session(id, &state.channel)?;
            let mut batch = WriteBatch::new();
            self.send_receipts(
                now,
                rng,
                id,
                record.chat,
                &mut state,
                &mut session,
                &mut batch,
            )?;
            state.channel.session = self.pickle_session(rng, &session);
            ConnectionRecord {
                stage: Stage::Established(state),
                ..record
            }
            .put(&mut batch);
            self.commit(batch)?;
            self.keep_session(id, session);
        }
        Ok(())
    }

    /// A message arrived on a connection's queue. Returns the connection's
    /// session, to keep open once the batch is committed.
    pub(crate) fn receive_chat(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        connection: ConnectionId,
        body: &[u8],
        batch: &mut WriteBatch,
    ) -> Result<Option<(ConnectionId, Session)>, CoreError> {
        const EARLY: CoreError = CoreError::UnexpectedMessage("message before the handshake");
        let record = match ConnectionRecord::load(&self.store, connection) {
            Ok(record) => record,
            Err(CoreError::NotConnected) => return Err(EARLY),
            Err(error) => return Err(error),
        };
        let (receiving, mut stage) = record.split();
        let id = receiving.id;
        let mut chat = ChatRecord::load(&self.store, receiving.chat)?;
        let channel = match &stage {
            Stage::AwaitingConfirmation(s) => &s.channel,
            Stage::Established(s) => &s.channel,
            Stage::Joining(_) | Stage::Accepting(_) => return Err(EARLY),
        };
        let mut session = self.open_session(id, channel)?;
        let plaintext = match session.decrypt(body) {
            Ok(plaintext) => Zeroizing::new(plaintext),
            Err(sotto_crypto::Error::Duplicate) => {
                let notice = ChatNotice::Integrity(IntegrityNotice::Replayed);
                self.add_notice(now, &mut chat, notice, batch);
                chat.put(batch);
                return Ok(Some((id, session)));
            }
            Err(error) => return Err(error.into()),
        };
        // The session moved on: store it whatever the message turns out to be.
        let envelope = match Envelope::decode(&plaintext) {
            Ok(envelope) => envelope,
            Err(error) => {
                let relay = self.store_session(rng, &mut stage, &session);
                receiving.at(stage).put(batch);
                if let Some(relay) = relay {
                    self.notify(Pending::Ready(Event::RelayFault {
                        relay,
                        reason: error.to_string(),
                    }));
                }
                return Ok(Some((id, session)));
            }
        };
        let verdict = stage.channel_mut().ok_or(EARLY)?.incoming.receive(
            envelope.seq,
            &envelope.prev_hash,
            envelope_hash(&plaintext),
        );
        for notice in verdict.notices {
            self.add_notice(now, &mut chat, ChatNotice::Integrity(notice), batch);
        }
        if verdict.accept {
            stage = self.apply(
                now,
                rng,
                &receiving,
                &mut chat,
                stage,
                &mut session,
                envelope,
                batch,
            )?;
        }
        self.store_session(rng, &mut stage, &session);
        receiving.at(stage).put(batch);
        chat.put(batch);
        Ok(Some((id, session)))
    }

    /// Writes the session's pickle into the stage's channel; returns the
    /// relay of the queue we send to (for a fault report).
    fn store_session(
        &self,
        rng: &mut impl CryptoRngCore,
        stage: &mut Stage,
        session: &Session,
    ) -> Option<sotto_wire::RelayAddress> {
        let channel = stage.channel_mut()?;
        channel.session = self.pickle_session(rng, session);
        Some(channel.send_queue.address.relay.clone())
    }

    /// Applies one accepted message; returns the connection's stage after it
    /// (a Confirm completes the joiner's handshake).
    #[allow(clippy::too_many_arguments)]
    fn apply(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        receiving: &ConnectionMeta,
        chat: &mut ChatRecord,
        stage: Stage,
        session: &mut Session,
        envelope: Envelope,
        batch: &mut WriteBatch,
    ) -> Result<Stage, CoreError> {
        let id = chat.id;
        let (mut state, content) = match (stage, envelope.content) {
            (stage, Content::Hello { .. }) => return Ok(stage),
            (
                Stage::AwaitingConfirmation(awaiting),
                Content::Confirm {
                    sender_key,
                    profile,
                    reply_queue,
                },
            ) => {
                let established = awaiting.confirmed(reply_queue)?;
                let queue = QueueRecord::load(&self.store, &established.receive_queue)?
                    .ok_or(CoreError::CorruptRecord("connection queue"))?;
                let command = JobCommand::Key {
                    recipient_id: established.receive_queue,
                    auth_secret: queue.auth_secret.clone(),
                    sender_key,
                };
                self.add_job(batch, now, queue.relay.clone(), command, JobPurpose::None);
                let mut peer = PeerRecord::load(&self.store, receiving.peer)?;
                peer.profile = Some(profile);
                peer.put(batch);
                self.add_notice(now, chat, ChatNotice::Connected, batch);
                self.notify(Pending::Connected(id));
                return Ok(Stage::Established(established));
            }
            (_, Content::Confirm { .. }) => {
                return Err(CoreError::UnexpectedMessage("confirmation"));
            }
            (Stage::Established(state), content) => (state, content),
            (_, _) => {
                return Err(CoreError::UnexpectedMessage(
                    "message before the confirmation",
                ));
            }
        };
        match content {
            Content::Hello { .. } | Content::Confirm { .. } => {}
            Content::Text { reply_to, text } => {
                let reply_to = match reply_to {
                    Some(reference) => self.resolve(id, reference)?,
                    None => None,
                };
                let number = MessageNumber(chat.allocate_number());
                let item = ChatItem {
                    chat: id,
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
                    expires_at: self.expiry(chat, now),
                };
                self.add_item(&item, batch);
                chat.unread = chat.unread.saturating_add(1);
                chat.last_activity = now.0;
                // Delivery receipts wait a moment to go out together.
                state.pending_receipts.push(envelope.seq);
                if state.pending_receipts.len() >= MAX_RECEIPT_SEQS {
                    self.send_receipts(now, rng, receiving.id, id, &mut state, session, batch)?;
                } else {
                    self.receipts_due
                        .entry(receiving.id)
                        .or_insert(now.after(RECEIPT_DELAY));
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
                    let Some(mut item) = ChatItem::load(&self.store, id, number)? else {
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
                chat.timer_secs = seconds;
                let notice = ChatNotice::TimerChanged {
                    by_me: false,
                    seconds,
                };
                self.add_notice(now, chat, notice, batch);
                self.notify(Pending::ChatChanged(id));
            }
            Content::ProfileUpdate { profile } => {
                let mut peer = PeerRecord::load(&self.store, receiving.peer)?;
                peer.profile = Some(profile);
                peer.put(batch);
                self.notify(Pending::ChatChanged(id));
            }
        }
        Ok(Stage::Established(state))
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
