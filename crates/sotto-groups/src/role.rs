//! Roles (owner, admin, member), the group context extension that holds them, and what
//! each role may do.
//!
//! The roles extension lists every member whose role is not `member`, as
//! `member id (16) || role (1)` entries sorted by member id, each id once. A member not
//! listed is a `member`. Every client checks each commit against the roles of the epoch
//! it leaves, so a forged or unauthorised change is refused by everyone.

use std::collections::BTreeMap;
use std::fmt;

use crate::Error;
use crate::member::{MEMBER_ID_LEN, MemberId};

/// Length of one entry of the roles extension.
const ENTRY_LEN: usize = MEMBER_ID_LEN + 1;

/// A member's role in one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Created the group or was made owner: may do everything, including naming owners.
    Owner,
    /// May add members, remove members and admins, and make members admins and back.
    Admin,
    /// May send messages, update its own keys and leave.
    Member,
}

impl Role {
    /// The role's byte in the roles extension.
    pub fn to_byte(self) -> u8 {
        match self {
            Role::Owner => 0x00,
            Role::Admin => 0x01,
            Role::Member => 0x02,
        }
    }

    /// The role of a byte of the roles extension.
    pub fn from_byte(byte: u8) -> Result<Self, Error> {
        match byte {
            0x00 => Ok(Role::Owner),
            0x01 => Ok(Role::Admin),
            0x02 => Ok(Role::Member),
            _ => Err(Error::InvalidRoles),
        }
    }

    /// Whether this role may add members.
    pub fn may_add(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }

    /// Whether this role may remove another member who has role `target`.
    pub fn may_remove(self, target: Role) -> bool {
        match self {
            Role::Owner => true,
            Role::Admin => target != Role::Owner,
            Role::Member => false,
        }
    }

    /// Whether this role may change a member's role from `from` to `to`.
    pub fn may_change_role(self, from: Role, to: Role) -> bool {
        match self {
            Role::Owner => true,
            Role::Admin => from != Role::Owner && to != Role::Owner,
            Role::Member => false,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        })
    }
}

/// What a commit or proposal does, as named in [`Error::Forbidden`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Add a member.
    Add,
    /// Remove another member.
    Remove,
    /// Change a member's role.
    ChangeRole,
    /// Change the group context in any other way than roles.
    ChangeGroupContext,
    /// Use a proposal type Sotto's groups do not use (PSK, re-init, external init, ...).
    UnsupportedProposal,
    /// Join or commit from outside the group.
    ExternalCommit,
    /// Delete the group for everyone (owners only).
    DeleteGroup,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Add => "add members",
            Action::Remove => "remove this member",
            Action::ChangeRole => "make this role change",
            Action::ChangeGroupContext => "change the group context",
            Action::UnsupportedProposal => "use this proposal type",
            Action::ExternalCommit => "commit from outside the group",
            Action::DeleteGroup => "delete the group",
        })
    }
}

/// The roles of a group: every member not listed is a [`Role::Member`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleMap {
    roles: BTreeMap<MemberId, Role>,
}

impl RoleMap {
    /// A map naming one owner.
    pub(crate) fn with_owner(owner: MemberId) -> Self {
        let mut map = Self::default();
        map.set(owner, Role::Owner);
        map
    }

    /// The role of a member.
    pub fn role(&self, member: &MemberId) -> Role {
        self.roles.get(member).copied().unwrap_or(Role::Member)
    }

    /// Whether the map names this member id at all (even a member who has left).
    pub(crate) fn names(&self, member: &MemberId) -> bool {
        self.roles.contains_key(member)
    }

    /// Sets a member's role (`Member` removes the entry).
    pub(crate) fn set(&mut self, member: MemberId, role: Role) {
        if role == Role::Member {
            self.roles.remove(&member);
        } else {
            self.roles.insert(member, role);
        }
    }

    /// Drops the entries of members who left, so that the extension stays small.
    pub(crate) fn forget(&mut self, member: &MemberId) {
        self.roles.remove(member);
    }

    /// The members with a role other than `Member`, by member id.
    pub fn entries(&self) -> impl Iterator<Item = (&MemberId, Role)> {
        self.roles.iter().map(|(id, role)| (id, *role))
    }

    /// Every member id whose role differs between `self` and `other`, with both roles.
    pub(crate) fn changes(&self, other: &RoleMap) -> Vec<(MemberId, Role, Role)> {
        let mut ids: Vec<&MemberId> = self.roles.keys().chain(other.roles.keys()).collect();
        ids.sort();
        ids.dedup();
        ids.into_iter()
            .filter_map(|id| {
                let (from, to) = (self.role(id), other.role(id));
                (from != to).then_some((*id, from, to))
            })
            .collect()
    }

    /// The extension data: sorted `member id || role` entries.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.roles.len() * ENTRY_LEN);
        for (id, role) in &self.roles {
            bytes.extend_from_slice(id.as_bytes());
            bytes.push(role.to_byte());
        }
        bytes
    }

    /// Parses extension data; anything but the canonical encoding is refused.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        if !bytes.len().is_multiple_of(ENTRY_LEN) {
            return Err(Error::InvalidRoles);
        }
        let mut map = Self::default();
        let mut previous: Option<MemberId> = None;
        for entry in bytes.chunks_exact(ENTRY_LEN) {
            let id = MemberId::from_slice(&entry[..MEMBER_ID_LEN]).ok_or(Error::InvalidRoles)?;
            let role = Role::from_byte(entry[MEMBER_ID_LEN])?;
            if role == Role::Member || previous.is_some_and(|p| p >= id) {
                return Err(Error::InvalidRoles);
            }
            previous = Some(id);
            map.roles.insert(id, role);
        }
        Ok(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(byte: u8) -> MemberId {
        MemberId::from_bytes([byte; MEMBER_ID_LEN])
    }

    #[test]
    fn round_trip_is_canonical() {
        let mut map = RoleMap::with_owner(id(9));
        map.set(id(3), Role::Admin);
        map.set(id(5), Role::Member);
        let bytes = map.to_bytes();
        assert_eq!(bytes.len(), 2 * ENTRY_LEN);
        assert_eq!(bytes[..MEMBER_ID_LEN], [3; MEMBER_ID_LEN]);
        assert_eq!(RoleMap::from_bytes(&bytes), Ok(map.clone()));
        assert_eq!(map.role(&id(5)), Role::Member);
        assert_eq!(map.role(&id(9)), Role::Owner);
    }

    #[test]
    fn refuses_non_canonical_encodings() {
        let mut unsorted = [id(9).as_bytes().as_slice(), &[0], id(3).as_bytes(), &[1]].concat();
        assert_eq!(RoleMap::from_bytes(&unsorted), Err(Error::InvalidRoles));
        unsorted.truncate(ENTRY_LEN);
        let duplicate = [unsorted.clone(), unsorted.clone()].concat();
        assert_eq!(RoleMap::from_bytes(&duplicate), Err(Error::InvalidRoles));
        let member_entry = [id(1).as_bytes().as_slice(), &[2]].concat();
        assert_eq!(RoleMap::from_bytes(&member_entry), Err(Error::InvalidRoles));
        let unknown_role = [id(1).as_bytes().as_slice(), &[3]].concat();
        assert_eq!(RoleMap::from_bytes(&unknown_role), Err(Error::InvalidRoles));
        assert_eq!(RoleMap::from_bytes(&[0; 5]), Err(Error::InvalidRoles));
        assert_eq!(RoleMap::from_bytes(&[]), Ok(RoleMap::default()));
    }

    proptest::proptest! {
        /// Any bytes either parse to a map that encodes back to them, or are refused.
        #[test]
        fn parsing_is_canonical(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            if let Ok(map) = RoleMap::from_bytes(&bytes) {
                proptest::prop_assert_eq!(map.to_bytes(), bytes);
            }
        }

        /// Any map encodes to bytes that parse back to it.
        #[test]
        fn maps_round_trip(entries in proptest::collection::vec((proptest::prelude::any::<[u8; MEMBER_ID_LEN]>(), 0u8..3), 0..20)) {
            let mut map = RoleMap::default();
            for (id, role) in entries {
                map.set(MemberId::from_bytes(id), Role::from_byte(role).unwrap());
            }
            proptest::prop_assert_eq!(RoleMap::from_bytes(&map.to_bytes()), Ok(map));
        }
    }

    #[test]
    fn permissions() {
        assert!(Role::Admin.may_add() && Role::Owner.may_add() && !Role::Member.may_add());
        assert!(Role::Admin.may_remove(Role::Admin) && !Role::Admin.may_remove(Role::Owner));
        assert!(!Role::Member.may_remove(Role::Member));
        assert!(Role::Admin.may_change_role(Role::Member, Role::Admin));
        assert!(!Role::Admin.may_change_role(Role::Member, Role::Owner));
        assert!(!Role::Admin.may_change_role(Role::Owner, Role::Admin));
        assert!(Role::Owner.may_change_role(Role::Owner, Role::Member));
    }

    #[test]
    fn changes_lists_each_difference_once() {
        let before = RoleMap::with_owner(id(1));
        let mut after = before.clone();
        after.set(id(2), Role::Admin);
        after.set(id(1), Role::Admin);
        assert_eq!(
            before.changes(&after),
            vec![
                (id(1), Role::Owner, Role::Admin),
                (id(2), Role::Member, Role::Admin)
            ]
        );
    }
}
