//! Group links: their text, the request a joiner seals to a link's key, the
//! replies an admin seals to the joiner's reply queue, and the records both
//! sides keep (docs/client-protocol.md §16, "Group links").
//!
//! ```text
//! link    = scheme "://" host [":" port] "/group#" base64url(payload)
//! payload = version (1) = 0x01 || kind (1) = 0x03 || queue address
//!        || bytes16(link public key, 1216) || text16(group name, 1..=64)
//! request = version (1) = 0x01 || HPKE seal(link public key, info = REQUEST_INFO,
//!           request plaintext (REQUEST_PLAINTEXT_LEN))
//! request plaintext = join id (16) || reply queue address || reply sender secret (32)
//!        || reply key (32) || bytes32(MLS KeyPackage, 1..=MAX_REQUEST_KEY_PACKAGE_LEN)
//!        || zero bytes
//! reply   = version (1) = 0x01 || nonce (24)
//!        || XChaCha20-Poly1305(reply key, nonce, REPLY_LABEL || join id, reply plaintext)
//! reply plaintext (REPLY_PLAINTEXT_LEN) = 0x01 || index u16 || count u16 (1..=1600)
//!        || bytes16(piece, 1..=MAX_REPLY_PIECE_LEN) || zero bytes     a piece of the welcome
//!      | 0x02 || zero bytes                                            declined
//!
//! table "group_links" (admin), key group chat id u64:
//!   version (1) = 0x01 || created_at u64 || automatic bool
//!   || bytes16(link secret key) || link public key (1216) || option(queue address)
//! table "group_link_seen" (admin), key group chat id u64 || SHA-256(kem output) (32): empty
//! table "group_link_requests" (admin), key request id u64:
//!   version (1) = 0x01 || group chat id u64 || received_at u64 || join id (16)
//!   || reply queue address || reply sender secret (32) || reply key (32)
//!   || bytes32(key package) || state (1): 0x00 waiting for an admin, 0x01 approved
//!   (its add waits for our commit before it), 0x02 committed (the welcome goes once
//!   the commit is first in the log)
//! table "group_link_joins" (joiner), key join id u64 (local):
//!   version (1) = 0x01 || created_at u64 || join id (16) || text16(group name)
//!   || link queue address || link public key (1216) || reply sender secret (32)
//!   || reply key (32) || requested bool || bytes32(key package)
//!   || bytes32(pending join pickle)
//! ```

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sotto_groups::{LINK_PUBLIC_KEY_LEN, MAX_LINK_SECRET_KEY_LEN, PendingJoin};
use sotto_wire::RelayScheme;
use zeroize::Zeroizing;

use crate::codec::{Reader, Writer, corrupt};
use crate::group_invite::{INVITE_ID_LEN, InviteId, decode_group_name};
use crate::ids::ChatId;
use crate::link::MAX_LINK_LEN;
use crate::queue_address::QueueAddress;
use crate::store::{Direction, KeyRange, Table, WriteBatch};
use crate::{CoreError, Store};

pub(crate) const GROUP_LINKS: Table = Table::new("group_links");
pub(crate) const GROUP_LINK_SEEN: Table = Table::new("group_link_seen");
pub(crate) const GROUP_LINK_REQUESTS: Table = Table::new("group_link_requests");
pub(crate) const GROUP_LINK_JOINS: Table = Table::new("group_link_joins");
const VERSION: u8 = 1;
/// The payload's kind byte: a group link (0x01 and 0x02 are §3's).
const GROUP_LINK_KIND: u8 = 3;
const PATH: &str = "/group";
/// HPKE `info` of a request.
pub(crate) const REQUEST_INFO: &[u8] = b"sotto group link request";
/// The associated data of a reply starts with this label.
const REPLY_LABEL: &[u8] = b"sotto group link reply";
/// Every request's plaintext is this long, so the relay learns nothing from
/// its size.
pub(crate) const REQUEST_PLAINTEXT_LEN: usize = 8192;
/// The longest key package a request carries.
pub(crate) const MAX_REQUEST_KEY_PACKAGE_LEN: usize = 6144;
/// Every reply's plaintext is this long.
pub(crate) const REPLY_PLAINTEXT_LEN: usize = 12288;
/// The longest piece of a welcome in one reply.
pub(crate) const MAX_REPLY_PIECE_LEN: usize = 12000;
/// Most pieces of one welcome (about 19 MB).
pub(crate) const MAX_REPLY_PIECES: usize = 1600;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// A parsed group link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupLink {
    /// Where requests go (a queue on the admin's relay, for this link only).
    pub queue: QueueAddress,
    /// The key requests are sealed to.
    pub public_key: Vec<u8>,
    /// The group's name, as the admin gave it.
    pub name: String,
}

impl GroupLink {
    /// The link text.
    pub fn to_link(&self) -> String {
        let mut w = Writer::new();
        w.u8(VERSION).u8(GROUP_LINK_KIND);
        self.queue.encode(&mut w);
        w.bytes16(&self.public_key).bytes16(self.name.as_bytes());
        let relay = &self.queue.relay;
        let scheme = match relay.scheme {
            RelayScheme::Secure => "https",
            RelayScheme::Plain => "http",
        };
        let mut authority = relay.host.to_string();
        if relay.port != relay.scheme.default_port() {
            authority.push_str(&format!(":{}", relay.port));
        }
        format!(
            "{scheme}://{authority}{PATH}#{}",
            URL_SAFE_NO_PAD.encode(w.finish())
        )
    }

    /// Parses link text (surrounding white space is ignored).
    pub fn parse(text: &str) -> Result<GroupLink, CoreError> {
        let text = text.trim();
        if text.len() > MAX_LINK_LEN {
            return Err(CoreError::InvalidLink("too long"));
        }
        let rest = text
            .strip_prefix("https://")
            .or_else(|| text.strip_prefix("http://"))
            .ok_or(CoreError::InvalidLink(
                "must start with https:// or http://",
            ))?;
        let (before, fragment) = rest
            .split_once('#')
            .ok_or(CoreError::InvalidLink("no '#' fragment"))?;
        if !before.ends_with(PATH) {
            return Err(CoreError::InvalidLink("a group link's path is /group"));
        }
        let payload = URL_SAFE_NO_PAD
            .decode(fragment)
            .map_err(|_| CoreError::InvalidLink("fragment is not base64url"))?;
        let malformed = |_| CoreError::InvalidLink("malformed payload");
        let mut r = Reader::new(&payload, "group link");
        let version = r.u8().map_err(malformed)?;
        if version != VERSION {
            return Err(CoreError::UnsupportedVersion {
                what: "group link",
                version,
            });
        }
        if r.u8().map_err(malformed)? != GROUP_LINK_KIND {
            return Err(CoreError::InvalidLink("not a group link"));
        }
        let queue = QueueAddress::decode(&mut r).map_err(|error| match error {
            CoreError::Wire(_) => CoreError::InvalidLink("invalid relay address"),
            _ => CoreError::InvalidLink("malformed payload"),
        })?;
        let public_key = r.bytes16(LINK_PUBLIC_KEY_LEN).map_err(malformed)?.to_vec();
        if public_key.len() != LINK_PUBLIC_KEY_LEN {
            return Err(CoreError::InvalidLink("malformed payload"));
        }
        let name = decode_group_name(&mut r).map_err(malformed)?;
        r.finish().map_err(malformed)?;
        Ok(GroupLink {
            queue,
            public_key,
            name,
        })
    }
}

/// What a joiner asks an admin for, inside its sealed request.
#[derive(Clone)]
pub(crate) struct JoinRequest {
    pub(crate) join: InviteId,
    pub(crate) reply_queue: QueueAddress,
    pub(crate) reply_sender: Zeroizing<[u8; 32]>,
    pub(crate) reply_key: Zeroizing<[u8; 32]>,
    pub(crate) key_package: Vec<u8>,
}

impl JoinRequest {
    /// The request's plaintext, padded to [`REQUEST_PLAINTEXT_LEN`].
    pub(crate) fn plaintext(&self) -> Result<Zeroizing<Vec<u8>>, CoreError> {
        if self.key_package.is_empty() || self.key_package.len() > MAX_REQUEST_KEY_PACKAGE_LEN {
            return Err(CoreError::TooLong {
                what: "key package",
                max: MAX_REQUEST_KEY_PACKAGE_LEN,
            });
        }
        let mut w = Writer::new();
        w.array(&self.join);
        self.reply_queue.encode(&mut w);
        w.array(self.reply_sender.as_ref())
            .array(self.reply_key.as_ref())
            .bytes32(&self.key_package);
        let mut bytes = Zeroizing::new(w.finish());
        if bytes.len() > REQUEST_PLAINTEXT_LEN {
            return Err(CoreError::InvalidValue("group link request: too long"));
        }
        bytes.resize(REQUEST_PLAINTEXT_LEN, 0);
        Ok(bytes)
    }

    /// Reads a request's plaintext; the padding must be zero bytes.
    pub(crate) fn from_plaintext(bytes: &[u8]) -> Result<JoinRequest, CoreError> {
        const BAD: CoreError = CoreError::Malformed("group link request");
        if bytes.len() != REQUEST_PLAINTEXT_LEN {
            return Err(BAD);
        }
        let mut r = Reader::new(bytes, "group link request");
        let request = JoinRequest {
            join: r.array()?,
            reply_queue: QueueAddress::decode(&mut r).map_err(|_| BAD)?,
            reply_sender: Zeroizing::new(r.array()?),
            reply_key: Zeroizing::new(r.array()?),
            key_package: r.bytes32(MAX_REQUEST_KEY_PACKAGE_LEN)?.to_vec(),
        };
        if request.key_package.is_empty() {
            return Err(BAD);
        }
        let mut padding = r;
        while let Ok(byte) = padding.u8() {
            if byte != 0 {
                return Err(BAD);
            }
        }
        Ok(request)
    }
}

/// What an admin tells a joiner on its reply queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Reply {
    /// A piece of the welcome (`GroupWelcome` content, as an invitation's).
    Piece {
        index: u16,
        count: u16,
        bytes: Vec<u8>,
    },
    /// The request was declined (or can no longer be granted).
    Declined,
}

impl Reply {
    /// The replies that carry a welcome's content (`welcome`, encoded).
    pub(crate) fn pieces(welcome: &[u8]) -> Result<Vec<Reply>, CoreError> {
        let too_long = CoreError::TooLong {
            what: "group welcome",
            max: MAX_REPLY_PIECES * MAX_REPLY_PIECE_LEN,
        };
        let chunks: Vec<&[u8]> = welcome.chunks(MAX_REPLY_PIECE_LEN).collect();
        if chunks.is_empty() || chunks.len() > MAX_REPLY_PIECES {
            return Err(too_long);
        }
        let count = u16::try_from(chunks.len()).map_err(|_| too_long)?;
        Ok(chunks
            .into_iter()
            .zip(0..count)
            .map(|(bytes, index)| Reply::Piece {
                index,
                count,
                bytes: bytes.to_vec(),
            })
            .collect())
    }

    /// Seals the reply for the joiner of `join`, with `nonce` drawn at random.
    pub(crate) fn seal(
        &self,
        key: &[u8; 32],
        join: &InviteId,
        nonce: &[u8; NONCE_LEN],
    ) -> Result<Vec<u8>, CoreError> {
        let mut w = Writer::new();
        match self {
            Reply::Piece {
                index,
                count,
                bytes,
            } => {
                w.u8(1).u16(*index).u16(*count).bytes16(bytes);
            }
            Reply::Declined => {
                w.u8(2);
            }
        }
        let mut plaintext = Zeroizing::new(w.finish());
        if plaintext.len() > REPLY_PLAINTEXT_LEN {
            return Err(CoreError::InvalidValue("group link reply: too long"));
        }
        plaintext.resize(REPLY_PLAINTEXT_LEN, 0);
        let ciphertext = XChaCha20Poly1305::new(key.into())
            .encrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: &plaintext,
                    aad: &reply_ad(join),
                },
            )
            .map_err(|_| CoreError::InvalidValue("group link reply"))?;
        let mut body = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        body.push(VERSION);
        body.extend_from_slice(nonce);
        body.extend_from_slice(&ciphertext);
        Ok(body)
    }

    /// Opens a reply sealed for `join` under `key`.
    pub(crate) fn open(key: &[u8; 32], join: &InviteId, body: &[u8]) -> Result<Reply, CoreError> {
        const BAD: CoreError = CoreError::Malformed("group link reply");
        if body.len() != 1 + NONCE_LEN + REPLY_PLAINTEXT_LEN + TAG_LEN {
            return Err(BAD);
        }
        let (version, rest) = body.split_at(1);
        if version != [VERSION] {
            return Err(CoreError::UnsupportedVersion {
                what: "group link reply",
                version: version[0],
            });
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let plaintext = Zeroizing::new(
            XChaCha20Poly1305::new(key.into())
                .decrypt(
                    XNonce::from_slice(nonce),
                    Payload {
                        msg: ciphertext,
                        aad: &reply_ad(join),
                    },
                )
                .map_err(|_| BAD)?,
        );
        let mut r = Reader::new(&plaintext, "group link reply");
        match r.u8()? {
            1 => {
                let index = r.u16()?;
                let count = r.u16()?;
                let bytes = r.bytes16(MAX_REPLY_PIECE_LEN)?.to_vec();
                if count == 0
                    || usize::from(count) > MAX_REPLY_PIECES
                    || index >= count
                    || bytes.is_empty()
                {
                    return Err(BAD);
                }
                Ok(Reply::Piece {
                    index,
                    count,
                    bytes,
                })
            }
            2 => Ok(Reply::Declined),
            _ => Err(BAD),
        }
    }
}

fn reply_ad(join: &InviteId) -> Vec<u8> {
    [REPLY_LABEL, &join[..]].concat()
}

/// A group's link, kept by the admin's client that made it.
pub(crate) struct GroupLinkRecord {
    pub(crate) group: ChatId,
    pub(crate) created_at: u64,
    /// Requests are approved at once, without an admin.
    pub(crate) automatic: bool,
    pub(crate) secret_key: Zeroizing<Vec<u8>>,
    pub(crate) public_key: Vec<u8>,
    /// The link's queue, once the relay made it.
    pub(crate) queue: Option<QueueAddress>,
}

impl GroupLinkRecord {
    pub(crate) fn load(store: &impl Store, group: ChatId) -> Result<Option<Self>, CoreError> {
        store
            .get(GROUP_LINKS, &group.0.to_be_bytes())?
            .map(|bytes| {
                GroupLinkRecord::decode(group, &Zeroizing::new(bytes))
                    .map_err(corrupt("group link"))
            })
            .transpose()
    }

    pub(crate) fn put(&self, batch: &mut WriteBatch) {
        let mut w = Writer::new();
        w.u8(VERSION)
            .u64(self.created_at)
            .bool(self.automatic)
            .bytes16(&self.secret_key)
            .array(&self.public_key);
        w.option(self.queue.as_ref(), |w, queue| queue.encode(w));
        batch.put(
            GROUP_LINKS,
            self.group.0.to_be_bytes().to_vec(),
            Zeroizing::new(w.finish()).to_vec(),
        );
    }

    /// Forgets the link and the requests it has seen (requests waiting for a
    /// decision stay).
    pub(crate) fn delete(group: ChatId, batch: &mut WriteBatch) {
        batch.delete(GROUP_LINKS, group.0.to_be_bytes().to_vec());
        batch.delete_range(GROUP_LINK_SEEN, KeyRange::prefix(&group.0.to_be_bytes()));
    }

    fn decode(group: ChatId, bytes: &[u8]) -> Result<Self, CoreError> {
        let mut r = Reader::new(bytes, "group link");
        if r.u8()? != VERSION {
            return Err(CoreError::Malformed("group link"));
        }
        let record = GroupLinkRecord {
            group,
            created_at: r.u64()?,
            automatic: r.bool()?,
            secret_key: Zeroizing::new(r.bytes16(MAX_LINK_SECRET_KEY_LEN)?.to_vec()),
            public_key: r.array::<LINK_PUBLIC_KEY_LEN>()?.to_vec(),
            queue: r.option(QueueAddress::decode)?,
        };
        r.finish()?;
        Ok(record)
    }
}

/// Where a request stands on the admin's side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RequestState {
    /// Waiting for an admin's decision.
    Waiting,
    /// Approved; its add waits for a commit of ours before it.
    Approved,
    /// Its add is committed; the welcome goes once the commit is in effect.
    Committed,
}

/// A request to join that came through a group's link.
#[derive(Clone)]
pub(crate) struct JoinRequestRecord {
    pub(crate) id: u64,
    pub(crate) group: ChatId,
    pub(crate) received_at: u64,
    pub(crate) request: JoinRequest,
    pub(crate) state: RequestState,
}

impl JoinRequestRecord {
    pub(crate) fn load(store: &impl Store, id: u64) -> Result<Option<Self>, CoreError> {
        store
            .get(GROUP_LINK_REQUESTS, &id.to_be_bytes())?
            .map(|bytes| {
                JoinRequestRecord::decode(id, &Zeroizing::new(bytes))
                    .map_err(corrupt("group join request"))
            })
            .transpose()
    }

    /// Every request, oldest first (at most
    /// [`crate::groups::links::MAX_REQUESTS_PER_GROUP`] per group are kept).
    pub(crate) fn load_all(store: &impl Store) -> Result<Vec<Self>, CoreError> {
        store
            .range(
                GROUP_LINK_REQUESTS,
                &KeyRange::all(),
                Direction::Forward,
                usize::MAX,
            )?
            .into_iter()
            .map(|record| {
                let id = record
                    .key
                    .as_slice()
                    .try_into()
                    .map(u64::from_be_bytes)
                    .map_err(|_| CoreError::CorruptRecord("group join request"))?;
                JoinRequestRecord::decode(id, &Zeroizing::new(record.value))
                    .map_err(corrupt("group join request"))
            })
            .collect()
    }

    pub(crate) fn put(&self, batch: &mut WriteBatch) {
        let mut w = Writer::new();
        w.u8(VERSION)
            .u64(self.group.0)
            .u64(self.received_at)
            .array(&self.request.join);
        self.request.reply_queue.encode(&mut w);
        w.array(self.request.reply_sender.as_ref())
            .array(self.request.reply_key.as_ref())
            .bytes32(&self.request.key_package)
            .u8(match self.state {
                RequestState::Waiting => 0,
                RequestState::Approved => 1,
                RequestState::Committed => 2,
            });
        batch.put(
            GROUP_LINK_REQUESTS,
            self.id.to_be_bytes().to_vec(),
            Zeroizing::new(w.finish()).to_vec(),
        );
    }

    pub(crate) fn delete(&self, batch: &mut WriteBatch) {
        batch.delete(GROUP_LINK_REQUESTS, self.id.to_be_bytes().to_vec());
    }

    fn decode(id: u64, bytes: &[u8]) -> Result<Self, CoreError> {
        const BAD: CoreError = CoreError::Malformed("group join request");
        let mut r = Reader::new(bytes, "group join request");
        if r.u8()? != VERSION {
            return Err(BAD);
        }
        let group = ChatId(r.u64()?);
        let received_at = r.u64()?;
        let request = JoinRequest {
            join: r.array()?,
            reply_queue: QueueAddress::decode(&mut r)?,
            reply_sender: Zeroizing::new(r.array()?),
            reply_key: Zeroizing::new(r.array()?),
            key_package: r.bytes32(MAX_REQUEST_KEY_PACKAGE_LEN)?.to_vec(),
        };
        let state = match r.u8()? {
            0 => RequestState::Waiting,
            1 => RequestState::Approved,
            2 => RequestState::Committed,
            _ => return Err(BAD),
        };
        r.finish()?;
        Ok(JoinRequestRecord {
            id,
            group,
            received_at,
            request,
            state,
        })
    }
}

/// A join through a link, on the joiner's side, until the welcome (or a
/// refusal) arrives.
pub(crate) struct LinkJoinRecord {
    pub(crate) id: u64,
    pub(crate) created_at: u64,
    pub(crate) join: InviteId,
    pub(crate) link: GroupLink,
    pub(crate) reply_sender: Zeroizing<[u8; 32]>,
    pub(crate) reply_key: Zeroizing<[u8; 32]>,
    /// The request went out (its reply queue exists).
    pub(crate) requested: bool,
    /// The pseudonym's key package, which the request carries.
    pub(crate) key_package: Vec<u8>,
    pub(crate) pending: PendingJoin,
}

impl LinkJoinRecord {
    pub(crate) fn load(store: &impl Store, id: u64) -> Result<Option<Self>, CoreError> {
        store
            .get(GROUP_LINK_JOINS, &id.to_be_bytes())?
            .map(|bytes| {
                LinkJoinRecord::decode(id, &Zeroizing::new(bytes))
                    .map_err(corrupt("group link join"))
            })
            .transpose()
    }

    pub(crate) fn load_all(store: &impl Store) -> Result<Vec<Self>, CoreError> {
        crate::codec::load_table(store, GROUP_LINK_JOINS, "group link join", |id, bytes| {
            LinkJoinRecord::decode(id, &Zeroizing::new(bytes.to_vec()))
        })
    }

    pub(crate) fn put(&self, batch: &mut WriteBatch) -> Result<(), CoreError> {
        let pickle = Zeroizing::new(self.pending.pickle()?);
        let mut w = Writer::new();
        w.u8(VERSION)
            .u64(self.created_at)
            .array(&self.join)
            .bytes16(self.link.name.as_bytes());
        self.link.queue.encode(&mut w);
        w.array(&self.link.public_key)
            .array(self.reply_sender.as_ref())
            .array(self.reply_key.as_ref())
            .bool(self.requested)
            .bytes32(&self.key_package)
            .bytes32(&pickle);
        batch.put(
            GROUP_LINK_JOINS,
            self.id.to_be_bytes().to_vec(),
            Zeroizing::new(w.finish()).to_vec(),
        );
        Ok(())
    }

    pub(crate) fn delete(id: u64, batch: &mut WriteBatch) {
        batch.delete(GROUP_LINK_JOINS, id.to_be_bytes().to_vec());
    }

    fn decode(id: u64, bytes: &[u8]) -> Result<Self, CoreError> {
        let mut r = Reader::new(bytes, "group link join");
        if r.u8()? != VERSION {
            return Err(CoreError::Malformed("group link join"));
        }
        let created_at = r.u64()?;
        let join = r.array::<INVITE_ID_LEN>()?;
        let name = decode_group_name(&mut r)?;
        let queue = QueueAddress::decode(&mut r)?;
        let public_key = r.array::<LINK_PUBLIC_KEY_LEN>()?.to_vec();
        let record = LinkJoinRecord {
            id,
            created_at,
            join,
            link: GroupLink {
                queue,
                public_key,
                name,
            },
            reply_sender: Zeroizing::new(r.array()?),
            reply_key: Zeroizing::new(r.array()?),
            requested: r.bool()?,
            key_package: r.bytes32(MAX_REQUEST_KEY_PACKAGE_LEN)?.to_vec(),
            pending: PendingJoin::from_pickle(r.bytes32(sotto_groups::MAX_PICKLE_LEN)?)?,
        };
        r.finish()?;
        Ok(record)
    }
}

/// Decodes the bytes as each of this module's records, for the fuzz targets.
#[cfg(feature = "fuzzing")]
pub(crate) fn decode_records(bytes: &[u8]) -> bool {
    GroupLinkRecord::decode(ChatId(1), bytes).is_ok()
        || JoinRequestRecord::decode(1, bytes).is_ok()
        || LinkJoinRecord::decode(1, bytes).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sotto_wire::SenderId;

    fn link() -> GroupLink {
        GroupLink {
            queue: QueueAddress {
                relay: "sotto://tgAwbPp2cj_ew5XlOps9n9t4seLXojwy_LzS3G0MQJI@relay.example"
                    .parse()
                    .unwrap(),
                sender_id: SenderId::from_bytes([5; 24]),
            },
            public_key: vec![7; LINK_PUBLIC_KEY_LEN],
            name: "Book club".to_owned(),
        }
    }

    #[test]
    fn links_round_trip_and_hostile_ones_are_refused() {
        let text = link().to_link();
        assert!(text.starts_with("https://relay.example/group#"));
        assert_eq!(GroupLink::parse(&text).unwrap(), link());
        for bad in [
            text.replace("/group#", "/contact#"),
            text[..text.len() - 4].to_owned(),
            format!("{text}AA"),
            "https://x/group#".to_owned(),
            "a".repeat(MAX_LINK_LEN + 1),
        ] {
            assert!(GroupLink::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn requests_are_padded_and_read_back() {
        let request = JoinRequest {
            join: [1; INVITE_ID_LEN],
            reply_queue: link().queue,
            reply_sender: Zeroizing::new([2; 32]),
            reply_key: Zeroizing::new([3; 32]),
            key_package: vec![4; 3000],
        };
        let plaintext = request.plaintext().unwrap();
        assert_eq!(plaintext.len(), REQUEST_PLAINTEXT_LEN);
        let read = JoinRequest::from_plaintext(&plaintext).unwrap();
        assert_eq!(read.key_package, request.key_package);
        assert_eq!(read.reply_queue, request.reply_queue);
        let mut damaged = plaintext.to_vec();
        damaged[REQUEST_PLAINTEXT_LEN - 1] = 1;
        assert!(JoinRequest::from_plaintext(&damaged).is_err());
        assert!(JoinRequest::from_plaintext(&plaintext[..100]).is_err());
    }

    #[test]
    fn replies_open_with_their_key_and_join_only() {
        let key = [9; 32];
        let join = [1; INVITE_ID_LEN];
        for reply in Reply::pieces(&vec![5; 30_000])
            .unwrap()
            .into_iter()
            .chain([Reply::Declined])
        {
            let body = reply.seal(&key, &join, &[8; NONCE_LEN]).unwrap();
            assert!(body.len() <= sotto_wire::MAX_MESSAGE_BODY);
            assert_eq!(Reply::open(&key, &join, &body).unwrap(), reply);
            assert!(Reply::open(&[0; 32], &join, &body).is_err());
            assert!(Reply::open(&key, &[2; INVITE_ID_LEN], &body).is_err());
            assert!(Reply::open(&key, &join, &body[..100]).is_err());
        }
        assert_eq!(Reply::pieces(&vec![5; 30_000]).unwrap().len(), 3);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_input_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2000)) {
            let _ = GroupLink::parse(&format!("https://h/group#{}", URL_SAFE_NO_PAD.encode(&bytes)));
            let _ = JoinRequest::from_plaintext(&bytes);
            let _ = Reply::open(&[1; 32], &[2; INVITE_ID_LEN], &bytes);
        }
    }
}
