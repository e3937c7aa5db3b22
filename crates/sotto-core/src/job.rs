//! Durable relay jobs: the outbox. A job is one relay command the core keeps
//! sending until the relay answers it for good, across restarts.
//!
//! Messages are encrypted once, when queued; the job stores the ciphertext and
//! every retry sends the same bytes, so a retry can neither desynchronise the
//! ratchet nor show a message twice (the receiver drops a redelivered copy).
//! Jobs on the same lane (the same destination queue) run one at a time, in
//! order, so a retry after QUOTA never overtakes a later message.
//!
//! ```text
//! table "jobs", key job id u64 (allocation order):
//! version (1) = 0x01 || relay address || lane_len u16 || lane || command || purpose
//! || attempts u32 || not_before u64
//! command = 0x01 NEW  || recipient auth secret (32) || recipient DH secret (32)
//!         | 0x02 KEY  || recipient id (24) || recipient auth secret (32) || sender auth key (32)
//!         | 0x03 SEND || sender id (24) || option(sender auth secret (32)) || body_len u16 || body
//!         | 0x04 DEL  || recipient id (24) || recipient auth secret (32)
//!         | 0x05 LNEW || link auth secret (32) || blob (2048)
//!         | 0x06 LSET || link id (24) || link auth secret (32) || blob (2048)
//!         | 0x07 LDEL || link id (24) || link auth secret (32)
//!         | 0x08 LGET || link id (24)
//! purpose = 0x00 none | 0x01 chat message || chat id u64 || number u64
//!         | 0x02 new queue || owner | 0x03 answer || connection id u64
//!         | 0x04 publish link || owner | 0x05 refresh the address's link
//!         | 0x06 resolve a short link || chat id u64
//!         | 0x07 a request to join through a group link || join id u64
//! ```

use std::time::Duration;

use sotto_wire::x25519_dalek::{PublicKey as DhPublicKey, StaticSecret};
use sotto_wire::{
    Command, LINK_BLOB_LEN, LinkBlob, LinkId, MAX_MESSAGE_BODY, MessageBody, QueueAuthKey,
    QueueAuthSecret, RecipientId, RelayAddress, SenderId,
};
use zeroize::Zeroizing;

use crate::codec::{Reader, Writer, corrupt};
use crate::ids::{ChatId, ConnectionId, JobId, MessageNumber};
use crate::queue_address::{decode_relay, encode_relay};
use crate::queue_record::QueueOwner;
use crate::store::Table;
use crate::time::UnixMillis;
use crate::{CoreError, Store, WriteBatch};

pub(crate) const JOBS: Table = Table::new("jobs");
const VERSION: u8 = 1;
/// First retry delay; it doubles with each attempt.
const FIRST_RETRY: Duration = Duration::from_secs(1);
/// Longest delay between attempts.
const MAX_RETRY: Duration = Duration::from_secs(300);

/// The delay before attempt `attempts + 1`: 1 s, 2 s, 4 s, … at most 5 min.
pub(crate) fn backoff(attempts: u32) -> Duration {
    let exponent = attempts.saturating_sub(1).min(16);
    FIRST_RETRY.saturating_mul(1u32 << exponent).min(MAX_RETRY)
}

/// The command a job sends.
#[derive(Clone)]
pub(crate) enum JobCommand {
    New {
        auth_secret: Zeroizing<[u8; 32]>,
        dh_secret: Zeroizing<[u8; 32]>,
    },
    Key {
        recipient_id: RecipientId,
        auth_secret: Zeroizing<[u8; 32]>,
        sender_key: [u8; 32],
    },
    Send {
        sender_id: SenderId,
        auth_secret: Option<Zeroizing<[u8; 32]>>,
        body: Vec<u8>,
    },
    Del {
        recipient_id: RecipientId,
        auth_secret: Zeroizing<[u8; 32]>,
    },
    LinkNew {
        auth_secret: Zeroizing<[u8; 32]>,
        blob: LinkBlob,
    },
    LinkSet {
        link_id: LinkId,
        auth_secret: Zeroizing<[u8; 32]>,
        blob: LinkBlob,
    },
    LinkDel {
        link_id: LinkId,
        auth_secret: Zeroizing<[u8; 32]>,
    },
    LinkGet {
        link_id: LinkId,
    },
}

impl JobCommand {
    /// The wire command and the queue secret that authorizes it.
    pub(crate) fn to_command(&self) -> Result<(Command, Option<QueueAuthSecret>), CoreError> {
        Ok(match self {
            JobCommand::New {
                auth_secret,
                dh_secret,
            } => {
                let key = QueueAuthSecret::from_bytes(**auth_secret);
                let dh = StaticSecret::from(**dh_secret);
                (
                    Command::New {
                        recipient_auth_key: key.public_key(),
                        recipient_dh_key: DhPublicKey::from(&dh),
                        password: None,
                    },
                    Some(key),
                )
            }
            JobCommand::Key {
                recipient_id,
                auth_secret,
                sender_key,
            } => (
                Command::Key {
                    recipient_id: *recipient_id,
                    sender_auth_key: QueueAuthKey::from_bytes(*sender_key),
                },
                Some(QueueAuthSecret::from_bytes(**auth_secret)),
            ),
            JobCommand::Send {
                sender_id,
                auth_secret,
                body,
            } => (
                Command::send(*sender_id, MessageBody::new(body.clone())?),
                auth_secret
                    .as_ref()
                    .map(|secret| QueueAuthSecret::from_bytes(**secret)),
            ),
            JobCommand::Del {
                recipient_id,
                auth_secret,
            } => (
                Command::Del {
                    recipient_id: *recipient_id,
                },
                Some(QueueAuthSecret::from_bytes(**auth_secret)),
            ),
            JobCommand::LinkNew { auth_secret, blob } => {
                let key = QueueAuthSecret::from_bytes(**auth_secret);
                (
                    Command::LinkNew {
                        link_auth_key: key.public_key(),
                        password: None,
                        blob: blob.clone(),
                    },
                    Some(key),
                )
            }
            JobCommand::LinkSet {
                link_id,
                auth_secret,
                blob,
            } => (
                Command::LinkSet {
                    link_id: *link_id,
                    blob: blob.clone(),
                },
                Some(QueueAuthSecret::from_bytes(**auth_secret)),
            ),
            JobCommand::LinkDel {
                link_id,
                auth_secret,
            } => (
                Command::LinkDel { link_id: *link_id },
                Some(QueueAuthSecret::from_bytes(**auth_secret)),
            ),
            JobCommand::LinkGet { link_id } => (Command::LinkGet { link_id: *link_id }, None),
        })
    }
}

/// What to do once the job succeeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JobPurpose {
    None,
    ChatMessage {
        chat: ChatId,
        number: MessageNumber,
    },
    NewQueue(QueueOwner),
    /// The joiner's answer: if it is refused, the connection failed.
    Answer {
        connection: ConnectionId,
    },
    /// LNEW of the short link of an invitation or the address.
    PublishLink(QueueOwner),
    /// LSET that keeps the address's short link from expiring.
    RefreshLink,
    /// LGET of a short link someone connects through; the chat it makes.
    ResolveLink {
        chat: ChatId,
    },
    /// The request of a join through a group link: if the link's relay
    /// refuses it, the link is gone and the join ends.
    GroupJoinRequest {
        join: u64,
    },
}

#[derive(Clone)]
pub(crate) struct JobRecord {
    pub(crate) id: JobId,
    pub(crate) relay: RelayAddress,
    /// Jobs with the same non-empty lane run one at a time, in id order.
    pub(crate) lane: Vec<u8>,
    pub(crate) command: JobCommand,
    pub(crate) purpose: JobPurpose,
    pub(crate) attempts: u32,
    pub(crate) not_before: UnixMillis,
}

impl JobRecord {
    pub(crate) fn new(
        id: JobId,
        relay: RelayAddress,
        command: JobCommand,
        purpose: JobPurpose,
        now: UnixMillis,
    ) -> JobRecord {
        let lane = match &command {
            JobCommand::Send { sender_id, .. } => sender_id.as_bytes().to_vec(),
            _ => Vec::new(),
        };
        JobRecord {
            id,
            relay,
            lane,
            command,
            purpose,
            attempts: 0,
            not_before: now,
        }
    }

    pub(crate) fn load(store: &impl Store, id: JobId) -> Result<Option<JobRecord>, CoreError> {
        store
            .get(JOBS, &id.0.to_be_bytes())?
            .map(|bytes| JobRecord::decode(id, &bytes).map_err(corrupt("job")))
            .transpose()
    }

    pub(crate) fn load_all(store: &impl Store) -> Result<Vec<JobRecord>, CoreError> {
        crate::codec::load_table(store, JOBS, "job", |id, bytes| {
            JobRecord::decode(JobId(id), bytes)
        })
    }

    pub(crate) fn put(&self, batch: &mut WriteBatch) {
        batch.put(
            JOBS,
            self.id.0.to_be_bytes().to_vec(),
            Zeroizing::new(self.encode()).to_vec(),
        );
    }

    pub(crate) fn delete(id: JobId, batch: &mut WriteBatch) {
        batch.delete(JOBS, id.0.to_be_bytes().to_vec());
    }

    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(VERSION);
        encode_relay(&mut w, &self.relay);
        w.bytes16(&self.lane);
        match &self.command {
            JobCommand::New {
                auth_secret,
                dh_secret,
            } => {
                w.u8(1)
                    .array(auth_secret.as_ref())
                    .array(dh_secret.as_ref());
            }
            JobCommand::Key {
                recipient_id,
                auth_secret,
                sender_key,
            } => {
                w.u8(2)
                    .array(recipient_id.as_bytes())
                    .array(auth_secret.as_ref())
                    .array(sender_key);
            }
            JobCommand::Send {
                sender_id,
                auth_secret,
                body,
            } => {
                w.u8(3).array(sender_id.as_bytes());
                w.option(auth_secret.as_ref(), |w, s| {
                    w.array(s.as_ref());
                });
                w.bytes16(body);
            }
            JobCommand::Del {
                recipient_id,
                auth_secret,
            } => {
                w.u8(4)
                    .array(recipient_id.as_bytes())
                    .array(auth_secret.as_ref());
            }
            JobCommand::LinkNew { auth_secret, blob } => {
                w.u8(5).array(auth_secret.as_ref()).array(blob.as_bytes());
            }
            JobCommand::LinkSet {
                link_id,
                auth_secret,
                blob,
            } => {
                w.u8(6)
                    .array(link_id.as_bytes())
                    .array(auth_secret.as_ref())
                    .array(blob.as_bytes());
            }
            JobCommand::LinkDel {
                link_id,
                auth_secret,
            } => {
                w.u8(7)
                    .array(link_id.as_bytes())
                    .array(auth_secret.as_ref());
            }
            JobCommand::LinkGet { link_id } => {
                w.u8(8).array(link_id.as_bytes());
            }
        }
        match self.purpose {
            JobPurpose::None => {
                w.u8(0);
            }
            JobPurpose::ChatMessage { chat, number } => {
                w.u8(1).u64(chat.0).u64(number.0);
            }
            JobPurpose::NewQueue(owner) => {
                w.u8(2);
                owner.encode(&mut w);
            }
            JobPurpose::Answer { connection } => {
                w.u8(3).u64(connection.0);
            }
            JobPurpose::PublishLink(owner) => {
                w.u8(4);
                owner.encode(&mut w);
            }
            JobPurpose::RefreshLink => {
                w.u8(5);
            }
            JobPurpose::ResolveLink { chat } => {
                w.u8(6).u64(chat.0);
            }
            JobPurpose::GroupJoinRequest { join } => {
                w.u8(7).u64(join);
            }
        }
        w.u32(self.attempts).u64(self.not_before.0);
        w.finish()
    }

    pub(crate) fn decode(id: JobId, bytes: &[u8]) -> Result<JobRecord, CoreError> {
        const BAD: CoreError = CoreError::Malformed("job");
        let mut r = Reader::new(bytes, "job");
        if r.u8()? != VERSION {
            return Err(BAD);
        }
        let relay = decode_relay(&mut r)?;
        let lane = r.bytes16(64)?.to_vec();
        let command = match r.u8()? {
            1 => JobCommand::New {
                auth_secret: Zeroizing::new(r.array()?),
                dh_secret: Zeroizing::new(r.array()?),
            },
            2 => JobCommand::Key {
                recipient_id: RecipientId::from_bytes(r.array()?),
                auth_secret: Zeroizing::new(r.array()?),
                sender_key: r.array()?,
            },
            3 => JobCommand::Send {
                sender_id: SenderId::from_bytes(r.array()?),
                auth_secret: r.option(|r| Ok(Zeroizing::new(r.array()?)))?,
                body: r.bytes16(MAX_MESSAGE_BODY)?.to_vec(),
            },
            4 => JobCommand::Del {
                recipient_id: RecipientId::from_bytes(r.array()?),
                auth_secret: Zeroizing::new(r.array()?),
            },
            5 => JobCommand::LinkNew {
                auth_secret: Zeroizing::new(r.array()?),
                blob: decode_blob(&mut r)?,
            },
            6 => JobCommand::LinkSet {
                link_id: LinkId::from_bytes(r.array()?),
                auth_secret: Zeroizing::new(r.array()?),
                blob: decode_blob(&mut r)?,
            },
            7 => JobCommand::LinkDel {
                link_id: LinkId::from_bytes(r.array()?),
                auth_secret: Zeroizing::new(r.array()?),
            },
            8 => JobCommand::LinkGet {
                link_id: LinkId::from_bytes(r.array()?),
            },
            _ => return Err(BAD),
        };
        let purpose = match r.u8()? {
            0 => JobPurpose::None,
            1 => JobPurpose::ChatMessage {
                chat: ChatId(r.u64()?),
                number: MessageNumber(r.u64()?),
            },
            2 => JobPurpose::NewQueue(QueueOwner::decode(&mut r)?),
            3 => JobPurpose::Answer {
                connection: ConnectionId(r.u64()?),
            },
            4 => JobPurpose::PublishLink(QueueOwner::decode(&mut r)?),
            5 => JobPurpose::RefreshLink,
            6 => JobPurpose::ResolveLink {
                chat: ChatId(r.u64()?),
            },
            7 => JobPurpose::GroupJoinRequest { join: r.u64()? },
            _ => return Err(BAD),
        };
        let attempts = r.u32()?;
        let not_before = UnixMillis(r.u64()?);
        r.finish()?;
        Ok(JobRecord {
            id,
            relay,
            lane,
            command,
            purpose,
            attempts,
            not_before,
        })
    }
}

fn decode_blob(r: &mut Reader<'_>) -> Result<LinkBlob, CoreError> {
    Ok(LinkBlob::new(r.take(LINK_BLOB_LEN)?.to_vec())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(5), Duration::from_secs(16));
        assert_eq!(backoff(40), Duration::from_secs(300));
    }

    #[test]
    fn jobs_round_trip() {
        let relay: RelayAddress =
            "sotto+ws://tgAwbPp2cj_ew5XlOps9n9t4seLXojwy_LzS3G0MQJI@127.0.0.1:7000"
                .parse()
                .unwrap();
        let mut store = MemoryStore::new();
        let mut batch = WriteBatch::new();
        let send = JobRecord::new(
            JobId(1),
            relay.clone(),
            JobCommand::Send {
                sender_id: SenderId::from_bytes([1; 24]),
                auth_secret: Some(Zeroizing::new([2; 32])),
                body: vec![3; 100],
            },
            JobPurpose::ChatMessage {
                chat: ChatId(4),
                number: MessageNumber(5),
            },
            UnixMillis(6),
        );
        send.put(&mut batch);
        JobRecord::new(
            JobId(2),
            relay,
            JobCommand::New {
                auth_secret: Zeroizing::new([7; 32]),
                dh_secret: Zeroizing::new([8; 32]),
            },
            JobPurpose::NewQueue(QueueOwner::Address),
            UnixMillis(6),
        )
        .put(&mut batch);
        store.apply(batch).unwrap();
        let jobs = JobRecord::load_all(&store).unwrap();
        assert_eq!(jobs.len(), 2);
        assert_eq!(jobs[0].lane, vec![1; 24]);
        assert_eq!(jobs[0].purpose, send.purpose);
        assert!(jobs[1].lane.is_empty());
        let (command, key) = jobs[1].command.to_command().unwrap();
        assert!(matches!(command, Command::New { .. }));
        assert!(key.is_some());
    }

    proptest::proptest! {
        #[test]
        fn damaged_records_are_errors_not_panics(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400),
        ) {
            let _ = JobRecord::decode(JobId(1), &bytes);
        }
    }
}
