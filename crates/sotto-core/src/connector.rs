//! The connector: the sub-machine that makes connections: one-time
//! invitations, the contact address, contact requests, and the two-message
//! handshake that secures both queues (`connector/handshake.rs`).
//!
//! The connector keeps no state of its own in memory. A handshake's state is
//! its connection record's stage (`connection.rs`), one type per stage,
//! loaded for each input and consumed by the transition, so a stage that
//! cannot take an input (a Confirm for an established connection, chat
//! content before the handshake) is refused with an error and nothing is
//! written. Invitations, the address and waiting requests are records too.
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
use sotto_crypto::{INVITATION_RANDOMNESS_LEN, PendingInvitation};
use sotto_wire::RelayAddress;
use zeroize::Zeroizing;

use crate::chat_item::ChatNotice;
use crate::chat_record::ChatRecord;
use crate::chats::Chats;
use crate::connection::{
    Accepting, Channel, ConnectionMeta, ConnectionRecord, ConnectionState, Joining, SendQueue,
    Stage,
};
use crate::connection_records::{
    ADDRESS_ANSWERS, INVITATIONS, InvitationRecord, REQUESTS, RequestRecord,
};
use crate::event::{Event, Pending};
use crate::ids::{ChatId, ConnectionId, InvitationId, PeerId, RequestId};
use crate::integrity::{IncomingChain, OutgoingChain};
use crate::job::{JobCommand, JobPurpose};
use crate::link::{InvitationLink, Link};
use crate::peer::PeerRecord;
use crate::queue_record::{QueueOwner, QueueRecord};
use crate::shared::{Shared, random_secret};
use crate::short_link::ShortLink;
use crate::staged_batch::StagedBatch;
use crate::time::UnixMillis;
use crate::{CoreError, Store};

mod handshake;
mod short_links;

pub(crate) use handshake::Confirm;

/// Most contact requests kept waiting for a decision.
pub(crate) const MAX_PENDING_REQUESTS: usize = 100;

/// The connector sub-machine. See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct Connector;

impl Connector {
    /// Creates a one-time invitation on `relay`. The link comes with
    /// [`Event::InvitationReady`] once the relay has made the queue.
    pub(crate) fn create_invitation<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        relay: &RelayAddress,
    ) -> Result<InvitationId, CoreError> {
        let id = InvitationId(cx.account.allocate_id());
        let mut batch = StagedBatch::new();
        self.new_pending_invitation(cx, now, rng)?
            .put(id, &mut batch);
        self.new_queue_job(cx, &mut batch, now, rng, relay, QueueOwner::Invitation(id));
        cx.commit(batch)?;
        Ok(id)
    }

    /// Withdraws a one-time invitation that was not answered: its queue is
    /// deleted on the relay and its keys forgotten.
    pub(crate) fn delete_invitation<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        now: UnixMillis,
        invitation: InvitationId,
    ) -> Result<(), CoreError> {
        let Some(record) = InvitationRecord::load(cx.store(), invitation)? else {
            return Err(CoreError::InvalidValue("invitation"));
        };
        let mut batch = StagedBatch::new();
        batch.delete(INVITATIONS, invitation.0.to_be_bytes().to_vec());
        if let Some(published) = &record.published {
            Connector::unpublish_link(cx, now, published, &mut batch);
        }
        for queue in QueueRecord::load_all(cx.store())? {
            if queue.owner == QueueOwner::Invitation(invitation) {
                QueueRecord::delete(&queue.recipient_id, &mut batch);
                let command = JobCommand::Del {
                    recipient_id: queue.recipient_id,
                    auth_secret: queue.auth_secret.clone(),
                };
                cx.add_job(
                    &mut batch,
                    now,
                    queue.relay.clone(),
                    command,
                    JobPurpose::None,
                );
            }
        }
        cx.commit(batch)
    }

    /// Creates (or replaces) the long-term contact address on `relay`. The link
    /// comes with [`Event::AddressReady`].
    pub(crate) fn create_address<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        relay: &RelayAddress,
    ) -> Result<(), CoreError> {
        let mut batch = StagedBatch::new();
        self.delete_address_into(cx, &mut batch, now)?;
        self.new_pending_invitation(cx, now, rng)?
            .put_address(&mut batch);
        self.new_queue_job(cx, &mut batch, now, rng, relay, QueueOwner::Address);
        cx.commit(batch)
    }

    /// Deletes the contact address: its queue is deleted on the relay and
    /// later requests cannot arrive. Pending requests stay until decided.
    pub(crate) fn delete_address<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        now: UnixMillis,
    ) -> Result<(), CoreError> {
        if InvitationRecord::load_address(cx.store())?.is_none() {
            return Err(CoreError::NoAddress);
        }
        let mut batch = StagedBatch::new();
        self.delete_address_into(cx, &mut batch, now)?;
        cx.commit(batch)
    }

    fn delete_address_into<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        batch: &mut StagedBatch,
        now: UnixMillis,
    ) -> Result<(), CoreError> {
        if let Some(published) =
            InvitationRecord::load_address(cx.store())?.and_then(|record| record.published)
        {
            Connector::unpublish_link(cx, now, &published, batch);
        }
        InvitationRecord::delete_address(batch);
        batch.delete_range(ADDRESS_ANSWERS, crate::KeyRange::all());
        for queue in QueueRecord::load_all(cx.store())? {
            if queue.owner == QueueOwner::Address {
                QueueRecord::delete(&queue.recipient_id, batch);
                let command = JobCommand::Del {
                    recipient_id: queue.recipient_id,
                    auth_secret: queue.auth_secret.clone(),
                };
                cx.add_job(batch, now, queue.relay.clone(), command, JobPurpose::None);
            }
        }
        Ok(())
    }

    /// Deletes a chat with its peer: the connection's receiving queue is
    /// deleted on the relay, the history and everything queued for it are
    /// forgotten.
    pub(crate) fn delete_contact<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        chats: &mut Chats,
        now: UnixMillis,
        chat: ChatId,
    ) -> Result<(), CoreError> {
        let record = ChatRecord::load(cx.store(), chat)?;
        // A group is left, not deleted as a contact.
        let peer = record.peer()?;
        let mut batch = StagedBatch::new();
        if let Some(connection) = record.connection() {
            self.delete_connection(cx, chats, now, connection, &mut batch)?;
        }
        let mut before = None;
        loop {
            let page = crate::queries::load_items(cx.store(), chat, before, 256)?;
            let Some(first) = page.first() else { break };
            before = Some(first.number);
            for item in &page {
                item.delete(cx.store(), &mut batch)?;
            }
        }
        // Its group invitations waiting for a decision go with it.
        for held in crate::group_invite::HeldInvite::load_all(cx.store())? {
            if held.contact == chat {
                held.delete(&mut batch);
            }
        }
        ChatRecord::delete(chat, &mut batch);
        PeerRecord::delete(peer, &mut batch);
        batch.notify(Pending::ready(Event::ChatRemoved { chat }));
        cx.commit(batch)?;
        Ok(())
    }

    /// Blocks a chat's peer: the connection ends (its receiving queue is
    /// deleted on the relay, what waits to be sent to it is failed), so
    /// nothing more arrives; the peer is told nothing. The chat and its
    /// history stay, marked blocked; contact requests from the peer are
    /// dropped while it is.
    pub(crate) fn block<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        chats: &mut Chats,
        now: UnixMillis,
        chat: ChatId,
    ) -> Result<(), CoreError> {
        let mut record = ChatRecord::load(cx.store(), chat)?;
        let mut batch = StagedBatch::new();
        if let Some(connection) = record.connection() {
            self.delete_connection(cx, chats, now, connection, &mut batch)?;
        }
        record.set_connection(None);
        record.blocked = true;
        record.put(&mut batch);
        batch.notify(Pending::ChatChanged(chat));
        cx.commit(batch)
    }

    /// Connects through an invitation or contact-address link, receiving on a
    /// new queue on `relay` (this user's relay, maybe not the inviter's). A
    /// short link is resolved first: the chat's id is returned at once, and
    /// the chat appears once its relay returned the invitation
    /// ([`Event::JoinFailed`] if it cannot).
    pub(crate) fn connect<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        chats: &mut Chats,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        link: &str,
        relay: &RelayAddress,
    ) -> Result<ChatId, CoreError> {
        match Link::parse(link)? {
            Link::Full(link) => {
                Connector::refuse_own(cx, &link)?;
                let chat = ChatId(cx.account.allocate_id());
                let mut batch = StagedBatch::new();
                let chat = self.join(cx, chats, now, rng, chat, &link, relay, &mut batch)?;
                cx.commit(batch)?;
                Ok(chat)
            }
            Link::Short(link) => {
                Connector::refuse_own_short(cx, &link)?;
                let chat = ChatId(cx.account.allocate_id());
                self.resolve_short_link(cx, now, chat, &link, relay, false)?;
                Ok(chat)
            }
        }
    }

    /// Writes a new chat, its peer and a joining connection for `link`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn join_new_chat<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        link: &InvitationLink,
        relay: &RelayAddress,
        batch: &mut StagedBatch,
    ) {
        let peer = PeerId(cx.account.allocate_id());
        let connection = ConnectionId(cx.account.allocate_id());
        PeerRecord::new(peer, link.invitation.identity().to_bytes(), chat).put(batch);
        ChatRecord::direct(chat, peer, connection, now.0).put(batch);
        let joining = Joining {
            link: link.payload(),
        };
        self.new_connection(
            cx,
            now,
            rng,
            chat,
            peer,
            connection,
            Stage::Joining(joining),
            relay,
            batch,
        );
        batch.notify(Pending::ChatChanged(chat));
    }

    /// Accepts a contact request: a queue for this peer is made on `relay`,
    /// then the connection is confirmed.
    pub(crate) fn accept_request<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        request: RequestId,
        relay: &RelayAddress,
    ) -> Result<ChatId, CoreError> {
        let record = RequestRecord::load(cx.store(), request)?;
        let (chat, peer, connection) = Connector::new_ids(cx);
        let mut batch = StagedBatch::new();
        let mut peer_record = PeerRecord::new(peer, record.peer_identity, chat);
        peer_record.profile = Some(record.profile.clone());
        peer_record.put(&mut batch);
        ChatRecord::direct(chat, peer, connection, now.0).put(&mut batch);
        self.accept_into(
            cx, now, rng, request, record, chat, peer, connection, relay, batch,
        )
    }

    /// Accepts a contact request as a new connection of an existing chat's
    /// peer (who lost their device, say): the chat is kept, the old queues
    /// are deleted, and if the identity key differs the chat shows
    /// [`ChatNotice::KeysChanged`] and the peer is no longer verified.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn accept_request_into<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        chats: &mut Chats,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        request: RequestId,
        chat: ChatId,
        relay: &RelayAddress,
    ) -> Result<ChatId, CoreError> {
        let record = RequestRecord::load(cx.store(), request)?;
        let mut batch = StagedBatch::new();
        let (peer, connection) = self.reset_chat(
            cx,
            chats,
            now,
            chat,
            record.peer_identity,
            Some(&record.profile),
            &mut batch,
        )?;
        self.accept_into(
            cx, now, rng, request, record, chat, peer, connection, relay, batch,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn accept_into<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        request: RequestId,
        record: RequestRecord,
        chat: ChatId,
        peer: PeerId,
        connection: ConnectionId,
        relay: &RelayAddress,
        mut batch: StagedBatch,
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
            cx,
            now,
            rng,
            chat,
            peer,
            connection,
            Stage::Accepting(accepting),
            relay,
            &mut batch,
        );
        batch.notify(Pending::ChatChanged(chat));
        cx.commit(batch)?;
        Ok(chat)
    }

    /// Connects an existing chat's peer again through a new link (the peer
    /// lost their device, say): like [`Core::connect`], but the chat is kept,
    /// the old queues are deleted, and if the identity key differs the chat
    /// shows [`ChatNotice::KeysChanged`] and the peer is no longer verified.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn reconnect<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        chats: &mut Chats,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        link: &str,
        relay: &RelayAddress,
    ) -> Result<(), CoreError> {
        match Link::parse(link)? {
            Link::Full(link) => {
                Connector::refuse_own(cx, &link)?;
                let mut batch = StagedBatch::new();
                self.join_existing_chat(cx, chats, now, rng, chat, &link, relay, &mut batch)?;
                cx.commit(batch)
            }
            Link::Short(link) => {
                Connector::refuse_own_short(cx, &link)?;
                ChatRecord::load(cx.store(), chat)?;
                self.resolve_short_link(cx, now, chat, &link, relay, true)
            }
        }
    }

    /// Ends `chat`'s connection and writes a joining one for `link`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn join_existing_chat<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        chats: &mut Chats,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        link: &InvitationLink,
        relay: &RelayAddress,
        batch: &mut StagedBatch,
    ) -> Result<(), CoreError> {
        let identity = link.invitation.identity().to_bytes();
        let (peer, connection) = self.reset_chat(cx, chats, now, chat, identity, None, batch)?;
        let joining = Joining {
            link: link.payload(),
        };
        self.new_connection(
            cx,
            now,
            rng,
            chat,
            peer,
            connection,
            Stage::Joining(joining),
            relay,
            batch,
        );
        batch.notify(Pending::ChatChanged(chat));
        Ok(())
    }

    pub(crate) fn refuse_own<S: Store>(
        cx: &Shared<'_, S>,
        link: &InvitationLink,
    ) -> Result<(), CoreError> {
        if link.invitation.identity() == cx.account.identity.public_key() {
            return Err(CoreError::InvalidValue("link: it is this profile's own"));
        }
        Ok(())
    }

    /// The chat this profile already has with the owner of `link`, if any,
    /// and whether it is a working (or blocked) contact, rather than one
    /// whose connection never completed or failed.
    pub(crate) fn chat_with<S: Store>(
        cx: &Shared<'_, S>,
        link: &InvitationLink,
    ) -> Result<Option<(ChatId, bool)>, CoreError> {
        let identity = link.invitation.identity().to_bytes();
        let Some(peer) = PeerRecord::load_all(cx.store())?
            .into_iter()
            .find(|peer| peer.identity == identity)
        else {
            return Ok(None);
        };
        let chat = ChatRecord::load(cx.store(), peer.chat)?;
        let connected = match chat.connection() {
            Some(id) => matches!(
                ConnectionRecord::load(cx.store(), id).map(|c| c.stage.state()),
                Ok(ConnectionState::Connected)
            ),
            None => false,
        };
        Ok(Some((peer.chat, connected || chat.blocked)))
    }

    /// Joins through `link` into a new chat, or into the chat this profile
    /// already has with its owner when that one never connected (a request
    /// that was rejected, an invitation withdrawn). Refuses a link of a
    /// working contact.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn join<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        chats: &mut Chats,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        link: &InvitationLink,
        relay: &RelayAddress,
        batch: &mut StagedBatch,
    ) -> Result<ChatId, CoreError> {
        match Connector::chat_with(cx, link)? {
            Some((existing, true)) => Err(CoreError::AlreadyContact { chat: existing }),
            Some((existing, false)) => {
                self.join_existing_chat(cx, chats, now, rng, existing, link, relay, batch)?;
                Ok(existing)
            }
            None => {
                self.join_new_chat(cx, now, rng, chat, link, relay, batch);
                Ok(chat)
            }
        }
    }

    /// Refuses a short link this profile published (its invitation or
    /// address), as [`Connector::refuse_own`] does a full one.
    fn refuse_own_short<S: Store>(cx: &Shared<'_, S>, link: &ShortLink) -> Result<(), CoreError> {
        let mut records = InvitationRecord::load_all(cx.store())?;
        records.extend(InvitationRecord::load_address(cx.store())?);
        let own = records
            .iter()
            .filter_map(|record| record.published.as_ref())
            .any(|published| {
                published.link_id == Some(link.link_id) && published.relay == link.relay
            });
        if own {
            return Err(CoreError::InvalidValue("link: it is this profile's own"));
        }
        Ok(())
    }

    /// Ids for a new chat, its peer and their connection.
    pub(crate) fn new_ids<S: Store>(cx: &mut Shared<'_, S>) -> (ChatId, PeerId, ConnectionId) {
        (
            ChatId(cx.account.allocate_id()),
            PeerId(cx.account.allocate_id()),
            ConnectionId(cx.account.allocate_id()),
        )
    }

    /// Writes a new connection and asks for the queue it will receive on.
    #[allow(clippy::too_many_arguments)]
    fn new_connection<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        peer: PeerId,
        connection: ConnectionId,
        stage: Stage,
        relay: &RelayAddress,
        batch: &mut StagedBatch,
    ) {
        let meta = ConnectionMeta {
            id: connection,
            peer,
            chat,
            created_at: now.0,
        };
        meta.at(stage).put(batch);
        self.new_queue_job(
            cx,
            batch,
            now,
            rng,
            relay,
            QueueOwner::Connection(connection),
        );
    }

    /// Ends a chat's connection (queues, session, sequence numbers, jobs) but
    /// keeps the chat and its peer, ready for a new connection with the
    /// identity key `identity` (and the peer's `profile`, when known). Returns
    /// the peer and the new connection's id.
    #[allow(clippy::too_many_arguments)]
    fn reset_chat<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        chats: &mut Chats,
        now: UnixMillis,
        chat: ChatId,
        identity: [u8; 32],
        profile: Option<&crate::Profile>,
        batch: &mut StagedBatch,
    ) -> Result<(PeerId, ConnectionId), CoreError> {
        let mut record = ChatRecord::load(cx.store(), chat)?;
        let peer = record.peer()?;
        if let Some(old) = record.connection() {
            self.delete_connection(cx, chats, now, old, batch)?;
        }
        batch.delete_range(
            crate::chat_item::MESSAGE_SEQS,
            crate::KeyRange::prefix(&chat.0.to_be_bytes()),
        );
        let mut peer = PeerRecord::load(cx.store(), peer)?;
        if peer.set_identity(identity) {
            chats.add_notice(now, &mut record, ChatNotice::KeysChanged, batch);
        }
        if let Some(profile) = profile {
            peer.profile = Some(profile.clone());
        }
        let connection = ConnectionId(cx.account.allocate_id());
        record.set_connection(Some(connection));
        record.last_activity = now.0;
        record.put(batch);
        peer.put(batch);
        Ok((peer.id, connection))
    }

    /// Deletes a connection: its receiving queue (DEL on the relay), the jobs
    /// still waiting for its sending queue, its open session.
    fn delete_connection<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        chats: &mut Chats,
        now: UnixMillis,
        connection: ConnectionId,
        batch: &mut StagedBatch,
    ) -> Result<(), CoreError> {
        let record = match ConnectionRecord::load(cx.store(), connection) {
            Ok(record) => record,
            Err(CoreError::NotConnected) => return Ok(()),
            Err(error) => return Err(error),
        };
        if let Some(recipient_id) = record.stage.receive_queue()
            && let Some(queue) = QueueRecord::load(cx.store(), &recipient_id)?
        {
            Connector::delete_queue(cx, now, &queue, batch);
        }
        if let Some(channel) = record.stage.channel() {
            let lane = channel.send_queue.address.sender_id.as_bytes();
            crate::outbox::drop_lane(cx, chats, lane, batch);
        }
        ConnectionRecord::delete(connection, batch);
        chats.forget_connection(connection);
        cx.forget_session(connection);
        Ok(())
    }

    /// Deletes one of our queues: its record now, the queue on the relay by a
    /// DEL job.
    pub(crate) fn delete_queue<S: Store>(
        cx: &mut Shared<'_, S>,
        now: UnixMillis,
        queue: &QueueRecord,
        batch: &mut StagedBatch,
    ) {
        QueueRecord::delete(&queue.recipient_id, batch);
        let command = JobCommand::Del {
            recipient_id: queue.recipient_id,
            auth_secret: queue.auth_secret.clone(),
        };
        cx.add_job(batch, now, queue.relay.clone(), command, JobPurpose::None);
    }

    /// Rejects a contact request: it is deleted and leaves nothing behind.
    pub(crate) fn reject_request<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        request: RequestId,
    ) -> Result<(), CoreError> {
        RequestRecord::load(cx.store(), request)?;
        let mut batch = StagedBatch::new();
        batch.delete(REQUESTS, request.0.to_be_bytes().to_vec());
        cx.commit(batch)
    }

    fn new_pending_invitation<S: Store>(
        &self,
        cx: &Shared<'_, S>,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
    ) -> Result<InvitationRecord, CoreError> {
        let mut randomness = Zeroizing::new([0u8; INVITATION_RANDOMNESS_LEN]);
        rng.fill_bytes(randomness.as_mut());
        let pending = PendingInvitation::new(&cx.account.identity, &randomness)?;
        let mut nonce = [0u8; sotto_crypto::PICKLE_NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        Ok(InvitationRecord {
            created_at: now.0,
            pending: pending.pickle(&cx.account.pickle_key, &nonce),
            link: None,
            published: None,
        })
    }

    fn new_queue_job<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        batch: &mut StagedBatch,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        relay: &RelayAddress,
        owner: QueueOwner,
    ) {
        let command = JobCommand::New {
            auth_secret: random_secret(rng),
            dh_secret: random_secret(rng),
        };
        cx.add_job(
            batch,
            now,
            relay.clone(),
            command,
            JobPurpose::NewQueue(owner),
        );
    }
}
