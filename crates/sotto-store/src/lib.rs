//! Sotto's native client storage: the core's [`Store`](sotto_core::Store) trait
//! over one SQLCipher database, encrypted with a key derived from the user's
//! passphrase by Argon2id (`sotto_core::KeyDerivation`).
//!
//! Modules:
//! - `key_file`: the small plaintext file beside the database that records the
//!   Argon2id parameters and salt.
//! - `database`: [`SqlCipherStore`]: create, open, change the passphrase,
//!   export an archive, and import one in a single transaction.
//! - `records`: the `Store` implementation over one `WITHOUT ROWID` table.
//!
//! The layouts are in `docs/storage.md`.

mod database;
mod key_file;
mod records;

pub use database::SqlCipherStore;
pub use key_file::key_file_path;
