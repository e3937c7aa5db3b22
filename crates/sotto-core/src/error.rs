//! The crate's one error type, grouped by who is at fault.

use crate::store::StoreError;

/// Everything that can go wrong in the core. `Display` never holds message text,
/// keys or queue ids, so it is safe to log and to show.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    // --- Malformed input: links, messages or records that do not parse. ---
    /// An invitation or contact-address link does not parse.
    #[error("invalid link: {0}")]
    InvalidLink(&'static str),
    /// A message from a contact does not parse.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// An encoding uses a version this implementation does not speak.
    #[error("unsupported {what} version {version}")]
    UnsupportedVersion {
        /// Which encoding.
        what: &'static str,
        /// The version found.
        version: u8,
    },

    // --- Misbehaving or incompatible peer (end to end or relay). ---
    /// The end-to-end layer refused the input.
    #[error("end-to-end encryption: {0}")]
    Crypto(#[from] sotto_crypto::Error),
    /// The relay protocol layer refused the input.
    #[error("relay protocol: {0}")]
    Wire(#[from] sotto_wire::WireError),
    /// The peer broke the connection handshake.
    #[error("unexpected {0} from the contact")]
    UnexpectedMessage(&'static str),

    // --- Local storage. ---
    /// The storage backend failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored record does not decode: the profile is damaged.
    #[error("damaged record: {0}")]
    CorruptRecord(&'static str),

    // --- API misuse. ---
    /// No profile exists in this store yet ([`crate::Core::create`] makes one).
    #[error("no profile in this store")]
    NoProfile,
    /// The profile was exported to another device and must not be used here
    /// again (two live copies would reuse ratchet keys).
    #[error("this profile was moved to another device")]
    ProfileMoved,
    /// The store already holds a profile.
    #[error("a profile already exists in this store")]
    ProfileExists,
    /// No contact with this id.
    #[error("no such contact")]
    UnknownContact,
    /// No contact request with this id.
    #[error("no such contact request")]
    UnknownRequest,
    /// No group invitation held with this id.
    #[error("no such group invitation")]
    UnknownInvitation,
    /// No message with this id in the chat.
    #[error("no such message")]
    UnknownMessage,
    /// The contact is not connected yet (or any more).
    #[error("the contact is not connected")]
    NotConnected,
    /// No contact address exists.
    #[error("no contact address")]
    NoAddress,
    /// The link is of someone this profile already has a chat with:
    /// [`crate::Core::reconnect`] connects that chat again instead.
    #[error("already a contact (chat {})", chat.0)]
    AlreadyContact {
        /// The existing chat with the link's owner.
        chat: crate::ChatId,
    },
    /// A text, name or value is over its limit.
    #[error("{what} is longer than {max} bytes")]
    TooLong {
        /// What was too long.
        what: &'static str,
        /// The limit.
        max: usize,
    },
    /// The group layer refused an input or an action (see `sotto-groups`).
    #[error("group: {0}")]
    Group(#[from] sotto_groups::Error),
    /// No group with this id.
    #[error("no such group")]
    UnknownGroup,
    /// A value is outside its allowed range.
    #[error("invalid {0}")]
    InvalidValue(&'static str),
}

impl CoreError {
    /// Whether the error is the peer's or the relay's fault (or hostile input),
    /// rather than local.
    pub fn is_remote_fault(&self) -> bool {
        matches!(
            self,
            CoreError::InvalidLink(_)
                | CoreError::Malformed(_)
                | CoreError::UnsupportedVersion { .. }
                | CoreError::Crypto(_)
                | CoreError::Wire(_)
                | CoreError::UnexpectedMessage(_)
        )
    }
}
