//! Test glue: start the real `sotto-relay` binary and talk to it as a client over
//! a real WebSocket.
//!
//! - [`RelayProcess`]: the relay process with its own data directory; reads the
//!   `relay address:` and `web:` lines it prints, stops it with SIGTERM or
//!   SIGKILL, restarts it on the same data.
//! - [`Client`]: a connection after the handshake; sends commands (batched or
//!   one at a time) and sorts what comes back into replies (by corr id) and
//!   pushes.
//! - [`QueueOwner`]: a recipient's keys for one queue, with the ids from IDS and
//!   the queue key that opens delivered messages.

// Test glue: failing loudly is the point.
#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rand::RngCore;
use sotto_wire::ed25519_dalek::SigningKey;
use sotto_wire::x25519_dalek::{PublicKey as DhPublicKey, StaticSecret};
use sotto_wire::{
    Block, ClientHandshake, Command, CorrId, InnerBlock, MessageBody, QueueKey, QueueMessage,
    RecipientId, RelayAddress, RelayScheme, Response, SenderId, SessionId, Transmission, Transport,
    VersionRange, WireError,
};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

/// How long a test waits for anything from the relay.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A running `sotto-relay` process.
pub struct RelayProcess {
    child: Option<Child>,
    /// The address it printed (with the port actually bound).
    pub address: RelayAddress,
    /// The web URL it printed.
    pub web_url: String,
    /// Its data directory.
    pub data_dir: PathBuf,
    log: PathBuf,
    /// Owns the data directory when the test did not give one.
    _temp: Option<tempfile::TempDir>,
}

impl RelayProcess {
    /// Starts a relay on 127.0.0.1 (any port) with a fresh data directory.
    pub fn start(extra_args: &[&str]) -> RelayProcess {
        let temp = tempfile::tempdir().unwrap();
        let data = temp.path().join("data");
        let mut relay = RelayProcess::start_in(&data, extra_args);
        relay._temp = Some(temp);
        relay
    }

    /// Starts a relay on 127.0.0.1 (any port) over `data`.
    pub fn start_in(data: &Path, extra_args: &[&str]) -> RelayProcess {
        RelayProcess::try_start_in(data, extra_args, &[]).unwrap()
    }

    /// Starts a relay; `Err` carries its exit status and stderr if it does not
    /// print its address.
    pub fn try_start_in(
        data: &Path,
        extra_args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<RelayProcess, String> {
        let log = data.with_extension("log");
        let stderr = std::fs::File::create(&log).unwrap();
        let mut command = Process::new(env!("CARGO_BIN_EXE_sotto-relay"));
        command
            .args(["--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .args(extra_args)
            .env_remove("SOTTO_RELAY_PASSWORD")
            .env_remove("SOTTO_RELAY_LOG")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (lines_sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines_sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut address = None;
        let mut web_url = None;
        while address.is_none() || web_url.is_none() {
            match lines.recv_timeout(TIMEOUT) {
                Ok(line) => {
                    if let Some(text) = line.strip_prefix("relay address: ") {
                        address = Some(text.parse::<RelayAddress>().unwrap());
                    } else if let Some(text) = line.strip_prefix("web: ") {
                        web_url = Some(text.to_owned());
                    }
                }
                Err(_) => {
                    let status = child.wait().ok();
                    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
                    return Err(format!("relay did not start ({status:?}): {stderr}"));
                }
            }
        }
        Ok(RelayProcess {
            child: Some(child),
            address: address.unwrap(),
            web_url: web_url.unwrap(),
            data_dir: data.to_path_buf(),
            log,
            _temp: None,
        })
    }

    /// The process id (while it runs).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        let status = Process::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        child.wait().unwrap()
    }

    /// Kills the process with SIGKILL (a crash).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A new relay process over the same data directory (after `terminate` or
    /// `kill`), on a new port.
    pub fn restart(&mut self, extra_args: &[&str]) {
        self.kill();
        let mut next = RelayProcess::start_in(&self.data_dir, extra_args);
        self.child = next.child.take();
        self.address = next.address.clone();
        self.web_url = next.web_url.clone();
    }

    /// What the relay logged on stderr.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The `/metrics` text.
    pub async fn metrics(&self) -> String {
        http_get(&format!("{}metrics", self.web_url)).await
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A minimal HTTP/1.1 GET over a fresh TCP connection; returns the body.
pub async fn http_get(url: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap();
    let mut stream = TcpStream::connect(authority).await.unwrap();
    let request = format!("GET /{path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(TIMEOUT, stream.read_to_string(&mut response))
        .await
        .unwrap()
        .unwrap();
    response
}

/// Any byte stream a WebSocket can run over (plain TCP or TLS).
pub trait ByteStream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> ByteStream for T {}

/// The raw WebSocket to a relay.
pub type Socket = WebSocketStream<Box<dyn ByteStream>>;

/// The test certificate (self-signed for 127.0.0.1 and localhost, used only by
/// tests) and its key, for `--tls-cert` and `--tls-key`.
pub fn test_tls_files() -> (PathBuf, PathBuf) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    (
        fixtures.join("test-cert.pem"),
        fixtures.join("test-key.pem"),
    )
}

/// A TLS connector that trusts the test certificate only.
fn test_tls_connector() -> tokio_rustls::TlsConnector {
    use tokio_rustls::rustls::{ClientConfig, RootCertStore};
    let (cert, _) = test_tls_files();
    let mut reader = BufReader::new(std::fs::File::open(cert).unwrap());
    let mut roots = RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut reader) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
}

/// Opens a WebSocket to the relay (over TLS for a `sotto://` address, trusting
/// the test certificate) without any relay handshake.
pub async fn open_socket(address: &RelayAddress) -> Socket {
    let authority = format!("{}:{}", address.host, address.port);
    let tcp = TcpStream::connect(&authority).await.unwrap();
    let stream: Box<dyn ByteStream> = match address.scheme {
        RelayScheme::Plain => Box::new(tcp),
        RelayScheme::Secure => {
            let host = address.host.to_string();
            let name = tokio_rustls::rustls::pki_types::ServerName::try_from(host.as_str())
                .unwrap()
                .to_owned();
            Box::new(test_tls_connector().connect(name, tcp).await.unwrap())
        }
    };
    let (socket, _) = tokio_tungstenite::client_async(address.websocket_url(), stream)
        .await
        .unwrap();
    socket
}

/// A client connection after the handshake.
pub struct Client {
    socket: Socket,
    transport: Transport,
    replies: VecDeque<(CorrId, Response)>,
    pushes: VecDeque<Response>,
    next_corr: u64,
}

/// Why a connection attempt failed.
#[derive(Debug)]
pub enum ConnectError {
    /// The relay's reply failed the client's checks.
    Refused(WireError),
    /// The relay closed or sent something else than a block.
    Closed,
}

impl Client {
    /// Connects and completes the handshake, checking the relay's fingerprint.
    pub async fn connect(address: &RelayAddress) -> Result<Client, ConnectError> {
        Client::connect_with(address, VersionRange::SUPPORTED).await
    }

    /// Connects offering `versions`.
    pub async fn connect_with(
        address: &RelayAddress,
        versions: VersionRange,
    ) -> Result<Client, ConnectError> {
        let mut socket = open_socket(address).await;
        let (handshake, hello) = ClientHandshake::start(random_bytes(), versions);
        socket.send(binary(hello)).await.unwrap();
        let reply = next_block(&mut socket).await.ok_or(ConnectError::Closed)?;
        let transport = handshake
            .handle_server_hello(&reply, &address.fingerprint)
            .map_err(ConnectError::Refused)?;
        Ok(Client {
            socket,
            transport,
            replies: VecDeque::new(),
            pushes: VecDeque::new(),
            next_corr: 1,
        })
    }

    /// The session id that signatures bind to.
    pub fn session_id(&self) -> SessionId {
        self.transport.session_id()
    }

    /// A fresh correlation id.
    pub fn corr_id(&mut self) -> CorrId {
        let id = CorrId::from_bytes(self.next_corr.to_be_bytes());
        self.next_corr += 1;
        id
    }

    /// The transmission of `command`, signed with `key` if given.
    pub fn transmission(&mut self, command: &Command, key: Option<&SigningKey>) -> Transmission {
        let corr_id = self.corr_id();
        match key {
            Some(key) => command.to_signed_transmission(corr_id, &self.session_id(), key),
            None => command.to_transmission(corr_id),
        }
    }

    /// Sends transmissions batched in one block.
    pub async fn send_batch(&mut self, transmissions: &[Transmission]) {
        let mut inner = InnerBlock::new();
        for transmission in transmissions {
            inner.push(transmission).unwrap();
        }
        let block = self.transport.seal(&inner).unwrap();
        self.socket.send(binary(block)).await.unwrap();
    }

    /// Sends an arbitrary WebSocket message (for bad-input tests).
    pub async fn send_raw(&mut self, message: Message) {
        self.socket.send(message).await.unwrap();
    }

    /// Sends one command and waits for its reply (pushes that come first are
    /// kept for [`Client::next_push`]).
    pub async fn request(&mut self, command: &Command, key: Option<&SigningKey>) -> Response {
        let transmission = self.transmission(command, key);
        let corr_id = transmission.corr_id;
        self.send_batch(&[transmission]).await;
        self.reply_to(corr_id).await
    }

    /// Waits for the reply with this correlation id.
    pub async fn reply_to(&mut self, corr_id: CorrId) -> Response {
        loop {
            if let Some(index) = self.replies.iter().position(|(id, _)| *id == corr_id) {
                return self.replies.remove(index).unwrap().1;
            }
            self.receive()
                .await
                .expect("connection closed while waiting for a reply");
        }
    }

    /// Waits for the next push (MSG or END with an all-zero corr id).
    pub async fn next_push(&mut self) -> Response {
        loop {
            if let Some(push) = self.pushes.pop_front() {
                return push;
            }
            self.receive()
                .await
                .expect("connection closed while waiting for a push");
        }
    }

    /// A push if one arrives within `wait`.
    pub async fn push_within(&mut self, wait: Duration) -> Option<Response> {
        if let Some(push) = self.pushes.pop_front() {
            return Some(push);
        }
        match tokio::time::timeout(wait, self.receive()).await {
            Ok(Some(())) => self.pushes.pop_front(),
            _ => None,
        }
    }

    /// Receives one block and sorts its transmissions; `None` once closed.
    pub async fn receive(&mut self) -> Option<()> {
        let block = tokio::time::timeout(TIMEOUT, next_block(&mut self.socket))
            .await
            .expect("timed out waiting for the relay")?;
        let inner = self.transport.open(block).unwrap();
        for bytes in inner.into_transmissions() {
            let transmission = Transmission::decode(&bytes).unwrap();
            let response = Response::from_transmission(&transmission).unwrap();
            if transmission.corr_id == CorrId::PUSH && is_push(&response) {
                self.pushes.push_back(response);
            } else {
                self.replies.push_back((transmission.corr_id, response));
            }
        }
        Some(())
    }

    /// Takes every reply received so far (corr id and response), in order.
    pub fn take_replies(&mut self) -> Vec<(CorrId, Response)> {
        self.replies.drain(..).collect()
    }

    /// Takes every push received so far, in order.
    pub fn take_pushes(&mut self) -> Vec<Response> {
        self.pushes.drain(..).collect()
    }

    /// Waits until the relay closes the connection; returns the close code.
    pub async fn closed(&mut self) -> Option<u16> {
        closed(&mut self.socket).await
    }
}

/// Replies the relay sends unasked (to an all-zero corr id).
fn is_push(response: &Response) -> bool {
    matches!(response, Response::Msg { .. } | Response::End { .. })
}

/// Waits until the relay closes `socket`; returns the close code if it sent one.
pub async fn closed(socket: &mut Socket) -> Option<u16> {
    loop {
        match tokio::time::timeout(TIMEOUT, socket.next()).await {
            Err(_) => panic!("the relay did not close the connection"),
            Ok(None) | Ok(Some(Err(_))) => return None,
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|frame| frame.code.into()),
            Ok(Some(Ok(_))) => continue,
        }
    }
}

/// The next binary frame as a block; `None` when the connection closes.
pub async fn next_block(socket: &mut Socket) -> Option<Block> {
    loop {
        match socket.next().await? {
            Ok(Message::Binary(bytes)) => return Some(Block::from_vec(bytes.to_vec()).unwrap()),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

/// A block as a binary WebSocket message.
pub fn binary(block: Block) -> Message {
    Message::Binary(block.into_vec().into())
}

/// 32 random bytes.
pub fn random_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

/// A fresh Ed25519 key.
pub fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&random_bytes())
}

/// A recipient's keys and what NEW returned for one queue.
pub struct QueueOwner {
    pub auth_key: SigningKey,
    pub recipient_id: RecipientId,
    pub sender_id: SenderId,
    pub queue_key: QueueKey,
}

/// The NEW command for fresh keys; returns it with the keys to keep.
pub fn new_queue_command(password: Option<&[u8]>) -> (Command, SigningKey, StaticSecret) {
    let auth_key = signing_key();
    let dh_secret = StaticSecret::from(random_bytes());
    let command = Command::New {
        recipient_auth_key: auth_key.verifying_key(),
        recipient_dh_key: DhPublicKey::from(&dh_secret),
        password: password.map(|bytes| sotto_wire::ServerPassword::new(bytes.to_vec()).unwrap()),
    };
    (command, auth_key, dh_secret)
}

impl QueueOwner {
    /// Creates a queue (NEW) on `client`; panics unless the relay answers IDS.
    pub async fn create(client: &mut Client) -> QueueOwner {
        QueueOwner::create_with_password(client, None)
            .await
            .unwrap()
    }

    /// Creates a queue with a password; the relay's reply if it is not IDS.
    pub async fn create_with_password(
        client: &mut Client,
        password: Option<&[u8]>,
    ) -> Result<QueueOwner, Response> {
        let (command, auth_key, dh_secret) = new_queue_command(password);
        match client.request(&command, Some(&auth_key)).await {
            Response::Ids {
                recipient_id,
                sender_id,
                queue_dh_key,
            } => Ok(QueueOwner {
                auth_key,
                recipient_id,
                sender_id,
                queue_key: QueueKey::derive(&dh_secret, &queue_dh_key).unwrap(),
            }),
            other => Err(other),
        }
    }

    /// Sends a recipient command signed with this queue's key.
    pub async fn request(&self, client: &mut Client, command: &Command) -> Response {
        client.request(command, Some(&self.auth_key)).await
    }

    /// Opens a delivered MSG; returns the message id and what it holds.
    pub fn open(&self, response: &Response) -> (sotto_wire::MessageId, QueueMessage) {
        match response {
            Response::Msg {
                recipient_id,
                message_id,
                sealed,
            } => {
                assert_eq!(*recipient_id, self.recipient_id);
                (
                    *message_id,
                    self.queue_key.open(message_id, sealed).unwrap(),
                )
            }
            other => panic!("expected MSG, got {other:?}"),
        }
    }
}

/// A SEND of `body`.
pub fn send_command(sender_id: SenderId, body: &[u8]) -> Command {
    Command::Send {
        sender_id,
        body: MessageBody::new(body.to_vec()).unwrap(),
    }
}

/// The body of a delivered message (panics on a QUOTA_REACHED marker).
pub fn body_of(message: &QueueMessage) -> Vec<u8> {
    match &message.content {
        sotto_wire::MessageContent::Body(body) => body.as_bytes().to_vec(),
        sotto_wire::MessageContent::QuotaReached => panic!("expected a body, got the quota marker"),
    }
}
