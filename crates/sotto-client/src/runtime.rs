//! The tokio driver of a [`Core`]: one [`RelayConnection`] per relay the core
//! names, its requests forwarded and answered, pushes delivered, timers fired
//! and connections renewed with backoff.
//!
//! Two ways to run it:
//! - live ([`Mode::Live`]): every relay is connected and its queues subscribed;
//!   [`Runtime::next_event`] drives everything until the core has something to
//!   show. A lost connection is renewed after a backoff (0.5 s doubling up to
//!   30 s) and the core subscribes again; each connection's own keep-alive
//!   (`sotto_wire::ClientConnection`) ends one that stalled.
//! - one-shot ([`Mode::OneShot`]), for scripts: relays are connected when a
//!   request needs them, nothing is subscribed, and
//!   [`Runtime::run_until_idle`] processes what is queued (and, after
//!   [`Core::fetch_all`], what waits on the relays) until the core is idle or
//!   the time is up. A relay that cannot be reached is not tried again: its
//!   requests fail and the core keeps them for a later run.
//!
//! Everything that touches the core runs on the caller's task; only relay I/O
//! runs in spawned tasks, which report back through one channel.
//!
//! Nothing the core produced leaves the runtime before the changes behind it
//! are durable: the core hands out a relay command or an event only once the
//! store has reported the writes it depends on durable (its durability rule,
//! see [`Core::start_sync`]). The runtime starts a sync whenever the core has
//! unsynced writes and none is under way, runs the wait for the disk on a
//! blocking thread and reports it with [`Core::handle_synced`]; meanwhile it
//! goes on handling inputs, whose outputs wait for the next sync, which
//! starts when this one ends. So a burst of deliveries is made durable in
//! groups and acknowledged together, and the core never waits for the disk.
//! Inputs already waiting (up to [`MAX_INPUTS_PER_SYNC`]) are handled
//! together before a sync starts.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::RngCore;
use rand::rngs::OsRng;
use sotto_core::{
    Core, CoreError, Event, RelayRequest, RequestToken, Store, StoreError, UnixMillis, WriteMark,
};
use sotto_wire::{CipherSuite, ReconnectBackoff, RelayAddress, Response};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::time::Instant;

use crate::ClientError;
use crate::relay::{ConnectOptions, Push, RelayConnection};

/// Inputs (answers, pushes) handled together before a sync starts for
/// their outputs: a bound on how long the first of them waits.
pub const MAX_INPUTS_PER_SYNC: usize = 64;

/// How the runtime treats relays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Connect every relay, subscribe every queue, reconnect when lost.
    Live,
    /// Connect on demand, subscribe nothing, never reconnect (for scripts).
    OneShot,
}

/// How to connect to relays.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Live or one-shot.
    pub mode: Mode,
    /// Connection settings for every relay (TLS roots, SOCKS5 proxy, …).
    pub connect: ConnectOptions,
}

impl RuntimeOptions {
    /// Default connection settings: no proxy, no TLS roots.
    pub fn new(mode: Mode) -> RuntimeOptions {
        RuntimeOptions {
            mode,
            connect: ConnectOptions::default(),
        }
    }
}

/// How [`Runtime::run_until_idle`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    /// Nothing is left to send or to wait for (jobs in backoff may remain).
    Idle,
    /// The time ran out first.
    TimedOut,
}

/// What the relay I/O tasks report.
enum Input {
    Answer {
        token: RequestToken,
        result: Result<Response, ClientError>,
        /// The cipher suite of the connection that answered (it seals MSG).
        suite: CipherSuite,
    },
    Connected {
        relay: String,
        connection: Arc<RelayConnection>,
        pushes: mpsc::Receiver<Push>,
    },
    ConnectFailed {
        relay: String,
        error: ClientError,
    },
    Pushed {
        relay: String,
        push: Push,
    },
    Closed {
        relay: String,
        generation: u64,
    },
    /// A sync ended: the store is durable up to the mark, or failed.
    Synced(Result<WriteMark, StoreError>),
}

/// One relay as the runtime knows it.
struct Link {
    address: RelayAddress,
    state: LinkState,
    /// Connection attempts since the last success, and the wait they call for.
    backoff: ReconnectBackoff,
    /// Counts connections, so that a stale connection's end is ignored.
    generation: u64,
}

enum LinkState {
    /// An attempt is under way; requests wait for it.
    Connecting(Vec<RelayRequest>),
    /// Connected: requests go to the connection's submitter, in order.
    Up(mpsc::UnboundedSender<RelayRequest>),
    /// Unreachable; tried again at the instant (live mode), or never.
    Down(Option<Instant>),
}

/// Drives one [`Core`] against its relays. See the module documentation.
pub struct Runtime<S: Store> {
    core: Core<S>,
    options: RuntimeOptions,
    links: HashMap<String, Link>,
    events: VecDeque<Event>,
    inputs: mpsc::UnboundedReceiver<Input>,
    reports: mpsc::UnboundedSender<Input>,
    /// Why the last connection attempt failed, until one succeeds.
    connect_failure: Option<ClientError>,
    /// A sync runs on a blocking thread.
    syncing: bool,
    /// Live mode: the core's relays must be linked (at the start, and after
    /// the core was lent out for a user action, which may name a new relay).
    /// Listing them reads every queue and contact, too much for every event.
    relink: bool,
}

impl<S: Store> Runtime<S> {
    /// A runtime for `core`. Nothing is connected until it runs (live mode
    /// connects every relay at the first [`Runtime::next_event`]).
    pub fn new(core: Core<S>, options: RuntimeOptions) -> Runtime<S> {
        let (reports, inputs) = mpsc::unbounded_channel();
        Runtime {
            core,
            options,
            links: HashMap::new(),
            events: VecDeque::new(),
            inputs,
            reports,
            connect_failure: None,
            syncing: false,
            relink: true,
        }
    }

    /// Why the latest attempt to connect to a relay failed (a refused
    /// certificate, an unreachable proxy, …), until an attempt succeeds.
    pub fn connect_failure(&self) -> Option<&ClientError> {
        self.connect_failure.as_ref()
    }

    /// The core, to read from.
    pub fn core(&self) -> &Core<S> {
        &self.core
    }

    /// The core, for user actions (send, react, …). What they queue goes out
    /// at the next call that runs the runtime.
    pub fn core_mut(&mut self) -> &mut Core<S> {
        self.relink = true;
        &mut self.core
    }

    /// Stops driving and gives the core back; relay connections close.
    pub fn into_core(self) -> Core<S> {
        self.core
    }

    /// Events the core reported and nobody took yet. What waits for a sync
    /// is synced here, without waiting for the sync under way (whose end
    /// then changes nothing).
    pub fn take_events(&mut self) -> Result<Vec<Event>, ClientError> {
        self.core.sync()?;
        self.collect()?;
        Ok(self.events.drain(..).collect())
    }

    /// Runs until the core reports an event, and returns it.
    pub async fn next_event(&mut self) -> Result<Event, ClientError> {
        if self.options.mode == Mode::Live && self.relink {
            // The relays of the profile's own queues; one it only sends to is
            // connected when a request goes there (see `lost`).
            for relay in self.core.subscribed_relays()? {
                self.link(&relay);
            }
            self.relink = false;
        }
        loop {
            self.pump()?;
            if let Some(event) = self.events.pop_front() {
                return Ok(event);
            }
            self.step(None).await?;
        }
    }

    /// Runs until the core is idle (see [`Core::is_idle`]) or `timeout` has
    /// passed. Events are kept for [`Runtime::take_events`].
    pub async fn run_until_idle(&mut self, timeout: Duration) -> Result<Finished, ClientError> {
        let deadline = Instant::now() + timeout;
        let now = now();
        self.core.handle_timeout(now, &mut OsRng).or_else(local)?;
        loop {
            self.pump()?;
            if !self.syncing && self.core.is_idle(now_millis()) {
                return Ok(Finished::Idle);
            }
            if Instant::now() >= deadline {
                return Ok(Finished::TimedOut);
            }
            self.step(Some(deadline)).await?;
        }
    }

    /// Sends and hands out what the core lets out and, unless a sync is
    /// under way, starts one for what waits on unsynced writes.
    fn pump(&mut self) -> Result<(), ClientError> {
        // A store durable by itself lets outputs out at once, and a request
        // for a relay that is down fails at once, after which the core may
        // queue more: hence the loop.
        loop {
            if !self.syncing {
                self.start_sync()?;
            }
            if !self.collect()? {
                return Ok(());
            }
        }
    }

    /// Starts a sync if the core has writes no sync covers.
    fn start_sync(&mut self) -> Result<(), ClientError> {
        if let Some(ticket) = self.core.start_sync()? {
            let reports = self.reports.clone();
            tokio::task::spawn_blocking(move || {
                let _ = reports.send(Input::Synced(ticket.finish()));
            });
            self.syncing = true;
        }
        Ok(())
    }

    /// Sends the requests the core lets out and takes its events; whether
    /// there were any.
    fn collect(&mut self) -> Result<bool, ClientError> {
        let mut any = false;
        while let Some(request) = self.core.poll_relay_request() {
            any = true;
            self.dispatch(request)?;
        }
        while let Some(event) = self.core.poll_event()? {
            any = true;
            self.events.push_back(event);
        }
        Ok(any)
    }

    /// A sync ended: what waited for it goes out at the next pump, which
    /// also starts the next sync.
    fn synced(&mut self, result: Result<WriteMark, StoreError>) -> Result<(), ClientError> {
        self.syncing = false;
        let mark = result.map_err(CoreError::from)?;
        self.core.handle_synced(mark);
        Ok(())
    }

    /// Sends `request` on its relay's connection, or keeps it for the
    /// connection being made, or fails it at once if the relay is down.
    fn dispatch(&mut self, request: RelayRequest) -> Result<(), ClientError> {
        let key = self.link(&request.relay);
        let Some(link) = self.links.get_mut(&key) else {
            return Ok(());
        };
        match &mut link.state {
            LinkState::Up(submitter) => {
                if let Err(mpsc::error::SendError(request)) = submitter.send(request) {
                    // The submitter ended with its connection.
                    return self
                        .core
                        .handle_relay_failure(now(), request.token)
                        .or_else(local);
                }
                Ok(())
            }
            LinkState::Connecting(waiting) => {
                waiting.push(request);
                Ok(())
            }
            // Live, a relay this profile only sends to is connected on
            // demand (see `lost`).
            LinkState::Down(None) if self.options.mode == Mode::Live => {
                link.state = LinkState::Connecting(vec![request]);
                let relay = link.address.clone();
                self.spawn_connect(relay);
                Ok(())
            }
            LinkState::Down(_) => self
                .core
                .handle_relay_failure(now(), request.token)
                .or_else(local),
        }
    }

    /// The link to `relay`, started if it is new. Returns its key.
    fn link(&mut self, relay: &RelayAddress) -> String {
        let key = relay.to_string();
        if !self.links.contains_key(&key) {
            self.links.insert(
                key.clone(),
                Link {
                    address: relay.clone(),
                    state: LinkState::Connecting(Vec::new()),
                    backoff: ReconnectBackoff::default(),
                    generation: 0,
                },
            );
            self.spawn_connect(relay.clone());
        }
        key
    }

    fn spawn_connect(&self, relay: RelayAddress) {
        let reports = self.reports.clone();
        let options = self.options.connect.clone();
        tokio::spawn(async move {
            let key = relay.to_string();
            let input = match RelayConnection::connect(&relay, &options).await {
                Ok((connection, pushes)) => Input::Connected {
                    relay: key,
                    connection: Arc::new(connection),
                    pushes,
                },
                Err(error) => Input::ConnectFailed { relay: key, error },
            };
            let _ = reports.send(input);
        });
    }

    /// Waits for one input or timer (or `deadline`) and handles it.
    async fn step(&mut self, deadline: Option<Instant>) -> Result<(), ClientError> {
        let core_wake = self.core.poll_timeout().map(instant_of);
        let relink = self
            .links
            .values()
            .filter_map(|link| match link.state {
                LinkState::Down(at) => at,
                _ => None,
            })
            .min();
        let wake = [core_wake, relink, deadline].into_iter().flatten().min();
        let input = match wake {
            Some(wake) => tokio::select! {
                input = self.inputs.recv() => input,
                () = tokio::time::sleep_until(wake) => None,
            },
            None => self.inputs.recv().await,
        };
        match input {
            Some(input) => {
                self.handle(input)?;
                // What else is waiting goes with it, under one sync.
                for _ in 1..MAX_INPUTS_PER_SYNC {
                    match self.inputs.try_recv() {
                        Ok(input) => self.handle(input)?,
                        Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                    }
                }
            }
            None => self.timers()?,
        }
        self.pump()
    }

    /// Core timers and reconnections that fell due.
    fn timers(&mut self) -> Result<(), ClientError> {
        let now = now();
        if self.core.poll_timeout().is_some_and(|at| at <= now) {
            self.core.handle_timeout(now, &mut OsRng).or_else(local)?;
        }
        let instant = Instant::now();
        let due: Vec<RelayAddress> = self
            .links
            .values_mut()
            .filter_map(|link| match link.state {
                LinkState::Down(Some(at)) if at <= instant => {
                    link.state = LinkState::Connecting(Vec::new());
                    Some(link.address.clone())
                }
                _ => None,
            })
            .collect();
        for relay in due {
            self.spawn_connect(relay);
        }
        Ok(())
    }

    fn handle(&mut self, input: Input) -> Result<(), ClientError> {
        match input {
            Input::Answer {
                token,
                result,
                suite,
            } => match result {
                Ok(response) => self
                    .core
                    .handle_relay_response(now(), &mut OsRng, token, response, suite)
                    .or_else(local),
                Err(error) => {
                    tracing::debug!(%error, "relay request failed");
                    self.core.handle_relay_failure(now(), token).or_else(local)
                }
            },
            Input::Connected {
                relay,
                connection,
                pushes,
            } => {
                self.connect_failure = None;
                self.connected(relay, connection, pushes)
            }
            Input::ConnectFailed { relay, error } => {
                tracing::debug!(%error, "relay connection failed");
                self.connect_failure = Some(error);
                self.lost(&relay)
            }
            Input::Pushed { relay, push } => {
                let Some(link) = self.links.get(&relay) else {
                    return Ok(());
                };
                match push {
                    Push::Message(delivery) => {
                        let address = link.address.clone();
                        if let Err(error) = self.core.handle_delivery(
                            now(),
                            &mut OsRng,
                            &address,
                            delivery.recipient_id,
                            delivery.message_id,
                            &delivery.sealed,
                            delivery.suite,
                        ) {
                            // Not acknowledged: the relay delivers it again.
                            tracing::debug!(%error, "delivery not processed");
                        }
                    }
                    Push::End(_) => {
                        tracing::debug!("another connection took a subscription over");
                    }
                    // The core subscribes no group log yet.
                    Push::GroupEntry { .. } | Push::GroupEnd(_) => {
                        tracing::debug!("a group log push on a core connection");
                    }
                }
                Ok(())
            }
            Input::Synced(result) => self.synced(result),
            Input::Closed { relay, generation } => {
                let current = self.links.get(&relay).is_some_and(|link| {
                    link.generation == generation && matches!(link.state, LinkState::Up(_))
                });
                if current { self.lost(&relay) } else { Ok(()) }
            }
        }
    }

    fn connected(
        &mut self,
        relay: String,
        connection: Arc<RelayConnection>,
        mut pushes: mpsc::Receiver<Push>,
    ) -> Result<(), ClientError> {
        let Some(link) = self.links.get_mut(&relay) else {
            return Ok(());
        };
        link.generation += 1;
        link.backoff.succeeded();
        let generation = link.generation;
        let submitter = spawn_submitter(connection, self.reports.clone());
        let waiting = match std::mem::replace(&mut link.state, LinkState::Up(submitter.clone())) {
            LinkState::Connecting(waiting) => waiting,
            _ => Vec::new(),
        };
        let address = link.address.clone();
        let reports = self.reports.clone();
        let key = relay.clone();
        tokio::spawn(async move {
            while let Some(push) = pushes.recv().await {
                let input = Input::Pushed {
                    relay: key.clone(),
                    push,
                };
                if reports.send(input).is_err() {
                    return;
                }
            }
            let _ = reports.send(Input::Closed {
                relay: key,
                generation,
            });
        });
        for request in waiting {
            // The submitter was just started: it takes everything.
            let _ = submitter.send(request);
        }
        if self.options.mode == Mode::Live {
            self.core
                .handle_relay_connected(now(), &address)
                .or_else(local)?;
        }
        Ok(())
    }

    /// The relay could not be reached or the connection ended: what waited
    /// for it fails, and live mode tries again after a backoff if the relay
    /// holds the profile's queues. A relay it only sends to is forgotten and
    /// connected again when a request goes there: renewed while idle, the
    /// relay would close it as unauthorized, over and over.
    fn lost(&mut self, relay: &str) -> Result<(), ClientError> {
        let subscribed = match self.links.get(relay) {
            Some(link) => self.core.subscribed_relays()?.contains(&link.address),
            None => return Ok(()),
        };
        let Some(link) = self.links.get_mut(relay) else {
            return Ok(());
        };
        let retry = match self.options.mode {
            Mode::Live if subscribed => {
                Some(Instant::now() + link.backoff.failed(OsRng.next_u32()))
            }
            Mode::Live | Mode::OneShot => None,
        };
        let waiting = match std::mem::replace(&mut link.state, LinkState::Down(retry)) {
            LinkState::Connecting(waiting) => waiting,
            _ => Vec::new(),
        };
        for request in waiting {
            self.core
                .handle_relay_failure(now(), request.token)
                .or_else(local)?;
        }
        Ok(())
    }
}

/// The task that submits a connection's requests in the order the core made
/// them (SENDs to one queue must reach the relay in order), each answer
/// awaited apart so that they share blocks. It ends when the link drops its
/// sender; requests it could not submit are reported failed.
fn spawn_submitter(
    connection: Arc<RelayConnection>,
    reports: mpsc::UnboundedSender<Input>,
) -> mpsc::UnboundedSender<RelayRequest> {
    let (submitter, mut requests) = mpsc::unbounded_channel::<RelayRequest>();
    tokio::spawn(async move {
        let suite = connection.parameters().suite;
        while let Some(request) = requests.recv().await {
            let token = request.token;
            match connection
                .submit(&request.command, request.auth_key.as_ref())
                .await
            {
                Ok(pending) => {
                    let reports = reports.clone();
                    tokio::spawn(async move {
                        let result = pending.response().await;
                        let _ = reports.send(Input::Answer {
                            token,
                            result,
                            suite,
                        });
                    });
                }
                Err(error) => {
                    let _ = reports.send(Input::Answer {
                        token,
                        result: Err(error),
                        suite,
                    });
                }
            }
        }
    });
    submitter
}

/// Errors caused by a relay or a contact are logged and the runtime carries
/// on; local ones (storage) stop it.
fn local(error: CoreError) -> Result<(), ClientError> {
    if error.is_remote_fault() {
        tracing::debug!(%error, "remote fault");
        Ok(())
    } else {
        Err(ClientError::Core(error))
    }
}

/// The wall clock in milliseconds since the Unix epoch.
pub fn now_millis() -> UnixMillis {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis())
        .unwrap_or(0);
    UnixMillis(u64::try_from(millis).unwrap_or(u64::MAX))
}

fn now() -> UnixMillis {
    now_millis()
}

/// The monotonic instant at which the wall clock reads `at`.
fn instant_of(at: UnixMillis) -> Instant {
    // Capped: a timer weeks away is looked at again after a day.
    let wait = at.0.saturating_sub(now_millis().0).min(86_400_000);
    Instant::now() + Duration::from_millis(wait)
}
