//! The Sotto relay: anonymous simplex queues of fixed-size blocks, stored durably.
//!
//! Modules, from the outside in:
//! - `config`: command-line options and the TOML file, resolved into a [`Config`].
//! - `identity`: the relay's Ed25519 identity file in the data directory.
//! - `store`: the [`store::Storage`] trait, its log-structured and redb backends
//!   and the group-commit
//!   writer (one fsync for many writes, before they are answered);
//!   `chunk_files`: the bytes of file chunks, one file each, beside the store.
//! - `server`: binds the listener, routes `/ws`, `/metrics` and static files, and
//!   shuts down gracefully; `listener` caps connections and terminates TLS;
//!   `web`: the web client's static files and their headers; `link_page`: the
//!   page a relay without the web client shows for an opened link.
//! - `connection`: one client connection (handshake, blocks, back-pressure);
//!   `commands`: what each command does (file chunks in `commands::file_chunks`),
//!   blocks pipelined while their writes commit; `subscriptions`: which connection
//!   receives each queue; `relay`: the state connections share.
//! - `expiry`: the periodic TTL sweep (messages, links and file chunks).
//! - `limits`: the per-connection token bucket; `command_keys`: the command
//!   keys a connection keeps for its authenticator checks.
//! - `metrics`: aggregate counters served at `/metrics`.
//! - `clock`: unix time.
//! - `error`: the crate's [`Error`], grouped by fault.

pub mod chunk_files;
pub mod clock;
pub mod command_keys;
pub mod commands;
pub mod config;
pub mod connection;
mod error;
pub mod expiry;
pub mod identity;
pub mod limits;
pub mod link_page;
pub mod listener;
pub mod metrics;
pub mod recent_sends;
pub mod relay;
pub mod server;
pub mod store;
pub mod subscriptions;
pub mod web;

pub use config::Config;
pub use error::Error;
