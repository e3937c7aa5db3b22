//! The transfer machine: where each chunk of a file being uploaded or
//! downloaded stands, what to do next, and what became of it. Sans-IO: a
//! runtime asks for the next steps ([`Upload::next_steps`],
//! [`Download::next_steps`]), carries them out on relay connections of its
//! own, and hands back the results; the machine's state encodes to a record
//! (`encode`/`decode`) the client stores after every change, so a transfer
//! resumes after a restart from the last chunk state it stored (a chunk
//! partly on the relay resumes from the relay's own count, FSTAT; a chunk
//! partly downloaded from the bytes the client kept).
//!
//! The machine lives here rather than in the client core because it needs
//! nothing of chats or sessions, only chunks, relays and descriptions: the
//! core keeps its records in its store next to the chat message they belong
//! to, and the native runtime and any other front end share it.
//!
//! Failures: a step that fails on the network is tried again after a delay
//! (1 s doubling to 5 min, as for queue jobs) up to [`MAX_ATTEMPTS`] times; a
//! downloaded chunk whose digest is wrong is fetched again once, and the
//! file fails ([`TransferFailure::Tampered`]) the second time; a chunk the
//! relay no longer knows fails the file ([`TransferFailure::Gone`]).

mod download;
mod upload;

pub use download::{Download, DownloadStep};
pub use upload::{ChunkIds, DeleteStep, Upload, UploadStep};

use crate::FileError;
use crate::codec::Reader;

/// Chunks of one file in flight at once.
pub const PARALLEL_CHUNKS: usize = 4;

/// Attempts of one step before the file fails as unreachable: with delays
/// doubling from 1 s to 5 min, about a day and a half of trying.
pub const MAX_ATTEMPTS: u32 = 40;

const FIRST_RETRY_MS: u64 = 1_000;
const LAST_RETRY_MS: u64 = 300_000;

/// Why a transfer failed, as the user is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferFailure {
    /// A chunk came back with a wrong digest twice: a relay changed, dropped
    /// or replaced it.
    Tampered,
    /// The file does not decrypt although every chunk had its digest: the
    /// description does not match the chunks.
    Forged,
    /// A relay no longer has a chunk (deleted or expired).
    Gone,
    /// A relay could not be reached for [`MAX_ATTEMPTS`] attempts.
    Unreachable,
    /// The user cancelled it, or the message was deleted.
    Cancelled,
}

impl TransferFailure {
    /// The reason as shown in the chat item.
    pub fn reason(self) -> &'static str {
        match self {
            TransferFailure::Tampered => {
                "a relay served damaged or wrong chunk data (digest mismatch)"
            }
            TransferFailure::Forged => "the file does not decrypt: it was altered",
            TransferFailure::Gone => "a relay no longer has the file (deleted or expired)",
            TransferFailure::Unreachable => "a relay could not be reached",
            TransferFailure::Cancelled => "cancelled",
        }
    }

    /// The code byte in records and events.
    pub fn code(self) -> u8 {
        match self {
            TransferFailure::Tampered => 1,
            TransferFailure::Forged => 2,
            TransferFailure::Gone => 3,
            TransferFailure::Unreachable => 4,
            TransferFailure::Cancelled => 5,
        }
    }

    /// The failure with this code byte.
    pub fn from_code(code: u8) -> Result<TransferFailure, FileError> {
        Ok(match code {
            1 => TransferFailure::Tampered,
            2 => TransferFailure::Forged,
            3 => TransferFailure::Gone,
            4 => TransferFailure::Unreachable,
            5 => TransferFailure::Cancelled,
            _ => return Err(FileError::MalformedDescription("transfer failure")),
        })
    }
}

/// The retry bookkeeping of one chunk's current step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Retry {
    attempts: u32,
    not_before: u64,
}

impl Retry {
    /// Whether the step may run at `now` (Unix ms).
    pub(crate) fn ready(&self, now: u64) -> bool {
        now >= self.not_before
    }

    /// A failed attempt at `now`: the next one waits; `false` once the
    /// attempts are used up.
    pub(crate) fn failed(&mut self, now: u64) -> bool {
        self.attempts = self.attempts.saturating_add(1);
        let delay = FIRST_RETRY_MS
            .saturating_mul(1u64 << (self.attempts - 1).min(20))
            .min(LAST_RETRY_MS);
        self.not_before = now.saturating_add(delay);
        self.attempts < MAX_ATTEMPTS
    }

    /// The step may run at once again; the attempts made still count.
    pub(crate) fn now(&mut self) {
        self.not_before = 0;
    }

    /// The step succeeded: the next one starts afresh.
    pub(crate) fn reset(&mut self) {
        *self = Retry::default();
    }

    /// When the step may run again (Unix ms).
    pub(crate) fn not_before(&self) -> u64 {
        self.not_before
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.attempts.to_be_bytes());
        out.extend_from_slice(&self.not_before.to_be_bytes());
    }

    pub(crate) fn decode(reader: &mut Reader<'_>) -> Result<Retry, FileError> {
        Ok(Retry {
            attempts: reader.u32()?,
            not_before: reader.u64()?,
        })
    }
}

/// Which chunks have a step under way (not stored: after a restart none has).
#[derive(Clone, Debug, Default)]
pub(crate) struct Busy(Vec<bool>);

impl Busy {
    pub(crate) fn new(count: usize) -> Busy {
        Busy(vec![false; count])
    }

    pub(crate) fn is_busy(&self, chunk: usize) -> bool {
        self.0.get(chunk).copied().unwrap_or(false)
    }

    pub(crate) fn count(&self) -> usize {
        self.0.iter().filter(|busy| **busy).count()
    }

    pub(crate) fn set(&mut self, chunk: usize, busy: bool) {
        if let Some(slot) = self.0.get_mut(chunk) {
            *slot = busy;
        }
    }

    /// Room for more steps, out of [`PARALLEL_CHUNKS`].
    pub(crate) fn room(&self) -> usize {
        PARALLEL_CHUNKS.saturating_sub(self.count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_to_five_minutes_then_give_up() {
        let mut retry = Retry::default();
        assert!(retry.ready(0));
        assert!(retry.failed(10));
        assert_eq!(retry.not_before(), 1_010);
        assert!(retry.failed(10));
        assert_eq!(retry.not_before(), 2_010);
        for _ in 2..MAX_ATTEMPTS - 1 {
            assert!(retry.failed(0));
        }
        assert_eq!(retry.not_before(), LAST_RETRY_MS);
        assert!(!retry.failed(0));
        retry.reset();
        assert!(retry.ready(0));
    }

    #[test]
    fn failure_codes_round_trip() {
        for failure in [
            TransferFailure::Tampered,
            TransferFailure::Forged,
            TransferFailure::Gone,
            TransferFailure::Unreachable,
            TransferFailure::Cancelled,
        ] {
            assert_eq!(TransferFailure::from_code(failure.code()), Ok(failure));
            assert!(!failure.reason().is_empty());
        }
        assert!(TransferFailure::from_code(0).is_err());
    }
}
