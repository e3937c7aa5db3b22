//! What the core tells the front ends: everything a user interface shows,
//! the user's own actions included, each event carrying the views it needs
//! (a front end never calls back into the core to complete one). Serialized
//! as objects tagged by `type` (docs/cli.md).

use std::collections::VecDeque;

use crate::durability::WriteMark;
use crate::ids::{ChatId, InvitationId, MessageNumber, RequestId};
use crate::view::{ChatView, ItemView, RequestView};

/// Something the user interface shows. The store holds the truth; events
/// keep a view up to date without reading it again.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
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
    /// A short link could not be used (already used, withdrawn, expired, or
    /// not a link this relay keeps): no chat was made. `chat` is the id
    /// [`Core::connect`](crate::Core::connect) returned.
    JoinFailed {
        /// The chat the link would have made (or connected again).
        chat: ChatId,
        /// Why, as a sentence for the user.
        reason: String,
        /// The chat this profile already has with the link's owner, when that
        /// is why: a front end offers to open it or to connect it again.
        existing: Option<ChatId>,
    },
    /// A short link was of someone this profile already had a chat with that
    /// never connected (a request that was rejected, say): that chat is
    /// connected again instead of making a second one, and `chat` (the id
    /// [`Core::connect`](crate::Core::connect) returned) is not used.
    JoinedExisting {
        /// The id `connect` returned.
        chat: ChatId,
        /// The chat that connects again.
        existing: ChatId,
    },
    /// Someone sent a contact request through the contact address.
    RequestReceived {
        /// The request, to accept or reject.
        request: RequestView,
    },
    /// Contact requests through the address were dropped: as many are
    /// waiting as are kept. Decide on those, or replace the address (the old
    /// link stops working; share the new one with the people you expect).
    AddressFlooded {
        /// How many requests are waiting.
        waiting: u32,
    },
    /// A chat's connection is established (both queues exist and are
    /// secured).
    ContactConnected {
        /// The chat.
        chat: ChatView,
    },
    /// The relay refused the answer to an invitation (it was withdrawn or
    /// already used): this connection will not complete; delete the chat.
    ConnectionFailed {
        /// The chat.
        chat: ChatView,
    },
    /// A chat appeared or changed: its peer's profile, its settings, its
    /// unread count, its verification.
    ChatChanged {
        /// The chat as it is now.
        chat: ChatView,
    },
    /// Every item of a chat was deleted on this device (the chat stays).
    HistoryCleared {
        /// The chat.
        chat: ChatId,
    },
    /// A chat was deleted.
    ChatRemoved {
        /// The chat.
        chat: ChatId,
    },
    /// An item was added to a chat: a message received, a message the user
    /// sent, a notice.
    ItemAdded {
        /// The item.
        item: ItemView,
        /// The chat's unread count after it.
        unread: u32,
    },
    /// An item changed: its delivery status, an edit, a reaction, a deletion
    /// for everyone.
    ItemChanged {
        /// The item as it is now.
        item: ItemView,
    },
    /// Items were removed (their disappearing-message timer ran out).
    ItemsRemoved {
        /// The chat.
        chat: ChatId,
        /// The items.
        numbers: Vec<MessageNumber>,
    },
    /// A file's transfer moved on (stored progress: a chunk created, sent or
    /// received); the item's state changes come as [`Event::ItemChanged`].
    FileProgress {
        /// The chat.
        chat: ChatId,
        /// The file's item.
        number: MessageNumber,
        /// Chunk bytes moved so far.
        done: u64,
        /// Chunk bytes in all (the file encrypted, padded to its chunks).
        total: u64,
    },
    /// The peer started or stopped typing.
    Typing {
        /// The chat.
        chat: ChatId,
        /// Whether they are typing.
        typing: bool,
    },
    /// A commit of ours waits to be appended to the group's log (a contact
    /// answered an invitation): the runtime appends
    /// [`Core::pending_group_commit`](crate::Core::pending_group_commit).
    GroupCommitReady {
        /// The group's chat.
        group: ChatId,
    },
    /// A contact's invitation into a group waits for the user to accept or
    /// decline it ("who can add me to groups" is "nobody").
    GroupInvitation {
        /// The invitation's id ([`crate::Core::group_invitations`]).
        invitation: u64,
        /// The chat of the contact who invites.
        contact: ChatId,
        /// The group's name as the contact gave it.
        name: String,
    },
    /// A request to join a group through its link waits for an admin's
    /// decision ([`crate::Core::approve_group_join`]).
    GroupJoinRequested {
        /// The request, under the requester's pseudonym for the group.
        request: crate::GroupJoinRequestView,
    },
    /// A join through a group link ended without joining: declined by an
    /// admin, or the link deleted or replaced.
    GroupJoinRefused {
        /// The join's id ([`crate::Core::group_link_joins`]).
        join: u64,
        /// The group's name, as its link gave it.
        name: String,
        /// Why, for people.
        reason: String,
    },
    /// This profile joined a group (a contact's welcome arrived).
    GroupJoined {
        /// The group's chat.
        group: ChatId,
        /// The group's name as the contact gave it.
        name: String,
    },
    /// A relay delivered something that does not open or parse; it was not
    /// shown. The reason is safe to log.
    RelayFault {
        /// The relay.
        #[serde(serialize_with = "crate::view::display")]
        relay: sotto_wire::RelayAddress,
        /// What was wrong.
        reason: String,
    },
}

/// An event as the core queues it: the views are built when the front end
/// polls, from what is committed by then (so they show committed state, and
/// building them costs nothing while a batch is being assembled).
#[derive(Clone, Debug)]
pub(crate) enum Pending {
    /// Complete already (boxed: an event carrying a view is large).
    Ready(Box<Event>),
    /// [`Event::ItemAdded`] for this item.
    ItemAdded(ChatId, MessageNumber),
    /// [`Event::ItemChanged`] for this item.
    ItemChanged(ChatId, MessageNumber),
    /// [`Event::ChatChanged`] for this chat.
    ChatChanged(ChatId),
    /// [`Event::ContactConnected`] for this chat.
    Connected(ChatId),
    /// [`Event::ConnectionFailed`] for this chat.
    ConnectionFailed(ChatId),
    /// [`Event::RequestReceived`] for this request.
    Request(RequestId),
    /// [`Event::AddressFlooded`].
    AddressFlooded,
}

impl Pending {
    /// An event complete already.
    pub(crate) fn ready(event: Event) -> Pending {
        Pending::Ready(Box::new(event))
    }
}

impl Pending {
    /// Whether `self` would repeat `other` (only views read at poll time
    /// can: a ready event is never dropped).
    pub(crate) fn same_as(&self, other: &Pending) -> bool {
        match (self, other) {
            (Pending::ItemChanged(a, m), Pending::ItemChanged(b, n)) => a == b && m == n,
            (Pending::ChatChanged(a), Pending::ChatChanged(b)) => a == b,
            (Pending::AddressFlooded, Pending::AddressFlooded) => true,
            _ => false,
        }
    }
}

/// The events waiting for [`crate::Core::poll_event`], in order. Each waits
/// for the mark of the writes it is about: an event staged with a batch
/// ([`crate::staged_batch::StagedBatch`]) for that batch's, any other for
/// the writes applied before it was noted. Marks only grow along the queue.
#[derive(Debug, Default)]
pub(crate) struct EventQueue {
    queue: VecDeque<Noted>,
}

#[derive(Debug)]
struct Noted {
    pending: Pending,
    /// The writes it is about.
    needs: WriteMark,
    /// Handed out whatever the store reports (a sync failed: the front end
    /// hears of what the core holds, as it would have without one).
    released: bool,
}

impl EventQueue {
    /// Queues an event about the writes up to `needs`, unless the same one
    /// waits last already (a burst that touches one chat or item many
    /// times); then that one waits for `needs` too.
    pub(crate) fn notify(&mut self, needs: WriteMark, pending: Pending) {
        if let Some(last) = self.queue.back_mut()
            && pending.same_as(&last.pending)
        {
            last.needs = last.needs.max(needs);
            last.released = false;
            return;
        }
        self.queue.push_back(Noted {
            pending,
            needs,
            released: false,
        });
    }

    /// The first event, once the writes behind it are durable.
    pub(crate) fn pop(&mut self, durable: WriteMark) -> Option<Pending> {
        let first = self.queue.front()?;
        if !first.released && first.needs > durable {
            return None;
        }
        self.queue.pop_front().map(|noted| noted.pending)
    }

    /// Lets every queued event out without waiting for the store.
    pub(crate) fn release_all(&mut self) {
        for noted in &mut self.queue {
            noted.released = true;
        }
    }
}
