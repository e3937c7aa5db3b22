//! One encrypted connection to a relay.
//!
//! The protocol itself (handshake, authenticators, batching, correlation,
//! keep-alive, request timeouts) is `sotto_wire::ClientConnection`, the same
//! sans-IO state machine the browser drives. This module is its tokio driver:
//! [`RelayConnection::connect`] opens the WebSocket, runs the handshake
//! (refusing a relay whose identity does not match the fingerprint in its
//! address) and starts one task that owns the socket and the state machine,
//! takes commands from the [`RelayConnection`] handles, writes the blocks the
//! machine fills, answers each caller and delivers pushes to the [`Push`]
//! channel returned with the connection. Typed commands (create a queue,
//! secure, subscribe, send, ack, get, suspend, delete, ping; create, set,
//! delete and fetch a link blob) are in `commands`; those of file chunks in
//! `file_chunks`.

mod commands;
mod driver;
mod file_chunks;
mod handshake;
mod queue;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use sotto_wire::{
    CipherSuite, Command, ConnectionConfig, QueueAuthSecret, RelayAddress, Request, Response,
    SessionParameters, Transmission,
};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_rustls::rustls::ClientConfig;

pub use commands::{OwnedLink, PendingOk, PendingQueue};
pub use file_chunks::{
    ChunkDownload, ChunkStatus, ChunkUpload, DEFAULT_PIECE_WINDOW, FileLimits, NewChunk,
    PendingPiece, is_gone,
};
pub use queue::{Delivery, Push, RecipientQueue, SenderQueue, random_auth_secret};
/// The TLS library whose client configuration [`ConnectOptions::tls`] takes.
pub use tokio_rustls::rustls;

use crate::ClientError;
use crate::socks::Socks5Proxy;
use driver::Submission;
use handshake::RelaySocket;

/// How to connect. `Default` suits a client on one connection.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Local address to connect from (for instance one of 127.0.0.x, to spread
    /// many connections over source addresses). `None`: the system chooses.
    pub local_address: Option<IpAddr>,
    /// Allow plain WebSocket (`sotto+ws://`) to a relay that is not on loopback,
    /// for a relay behind a TLS-terminating proxy on a trusted network.
    pub allow_plain_remote: bool,
    /// Time for TCP, the WebSocket upgrade and the handshake, each.
    pub connect_timeout: Duration,
    /// Request timeout and keep-alive of the protocol connection.
    pub connection: ConnectionConfig,
    /// The cipher suites to offer, preferred first.
    pub suites: Vec<CipherSuite>,
    /// Pushes buffered before the connection stops reading (back-pressure).
    pub push_capacity: usize,
    /// Commands queued for the connection before callers wait.
    pub send_capacity: usize,
    /// Bytes of encoded commands the connection holds before it takes no more
    /// from callers (back-pressure in bytes).
    pub max_queued_bytes: usize,
    /// The WebSocket read buffer, allocated per connection.
    pub read_buffer_size: usize,
    /// TLS settings (trusted roots) for `sotto://` relays; without them such an
    /// address is refused with [`ClientError::TlsUnsupported`]. The relay's
    /// fingerprint is checked inside the TLS tunnel either way.
    pub tls: Option<Arc<ClientConfig>>,
    /// Open the TCP stream through this SOCKS5 proxy (which resolves the
    /// relay's host name) instead of directly; TLS and the handshake then run
    /// over the proxied stream unchanged.
    pub socks5: Option<Socks5Proxy>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            local_address: None,
            allow_plain_remote: false,
            connect_timeout: Duration::from_secs(10),
            connection: ConnectionConfig::default(),
            suites: CipherSuite::offered().to_vec(),
            push_capacity: 1024,
            send_capacity: 1024,
            max_queued_bytes: 1 << 20,
            read_buffer_size: 2 * sotto_wire::BLOCK_SIZE,
            tls: None,
            socks5: None,
        }
    }
}

impl ConnectOptions {
    /// TLS settings that trust the platform's certificate authorities (or,
    /// when `SSL_CERT_FILE` or `SSL_CERT_DIR` is set, the PEM certificates
    /// found there instead), for `sotto://` relays. Certificates that cannot
    /// be read are skipped; with none at all, every TLS relay is refused for an
    /// unknown issuer.
    pub fn platform_tls() -> Arc<ClientConfig> {
        let found = rustls_native_certs::load_native_certs();
        let mut roots = rustls::RootCertStore::empty();
        let (_added, _skipped) = roots.add_parsable_certificates(found.certs);
        Arc::new(
            ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )
    }
}

/// An encrypted connection to one relay. Cheap to share behind an `Arc`: every
/// method takes `&self`, and commands from many tasks are batched together.
/// Dropping it closes the connection.
#[derive(Debug)]
pub struct RelayConnection {
    submissions: mpsc::Sender<Submission>,
    parameters: SessionParameters,
    driver: JoinHandle<Result<(), ClientError>>,
}

impl RelayConnection {
    /// Connects to the relay at `address` and runs the handshake. Returns the
    /// connection and the channel of what the relay pushes (messages on
    /// subscribed queues, END when another connection takes a subscription over).
    pub async fn connect(
        address: &RelayAddress,
        options: &ConnectOptions,
    ) -> Result<(RelayConnection, mpsc::Receiver<Push>), ClientError> {
        let clock = Clock::start();
        let (socket, connected) = handshake::connect(address, options, &clock).await?;
        let parameters = connected.parameters;
        let (submissions, queue) = mpsc::channel(options.send_capacity.max(1));
        let (pushes, pushed) = mpsc::channel(options.push_capacity.max(1));
        let limits = driver::Limits {
            max_queued_bytes: options.max_queued_bytes.max(sotto_wire::BLOCK_SIZE),
            push_capacity: options.push_capacity.max(1),
        };
        let driver = match socket {
            RelaySocket::Plain(socket) => tokio::spawn(driver::run(
                *socket,
                connected.connection,
                clock,
                queue,
                pushes,
                limits,
            )),
            RelaySocket::Tls(socket) => tokio::spawn(driver::run(
                *socket,
                connected.connection,
                clock,
                queue,
                pushes,
                limits,
            )),
        };
        let connection = RelayConnection {
            submissions,
            parameters,
            driver,
        };
        Ok((connection, pushed))
    }

    /// What the handshake settled: session id, version, cipher suite, the
    /// relay's session key.
    pub fn parameters(&self) -> SessionParameters {
        self.parameters
    }

    /// Whether the relay has closed the connection (or broken it).
    pub fn is_closed(&self) -> bool {
        self.driver.is_finished()
    }

    /// Sends `command`, authorized with the queue secret `key` when given, and
    /// waits for its response.
    pub async fn request(
        &self,
        command: &Command,
        key: Option<&QueueAuthSecret>,
    ) -> Result<Response, ClientError> {
        self.submit(command, key).await?.response().await
    }

    /// Queues `command` for the next block without waiting for the response:
    /// submit many, then await their [`PendingResponse`]s, and they share blocks.
    pub async fn submit(
        &self,
        command: &Command,
        key: Option<&QueueAuthSecret>,
    ) -> Result<PendingResponse, ClientError> {
        let request = Request {
            command: command.clone(),
            auth: key.cloned(),
        };
        self.hand_over(|reply| Submission::Request { request, reply })
            .await
    }

    /// Queues a transmission exactly as given (its correlation id is kept
    /// unless it is the push id); for tests of the relay's refusals.
    pub async fn submit_transmission(
        &self,
        transmission: Transmission,
    ) -> Result<PendingResponse, ClientError> {
        self.hand_over(|reply| Submission::Raw {
            transmission,
            reply,
        })
        .await
    }

    async fn hand_over(
        &self,
        submission: impl FnOnce(oneshot::Sender<Result<Response, ClientError>>) -> Submission,
    ) -> Result<PendingResponse, ClientError> {
        let (reply, receiver) = oneshot::channel();
        self.submissions
            .send(submission(reply))
            .await
            .map_err(|_| ClientError::Closed)?;
        Ok(PendingResponse { receiver })
    }
}

/// The response to a submitted command, to await later.
#[derive(Debug)]
pub struct PendingResponse {
    receiver: oneshot::Receiver<Result<Response, ClientError>>,
}

impl PendingResponse {
    /// Waits for the response: [`ClientError::Timeout`] after the request
    /// timeout, [`ClientError::Closed`] if the connection ends first.
    pub async fn response(self) -> Result<Response, ClientError> {
        self.receiver.await.unwrap_or(Err(ClientError::Closed))
    }
}

/// Time since the connection started, the sans-IO machine's clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    origin: tokio::time::Instant,
}

impl Clock {
    fn start() -> Clock {
        Clock {
            origin: tokio::time::Instant::now(),
        }
    }

    pub(crate) fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    pub(crate) fn instant(&self, at: Duration) -> tokio::time::Instant {
        self.origin + at
    }
}
