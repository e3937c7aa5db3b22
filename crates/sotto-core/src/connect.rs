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
use crate::connection_records::{
    ADDRESS_ANSWERS, INVITATIONS, InvitationRecord, REQUESTS, RequestRecord,
};
use crate::contact::{ConnectionState, ContactRecord, SendQueue};
use crate::core::{Core, random_secret};
use crate::event::{Event, Pending};
use crate::ids::{ChatId, InvitationId, RequestId};
use crate::job::{JobCommand, JobPurpose};
use crate::link::{InvitationLink, LinkKind};
use crate::queue_record::{QueueOwner, QueueRecord};
use crate::time::UnixMillis;
use crate::{CoreError, Store, WriteBatch};

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

    /// Deletes a contact: its receiving queue is deleted on the relay, its
    /// chat and everything queued for it are forgotten.
    pub fn delete_contact(&mut self, now: UnixMillis, contact: ChatId) -> Result<(), CoreError> {
        let record = ContactRecord::load(&self.store, contact)?;
        let mut batch = WriteBatch::new();
        self.delete_queues_of(now, &record, &mut batch)?;
        let mut before = None;
        loop {
            let page = self.items(contact, before, 256)?;
            let Some(first) = page.first() else { break };
            before = Some(first.number);
            for item in &page {
                item.delete(&self.store, &mut batch)?;
            }
        }
        batch.delete(
            crate::contact::CONTACTS,
            ContactRecord::key(contact).to_vec(),
        );
        self.commit(batch)?;
        self.notify(Pending::Ready(Event::ChatRemoved { chat: contact }));
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
        let id = ChatId(self.account.allocate_id());
        let peer = link.invitation.identity().to_bytes();
        let mut contact = ContactRecord::new(id, ConnectionState::Joining, now.0, peer);
        contact.link_payload = Some(link.payload());
        let mut batch = WriteBatch::new();
        contact.put(&mut batch);
        self.new_queue_job(&mut batch, now, rng, relay, QueueOwner::Contact(id));
        self.commit(batch)?;
        self.notify(Pending::ChatChanged(id));
        self.tick(now)?;
        Ok(id)
    }

    /// Accepts a contact request: a queue for this contact is made on `relay`,
    /// then the contact is confirmed.
    pub fn accept_request(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        request: RequestId,
        relay: &RelayAddress,
    ) -> Result<ChatId, CoreError> {
        let record = RequestRecord::load(&self.store, request)?;
        let id = ChatId(self.account.allocate_id());
        let contact =
            ContactRecord::new(id, ConnectionState::Accepting, now.0, record.peer_identity);
        self.accept_into(now, rng, request, record, contact, relay)
    }

    /// Accepts a contact request as a new connection of an existing contact
    /// (who lost their device, say): the chat is kept, the old queues are
    /// deleted, and if the identity key differs the chat shows
    /// [`ChatNotice::KeysChanged`] and the contact is no longer verified.
    pub fn accept_request_into(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        request: RequestId,
        contact: ChatId,
        relay: &RelayAddress,
    ) -> Result<ChatId, CoreError> {
        let record = RequestRecord::load(&self.store, request)?;
        let mut batch = WriteBatch::new();
        let contact = self.reset_contact(
            now,
            contact,
            record.peer_identity,
            ConnectionState::Accepting,
            &mut batch,
        )?;
        self.commit(batch)?;
        self.accept_into(now, rng, request, record, contact, relay)
    }

    fn accept_into(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        request: RequestId,
        record: RequestRecord,
        mut contact: ContactRecord,
        relay: &RelayAddress,
    ) -> Result<ChatId, CoreError> {
        let id = contact.id;
        contact.profile = Some(record.profile.clone());
        contact.session = Some(record.session.clone());
        contact.peer_sender_key = Some(record.sender_key);
        contact.send_queue = Some(SendQueue {
            address: record.reply_queue.clone(),
            signing_key: random_secret(rng),
        });
        contact.incoming.receive(1, &[0; 32], record.hello_hash);
        let mut batch = WriteBatch::new();
        batch.delete(REQUESTS, request.0.to_be_bytes().to_vec());
        contact.put(&mut batch);
        self.new_queue_job(&mut batch, now, rng, relay, QueueOwner::Contact(id));
        self.commit(batch)?;
        self.notify(Pending::ChatChanged(id));
        self.tick(now)?;
        Ok(id)
    }

    /// Connects an existing contact again through a new link (the contact
    /// lost their device, say): like [`Core::connect`], but the chat is kept,
    /// the old queues are deleted, and if the identity key differs the chat
    /// shows [`ChatNotice::KeysChanged`] and the contact is no longer verified.
    pub fn reconnect(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        contact: ChatId,
        link: &str,
        relay: &RelayAddress,
    ) -> Result<(), CoreError> {
        let link = InvitationLink::parse(link)?;
        self.refuse_own(&link)?;
        let peer = link.invitation.identity().to_bytes();
        let mut batch = WriteBatch::new();
        let mut record =
            self.reset_contact(now, contact, peer, ConnectionState::Joining, &mut batch)?;
        record.link_payload = Some(link.payload());
        record.put(&mut batch);
        self.new_queue_job(&mut batch, now, rng, relay, QueueOwner::Contact(contact));
        self.commit(batch)?;
        self.notify(Pending::ChatChanged(contact));
        self.tick(now)
    }

    fn refuse_own(&self, link: &InvitationLink) -> Result<(), CoreError> {
        if link.invitation.identity() == self.account.identity.public_key() {
            return Err(CoreError::InvalidValue("link: it is this profile's own"));
        }
        Ok(())
    }

    /// Forgets a contact's connection (queues, session, sequence numbers, jobs)
    /// but keeps its chat, ready for a new connection with `peer`.
    fn reset_contact(
        &mut self,
        now: UnixMillis,
        contact: ChatId,
        peer: [u8; 32],
        state: ConnectionState,
        batch: &mut WriteBatch,
    ) -> Result<ContactRecord, CoreError> {
        let old = ContactRecord::load(&self.store, contact)?;
        self.delete_queues_of(now, &old, batch)?;
        batch.delete_range(
            crate::chat_item::MESSAGE_SEQS,
            crate::KeyRange::prefix(&contact.0.to_be_bytes()),
        );
        let mut record = ContactRecord::new(contact, state, old.created_at, peer);
        record.next_number = old.next_number;
        record.timer_secs = old.timer_secs;
        record.read_receipts = old.read_receipts;
        record.profile = old.profile.clone();
        record.unread = old.unread;
        record.last_activity = now.0;
        record.verified = old.verified && old.peer_identity == peer;
        if old.peer_identity != peer {
            self.add_notice(now, &mut record, ChatNotice::KeysChanged, batch);
        }
        record.put(batch);
        Ok(record)
    }

    /// Deletes a contact's receiving queue (DEL on the relay) and drops the
    /// jobs still waiting for its sending queue.
    fn delete_queues_of(
        &mut self,
        now: UnixMillis,
        record: &ContactRecord,
        batch: &mut WriteBatch,
    ) -> Result<(), CoreError> {
        if let Some(recipient_id) = record.receive_queue
            && let Some(queue) = QueueRecord::load(&self.store, &recipient_id)?
        {
            QueueRecord::delete(&recipient_id, batch);
            let command = JobCommand::Del {
                recipient_id,
                auth_secret: queue.auth_secret.clone(),
            };
            self.add_job(batch, now, queue.relay.clone(), command, JobPurpose::None);
        }
        if let Some(send_queue) = &record.send_queue {
            self.drop_lane(send_queue.address.sender_id.as_bytes(), batch);
        }
        Ok(())
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

    /// The relay made a queue (IDS): carry on with what it is for.
    pub(crate) fn queue_created(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        queue: &QueueRecord,
        batch: &mut WriteBatch,
    ) -> Result<(), CoreError> {
        match queue.owner {
            QueueOwner::Invitation(id) => {
                let Some(mut record) = InvitationRecord::load(&self.store, id)? else {
                    return Ok(());
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
                    return Ok(());
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
            QueueOwner::Contact(id) => {
                let mut contact = ContactRecord::load(&self.store, id)?;
                contact.receive_queue = Some(queue.recipient_id);
                match contact.state {
                    ConnectionState::Joining => {
                        self.send_answer(now, rng, &mut contact, queue, batch)?
                    }
                    ConnectionState::Accepting => {
                        self.confirm(now, rng, &mut contact, queue, Some(queue), batch)?;
                    }
                    ConnectionState::AwaitingConfirmation | ConnectionState::Connected => {}
                }
                contact.put(batch);
            }
        }
        Ok(())
    }

    /// Joiner: runs the key agreement and sends the answer with our Hello.
    fn send_answer(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        contact: &mut ContactRecord,
        queue: &QueueRecord,
        batch: &mut WriteBatch,
    ) -> Result<(), CoreError> {
        // The link stays until the confirmation, which must match its kind.
        let payload = contact
            .link_payload
            .clone()
            .ok_or(CoreError::CorruptRecord("contact link"))?;
        let link = InvitationLink::from_payload(&payload)?;
        let sender_secret = random_secret(rng);
        let sender_key = QueueAuthSecret::from_bytes(*sender_secret).public_key();
        let hello = Envelope {
            seq: contact.outgoing.next_seq,
            prev_hash: contact.outgoing.last_hash,
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
        contact.outgoing.next_seq += 1;
        contact.outgoing.last_hash = envelope_hash(&plaintext);
        contact.session = Some(self.pickle_session(rng, &session));
        let command = JobCommand::Send {
            sender_id: link.queue.sender_id,
            auth_secret: None,
            body: answer,
        };
        let purpose = JobPurpose::Answer {
            contact: contact.id,
        };
        self.add_job(batch, now, link.queue.relay.clone(), command, purpose);
        contact.send_queue = Some(SendQueue {
            address: link.queue,
            signing_key: sender_secret,
        });
        contact.state = ConnectionState::AwaitingConfirmation;
        Ok(())
    }

    /// Inviter: secures our queue with the joiner's key and sends Confirm
    /// (with `reply_queue` when the joiner must switch to a new queue).
    fn confirm(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        contact: &mut ContactRecord,
        queue: &QueueRecord,
        reply_queue: Option<&QueueRecord>,
        batch: &mut WriteBatch,
    ) -> Result<(), CoreError> {
        let sender_key = contact
            .peer_sender_key
            .take()
            .ok_or(CoreError::CorruptRecord("contact sender key"))?;
        let command = JobCommand::Key {
            recipient_id: queue.recipient_id,
            auth_secret: queue.auth_secret.clone(),
            sender_key,
        };
        self.add_job(batch, now, queue.relay.clone(), command, JobPurpose::None);
        let send_queue = contact
            .send_queue
            .as_ref()
            .ok_or(CoreError::CorruptRecord("contact send queue"))?;
        let our_key = QueueAuthSecret::from_bytes(*send_queue.signing_key).public_key();
        let content = Content::Confirm {
            sender_key: *our_key.as_bytes(),
            profile: self.account.profile.clone(),
            reply_queue: reply_queue.map(QueueRecord::address),
        };
        let mut session = self.load_session(contact)?;
        // The joiner's queue is not secured yet: Confirm goes unsigned.
        self.send_envelope(now, rng, contact, &mut session, content, false, None, batch)?;
        contact.session = Some(self.pickle_session(rng, &session));
        contact.state = ConnectionState::Connected;
        self.add_notice(now, contact, ChatNotice::Connected, batch);
        self.notify(Pending::Connected(contact.id));
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
        let id = ChatId(self.account.allocate_id());
        let peer = session.peer_identity().to_bytes();
        let mut contact = ContactRecord::new(id, ConnectionState::Accepting, now.0, peer);
        contact.profile = Some(profile);
        contact.receive_queue = Some(queue.recipient_id);
        contact.peer_sender_key = Some(sender_key);
        contact.session = Some(self.pickle_session(rng, &session));
        contact.send_queue = Some(SendQueue {
            address: reply_queue,
            signing_key: random_secret(rng),
        });
        contact
            .incoming
            .receive(hello.seq, &hello.prev_hash, envelope_hash(&plaintext));
        batch.delete(INVITATIONS, invitation.0.to_be_bytes().to_vec());
        queue.owner = QueueOwner::Contact(id);
        self.confirm(now, rng, &mut contact, queue, None, batch)?;
        contact.put(batch);
        Ok(())
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
        let id = RequestId(self.account.allocate_id());
        RequestRecord {
            received_at: now.0,
            peer_identity: session.peer_identity().to_bytes(),
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

    /// Joiner: the inviter's Confirm arrived.
    pub(crate) fn receive_confirm(
        &mut self,
        now: UnixMillis,
        contact: &mut ContactRecord,
        sender_key: [u8; 32],
        profile: crate::Profile,
        reply_queue: Option<crate::QueueAddress>,
        batch: &mut WriteBatch,
    ) -> Result<(), CoreError> {
        if contact.state != ConnectionState::AwaitingConfirmation {
            return Err(CoreError::UnexpectedMessage("confirmation"));
        }
        // Only a contact address's owner moves us to a new queue; a one-time
        // inviter keeps the queue of its link.
        let kind = match contact.link_payload.take() {
            Some(payload) => Some(InvitationLink::from_payload(&payload)?.kind),
            None => None,
        };
        if kind == Some(LinkKind::OneTime) && reply_queue.is_some() {
            return Err(CoreError::UnexpectedMessage("reply queue"));
        }
        let recipient_id = contact
            .receive_queue
            .ok_or(CoreError::CorruptRecord("contact queue"))?;
        let queue = QueueRecord::load(&self.store, &recipient_id)?
            .ok_or(CoreError::CorruptRecord("contact queue"))?;
        let command = JobCommand::Key {
            recipient_id,
            auth_secret: queue.auth_secret.clone(),
            sender_key,
        };
        self.add_job(batch, now, queue.relay.clone(), command, JobPurpose::None);
        if let (Some(reply), Some(send_queue)) = (reply_queue, contact.send_queue.as_mut()) {
            send_queue.address = reply;
        }
        contact.profile = Some(profile);
        contact.state = ConnectionState::Connected;
        self.add_notice(now, contact, ChatNotice::Connected, batch);
        self.notify(Pending::Connected(contact.id));
        Ok(())
    }
}
