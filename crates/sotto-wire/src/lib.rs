//! Sotto's relay wire protocol, as a sans-IO codec: no sockets, no clock, no RNG
//! calls (randomness comes in as byte arrays). `docs/protocol.md` specifies it to
//! the byte.
//!
//! Modules, in the order a connection meets them:
//! - `address`: relay addresses (`sotto://<fingerprint>@host[:port]`) and
//!   fingerprints.
//! - `version`: protocol versions and their negotiation.
//! - `block`: fixed-size [`Block`]s and the [`InnerBlock`] that batches
//!   transmissions.
//! - `hello`: the two plaintext hello blocks.
//! - `identity`: the relay's long-term Ed25519 key.
//! - `suite`: the negotiated AEAD (AES-256-GCM or ChaCha20-Poly1305).
//! - `handshake`: client and relay handshake states, consumed on transition.
//! - `transport`: per-direction block encryption after the handshake.
//! - `auth`: queue auth keys and the per-command authenticators keyed per
//!   (session, queue).
//! - `transmission`: one command or response frame, with or without an
//!   authenticator.
//! - `ids`: recipient, sender, message and correlation ids.
//! - `command`: what clients send; `response`: what relays answer and push.
//! - `link_blob`: the fixed-size opaque blob a relay keeps under a link id.
//! - `file_chunk`: file chunks' fixed sizes, digests, pieces and download keys.
//! - `group_log`: the fixed-size entries of a relay's group logs.
//! - `queue_message`: the relay's per-queue sealing of delivered messages.
//! - `connection`: a client's whole connection to a relay as a sans-IO state
//!   machine (handshake, authenticators, batching, keep-alive, timeouts), for
//!   every driver; `backoff`: when its drivers try a lost relay again.
//! - `error`: the crate's error type, grouped by fault.

mod address;
mod auth;
mod backoff;
mod block;
mod codec;
mod command;
mod connection;
mod error;
mod file_chunk;
mod group_log;
mod handshake;
mod hello;
mod identity;
mod ids;
mod link_blob;
mod queue_message;
mod response;
mod suite;
mod transmission;
mod transport;
mod version;

pub use address::{
    FINGERPRINT_TEXT_LEN, MAX_ADDRESS_LEN, RelayAddress, RelayFingerprint, RelayHost, RelayScheme,
};
pub use auth::{
    AUTHENTICATOR_LEN, Authenticator, CommandKey, QueueAuthKey, QueueAuthSecret, RelaySessionAuth,
};
pub use backoff::ReconnectBackoff;
pub use block::{
    BLOCK_SIZE, Block, INNER_SIZE, InnerBlock, MAX_TRANSMISSION_LEN, MAX_TRANSMISSIONS, TAG_SIZE,
};
pub use command::{
    Command, MAX_MESSAGE_BODY, MAX_PASSWORD_LEN, MessageBody, SEND_ID_LEN, SendId, ServerPassword,
};
pub use connection::{
    ClientConnection, ConnectionConfig, ConnectionEnd, Event, Request, RequestFailure, RequestId,
};
pub use error::WireError;
pub use file_chunk::{
    CHUNK_DIGEST_LEN, ChunkDigest, ChunkDigester, ChunkSize, DownloadKeys, FilePiece,
    MAX_DOWNLOADS, MAX_PIECE_LEN, MAX_READ_LEN,
};
pub use group_log::{GROUP_ENTRY_LEN, GroupEntry};
pub use handshake::{ClientHandshake, ServerHandshake, ServerHandshakeOutcome};
pub use hello::{ClientHello, HELLO_MAGIC, ServerHello, ServerReply, VersionReject};
pub use identity::RelayIdentity;
pub use ids::{
    CORR_ID_LEN, CorrId, DownloadId, EntityId, GroupAdminId, GroupReadId, GroupWriteId, ID_LEN,
    LinkId, MessageId, RecipientId, SenderId, UploadId,
};
pub use link_blob::{LINK_BLOB_LEN, LinkBlob};
pub use queue_message::{
    MAX_SEALED_LEN, MIN_SEALED_LEN, MessageContent, QueueKey, QueueMessage, SealedMessage,
};
pub use response::{ErrorCode, Response};
pub use suite::{AEAD_TAG_LEN, CipherSuite};
pub use transmission::Transmission;
pub use transport::{BlockOpener, BlockSealer, SessionId, SessionParameters, Transport};
pub use version::{Version, VersionRange};

/// The Ed25519 crate whose key and signature types this API uses.
pub use ed25519_dalek;
/// The X25519 crate whose key types this API uses.
pub use x25519_dalek;
