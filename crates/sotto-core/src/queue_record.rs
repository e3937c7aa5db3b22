//! Queues this profile receives on: their keys and what they belong to.
//!
//! ```text
//! table "queues", key recipient id (24):
//! version (1) = 0x01 || relay address || sender id (24) || recipient auth secret (32)
//! || queue key (32) || owner || option(last message id (24))
//! owner = 0x01 invitation id u64 | 0x02 (the contact address) | 0x03 connection id u64
//!       | 0x04 group link || group chat id u64 | 0x05 join through a group link || join id u64
//! ```

use sotto_wire::{MessageId, QueueAuthSecret, QueueKey, RecipientId, RelayAddress, SenderId};
use zeroize::Zeroizing;

use crate::codec::{Reader, Writer, corrupt};
use crate::ids::{ChatId, ConnectionId, InvitationId};
use crate::queue_address::{QueueAddress, decode_relay, encode_relay};
use crate::store::Table;
use crate::{CoreError, KeyRange, Store, WriteBatch};

pub(crate) const QUEUES: Table = Table::new("queues");
const VERSION: u8 = 1;

/// What a receiving queue serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum QueueOwner {
    /// A one-time invitation, until its answer arrives.
    Invitation(InvitationId),
    /// The contact address.
    Address,
    /// A pairwise connection.
    Connection(ConnectionId),
    /// A group's link: requests to join.
    GroupLink(ChatId),
    /// A join through a group link (by its local id): the admin's replies.
    GroupJoin(u64),
}

impl QueueOwner {
    pub(crate) fn encode(&self, w: &mut Writer) {
        match self {
            QueueOwner::Invitation(id) => {
                w.u8(1).u64(id.0);
            }
            QueueOwner::Address => {
                w.u8(2);
            }
            QueueOwner::Connection(id) => {
                w.u8(3).u64(id.0);
            }
            QueueOwner::GroupLink(group) => {
                w.u8(4).u64(group.0);
            }
            QueueOwner::GroupJoin(id) => {
                w.u8(5).u64(*id);
            }
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<QueueOwner, CoreError> {
        Ok(match r.u8()? {
            1 => QueueOwner::Invitation(InvitationId(r.u64()?)),
            2 => QueueOwner::Address,
            3 => QueueOwner::Connection(ConnectionId(r.u64()?)),
            4 => QueueOwner::GroupLink(ChatId(r.u64()?)),
            5 => QueueOwner::GroupJoin(r.u64()?),
            _ => return Err(CoreError::Malformed("queue owner")),
        })
    }
}

#[derive(Clone)]
pub(crate) struct QueueRecord {
    pub(crate) relay: RelayAddress,
    pub(crate) recipient_id: RecipientId,
    pub(crate) sender_id: SenderId,
    pub(crate) auth_secret: Zeroizing<[u8; 32]>,
    pub(crate) queue_key: QueueKey,
    pub(crate) owner: QueueOwner,
    /// The last message processed, acknowledged again if redelivered.
    pub(crate) last_message: Option<MessageId>,
}

impl QueueRecord {
    pub(crate) fn address(&self) -> QueueAddress {
        QueueAddress {
            relay: self.relay.clone(),
            sender_id: self.sender_id,
        }
    }

    /// The secret that authorizes the recipient's commands on this queue.
    pub(crate) fn auth_key(&self) -> QueueAuthSecret {
        QueueAuthSecret::from_bytes(*self.auth_secret)
    }

    pub(crate) fn load(
        store: &impl Store,
        recipient_id: &RecipientId,
    ) -> Result<Option<QueueRecord>, CoreError> {
        store
            .get(QUEUES, recipient_id.as_bytes())?
            .map(|bytes| QueueRecord::decode(*recipient_id, &bytes).map_err(corrupt("queue")))
            .transpose()
    }

    pub(crate) fn load_all(store: &impl Store) -> Result<Vec<QueueRecord>, CoreError> {
        let records = store.range(
            QUEUES,
            &KeyRange::all(),
            crate::Direction::Forward,
            usize::MAX,
        )?;
        records
            .iter()
            .map(|record| {
                let id = <[u8; 24]>::try_from(record.key.as_slice())
                    .map_err(|_| CoreError::CorruptRecord("queue key"))?;
                QueueRecord::decode(RecipientId::from_bytes(id), &record.value)
                    .map_err(corrupt("queue"))
            })
            .collect()
    }

    pub(crate) fn put(&self, batch: &mut WriteBatch) {
        let mut w = Writer::new();
        w.u8(VERSION);
        encode_relay(&mut w, &self.relay);
        w.array(self.sender_id.as_bytes())
            .array(self.auth_secret.as_ref())
            .array(self.queue_key.as_bytes());
        self.owner.encode(&mut w);
        w.option(self.last_message.as_ref(), |w, id| {
            w.array(id.as_bytes());
        });
        batch.put(
            QUEUES,
            self.recipient_id.as_bytes().to_vec(),
            Zeroizing::new(w.finish()).to_vec(),
        );
    }

    pub(crate) fn delete(recipient_id: &RecipientId, batch: &mut WriteBatch) {
        batch.delete(QUEUES, recipient_id.as_bytes().to_vec());
    }

    pub(crate) fn decode(
        recipient_id: RecipientId,
        bytes: &[u8],
    ) -> Result<QueueRecord, CoreError> {
        let mut r = Reader::new(bytes, "queue");
        if r.u8()? != VERSION {
            return Err(CoreError::Malformed("queue"));
        }
        let relay = decode_relay(&mut r)?;
        let sender_id = SenderId::from_bytes(r.array()?);
        let auth_secret = Zeroizing::new(r.array()?);
        let queue_key = QueueKey::from_bytes(r.array()?);
        let owner = QueueOwner::decode(&mut r)?;
        let last_message = r.option(|r| Ok(MessageId::from_bytes(r.array()?)))?;
        r.finish()?;
        Ok(QueueRecord {
            relay,
            recipient_id,
            sender_id,
            auth_secret,
            queue_key,
            owner,
            last_message,
        })
    }
}
