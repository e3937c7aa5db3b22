//! Thin wrappers over the audited primitive crates. Nothing here is hand-written
//! cryptography: the wrappers fix the parameters, reject weak inputs and zeroize secrets.

pub(crate) mod aead;
pub mod ed25519;
pub(crate) mod kdf;
pub(crate) mod kem;
pub(crate) mod x25519;

#[cfg(test)]
mod wycheproof;
