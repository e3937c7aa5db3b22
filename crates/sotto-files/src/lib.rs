//! Files, images and voice messages on relays, sans-IO: no sockets, no clock,
//! no RNG calls (the file key and nonce come in as bytes).
//!
//! A file is encrypted once under a random key with STREAM (the `aead`
//! crate's construction over XChaCha20-Poly1305: a 64 KiB segment at a time,
//! the segment's index and a last-segment flag in the nonce, the file's
//! length in the associated data), then cut into chunks of the relays' fixed
//! sizes, the last one filled out with bytes from the file key that look like
//! the ciphertext. The relays see only chunk sizes; the
//! [`FileDescription`] (chunk addresses, keys, digests, the file's name, type
//! and size) travels end to end in a chat message.
//!
//! Modules:
//! - `key`: the file key and nonce, and what is derived from them.
//! - `layout`: how long a file is once encrypted, and the chunk sizes it takes.
//! - `encrypt`: [`FileEncryptor`], plaintext in, padded chunks out.
//! - `decrypt`: [`FileDecryptor`], chunks in, plaintext out, every segment
//!   checked in place and order.
//! - `description`: [`FileDescription`] and its encoding.
//! - `error`: the crate's [`FileError`].

mod decrypt;
mod description;
mod encrypt;
mod error;
mod key;
mod layout;

pub use decrypt::FileDecryptor;
pub use description::{
    ChunkDescription, FileDescription, MAX_DESCRIBED_CHUNKS, MAX_MEDIA_TYPE_LEN, MAX_NAME_LEN,
};
pub use encrypt::FileEncryptor;
pub use error::FileError;
pub use key::{FILE_NONCE_LEN, FileKey, FileNonce};
pub use layout::{SEGMENT_LEN, encrypted_len, plan_chunks};
