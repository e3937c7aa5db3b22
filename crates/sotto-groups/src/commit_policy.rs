//! The rules every member checks on every commit and proposal before applying it: the
//! proposer's role must allow each proposal, credentials and profiles must be well
//! formed, and no commit may change the group context except the roles.
//!
//! A refused commit is never merged, so it changes nothing; since every member applies
//! the same rules to the same log, all members refuse the same commits.

use std::collections::BTreeSet;

use openmls::prelude::{
    Extensions, GroupContext, LeafNode, LeafNodeIndex, MlsGroup, Proposal, QueuedProposal, Sender,
    StagedCommit,
};

use crate::Error;
use crate::event::CommitSummary;
use crate::group_config::{fixed_extensions, profile_of, roles_of};
use crate::group_profile::GroupProfile;
use crate::member::{DisplayName, MemberId};
use crate::member_profile::MemberProfile;
use crate::role::{Action, Role, RoleMap};

/// Checks a staged commit against the group's current epoch; what it changes if allowed.
pub(crate) fn review_commit(
    group: &MlsGroup,
    sender: &Sender,
    staged: &StagedCommit,
) -> Result<CommitSummary, Error> {
    let roles = roles_of(group.extensions())?;
    let (committer_leaf, committer) = member_of_sender(group, sender)?;
    let mut review = Review::new(group, &roles)?;
    for queued in staged.queued_proposals() {
        review.proposal(queued)?;
    }
    if let Some(leaf) = staged.update_path_leaf_node() {
        review.own_leaf(leaf, committer_leaf, committer)?;
    }

    let new_extensions = staged.group_context().extensions();
    if fixed_extensions(new_extensions) != fixed_extensions(group.extensions()) {
        return Err(Error::Forbidden {
            role: roles.role(&committer),
            action: Action::ChangeGroupContext,
        });
    }
    let new_roles = roles_of(new_extensions)?;
    let role_changes = review.role_changes(&new_roles)?;
    let profile = review.profile_change(new_extensions)?;
    Ok(CommitSummary {
        committer,
        epoch: staged.epoch().as_u64(),
        added: review.added,
        removed: review.removed,
        role_changes,
        renamed: review.renamed,
        picture_changes: review.picture_changes,
        profile,
    })
}

/// Checks a proposal received on its own (to be committed later by anyone); returns
/// its proposer.
pub(crate) fn review_proposal(
    group: &MlsGroup,
    queued: &QueuedProposal,
) -> Result<MemberId, Error> {
    let roles = roles_of(group.extensions())?;
    let (_, proposer) = member_of_sender(group, queued.sender())?;
    if let Proposal::GroupContextExtensions(_) = queued.proposal() {
        // Role changes travel inside the commit of the member making them, never alone.
        return Err(Error::Forbidden {
            role: roles.role(&proposer),
            action: Action::ChangeGroupContext,
        });
    }
    Review::new(group, &roles)?.proposal(queued)?;
    Ok(proposer)
}

/// The member id of the member at a leaf.
pub(crate) fn member_id_at(group: &MlsGroup, index: LeafNodeIndex) -> Result<MemberId, Error> {
    let credential = group.member(index).ok_or(Error::UnknownMember)?;
    MemberId::of_credential(credential)
}

/// The leaf and member id of a message's sender, who must be a member.
fn member_of_sender(group: &MlsGroup, sender: &Sender) -> Result<(LeafNodeIndex, MemberId), Error> {
    match sender {
        Sender::Member(index) => Ok((*index, member_id_at(group, *index)?)),
        _ => Err(Error::Forbidden {
            role: Role::Member,
            action: Action::ExternalCommit,
        }),
    }
}

/// The state of a review: members before the commit and what the proposals change.
struct Review<'a> {
    roles: &'a RoleMap,
    group: &'a MlsGroup,
    members: BTreeSet<MemberId>,
    added: Vec<MemberId>,
    removed: Vec<MemberId>,
    renamed: Vec<(MemberId, DisplayName)>,
    picture_changes: Vec<(MemberId, Vec<u8>)>,
    /// The role of the member who proposed the role changes, if any did.
    role_changer: Option<Role>,
}

impl<'a> Review<'a> {
    fn new(group: &'a MlsGroup, roles: &'a RoleMap) -> Result<Self, Error> {
        let members = group
            .members()
            .map(|member| MemberId::of_credential(&member.credential))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            roles,
            group,
            members,
            added: Vec::new(),
            removed: Vec::new(),
            renamed: Vec::new(),
            picture_changes: Vec::new(),
            role_changer: None,
        })
    }

    fn proposal(&mut self, queued: &QueuedProposal) -> Result<(), Error> {
        let (proposer_leaf, proposer) = member_of_sender(self.group, queued.sender())?;
        let role = self.roles.role(&proposer);
        let forbidden = |action| Error::Forbidden { role, action };
        match queued.proposal() {
            Proposal::Add(add) => {
                if !role.may_add() {
                    return Err(forbidden(Action::Add));
                }
                let leaf = add.key_package().leaf_node();
                let id = MemberId::of_credential(leaf.credential())?;
                // A new member may not take the id of a member, of a former member still
                // named in the roles, or of another member added in the same commit.
                if self.members.contains(&id) || self.roles.names(&id) || self.added.contains(&id) {
                    return Err(Error::InvalidCredential);
                }
                MemberProfile::of_leaf(leaf)?;
                self.added.push(id);
            }
            Proposal::Remove(remove) => {
                let target = member_id_at(self.group, remove.removed())?;
                if target != proposer && !role.may_remove(self.roles.role(&target)) {
                    return Err(forbidden(Action::Remove));
                }
                self.removed.push(target);
            }
            Proposal::Update(update) => {
                self.own_leaf(update.leaf_node(), proposer_leaf, proposer)?
            }
            Proposal::GroupContextExtensions(_) => self.role_changer = Some(role),
            _ => return Err(forbidden(Action::UnsupportedProposal)),
        }
        Ok(())
    }

    /// A leaf a member sends about itself must keep its member id and carry a valid
    /// profile; a new name or picture is noted.
    fn own_leaf(
        &mut self,
        leaf: &LeafNode,
        index: LeafNodeIndex,
        owner: MemberId,
    ) -> Result<(), Error> {
        if MemberId::of_credential(leaf.credential())? != owner {
            return Err(Error::InvalidCredential);
        }
        let profile = MemberProfile::of_leaf(leaf)?;
        // A current leaf that does not read shows nothing: whatever replaces it is new.
        let current = self
            .group
            .public_group()
            .leaf(index)
            .and_then(|current| MemberProfile::of_leaf(current).ok());
        if current.as_ref().map(MemberProfile::name) != Some(profile.name()) {
            self.renamed.push((owner, profile.name().clone()));
        }
        if current.as_ref().map(MemberProfile::picture) != Some(profile.picture()) {
            self.picture_changes
                .push((owner, profile.picture().to_vec()));
        }
        Ok(())
    }

    /// The group's new profile if the commit changes it: only through a proposal of an
    /// owner or admin, and never removed once set.
    fn profile_change(
        &self,
        new_extensions: &Extensions<GroupContext>,
    ) -> Result<Option<GroupProfile>, Error> {
        let (old, new) = (
            profile_of(self.group.extensions())?,
            profile_of(new_extensions)?,
        );
        if old == new {
            return Ok(None);
        }
        match (self.role_changer, new) {
            (Some(changer), Some(new)) if changer.may_add() => Ok(Some(new)),
            (changer, _) => Err(Error::Forbidden {
                role: changer.unwrap_or(Role::Member),
                action: Action::ChangeGroupContext,
            }),
        }
    }

    /// Checks the role changes from the current roles to `new_roles`.
    fn role_changes(&self, new_roles: &RoleMap) -> Result<Vec<(MemberId, Role)>, Error> {
        let changes = self.roles.changes(new_roles);
        let Some(changer) = self.role_changer else {
            // Group context extensions change only through a proposal.
            return match changes.is_empty() {
                true => Ok(Vec::new()),
                false => Err(Error::InvalidRoles),
            };
        };
        let mut shown = Vec::new();
        for (id, from, to) in changes {
            let present = (self.members.contains(&id) || self.added.contains(&id))
                && !self.removed.contains(&id);
            // Forgetting the role of a member who is gone is housekeeping anyone may do.
            if !present && to == Role::Member {
                continue;
            }
            if !present || !changer.may_change_role(from, to) {
                return Err(Error::Forbidden {
                    role: changer,
                    action: Action::ChangeRole,
                });
            }
            shown.push((id, to));
        }
        let owner_remains = new_roles.entries().any(|(id, role)| {
            role == Role::Owner && self.members.contains(id) && !self.removed.contains(id)
        });
        if !shown.is_empty() && !owner_remains {
            return Err(Error::Forbidden {
                role: changer,
                action: Action::ChangeRole,
            });
        }
        Ok(shown)
    }
}
