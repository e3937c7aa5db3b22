//! The network mode of the simulation, in the manner of quinn's `Pair`: each
//! core's relay requests go through a real `sotto_wire::ClientConnection`
//! per relay (handshake, command keys and authenticators, batching,
//! keep-alive, request timeouts), as 16 KiB blocks over simulated sockets
//! with latency, to [`WireRelay`]s. One fake clock drives cores,
//! connections, sockets and relays, in a fixed order, so a run is
//! reproducible.
//!
//! The client side is a driver like sotto-client's live runtime: a link per
//! relay, requests submitted to its connection (which holds them until the
//! handshake is done), answers and failures handed back to the core, pushed
//! MSGs delivered, and a lost connection renewed after
//! `sotto_wire::ReconnectBackoff`, the core told with
//! `handle_relay_connected` so that it subscribes again and resends.
//!
//! The network can cut a socket (everything on it vanishes from then on, and
//! neither end is told: only timeouts find out), reset it (both ends see it
//! close), or take a relay down (its sockets reset, connections refused).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use sotto_core::{
    ChatId, Core, CoreError, Event, MemoryStore, RelayRequest, RequestToken, UnixMillis,
};
use sotto_wire::{
    BLOCK_SIZE, ClientConnection, ConnectionConfig, ConnectionEnd, Event as WireEvent,
    ReconnectBackoff, RelayAddress, Request, RequestFailure, RequestId, Response,
};

use super::suite;
use super::wire_relay::{RelayOutput, SocketId, WireRelay};

/// The Unix time at which the simulated clock starts.
pub const EPOCH: UnixMillis = UnixMillis(1_800_000_000_000);

/// The core's time at simulated time `at`.
pub fn unix(at: Duration) -> UnixMillis {
    EPOCH.after(at)
}

/// The simulated time at the core's time `at`.
fn since_epoch(at: UnixMillis) -> Duration {
    Duration::from_millis(at.0.saturating_sub(EPOCH.0))
}

/// One frame (or the close) on its way.
struct Packet {
    at: Duration,
    /// `None`: the sending end closed the socket.
    frame: Option<Vec<u8>>,
}

/// A WebSocket between a client and a relay: ordered, with latency.
pub struct Socket {
    pub client: usize,
    pub relay: usize,
    to_relay: VecDeque<Packet>,
    to_client: VecDeque<Packet>,
    /// Whatever is sent from now on vanishes.
    pub cut: bool,
    client_open: bool,
    relay_open: bool,
}

/// What one client's driver saw, for tests to check.
#[derive(Debug, Default)]
pub struct ClientStats {
    /// Connections opened (the handshake may still fail).
    pub connections: usize,
    /// Handshakes completed.
    pub connected: usize,
    /// Attempts refused (the relay was down).
    pub refused: usize,
    /// Requests the connection failed because no answer came in time.
    pub timeouts: usize,
    /// Requests failed because their connection ended.
    pub closed: usize,
    /// How connections ended.
    pub ends: Vec<ConnectionEnd>,
    /// MSG pushes handed to the core.
    pub deliveries: usize,
    /// END pushes.
    pub subscription_ends: usize,
    /// Errors the core blamed on a relay or a contact.
    pub remote_faults: usize,
}

struct Open {
    socket: SocketId,
    connection: ClientConnection,
    tokens: HashMap<RequestId, RequestToken>,
}

enum LinkState {
    Open(Box<Open>),
    /// Tried again at the time, or not (the client is offline).
    Down(Option<Duration>),
}

struct Link {
    state: LinkState,
    backoff: ReconnectBackoff,
}

pub struct NetClient {
    pub core: Core<MemoryStore>,
    pub rng: ChaCha20Rng,
    pub events: Vec<Event>,
    /// The relay its queues go to.
    pub home: usize,
    pub online: bool,
    links: BTreeMap<usize, Link>,
    pub stats: ClientStats,
}

impl NetClient {
    /// The socket of the open connection to `relay`.
    pub fn socket(&self, relay: usize) -> Option<SocketId> {
        match &self.links.get(&relay)?.state {
            LinkState::Open(open) => Some(open.socket),
            LinkState::Down(_) => None,
        }
    }

    /// Whether the connection to `relay` has done its handshake.
    pub fn is_connected(&self, relay: usize) -> bool {
        matches!(
            self.links.get(&relay).map(|link| &link.state),
            Some(LinkState::Open(open)) if open.connection.is_established()
        )
    }
}

/// Cores, their connections, sockets, relays and a clock.
pub struct Net {
    pub now: Duration,
    pub clients: Vec<NetClient>,
    pub relays: Vec<WireRelay>,
    pub sockets: BTreeMap<SocketId, Socket>,
    next_socket: usize,
    /// One-way delay of every frame.
    pub latency: Duration,
    /// Up to this much more, drawn per frame (frames of a socket stay in order).
    pub jitter: Duration,
    pub config: ConnectionConfig,
    rng: ChaCha20Rng,
}

impl Net {
    /// `names.len()` clients, client i's queues on relay `homes[i]`.
    pub fn new(names: &[&str], homes: &[usize]) -> Net {
        let relay_count = homes.iter().max().unwrap() + 1;
        let mut net = Net {
            now: Duration::ZERO,
            clients: Vec::new(),
            relays: (0..relay_count).map(WireRelay::new).collect(),
            sockets: BTreeMap::new(),
            next_socket: 1,
            latency: Duration::from_millis(40),
            jitter: Duration::from_millis(20),
            config: ConnectionConfig::default(),
            rng: ChaCha20Rng::seed_from_u64(99),
        };
        for (index, name) in names.iter().enumerate() {
            let mut rng = ChaCha20Rng::seed_from_u64(index as u64 + 1);
            let profile = sotto_core::Profile::new(name, None).unwrap();
            let core = Core::create(MemoryStore::new(), &mut rng, profile).unwrap();
            net.clients.push(NetClient {
                core,
                rng,
                events: Vec::new(),
                home: homes[index],
                online: true,
                links: BTreeMap::new(),
                stats: ClientStats::default(),
            });
        }
        net
    }

    /// Reseeds the network's randomness (jitter).
    pub fn seed(&mut self, seed: u64) {
        self.rng = ChaCha20Rng::seed_from_u64(seed);
    }

    pub fn unix_now(&self) -> UnixMillis {
        unix(self.now)
    }

    pub fn relay_index(&self, address: &RelayAddress) -> usize {
        self.relays
            .iter()
            .position(|relay| relay.address() == address)
            .expect("known relay")
    }

    // --- Running ---------------------------------------------------------------

    /// Runs until nothing is on the wire, no request waits for an answer and
    /// every core is idle (jobs in backoff and keep-alives aside).
    pub fn run(&mut self) {
        let limit = self.now + Duration::from_secs(600);
        loop {
            self.settle();
            if self.is_quiet() {
                return;
            }
            match self.next_wake() {
                Some(at) if at <= limit => self.now = at,
                _ => panic!("the network did not go quiet by {limit:?}"),
            }
        }
    }

    /// Moves the clock forward by `duration`, doing everything due on the way.
    pub fn advance(&mut self, duration: Duration) {
        let end = self.now + duration;
        loop {
            self.settle();
            match self.next_wake() {
                Some(at) if at <= end => self.now = at,
                _ => break,
            }
        }
        self.now = end;
        self.settle();
    }

    /// Advances in small steps until `condition` holds (at most `limit`).
    pub fn advance_until(&mut self, limit: Duration, mut condition: impl FnMut(&Net) -> bool) {
        let end = self.now + limit;
        while !condition(self) {
            assert!(self.now < end, "condition not met by {end:?}");
            self.advance(Duration::from_millis(1));
        }
    }

    pub fn is_quiet(&self) -> bool {
        let now = self.unix_now();
        self.sockets
            .values()
            .all(|socket| socket.to_relay.is_empty() && socket.to_client.is_empty())
            && self.clients.iter().all(|client| {
                client.core.is_idle(now)
                    && client.links.values().all(|link| match &link.state {
                        LinkState::Open(open) => {
                            open.connection.is_established()
                                && open.connection.requests_in_flight() == 0
                                && open.connection.queued_bytes() == 0
                        }
                        LinkState::Down(_) => true,
                    })
            })
    }

    /// Does everything due at `now`, until nothing more is.
    fn settle(&mut self) {
        for _ in 0..100_000 {
            if !self.step() {
                return;
            }
        }
        panic!("the network did not settle at {:?}", self.now);
    }

    fn step(&mut self) -> bool {
        let mut progress = false;
        for client in 0..self.clients.len() {
            progress |= self.pump_core(client);
            progress |= self.pump_links(client);
        }
        progress |= self.deliver_due();
        progress |= self.fire_timers();
        progress
    }

    /// The next time something is due after `now`.
    fn next_wake(&mut self) -> Option<Duration> {
        let now = self.now;
        let mut wakes: Vec<Duration> = Vec::new();
        for socket in self.sockets.values() {
            wakes.extend(socket.to_relay.front().map(|packet| packet.at));
            wakes.extend(socket.to_client.front().map(|packet| packet.at));
        }
        for client in &mut self.clients {
            wakes.extend(client.core.poll_timeout().map(since_epoch));
            for link in client.links.values_mut() {
                match &mut link.state {
                    LinkState::Open(open) => wakes.extend(open.connection.poll_timeout()),
                    LinkState::Down(retry) => wakes.extend(*retry),
                }
            }
        }
        for relay in &self.relays {
            wakes.extend(relay.poll_timeout());
        }
        wakes.into_iter().filter(|&at| at > now).min()
    }

    // --- Clients ---------------------------------------------------------------

    /// Hands out the core's requests and collects its events.
    fn pump_core(&mut self, index: usize) -> bool {
        let mut progress = false;
        // A memory store is durable as soon as it is written.
        self.clients[index].core.sync().unwrap();
        while let Some(request) = self.clients[index].core.poll_relay_request() {
            progress = true;
            self.dispatch(index, request);
        }
        let client = &mut self.clients[index];
        while let Some(event) = client.core.poll_event().unwrap() {
            progress = true;
            client.events.push(event);
        }
        progress
    }

    /// Submits `request` to its relay's connection (opened if need be: a
    /// relay the client only sends to is connected on demand), or fails it at
    /// once if the relay is down for now.
    fn dispatch(&mut self, index: usize, request: RelayRequest) {
        let relay = self.relay_index(&request.relay);
        let link = self.clients[index].links.entry(relay).or_insert(Link {
            state: LinkState::Down(None),
            backoff: ReconnectBackoff::default(),
        });
        if matches!(link.state, LinkState::Down(None)) {
            self.connect(index, relay);
        }
        let now = self.unix_now();
        let client = &mut self.clients[index];
        let link = client.links.get_mut(&relay).unwrap();
        let failed = match &mut link.state {
            LinkState::Open(open) => {
                let submitted = open.connection.submit(Request {
                    command: request.command,
                    auth: request.auth_key,
                });
                match submitted {
                    Ok(id) => {
                        open.tokens.insert(id, request.token);
                        false
                    }
                    Err(_) => true,
                }
            }
            LinkState::Down(_) => true,
        };
        if failed {
            let result = client.core.handle_relay_failure(now, request.token);
            tolerate(result, &mut client.stats);
        }
    }

    /// Opens a connection from client `index` to `relay`, or schedules the
    /// next attempt if the relay refuses it.
    fn connect(&mut self, index: usize, relay: usize) {
        let now = self.now;
        let client = &mut self.clients[index];
        let link = client.links.get_mut(&relay).unwrap();
        if !client.online {
            link.state = LinkState::Down(None);
            return;
        }
        if !self.relays[relay].up {
            client.stats.refused += 1;
            let wait = link.backoff.failed(client.rng.next_u32());
            link.state = LinkState::Down(Some(now + wait));
            return;
        }
        let socket = SocketId(self.next_socket);
        self.next_socket += 1;
        self.sockets.insert(
            socket,
            Socket {
                client: index,
                relay,
                to_relay: VecDeque::new(),
                to_client: VecDeque::new(),
                cut: false,
                client_open: true,
                relay_open: true,
            },
        );
        self.relays[relay].accept(socket, now);
        let mut seed = [0; 32];
        client.rng.fill_bytes(&mut seed);
        let connection = ClientConnection::with_suites(
            self.relays[relay].address().fingerprint,
            self.config,
            seed,
            now,
            &[suite(relay, index)],
        );
        client.stats.connections += 1;
        link.state = LinkState::Open(Box::new(Open {
            socket,
            connection,
            tokens: HashMap::new(),
        }));
    }

    /// Writes what each connection has to send and handles what it reports.
    fn pump_links(&mut self, index: usize) -> bool {
        let mut progress = false;
        let relays: Vec<usize> = self.clients[index].links.keys().copied().collect();
        for relay in relays {
            let now = self.now;
            let mut frames = Vec::new();
            let mut events = Vec::new();
            let socket = {
                let Some(LinkState::Open(open)) = self.clients[index]
                    .links
                    .get_mut(&relay)
                    .map(|link| &mut link.state)
                else {
                    continue;
                };
                while let Some(block) = open.connection.poll_transmit(now) {
                    frames.push(block.into_vec());
                }
                while let Some(event) = open.connection.poll_event() {
                    events.push(event);
                }
                open.socket
            };
            progress |= !frames.is_empty() || !events.is_empty();
            for frame in frames {
                self.send(socket, true, Some(frame));
            }
            for event in events {
                self.handle_connection_event(index, relay, event);
            }
        }
        progress
    }

    fn handle_connection_event(&mut self, index: usize, relay: usize, event: WireEvent) {
        let now = self.now;
        let address = self.relays[relay].address().clone();
        let client = &mut self.clients[index];
        let Some(link) = client.links.get_mut(&relay) else {
            return;
        };
        let LinkState::Open(open) = &mut link.state else {
            return;
        };
        let suite = open
            .connection
            .parameters()
            .map(|parameters| parameters.suite);
        let result = match event {
            WireEvent::Connected(_) => {
                client.stats.connected += 1;
                link.backoff.succeeded();
                client.core.handle_relay_connected(unix(now), &address)
            }
            WireEvent::Answer { id, response } => {
                let token = open.tokens.remove(&id).expect("a token for every answer");
                client.core.handle_relay_response(
                    unix(now),
                    &mut client.rng,
                    token,
                    response,
                    suite.unwrap(),
                )
            }
            WireEvent::Failed { id, reason } => {
                match reason {
                    RequestFailure::Timeout => client.stats.timeouts += 1,
                    RequestFailure::Closed => client.stats.closed += 1,
                }
                let token = open.tokens.remove(&id).expect("a token for every failure");
                client.core.handle_relay_failure(unix(now), token)
            }
            WireEvent::Push(Response::Msg {
                recipient_id,
                message_id,
                sealed,
            }) => {
                client.stats.deliveries += 1;
                client.core.handle_delivery(
                    unix(now),
                    &mut client.rng,
                    &address,
                    recipient_id,
                    message_id,
                    &sealed,
                    suite.unwrap(),
                )
            }
            WireEvent::Push(Response::End { .. }) => {
                client.stats.subscription_ends += 1;
                Ok(())
            }
            WireEvent::Push(other) => panic!("unexpected push {other:?}"),
            WireEvent::Ended(end) => {
                assert!(open.tokens.is_empty(), "requests left without an answer");
                let socket = open.socket;
                client.stats.ends.push(end);
                // Only a relay with this client's own queues is renewed; one
                // it only sends to is connected again when a request needs it.
                let subscribed = client
                    .core
                    .subscribed_relays()
                    .is_ok_and(|relays| relays.contains(self.relays[relay].address()));
                let retry = (client.online && subscribed)
                    .then(|| now + link.backoff.failed(client.rng.next_u32()));
                link.state = LinkState::Down(retry);
                self.close_client_end(socket);
                return;
            }
        };
        tolerate(result, &mut client.stats);
    }

    // --- Sockets ---------------------------------------------------------------

    /// Puts a frame (or the close) on `socket`, towards the relay or the client.
    fn send(&mut self, socket: SocketId, to_relay: bool, frame: Option<Vec<u8>>) {
        // Every WebSocket message, both ways, is one block.
        assert!(frame.as_ref().is_none_or(|frame| frame.len() == BLOCK_SIZE));
        let delay = self.latency + jitter(&mut self.rng, self.jitter);
        let Some(socket) = self.sockets.get_mut(&socket) else {
            return;
        };
        let open = if to_relay {
            socket.relay_open
        } else {
            socket.client_open
        };
        if socket.cut || !open {
            return;
        }
        let queue = if to_relay {
            &mut socket.to_relay
        } else {
            &mut socket.to_client
        };
        let at = queue
            .back()
            .map_or(self.now + delay, |last| last.at.max(self.now + delay));
        queue.push_back(Packet { at, frame });
    }

    /// The client's end closed `socket`.
    fn close_client_end(&mut self, socket: SocketId) {
        self.send(socket, true, None);
        if let Some(entry) = self.sockets.get_mut(&socket) {
            entry.client_open = false;
            entry.to_client.clear();
        }
        self.forget_closed(socket);
    }

    fn forget_closed(&mut self, socket: SocketId) {
        if self
            .sockets
            .get(&socket)
            .is_some_and(|entry| !entry.client_open && !entry.relay_open)
        {
            self.sockets.remove(&socket);
        }
    }

    /// Delivers every packet due by `now`.
    fn deliver_due(&mut self) -> bool {
        let mut progress = false;
        let ids: Vec<SocketId> = self.sockets.keys().copied().collect();
        for id in ids {
            loop {
                let now = self.now;
                let Some(socket) = self.sockets.get_mut(&id) else {
                    break;
                };
                let relay = socket.relay;
                if let Some(packet) = socket.to_relay.front()
                    && packet.at <= now
                {
                    let packet = socket.to_relay.pop_front().unwrap();
                    progress = true;
                    let mut out = Vec::new();
                    match packet.frame {
                        Some(frame) => self.relays[relay].handle_frame(id, now, &frame, &mut out),
                        None => {
                            self.relays[relay].closed(id);
                            socket.relay_open = false;
                            socket.to_relay.clear();
                        }
                    }
                    self.relay_outputs(out);
                    self.forget_closed(id);
                    continue;
                }
                if let Some(packet) = socket.to_client.front()
                    && packet.at <= now
                {
                    let packet = socket.to_client.pop_front().unwrap();
                    progress = true;
                    let client = &mut self.clients[socket.client];
                    if let Some(Link {
                        state: LinkState::Open(open),
                        ..
                    }) = client.links.get_mut(&relay)
                        && open.socket == id
                    {
                        match packet.frame {
                            Some(frame) => open.connection.handle_frame(now, &frame),
                            None => open.connection.close(),
                        }
                    }
                    continue;
                }
                break;
            }
        }
        progress
    }

    fn relay_outputs(&mut self, outputs: Vec<RelayOutput>) {
        for output in outputs {
            match output {
                RelayOutput::Frame(socket, block) => {
                    self.send(socket, false, Some(block.into_vec()))
                }
                RelayOutput::Close(socket) => {
                    self.send(socket, false, None);
                    if let Some(entry) = self.sockets.get_mut(&socket) {
                        entry.relay_open = false;
                        entry.to_relay.clear();
                    }
                    self.forget_closed(socket);
                }
            }
        }
    }

    // --- Timers ----------------------------------------------------------------

    fn fire_timers(&mut self) -> bool {
        let now = self.now;
        let mut progress = false;
        for index in 0..self.clients.len() {
            let client = &mut self.clients[index];
            if let Some(at) = client.core.poll_timeout()
                && since_epoch(at) <= now
            {
                client
                    .core
                    .handle_timeout(unix(now), &mut client.rng)
                    .unwrap();
                progress |= client.core.poll_timeout() != Some(at);
            }
            let mut reconnect = Vec::new();
            for (&relay, link) in &mut client.links {
                match &mut link.state {
                    LinkState::Open(open) => {
                        if let Some(at) = open.connection.poll_timeout()
                            && at <= now
                        {
                            open.connection.handle_timeout(now);
                            progress |= open.connection.poll_timeout() != Some(at);
                        }
                    }
                    LinkState::Down(Some(at)) if *at <= now => reconnect.push(relay),
                    LinkState::Down(_) => {}
                }
            }
            for relay in reconnect {
                progress = true;
                self.connect(index, relay);
            }
        }
        for relay in 0..self.relays.len() {
            if self.relays[relay]
                .poll_timeout()
                .is_some_and(|at| at <= now)
            {
                let mut out = Vec::new();
                self.relays[relay].handle_timeout(now, &mut out);
                progress |= !out.is_empty();
                self.relay_outputs(out);
            }
        }
        progress
    }

    // --- Faults ----------------------------------------------------------------

    /// Sockets whose ends are both open and that are not cut.
    pub fn live_sockets(&self) -> Vec<SocketId> {
        self.sockets
            .iter()
            .filter(|(_, socket)| !socket.cut && socket.client_open && socket.relay_open)
            .map(|(id, _)| *id)
            .collect()
    }

    /// From now on everything sent on `socket` vanishes, and what is on its
    /// way is lost; neither end is told.
    pub fn cut(&mut self, socket: SocketId) {
        if let Some(entry) = self.sockets.get_mut(&socket) {
            entry.cut = true;
            entry.to_relay.clear();
            entry.to_client.clear();
        }
    }

    /// Resets `socket`: what is on its way is lost, both ends see it close.
    pub fn reset(&mut self, socket: SocketId) {
        let Some(entry) = self.sockets.get_mut(&socket) else {
            return;
        };
        entry.to_relay.clear();
        entry.to_client.clear();
        self.send(socket, true, None);
        self.send(socket, false, None);
        if let Some(entry) = self.sockets.get_mut(&socket) {
            entry.cut = true;
        }
    }

    /// The relay stops: its sockets reset and it refuses connections until
    /// [`Net::relay_up`]. Its queues stay.
    pub fn relay_down(&mut self, relay: usize) {
        self.relays[relay].up = false;
        let sockets: Vec<SocketId> = self
            .sockets
            .iter()
            .filter(|(_, socket)| socket.relay == relay)
            .map(|(id, _)| *id)
            .collect();
        for socket in sockets {
            self.reset(socket);
        }
        let mut out = Vec::new();
        self.relays[relay].shut_down(&mut out);
    }

    pub fn relay_up(&mut self, relay: usize) {
        self.relays[relay].up = true;
    }

    /// Client `index` goes offline: its connections close, nothing reconnects.
    pub fn go_offline(&mut self, index: usize) {
        self.clients[index].online = false;
        for link in self.clients[index].links.values_mut() {
            if let LinkState::Open(open) = &mut link.state {
                open.connection.close();
            }
        }
        self.settle();
    }

    /// Client `index` comes back: it connects to every relay its core names.
    pub fn go_online(&mut self, index: usize) {
        self.clients[index].online = true;
        for relay in self.clients[index].core.relays().unwrap() {
            let relay = self.relay_index(&relay);
            let client = &mut self.clients[index];
            client.links.entry(relay).or_insert(Link {
                state: LinkState::Down(None),
                backoff: ReconnectBackoff::default(),
            });
            if matches!(client.links[&relay].state, LinkState::Down(_)) {
                self.connect(index, relay);
            }
        }
    }

    /// Client `index`'s process dies and starts again from its store: its
    /// sockets reset, its connections and what they waited for are gone.
    pub fn restart(&mut self, index: usize) {
        let sockets: Vec<SocketId> = self.clients[index]
            .links
            .values()
            .filter_map(|link| match &link.state {
                LinkState::Open(open) => Some(open.socket),
                LinkState::Down(_) => None,
            })
            .collect();
        for socket in sockets {
            self.reset(socket);
        }
        let client = &mut self.clients[index];
        client.links.clear();
        let store = client.core.store().clone();
        client.core = Core::open(store).unwrap();
        self.go_online(index);
    }

    // --- The core's flows ------------------------------------------------------

    /// Connects clients `a` (inviter) and `b` by a one-time invitation.
    pub fn connect_contacts(&mut self, a: usize, b: usize) -> (ChatId, ChatId) {
        let now = self.unix_now();
        let relay = self.relays[self.clients[a].home].address().clone();
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
        let now = self.unix_now();
        let relay = self.relays[self.clients[b].home].address().clone();
        let client = &mut self.clients[b];
        let contact_b = client
            .core
            .connect(now, &mut client.rng, &link, &relay)
            .unwrap();
        self.run();
        let name = self.clients[b].core.profile().display_name().to_owned();
        let contact_a = self.clients[a]
            .core
            .chats()
            .unwrap()
            .into_iter()
            .find(|chat| chat.name.as_deref() == Some(name.as_str()))
            .expect("contact on the inviter's side")
            .id;
        (contact_a, contact_b)
    }

    pub fn send_text(
        &mut self,
        from: usize,
        chat: ChatId,
        text: &str,
        reply_to: Option<sotto_core::MessageNumber>,
    ) -> sotto_core::MessageNumber {
        let now = self.unix_now();
        let client = &mut self.clients[from];
        client
            .core
            .send_text(now, &mut client.rng, chat, text, reply_to)
            .unwrap()
    }

    /// The texts of a chat, oldest first (notices as `[notice]`).
    pub fn texts(&self, client: usize, chat: ChatId) -> Vec<String> {
        self.clients[client]
            .core
            .history(chat, None, 10_000)
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

/// Errors caused by a relay or a contact are counted; any other fails the test.
fn tolerate(result: Result<(), CoreError>, stats: &mut ClientStats) {
    match result {
        Ok(()) => {}
        Err(error) if error.is_remote_fault() => stats.remote_faults += 1,
        Err(error) => panic!("core error: {error}"),
    }
}

fn jitter(rng: &mut ChaCha20Rng, most: Duration) -> Duration {
    let most = most.as_micros() as u64;
    if most == 0 {
        return Duration::ZERO;
    }
    Duration::from_micros(rng.next_u64() % most)
}
