//! The in-memory index the log replays into: queues by recipient and sender id,
//! each queue's live messages in order with where their records sit, links by
//! id with where their blobs sit, and how many bytes of each segment are still
//! live. Sans-IO.
//!
//! [`Index::apply`] is the only way records change the index, both at replay and
//! after a live write, so a running store and one reopened from its log cannot
//! disagree.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering};

use sotto_wire::{LinkId, MessageId, RecipientId, SenderId, UploadId};

use super::chunk_index::{ChunkEntry, ChunkIndex};
use super::record::{MessageRecord, QueueState, Record};
use crate::store::{AuthKey, FLAG_QUOTA_REACHED, Policy, QueueRecord};

/// Seconds in the unit queue use is recorded in.
pub(super) const DAY_SECS: u64 = 24 * 60 * 60;

/// The unix day of a unix time.
pub(super) fn day_of(unix_secs: u64) -> u32 {
    u32::try_from(unix_secs / DAY_SECS).unwrap_or(u32::MAX)
}

/// Where a record sits in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Location {
    /// The segment's number.
    pub(super) segment: u32,
    /// The record's first byte in the segment.
    pub(super) offset: u32,
    /// The framed record's length.
    pub(super) len: u32,
}

impl Location {
    /// Orders locations as the log does: by segment, then by offset.
    pub(super) fn position(&self) -> u64 {
        (u64::from(self.segment) << 32) | u64::from(self.offset)
    }
}

/// A live message, without its body (which stays on disk).
#[derive(Clone, Debug)]
pub(super) struct MessageEntry {
    /// Position in the queue.
    pub(super) seq: u64,
    /// The message id.
    pub(super) id: MessageId,
    /// When the relay accepted it, unix seconds.
    pub(super) accepted_at: u64,
    /// Message flags.
    pub(super) flags: u8,
    /// Its record.
    pub(super) at: Location,
}

impl MessageEntry {
    fn is_marker(&self) -> bool {
        self.flags & FLAG_QUOTA_REACHED != 0
    }
}

/// A queue in the index.
#[derive(Default)]
pub(super) struct QueueEntry {
    /// Its state; `None` only while replaying messages whose queue record
    /// comes later in the log (it was copied forward).
    pub(super) state: Option<QueueState>,
    /// Where the current queue record sits.
    pub(super) state_at: Option<Location>,
    /// Live messages by sequence number.
    pub(super) messages: VecDeque<MessageEntry>,
    /// Messages that are not a QUOTA marker.
    pub(super) pending: u32,
    /// Sequence number of the next message.
    pub(super) next_seq: u64,
    /// Last day the queue was used, raised by readers too (hence atomic).
    pub(super) last_used: AtomicU32,
    /// Last day of use the log holds.
    pub(super) persisted_day: u32,
}

impl QueueEntry {
    /// Whether a QUOTA marker is waiting: every message that is not one is
    /// counted in `pending`, so this costs no scan of a long queue (it is
    /// asked for each SEND and each recipient command).
    pub(super) fn quota_marker(&self) -> bool {
        self.messages.len() > self.pending as usize
    }

    /// The record the [`Storage`](crate::store::Storage) trait returns.
    pub(super) fn to_record(&self) -> Option<QueueRecord> {
        let state = self.state.as_ref()?;
        Some(QueueRecord {
            recipient_key: state.recipient_key,
            sender_id: state.sender_id,
            sender_key: state.sender_key,
            status: state.status,
            queue_key: state.queue_key.clone(),
            pending: self.pending,
            quota_marker: self.quota_marker(),
            next_seq: self.next_seq,
        })
    }

    /// The oldest message not expired at `now`, if it is before `visible_end`
    /// (a log position: later records are not yet durable). A later message
    /// that is durable does not stand in for it: a copy moved forward by
    /// compaction sits after newer messages in the log until it is synced,
    /// and the queue's order must hold meanwhile.
    pub(super) fn first_message(
        &self,
        policy: &Policy,
        now: u64,
        visible_end: u64,
    ) -> Option<&MessageEntry> {
        self.messages
            .iter()
            .find(|message| !policy.is_expired(message.accepted_at, now))
            .filter(|message| message.at.position() < visible_end)
    }

    /// Notes a use of the queue on `day`.
    pub(super) fn touch(&self, day: u32) {
        self.last_used.fetch_max(day, Ordering::Relaxed);
    }

    /// The last day of use, in memory.
    pub(super) fn last_used_day(&self) -> u32 {
        self.last_used.load(Ordering::Relaxed)
    }

    fn insert(&mut self, entry: MessageEntry) -> Option<Location> {
        self.next_seq = self.next_seq.max(entry.seq.saturating_add(1));
        let marker = entry.is_marker();
        match self.messages.binary_search_by_key(&entry.seq, |m| m.seq) {
            Ok(position) => {
                // A copy forward replayed beside its original: the later wins.
                let replaced = self.messages.get_mut(position)?;
                let old = replaced.at;
                *replaced = entry;
                Some(old)
            }
            Err(position) => {
                self.messages.insert(position, entry);
                if !marker {
                    self.pending = self.pending.saturating_add(1);
                }
                None
            }
        }
    }

    fn remove(&mut self, seq: u64) -> Option<MessageEntry> {
        let position = self.messages.binary_search_by_key(&seq, |m| m.seq).ok()?;
        let removed = self.messages.remove(position)?;
        if !removed.is_marker() {
            self.pending = self.pending.saturating_sub(1);
        }
        Some(removed)
    }
}

/// A live link, without its blob (which stays on disk).
#[derive(Clone, Copy, Debug)]
pub(super) struct LinkEntry {
    /// Key that authorizes LSET and LDEL.
    pub(super) auth_key: AuthKey,
    /// When its blob was stored, unix seconds.
    pub(super) stored_at: u64,
    /// Its record.
    pub(super) at: Location,
}

/// Bytes of a segment, and how many of them live records hold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct SegmentUsage {
    /// Bytes written to the segment (its header included).
    pub(super) size: u64,
    /// Bytes of records the index still points to.
    pub(super) live: u64,
}

/// The whole index.
#[derive(Default)]
pub(super) struct Index {
    /// Queues by recipient id.
    pub(super) queues: HashMap<RecipientId, QueueEntry>,
    /// Recipient ids by sender id.
    pub(super) senders: HashMap<SenderId, RecipientId>,
    /// Links by id.
    pub(super) links: HashMap<LinkId, LinkEntry>,
    /// File chunks.
    pub(super) chunks: ChunkIndex,
    /// Every segment on disk, oldest first.
    pub(super) segments: BTreeMap<u32, SegmentUsage>,
}

impl Index {
    /// Applies a record written at `at`.
    pub(super) fn apply(&mut self, record: &Record<'_>, at: Location) {
        let end = u64::from(at.offset) + u64::from(at.len);
        let usage = self.segments.entry(at.segment).or_default();
        usage.size = usage.size.max(end);
        match record {
            Record::Queue {
                recipient_id,
                state,
                next_seq,
                last_used_day,
            } => {
                let entry = self.queues.entry(*recipient_id).or_default();
                if let Some(old) = &entry.state
                    && old.sender_id != state.sender_id
                {
                    self.senders.remove(&old.sender_id);
                }
                self.senders.insert(state.sender_id, *recipient_id);
                entry.state = Some(state.clone());
                entry.next_seq = entry.next_seq.max(*next_seq);
                entry.touch(*last_used_day);
                entry.persisted_day = entry.persisted_day.max(*last_used_day);
                let old = entry.state_at.replace(at);
                self.add_live(at);
                if let Some(old) = old {
                    self.release(old);
                }
            }
            Record::Message {
                recipient_id,
                message,
            } => {
                let day = day_of(message.accepted_at);
                let entry = self.queues.entry(*recipient_id).or_default();
                entry.touch(day);
                entry.persisted_day = entry.persisted_day.max(day);
                let old = entry.insert(MessageEntry {
                    seq: message.seq,
                    id: message.id,
                    accepted_at: message.accepted_at,
                    flags: message.flags,
                    at,
                });
                self.add_live(at);
                if let Some(old) = old {
                    self.release(old);
                }
            }
            Record::Remove { recipient_id, seq } => {
                let removed = self
                    .queues
                    .get_mut(recipient_id)
                    .and_then(|entry| entry.remove(*seq));
                if let Some(removed) = removed {
                    self.release(removed.at);
                }
            }
            Record::Delete { recipient_id } => self.drop_queue(recipient_id),
            Record::Touch { recipient_id, day } => {
                if let Some(entry) = self.queues.get_mut(recipient_id) {
                    entry.touch(*day);
                    entry.persisted_day = entry.persisted_day.max(*day);
                }
            }
            Record::Link {
                link_id,
                auth_key,
                stored_at,
                ..
            } => {
                let old = self.links.insert(
                    *link_id,
                    LinkEntry {
                        auth_key: *auth_key,
                        stored_at: *stored_at,
                        at,
                    },
                );
                self.add_live(at);
                if let Some(old) = old {
                    self.release(old.at);
                }
            }
            Record::LinkDelete { link_id } => {
                if let Some(old) = self.links.remove(link_id) {
                    self.release(old.at);
                }
            }
            Record::Chunk { upload_id, chunk } => self.apply_chunk(*upload_id, chunk, at),
            Record::ChunkDelete { upload_id } => self.apply_chunk_delete(upload_id),
        }
    }

    /// The link, unless it has expired at `now`.
    pub(super) fn link(&self, link_id: &LinkId, policy: &Policy, now: u64) -> Option<&LinkEntry> {
        self.links
            .get(link_id)
            .filter(|entry| !policy.is_expired(entry.stored_at, now))
    }

    /// Forgets every link expired at `now`; how many. Needs no record: replay
    /// finds them expired again.
    pub(super) fn expire_links(&mut self, policy: &Policy, now: u64) -> u64 {
        let expired: Vec<LinkId> = self
            .links
            .iter()
            .filter(|(_, entry)| policy.is_expired(entry.stored_at, now))
            .map(|(id, _)| *id)
            .collect();
        for link_id in &expired {
            if let Some(old) = self.links.remove(link_id) {
                self.release(old.at);
            }
        }
        expired.len() as u64
    }

    /// Forgets a queue and its messages.
    pub(super) fn drop_queue(&mut self, recipient_id: &RecipientId) {
        let Some(entry) = self.queues.remove(recipient_id) else {
            return;
        };
        if let Some(state) = &entry.state
            && self.senders.get(&state.sender_id) == Some(recipient_id)
        {
            self.senders.remove(&state.sender_id);
        }
        if let Some(at) = entry.state_at {
            self.release(at);
        }
        for message in entry.messages {
            self.release(message.at);
        }
    }

    /// Ends a replay at `now`: forgets messages whose queue record never came,
    /// messages expired under `policy` and queues idle longer than
    /// `idle_days`. None of these needs a record: replay drops them again.
    pub(super) fn finish_replay(&mut self, policy: &Policy, now: u64, idle_days: u32) {
        let orphans: Vec<RecipientId> = self
            .queues
            .iter()
            .filter(|(_, entry)| entry.state.is_none())
            .map(|(id, _)| *id)
            .collect();
        for recipient_id in orphans {
            self.drop_queue(&recipient_id);
        }
        for recipient_id in self.idle_queues(day_of(now), idle_days) {
            self.drop_queue(&recipient_id);
        }
        self.expire(policy, now, usize::MAX);
        self.expire_links(policy, now);
        // Their files go when the chunk directory opens: it keeps only the
        // files of chunks the store holds.
        self.expire_chunks(policy, now);
    }

    /// Forgets up to `limit` messages expired at `now`; how many.
    pub(super) fn expire(&mut self, policy: &Policy, now: u64, limit: usize) -> u64 {
        let mut released = Vec::new();
        for entry in self.queues.values_mut() {
            if released.len() >= limit {
                break;
            }
            // A queue's messages are in accept order, so its expired ones are
            // at the front (a clock set back can leave one behind until the
            // next sweep passes it; reads skip it meanwhile).
            while released.len() < limit
                && let Some(first) = entry.messages.front()
                && policy.is_expired(first.accepted_at, now)
            {
                let seq = first.seq;
                if let Some(removed) = entry.remove(seq) {
                    released.push(removed.at);
                }
            }
        }
        let expired = released.len() as u64;
        for at in released {
            self.release(at);
        }
        expired
    }

    /// Queues whose last use is more than `idle_days` days before `today`.
    pub(super) fn idle_queues(&self, today: u32, idle_days: u32) -> Vec<RecipientId> {
        self.queues
            .iter()
            .filter(|(_, entry)| entry.last_used_day().saturating_add(idle_days) < today)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Queues used on a day the log does not hold yet.
    pub(super) fn unpersisted_uses(&self) -> Vec<(RecipientId, u32)> {
        self.queues
            .iter()
            .filter(|(_, entry)| entry.last_used_day() > entry.persisted_day)
            .map(|(id, entry)| (*id, entry.last_used_day()))
            .collect()
    }

    /// Live bytes of all segments.
    pub(super) fn live_bytes(&self) -> u64 {
        self.segments.values().map(|usage| usage.live).sum()
    }

    /// Bytes of all segments.
    pub(super) fn total_bytes(&self) -> u64 {
        self.segments.values().map(|usage| usage.size).sum()
    }

    /// The records still live in `segment`, in log order: what compaction
    /// copies forward.
    pub(super) fn live_in(&self, segment: u32) -> Vec<LiveRecord> {
        let mut live = Vec::new();
        for (recipient_id, entry) in &self.queues {
            if let (Some(state), Some(at)) = (&entry.state, entry.state_at)
                && at.segment == segment
            {
                live.push(LiveRecord::Queue {
                    recipient_id: *recipient_id,
                    state: state.clone(),
                    next_seq: entry.next_seq,
                    last_used_day: entry.last_used_day(),
                    at,
                });
            }
            for message in entry.messages.iter().filter(|m| m.at.segment == segment) {
                live.push(LiveRecord::Message {
                    recipient_id: *recipient_id,
                    message: message.clone(),
                });
            }
        }
        for (link_id, entry) in &self.links {
            if entry.at.segment == segment {
                live.push(LiveRecord::Link {
                    link_id: *link_id,
                    entry: *entry,
                });
            }
        }
        for (upload_id, entry) in &self.chunks.chunks {
            if entry.at.segment == segment {
                live.push(LiveRecord::Chunk {
                    upload_id: *upload_id,
                    entry: Box::new(entry.clone()),
                });
            }
        }
        live.sort_by_key(|record| record.at().position());
        live
    }

    pub(super) fn add_live(&mut self, at: Location) {
        let usage = self.segments.entry(at.segment).or_default();
        usage.live = usage.live.saturating_add(u64::from(at.len));
    }

    pub(super) fn release(&mut self, at: Location) {
        if let Some(usage) = self.segments.get_mut(&at.segment) {
            usage.live = usage.live.saturating_sub(u64::from(at.len));
        }
    }
}

/// A live record found by [`Index::live_in`].
#[derive(Clone, Debug)]
pub(super) enum LiveRecord {
    /// A queue's current record.
    Queue {
        /// The queue.
        recipient_id: RecipientId,
        /// Its state.
        state: QueueState,
        /// Its next sequence number.
        next_seq: u64,
        /// Its last day of use.
        last_used_day: u32,
        /// Where the record sits.
        at: Location,
    },
    /// A live message.
    Message {
        /// The queue.
        recipient_id: RecipientId,
        /// The message, without its body.
        message: MessageEntry,
    },
    /// A live link.
    Link {
        /// The link.
        link_id: LinkId,
        /// The link, without its blob.
        entry: LinkEntry,
    },
    /// A live file chunk's record.
    Chunk {
        /// The chunk.
        upload_id: UploadId,
        /// Its state.
        entry: Box<ChunkEntry>,
    },
}

impl LiveRecord {
    /// Where the record sits.
    pub(super) fn at(&self) -> Location {
        match self {
            LiveRecord::Queue { at, .. } => *at,
            LiveRecord::Message { message, .. } => message.at,
            LiveRecord::Link { entry, .. } => entry.at,
            LiveRecord::Chunk { entry, .. } => entry.at,
        }
    }
}

/// A message record's fields, for records built from the index.
pub(super) fn message_record<'a>(entry: &MessageEntry, body: &'a [u8]) -> MessageRecord<'a> {
    MessageRecord {
        seq: entry.seq,
        id: entry.id,
        accepted_at: entry.accepted_at,
        flags: entry.flags,
        body,
    }
}

#[cfg(test)]
mod tests {
    use sotto_wire::QueueKey;

    use super::*;
    use crate::store::{AuthKey, QueueStatus};

    fn state() -> QueueState {
        QueueState {
            recipient_key: AuthKey::from_bytes([1; 32]),
            sender_id: SenderId::from_bytes([2; 24]),
            sender_key: None,
            status: QueueStatus::Active,
            queue_key: QueueKey::from_bytes([4; 32]),
        }
    }

    fn at(segment: u32, offset: u32, len: u32) -> Location {
        Location {
            segment,
            offset,
            len,
        }
    }

    fn message(seq: u64) -> Record<'static> {
        Record::Message {
            recipient_id: RecipientId::from_bytes([1; 24]),
            message: MessageRecord {
                seq,
                id: MessageId::from_bytes([seq as u8; 24]),
                accepted_at: 100 * DAY_SECS,
                flags: 0,
                body: b"",
            },
        }
    }

    fn queue(next_seq: u64) -> Record<'static> {
        Record::Queue {
            recipient_id: RecipientId::from_bytes([1; 24]),
            state: state(),
            next_seq,
            last_used_day: 100,
        }
    }

    #[test]
    fn copies_forward_replay_in_queue_order_and_replace_originals() {
        let mut index = Index::default();
        // Segment 1 was compacted: its queue record and message 0 were copied
        // into segment 3, after message 1 in segment 2.
        index.apply(&message(1), at(2, 16, 100));
        index.apply(&queue(2), at(3, 16, 50));
        index.apply(&message(0), at(3, 66, 100));
        let entry = &index.queues[&RecipientId::from_bytes([1; 24])];
        let seqs: Vec<u64> = entry.messages.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, [0, 1]);
        assert_eq!(entry.pending, 2);
        assert_eq!(entry.next_seq, 2);
        // The original of message 1 replayed again (a crash before its old
        // segment was deleted): one message, at its newer place.
        index.apply(&message(1), at(3, 166, 100));
        let entry = &index.queues[&RecipientId::from_bytes([1; 24])];
        assert_eq!(entry.pending, 2);
        assert_eq!(entry.messages[1].at.segment, 3);
        assert_eq!(index.segments[&2].live, 0);
        assert_eq!(index.segments[&3].live, 250);
    }

    #[test]
    fn orphan_messages_are_dropped_at_the_end_of_replay() {
        let mut index = Index::default();
        index.apply(&message(0), at(1, 16, 100));
        let policy = Policy {
            queue_quota: 10,
            message_ttl_secs: 10 * DAY_SECS,
            file_ttl_secs: 200,
        };
        index.finish_replay(&policy, 100 * DAY_SECS, 30);
        assert!(index.queues.is_empty());
        assert_eq!(index.live_bytes(), 0);
    }

    #[test]
    fn delete_releases_everything() {
        let mut index = Index::default();
        index.apply(&queue(0), at(1, 16, 50));
        index.apply(&message(0), at(1, 66, 100));
        index.apply(
            &Record::Delete {
                recipient_id: RecipientId::from_bytes([1; 24]),
            },
            at(1, 166, 33),
        );
        assert!(index.queues.is_empty() && index.senders.is_empty());
        assert_eq!(index.live_bytes(), 0);
        assert_eq!(index.total_bytes(), 199);
    }
}
