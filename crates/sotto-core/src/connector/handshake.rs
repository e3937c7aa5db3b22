//! The two-message handshake, as the connector runs it: what to do when a
//! queue the connector asked for exists, the joiner's answer, the inviter's
//! Confirm, and the answers that arrive on an invitation or the contact
//! address.
//!
//! ```text
//! inviter A (queue QA)                         joiner B
//!   NEW → QA; link = QA address + invitation
//!                                              NEW → QB (on B's own relay)
//!                                              join(invitation, Hello{QB, kB, profile})
//!   QA ◄──────── SEND answer (unsigned) ───────
//!   accept → session; KEY QA with kB
//!   SEND Confirm{kA, profile[, QA']} (unsigned) ──► QB
//!                                              KEY QB with kA; connected
//! ```
//!
//! After that every SEND is signed: A's with kA on QB, B's with kB on QA (or on
//! QA', the queue A made for B when B came through the contact address).
//!
//! Stage by stage (`connection.rs`): the joiner's `Joining` becomes
//! `AwaitingConfirmation` when its answer goes out
//! ([`Connector::handle_queue_created`]) and `Established` when the Confirm
//! arrives ([`Connector::handle_confirm`]); the inviter's `Accepting` becomes
//! `Established` once its queue exists, as the Confirm goes out.

use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use sotto_crypto::{ANSWER_KEY_AGREEMENT_LEN, JOIN_RANDOMNESS_LEN, join};
use sotto_wire::QueueAuthSecret;
use zeroize::Zeroizing;

use super::{Connector, MAX_PENDING_REQUESTS};
use crate::chat_item::ChatNotice;
use crate::chat_message::{Content, Envelope, envelope_hash};
use crate::chat_record::ChatRecord;
use crate::chats::Chats;
use crate::connection::{
    Accepting, Channel, ConnectionMeta, ConnectionRecord, Established, Joining, SendQueue, Stage,
};
use crate::connection_records::{
    ADDRESS_ANSWERS, INVITATIONS, InvitationRecord, REQUESTS, RequestRecord,
};
use crate::event::Pending;
use crate::ids::{InvitationId, RequestId};
use crate::integrity::{IncomingChain, OutgoingChain};
use crate::job::{JobCommand, JobPurpose};
use crate::link::{InvitationLink, LinkKind};
use crate::peer::PeerRecord;
use crate::profile::Profile;
use crate::queue_address::QueueAddress;
use crate::queue_record::{QueueOwner, QueueRecord};
use crate::shared::{Shared, random_secret};
use crate::staged_batch::StagedBatch;
use crate::time::UnixMillis;
use crate::{CoreError, Store};

/// The inviter's Confirm, as the joiner received it.
pub(crate) struct Confirm {
    /// The key the joiner secures its queue with.
    pub(crate) sender_key: [u8; 32],
    /// The inviter's profile.
    pub(crate) profile: Profile,
    /// The queue to send to from now on (only an address's owner may name one).
    pub(crate) reply_queue: Option<QueueAddress>,
}

impl Connector {
    /// Joiner: the inviter's Confirm arrived on a connection at `stage`. Only
    /// a connection awaiting its confirmation takes it: it becomes
    /// established, its queue is secured with the inviter's key (KEY) and the
    /// inviter's profile is kept. A Confirm to a connection at any other
    /// stage (accepting, established, or one that moves a one-time
    /// joiner to another queue) is refused and nothing is written.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn handle_confirm<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        chats: &mut Chats,
        now: UnixMillis,
        receiving: &ConnectionMeta,
        chat: &mut ChatRecord,
        stage: Stage,
        confirm: Confirm,
        batch: &mut StagedBatch,
    ) -> Result<Established, CoreError> {
        let Stage::AwaitingConfirmation(awaiting) = stage else {
            return Err(CoreError::UnexpectedMessage("confirmation"));
        };
        let established = awaiting.confirmed(confirm.reply_queue)?;
        let queue = QueueRecord::load(cx.store(), &established.receive_queue)?
            .ok_or(CoreError::CorruptRecord("connection queue"))?;
        let command = JobCommand::Key {
            recipient_id: established.receive_queue,
            auth_secret: queue.auth_secret.clone(),
            sender_key: confirm.sender_key,
        };
        cx.add_job(batch, now, queue.relay.clone(), command, JobPurpose::None);
        let mut peer = PeerRecord::load(cx.store(), receiving.peer)?;
        peer.profile = Some(confirm.profile);
        peer.put(batch);
        chats.add_notice(now, chat, ChatNotice::Connected, batch);
        batch.notify(Pending::Connected(chat.id));
        Ok(established)
    }

    /// The relay made a queue (IDS): carry on with what it is for. Returns
    /// whether the queue is still wanted; one whose owner went away in the
    /// meantime is deleted again.
    pub(crate) fn handle_queue_created<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        chats: &mut Chats,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        queue: &QueueRecord,
        batch: &mut StagedBatch,
    ) -> Result<bool, CoreError> {
        match queue.owner {
            QueueOwner::Invitation(id) => {
                let Some(mut record) = InvitationRecord::load(cx.store(), id)? else {
                    Connector::delete_queue(cx, now, queue, batch);
                    return Ok(false);
                };
                self.publish_link(cx, now, rng, queue, &mut record, LinkKind::OneTime, batch)?;
                record.put(id, batch);
            }
            QueueOwner::Address => {
                let Some(mut record) = InvitationRecord::load_address(cx.store())? else {
                    Connector::delete_queue(cx, now, queue, batch);
                    return Ok(false);
                };
                self.publish_link(
                    cx,
                    now,
                    rng,
                    queue,
                    &mut record,
                    LinkKind::ContactAddress,
                    batch,
                )?;
                record.put_address(batch);
            }
            QueueOwner::GroupLink(group) => {
                return crate::groups::links::link_queue_created(cx, now, queue, group, batch);
            }
            QueueOwner::GroupJoin(join) => {
                return crate::groups::link_joins::join_queue_created(cx, now, queue, join, batch);
            }
            QueueOwner::Connection(id) => {
                let record = match ConnectionRecord::load(cx.store(), id) {
                    Ok(record) => record,
                    Err(CoreError::NotConnected) => {
                        Connector::delete_queue(cx, now, queue, batch);
                        return Ok(false);
                    }
                    Err(error) => return Err(error),
                };
                let (meta, stage) = record.split();
                match stage {
                    Stage::Joining(joining) => {
                        self.send_answer(cx, now, rng, meta, joining, queue, batch)?;
                    }
                    Stage::Accepting(accepting) => {
                        let mut chat = ChatRecord::load(cx.store(), meta.chat)?;
                        self.confirm(
                            cx,
                            chats,
                            now,
                            rng,
                            meta,
                            &mut chat,
                            accepting,
                            queue,
                            Some(queue),
                            batch,
                        )?;
                        chat.put(batch);
                    }
                    // A queue made twice (a retried NEW whose first answer
                    // was lost): the connection has its queue already.
                    Stage::AwaitingConfirmation(_) | Stage::Established(_) => {
                        Connector::delete_queue(cx, now, queue, batch);
                        return Ok(false);
                    }
                }
            }
        }
        Ok(true)
    }

    /// Joiner: runs the key agreement and sends the answer with our Hello.
    #[allow(clippy::too_many_arguments)]
    fn send_answer<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        meta: ConnectionMeta,
        joining: Joining,
        queue: &QueueRecord,
        batch: &mut StagedBatch,
    ) -> Result<(), CoreError> {
        let link = InvitationLink::from_payload(&joining.link)?;
        let sender_secret = random_secret(rng);
        let sender_key = QueueAuthSecret::from_bytes(*sender_secret).public_key();
        let mut outgoing = OutgoingChain::default();
        let hello = Envelope {
            seq: outgoing.next_seq,
            prev_hash: outgoing.last_hash,
            sent_at: now.0,
            content: Content::Hello {
                queue: queue.address(),
                sender_key: *sender_key.as_bytes(),
                profile: cx.account.profile.clone(),
            },
        };
        let plaintext = Zeroizing::new(hello.encode());
        let mut randomness = Zeroizing::new([0u8; JOIN_RANDOMNESS_LEN]);
        rng.fill_bytes(randomness.as_mut());
        let (session, answer) = join(
            &cx.account.identity,
            &link.invitation,
            &plaintext,
            &randomness,
        )?;
        outgoing.next_seq += 1;
        outgoing.last_hash = envelope_hash(&plaintext);
        let command = JobCommand::Send {
            sender_id: link.queue.sender_id,
            auth_secret: None,
            body: answer,
        };
        let purpose = JobPurpose::Answer {
            connection: meta.id,
        };
        cx.add_job(batch, now, link.queue.relay.clone(), command, purpose);
        let channel = Channel {
            session: cx.pickle_session(rng, &session),
            send_queue: SendQueue {
                address: link.queue,
                signing_key: sender_secret,
            },
            outgoing,
            incoming: IncomingChain::default(),
        };
        let awaiting = joining.answered(link.kind, channel, queue.recipient_id);
        meta.at(Stage::AwaitingConfirmation(awaiting)).put(batch);
        Ok(())
    }

    /// Inviter: secures our queue with the joiner's key and sends Confirm
    /// (with `reply_queue` when the joiner must switch to a new queue).
    #[allow(clippy::too_many_arguments)]
    fn confirm<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        chats: &mut Chats,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        meta: ConnectionMeta,
        chat: &mut ChatRecord,
        accepting: Accepting,
        queue: &QueueRecord,
        reply_queue: Option<&QueueRecord>,
        batch: &mut StagedBatch,
    ) -> Result<(), CoreError> {
        let (mut established, sender_key) = accepting.confirmed(queue.recipient_id);
        let command = JobCommand::Key {
            recipient_id: queue.recipient_id,
            auth_secret: queue.auth_secret.clone(),
            sender_key,
        };
        cx.add_job(batch, now, queue.relay.clone(), command, JobPurpose::None);
        let send_queue = &established.channel.send_queue;
        let our_key = QueueAuthSecret::from_bytes(*send_queue.signing_key).public_key();
        let content = Content::Confirm {
            sender_key: *our_key.as_bytes(),
            profile: cx.account.profile.clone(),
            reply_queue: reply_queue.map(QueueRecord::address),
        };
        let mut session = cx.open_session(meta.id, &established.channel)?;
        // The joiner's queue is not secured yet: Confirm goes unsigned.
        chats.send_envelope(
            cx,
            now,
            rng,
            meta.chat,
            &mut established.channel,
            &mut session,
            content,
            false,
            None,
            batch,
        )?;
        established.channel.session = cx.pickle_session(rng, &session);
        meta.at(Stage::Established(established)).put(batch);
        chats.add_notice(now, chat, ChatNotice::Connected, batch);
        batch.notify(Pending::Connected(meta.chat));
        Ok(())
    }

    /// An answer arrived on a one-time invitation's queue.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn handle_answer<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        chats: &mut Chats,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        invitation: InvitationId,
        queue: &mut QueueRecord,
        answer: &[u8],
        batch: &mut StagedBatch,
    ) -> Result<(), CoreError> {
        let Some(record) = InvitationRecord::load(cx.store(), invitation)? else {
            return Ok(());
        };
        let pending = record.pending(&cx.account.pickle_key)?;
        let (session, plaintext) = pending.accept(&cx.account.identity, answer)?;
        let plaintext = Zeroizing::new(plaintext);
        let hello = Envelope::decode(&plaintext)?;
        let Content::Hello {
            queue: reply_queue,
            sender_key,
            profile,
        } = hello.content
        else {
            return Err(CoreError::UnexpectedMessage("first message"));
        };
        let (chat, peer, connection) = Connector::new_ids(cx);
        let mut peer_record = PeerRecord::new(peer, session.peer_identity().to_bytes(), chat);
        peer_record.profile = Some(profile);
        peer_record.put(batch);
        let mut chat_record = ChatRecord::direct(chat, peer, connection, now.0);
        let mut incoming = IncomingChain::default();
        incoming.receive(hello.seq, &hello.prev_hash, envelope_hash(&plaintext));
        let accepting = Accepting {
            channel: Channel {
                session: cx.pickle_session(rng, &session),
                send_queue: SendQueue {
                    address: reply_queue,
                    signing_key: random_secret(rng),
                },
                outgoing: OutgoingChain::default(),
                incoming,
            },
            peer_sender_key: sender_key,
        };
        batch.delete(INVITATIONS, invitation.0.to_be_bytes().to_vec());
        // A used one-time link is refused from now on, not left to expire.
        if let Some(published) = &record.published {
            Connector::unpublish_link(cx, now, published, batch);
        }
        queue.owner = QueueOwner::Connection(connection);
        let meta = ConnectionMeta {
            id: connection,
            peer,
            chat,
            created_at: now.0,
        };
        self.confirm(
            cx,
            chats,
            now,
            rng,
            meta,
            &mut chat_record,
            accepting,
            queue,
            None,
            batch,
        )?;
        chat_record.put(batch);
        Ok(())
    }

    /// Whether `identity` is a peer whose chat the user blocked.
    fn is_blocked<S: Store>(cx: &Shared<'_, S>, identity: &[u8; 32]) -> Result<bool, CoreError> {
        for peer in PeerRecord::load_all(cx.store())? {
            if &peer.identity == identity && ChatRecord::load(cx.store(), peer.chat)?.blocked {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether a request from `identity` may be kept, and room for it: a
    /// requester has one request (a new one replaces theirs); past
    /// [`MAX_PENDING_REQUESTS`] only a peer this profile knows (coming back
    /// on a new device, say) gets in, in place of the oldest stranger's. The
    /// rest of a flood is dropped, so the store stays bounded and the
    /// requests already waiting stay; replacing the address stops it.
    fn make_room_for_request<S: Store>(
        cx: &Shared<'_, S>,
        identity: &[u8; 32],
        batch: &mut StagedBatch,
    ) -> Result<bool, CoreError> {
        let waiting = RequestRecord::load_all(cx.store())?;
        if let Some((old, _)) = waiting.iter().find(|(_, r)| &r.peer_identity == identity) {
            batch.delete(REQUESTS, old.0.to_be_bytes().to_vec());
            return Ok(true);
        }
        if waiting.len() < MAX_PENDING_REQUESTS {
            return Ok(true);
        }
        let known: Vec<[u8; 32]> = PeerRecord::load_all(cx.store())?
            .into_iter()
            .map(|peer| peer.identity)
            .collect();
        if !known.contains(identity) {
            return Ok(false);
        }
        let oldest_stranger = waiting
            .iter()
            .filter(|(_, r)| !known.contains(&r.peer_identity))
            .min_by_key(|(id, r)| (r.received_at, *id));
        match oldest_stranger {
            Some((id, _)) => {
                batch.delete(REQUESTS, id.0.to_be_bytes().to_vec());
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// An answer arrived on the contact address: a contact request.
    pub(crate) fn handle_request<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        answer: &[u8],
        batch: &mut StagedBatch,
    ) -> Result<(), CoreError> {
        let Some(record) = InvitationRecord::load_address(cx.store())? else {
            return Ok(());
        };
        // The address's keys answer many times: remember every answer so a
        // replayed one cannot make a second request.
        let agreement = answer
            .get(..ANSWER_KEY_AGREEMENT_LEN)
            .ok_or(CoreError::Malformed("answer"))?;
        let seen: [u8; 32] = Sha256::digest(agreement).into();
        if cx.store().get(ADDRESS_ANSWERS, &seen)?.is_some() {
            return Err(CoreError::UnexpectedMessage("replayed contact request"));
        }
        let pending = record.pending(&cx.account.pickle_key)?;
        let (session, plaintext) = pending.accept(&cx.account.identity, answer)?;
        let plaintext = Zeroizing::new(plaintext);
        let hello = Envelope::decode(&plaintext)?;
        let Content::Hello {
            queue,
            sender_key,
            profile,
        } = hello.content
        else {
            return Err(CoreError::UnexpectedMessage("first message"));
        };
        if hello.seq != 1 {
            return Err(CoreError::UnexpectedMessage("first message"));
        }
        let identity = session.peer_identity().to_bytes();
        if Connector::is_blocked(cx, &identity)? {
            // Nothing arrives from a blocked peer, and it is told nothing: the
            // answer is remembered (so a replay costs nothing) and dropped.
            batch.put(ADDRESS_ANSWERS, seen.to_vec(), Vec::new());
            return Ok(());
        }
        if !Connector::make_room_for_request(cx, &identity, batch)? {
            // Dropped (and acknowledged): the address is flooded.
            batch.notify(Pending::AddressFlooded);
            return Ok(());
        }
        let id = RequestId(cx.account.allocate_id());
        RequestRecord {
            received_at: now.0,
            peer_identity: identity,
            session: cx.pickle_session(rng, &session),
            profile,
            reply_queue: queue,
            sender_key,
            hello_hash: envelope_hash(&plaintext),
        }
        .put(id, batch);
        batch.put(ADDRESS_ANSWERS, seen.to_vec(), Vec::new());
        batch.notify(Pending::Request(id));
        Ok(())
    }
}
