//! Relay addresses (`sotto://<fingerprint>@host[:port]`) and relay fingerprints.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::WireError;

/// Length of a fingerprint in its text form (unpadded base64url of 32 bytes).
pub const FINGERPRINT_TEXT_LEN: usize = 43;

/// Longest relay address accepted, in bytes: bounds parsing work.
pub const MAX_ADDRESS_LEN: usize = 512;

const MAX_DOMAIN_LEN: usize = 253;
const MAX_LABEL_LEN: usize = 63;

/// SHA-256 of a relay's Ed25519 identity public key. Written in addresses as 43
/// characters of unpadded base64url. Equality is constant-time.
#[derive(Clone, Copy, Eq)]
pub struct RelayFingerprint([u8; 32]);

impl RelayFingerprint {
    /// The fingerprint of a relay identity key.
    pub fn of(identity_key: &VerifyingKey) -> RelayFingerprint {
        RelayFingerprint(Sha256::digest(identity_key.as_bytes()).into())
    }

    /// The fingerprint made of these 32 hash bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> RelayFingerprint {
        RelayFingerprint(bytes)
    }

    /// The 32 hash bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl ConstantTimeEq for RelayFingerprint {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for RelayFingerprint {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl fmt::Display for RelayFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl fmt::Debug for RelayFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RelayFingerprint({self})")
    }
}

impl FromStr for RelayFingerprint {
    type Err = WireError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.len() != FINGERPRINT_TEXT_LEN {
            return Err(WireError::InvalidFingerprint);
        }
        // The engine refuses padding and non-zero trailing bits: one text per hash.
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| WireError::InvalidFingerprint)?;
        let bytes = <[u8; 32]>::try_from(bytes).map_err(|_| WireError::InvalidFingerprint)?;
        Ok(RelayFingerprint(bytes))
    }
}

/// How a client reaches a relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RelayScheme {
    /// `sotto://`: WebSocket over TLS (`wss`), default port 443.
    Secure,
    /// `sotto+ws://`: plain WebSocket (`ws`), default port 80. Clients accept it
    /// only for loopback hosts unless told otherwise.
    Plain,
}

impl RelayScheme {
    /// The address prefix, `sotto://` or `sotto+ws://`.
    pub const fn prefix(self) -> &'static str {
        match self {
            RelayScheme::Secure => "sotto://",
            RelayScheme::Plain => "sotto+ws://",
        }
    }

    /// The port used when an address names none.
    pub const fn default_port(self) -> u16 {
        match self {
            RelayScheme::Secure => 443,
            RelayScheme::Plain => 80,
        }
    }

    /// The WebSocket URL scheme, `wss` or `ws`.
    pub const fn websocket_scheme(self) -> &'static str {
        match self {
            RelayScheme::Secure => "wss",
            RelayScheme::Plain => "ws",
        }
    }
}

/// A relay's host: a DNS name (kept in lower case), an IPv4 or an IPv6 address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RelayHost(Host);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Host {
    Domain(String),
    Ip(IpAddr),
}

impl RelayHost {
    /// A DNS name: labels of `a-z`, `0-9` and `-` (not at either end), 1 to 63
    /// characters each, separated by dots, 253 characters at most, the last label
    /// not all digits. Upper-case letters are accepted and lowered.
    pub fn domain(name: &str) -> Result<RelayHost, WireError> {
        let bad = |reason| WireError::InvalidAddress { reason };
        if name.is_empty() || name.len() > MAX_DOMAIN_LEN {
            return Err(bad("host name length"));
        }
        for label in name.split('.') {
            if label.is_empty() || label.len() > MAX_LABEL_LEN {
                return Err(bad("host name label length"));
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err(bad("host name label starts or ends with '-'"));
            }
            if !label
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
            {
                return Err(bad("host name character"));
            }
        }
        // As in URLs, a numeric last label means an IPv4 address, never a name.
        if name
            .rsplit('.')
            .next()
            .is_some_and(|last| last.bytes().all(|byte| byte.is_ascii_digit()))
        {
            return Err(bad("numeric host name that is not an IPv4 address"));
        }
        Ok(RelayHost(Host::Domain(name.to_ascii_lowercase())))
    }

    /// The host's IP address, when it is one.
    pub fn ip(&self) -> Option<IpAddr> {
        match &self.0 {
            Host::Ip(ip) => Some(*ip),
            Host::Domain(_) => None,
        }
    }

    /// Whether the host is this machine: `localhost` (or a name under it),
    /// 127.0.0.0/8, or `::1`.
    pub fn is_loopback(&self) -> bool {
        match &self.0 {
            Host::Domain(name) => name == "localhost" || name.ends_with(".localhost"),
            Host::Ip(ip) => ip.is_loopback(),
        }
    }
}

impl From<IpAddr> for RelayHost {
    fn from(ip: IpAddr) -> Self {
        RelayHost(Host::Ip(ip))
    }
}

impl From<Ipv4Addr> for RelayHost {
    fn from(ip: Ipv4Addr) -> Self {
        RelayHost(Host::Ip(IpAddr::V4(ip)))
    }
}

impl From<Ipv6Addr> for RelayHost {
    fn from(ip: Ipv6Addr) -> Self {
        RelayHost(Host::Ip(IpAddr::V6(ip)))
    }
}

impl fmt::Display for RelayHost {
    /// The host as written in a URL: a DNS name in lower case, dotted IPv4, or
    /// IPv6 in RFC 5952 form (lower case, longest run of zero groups as `::`)
    /// in brackets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Host::Domain(name) => f.write_str(name),
            Host::Ip(IpAddr::V4(ip)) => write!(f, "{ip}"),
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
        }
    }
}

impl FromStr for RelayHost {
    type Err = WireError;

    /// A host as written in a URL: `[v6]`, dotted IPv4, or a DNS name. An IPv6
    /// address may be in any RFC 4291 text form (it is written back in RFC 5952
    /// form) but carries no zone id: `fe80::1%eth0` names an interface of the
    /// machine that wrote it, which means nothing to whoever reads the address.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Some(inner) = text.strip_prefix('[') {
            let inner = inner.strip_suffix(']').ok_or(WireError::InvalidAddress {
                reason: "unclosed '['",
            })?;
            if inner.contains('%') {
                return Err(WireError::InvalidAddress {
                    reason: "IPv6 zone id",
                });
            }
            let ip = inner
                .parse::<Ipv6Addr>()
                .map_err(|_| WireError::InvalidAddress {
                    reason: "bad IPv6 address",
                })?;
            return Ok(RelayHost::from(ip));
        }
        if let Ok(ip) = text.parse::<Ipv4Addr>() {
            return Ok(RelayHost::from(ip));
        }
        RelayHost::domain(text)
    }
}

/// Where a relay is and which identity it must prove:
/// `sotto://<fingerprint>@<host>[:<port>]` or `sotto+ws://<fingerprint>@<host>[:<port>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayAddress {
    /// TLS or plain WebSocket.
    pub scheme: RelayScheme,
    /// The fingerprint the relay's identity key must match.
    pub fingerprint: RelayFingerprint,
    /// The relay's host.
    pub host: RelayHost,
    /// The relay's port.
    pub port: u16,
}

impl RelayAddress {
    /// Whether the relay's host is this machine.
    pub fn is_loopback(&self) -> bool {
        self.host.is_loopback()
    }

    /// The WebSocket URL to connect to, e.g. `wss://relay.example:443/ws`.
    pub fn websocket_url(&self) -> String {
        format!(
            "{}://{}:{}/ws",
            self.scheme.websocket_scheme(),
            self.host,
            self.port
        )
    }
}

impl fmt::Display for RelayAddress {
    /// The canonical text: lower-case host, port omitted when it is the default.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}@{}",
            self.scheme.prefix(),
            self.fingerprint,
            self.host
        )?;
        if self.port != self.scheme.default_port() {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

impl FromStr for RelayAddress {
    type Err = WireError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = |reason| WireError::InvalidAddress { reason };
        if text.len() > MAX_ADDRESS_LEN {
            return Err(bad("too long"));
        }
        let (scheme, rest) = if let Some(rest) = text.strip_prefix(RelayScheme::Secure.prefix()) {
            (RelayScheme::Secure, rest)
        } else if let Some(rest) = text.strip_prefix(RelayScheme::Plain.prefix()) {
            (RelayScheme::Plain, rest)
        } else {
            return Err(bad("scheme must be sotto:// or sotto+ws://"));
        };
        let (fingerprint, authority) = rest
            .split_once('@')
            .ok_or(bad("missing '<fingerprint>@'"))?;
        let fingerprint = fingerprint.parse::<RelayFingerprint>()?;
        let (host, port) = split_port(authority)?;
        let host = host.parse::<RelayHost>()?;
        let port = match port {
            None => scheme.default_port(),
            Some(port) => parse_port(port)?,
        };
        Ok(RelayAddress {
            scheme,
            fingerprint,
            host,
            port,
        })
    }
}

/// Splits `host[:port]`, where an IPv6 host is in brackets.
fn split_port(authority: &str) -> Result<(&str, Option<&str>), WireError> {
    let bad = |reason| WireError::InvalidAddress { reason };
    if authority.starts_with('[') {
        let end = authority.find(']').ok_or(bad("unclosed '['"))?;
        let (host, after) = authority
            .split_at_checked(end + 1)
            .ok_or(bad("unclosed '['"))?;
        return match after {
            "" => Ok((host, None)),
            _ => after
                .strip_prefix(':')
                .map(|port| (host, Some(port)))
                .ok_or(bad("unexpected text after host")),
        };
    }
    Ok(match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    })
}

/// A port in decimal, 1 to 65535, without sign or leading zeros: one spelling
/// per port.
fn parse_port(text: &str) -> Result<u16, WireError> {
    let bad = WireError::InvalidAddress { reason: "bad port" };
    if text.is_empty()
        || text.len() > 5
        || text.starts_with('0')
        || !text.bytes().all(|byte| byte.is_ascii_digit())
    {
        return Err(bad);
    }
    match text.parse::<u16>() {
        Ok(0) | Err(_) => Err(bad),
        Ok(port) => Ok(port),
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;
    use proptest::prelude::*;

    use super::*;

    fn fingerprint() -> RelayFingerprint {
        RelayFingerprint::of(&SigningKey::from_bytes(&[7; 32]).verifying_key())
    }

    #[test]
    fn fingerprint_text_round_trips_and_is_43_chars() {
        let fp = fingerprint();
        let text = fp.to_string();
        assert_eq!(text.len(), FINGERPRINT_TEXT_LEN);
        assert_eq!(text.parse::<RelayFingerprint>(), Ok(fp));
        assert_eq!(format!("{fp:?}"), format!("RelayFingerprint({text})"));
    }

    #[test]
    fn fingerprint_is_sha256_of_the_public_key() {
        let key = SigningKey::from_bytes(&[7; 32]).verifying_key();
        let expected: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        assert_eq!(RelayFingerprint::of(&key).as_bytes(), &expected);
    }

    #[test]
    fn bad_fingerprints_are_refused() {
        let text = fingerprint().to_string();
        for bad in [
            &text[..42],
            &format!("{text}A"),
            &format!("{}=", &text[..42]),
            &format!("{}+", &text[..42]),
            // Non-zero trailing bits: 43 chars encode 258 bits, the last two must be 0.
            &format!("{}B", &text[..42]),
        ] {
            assert!(bad.parse::<RelayFingerprint>().is_err(), "{bad}");
        }
    }

    #[test]
    fn addresses_parse_with_defaults() {
        let fp = fingerprint();
        let address: RelayAddress = format!("sotto://{fp}@Relay.Example").parse().unwrap();
        assert_eq!(address.scheme, RelayScheme::Secure);
        assert_eq!(address.port, 443);
        assert_eq!(address.host.to_string(), "relay.example");
        assert_eq!(address.to_string(), format!("sotto://{fp}@relay.example"));
        assert_eq!(address.websocket_url(), "wss://relay.example:443/ws");
        assert!(!address.is_loopback());

        let address: RelayAddress = format!("sotto+ws://{fp}@127.0.0.1:7000").parse().unwrap();
        assert_eq!(address.scheme, RelayScheme::Plain);
        assert_eq!(address.port, 7000);
        assert!(address.is_loopback());
        assert_eq!(address.websocket_url(), "ws://127.0.0.1:7000/ws");

        let address: RelayAddress = format!("sotto+ws://{fp}@[::1]").parse().unwrap();
        assert_eq!(address.port, 80);
        assert!(address.is_loopback());
        assert_eq!(address.websocket_url(), "ws://[::1]:80/ws");
        assert_eq!(address.to_string(), format!("sotto+ws://{fp}@[::1]"));

        let address: RelayAddress = format!("sotto://{fp}@localhost:443").parse().unwrap();
        assert!(address.is_loopback());
        assert_eq!(address.to_string(), format!("sotto://{fp}@localhost"));
    }

    #[test]
    fn malformed_addresses_are_refused() {
        let fp = fingerprint();
        for bad in [
            String::new(),
            format!("https://{fp}@host"),
            format!("SOTTO://{fp}@host"),
            "sotto://host".to_owned(),
            format!("sotto://{fp}@"),
            format!("sotto://{fp}@host:"),
            format!("sotto://{fp}@host:0"),
            format!("sotto://{fp}@host:65536"),
            format!("sotto://{fp}@host:+80"),
            format!("sotto://{fp}@host:80:80"),
            format!("sotto://{fp}@host/ws"),
            format!("sotto://{fp}@host?x"),
            format!("sotto://{fp}@user@host"),
            format!("sotto://{fp}@-host"),
            format!("sotto://{fp}@host-"),
            format!("sotto://{fp}@a..b"),
            format!("sotto://{fp}@host."),
            format!("sotto://{fp}@[::1"),
            format!("sotto://{fp}@[::1]x"),
            format!("sotto://{fp}@[1.2.3.4]"),
            format!("sotto://{fp}@::1"),
            format!("sotto://{fp}@127.1"),
            format!("sotto://{fp}@010.0.0.1"),
            format!("sotto://{fp}@h\u{e9}te"),
            format!("sotto://{}@host", &fp.to_string()[1..]),
            format!("sotto://{fp}@{}", "a".repeat(64)),
            format!("sotto://{fp}@{}", "a.".repeat(300)),
        ] {
            assert!(bad.parse::<RelayAddress>().is_err(), "{bad}");
        }
    }

    #[test]
    fn ipv6_hosts_are_written_in_rfc_5952_form() {
        let fp = fingerprint();
        for (given, canonical) in [
            ("[::1]", "[::1]"),
            ("[0:0:0:0:0:0:0:1]", "[::1]"),
            ("[::]", "[::]"),
            ("[2001:DB8::1]", "[2001:db8::1]"),
            ("[2001:0db8:0000:0000:0000:0000:0000:0001]", "[2001:db8::1]"),
            // Only the first of two equally long runs of zeros is compressed.
            ("[2001:db8:0:0:1:0:0:1]", "[2001:db8::1:0:0:1]"),
            // The longest run wins.
            ("[2001:0:0:1:0:0:0:1]", "[2001:0:0:1::1]"),
            // A single zero group is not compressed.
            ("[2001:db8:0:1:1:1:1:1]", "[2001:db8:0:1:1:1:1:1]"),
            ("[2001:db8::0:1]", "[2001:db8::1]"),
            // IPv4-mapped addresses keep their dotted tail (RFC 5952 section 5).
            ("[::FFFF:192.0.2.1]", "[::ffff:192.0.2.1]"),
            // No other address keeps a dotted tail.
            ("[::192.0.2.1]", "[::c000:201]"),
            ("[64:ff9b::192.0.2.1]", "[64:ff9b::c000:201]"),
        ] {
            let host: RelayHost = given.parse().unwrap();
            assert_eq!(host.to_string(), canonical, "{given}");
            let address: RelayAddress = format!("sotto://{fp}@{given}:8443").parse().unwrap();
            assert_eq!(
                address.to_string(),
                format!("sotto://{fp}@{canonical}:8443"),
                "{given}"
            );
            assert_eq!(
                address.websocket_url(),
                format!("wss://{canonical}:8443/ws")
            );
        }
    }

    #[test]
    fn ipv6_zone_ids_are_refused() {
        let fp = fingerprint();
        for host in [
            "[fe80::1%eth0]",
            "[fe80::1%25eth0]",
            "[fe80::1%1]",
            "[::1%]",
        ] {
            assert_eq!(
                host.parse::<RelayHost>(),
                Err(WireError::InvalidAddress {
                    reason: "IPv6 zone id"
                }),
                "{host}"
            );
            let address = format!("sotto+ws://{fp}@{host}:7000");
            assert!(address.parse::<RelayAddress>().is_err(), "{address}");
        }
    }

    #[test]
    fn ports_have_one_spelling() {
        let fp = fingerprint();
        for port in ["080", "0443", "00001", "0", "00", "065535"] {
            let address = format!("sotto://{fp}@relay.example:{port}");
            assert_eq!(
                address.parse::<RelayAddress>(),
                Err(WireError::InvalidAddress { reason: "bad port" }),
                "{address}"
            );
            let address = format!("sotto://{fp}@[::1]:{port}");
            assert!(address.parse::<RelayAddress>().is_err(), "{address}");
        }
        for (port, value) in [("1", 1), ("80", 80), ("7000", 7000), ("65535", 65535)] {
            let address: RelayAddress =
                format!("sotto+ws://{fp}@localhost:{port}").parse().unwrap();
            assert_eq!(address.port, value);
        }
    }

    fn arb_host() -> impl Strategy<Value = RelayHost> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(|b| RelayHost::from(Ipv4Addr::from(b))),
            any::<[u8; 16]>().prop_map(|b| RelayHost::from(Ipv6Addr::from(b))),
            "[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\\.[a-z]([a-z0-9-]{0,10}[a-z0-9])?){0,3}"
                .prop_filter_map("not a domain", |name| RelayHost::domain(&name).ok()),
        ]
    }

    proptest! {
        #[test]
        fn addresses_round_trip(
            secure in any::<bool>(),
            hash in any::<[u8; 32]>(),
            host in arb_host(),
            port in 1u16..,
        ) {
            let address = RelayAddress {
                scheme: if secure { RelayScheme::Secure } else { RelayScheme::Plain },
                fingerprint: RelayFingerprint::from_bytes(hash),
                host,
                port,
            };
            let text = address.to_string();
            prop_assert_eq!(text.parse::<RelayAddress>(), Ok(address));
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(text in "\\PC{0,80}") {
            if let Ok(address) = text.parse::<RelayAddress>() {
                prop_assert_eq!(address.to_string().parse::<RelayAddress>(), Ok(address));
            }
        }
    }
}
