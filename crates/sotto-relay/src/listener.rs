//! The TCP listener: a semaphore caps open connections, and TLS (when configured)
//! is terminated here, before HTTP.
//!
//! An accept task takes a permit before each `accept`, so past the cap new
//! connections wait in the kernel's backlog. TLS handshakes run in their own tasks
//! with a timeout, so a slow client cannot hold up the others. Each accepted
//! stream carries its permit and gives it back when it is dropped.
//!
//! Connections are also counted per source address (an IPv4 address, or the
//! /64 of an IPv6 one): past `max_per_source`, a new connection from that
//! source is reset at once, so that one host cannot take every slot. The counts
//! live in memory only, for as long as connections are open, and are never
//! logged.
//!
//! Each socket's kernel send buffer is set to the connection's reply bound, so
//! that what the kernel holds for a client is bounded in bytes as well.
//!
//! A stream closes with a TCP reset (SO_LINGER 0) when the connection asks for
//! it ([`ResetOnClose`]): the kernel then drops the unsent bytes of a client
//! that stopped reading instead of keeping them, up to a full socket buffer,
//! long after the connection and its slot are gone.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::server::TlsStream;

use crate::Error;
use crate::config::TlsFiles;

/// Accepted connections waiting for the HTTP server to pick them up.
const READY_QUEUE: usize = 64;

/// Pause after an accept error (e.g. too many open files) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// An accepted connection, plain or TLS, holding its connection permit and
/// its place in the count of its source address.
pub struct RelayStream {
    inner: Inner,
    reset: ResetOnClose,
    _source: SourceSlot,
    _permit: OwnedSemaphorePermit,
}

/// Set by the connection to have its stream closed with a TCP reset.
#[derive(Clone, Debug, Default)]
pub struct ResetOnClose(Arc<AtomicBool>);

impl ResetOnClose {
    /// Close with a reset (SO_LINGER 0) when the stream is dropped.
    pub fn request(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn is_requested(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl RelayStream {
    /// The switch that makes this stream close with a reset.
    pub fn reset_on_close(&self) -> ResetOnClose {
        self.reset.clone()
    }

    fn tcp(&self) -> &TcpStream {
        match &self.inner {
            Inner::Plain(stream) => stream,
            Inner::Tls(stream) => stream.get_ref().0,
        }
    }
}

impl Drop for RelayStream {
    fn drop(&mut self) {
        if self.reset.is_requested() {
            reset(self.tcp());
        }
    }
}

/// Makes the coming close of `tcp` a reset, which discards unsent data.
fn reset(tcp: &TcpStream) {
    let _ = socket2::SockRef::from(tcp).set_linger(Some(Duration::ZERO));
}

/// Open connections per source address.
#[derive(Debug)]
struct SourceCounts {
    max_per_source: u32,
    open: Mutex<HashMap<Source, u32>>,
}

/// Where connections come from, as far as the per-source cap sees: an IPv4
/// address, or the /64 prefix of an IPv6 one (a host usually has a whole /64).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Source {
    V4(u32),
    V6Prefix(u64),
}

impl Source {
    fn of(ip: IpAddr) -> Source {
        match ip {
            IpAddr::V4(ip) => Source::V4(u32::from(ip)),
            IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
                Some(ip) => Source::V4(u32::from(ip)),
                None => {
                    let bits = u128::from(ip) >> 64;
                    Source::V6Prefix(u64::try_from(bits).unwrap_or(u64::MAX))
                }
            },
        }
    }
}

/// One connection's place in its source's count; gives it back when dropped.
#[derive(Debug)]
struct SourceSlot {
    counts: Arc<SourceCounts>,
    source: Source,
}

impl SourceCounts {
    /// A slot for one more connection from `ip`, unless its source is at the cap.
    fn take(self: &Arc<Self>, ip: IpAddr) -> Option<SourceSlot> {
        let source = Source::of(ip);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(source).or_insert(0);
        if *count >= self.max_per_source {
            return None;
        }
        *count += 1;
        Some(SourceSlot {
            counts: Arc::clone(self),
            source,
        })
    }
}

impl Drop for SourceSlot {
    fn drop(&mut self) {
        let mut open = self
            .counts
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.source) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                // Forget the address as soon as it has no connection.
                open.remove(&self.source);
            }
        }
    }
}

enum Inner {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// Accepted connections, ready for HTTP.
pub struct RelayListener {
    ready: mpsc::Receiver<(RelayStream, SocketAddr)>,
    local_addr: SocketAddr,
}

/// Loads the certificate chain and key into a TLS acceptor (HTTP/1.1 only).
pub fn tls_acceptor(files: &TlsFiles) -> Result<TlsAcceptor, Error> {
    let certs = {
        let mut reader = open_pem(&files.cert)?;
        rustls_pemfile::certs(&mut reader)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| Error::Tls(format!("{}: {error}", files.cert.display())))?
    };
    if certs.is_empty() {
        return Err(Error::Tls(format!(
            "{}: no certificate",
            files.cert.display()
        )));
    }
    let key = {
        let mut reader = open_pem(&files.key)?;
        rustls_pemfile::private_key(&mut reader)
            .map_err(|error| Error::Tls(format!("{}: {error}", files.key.display())))?
            .ok_or_else(|| Error::Tls(format!("{}: no private key", files.key.display())))?
    };
    let mut config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|error| Error::Tls(error.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn open_pem(path: &Path) -> Result<io::BufReader<std::fs::File>, Error> {
    std::fs::File::open(path)
        .map(io::BufReader::new)
        .map_err(|source| Error::ReadFile {
            path: path.to_path_buf(),
            source,
        })
}

impl RelayListener {
    /// Starts accepting on `listener` until `shutdown` turns true.
    pub fn start(
        listener: TcpListener,
        tls: Option<TlsAcceptor>,
        max_connections: usize,
        max_per_source: u32,
        send_buffer: usize,
        handshake_timeout: Duration,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Self, Error> {
        let local_addr = listener
            .local_addr()
            .map_err(Error::io("reading the bound address"))?;
        let (ready_sender, ready) = mpsc::channel(READY_QUEUE);
        let permits = Arc::new(Semaphore::new(max_connections));
        let sources = Arc::new(SourceCounts {
            max_per_source,
            open: Mutex::new(HashMap::new()),
        });
        let admission = Admission {
            permits,
            sources,
            send_buffer,
            handshake_timeout,
        };
        tokio::spawn(accept_loop(
            listener,
            tls,
            admission,
            ready_sender,
            shutdown,
        ));
        Ok(Self { ready, local_addr })
    }

    /// The address bound (with the actual port when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The next accepted connection; `None` once accepting has stopped.
    pub async fn next(&mut self) -> Option<RelayStream> {
        self.ready.recv().await.map(|(stream, _)| stream)
    }
}

/// What a connection must get past to be accepted, and how its socket is set.
struct Admission {
    permits: Arc<Semaphore>,
    sources: Arc<SourceCounts>,
    send_buffer: usize,
    handshake_timeout: Duration,
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    admission: Admission,
    ready: mpsc::Sender<(RelayStream, SocketAddr)>,
    mut shutdown: watch::Receiver<bool>,
) {
    let Admission {
        permits,
        sources,
        send_buffer,
        handshake_timeout,
    } = admission;
    loop {
        let permit = tokio::select! {
            _ = shutdown.changed() => return,
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
        };
        let (tcp, addr) = tokio::select! {
            _ = shutdown.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        let Some(source) = sources.take(addr.ip()) else {
            // Over its source's cap: reset now, keeping no state for it.
            reset(&tcp);
            continue;
        };
        // Blocks are small and latency matters more than packet count.
        let _ = tcp.set_nodelay(true);
        // The kernel's send buffer is memory the connection holds too: left to
        // autotuning it grows to megabytes for a client that does not read.
        let _ = socket2::SockRef::from(&tcp).set_send_buffer_size(send_buffer);
        match &tls {
            None => {
                let stream = RelayStream {
                    inner: Inner::Plain(tcp),
                    reset: ResetOnClose::default(),
                    _source: source,
                    _permit: permit,
                };
                if ready.send((stream, addr)).await.is_err() {
                    return;
                }
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                let ready = ready.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => {
                            let stream = RelayStream {
                                inner: Inner::Tls(Box::new(tls)),
                                reset: ResetOnClose::default(),
                                _source: source,
                                _permit: permit,
                            };
                            let _ = ready.send((stream, addr)).await;
                        }
                        Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                });
            }
        }
    }
}

impl AsyncRead for RelayStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            Inner::Tls(stream) => Pin::new(stream.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for RelayStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().inner {
            Inner::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            Inner::Tls(stream) => Pin::new(stream.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Plain(stream) => Pin::new(stream).poll_flush(cx),
            Inner::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            Inner::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().inner {
            Inner::Plain(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            Inner::Tls(stream) => Pin::new(stream.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.inner {
            Inner::Plain(stream) => stream.is_write_vectored(),
            Inner::Tls(stream) => stream.is_write_vectored(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(max_per_source: u32) -> Arc<SourceCounts> {
        Arc::new(SourceCounts {
            max_per_source,
            open: Mutex::new(HashMap::new()),
        })
    }

    #[test]
    fn each_source_is_capped_and_forgotten_when_its_connections_close() {
        let counts = counts(2);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let first = counts.take(ip).unwrap();
        let second = counts.take(ip).unwrap();
        assert!(counts.take(ip).is_none());
        assert!(counts.take("192.0.2.2".parse().unwrap()).is_some());
        drop(first);
        let third = counts.take(ip).unwrap();
        drop((second, third));
        assert!(counts.open.lock().unwrap().is_empty());
    }

    #[test]
    fn ipv6_hosts_count_by_their_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(Source::of(a), Source::of(b));
        assert_ne!(Source::of(a), Source::of(c));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(Source::of(mapped), Source::of("192.0.2.1".parse().unwrap()));
    }
}
