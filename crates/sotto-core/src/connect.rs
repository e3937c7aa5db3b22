//! Making connections: one-time invitations, the contact address, contact
//! requests, and the two-message handshake that secures both queues.
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

use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use sotto_crypto::{
    ANSWER_KEY_AGREEMENT_LEN, INVITATION_RANDOMNESS_LEN, JOIN_RANDOMNESS_LEN, PendingInvitation,
    join,
};
use sotto_wire::{QueueAuthSecret, RelayAddress};
use zeroize::Zeroizing;

use crate::chat_item::ChatNotice;
use crate::chat_message::{Content, Envelope, envelope_hash};
use crate::chat_record::ChatRecord;
use crate::connection::{
    Accepting, Channel, ConnectionMeta, ConnectionRecord, Joining, SendQueue, Stage,
};
use crate::connection_records::{
    ADDRESS_ANSWERS, INVITATIONS, InvitationRecord, REQUESTS, RequestRecord,
};
use crate::core::{Core, random_secret};
use crate::event::{Event, Pending};
use crate::ids::{ChatId, ConnectionId, InvitationId, PeerId, RequestId};
use crate::integrity::{IncomingChain, OutgoingChain};
use crate::job::{JobCommand, JobPurpose};
use crate::link::{InvitationLink, LinkKind};
use crate::peer::PeerRecord;
use crate::queue_record::{QueueOwner, QueueRecord};
use crate::time::UnixMillis;
use crate::{CoreError, Store, WriteBatch};

/// Most contact requests kept waiting for a decision.
pub(crate) const MAX_PENDING_REQUESTS: usize = 100;

impl<S: Store> Core<S> {
    /// Creates a one-time invitation on `relay`. The link comes with
    /// [`Event::InvitationReady`] once the relay has made the queue.
    pub fn create_invitation(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        relay: &RelayAddress,
    ) -> Result<InvitationId, CoreError> {
        let id = InvitationId(self.account.allocate_id());
        let mut batch = WriteBatch::new();
        self.new_pending_invitation(now, rng)?.put(id, &mut batch);
        self.new_queue_job(&mut batch, now, rng, relay, QueueOwner::Invitation(id));
        self.commit(batch)?;
        self.tick(now)?;
        Ok(id)
    }

    /// Withdraws a one-time invitation that was not answered: its queue is
    /// deleted on the relay and its keys forgotten.
    pub fn delete_invitation(
        &mut self,
        now: UnixMillis,
        invitation: InvitationId,
    ) -> Result<(), CoreError> {
        if InvitationRecord::load(&self.store, invitation)?.is_none() {
            return Err(CoreError::InvalidValue("invitation"));
        }
        let mut batch = WriteBatch::new();
        batch.delete(INVITATIONS, invitation.0.to_be_bytes().to_vec());
        for queue in QueueRecord::load_all(&self.store)? {
            if queue.owner == QueueOwner::Invitation(invitation) {
                QueueRecord::delete(&queue.recipient_id, &mut batch);
                let command = JobCommand::Del {
                    recipient_id: queue.recipient_id,
                    auth_secret: queue.auth_secret.clone(),
                };
                self.add_job(
                    &mut batch,
                    now,
                    queue.relay.clone(),
                    command,
                    JobPurpose::None,
                );
            }
        }
        self.commit(batch)?;
        self.tick(now)
    }

    /// Creates (or replaces) the long-term contact address on `relay`. The link
    /// comes with [`Event::AddressReady`].
    pub fn create_address(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        relay: &RelayAddress,
    ) -> Result<(), CoreError> {
        let mut batch = WriteBatch::new();
        self.delete_address_into(&mut batch, now)?;
        self.new_pending_invitation(now, rng)?
            .put_address(&mut batch);
        self.new_queue_job(&mut batch, now, rng, relay, QueueOwner::Address);
        self.commit(batch)?;
        self.tick(now)
    }

    /// Deletes the contact address: its queue is deleted on the relay and
    /// later requests cannot arrive. Pending requests stay until decided.
    pub fn delete_address(&mut self, now: UnixMillis) -> Result<(), CoreError> {
        if InvitationRecord::load_address(&self.store)?.is_none() {
            return Err(CoreError::NoAddress);
        }
        let mut batch = WriteBatch::new();
        self.delete_address_into(&mut batch, now)?;
        self.commit(batch)?;
        self.tick(now)
    }

    fn delete_address_into(
        &mut self,
        batch: &mut WriteBatch,
        now: UnixMillis,
    ) -> Result<(), CoreError> {
        InvitationRecord::delete_address(batch);
        batch.delete_range(ADDRESS_ANSWERS, crate::KeyRange::all());
        for queue in QueueRecord::load_all(&self.store)? {
            if queue.owner == QueueOwner::Address {
                QueueRecord::delete(&queue.recipient_id, batch);
                let command = JobCommand::Del {
                    recipient_id: queue.recipient_id,
                    auth_secret: queue.auth_secret.clone(),
                };
                self.add_job(batch, now, queue.relay.clone(), command, JobPurpose::None);
            }
        }
        Ok(())
    }

    /// Deletes a chat with its peer: the connection's receiving queue is
    /// deleted on the relay, the history and everything queued for it are
    /// forgotten.
    pub fn delete_contact(&mut self, now: UnixMillis, chat: ChatId) -> Result<(), CoreError> {
        let record = ChatRecord::load(&self.store, chat)?;
        let mut batch = WriteBatch::new();
        if let Some(connection) = record.connection() {
            self.delete_connection(now, connection, &mut batch)?;
        }
        let mut before = None;
        loop {
            let page = self.items(chat, before, 256)?;
            let Some(first) = page.first() else { break };
            before = Some(first.number);
            for item in &page {
                item.delete(&self.store, &mut batch)?;
            }
        }
        ChatRecord::delete(chat, &mut batch);
        PeerRecord::delete(record.peer(), &mut batch);
        self.commit(batch)?;
        self.notify(Pending::Ready(Event::ChatRemoved { chat }));
        self.refresh_expiry()?;
        self.tick(now)
    }

    /// Connects through an invitation or contact-address link, receiving on a
    /// new queue on `relay` (this user's relay, maybe not the inviter's).
    pub fn connect(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        link: &str,
        relay: &RelayAddress,
    ) -> Result<ChatId, CoreError> {
        let link = InvitationLink::parse(link)?;
        self.refuse_own(&link)?;
        let (chat, peer, connection) = self.new_ids();
        let mut batch = WriteBatch::new();
        PeerRecord::new(peer, link.invitation.identity().to_bytes(), chat).put(&mut batch);
        ChatRecord::direct(chat, peer, connection, now.0).put(&mut batch);
        let joining = Joining {
            link: link.payload(),
        };
        self.new_connection(
            now,
            rng,
            chat,
            peer,
            connection,
            Stage::Joining(joining),
            relay,
            &mut batch,
        );
        self.commit(batch)?;
        self.notify(Pending::ChatChanged(chat));
        self.tick(now)?;
        Ok(chat)
    }

    /// Accepts a contact request: a queue for this peer is made on `relay`,
    /// then the connection is confirmed.
    pub fn accept_request(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        request: RequestId,
        relay: &RelayAddress,
    ) -> Result<ChatId, CoreError> {
        let record = RequestRecord::load(&self.store, request)?;
        let (chat, peer, connection) = self.new_ids();
        let mut batch = WriteBatch::new();
        let mut peer_record = PeerRecord::new(peer, record.peer_identity, chat);
        peer_record.profile = Some(record.profile.clone());
        peer_record.put(&mut batch);
        ChatRecord::direct(chat, peer, connection, now.0).put(&mut batch);
        self.accept_into(
            now, rng, request, record, chat, peer, connection, relay, batch,
        )
    }

    /// Accepts a contact request as a new connection of an existing chat's
    /// peer (who lost their device, say): the chat is kept, the old queues
    /// are deleted, and if the identity key differs the chat shows
    /// [`ChatNotice::KeysChanged`] and the peer is no longer verified.
    pub fn accept_request_into(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        request: RequestId,
        chat: ChatId,
        relay: &RelayAddress,
    ) -> Result<ChatId, CoreError> {
        let record = RequestRecord::load(&self.store, request)?;
        let mut batch = WriteBatch::new();
        let (peer, connection) = self.reset_chat(
            now,
            chat,
            record.peer_identity,
            Some(&record.profile),
            &mut batch,
        )?;
        self.accept_into(
            now, rng, request, record, chat, peer, connection, relay, batch,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn accept_into(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        request: RequestId,
        record: RequestRecord,
        chat: ChatId,
        peer: PeerId,
        connection: ConnectionId,
        relay: &RelayAddress,
        mut batch: WriteBatch,
    ) -> Result<ChatId, CoreError> {
        let mut incoming = IncomingChain::default();
        incoming.receive(1, &[0; 32], record.hello_hash);
        let accepting = Accepting {
            channel: Channel {
                session: record.session,
                send_queue: SendQueue {
                    address: record.reply_queue,
                    signing_key: random_secret(rng),
                },
                outgoing: OutgoingChain::default(),
                incoming,
            },
            peer_sender_key: record.sender_key,
        };
        batch.delete(REQUESTS, request.0.to_be_bytes().to_vec());
        self.new_connection(
            now,
            rng,
            chat,
            peer,
            connection,
            Stage::Accepting(accepting),
            relay,
            &mut batch,
        );
        self.commit(batch)?;
        self.notify(Pending::ChatChanged(chat));
        self.tick(now)?;
        Ok(chat)
    }

    /// Connects an existing chat's peer again through a new link (the peer
    /// lost their device, say): like [`Core::connect`], but the chat is kept,
    /// the old queues are deleted, and if the identity key differs the chat
    /// shows [`ChatNotice::KeysChanged`] and the peer is no longer verified.
    pub fn reconnect(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        link: &str,
        relay: &RelayAddress,
    ) -> Result<(), CoreError> {
        let link = InvitationLink::parse(link)?;
        self.refuse_own(&link)?;
        let identity = link.invitation.identity().to_bytes();
        let mut batch = WriteBatch::new();
        let (peer, connection) = self.reset_chat(now, chat, identity, None, &mut batch)?;
        let joining = Joining {
            link: link.payload(),
        };
        self.new_connection(
            now,
            rng,
            chat,
            peer,
            connection,
            Stage::Joining(joining),
            relay,
            &mut batch,
        );
        self.commit(batch)?;
        self.notify(Pending::ChatChanged(chat));
        self.tick(now)
    }

    fn refuse_own(&self, link: &InvitationLink) -> Result<(), CoreError> {
        if link.invitation.identity() == self.account.identity.public_key() {
            return Err(CoreError::InvalidValue("link: it is this profile's own"));
        }
        Ok(())
    }

    /// Ids for a new chat, its peer and their connection.
    fn new_ids(&mut self) -> (ChatId, PeerId, ConnectionId) {
        (
            ChatId(self.account.allocate_id()),
            PeerId(self.account.allocate_id()),
            ConnectionId(self.account.allocate_id()),
        )
    }

    /// Writes a new connection and asks for the queue it will receive on.
    #[allow(clippy::too_many_arguments)]
    fn new_connection(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        peer: PeerId,
        connection: ConnectionId,
        stage: Stage,
        relay: &RelayAddress,
        batch: &mut WriteBatch,
    ) {
        let meta = ConnectionMeta {
            id: connection,
            peer,
            chat,
            created_at: now.0,
        };
        meta.at(stage).put(batch);
        self.new_queue_job(batch, now, rng, relay, QueueOwner::Connection(connection));
    }

    /// Ends a chat's connection (queues, session, sequence numbers, jobs) but
    /// keeps the chat and its peer, ready for a new connection with the
    /// identity key `identity` (and the peer's `profile`, when known). Returns
    /// the peer and the new connection's id.
    fn reset_chat(
        &mut self,
        now: UnixMillis,
        chat: ChatId,
        identity: [u8; 32],
        profile: Option<&crate::Profile>,
        batch: &mut WriteBatch,
    ) -> Result<(PeerId, ConnectionId), CoreError> {
        let mut record = ChatRecord::load(&self.store, chat)?;
        if let Some(old) = record.connection() {
            self.delete_connection(now, old, batch)?;
        }
        batch.delete_range(
            crate::chat_item::MESSAGE_SEQS,
            crate::KeyRange::prefix(&chat.0.to_be_bytes()),
        );
        let mut peer = PeerRecord::load(&self.store, record.peer())?;
        if peer.set_identity(identity) {
            self.add_notice(now, &mut record, ChatNotice::KeysChanged, batch);
        }
        if let Some(profile) = profile {
            peer.profile = Some(profile.clone());
        }
        let connection = ConnectionId(self.account.allocate_id());
        record.set_connection(Some(connection));
        record.last_activity = now.0;
        record.put(batch);
        peer.put(batch);
        Ok((peer.id, connection))
    }

    /// Deletes a connection: its receiving queue (DEL on the relay), the jobs
    /// still waiting for its sending queue, its open session.
    fn delete_connection(
        &mut self,
        now: UnixMillis,
        connection: ConnectionId,
        batch: &mut WriteBatch,
    ) -> Result<(), CoreError> {
        let record = match ConnectionRecord::load(&self.store, connection) {
            Ok(record) => record,
            Err(CoreError::NotConnected) => return Ok(()),
            Err(error) => return Err(error),
        };
        if let Some(recipient_id) = record.stage.receive_queue()
            && let Some(queue) = QueueRecord::load(&self.store, &recipient_id)?
        {
            self.delete_queue(now, &queue, batch);
        }
        if let Some(channel) = record.stage.channel() {
            self.drop_lane(channel.send_queue.address.sender_id.as_bytes(), batch);
        }
        ConnectionRecord::delete(connection, batch);
        self.receipts_due.remove(&connection);
        self.forget_session(connection);
        Ok(())
    }

    /// Deletes one of our queues: its record now, the queue on the relay by a
    /// DEL job.
    fn delete_queue(&mut self, now: UnixMillis, queue: &QueueRecord, batch: &mut WriteBatch) {
        QueueRecord::delete(&queue.recipient_id, batch);
        let command = JobCommand::Del {
            recipient_id: queue.recipient_id,
            auth_secret: queue.auth_secret.clone(),
        };
        self.add_job(batch, now, queue.relay.clone(), command, JobPurpose::None);
    }

    /// Rejects a contact request: it is deleted and leaves nothing behind.
    pub fn reject_request(&mut self, request: RequestId) -> Result<(), CoreError> {
        RequestRecord::load(&self.store, request)?;
        let mut batch = WriteBatch::new();
        batch.delete(REQUESTS, request.0.to_be_bytes().to_vec());
        self.commit(batch)
    }

    fn new_pending_invitation(
        &self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
    ) -> Result<InvitationRecord, CoreError> {
        let mut randomness = Zeroizing::new([0u8; INVITATION_RANDOMNESS_LEN]);
        rng.fill_bytes(randomness.as_mut());
        let pending = PendingInvitation::new(&self.account.identity, &randomness)?;
        let mut nonce = [0u8; sotto_crypto::PICKLE_NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        Ok(InvitationRecord {
            created_at: now.0,
            pending: pending.pickle(&self.account.pickle_key, &nonce),
            link: None,
        })
    }

    fn new_queue_job(
        &mut self,
        batch: &mut WriteBatch,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        relay: &RelayAddress,
        owner: QueueOwner,
    ) {
        let command = JobCommand::New {
            auth_secret: random_secret(rng),
            dh_secret: random_secret(rng),
        };
        self.add_job(
            batch,
            now,
            relay.clone(),
            command,
            JobPurpose::NewQueue(owner),
        );
    }

    /// The relay made a queue (IDS): carry on with what it is for. Returns
    /// whether the queue is still wanted; one whose owner went away in the
    /// meantime is deleted again.
    pub(crate) fn queue_created(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        queue: &QueueRecord,
        batch: &mut WriteBatch,
    ) -> Result<bool, CoreError> {
        match queue.owner {
            QueueOwner::Invitation(id) => {
                let Some(mut record) = InvitationRecord::load(&self.store, id)? else {
                    self.delete_queue(now, queue, batch);
                    return Ok(false);
                };
                let link = InvitationLink {
                    kind: LinkKind::OneTime,
                    queue: queue.address(),
                    invitation: record.pending(&self.account.pickle_key)?.invitation(),
                }
                .to_link();
                record.link = Some(link.clone());
                record.put(id, batch);
                self.notify(Pending::Ready(Event::InvitationReady {
                    invitation: id,
                    link,
                }));
            }
            QueueOwner::Address => {
                let Some(mut record) = InvitationRecord::load_address(&self.store)? else {
                    self.delete_queue(now, queue, batch);
                    return Ok(false);
                };
                let link = InvitationLink {
                    kind: LinkKind::ContactAddress,
                    queue: queue.address(),
                    invitation: record.pending(&self.account.pickle_key)?.invitation(),
                }
                .to_link();
                record.link = Some(link.clone());
                record.put_address(batch);
                self.notify(Pending::Ready(Event::AddressReady { link }));
            }
            QueueOwner::Connection(id) => {
                let record = match ConnectionRecord::load(&self.store, id) {
                    Ok(record) => record,
                    Err(CoreError::NotConnected) => {
                        self.delete_queue(now, queue, batch);
                        return Ok(false);
                    }
                    Err(error) => return Err(error),
                };
                let (meta, stage) = record.split();
                match stage {
                    Stage::Joining(joining) => {
                        self.send_answer(now, rng, meta, joining, queue, batch)?;
                    }
                    Stage::Accepting(accepting) => {
                        let mut chat = ChatRecord::load(&self.store, meta.chat)?;
                        self.confirm(
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
                        self.delete_queue(now, queue, batch);
                        return Ok(false);
                    }
                }
            }
        }
        Ok(true)
    }

    /// Joiner: runs the key agreement and sends the answer with our Hello.
    fn send_answer(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        meta: ConnectionMeta,
        joining: Joining,
        queue: &QueueRecord,
        batch: &mut WriteBatch,
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
                profile: self.account.profile.clone(),
            },
        };
        let plaintext = Zeroizing::new(hello.encode());
        let mut randomness = Zeroizing::new([0u8; JOIN_RANDOMNESS_LEN]);
        rng.fill_bytes(randomness.as_mut());
        let (session, answer) = join(
            &self.account.identity,
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
        self.add_job(batch, now, link.queue.relay.clone(), command, purpose);
        let channel = Channel {
            session: self.pickle_session(rng, &session),
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
    fn confirm(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        meta: ConnectionMeta,
        chat: &mut ChatRecord,
        accepting: Accepting,
        queue: &QueueRecord,
        reply_queue: Option<&QueueRecord>,
        batch: &mut WriteBatch,
    ) -> Result<(), CoreError> {
        let (mut established, sender_key) = accepting.confirmed(queue.recipient_id);
        let command = JobCommand::Key {
            recipient_id: queue.recipient_id,
            auth_secret: queue.auth_secret.clone(),
            sender_key,
        };
        self.add_job(batch, now, queue.relay.clone(), command, JobPurpose::None);
        let send_queue = &established.channel.send_queue;
        let our_key = QueueAuthSecret::from_bytes(*send_queue.signing_key).public_key();
        let content = Content::Confirm {
            sender_key: *our_key.as_bytes(),
            profile: self.account.profile.clone(),
            reply_queue: reply_queue.map(QueueRecord::address),
        };
        let mut session = self.open_session(meta.id, &established.channel)?;
        // The joiner's queue is not secured yet: Confirm goes unsigned.
        self.send_envelope(
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
        established.channel.session = self.pickle_session(rng, &session);
        meta.at(Stage::Established(established)).put(batch);
        self.add_notice(now, chat, ChatNotice::Connected, batch);
        self.notify(Pending::Connected(meta.chat));
        Ok(())
    }

    /// An answer arrived on a one-time invitation's queue.
    pub(crate) fn receive_answer(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        invitation: InvitationId,
        queue: &mut QueueRecord,
        answer: &[u8],
        batch: &mut WriteBatch,
    ) -> Result<(), CoreError> {
        let Some(record) = InvitationRecord::load(&self.store, invitation)? else {
            return Ok(());
        };
        let pending = record.pending(&self.account.pickle_key)?;
        let (session, plaintext) = pending.accept(&self.account.identity, answer)?;
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
        let (chat, peer, connection) = self.new_ids();
        let mut peer_record = PeerRecord::new(peer, session.peer_identity().to_bytes(), chat);
        peer_record.profile = Some(profile);
        peer_record.put(batch);
        let mut chat_record = ChatRecord::direct(chat, peer, connection, now.0);
        let mut incoming = IncomingChain::default();
        incoming.receive(hello.seq, &hello.prev_hash, envelope_hash(&plaintext));
        let accepting = Accepting {
            channel: Channel {
                session: self.pickle_session(rng, &session),
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
        queue.owner = QueueOwner::Connection(connection);
        let meta = ConnectionMeta {
            id: connection,
            peer,
            chat,
            created_at: now.0,
        };
        self.confirm(
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

    /// Whether a request from `identity` may be kept, and room for it: a
    /// requester has one request (a new one replaces theirs); past
    /// [`MAX_PENDING_REQUESTS`] only a peer this profile knows (coming back
    /// on a new device, say) gets in, in place of the oldest stranger's. The
    /// rest of a flood is dropped, so the store stays bounded and the
    /// requests already waiting stay; replacing the address stops it.
    fn make_room_for_request(
        &self,
        identity: &[u8; 32],
        batch: &mut WriteBatch,
    ) -> Result<bool, CoreError> {
        let waiting = RequestRecord::load_all(&self.store)?;
        if let Some((old, _)) = waiting.iter().find(|(_, r)| &r.peer_identity == identity) {
            batch.delete(REQUESTS, old.0.to_be_bytes().to_vec());
            return Ok(true);
        }
        if waiting.len() < MAX_PENDING_REQUESTS {
            return Ok(true);
        }
        let known: Vec<[u8; 32]> = PeerRecord::load_all(&self.store)?
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
    pub(crate) fn receive_request(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        answer: &[u8],
        batch: &mut WriteBatch,
    ) -> Result<(), CoreError> {
        let Some(record) = InvitationRecord::load_address(&self.store)? else {
            return Ok(());
        };
        // The address's keys answer many times: remember every answer so a
        // replayed one cannot make a second request.
        let agreement = answer
            .get(..ANSWER_KEY_AGREEMENT_LEN)
            .ok_or(CoreError::Malformed("answer"))?;
        let seen: [u8; 32] = Sha256::digest(agreement).into();
        if self.store.get(ADDRESS_ANSWERS, &seen)?.is_some() {
            return Err(CoreError::UnexpectedMessage("replayed contact request"));
        }
        let pending = record.pending(&self.account.pickle_key)?;
        let (session, plaintext) = pending.accept(&self.account.identity, answer)?;
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
        if !self.make_room_for_request(&identity, batch)? {
            // Dropped (and acknowledged): the address is flooded.
            self.notify(Pending::AddressFlooded);
            return Ok(());
        }
        let id = RequestId(self.account.allocate_id());
        RequestRecord {
            received_at: now.0,
            peer_identity: identity,
            session: self.pickle_session(rng, &session),
            profile,
            reply_queue: queue,
            sender_key,
            hello_hash: envelope_hash(&plaintext),
        }
        .put(id, batch);
        batch.put(ADDRESS_ANSWERS, seen.to_vec(), Vec::new());
        self.notify(Pending::Request(id));
        Ok(())
    }
}
