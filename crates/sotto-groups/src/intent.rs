//! What a commit of ours means to do, kept while the commit awaits its place in the log,
//! so that a commit that loses the race for its epoch can be made again.

use crate::Error;
use crate::codec::{Reader, Writer};
use crate::group_profile::GroupProfile;
use crate::member::{DisplayName, MEMBER_ID_LEN, MemberId};
use crate::member_profile::MemberProfile;
use crate::messages::KeyPackage;
use crate::role::Role;

/// The purpose of one of our commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitIntent {
    /// Add the members of these key packages.
    Add(Vec<KeyPackage>),
    /// Remove these members.
    Remove(Vec<MemberId>),
    /// Give a member a role.
    SetRole(MemberId, Role),
    /// Renew our own leaf's keys (post-compromise security).
    SelfUpdate,
    /// Commit the proposals other members sent (e.g. members who leave).
    Proposals,
    /// Show another display name in this group, keeping the picture (a self-update
    /// carrying it).
    Rename(DisplayName),
    /// Give the group this profile (name, description, picture).
    SetProfile(GroupProfile),
    /// Show this name and picture in this group (a self-update carrying them).
    SetMemberProfile(MemberProfile),
}

const ADD: u8 = 0x01;
const REMOVE: u8 = 0x02;
const SET_ROLE: u8 = 0x03;
const SELF_UPDATE: u8 = 0x04;
const PROPOSALS: u8 = 0x05;
const RENAME: u8 = 0x06;
const SET_PROFILE: u8 = 0x07;
const SET_MEMBER_PROFILE: u8 = 0x08;

impl CommitIntent {
    /// Appends the intent's encoding (see the pickle layout in `docs/e2e-protocol.md`).
    pub(crate) fn write(&self, out: &mut Writer) {
        match self {
            CommitIntent::Add(key_packages) => {
                out.u8(ADD);
                out.u32(key_packages.len());
                for key_package in key_packages {
                    out.bytes(key_package.as_bytes());
                }
            }
            CommitIntent::Remove(members) => {
                out.u8(REMOVE);
                out.u32(members.len());
                for member in members {
                    out.raw(member.as_bytes());
                }
            }
            CommitIntent::SetRole(member, role) => {
                out.u8(SET_ROLE);
                out.raw(member.as_bytes());
                out.u8(role.to_byte());
            }
            CommitIntent::SelfUpdate => out.u8(SELF_UPDATE),
            CommitIntent::Proposals => out.u8(PROPOSALS),
            CommitIntent::Rename(name) => {
                out.u8(RENAME);
                out.bytes(name.as_str().as_bytes());
            }
            CommitIntent::SetProfile(profile) => {
                out.u8(SET_PROFILE);
                out.bytes(&profile.to_bytes());
            }
            CommitIntent::SetMemberProfile(profile) => {
                out.u8(SET_MEMBER_PROFILE);
                out.bytes(profile.name().as_str().as_bytes());
                out.bytes(profile.picture());
            }
        }
    }

    /// Reads an intent written by [`CommitIntent::write`].
    pub(crate) fn read(input: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match input.u8()? {
            ADD => {
                // Each item takes at least its 4-byte length: the count is bounded by bytes.
                let count = input.count(4)?;
                let mut key_packages = Vec::with_capacity(count);
                for _ in 0..count {
                    key_packages.push(KeyPackage::from_bytes(input.bytes()?)?);
                }
                CommitIntent::Add(key_packages)
            }
            REMOVE => {
                let count = input.count(MEMBER_ID_LEN)?;
                let mut members = Vec::with_capacity(count);
                for _ in 0..count {
                    members.push(MemberId::from_bytes(input.array()?));
                }
                CommitIntent::Remove(members)
            }
            SET_ROLE => {
                let member = MemberId::from_bytes(input.array()?);
                let role = Role::from_byte(input.u8()?).map_err(|_| input.malformed())?;
                CommitIntent::SetRole(member, role)
            }
            SELF_UPDATE => CommitIntent::SelfUpdate,
            PROPOSALS => CommitIntent::Proposals,
            RENAME => {
                let name = std::str::from_utf8(input.bytes()?).map_err(|_| input.malformed())?;
                CommitIntent::Rename(DisplayName::new(name).map_err(|_| input.malformed())?)
            }
            SET_PROFILE => CommitIntent::SetProfile(GroupProfile::from_bytes(input.bytes()?)?),
            SET_MEMBER_PROFILE => {
                let name = std::str::from_utf8(input.bytes()?).map_err(|_| input.malformed())?;
                let name = DisplayName::new(name).map_err(|_| input.malformed())?;
                let picture = input.bytes()?.to_vec();
                CommitIntent::SetMemberProfile(
                    MemberProfile::new(name, picture).map_err(|_| input.malformed())?,
                )
            }
            _ => return Err(input.malformed()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(intent: &CommitIntent) -> Result<CommitIntent, Error> {
        let mut out = Writer::new();
        intent.write(&mut out);
        let bytes = out.into_bytes();
        let mut input = Reader::new(&bytes, "intent");
        let read = CommitIntent::read(&mut input)?;
        input.finish()?;
        Ok(read)
    }

    #[test]
    fn intents_round_trip() {
        let id = MemberId::from_bytes([3; MEMBER_ID_LEN]);
        for intent in [
            CommitIntent::Add(Vec::new()),
            CommitIntent::Remove(vec![id, id]),
            CommitIntent::SetRole(id, Role::Admin),
            CommitIntent::SelfUpdate,
            CommitIntent::Proposals,
            CommitIntent::Rename(DisplayName::new("Zoë").unwrap()),
            CommitIntent::SetProfile(GroupProfile::new("Climbing", "ropes", vec![1, 2]).unwrap()),
            CommitIntent::SetMemberProfile(
                MemberProfile::new(DisplayName::new("Zoë").unwrap(), vec![3; 40]).unwrap(),
            ),
            CommitIntent::SetMemberProfile(MemberProfile::default()),
        ] {
            assert_eq!(round_trip(&intent), Ok(intent));
        }
    }

    proptest::proptest! {
        /// Reading arbitrary bytes returns an error or an intent, never panics.
        #[test]
        fn hostile_intents(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            let _ = CommitIntent::read(&mut Reader::new(&bytes, "intent"));
        }
    }
}
