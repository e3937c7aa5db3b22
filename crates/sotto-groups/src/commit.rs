//! Our own commits: each is made from a [`CommitIntent`], checked against the same
//! rules every member applies (so we never publish a commit others refuse), and kept
//! pending until the log tells whether it came first for its epoch.

use openmls::group::{CommitBuilder, Initial};
use openmls::prelude::{
    Extensions, GroupContext, KeyPackage as MlsKeyPackage, LeafNodeIndex, LeafNodeParameters,
    Proposal as MlsProposal, ProtocolVersion, Sender,
};
use openmls_traits::OpenMlsProvider;

use crate::Error;
use crate::commit_policy::review_commit;
use crate::event::{CommitSummary, GroupEvent};
use crate::group::{Group, PendingCommit};
use crate::group_config::{capabilities, group_context_extensions};
use crate::group_profile::GroupProfile;
use crate::intent::CommitIntent;
use crate::member::{DisplayName, MemberId};
use crate::member_profile::MemberProfile;
use crate::messages::{Commit, KeyPackage, Proposal, Welcome};
use crate::role::Role;

impl Group {
    /// Adds the members of these key packages in one commit (owners and admins). Their
    /// welcome comes with [`GroupEvent::OwnCommitConfirmed`] once the commit is first in
    /// the log: a welcome to a commit that lost would open a dead branch of the group.
    pub fn add_members(&mut self, key_packages: &[KeyPackage]) -> Result<Commit, Error> {
        self.commit(CommitIntent::Add(key_packages.to_vec()))
    }

    /// Removes these members in one commit.
    pub fn remove_members(&mut self, members: &[MemberId]) -> Result<Commit, Error> {
        self.commit(CommitIntent::Remove(members.to_vec()))
    }

    /// Gives a member a role.
    pub fn set_role(&mut self, member: MemberId, role: Role) -> Result<Commit, Error> {
        self.commit(CommitIntent::SetRole(member, role))
    }

    /// Gives the group a new profile (owners and admins): its name, description and
    /// picture, as every member shows them from the commit's epoch on.
    pub fn set_profile(&mut self, profile: GroupProfile) -> Result<Commit, Error> {
        self.commit(CommitIntent::SetProfile(profile))
    }

    /// Renews this member's leaf keys (post-compromise security).
    pub fn self_update(&mut self) -> Result<Commit, Error> {
        self.commit(CommitIntent::SelfUpdate)
    }

    /// Shows another display name in this group from the next epoch on.
    pub fn rename(&mut self, name: &DisplayName) -> Result<Commit, Error> {
        self.commit(CommitIntent::Rename(name.clone()))
    }

    /// Shows another name and picture in this group from the next epoch on (any
    /// member, for itself: a self-update whose leaf carries them).
    pub fn set_member_profile(&mut self, profile: &MemberProfile) -> Result<Commit, Error> {
        self.commit(CommitIntent::SetMemberProfile(profile.clone()))
    }

    /// Commits the proposals other members sent (any member may).
    pub fn commit_proposals(&mut self) -> Result<Commit, Error> {
        self.commit(CommitIntent::Proposals)
    }

    /// Proposes this member's own removal; it is out once another member commits it.
    pub fn leave(&mut self) -> Result<Proposal, Error> {
        self.ensure_no_pending()?;
        let roles = self.roles()?;
        let last_owner = roles.role(&self.member_id) == Role::Owner
            && roles
                .entries()
                .filter(|(id, role)| *role == Role::Owner && **id != self.member_id)
                .all(|(id, _)| self.leaf_index(id).is_err());
        if last_owner && self.member_count() > 1 {
            return Err(Error::LastOwner);
        }
        let message = self
            .mls
            .leave_group(&self.provider, &self.signer)
            .map_err(|_| Error::Local("leave proposal"))?;
        Proposal::new(&message)
    }

    /// Makes again what a lost commit meant to do, leaving out what the winning commit
    /// already did (members already added or removed, a role already set). `None` if
    /// nothing is left to do.
    pub fn reapply(&mut self, intent: CommitIntent) -> Result<Option<Commit>, Error> {
        let intent = match intent {
            CommitIntent::Add(key_packages) => {
                let mut left = Vec::new();
                for key_package in key_packages {
                    let credential = key_package.parse()?.unverified_credential().credential;
                    let id = MemberId::of_credential(&credential)?;
                    if self.leaf_index(&id).is_err() {
                        left.push(key_package);
                    }
                }
                (!left.is_empty()).then_some(CommitIntent::Add(left))
            }
            CommitIntent::Remove(members) => {
                let left: Vec<_> = members
                    .into_iter()
                    .filter(|id| self.leaf_index(id).is_ok())
                    .collect();
                (!left.is_empty()).then_some(CommitIntent::Remove(left))
            }
            CommitIntent::SetRole(member, role) => (self.leaf_index(&member).is_ok()
                && self.roles()?.role(&member) != role)
                .then_some(CommitIntent::SetRole(member, role)),
            // The winning commit may have committed the queued proposals already.
            CommitIntent::Proposals => self
                .mls
                .has_pending_proposals()
                .then_some(CommitIntent::Proposals),
            CommitIntent::SelfUpdate => Some(CommitIntent::SelfUpdate),
            CommitIntent::Rename(name) => Some(CommitIntent::Rename(name)),
            CommitIntent::SetMemberProfile(profile) => {
                Some(CommitIntent::SetMemberProfile(profile))
            }
            CommitIntent::SetProfile(profile) => (self.profile()?.as_ref() != Some(&profile))
                .then_some(CommitIntent::SetProfile(profile)),
        };
        intent.map(|intent| self.commit(intent)).transpose()
    }

    /// Puts our pending commit in effect without waiting for it to come back from the
    /// log (when the log has confirmed its position by other means).
    pub fn confirm_commit(&mut self) -> Result<GroupEvent, Error> {
        let summary = self.pending_summary()?;
        self.mls
            .merge_pending_commit(&self.provider)
            .map_err(|_| Error::Local("merging our commit"))?;
        let welcome = self.take_pending().and_then(|pending| pending.welcome);
        Ok(GroupEvent::OwnCommitConfirmed { summary, welcome })
    }

    /// Drops our pending commit (e.g. the log refused it); its intent is returned.
    pub fn discard_commit(&mut self) -> Result<Option<CommitIntent>, Error> {
        let Some(pending) = self.take_pending() else {
            return Ok(None);
        };
        self.mls
            .clear_pending_commit(self.provider.storage())
            .map_err(|_| Error::Local("clearing our commit"))?;
        Ok(Some(pending.intent))
    }

    /// Makes a commit without checking it against the roles, so that tests can show
    /// that every other member refuses it. Never for production use.
    #[cfg(feature = "dangerous-testing")]
    pub fn dangerous_commit_without_policy(
        &mut self,
        intent: CommitIntent,
    ) -> Result<Commit, Error> {
        self.commit_with(intent, false, true)
    }

    /// A self-update whose leaf claims another member's id with this profile (signed
    /// with our own key), so that tests can show that every member refuses a commit
    /// that changes another member's name or picture. Never for production use.
    #[cfg(feature = "dangerous-testing")]
    pub fn dangerous_update_as(
        &mut self,
        member: MemberId,
        profile: &MemberProfile,
    ) -> Result<Commit, Error> {
        let leaf = LeafNodeParameters::builder()
            .with_credential_with_key(self.signer.credential_with_key(&member))
            .with_capabilities(capabilities())
            .with_extensions(profile.leaf_extensions()?)
            .build();
        let intent = CommitIntent::SetMemberProfile(profile.clone());
        self.commit_plan(intent, Plan::Leaf(leaf), false, true)
    }

    /// Adds members with a welcome that lacks the ratchet tree (the joiners take it from
    /// [`Group::dangerous_ratchet_tree`]), so that benchmarks can build large groups
    /// without hashing the tree once per joiner. Never for production use.
    #[cfg(feature = "dangerous-testing")]
    pub fn dangerous_add_members_without_tree(
        &mut self,
        key_packages: &[KeyPackage],
    ) -> Result<Commit, Error> {
        self.commit_with(CommitIntent::Add(key_packages.to_vec()), true, false)
    }

    /// The current ratchet tree, encoded, for [`PendingJoin::dangerous_join_with_tree`].
    ///
    /// [`PendingJoin::dangerous_join_with_tree`]: crate::PendingJoin::dangerous_join_with_tree
    #[cfg(feature = "dangerous-testing")]
    pub fn dangerous_ratchet_tree(&self) -> Result<Vec<u8>, Error> {
        use tls_codec::Serialize as _;
        self.mls
            .export_ratchet_tree()
            .tls_serialize_detached()
            .map_err(|_| Error::Local("ratchet tree"))
    }

    /// Makes, checks and keeps pending the commit of an intent.
    fn commit(&mut self, intent: CommitIntent) -> Result<Commit, Error> {
        self.commit_with(intent, true, true)
    }

    fn commit_with(
        &mut self,
        intent: CommitIntent,
        check: bool,
        tree_in_welcome: bool,
    ) -> Result<Commit, Error> {
        self.ensure_no_pending()?;
        if !self.mls.is_active() {
            return Err(Error::NotAMember);
        }
        let plan = self.plan(&intent)?;
        self.commit_plan(intent, plan, check, tree_in_welcome)
    }

    /// Makes the commit of a plan, checks it as every member will (unless `check` is
    /// false) and keeps it pending with its intent.
    fn commit_plan(
        &mut self,
        intent: CommitIntent,
        plan: Plan,
        check: bool,
        tree_in_welcome: bool,
    ) -> Result<Commit, Error> {
        self.ensure_no_pending()?;
        let builder = self.mls.commit_builder();
        let builder = match plan {
            Plan::Add(key_packages) => builder.propose_adds(key_packages),
            Plan::Remove(leaves, forget) => {
                let builder = builder.propose_removals(leaves);
                add_extensions(builder, forget)?
            }
            Plan::Extensions(extensions) => add_extensions(builder, Some(extensions))?,
            Plan::SelfUpdate => builder.force_self_update(true),
            Plan::Leaf(leaf) => builder.force_self_update(true).leaf_node_parameters(leaf),
            Plan::Proposals(forget) => add_extensions(builder, forget)?,
        };
        let bundle = builder
            .load_psks(self.provider.storage())
            .map_err(|_| Error::Local("commit"))?
            .use_ratchet_tree_extension(tree_in_welcome)
            .build(
                self.provider.rand(),
                self.provider.crypto(),
                &self.signer,
                |_| true,
            )
            .map_err(|_| Error::Rejected("commit"))?
            .stage_commit(&self.provider)
            .map_err(|_| Error::Local("staging our commit"))?;
        let commit = Commit::new(bundle.commit())?;
        let welcome = bundle
            .to_welcome_msg()
            .map(|message| Welcome::new(&message))
            .transpose()?;
        self.set_pending(PendingCommit {
            intent,
            commit: commit.clone(),
            welcome,
        });
        // The same rules as every other member: a commit they would refuse is dropped here.
        if let (true, Err(refused)) = (check, self.pending_summary()) {
            self.discard_commit()?;
            return Err(refused);
        }
        Ok(commit)
    }

    /// What OpenMLS is asked to commit for an intent.
    fn plan(&self, intent: &CommitIntent) -> Result<Plan, Error> {
        Ok(match intent {
            CommitIntent::Add(key_packages) if key_packages.is_empty() => {
                return Err(Error::NothingToCommit);
            }
            CommitIntent::Add(key_packages) => Plan::Add(self.verify_key_packages(key_packages)?),
            CommitIntent::Remove(members) if members.is_empty() => {
                return Err(Error::NothingToCommit);
            }
            CommitIntent::Remove(members) => Plan::Remove(
                members
                    .iter()
                    .map(|id| self.leaf_index(id))
                    .collect::<Result<_, _>>()?,
                self.forget_roles(members)?,
            ),
            CommitIntent::SetRole(member, role) => {
                self.leaf_index(member)?;
                let mut roles = self.roles()?;
                roles.set(*member, *role);
                Plan::Extensions(group_context_extensions(&roles, self.profile()?.as_ref())?)
            }
            CommitIntent::SetProfile(profile) => {
                Plan::Extensions(group_context_extensions(&self.roles()?, Some(profile))?)
            }
            CommitIntent::SelfUpdate => Plan::SelfUpdate,
            CommitIntent::Rename(name) => {
                let picture = self.member_profile(&self.member_id)?.picture().to_vec();
                Plan::Leaf(own_leaf(&MemberProfile::new(name.clone(), picture)?)?)
            }
            CommitIntent::SetMemberProfile(profile) => Plan::Leaf(own_leaf(profile)?),
            CommitIntent::Proposals if !self.mls.has_pending_proposals() => {
                return Err(Error::NothingToCommit);
            }
            CommitIntent::Proposals => {
                let mut leaving = Vec::new();
                for queued in self.mls.pending_proposals() {
                    if let MlsProposal::Remove(remove) = queued.proposal() {
                        leaving.push(self.member_at(remove.removed())?);
                    }
                }
                Plan::Proposals(self.forget_roles(&leaving)?)
            }
        })
    }

    /// The group context extensions without the roles of members about to leave, if
    /// any of them has a role (so that the roles extension names only members).
    fn forget_roles(
        &self,
        leaving: &[MemberId],
    ) -> Result<Option<Extensions<GroupContext>>, Error> {
        let mut roles = self.roles()?;
        if !leaving.iter().any(|id| roles.names(id)) {
            return Ok(None);
        }
        leaving.iter().for_each(|id| roles.forget(id));
        group_context_extensions(&roles, self.profile()?.as_ref()).map(Some)
    }

    /// What our pending commit does, checked as every member checks it.
    pub(crate) fn pending_summary(&self) -> Result<CommitSummary, Error> {
        let staged = self.mls.pending_commit().ok_or(Error::NothingToCommit)?;
        review_commit(
            &self.mls,
            &Sender::Member(self.mls.own_leaf_index()),
            staged,
        )
    }

    fn ensure_no_pending(&self) -> Result<(), Error> {
        match self.pending().is_some() {
            true => Err(Error::CommitPending),
            false => Ok(()),
        }
    }

    /// Verifies key packages' signatures and that they are made for Sotto's groups.
    fn verify_key_packages(
        &self,
        key_packages: &[KeyPackage],
    ) -> Result<Vec<MlsKeyPackage>, Error> {
        key_packages
            .iter()
            .map(|key_package| {
                key_package
                    .parse()?
                    .validate(self.provider.crypto(), ProtocolVersion::Mls10)
                    .map_err(|_| Error::Rejected("key package"))
            })
            .collect()
    }
}

/// The proposals of a commit, ready for OpenMLS's commit builder.
enum Plan {
    Add(Vec<MlsKeyPackage>),
    Remove(Vec<LeafNodeIndex>, Option<Extensions<GroupContext>>),
    Extensions(Extensions<GroupContext>),
    SelfUpdate,
    /// A self-update with a new leaf (profile, capabilities).
    Leaf(LeafNodeParameters),
    Proposals(Option<Extensions<GroupContext>>),
}

/// Our new leaf's parameters for a profile: its extensions, and the capabilities of
/// this version (a leaf made before the member picture extension lacks it).
fn own_leaf(profile: &MemberProfile) -> Result<LeafNodeParameters, Error> {
    Ok(LeafNodeParameters::builder()
        .with_capabilities(capabilities())
        .with_extensions(profile.leaf_extensions()?)
        .build())
}

/// Adds a group context extensions proposal to a commit, if there is one.
fn add_extensions<'a>(
    builder: CommitBuilder<'a, Initial>,
    extensions: Option<Extensions<GroupContext>>,
) -> Result<CommitBuilder<'a, Initial>, Error> {
    match extensions {
        None => Ok(builder),
        Some(extensions) => builder
            .propose_group_context_extensions(extensions)
            .map_err(|_| Error::Local("group context extensions")),
    }
}
