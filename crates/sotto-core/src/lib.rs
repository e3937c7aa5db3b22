//! Sotto's client core: contacts, invitations, messages and their storage, as
//! sans-IO state machines (no sockets, no clock, no RNG calls: time and
//! randomness are passed in). The tokio runtime (`sotto-client`) and the browser
//! bridge (`sotto-wasm`) drive it.
//!
//! Modules:
//! - `store`: the one storage trait ([`Store`]) and an in-memory backend.

mod store;

pub use store::{
    Direction, KeyRange, MemoryStore, Record, Store, StoreError, Table, Write, WriteBatch,
};
