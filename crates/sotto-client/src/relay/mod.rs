//! One encrypted connection to a relay.
//!
//! [`RelayConnection::connect`] opens the WebSocket, runs the handshake (refusing
//! a relay whose identity does not match the fingerprint in its address) and
//! starts two tasks: a writer that batches transmissions into blocks, and a
//! reader that routes responses to their callers by correlation id and delivers
//! pushes to the [`Push`] channel returned with the connection. Typed commands
//! (create a queue, secure, subscribe, send, ack, get, suspend, delete, ping) are
//! in `commands`.

mod commands;
mod handshake;
mod queue;
mod reader;
mod writer;

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ed25519_dalek::SigningKey;
use futures_util::StreamExt;
use sotto_wire::{
    BlockOpener, BlockSealer, Command, CorrId, RelayAddress, Response, SessionId, Transmission,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_rustls::rustls::ClientConfig;
use tokio_tungstenite::WebSocketStream;

pub use commands::{PendingOk, PendingQueue};
pub use queue::{Delivery, Push, RecipientQueue, SenderQueue, random_signing_key};
/// The TLS library whose client configuration [`ConnectOptions::tls`] takes.
pub use tokio_rustls::rustls;

use crate::ClientError;
use crate::socks::Socks5Proxy;
use handshake::RelaySocket;
use reader::Waiters;
use writer::{Outgoing, Side};

/// The tag of SEND, the one command that carries a sender id.
const SEND_TAG: u8 = 0x04;

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
    /// Time the relay has to answer a command.
    pub request_timeout: Duration,
    /// Pushes buffered before the reader stops reading (back-pressure).
    pub push_capacity: usize,
    /// Transmissions queued for the writer before callers wait.
    pub send_capacity: usize,
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
            request_timeout: Duration::from_secs(30),
            push_capacity: 1024,
            send_capacity: 1024,
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
    outgoing: mpsc::Sender<Outgoing>,
    waiters: Waiters,
    session_id: SessionId,
    next_corr_id: AtomicU64,
    request_timeout: Duration,
    reader: JoinHandle<Result<(), ClientError>>,
}

impl RelayConnection {
    /// Connects to the relay at `address` and runs the handshake. Returns the
    /// connection and the channel of what the relay pushes (messages on
    /// subscribed queues, END when another connection takes a subscription over).
    pub async fn connect(
        address: &RelayAddress,
        options: &ConnectOptions,
    ) -> Result<(RelayConnection, mpsc::Receiver<Push>), ClientError> {
        let (socket, transport) = handshake::connect(address, options).await?;
        let session_id = transport.session_id();
        let (sealer, opener) = transport.into_split();
        let (outgoing, queue) = mpsc::channel(options.send_capacity.max(1));
        let (pushes, pushed) = mpsc::channel(options.push_capacity.max(1));
        let waiters = Waiters::new();
        let reader = match socket {
            RelaySocket::Plain(socket) => {
                spawn_tasks(*socket, (sealer, opener), queue, waiters.clone(), pushes)
            }
            RelaySocket::Tls(socket) => {
                spawn_tasks(*socket, (sealer, opener), queue, waiters.clone(), pushes)
            }
        };
        let connection = RelayConnection {
            outgoing,
            waiters,
            session_id,
            // Correlation ids only need to be unique on this connection and
            // never zero; they travel inside the encrypted transport.
            next_corr_id: AtomicU64::new(1),
            request_timeout: options.request_timeout,
            reader,
        };
        Ok((connection, pushed))
    }

    /// The session id both ends derived; queue-key signatures are bound to it.
    pub fn session_id(&self) -> SessionId {
        self.session_id
    }

    /// Whether the relay has closed the connection (or broken it).
    pub fn is_closed(&self) -> bool {
        self.reader.is_finished()
    }

    /// Sends `command`, signed with `key` when given, and waits for its response.
    pub async fn request(
        &self,
        command: &Command,
        key: Option<&SigningKey>,
    ) -> Result<Response, ClientError> {
        self.submit(command, key).await?.response().await
    }

    /// Queues `command` for the next block without waiting for the response:
    /// submit many, then await their [`PendingResponse`]s, and they share blocks.
    pub async fn submit(
        &self,
        command: &Command,
        key: Option<&SigningKey>,
    ) -> Result<PendingResponse, ClientError> {
        let corr_id = self.corr_id();
        let transmission = match key {
            Some(key) => command.to_signed_transmission(corr_id, &self.session_id, key),
            None => command.to_transmission(corr_id),
        };
        self.submit_transmission(transmission).await
    }

    /// Queues a transmission as it is (its correlation id is replaced by a fresh
    /// one; any signature must then be made with [`RelayConnection::corr_id`]
    /// first, or be meant to fail). For tests of the relay's refusals.
    pub async fn submit_transmission(
        &self,
        transmission: Transmission,
    ) -> Result<PendingResponse, ClientError> {
        let corr_id = if transmission.corr_id.is_push() {
            self.corr_id()
        } else {
            transmission.corr_id
        };
        let transmission = Transmission {
            corr_id,
            ..transmission
        };
        let side = match (transmission.tag, transmission.entity) {
            (_, None) => Side::Neutral,
            (SEND_TAG, Some(_)) => Side::Sender,
            (_, Some(_)) => Side::Recipient,
        };
        let outgoing = Outgoing {
            bytes: transmission.encode(),
            side,
        };
        if !outgoing.fits_a_block() {
            return Err(ClientError::Protocol(sotto_wire::WireError::BatchFull));
        }
        let receiver = self.waiters.insert(corr_id).ok_or(ClientError::Closed)?;
        if self.outgoing.send(outgoing).await.is_err() {
            self.waiters.remove(&corr_id);
            return Err(ClientError::Closed);
        }
        Ok(PendingResponse {
            corr_id,
            receiver,
            waiters: self.waiters.clone(),
            timeout: self.request_timeout,
        })
    }

    /// A fresh correlation id for this connection.
    pub fn corr_id(&self) -> CorrId {
        let number = self.next_corr_id.fetch_add(1, Ordering::Relaxed);
        CorrId::from_bytes(number.to_be_bytes())
    }
}

/// Starts the writer and the reader over a connected socket; returns the reader.
fn spawn_tasks<S>(
    socket: WebSocketStream<S>,
    (sealer, opener): (BlockSealer, BlockOpener),
    queue: mpsc::Receiver<Outgoing>,
    waiters: Waiters,
    pushes: mpsc::Sender<Push>,
) -> JoinHandle<Result<(), ClientError>>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sink, stream) = socket.split();
    let writer_waiters = waiters.clone();
    tokio::spawn(async move {
        if let Err(error) = writer::run(sink, sealer, queue).await {
            tracing::debug!(%error, "relay connection writer stopped");
        }
        writer_waiters.close();
    });
    tokio::spawn(reader::run(stream, opener, waiters, pushes))
}

impl Drop for RelayConnection {
    fn drop(&mut self) {
        // The writer closes the WebSocket when its queue closes; the reader ends
        // when the relay answers the close.
        self.waiters.close();
    }
}

/// The response to a submitted command, to await later.
#[derive(Debug)]
pub struct PendingResponse {
    corr_id: CorrId,
    receiver: oneshot::Receiver<Response>,
    waiters: Waiters,
    timeout: Duration,
}

impl PendingResponse {
    /// Waits for the response: [`ClientError::Timeout`] after the request timeout,
    /// [`ClientError::Closed`] if the connection ends first.
    pub async fn response(self) -> Result<Response, ClientError> {
        match tokio::time::timeout(self.timeout, self.receiver).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(_)) => Err(ClientError::Closed),
            Err(_) => {
                self.waiters.remove(&self.corr_id);
                Err(ClientError::Timeout)
            }
        }
    }
}
