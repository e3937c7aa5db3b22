//! Group logs in the redb backend:
//! - `groups`: admin id → the log's state ([`GroupState::encode`]), rewritten
//!   on every append with the next sequence number;
//! - `group_ids`: write id or read id → admin id;
//! - `group_entries`: admin id ‖ sequence number (u64 BE) → accepted_at (u64
//!   BE) ‖ entry.
//!
//! Expired entries and logs are found by scanning `groups` (this backend is
//! kept for comparison, not for many logs).

use redb::{Database, ReadableTable, TableDefinition};
use sotto_wire::{GROUP_ENTRY_LEN, GroupAdminId, GroupEntry, GroupWriteId};

use super::{Id, Tables};
use crate::Error;
use crate::store::group_log::{FIRST_SEQ, GroupState};
use crate::store::{AuthKey, GroupIds, GroupKeys, GroupRecord, Policy, WriteOutcome};

type EntryKey = [u8; 32];

pub(super) const GROUPS: TableDefinition<'_, Id, &[u8]> = TableDefinition::new("groups");
pub(super) const GROUP_IDS: TableDefinition<'_, Id, Id> = TableDefinition::new("group_ids");
pub(super) const GROUP_ENTRIES: TableDefinition<'_, EntryKey, &[u8]> =
    TableDefinition::new("group_entries");

fn decode(value: &[u8]) -> Result<GroupState, Error> {
    GroupState::decode(value).ok_or_else(|| Error::Storage("a stored group log is damaged".into()))
}

fn encode(state: &GroupState) -> Vec<u8> {
    let mut value = Vec::new();
    state.encode(&mut value);
    value
}

fn entry_key(admin_id: &GroupAdminId, seq: u64) -> EntryKey {
    let mut key = [0; 32];
    key[..24].copy_from_slice(admin_id.as_bytes());
    key[24..].copy_from_slice(&seq.to_be_bytes());
    key
}

fn accepted_at(value: &[u8]) -> Result<u64, Error> {
    value
        .first_chunk::<8>()
        .filter(|_| value.len() == 8 + GROUP_ENTRY_LEN)
        .map(|bytes| u64::from_be_bytes(*bytes))
        .ok_or_else(|| Error::Storage("a stored group entry has the wrong size".into()))
}

/// The admin id of the log a write or read id names.
pub(super) fn admin_of(db: &Database, id: &[u8; 24]) -> Result<Option<GroupAdminId>, Error> {
    let txn = db.begin_read()?;
    let table = txn.open_table(GROUP_IDS)?;
    Ok(table
        .get(id)?
        .map(|admin| GroupAdminId::from_bytes(admin.value())))
}

/// The log, unless it is missing or expired at `now`.
pub(super) fn record(
    db: &Database,
    policy: &Policy,
    admin_id: Option<GroupAdminId>,
    now: u64,
) -> Result<Option<GroupRecord>, Error> {
    let Some(admin_id) = admin_id else {
        return Ok(None);
    };
    let txn = db.begin_read()?;
    let groups = txn.open_table(GROUPS)?;
    let Some(value) = groups.get(admin_id.as_bytes())? else {
        return Ok(None);
    };
    let state = decode(value.value())?;
    if policy.is_group_expired(state.active_at, now) {
        return Ok(None);
    }
    let entries = txn.open_table(GROUP_ENTRIES)?;
    let mut first = state.next_seq;
    for entry in entries.range(entry_key(&admin_id, 0)..=entry_key(&admin_id, u64::MAX))? {
        let (key, value) = entry?;
        if !policy.is_group_expired(accepted_at(value.value())?, now) {
            first = u64::from_be_bytes(*key.value().last_chunk::<8>().unwrap_or(&[0; 8]));
            break;
        }
    }
    Ok(Some(GroupRecord {
        ids: state.ids,
        keys: state.keys,
        first,
        next: state.next_seq,
    }))
}

/// The entry, unless it is missing or expired at `now`.
pub(super) fn entry(
    db: &Database,
    policy: &Policy,
    admin_id: Option<GroupAdminId>,
    seq: u64,
    now: u64,
) -> Result<Option<GroupEntry>, Error> {
    let Some(admin_id) = admin_id else {
        return Ok(None);
    };
    let txn = db.begin_read()?;
    let entries = txn.open_table(GROUP_ENTRIES)?;
    let Some(value) = entries.get(entry_key(&admin_id, seq))? else {
        return Ok(None);
    };
    let value = value.value();
    if policy.is_group_expired(accepted_at(value)?, now) {
        return Ok(None);
    }
    let bytes = value.get(8..).unwrap_or_default().to_vec();
    GroupEntry::new(bytes)
        .map(Some)
        .map_err(|_| Error::Storage("a stored group entry has the wrong size".into()))
}

impl Tables<'_> {
    fn group(&self, admin_id: &GroupAdminId, now: u64) -> Result<Option<GroupState>, Error> {
        let Some(value) = self.groups.get(admin_id.as_bytes())? else {
            return Ok(None);
        };
        let state = decode(value.value())?;
        Ok((!self.policy.is_group_expired(state.active_at, now)).then_some(state))
    }

    fn put_group(&mut self, state: &GroupState) -> Result<(), Error> {
        self.groups
            .insert(state.ids.admin_id.as_bytes(), encode(state).as_slice())?;
        Ok(())
    }

    pub(super) fn create_group(
        &mut self,
        ids: &GroupIds,
        keys: &GroupKeys,
        now: u64,
    ) -> Result<WriteOutcome, Error> {
        if ids.repeats_an_id() {
            return Ok(WriteOutcome::IdTaken);
        }
        for id in ids.all() {
            if self.id_in_use(&id)? {
                return Ok(WriteOutcome::IdTaken);
            }
        }
        let admin = *ids.admin_id.as_bytes();
        self.group_ids.insert(ids.write_id.as_bytes(), admin)?;
        self.group_ids.insert(ids.read_id.as_bytes(), admin)?;
        self.put_group(&GroupState {
            ids: *ids,
            keys: *keys,
            next_seq: FIRST_SEQ,
            active_at: now,
        })?;
        Ok(WriteOutcome::Done)
    }

    pub(super) fn append_group(
        &mut self,
        write_id: &GroupWriteId,
        write_key: &AuthKey,
        entry: &GroupEntry,
        now: u64,
    ) -> Result<WriteOutcome, Error> {
        let Some(admin) = self.group_ids.get(write_id.as_bytes())?.map(|a| a.value()) else {
            return Ok(WriteOutcome::Refused);
        };
        let admin_id = GroupAdminId::from_bytes(admin);
        let Some(mut state) = self.group(&admin_id, now)? else {
            return Ok(WriteOutcome::Refused);
        };
        // A read id is never a write id (the ids are drawn apart).
        // Rekeyed since the GAPP was authorized: a removed member's write.
        if state.ids.write_id != *write_id || state.keys.write_key != *write_key {
            return Ok(WriteOutcome::Refused);
        }
        let seq = state.next_seq;
        let mut value = Vec::with_capacity(8 + GROUP_ENTRY_LEN);
        value.extend_from_slice(&now.to_be_bytes());
        value.extend_from_slice(entry.as_bytes());
        self.group_entries
            .insert(entry_key(&admin_id, seq), value.as_slice())?;
        state.next_seq = seq.saturating_add(1);
        state.active_at = now;
        self.put_group(&state)?;
        Ok(WriteOutcome::Appended {
            read_id: state.ids.read_id,
            seq,
        })
    }

    pub(super) fn rekey_group(
        &mut self,
        admin_id: &GroupAdminId,
        write_key: AuthKey,
        read_key: AuthKey,
        now: u64,
    ) -> Result<WriteOutcome, Error> {
        let Some(mut state) = self.group(admin_id, now)? else {
            return Ok(WriteOutcome::Refused);
        };
        state.keys.write_key = write_key;
        state.keys.read_key = read_key;
        state.active_at = now;
        self.put_group(&state)?;
        Ok(WriteOutcome::GroupEnded(state.ids.read_id))
    }

    pub(super) fn delete_group(
        &mut self,
        admin_id: &GroupAdminId,
        now: u64,
    ) -> Result<WriteOutcome, Error> {
        let Some(state) = self.group(admin_id, now)? else {
            return Ok(WriteOutcome::Refused);
        };
        self.drop_group(&state)?;
        Ok(WriteOutcome::GroupEnded(state.ids.read_id))
    }

    fn drop_group(&mut self, state: &GroupState) -> Result<(), Error> {
        let admin_id = state.ids.admin_id;
        self.groups.remove(admin_id.as_bytes())?;
        self.group_ids.remove(state.ids.write_id.as_bytes())?;
        self.group_ids.remove(state.ids.read_id.as_bytes())?;
        self.group_entries.retain_in(
            entry_key(&admin_id, 0)..=entry_key(&admin_id, u64::MAX),
            |_, _| false,
        )?;
        Ok(())
    }

    /// Deletes the entries expired at `now`, and the logs expired whole; how
    /// many entries went.
    pub(super) fn expire_groups(&mut self, now: u64) -> Result<u64, Error> {
        let mut states = Vec::new();
        for entry in self.groups.iter()? {
            let (_, value) = entry?;
            states.push(decode(value.value())?);
        }
        let mut expired = 0;
        for state in states {
            if self.policy.is_group_expired(state.active_at, now) {
                self.drop_group(&state)?;
                continue;
            }
            let admin_id = state.ids.admin_id;
            let mut gone = Vec::new();
            for entry in self
                .group_entries
                .range(entry_key(&admin_id, 0)..=entry_key(&admin_id, u64::MAX))?
            {
                let (key, value) = entry?;
                if !self
                    .policy
                    .is_group_expired(accepted_at(value.value())?, now)
                {
                    break;
                }
                gone.push(key.value());
            }
            for key in gone {
                self.group_entries.remove(key)?;
                expired += 1;
            }
        }
        Ok(expired)
    }
}
