//! What the store keeps of a group log: its three ids, its three keys, and
//! where its sequence numbers stand. Its entries are opaque fixed-size bytes,
//! each stored with its sequence number and the time it was appended.

use sotto_wire::{GroupAdminId, GroupReadId, GroupWriteId};

use super::AuthKey;

/// The ids of a group log, one per role: admins, writers, readers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupIds {
    /// For GKEY and GDEL; the log's key in the store.
    pub admin_id: GroupAdminId,
    /// For GAPP.
    pub write_id: GroupWriteId,
    /// For GREAD, GSUB and GUNSUB.
    pub read_id: GroupReadId,
}

impl GroupIds {
    /// The three ids as bytes.
    pub fn all(&self) -> [[u8; 24]; 3] {
        [
            *self.admin_id.as_bytes(),
            *self.write_id.as_bytes(),
            *self.read_id.as_bytes(),
        ]
    }

    /// Whether two of the ids are equal (never, from a random source).
    pub fn repeats_an_id(&self) -> bool {
        let [admin, write, read] = self.all();
        admin == write || admin == read || write == read
    }
}

/// The keys of a group log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupKeys {
    /// Authorizes GKEY and GDEL; never changes.
    pub admin_key: AuthKey,
    /// Authorizes GAPP until the next GKEY.
    pub write_key: AuthKey,
    /// Authorizes GREAD, GSUB and GUNSUB until the next GKEY.
    pub read_key: AuthKey,
}

/// A group log as readers of the store see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupRecord {
    /// Its ids.
    pub ids: GroupIds,
    /// Its keys.
    pub keys: GroupKeys,
    /// The sequence number of its oldest entry not expired (`next` when it
    /// holds none).
    pub first: u64,
    /// The sequence number its next entry gets.
    pub next: u64,
}

/// The sequence number of a log's first entry.
pub const FIRST_SEQ: u64 = 1;

/// Bytes of an encoded group state: three ids, three keys, the next
/// sequence number and the time of the last GNEW, GKEY or GAPP.
pub const GROUP_STATE_LEN: usize = 3 * 24 + 3 * 32 + 8 + 8;

/// A group log's durable state, without its entries, as both backends encode
/// it: admin id ‖ write id ‖ read id ‖ admin key ‖ write key ‖ read key ‖
/// next sequence number (u64) ‖ active_at (u64, unix seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupState {
    /// Its ids.
    pub ids: GroupIds,
    /// Its keys.
    pub keys: GroupKeys,
    /// The sequence number its next entry gets, at least.
    pub next_seq: u64,
    /// When it was last created, rekeyed or appended to: it expires the
    /// group TTL after.
    pub active_at: u64,
}

impl GroupState {
    /// Writes the state (see the type's documentation).
    pub fn encode(&self, out: &mut Vec<u8>) {
        for id in self.ids.all() {
            out.extend_from_slice(&id);
        }
        out.extend_from_slice(self.keys.admin_key.as_bytes());
        out.extend_from_slice(self.keys.write_key.as_bytes());
        out.extend_from_slice(self.keys.read_key.as_bytes());
        out.extend_from_slice(&self.next_seq.to_be_bytes());
        out.extend_from_slice(&self.active_at.to_be_bytes());
    }

    /// Reads a state; `None` unless it is exactly [`GROUP_STATE_LEN`] bytes.
    pub fn decode(bytes: &[u8]) -> Option<GroupState> {
        let bytes: &[u8; GROUP_STATE_LEN] = bytes.try_into().ok()?;
        let mut rest: &[u8] = bytes;
        let mut take = |n: usize| {
            let (head, tail) = rest.split_at_checked(n)?;
            rest = tail;
            Some(head)
        };
        let id = |bytes: Option<&[u8]>| -> Option<[u8; 24]> { bytes?.try_into().ok() };
        let key = |bytes: Option<&[u8]>| -> Option<AuthKey> {
            Some(AuthKey::from_bytes(bytes?.try_into().ok()?))
        };
        let number = |bytes: Option<&[u8]>| -> Option<u64> {
            Some(u64::from_be_bytes(bytes?.try_into().ok()?))
        };
        let ids = GroupIds {
            admin_id: GroupAdminId::from_bytes(id(take(24))?),
            write_id: GroupWriteId::from_bytes(id(take(24))?),
            read_id: GroupReadId::from_bytes(id(take(24))?),
        };
        let keys = GroupKeys {
            admin_key: key(take(32))?,
            write_key: key(take(32))?,
            read_key: key(take(32))?,
        };
        Some(GroupState {
            ids,
            keys,
            next_seq: number(take(8))?,
            active_at: number(take(8))?,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample_state(seed: u8) -> GroupState {
        GroupState {
            ids: GroupIds {
                admin_id: GroupAdminId::from_bytes([seed; 24]),
                write_id: GroupWriteId::from_bytes([seed.wrapping_add(1); 24]),
                read_id: GroupReadId::from_bytes([seed.wrapping_add(2); 24]),
            },
            keys: GroupKeys {
                admin_key: AuthKey::from_bytes([seed.wrapping_add(3); 32]),
                write_key: AuthKey::from_bytes([seed.wrapping_add(4); 32]),
                read_key: AuthKey::from_bytes([seed.wrapping_add(5); 32]),
            },
            next_seq: 7,
            active_at: 1_800_000_000,
        }
    }

    #[test]
    fn states_round_trip_at_their_one_length() {
        let state = sample_state(10);
        let mut bytes = Vec::new();
        state.encode(&mut bytes);
        assert_eq!(bytes.len(), GROUP_STATE_LEN);
        assert_eq!(GroupState::decode(&bytes), Some(state));
        assert_eq!(GroupState::decode(&bytes[1..]), None);
        bytes.push(0);
        assert_eq!(GroupState::decode(&bytes), None);
    }

    #[test]
    fn repeated_ids_are_seen() {
        let mut ids = sample_state(1).ids;
        assert!(!ids.repeats_an_id());
        ids.read_id = GroupReadId::from_bytes(*ids.admin_id.as_bytes());
        assert!(ids.repeats_an_id());
    }
}
