//! A peer: someone this profile talks to. Their identity key (what the
//! security code is made of), whether the user verified it, and the profile
//! they sent. A peer outlives its connections: a new connection (a new
//! device, a lost one) keeps the peer and its chat.
//!
//! ```text
//! table "peers", key peer id u64:
//! version (1) = 0x01 || identity key (32) || verified u8 || option(profile)
//! || direct chat id u64
//! ```

use crate::codec::{Reader, Writer, corrupt};
use crate::ids::{ChatId, PeerId};
use crate::profile::Profile;
use crate::store::Table;
use crate::{CoreError, Store, WriteBatch};

pub(crate) const PEERS: Table = Table::new("peers");
const VERSION: u8 = 1;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PeerRecord {
    pub(crate) id: PeerId,
    pub(crate) identity: [u8; 32],
    pub(crate) verified: bool,
    pub(crate) profile: Option<Profile>,
    /// The direct chat with this peer.
    pub(crate) chat: ChatId,
}

impl PeerRecord {
    pub(crate) fn new(id: PeerId, identity: [u8; 32], chat: ChatId) -> PeerRecord {
        PeerRecord {
            id,
            identity,
            verified: false,
            profile: None,
            chat,
        }
    }

    /// Takes a (possibly) new identity key: a different one is no longer
    /// verified. Returns whether it changed.
    pub(crate) fn set_identity(&mut self, identity: [u8; 32]) -> bool {
        let changed = self.identity != identity;
        if changed {
            self.identity = identity;
            self.verified = false;
        }
        changed
    }

    pub(crate) fn load(store: &impl Store, id: PeerId) -> Result<PeerRecord, CoreError> {
        let bytes = store
            .get(PEERS, &id.0.to_be_bytes())?
            .ok_or(CoreError::CorruptRecord("peer"))?;
        PeerRecord::decode(id, &bytes).map_err(corrupt("peer"))
    }

    pub(crate) fn load_all(store: &impl Store) -> Result<Vec<PeerRecord>, CoreError> {
        crate::codec::load_table(store, PEERS, "peer", |id, bytes| {
            PeerRecord::decode(PeerId(id), bytes)
        })
    }

    pub(crate) fn put(&self, batch: &mut WriteBatch) {
        batch.put(PEERS, self.id.0.to_be_bytes().to_vec(), self.encode());
    }

    pub(crate) fn delete(id: PeerId, batch: &mut WriteBatch) {
        batch.delete(PEERS, id.0.to_be_bytes().to_vec());
    }

    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(VERSION).array(&self.identity).bool(self.verified);
        w.option(self.profile.as_ref(), |w, p| p.encode(w));
        w.u64(self.chat.0);
        w.finish()
    }

    pub(crate) fn decode(id: PeerId, bytes: &[u8]) -> Result<PeerRecord, CoreError> {
        let mut r = Reader::new(bytes, "peer");
        if r.u8()? != VERSION {
            return Err(CoreError::Malformed("peer"));
        }
        let record = PeerRecord {
            id,
            identity: r.array()?,
            verified: r.bool()?,
            profile: r.option(Profile::decode)?,
            chat: ChatId(r.u64()?),
        };
        r.finish()?;
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::MemoryStore;

    fn sample() -> PeerRecord {
        let mut peer = PeerRecord::new(PeerId(2), [7; 32], ChatId(3));
        peer.verified = true;
        peer.profile = Some(Profile::new("Bob", Some("bio")).unwrap());
        peer
    }

    #[test]
    fn round_trip_and_a_new_key_is_not_verified() {
        let mut store = MemoryStore::new();
        let mut batch = WriteBatch::new();
        sample().put(&mut batch);
        store.apply(batch).unwrap();
        let mut peer = PeerRecord::load(&store, PeerId(2)).unwrap();
        assert_eq!(peer, sample());
        assert!(!peer.set_identity([7; 32]));
        assert!(peer.verified);
        assert!(peer.set_identity([8; 32]));
        assert!(!peer.verified);
    }

    proptest! {
        #[test]
        fn damaged_records_are_errors_not_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..100),
            cut in 0usize..100,
        ) {
            let _ = PeerRecord::decode(PeerId(1), &bytes);
            let encoded = sample().encode();
            let cut = cut % encoded.len();
            prop_assert!(PeerRecord::decode(PeerId(1), &encoded[..cut]).is_err());
        }
    }
}
