//! One-shot commands while `sotto listen` or `sotto chat` holds the profile.
//!
//! The database is opened by one process at a time (SQLCipher in exclusive
//! mode), so a second process cannot open a profile that a live one holds.
//! The live process listens on a Unix socket in the profile directory
//! (`control.sock`, mode 0600, in the directory that only its user can
//! read); a command that finds the profile in use sends its command line and
//! passphrase there, the live process checks the passphrase (constant time)
//! and runs the command on its own open profile and connections, between the
//! events it handles, and sends back what the command printed and how it
//! ended. Nothing runs twice on the profile at once, so nothing is lost.
//!
//! ```text
//! request  = one JSON line {"args": [command line after `sotto`], "passphrase": "…"}
//! response = one JSON line {"output": "what stdout would show", "error": null | {"kind", "message"}}
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;
use zeroize::{Zeroize, Zeroizing};

/// The longest request or response line read, in bytes.
const MAX_LINE: u64 = 1 << 20;

/// How long a client may take to send its request line.
const REQUEST_TIME: Duration = Duration::from_secs(10);

/// Requests read and waiting for the live process; more clients wait in
/// their read task.
const QUEUED_REQUESTS: usize = 16;

/// What a forwarded command sends.
#[derive(Serialize, Deserialize)]
pub(crate) struct Request {
    /// The command line after the program name.
    pub(crate) args: Vec<String>,
    /// The passphrase the command was given (wiped when dropped).
    pub(crate) passphrase: String,
}

impl Drop for Request {
    fn drop(&mut self) {
        self.passphrase.zeroize();
    }
}

/// How a forwarded command ended.
#[derive(Serialize, Deserialize)]
pub(crate) struct Response {
    /// What the command printed on stdout.
    pub(crate) output: String,
    /// Its error, if it failed.
    pub(crate) error: Option<Failed>,
}

/// A forwarded command's error.
#[derive(Serialize, Deserialize)]
pub(crate) struct Failed {
    /// As in `--json` errors.
    pub(crate) kind: String,
    /// As in `--json` errors.
    pub(crate) message: String,
}

/// Where the live process of a profile listens.
pub(crate) fn socket_path(dir: &Path) -> PathBuf {
    dir.join("control.sock")
}

/// The live process's side: the socket, removed when dropped.
///
/// A task accepts connections and reads their requests, so that a client
/// that is slow to send its line holds up neither the live process nor
/// another client, and a request read is never lost when the live process
/// turns to one of its own events first ([`ControlSocket::next`] is
/// cancel-safe).
pub(crate) struct ControlSocket {
    requests: tokio::sync::Mutex<mpsc::Receiver<(Request, UnixStream)>>,
    acceptor: tokio::task::JoinHandle<()>,
    path: PathBuf,
}

impl ControlSocket {
    /// Listens in the profile directory `dir`, replacing a socket left by a
    /// live process that died.
    pub(crate) fn bind(dir: &Path) -> std::io::Result<ControlSocket> {
        use std::os::unix::fs::PermissionsExt;
        let path = socket_path(dir);
        // The profile is ours (its database is open in this process): a
        // socket there is stale.
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        let (sender, requests) = mpsc::channel(QUEUED_REQUESTS);
        let acceptor = tokio::spawn(accept(listener, sender));
        Ok(ControlSocket {
            requests: tokio::sync::Mutex::new(requests),
            acceptor,
            path,
        })
    }

    /// The next forwarded command, with the stream to answer on.
    pub(crate) async fn next(&self) -> (Request, UnixStream) {
        match self.requests.lock().await.recv().await {
            Some(request) => request,
            // The acceptor ended (the listener failed): no more commands.
            None => std::future::pending().await,
        }
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        self.acceptor.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Accepts clients; each one's request line is read on a task of its own
/// and queued for the live process. A client that sends no valid request
/// within [`REQUEST_TIME`] is dropped.
async fn accept(listener: UnixListener, sender: mpsc::Sender<(Request, UnixStream)>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors, say: try again shortly.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let sender = sender.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stream);
            let mut line = Zeroizing::new(String::new());
            let mut limited = (&mut reader).take(MAX_LINE);
            let read = limited.read_line(&mut line);
            if !matches!(tokio::time::timeout(REQUEST_TIME, read).await, Ok(Ok(_))) {
                return;
            }
            if let Ok(request) = serde_json::from_str::<Request>(&line) {
                let _ = sender.send((request, reader.into_inner())).await;
            }
        });
    }
}

/// Answers a forwarded command.
pub(crate) async fn answer(mut stream: UnixStream, response: &Response) {
    let Ok(mut line) = serde_json::to_vec(response) else {
        return;
    };
    line.push(b'\n');
    let _ = stream.write_all(&line).await;
    let _ = stream.shutdown().await;
}

/// The forwarding side: sends the command to the live process of `dir`;
/// `None` when no live process listens there.
pub(crate) async fn forward(dir: &Path, request: &Request) -> anyhow::Result<Option<Response>> {
    let Ok(mut stream) = UnixStream::connect(socket_path(dir)).await else {
        return Ok(None);
    };
    let mut line = Zeroizing::new(serde_json::to_vec(request)?);
    line.push(b'\n');
    stream.write_all(&line).await?;
    let mut reader = BufReader::new(stream);
    let mut answer = String::new();
    (&mut reader).take(MAX_LINE).read_line(&mut answer).await?;
    Ok(Some(serde_json::from_str(&answer)?))
}
