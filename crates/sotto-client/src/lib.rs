//! Sotto's client runtime: drives the sans-IO protocol crates over real sockets
//! with tokio. Randomness is drawn here (from the operating system), never in the
//! sans-IO crates.
//!
//! Modules:
//! - `relay`: one encrypted connection to a relay — the handshake with its
//!   fingerprint check, a writer that batches commands into blocks, a reader that
//!   routes responses to their callers and pushes to a channel, and typed queue
//!   commands.
//! - `runtime`: [`Runtime`], the tokio driver of a `sotto_core::Core`: one
//!   connection per relay, requests, pushes, timers and reconnection, live or
//!   one-shot (for scripts).
//! - `files`: files over relays: the profile's encrypted copies and the
//!   runner that carries out the core's uploads and downloads.
//! - `socks`: relay connections through a SOCKS5 proxy (Tor).
//! - `error`: the crate's [`ClientError`], grouped by fault.

mod error;
pub mod files;
pub mod relay;
pub mod runtime;
pub mod socks;

pub use error::ClientError;
pub use runtime::{Finished, Mode, Runtime, RuntimeOptions};
pub use socks::Socks5Proxy;
