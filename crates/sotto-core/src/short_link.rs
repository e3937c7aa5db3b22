//! Short links: the invitation (or contact address) kept, encrypted end to
//! end, in a relay's link blob (LNEW/LGET, docs/protocol.md §11.6), and a link
//! that carries only where to fetch it and the key to open it.
//!
//! ```text
//! link    = scheme "://" host [":" port] "/" ("invite" | "contact") "#" base64url(payload)
//! payload = version (1) = 0x02 || kind (1) || relay fingerprint (32) || link id (24)
//!        || link key (32)
//! blob    = nonce (24) || XChaCha20-Poly1305(link key, nonce, ad, plaintext) (2008 + 16)
//! ad      = "sotto link blob" || blob version (1) = 0x01 || kind (1)
//! plaintext (2008) = len u16 || full link payload (version 0x01) || zero bytes
//! ```
//!
//! The relay of a short link is the URL's scheme and authority with the
//! payload's fingerprint: the host is trusted to find the relay, and the
//! fingerprint to know it is the right one.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sotto_wire::{LINK_BLOB_LEN, LinkBlob, LinkId, RelayAddress, RelayFingerprint, RelayScheme};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::CoreError;
use crate::codec::{Reader, Writer};
use crate::link::{InvitationLink, LinkKind, link_text};

/// Version byte of a short link's payload.
pub(crate) const SHORT_LINK_VERSION: u8 = 2;
/// Version of the blob's layout, bound into its associated data.
const BLOB_VERSION: u8 = 1;
const BLOB_LABEL: &[u8] = b"sotto link blob";
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// The plaintext sealed in a blob: the blob less its nonce and tag.
const PLAINTEXT_LEN: usize = LINK_BLOB_LEN - NONCE_LEN - TAG_LEN;
/// Bytes of randomness [`seal_blob`] takes (its nonce).
pub(crate) const SEAL_RANDOMNESS_LEN: usize = NONCE_LEN;

/// The key of a link blob, carried in the link's fragment only.
#[derive(Clone)]
pub struct LinkKey(Zeroizing<[u8; 32]>);

impl LinkKey {
    /// The key made of these bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> LinkKey {
        LinkKey(Zeroizing::new(bytes))
    }

    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl PartialEq for LinkKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&*other.0).into()
    }
}

impl Eq for LinkKey {}

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(..)")
    }
}

/// A parsed short link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShortLink {
    /// One-time invitation or contact address.
    pub kind: LinkKind,
    /// The relay that keeps the blob.
    pub relay: RelayAddress,
    /// The blob's id on that relay.
    pub link_id: LinkId,
    /// The key that opens the blob.
    pub key: LinkKey,
}

impl ShortLink {
    /// The link text.
    pub fn to_link(&self) -> String {
        let mut writer = Writer::new();
        writer
            .u8(SHORT_LINK_VERSION)
            .u8(self.kind.byte())
            .array(self.relay.fingerprint.as_bytes())
            .array(self.link_id.as_bytes())
            .array(self.key.as_bytes());
        link_text(&self.relay, self.kind, &writer.finish())
    }

    /// A short link from its URL's scheme and authority and its payload.
    pub(crate) fn from_parts(
        scheme: RelayScheme,
        authority: &str,
        payload: &[u8],
    ) -> Result<ShortLink, CoreError> {
        let malformed = |_| CoreError::InvalidLink("malformed payload");
        let mut reader = Reader::new(payload, "link");
        let version = reader.u8().map_err(malformed)?;
        if version != SHORT_LINK_VERSION {
            return Err(CoreError::UnsupportedVersion {
                what: "link",
                version,
            });
        }
        let kind = LinkKind::from_byte(reader.u8().map_err(malformed)?)?;
        let fingerprint = RelayFingerprint::from_bytes(reader.array().map_err(malformed)?);
        let link_id = LinkId::from_bytes(reader.array().map_err(malformed)?);
        let key = LinkKey::from_bytes(reader.array().map_err(malformed)?);
        reader.finish().map_err(malformed)?;
        let prefix = match scheme {
            RelayScheme::Secure => "sotto://",
            RelayScheme::Plain => "sotto+ws://",
        };
        let relay = format!("{prefix}{fingerprint}@{authority}")
            .parse::<RelayAddress>()
            .map_err(|_| CoreError::InvalidLink("invalid relay host or port"))?;
        Ok(ShortLink {
            kind,
            relay,
            link_id,
            key,
        })
    }

    /// Opens the blob the relay returned for this link: the full link inside,
    /// which must be of this link's kind.
    pub fn open(&self, blob: &LinkBlob) -> Result<InvitationLink, CoreError> {
        let refused =
            || CoreError::InvalidLink("the relay returned a blob this link does not open");
        let (nonce, ciphertext) = blob.as_bytes().split_at(NONCE_LEN);
        let plaintext = Zeroizing::new(
            XChaCha20Poly1305::new(self.key.as_bytes().into())
                .decrypt(
                    XNonce::from_slice(nonce),
                    Payload {
                        msg: ciphertext,
                        aad: &associated_data(self.kind),
                    },
                )
                .map_err(|_| refused())?,
        );
        let mut reader = Reader::new(&plaintext, "link blob");
        let payload = reader.bytes16(PLAINTEXT_LEN).map_err(|_| refused())?;
        let link = InvitationLink::from_payload(payload)?;
        if link.kind != self.kind {
            return Err(refused());
        }
        Ok(link)
    }
}

/// Seals `link` into a blob under `key`, with `nonce` drawn at random for
/// each blob.
pub(crate) fn seal_blob(
    link: &InvitationLink,
    key: &LinkKey,
    nonce: &[u8; SEAL_RANDOMNESS_LEN],
) -> Result<LinkBlob, CoreError> {
    let payload = link.payload();
    let mut plaintext = Zeroizing::new(Vec::with_capacity(PLAINTEXT_LEN));
    let len = u16::try_from(payload.len())
        .ok()
        .filter(|len| usize::from(*len) + 2 <= PLAINTEXT_LEN)
        .ok_or(CoreError::InvalidValue("link: too long for a link blob"))?;
    plaintext.extend_from_slice(&len.to_be_bytes());
    plaintext.extend_from_slice(&payload);
    plaintext.resize(PLAINTEXT_LEN, 0);
    let ciphertext = XChaCha20Poly1305::new(key.as_bytes().into())
        .encrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: &plaintext,
                aad: &associated_data(link.kind),
            },
        )
        .map_err(|_| CoreError::InvalidValue("link blob"))?;
    let mut blob = Vec::with_capacity(LINK_BLOB_LEN);
    blob.extend_from_slice(nonce);
    blob.extend_from_slice(&ciphertext);
    Ok(LinkBlob::new(blob)?)
}

fn associated_data(kind: LinkKind) -> Vec<u8> {
    let mut ad = BLOB_LABEL.to_vec();
    ad.push(BLOB_VERSION);
    ad.push(kind.byte());
    ad
}

/// The payload of a short link as base64url, for tests and vectors.
#[cfg(test)]
fn payload_text(link: &ShortLink) -> String {
    let text = link.to_link();
    text.split_once('#')
        .map(|(_, payload)| payload.to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::Link;
    use crate::queue_address::QueueAddress;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use sotto_crypto::{IdentityKeyPair, PendingInvitation};
    use sotto_wire::SenderId;

    const RELAY: &str = "sotto://tgAwbPp2cj_ew5XlOps9n9t4seLXojwy_LzS3G0MQJI@relay.example";

    fn full(kind: LinkKind) -> InvitationLink {
        let identity = IdentityKeyPair::from_secret_bytes(&[3; 32]);
        let pending = PendingInvitation::new(&identity, &[4; 96]).unwrap();
        InvitationLink {
            kind,
            queue: QueueAddress {
                relay: RELAY.parse().unwrap(),
                sender_id: SenderId::from_bytes([5; 24]),
            },
            invitation: pending.invitation(),
        }
    }

    fn short(kind: LinkKind, relay: &str) -> ShortLink {
        ShortLink {
            kind,
            relay: relay.parse().unwrap(),
            link_id: LinkId::from_bytes([6; 24]),
            key: LinkKey::from_bytes([7; 32]),
        }
    }

    #[test]
    fn short_links_round_trip_and_stay_short() {
        for relay in [
            RELAY,
            "sotto+ws://tgAwbPp2cj_ew5XlOps9n9t4seLXojwy_LzS3G0MQJI@127.0.0.1:7000",
            "sotto://tgAwbPp2cj_ew5XlOps9n9t4seLXojwy_LzS3G0MQJI@[2001:db8::1]:8443",
        ] {
            for kind in [LinkKind::OneTime, LinkKind::ContactAddress] {
                let link = short(kind, relay);
                let text = link.to_link();
                assert!(text.len() < 300, "{} characters", text.len());
                assert_eq!(Link::parse(&text).unwrap(), Link::Short(link));
            }
        }
        assert_eq!(payload_text(&short(LinkKind::OneTime, RELAY)).len(), 120);
    }

    #[test]
    fn a_blob_opens_with_its_key_only() {
        for kind in [LinkKind::OneTime, LinkKind::ContactAddress] {
            let link = short(kind, RELAY);
            let blob = seal_blob(&full(kind), &link.key, &[8; 24]).unwrap();
            assert_eq!(blob.as_bytes().len(), LINK_BLOB_LEN);
            assert_eq!(link.open(&blob).unwrap(), full(kind));
            let other = ShortLink {
                key: LinkKey::from_bytes([9; 32]),
                ..link.clone()
            };
            assert!(other.open(&blob).is_err());
            let mut damaged = blob.as_bytes().to_vec();
            damaged[100] ^= 1;
            assert!(link.open(&LinkBlob::new(damaged).unwrap()).is_err());
        }
        // A contact address's blob does not open as a one-time invitation.
        let blob = seal_blob(
            &full(LinkKind::ContactAddress),
            &LinkKey::from_bytes([7; 32]),
            &[8; 24],
        )
        .unwrap();
        assert!(short(LinkKind::OneTime, RELAY).open(&blob).is_err());
    }

    #[test]
    fn hostile_short_links_are_refused() {
        let text = short(LinkKind::OneTime, RELAY).to_link();
        for bad in [
            text.replace("/invite#", "/contact#"),
            text.replace("relay.example/", "relay.example/x/"),
            text.replace("relay.example", "user@relay.example"),
            text.replace("relay.example", "relay.example:0"),
            text[..text.len() - 2].to_owned(),
            format!("{text}AA"),
        ] {
            assert!(Link::parse(&bad).is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_short_payloads_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let mut payload = vec![SHORT_LINK_VERSION];
            payload.extend_from_slice(&bytes);
            let _ = Link::parse(&format!("https://h/invite#{}", URL_SAFE_NO_PAD.encode(&payload)));
        }

        #[test]
        fn arbitrary_blobs_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, LINK_BLOB_LEN..=LINK_BLOB_LEN)) {
            let _ = short(LinkKind::OneTime, RELAY).open(&LinkBlob::new(bytes).unwrap());
        }
    }
}
