//! Aggregate counters, served at `/metrics` in the Prometheus text format.
//!
//! Counts only: no queue id, key, address or anything per client.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use sotto_wire::ErrorCode;

/// Upper bounds of the group-commit batch size histogram.
const BATCH_BUCKETS: [u64; 12] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

/// Error codes in the order of the `errors` counters (wire codes 1..=13).
const ERROR_NAMES: [&str; 13] = [
    "BLOCK",
    "CMD",
    "AUTH",
    "QUOTA",
    "NO_MSG",
    "LARGE_MSG",
    "INTERNAL",
    "LIMIT",
    "FULL",
    "OFFSET",
    "COMPLETE",
    "INCOMPLETE",
    "DIGEST",
];

/// The relay's counters. Relaxed atomics: each is independent.
#[derive(Default)]
pub struct Metrics {
    connections_accepted: AtomicU64,
    connections_open: AtomicU64,
    handshakes_failed: AtomicU64,
    queues_created: AtomicU64,
    queues_deleted: AtomicU64,
    messages_sent: AtomicU64,
    messages_delivered: AtomicU64,
    messages_acked: AtomicU64,
    messages_expired: AtomicU64,
    quota_markers: AtomicU64,
    links_created: AtomicU64,
    links_fetched: AtomicU64,
    links_deleted: AtomicU64,
    chunks_created: AtomicU64,
    chunks_completed: AtomicU64,
    chunks_deleted: AtomicU64,
    chunks_expired: AtomicU64,
    chunk_pieces_received: AtomicU64,
    chunk_pieces_sent: AtomicU64,
    groups_created: AtomicU64,
    groups_rekeyed: AtomicU64,
    groups_deleted: AtomicU64,
    group_entries_appended: AtomicU64,
    group_entries_pushed: AtomicU64,
    group_entries_read: AtomicU64,
    blocks_received: AtomicU64,
    blocks_sent: AtomicU64,
    errors: [AtomicU64; 13],
    commits: AtomicU64,
    deferred_commits: AtomicU64,
    committed_ops: AtomicU64,
    batch_buckets: [AtomicU64; BATCH_BUCKETS.len()],
}

/// One event the relay counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A WebSocket connection was accepted.
    ConnectionOpened,
    /// A WebSocket connection ended.
    ConnectionClosed,
    /// A handshake failed or timed out.
    HandshakeFailed,
    /// NEW created a queue.
    QueueCreated,
    /// DEL deleted a queue.
    QueueDeleted,
    /// SEND stored a message.
    MessageSent,
    /// A message was pushed or fetched.
    MessageDelivered,
    /// ACK deleted a message.
    MessageAcked,
    /// A QUOTA_REACHED marker was appended.
    QuotaMarker,
    /// A block from a client decrypted.
    BlockReceived,
    /// LNEW stored a link blob.
    LinkCreated,
    /// LGET found a link blob.
    LinkFetched,
    /// LDEL deleted a link blob.
    LinkDeleted,
    /// FNEW recorded a file chunk.
    ChunkCreated,
    /// The last FPUT of a chunk made it complete.
    ChunkCompleted,
    /// FDEL, or FACK by its last recipient, deleted a chunk.
    ChunkDeleted,
    /// FPUT wrote a piece.
    ChunkPieceReceived,
    /// FGET read a piece.
    ChunkPieceSent,
    /// GNEW created a group log.
    GroupCreated,
    /// GKEY replaced a group log's keys.
    GroupRekeyed,
    /// GDEL deleted a group log.
    GroupDeleted,
    /// GAPP appended an entry.
    GroupEntryAppended,
    /// An entry was pushed to a subscriber.
    GroupEntryPushed,
    /// GREAD read an entry.
    GroupEntryRead,
}

impl Metrics {
    /// Counts one event.
    pub fn count(&self, event: Event) {
        let counter = match event {
            Event::ConnectionOpened => {
                self.connections_open.fetch_add(1, Ordering::Relaxed);
                &self.connections_accepted
            }
            Event::ConnectionClosed => {
                // Saturating: never wraps even if close were counted twice.
                let _ = self.connections_open.fetch_update(
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                    |open| open.checked_sub(1),
                );
                return;
            }
            Event::HandshakeFailed => &self.handshakes_failed,
            Event::QueueCreated => &self.queues_created,
            Event::QueueDeleted => &self.queues_deleted,
            Event::MessageSent => &self.messages_sent,
            Event::MessageDelivered => &self.messages_delivered,
            Event::MessageAcked => &self.messages_acked,
            Event::QuotaMarker => &self.quota_markers,
            Event::BlockReceived => &self.blocks_received,
            Event::LinkCreated => &self.links_created,
            Event::LinkFetched => &self.links_fetched,
            Event::LinkDeleted => &self.links_deleted,
            Event::ChunkCreated => &self.chunks_created,
            Event::ChunkCompleted => &self.chunks_completed,
            Event::ChunkDeleted => &self.chunks_deleted,
            Event::ChunkPieceReceived => &self.chunk_pieces_received,
            Event::ChunkPieceSent => &self.chunk_pieces_sent,
            Event::GroupCreated => &self.groups_created,
            Event::GroupRekeyed => &self.groups_rekeyed,
            Event::GroupDeleted => &self.groups_deleted,
            Event::GroupEntryAppended => &self.group_entries_appended,
            Event::GroupEntryPushed => &self.group_entries_pushed,
            Event::GroupEntryRead => &self.group_entries_read,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an error answered to a client.
    pub fn count_error(&self, code: ErrorCode) {
        let index = usize::from(code.code()).saturating_sub(1);
        if let Some(counter) = self.errors.get(index) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts blocks sealed and handed to a connection's writer.
    pub fn count_blocks_sent(&self, blocks: u64) {
        self.blocks_sent.fetch_add(blocks, Ordering::Relaxed);
    }

    /// Counts messages deleted by the expiry sweep.
    pub fn count_expired(&self, messages: u64) {
        self.messages_expired.fetch_add(messages, Ordering::Relaxed);
    }

    /// Counts file chunks deleted by the expiry sweep.
    pub fn count_expired_chunks(&self, chunks: u64) {
        self.chunks_expired.fetch_add(chunks, Ordering::Relaxed);
    }

    /// Counts one group commit of `ops` writes.
    pub fn record_commit(&self, ops: usize) {
        let ops = ops as u64;
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.committed_ops.fetch_add(ops, Ordering::Relaxed);
        if let Some(bucket) = BATCH_BUCKETS.iter().position(|&bound| ops <= bound) {
            self.batch_buckets[bucket].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts one commit made without fsync (ACKs only).
    pub fn record_deferred_commit(&self) {
        self.deferred_commits.fetch_add(1, Ordering::Relaxed);
    }

    /// Group commits so far.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// The counters in the Prometheus text exposition format, with the number of
    /// subscribed queues (a gauge the caller reads from the registry).
    pub fn render(&self, subscribed_queues: usize) -> String {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let mut out = String::with_capacity(4096);
        let counters = [
            (
                "sotto_connections_accepted_total",
                "WebSocket connections accepted.",
                &self.connections_accepted,
            ),
            (
                "sotto_handshakes_failed_total",
                "Handshakes that failed or timed out.",
                &self.handshakes_failed,
            ),
            (
                "sotto_queues_created_total",
                "Queues created.",
                &self.queues_created,
            ),
            (
                "sotto_queues_deleted_total",
                "Queues deleted.",
                &self.queues_deleted,
            ),
            (
                "sotto_messages_sent_total",
                "Messages accepted and stored.",
                &self.messages_sent,
            ),
            (
                "sotto_messages_delivered_total",
                "Messages pushed or fetched.",
                &self.messages_delivered,
            ),
            (
                "sotto_messages_acked_total",
                "Messages acknowledged and deleted.",
                &self.messages_acked,
            ),
            (
                "sotto_messages_expired_total",
                "Messages deleted by expiry.",
                &self.messages_expired,
            ),
            (
                "sotto_quota_markers_total",
                "QUOTA_REACHED markers appended.",
                &self.quota_markers,
            ),
            (
                "sotto_links_created_total",
                "Link blobs stored by LNEW.",
                &self.links_created,
            ),
            (
                "sotto_links_fetched_total",
                "Link blobs fetched by LGET.",
                &self.links_fetched,
            ),
            (
                "sotto_links_deleted_total",
                "Link blobs deleted by LDEL.",
                &self.links_deleted,
            ),
            (
                "sotto_file_chunks_created_total",
                "File chunks created by FNEW.",
                &self.chunks_created,
            ),
            (
                "sotto_file_chunks_completed_total",
                "File chunks whose upload completed.",
                &self.chunks_completed,
            ),
            (
                "sotto_file_chunks_deleted_total",
                "File chunks deleted by FDEL or by the last FACK.",
                &self.chunks_deleted,
            ),
            (
                "sotto_file_chunks_expired_total",
                "File chunks deleted by expiry.",
                &self.chunks_expired,
            ),
            (
                "sotto_file_chunks_pieces_received_total",
                "Pieces of file chunks written by FPUT.",
                &self.chunk_pieces_received,
            ),
            (
                "sotto_file_chunks_pieces_sent_total",
                "Pieces of file chunks read by FGET.",
                &self.chunk_pieces_sent,
            ),
            (
                "sotto_group_logs_created_total",
                "Group logs created by GNEW.",
                &self.groups_created,
            ),
            (
                "sotto_group_logs_rekeyed_total",
                "Group log key rotations (GKEY).",
                &self.groups_rekeyed,
            ),
            (
                "sotto_group_logs_deleted_total",
                "Group logs deleted by GDEL.",
                &self.groups_deleted,
            ),
            (
                "sotto_group_entries_appended_total",
                "Group log entries appended by GAPP.",
                &self.group_entries_appended,
            ),
            (
                "sotto_group_entries_pushed_total",
                "Group log entries pushed to subscribers.",
                &self.group_entries_pushed,
            ),
            (
                "sotto_group_entries_read_total",
                "Group log entries read by GREAD.",
                &self.group_entries_read,
            ),
            (
                "sotto_blocks_received_total",
                "Blocks received from clients (after the handshake).",
                &self.blocks_received,
            ),
            (
                "sotto_blocks_sent_total",
                "Blocks sent to clients (after the handshake).",
                &self.blocks_sent,
            ),
            (
                "sotto_deferred_commits_total",
                "Commits of ACKs without an fsync of their own (one per ACK its connection applied at once); the next fsync makes them durable.",
                &self.deferred_commits,
            ),
            (
                "sotto_fsync_batches_total",
                "Group commits (one fsync each).",
                &self.commits,
            ),
        ];
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "# HELP sotto_connections_open Open WebSocket connections."
        );
        let _ = writeln!(out, "# TYPE sotto_connections_open gauge");
        let _ = writeln!(
            out,
            "sotto_connections_open {}",
            load(&self.connections_open)
        );
        let _ = writeln!(
            out,
            "# HELP sotto_subscribed_queues Queues with a subscriber."
        );
        let _ = writeln!(out, "# TYPE sotto_subscribed_queues gauge");
        let _ = writeln!(out, "sotto_subscribed_queues {subscribed_queues}");
        for (name, help, counter) in counters {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", load(counter));
        }
        let _ = writeln!(out, "# HELP sotto_errors_total Errors answered, by code.");
        let _ = writeln!(out, "# TYPE sotto_errors_total counter");
        for (name, counter) in ERROR_NAMES.iter().zip(&self.errors) {
            let _ = writeln!(
                out,
                "sotto_errors_total{{code=\"{name}\"}} {}",
                load(counter)
            );
        }
        let _ = writeln!(
            out,
            "# HELP sotto_fsync_batch_size Writes per group commit."
        );
        let _ = writeln!(out, "# TYPE sotto_fsync_batch_size histogram");
        let mut cumulative = 0;
        for (bound, bucket) in BATCH_BUCKETS.iter().zip(&self.batch_buckets) {
            cumulative += load(bucket);
            let _ = writeln!(
                out,
                "sotto_fsync_batch_size_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "sotto_fsync_batch_size_bucket{{le=\"+Inf\"}} {}",
            load(&self.commits)
        );
        let _ = writeln!(
            out,
            "sotto_fsync_batch_size_sum {}",
            load(&self.committed_ops)
        );
        let _ = writeln!(out, "sotto_fsync_batch_size_count {}", load(&self.commits));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_histogram() {
        let metrics = Metrics::default();
        metrics.count(Event::ConnectionOpened);
        metrics.count(Event::ConnectionOpened);
        metrics.count(Event::ConnectionClosed);
        metrics.count(Event::MessageSent);
        metrics.count_error(ErrorCode::Auth);
        metrics.record_commit(1);
        metrics.record_commit(3);
        metrics.record_commit(100_000);
        let text = metrics.render(7);
        assert!(text.contains("sotto_subscribed_queues 7\n"), "{text}");
        assert!(text.contains("sotto_connections_open 1\n"), "{text}");
        assert!(text.contains("sotto_connections_accepted_total 2\n"));
        assert!(text.contains("sotto_messages_sent_total 1\n"));
        assert!(text.contains("sotto_errors_total{code=\"AUTH\"} 1\n"));
        metrics.count(Event::ChunkCreated);
        metrics.count_error(ErrorCode::Digest);
        let text = metrics.render(7);
        assert!(text.contains("sotto_file_chunks_created_total 1\n"));
        assert!(text.contains("sotto_errors_total{code=\"DIGEST\"} 1\n"));
        assert!(text.contains("sotto_fsync_batch_size_bucket{le=\"1\"} 1\n"));
        assert!(text.contains("sotto_fsync_batch_size_bucket{le=\"4\"} 2\n"));
        assert!(text.contains("sotto_fsync_batch_size_bucket{le=\"4096\"} 2\n"));
        assert!(text.contains("sotto_fsync_batch_size_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("sotto_fsync_batch_size_sum 100004\n"));
    }

    #[test]
    fn open_connections_never_wrap() {
        let metrics = Metrics::default();
        metrics.count(Event::ConnectionClosed);
        assert!(metrics.render(0).contains("sotto_connections_open 0\n"));
    }
}
