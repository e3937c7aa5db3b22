//! The crate's one error type, grouped by who is at fault.

use crate::role::{Action, Role};

/// Everything that can go wrong in `sotto-groups`.
///
/// `Display` never includes key material, member ids or plaintext, so errors are safe to
/// log. OpenMLS's own errors are reduced to the operation that failed: their text may
/// name internal values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // --- Malformed input: the bytes do not parse. ---
    /// The input has the wrong length or layout for what it claims to be.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// The input is longer than any valid input of its kind.
    #[error("{what} of {len} bytes exceeds the maximum of {max}")]
    TooLong {
        /// What was being read.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The largest accepted length.
        max: usize,
    },

    // --- Incompatible peer. ---
    /// A pickle of a format version this implementation does not read.
    #[error("unsupported pickle version {0}")]
    UnsupportedVersion(u8),
    /// A key package or welcome of another ciphersuite, protocol version or credential
    /// type, or without the capabilities Sotto's groups require.
    #[error("incompatible {0}")]
    Incompatible(&'static str),

    // --- Misbehaving member or forged input. ---
    /// OpenMLS rejected the input: bad signature, membership or confirmation tag,
    /// undecryptable, wrong group, or a commit that does not apply.
    #[error("rejected {0}")]
    Rejected(&'static str),
    /// The sender's role does not allow what the commit or proposal does; nothing changed.
    #[error("role {role} may not {action}")]
    Forbidden {
        /// The role of the member who proposed the change.
        role: Role,
        /// What it tried to do.
        action: Action,
    },
    /// A credential is not a basic credential holding a 16-byte member id, or reuses the
    /// member id of another member.
    #[error("invalid member credential")]
    InvalidCredential,
    /// A leaf's profile extension is missing, too long or not UTF-8.
    #[error("invalid member profile")]
    InvalidProfile,
    /// The group's roles extension is missing or not canonical.
    #[error("invalid roles extension")]
    InvalidRoles,

    // --- Delivery: expected on an ordered log; the group is intact. ---
    /// A message of an epoch this member has left behind (e.g. a commit that lost the
    /// race for its epoch): it is skipped.
    #[error("message from a past epoch")]
    PastEpoch,
    /// A message of an epoch this member has not reached: messages arrived out of order.
    #[error("message from a future epoch")]
    FutureEpoch,
    /// A message this member sent itself and that is not its pending commit.
    #[error("own message")]
    OwnMessage,
    /// This message was already decrypted (its key is deleted); it is not shown twice.
    #[error("duplicate message")]
    Duplicate,

    // --- Local: storage, randomness and API misuse. ---
    /// OpenMLS's storage or the crypto provider failed (e.g. no randomness).
    #[error("local failure in {0}")]
    Local(&'static str),
    /// A commit of ours awaits its place in the log; confirm or lose it first.
    #[error("a commit is pending")]
    CommitPending,
    /// Proposals await a commit: MLS allows no application message until one is made
    /// ([`crate::Group::commit_proposals`]).
    #[error("proposals await a commit")]
    ProposalsPending,
    /// This member is no longer in the group.
    #[error("not a member of the group")]
    NotAMember,
    /// No member of the group has this member id.
    #[error("unknown member")]
    UnknownMember,
    /// The operation would change nothing (e.g. adding no one).
    #[error("nothing to commit")]
    NothingToCommit,
    /// The key package lifetime is zero or longer than OpenMLS accepts.
    #[error("invalid key package lifetime")]
    InvalidLifetime,
    /// The display name is longer than [`crate::MAX_DISPLAY_NAME_LEN`] bytes.
    #[error("display name too long")]
    DisplayNameTooLong,
    /// The plaintext is longer than [`crate::MAX_PLAINTEXT_LEN`] bytes.
    #[error("plaintext of {len} bytes exceeds the maximum of {max}")]
    PlaintextTooLong {
        /// The given plaintext length.
        len: usize,
        /// The largest accepted length.
        max: usize,
    },
    /// The last owner cannot leave or step down: another member must be made owner first.
    #[error("the last owner cannot leave or step down")]
    LastOwner,
}
