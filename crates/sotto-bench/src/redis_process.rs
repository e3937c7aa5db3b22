//! The durable Redis that the relay is measured against: Debian's
//! `redis-server` as a child process on 127.0.0.1, over a fresh directory,
//! writing an append-only file with an fsync before every reply and no RDB
//! snapshots.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::pinning;
use crate::resp::{self, Reply};

/// The durability options: every write command's effect reaches the AOF and
/// is fsynced before its reply is sent (`appendfsync always`; Redis flushes
/// the AOF in `beforeSleep`, ahead of writing replies), and no snapshots, so
/// the AOF is the only thing written.
const DURABLE: &[&str] = &[
    "--appendonly",
    "yes",
    "--appendfsync",
    "always",
    "--save",
    "",
];

/// A running `redis-server`; killed when dropped.
pub(crate) struct RedisProcess {
    child: Child,
    pub(crate) address: SocketAddr,
}

impl RedisProcess {
    /// Starts `binary` over `dir` (created), on a free loopback port, on CPU
    /// `cpu` when given (with `taskset`).
    pub(crate) async fn start(
        binary: &Path,
        dir: &Path,
        cpu: Option<usize>,
    ) -> Result<RedisProcess> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        // Redis cannot listen on port 0 and report the port: take one the
        // kernel hands out now. Another process could grab it before Redis
        // binds; then Redis exits and the start fails with its message.
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .context("finding a free port")?
            .port();
        let mut command = pinning::command(binary, cpu);
        let child = command
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .arg("--dir")
            .arg(dir)
            .args(DURABLE)
            .args([
                "--daemonize",
                "no",
                "--loglevel",
                "warning",
                "--logfile",
                "",
            ])
            .stdin(Stdio::null())
            // Its log (warnings only) goes with the bench's progress, not
            // into the summary on stdout.
            .stdout(Stdio::from(std::io::stderr()))
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut redis = RedisProcess {
            child,
            address: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        };
        redis.wait_ready().await?;
        Ok(redis)
    }

    /// The process id, for its CPU time and writes.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until the server answers PING, and checks that it runs with the
    /// durability asked for.
    async fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("redis-server exited before it was ready ({status})");
            }
            if let Ok(stream) = TcpStream::connect(self.address).await
                && let Ok(reply) = request(stream, &[b"PING"]).await
            {
                if reply != Reply::Simple("PONG".into()) {
                    bail!("redis-server answered PING with {reply:?}");
                }
                break;
            }
            if Instant::now() > deadline {
                bail!("redis-server did not answer on {}", self.address);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let stream = TcpStream::connect(self.address).await?;
        let reply = request(stream, &[b"CONFIG", b"GET", b"appendfsync"]).await?;
        let always = Reply::Array(Some(vec![
            Reply::Bulk(Some(b"appendfsync".to_vec())),
            Reply::Bulk(Some(b"always".to_vec())),
        ]));
        if reply != always {
            bail!("redis-server is not fsyncing every write: {reply:?}");
        }
        Ok(())
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The version `binary --version` reports, e.g. `7.0.15`.
pub(crate) fn version(binary: &Path) -> Result<String> {
    let output = Command::new(binary)
        .arg("--version")
        .output()
        .with_context(|| format!("running {} --version", binary.display()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.split_whitespace()
        .find_map(|word| word.strip_prefix("v="))
        .map(str::to_owned)
        .with_context(|| format!("no version in `{}`", text.trim()))
}

/// Sends one command on a fresh connection and reads its reply.
async fn request(stream: TcpStream, arguments: &[&[u8]]) -> Result<Reply> {
    let mut stream = BufReader::new(stream);
    let mut command = Vec::new();
    resp::encode(&mut command, arguments);
    stream.get_mut().write_all(&command).await?;
    resp::read(&mut stream).await
}
