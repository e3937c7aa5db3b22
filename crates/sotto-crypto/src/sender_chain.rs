//! The sending side of the ratchet: the active chain, or a step waiting for randomness.

use crate::chain_key::ChainKey;
use crate::header_key::HeaderKey;
use crate::primitives::kem::KemCiphertext;

/// The chain we are sending on. Every header of the chain repeats the KEM ciphertext of
/// the step that started it, so the peer can run the step from whichever message it
/// receives first.
#[derive(Clone, Debug)]
pub(crate) struct SenderChain {
    pub(crate) header_key: HeaderKey,
    pub(crate) chain_key: ChainKey,
    pub(crate) next_message_number: u32,
    pub(crate) previous_chain_length: u32,
    pub(crate) kem_ciphertext: KemCiphertext,
}

/// What we send with next: an active chain, or a DH+KEM step to run on the next
/// encryption (decryption takes no randomness, so the step waits for `encrypt`).
#[derive(Clone, Debug)]
pub(crate) enum Sending {
    Active(SenderChain),
    StepPending {
        header_key: HeaderKey,
        previous_chain_length: u32,
    },
}

impl Sending {
    /// How many messages the current sending chain carried (the next chain's "PN").
    pub(crate) fn chain_length(&self) -> u32 {
        match self {
            Sending::Active(chain) => chain.next_message_number,
            Sending::StepPending { .. } => 0,
        }
    }
}
