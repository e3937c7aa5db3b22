//! Sotto's client core: contacts, invitations, messages and their storage, as
//! sans-IO state machines (no sockets, no clock, no RNG calls: time and
//! randomness are passed in). The tokio runtime (`sotto-client`) and the browser
//! bridge (`sotto-wasm`) drive it. `docs/client-protocol.md` specifies every
//! encoding.
//!
//! Modules:
//! - `store`: the one storage trait ([`Store`]) and an in-memory backend.
//! - `passphrase`: storage keys from the user's passphrase (Argon2id).
//! - `archive`: the encrypted export archive of a whole profile.
//! - `core`: [`Core`], the state machine: `handle_*` inputs, `poll_*`
//!   outputs; it owns the store and routes each input to a sub-machine,
//!   lending it the common state (`shared`: store, account, outbox, open
//!   sessions, events). `actions`: the user's actions, routed the same way.
//! - `durability`: write marks, and the rule that no output runs ahead of
//!   the disk ([`WriteMark`], [`SyncTicket`]); `staged_batch`: a batch being
//!   assembled, with the events and schedule changes that take effect only
//!   if it is committed.
//! - The sub-machines, each with its own state and `handle_*` methods:
//!   `inbox` (receiving: opening, dedupe, decrypting, integrity, applying
//!   chat messages), `connector` (invitations, the contact address,
//!   requests and the handshake, in `connector/handshake`), `chats` (sending,
//!   items, read state, delivery receipts, disappearing messages) and
//!   `outbox` (the schedule of durable relay jobs and their answers).
//! - `locked_inbox`: receiving while the profile is locked, with only the
//!   queues' auth secrets: deliveries are handed out to be kept, unopened.
//! - `queries`: contact list, history, requests, settings, security codes;
//!   `chat_management`: pin, archive, alias, clear history, block;
//!   `search`: the text of every message, on this device.
//! - `link`: invitation links; `short_link`: short links and their relay
//!   blobs (the connector publishes and resolves them in
//!   `connector/short_links`); `queue_address`: queue addresses.
//! - `chat_message`: the end-to-end chat message encoding; `file_message`:
//!   the file a message offers and its state on this device;
//!   `file_transfer`: the stored uploads and downloads, and the actions a
//!   runtime calls as it carries them out.
//! - `groups`: MLS groups on relay group logs (the actions, and the log
//!   entries the runtime hands in); `group_record`: a group's stored state
//!   and its log's credentials; `group_entry`: the log entry format;
//!   `group_invite`: the invitation messages and records; `group_link`:
//!   group links, the sealed requests to join and the replies; a group's
//!   messages are chat items like a direct chat's (`groups/messages`).
//! - `integrity`: sequence numbers and the hash chain.
//! - `chat_record`, `peer`, `connection`: a chat (history, settings), a peer
//!   (identity, verification, profile) and a pairwise connection (one type
//!   per handshake stage, consumed on transition).
//! - `account`, `chat_item`, `job`, `queue_record`, `connection_records`:
//!   the other records the core keeps in the store; `migrate`: bringing
//!   older stores forward when a profile opens.
//! - `relay_request`, `event`, `view`: what the core hands out: relay
//!   commands, and events carrying views in the one serde vocabulary of
//!   every front end.
//! - `profile`, `ids`, `time`, `codec`, `error`: small shared types.

// The in-memory relays and world of the integration tests, shared with the
// crate's own tests of the core's state machines (which need its internals).
#[cfg(test)]
extern crate self as sotto_core;
#[cfg(test)]
#[path = "../tests/util/mod.rs"]
mod sim;

mod account;
mod actions;
mod archive;
mod chat_item;
mod chat_management;
mod chat_message;
mod chat_record;
mod chats;
mod codec;
mod connection;
mod connection_records;
mod connector;
mod core;
mod durability;
mod error;
mod event;
mod file_message;
mod file_transfer;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod group_entry;
mod group_invite;
mod group_link;
mod group_record;
mod groups;
mod ids;
mod inbox;
mod integrity;
mod job;
mod link;
mod locked_inbox;
mod migrate;
mod outbox;
mod passphrase;
mod peer;
mod profile;
mod queries;
mod queue_address;
mod queue_record;
mod relay_request;
mod search;
mod shared;
mod short_link;
mod staged_batch;
mod store;
mod time;
mod view;

pub use account::{GroupAdds, MAX_HOME_RELAYS, Settings};
pub use archive::{
    ARCHIVE_DERIVATION_LEN, ArchiveError, ArchiveId, ArchiveReader, ArchiveSummary,
    ExportRandomness, ExportReceipt, Exporter, ImportedRecord, MAX_KEY_LEN, MAX_VALUE_LEN,
    MOVED_TABLE, ProfileMoved, archive_key_derivation, ensure_not_moved, export_archive,
    export_archive_with_key, import_archive, import_archive_with_key, mark_moved, moved,
};
pub use chat_item::{
    ChatItem, ChatNotice, GroupSender, ItemContent, MessageDirection, MessageStatus, Reaction,
};
pub use chat_message::{
    MAX_REACTION_LEN, MAX_RECEIPT_SEQS, MAX_TEXT_LEN, MAX_TIMER_SECS, MIN_TIMER_SECS, ReceiptKind,
};
pub use chat_record::{AutoDownload, MediaSettings, ReceiptSetting};
pub use connection::ConnectionState;
pub use core::Core;
pub use durability::{SyncTicket, WriteMark};
pub use error::CoreError;
pub use event::Event;
pub use file_message::{
    DescriptionKind, FileMedia, FileMessage, FileState, MAX_FILE_MESSAGE_LEN,
    MAX_INLINE_DESCRIPTION_LEN, MAX_PREVIEW_LEN, MAX_WAVEFORM_LEN,
};
pub use file_transfer::{FileTransfer, Transfer};
pub use group_entry::MAX_ENTRY_MESSAGE_LEN;
pub use group_link::GroupLink;
pub use group_record::{GroupLog, GroupLogAttempt};
pub use groups::{
    GroupChange, GroupInvitationView, GroupJoinRequestView, GroupLinkJoinView, GroupLinkView,
    GroupMemberView, GroupRole, GroupRoleChange, GroupSend, GroupUpdate, GroupView,
    MAX_MEMBERS_WITH_DELIVERY_RECEIPTS,
};
pub use ids::{ChatId, ConnectionId, InvitationId, JobId, MessageNumber, PeerId, RequestId};
pub use integrity::IntegrityNotice;
pub use link::{InvitationLink, Link, LinkKind, MAX_LINK_LEN};
pub use locked_inbox::{HeldDelivery, LockedInbox};
pub use passphrase::{
    Argon2Params, KeyDerivation, PASSPHRASE_SALT_LEN, Passphrase, PassphraseError, STORAGE_KEY_LEN,
    Salt, StorageKey,
};
pub use profile::{MAX_BIO_LEN, MAX_DISPLAY_NAME_LEN, Profile};
pub use queue_address::QueueAddress;
pub use relay_request::{RelayRequest, RequestToken};
pub use search::{MAX_QUERY_LEN, SearchHit};
pub use short_link::{LinkKey, ShortLink};
pub use store::{
    Direction, KeyRange, MemoryStore, PendingSync, Record, Store, StoreError, Table, Write,
    WriteBatch,
};
pub use time::UnixMillis;
pub use view::{
    ChatView, FileView, GroupReceiptsView, ItemView, MemberReceiptView, NoticeView, QuotedView,
    RequestView, SenderView,
};
