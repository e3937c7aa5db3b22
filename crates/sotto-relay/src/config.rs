//! The relay's configuration: command-line options, an optional TOML file with the
//! same options, and the resolved [`Config`] the rest of the relay reads.
//!
//! Precedence: command line (and environment) over the file over the defaults.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::Error;

/// The default listen address: loopback, so plain WebSocket is allowed.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7000";
/// The default data directory, relative to the working directory.
pub const DEFAULT_DATA: &str = "relay-data";
/// How long an unacknowledged message is kept by default: 21 days.
pub const DEFAULT_MESSAGE_TTL: Duration = Duration::from_secs(21 * 24 * 60 * 60);
/// Pending messages per queue before a send is refused with QUOTA.
pub const DEFAULT_QUEUE_QUOTA: u32 = 128;
/// How long a file chunk is kept after its upload by default (and before, to
/// complete it).
pub const DEFAULT_FILE_TTL: Duration = Duration::from_secs(48 * 60 * 60);
/// The largest file the relay advertises by default, counted as the sum of
/// its chunks: 1 GiB and 4 MiB, so that a file of 1 GiB fits with its
/// tags and the padding of its last chunk.
pub const DEFAULT_MAX_FILE_SIZE: u64 = (1 << 30) + (4 << 20);
/// Simultaneous client connections.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 8192;
/// Transmissions per second a connection may sustain.
pub const DEFAULT_RATE_LIMIT: u32 = 20_000;
/// Transmissions a connection may send in one burst.
pub const DEFAULT_RATE_BURST: u32 = 40_000;
/// Default burst of failed authorizations before a connection is closed.
pub const DEFAULT_AUTH_FAILURE_BURST: u32 = 16;
/// The smallest storage budget: room for a few segments.
pub const MIN_MAX_STORAGE: u64 = 16 << 20;
/// Simultaneous connections from one source address (an IPv6 /64).
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: u32 = 64;
/// Time a connection has to send its first authorized command.
pub const DEFAULT_UNAUTHORIZED_TIMEOUT: Duration = Duration::from_secs(10);
/// Time a client may leave replies unread before the relay resets the connection.
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest a password may be (the NEW command carries at most 128 bytes).
pub const MAX_PASSWORD_LEN: usize = 128;

/// `sotto-relay`: a relay of anonymous simplex queues for Sotto clients.
///
/// Every option may also be set in a TOML file given with `--config`, under the
/// same name without the leading dashes (`queue-quota = 64`). The command line wins
/// over the file.
#[derive(Debug, Default, Parser)]
#[command(name = "sotto-relay", version, about, long_about = None)]
pub struct Cli {
    /// TOML file with any of the options below (keys named like the options, e.g.
    /// `listen = "0.0.0.0:443"`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Address and port to listen on. Port 0 picks a free port; the address
    /// printed on start shows the port actually bound.
    /// [default: 127.0.0.1:7000]
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<SocketAddr>,

    /// Directory holding the relay's identity key and its database; created if
    /// missing. [default: ./relay-data]
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,

    /// TLS certificate chain (PEM). With --tls-key, the relay serves wss and its
    /// address is `sotto://…`.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// TLS private key (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Serve plain WebSocket on a non-loopback address. Without TLS the relay
    /// refuses to listen anywhere but loopback unless this flag is given (for a
    /// relay behind a TLS-terminating proxy).
    #[arg(long)]
    pub insecure_plain: bool,

    /// How long an unacknowledged message is kept, e.g. `21d`, `12h`, `90m`,
    /// `30s` (units s, m, h, d, w). [default: 21d]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub message_ttl: Option<Duration>,

    /// How long a file chunk is kept after its upload completes (and how long
    /// an upload has to complete), e.g. `48h`, `7d`. [default: 48h]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub file_ttl: Option<Duration>,

    /// How long a group log entry is kept after its append, and a group log
    /// after its last create, key rotation or append, e.g. `21d`.
    /// [default: the message TTL]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub group_ttl: Option<Duration>,

    /// The largest file the relay tells clients it accepts (FLIM), e.g.
    /// `2GiB`, counted as the sum of the file's chunks (a file of 1 GiB takes
    /// a little more). The relay cannot tie a file's chunks together, so what
    /// bounds its disk is --max-storage. [default: 1GiB + 4MiB, which a file
    /// of 1 GiB fits]
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_file_size: Option<u64>,

    /// Pending messages a queue may hold; a send beyond it gets ERR QUOTA.
    /// [default: 128]
    #[arg(long, value_name = "N")]
    pub queue_quota: Option<u32>,

    /// Password required to create queues (at most 128 bytes). Prefer the
    /// environment variable so that it does not show in the process list.
    #[arg(
        long,
        value_name = "PASSWORD",
        env = "SOTTO_RELAY_PASSWORD",
        hide_env_values = true
    )]
    pub password: Option<String>,

    /// Directory of static files served at `/` (the web client).
    #[arg(long, value_name = "DIR")]
    pub web_dir: Option<PathBuf>,

    /// Log filter: a level (error, warn, info, debug, trace) or tracing
    /// directives such as `sotto_relay=debug`. Logs go to stderr.
    /// [default: info]
    #[arg(
        long,
        value_name = "FILTER",
        env = "SOTTO_RELAY_LOG",
        hide_env_values = true
    )]
    pub log_level: Option<String>,

    /// Simultaneous client connections; further connections wait to be accepted.
    /// [default: 8192]
    #[arg(long, value_name = "N")]
    pub max_connections: Option<u32>,

    /// Transmissions per second one connection may sustain; beyond it commands
    /// get ERR LIMIT. [default: 20000]
    #[arg(long, value_name = "N")]
    pub rate_limit: Option<u32>,

    /// Transmissions one connection may send in a burst above --rate-limit.
    /// [default: 40000]
    #[arg(long, value_name = "N")]
    pub rate_burst: Option<u32>,

    /// Failed authorizations (ERR AUTH) one connection may make in a burst;
    /// one more per second is allowed after it, and beyond that the connection
    /// is closed, so that probing for queues costs a new connection every few
    /// attempts. [default: 16]
    #[arg(long, value_name = "N")]
    pub auth_failure_burst: Option<u32>,

    /// Time a client has to send each HTTP request's headers (also the next
    /// request on a kept-alive connection) and, separately, to complete the TLS and
    /// the relay handshakes. [default: 10s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub handshake_timeout: Option<Duration>,

    /// A connection that sends no block for this long is closed (clients PING
    /// to stay connected; WebSocket pings do not count). [default: 10m]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub idle_timeout: Option<Duration>,

    /// Bytes of replies, in blocks of 16 KiB, one connection may have waiting
    /// to be written (produced, sealed or queued for its socket) before the
    /// relay stops reading from it. [default: 16]
    #[arg(long, value_name = "N")]
    pub outgoing_blocks: Option<u32>,

    /// A client that leaves replies unread this long (the relay cannot write
    /// any of them) is cut off with a TCP reset, which also frees the kernel's
    /// socket buffers at once. [default: 30s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub stall_timeout: Option<Duration>,

    /// Time a connection has, from its first byte, to send a command that
    /// passes an authenticator check (or a NEW); it is closed when it passes
    /// without one. WebSocket pings and PINGs do not count, so idle
    /// connections cannot hold the connection slots. [default: 10s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub unauthorized_timeout: Option<Duration>,

    /// Simultaneous connections from one IP address (one /64 for IPv6); more
    /// are closed at once. The counts are kept in memory only and never
    /// logged. [default: 64]
    #[arg(long, value_name = "N")]
    pub max_connections_per_ip: Option<u32>,

    /// Most writes committed together with one fsync (group commit).
    /// [default: 4096]
    #[arg(long, value_name = "N")]
    pub max_batch: Option<u32>,

    /// How often expired messages (and, with log storage, unused queues) are
    /// deleted and log space is reclaimed. [default: 60s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub expiry_interval: Option<Duration>,

    /// Storage backend: `log` (append-only segment files in DIR/log, an index
    /// in memory) or `redb` (one database file, DIR/relay.redb; kept to compare
    /// the two). [default: log]
    #[arg(long, value_name = "BACKEND", value_parser = parse_backend)]
    pub storage: Option<StorageBackend>,

    /// Disk space the stored queues, messages, link blobs and file chunks may
    /// take, e.g. `10GiB`, `500MiB` (units B, KiB, MiB, GiB, TiB; KB, MB, GB,
    /// TB are powers of ten). Beyond it new queues, messages, links and chunks
    /// are refused (ERR FULL) until space is freed; a file chunk counts at its
    /// full size from its FNEW; leave at least 128 MiB free on the disk beyond it
    /// for reclaiming. Log storage only. [default: no limit]
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_storage: Option<u64>,

    /// A queue no command used for this long is deleted with its messages
    /// (use is recorded by the day, so deletion comes up to a day later).
    /// Log storage only. [default: the message TTL]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub idle_queue_ttl: Option<Duration>,

    /// Memory the database may use as a page cache, in MiB (redb storage
    /// only). [default: 64]
    #[arg(long, value_name = "MIB")]
    pub db_cache_mib: Option<u32>,

    /// Serve the aggregate counters at `/metrics` on this address (its own
    /// listener; the public listener never serves them). Loopback only unless
    /// --metrics-public is given. Without it, there is no `/metrics`.
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics_listen: Option<SocketAddr>,

    /// Allow --metrics-listen on a non-loopback address. The counters tick
    /// with every delivery: whoever reads them learns when queues are busy.
    #[arg(long)]
    pub metrics_public: bool,

    /// Make each ACK's deletion durable (fsync) before answering it. Without
    /// it, an ACK is answered, and the queue's next message pushed, as soon as
    /// its deletion is written; the deletion reaches the disk with the next
    /// fsync, within 100 ms, so after a crash a message acknowledged just before
    /// may be delivered again (at-least-once, same message id). SENDs are always
    /// on disk before OK either way.
    #[arg(long)]
    pub sync_acks: bool,
}

/// The same options as [`Cli`], read from a TOML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileOptions {
    listen: Option<SocketAddr>,
    data: Option<PathBuf>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    insecure_plain: Option<bool>,
    message_ttl: Option<String>,
    file_ttl: Option<String>,
    group_ttl: Option<String>,
    max_file_size: Option<String>,
    queue_quota: Option<u32>,
    password: Option<String>,
    web_dir: Option<PathBuf>,
    log_level: Option<String>,
    max_connections: Option<u32>,
    rate_limit: Option<u32>,
    rate_burst: Option<u32>,
    auth_failure_burst: Option<u32>,
    handshake_timeout: Option<String>,
    idle_timeout: Option<String>,
    outgoing_blocks: Option<u32>,
    stall_timeout: Option<String>,
    unauthorized_timeout: Option<String>,
    max_connections_per_ip: Option<u32>,
    max_batch: Option<u32>,
    expiry_interval: Option<String>,
    storage: Option<String>,
    max_storage: Option<String>,
    idle_queue_ttl: Option<String>,
    db_cache_mib: Option<u32>,
    sync_acks: Option<bool>,
    metrics_listen: Option<SocketAddr>,
    metrics_public: Option<bool>,
}

/// The relay's resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The data directory.
    pub data: PathBuf,
    /// TLS certificate and key files, if wss is served.
    pub tls: Option<TlsFiles>,
    /// How long an unacknowledged message is kept.
    pub message_ttl: Duration,
    /// How long a file chunk is kept after its FNEW, and after its upload.
    pub file_ttl: Duration,
    /// How long a group log entry is kept after its GAPP, and a log after its
    /// last GNEW, GKEY or GAPP.
    pub group_ttl: Duration,
    /// The largest file the relay advertises.
    pub max_file_size: u64,
    /// Pending messages per queue.
    pub queue_quota: u32,
    /// The password gating queue creation, if any.
    pub password: Option<Password>,
    /// Static files served at `/`.
    pub web_dir: Option<PathBuf>,
    /// The tracing filter.
    pub log_level: String,
    /// Simultaneous connections.
    pub max_connections: u32,
    /// Transmissions per second per connection.
    pub rate_limit: u32,
    /// Burst of transmissions per connection.
    pub rate_burst: u32,
    /// Burst of failed authorizations per connection before it is closed.
    pub auth_failure_burst: u32,
    /// Time allowed for the handshake.
    pub handshake_timeout: Duration,
    /// Time without input before a connection is closed.
    pub idle_timeout: Duration,
    /// Bytes of replies (in blocks) a connection may have waiting.
    pub outgoing_blocks: u32,
    /// Time replies may wait unwritten before the connection is reset.
    pub stall_timeout: Duration,
    /// Time a connection has to send its first authorized command.
    pub unauthorized_timeout: Duration,
    /// Simultaneous connections per source address.
    pub max_connections_per_ip: u32,
    /// Writes per group commit.
    pub max_batch: u32,
    /// Period of the expiry sweep.
    pub expiry_interval: Duration,
    /// Which storage backend holds queues and messages.
    pub storage: StorageBackend,
    /// Bytes of storage beyond which new queues and messages are refused.
    pub max_storage: Option<u64>,
    /// Time after which an unused queue is deleted.
    pub idle_queue_ttl: Duration,
    /// Database page cache, MiB (redb).
    pub db_cache_mib: u32,
    /// Commit ACK-only batches with fsync, as SENDs are (off: without).
    pub sync_acks: bool,
    /// Where `/metrics` is served, if anywhere.
    pub metrics_listen: Option<SocketAddr>,
}

/// Where queues and messages are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageBackend {
    /// Append-only segment files and an index in memory.
    Log,
    /// One redb database file.
    Redb,
}

/// The TLS certificate chain and key files.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

/// The server password: compared in constant time, never printed, zeroized.
#[derive(Clone)]
pub struct Password(Zeroizing<Vec<u8>>);

impl Config {
    /// Parses the command line (and environment), reads the `--config` file if
    /// given, and resolves the configuration.
    pub fn load() -> Result<Self, Error> {
        Self::from_cli(Cli::parse())
    }

    /// Resolves a parsed command line, reading its `--config` file if any.
    pub fn from_cli(cli: Cli) -> Result<Self, Error> {
        let file = match &cli.config {
            Some(path) => read_file_options(path)?,
            None => FileOptions::default(),
        };
        Self::merge(cli, file)
    }

    fn merge(cli: Cli, file: FileOptions) -> Result<Self, Error> {
        let file_duration = |value: Option<String>, name: &str| {
            value
                .map(|text| {
                    parse_duration(&text).map_err(|reason| {
                        Error::Config(format!("{name} in the config file: {reason}"))
                    })
                })
                .transpose()
        };
        let listen = match (cli.listen, file.listen) {
            (Some(addr), _) | (None, Some(addr)) => addr,
            (None, None) => SocketAddr::from(([127, 0, 0, 1], 7000)),
        };
        let tls = match (cli.tls_cert.or(file.tls_cert), cli.tls_key.or(file.tls_key)) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            _ => {
                return Err(Error::Config(
                    "--tls-cert and --tls-key must be given together".into(),
                ));
            }
        };
        let insecure_plain = cli.insecure_plain || file.insecure_plain.unwrap_or(false);
        if tls.is_none() && !listen.ip().is_loopback() && !insecure_plain {
            return Err(Error::Config(format!(
                "refusing plain WebSocket on the non-loopback address {listen}: \
                 give --tls-cert and --tls-key, or --insecure-plain behind a TLS proxy"
            )));
        }
        let metrics_listen = cli.metrics_listen.or(file.metrics_listen);
        let metrics_public = cli.metrics_public || file.metrics_public.unwrap_or(false);
        if let Some(addr) = metrics_listen
            && !addr.ip().is_loopback()
            && !metrics_public
        {
            return Err(Error::Config(format!(
                "refusing /metrics on the non-loopback address {addr}: \
                 give --metrics-public to serve it there"
            )));
        }
        let password = match cli.password.or(file.password) {
            Some(text) if text.is_empty() => None,
            Some(text) if text.len() > MAX_PASSWORD_LEN => {
                return Err(Error::Config(format!(
                    "the password is longer than {MAX_PASSWORD_LEN} bytes"
                )));
            }
            Some(text) => Some(Password::new(text)),
            None => None,
        };
        let message_ttl = match cli.message_ttl {
            Some(ttl) => ttl,
            None => file_duration(file.message_ttl, "message-ttl")?.unwrap_or(DEFAULT_MESSAGE_TTL),
        };
        let file_ttl = match cli.file_ttl {
            Some(ttl) => ttl,
            None => file_duration(file.file_ttl, "file-ttl")?.unwrap_or(DEFAULT_FILE_TTL),
        };
        let group_ttl = match cli.group_ttl {
            Some(ttl) => ttl,
            None => file_duration(file.group_ttl, "group-ttl")?.unwrap_or(message_ttl),
        };
        let max_file_size = match (cli.max_file_size, file.max_file_size) {
            (Some(size), _) => size,
            (None, Some(text)) => parse_size(&text).map_err(|reason| {
                Error::Config(format!("max-file-size in the config file: {reason}"))
            })?,
            (None, None) => DEFAULT_MAX_FILE_SIZE,
        };
        let storage = match (cli.storage, file.storage) {
            (Some(backend), _) => backend,
            (None, Some(text)) => parse_backend(&text)
                .map_err(|reason| Error::Config(format!("storage in the config file: {reason}")))?,
            (None, None) => StorageBackend::Log,
        };
        let max_storage = match (cli.max_storage, file.max_storage) {
            (Some(size), _) => Some(size),
            (None, Some(text)) => Some(parse_size(&text).map_err(|reason| {
                Error::Config(format!("max-storage in the config file: {reason}"))
            })?),
            (None, None) => None,
        };
        let idle_queue_ttl = match cli.idle_queue_ttl {
            Some(value) => value,
            None => file_duration(file.idle_queue_ttl, "idle-queue-ttl")?.unwrap_or(message_ttl),
        };
        let config = Self {
            listen,
            data: cli
                .data
                .or(file.data)
                .unwrap_or_else(|| DEFAULT_DATA.into()),
            tls,
            message_ttl,
            file_ttl,
            group_ttl,
            max_file_size,
            queue_quota: cli
                .queue_quota
                .or(file.queue_quota)
                .unwrap_or(DEFAULT_QUEUE_QUOTA),
            password,
            web_dir: cli.web_dir.or(file.web_dir),
            log_level: cli
                .log_level
                .or(file.log_level)
                .unwrap_or_else(|| "info".into()),
            max_connections: cli
                .max_connections
                .or(file.max_connections)
                .unwrap_or(DEFAULT_MAX_CONNECTIONS),
            rate_limit: cli
                .rate_limit
                .or(file.rate_limit)
                .unwrap_or(DEFAULT_RATE_LIMIT),
            rate_burst: cli
                .rate_burst
                .or(file.rate_burst)
                .unwrap_or(DEFAULT_RATE_BURST),
            auth_failure_burst: cli
                .auth_failure_burst
                .or(file.auth_failure_burst)
                .unwrap_or(DEFAULT_AUTH_FAILURE_BURST),
            handshake_timeout: match cli.handshake_timeout {
                Some(value) => value,
                None => file_duration(file.handshake_timeout, "handshake-timeout")?
                    .unwrap_or(Duration::from_secs(10)),
            },
            idle_timeout: match cli.idle_timeout {
                Some(value) => value,
                None => file_duration(file.idle_timeout, "idle-timeout")?
                    .unwrap_or(Duration::from_secs(600)),
            },
            outgoing_blocks: cli.outgoing_blocks.or(file.outgoing_blocks).unwrap_or(16),
            stall_timeout: match cli.stall_timeout {
                Some(value) => value,
                None => file_duration(file.stall_timeout, "stall-timeout")?
                    .unwrap_or(DEFAULT_STALL_TIMEOUT),
            },
            unauthorized_timeout: match cli.unauthorized_timeout {
                Some(value) => value,
                None => file_duration(file.unauthorized_timeout, "unauthorized-timeout")?
                    .unwrap_or(DEFAULT_UNAUTHORIZED_TIMEOUT),
            },
            max_connections_per_ip: cli
                .max_connections_per_ip
                .or(file.max_connections_per_ip)
                .unwrap_or(DEFAULT_MAX_CONNECTIONS_PER_IP),
            max_batch: cli.max_batch.or(file.max_batch).unwrap_or(4096),
            expiry_interval: match cli.expiry_interval {
                Some(value) => value,
                None => file_duration(file.expiry_interval, "expiry-interval")?
                    .unwrap_or(Duration::from_secs(60)),
            },
            storage,
            max_storage,
            idle_queue_ttl,
            db_cache_mib: cli.db_cache_mib.or(file.db_cache_mib).unwrap_or(64),
            sync_acks: cli.sync_acks || file.sync_acks.unwrap_or(false),
            metrics_listen,
        };
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), Error> {
        let positive = [
            ("queue-quota", self.queue_quota),
            ("max-connections", self.max_connections),
            ("rate-limit", self.rate_limit),
            ("rate-burst", self.rate_burst),
            ("auth-failure-burst", self.auth_failure_burst),
            ("outgoing-blocks", self.outgoing_blocks),
            ("max-connections-per-ip", self.max_connections_per_ip),
            ("max-batch", self.max_batch),
            ("db-cache-mib", self.db_cache_mib),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(Error::Config(format!("{name} must be at least 1")));
            }
        }
        let durations = [
            ("message-ttl", self.message_ttl),
            ("file-ttl", self.file_ttl),
            ("group-ttl", self.group_ttl),
            ("handshake-timeout", self.handshake_timeout),
            ("idle-timeout", self.idle_timeout),
            ("expiry-interval", self.expiry_interval),
            ("idle-queue-ttl", self.idle_queue_ttl),
            ("stall-timeout", self.stall_timeout),
            ("unauthorized-timeout", self.unauthorized_timeout),
        ];
        for (name, value) in durations {
            if value.is_zero() {
                return Err(Error::Config(format!("{name} must be longer than zero")));
            }
        }
        if self.max_file_size == 0 {
            return Err(Error::Config(
                "max-file-size must be at least 1 byte".into(),
            ));
        }
        if let Some(max) = self.max_storage {
            if self.storage != StorageBackend::Log {
                return Err(Error::Config("max-storage needs the log storage".into()));
            }
            if max < MIN_MAX_STORAGE {
                return Err(Error::Config(format!(
                    "max-storage must be at least {} MiB",
                    MIN_MAX_STORAGE >> 20
                )));
            }
        }
        Ok(())
    }
}

fn read_file_options(path: &Path) -> Result<FileOptions, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::ReadFile {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text)
        .map_err(|error| Error::Config(format!("{}: {}", path.display(), error.message())))
}

impl Password {
    /// Wraps a password.
    pub fn new(text: String) -> Self {
        Self(Zeroizing::new(text.into_bytes()))
    }

    /// Whether `candidate` is this password, in time independent of where they
    /// differ and of their lengths (both are hashed first).
    pub fn matches(&self, candidate: &[u8]) -> bool {
        let expected = Sha256::digest(self.0.as_slice());
        let given = Sha256::digest(candidate);
        bool::from(expected.as_slice().ct_eq(given.as_slice()))
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Parses a duration such as `30s`, `90m`, `12h`, `21d`, `2w` or a sum of them
/// (`1d12h`). A bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration".into());
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            digits.push(c);
            if chars.peek().is_none() {
                // A bare trailing number counts as seconds.
                total = add_part(total, &digits, 1, text)?;
                digits.clear();
            }
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 60 * 60,
            'd' => 24 * 60 * 60,
            'w' => 7 * 24 * 60 * 60,
            _ => {
                return Err(format!(
                    "`{text}`: unknown unit `{c}` (use s, m, h, d or w)"
                ));
            }
        };
        if digits.is_empty() {
            return Err(format!("`{text}`: a unit must follow a number"));
        }
        total = add_part(total, &digits, unit, text)?;
        digits.clear();
    }
    Ok(Duration::from_secs(total))
}

/// Parses a storage backend's name.
pub fn parse_backend(text: &str) -> Result<StorageBackend, String> {
    match text.trim() {
        "log" => Ok(StorageBackend::Log),
        "redb" => Ok(StorageBackend::Redb),
        other => Err(format!("`{other}`: unknown storage (use log or redb)")),
    }
}

/// Parses a size such as `10GiB`, `500MiB`, `2GB` or a bare number of bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let unit_bytes: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" | "K" | "k" => 1 << 10,
        "MiB" | "M" => 1 << 20,
        "GiB" | "G" => 1 << 30,
        "TiB" | "T" => 1 << 40,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        other => {
            return Err(format!(
                "`{text}`: unknown unit `{other}` (use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB)"
            ));
        }
    };
    digits
        .parse::<u64>()
        .map_err(|_| format!("`{text}` is not a size"))?
        .checked_mul(unit_bytes)
        .ok_or_else(|| format!("`{text}` is too large"))
}

fn add_part(total: u64, digits: &str, unit: u64, text: &str) -> Result<u64, String> {
    digits
        .parse::<u64>()
        .ok()
        .and_then(|value| value.checked_mul(unit))
        .and_then(|seconds| total.checked_add(seconds))
        .ok_or_else(|| format!("`{text}` is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> Cli {
        let mut argv = vec!["sotto-relay"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).unwrap()
    }

    #[test]
    fn defaults() {
        let config = Config::merge(cli(&[]), FileOptions::default()).unwrap();
        assert_eq!(config.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(config.data, PathBuf::from(DEFAULT_DATA));
        assert_eq!(config.message_ttl, DEFAULT_MESSAGE_TTL);
        assert_eq!(config.queue_quota, 128);
        assert!(config.tls.is_none());
        assert!(config.password.is_none());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("21d"), Ok(DEFAULT_MESSAGE_TTL));
        assert_eq!(parse_duration("1d12h"), Ok(Duration::from_secs(36 * 3600)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_duration("2w"), Ok(Duration::from_secs(14 * 86400)));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("d").is_err());
        assert!(parse_duration("3y").is_err());
        assert!(parse_duration("99999999999999999999s").is_err());
        assert!(parse_duration("999999999999999999w").is_err());
    }

    #[test]
    fn file_options_apply_and_command_line_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\nqueue-quota = 5\nmessage-ttl = \"2h\"\nweb-dir = \"web\"\n",
        )
        .unwrap();
        let path_text = path.to_str().unwrap();
        let config = Config::from_cli(cli(&["--config", path_text, "--queue-quota", "7"])).unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.queue_quota, 7);
        assert_eq!(config.message_ttl, Duration::from_secs(7200));
        assert_eq!(config.web_dir, Some(PathBuf::from("web")));
    }

    #[test]
    fn unknown_file_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.toml");
        std::fs::write(&path, "lisen = \"127.0.0.1:9000\"\n").unwrap();
        let error = Config::from_cli(cli(&["--config", path.to_str().unwrap()])).unwrap_err();
        assert!(error.to_string().contains("lisen"), "{error}");
    }

    #[test]
    fn missing_file_is_an_error() {
        let error = Config::from_cli(cli(&["--config", "/nonexistent/relay.toml"])).unwrap_err();
        assert!(matches!(error, Error::ReadFile { .. }));
    }

    #[test]
    fn plain_websocket_only_on_loopback() {
        let refused = Config::merge(cli(&["--listen", "0.0.0.0:7000"]), FileOptions::default());
        assert!(matches!(refused, Err(Error::Config(_))));
        let allowed = Config::merge(
            cli(&["--listen", "0.0.0.0:7000", "--insecure-plain"]),
            FileOptions::default(),
        );
        assert!(allowed.is_ok());
        let ipv6 = Config::merge(cli(&["--listen", "[::1]:7000"]), FileOptions::default());
        assert!(ipv6.is_ok());
        let tls = Config::merge(
            cli(&[
                "--listen",
                "0.0.0.0:443",
                "--tls-cert",
                "c.pem",
                "--tls-key",
                "k.pem",
            ]),
            FileOptions::default(),
        )
        .unwrap();
        assert!(tls.tls.is_some());
    }

    #[test]
    fn metrics_only_on_loopback_unless_public() {
        let none = Config::merge(cli(&[]), FileOptions::default()).unwrap();
        assert!(none.metrics_listen.is_none());
        let local = Config::merge(
            cli(&["--metrics-listen", "127.0.0.1:9100"]),
            FileOptions::default(),
        )
        .unwrap();
        assert_eq!(local.metrics_listen.unwrap().port(), 9100);
        let refused = Config::merge(
            cli(&["--metrics-listen", "0.0.0.0:9100"]),
            FileOptions::default(),
        );
        assert!(matches!(refused, Err(Error::Config(_))));
        let file = FileOptions {
            metrics_listen: Some("0.0.0.0:9100".parse().unwrap()),
            metrics_public: Some(true),
            ..FileOptions::default()
        };
        assert!(Config::merge(cli(&[]), file).is_ok());
    }

    #[test]
    fn tls_needs_both_files() {
        assert!(Cli::try_parse_from(["sotto-relay", "--tls-cert", "c.pem"]).is_err());
        let file = FileOptions {
            tls_cert: Some("c.pem".into()),
            ..FileOptions::default()
        };
        assert!(Config::merge(cli(&[]), file).is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10GiB"), Ok(10 << 30));
        assert_eq!(parse_size("500MiB"), Ok(500 << 20));
        assert_eq!(parse_size("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("1 TiB"), Ok(1 << 40));
        assert!(parse_size("").is_err());
        assert!(parse_size("GiB").is_err());
        assert!(parse_size("3PiB").is_err());
        assert!(parse_size("99999999999TiB").is_err());
    }

    #[test]
    fn the_group_ttl_defaults_to_the_message_ttl() {
        let config = Config::merge(cli(&["--message-ttl", "2d"]), FileOptions::default()).unwrap();
        assert_eq!(config.group_ttl, Duration::from_secs(2 * 86400));
        let config = Config::merge(
            cli(&["--message-ttl", "2d"]),
            FileOptions {
                group_ttl: Some("30d".into()),
                ..FileOptions::default()
            },
        )
        .unwrap();
        assert_eq!(config.group_ttl, Duration::from_secs(30 * 86400));
        let config = Config::merge(cli(&["--group-ttl", "1h"]), FileOptions::default()).unwrap();
        assert_eq!(config.group_ttl, Duration::from_secs(3600));
        assert!(Config::merge(cli(&["--group-ttl", "0s"]), FileOptions::default()).is_err());
    }

    #[test]
    fn storage_options() {
        let config = Config::merge(cli(&[]), FileOptions::default()).unwrap();
        assert_eq!(config.storage, StorageBackend::Log);
        assert_eq!(config.max_storage, None);
        assert_eq!(config.idle_queue_ttl, DEFAULT_MESSAGE_TTL);
        let config = Config::merge(
            cli(&["--message-ttl", "2d", "--max-storage", "1GiB"]),
            FileOptions {
                storage: Some("log".into()),
                idle_queue_ttl: Some("30d".into()),
                ..FileOptions::default()
            },
        )
        .unwrap();
        assert_eq!(config.max_storage, Some(1 << 30));
        assert_eq!(config.idle_queue_ttl, Duration::from_secs(30 * 86400));
        let config = Config::merge(cli(&["--message-ttl", "2d"]), FileOptions::default()).unwrap();
        assert_eq!(config.idle_queue_ttl, Duration::from_secs(2 * 86400));
        let redb = Config::merge(cli(&["--storage", "redb"]), FileOptions::default()).unwrap();
        assert_eq!(redb.storage, StorageBackend::Redb);
        assert!(
            Config::merge(
                cli(&["--storage", "redb", "--max-storage", "1GiB"]),
                FileOptions::default()
            )
            .is_err()
        );
        assert!(Config::merge(cli(&["--max-storage", "1MiB"]), FileOptions::default()).is_err());
        assert!(Cli::try_parse_from(["sotto-relay", "--storage", "sqlite"]).is_err());
    }

    #[test]
    fn zero_limits_are_refused() {
        assert!(Config::merge(cli(&["--queue-quota", "0"]), FileOptions::default()).is_err());
        assert!(Config::merge(cli(&["--message-ttl", "0s"]), FileOptions::default()).is_err());
    }

    #[test]
    fn password_is_compared_and_never_printed() {
        let config =
            Config::merge(cli(&["--password", "hunter2"]), FileOptions::default()).unwrap();
        let password = config.password.unwrap();
        assert!(password.matches(b"hunter2"));
        assert!(!password.matches(b"hunter3"));
        assert!(!password.matches(b""));
        assert!(!format!("{password:?}").contains("hunter2"));
        let long = "x".repeat(MAX_PASSWORD_LEN + 1);
        assert!(Config::merge(cli(&["--password", &long]), FileOptions::default()).is_err());
    }

    #[test]
    fn help_documents_every_option() {
        use clap::CommandFactory;
        let help = Cli::command().render_long_help().to_string();
        for option in [
            "--config",
            "--listen",
            "--data",
            "--tls-cert",
            "--tls-key",
            "--insecure-plain",
            "--message-ttl",
            "--queue-quota",
            "--password",
            "--web-dir",
            "--log-level",
            "--max-connections",
            "--rate-limit",
            "--rate-burst",
            "--auth-failure-burst",
            "--handshake-timeout",
            "--idle-timeout",
            "--outgoing-blocks",
            "--max-batch",
            "--expiry-interval",
            "--db-cache-mib",
            "--sync-acks",
            "--storage",
            "--max-storage",
            "--idle-queue-ttl",
            "--metrics-listen",
            "--metrics-public",
            "--stall-timeout",
            "--unauthorized-timeout",
            "--max-connections-per-ip",
        ] {
            assert!(help.contains(option), "{option} missing from --help");
        }
    }
}
