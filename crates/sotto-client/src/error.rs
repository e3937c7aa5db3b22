//! The crate's one error type, grouped by who is at fault.

use sotto_wire::{ErrorCode, WireError};

/// Everything that can go wrong while talking to a relay. `Display` carries no
/// key, queue id or message content, so it is safe to log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    // ---- The relay refused a command ---------------------------------------------
    /// The relay answered ERR with this code.
    #[error("relay refused the command: {0:?}")]
    Refused(ErrorCode),

    // ---- Misbehaving or impostor relay --------------------------------------------
    /// The relay's identity key does not match the fingerprint in its address: it
    /// is not the relay the address names, and nothing was sent to it.
    #[error("relay identity does not match the fingerprint in its address; refused")]
    WrongRelayIdentity,
    /// The relay broke the protocol (a malformed block, a bad handshake, …).
    #[error("relay protocol violation: {0}")]
    Protocol(#[from] WireError),
    /// The relay answered with a response that does not fit the command.
    #[error("unexpected response from the relay to {command}")]
    UnexpectedResponse {
        /// The command, by its protocol name.
        command: &'static str,
    },

    /// A downloaded file chunk does not have the digest it was described
    /// with.
    #[error("a downloaded file chunk does not match its digest")]
    ChunkDigest,

    // ---- The connection -----------------------------------------------------------
    /// The TCP connection failed.
    #[error("connection to the relay failed: {0}")]
    Io(#[from] std::io::Error),
    /// The WebSocket layer failed.
    #[error("websocket: {0}")]
    WebSocket(#[from] Box<tokio_tungstenite::tungstenite::Error>),
    /// The connection is closed; commands in flight get this error.
    #[error("connection to the relay is closed")]
    Closed,
    /// The relay did not answer in time.
    #[error("the relay did not answer in time")]
    Timeout,

    // ---- Local files ---------------------------------------------------------------
    /// A file to send, or the profile's copies of files, could not be read
    /// or written.
    #[error("file: {0}")]
    LocalFile(std::io::Error),

    // ---- The client core ---------------------------------------------------------
    /// The core failed on something local (its storage, a damaged record).
    #[error(transparent)]
    Core(#[from] sotto_core::CoreError),

    // ---- Local policy and misuse --------------------------------------------------
    /// Plain WebSocket (`sotto+ws://`) is allowed only to loopback hosts unless the
    /// caller opts in.
    #[error("plain WebSocket is allowed only to a loopback relay")]
    InsecureTransport,
    /// A TLS relay (`sotto://`) was given without TLS settings (trusted roots),
    /// or its host is not a valid TLS server name.
    #[error("TLS relay address (sotto://) without TLS settings or with an invalid host name")]
    TlsUnsupported,
    /// A file is larger than the relay accepts (its FLIM answer): nothing
    /// was encrypted or uploaded.
    #[error(
        "the file takes {needed} bytes on the relay, more than the {limit} bytes it accepts for a file"
    )]
    FileTooLarge {
        /// The file's chunks, in bytes (its size once encrypted and padded).
        needed: u64,
        /// The relay's `max_file_size`.
        limit: u64,
    },
    /// A chunk to upload is not exactly its size class's length.
    #[error("a file chunk must be exactly its size class's length (pad it)")]
    ChunkSize,
}

impl From<tokio_tungstenite::tungstenite::Error> for ClientError {
    fn from(error: tokio_tungstenite::tungstenite::Error) -> Self {
        ClientError::WebSocket(Box::new(error))
    }
}
