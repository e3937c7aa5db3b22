//! A group as this profile keeps it: its MLS state (the `sotto-groups`
//! pickle), the log on a relay that carries it with the credentials this
//! member holds, and the member's cursor in that log.
//!
//! ```text
//! table "groups", key chat id u64:
//!   version (1) = 0x01 || name (len u16 || UTF-8) || log || next seq u64
//!   || option(previous write secret 32 || previous read secret 32)
//!   || rotation due u8 (0/1) || MLS group pickle (len u32 || pickle)
//!   || option(read acks: commit seq u64 || count u16 || member id (16) × count)
//!   (version 0x01, read only, ends after the pickle)
//! log = relay address (len u16 || UTF-8) || option(admin id 24 || admin secret 32)
//!   || write id 24 || write secret 32 || read id 24 || read secret 32
//! ```
//!
//! The store encrypts the record: it holds the member's group secrets.

use std::fmt;

use sotto_groups::{Group, MEMBER_ID_LEN, MemberId};
use sotto_wire::{GroupAdminId, GroupReadId, GroupWriteId, QueueAuthSecret, RelayAddress};
use zeroize::Zeroizing;

use crate::codec::{Reader, Writer, corrupt};
use crate::ids::ChatId;
use crate::profile::MAX_DISPLAY_NAME_LEN;
use crate::queue_address::{decode_relay, encode_relay};
use crate::store::{Direction, KeyRange, Table, WriteBatch};
use crate::{CoreError, Store};

pub(crate) const GROUPS: Table = Table::new("groups");
const VERSION: u8 = 2;

/// A group log on a relay and the credentials a member holds for it: the
/// write and read ids and secrets, and the admin's when this member
/// administers the log. `Debug` prints no id and no secret.
#[derive(Clone)]
pub struct GroupLog {
    /// The relay holding the log.
    pub relay: RelayAddress,
    /// The admin id and secret (GKEY, GDEL), held by the log's admins.
    pub admin: Option<(GroupAdminId, QueueAuthSecret)>,
    /// The write id and secret (GAPP).
    pub write: (GroupWriteId, QueueAuthSecret),
    /// The read id and secret (GREAD, GSUB, GUNSUB).
    pub read: (GroupReadId, QueueAuthSecret),
}

impl fmt::Debug for GroupLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupLog")
            .field("admin", &self.admin.is_some())
            .finish_non_exhaustive()
    }
}

impl PartialEq for GroupLog {
    fn eq(&self, other: &GroupLog) -> bool {
        use subtle::ConstantTimeEq;
        let secrets = |log: &GroupLog| {
            let mut bytes = Zeroizing::new(Vec::with_capacity(4 * 56));
            let mut w = Writer::new();
            log.encode(&mut w);
            bytes.extend_from_slice(&w.finish());
            bytes
        };
        bool::from(secrets(self).ct_eq(&secrets(other)))
    }
}

impl Eq for GroupLog {}

impl GroupLog {
    pub(crate) fn encode(&self, w: &mut Writer) {
        encode_relay(w, &self.relay);
        w.option(self.admin.as_ref(), |w, (id, secret)| {
            w.array(id.as_bytes()).array(secret.as_bytes());
        });
        w.array(self.write.0.as_bytes())
            .array(self.write.1.as_bytes())
            .array(self.read.0.as_bytes())
            .array(self.read.1.as_bytes());
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<GroupLog, CoreError> {
        let relay = decode_relay(r)?;
        let admin = r.option(|r| {
            Ok((
                GroupAdminId::from_bytes(r.array()?),
                QueueAuthSecret::from_bytes(*Zeroizing::new(r.array()?)),
            ))
        })?;
        let write = (
            GroupWriteId::from_bytes(r.array()?),
            QueueAuthSecret::from_bytes(*Zeroizing::new(r.array()?)),
        );
        let read = (
            GroupReadId::from_bytes(r.array()?),
            QueueAuthSecret::from_bytes(*Zeroizing::new(r.array()?)),
        );
        Ok(GroupLog {
            relay,
            admin,
            write,
            read,
        })
    }
}

/// One group's stored state.
pub(crate) struct GroupRecord {
    pub(crate) chat: ChatId,
    /// The name this profile knows the group by.
    pub(crate) name: String,
    pub(crate) log: GroupLog,
    /// The sequence number of the next log entry to process.
    pub(crate) next_seq: u64,
    /// The write and read secrets before the last rotation, until the
    /// relay is seen to use the new ones.
    pub(crate) previous: Option<(QueueAuthSecret, QueueAuthSecret)>,
    /// This member administers the log and has yet to rotate its keys.
    pub(crate) rotation_due: bool,
    pub(crate) group: Group,
    /// The log's admin, after a removal: the members who acknowledged the
    /// removal's commit (seq); the read secret rotates once all did.
    pub(crate) read_acks: Option<ReadAcks>,
}

/// The members who acknowledged a removal's commit, until every remaining
/// member has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ReadAcks {
    /// The commit's sequence number in the log.
    pub(crate) commit_seq: u64,
    pub(crate) members: Vec<MemberId>,
}

/// The bytes of a group record as a batch stores them.
pub(crate) struct StoredGroup(Zeroizing<Vec<u8>>);

/// The group record a member's hot paths (a log entry processed, a message
/// or receipts sent) stored last, kept decoded: decoding the MLS state
/// reads the whole ratchet tree, which grows with the group, so a loaded
/// group is taken from here when the stored bytes are exactly the bytes
/// kept (any other write of the record, or a batch that failed, makes them
/// differ, and the record is decoded again).
#[derive(Default)]
pub(crate) struct GroupCache(Option<(StoredGroup, GroupRecord)>);

impl GroupCache {
    /// The group record of `chat`, from the cache when it is what the store
    /// holds, with the bytes stored (to keep it again unchanged).
    pub(crate) fn load(
        &mut self,
        store: &impl Store,
        chat: ChatId,
    ) -> Result<(GroupRecord, StoredGroup), CoreError> {
        let bytes = Zeroizing::new(
            store
                .get(GROUPS, &chat.0.to_be_bytes())?
                .ok_or(CoreError::UnknownGroup)?,
        );
        if let Some((kept, record)) = self.0.take()
            && record.chat == chat
            && kept.0[..] == bytes[..]
        {
            return Ok((record, kept));
        }
        let record = GroupRecord::decode(chat, &bytes).map_err(corrupt("group"))?;
        Ok((record, StoredGroup(bytes)))
    }

    /// Keeps `record`, whose bytes a committed batch stored.
    pub(crate) fn keep(&mut self, stored: StoredGroup, record: GroupRecord) {
        self.0 = Some((stored, record));
    }
}

impl GroupRecord {
    /// The group's name to show: its profile's (as an owner or admin set
    /// it), else the name it was known by when created or joined.
    pub(crate) fn display_name(&self) -> String {
        match self.group.profile() {
            Ok(Some(profile)) => profile.name().to_owned(),
            _ => self.name.clone(),
        }
    }

    pub(crate) fn load(store: &impl Store, chat: ChatId) -> Result<GroupRecord, CoreError> {
        let bytes = store
            .get(GROUPS, &chat.0.to_be_bytes())?
            .ok_or(CoreError::UnknownGroup)?;
        GroupRecord::decode(chat, &Zeroizing::new(bytes)).map_err(corrupt("group"))
    }

    /// Every group's chat id, in id order.
    pub(crate) fn ids(store: &impl Store) -> Result<Vec<ChatId>, CoreError> {
        store
            .range(GROUPS, &KeyRange::all(), Direction::Forward, usize::MAX)?
            .into_iter()
            .map(|record| {
                let key: [u8; 8] = record
                    .key
                    .as_slice()
                    .try_into()
                    .map_err(|_| CoreError::CorruptRecord("group"))?;
                Ok(ChatId(u64::from_be_bytes(key)))
            })
            .collect()
    }

    pub(crate) fn put(&self, batch: &mut WriteBatch) -> Result<(), CoreError> {
        let value = self.encode()?;
        batch.put(GROUPS, self.chat.0.to_be_bytes().to_vec(), value.to_vec());
        Ok(())
    }

    /// [`GroupRecord::put`] that keeps the bytes stored, for
    /// [`GroupCache::keep`].
    pub(crate) fn put_kept(&self, batch: &mut WriteBatch) -> Result<StoredGroup, CoreError> {
        let value = self.encode()?;
        batch.put(GROUPS, self.chat.0.to_be_bytes().to_vec(), value.to_vec());
        Ok(StoredGroup(value))
    }

    fn encode(&self) -> Result<Zeroizing<Vec<u8>>, CoreError> {
        let pickle = self.group.pickle()?;
        let mut w = Writer::new();
        w.u8(VERSION).bytes16(self.name.as_bytes());
        self.log.encode(&mut w);
        w.u64(self.next_seq);
        w.option(self.previous.as_ref(), |w, (write, read)| {
            w.array(write.as_bytes()).array(read.as_bytes());
        });
        w.bool(self.rotation_due).bytes32(&pickle);
        w.option(self.read_acks.as_ref(), |w, acks| {
            let count = acks.members.len().min(usize::from(u16::MAX));
            w.u64(acks.commit_seq)
                .u16(u16::try_from(count).unwrap_or(u16::MAX));
            for member in acks.members.iter().take(count) {
                w.array(member.as_bytes());
            }
        });
        Ok(Zeroizing::new(w.finish()))
    }

    fn decode(chat: ChatId, bytes: &[u8]) -> Result<GroupRecord, CoreError> {
        let mut r = Reader::new(bytes, "group");
        let version = r.u8()?;
        if !(1..=VERSION).contains(&version) {
            return Err(CoreError::Malformed("group"));
        }
        let name = r.text(MAX_DISPLAY_NAME_LEN)?;
        let log = GroupLog::decode(&mut r)?;
        let next_seq = r.u64()?;
        let previous = r.option(|r| {
            Ok((
                QueueAuthSecret::from_bytes(*Zeroizing::new(r.array()?)),
                QueueAuthSecret::from_bytes(*Zeroizing::new(r.array()?)),
            ))
        })?;
        let rotation_due = r.bool()?;
        let group = Group::from_pickle(r.bytes32(sotto_groups::MAX_PICKLE_LEN)?)?;
        let read_acks = if version >= 2 {
            r.option(|r| {
                let commit_seq = r.u64()?;
                let count = r.u16()?;
                let members = (0..count)
                    .map(|_| Ok(MemberId::from_bytes(r.array::<MEMBER_ID_LEN>()?)))
                    .collect::<Result<Vec<_>, CoreError>>()?;
                Ok(ReadAcks {
                    commit_seq,
                    members,
                })
            })?
        } else {
            None
        };
        r.finish()?;
        Ok(GroupRecord {
            chat,
            name,
            log,
            next_seq,
            previous,
            rotation_due,
            group,
            read_acks,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::MemoryStore;
    use sotto_groups::DisplayName;

    pub(crate) fn log() -> GroupLog {
        GroupLog {
            relay: "sotto://tgAwbPp2cj_ew5XlOps9n9t4seLXojwy_LzS3G0MQJI@relay.example"
                .parse()
                .unwrap(),
            admin: Some((
                GroupAdminId::from_bytes([1; 24]),
                QueueAuthSecret::from_bytes([2; 32]),
            )),
            write: (
                GroupWriteId::from_bytes([3; 24]),
                QueueAuthSecret::from_bytes([4; 32]),
            ),
            read: (
                GroupReadId::from_bytes([5; 24]),
                QueueAuthSecret::from_bytes([6; 32]),
            ),
        }
    }

    pub(crate) fn log_without_admin() -> GroupLog {
        GroupLog {
            admin: None,
            ..log()
        }
    }

    #[test]
    fn round_trip_through_a_store() {
        let group = Group::create(&DisplayName::new("Ann").unwrap(), 1_700_000_000, 3600).unwrap();
        let id = group.id().unwrap();
        let record = GroupRecord {
            chat: ChatId(7),
            name: "Climbing".to_owned(),
            log: log(),
            next_seq: 12,
            previous: None,
            rotation_due: true,
            group,
            read_acks: Some(ReadAcks {
                commit_seq: 9,
                members: vec![MemberId::from_bytes([3; MEMBER_ID_LEN])],
            }),
        };
        let mut store = MemoryStore::new();
        let mut batch = WriteBatch::new();
        record.put(&mut batch).unwrap();
        store.apply(batch).unwrap();
        let loaded = GroupRecord::load(&store, ChatId(7)).unwrap();
        assert_eq!(loaded.name, "Climbing");
        assert_eq!(loaded.next_seq, 12);
        assert_eq!(loaded.group.id().unwrap(), id);
        assert_eq!(loaded.log.read.1.as_bytes(), &[6; 32]);
        assert!(loaded.log.admin.is_some());
        assert_eq!(loaded.read_acks.unwrap().commit_seq, 9);
        assert_eq!(GroupRecord::ids(&store).unwrap(), vec![ChatId(7)]);
        assert!(matches!(
            GroupRecord::load(&store, ChatId(8)),
            Err(CoreError::UnknownGroup)
        ));
        assert_eq!(format!("{:?}", log()), "GroupLog { admin: true, .. }");
    }

    #[test]
    fn the_cache_gives_back_only_what_the_store_holds() {
        let group = Group::create(&DisplayName::new("Ann").unwrap(), 1_700_000_000, 3600).unwrap();
        let record = GroupRecord {
            chat: ChatId(7),
            name: "Climbing".to_owned(),
            log: log(),
            next_seq: 1,
            previous: None,
            rotation_due: false,
            group,
            read_acks: None,
        };
        let mut store = MemoryStore::new();
        let mut cache = GroupCache::default();
        let mut batch = WriteBatch::new();
        let stored = record.put_kept(&mut batch).unwrap();
        store.apply(batch).unwrap();
        cache.keep(stored, record);

        // Kept and stored alike: the same record, without decoding.
        let (mut record, loaded) = cache.load(&store, ChatId(7)).unwrap();
        assert_eq!(record.next_seq, 1);
        record.next_seq = 2;
        // A change whose batch never reached the store is not given back.
        drop(loaded);
        let mut lost = WriteBatch::new();
        let stored = record.put_kept(&mut lost).unwrap();
        cache.keep(stored, record);
        let (record, loaded) = cache.load(&store, ChatId(7)).unwrap();
        assert_eq!(record.next_seq, 1);
        cache.keep(loaded, record);
        // Another write of the record wins over what the cache keeps.
        let mut other = GroupRecord::load(&store, ChatId(7)).unwrap();
        other.next_seq = 5;
        let mut batch = WriteBatch::new();
        other.put(&mut batch).unwrap();
        store.apply(batch).unwrap();
        assert_eq!(cache.load(&store, ChatId(7)).unwrap().0.next_seq, 5);
        assert!(matches!(
            cache.load(&store, ChatId(8)),
            Err(CoreError::UnknownGroup)
        ));
    }

    proptest! {
        #[test]
        fn damaged_records_are_errors_not_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let _ = GroupRecord::decode(ChatId(1), &bytes);
        }
    }
}
