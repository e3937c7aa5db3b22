//! What the core tells the user interface.

use sotto_wire::RelayAddress;

use crate::chat_item::{ChatNotice, MessageStatus};
use crate::ids::{ContactId, InvitationId, MessageNumber, RequestId};

/// Something the user interface may want to show. Events are hints: the store
/// holds the truth, read through the query methods of [`crate::Core`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A one-time invitation's queue exists: the link can be shared.
    InvitationReady {
        /// The invitation.
        invitation: InvitationId,
        /// The link to share.
        link: String,
    },
    /// The contact address's queue exists: the link can be shared.
    AddressReady {
        /// The link to share.
        link: String,
    },
    /// Someone sent a contact request through the contact address.
    ContactRequest {
        /// The request, to accept or reject.
        request: RequestId,
    },
    /// A contact is connected (both queues exist and are secured).
    ContactConnected {
        /// The contact.
        contact: ContactId,
    },
    /// The relay refused the answer to an invitation (it was withdrawn or
    /// already used): this connection will not complete; delete the contact.
    ConnectionFailed {
        /// The contact that was being connected.
        contact: ContactId,
    },
    /// A message arrived.
    MessageReceived {
        /// The chat.
        contact: ContactId,
        /// The message.
        message: MessageNumber,
    },
    /// An outgoing message changed state.
    MessageStatus {
        /// The chat.
        contact: ContactId,
        /// The message.
        message: MessageNumber,
        /// Its new state.
        status: MessageStatus,
    },
    /// A message was edited, deleted or reacted to.
    MessageChanged {
        /// The chat.
        contact: ContactId,
        /// The message.
        message: MessageNumber,
    },
    /// Messages disappeared (their timer ran out) and were deleted.
    MessagesExpired {
        /// The chat.
        contact: ContactId,
        /// The messages.
        messages: Vec<MessageNumber>,
    },
    /// A notice was added to a chat.
    Notice {
        /// The chat.
        contact: ContactId,
        /// The notice's item in the history.
        message: MessageNumber,
        /// The notice.
        notice: ChatNotice,
    },
    /// The contact started or stopped typing.
    Typing {
        /// The contact.
        contact: ContactId,
        /// Whether they are typing.
        typing: bool,
    },
    /// The contact changed their profile.
    ProfileUpdated {
        /// The contact.
        contact: ContactId,
    },
    /// A relay delivered something that does not open or parse; it was not
    /// shown. The reason is safe to log.
    RelayFault {
        /// The relay.
        relay: RelayAddress,
        /// What was wrong.
        reason: String,
    },
}
