//! Integrity of one direction of a chat: sequence numbers and the hash chain.
//!
//! The sender numbers its envelopes 1, 2, … and puts the hash of the previous
//! envelope in each. The receiver keeps the next number it expects, the hash of
//! the last envelope it accepted and the numbers it has not seen yet (bounded).
//! What a relay may do — drop, duplicate, reorder, replay — then shows as an
//! [`IntegrityNotice`], and a message is never accepted twice.

use std::collections::BTreeSet;

use crate::CoreError;
use crate::codec::{Reader, Writer};

/// How many missing numbers are remembered; older gaps are forgotten first
/// (a message that arrives after that is reported as a duplicate, never shown).
pub(crate) const MAX_MISSING: usize = 1000;

/// What the integrity check saw, shown in the chat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntegrityNotice {
    /// Messages `first..=last` have not arrived (yet): dropped or delayed.
    Skipped {
        /// The first missing number.
        first: u64,
        /// The last missing number.
        last: u64,
    },
    /// Message `seq` arrived after later ones.
    OutOfOrder {
        /// Its number.
        seq: u64,
    },
    /// Message `seq` arrived again; it is not shown twice.
    Duplicate {
        /// Its number.
        seq: u64,
    },
    /// Message `seq` does not follow the message before it (hash mismatch).
    BrokenChain {
        /// Its number.
        seq: u64,
    },
    /// A copy of a message already received arrived again (its number cannot be
    /// read: the end-to-end layer refused to decrypt it twice); not shown.
    Replayed,
    /// An entry of a group's log that is no message of the group: it does
    /// not parse, fails authentication, or names another group. Skipped.
    Unreadable,
    /// Messages of a group's log that follow a change to the group (a
    /// commit) that is not in the log before them: they wait for it, and
    /// this shows once the wait gives up on some (they cannot be read).
    MissingChange,
}

/// The outcome of receiving one envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// Whether to process the envelope.
    pub(crate) accept: bool,
    /// What to show in the chat, before the message.
    pub(crate) notices: Vec<IntegrityNotice>,
}

/// Sender side: the next number and the hash of the last envelope sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OutgoingChain {
    pub(crate) next_seq: u64,
    pub(crate) last_hash: [u8; 32],
}

impl Default for OutgoingChain {
    fn default() -> Self {
        OutgoingChain {
            next_seq: 1,
            last_hash: [0; 32],
        }
    }
}

impl OutgoingChain {
    pub(crate) fn encode(&self, writer: &mut Writer) {
        writer.u64(self.next_seq).array(&self.last_hash);
    }

    pub(crate) fn decode(reader: &mut Reader<'_>) -> Result<OutgoingChain, CoreError> {
        Ok(OutgoingChain {
            next_seq: reader.u64()?,
            last_hash: reader.array()?,
        })
    }
}

/// Receiver side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IncomingChain {
    next_seq: u64,
    last_hash: [u8; 32],
    missing: BTreeSet<u64>,
}

impl Default for IncomingChain {
    fn default() -> Self {
        IncomingChain {
            next_seq: 1,
            last_hash: [0; 32],
            missing: BTreeSet::new(),
        }
    }
}

impl IncomingChain {
    /// A chain whose first message is `seq`: for a sender whose earlier
    /// messages this receiver could never see (a group member who wrote
    /// before the receiver joined).
    pub(crate) fn starting_at(seq: u64) -> IncomingChain {
        IncomingChain {
            next_seq: seq,
            ..IncomingChain::default()
        }
    }

    /// Checks envelope `seq` (whose own hash is `hash` and which names
    /// `prev_hash`) and advances the chain if it is accepted.
    pub(crate) fn receive(&mut self, seq: u64, prev_hash: &[u8; 32], hash: [u8; 32]) -> Verdict {
        let mut notices = Vec::new();
        if seq < self.next_seq {
            if self.missing.remove(&seq) {
                notices.push(IntegrityNotice::OutOfOrder { seq });
                return Verdict {
                    accept: true,
                    notices,
                };
            }
            notices.push(IntegrityNotice::Duplicate { seq });
            return Verdict {
                accept: false,
                notices,
            };
        }
        if seq > self.next_seq {
            let (first, last) = (self.next_seq, seq - 1);
            notices.push(IntegrityNotice::Skipped { first, last });
            // Remember at most MAX_MISSING numbers, the most recent ones.
            let start = last.saturating_sub(MAX_MISSING as u64 - 1).max(first);
            self.missing.extend(start..=last);
            while self.missing.len() > MAX_MISSING {
                self.missing.pop_first();
            }
        } else if *prev_hash != self.last_hash {
            notices.push(IntegrityNotice::BrokenChain { seq });
        }
        self.next_seq = seq.saturating_add(1);
        self.last_hash = hash;
        Verdict {
            accept: true,
            notices,
        }
    }

    pub(crate) fn encode(&self, writer: &mut Writer) {
        writer.u64(self.next_seq).array(&self.last_hash);
        writer.u16(u16::try_from(self.missing.len()).unwrap_or(0));
        for seq in &self.missing {
            writer.u64(*seq);
        }
    }

    pub(crate) fn decode(reader: &mut Reader<'_>) -> Result<IncomingChain, CoreError> {
        let next_seq = reader.u64()?;
        let last_hash = reader.array()?;
        let count = usize::from(reader.u16()?);
        if count > MAX_MISSING {
            return Err(CoreError::Malformed("incoming chain"));
        }
        let mut missing = BTreeSet::new();
        for _ in 0..count {
            missing.insert(reader.u64()?);
        }
        Ok(IncomingChain {
            next_seq,
            last_hash,
            missing,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(seq: u64) -> [u8; 32] {
        [u8::try_from(seq % 251).unwrap(); 32]
    }

    fn prev(seq: u64) -> [u8; 32] {
        if seq == 1 { [0; 32] } else { h(seq - 1) }
    }

    #[test]
    fn in_order_is_silent() {
        let mut chain = IncomingChain::default();
        for seq in 1..5 {
            let verdict = chain.receive(seq, &prev(seq), h(seq));
            assert!(verdict.accept && verdict.notices.is_empty());
        }
    }

    #[test]
    fn gaps_late_arrivals_and_duplicates() {
        let mut chain = IncomingChain::default();
        chain.receive(1, &prev(1), h(1));
        let verdict = chain.receive(4, &prev(4), h(4));
        assert_eq!(
            verdict.notices,
            [IntegrityNotice::Skipped { first: 2, last: 3 }]
        );
        let verdict = chain.receive(2, &prev(2), h(2));
        assert!(verdict.accept);
        assert_eq!(verdict.notices, [IntegrityNotice::OutOfOrder { seq: 2 }]);
        let verdict = chain.receive(2, &prev(2), h(2));
        assert!(!verdict.accept);
        assert_eq!(verdict.notices, [IntegrityNotice::Duplicate { seq: 2 }]);
        let verdict = chain.receive(5, &[7; 32], h(5));
        assert_eq!(verdict.notices, [IntegrityNotice::BrokenChain { seq: 5 }]);
    }

    #[test]
    fn missing_numbers_stay_bounded_and_encode() {
        let mut chain = IncomingChain::default();
        chain.receive(5000, &[0; 32], h(5000));
        assert_eq!(chain.missing.len(), MAX_MISSING);
        let mut writer = Writer::new();
        chain.encode(&mut writer);
        let bytes = writer.finish();
        let mut reader = Reader::new(&bytes, "chain");
        assert_eq!(IncomingChain::decode(&mut reader).unwrap(), chain);
        reader.finish().unwrap();
        // The oldest gaps were forgotten: such a message is never shown.
        assert!(!chain.receive(2, &prev(2), h(2)).accept);
        assert!(chain.receive(4999, &prev(4999), h(4999)).accept);
    }
}
