//! The relay's error type, grouped by who is at fault.

use std::io;
use std::path::PathBuf;

/// Everything that can stop the relay or fail one of its operations.
///
/// `Display` never includes a queue id, a key or a client address, so every
/// variant is safe to log.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    // The operator's fault: the configuration cannot be used.
    /// An option has an invalid value, or options contradict each other.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A file named by the configuration cannot be read.
    #[error("cannot read {path}: {source}")]
    ReadFile {
        /// The file that could not be read.
        path: PathBuf,
        /// Why it could not be read.
        source: io::Error,
    },
    /// The TLS certificate or key cannot be used.
    #[error("TLS: {0}")]
    Tls(String),
    /// The relay's identity file exists but is not a valid identity.
    #[error("identity file {path} is not a valid relay identity: {reason}")]
    Identity {
        /// The identity file.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },

    // The environment's fault: the machine refused an operation.
    /// An I/O operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What the relay was doing.
        context: &'static str,
        /// The operating system's error.
        source: io::Error,
    },
    /// The embedded database failed.
    #[error("storage: {0}")]
    Storage(String),

    // Our own data is not what we wrote: a bug or a damaged disk.
    /// A stored record does not decode.
    #[error("corrupt record in the {table} table")]
    CorruptRecord {
        /// The table holding the record.
        table: &'static str,
    },
    /// A segment of the relay's log is damaged where no torn write can be (before
    /// its last segment's tail), or one is missing.
    #[error("log segment {segment} is damaged at byte {offset}: {reason}")]
    CorruptLog {
        /// The segment's number.
        segment: u32,
        /// Where the damage starts.
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// A write or fsync of the log failed earlier: what reached the disk is
    /// unknown, so the store answers nothing more until the relay is restarted
    /// and replays its log.
    #[error("the store stopped after a failed write; restart the relay to recover from its log")]
    StoreFailed,
    /// The storage writer has stopped (the relay is shutting down).
    #[error("the storage writer has stopped")]
    WriterStopped,
}

impl Error {
    /// Whether the relay cannot go on after this error: the store it came from
    /// no longer answers, and the relay must stop so that a restart recovers.
    pub fn is_fatal(&self) -> bool {
        matches!(self, Self::StoreFailed)
    }

    /// Wraps an I/O error with what the relay was doing.
    pub(crate) fn io(context: &'static str) -> impl FnOnce(io::Error) -> Self {
        move |source| Self::Io { context, source }
    }
}

macro_rules! storage_error_from {
    ($($source:ty),* $(,)?) => {
        $(impl From<$source> for Error {
            fn from(error: $source) -> Self {
                Self::Storage(error.to_string())
            }
        })*
    };
}

storage_error_from!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
);
