//! Test glue shared by the integration tests: the real `sotto-relay` binary on a
//! temporary data directory, and clients that talk to it over real WebSockets.
//!
//! - [`Relay`]: the relay process; reads the `relay address:` and `web:` lines
//!   it prints, stops it with SIGTERM or SIGKILL, restarts it on the same data,
//!   and reads its log, `/metrics` and resident memory.
//! - [`Client`] (in `client`): a `sotto-client` connection with its pushes.
//! - `wire`: clients built on `sotto-wire` alone, for what a well-behaved client
//!   never sends: [`wire::Client`] sorts replies by corr id and pushes,
//!   [`RawSession`] seals whatever transmissions a test likes, [`say_hello`]
//!   stops after the relay answers the hello.
//! - `power_cut_fs`: a FUSE filesystem that loses what was not fsynced when
//!   the test cuts its power.
//! - Raw sockets before any handshake ([`open_socket`], [`raw_socket`]) and the
//!   frames that come back ([`next_frame`], [`closed`]).

// Test glue: failing loudly is the point, and not every test uses every helper.
#![allow(
    dead_code,
    unused_imports,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod client;
pub mod power_cut_fs;
pub mod wire;

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, ExitStatus, Stdio};
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use futures_util::StreamExt;
use rand::RngCore;
use sotto_wire::x25519_dalek::{PublicKey as DhPublicKey, StaticSecret};
use sotto_wire::{MessageBody, MessageContent, QueueAuthSecret, RelayAddress, RelayScheme};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

pub use client::{Client, open_body};
pub use wire::{RawSession, say_hello};

/// How long a test waits for any one thing from the relay.
pub const WAIT: Duration = Duration::from_secs(15);

/// Fails the test when `future` takes longer than [`WAIT`].
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(WAIT, future).await {
        Ok(value) => value,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// A running `sotto-relay` process with its own data directory.
pub struct Relay {
    child: Option<Child>,
    /// The address it printed (with the port actually bound).
    pub address: RelayAddress,
    /// The web URL it printed.
    pub web_url: String,
    /// The `/metrics` URL it printed (tests serve metrics on a loopback port
    /// of their own, never on the public listener).
    pub metrics_url: String,
    /// Its data directory.
    pub data: PathBuf,
    args: Vec<String>,
    log: PathBuf,
    /// Owns the data directory when the test did not give one.
    _temp: Option<tempfile::TempDir>,
}

impl Relay {
    /// Starts a relay on 127.0.0.1, any port, a fresh data directory, and
    /// `args` (e.g. `--queue-quota 4`).
    pub fn start(args: &[&str]) -> Relay {
        let temp = tempfile::tempdir().unwrap();
        let data = temp.path().join("data");
        let mut relay = Relay::try_start_in(&data, args, &[]).unwrap();
        relay._temp = Some(temp);
        relay
    }

    /// Starts a relay; `Err` carries its exit status and log if it does not
    /// print its address.
    pub fn try_start_in(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<Relay, String> {
        Relay::try_start_logging_to(data, &data.with_extension("log"), args, env)
    }

    /// Like [`Relay::try_start_in`], with the log in a file of the test's
    /// choosing (kept off a filesystem whose power the test cuts).
    pub fn try_start_logging_to(
        data: &Path,
        log: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Relay, String> {
        let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
        let log = log.to_path_buf();
        let (child, address, web_url, metrics_url) = spawn(data, &args, env, &log)?;
        Ok(Relay {
            child: Some(child),
            address,
            web_url,
            metrics_url,
            data: data.to_path_buf(),
            args,
            log,
            _temp: None,
        })
    }

    /// The process id (while it runs).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process is still running (it never should exit by itself).
    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => child.try_wait().unwrap().is_none(),
            None => false,
        }
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

    /// SIGKILL: the relay dies wherever it is, like a crash or power loss of
    /// the process.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the relay (if running) and starts it again on the same data
    /// directory with the same options (new port, same identity).
    pub fn restart(&mut self) {
        self.try_restart().unwrap();
    }

    /// [`Relay::restart`]; `Err` carries the exit status and log if the relay
    /// does not come up.
    pub fn try_restart(&mut self) -> Result<(), String> {
        self.kill();
        let (child, address, web_url, metrics_url) = spawn(&self.data, &self.args, &[], &self.log)?;
        self.child = Some(child);
        self.address = address;
        self.web_url = web_url;
        self.metrics_url = metrics_url;
        Ok(())
    }

    /// What the relay logged on stderr (since its last start).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The `/metrics` text.
    pub async fn metrics(&self) -> String {
        http_get(&self.metrics_url).await
    }

    /// One counter or gauge from `/metrics` (0 if absent).
    pub async fn metric(&self, name: &str) -> u64 {
        let text = self.metrics().await;
        text.lines()
            .find_map(|line| {
                let (key, value) = line.split_once(' ')?;
                (key == name).then(|| value.trim().parse::<f64>().ok())?
            })
            .map_or(0, |value| value as u64)
    }

    /// The relay's resident memory in KiB (`None` without /proc).
    pub fn resident_kib(&self) -> Option<u64> {
        self.proc_status_kib("VmRSS:")
    }

    /// The relay's peak resident memory in KiB (`None` without /proc).
    pub fn peak_resident_kib(&self) -> Option<u64> {
        self.proc_status_kib("VmHWM:")
    }

    fn proc_status_kib(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        let line = status.lines().find(|line| line.starts_with(field))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// A `sotto-client` connection to this relay.
    pub async fn connect(&self) -> Client {
        Client::connect(&self.address).await
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("relay log:\n{}", self.log());
        }
    }
}

/// Starts the relay process and waits for the address, metrics and web URLs it
/// prints.
fn spawn(
    data: &Path,
    args: &[String],
    env: &[(&str, &str)],
    log: &Path,
) -> Result<(Child, RelayAddress, String, String), String> {
    let stderr = std::fs::File::create(log).unwrap();
    let mut child = Process::new(env!("CARGO_BIN_EXE_sotto-relay"))
        .args(["--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .args(["--metrics-listen", "127.0.0.1:0"])
        .args(args)
        .env_remove("SOTTO_RELAY_PASSWORD")
        .env_remove("SOTTO_RELAY_LOG")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
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
    let mut address = None;
    let mut web_url = None;
    let mut metrics_url = None;
    while address.is_none() || web_url.is_none() || metrics_url.is_none() {
        match received.recv_timeout(WAIT) {
            Ok(line) => {
                if let Some(text) = line.strip_prefix("relay address: ") {
                    address = Some(text.trim().parse::<RelayAddress>().unwrap());
                } else if let Some(text) = line.strip_prefix("web: ") {
                    web_url = Some(text.trim().to_owned());
                } else if let Some(text) = line.strip_prefix("metrics: ") {
                    metrics_url = Some(text.trim().to_owned());
                }
            }
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().ok();
                let log = std::fs::read_to_string(log).unwrap_or_default();
                return Err(format!("relay did not start ({status:?}): {log}"));
            }
        }
    }
    Ok((
        child,
        address.unwrap(),
        web_url.unwrap(),
        metrics_url.unwrap(),
    ))
}

/// A minimal HTTP/1.1 GET over a fresh TCP connection; returns the response.
pub async fn http_get(url: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap();
    let mut stream = TcpStream::connect(authority).await.unwrap();
    let request = format!("GET /{path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    within("an HTTP response", stream.read_to_string(&mut response))
        .await
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
    // As clients do: a block's last segment must not wait for an ACK.
    tcp.set_nodelay(true).unwrap();
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

/// [`open_socket`], failing the test after [`WAIT`].
pub async fn raw_socket(address: &RelayAddress) -> Socket {
    within("websocket", open_socket(address)).await
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

/// Random bytes from the operating system.
pub fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0; N];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

/// A fresh X25519 queue auth secret.
pub fn auth_secret() -> QueueAuthSecret {
    QueueAuthSecret::from_bytes(random())
}

/// A DH public key for NEW commands built by hand.
pub fn dh_public() -> DhPublicKey {
    DhPublicKey::from(&StaticSecret::from(random::<32>()))
}

/// A message body of `len` bytes starting with `tag`, the rest random: two
/// bodies are never the same bytes, as two end-to-end ciphertexts never are
/// (a relay stores the same bytes on one queue only once: SEND is
/// idempotent).
pub fn body(tag: &[u8], len: usize) -> MessageBody {
    let mut bytes = tag.to_vec();
    let mut filler = vec![0u8; len.saturating_sub(tag.len())];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut filler);
    bytes.extend_from_slice(&filler);
    MessageBody::new(bytes).unwrap()
}

/// The bytes of a message's content (panics on the quota marker).
pub fn content_bytes(content: MessageContent) -> Vec<u8> {
    match content {
        MessageContent::Body(body) => body.into_vec(),
        MessageContent::QuotaReached => panic!("expected a message, got the quota marker"),
    }
}
