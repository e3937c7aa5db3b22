//! The state every connection shares: identity, storage, subscriptions, limits.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::RngCore;
use sotto_wire::{QueueAuthSecret, RelayIdentity};

use crate::chunk_files::ChunkFiles;
use crate::config::{Config, Password};
use crate::metrics::Metrics;
use crate::recent_sends::RecentSends;
use crate::store::group_commit::Committer;
use crate::store::{AuthKey, Storage};
use crate::subscriptions::Subscriptions;

/// What a connection needs from the relay.
pub struct Relay {
    /// The relay's long-term identity.
    pub identity: RelayIdentity,
    /// Reads.
    pub storage: Arc<dyn Storage>,
    /// Durable writes.
    pub committer: Committer,
    /// The bytes of file chunks.
    pub chunk_files: Arc<ChunkFiles>,
    /// What FLIM answers.
    pub file_limits: FileLimits,
    /// Who receives each queue.
    pub subscriptions: Subscriptions,
    /// Aggregate counters.
    pub metrics: Arc<Metrics>,
    /// What each queue accepted lately, so a retried SEND is not stored twice.
    pub recent_sends: RecentSends,
    /// Per-connection limits.
    pub limits: ConnectionLimits,
    /// The password gating NEW, if any.
    pub password: Option<Password>,
    /// Stands in for the auth key of a queue that does not exist, so that the
    /// answer takes as long as a real check.
    pub dummy_key: AuthKey,
    next_connection: AtomicU64,
}

/// The relay's limits for files, as FLIM tells them.
#[derive(Clone, Copy, Debug)]
pub struct FileLimits {
    /// The largest file clients should upload, in bytes.
    pub max_file_size: u64,
    /// Seconds a chunk is kept after its upload.
    pub file_ttl_secs: u64,
}

/// Limits that apply to each connection.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// Transmissions per second.
    pub rate_limit: u32,
    /// Transmissions in a burst.
    pub rate_burst: u32,
    /// Failed authorizations in a burst before the connection is closed.
    pub auth_failure_burst: u32,
    /// Time to complete the handshake.
    pub handshake_timeout: Duration,
    /// Time without input before closing.
    pub idle_timeout: Duration,
    /// Bytes of replies (in blocks) waiting before the relay stops reading.
    pub outgoing_blocks: usize,
    /// Time replies may wait unwritten before the connection is reset.
    pub stall_timeout: Duration,
    /// Time to send a first authorized command.
    pub unauthorized_timeout: Duration,
    /// Queues one connection may subscribe.
    pub max_subscriptions: usize,
}

/// Queues one connection may subscribe to at once.
pub const MAX_SUBSCRIPTIONS_PER_CONNECTION: usize = 65_536;

impl Relay {
    /// Assembles the shared state.
    pub fn new(
        config: &Config,
        identity: RelayIdentity,
        storage: Arc<dyn Storage>,
        committer: Committer,
        chunk_files: Arc<ChunkFiles>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let mut dummy_secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut dummy_secret);
        let dummy_key = AuthKey::from(QueueAuthSecret::from_bytes(dummy_secret).public_key());
        Self {
            identity,
            storage,
            committer,
            chunk_files,
            file_limits: FileLimits {
                max_file_size: config.max_file_size,
                file_ttl_secs: config.file_ttl.as_secs(),
            },
            subscriptions: Subscriptions::default(),
            metrics,
            recent_sends: RecentSends::default(),
            limits: ConnectionLimits {
                rate_limit: config.rate_limit,
                rate_burst: config.rate_burst,
                auth_failure_burst: config.auth_failure_burst,
                handshake_timeout: config.handshake_timeout,
                idle_timeout: config.idle_timeout,
                outgoing_blocks: usize::try_from(config.outgoing_blocks).unwrap_or(usize::MAX),
                stall_timeout: config.stall_timeout,
                unauthorized_timeout: config.unauthorized_timeout,
                max_subscriptions: MAX_SUBSCRIPTIONS_PER_CONNECTION,
            },
            password: config.password.clone(),
            dummy_key,
            next_connection: AtomicU64::new(1),
        }
    }

    /// A fresh local connection number for log spans (never sent anywhere).
    pub fn next_connection_number(&self) -> u64 {
        self.next_connection.fetch_add(1, Ordering::Relaxed)
    }
}
