//! Groups and pending joins as versioned byte blobs for the encrypted profile database
//! and the export archive (the store encrypts them; this layer only encodes).
//!
//! ```text
//! "SMLS" || u8 version (1) || u8 kind (0x20 group, 0x21 pending join)
//! || 32 Ed25519 secret key || 16 member id
//! || [group] 32 group id
//!    || u8 pending flag (0/1) [|| u32 len || commit || u32 len || welcome (empty: none)
//!                              || intent]
//! || u32 count || count × (u32 len || storage key || u32 len || storage value)
//! ```
//!
//! A group's state can also be stored apart: a header, the bytes above up to the
//! storage with kind 0x22 (no count, no values), and OpenMLS's values as the caller
//! keeps them (`Group::state_header`, `Group::from_state`); the caller then writes only
//! the values changed since it last took the changes (`Group::take_state_changes`).
//!
//! Reading checks every length against the bytes left before allocating, refuses
//! duplicate storage keys, trailing bytes and pickles over [`MAX_PICKLE_LEN`], and then
//! checks that the restored group is one of ours: hostile bytes give an error.

use openmls::group::GroupId as MlsGroupId;
use openmls::prelude::MlsGroup;
use openmls_traits::OpenMlsProvider;
use zeroize::Zeroizing;

use crate::Error;
use crate::codec::{Reader, Writer};
use crate::group::{GROUP_ID_LEN, Group, PendingCommit};
use crate::intent::CommitIntent;
use crate::join::PendingJoin;
use crate::member::{MemberId, MemberSigner};
use crate::messages::{Commit, Welcome};
use crate::provider::{GroupProvider, StorageMap};

/// Opens every pickle.
const MAGIC: &[u8; 4] = b"SMLS";
/// The pickle format version this implementation writes and reads.
pub const PICKLE_VERSION: u8 = 1;
/// Kind byte of a pickled group.
const KIND_GROUP: u8 = 0x20;
/// Kind byte of a pickled pending join.
const KIND_PENDING_JOIN: u8 = 0x21;
/// Kind byte of a group's state header (the group's fields without its stored values).
const KIND_GROUP_HEADER: u8 = 0x22;
/// Largest pickle read (a 10,000-member group's state is well below).
pub const MAX_PICKLE_LEN: usize = 512 * 1024 * 1024;

impl Group {
    /// The group's state as a pickle (secrets inside: encrypt it, wipe it after use).
    pub fn pickle(&self) -> Result<Zeroizing<Vec<u8>>, Error> {
        let mut out = header(KIND_GROUP, &self.signer, &self.member_id);
        self.write_fields(&mut out)?;
        finish(out, &self.provider)
    }

    /// Restores a group from [`Group::pickle`]'s bytes.
    pub fn from_pickle(bytes: &[u8]) -> Result<Self, Error> {
        let mut input = open(bytes, KIND_GROUP)?;
        let fields = GroupFields::read(&mut input)?;
        fields.into_group(read_storage(input)?)
    }

    /// What the state holds besides OpenMLS's stored values: this member's signer
    /// and id, the group's id and the commit of ours that awaits the log (secrets
    /// inside: encrypt it). [`Group::from_state`] takes it back with the values.
    pub fn state_header(&self) -> Result<Zeroizing<Vec<u8>>, Error> {
        let mut out = header(KIND_GROUP_HEADER, &self.signer, &self.member_id);
        self.write_fields(&mut out)?;
        if out.len() > MAX_PICKLE_LEN {
            return Err(Error::TooLong {
                what: "group state header",
                len: out.len(),
                max: MAX_PICKLE_LEN,
            });
        }
        Ok(Zeroizing::new(out.into_bytes()))
    }

    /// Takes the stored values written or deleted since the changes were last taken
    /// (or since the group was restored), in key order.
    pub fn take_state_changes(&self) -> Result<Vec<StateChange>, Error> {
        self.provider.take_changes(|values, changed| {
            changed
                .into_iter()
                .map(|key| {
                    let value = values.get(&key).map(|value| Zeroizing::new(value.clone()));
                    StateChange { key, value }
                })
                .collect()
        })
    }

    /// Every stored value, in key order, for a group whose state is stored anew; the
    /// changes so far are taken with them.
    pub fn take_whole_state(&self) -> Result<Vec<StateChange>, Error> {
        self.provider.take_changes(|values, _| {
            let mut all: Vec<_> = values
                .iter()
                .map(|(key, value)| StateChange {
                    key: key.clone(),
                    value: Some(Zeroizing::new(value.clone())),
                })
                .collect();
            all.sort_by(|a, b| a.key.cmp(&b.key));
            all
        })
    }

    /// Restores a group from [`Group::state_header`]'s bytes and the stored values
    /// (each key once; keys and values together at most [`MAX_PICKLE_LEN`] bytes).
    pub fn from_state(
        header: &[u8],
        values: impl IntoIterator<Item = (Vec<u8>, Zeroizing<Vec<u8>>)>,
    ) -> Result<Self, Error> {
        let mut input = open(header, KIND_GROUP_HEADER)?;
        let fields = GroupFields::read(&mut input)?;
        input.finish()?;
        let mut map = StorageMap::new();
        let mut total = 0usize;
        for (key, mut value) in values {
            total = total.saturating_add(key.len()).saturating_add(value.len());
            if total > MAX_PICKLE_LEN || key.is_empty() {
                return Err(Error::Malformed("group state"));
            }
            if map.insert(key, std::mem::take(&mut *value)).is_some() {
                return Err(Error::Malformed("group state"));
            }
        }
        fields.into_group(GroupProvider::with_storage(map)?)
    }

    /// The group's fields of a pickle or state header, after the common header.
    fn write_fields(&self, out: &mut Writer) -> Result<(), Error> {
        out.raw(self.id()?.as_bytes());
        match self.pending() {
            None => out.u8(0),
            Some(pending) => {
                out.u8(1);
                out.bytes(pending.commit.as_bytes());
                out.bytes(pending.welcome.as_ref().map_or(&[][..], Welcome::as_bytes));
                pending.intent.write(out);
            }
        }
        Ok(())
    }
}

/// One change to a group's stored values: the value now stored under a key, or none
/// when the key was deleted. The value holds secrets: it is wiped on drop.
pub struct StateChange {
    /// The storage key (opaque bytes, never empty).
    pub key: Vec<u8>,
    /// The value stored, or none for a deletion.
    pub value: Option<Zeroizing<Vec<u8>>>,
}

impl std::fmt::Debug for StateChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateChange")
            .field("deleted", &self.value.is_none())
            .finish_non_exhaustive()
    }
}

/// A group's fields besides its stored values, as read.
struct GroupFields {
    signer: MemberSigner,
    member_id: MemberId,
    group_id: [u8; GROUP_ID_LEN],
    pending: Option<PendingCommit>,
}

impl GroupFields {
    fn read(input: &mut Reader<'_>) -> Result<Self, Error> {
        let (signer, member_id) = read_header(input)?;
        let group_id: [u8; GROUP_ID_LEN] = input.array()?;
        let pending = match input.u8()? {
            0 => None,
            1 => Some(PendingCommit {
                commit: Commit::from_stored(input.bytes()?),
                welcome: match input.bytes()? {
                    [] => None,
                    welcome => Some(Welcome::from_stored(welcome)),
                },
                intent: CommitIntent::read(input)?,
            }),
            _ => return Err(input.malformed()),
        };
        Ok(Self {
            signer,
            member_id,
            group_id,
            pending,
        })
    }

    /// The group over `provider`'s storage, checked to be one of ours.
    fn into_group(self, provider: GroupProvider) -> Result<Group, Error> {
        let mls = MlsGroup::load(provider.storage(), &MlsGroupId::from_slice(&self.group_id))
            .map_err(|_| Error::Malformed("group pickle"))?
            .ok_or(Error::Malformed("group pickle"))?;
        if self.pending.is_some() != mls.pending_commit().is_some() {
            return Err(Error::Malformed("group pickle"));
        }
        // As stored: the header has no change to write.
        let group = Group::from_parts(
            provider,
            mls,
            self.signer,
            self.member_id,
            self.pending,
            false,
        );
        group.check_profile()?;
        if group.member_at(group.mls.own_leaf_index()).ok() != Some(self.member_id)
            && group.is_active()
        {
            return Err(Error::Malformed("group pickle"));
        }
        Ok(group)
    }
}

impl PendingJoin {
    /// The pending join's state as a pickle (secrets inside: encrypt it).
    pub fn pickle(&self) -> Result<Zeroizing<Vec<u8>>, Error> {
        finish(
            header(KIND_PENDING_JOIN, &self.signer, &self.member_id),
            &self.provider,
        )
    }

    /// Restores a pending join from [`PendingJoin::pickle`]'s bytes.
    pub fn from_pickle(bytes: &[u8]) -> Result<Self, Error> {
        let mut input = open(bytes, KIND_PENDING_JOIN)?;
        let (signer, member_id) = read_header(&mut input)?;
        Ok(Self {
            provider: read_storage(input)?,
            signer,
            member_id,
        })
    }
}

fn header(kind: u8, signer: &MemberSigner, member_id: &MemberId) -> Writer {
    let mut out = Writer::new();
    out.raw(MAGIC);
    out.u8(PICKLE_VERSION);
    out.u8(kind);
    out.raw(signer.seed().as_slice());
    out.raw(member_id.as_bytes());
    out
}

/// Appends the storage and hands the pickle over in a buffer wiped on drop.
fn finish(mut out: Writer, provider: &GroupProvider) -> Result<Zeroizing<Vec<u8>>, Error> {
    provider.with_values(|values| {
        // Sorted, so that the same state always gives the same bytes.
        let mut entries: Vec<_> = values.iter().collect();
        entries.sort();
        out.u32(entries.len());
        for (key, value) in entries {
            out.bytes(key);
            out.bytes(value);
        }
    })?;
    if out.len() > MAX_PICKLE_LEN {
        return Err(Error::TooLong {
            what: "pickle",
            len: out.len(),
            max: MAX_PICKLE_LEN,
        });
    }
    Ok(Zeroizing::new(out.into_bytes()))
}

fn open(bytes: &[u8], kind: u8) -> Result<Reader<'_>, Error> {
    if bytes.len() > MAX_PICKLE_LEN {
        return Err(Error::TooLong {
            what: "pickle",
            len: bytes.len(),
            max: MAX_PICKLE_LEN,
        });
    }
    let mut input = Reader::new(bytes, "pickle");
    if &input.array::<4>()? != MAGIC {
        return Err(input.malformed());
    }
    let version = input.u8()?;
    if version != PICKLE_VERSION {
        return Err(Error::UnsupportedVersion(version));
    }
    if input.u8()? != kind {
        return Err(input.malformed());
    }
    Ok(input)
}

fn read_header(input: &mut Reader<'_>) -> Result<(MemberSigner, MemberId), Error> {
    let seed = Zeroizing::new(input.array()?);
    Ok((
        MemberSigner::from_seed(&seed),
        MemberId::from_bytes(input.array()?),
    ))
}

fn read_storage(mut input: Reader<'_>) -> Result<GroupProvider, Error> {
    // Each entry takes at least its two 4-byte lengths.
    let count = input.count(8)?;
    let mut values = StorageMap::with_capacity(count);
    for _ in 0..count {
        let key = input.bytes()?.to_vec();
        let value = input.bytes()?.to_vec();
        if values.insert(key, value).is_some() {
            return Err(input.malformed());
        }
    }
    input.finish()?;
    GroupProvider::with_storage(values)
}
