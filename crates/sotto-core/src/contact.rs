//! A contact: one end-to-end session, the queue we receive on, the queue we
//! send to, the integrity chains and chat settings.
//!
//! ```text
//! table "contacts", key contact id u64:
//! version (1) = 0x01 || state u8 || created_at u64 || peer identity (32) || verified u8
//! || option(profile) || option(session pickle: len u32 || bytes)
//! || option(link payload: len u16 || bytes)          joiner, before its queue exists
//! || option(send queue: queue address || signing key (32) || signs u8)
//! || option(receive queue: recipient id (24))
//! || option(peer sender key (32))                    inviter, before KEY
//! || outgoing chain (next seq u64 || last hash 32)
//! || incoming chain (next seq u64 || last hash 32 || count u16 || seq u64 × count)
//! || next message number u64 || unread u32 || timer secs u32 (0 = off)
//! || read receipts u8 (0 global, 1 on, 2 off) || last activity u64
//! ```

use sotto_wire::RecipientId;
use zeroize::Zeroizing;

use crate::codec::{Reader, Writer, corrupt};
use crate::ids::ContactId;
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContactState {
    /// Joiner: creating its receiving queue.
    Joining,
    /// Joiner: answer sent, waiting for the inviter's confirmation.
    AwaitingConfirmation,
    /// Inviter (contact request accepted): creating the queue for this contact.
    Accepting,
    /// Both queues exist; messages flow.
    Connected,
}

impl ContactState {
    fn byte(self) -> u8 {
        match self {
            ContactState::Joining => 1,
            ContactState::AwaitingConfirmation => 2,
            ContactState::Accepting => 3,
            ContactState::Connected => 4,
        }
    }

    fn from_byte(byte: u8) -> Option<ContactState> {
        Some(match byte {
            1 => ContactState::Joining,
            2 => ContactState::AwaitingConfirmation,
            3 => ContactState::Accepting,
            4 => ContactState::Connected,
            _ => return None,
        })
    }
}

/// Read receipts in one chat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    pub(crate) id: ContactId,
    pub(crate) state: ContactState,
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
}

impl ContactRecord {
    pub(crate) fn new(id: ContactId, state: ContactState, now: u64, peer: [u8; 32]) -> Self {
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
        }
    }

    pub(crate) fn key(id: ContactId) -> [u8; 8] {
        id.0.to_be_bytes()
    }

    pub(crate) fn load(store: &impl Store, id: ContactId) -> Result<ContactRecord, CoreError> {
        let bytes = store
            .get(CONTACTS, &ContactRecord::key(id))?
            .ok_or(CoreError::UnknownContact)?;
        ContactRecord::decode(id, &bytes).map_err(corrupt("contact"))
    }

    pub(crate) fn load_all(store: &impl Store) -> Result<Vec<ContactRecord>, CoreError> {
        let records = store.range(
            CONTACTS,
            &crate::KeyRange::all(),
            crate::Direction::Forward,
            usize::MAX,
        )?;
        records
            .iter()
            .map(|record| {
                let id = <[u8; 8]>::try_from(record.key.as_slice())
                    .map_err(|_| CoreError::CorruptRecord("contact key"))?;
                ContactRecord::decode(ContactId(u64::from_be_bytes(id)), &record.value)
                    .map_err(corrupt("contact"))
            })
            .collect()
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
        w.finish()
    }

    fn decode(id: ContactId, bytes: &[u8]) -> Result<ContactRecord, CoreError> {
        const BAD: CoreError = CoreError::Malformed("contact");
        let mut r = Reader::new(bytes, "contact");
        if r.u8()? != VERSION {
            return Err(BAD);
        }
        let state = ContactState::from_byte(r.u8()?).ok_or(BAD)?;
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
        })
    }
}
