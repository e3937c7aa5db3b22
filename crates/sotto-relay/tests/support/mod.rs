//! Shared glue for the integration tests built on `sotto-client`: a real
//! `sotto-relay` process on a temporary data directory, client connections to
//! it, and a raw encrypted socket for sending what a well-behaved client never
//! would.

// Test glue: failing loudly is the point, and not every test uses every helper.
#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rand::RngCore;
use sotto_client::relay::{
    ConnectOptions, Delivery, Push, RecipientQueue, RelayConnection, SenderQueue,
};
use sotto_wire::x25519_dalek::{PublicKey as DhPublicKey, StaticSecret};
use sotto_wire::{
    Block, ClientHandshake, CorrId, InnerBlock, MessageBody, MessageContent, RelayAddress,
    Response, Transmission, Transport, VersionRange,
};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for any one thing from the relay.
pub const WAIT: Duration = Duration::from_secs(15);

/// Fails the test when `future` takes longer than [`WAIT`].
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(WAIT, future).await {
        Ok(value) => value,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// A running `sotto-relay` with its own data directory.
pub struct Relay {
    child: Option<Child>,
    pub address: RelayAddress,
    pub data: PathBuf,
    args: Vec<String>,
    _dir: tempfile::TempDir,
}

impl Relay {
    /// Starts a relay on 127.0.0.1, any port, a fresh data directory, and
    /// `args` (e.g. `--queue-quota 4`).
    pub fn start(args: &[&str]) -> Relay {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
        let (child, address) = spawn(&data, &args);
        Relay {
            child: Some(child),
            address,
            data,
            args,
            _dir: dir,
        }
    }

    /// SIGKILL: the relay dies wherever it is, like a crash or power loss of
    /// the process.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the relay (if running) and starts it again on the same data
    /// directory (new port, same identity).
    pub fn restart(&mut self) {
        self.kill();
        let (child, address) = spawn(&self.data, &self.args);
        self.child = Some(child);
        self.address = address;
    }

    /// Whether the process is still running (it never should exit by itself).
    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => child.try_wait().unwrap().is_none(),
            None => false,
        }
    }

    /// A client connection to this relay.
    pub async fn connect(&self) -> Client {
        Client::connect(&self.address).await
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.kill();
    }
}

fn spawn(data: &Path, args: &[String]) -> (Child, RelayAddress) {
    let mut child = Process::new(env!("CARGO_BIN_EXE_sotto-relay"))
        .args(["--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .args(["--log-level", "warn"])
        .args(args)
        .env_remove("SOTTO_RELAY_PASSWORD")
        .env_remove("SOTTO_RELAY_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines, received) = std_mpsc::channel();
    std::thread::spawn(move || {
        // Keeps reading so that the relay never writes to a closed pipe.
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = lines.send(line);
        }
    });
    loop {
        match received.recv_timeout(WAIT) {
            Ok(line) => {
                if let Some(text) = line.strip_prefix("relay address: ") {
                    return (child, text.trim().parse().unwrap());
                }
            }
            Err(_) => {
                let _ = child.kill();
                panic!("the relay did not print its address: {:?}", child.wait());
            }
        }
    }
}

/// A `sotto-client` connection with its pushes.
pub struct Client {
    pub connection: RelayConnection,
    pub pushes: mpsc::Receiver<Push>,
}

impl Client {
    pub async fn connect(address: &RelayAddress) -> Client {
        Client::connect_with(address, &ConnectOptions::default()).await
    }

    pub async fn connect_with(address: &RelayAddress, options: &ConnectOptions) -> Client {
        let (connection, pushes) = within("connect", RelayConnection::connect(address, options))
            .await
            .unwrap();
        Client { connection, pushes }
    }

    /// A fresh queue, secured with a fresh sender key; returns both ends.
    pub async fn secured_queue(&self) -> (RecipientQueue, SenderQueue) {
        let queue = self.connection.create_queue(None).await.unwrap();
        let sender = SenderQueue::with_new_key(queue.sender_id());
        let key = sender.verifying_key().unwrap();
        self.connection.secure(&queue, &key).await.unwrap();
        (queue, sender)
    }

    /// The next push; fails the test after [`WAIT`].
    pub async fn next_push(&mut self) -> Push {
        within("a push", self.pushes.recv())
            .await
            .expect("connection closed")
    }

    /// The next push, which must be a message.
    pub async fn next_message(&mut self) -> Delivery {
        match self.next_push().await {
            Push::Message(delivery) => delivery,
            other => panic!("expected MSG, got {other:?}"),
        }
    }

    /// Whether a push arrives within `duration`.
    pub async fn push_within(&mut self, duration: Duration) -> Option<Push> {
        tokio::time::timeout(duration, self.pushes.recv())
            .await
            .ok()
            .flatten()
    }
}

/// A message body of `len` bytes starting with `tag`.
pub fn body(tag: &[u8], len: usize) -> MessageBody {
    let mut bytes = tag.to_vec();
    bytes.resize(len.max(tag.len()), 0x5a);
    MessageBody::new(bytes).unwrap()
}

/// Opens a delivery and returns its body bytes (panics on the quota marker).
pub fn open_body(queue: &RecipientQueue, delivery: &Delivery) -> Vec<u8> {
    match queue.open(delivery).unwrap().content {
        MessageContent::Body(body) => body.into_vec(),
        MessageContent::QuotaReached => panic!("expected a message, got the quota marker"),
    }
}

/// Random bytes from the test's generator.
pub fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0; N];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A raw WebSocket to the relay, before any handshake.
pub async fn raw_socket(address: &RelayAddress) -> Socket {
    let (socket, _) = within(
        "websocket",
        tokio_tungstenite::connect_async(address.websocket_url()),
    )
    .await
    .unwrap();
    socket
}

/// A raw socket after a correct handshake: the test seals what it likes.
pub struct RawSession {
    pub socket: Socket,
    pub transport: Transport,
}

impl RawSession {
    pub async fn open(address: &RelayAddress) -> RawSession {
        let mut socket = raw_socket(address).await;
        let (handshake, hello) = ClientHandshake::start(random(), VersionRange::SUPPORTED);
        socket
            .send(Message::binary(hello.into_vec()))
            .await
            .unwrap();
        let reply = match next_frame(&mut socket).await {
            Some(Message::Binary(bytes)) => Block::from_slice(&bytes).unwrap(),
            other => panic!("expected the server hello, got {other:?}"),
        };
        let transport = handshake
            .handle_server_hello(&reply, &address.fingerprint)
            .unwrap();
        RawSession { socket, transport }
    }

    /// Seals these encoded transmissions into one block and sends it.
    pub async fn send_encoded(&mut self, transmissions: &[Vec<u8>]) {
        let mut batch = InnerBlock::new();
        for transmission in transmissions {
            batch.push_encoded(transmission.clone()).unwrap();
        }
        let block = self.transport.seal(&batch).unwrap();
        self.send_frame(Message::binary(block.into_vec())).await;
    }

    pub async fn send_frame(&mut self, message: Message) {
        // The relay may already have closed; the caller checks for that.
        let _ = self.socket.send(message).await;
    }

    /// The responses in the next block from the relay.
    pub async fn responses(&mut self) -> Vec<(CorrId, Response)> {
        match next_frame(&mut self.socket).await {
            Some(Message::Binary(bytes)) => {
                let inner = self
                    .transport
                    .open(Block::from_slice(&bytes).unwrap())
                    .unwrap();
                inner
                    .transmissions()
                    .iter()
                    .map(|bytes| {
                        let transmission = Transmission::decode(bytes).unwrap();
                        let response = Response::from_transmission(&transmission).unwrap();
                        (transmission.corr_id, response)
                    })
                    .collect()
            }
            other => panic!("expected a block, got {other:?}"),
        }
    }
}

/// The next data or close frame, skipping pings; `None` when the stream ends
/// (or fails: a reset counts as a close).
pub async fn next_frame(socket: &mut Socket) -> Option<Message> {
    loop {
        match within("a frame", socket.next()).await {
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
            Some(Ok(message)) => return Some(message),
            Some(Err(_)) | None => return None,
        }
    }
}

/// Waits until the relay closes the socket; returns the close code it sent,
/// if any. Fails the test if the relay sends data instead.
pub async fn closed(socket: &mut Socket) -> Option<u16> {
    match next_frame(socket).await {
        None => None,
        Some(Message::Close(frame)) => frame.map(|frame: CloseFrame| u16::from(frame.code)),
        Some(other) => panic!("expected the relay to close, got {other:?}"),
    }
}

/// A DH public key for NEW commands built by hand.
pub fn dh_public() -> DhPublicKey {
    DhPublicKey::from(&StaticSecret::from(random::<32>()))
}
