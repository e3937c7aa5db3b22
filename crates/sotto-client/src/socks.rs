//! Relay connections through a SOCKS5 proxy (for instance a local Tor at
//! 127.0.0.1:9050).
//!
//! The proxy is asked to connect to the relay's host name (SOCKS5 domain
//! address type, so a `.onion` host or a name only the proxy can resolve works,
//! and no DNS query leaves this machine). The stream it opens then carries
//! everything a direct TCP connection would: TLS for `sotto://` relays (with the
//! same certificate checks, for the relay's host name), the WebSocket upgrade,
//! and the relay handshake with its fingerprint check.
//!
//! Each connection authenticates to the proxy with a fresh random username and
//! password (RFC 1929). Tor isolates streams by SOCKS credentials
//! (`IsolateSOCKSAuth`, on by default), so two relay connections never share a
//! circuit: the exit (or the onion service's rendezvous) cannot link the queues
//! one client reads on two relays by their circuit. A proxy that ignores
//! credentials accepts them anyway, as long as it offers the username/password
//! method.

use std::fmt;

use rand::RngCore;
use sotto_wire::RelayAddress;
use tokio::net::TcpStream;

use crate::ClientError;

/// A SOCKS5 proxy: `host:port`.
#[derive(Clone, PartialEq, Eq)]
pub struct Socks5Proxy {
    host: String,
    port: u16,
}

impl Socks5Proxy {
    /// The proxy at `host:port` (an IPv6 address in brackets).
    pub fn parse(text: &str) -> Option<Socks5Proxy> {
        let (host, port) = text.rsplit_once(':')?;
        let port = port.parse().ok()?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        (!host.is_empty()).then(|| Socks5Proxy {
            host: host.to_owned(),
            port,
        })
    }

    /// Opens a TCP stream to `relay` through the proxy; once the proxy has
    /// connected, the stream speaks to the relay as a direct one would.
    pub(crate) async fn connect(&self, relay: &RelayAddress) -> Result<TcpStream, ClientError> {
        let target = relay.host.to_string();
        let target = target.trim_start_matches('[').trim_end_matches(']');
        let credentials = IsolationCredentials::fresh();
        let proxied = tokio_socks::tcp::Socks5Stream::connect_with_password(
            (self.host.as_str(), self.port),
            (target, relay.port),
            &credentials.username,
            &credentials.password,
        )
        .await
        .map_err(|error| ClientError::Io(std::io::Error::other(error)))?;
        let stream = proxied.into_inner();
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}

/// A username and password used for one proxied connection only: random, so
/// that no two connections share them (and Tor gives each its own circuit).
/// They authenticate nothing, so they are not secret, but they are never
/// reused or logged.
struct IsolationCredentials {
    username: String,
    password: String,
}

impl IsolationCredentials {
    /// Bytes of randomness in each field (hex-encoded, within RFC 1929's 255).
    const RANDOM_BYTES: usize = 16;

    fn fresh() -> Self {
        Self {
            username: random_hex(Self::RANDOM_BYTES),
            password: random_hex(Self::RANDOM_BYTES),
        }
    }
}

fn random_hex(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

impl fmt::Debug for Socks5Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Socks5Proxy({}:{})", self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_host_and_port() {
        let proxy = Socks5Proxy::parse("127.0.0.1:9050").unwrap();
        assert_eq!(proxy.host, "127.0.0.1");
        assert_eq!(proxy.port, 9050);
        assert!(Socks5Proxy::parse("[::1]:9050").is_some());
        assert!(Socks5Proxy::parse("localhost").is_none());
        assert!(Socks5Proxy::parse(":9050").is_none());
    }

    /// A SOCKS5 proxy that accepts only username/password authentication,
    /// records the credentials of each connection and then refuses to connect
    /// (what the client does after the proxy's answer is not the point here).
    async fn recording_proxy(
        connections: usize,
    ) -> (u16, tokio::task::JoinHandle<Vec<(Vec<u8>, Vec<u8>)>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let mut seen = Vec::new();
            for _ in 0..connections {
                let (mut stream, _) = listener.accept().await.unwrap();
                // Greeting: version 5, the methods offered.
                let mut head = [0u8; 2];
                stream.read_exact(&mut head).await.unwrap();
                let mut methods = vec![0u8; usize::from(head[1])];
                stream.read_exact(&mut methods).await.unwrap();
                assert_eq!(head[0], 5);
                assert!(methods.contains(&2), "username/password not offered");
                stream.write_all(&[5, 2]).await.unwrap();
                // RFC 1929: version 1, username, password.
                let mut version = [0u8; 2];
                stream.read_exact(&mut version).await.unwrap();
                assert_eq!(version[0], 1);
                let mut username = vec![0u8; usize::from(version[1])];
                stream.read_exact(&mut username).await.unwrap();
                let mut len = [0u8; 1];
                stream.read_exact(&mut len).await.unwrap();
                let mut password = vec![0u8; usize::from(len[0])];
                stream.read_exact(&mut password).await.unwrap();
                stream.write_all(&[1, 0]).await.unwrap();
                // The CONNECT request: refuse it (connection refused).
                let mut request = [0u8; 4];
                stream.read_exact(&mut request).await.unwrap();
                stream
                    .write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0])
                    .await
                    .unwrap();
                seen.push((username, password));
            }
            seen
        });
        (port, task)
    }

    #[tokio::test]
    async fn each_connection_has_its_own_credentials() {
        let (port, proxy) = recording_proxy(2).await;
        let socks = Socks5Proxy::parse(&format!("127.0.0.1:{port}")).unwrap();
        let relay: RelayAddress = format!("sotto+ws://{}@relay.example.onion:7000", "A".repeat(43))
            .parse()
            .unwrap();
        for _ in 0..2 {
            assert!(socks.connect(&relay).await.is_err());
        }
        let seen = proxy.await.unwrap();
        assert_eq!(seen.len(), 2);
        for (username, password) in &seen {
            assert_eq!(username.len(), 2 * IsolationCredentials::RANDOM_BYTES);
            assert_eq!(password.len(), 2 * IsolationCredentials::RANDOM_BYTES);
        }
        assert_ne!(seen[0].0, seen[1].0, "usernames repeat");
        assert_ne!(seen[0].1, seen[1].1, "passwords repeat");
    }
}
