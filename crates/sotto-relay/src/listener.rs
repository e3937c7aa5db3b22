//! The TCP listener: a semaphore caps open connections, and TLS (when configured)
//! is terminated here, before HTTP.
//!
//! An accept task takes a permit before each `accept`, so past the cap new
//! connections wait in the kernel's backlog. TLS handshakes run in their own tasks
//! with a timeout, so a slow client cannot hold up the others. Each accepted
//! stream carries its permit and gives it back when it is dropped.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
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

/// An accepted connection, plain or TLS, holding its connection permit.
pub struct RelayStream {
    inner: Inner,
    _permit: OwnedSemaphorePermit,
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
        handshake_timeout: Duration,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Self, Error> {
        let local_addr = listener
            .local_addr()
            .map_err(Error::io("reading the bound address"))?;
        let (ready_sender, ready) = mpsc::channel(READY_QUEUE);
        let permits = Arc::new(Semaphore::new(max_connections));
        tokio::spawn(accept_loop(
            listener,
            tls,
            permits,
            handshake_timeout,
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

async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    permits: Arc<Semaphore>,
    handshake_timeout: Duration,
    ready: mpsc::Sender<(RelayStream, SocketAddr)>,
    mut shutdown: watch::Receiver<bool>,
) {
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
        // Blocks are small and latency matters more than packet count.
        let _ = tcp.set_nodelay(true);
        match &tls {
            None => {
                let stream = RelayStream {
                    inner: Inner::Plain(tcp),
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
