//! A contact: one end-to-end session, the queue we receive on, the queue we
//! send to, the integrity chains and chat settings.
//!
//! ```text
//! table "contacts", key contact id u64:
//! version (1) = 0x01 || state u8 || created_at u64 || peer identity (32) || verified u8
//! || option(profile) || option(session pickle: len u32 || bytes)
//! || option(link payload: len u16 || bytes)          joiner, until confirmed
//! || option(send queue: queue address || signing key (32) || signs u8)
//! || option(receive queue: recipient id (24))
//! || option(peer sender key (32))                    inviter, before KEY
//! || outgoing chain (next seq u64 || last hash 32)
//! || incoming chain (next seq u64 || last hash 32 || count u16 || seq u64 × count)
//! || next message number u64 || unread u32 || timer secs u32 (0 = off)
//! || read receipts u8 (0 global, 1 on, 2 off) || last activity u64
//! || count u8 (..=64) || seq u64 × count     delivery receipts not sent yet
//! ```

use sotto_wire::RecipientId;
use zeroize::Zeroizing;

use crate::chat_message::MAX_RECEIPT_SEQS;
use crate::codec::{Reader, Writer, corrupt};
use crate::ids::ChatId;
use crate::integrity::{IncomingChain, OutgoingChain};
use crate::profile::Profile;
use crate::queue_address::QueueAddress;
use crate::store::Table;
use crate::{CoreError, Store, WriteBatch};

pub(crate) const CONTACTS: Table = Table::new("contacts");
const VERSION: u8 = 1;
/// Largest stored session pickle (a session is a few KiB plus skipped keys).
const MAX_PICKLE_LEN: usize = 1 << 20;

/// Where a contact's connection stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    /// Joiner: creating its receiving queue.
    Joining,
    /// Joiner: answer sent, waiting for the inviter's confirmation.
    AwaitingConfirmation,
    /// Inviter (contact request accepted): creating the queue for this contact.
    Accepting,
    /// Both queues exist; messages flow.
    Connected,
}

impl ConnectionState {
    fn byte(self) -> u8 {
        match self {
            ConnectionState::Joining => 1,
            ConnectionState::AwaitingConfirmation => 2,
            ConnectionState::Accepting => 3,
            ConnectionState::Connected => 4,
        }
    }

    fn from_byte(byte: u8) -> Option<ConnectionState> {
        Some(match byte {
            1 => ConnectionState::Joining,
            2 => ConnectionState::AwaitingConfirmation,
            3 => ConnectionState::Accepting,
            4 => ConnectionState::Connected,
            _ => return None,
        })
    }
}

/// Read receipts in one chat.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptSetting {
    /// Follow the global setting.
    Default,
    /// Always send.
    On,
    /// Never send.
    Off,
}

/// The queue we send to, with our key for it.
#[derive(Clone)]
pub(crate) struct SendQueue {
    pub(crate) address: QueueAddress,
    pub(crate) signing_key: Zeroizing<[u8; 32]>,
}

#[derive(Clone)]
pub(crate) struct ContactRecord {
    pub(crate) id: ChatId,
    pub(crate) state: ConnectionState,
    pub(crate) created_at: u64,
    pub(crate) peer_identity: [u8; 32],
    pub(crate) verified: bool,
    pub(crate) profile: Option<Profile>,
    pub(crate) session: Option<Vec<u8>>,
    pub(crate) link_payload: Option<Vec<u8>>,
    pub(crate) send_queue: Option<SendQueue>,
    pub(crate) receive_queue: Option<RecipientId>,
    pub(crate) peer_sender_key: Option<[u8; 32]>,
    pub(crate) outgoing: OutgoingChain,
    pub(crate) incoming: IncomingChain,
    pub(crate) next_number: u64,
    pub(crate) unread: u32,
    pub(crate) timer_secs: Option<u32>,
    pub(crate) read_receipts: ReceiptSetting,
    pub(crate) last_activity: u64,
    /// Numbers of received texts whose delivery receipt is not sent yet.
    pub(crate) pending_receipts: Vec<u64>,
}

impl ContactRecord {
    pub(crate) fn new(id: ChatId, state: ConnectionState, now: u64, peer: [u8; 32]) -> Self {
        ContactRecord {
            id,
            state,
            created_at: now,
            peer_identity: peer,
            verified: false,
            profile: None,
            session: None,
            link_payload: None,
            send_queue: None,
            receive_queue: None,
            peer_sender_key: None,
            outgoing: OutgoingChain::default(),
            incoming: IncomingChain::default(),
            next_number: 1,
            unread: 0,
            timer_secs: None,
            read_receipts: ReceiptSetting::Default,
            last_activity: now,
            pending_receipts: Vec::new(),
        }
    }

    pub(crate) fn key(id: ChatId) -> [u8; 8] {
        id.0.to_be_bytes()
    }

    pub(crate) fn load(store: &impl Store, id: ChatId) -> Result<ContactRecord, CoreError> {
        let bytes = store
            .get(CONTACTS, &ContactRecord::key(id))?
            .ok_or(CoreError::UnknownContact)?;
        ContactRecord::decode(id, &bytes).map_err(corrupt("contact"))
    }

    pub(crate) fn load_all(store: &impl Store) -> Result<Vec<ContactRecord>, CoreError> {
        crate::codec::load_table(store, CONTACTS, "contact", |id, bytes| {
            ContactRecord::decode(ChatId(id), bytes)
        })
    }

    pub(crate) fn put(&self, batch: &mut WriteBatch) {
        batch.put(
            CONTACTS,
            ContactRecord::key(self.id).to_vec(),
            Zeroizing::new(self.encode()).to_vec(),
        );
    }

    /// The next message number of this chat.
    pub(crate) fn allocate_number(&mut self) -> u64 {
        let number = self.next_number;
        self.next_number += 1;
        number
    }

    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(VERSION)
            .u8(self.state.byte())
            .u64(self.created_at)
            .array(&self.peer_identity)
            .bool(self.verified);
        w.option(self.profile.as_ref(), |w, p| p.encode(w));
        w.option(self.session.as_ref(), |w, s| {
            w.bytes32(s);
        });
        w.option(self.link_payload.as_ref(), |w, l| {
            w.bytes16(l);
        });
        w.option(self.send_queue.as_ref(), |w, q| {
            q.address.encode(w);
            w.array(q.signing_key.as_ref());
        });
        w.option(self.receive_queue.as_ref(), |w, q| {
            w.array(q.as_bytes());
        });
        w.option(self.peer_sender_key.as_ref(), |w, k| {
            w.array(k);
        });
        self.outgoing.encode(&mut w);
        self.incoming.encode(&mut w);
        w.u64(self.next_number)
            .u32(self.unread)
            .u32(self.timer_secs.unwrap_or(0))
            .u8(match self.read_receipts {
                ReceiptSetting::Default => 0,
                ReceiptSetting::On => 1,
                ReceiptSetting::Off => 2,
            })
            .u64(self.last_activity);
        let count = self.pending_receipts.len().min(MAX_RECEIPT_SEQS);
        w.u8(u8::try_from(count).unwrap_or(0));
        for seq in self.pending_receipts.iter().take(count) {
            w.u64(*seq);
        }
        w.finish()
    }

    pub(crate) fn decode(id: ChatId, bytes: &[u8]) -> Result<ContactRecord, CoreError> {
        const BAD: CoreError = CoreError::Malformed("contact");
        let mut r = Reader::new(bytes, "contact");
        if r.u8()? != VERSION {
            return Err(BAD);
        }
        let state = ConnectionState::from_byte(r.u8()?).ok_or(BAD)?;
        let created_at = r.u64()?;
        let peer_identity = r.array()?;
        let verified = r.bool()?;
        let profile = r.option(Profile::decode)?;
        let session = r.option(|r| Ok(r.bytes32(MAX_PICKLE_LEN)?.to_vec()))?;
        let link_payload = r.option(|r| Ok(r.bytes16(usize::from(u16::MAX))?.to_vec()))?;
        let send_queue = r.option(|r| {
            Ok(SendQueue {
                address: QueueAddress::decode(r)?,
                signing_key: Zeroizing::new(r.array()?),
            })
        })?;
        let receive_queue = r.option(|r| Ok(RecipientId::from_bytes(r.array()?)))?;
        let peer_sender_key = r.option(|r| r.array())?;
        let outgoing = OutgoingChain::decode(&mut r)?;
        let incoming = IncomingChain::decode(&mut r)?;
        let next_number = r.u64()?;
        let unread = r.u32()?;
        let timer_secs = Some(r.u32()?).filter(|&secs| secs != 0);
        let read_receipts = match r.u8()? {
            0 => ReceiptSetting::Default,
            1 => ReceiptSetting::On,
            2 => ReceiptSetting::Off,
            _ => return Err(BAD),
        };
        let last_activity = r.u64()?;
        let count = usize::from(r.u8()?);
        if count > MAX_RECEIPT_SEQS {
            return Err(BAD);
        }
        let mut pending_receipts = Vec::with_capacity(count);
        for _ in 0..count {
            pending_receipts.push(r.u64()?);
        }
        r.finish()?;
        Ok(ContactRecord {
            id,
            state,
            created_at,
            peer_identity,
            verified,
            profile,
            session,
            link_payload,
            send_queue,
            receive_queue,
            peer_sender_key,
            outgoing,
            incoming,
            next_number,
            unread,
            timer_secs,
            read_receipts,
            last_activity,
            pending_receipts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;
    use proptest::prelude::*;
    use sotto_wire::SenderId;

    fn sample() -> ContactRecord {
        let mut contact = ContactRecord::new(ChatId(7), ConnectionState::Connected, 5, [1; 32]);
        contact.profile = Some(Profile::new("Bob", Some("bio")).unwrap());
        contact.session = Some(vec![2; 300]);
        contact.link_payload = Some(vec![3; 40]);
        contact.send_queue = Some(SendQueue {
            address: QueueAddress {
                relay: "sotto://tgAwbPp2cj_ew5XlOps9n9t4seLXojwy_LzS3G0MQJI@relay.example"
                    .parse()
                    .unwrap(),
                sender_id: SenderId::from_bytes([4; 24]),
            },
            signing_key: Zeroizing::new([5; 32]),
        });
        contact.receive_queue = Some(RecipientId::from_bytes([6; 24]));
        contact.peer_sender_key = Some([7; 32]);
        contact.incoming.receive(3, &[0; 32], [8; 32]);
        contact.outgoing.next_seq = 9;
        contact.timer_secs = Some(30);
        contact.read_receipts = ReceiptSetting::Off;
        contact.unread = 2;
        contact.pending_receipts = vec![4, 5];
        contact
    }

    #[test]
    fn round_trip_through_a_store() {
        let contact = sample();
        let mut store = MemoryStore::new();
        let mut batch = WriteBatch::new();
        contact.put(&mut batch);
        store.apply(batch).unwrap();
        let loaded = ContactRecord::load(&store, ChatId(7)).unwrap();
        assert_eq!(loaded.encode(), contact.encode());
        assert_eq!(ContactRecord::load_all(&store).unwrap().len(), 1);
        assert!(matches!(
            ContactRecord::load(&store, ChatId(8)),
            Err(CoreError::UnknownContact)
        ));
    }

    proptest! {
        #[test]
        fn damaged_records_are_errors_not_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..400),
            cut in 0usize..2000,
        ) {
            let _ = ContactRecord::decode(ChatId(1), &bytes);
            let encoded = sample().encode();
            let cut = cut % encoded.len();
            prop_assert!(ContactRecord::decode(ChatId(1), &encoded[..cut]).is_err());
        }
    }
}
