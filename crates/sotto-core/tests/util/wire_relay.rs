//! The relay's end of the wire in the network simulation: sotto-wire's server
//! pieces (`ServerHandshake`, `Transport`, `RelaySessionAuth` and
//! `Transmission::verify`) around a [`SimRelay`]'s queues. It answers as
//! docs/protocol.md says: replies in command order, OK before the MSG a SUB
//! or ACK releases, END to a connection whose subscription moved away or
//! whose queue was deleted elsewhere, pushes sealed with the suite of the
//! connection they go out on, and the unauthorized and idle timeouts.

use std::collections::BTreeMap;
use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use sotto_wire::{
    Block, CipherSuite, Command, CorrId, ErrorCode, InnerBlock, MessageId, QueueAuthKey,
    QueueMessage, RecipientId, RelayAddress, RelayIdentity, RelaySessionAuth, Response, SenderId,
    ServerHandshake, ServerHandshakeOutcome, Transmission, Transport, VersionRange,
};

use super::SimRelay;
use super::network::unix;

/// A connection without a command that passed an authenticator check (or a
/// NEW, or a SEND to an unsecured queue it found) is closed after this.
pub const UNAUTHORIZED_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection that sent nothing for this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(600);

/// One simulated socket, as both of its ends name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketId(pub usize);

/// What the relay does to the network.
#[derive(Debug)]
pub enum RelayOutput {
    Frame(SocketId, Block),
    /// The relay closes the socket.
    Close(SocketId),
}

/// What the relay saw, for tests to check.
#[derive(Debug, Default)]
pub struct RelayStats {
    pub handshakes: usize,
    pub blocks_in: usize,
    pub blocks_out: usize,
    /// Commands received, by tag.
    pub commands: BTreeMap<u8, usize>,
    /// The most commands one block carried.
    pub largest_batch: usize,
    /// ERR answers: the command's tag and the code.
    pub errors: Vec<(u8, ErrorCode)>,
    /// Commands whose authenticator verified under the expected queue key.
    pub verified: usize,
    /// SENDs answered OK, by sender id.
    pub stored: BTreeMap<SenderId, usize>,
    pub closed_unauthorized: usize,
    pub closed_idle: usize,
}

impl RelayStats {
    pub fn count(&self, tag: u8) -> usize {
        self.commands.get(&tag).copied().unwrap_or(0)
    }
}

enum SessionState {
    AwaitingHello,
    Open {
        transport: Box<Transport>,
        auth: RelaySessionAuth,
        suite: CipherSuite,
    },
}

struct Session {
    state: SessionState,
    opened: Duration,
    last_received: Duration,
    authorized: bool,
}

/// A relay that speaks the wire protocol over a [`SimRelay`]'s queues.
pub struct WireRelay {
    /// The queues, as durable storage: they survive [`WireRelay::shut_down`].
    pub queues: SimRelay,
    identity: RelayIdentity,
    rng: ChaCha20Rng,
    sessions: BTreeMap<SocketId, Session>,
    /// Whether it accepts connections.
    pub up: bool,
    pub stats: RelayStats,
}

/// Pushes as the SimRelay reports them: subscriber, queue, message.
type Pushes = Vec<(usize, RecipientId, MessageId, QueueMessage)>;

impl WireRelay {
    pub fn new(index: usize) -> WireRelay {
        let identity = RelayIdentity::from_secret_bytes([index as u8 + 1; 32]);
        let address: RelayAddress = format!(
            "sotto+ws://{}@127.0.0.1:{}",
            identity.fingerprint(),
            7000 + index
        )
        .parse()
        .unwrap();
        WireRelay {
            queues: SimRelay::new(address, 1000 + index as u64),
            identity,
            rng: ChaCha20Rng::seed_from_u64(2000 + index as u64),
            sessions: BTreeMap::new(),
            up: true,
            stats: RelayStats::default(),
        }
    }

    pub fn address(&self) -> &RelayAddress {
        &self.queues.address
    }

    /// Connections open on the relay's side.
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// A client opened `socket`.
    pub fn accept(&mut self, socket: SocketId, now: Duration) {
        self.sessions.insert(
            socket,
            Session {
                state: SessionState::AwaitingHello,
                opened: now,
                last_received: now,
                authorized: false,
            },
        );
    }

    /// The client closed `socket` (or the network reset it): its
    /// subscriptions end, its messages wait for the next SUB.
    pub fn closed(&mut self, socket: SocketId) {
        self.sessions.remove(&socket);
        for queue in self.queues.queues.values_mut() {
            if queue.subscriber == Some(socket.0) {
                queue.subscriber = None;
                queue.delivered = None;
            }
        }
    }

    /// The relay stops: every connection closes; the queues stay on disk.
    pub fn shut_down(&mut self, out: &mut Vec<RelayOutput>) {
        let sockets: Vec<SocketId> = self.sessions.keys().copied().collect();
        for socket in sockets {
            self.closed(socket);
            out.push(RelayOutput::Close(socket));
        }
    }

    /// A block arrived on `socket`.
    pub fn handle_frame(
        &mut self,
        socket: SocketId,
        now: Duration,
        frame: &[u8],
        out: &mut Vec<RelayOutput>,
    ) {
        let Some(mut session) = self.sessions.remove(&socket) else {
            return;
        };
        session.last_received = now;
        let Ok(block) = Block::from_slice(frame) else {
            return self.close(socket, out);
        };
        self.stats.blocks_in += 1;
        match session.state {
            SessionState::AwaitingHello => {
                let mut secret = [0; 32];
                self.rng.fill_bytes(&mut secret);
                match ServerHandshake::new(secret, VersionRange::SUPPORTED)
                    .handle_client_hello(&block, &self.identity)
                {
                    Ok(ServerHandshakeOutcome::Accepted {
                        server_hello,
                        transport,
                        auth,
                    }) => {
                        self.stats.handshakes += 1;
                        session.state = SessionState::Open {
                            suite: transport.suite(),
                            transport: Box::new(transport),
                            auth,
                        };
                        self.sessions.insert(socket, session);
                        out.push(RelayOutput::Frame(socket, server_hello));
                    }
                    Ok(ServerHandshakeOutcome::Rejected { version_reject }) => {
                        out.push(RelayOutput::Frame(socket, version_reject));
                        self.close(socket, out);
                    }
                    Err(_) => self.close(socket, out),
                }
            }
            SessionState::Open {
                ref mut transport,
                ref auth,
                suite,
            } => {
                let Ok(inner) = transport.open(block) else {
                    return self.close(socket, out);
                };
                self.stats.largest_batch = self.stats.largest_batch.max(inner.len());
                let mut replies = Vec::new();
                for encoded in inner.transmissions() {
                    let mut released = Vec::new();
                    let reply = match Transmission::decode(encoded) {
                        Ok(transmission) => self.execute(
                            socket,
                            suite,
                            auth,
                            &mut session.authorized,
                            &transmission,
                            now,
                            &mut released,
                        ),
                        Err(_) => Response::Err {
                            entity: None,
                            code: ErrorCode::Cmd,
                        }
                        .to_transmission(CorrId::PUSH),
                    };
                    // The answer, then what the command released (OK, then MSG).
                    replies.push((socket, reply));
                    replies.extend(released);
                }
                self.sessions.insert(socket, session);
                self.send_all(replies, out);
            }
        }
    }

    /// Runs one command and returns its reply; pushes it releases go to
    /// `pushes` (for this connection or another).
    #[allow(clippy::too_many_arguments)]
    fn execute(
        &mut self,
        socket: SocketId,
        suite: CipherSuite,
        auth: &RelaySessionAuth,
        authorized: &mut bool,
        transmission: &Transmission,
        now: Duration,
        pushes: &mut Vec<(SocketId, Transmission)>,
    ) -> Transmission {
        let corr_id = transmission.corr_id;
        let Ok(command) = Command::from_transmission(transmission) else {
            self.stats.errors.push((transmission.tag, ErrorCode::Cmd));
            return Response::Err {
                entity: transmission.entity,
                code: ErrorCode::Cmd,
            }
            .to_transmission(corr_id);
        };
        *self.stats.commands.entry(command.tag()).or_default() += 1;
        let signer = self.signer(auth, transmission, &command);
        if signer.is_some() {
            self.stats.verified += 1;
            *authorized = true;
        }
        let response = match &command {
            Command::Ping => Response::Pong,
            Command::New { .. } | Command::LinkNew { .. } if signer.is_none() => Response::Err {
                entity: None,
                code: ErrorCode::Auth,
            },
            _ => {
                let moved_from = match &command {
                    Command::Sub { recipient_id } | Command::Del { recipient_id } => self
                        .queues
                        .queues
                        .get(recipient_id)
                        .and_then(|queue| queue.subscriber)
                        .filter(|&subscriber| subscriber != socket.0),
                    _ => None,
                };
                let mut released: Pushes = Vec::new();
                let response = self.queues.handle_command_sealed_with(
                    socket.0,
                    suite,
                    &command,
                    signer,
                    unix(now),
                    &mut released,
                );
                if matches!(response, Response::Ok { .. }) {
                    if let (Some(other), Some(entity)) = (moved_from, command.entity()) {
                        let end = Response::End {
                            recipient_id: RecipientId::from(entity),
                        };
                        pushes.push((SocketId(other), end.to_transmission(CorrId::PUSH)));
                    }
                    if let Command::Send { sender_id, .. } = &command {
                        *authorized = true;
                        *self.stats.stored.entry(*sender_id).or_default() += 1;
                    }
                }
                for (subscriber, recipient_id, message_id, message) in released {
                    let subscriber = SocketId(subscriber);
                    let Some(push_suite) = self.suite_of(subscriber).or(
                        // This connection's session is out of the map meanwhile.
                        (subscriber == socket).then_some(suite),
                    ) else {
                        continue;
                    };
                    let sealed = self.queues.queues[&recipient_id]
                        .queue_key
                        .seal(push_suite, &message_id, &message)
                        .unwrap();
                    let msg = Response::Msg {
                        recipient_id,
                        message_id,
                        sealed,
                    };
                    pushes.push((subscriber, msg.to_transmission(CorrId::PUSH)));
                }
                response
            }
        };
        if let Response::Err { code, .. } = response {
            self.stats.errors.push((command.tag(), code));
        }
        response.to_transmission(corr_id)
    }

    /// The queue key whose command key gives the transmission's
    /// authenticator, if it is the one the command must be authorized by.
    fn signer(
        &self,
        auth: &RelaySessionAuth,
        transmission: &Transmission,
        command: &Command,
    ) -> Option<QueueAuthKey> {
        let queues = &self.queues.queues;
        let expected = match command {
            Command::Ping => None,
            Command::New {
                recipient_auth_key, ..
            } => Some(*recipient_auth_key),
            Command::LinkNew { link_auth_key, .. } => Some(*link_auth_key),
            Command::LinkGet { .. } => None,
            Command::LinkSet { link_id, .. } | Command::LinkDel { link_id } => {
                self.queues.links.get(link_id).map(|(key, _)| *key)
            }
            Command::Send { sender_id, .. } => self
                .queues
                .by_sender
                .get(sender_id)
                .and_then(|recipient_id| queues.get(recipient_id))
                .and_then(|queue| queue.sender_key),
            other => other
                .entity()
                .map(RecipientId::from)
                .and_then(|recipient_id| queues.get(&recipient_id))
                .map(|queue| queue.recipient_key),
        }?;
        let key = auth.command_key(&expected).ok()?;
        transmission.verify(&key).then_some(expected)
    }

    fn suite_of(&self, socket: SocketId) -> Option<CipherSuite> {
        match self.sessions.get(&socket)?.state {
            SessionState::Open { suite, .. } => Some(suite),
            SessionState::AwaitingHello => None,
        }
    }

    /// Seals transmissions into as few blocks as fit, per socket, in order.
    fn send_all(
        &mut self,
        transmissions: Vec<(SocketId, Transmission)>,
        out: &mut Vec<RelayOutput>,
    ) {
        let mut by_socket: BTreeMap<SocketId, Vec<Transmission>> = BTreeMap::new();
        for (socket, transmission) in transmissions {
            by_socket.entry(socket).or_default().push(transmission);
        }
        for (socket, transmissions) in by_socket {
            let Some(Session {
                state: SessionState::Open { transport, .. },
                ..
            }) = self.sessions.get_mut(&socket)
            else {
                continue;
            };
            let mut inner = InnerBlock::new();
            for transmission in transmissions {
                if !inner.fits(transmission.encoded_len()) {
                    let full = std::mem::replace(&mut inner, InnerBlock::new());
                    out.push(RelayOutput::Frame(socket, transport.seal(&full).unwrap()));
                    self.stats.blocks_out += 1;
                }
                inner.push(&transmission).unwrap();
            }
            if !inner.is_empty() {
                out.push(RelayOutput::Frame(socket, transport.seal(&inner).unwrap()));
                self.stats.blocks_out += 1;
            }
        }
    }

    fn close(&mut self, socket: SocketId, out: &mut Vec<RelayOutput>) {
        self.closed(socket);
        out.push(RelayOutput::Close(socket));
    }

    /// When [`WireRelay::handle_timeout`] is due.
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.sessions
            .values()
            .map(|session| {
                let idle = session.last_received + IDLE_TIMEOUT;
                if session.authorized {
                    idle
                } else {
                    idle.min(session.opened + UNAUTHORIZED_TIMEOUT)
                }
            })
            .min()
    }

    /// Closes connections that stayed unauthorized or idle too long.
    pub fn handle_timeout(&mut self, now: Duration, out: &mut Vec<RelayOutput>) {
        let mut due = Vec::new();
        for (socket, session) in &self.sessions {
            if !session.authorized && now >= session.opened + UNAUTHORIZED_TIMEOUT {
                self.stats.closed_unauthorized += 1;
                due.push(*socket);
            } else if now >= session.last_received + IDLE_TIMEOUT {
                self.stats.closed_idle += 1;
                due.push(*socket);
            }
        }
        for socket in due {
            self.close(socket, out);
        }
    }
}
