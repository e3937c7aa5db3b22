//! A group as this profile keeps it: the log on a relay that carries it with
//! the credentials this member holds, the member's cursor in that log, and
//! its MLS state: the `sotto-groups` state header and OpenMLS's stored
//! values, each in rows of its own, so that processing an entry writes only
//! the values it changed (an application message changes a few small ones,
//! never the ratchet tree).
//!
//! ```text
//! table "groups", key chat id u64:
//!   version (4) = 0x04 || name (len u16 || UTF-8) || log || next seq u64
//!   || option(previous write secret 32 || previous read secret 32)
//!   || rotation due u8 (0/1) || generation u64
//!   || option(read acks: commit seq u64 || count u16 || member id (16) × count)
//!   || ended u8 (0: a member; 1: the group was deleted, or its log is gone;
//!                2: no longer a member)
//! log = relay address (len u16 || UTF-8) || option(admin id 24 || admin secret 32)
//!   || write id 24 || write secret 32 || read id 24 || read secret 32
//! table "group_state", key chat id u64 || SHA-256(storage key) (32) || chunk u16:
//!   chunk 0 = storage key (len u32 || bytes) || chunk count u16 || bytes
//!   chunk i (1 ≤ i < count) = bytes
//! ```
//!
//! The generation counts the record's writes, so that the record's bytes
//! change whenever its state does ([`GroupCache`]). A value is the
//! concatenation of its chunks' bytes, each at most [`CHUNK_LEN`], so that
//! no row nears the export archive's 16 MiB limit. The storage key of the
//! `sotto-groups` state header (this member's signer and id, the group id,
//! a commit of ours awaiting the log with its welcome) is empty; every
//! other is one of OpenMLS's (never empty), its key and value opaque bytes.
//!
//! Versions 1 and 2 (read only, converted when the profile opens) held the
//! whole state in the record, where version 3 has its generation:
//! `MLS group pickle (len u32 || pickle)`; version 1 ends after it. Version
//! 3 (read only) ends before `ended`.
//!
//! `name` is the group's name as its profile gives it, kept up to date at
//! each write (the name known when the group was made or joined for a group
//! without a profile), and `ended` whether this member still takes part:
//! with these a group's chat shows without decoding its MLS state
//! ([`GroupRecord::fields`]).
//!
//! The store encrypts the records: they hold the member's group secrets.

use std::fmt;

use sha2::{Digest, Sha256};
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
/// A group's MLS state, in rows of its own.
pub(crate) const GROUP_STATE: Table = Table::new("group_state");
const VERSION: u8 = 4;
/// `ended` of a group deleted for everyone (or whose log is gone).
const ENDED_DELETED: u8 = 1;
/// `ended` of a group this profile is no longer a member of.
const ENDED_NOT_A_MEMBER: u8 = 2;
/// The first version whose state is in rows of its own.
const STATE_IN_ROWS: u8 = 3;
/// The longest part of a value one row of "group_state" holds.
pub(crate) const CHUNK_LEN: usize = 1024 * 1024;
/// The longest storage key read back.
const MAX_STORAGE_KEY_LEN: usize = 64 * 1024;
/// The storage key of the `sotto-groups` state header.
const HEADER_KEY: &[u8] = b"";

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

/// One of the credentials [`GroupLog::attempts`] lists.
#[derive(Clone, Copy)]
pub struct GroupLogAttempt<'a> {
    /// The credentials.
    pub log: &'a GroupLog,
    /// Whether they are the current ones (a success with them while previous
    /// ones are kept means the relay has rotated: [`crate::Core::group_rotated`]).
    pub current: bool,
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
    /// The credentials to try, in order, for a command on this log, whose
    /// previous credentials are `previous`: these; while the relay may still
    /// use the previous ones, those, then these again. The admin's GKEY may
    /// land between the first two attempts, and then both are refused though
    /// this member holds the secrets the relay uses now: only a refusal of
    /// all three means the relay no longer lets this member in.
    pub fn attempts<'a>(&'a self, previous: Option<&'a GroupLog>) -> Vec<GroupLogAttempt<'a>> {
        let current = GroupLogAttempt {
            log: self,
            current: true,
        };
        match previous {
            None => vec![current],
            Some(log) => vec![
                current,
                GroupLogAttempt {
                    log,
                    current: false,
                },
                current,
            ],
        }
    }

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
    /// An owner deleted the group for everyone: nobody writes to it or
    /// reads it any more; its history stays.
    pub(crate) deleted: bool,
    /// How the state is stored: none for a group not stored yet (or stored
    /// by an earlier version), whose whole state is written at its next
    /// write; then the record's generation.
    pub(crate) stored: Option<StoredState>,
}

/// The read acks of a record of `version` (none before version 2).
fn read_acks_of(r: &mut Reader<'_>, version: u8) -> Result<Option<ReadAcks>, CoreError> {
    if version < 2 {
        return Ok(None);
    }
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
    })
}

/// `ended` of a record of `version` (none before version 4).
fn read_ended(r: &mut Reader<'_>, version: u8) -> Result<Option<u8>, CoreError> {
    if version < 4 {
        return Ok(None);
    }
    match r.u8()? {
        ended @ (0 | ENDED_DELETED | ENDED_NOT_A_MEMBER) => Ok(Some(ended)),
        _ => Err(CoreError::Malformed("group")),
    }
}

impl RecordFields {
    /// The version and the fields every version starts with (`active`
    /// left to the caller).
    fn read(r: &mut Reader<'_>) -> Result<(u8, RecordFields), CoreError> {
        let version = r.u8()?;
        if !(1..=VERSION).contains(&version) {
            return Err(CoreError::Malformed("group"));
        }
        let fields = RecordFields {
            name: r.text(MAX_DISPLAY_NAME_LEN)?,
            log: GroupLog::decode(r)?,
            next_seq: r.u64()?,
            previous: r.option(|r| {
                Ok((
                    QueueAuthSecret::from_bytes(*Zeroizing::new(r.array()?)),
                    QueueAuthSecret::from_bytes(*Zeroizing::new(r.array()?)),
                ))
            })?,
            rotation_due: r.bool()?,
            active: None,
        };
        Ok((version, fields))
    }
}

/// A group record's own fields ([`GroupRecord::fields`]).
pub(crate) struct RecordFields {
    /// The group's name (as its profile gives it, from version 4).
    pub(crate) name: String,
    pub(crate) log: GroupLog,
    pub(crate) next_seq: u64,
    pub(crate) previous: Option<(QueueAuthSecret, QueueAuthSecret)>,
    pub(crate) rotation_due: bool,
    /// Whether this member still takes part; `None` before version 4 (the
    /// MLS state tells).
    pub(crate) active: Option<bool>,
}

/// The generation a group record was last read or written with.
pub(crate) struct StoredState {
    generation: u64,
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
        let record = GroupRecord::read(store, chat, &bytes)?;
        Ok((record, StoredGroup(bytes)))
    }

    /// Keeps `record`, whose bytes a committed batch stored.
    pub(crate) fn keep(&mut self, stored: StoredGroup, record: GroupRecord) {
        self.0 = Some((stored, record));
    }
}

impl GroupRecord {
    /// Whether this member still takes part: in the group, and the group
    /// not deleted.
    pub(crate) fn is_active(&self) -> bool {
        !self.deleted && self.group.is_active()
    }

    /// The group's name to show: its profile's (as an owner or admin set
    /// it), else the name it was known by when created or joined.
    pub(crate) fn display_name(&self) -> String {
        match self.group.profile() {
            Ok(Some(profile)) => profile.name().to_owned(),
            _ => self.name.clone(),
        }
    }

    /// The record's own fields, its MLS state not decoded (which costs
    /// tens of milliseconds in a large group): the log, the cursor, and
    /// what a group's chat shows.
    pub(crate) fn fields(store: &impl Store, chat: ChatId) -> Result<RecordFields, CoreError> {
        let bytes = Zeroizing::new(
            store
                .get(GROUPS, &chat.0.to_be_bytes())?
                .ok_or(CoreError::UnknownGroup)?,
        );
        let mut r = Reader::new(&bytes, "group");
        let (version, mut fields) = RecordFields::read(&mut r)?;
        if version >= STATE_IN_ROWS {
            r.u64()?;
        } else {
            r.bytes32(sotto_groups::MAX_PICKLE_LEN)?;
        }
        read_acks_of(&mut r, version)?;
        fields.active = read_ended(&mut r, version)?.map(|ended| ended == 0);
        r.finish()?;
        Ok(fields)
    }

    pub(crate) fn load(store: &impl Store, chat: ChatId) -> Result<GroupRecord, CoreError> {
        let bytes = store
            .get(GROUPS, &chat.0.to_be_bytes())?
            .ok_or(CoreError::UnknownGroup)?;
        GroupRecord::read(store, chat, &Zeroizing::new(bytes))
    }

    /// The record of `bytes` with its state's rows.
    fn read(store: &impl Store, chat: ChatId, bytes: &[u8]) -> Result<GroupRecord, CoreError> {
        let state = match bytes.first() {
            Some(version) if *version >= 3 => Some(load_state(store, chat)?),
            _ => None,
        };
        GroupRecord::decode(chat, bytes, state).map_err(corrupt("group"))
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

    /// Whether the stored record of `chat` is of an earlier version, its
    /// state not yet in rows of its own.
    pub(crate) fn is_whole(store: &impl Store, chat: ChatId) -> Result<bool, CoreError> {
        let bytes = store
            .get(GROUPS, &chat.0.to_be_bytes())?
            .ok_or(CoreError::UnknownGroup)?;
        Ok(bytes.first().is_some_and(|version| *version < VERSION))
    }

    /// Writes the record and the state's values changed since it was last
    /// read or written (all of them for a group not stored yet). The
    /// changes are taken: a record whose batch then fails must be loaded
    /// again, not written.
    pub(crate) fn put(&mut self, batch: &mut WriteBatch) -> Result<(), CoreError> {
        self.put_kept(batch).map(drop)
    }

    /// [`GroupRecord::put`] that keeps the bytes stored, for
    /// [`GroupCache::keep`].
    pub(crate) fn put_kept(&mut self, batch: &mut WriteBatch) -> Result<StoredGroup, CoreError> {
        self.name = self.display_name();
        let generation = match &self.stored {
            None => {
                let header = self.group.state_header()?;
                self.group.take_header_change()?;
                batch.delete_range(GROUP_STATE, KeyRange::prefix(&self.chat.0.to_be_bytes()));
                put_value(batch, self.chat, HEADER_KEY, Some(&header));
                for change in self.group.take_whole_state()? {
                    put_value(
                        batch,
                        self.chat,
                        &change.key,
                        change.value.as_ref().map(|value| value.as_slice()),
                    );
                }
                1
            }
            Some(stored) => {
                // The header holds our commit awaiting the log (a removal in
                // a large group: megabytes), written only when it changes.
                if let Some(header) = self.group.take_header_change()? {
                    put_value(batch, self.chat, HEADER_KEY, Some(&header));
                }
                for change in self.group.take_state_changes()? {
                    put_value(
                        batch,
                        self.chat,
                        &change.key,
                        change.value.as_ref().map(|value| value.as_slice()),
                    );
                }
                stored.generation.wrapping_add(1)
            }
        };
        self.stored = Some(StoredState { generation });
        let value = self.encode(generation);
        batch.put(GROUPS, self.chat.0.to_be_bytes().to_vec(), value.to_vec());
        Ok(StoredGroup(value))
    }

    fn encode(&self, generation: u64) -> Zeroizing<Vec<u8>> {
        let mut w = Writer::new();
        w.u8(VERSION).bytes16(self.name.as_bytes());
        self.log.encode(&mut w);
        w.u64(self.next_seq);
        w.option(self.previous.as_ref(), |w, (write, read)| {
            w.array(write.as_bytes()).array(read.as_bytes());
        });
        w.bool(self.rotation_due).u64(generation);
        w.option(self.read_acks.as_ref(), |w, acks| {
            let count = acks.members.len().min(usize::from(u16::MAX));
            w.u64(acks.commit_seq)
                .u16(u16::try_from(count).unwrap_or(u16::MAX));
            for member in acks.members.iter().take(count) {
                w.array(member.as_bytes());
            }
        });
        let ended: u8 = if self.deleted {
            ENDED_DELETED
        } else if !self.group.is_active() {
            ENDED_NOT_A_MEMBER
        } else {
            0
        };
        w.u8(ended);
        Zeroizing::new(w.finish())
    }

    /// The record of `bytes`; `state` is the state's rows, read for a
    /// record of version 3.
    fn decode(
        chat: ChatId,
        bytes: &[u8],
        state: Option<LoadedState>,
    ) -> Result<GroupRecord, CoreError> {
        let mut r = Reader::new(bytes, "group");
        let (
            version,
            RecordFields {
                name,
                log,
                next_seq,
                previous,
                rotation_due,
                ..
            },
        ) = RecordFields::read(&mut r)?;
        let (group, stored) = match (version, state) {
            (STATE_IN_ROWS..=VERSION, Some(state)) => {
                let generation = r.u64()?;
                let header = state.header.ok_or(CoreError::Malformed("group state"))?;
                let group = Group::from_state(&header, state.values)?;
                (group, Some(StoredState { generation }))
            }
            (STATE_IN_ROWS..=VERSION, None) => return Err(CoreError::Malformed("group")),
            _ => (
                Group::from_pickle(r.bytes32(sotto_groups::MAX_PICKLE_LEN)?)?,
                None,
            ),
        };
        let read_acks = read_acks_of(&mut r, version)?;
        let deleted = read_ended(&mut r, version)? == Some(ENDED_DELETED);
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
            deleted,
            stored,
        })
    }
}

/// A group's state as its rows hold it: the state header and OpenMLS's
/// values.
struct LoadedState {
    header: Option<Zeroizing<Vec<u8>>>,
    values: Vec<(Vec<u8>, Zeroizing<Vec<u8>>)>,
}

/// The row key of chunk `chunk` of the value stored under `key`.
fn row_key(chat: ChatId, key: &[u8], chunk: u16) -> Vec<u8> {
    let digest: [u8; 32] = Sha256::digest(key).into();
    [&chat.0.to_be_bytes()[..], &digest, &chunk.to_be_bytes()].concat()
}

/// Writes the value stored under `key` in chunks, in place of any earlier
/// one, or deletes it (`None`).
fn put_value(batch: &mut WriteBatch, chat: ChatId, key: &[u8], value: Option<&[u8]>) {
    let first = row_key(chat, key, 0);
    batch.delete_range(GROUP_STATE, KeyRange::prefix(&first[..8 + 32]));
    let Some(value) = value else {
        return;
    };
    let chunks: Vec<&[u8]> = match value.is_empty() {
        true => vec![&[][..]],
        false => value.chunks(CHUNK_LEN).collect(),
    };
    // A value is far shorter than 65,535 chunks (the state's limit).
    let count = u16::try_from(chunks.len()).unwrap_or(u16::MAX);
    for (index, chunk) in (0..count).zip(chunks) {
        let row = match index {
            0 => {
                let mut w = Writer::new();
                w.bytes32(key).u16(count).array(chunk);
                Zeroizing::new(w.finish())
            }
            _ => Zeroizing::new(chunk.to_vec()),
        };
        batch.put(GROUP_STATE, row_key(chat, key, index), row.to_vec());
    }
}

/// Reads the state's rows of `chat`: every value whole, its chunks all
/// there and filed under their key, at most the state's limit in all.
fn load_state(store: &impl Store, chat: ChatId) -> Result<LoadedState, CoreError> {
    let rows = store.range(
        GROUP_STATE,
        &KeyRange::prefix(&chat.0.to_be_bytes()),
        Direction::Forward,
        usize::MAX,
    )?;
    let malformed = || CoreError::CorruptRecord("group state");
    let mut state = LoadedState {
        header: None,
        values: Vec::new(),
    };
    let mut total = 0usize;
    // The value being assembled: its key, its chunk count and its bytes.
    let mut current: Option<(Vec<u8>, u16, Zeroizing<Vec<u8>>)> = None;
    let finish = |state: &mut LoadedState, (key, count, value): (Vec<u8>, u16, _), next: u16| {
        if next != count {
            return Err(malformed());
        }
        match key.is_empty() {
            true if state.header.is_none() => state.header = Some(value),
            true => return Err(malformed()),
            false => state.values.push((key, value)),
        }
        Ok(())
    };
    let mut next = 0u16;
    for row in rows {
        let row_value = Zeroizing::new(row.value);
        total = total.saturating_add(row_value.len());
        if total > sotto_groups::MAX_PICKLE_LEN {
            return Err(malformed());
        }
        let index = row
            .key
            .get(8 + 32..)
            .and_then(|index| <[u8; 2]>::try_from(index).ok())
            .map(u16::from_be_bytes)
            .ok_or_else(malformed)?;
        if index == 0 {
            if let Some(done) = current.take() {
                finish(&mut state, done, next)?;
            }
            let mut r = Reader::new(&row_value, "group state");
            let key = r.bytes32(MAX_STORAGE_KEY_LEN)?.to_vec();
            let count = r.u16()?;
            let first = r.rest();
            if count == 0 || row_key(chat, &key, 0) != row.key {
                return Err(malformed());
            }
            let mut value = Zeroizing::new(Vec::new());
            value.extend_from_slice(first);
            current = Some((key, count, value));
            next = 1;
        } else {
            let Some((key, _, value)) = current.as_mut() else {
                return Err(malformed());
            };
            if index != next || row_key(chat, key, index) != row.key {
                return Err(malformed());
            }
            value.extend_from_slice(&row_value);
            next = next.saturating_add(1);
        }
    }
    if let Some(done) = current.take() {
        finish(&mut state, done, next)?;
    }
    Ok(state)
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
    fn the_current_credentials_are_tried_again_after_the_previous_ones() {
        let current = log();
        let previous = GroupLog {
            read: (
                GroupReadId::from_bytes([5; 24]),
                QueueAuthSecret::from_bytes([7; 32]),
            ),
            ..log()
        };
        let order = |attempts: Vec<GroupLogAttempt<'_>>| {
            attempts
                .iter()
                .map(|attempt| (attempt.log.read.1.as_bytes()[0], attempt.current))
                .collect::<Vec<_>>()
        };
        assert_eq!(order(current.attempts(None)), [(6, true)]);
        // A GKEY between the first two makes both refuse: the third is
        // the one the relay takes then.
        assert_eq!(
            order(current.attempts(Some(&previous))),
            [(6, true), (7, false), (6, true)]
        );
    }

    #[test]
    fn round_trip_through_a_store() {
        let group = Group::create(&DisplayName::new("Ann").unwrap(), 1_700_000_000, 3600).unwrap();
        let id = group.id().unwrap();
        let mut record = GroupRecord {
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
            deleted: true,
            stored: None,
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
        assert!(loaded.deleted && !loaded.is_active());
        assert_eq!(loaded.read_acks.unwrap().commit_seq, 9);
        // Its chat shows from the record alone.
        let fields = GroupRecord::fields(&store, ChatId(7)).unwrap();
        assert_eq!(fields.name, "Climbing");
        assert_eq!(fields.next_seq, 12);
        assert!(fields.rotation_due);
        assert_eq!(fields.active, Some(false));
        assert_eq!(GroupRecord::ids(&store).unwrap(), vec![ChatId(7)]);
        // A record of version 3 ends before `ended`, and shows only decoded.
        let mut bytes = store.get(GROUPS, &7u64.to_be_bytes()).unwrap().unwrap();
        assert_eq!(bytes.pop(), Some(1));
        bytes[0] = 3;
        let mut batch = WriteBatch::new();
        batch.put(GROUPS, 7u64.to_be_bytes().to_vec(), bytes);
        store.apply(batch).unwrap();
        let loaded = GroupRecord::load(&store, ChatId(7)).unwrap();
        assert!(!loaded.deleted && loaded.is_active());
        assert_eq!(GroupRecord::fields(&store, ChatId(7)).unwrap().active, None);
        assert_eq!(loaded.read_acks.unwrap().commit_seq, 9);
        assert!(matches!(
            GroupRecord::load(&store, ChatId(8)),
            Err(CoreError::UnknownGroup)
        ));
        assert_eq!(format!("{:?}", log()), "GroupLog { admin: true, .. }");
    }

    #[test]
    fn the_cache_gives_back_only_what_the_store_holds() {
        let group = Group::create(&DisplayName::new("Ann").unwrap(), 1_700_000_000, 3600).unwrap();
        let mut record = GroupRecord {
            chat: ChatId(7),
            name: "Climbing".to_owned(),
            log: log(),
            next_seq: 1,
            previous: None,
            rotation_due: false,
            group,
            read_acks: None,
            deleted: false,
            stored: None,
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
        // So does one that changed only the group's state (its generation
        // tells).
        let (kept, stored) = cache.load(&store, ChatId(7)).unwrap();
        cache.keep(stored, kept);
        let mut other = GroupRecord::load(&store, ChatId(7)).unwrap();
        other.group.encrypt(b"hello").unwrap();
        let mut batch = WriteBatch::new();
        other.put(&mut batch).unwrap();
        store.apply(batch).unwrap();
        let (loaded, _) = cache.load(&store, ChatId(7)).unwrap();
        assert_eq!(loaded.next_seq, 5);
        assert_eq!(
            loaded.group.pickle().unwrap(),
            other.group.pickle().unwrap()
        );
        assert!(matches!(
            cache.load(&store, ChatId(8)),
            Err(CoreError::UnknownGroup)
        ));
    }

    /// A record as version 2 stored it: the whole state in the record.
    pub(crate) fn version_2(record: &GroupRecord) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(2).bytes16(record.name.as_bytes());
        record.log.encode(&mut w);
        w.u64(record.next_seq).bool(false).bool(record.rotation_due);
        w.bytes32(&record.group.pickle().unwrap()).bool(false);
        w.finish()
    }

    fn state_rows(store: &MemoryStore, chat: ChatId) -> Vec<crate::store::Record> {
        store
            .range(
                GROUP_STATE,
                &KeyRange::prefix(&chat.0.to_be_bytes()),
                Direction::Forward,
                usize::MAX,
            )
            .unwrap()
    }

    #[test]
    fn a_write_stores_only_the_values_changed() {
        let group = Group::create(&DisplayName::new("Ann").unwrap(), 1_700_000_000, 3600).unwrap();
        let mut record = GroupRecord {
            chat: ChatId(7),
            name: "Climbing".to_owned(),
            log: log(),
            next_seq: 1,
            previous: None,
            rotation_due: false,
            group,
            read_acks: None,
            deleted: false,
            stored: None,
        };
        let mut store = MemoryStore::new();
        let mut batch = WriteBatch::new();
        record.put(&mut batch).unwrap();
        store.apply(batch).unwrap();
        let rows = state_rows(&store, ChatId(7)).len();
        assert!(rows > 5, "{rows} rows");

        // A message: a few small values and the record, not the tree.
        record.group.encrypt(b"hello").unwrap();
        record.next_seq = 2;
        let mut batch = WriteBatch::new();
        record.put(&mut batch).unwrap();
        let puts: Vec<_> = batch
            .writes()
            .iter()
            .filter_map(|write| match write {
                crate::store::Write::Put { table, record } if *table == GROUP_STATE => {
                    Some(record.value.len())
                }
                _ => None,
            })
            .collect();
        assert!(!puts.is_empty() && puts.len() < rows / 2, "{puts:?}");
        store.apply(batch).unwrap();
        // Nothing changed, nothing written but the record.
        let mut batch = WriteBatch::new();
        record.put(&mut batch).unwrap();
        assert_eq!(batch.writes().len(), 1);
        store.apply(batch).unwrap();

        let loaded = GroupRecord::load(&store, ChatId(7)).unwrap();
        assert_eq!(loaded.next_seq, 2);
        assert_eq!(
            loaded.group.pickle().unwrap(),
            record.group.pickle().unwrap()
        );
    }

    #[test]
    fn a_long_value_is_stored_in_chunks_and_damage_is_an_error() {
        let long: Vec<u8> = (0..CHUNK_LEN * 5 / 2).map(|i| i as u8).collect();
        let mut store = MemoryStore::new();
        let mut batch = WriteBatch::new();
        put_value(&mut batch, ChatId(3), HEADER_KEY, Some(b"header"));
        put_value(&mut batch, ChatId(3), b"tree:1", Some(&long));
        put_value(&mut batch, ChatId(3), b"psk:1", Some(b""));
        put_value(&mut batch, ChatId(4), b"tree:1", Some(b"other group"));
        store.apply(batch).unwrap();
        let rows = state_rows(&store, ChatId(3));
        assert_eq!(rows.len(), 5);
        assert!(rows.iter().all(|row| row.value.len() <= CHUNK_LEN + 64));
        let state = load_state(&store, ChatId(3)).unwrap();
        assert_eq!(&state.header.unwrap()[..], b"header");
        let mut values = state.values;
        values.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(values[0].0, b"psk:1");
        assert!(values[0].1.is_empty());
        assert_eq!(values[1].0, b"tree:1");
        assert!(values[1].1[..] == long[..]);

        // A shorter value in its place leaves none of the longer one's chunks.
        let mut batch = WriteBatch::new();
        put_value(&mut batch, ChatId(3), b"tree:1", Some(b"short"));
        store.apply(batch).unwrap();
        assert_eq!(state_rows(&store, ChatId(3)).len(), 3);

        // A chunk missing, the first chunk missing, a row filed under another
        // key, a row key of another length.
        let mut damaged = MemoryStore::new();
        let mut batch = WriteBatch::new();
        put_value(&mut batch, ChatId(3), b"tree:1", Some(&long));
        damaged.apply(batch).unwrap();
        let mut batch = WriteBatch::new();
        batch.delete(GROUP_STATE, row_key(ChatId(3), b"tree:1", 2));
        damaged.apply(batch).unwrap();
        assert!(load_state(&damaged, ChatId(3)).is_err());
        let mut batch = WriteBatch::new();
        batch.delete(GROUP_STATE, row_key(ChatId(3), b"tree:1", 0));
        damaged.apply(batch).unwrap();
        assert!(load_state(&damaged, ChatId(3)).is_err());
        let mut misfiled = MemoryStore::new();
        let mut batch = WriteBatch::new();
        let mut w = Writer::new();
        w.bytes32(b"tree:2").u16(1).array(b"x");
        batch.put(GROUP_STATE, row_key(ChatId(3), b"tree:1", 0), w.finish());
        misfiled.apply(batch).unwrap();
        assert!(load_state(&misfiled, ChatId(3)).is_err());
        let mut batch = WriteBatch::new();
        put_value(&mut batch, ChatId(3), HEADER_KEY, Some(b"one"));
        let mut w = Writer::new();
        w.bytes32(HEADER_KEY).u16(1).array(b"two");
        let mut key = row_key(ChatId(3), HEADER_KEY, 0);
        key.push(0);
        batch.put(GROUP_STATE, key, w.finish());
        misfiled.apply(batch).unwrap();
        assert!(load_state(&misfiled, ChatId(3)).is_err());
    }

    #[test]
    fn a_record_of_version_2_is_read_and_stored_apart() {
        let group = Group::create(&DisplayName::new("Ann").unwrap(), 1_700_000_000, 3600).unwrap();
        let pickle = group.pickle().unwrap();
        let record = GroupRecord {
            chat: ChatId(7),
            name: "Climbing".to_owned(),
            log: log(),
            next_seq: 3,
            previous: None,
            rotation_due: false,
            group,
            read_acks: None,
            deleted: false,
            stored: None,
        };
        let mut store = MemoryStore::new();
        let mut batch = WriteBatch::new();
        batch.put(GROUPS, 7u64.to_be_bytes().to_vec(), version_2(&record));
        store.apply(batch).unwrap();
        assert!(GroupRecord::is_whole(&store, ChatId(7)).unwrap());

        let mut loaded = GroupRecord::load(&store, ChatId(7)).unwrap();
        assert!(loaded.stored.is_none());
        assert_eq!(loaded.group.pickle().unwrap(), pickle);
        let mut batch = WriteBatch::new();
        loaded.put(&mut batch).unwrap();
        store.apply(batch).unwrap();
        assert!(!GroupRecord::is_whole(&store, ChatId(7)).unwrap());
        let loaded = GroupRecord::load(&store, ChatId(7)).unwrap();
        assert_eq!(loaded.next_seq, 3);
        assert_eq!(loaded.group.pickle().unwrap(), pickle);
    }

    proptest! {
        #[test]
        fn damaged_records_are_errors_not_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let _ = GroupRecord::decode(ChatId(1), &bytes, None);
            let _ = GroupRecord::decode(
                ChatId(1),
                &bytes,
                Some(LoadedState { header: None, values: Vec::new() }),
            );
        }
    }
}
