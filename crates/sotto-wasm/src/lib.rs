//! Sotto's browser bridge: the client core ([`sotto_core::Core`]) under
//! wasm-bindgen. Glue, not logic, and not an API: the TypeScript UI
//! (`web/src/bridge.ts`) is its only caller.
//!
//! What IndexedDB holds (sealed, padded records, the in-memory store that
//! queues their changes, the profile's `meta` values) is `sotto_sealed_store`,
//! built and tested natively; this crate carries its bytes to IndexedDB.
//!
//! Modules:
//! - `client` (wasm32 only): `SottoClient`, the class the UI calls: the
//!   profile's lifecycle, the relay links and the pump to IndexedDB.
//! - `chat_calls`, `manage_calls`, `profile_calls` (wasm32 only): its calls on
//!   chats, on managing and searching them, and on
//!   the profile as a whole (passphrase, archive, settings).
//! - `key_deriver` (wasm32 only): Argon2id off the page's thread, through
//!   the UI's Web Worker, which runs this module's `deriveStorageKey`.
//! - `bridge_event`: what the bridge itself tells the UI (relay links,
//!   storage failures, the profile moving away), beside the core's events.
//!   The core's views and events, and these, reach the UI as JSON text in
//!   the core's serde vocabulary (see `client::json`).
//! - `file_calls` (wasm32 only): its calls on files: send, download, cancel,
//!   read a file back (to save it or show it), the automatic download limit.
//! - `file_copies` (wasm32 only): the IndexedDB database of the profile's
//!   copies of files (their encrypted chunks).
//! - `file_runner` (wasm32 only): the file transfers, carried out on relay
//!   links of their own as the native runner does.
//! - `group_calls` (wasm32 only): its calls on groups: create, invite,
//!   members and their security codes, roles, removal, leaving, held
//!   invitations, "who can add me to groups", blocking a member for me.
//! - `group_link_calls` (wasm32 only): its calls on group links: an admin's
//!   link, its approval setting and the requests to join; joining by a link.
//! - `group_runner` (wasm32 only): the group logs, subscribed and read on
//!   relay links of their own, as the native live loop does.
//! - `idb` (wasm32 only): the IndexedDB database of sealed records.
//! - `link_pool` (wasm32 only): requests on relay links kept apart from the
//!   queue links, one per relay, shared by the file and group runners.
//! - `locked_watch` (wasm32 only): receiving while locked, with only the
//!   queues' auth secrets and the lock key's public half: each delivery kept
//!   sealed, applied on unlock.
//! - `relay_link` (wasm32 only): one relay connection over the browser's
//!   WebSocket, a thin driver of `sotto_wire::ClientConnection` (which does
//!   the protocol: handshake, batching, keep-alive, request timeouts).
//! - `rng` (wasm32 only): the browser's `crypto.getRandomValues` as the
//!   generator the core is given.
//! - `scanned_code`: the text of a scanned security code QR code, read as
//!   the bytes the core compares.
//! - `write_log`: each write of the bridge as one IndexedDB value, folded into
//!   the records now and then.

pub mod bridge_event;

#[cfg(target_arch = "wasm32")]
mod chat_calls;
#[cfg(target_arch = "wasm32")]
mod client;
#[cfg(target_arch = "wasm32")]
mod file_calls;
#[cfg(target_arch = "wasm32")]
mod file_copies;
#[cfg(target_arch = "wasm32")]
mod file_runner;
#[cfg(target_arch = "wasm32")]
mod group_calls;
#[cfg(target_arch = "wasm32")]
mod group_link_calls;
#[cfg(target_arch = "wasm32")]
mod group_runner;
#[cfg(target_arch = "wasm32")]
mod idb;
#[cfg(target_arch = "wasm32")]
mod key_deriver;
#[cfg(target_arch = "wasm32")]
mod link_pool;
#[cfg(target_arch = "wasm32")]
mod locked_watch;
#[cfg(target_arch = "wasm32")]
mod manage_calls;
#[cfg(target_arch = "wasm32")]
mod profile_calls;
#[cfg(target_arch = "wasm32")]
mod relay_link;
#[cfg(target_arch = "wasm32")]
mod rng;
// Target-neutral, tested natively; only the browser uses them.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod scanned_code;
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod write_log;

#[cfg(target_arch = "wasm32")]
pub use key_deriver::derive_storage_key;
