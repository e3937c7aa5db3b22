//! Joining a group: a fresh pseudonym and its key package, made for one invitation, then
//! the welcome that an admin's commit produced for it.

use std::collections::BTreeSet;

use openmls::prelude::{KeyPackage as MlsKeyPackage, MlsGroup, StagedWelcome};
use zeroize::Zeroizing;

use crate::Error;
use crate::commit_policy::member_id_at;
use crate::group::Group;
use crate::group_config::{
    CIPHERSUITE, capabilities, fixed_extensions, group_context_extensions, join_config, lifetime,
    roles_of,
};
use crate::member::{DisplayName, MemberId, MemberSigner};
use crate::member_profile::MemberProfile;
use crate::messages::{KeyPackage, key_package_message, parse_welcome};
use crate::provider::GroupProvider;
use crate::role::RoleMap;

/// A pseudonym made for one group, waiting for its welcome. Its key package's private
/// keys live in its provider; keep it (pickled) until [`PendingJoin::join`] succeeds.
pub struct PendingJoin {
    pub(crate) provider: GroupProvider,
    pub(crate) signer: MemberSigner,
    pub(crate) member_id: MemberId,
}

impl PendingJoin {
    /// A fresh member id and signature key named `name`, and the key package to give to
    /// the group's admin. `now` (seconds since the Unix epoch) dates the key package,
    /// valid for `lifetime_secs` (at most [`crate::MAX_KEY_PACKAGE_LIFETIME_SECS`]).
    pub fn new(
        name: &DisplayName,
        now: u64,
        lifetime_secs: u64,
    ) -> Result<(Self, KeyPackage), Error> {
        Self::with_profile(&MemberProfile::named(name.clone()), now, lifetime_secs)
    }

    /// [`PendingJoin::new`], showing a picture besides the name.
    pub fn with_profile(
        profile: &MemberProfile,
        now: u64,
        lifetime_secs: u64,
    ) -> Result<(Self, KeyPackage), Error> {
        let provider = GroupProvider::new()?;
        let signer = MemberSigner::from_seed(&Zeroizing::new(provider.random()?));
        let member_id = MemberId::from_bytes(provider.random()?);
        let bundle = MlsKeyPackage::builder()
            .key_package_lifetime(lifetime(now, lifetime_secs)?)
            .leaf_node_capabilities(capabilities())
            .leaf_node_extensions(profile.leaf_extensions()?)
            .build(
                CIPHERSUITE,
                &provider,
                &signer,
                signer.credential_with_key(&member_id),
            )
            .map_err(|_| Error::Local("key package"))?;
        let key_package = key_package_message(bundle.key_package().clone())?;
        Ok((
            Self {
                provider,
                signer,
                member_id,
            },
            key_package,
        ))
    }

    /// The member id this pseudonym will have in the group.
    pub fn member_id(&self) -> MemberId {
        self.member_id
    }

    /// Joins the group a welcome describes. The welcome must come from an owner or admin,
    /// and the group must follow Sotto's profile (ciphersuite, extensions, credentials).
    /// On error nothing is consumed: the same pending join can take another welcome.
    pub fn join(&self, welcome: &[u8]) -> Result<Group, Error> {
        self.join_with(welcome, None)
    }

    /// Joins by a welcome that lacks the ratchet tree, given apart (see
    /// [`Group::dangerous_add_members_without_tree`]). Never for production use.
    #[cfg(feature = "dangerous-testing")]
    pub fn dangerous_join_with_tree(&self, welcome: &[u8], tree: &[u8]) -> Result<Group, Error> {
        use tls_codec::DeserializeBytes as _;
        let (tree, rest) = openmls::prelude::RatchetTreeIn::tls_deserialize_bytes(tree)
            .map_err(|_| Error::Malformed("ratchet tree"))?;
        if !rest.is_empty() {
            return Err(Error::Malformed("ratchet tree"));
        }
        self.join_with(welcome, Some(tree))
    }

    fn join_with(
        &self,
        welcome: &[u8],
        tree: Option<openmls::prelude::RatchetTreeIn>,
    ) -> Result<Group, Error> {
        let welcome = parse_welcome(welcome)?;
        if welcome.ciphersuite() != CIPHERSUITE {
            return Err(Error::Incompatible("ciphersuite"));
        }
        // The group gets a copy of the storage: this pending join stays usable if the
        // welcome is refused below.
        let provider = GroupProvider::with_storage(self.provider.with_values(Clone::clone)?)?;
        let staged = StagedWelcome::new_from_welcome(&provider, &join_config(), welcome, tree)
            .map_err(|_| Error::Rejected("welcome"))?;
        let roles = roles_of(staged.group_context().extensions())?;
        check_fixed_extensions(&roles, staged.group_context().extensions())?;
        let adder = MemberId::of_credential(
            staged
                .welcome_sender()
                .map_err(|_| Error::Rejected("welcome"))?
                .credential(),
        )?;
        if !roles.role(&adder).may_add() {
            return Err(Error::Forbidden {
                role: roles.role(&adder),
                action: crate::role::Action::Add,
            });
        }
        let mls = staged
            .into_group(&provider)
            .map_err(|_| Error::Rejected("welcome"))?;
        check_members(&mls)?;
        if member_id_at(&mls, mls.own_leaf_index())? != self.member_id {
            return Err(Error::InvalidCredential);
        }
        let group = Group::from_parts(
            provider,
            mls,
            MemberSigner::from_seed(&self.signer.seed()),
            self.member_id,
            None,
            true,
        );
        group.check_profile()?;
        Ok(group)
    }
}

impl std::fmt::Debug for PendingJoin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingJoin")
            .field("member_id", &self.member_id)
            .finish_non_exhaustive()
    }
}

/// The group context must carry exactly Sotto's required capabilities besides roles.
fn check_fixed_extensions(
    roles: &RoleMap,
    extensions: &openmls::prelude::Extensions<openmls::prelude::GroupContext>,
) -> Result<(), Error> {
    let expected = group_context_extensions(roles, None)?;
    match fixed_extensions(&expected) == fixed_extensions(extensions) {
        true => Ok(()),
        false => Err(Error::Incompatible("group context extensions")),
    }
}

/// Every member has a valid credential and profile, and no member id is used twice.
fn check_members(mls: &MlsGroup) -> Result<(), Error> {
    let mut seen = BTreeSet::new();
    for member in mls.members() {
        let id = MemberId::of_credential(&member.credential)?;
        if !seen.insert(id) {
            return Err(Error::InvalidCredential);
        }
        let leaf = mls
            .public_group()
            .leaf(member.index)
            .ok_or(Error::UnknownMember)?;
        MemberProfile::of_leaf(leaf)?;
    }
    Ok(())
}
