//! Space reclaim: segments go oldest first; the live records of the oldest one
//! are copied forward into the active segment (same queue state, same message
//! ids, sequence numbers and accept times), then its file is deleted.
//!
//! The oldest sealed segment is reclaimed when either
//! - at most a quarter of it is live (the usual case: messages are acknowledged
//!   within minutes, so old segments are nearly all dead and cost almost no
//!   copying), or
//! - the whole log is more than twice its live bytes plus two segments (messages
//!   that wait for an offline recipient keep an old segment mostly live), or
//! - the log is within two segments of the storage budget and the oldest
//!   segment holds any dead record.
//!
//! Write amplification: under the first rule each byte copied frees at least
//! three; under the second, a pass over the log copies at most its live bytes,
//! which are less than half of it, so on average a byte written is copied at
//! most once more (amplification below 2). The third rule trades copying for
//! space when the budget is nearly used and can copy a segment to free little
//! of it: a budget well above the live data keeps it from firing. A record copied forward is replayed
//! after its original if the old segment outlives a crash, and replaces it.
//!
//! Why only the oldest: a record can only cancel records before it (an ACK's
//! removal, a deletion, a newer queue state), and every segment before the one
//! reclaimed is already gone, so its removals, deletions and day-of-use records
//! have nothing left to cancel and are dropped.

use super::LogStore;
use super::index::{LiveRecord, SegmentUsage, message_record};
use super::record::Record;
use super::segment;
use crate::Error;
use crate::store::Commit;

/// Bytes of live records copied per step: the writer lock is held for one step
/// at a time, so writes wait at most this long behind a reclaim.
const COPY_STEP: u64 = 2 << 20;

/// Segments reclaimed per sweep at most, so one sweep ends.
const MAX_SEGMENTS_PER_SWEEP: usize = 64;

/// The state of the log the reclaim rule looks at.
#[derive(Clone, Copy, Debug)]
pub(super) struct LogUsage {
    /// The oldest sealed segment.
    pub(super) oldest: SegmentUsage,
    /// Bytes of all segments.
    pub(super) total: u64,
    /// Live bytes of all segments.
    pub(super) live: u64,
    /// The segment size.
    pub(super) segment_bytes: u64,
    /// The storage budget.
    pub(super) max_bytes: Option<u64>,
}

/// Whether the oldest sealed segment should be reclaimed.
pub(super) fn should_reclaim(usage: LogUsage) -> bool {
    let LogUsage {
        oldest,
        total,
        live,
        segment_bytes,
        max_bytes,
    } = usage;
    let two_segments = segment_bytes.saturating_mul(2);
    oldest.live.saturating_mul(4) <= oldest.size
        || total > live.saturating_mul(2).saturating_add(two_segments)
        || max_bytes.is_some_and(|max| {
            total.saturating_add(two_segments) > max && oldest.live < oldest.size
        })
}

impl LogStore {
    /// Reclaims segments while the rule asks for it.
    pub(super) fn reclaim(&self) -> Result<(), Error> {
        for _ in 0..MAX_SEGMENTS_PER_SWEEP {
            let Some(oldest) = self.reclaimable()? else {
                return Ok(());
            };
            self.reclaim_segment(oldest)?;
        }
        Ok(())
    }

    fn reclaimable(&self) -> Result<Option<u32>, Error> {
        let active = self.lock_writer()?.active();
        let index = self.read_index()?;
        let Some((&oldest, &usage)) = index.segments.first_key_value() else {
            return Ok(None);
        };
        let reclaim = oldest != active
            && should_reclaim(LogUsage {
                oldest: usage,
                total: index.total_bytes(),
                live: index.live_bytes(),
                segment_bytes: self.config.segment_bytes,
                // File chunks take their part of the budget first.
                max_bytes: self
                    .config
                    .max_bytes
                    .map(|max| max.saturating_sub(index.chunks.bytes)),
            });
        Ok(reclaim.then_some(oldest))
    }

    /// Copies the live records of `number` forward, a step at a time, then
    /// deletes it.
    pub(super) fn reclaim_segment(&self, number: u32) -> Result<(), Error> {
        let live = self.read_index()?.live_in(number);
        let mut rest = live.as_slice();
        while !rest.is_empty() {
            let mut bytes = 0;
            let step = rest
                .iter()
                .take_while(|record| {
                    bytes += u64::from(record.at().len);
                    bytes <= COPY_STEP
                })
                .count()
                .max(1);
            let (now, later) = rest.split_at(step.min(rest.len()));
            self.copy_forward(now)?;
            rest = later;
        }
        let writer = self.lock_writer()?;
        let mut index = self.write_index()?;
        if number == writer.active() || index.segments.get(&number).is_some_and(|u| u.live > 0) {
            return Ok(());
        }
        index.segments.remove(&number);
        drop(index);
        self.files
            .write()
            .map_err(|_| Error::StoreFailed)?
            .remove(&number);
        // Until the removal is durable, a younger segment must not be removed:
        // replay after a power loss would find the older one back, with its
        // removals gone.
        segment::remove(&self.dir, number).map_err(|error| self.fail(error))?;
        drop(writer);
        Ok(())
    }

    fn copy_forward(&self, records: &[LiveRecord]) -> Result<(), Error> {
        let mut writer = self.lock_writer()?;
        // Under the writer lock nothing else changes the index: what is still
        // live now is still live when the copies are applied.
        let still_live: Vec<LiveRecord> = {
            let index = self.read_index()?;
            records
                .iter()
                .filter(|record| match record {
                    LiveRecord::Queue {
                        recipient_id, at, ..
                    } => index
                        .queues
                        .get(recipient_id)
                        .is_some_and(|entry| entry.state_at == Some(*at)),
                    LiveRecord::Message {
                        recipient_id,
                        message,
                    } => index.queues.get(recipient_id).is_some_and(|entry| {
                        entry
                            .messages
                            .iter()
                            .any(|m| m.seq == message.seq && m.at == message.at)
                    }),
                    LiveRecord::Link { link_id, entry } => index
                        .links
                        .get(link_id)
                        .is_some_and(|live| live.at == entry.at),
                    LiveRecord::Chunk { upload_id, entry } => index
                        .chunks
                        .chunks
                        .get(upload_id)
                        .is_some_and(|live| live.at == entry.at),
                })
                .cloned()
                .collect()
        };
        let mut bodies = Vec::with_capacity(still_live.len());
        for record in &still_live {
            bodies.push(match record {
                // Under the writer lock, the segment cannot go meanwhile.
                LiveRecord::Message { message, .. } => {
                    Self::read_body(&*self.file(message.at.segment)?, message.at)?
                }
                LiveRecord::Link { entry, .. } => {
                    Self::read_link_blob(&*self.file(entry.at.segment)?, entry.at)?
                }
                LiveRecord::Queue { .. } | LiveRecord::Chunk { .. } => Vec::new(),
            });
        }
        let copies: Vec<Record<'_>> = still_live
            .iter()
            .zip(&bodies)
            .map(|(record, body)| match record {
                LiveRecord::Queue {
                    recipient_id,
                    state,
                    next_seq,
                    last_used_day,
                    ..
                } => Record::Queue {
                    recipient_id: *recipient_id,
                    state: state.clone(),
                    next_seq: *next_seq,
                    last_used_day: *last_used_day,
                },
                LiveRecord::Message {
                    recipient_id,
                    message,
                } => Record::Message {
                    recipient_id: *recipient_id,
                    message: message_record(message, body),
                },
                LiveRecord::Link { link_id, entry } => Record::Link {
                    link_id: *link_id,
                    auth_key: entry.auth_key,
                    stored_at: entry.stored_at,
                    blob: body,
                },
                LiveRecord::Chunk { upload_id, entry } => Record::Chunk {
                    upload_id: *upload_id,
                    chunk: Box::new(entry.chunk.clone()),
                },
            })
            .collect();
        {
            let mut index = self.write_index()?;
            self.append_records(&mut writer, &mut index, &copies)?;
        }
        // Durable before the old segment can go.
        self.commit(&mut writer, Commit::Durable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1 << 20;

    fn usage(oldest_live: u64, total: u64, live: u64, max: Option<u64>) -> LogUsage {
        LogUsage {
            oldest: SegmentUsage {
                size: 64 * MB,
                live: oldest_live,
            },
            total,
            live,
            segment_bytes: 64 * MB,
            max_bytes: max,
        }
    }

    #[test]
    fn mostly_dead_oldest_segments_are_reclaimed() {
        assert!(should_reclaim(usage(16 * MB, 640 * MB, 600 * MB, None)));
        assert!(!should_reclaim(usage(17 * MB, 640 * MB, 600 * MB, None)));
    }

    #[test]
    fn a_log_mostly_dead_elsewhere_reclaims_a_live_oldest_segment() {
        assert!(!should_reclaim(usage(64 * MB, 384 * MB, 128 * MB, None)));
        assert!(should_reclaim(usage(64 * MB, 385 * MB, 128 * MB, None)));
    }

    #[test]
    fn near_the_budget_any_dead_record_is_worth_reclaiming() {
        assert!(!should_reclaim(usage(
            60 * MB,
            640 * MB,
            600 * MB,
            Some(1024 * MB)
        )));
        assert!(should_reclaim(usage(
            60 * MB,
            900 * MB,
            600 * MB,
            Some(1024 * MB)
        )));
        assert!(!should_reclaim(usage(
            64 * MB,
            900 * MB,
            600 * MB,
            Some(1024 * MB)
        )));
    }
}
