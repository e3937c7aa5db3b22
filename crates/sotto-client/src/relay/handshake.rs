//! Opening a connection: TCP (optionally from a chosen local address, or
//! through a SOCKS5 proxy), TLS for `sotto://` relays, the WebSocket upgrade on `/ws`, and the relay handshake with
//! its fingerprint check.

use std::net::{IpAddr, SocketAddr};

use futures_util::{SinkExt, StreamExt};
use sotto_wire::{
    ClientConnection, ConnectionEnd, Event, RelayAddress, RelayScheme, SessionParameters, WireError,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::ClientError;
use crate::relay::queue::random_bytes;
use crate::relay::{Clock, ConnectOptions};

/// A WebSocket to a relay over plain TCP or TLS.
pub(crate) enum RelaySocket {
    /// `sotto+ws://`.
    Plain(Box<WebSocketStream<TcpStream>>),
    /// `sotto://`.
    Tls(Box<WebSocketStream<TlsStream<TcpStream>>>),
}

/// Largest frame accepted from the relay: a block, plus room for a close frame's
/// reason. Anything larger is refused before it is buffered.
const MAX_FRAME: usize = sotto_wire::BLOCK_SIZE + 1024;

/// A connection whose handshake is done, and what it settled.
pub(crate) struct Connected {
    pub(crate) connection: ClientConnection,
    pub(crate) parameters: SessionParameters,
}

/// Connects and runs the handshake; on success the socket speaks encrypted blocks.
pub(crate) async fn connect(
    address: &RelayAddress,
    options: &ConnectOptions,
    clock: &Clock,
) -> Result<(RelaySocket, Connected), ClientError> {
    let tls = match address.scheme {
        RelayScheme::Secure => Some(options.tls.clone().ok_or(ClientError::TlsUnsupported)?),
        RelayScheme::Plain if !address.is_loopback() && !options.allow_plain_remote => {
            return Err(ClientError::InsecureTransport);
        }
        RelayScheme::Plain => None,
    };
    let stream = match &options.socks5 {
        None => tokio::time::timeout(options.connect_timeout, tcp(address, options.local_address))
            .await
            .map_err(|_| ClientError::Timeout)??,
        Some(proxy) => tokio::time::timeout(options.connect_timeout, proxy.connect(address))
            .await
            .map_err(|_| ClientError::Timeout)??,
    };
    match tls {
        None => Ok({
            let (socket, connected) = upgrade(stream, address, options, clock).await?;
            (RelaySocket::Plain(Box::new(socket)), connected)
        }),
        Some(config) => {
            let host = address.host.to_string();
            let host = host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned();
            let name = ServerName::try_from(host).map_err(|_| ClientError::TlsUnsupported)?;
            let stream = tokio::time::timeout(
                options.connect_timeout,
                TlsConnector::from(config).connect(name, stream),
            )
            .await
            .map_err(|_| ClientError::Timeout)??;
            let (socket, connected) = upgrade(stream, address, options, clock).await?;
            Ok((RelaySocket::Tls(Box::new(socket)), connected))
        }
    }
}

/// The WebSocket upgrade and the relay handshake over an open stream.
async fn upgrade<S>(
    stream: S,
    address: &RelayAddress,
    options: &ConnectOptions,
    clock: &Clock,
) -> Result<(WebSocketStream<S>, Connected), ClientError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let config = WebSocketConfig::default()
        .read_buffer_size(options.read_buffer_size)
        .max_message_size(Some(MAX_FRAME))
        .max_frame_size(Some(MAX_FRAME));
    let upgrade =
        tokio_tungstenite::client_async_with_config(address.websocket_url(), stream, Some(config));
    let (mut socket, _) = tokio::time::timeout(options.connect_timeout, upgrade)
        .await
        .map_err(|_| ClientError::Timeout)??;
    let handshake = handshake(&mut socket, address, options, clock);
    let result = tokio::time::timeout(options.connect_timeout, handshake)
        .await
        .map_err(|_| ClientError::Timeout)
        .and_then(|result| result);
    match result {
        Ok(connected) => Ok((socket, connected)),
        Err(error) => {
            // Refused relay: say goodbye without sending it anything else.
            let _ = socket.close(None).await;
            Err(error)
        }
    }
}

async fn tcp(address: &RelayAddress, local: Option<IpAddr>) -> Result<TcpStream, ClientError> {
    let host = address.host.to_string();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let mut last_error = None;
    for remote in tokio::net::lookup_host((host, address.port)).await? {
        let socket = match remote {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        if let Some(local) = local {
            socket.bind(SocketAddr::new(local, 0))?;
        }
        match socket.connect(remote).await {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                return Ok(stream);
            }
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error
        .unwrap_or_else(|| std::io::Error::other("relay host resolves to no address"))
        .into())
}

/// Runs the sans-IO connection's handshake over the socket.
async fn handshake<S>(
    socket: &mut WebSocketStream<S>,
    address: &RelayAddress,
    options: &ConnectOptions,
    clock: &Clock,
) -> Result<Connected, ClientError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut connection = ClientConnection::with_suites(
        address.fingerprint,
        options.connection,
        *random_bytes(),
        clock.now(),
        &options.suites,
    );
    while let Some(hello) = connection.poll_transmit(clock.now()) {
        socket.send(Message::binary(hello.into_vec())).await?;
    }
    loop {
        match connection.poll_event() {
            Some(Event::Connected(parameters)) => {
                return Ok(Connected {
                    connection,
                    parameters,
                });
            }
            Some(Event::Ended(ConnectionEnd::Handshake(WireError::FingerprintMismatch))) => {
                return Err(ClientError::WrongRelayIdentity);
            }
            Some(Event::Ended(
                ConnectionEnd::Handshake(error) | ConnectionEnd::Protocol(error),
            )) => {
                return Err(ClientError::Protocol(error));
            }
            Some(Event::Ended(ConnectionEnd::TimedOut)) => return Err(ClientError::Timeout),
            Some(Event::Ended(ConnectionEnd::Closed)) => return Err(ClientError::Closed),
            Some(_) => continue,
            None => {}
        }
        match socket.next().await.ok_or(ClientError::Closed)?? {
            Message::Binary(bytes) => connection.handle_frame(clock.now(), &bytes),
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
            Message::Close(_) => return Err(ClientError::Closed),
            Message::Text(_) => return Err(ClientError::UnexpectedResponse { command: "hello" }),
        }
    }
}
