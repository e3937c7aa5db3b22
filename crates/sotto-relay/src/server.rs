//! The relay server: opens the data directory, binds the listener, serves HTTP
//! (`/ws`, static files at `/`) and shuts down gracefully. `/metrics` has a
//! listener of its own (`--metrics-listen`, loopback by default) and is never
//! served on the public one: its counters tick with each delivery, so whoever
//! can read them learns when a recipient comes online.
//!
//! Shutdown order: stop accepting; tell every connection to close (they send a
//! close frame and drop their subscriptions); wait for them; stop the expiry
//! sweep; let the group-commit writer commit what was queued; close the database.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use sotto_wire::{BLOCK_SIZE, RelayAddress, RelayHost, RelayIdentity, RelayScheme};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tracing::Instrument;

use crate::chunk_files::ChunkFiles;
use crate::clock::unix_now;
use crate::config::Config;
use crate::config::StorageBackend;
use crate::listener::{RelayListener, ResetOnClose, tls_acceptor};
use crate::metrics::Metrics;
use crate::relay::Relay;
use crate::store::embedded::{DATABASE_FILE, EmbeddedStore};
use crate::store::group_commit::{self, WriterConfig, WriterHandle};
use crate::store::log::{LogConfig, LogStore};
use crate::store::{Policy, Storage};
use crate::{Error, connection, expiry, identity, web};

/// Largest frame the WebSocket layer reads.
const MAX_FRAME: usize = 2 * BLOCK_SIZE;

/// WebSocket read chunk per connection (the most one read takes from the socket):
/// half a block and the frame's 8-byte header (length and mask), so that a
/// client's block arrives in two read calls, where 4 KiB chunks took four or
/// five (each also a wake-up of the connection's task). The buffer grows to
/// this much plus a block (tungstenite reserves a whole frame on top of what it
/// has read) and keeps that size: 24 KiB per connection. A chunk of a whole
/// frame would take one call, but the buffer would grow to 32 KiB on every
/// connection, idle ones too.
const READ_BUFFER: usize = BLOCK_SIZE / 2 + 8;
/// Bytes the WebSocket buffers before writing to the socket: none, each block
/// is written as it is fed. The buffer keeps the largest size it ever reached
/// for the connection's lifetime, so letting blocks pile up in it would leave
/// every connection that once had a burst of pushes holding several blocks.
const WRITE_BUFFER: usize = 0;

/// Longest the relay waits for connections to close at shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// A bound relay, ready to [`run`](Server::run).
pub struct Server {
    relay: Arc<Relay>,
    storage: Arc<dyn Storage>,
    metrics: Arc<Metrics>,
    writer: WriterHandle,
    listener: RelayListener,
    address: RelayAddress,
    web_url: String,
    web_dir: Option<PathBuf>,
    expiry_interval: Duration,
    header_timeout: Duration,
    metrics_listener: Option<TcpListener>,
    metrics_url: Option<String>,
    shutdown: watch::Sender<bool>,
}

/// What the HTTP handlers share.
#[derive(Clone)]
struct AppState {
    relay: Arc<Relay>,
    shutdown: watch::Receiver<bool>,
    /// Held by every WebSocket task; all dropped means all connections ended.
    connections: mpsc::Sender<()>,
}

impl Server {
    /// Opens the data directory (creating the identity on first start), the
    /// database and the listener.
    pub async fn bind(config: &Config) -> Result<Self, Error> {
        Server::bind_with_storage(config, |storage| storage).await
    }

    /// Like [`Server::bind`], with the store seen through `wrap`: tests put a
    /// store there that misbehaves like a hostile relay operator would.
    pub async fn bind_with_storage(
        config: &Config,
        wrap: impl FnOnce(Arc<dyn Storage>) -> Arc<dyn Storage>,
    ) -> Result<Self, Error> {
        create_data_dir(&config.data)?;
        let secret = identity::load_or_create(&config.data)?;
        let identity = RelayIdentity::from_secret_bytes(*secret);
        drop(secret);
        let policy = Policy {
            queue_quota: config.queue_quota,
            message_ttl_secs: config.message_ttl.as_secs(),
            file_ttl_secs: config.file_ttl.as_secs(),
            group_ttl_secs: config.group_ttl.as_secs(),
        };
        let storage = wrap(open_storage(config, policy).await?);
        let chunk_files = open_chunk_files(config, &storage).await?;
        let metrics = Arc::new(Metrics::default());
        let writer_config = WriterConfig {
            max_batch: usize::try_from(config.max_batch).unwrap_or(usize::MAX),
            defer_acks: !config.sync_acks,
        };
        let (committer, writer) =
            group_commit::start(Arc::clone(&storage), writer_config, Arc::clone(&metrics))?;
        let tls = config.tls.as_ref().map(tls_acceptor).transpose()?;
        let scheme = if tls.is_some() {
            RelayScheme::Secure
        } else {
            RelayScheme::Plain
        };
        let tcp = TcpListener::bind(config.listen)
            .await
            .map_err(Error::io("binding the listen address"))?;
        let metrics_listener = match config.metrics_listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(Error::io("binding the metrics address"))?,
            ),
            None => None,
        };
        let metrics_url = metrics_listener
            .as_ref()
            .map(|listener| listener.local_addr())
            .transpose()
            .map_err(Error::io("reading the metrics address"))?
            .map(|bound| {
                format!(
                    "http://{}/metrics",
                    SocketAddr::new(display_ip(bound), bound.port())
                )
            });
        let (shutdown, shutdown_receiver) = watch::channel(false);
        let listener = RelayListener::start(
            tcp,
            tls,
            usize::try_from(config.max_connections).unwrap_or(usize::MAX),
            config.max_connections_per_ip,
            usize::try_from(config.outgoing_blocks)
                .unwrap_or(usize::MAX)
                .saturating_mul(BLOCK_SIZE),
            config.handshake_timeout,
            shutdown_receiver,
        )?;
        let bound = listener.local_addr();
        let address = RelayAddress {
            scheme,
            fingerprint: identity.fingerprint(),
            host: RelayHost::from(display_ip(bound)),
            port: bound.port(),
        };
        let web_url = format!(
            "{}://{}/",
            if scheme == RelayScheme::Secure {
                "https"
            } else {
                "http"
            },
            SocketAddr::new(display_ip(bound), bound.port())
        );
        let relay = Arc::new(Relay::new(
            config,
            identity,
            Arc::clone(&storage),
            committer,
            chunk_files,
            Arc::clone(&metrics),
        ));
        Ok(Self {
            relay,
            storage,
            metrics,
            writer,
            listener,
            address,
            web_url,
            web_dir: config.web_dir.clone(),
            expiry_interval: config.expiry_interval,
            header_timeout: config.handshake_timeout,
            metrics_listener,
            metrics_url,
            shutdown,
        })
    }

    /// The relay's address, with its fingerprint and the port actually bound.
    pub fn relay_address(&self) -> &RelayAddress {
        &self.address
    }

    /// The URL of the web client.
    pub fn web_url(&self) -> &str {
        &self.web_url
    }

    /// Where `/metrics` is served (`--metrics-listen`), if anywhere.
    pub fn metrics_url(&self) -> Option<&str> {
        self.metrics_url.as_deref()
    }

    /// Serves until `signal` completes, then shuts down gracefully.
    pub async fn run(self, signal: impl Future<Output = ()> + Send + 'static) -> Result<(), Error> {
        let header_timeout = self.header_timeout;
        let Self {
            relay,
            storage,
            metrics,
            writer,
            listener,
            web_dir,
            expiry_interval,
            metrics_listener,
            shutdown,
            ..
        } = self;
        let metrics_server = metrics_listener.map(|listener| {
            tokio::spawn(serve_metrics(
                listener,
                Arc::clone(&relay),
                shutdown.subscribe(),
            ))
        });
        let (connections, mut connections_done) = mpsc::channel::<()>(1);
        let state = AppState {
            relay: Arc::clone(&relay),
            shutdown: shutdown.subscribe(),
            connections,
        };
        let app = router(state, web_dir.as_deref());
        let expiry = tokio::spawn(expiry::run(
            storage,
            Arc::clone(&relay.chunk_files),
            Arc::clone(&metrics),
            expiry_interval,
            shutdown.subscribe(),
            writer.failure_signal(),
        ));
        let shutdown_receiver = shutdown.subscribe();
        let store_failed = writer.failed();
        let (failed_sender, mut failed_receiver) = watch::channel(false);
        let stop = async move {
            tokio::select! {
                () = signal => tracing::info!("shutting down"),
                () = store_failed => {
                    tracing::error!("the store failed: shutting down");
                    failed_sender.send_replace(true);
                }
            }
            let _ = shutdown.send(true);
        };
        serve_http(listener, app, header_timeout, stop, shutdown_receiver).await;
        // The router (and its sender) is gone; wait for the WebSocket tasks.
        if tokio::time::timeout(DRAIN_TIMEOUT, connections_done.recv())
            .await
            .is_err()
        {
            tracing::warn!("some connections did not close in time");
        }
        let _ = expiry.await;
        if let Some(metrics_server) = metrics_server {
            let _ = metrics_server.await;
        }
        drop(relay);
        writer.stop().await;
        tracing::info!("stopped");
        if *failed_receiver.borrow_and_update() {
            // The relay exits with an error so that a supervisor restarts it,
            // and the restart replays the log.
            return Err(Error::StoreFailed);
        }
        Ok(())
    }
}

/// Opens the chunk directory, keeping the files of the chunks `storage` holds.
async fn open_chunk_files(
    config: &Config,
    storage: &Arc<dyn Storage>,
) -> Result<Arc<ChunkFiles>, Error> {
    let data = config.data.clone();
    let storage = Arc::clone(storage);
    tokio::task::spawn_blocking(move || {
        let chunks = storage.chunks()?;
        ChunkFiles::open(&data, &chunks).map(Arc::new)
    })
    .await
    .map_err(|_| Error::Storage("opening the chunk directory was interrupted".into()))?
}

/// Opens the configured storage backend in the data directory.
async fn open_storage(config: &Config, policy: Policy) -> Result<Arc<dyn Storage>, Error> {
    let data = config.data.clone();
    let opened: Result<Arc<dyn Storage>, Error> = match config.storage {
        StorageBackend::Log => {
            if data.join(DATABASE_FILE).exists() {
                // Earlier versions stored queues there; the log does not read it.
                tracing::warn!(
                    "the data directory holds a redb database that the log storage does not \
                     read; its queues are served only with --storage redb"
                );
            }
            let log_config = LogConfig {
                policy,
                segment_bytes: LogConfig::segment_bytes_for(config.max_storage),
                max_bytes: config.max_storage,
                idle_queue_secs: config.idle_queue_ttl.as_secs(),
            };
            tokio::task::spawn_blocking(move || {
                LogStore::open(&data, log_config, unix_now())
                    .map(|store| Arc::new(store) as Arc<dyn Storage>)
            })
            .await
            .map_err(|_| Error::Storage("opening the log was interrupted".into()))?
        }
        StorageBackend::Redb => {
            let path = data.join(DATABASE_FILE);
            let cache_bytes = usize::try_from(config.db_cache_mib)
                .unwrap_or(usize::MAX)
                .saturating_mul(1024 * 1024);
            tokio::task::spawn_blocking(move || {
                EmbeddedStore::open(&path, policy, cache_bytes)
                    .map(|store| Arc::new(store) as Arc<dyn Storage>)
            })
            .await
            .map_err(|_| Error::Storage("opening the database was interrupted".into()))?
        }
    };
    opened
}

/// Serves HTTP/1.1 on every accepted connection until `stop` completes, then
/// lets requests in progress finish. Request headers (also the wait for the next
/// request on a kept-alive connection) must arrive within `header_timeout`, so
/// that silent clients do not hold connection slots.
async fn serve_http(
    mut listener: RelayListener,
    app: Router,
    header_timeout: Duration,
    stop: impl Future<Output = ()>,
    shutdown: watch::Receiver<bool>,
) {
    let (alive, mut all_closed) = mpsc::channel::<()>(1);
    tokio::pin!(stop);
    loop {
        let stream = tokio::select! {
            () = &mut stop => break,
            stream = listener.next() => match stream {
                Some(stream) => stream,
                None => break,
            },
        };
        // The WebSocket handler can have its stream closed with a reset.
        let reset = stream.reset_on_close();
        let service = TowerToHyperService::new(app.clone().layer(Extension(reset)));
        let mut shutdown = shutdown.clone();
        let alive = alive.clone();
        tokio::spawn(async move {
            let _alive = alive;
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = shutdown.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(DRAIN_TIMEOUT, connection).await;
                }
            }
        });
    }
    drop(alive);
    // Upgraded WebSocket connections are tracked separately; this waits for
    // plain HTTP requests in progress.
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, all_closed.recv()).await;
}

fn router(state: AppState, web_dir: Option<&Path>) -> Router {
    let router = Router::new()
        .route("/ws", get(websocket))
        .route(FINGERPRINT_PATH, get(fingerprint))
        .with_state(state);
    match web_dir {
        Some(dir) => router.fallback_service(web::router(dir)),
        None => router
            .route(
                "/",
                get(|| async { "Sotto relay. Clients connect to /ws.\n" }),
            )
            .merge(crate::link_page::router())
            .fallback(|| async { StatusCode::NOT_FOUND }),
    }
}

/// Where the web client served by this relay reads the relay's fingerprint, to
/// build the relay address from the host it was loaded from. It is no weaker than
/// the page itself, which comes from the same origin.
const FINGERPRINT_PATH: &str = "/.well-known/sotto-relay-fingerprint";

async fn fingerprint(State(state): State<AppState>) -> String {
    state.relay.identity.fingerprint().to_string()
}

async fn websocket(
    State(state): State<AppState>,
    Extension(reset): Extension<ResetOnClose>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let number = state.relay.next_connection_number();
    upgrade
        // Frames up to twice a block are read and refused with 1009 by the
        // connection; larger ones fail in the WebSocket layer and close with 1002.
        .max_message_size(MAX_FRAME)
        .max_frame_size(MAX_FRAME)
        // Buffers of at most one block keep idle connections cheap.
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .on_upgrade(move |socket| {
            let span = tracing::info_span!("connection", n = number);
            async move {
                let _alive = state.connections;
                connection::serve(socket, state.relay, state.shutdown, reset).await;
            }
            .instrument(span)
        })
}

/// Serves `/metrics` (and nothing else) on its own listener until shutdown.
async fn serve_metrics(
    listener: TcpListener,
    relay: Arc<Relay>,
    mut shutdown: watch::Receiver<bool>,
) {
    let app = Router::new()
        .route("/metrics", get(metrics))
        .fallback(|| async { StatusCode::NOT_FOUND })
        .with_state(relay);
    let stop = async move {
        let _ = shutdown.changed().await;
    };
    if let Err(error) = axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
    {
        tracing::warn!(%error, "the metrics listener failed");
    }
}

async fn metrics(State(relay): State<Arc<Relay>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        relay.metrics.render(relay.subscriptions.len()),
    )
}

/// The address to print: the bound one, or loopback when bound to all addresses.
fn display_ip(bound: SocketAddr) -> IpAddr {
    match bound.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    }
}

fn create_data_dir(path: &Path) -> Result<(), Error> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(path)
        .map_err(Error::io("creating the data directory"))?;
    // The directory survives a power cut only once its parent's entry for it is
    // on disk (a relative path's parent is the working directory).
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => identity::sync_dir(parent),
        _ => identity::sync_dir(Path::new(".")),
    }
}
