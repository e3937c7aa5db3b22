//! One client connection to a relay, sans-IO: the handshake, command keys and
//! authenticators, random correlation ids, batching of commands into blocks,
//! keep-alive and request timeouts.
//!
//! It owns no socket and no clock, in quinn-proto's manner. A driver (the tokio
//! runtime, the browser bridge, a test) feeds it what arrives with
//! [`ClientConnection::handle_frame`] and the time with
//! [`ClientConnection::handle_timeout`], hands it commands with
//! [`ClientConnection::submit`], and takes out what to do:
//! [`ClientConnection::poll_transmit`] (frames to write),
//! [`ClientConnection::poll_event`] (answers, pushes, the end) and
//! [`ClientConnection::poll_timeout`] (when to call back). Time is a
//! [`Duration`] since any fixed origin the driver chooses.
//!
//! Commands wait until the handshake is done; then every `poll_transmit` fills
//! one block with as many waiting commands as fit, never putting a sender-side
//! command (SEND) and a recipient-side command in the same block, so no block
//! links a queue's two ids; likewise a file chunk's upload-side commands (FPUT,
//! FSTAT, FDEL) and download-side ones (FGET, FACK) go in blocks of their own.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use crate::WireError;
use crate::address::RelayFingerprint;
use crate::auth::{AUTHENTICATOR_LEN, CommandKey, QueueAuthSecret};
use crate::block::{Block, InnerBlock, MAX_TRANSMISSION_LEN};
use crate::command::Command;
use crate::handshake::ClientHandshake;
use crate::ids::CorrId;
use crate::response::Response;
use crate::suite::CipherSuite;
use crate::transmission::Transmission;
use crate::transport::{SessionParameters, Transport};
use crate::version::VersionRange;

/// The id of the connection's own keep-alive PING (drivers' ids start at 1).
const KEEPALIVE: RequestId = RequestId(0);

/// Command keys a connection keeps (about 100 bytes each); more queues than
/// this only cost some derivations again.
const COMMAND_KEY_CAPACITY: usize = 4096;

/// How a connection behaves. `Default` suits a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionConfig {
    /// Time the relay has to answer the hello.
    pub handshake_timeout: Duration,
    /// Time the relay has to answer a command.
    pub request_timeout: Duration,
    /// With nothing received for this long, send a PING.
    pub keepalive_interval: Duration,
    /// With nothing received for this long after the PING, the connection is
    /// dead.
    pub keepalive_timeout: Duration,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            handshake_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            keepalive_interval: Duration::from_secs(20),
            keepalive_timeout: Duration::from_secs(15),
        }
    }
}

/// Identifies a submitted command until its [`Event::Answer`] or
/// [`Event::Failed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(u64);

impl RequestId {
    /// The id's number (unique per connection, increasing).
    pub const fn number(self) -> u64 {
        self.0
    }
}

/// A command to send, with the secret of the queue key that authorizes it.
#[derive(Debug, Clone)]
pub struct Request {
    /// The command.
    pub command: Command,
    /// The queue auth secret for its authenticator; `None` for commands sent
    /// without one (PING, a SEND to a queue not yet secured).
    pub auth: Option<QueueAuthSecret>,
}

/// Why a request got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestFailure {
    /// The relay did not answer in time.
    Timeout,
    /// The connection ended first; the command may or may not have run.
    Closed,
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionEnd {
    /// The handshake failed (wrong relay key, no common version or suite, …).
    Handshake(WireError),
    /// The relay broke the protocol (a block that does not open or parse).
    Protocol(WireError),
    /// The relay stopped answering (handshake or keep-alive timed out).
    TimedOut,
    /// The driver closed it (the socket closed, or the owner let go).
    Closed,
}

/// What the connection reports to its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The handshake is done; commands go out from now on.
    Connected(SessionParameters),
    /// The relay answered a request.
    Answer {
        /// The request.
        id: RequestId,
        /// Its answer.
        response: Response,
    },
    /// The request got no answer.
    Failed {
        /// The request.
        id: RequestId,
        /// Why.
        reason: RequestFailure,
    },
    /// Something the relay pushed: MSG on a subscribed queue, END, ERR BLOCK.
    Push(Response),
    /// The connection is over; every request still open was failed before this.
    Ended(ConnectionEnd),
}

/// Which party of a queue a command speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// No queue id (NEW, PING): fits in any block.
    Neutral,
    /// Carries a sender id (SEND).
    Sender,
    /// Carries a recipient id (or a link id).
    Recipient,
    /// Carries a chunk's upload id (FPUT, FSTAT, FDEL).
    Uploader,
    /// Carries a chunk's download id (FGET, FACK).
    Downloader,
}

/// The SEND tag: the one command whose entity is a sender id.
const TAG_SEND: u8 = 0x04;

/// The tags of the commands whose entity is an upload id: FPUT, FSTAT, FDEL.
const UPLOAD_TAGS: [u8; 3] = [0x0f, 0x10, 0x12];

/// The tags of the commands whose entity is a download id: FGET, FACK.
const DOWNLOAD_TAGS: [u8; 2] = [0x11, 0x13];

/// What waits in the queue to go out.
enum Outgoing {
    Command(Request),
    /// A transmission sent as it is (tests of a relay's refusals).
    Raw(Transmission),
}

impl Outgoing {
    fn side(&self) -> Side {
        let (tag, has_entity) = match self {
            Outgoing::Command(request) => {
                (request.command.tag(), request.command.entity().is_some())
            }
            Outgoing::Raw(transmission) => (transmission.tag, transmission.entity.is_some()),
        };
        match (tag, has_entity) {
            (_, false) => Side::Neutral,
            (TAG_SEND, true) => Side::Sender,
            (tag, true) if UPLOAD_TAGS.contains(&tag) => Side::Uploader,
            (tag, true) if DOWNLOAD_TAGS.contains(&tag) => Side::Downloader,
            (_, true) => Side::Recipient,
        }
    }
}

enum State {
    Handshaking {
        handshake: Box<ClientHandshake>,
        hello: Option<Block>,
        deadline: Duration,
    },
    Established(Box<Transport>),
    Ended,
}

struct Waiting {
    id: RequestId,
    /// The connection's own keep-alive PING, not a driver's request.
    keepalive: bool,
}

/// A client's connection to one relay. See the module documentation.
pub struct ClientConnection {
    config: ConnectionConfig,
    fingerprint: RelayFingerprint,
    state: State,
    rng: ChaCha20Rng,
    next_request: u64,
    /// Commands not sent yet, in order, with their encoded length.
    queue: VecDeque<(RequestId, Outgoing, usize)>,
    queued_bytes: usize,
    /// Requests sent and not answered, by correlation id.
    waiting: HashMap<CorrId, Waiting>,
    /// Deadlines in the order commands were sent (timeouts are all equal, so
    /// the front is the earliest); answered entries are skipped lazily.
    deadlines: VecDeque<(Duration, CorrId)>,
    /// Command keys by a keyed hash of their queue's secret (see
    /// [`ClientConnection::command_key`]).
    command_keys: HashMap<[u8; 32], CommandKey>,
    /// The key of that hash, random per connection.
    command_key_index: [u8; 32],
    last_received: Duration,
    keepalive_sent: bool,
    events: VecDeque<Event>,
    /// [`Event::Ended`] was reported (the state may be taken out meanwhile).
    ended: bool,
}

impl ClientConnection {
    /// Starts a connection to the relay with `fingerprint`: the hello is the
    /// first thing [`ClientConnection::poll_transmit`] returns. `seed` is 32
    /// bytes from the driver's secure RNG: the handshake's ephemeral key and
    /// the correlation ids are drawn from it.
    pub fn new(
        fingerprint: RelayFingerprint,
        config: ConnectionConfig,
        seed: [u8; 32],
        now: Duration,
    ) -> ClientConnection {
        ClientConnection::with_suites(fingerprint, config, seed, now, CipherSuite::offered())
    }

    /// [`ClientConnection::new`] offering these cipher suites (tests, and
    /// measurements of each suite).
    pub fn with_suites(
        fingerprint: RelayFingerprint,
        config: ConnectionConfig,
        seed: [u8; 32],
        now: Duration,
        suites: &[CipherSuite],
    ) -> ClientConnection {
        let command_key_index = blake3::derive_key("sotto-wire command key index", &seed);
        let mut rng = ChaCha20Rng::from_seed(seed);
        let mut ephemeral = [0; 32];
        rng.fill_bytes(&mut ephemeral);
        let (handshake, hello) =
            ClientHandshake::start_with_suites(ephemeral, VersionRange::SUPPORTED, suites);
        ClientConnection {
            config,
            fingerprint,
            state: State::Handshaking {
                handshake: Box::new(handshake),
                hello: Some(hello),
                deadline: now.saturating_add(config.handshake_timeout),
            },
            rng,
            next_request: 1,
            queue: VecDeque::new(),
            queued_bytes: 0,
            waiting: HashMap::new(),
            deadlines: VecDeque::new(),
            command_keys: HashMap::new(),
            command_key_index,
            last_received: now,
            keepalive_sent: false,
            events: VecDeque::new(),
            ended: false,
        }
    }

    /// Whether the handshake is done and the connection has not ended.
    pub fn is_established(&self) -> bool {
        matches!(self.state, State::Established(_))
    }

    /// Whether the connection has ended.
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// What the handshake settled, once it is done.
    pub fn parameters(&self) -> Option<SessionParameters> {
        match &self.state {
            State::Established(transport) => Some(transport.parameters()),
            _ => None,
        }
    }

    /// Bytes of commands waiting to go out: a driver stops taking new
    /// commands above its own bound (back-pressure in bytes).
    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes
    }

    /// Requests sent and not answered yet.
    pub fn requests_in_flight(&self) -> usize {
        self.waiting
            .values()
            .filter(|waiting| !waiting.keepalive)
            .count()
    }

    /// Queues a command. [`WireError::BatchFull`] if it could never fit in a
    /// block (nothing is queued then).
    pub fn submit(&mut self, request: Request) -> Result<RequestId, WireError> {
        let len = request_len(&request);
        if len > MAX_TRANSMISSION_LEN {
            return Err(WireError::BatchFull);
        }
        Ok(self.enqueue(Outgoing::Command(request), len))
    }

    /// Queues a transmission exactly as given (authenticator and all), for
    /// tests of a relay's refusals. Its correlation id is kept unless it is the
    /// push id or already in use, then a fresh one replaces it.
    pub fn dangerous_submit_transmission(
        &mut self,
        transmission: Transmission,
    ) -> Result<RequestId, WireError> {
        let len = transmission.encoded_len();
        if len > MAX_TRANSMISSION_LEN {
            return Err(WireError::BatchFull);
        }
        Ok(self.enqueue(Outgoing::Raw(transmission), len))
    }

    fn enqueue(&mut self, outgoing: Outgoing, len: usize) -> RequestId {
        let id = RequestId(self.next_request);
        self.next_request += 1;
        if self.is_ended() {
            self.events.push_back(Event::Failed {
                id,
                reason: RequestFailure::Closed,
            });
            return id;
        }
        self.queued_bytes += len;
        self.queue.push_back((id, outgoing, len));
        id
    }

    /// The next frame to write to the socket, if any.
    pub fn poll_transmit(&mut self, now: Duration) -> Option<Block> {
        match &mut self.state {
            State::Handshaking { hello, .. } => hello.take(),
            State::Ended => None,
            State::Established(_) => self.next_block(now),
        }
    }

    /// A frame from the relay.
    pub fn handle_frame(&mut self, now: Duration, frame: &[u8]) {
        if self.is_ended() {
            return;
        }
        self.last_received = now;
        self.keepalive_sent = false;
        let block = match Block::from_slice(frame) {
            Ok(block) => block,
            Err(error) => return self.end(ConnectionEnd::Protocol(error)),
        };
        match std::mem::replace(&mut self.state, State::Ended) {
            State::Handshaking {
                handshake, hello, ..
            } => {
                if hello.is_some() {
                    // The relay spoke before our hello went out.
                    return self.end(ConnectionEnd::Protocol(WireError::UnexpectedHelloKind(2)));
                }
                match handshake.handle_server_hello(&block, &self.fingerprint) {
                    Ok(transport) => {
                        let parameters = transport.parameters();
                        self.state = State::Established(Box::new(transport));
                        self.events.push_back(Event::Connected(parameters));
                    }
                    Err(error) => self.end(ConnectionEnd::Handshake(error)),
                }
            }
            State::Established(mut transport) => {
                let opened = transport.open(block);
                self.state = State::Established(transport);
                match opened.and_then(|inner| self.handle_inner(&inner)) {
                    Ok(()) => {}
                    Err(error) => self.end(ConnectionEnd::Protocol(error)),
                }
            }
            State::Ended => {}
        }
    }

    fn handle_inner(&mut self, inner: &InnerBlock) -> Result<(), WireError> {
        for encoded in inner.transmissions() {
            let transmission = Transmission::decode(encoded)?;
            let response = Response::from_transmission(&transmission)?;
            if transmission.corr_id.is_push() {
                self.events.push_back(Event::Push(response));
                continue;
            }
            // An answer to a request that timed out already is dropped.
            if let Some(waiting) = self.waiting.remove(&transmission.corr_id)
                && !waiting.keepalive
            {
                self.events.push_back(Event::Answer {
                    id: waiting.id,
                    response,
                });
            }
        }
        Ok(())
    }

    /// The next thing to report, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`ClientConnection::handle_timeout`] must be called next.
    pub fn poll_timeout(&mut self) -> Option<Duration> {
        match &self.state {
            State::Ended => None,
            State::Handshaking { deadline, .. } => Some(*deadline),
            State::Established(_) => {
                self.drop_answered_deadlines();
                let keepalive = if self.keepalive_sent {
                    self.last_received
                        .saturating_add(self.config.keepalive_interval)
                        .saturating_add(self.config.keepalive_timeout)
                } else {
                    self.last_received
                        .saturating_add(self.config.keepalive_interval)
                };
                let request = self.deadlines.front().map(|(deadline, _)| *deadline);
                Some(request.map_or(keepalive, |request| request.min(keepalive)))
            }
        }
    }

    /// The time has come (see [`ClientConnection::poll_timeout`]): fail late
    /// requests, send a keep-alive, or end a dead connection.
    pub fn handle_timeout(&mut self, now: Duration) {
        match &self.state {
            State::Ended => {}
            State::Handshaking { deadline, .. } => {
                if now >= *deadline {
                    self.end(ConnectionEnd::TimedOut);
                }
            }
            State::Established(_) => {
                while let Some(&(deadline, corr_id)) = self.deadlines.front() {
                    if deadline > now {
                        break;
                    }
                    self.deadlines.pop_front();
                    if let Some(waiting) = self.waiting.remove(&corr_id)
                        && !waiting.keepalive
                    {
                        self.events.push_back(Event::Failed {
                            id: waiting.id,
                            reason: RequestFailure::Timeout,
                        });
                    }
                }
                let silent = now.saturating_sub(self.last_received);
                if self.keepalive_sent {
                    if silent >= self.config.keepalive_interval + self.config.keepalive_timeout {
                        self.end(ConnectionEnd::TimedOut);
                    }
                } else if silent >= self.config.keepalive_interval {
                    self.keepalive_sent = true;
                    let request = Request {
                        command: Command::Ping,
                        auth: None,
                    };
                    let len = request_len(&request);
                    self.queued_bytes += len;
                    // Keep-alives jump the queue: they test the line, not the backlog.
                    self.queue
                        .push_front((KEEPALIVE, Outgoing::Command(request), len));
                }
            }
        }
    }

    /// Ends the connection (the socket closed, or its owner is done with it):
    /// every open request fails with [`RequestFailure::Closed`].
    pub fn close(&mut self) {
        self.end(ConnectionEnd::Closed);
    }

    fn end(&mut self, reason: ConnectionEnd) {
        if self.ended {
            return;
        }
        self.ended = true;
        self.state = State::Ended;
        let mut failed: Vec<RequestId> = self
            .waiting
            .drain()
            .filter(|(_, waiting)| !waiting.keepalive)
            .map(|(_, waiting)| waiting.id)
            .collect();
        failed.sort();
        failed.extend(
            self.queue
                .drain(..)
                .map(|(id, _, _)| id)
                .filter(|&id| id != KEEPALIVE),
        );
        self.queued_bytes = 0;
        self.deadlines.clear();
        for id in failed {
            self.events.push_back(Event::Failed {
                id,
                reason: RequestFailure::Closed,
            });
        }
        self.events.push_back(Event::Ended(reason));
    }

    fn drop_answered_deadlines(&mut self) {
        while let Some((_, corr_id)) = self.deadlines.front() {
            if self.waiting.contains_key(corr_id) {
                break;
            }
            self.deadlines.pop_front();
        }
    }

    /// Fills one block with waiting commands and seals it.
    fn next_block(&mut self, now: Duration) -> Option<Block> {
        let mut inner = InnerBlock::new();
        let mut block_side = Side::Neutral;
        let mut sent = Vec::new();
        while let Some((_, outgoing, len)) = self.queue.front() {
            let side = outgoing.side();
            let conflict = match (block_side, side) {
                (Side::Neutral, _) | (_, Side::Neutral) => false,
                (ours, theirs) => ours != theirs,
            };
            if conflict || !inner.fits(*len) {
                break;
            }
            let Some((id, outgoing, len)) = self.queue.pop_front() else {
                break;
            };
            self.queued_bytes = self.queued_bytes.saturating_sub(len);
            if side != Side::Neutral {
                block_side = side;
            }
            let encoded = match outgoing {
                Outgoing::Command(request) => {
                    let corr_id = self.fresh_corr_id();
                    self.encode(&request, corr_id)
                }
                Outgoing::Raw(mut transmission) => {
                    if transmission.corr_id.is_push()
                        || self.waiting.contains_key(&transmission.corr_id)
                    {
                        transmission.corr_id = self.fresh_corr_id();
                    }
                    Ok(transmission)
                }
            };
            let transmission = match encoded {
                Ok(transmission) => transmission,
                Err(_) => {
                    // A queue key that is a low-order point cannot authorize
                    // anything: the relay would refuse it; answer for it.
                    self.events.push_back(Event::Failed {
                        id,
                        reason: RequestFailure::Closed,
                    });
                    continue;
                }
            };
            let corr_id = transmission.corr_id;
            if inner.push_encoded(transmission.encode()).is_err() {
                break;
            }
            sent.push((id, corr_id));
        }
        if inner.is_empty() {
            return None;
        }
        let State::Established(transport) = &mut self.state else {
            return None;
        };
        match transport.seal(&inner) {
            Ok(block) => {
                let deadline = now.saturating_add(self.config.request_timeout);
                for (id, corr_id) in sent {
                    self.waiting.insert(
                        corr_id,
                        Waiting {
                            id,
                            keepalive: id == KEEPALIVE,
                        },
                    );
                    if id != KEEPALIVE {
                        self.deadlines.push_back((deadline, corr_id));
                    }
                }
                Some(block)
            }
            Err(error) => {
                // Only an exhausted block counter gets here: a new connection is due.
                for (id, _) in sent {
                    if id != KEEPALIVE {
                        self.events.push_back(Event::Failed {
                            id,
                            reason: RequestFailure::Closed,
                        });
                    }
                }
                self.end(ConnectionEnd::Protocol(error));
                None
            }
        }
    }

    fn encode(&mut self, request: &Request, corr_id: CorrId) -> Result<Transmission, WireError> {
        match &request.auth {
            None => Ok(request.command.to_transmission(corr_id)),
            Some(secret) => {
                let key = self.command_key(secret)?;
                Ok(request.command.to_authorized_transmission(corr_id, &key))
            }
        }
    }

    /// The command key of a queue on this connection, derived once and kept.
    /// They are found by a keyed BLAKE3 hash of the queue's secret, not by its
    /// public key: computing that is a base-point multiplication, which every
    /// ACK of a burst of deliveries paid; the hash's key is random per
    /// connection, so the index says nothing about the secrets.
    fn command_key(&mut self, secret: &QueueAuthSecret) -> Result<CommandKey, WireError> {
        let index = *blake3::keyed_hash(&self.command_key_index, secret.as_bytes()).as_bytes();
        if let Some(key) = self.command_keys.get(&index) {
            return Ok(key.clone());
        }
        let State::Established(transport) = &self.state else {
            return Err(WireError::TransportBroken);
        };
        let key = CommandKey::for_client(
            secret,
            &transport.relay_session_key(),
            &transport.session_id(),
        )?;
        if self.command_keys.len() >= COMMAND_KEY_CAPACITY
            && let Some(victim) = self.command_keys.keys().next().copied()
        {
            self.command_keys.remove(&victim);
        }
        self.command_keys.insert(index, key.clone());
        Ok(key)
    }

    /// A random correlation id, never the push id and never one in use.
    fn fresh_corr_id(&mut self) -> CorrId {
        loop {
            let mut bytes = [0; 8];
            self.rng.fill_bytes(&mut bytes);
            let corr_id = CorrId::from_bytes(bytes);
            if !corr_id.is_push() && !self.waiting.contains_key(&corr_id) {
                return corr_id;
            }
        }
    }
}

impl fmt::Debug for ClientConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Handshaking { .. } => "handshaking",
            State::Established(_) => "established",
            State::Ended => "ended",
        };
        f.debug_struct("ClientConnection")
            .field("state", &state)
            .field("queued", &self.queue.len())
            .field("waiting", &self.waiting.len())
            .finish_non_exhaustive()
    }
}

/// The encoded length of a request's transmission.
fn request_len(request: &Request) -> usize {
    let auth = if request.auth.is_some() {
        AUTHENTICATOR_LEN
    } else {
        0
    };
    request.command.transmission_len() + auth
}
