//! Sotto's group layer: MLS (RFC 9420) groups through OpenMLS with the hybrid
//! post-quantum X-Wing ciphersuite, roles checked by every member, and a fresh pseudonym
//! for every group (sans-IO: no sockets, no clock read by this crate; randomness comes
//! from the libcrux provider).
//!
//! Map of the modules:
//! - `group_config`: the MLS profile every group uses (ciphersuite, extension types,
//!   capabilities, padding, limits).
//! - `member`: the per-group pseudonym: member id, display name, Ed25519 signer.
//! - `member_profile`: the name and picture a member shows in one group, in its leaf.
//! - `role`: roles, the roles extension and what each role may do.
//! - `commit_policy`: the rules every member checks before applying a commit.
//! - `messages`: the MLS messages that travel (key packages, commits, proposals,
//!   welcomes, application messages).
//! - `join`: a pending join (key package) and joining by welcome.
//! - `link_seal`: HPKE to a group link's key (requests to join through a link).
//! - `group`: the group as one member holds it; `commit`, `process` and
//!   `application` add its outgoing commits, incoming messages and application messages.
//! - `intent`, `event`: what our commits mean to do and what processing yields.
//! - `pickle`, `codec`, `provider`, `storage`: the stored state (OpenMLS's storage
//!   that returns errors, never panics, on damaged values).
//! - `security_code`: the code two members compare.
//!
//! The profile is specified in `docs/e2e-protocol.md` (MLS groups).
//!
//! ```
//! use sotto_groups::{DisplayName, Group, GroupEvent, PendingJoin};
//!
//! # fn main() -> Result<(), sotto_groups::Error> {
//! // The caller reads the clock (OpenMLS checks key package lifetimes against it too).
//! let now = std::time::SystemTime::now()
//!     .duration_since(std::time::UNIX_EPOCH)
//!     .map_or(0, |elapsed| elapsed.as_secs());
//! let week = 7 * 24 * 3600;
//! let mut alice = Group::create(&DisplayName::new("Alice")?, now, week)?;
//!
//! // Bob makes a pseudonym for this group; its key package reaches Alice end to end.
//! let (bob_pending, key_package) = PendingJoin::new(&DisplayName::new("Bob")?, now, week)?;
//! let commit = alice.add_members(&[key_package])?;
//!
//! // The commit comes back from the group log first: it is in effect, and the welcome
//! // goes to Bob over their pairwise connection.
//! let GroupEvent::OwnCommitConfirmed { welcome: Some(welcome), .. } =
//!     alice.process(commit.as_bytes())?
//! else {
//!     unreachable!()
//! };
//! let mut bob = bob_pending.join(welcome.as_bytes())?;
//!
//! let message = alice.encrypt(b"hello")?;
//! let GroupEvent::Message { plaintext, .. } = bob.process(message.as_bytes())? else {
//!     unreachable!()
//! };
//! assert_eq!(plaintext, b"hello");
//! # Ok(())
//! # }
//! ```

mod application;
mod codec;
mod commit;
mod commit_policy;
mod error;
mod event;
mod group;
mod group_config;
mod group_profile;
mod intent;
mod join;
mod link_seal;
mod member;
mod member_profile;
mod messages;
mod pickle;
mod process;
mod provider;
mod role;
mod security_code;
mod storage;

pub use error::Error;
pub use event::{CommitSummary, GroupEvent};
pub use group::{GROUP_ID_LEN, Group, GroupId, MemberView};
pub use group_config::{
    CIPHERSUITE, KEY_PACKAGE_SKEW_MARGIN_SECS, MAX_GROUP_MESSAGE_LEN, MAX_KEY_PACKAGE_LEN,
    MAX_KEY_PACKAGE_LIFETIME_SECS, MAX_PAST_EPOCHS, MAX_PLAINTEXT_LEN, MAX_WELCOME_LEN,
    MEMBER_PICTURE_EXTENSION_TYPE, PADDING_SIZE, PROFILE_EXTENSION_TYPE, ROLES_EXTENSION_TYPE,
};
pub use group_profile::{
    GROUP_PROFILE_EXTENSION_TYPE, GroupProfile, MAX_GROUP_DESCRIPTION_LEN, MAX_GROUP_NAME_LEN,
    MAX_GROUP_PICTURE_LEN,
};
pub use intent::CommitIntent;
pub use join::PendingJoin;
pub use link_seal::{
    LINK_KEM_OUTPUT_LEN, LINK_PUBLIC_KEY_LEN, LINK_SEAL_OVERHEAD, LinkKeyPair,
    MAX_LINK_SECRET_KEY_LEN, seal_to_link,
};
pub use member::{DisplayName, MAX_DISPLAY_NAME_LEN, MEMBER_ID_LEN, MemberId};
pub use member_profile::{MAX_MEMBER_PICTURE_LEN, MemberProfile};
pub use messages::{Commit, GroupMessage, KeyPackage, Proposal, Welcome};
pub use pickle::{MAX_PICKLE_LEN, PICKLE_VERSION, StateChange};
pub use role::{Action, Role, RoleMap};
pub use sotto_crypto::SecurityCode;
