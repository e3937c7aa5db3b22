//! Records of connections being made: one-time invitations waiting for their
//! answer, the contact address, and the contact requests it received.
//!
//! ```text
//! table "invitations", key invitation id u64:
//!   version (1) = 0x02 || created_at u64 || pending invitation pickle (len u32 || bytes)
//!   || option(link text: len u16 || bytes) || option(short link)
//!   short link = relay address || option(link id (24)) || link auth secret (32)
//!             || link key (32) || refreshed_at u64
//!   (version 0x01, read only, has no short link)
//! table "address", key "address": the same layout as an invitation
//! table "address_answers", key SHA-256(answer key agreement) (32): empty
//! table "joins", key chat id u64 (a short link being resolved):
//!   version (1) = 0x01 || created_at u64 || short link text (len u16 || bytes)
//!   || own relay address || reconnect (1): 0x00 a new chat, 0x01 the chat exists
//! table "requests", key request id u64:
//!   version (1) = 0x01 || received_at u64 || peer identity (32) || session pickle (len u32 || bytes)
//!   || profile || reply queue address || sender auth key (32)
//! ```

use sotto_crypto::{PendingInvitation, PickleKey};
use sotto_wire::{LinkId, RelayAddress};
use zeroize::Zeroizing;

use crate::codec::{Reader, Writer, corrupt};
use crate::ids::{ChatId, InvitationId, RequestId};
use crate::profile::Profile;
use crate::queue_address::{QueueAddress, decode_relay, encode_relay};
use crate::short_link::LinkKey;
use crate::store::Table;
use crate::{CoreError, Store, WriteBatch};

pub(crate) const INVITATIONS: Table = Table::new("invitations");
pub(crate) const ADDRESS: Table = Table::new("address");
pub(crate) const ADDRESS_ANSWERS: Table = Table::new("address_answers");
pub(crate) const REQUESTS: Table = Table::new("requests");
pub(crate) const JOINS: Table = Table::new("joins");
const ADDRESS_KEY: &[u8] = b"address";
const VERSION: u8 = 1;
/// Invitation records gained the short link in version 2 (version 1 is read).
const INVITATION_VERSION: u8 = 2;
const MAX_PICKLE_LEN: usize = 1 << 20;

/// A one-time invitation or the contact address: keys waiting for answers.
#[derive(Clone)]
pub(crate) struct InvitationRecord {
    pub(crate) created_at: u64,
    pub(crate) pending: Vec<u8>,
    pub(crate) link: Option<String>,
    /// The short link's blob on the relay, once it is being published.
    pub(crate) published: Option<PublishedLink>,
}

/// A short link this profile published: what it takes to refresh, replace or
/// delete its blob, and to write the link again.
#[derive(Clone)]
pub(crate) struct PublishedLink {
    pub(crate) relay: RelayAddress,
    /// Known once the relay answered LNEW.
    pub(crate) link_id: Option<LinkId>,
    pub(crate) auth_secret: Zeroizing<[u8; 32]>,
    pub(crate) key: LinkKey,
    /// When the blob was last written (LNEW or LSET), Unix milliseconds.
    pub(crate) refreshed_at: u64,
}

impl PublishedLink {
    fn encode(&self, w: &mut Writer) {
        encode_relay(w, &self.relay);
        w.option(self.link_id.as_ref(), |w, id| {
            w.array(id.as_bytes());
        });
        w.array(self.auth_secret.as_ref())
            .array(self.key.as_bytes())
            .u64(self.refreshed_at);
    }

    fn decode(r: &mut Reader<'_>) -> Result<PublishedLink, CoreError> {
        Ok(PublishedLink {
            relay: decode_relay(r)?,
            link_id: r.option(|r| Ok(LinkId::from_bytes(r.array()?)))?,
            auth_secret: Zeroizing::new(r.array()?),
            key: LinkKey::from_bytes(r.array()?),
            refreshed_at: r.u64()?,
        })
    }
}

impl InvitationRecord {
    pub(crate) fn pending(&self, key: &PickleKey) -> Result<PendingInvitation, CoreError> {
        PendingInvitation::from_pickle(key, &self.pending)
            .map_err(|_| CoreError::CorruptRecord("pending invitation"))
    }

    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(INVITATION_VERSION)
            .u64(self.created_at)
            .bytes32(&self.pending);
        w.option(self.link.as_ref(), |w, link| {
            w.bytes16(link.as_bytes());
        });
        w.option(self.published.as_ref(), |w, published| published.encode(w));
        w.finish()
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<InvitationRecord, CoreError> {
        let mut r = Reader::new(bytes, "invitation");
        let version = r.u8()?;
        if !(1..=INVITATION_VERSION).contains(&version) {
            return Err(CoreError::Malformed("invitation"));
        }
        let created_at = r.u64()?;
        let pending = r.bytes32(MAX_PICKLE_LEN)?.to_vec();
        let link = r.option(|r| r.text(crate::link::MAX_LINK_LEN))?;
        let published = if version >= 2 {
            r.option(PublishedLink::decode)?
        } else {
            None
        };
        r.finish()?;
        Ok(InvitationRecord {
            created_at,
            pending,
            link,
            published,
        })
    }

    pub(crate) fn load(
        store: &impl Store,
        id: InvitationId,
    ) -> Result<Option<InvitationRecord>, CoreError> {
        store
            .get(INVITATIONS, &id.0.to_be_bytes())?
            .map(|bytes| InvitationRecord::decode(&bytes).map_err(corrupt("invitation")))
            .transpose()
    }

    /// Every one-time invitation.
    pub(crate) fn load_all(store: &impl Store) -> Result<Vec<InvitationRecord>, CoreError> {
        crate::codec::load_table(store, INVITATIONS, "invitation", |_, bytes| {
            InvitationRecord::decode(bytes)
        })
    }

    pub(crate) fn put(&self, id: InvitationId, batch: &mut WriteBatch) {
        batch.put(
            INVITATIONS,
            id.0.to_be_bytes().to_vec(),
            Zeroizing::new(self.encode()).to_vec(),
        );
    }

    pub(crate) fn load_address(store: &impl Store) -> Result<Option<InvitationRecord>, CoreError> {
        store
            .get(ADDRESS, ADDRESS_KEY)?
            .map(|bytes| InvitationRecord::decode(&bytes).map_err(corrupt("address")))
            .transpose()
    }

    pub(crate) fn put_address(&self, batch: &mut WriteBatch) {
        batch.put(
            ADDRESS,
            ADDRESS_KEY.to_vec(),
            Zeroizing::new(self.encode()).to_vec(),
        );
    }

    pub(crate) fn delete_address(batch: &mut WriteBatch) {
        batch.delete(ADDRESS, ADDRESS_KEY.to_vec());
    }
}

/// A short link someone connects through, waiting for its relay to return
/// the invitation (LGET): the chat is made once it has.
pub(crate) struct JoinRecord {
    pub(crate) created_at: u64,
    /// The short link's text.
    pub(crate) link: String,
    /// Where this profile will receive (its own relay).
    pub(crate) relay: RelayAddress,
    /// Whether the link connects an existing chat again.
    pub(crate) reconnect: bool,
}

impl JoinRecord {
    const VERSION: u8 = 1;

    pub(crate) fn load(store: &impl Store, chat: ChatId) -> Result<Option<JoinRecord>, CoreError> {
        store
            .get(JOINS, &chat.0.to_be_bytes())?
            .map(|bytes| JoinRecord::decode(&bytes).map_err(corrupt("join")))
            .transpose()
    }

    pub(crate) fn put(&self, chat: ChatId, batch: &mut WriteBatch) {
        let mut w = Writer::new();
        w.u8(JoinRecord::VERSION)
            .u64(self.created_at)
            .bytes16(self.link.as_bytes());
        encode_relay(&mut w, &self.relay);
        w.bool(self.reconnect);
        batch.put(JOINS, chat.0.to_be_bytes().to_vec(), w.finish());
    }

    pub(crate) fn delete(chat: ChatId, batch: &mut WriteBatch) {
        batch.delete(JOINS, chat.0.to_be_bytes().to_vec());
    }

    fn decode(bytes: &[u8]) -> Result<JoinRecord, CoreError> {
        let mut r = Reader::new(bytes, "join");
        if r.u8()? != JoinRecord::VERSION {
            return Err(CoreError::Malformed("join"));
        }
        let record = JoinRecord {
            created_at: r.u64()?,
            link: r.text(crate::link::MAX_LINK_LEN)?,
            relay: decode_relay(&mut r)?,
            reconnect: r.bool()?,
        };
        r.finish()?;
        Ok(record)
    }
}

/// A contact request: an accepted key agreement waiting for the user's decision.
#[derive(Clone)]
pub(crate) struct RequestRecord {
    pub(crate) received_at: u64,
    pub(crate) peer_identity: [u8; 32],
    pub(crate) session: Vec<u8>,
    pub(crate) profile: Profile,
    pub(crate) reply_queue: QueueAddress,
    pub(crate) sender_key: [u8; 32],
    pub(crate) hello_hash: [u8; 32],
}

impl RequestRecord {
    pub(crate) fn put(&self, id: RequestId, batch: &mut WriteBatch) {
        let mut w = Writer::new();
        w.u8(VERSION)
            .u64(self.received_at)
            .array(&self.peer_identity)
            .bytes32(&self.session);
        self.profile.encode(&mut w);
        self.reply_queue.encode(&mut w);
        w.array(&self.sender_key).array(&self.hello_hash);
        batch.put(
            REQUESTS,
            id.0.to_be_bytes().to_vec(),
            Zeroizing::new(w.finish()).to_vec(),
        );
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<RequestRecord, CoreError> {
        let mut r = Reader::new(bytes, "request");
        if r.u8()? != VERSION {
            return Err(CoreError::Malformed("request"));
        }
        let record = RequestRecord {
            received_at: r.u64()?,
            peer_identity: r.array()?,
            session: r.bytes32(MAX_PICKLE_LEN)?.to_vec(),
            profile: Profile::decode(&mut r)?,
            reply_queue: QueueAddress::decode(&mut r)?,
            sender_key: r.array()?,
            hello_hash: r.array()?,
        };
        r.finish()?;
        Ok(record)
    }

    /// Every request waiting, with its id.
    pub(crate) fn load_all(
        store: &impl Store,
    ) -> Result<Vec<(RequestId, RequestRecord)>, CoreError> {
        crate::codec::load_table(store, REQUESTS, "request", |id, bytes| {
            Ok((RequestId(id), RequestRecord::decode(bytes)?))
        })
    }

    pub(crate) fn load(store: &impl Store, id: RequestId) -> Result<RequestRecord, CoreError> {
        let bytes = store
            .get(REQUESTS, &id.0.to_be_bytes())?
            .ok_or(CoreError::UnknownRequest)?;
        RequestRecord::decode(&bytes).map_err(corrupt("request"))
    }
}
