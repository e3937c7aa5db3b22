//! A deterministic world for the core, in the manner of quinn's `Pair`: cores,
//! in-memory relays that implement the queue semantics of the relay protocol,
//! and a fake clock. Everything runs in one thread, in a fixed order.
//!
//! [`World`] answers each core's relay requests by calling a [`SimRelay`]
//! directly. [`network::Net`] carries them over the wire instead: real
//! `sotto_wire::ClientConnection`s, simulated sockets with latency that can be
//! cut or reset, and [`wire_relay::WireRelay`], a relay end built from
//! sotto-wire's server pieces around a [`SimRelay`]'s queues.

#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

pub mod network;
pub mod wire_relay;

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use sotto_core::{ChatId, Core, Event, MemoryStore, RelayRequest, UnixMillis};
use sotto_wire::x25519_dalek::{PublicKey, StaticSecret};
use sotto_wire::{
    CipherSuite, Command, ErrorCode, LinkBlob, LinkId, MessageContent, MessageId, QueueAuthKey,
    QueueKey, QueueMessage, RecipientId, RelayAddress, Response, SenderId,
};

pub const FINGERPRINTS: [&str; 2] = [
    "tgAwbPp2cj_ew5XlOps9n9t4seLXojwy_LzS3G0MQJI",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
];

pub fn relay_address(index: usize) -> RelayAddress {
    format!(
        "sotto+ws://{}@127.0.0.1:{}",
        FINGERPRINTS[index],
        7000 + index
    )
    .parse()
    .unwrap()
}

/// One stored message of a simulated queue.
#[derive(Clone, Debug)]
pub struct Stored {
    pub id: MessageId,
    pub message: QueueMessage,
}

pub struct SimQueue {
    pub sender_id: SenderId,
    pub recipient_key: QueueAuthKey,
    pub sender_key: Option<QueueAuthKey>,
    pub queue_key: QueueKey,
    pub messages: VecDeque<Stored>,
    pub delivered: Option<MessageId>,
    pub subscriber: Option<usize>,
}

/// A relay in memory: NEW, KEY, SUB, SEND, ACK, GET, OFF, DEL with the
/// semantics of docs/protocol.md (quota with a marker, one message in flight).
pub struct SimRelay {
    pub address: RelayAddress,
    pub queues: HashMap<RecipientId, SimQueue>,
    pub by_sender: HashMap<SenderId, RecipientId>,
    pub quota: usize,
    rng: ChaCha20Rng,
    /// SEND commands answered OK (a retry of stored bytes included).
    pub sends: usize,
    /// The last bodies each queue stored: SEND is idempotent (Part I §11.3).
    recent: HashMap<RecipientId, VecDeque<Vec<u8>>>,
    /// Link blobs (LNEW) with the key that may replace or delete them.
    pub links: HashMap<LinkId, (QueueAuthKey, LinkBlob)>,
}

/// The cipher suite of client `client`'s connection to relay `relay`: both
/// suites are in use in every world with two clients, and a client that uses
/// two relays speaks both.
pub fn suite(relay: usize, client: usize) -> CipherSuite {
    if (relay + client).is_multiple_of(2) {
        CipherSuite::Aes256Gcm
    } else {
        CipherSuite::ChaCha20Poly1305
    }
}

impl SimRelay {
    fn new(address: RelayAddress, seed: u64) -> SimRelay {
        SimRelay {
            address,
            queues: HashMap::new(),
            by_sender: HashMap::new(),
            quota: 128,
            rng: ChaCha20Rng::seed_from_u64(seed),
            sends: 0,
            recent: HashMap::new(),
            links: HashMap::new(),
        }
    }

    fn id(&mut self) -> [u8; 24] {
        let mut id = [0; 24];
        self.rng.fill_bytes(&mut id);
        id
    }

    pub fn new_message_id(&mut self) -> MessageId {
        MessageId::from_bytes(self.id())
    }

    /// Answers a request from client `client`; pushes go to `pushes`.
    fn handle(
        &mut self,
        client: usize,
        request: &RelayRequest,
        now: UnixMillis,
        pushes: &mut Vec<(usize, RecipientId, MessageId, QueueMessage)>,
    ) -> Response {
        // The real relay checks an authenticator made with a key derived
        // from this secret; here the secret's public key stands for it.
        let signer = request.auth_key.as_ref().map(|secret| secret.public_key());
        self.handle_command(client, &request.command, signer, now, pushes)
    }

    /// The index of this relay (its port's offset).
    fn index(&self) -> usize {
        (self.address.port - 7000) as usize
    }

    /// Answers `command` authorized by the queue key `signer`, from client
    /// `client` (whose connection's suite seals what GET returns).
    pub fn handle_command(
        &mut self,
        client: usize,
        command: &Command,
        signer: Option<QueueAuthKey>,
        now: UnixMillis,
        pushes: &mut Vec<(usize, RecipientId, MessageId, QueueMessage)>,
    ) -> Response {
        let suite = suite(self.index(), client);
        self.handle_command_sealed_with(client, suite, command, signer, now, pushes)
    }

    /// [`SimRelay::handle_command`] for subscriber `client` whose connection
    /// speaks `suite` (what GET seals with).
    pub fn handle_command_sealed_with(
        &mut self,
        client: usize,
        suite: CipherSuite,
        command: &Command,
        signer: Option<QueueAuthKey>,
        now: UnixMillis,
        pushes: &mut Vec<(usize, RecipientId, MessageId, QueueMessage)>,
    ) -> Response {
        let err = |entity, code| Response::Err { entity, code };
        let entity = command.entity();
        match command {
            Command::New {
                recipient_auth_key,
                recipient_dh_key,
                ..
            } => {
                assert_eq!(
                    signer.as_ref(),
                    Some(recipient_auth_key),
                    "NEW must be signed"
                );
                let recipient_id = RecipientId::from_bytes(self.id());
                let sender_id = SenderId::from_bytes(self.id());
                let mut secret = [0u8; 32];
                self.rng.fill_bytes(&mut secret);
                let secret = StaticSecret::from(secret);
                let queue_key = QueueKey::derive(&secret, recipient_dh_key).unwrap();
                self.queues.insert(
                    recipient_id,
                    SimQueue {
                        sender_id,
                        recipient_key: *recipient_auth_key,
                        sender_key: None,
                        queue_key,
                        messages: VecDeque::new(),
                        delivered: None,
                        subscriber: None,
                    },
                );
                self.by_sender.insert(sender_id, recipient_id);
                Response::Ids {
                    recipient_id,
                    sender_id,
                    queue_dh_key: PublicKey::from(&secret),
                }
            }
            Command::Send {
                sender_id, body, ..
            } => {
                let Some(recipient_id) = self.by_sender.get(sender_id).copied() else {
                    return err(entity, ErrorCode::Auth);
                };
                let quota = self.quota;
                let retried = self
                    .recent
                    .get(&recipient_id)
                    .is_some_and(|recent| recent.iter().any(|b| b.as_slice() == body.as_bytes()));
                let id = self.new_message_id();
                let queue = self.queues.get_mut(&recipient_id).unwrap();
                if let Some(key) = queue.sender_key
                    && signer != Some(key)
                {
                    return err(entity, ErrorCode::Auth);
                }
                if retried {
                    self.sends += 1;
                    return Response::Ok { entity };
                }
                let counted = queue
                    .messages
                    .iter()
                    .filter(|m| matches!(m.message.content, MessageContent::Body(_)))
                    .count();
                if counted >= quota {
                    let has_marker = queue
                        .messages
                        .iter()
                        .any(|m| m.message.content == MessageContent::QuotaReached);
                    if !has_marker {
                        queue.messages.push_back(Stored {
                            id,
                            message: QueueMessage {
                                timestamp: now.0 / 1000,
                                content: MessageContent::QuotaReached,
                            },
                        });
                        self.push(recipient_id, pushes);
                    }
                    return err(entity, ErrorCode::Quota);
                }
                queue.messages.push_back(Stored {
                    id,
                    message: QueueMessage {
                        timestamp: now.0 / 1000,
                        content: MessageContent::Body(body.clone()),
                    },
                });
                let recent = self.recent.entry(recipient_id).or_default();
                if recent.len() >= 16 {
                    recent.pop_front();
                }
                recent.push_back(body.as_bytes().to_vec());
                self.sends += 1;
                self.push(recipient_id, pushes);
                Response::Ok { entity }
            }
            Command::LinkNew {
                link_auth_key,
                blob,
                ..
            } => {
                assert_eq!(signer.as_ref(), Some(link_auth_key), "LNEW must be signed");
                let link_id = LinkId::from_bytes(self.id());
                self.links.insert(link_id, (*link_auth_key, blob.clone()));
                Response::LinkIds { link_id }
            }
            Command::LinkGet { link_id } => match self.links.get(link_id) {
                Some((_, blob)) => Response::Link {
                    link_id: *link_id,
                    blob: blob.clone(),
                },
                None => err(entity, ErrorCode::Auth),
            },
            Command::LinkSet { link_id, blob } => match self.links.get_mut(link_id) {
                Some((key, stored)) if signer == Some(*key) => {
                    *stored = blob.clone();
                    Response::Ok { entity }
                }
                _ => err(entity, ErrorCode::Auth),
            },
            Command::LinkDel { link_id } => match self.links.get(link_id) {
                Some((key, _)) if signer == Some(*key) => {
                    self.links.remove(link_id);
                    Response::Ok { entity }
                }
                _ => err(entity, ErrorCode::Auth),
            },
            command => {
                let recipient_id = RecipientId::from(entity.unwrap());
                let Some(queue) = self.queues.get_mut(&recipient_id) else {
                    return err(entity, ErrorCode::Auth);
                };
                if signer != Some(queue.recipient_key) {
                    return err(entity, ErrorCode::Auth);
                }
                match command {
                    Command::Key {
                        sender_auth_key, ..
                    } => match queue.sender_key {
                        Some(key) if key != *sender_auth_key => err(entity, ErrorCode::Auth),
                        _ => {
                            queue.sender_key = Some(*sender_auth_key);
                            Response::Ok { entity }
                        }
                    },
                    Command::Sub { .. } => {
                        queue.subscriber = Some(client);
                        queue.delivered = None;
                        self.push(recipient_id, pushes);
                        Response::Ok { entity }
                    }
                    Command::Ack { message_id, .. } => {
                        if queue.delivered != Some(*message_id) {
                            return err(entity, ErrorCode::NoMsg);
                        }
                        queue.messages.pop_front();
                        queue.delivered = None;
                        self.push(recipient_id, pushes);
                        Response::Ok { entity }
                    }
                    Command::Get { .. } => match queue.messages.front() {
                        Some(stored) => {
                            queue.delivered = Some(stored.id);
                            Response::Msg {
                                recipient_id,
                                message_id: stored.id,
                                sealed: queue
                                    .queue_key
                                    .seal(suite, &stored.id, &stored.message)
                                    .unwrap(),
                            }
                        }
                        None => err(entity, ErrorCode::NoMsg),
                    },
                    Command::Del { .. } => {
                        let sender_id = queue.sender_id;
                        self.queues.remove(&recipient_id);
                        self.by_sender.remove(&sender_id);
                        Response::Ok { entity }
                    }
                    _ => Response::Ok { entity },
                }
            }
        }
    }

    /// Pushes the pending message to the subscriber if none is in flight.
    fn push(
        &mut self,
        recipient_id: RecipientId,
        pushes: &mut Vec<(usize, RecipientId, MessageId, QueueMessage)>,
    ) {
        let Some(queue) = self.queues.get_mut(&recipient_id) else {
            return;
        };
        if queue.delivered.is_some() {
            return;
        }
        if let (Some(client), Some(stored)) = (queue.subscriber, queue.messages.front()) {
            queue.delivered = Some(stored.id);
            pushes.push((client, recipient_id, stored.id, stored.message.clone()));
        }
    }

    /// The queue a contact of `client` sends to, by its sender id.
    pub fn queue_of(&mut self, sender_id: &SenderId) -> &mut SimQueue {
        let recipient_id = self.by_sender[sender_id];
        self.queues.get_mut(&recipient_id).unwrap()
    }
}

pub struct Client {
    pub core: Core<MemoryStore>,
    pub relay: RelayAddress,
    pub rng: ChaCha20Rng,
    pub events: Vec<Event>,
    pub online: bool,
}

impl Client {
    pub fn restart(&mut self) {
        let store = self.core.store().clone();
        self.core = Core::open(store).unwrap();
    }
}

/// Cores, relays and a clock.
pub struct World {
    pub now: UnixMillis,
    pub clients: Vec<Client>,
    pub relays: Vec<SimRelay>,
    /// Requests handed out but not answered (a lost connection), per client.
    pub drop_responses: bool,
}

impl World {
    /// `names.len()` clients, client i on relay `relays[i]`.
    pub fn new(names: &[&str], relays: &[usize]) -> World {
        let relay_count = relays.iter().max().unwrap() + 1;
        let mut world = World {
            now: UnixMillis(1_800_000_000_000),
            clients: Vec::new(),
            relays: (0..relay_count)
                .map(|i| SimRelay::new(relay_address(i), 1000 + i as u64))
                .collect(),
            drop_responses: false,
        };
        for (index, name) in names.iter().enumerate() {
            let mut rng = ChaCha20Rng::seed_from_u64(index as u64 + 1);
            let profile = sotto_core::Profile::new(name, None).unwrap();
            let core = Core::create(MemoryStore::new(), &mut rng, profile).unwrap();
            world.clients.push(Client {
                core,
                relay: relay_address(relays[index]),
                rng,
                events: Vec::new(),
                online: true,
            });
        }
        world
    }

    fn relay_index(&self, address: &RelayAddress) -> usize {
        self.relays
            .iter()
            .position(|relay| &relay.address == address)
            .expect("known relay")
    }

    /// Runs until no client has anything to send and no push is pending.
    pub fn run(&mut self) {
        for _ in 0..100_000 {
            if !self.step() {
                return;
            }
        }
        panic!("the world did not settle");
    }

    /// One round: every online client's requests, answered at once.
    fn step(&mut self) -> bool {
        let mut progress = false;
        for index in 0..self.clients.len() {
            self.collect_events(index);
            if !self.clients[index].online {
                continue;
            }
            // A memory store is durable as soon as it is written.
            self.clients[index].core.sync().unwrap();
            while let Some(request) = self.clients[index].core.poll_relay_request() {
                progress = true;
                let relay = self.relay_index(&request.relay);
                let mut pushes = Vec::new();
                let response = self.relays[relay].handle(index, &request, self.now, &mut pushes);
                let now = self.now;
                let client = &mut self.clients[index];
                if self.drop_responses {
                    client
                        .core
                        .handle_relay_failure(now, request.token)
                        .unwrap();
                } else {
                    client
                        .core
                        .handle_relay_response(
                            now,
                            &mut client.rng,
                            request.token,
                            response,
                            suite(relay, index),
                        )
                        .unwrap();
                }
                self.deliver(relay, pushes);
            }
        }
        progress
    }

    fn deliver(
        &mut self,
        relay: usize,
        pushes: Vec<(usize, RecipientId, MessageId, QueueMessage)>,
    ) {
        for (client, recipient_id, message_id, message) in pushes {
            if !self.clients[client].online {
                continue;
            }
            let suite = suite(relay, client);
            let sealed = self.relays[relay].queues[&recipient_id]
                .queue_key
                .seal(suite, &message_id, &message)
                .unwrap();
            let now = self.now;
            let address = self.relays[relay].address.clone();
            let client = &mut self.clients[client];
            client
                .core
                .handle_delivery(
                    now,
                    &mut client.rng,
                    &address,
                    recipient_id,
                    message_id,
                    &sealed,
                    suite,
                )
                .unwrap();
        }
    }

    fn collect_events(&mut self, index: usize) {
        let client = &mut self.clients[index];
        client.core.sync().unwrap();
        while let Some(event) = client.core.poll_event().unwrap() {
            client.events.push(event);
        }
    }

    /// Moves the clock forward by `duration`, firing every timeout on the way.
    pub fn advance(&mut self, duration: Duration) {
        let end = self.now.after(duration);
        loop {
            self.run();
            let next = self
                .clients
                .iter()
                .filter_map(|client| client.core.poll_timeout())
                .filter(|&at| at <= end)
                .min();
            let Some(at) = next else { break };
            self.now = self.now.max(at);
            for client in &mut self.clients {
                client
                    .core
                    .handle_timeout(self.now, &mut client.rng)
                    .unwrap();
            }
        }
        self.now = end;
        for client in &mut self.clients {
            client
                .core
                .handle_timeout(self.now, &mut client.rng)
                .unwrap();
        }
        self.run();
    }

    /// Takes client `index` offline: its subscriptions end.
    pub fn go_offline(&mut self, index: usize) {
        self.clients[index].online = false;
        for relay in &mut self.relays {
            for queue in relay.queues.values_mut() {
                if queue.subscriber == Some(index) {
                    queue.subscriber = None;
                    queue.delivered = None;
                }
            }
        }
    }

    /// Ends client `index`'s subscriptions (messages wait in its queues) while
    /// it stays connected for sending.
    pub fn unsubscribe(&mut self, index: usize) {
        for relay in &mut self.relays {
            for queue in relay.queues.values_mut() {
                if queue.subscriber == Some(index) {
                    queue.subscriber = None;
                    queue.delivered = None;
                }
            }
        }
    }

    /// Subscribes client `index` again and lets everything waiting flow.
    pub fn resubscribe(&mut self, index: usize) {
        let now = self.now;
        let addresses: Vec<_> = self.relays.iter().map(|r| r.address.clone()).collect();
        for address in addresses {
            self.clients[index]
                .core
                .handle_relay_connected(now, &address)
                .unwrap();
        }
        self.run();
    }

    /// Brings client `index` back: it reconnects to every relay.
    pub fn go_online(&mut self, index: usize) {
        self.clients[index].online = true;
        let now = self.now;
        let addresses: Vec<_> = self.relays.iter().map(|r| r.address.clone()).collect();
        for address in addresses {
            self.clients[index]
                .core
                .handle_relay_connected(now, &address)
                .unwrap();
        }
        self.run();
    }

    /// Restarts client `index` from its store (a crash after the last call).
    pub fn restart(&mut self, index: usize) {
        self.go_offline(index);
        self.clients[index].restart();
        self.go_online(index);
    }

    /// Connects clients `a` (inviter) and `b` by a one-time invitation.
    pub fn connect(&mut self, a: usize, b: usize) -> (ChatId, ChatId) {
        let now = self.now;
        let relay = self.clients[a].relay.clone();
        let client = &mut self.clients[a];
        let invitation = client
            .core
            .create_invitation(now, &mut client.rng, &relay)
            .unwrap();
        self.run();
        let link = self.clients[a]
            .core
            .invitation_link(invitation)
            .unwrap()
            .expect("link ready");
        let relay = self.clients[b].relay.clone();
        let client = &mut self.clients[b];
        let contact_b = client
            .core
            .connect(now, &mut client.rng, &link, &relay)
            .unwrap();
        self.run();
        let contact_a = self.clients[a]
            .core
            .chats()
            .unwrap()
            .into_iter()
            .find(|c| c.name.as_deref() == Some(self.clients[b].core.profile().display_name()))
            .expect("contact on the inviter's side")
            .id;
        (contact_a, contact_b)
    }

    pub fn send_text(
        &mut self,
        from: usize,
        contact: ChatId,
        text: &str,
    ) -> sotto_core::MessageNumber {
        let now = self.now;
        let client = &mut self.clients[from];
        client
            .core
            .send_text(now, &mut client.rng, contact, text, None)
            .unwrap()
    }

    /// The texts of a chat, oldest first (notices as `[notice]`).
    pub fn texts(&self, client: usize, contact: ChatId) -> Vec<String> {
        self.clients[client]
            .core
            .history(contact, None, 10_000)
            .unwrap()
            .into_iter()
            .map(|item| match (item.text, item.notice) {
                (Some(text), _) => text,
                (None, Some(notice)) => format!("[{:?}]", notice.0),
                (None, None) => String::new(),
            })
            .collect()
    }
}
