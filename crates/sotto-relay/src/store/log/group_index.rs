//! Group logs in the in-memory index: each log's state and where its record
//! sits, its live entries in sequence order with where theirs sit, and its
//! write and read ids. Sans-IO, like the rest of the index.

use std::collections::{HashMap, VecDeque};

use sotto_wire::{GroupAdminId, GroupReadId, GroupWriteId};

use super::index::{Index, Location};
use crate::store::group_log::{FIRST_SEQ, GroupState};
use crate::store::{GroupRecord, Policy};

/// A live entry, without its bytes (which stay on disk).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct EntrySlot {
    /// Its sequence number.
    pub(super) seq: u64,
    /// When the relay accepted it, unix seconds.
    pub(super) accepted_at: u64,
    /// Its record.
    pub(super) at: Location,
}

/// A group log in the index.
#[derive(Clone, Debug, Default)]
pub(super) struct GroupEntry {
    /// Its state; `None` only while replaying entries whose group record
    /// comes later in the log (it was copied forward).
    pub(super) state: Option<GroupState>,
    /// Where the current group record sits.
    pub(super) state_at: Option<Location>,
    /// Live entries by sequence number.
    pub(super) entries: VecDeque<EntrySlot>,
}

impl GroupEntry {
    /// The sequence number the next entry gets.
    pub(super) fn next_seq(&self) -> u64 {
        let after_last = self
            .entries
            .back()
            .map_or(FIRST_SEQ, |last| last.seq.saturating_add(1));
        self.state
            .map_or(after_last, |state| state.next_seq.max(after_last))
    }

    /// When it was last created, rekeyed or appended to.
    pub(super) fn active_at(&self) -> u64 {
        let appended = self.entries.back().map_or(0, |last| last.accepted_at);
        self.state
            .map_or(appended, |state| state.active_at.max(appended))
    }

    /// Whether the whole log has expired at `now`.
    pub(super) fn is_expired(&self, policy: &Policy, now: u64) -> bool {
        policy.is_group_expired(self.active_at(), now)
    }

    /// The record readers see at `now`: entries before `visible_end` only (a
    /// log position: later records are not yet durable).
    pub(super) fn to_record(
        &self,
        policy: &Policy,
        now: u64,
        visible_end: u64,
    ) -> Option<GroupRecord> {
        let state = self.state?;
        let visible = |slot: &&EntrySlot| slot.at.position() < visible_end;
        let next = match self.entries.iter().rev().find(visible) {
            // Not-yet-durable entries come last, in sequence order.
            Some(last) => last.seq.saturating_add(1),
            None => self
                .entries
                .front()
                .map_or(state.next_seq, |first| first.seq),
        };
        let first = self
            .entries
            .iter()
            .find(|slot| !policy.is_group_expired(slot.accepted_at, now))
            .map_or(next, |slot| slot.seq)
            .min(next);
        Some(GroupRecord {
            ids: state.ids,
            keys: state.keys,
            first,
            next,
        })
    }

    /// The entry with this sequence number, if it is live at `now` and
    /// before `visible_end`.
    pub(super) fn entry(
        &self,
        seq: u64,
        policy: &Policy,
        now: u64,
        visible_end: u64,
    ) -> Option<EntrySlot> {
        let front = self.entries.front()?.seq;
        let position = usize::try_from(seq.checked_sub(front)?).ok()?;
        // Entries are dense from the first live one: no search needed.
        let slot = *self.entries.get(position)?;
        (slot.seq == seq
            && slot.at.position() < visible_end
            && !policy.is_group_expired(slot.accepted_at, now))
        .then_some(slot)
    }
}

/// The group logs of the index.
#[derive(Default)]
pub(super) struct GroupIndex {
    /// Logs by admin id.
    pub(super) logs: HashMap<GroupAdminId, GroupEntry>,
    /// Admin ids by write id.
    writers: HashMap<GroupWriteId, GroupAdminId>,
    /// Admin ids by read id.
    readers: HashMap<GroupReadId, GroupAdminId>,
}

impl GroupIndex {
    /// Whether any log uses this id, as admin, write or read id.
    pub(super) fn holds_id(&self, id: &[u8; 24]) -> bool {
        self.logs.contains_key(&GroupAdminId::from_bytes(*id))
            || self.writers.contains_key(&GroupWriteId::from_bytes(*id))
            || self.readers.contains_key(&GroupReadId::from_bytes(*id))
    }

    /// The log, unless it has expired at `now`.
    pub(super) fn get(
        &self,
        admin_id: &GroupAdminId,
        policy: &Policy,
        now: u64,
    ) -> Option<&GroupEntry> {
        self.logs
            .get(admin_id)
            .filter(|entry| entry.state.is_some() && !entry.is_expired(policy, now))
    }

    /// The admin id of the log with this write id.
    pub(super) fn by_write(&self, write_id: &GroupWriteId) -> Option<GroupAdminId> {
        self.writers.get(write_id).copied()
    }

    /// The admin id of the log with this read id.
    pub(super) fn by_read(&self, read_id: &GroupReadId) -> Option<GroupAdminId> {
        self.readers.get(read_id).copied()
    }
}

impl Index {
    /// Applies a group record (its whole state) written at `at`.
    pub(super) fn apply_group(&mut self, state: &GroupState, at: Location) {
        let admin_id = state.ids.admin_id;
        self.groups.writers.insert(state.ids.write_id, admin_id);
        self.groups.readers.insert(state.ids.read_id, admin_id);
        self.add_live(at);
        let entry = self.groups.logs.entry(admin_id).or_default();
        entry.state = Some(*state);
        if let Some(old) = entry.state_at.replace(at) {
            self.release(old);
        }
    }

    /// Applies an appended entry written at `at`.
    pub(super) fn apply_group_entry(&mut self, admin_id: GroupAdminId, slot: EntrySlot) {
        self.add_live(slot.at);
        let entry = self.groups.logs.entry(admin_id).or_default();
        let replaced = match entry.entries.binary_search_by_key(&slot.seq, |e| e.seq) {
            Ok(position) => entry.entries.get_mut(position).map(|old| {
                // A copy forward replayed beside its original: the later wins.
                let at = old.at;
                *old = slot;
                at
            }),
            Err(position) => {
                entry.entries.insert(position, slot);
                None
            }
        };
        if let Some(old) = replaced {
            self.release(old);
        }
    }

    /// Applies a group log's deletion.
    pub(super) fn apply_group_delete(&mut self, admin_id: &GroupAdminId) {
        self.drop_group(admin_id);
    }

    /// Forgets a group log and its entries.
    fn drop_group(&mut self, admin_id: &GroupAdminId) {
        let Some(entry) = self.groups.logs.remove(admin_id) else {
            return;
        };
        if let Some(state) = entry.state {
            self.groups.writers.remove(&state.ids.write_id);
            self.groups.readers.remove(&state.ids.read_id);
        }
        if let Some(at) = entry.state_at {
            self.release(at);
        }
        for slot in entry.entries {
            self.release(slot.at);
        }
    }

    /// Forgets group entries expired at `now`, and logs expired whole or
    /// whose record never came (orphans at the end of a replay). Needs no
    /// record: replay finds them expired again. How many entries went.
    pub(super) fn expire_groups(&mut self, policy: &Policy, now: u64) -> u64 {
        let gone: Vec<GroupAdminId> = self
            .groups
            .logs
            .iter()
            .filter(|(_, entry)| entry.state.is_none() || entry.is_expired(policy, now))
            .map(|(id, _)| *id)
            .collect();
        for admin_id in &gone {
            self.drop_group(admin_id);
        }
        let mut released = Vec::new();
        for entry in self.groups.logs.values_mut() {
            // Entries are in accept order, so the expired ones are in front;
            // the log's next sequence number stays in its state.
            while let Some(first) = entry.entries.front()
                && policy.is_group_expired(first.accepted_at, now)
            {
                if let Some(state) = entry.state.as_mut() {
                    state.next_seq = state.next_seq.max(first.seq.saturating_add(1));
                    state.active_at = state.active_at.max(first.accepted_at);
                }
                released.extend(entry.entries.pop_front().map(|slot| slot.at));
            }
        }
        let expired = released.len() as u64;
        for at in released {
            self.release(at);
        }
        expired
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::group_log::tests::sample_state;

    fn policy() -> Policy {
        Policy {
            queue_quota: 4,
            message_ttl_secs: 100,
            file_ttl_secs: 100,
            group_ttl_secs: 100,
        }
    }

    fn at(offset: u32) -> Location {
        Location {
            segment: 1,
            offset,
            len: 10,
        }
    }

    fn slot(seq: u64, accepted_at: u64) -> EntrySlot {
        EntrySlot {
            seq,
            accepted_at,
            at: at(100 + seq as u32 * 10),
        }
    }

    #[test]
    fn entries_are_found_by_sequence_number_and_expire_in_front() {
        let mut index = Index::default();
        let mut state = sample_state(1);
        state.next_seq = 1;
        state.active_at = 10;
        index.apply_group(&state, at(0));
        let admin_id = state.ids.admin_id;
        for seq in 1..=3 {
            index.apply_group_entry(admin_id, slot(seq, 10 * seq));
        }
        let log = index.groups.get(&admin_id, &policy(), 20).unwrap();
        assert_eq!(log.next_seq(), 4);
        assert_eq!(log.entry(2, &policy(), 20, u64::MAX), Some(slot(2, 20)));
        assert_eq!(log.entry(4, &policy(), 20, u64::MAX), None);
        assert_eq!(log.entry(0, &policy(), 20, u64::MAX), None);
        // Not yet durable: invisible, and not counted in `next`.
        let record = log
            .to_record(&policy(), 20, slot(3, 0).at.position())
            .unwrap();
        assert_eq!((record.first, record.next), (1, 3));
        assert_eq!(log.entry(3, &policy(), 20, slot(3, 0).at.position()), None);

        assert_eq!(index.expire_groups(&policy(), 125), 2);
        let log = index.groups.get(&admin_id, &policy(), 125).unwrap();
        let record = log.to_record(&policy(), 125, u64::MAX).unwrap();
        assert_eq!((record.first, record.next), (3, 4));
        assert_eq!(log.entry(1, &policy(), 125, u64::MAX), None);
        assert_eq!(log.entry(3, &policy(), 125, u64::MAX), Some(slot(3, 30)));
        // The last entry goes too: the sequence numbers go on from the state.
        assert_eq!(index.expire_groups(&policy(), 135), 0);
        assert!(index.groups.get(&admin_id, &policy(), 135).is_none());
    }

    #[test]
    fn an_emptied_log_keeps_its_sequence_numbers() {
        let mut index = Index::default();
        let mut state = sample_state(1);
        state.next_seq = 1;
        state.active_at = 0;
        index.apply_group(&state, at(0));
        let admin_id = state.ids.admin_id;
        index.apply_group_entry(admin_id, slot(1, 10));
        index.apply_group_entry(admin_id, slot(2, 90));
        index.expire_groups(&policy(), 111);
        let log = index.groups.get(&admin_id, &policy(), 111).unwrap();
        assert_eq!(log.next_seq(), 3);
        index.expire_groups(&policy(), 191);
        // Active until 90 + 100.
        assert!(index.groups.get(&admin_id, &policy(), 189).is_none());
    }

    #[test]
    fn deletion_forgets_every_id_and_releases_everything() {
        let mut index = Index::default();
        let state = sample_state(1);
        index.apply_group(&state, at(0));
        index.apply_group_entry(state.ids.admin_id, slot(7, 10));
        assert!(index.groups.holds_id(state.ids.read_id.as_bytes()));
        index.apply_group_delete(&state.ids.admin_id);
        assert!(!index.groups.holds_id(state.ids.read_id.as_bytes()));
        assert!(!index.groups.holds_id(state.ids.write_id.as_bytes()));
        assert_eq!(index.live_bytes(), 0);
    }
}
