//! Relay connections through a SOCKS5 proxy (for instance a local Tor at
//! 127.0.0.1:9050).
//!
//! The proxy is asked to connect to the relay's host name (SOCKS5 domain
//! address type, so a `.onion` host or a name only the proxy can resolve works,
//! and no DNS query leaves this machine). The stream it opens then carries
//! everything a direct TCP connection would: TLS for `sotto://` relays (with the
//! same certificate checks, for the relay's host name), the WebSocket upgrade,
//! and the relay handshake with its fingerprint check.

use std::fmt;

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
        let proxied = tokio_socks::tcp::Socks5Stream::connect(
            (self.host.as_str(), self.port),
            (target, relay.port),
        )
        .await
        .map_err(|error| ClientError::Io(std::io::Error::other(error)))?;
        let stream = proxied.into_inner();
        stream.set_nodelay(true)?;
        Ok(stream)
    }
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
}
