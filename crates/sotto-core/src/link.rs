//! Invitation links: `https://<relay host>/invite#<payload>` for a one-time
//! invitation, `https://<relay host>/contact#<payload>` for a long-term contact
//! address. The payload lives only in the fragment, which browsers never send
//! to a server.
//!
//! ```text
//! payload = version (1) = 0x01 || kind (1): 0x01 one-time, 0x02 contact address
//!        || queue address (see `queue_address`)
//!        || invitation_len u16 (= INVITATION_LEN) || end-to-end invitation
//! link    = scheme "://" host [":" port] "/" ("invite" | "contact") "#"
//!           base64url(payload), unpadded
//! ```
//!
//! The scheme is `https` for a `sotto://` relay and `http` for `sotto+ws://`.
//! Only the payload is trusted: the host in the URL is a convenience for people
//! (and for opening the web client); the relay is the one named in the payload,
//! pinned by its fingerprint.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sotto_crypto::{INVITATION_LEN, Invitation};
use sotto_wire::{RelayAddress, RelayScheme};

use crate::CoreError;
use crate::codec::{Reader, Writer};
use crate::queue_address::QueueAddress;
use crate::short_link::{SHORT_LINK_VERSION, ShortLink};

/// Version byte of the link payload.
const LINK_VERSION: u8 = 1;
/// The longest link accepted, in bytes (a payload is at most about 1.8 KiB).
pub const MAX_LINK_LEN: usize = 4096;

/// Which kind of link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkKind {
    /// A one-time invitation: the first answer connects, later ones are dropped.
    OneTime,
    /// A long-term contact address: each answer is a contact request.
    ContactAddress,
}

impl LinkKind {
    pub(crate) fn byte(self) -> u8 {
        match self {
            LinkKind::OneTime => 1,
            LinkKind::ContactAddress => 2,
        }
    }

    pub(crate) fn from_byte(byte: u8) -> Result<LinkKind, CoreError> {
        match byte {
            1 => Ok(LinkKind::OneTime),
            2 => Ok(LinkKind::ContactAddress),
            _ => Err(CoreError::InvalidLink("unknown link kind")),
        }
    }

    pub(crate) fn path(self) -> &'static str {
        match self {
            LinkKind::OneTime => "invite",
            LinkKind::ContactAddress => "contact",
        }
    }
}

/// Link text as read: a full link (the invitation in the link itself) or a
/// short link (the invitation kept, encrypted, by a relay).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Link {
    /// Payload version 1: everything needed to connect.
    Full(InvitationLink),
    /// Payload version 2: where to fetch the invitation and how to open it.
    Short(ShortLink),
}

impl Link {
    /// Parses link text of either form (surrounding white space is ignored).
    pub fn parse(text: &str) -> Result<Link, CoreError> {
        let text = text.trim();
        if text.len() > MAX_LINK_LEN {
            return Err(CoreError::InvalidLink("too long"));
        }
        let (scheme, rest) = if let Some(rest) = text.strip_prefix("https://") {
            (RelayScheme::Secure, rest)
        } else if let Some(rest) = text.strip_prefix("http://") {
            (RelayScheme::Plain, rest)
        } else {
            return Err(CoreError::InvalidLink(
                "must start with https:// or http://",
            ));
        };
        let (before, fragment) = rest
            .split_once('#')
            .ok_or(CoreError::InvalidLink("no '#' fragment"))?;
        let path_kind = if before.ends_with("/invite") {
            LinkKind::OneTime
        } else if before.ends_with("/contact") {
            LinkKind::ContactAddress
        } else {
            return Err(CoreError::InvalidLink("path must be /invite or /contact"));
        };
        let payload = URL_SAFE_NO_PAD
            .decode(fragment)
            .map_err(|_| CoreError::InvalidLink("fragment is not base64url"))?;
        let link = match payload.first() {
            Some(&SHORT_LINK_VERSION) => {
                // A short link names its relay by the URL's authority, so the
                // path must be exactly `/invite` or `/contact`.
                let authority = before
                    .strip_suffix(path_kind.path())
                    .and_then(|authority| authority.strip_suffix('/'))
                    .filter(|authority| !authority.contains('/'))
                    .ok_or(CoreError::InvalidLink(
                        "a short link's path must be /invite or /contact",
                    ))?;
                Link::Short(ShortLink::from_parts(scheme, authority, &payload)?)
            }
            _ => Link::Full(InvitationLink::from_payload(&payload)?),
        };
        if link.kind() != path_kind {
            return Err(CoreError::InvalidLink("path and payload disagree"));
        }
        Ok(link)
    }

    /// One-time invitation or contact address.
    pub fn kind(&self) -> LinkKind {
        match self {
            Link::Full(link) => link.kind,
            Link::Short(link) => link.kind,
        }
    }
}

/// A parsed invitation or contact-address link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvitationLink {
    /// One-time or contact address.
    pub kind: LinkKind,
    /// Where to send the answer.
    pub queue: QueueAddress,
    /// The inviter's end-to-end keys.
    pub invitation: Invitation,
}

impl InvitationLink {
    /// The link text.
    pub fn to_link(&self) -> String {
        link_text(&self.queue.relay, self.kind, &self.payload())
    }

    /// The binary payload.
    pub fn payload(&self) -> Vec<u8> {
        let mut writer = Writer::new();
        writer.u8(LINK_VERSION).u8(self.kind.byte());
        self.queue.encode(&mut writer);
        writer.bytes16(&self.invitation.to_bytes());
        writer.finish()
    }

    /// Parses link text (surrounding white space is ignored). A short link
    /// is refused here: it must be resolved through its relay first (see
    /// [`Link::parse`]).
    pub fn parse(text: &str) -> Result<InvitationLink, CoreError> {
        match Link::parse(text)? {
            Link::Full(link) => Ok(link),
            Link::Short(_) => Err(CoreError::InvalidLink(
                "a short link must be resolved through its relay",
            )),
        }
    }

    /// Parses a binary payload.
    pub fn from_payload(payload: &[u8]) -> Result<InvitationLink, CoreError> {
        let invalid = |_| CoreError::InvalidLink("malformed payload");
        let mut reader = Reader::new(payload, "link");
        let version = reader.u8().map_err(invalid)?;
        if version != LINK_VERSION {
            return Err(CoreError::UnsupportedVersion {
                what: "link",
                version,
            });
        }
        let kind = LinkKind::from_byte(reader.u8().map_err(invalid)?)?;
        let queue = QueueAddress::decode(&mut reader).map_err(|error| match error {
            CoreError::Wire(_) => CoreError::InvalidLink("invalid relay address"),
            _ => CoreError::InvalidLink("malformed payload"),
        })?;
        let invitation = reader.bytes16(INVITATION_LEN).map_err(invalid)?;
        let invitation = Invitation::from_bytes(invitation)
            .map_err(|_| CoreError::InvalidLink("invalid invitation keys"))?;
        reader.finish().map_err(invalid)?;
        Ok(InvitationLink {
            kind,
            queue,
            invitation,
        })
    }
}

/// `scheme://host[:port]/path#base64url(payload)` for a link to `relay`.
pub(crate) fn link_text(relay: &RelayAddress, kind: LinkKind, payload: &[u8]) -> String {
    let scheme = match relay.scheme {
        RelayScheme::Secure => "https",
        RelayScheme::Plain => "http",
    };
    let mut authority = relay.host.to_string();
    if relay.port != relay.scheme.default_port() {
        authority.push_str(&format!(":{}", relay.port));
    }
    format!(
        "{scheme}://{authority}/{}#{}",
        kind.path(),
        URL_SAFE_NO_PAD.encode(payload)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use sotto_crypto::{IdentityKeyPair, PendingInvitation};
    use sotto_wire::SenderId;

    fn link(kind: LinkKind) -> InvitationLink {
        let identity = IdentityKeyPair::from_secret_bytes(&[3; 32]);
        let pending = PendingInvitation::new(&identity, &[4; 96]).unwrap();
        InvitationLink {
            kind,
            queue: QueueAddress {
                relay: "sotto://tgAwbPp2cj_ew5XlOps9n9t4seLXojwy_LzS3G0MQJI@relay.example"
                    .parse()
                    .unwrap(),
                sender_id: SenderId::from_bytes([5; 24]),
            },
            invitation: pending.invitation(),
        }
    }

    #[test]
    fn round_trip_both_kinds() {
        for kind in [LinkKind::OneTime, LinkKind::ContactAddress] {
            let link = link(kind);
            let text = link.to_link();
            assert!(text.starts_with("https://relay.example/"));
            assert_eq!(InvitationLink::parse(&text).unwrap(), link);
        }
    }

    #[test]
    fn hostile_links_are_refused() {
        let text = link(LinkKind::OneTime).to_link();
        let swapped = text.replace("/invite#", "/contact#");
        assert!(InvitationLink::parse(&swapped).is_err());
        assert!(InvitationLink::parse(&text[..text.len() - 4]).is_err());
        assert!(InvitationLink::parse("https://x/invite#").is_err());
        assert!(InvitationLink::parse("ftp://x/invite#AAAA").is_err());
        assert!(InvitationLink::parse(&"a".repeat(MAX_LINK_LEN + 1)).is_err());
        let mut payload = link(LinkKind::OneTime).payload();
        payload.push(0);
        assert!(InvitationLink::from_payload(&payload).is_err());
        payload[0] = 2;
        assert!(matches!(
            InvitationLink::from_payload(&payload),
            Err(CoreError::UnsupportedVersion { .. })
        ));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_payloads_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2000)) {
            let _ = InvitationLink::from_payload(&bytes);
            let _ = InvitationLink::parse(&format!("https://h/invite#{}", URL_SAFE_NO_PAD.encode(&bytes)));
        }
    }
}
