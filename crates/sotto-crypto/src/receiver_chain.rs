//! A receiving chain with its bounded store of skipped message keys.

use std::collections::VecDeque;

use crate::Error;
use crate::chain_key::ChainKey;
use crate::header_key::HeaderKey;
use crate::message_key::MessageKey;
use crate::primitives::x25519::X25519Public;

/// At most this many message keys are skipped in one chain by one message.
pub const MAX_SKIP_PER_CHAIN: u32 = 2_000;
/// At most this many skipped message keys are stored per session (oldest evicted).
pub const MAX_STORED_SKIPPED_KEYS: usize = 2_000;
/// At most this many receiving chains are remembered per session (oldest forgotten).
pub const MAX_RECEIVING_CHAINS: usize = 5;

/// One receiving chain: the peer's ratchet key, its header key, and where it stands.
#[derive(Clone, Debug)]
pub(crate) struct ReceiverChain {
    pub(crate) ratchet_key: X25519Public,
    pub(crate) header_key: HeaderKey,
    /// `None` once the peer moved on: the chain accepts only its stored skipped keys.
    pub(crate) chain_key: Option<ChainKey>,
    pub(crate) next_message_number: u32,
    pub(crate) skipped: VecDeque<(u32, MessageKey)>,
}

/// The keys derived to reach one message, computed without touching the chain.
pub(crate) struct ChainAdvance {
    pub(crate) skipped: Vec<(u32, MessageKey)>,
    pub(crate) message_key: Option<MessageKey>,
    pub(crate) chain_key: ChainKey,
    pub(crate) next_message_number: u32,
}

impl ReceiverChain {
    pub(crate) fn new(
        ratchet_key: X25519Public,
        header_key: HeaderKey,
        chain_key: ChainKey,
    ) -> Self {
        Self {
            ratchet_key,
            header_key,
            chain_key: Some(chain_key),
            next_message_number: 0,
            skipped: VecDeque::new(),
        }
    }

    pub(crate) fn skipped_position(&self, message_number: u32) -> Option<usize> {
        self.skipped.iter().position(|(n, _)| *n == message_number)
    }

    /// Derives the keys up to `target` (the key for `target` itself if `take_target`),
    /// refusing a gap over [`MAX_SKIP_PER_CHAIN`].
    pub(crate) fn advance(&self, target: u32, take_target: bool) -> Result<ChainAdvance, Error> {
        let chain_key = self.chain_key.as_ref().ok_or(Error::BeyondClosedChain)?;
        let mut next = self.next_message_number;
        let gap = target.saturating_sub(next);
        if gap > MAX_SKIP_PER_CHAIN {
            return Err(Error::TooManySkipped);
        }
        let mut chain_key = chain_key.clone();
        let mut skipped = Vec::with_capacity(gap as usize);
        while next < target {
            let (message_key, following) = chain_key.step();
            skipped.push((next, message_key));
            chain_key = following;
            next += 1;
        }
        let mut message_key = None;
        if take_target {
            let (key, following) = chain_key.step();
            message_key = Some(key);
            chain_key = following;
            next = next.checked_add(1).ok_or(Error::ChainExhausted)?;
        }
        Ok(ChainAdvance {
            skipped,
            message_key,
            chain_key,
            next_message_number: next,
        })
    }

    pub(crate) fn apply(&mut self, advance: ChainAdvance) {
        self.skipped.extend(advance.skipped);
        self.chain_key = Some(advance.chain_key);
        self.next_message_number = advance.next_message_number;
    }

    /// The peer started a new chain: keep only the skipped keys, forget the chain key.
    pub(crate) fn close(&mut self, advance: ChainAdvance) {
        self.skipped.extend(advance.skipped);
        self.chain_key = None;
        self.next_message_number = advance.next_message_number;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain() -> ReceiverChain {
        ReceiverChain::new(
            X25519Public([1; 32]),
            HeaderKey::new([2; 32]),
            ChainKey::new([3; 32]),
        )
    }

    #[test]
    fn advance_matches_the_sender_chain() {
        let receiver = chain();
        let advance = receiver.advance(3, true).unwrap();
        let mut sender = ChainKey::new([3; 32]);
        for n in 0..3 {
            let (key, next) = sender.step();
            assert_eq!(advance.skipped[n].1.as_bytes(), key.as_bytes());
            sender = next;
        }
        let (key, _) = sender.step();
        assert_eq!(advance.message_key.unwrap().as_bytes(), key.as_bytes());
        assert_eq!(advance.next_message_number, 4);
    }

    #[test]
    fn gap_limit_is_enforced() {
        let receiver = chain();
        assert!(receiver.advance(MAX_SKIP_PER_CHAIN, true).is_ok());
        assert_eq!(
            receiver.advance(MAX_SKIP_PER_CHAIN + 1, true).err(),
            Some(Error::TooManySkipped)
        );
    }

    #[test]
    fn closed_chain_refuses_to_advance() {
        let mut receiver = chain();
        let advance = receiver.advance(2, false).unwrap();
        receiver.close(advance);
        assert_eq!(receiver.skipped.len(), 2);
        assert_eq!(
            receiver.advance(5, true).err(),
            Some(Error::BeyondClosedChain)
        );
    }
}
