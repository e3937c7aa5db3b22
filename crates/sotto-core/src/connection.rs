//! A pairwise connection with a peer, as one type per stage of the handshake.
//! Each transition consumes the stage it leaves, so a connection cannot hold
//! a session before it has one or send before its queue is secured:
//!
//! ```text
//! joiner:   Joining ──(our queue made; answer sent)──► AwaitingConfirmation
//!                                                   ──(Confirm received)──► Established
//! inviter:  (answer received) Accepting ──(our queue made, or the link's)──► Established
//! ```
//!
//! ```text
//! table "connections", key connection id u64:
//! version (1) = 0x01 || peer id u64 || chat id u64 || created_at u64 || stage
//! stage = 0x01 link payload (len u16 || bytes)                        joining
//!       | 0x02 link kind u8 || channel || receive queue (24)          awaiting confirmation
//!       | 0x03 channel || peer sender key (32)                        accepting
//!       | 0x04 channel || receive queue (24) || count u8 (..=64) || seq u64 × count
//!                                                                     established
//! channel = session pickle (len u32 || bytes) || send queue address || send key (32)
//!         || outgoing chain || incoming chain
//! ```

use sotto_wire::RecipientId;
use zeroize::Zeroizing;

use crate::chat_message::MAX_RECEIPT_SEQS;
use crate::codec::{Reader, Writer, corrupt};
use crate::ids::{ChatId, ConnectionId, PeerId};
use crate::integrity::{IncomingChain, OutgoingChain};
use crate::link::LinkKind;
use crate::queue_address::QueueAddress;
use crate::store::Table;
use crate::{CoreError, Store, WriteBatch};

pub(crate) const CONNECTIONS: Table = Table::new("connections");
const VERSION: u8 = 1;
/// Largest stored session pickle (a session is a few KiB plus skipped keys).
pub(crate) const MAX_PICKLE_LEN: usize = 1 << 20;

/// Where a connection stands, as front ends show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    /// Joiner: creating its receiving queue.
    Joining,
    /// Joiner: answer sent, waiting for the inviter's confirmation.
    AwaitingConfirmation,
    /// Inviter: creating the queue for this peer.
    Accepting,
    /// Both queues exist; messages flow.
    Connected,
    /// No working connection: the last one failed or was lost; the chat and
    /// its history stay.
    Disconnected,
}

/// The queue we send to, with our key for it.
#[derive(Clone)]
pub(crate) struct SendQueue {
    pub(crate) address: QueueAddress,
    pub(crate) signing_key: Zeroizing<[u8; 32]>,
}

/// The end-to-end session (pickled: the stored truth) and the integrity
/// chains of the messages over it, both ways.
#[derive(Clone)]
pub(crate) struct Channel {
    pub(crate) session: Vec<u8>,
    pub(crate) send_queue: SendQueue,
    pub(crate) outgoing: OutgoingChain,
    pub(crate) incoming: IncomingChain,
}

/// Joiner: the link is kept until our queue exists and the answer goes out.
#[derive(Clone)]
pub(crate) struct Joining {
    pub(crate) link: Vec<u8>,
}

/// Joiner: the answer is sent; the inviter's Confirm secures our queue.
#[derive(Clone)]
pub(crate) struct AwaitingConfirmation {
    /// Only a contact address's owner may move us to another queue.
    pub(crate) link_kind: LinkKind,
    pub(crate) channel: Channel,
    pub(crate) receive_queue: RecipientId,
}

/// Inviter: the joiner's answer is accepted; waiting for the queue we
/// receive on before confirming.
#[derive(Clone)]
pub(crate) struct Accepting {
    pub(crate) channel: Channel,
    /// The key the joiner will sign with on our queue.
    pub(crate) peer_sender_key: [u8; 32],
}

/// Both queues exist and are secured; messages flow.
#[derive(Clone)]
pub(crate) struct Established {
    pub(crate) channel: Channel,
    pub(crate) receive_queue: RecipientId,
    /// Numbers of received texts whose delivery receipt is not sent yet.
    pub(crate) pending_receipts: Vec<u64>,
}

#[derive(Clone)]
pub(crate) enum Stage {
    Joining(Joining),
    AwaitingConfirmation(AwaitingConfirmation),
    Accepting(Accepting),
    Established(Established),
}

impl Joining {
    /// Our queue exists and the answer is on its way.
    pub(crate) fn answered(
        self,
        link_kind: LinkKind,
        channel: Channel,
        receive_queue: RecipientId,
    ) -> AwaitingConfirmation {
        AwaitingConfirmation {
            link_kind,
            channel,
            receive_queue,
        }
    }
}

impl AwaitingConfirmation {
    /// The inviter confirmed: our queue is to be secured with its key. A
    /// one-time inviter keeps the queue of its link; only an address's owner
    /// may name another.
    pub(crate) fn confirmed(
        mut self,
        reply_queue: Option<QueueAddress>,
    ) -> Result<Established, CoreError> {
        if let Some(reply_queue) = reply_queue {
            if self.link_kind == LinkKind::OneTime {
                return Err(CoreError::UnexpectedMessage("reply queue"));
            }
            self.channel.send_queue.address = reply_queue;
        }
        Ok(Established {
            channel: self.channel,
            receive_queue: self.receive_queue,
            pending_receipts: Vec::new(),
        })
    }
}

impl Accepting {
    /// Our queue exists: it is secured with the joiner's key (returned for
    /// the KEY command) and the Confirm goes out.
    pub(crate) fn confirmed(self, receive_queue: RecipientId) -> (Established, [u8; 32]) {
        let established = Established {
            channel: self.channel,
            receive_queue,
            pending_receipts: Vec::new(),
        };
        (established, self.peer_sender_key)
    }
}

impl Stage {
    pub(crate) fn state(&self) -> ConnectionState {
        match self {
            Stage::Joining(_) => ConnectionState::Joining,
            Stage::AwaitingConfirmation(_) => ConnectionState::AwaitingConfirmation,
            Stage::Accepting(_) => ConnectionState::Accepting,
            Stage::Established(_) => ConnectionState::Connected,
        }
    }

    /// The session and chains, once the handshake produced them.
    pub(crate) fn channel(&self) -> Option<&Channel> {
        match self {
            Stage::Joining(_) => None,
            Stage::AwaitingConfirmation(s) => Some(&s.channel),
            Stage::Accepting(s) => Some(&s.channel),
            Stage::Established(s) => Some(&s.channel),
        }
    }

    /// The session and chains, mutable.
    pub(crate) fn channel_mut(&mut self) -> Option<&mut Channel> {
        match self {
            Stage::Joining(_) => None,
            Stage::AwaitingConfirmation(s) => Some(&mut s.channel),
            Stage::Accepting(s) => Some(&mut s.channel),
            Stage::Established(s) => Some(&mut s.channel),
        }
    }

    /// The queue we receive on, once it exists.
    pub(crate) fn receive_queue(&self) -> Option<RecipientId> {
        match self {
            Stage::AwaitingConfirmation(s) => Some(s.receive_queue),
            Stage::Established(s) => Some(s.receive_queue),
            Stage::Joining(_) | Stage::Accepting(_) => None,
        }
    }
}

/// What a connection is, apart from its stage: which peer and chat it
/// serves.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConnectionMeta {
    pub(crate) id: ConnectionId,
    pub(crate) peer: PeerId,
    pub(crate) chat: ChatId,
    pub(crate) created_at: u64,
}

impl ConnectionMeta {
    /// The record of this connection at `stage`.
    pub(crate) fn at(self, stage: Stage) -> ConnectionRecord {
        ConnectionRecord {
            id: self.id,
            peer: self.peer,
            chat: self.chat,
            created_at: self.created_at,
            stage,
        }
    }
}

#[derive(Clone)]
pub(crate) struct ConnectionRecord {
    pub(crate) id: ConnectionId,
    pub(crate) peer: PeerId,
    pub(crate) chat: ChatId,
    pub(crate) created_at: u64,
    pub(crate) stage: Stage,
}

impl ConnectionRecord {
    /// The connection's identity and its stage, apart.
    pub(crate) fn split(self) -> (ConnectionMeta, Stage) {
        let meta = ConnectionMeta {
            id: self.id,
            peer: self.peer,
            chat: self.chat,
            created_at: self.created_at,
        };
        (meta, self.stage)
    }

    pub(crate) fn load(
        store: &impl Store,
        id: ConnectionId,
    ) -> Result<ConnectionRecord, CoreError> {
        let bytes = store
            .get(CONNECTIONS, &id.0.to_be_bytes())?
            .ok_or(CoreError::NotConnected)?;
        ConnectionRecord::decode(id, &bytes).map_err(corrupt("connection"))
    }

    pub(crate) fn load_all(store: &impl Store) -> Result<Vec<ConnectionRecord>, CoreError> {
        crate::codec::load_table(store, CONNECTIONS, "connection", |id, bytes| {
            ConnectionRecord::decode(ConnectionId(id), bytes)
        })
    }

    pub(crate) fn put(&self, batch: &mut WriteBatch) {
        batch.put(
            CONNECTIONS,
            self.id.0.to_be_bytes().to_vec(),
            Zeroizing::new(self.encode()).to_vec(),
        );
    }

    pub(crate) fn delete(id: ConnectionId, batch: &mut WriteBatch) {
        batch.delete(CONNECTIONS, id.0.to_be_bytes().to_vec());
    }

    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(VERSION)
            .u64(self.peer.0)
            .u64(self.chat.0)
            .u64(self.created_at);
        match &self.stage {
            Stage::Joining(s) => {
                w.u8(1).bytes16(&s.link);
            }
            Stage::AwaitingConfirmation(s) => {
                w.u8(2).u8(match s.link_kind {
                    LinkKind::OneTime => 1,
                    LinkKind::ContactAddress => 2,
                });
                s.channel.encode(&mut w);
                w.array(s.receive_queue.as_bytes());
            }
            Stage::Accepting(s) => {
                w.u8(3);
                s.channel.encode(&mut w);
                w.array(&s.peer_sender_key);
            }
            Stage::Established(s) => {
                w.u8(4);
                s.channel.encode(&mut w);
                w.array(s.receive_queue.as_bytes());
                let count = s.pending_receipts.len().min(MAX_RECEIPT_SEQS);
                w.u8(u8::try_from(count).unwrap_or(0));
                for seq in s.pending_receipts.iter().take(count) {
                    w.u64(*seq);
                }
            }
        }
        w.finish()
    }

    pub(crate) fn decode(id: ConnectionId, bytes: &[u8]) -> Result<ConnectionRecord, CoreError> {
        const BAD: CoreError = CoreError::Malformed("connection");
        let mut r = Reader::new(bytes, "connection");
        if r.u8()? != VERSION {
            return Err(BAD);
        }
        let peer = PeerId(r.u64()?);
        let chat = ChatId(r.u64()?);
        let created_at = r.u64()?;
        let stage = match r.u8()? {
            1 => Stage::Joining(Joining {
                link: r.bytes16(usize::from(u16::MAX))?.to_vec(),
            }),
            2 => {
                let link_kind = match r.u8()? {
                    1 => LinkKind::OneTime,
                    2 => LinkKind::ContactAddress,
                    _ => return Err(BAD),
                };
                Stage::AwaitingConfirmation(AwaitingConfirmation {
                    link_kind,
                    channel: Channel::decode(&mut r)?,
                    receive_queue: RecipientId::from_bytes(r.array()?),
                })
            }
            3 => Stage::Accepting(Accepting {
                channel: Channel::decode(&mut r)?,
                peer_sender_key: r.array()?,
            }),
            4 => {
                let channel = Channel::decode(&mut r)?;
                let receive_queue = RecipientId::from_bytes(r.array()?);
                let count = usize::from(r.u8()?);
                if count > MAX_RECEIPT_SEQS {
                    return Err(BAD);
                }
                let mut pending_receipts = Vec::with_capacity(count);
                for _ in 0..count {
                    pending_receipts.push(r.u64()?);
                }
                Stage::Established(Established {
                    channel,
                    receive_queue,
                    pending_receipts,
                })
            }
            _ => return Err(BAD),
        };
        r.finish()?;
        Ok(ConnectionRecord {
            id,
            peer,
            chat,
            created_at,
            stage,
        })
    }
}

impl Channel {
    fn encode(&self, w: &mut Writer) {
        w.bytes32(&self.session);
        self.send_queue.address.encode(w);
        w.array(self.send_queue.signing_key.as_ref());
        self.outgoing.encode(w);
        self.incoming.encode(w);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Channel, CoreError> {
        Ok(Channel {
            session: r.bytes32(MAX_PICKLE_LEN)?.to_vec(),
            send_queue: SendQueue {
                address: QueueAddress::decode(r)?,
                signing_key: Zeroizing::new(r.array()?),
            },
            outgoing: OutgoingChain::decode(r)?,
            incoming: IncomingChain::decode(r)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use sotto_wire::SenderId;

    use super::*;
    use crate::MemoryStore;

    fn address(byte: u8) -> QueueAddress {
        QueueAddress {
            relay: "sotto://tgAwbPp2cj_ew5XlOps9n9t4seLXojwy_LzS3G0MQJI@relay.example"
                .parse()
                .unwrap(),
            sender_id: SenderId::from_bytes([byte; 24]),
        }
    }

    fn channel() -> Channel {
        let mut incoming = IncomingChain::default();
        incoming.receive(3, &[0; 32], [8; 32]);
        Channel {
            session: vec![2; 300],
            send_queue: SendQueue {
                address: address(4),
                signing_key: Zeroizing::new([5; 32]),
            },
            outgoing: OutgoingChain {
                next_seq: 9,
                last_hash: [1; 32],
            },
            incoming,
        }
    }

    fn record(stage: Stage) -> ConnectionRecord {
        ConnectionRecord {
            id: ConnectionId(7),
            peer: PeerId(8),
            chat: ChatId(9),
            created_at: 5,
            stage,
        }
    }

    fn every_stage() -> Vec<Stage> {
        vec![
            Stage::Joining(Joining { link: vec![3; 40] }),
            Stage::AwaitingConfirmation(AwaitingConfirmation {
                link_kind: LinkKind::ContactAddress,
                channel: channel(),
                receive_queue: RecipientId::from_bytes([6; 24]),
            }),
            Stage::Accepting(Accepting {
                channel: channel(),
                peer_sender_key: [7; 32],
            }),
            Stage::Established(Established {
                channel: channel(),
                receive_queue: RecipientId::from_bytes([6; 24]),
                pending_receipts: vec![4, 5],
            }),
        ]
    }

    #[test]
    fn every_stage_round_trips_through_a_store() {
        for stage in every_stage() {
            let record = record(stage);
            let mut store = MemoryStore::new();
            let mut batch = WriteBatch::new();
            record.put(&mut batch);
            store.apply(batch).unwrap();
            let loaded = ConnectionRecord::load(&store, ConnectionId(7)).unwrap();
            assert_eq!(loaded.encode(), record.encode());
            assert_eq!(loaded.stage.state(), record.stage.state());
        }
    }

    #[test]
    fn a_one_time_inviter_cannot_move_the_joiner_to_another_queue() {
        let awaiting = |link_kind| AwaitingConfirmation {
            link_kind,
            channel: channel(),
            receive_queue: RecipientId::from_bytes([6; 24]),
        };
        assert!(matches!(
            awaiting(LinkKind::OneTime).confirmed(Some(address(9))),
            Err(CoreError::UnexpectedMessage("reply queue"))
        ));
        let kept = awaiting(LinkKind::OneTime).confirmed(None).unwrap();
        assert_eq!(kept.channel.send_queue.address, address(4));
        let moved = awaiting(LinkKind::ContactAddress)
            .confirmed(Some(address(9)))
            .unwrap();
        assert_eq!(moved.channel.send_queue.address, address(9));
        assert!(moved.pending_receipts.is_empty());
    }

    #[test]
    fn accepting_hands_over_the_joiner_key_for_the_queue() {
        let accepting = Accepting {
            channel: channel(),
            peer_sender_key: [7; 32],
        };
        let (established, key) = accepting.confirmed(RecipientId::from_bytes([6; 24]));
        assert_eq!(key, [7; 32]);
        assert_eq!(established.receive_queue, RecipientId::from_bytes([6; 24]));
    }

    proptest! {
        #[test]
        fn damaged_records_are_errors_not_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..600),
            which in 0usize..4,
            cut in 0usize..2000,
        ) {
            let _ = ConnectionRecord::decode(ConnectionId(1), &bytes);
            let encoded = record(every_stage().swap_remove(which)).encode();
            let cut = cut % encoded.len();
            prop_assert!(ConnectionRecord::decode(ConnectionId(1), &encoded[..cut]).is_err());
        }
    }
}
