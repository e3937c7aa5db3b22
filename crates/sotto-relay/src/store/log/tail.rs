//! The log's last batches, kept in memory after they are written, so that a
//! message delivered soon after its SEND (the common case: its recipient is
//! subscribed) is read from memory rather than from its segment file.
//!
//! A batch is the writer's buffer as it went to the file: whole records, in
//! log order, at one offset of one segment, after `skip` bytes that are not
//! its records (the alignment and the block the batch rewrote, see
//! [`super::writer`]). The tail holds at most
//! [`TAIL_BYTES`]; the oldest batches go first. It holds nothing the file does
//! not: a record is looked up here only once it is visible to readers, and a
//! batch whose write failed is never added.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::index::Location;

/// Bytes of written batches kept (about 2,000 messages of 16 KiB).
pub(super) const TAIL_BYTES: usize = 32 << 20;

/// One written batch and where it starts in the log.
struct Batch {
    /// Log position (`segment << 32 | offset`) of its first record.
    start: u64,
    /// Where that record starts in `bytes`.
    skip: usize,
    /// Shared with the records read from it and still in use.
    bytes: Arc<Vec<u8>>,
}

/// A record's bytes in a batch, kept alive by the batch.
struct Slice {
    batch: Arc<Vec<u8>>,
    range: Range<usize>,
}

impl AsRef<[u8]> for Slice {
    fn as_ref(&self) -> &[u8] {
        &self.batch[self.range.clone()]
    }
}

/// See the module documentation.
#[derive(Default)]
pub(super) struct Tail {
    batches: Mutex<Batches>,
}

#[derive(Default)]
struct Batches {
    batches: VecDeque<Batch>,
    bytes: usize,
    /// The buffer of the last batch dropped, emptied, for the writer's next
    /// batch: reusing it spares an allocation, its page faults and its
    /// growth by copying.
    spare: Option<Vec<u8>>,
}

impl Tail {
    /// Keeps `bytes`, whose records from byte `skip` on were just written at
    /// `offset` of `segment`, dropping the oldest batches beyond the bound.
    pub(super) fn push(&self, segment: u32, offset: u64, bytes: Vec<u8>, skip: usize) {
        if bytes.len() <= skip || bytes.capacity() > TAIL_BYTES {
            return;
        }
        let Ok(mut tail) = self.batches.lock() else {
            return;
        };
        // Counted by capacity: that is the memory it holds.
        tail.bytes += bytes.capacity();
        tail.batches.push_back(Batch {
            start: (u64::from(segment) << 32) | offset,
            skip,
            bytes: Arc::new(bytes),
        });
        while tail.bytes > TAIL_BYTES {
            match tail.batches.pop_front() {
                Some(oldest) => {
                    tail.bytes -= oldest.bytes.capacity();
                    // Unless a record read from it is still in use.
                    if let Ok(mut spare) = Arc::try_unwrap(oldest.bytes) {
                        spare.clear();
                        tail.spare = Some(spare);
                    }
                }
                None => break,
            }
        }
    }

    /// An empty buffer for the writer's next batch, with room for at least
    /// `capacity` bytes: the one the tail dropped last if it is large enough
    /// and not much larger (the tail counts its batches by capacity, so a
    /// buffer far larger than its batch would leave room for fewer
    /// messages), else a new one. A spare too small is not grown: growing
    /// copies it whole, even empty.
    pub(super) fn buffer(&self, capacity: usize) -> Vec<u8> {
        let spare = self
            .batches
            .lock()
            .ok()
            .and_then(|mut tail| tail.spare.take());
        match spare {
            Some(mut spare) if spare.capacity() >= capacity => {
                if spare.capacity() > 2 * capacity {
                    // Empty: shrinking it releases memory without copying.
                    spare.shrink_to(capacity);
                }
                spare
            }
            _ => Vec::with_capacity(capacity),
        }
    }

    /// Takes back the buffer of a batch too small to keep, for a later batch.
    pub(super) fn recycle(&self, mut bytes: Vec<u8>) {
        let Ok(mut tail) = self.batches.lock() else {
            return;
        };
        if tail
            .spare
            .as_ref()
            .is_none_or(|spare| spare.capacity() < bytes.capacity())
        {
            bytes.clear();
            tail.spare = Some(bytes);
        }
    }

    /// The bytes of the record at `at` from its byte `skip` on, if the tail
    /// still holds its batch: shared with the batch, not copied.
    pub(super) fn read(&self, at: Location, skip: usize) -> Option<Bytes> {
        let tail = self.batches.lock().ok()?;
        let position = at.position();
        // Batches are in log order: the last one starting at or before `at`.
        let after = tail
            .batches
            .partition_point(|batch| batch.start <= position);
        let batch = tail.batches.get(after.checked_sub(1)?)?;
        if batch.start >> 32 != u64::from(at.segment) {
            return None;
        }
        let from = usize::try_from(position - batch.start)
            .ok()?
            .checked_add(batch.skip)?;
        let end = from.checked_add(at.len as usize)?;
        let range = from.checked_add(skip)?..end;
        batch.bytes.get(range.clone())?;
        Some(Bytes::from_owner(Slice {
            batch: Arc::clone(&batch.bytes),
            range,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(segment: u32, offset: u32, len: u32) -> Location {
        Location {
            segment,
            offset,
            len,
        }
    }

    #[test]
    fn reads_records_of_the_batches_it_still_holds() {
        let tail = Tail::default();
        tail.push(1, 16, b"aaaabbbbbb".to_vec(), 0);
        tail.push(1, 26, b"xxcccc".to_vec(), 2);
        tail.push(2, 16, b"dddd".to_vec(), 0);
        assert_eq!(tail.read(at(1, 20, 6), 2).as_deref(), Some(&b"bbbb"[..]));
        assert_eq!(tail.read(at(1, 26, 4), 0).as_deref(), Some(&b"cccc"[..]));
        assert_eq!(tail.read(at(2, 16, 4), 1).as_deref(), Some(&b"ddd"[..]));
        // Before the first batch, past a batch's end, another segment.
        assert_eq!(tail.read(at(1, 0, 4), 0), None);
        assert_eq!(tail.read(at(1, 28, 4), 0), None);
        assert_eq!(tail.read(at(3, 16, 4), 0), None);
    }

    #[test]
    fn forgets_the_oldest_batches_beyond_its_bound() {
        let tail = Tail::default();
        let half = TAIL_BYTES / 2;
        tail.push(1, 16, vec![1; half], 0);
        tail.push(1, 16 + half as u64, vec![2; half], 0);
        tail.push(1, 16 + 2 * half as u64, vec![3; 8], 0);
        assert_eq!(tail.read(at(1, 16, 4), 0), None);
        assert_eq!(
            tail.read(at(1, 16 + half as u32, 4), 0).as_deref(),
            Some(&[2u8; 4][..])
        );
        // A batch larger than the bound is not kept.
        tail.push(2, 16, vec![0; TAIL_BYTES + 1], 0);
        assert_eq!(tail.read(at(2, 16, 4), 0), None);
        // The dropped batch's buffer comes back, empty, for the next batch.
        let buffer = tail.buffer(half);
        assert!(buffer.is_empty() && buffer.capacity() >= half);
        tail.recycle(buffer);
        // Not much larger than asked for: the tail counts batches by capacity.
        let small = tail.buffer(4096);
        assert!(small.is_empty() && (4096..=2 * 4096).contains(&small.capacity()));
        assert!(tail.buffer(16).capacity() >= 16);
    }
}
