//! What processing a message from the group log yields.

use crate::group_profile::GroupProfile;
use crate::intent::CommitIntent;
use crate::member::{DisplayName, MemberId};
use crate::messages::Welcome;
use crate::role::Role;

/// What a commit changed, as every member saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitSummary {
    /// The member who made the commit.
    pub committer: MemberId,
    /// The epoch the commit started.
    pub epoch: u64,
    /// Members added.
    pub added: Vec<MemberId>,
    /// Members removed (including members who left).
    pub removed: Vec<MemberId>,
    /// Members whose role changed, with their new role.
    pub role_changes: Vec<(MemberId, Role)>,
    /// Members who now show another display name, with that name.
    pub renamed: Vec<(MemberId, DisplayName)>,
    /// Members who now show another picture, with that picture (empty: none).
    pub picture_changes: Vec<(MemberId, Vec<u8>)>,
    /// The group's new profile, when the commit changed it.
    pub profile: Option<GroupProfile>,
}

/// The outcome of one message read from the group log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupEvent {
    /// An application message.
    Message {
        /// Who sent it.
        sender: MemberId,
        /// The plaintext (padding removed).
        plaintext: Vec<u8>,
    },
    /// A member proposed a change (e.g. to leave); the next commit carries it.
    ProposalQueued {
        /// Who proposed it.
        proposer: MemberId,
    },
    /// Another member's commit started a new epoch.
    CommitApplied(CommitSummary),
    /// Our own commit came first in the log for its epoch: it is now in effect.
    OwnCommitConfirmed {
        /// What it changed.
        summary: CommitSummary,
        /// The welcome for the members it added: send it to each of them now, over
        /// their pairwise connections.
        welcome: Option<Welcome>,
    },
    /// Another member's commit came first for the epoch of our pending commit: it is in
    /// effect and ours was discarded. What ours meant to do can be committed again with
    /// [`crate::Group::reapply`].
    CommitLost {
        /// The commit that won.
        winner: CommitSummary,
        /// What our discarded commit did.
        lost: CommitIntent,
    },
    /// A commit removed this member: the group is no longer active.
    Removed(CommitSummary),
}
