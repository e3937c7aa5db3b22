//! The inbox: the sub-machine that receives. A message a relay delivers is
//! opened with its queue's key, told apart from a redelivery (a queue's last
//! message id), routed by the queue's owner (a connection's messages here, an
//! invitation's answer or a contact request to the connector, a request
//! through a group link or its answer to `groups::links`), decrypted,
//! checked against the hash chain (drops, replays and reorders become
//! notices), and applied to its chat; then its effects are committed in one
//! batch and only then its ACK is made.
//!
//! The inbox keeps no state of its own in memory: what it must remember
//! (each queue's last message, each connection's ratchet session and
//! incoming chain) lives in the store, written in the same batch as the
//! message's effects, so a redelivery after a crash is recognised.

use rand_core::CryptoRngCore;
use sotto_crypto::Session;
use sotto_wire::{
    CipherSuite, Command, MessageContent, MessageId, RecipientId, RelayAddress, SealedMessage,
};
use zeroize::Zeroizing;

use crate::chat_item::{ChatItem, ChatNotice, ItemContent, MessageDirection, MessageStatus};
use crate::chat_message::{Author, Content, Envelope, MessageRef, ReceiptKind, envelope_hash};
use crate::chat_record::ChatRecord;
use crate::chats::{Chats, mark_deleted, set_reaction};
use crate::connection::{ConnectionMeta, ConnectionRecord, Stage};
use crate::connector::{Confirm, Connector};
use crate::event::{Event, Pending};
use crate::file_message::FileState;
use crate::file_transfer::auto_download;
use crate::groups::{invitations, link_joins, links};
use crate::ids::{ChatId, ConnectionId, MessageNumber};
use crate::integrity::IntegrityNotice;
use crate::outbox::InFlight;
use crate::peer::PeerRecord;
use crate::queue_record::{QueueOwner, QueueRecord};
use crate::shared::Shared;
use crate::staged_batch::StagedBatch;
use crate::time::UnixMillis;
use crate::{CoreError, Store};

/// How old a typing indicator may be (by the sender's clock) to be shown.
const TYPING_FRESHNESS: std::time::Duration = std::time::Duration::from_secs(30);

/// The inbox sub-machine. See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct Inbox;

impl Inbox {
    /// A relay delivered a message on one of our queues, pushed (MSG, from
    /// `relay`) or fetched (GET, `fetched`: the next one is fetched once it
    /// is acknowledged). See [`crate::Core::handle_delivery`] for what is an
    /// error and what is reported.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn handle_delivery<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        chats: &mut Chats,
        connector: &mut Connector,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        relay: Option<&RelayAddress>,
        recipient_id: RecipientId,
        message_id: MessageId,
        sealed: &SealedMessage,
        suite: CipherSuite,
        fetched: bool,
    ) -> Result<(), CoreError> {
        let Some(mut queue) = QueueRecord::load(cx.store(), &recipient_id)? else {
            return Ok(());
        };
        if relay.is_some_and(|relay| relay != &queue.relay) {
            return Ok(());
        }
        if queue.last_message == Some(message_id) {
            // Redelivered after a lost ACK: its effects are stored already.
            Inbox::request_ack(cx, &queue, message_id, fetched);
            return Ok(());
        }
        let message = match queue.queue_key.open(suite, &message_id, sealed) {
            Ok(message) => message,
            Err(error) => {
                // Not sealed for us: a relay fault. Not acknowledged.
                cx.notify(Pending::ready(Event::RelayFault {
                    relay: queue.relay.clone(),
                    reason: error.to_string(),
                }));
                return Err(error.into());
            }
        };
        let mut batch = StagedBatch::new();
        queue.last_message = Some(message_id);
        let mut opened = None;
        // A join through a group link deletes its reply queue once answered.
        let mut queue_ended = false;
        if let MessageContent::Body(body) = message.content {
            let outcome = match queue.owner {
                QueueOwner::Connection(connection) => self
                    .receive_chat(
                        cx,
                        chats,
                        connector,
                        now,
                        rng,
                        connection,
                        body.as_bytes(),
                        &mut batch,
                    )
                    .map(|session| opened = session),
                QueueOwner::Invitation(invitation) => connector.handle_answer(
                    cx,
                    chats,
                    now,
                    rng,
                    invitation,
                    &mut queue,
                    body.as_bytes(),
                    &mut batch,
                ),
                QueueOwner::Address => {
                    connector.handle_request(cx, now, rng, body.as_bytes(), &mut batch)
                }
                QueueOwner::GroupLink(group) => {
                    links::handle_request(cx, now, rng, group, body.as_bytes(), &mut batch)
                }
                QueueOwner::GroupJoin(join) => {
                    link_joins::handle_reply(cx, now, join, body.as_bytes(), &mut batch)
                        .map(|ended| queue_ended = ended)
                }
            };
            if let Err(error) = outcome {
                // Whatever a sender put in the queue, it must not block it:
                // the message is dropped (and acknowledged), the reason shown.
                if !error.is_remote_fault() {
                    return Err(error);
                }
                batch = StagedBatch::new();
                opened = None;
                queue_ended = false;
                batch.notify(Pending::ready(Event::RelayFault {
                    relay: queue.relay.clone(),
                    reason: error.to_string(),
                }));
            }
        }
        if !queue_ended {
            queue.put(&mut batch);
        }
        cx.commit(batch)?;
        if let Some((connection, session)) = opened {
            cx.keep_session(connection, session);
        }
        Inbox::request_ack(cx, &queue, message_id, fetched);
        Ok(())
    }

    /// Fetches the next message of `queue` (GET).
    pub(crate) fn request_get<S: Store>(cx: &mut Shared<'_, S>, queue: &QueueRecord) {
        let command = Command::Get {
            recipient_id: queue.recipient_id,
        };
        cx.request(
            queue.relay.clone(),
            command,
            Some(queue),
            InFlight::Get(queue.recipient_id),
        );
    }

    /// Acknowledges a message whose effects are stored; `then_get`: fetch the
    /// next one once the relay has taken it.
    fn request_ack<S: Store>(
        cx: &mut Shared<'_, S>,
        queue: &QueueRecord,
        message_id: MessageId,
        then_get: bool,
    ) {
        let command = Command::Ack {
            recipient_id: queue.recipient_id,
            message_id,
        };
        cx.request(
            queue.relay.clone(),
            command,
            Some(queue),
            InFlight::Ack {
                recipient_id: queue.recipient_id,
                then_get,
            },
        );
    }

    /// A message arrived on a connection's queue. Returns the connection's
    /// session, to keep open once the batch is committed.
    #[allow(clippy::too_many_arguments)]
    fn receive_chat<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        chats: &mut Chats,
        connector: &mut Connector,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        connection: ConnectionId,
        body: &[u8],
        batch: &mut StagedBatch,
    ) -> Result<Option<(ConnectionId, Session)>, CoreError> {
        const EARLY: CoreError = CoreError::UnexpectedMessage("message before the handshake");
        let record = match ConnectionRecord::load(cx.store(), connection) {
            Ok(record) => record,
            Err(CoreError::NotConnected) => return Err(EARLY),
            Err(error) => return Err(error),
        };
        let (receiving, mut stage) = record.split();
        let id = receiving.id;
        let mut chat = ChatRecord::load(cx.store(), receiving.chat)?;
        let channel = match &stage {
            Stage::AwaitingConfirmation(s) => &s.channel,
            Stage::Established(s) => &s.channel,
            Stage::Joining(_) | Stage::Accepting(_) => return Err(EARLY),
        };
        let mut session = cx.open_session(id, channel)?;
        let plaintext = match session.decrypt(body) {
            Ok(plaintext) => Zeroizing::new(plaintext),
            Err(sotto_crypto::Error::Duplicate) => {
                let notice = ChatNotice::Integrity(IntegrityNotice::Replayed);
                chats.add_notice(now, &mut chat, notice, batch);
                chat.put(batch);
                return Ok(Some((id, session)));
            }
            Err(error) => return Err(error.into()),
        };
        // The session moved on: store it whatever the message turns out to be.
        let envelope = match Envelope::decode(&plaintext) {
            Ok(envelope) => envelope,
            Err(error) => {
                let relay = Inbox::store_session(cx, rng, &mut stage, &session);
                receiving.at(stage).put(batch);
                if let Some(relay) = relay {
                    batch.notify(Pending::ready(Event::RelayFault {
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
            chats.add_notice(now, &mut chat, ChatNotice::Integrity(notice), batch);
        }
        if verdict.accept {
            stage = self.apply(
                cx,
                chats,
                connector,
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
        Inbox::store_session(cx, rng, &mut stage, &session);
        receiving.at(stage).put(batch);
        chat.put(batch);
        Ok(Some((id, session)))
    }

    /// Writes the session's pickle into the stage's channel; returns the
    /// relay of the queue we send to (for a fault report).
    fn store_session<S: Store>(
        cx: &Shared<'_, S>,
        rng: &mut impl CryptoRngCore,
        stage: &mut Stage,
        session: &Session,
    ) -> Option<sotto_wire::RelayAddress> {
        let channel = stage.channel_mut()?;
        channel.session = cx.pickle_session(rng, session);
        Some(channel.send_queue.address.relay.clone())
    }

    /// Applies one accepted message; returns the connection's stage after it
    /// (a Confirm goes to the connector, which completes the joiner's
    /// handshake). Chat content needs an established connection.
    #[allow(clippy::too_many_arguments)]
    fn apply<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        chats: &mut Chats,
        connector: &mut Connector,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        receiving: &ConnectionMeta,
        chat: &mut ChatRecord,
        stage: Stage,
        session: &mut Session,
        envelope: Envelope,
        batch: &mut StagedBatch,
    ) -> Result<Stage, CoreError> {
        let id = chat.id;
        let (mut state, content) = match (stage, envelope.content) {
            (stage, Content::Hello { .. }) => return Ok(stage),
            (
                stage,
                Content::Confirm {
                    sender_key,
                    profile,
                    reply_queue,
                },
            ) => {
                let confirm = Confirm {
                    sender_key,
                    profile,
                    reply_queue,
                };
                return connector
                    .handle_confirm(cx, chats, now, receiving, chat, stage, confirm, batch)
                    .map(Stage::Established);
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
            content @ (Content::Text { .. } | Content::File { .. }) => {
                let content = match content {
                    Content::Text { reply_to, text } => {
                        let reply_to = match reply_to {
                            Some(reference) => Inbox::resolve(cx, id, reference)?,
                            None => None,
                        };
                        ItemContent::Text { text, reply_to }
                    }
                    Content::File { file } => ItemContent::File {
                        file,
                        state: FileState::Available,
                    },
                    _ => return Err(CoreError::UnexpectedMessage("chat message")),
                };
                let number = MessageNumber(chat.allocate_number());
                let content = match content {
                    ItemContent::File { file, .. } => {
                        let state = auto_download(
                            cx.store(),
                            chat.auto_download,
                            id,
                            number,
                            &file,
                            false,
                            batch,
                        )?;
                        ItemContent::File { file, state }
                    }
                    content => content,
                };
                let item = ChatItem {
                    chat: id,
                    number,
                    direction: MessageDirection::Incoming,
                    seq: envelope.seq,
                    sent_at: UnixMillis(envelope.sent_at),
                    at: now,
                    status: MessageStatus::Delivered,
                    content,
                    edited: false,
                    deleted: false,
                    reactions: Vec::new(),
                    expires_at: Chats::expiry(chat, now),
                    sender: None,
                    mentions_me: false,
                };
                chats.add_item(&item, batch);
                chat.unread = chat.unread.saturating_add(1);
                chat.last_activity = now.0;
                chats.owe_receipt(
                    cx,
                    now,
                    rng,
                    receiving.id,
                    id,
                    envelope.seq,
                    &mut state,
                    session,
                    batch,
                )?;
            }
            Content::Reaction { target, emoji } => {
                if let Some(mut item) = Inbox::target(cx, id, target)? {
                    set_reaction(&mut item, false, &emoji);
                    chats.put_item(&item, batch);
                }
            }
            Content::Edit { target, text } => {
                if let Some(mut item) = Inbox::peer_text(cx, id, target)?
                    && !item.deleted
                    && matches!(item.content, ItemContent::Text { .. })
                {
                    if let ItemContent::Text { text: old, .. } = &mut item.content {
                        *old = text;
                    }
                    item.edited = true;
                    chats.put_item(&item, batch);
                }
            }
            Content::Delete { target } => {
                if let Some(mut item) = Inbox::peer_text(cx, id, target)? {
                    mark_deleted(&mut item);
                    chats.put_item(&item, batch);
                }
            }
            Content::Receipt { kind, seqs } => {
                let status = match kind {
                    ReceiptKind::Delivered => MessageStatus::Delivered,
                    ReceiptKind::Read => MessageStatus::Read,
                };
                for seq in seqs {
                    let Some(number) = ChatItem::find_by_seq(cx.store(), id, true, seq)? else {
                        continue;
                    };
                    let Some(mut item) = ChatItem::load(cx.store(), id, number)? else {
                        continue;
                    };
                    if status_rank(status) > status_rank(item.status) {
                        item.status = status;
                        chats.put_item(&item, batch);
                    }
                }
            }
            Content::Typing { typing } => {
                // A typing indicator that waited in a queue is old news.
                let age = now.since(UnixMillis(envelope.sent_at));
                if age <= TYPING_FRESHNESS {
                    batch.notify(Pending::ready(Event::Typing { chat: id, typing }));
                }
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
            Content::ProfileUpdate { profile } => {
                let mut peer = PeerRecord::load(cx.store(), receiving.peer)?;
                peer.profile = Some(profile);
                peer.put(batch);
                batch.notify(Pending::ChatChanged(id));
            }
            Content::GroupInvite { invite, name } => {
                if let Some(reply) = invitations::accept_invite(cx, now, id, invite, name, batch)? {
                    chats.send_envelope(
                        cx,
                        now,
                        rng,
                        id,
                        &mut state.channel,
                        session,
                        reply,
                        true,
                        None,
                        batch,
                    )?;
                }
            }
            Content::GroupKeyPackage {
                invite,
                key_package,
            } => invitations::add_invited(cx, id, invite, &key_package, batch)?,
            Content::GroupWelcome(welcome) => {
                invitations::join_welcomed(cx, now, id, welcome, batch)?
            }
            Content::GroupWelcomePiece(piece) => {
                invitations::welcome_piece(cx, now, id, piece, batch)?
            }
            // Only a group's log carries these.
            Content::GroupReceipt { .. } | Content::GroupDeleted => {}
        }
        Ok(Stage::Established(state))
    }

    /// Our number for a message the contact referenced.
    fn resolve<S: Store>(
        cx: &Shared<'_, S>,
        contact: ChatId,
        reference: MessageRef,
    ) -> Result<Option<MessageNumber>, CoreError> {
        let mine = reference.author == Author::Recipient;
        ChatItem::find_by_seq(cx.store(), contact, mine, reference.seq)
    }

    fn target<S: Store>(
        cx: &Shared<'_, S>,
        contact: ChatId,
        reference: MessageRef,
    ) -> Result<Option<ChatItem>, CoreError> {
        match Inbox::resolve(cx, contact, reference)? {
            Some(number) => ChatItem::load(cx.store(), contact, number),
            None => Ok(None),
        }
    }

    /// A text the contact wrote (only its author may edit or delete it).
    fn peer_text<S: Store>(
        cx: &Shared<'_, S>,
        contact: ChatId,
        reference: MessageRef,
    ) -> Result<Option<ChatItem>, CoreError> {
        if reference.author != Author::Sender {
            return Ok(None);
        }
        Inbox::target(cx, contact, reference)
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
