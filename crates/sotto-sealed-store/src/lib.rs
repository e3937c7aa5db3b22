//! The browser profile's storage format, target-neutral: what the web client
//! keeps in IndexedDB, built and tested natively. The wasm bridge
//! (`sotto-wasm`) only carries these bytes to and from IndexedDB.
//!
//! Modules:
//! - `sealed_record`: how one record is sealed (XChaCha20-Poly1305 under a key
//!   from the passphrase), padded, and where it goes (an opaque index); both
//!   record formats.
//! - `padding`: the size buckets sealed records are padded to.
//! - `mirror`: the core's store in the browser: records in memory, every
//!   change queued for IndexedDB.
//! - `sealed_profile`: a whole profile: the `meta` values (key derivation,
//!   passphrase check, preferences), loading, sealing changes and snapshots,
//!   and telling when a profile should be written again in today's format.
//! - `held_delivery`: what is kept while the profile is locked: each
//!   delivery sealed to the profile's lock key, and that key, sealed.

pub mod held_delivery;
pub mod mirror;
pub mod padding;
pub mod sealed_profile;
pub mod sealed_record;

#[cfg(test)]
mod test_support;
