//! Relay connections through a SOCKS5 proxy (for instance a local Tor at
//! 127.0.0.1:9050).
//!
//! The proxy is asked to connect to the relay's host name (so a `.onion` host
//! or a name only the proxy can resolve works, and no DNS query leaves this
//! machine); a loopback forwarder hands that stream to the ordinary
//! [`RelayConnection`](crate::relay::RelayConnection), whose handshake still
//! checks the relay's fingerprint end to end. TLS relays (`sotto://`) are not
//! yet supported through the proxy.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};

use sotto_wire::{RelayAddress, RelayHost, RelayScheme};
use tokio::net::TcpListener;

use crate::ClientError;
use crate::relay::ConnectOptions;

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

    /// Opens a connection to `relay` through the proxy and returns a loopback
    /// address that forwards to it (one connection, then the forwarder ends).
    pub(crate) async fn forward(
        &self,
        relay: &RelayAddress,
        options: &ConnectOptions,
    ) -> Result<RelayAddress, ClientError> {
        match relay.scheme {
            RelayScheme::Secure => return Err(ClientError::TlsUnsupported),
            RelayScheme::Plain if !relay.is_loopback() && !options.allow_plain_remote => {
                return Err(ClientError::InsecureTransport);
            }
            RelayScheme::Plain => {}
        }
        let target = relay.host.to_string();
        let target = target.trim_start_matches('[').trim_end_matches(']');
        let proxied = tokio::time::timeout(
            options.connect_timeout,
            tokio_socks::tcp::Socks5Stream::connect(
                (self.host.as_str(), self.port),
                (target, relay.port),
            ),
        )
        .await
        .map_err(|_| ClientError::Timeout)?
        .map_err(|error| ClientError::Io(std::io::Error::other(error)))?;
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let port = listener.local_addr()?.port();
        tokio::spawn(async move {
            let Ok((mut local, _)) = listener.accept().await else {
                return;
            };
            drop(listener);
            let mut proxied = proxied;
            let _ = tokio::io::copy_bidirectional(&mut local, &mut proxied).await;
        });
        Ok(RelayAddress {
            scheme: RelayScheme::Plain,
            fingerprint: relay.fingerprint,
            host: "127.0.0.1".parse::<RelayHost>()?,
            port,
        })
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
