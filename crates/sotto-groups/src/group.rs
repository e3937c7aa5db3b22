//! A group as one member holds it: the OpenMLS group, this member's per-group signer and
//! member id, its own provider, and the commit of ours that awaits its place in the log.

use openmls::group::GroupId as MlsGroupId;
use openmls::prelude::{LeafNode, LeafNodeIndex, MlsGroup};
use zeroize::Zeroizing;

use crate::Error;
use crate::commit_policy::member_id_at;
use crate::group_config::{CIPHERSUITE, create_config, lifetime, profile_of, roles_of};
use crate::group_profile::GroupProfile;
use crate::intent::CommitIntent;
use crate::member::{DisplayName, MemberId, MemberSigner};
use crate::member_profile::MemberProfile;
use crate::messages::{Commit, Welcome};
use crate::provider::GroupProvider;
use crate::role::{Role, RoleMap};
use crate::security_code::member_security_code;

/// Length of a group id.
pub const GROUP_ID_LEN: usize = 32;

/// A group's random id.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct GroupId([u8; GROUP_ID_LEN]);

impl GroupId {
    /// The id's bytes.
    pub fn as_bytes(&self) -> &[u8; GROUP_ID_LEN] {
        &self.0
    }

    /// The id of OpenMLS's group id, which must be [`GROUP_ID_LEN`] bytes.
    pub(crate) fn of_mls(id: &MlsGroupId) -> Result<Self, Error> {
        id.as_slice()
            .try_into()
            .map(Self)
            .map_err(|_| Error::Incompatible("group id"))
    }
}

impl std::fmt::Debug for GroupId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GroupId({:02x}{:02x}…)", self.0[0], self.0[1])
    }
}

/// One member as the group shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberView {
    /// The member's id in this group.
    pub id: MemberId,
    /// The name the member chose for this group.
    pub name: DisplayName,
    /// The picture the member chose for this group (empty for none).
    pub picture: Vec<u8>,
    /// The member's role.
    pub role: Role,
}

/// A commit of ours that was made but has not yet come back from the log.
#[derive(Debug, Clone)]
pub(crate) struct PendingCommit {
    pub(crate) intent: CommitIntent,
    pub(crate) commit: Commit,
    /// The welcome for the members it adds, released once the commit is confirmed.
    pub(crate) welcome: Option<Welcome>,
}

/// A group this member belongs to.
pub struct Group {
    pub(crate) provider: GroupProvider,
    pub(crate) mls: MlsGroup,
    pub(crate) signer: MemberSigner,
    pub(crate) member_id: MemberId,
    /// Our commit that awaits the log: change it through [`Group::set_pending`]
    /// and [`Group::take_pending`], which mark the state header changed.
    pending: Option<PendingCommit>,
    /// The state header changed since it was last taken
    /// ([`Group::take_header_change`]).
    header_changed: bool,
}

impl Group {
    /// Creates a group whose only member, its owner, is a fresh pseudonym named `name`.
    /// `now` (seconds since the Unix epoch) dates the owner's leaf, valid for
    /// `lifetime_secs`.
    pub fn create(name: &DisplayName, now: u64, lifetime_secs: u64) -> Result<Self, Error> {
        Self::create_with_profile(name, None, now, lifetime_secs)
    }

    /// [`Group::create`], with the group's profile (its name, description and picture,
    /// which every member reads).
    pub fn create_with_profile(
        name: &DisplayName,
        profile: Option<&GroupProfile>,
        now: u64,
        lifetime_secs: u64,
    ) -> Result<Self, Error> {
        let provider = GroupProvider::new()?;
        let signer = MemberSigner::from_seed(&Zeroizing::new(provider.random()?));
        let member_id = MemberId::from_bytes(provider.random()?);
        let group_id = MlsGroupId::from_slice(&provider.random::<GROUP_ID_LEN>()?);
        let config = create_config(
            &RoleMap::with_owner(member_id),
            &MemberProfile::named(name.clone()),
            lifetime(now, lifetime_secs)?,
            profile,
        )?;
        let mls = MlsGroup::new_with_group_id(
            &provider,
            &signer,
            &config,
            group_id,
            signer.credential_with_key(&member_id),
        )
        .map_err(|_| Error::Local("group creation"))?;
        Ok(Self {
            provider,
            mls,
            signer,
            member_id,
            pending: None,
            header_changed: true,
        })
    }

    /// A group of these parts, its header as stored (`header_changed` false
    /// when it was read from its stored state).
    pub(crate) fn from_parts(
        provider: GroupProvider,
        mls: MlsGroup,
        signer: MemberSigner,
        member_id: MemberId,
        pending: Option<PendingCommit>,
        header_changed: bool,
    ) -> Self {
        Self {
            provider,
            mls,
            signer,
            member_id,
            pending,
            header_changed,
        }
    }

    pub(crate) fn pending(&self) -> Option<&PendingCommit> {
        self.pending.as_ref()
    }

    pub(crate) fn set_pending(&mut self, pending: PendingCommit) {
        self.pending = Some(pending);
        self.header_changed = true;
    }

    pub(crate) fn take_pending(&mut self) -> Option<PendingCommit> {
        let pending = self.pending.take();
        self.header_changed |= pending.is_some();
        pending
    }

    /// The state header ([`Group::state_header`]) if it changed since it was last
    /// taken (our commit that awaits the log came or went): what a store that keeps
    /// the header apart from the stored values writes again.
    pub fn take_header_change(&mut self) -> Result<Option<Zeroizing<Vec<u8>>>, Error> {
        if !self.header_changed {
            return Ok(None);
        }
        let header = self.state_header()?;
        self.header_changed = false;
        Ok(Some(header))
    }

    /// The group's profile (name, description, picture), if it has one.
    pub fn profile(&self) -> Result<Option<GroupProfile>, Error> {
        profile_of(self.mls.extensions())
    }

    /// The group's id.
    pub fn id(&self) -> Result<GroupId, Error> {
        GroupId::of_mls(self.mls.group_id())
    }

    /// This member's id in the group.
    pub fn own_member_id(&self) -> MemberId {
        self.member_id
    }

    /// The current epoch.
    pub fn epoch(&self) -> u64 {
        self.mls.epoch().as_u64()
    }

    /// Whether this member is still in the group.
    pub fn is_active(&self) -> bool {
        self.mls.is_active()
    }

    /// Whether a commit of ours awaits its place in the log.
    pub fn has_pending_commit(&self) -> bool {
        self.pending().is_some()
    }

    /// Our commit that awaits its place in the log, to append again after a restart.
    pub fn pending_commit(&self) -> Option<&Commit> {
        self.pending().map(|pending| &pending.commit)
    }

    /// A 32-byte secret of the current epoch for `label` (RFC 9420 MLS-Exporter with an
    /// empty context): every member of the epoch derives the same, no one else can.
    pub fn export_secret(&self, label: &str) -> Result<Zeroizing<[u8; 32]>, Error> {
        use openmls_traits::OpenMlsProvider;
        let secret = Zeroizing::new(
            self.mls
                .export_secret(self.provider.crypto(), label, &[], 32)
                .map_err(|_| Error::Local("exporting a secret"))?,
        );
        let mut out = Zeroizing::new([0; 32]);
        if secret.len() != 32 {
            return Err(Error::Local("exporting a secret"));
        }
        out.copy_from_slice(&secret);
        Ok(out)
    }

    /// The number of members.
    pub fn member_count(&self) -> usize {
        self.member_leaves().count()
    }

    /// The leaves that hold a member, borrowed: OpenMLS's `members()` copies every
    /// member's keys and credential, a cost that a large group pays at each call.
    fn member_leaves(&self) -> impl Iterator<Item = (LeafNodeIndex, &LeafNode)> {
        self.mls.public_group().treesync().full_leaves()
    }

    /// The name `member` chose for this group.
    pub fn member_name(&self, member: &MemberId) -> Result<DisplayName, Error> {
        DisplayName::of_leaf(self.leaf(member)?)
    }

    /// The name and picture `member` chose for this group.
    pub fn member_profile(&self, member: &MemberId) -> Result<MemberProfile, Error> {
        MemberProfile::of_leaf(self.leaf(member)?)
    }

    fn leaf(&self, member: &MemberId) -> Result<&LeafNode, Error> {
        let index = self.leaf_index(member)?;
        self.mls
            .public_group()
            .leaf(index)
            .ok_or(Error::UnknownMember)
    }

    /// The roles of the current epoch.
    pub fn roles(&self) -> Result<RoleMap, Error> {
        roles_of(self.mls.extensions())
    }

    /// A member's role.
    pub fn role(&self, member: &MemberId) -> Result<Role, Error> {
        self.leaf_index(member)?;
        Ok(self.roles()?.role(member))
    }

    /// Every member with name, picture and role, in leaf order.
    pub fn members(&self) -> Result<Vec<MemberView>, Error> {
        let roles = self.roles()?;
        self.mls
            .members()
            .map(|member| {
                let id = MemberId::of_credential(&member.credential)?;
                let leaf = self
                    .mls
                    .public_group()
                    .leaf(member.index)
                    .ok_or(Error::UnknownMember)?;
                let profile = MemberProfile::of_leaf(leaf)?;
                Ok(MemberView {
                    id,
                    name: profile.name().clone(),
                    picture: profile.picture().to_vec(),
                    role: roles.role(&id),
                })
            })
            .collect()
    }

    /// The security code this member and `member` compare to check that they see the
    /// same keys (docs/e2e-protocol.md, MLS groups).
    pub fn security_code(&self, member: &MemberId) -> Result<sotto_crypto::SecurityCode, Error> {
        let index = self.leaf_index(member)?;
        let theirs = self
            .mls
            .member_at(index)
            .ok_or(Error::UnknownMember)?
            .signature_key;
        Ok(member_security_code(
            self.id()?.as_bytes(),
            &self.signer.public_key(),
            &theirs,
        ))
    }

    /// The leaf of a member.
    pub(crate) fn leaf_index(&self, member: &MemberId) -> Result<LeafNodeIndex, Error> {
        self.member_leaves()
            .find(|(_, leaf)| MemberId::of_credential(leaf.credential()).as_ref() == Ok(member))
            .map(|(index, _)| index)
            .ok_or(Error::UnknownMember)
    }

    /// The member id of a leaf.
    pub(crate) fn member_at(&self, index: LeafNodeIndex) -> Result<MemberId, Error> {
        member_id_at(&self.mls, index)
    }

    /// Checks that a restored or joined group is one of ours.
    pub(crate) fn check_profile(&self) -> Result<(), Error> {
        if self.mls.ciphersuite() != CIPHERSUITE {
            return Err(Error::Incompatible("ciphersuite"));
        }
        self.id()?;
        self.members()?;
        Ok(())
    }
}

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Group")
            .field("member_id", &self.member_id)
            .field("epoch", &self.epoch())
            .field("pending_commit", &self.pending().is_some())
            .finish_non_exhaustive()
    }
}
