//! The Sotto relay: anonymous simplex queues of fixed-size blocks, stored durably.
//!
//! Modules, from the outside in:
//! - `config`: command-line options and the TOML file, resolved into a [`Config`].
//! - `identity`: the relay's Ed25519 identity file in the data directory.
//! - `store`: the [`store::Storage`] trait, its redb backend and the group-commit
//!   writer that makes every acknowledged write durable.
//! - `limits`: the per-connection token bucket.
//! - `metrics`: aggregate counters served at `/metrics`.
//! - `clock`: unix time.
//! - `error`: the crate's [`Error`], grouped by fault.

pub mod clock;
pub mod config;
mod error;
pub mod identity;
pub mod limits;
pub mod metrics;
pub mod store;

pub use config::Config;
pub use error::Error;
