//! Records of connections being made: one-time invitations waiting for their
//! answer, the contact address, and the contact requests it received.
//!
//! ```text
//! table "invitations", key invitation id u64:
//!   version (1) = 0x01 || created_at u64 || pending invitation pickle (len u32 || bytes)
//!   || option(link text: len u16 || bytes)
//! table "address", key "address": the same layout as an invitation
//! table "address_answers", key SHA-256(answer key agreement) (32): empty
//! table "requests", key request id u64:
//!   version (1) = 0x01 || received_at u64 || peer identity (32) || session pickle (len u32 || bytes)
//!   || profile || reply queue address || sender auth key (32)
//! ```

use sotto_crypto::{PendingInvitation, PickleKey};
use zeroize::Zeroizing;

use crate::codec::{Reader, Writer, corrupt};
use crate::ids::{InvitationId, RequestId};
use crate::profile::Profile;
use crate::queue_address::QueueAddress;
use crate::store::Table;
use crate::{CoreError, Store, WriteBatch};

pub(crate) const INVITATIONS: Table = Table::new("invitations");
pub(crate) const ADDRESS: Table = Table::new("address");
pub(crate) const ADDRESS_ANSWERS: Table = Table::new("address_answers");
pub(crate) const REQUESTS: Table = Table::new("requests");
const ADDRESS_KEY: &[u8] = b"address";
const VERSION: u8 = 1;
const MAX_PICKLE_LEN: usize = 1 << 20;

/// A one-time invitation or the contact address: keys waiting for answers.
#[derive(Clone)]
pub(crate) struct InvitationRecord {
    pub(crate) created_at: u64,
    pub(crate) pending: Vec<u8>,
    pub(crate) link: Option<String>,
}

impl InvitationRecord {
    pub(crate) fn pending(&self, key: &PickleKey) -> Result<PendingInvitation, CoreError> {
        PendingInvitation::from_pickle(key, &self.pending)
            .map_err(|_| CoreError::CorruptRecord("pending invitation"))
    }

    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(VERSION).u64(self.created_at).bytes32(&self.pending);
        w.option(self.link.as_ref(), |w, link| {
            w.bytes16(link.as_bytes());
        });
        w.finish()
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<InvitationRecord, CoreError> {
        let mut r = Reader::new(bytes, "invitation");
        if r.u8()? != VERSION {
            return Err(CoreError::Malformed("invitation"));
        }
        let created_at = r.u64()?;
        let pending = r.bytes32(MAX_PICKLE_LEN)?.to_vec();
        let link = r.option(|r| r.text(crate::link::MAX_LINK_LEN))?;
        r.finish()?;
        Ok(InvitationRecord {
            created_at,
            pending,
            link,
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
