//! Local identifiers: numbers the core assigns, never sent to anyone.

use std::fmt;

macro_rules! local_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

local_id!(
    /// A chat: its history, its settings, and the peer it is with.
    ChatId
);
local_id!(
    /// A peer: someone this profile talks to, with their identity key,
    /// verification and profile.
    PeerId
);
local_id!(
    /// A pairwise connection with a peer: one end-to-end session and the
    /// queues it runs over.
    ConnectionId
);
local_id!(
    /// A one-time invitation this profile created.
    InvitationId
);
local_id!(
    /// A contact request received on the contact address.
    RequestId
);
local_id!(
    /// A message (or notice) in one chat: its position in the chat's history.
    MessageNumber
);
local_id!(
    /// A durable relay job (a command the core keeps sending until it succeeds).
    JobId
);
