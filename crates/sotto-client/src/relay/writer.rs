//! The writer task: batches queued transmissions into blocks, seals them and
//! writes them to the WebSocket.
//!
//! Whatever is queued while the previous block is being written goes into the
//! next block, so batching grows with load and costs no latency when idle. A
//! block never mixes sender-side (SEND) and recipient-side commands, so a queue's
//! recipient id and its sender id never share a block.

use futures_util::{Sink, SinkExt};
use sotto_wire::{BlockSealer, InnerBlock, MAX_TRANSMISSION_LEN};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::ClientError;

/// Which party of a queue a transmission speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// No queue id (NEW, PING): fits in any block.
    Neutral,
    /// Carries a sender id (SEND).
    Sender,
    /// Carries a recipient id.
    Recipient,
}

/// One encoded transmission waiting for a block.
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub(crate) bytes: Vec<u8>,
    pub(crate) side: Side,
}

impl Outgoing {
    /// Whether the transmission fits in a block on its own.
    pub(crate) fn fits_a_block(&self) -> bool {
        !self.bytes.is_empty() && self.bytes.len() <= MAX_TRANSMISSION_LEN
    }
}

/// The block being filled.
#[derive(Debug)]
struct Batch {
    block: InnerBlock,
    side: Side,
}

impl Batch {
    fn new() -> Batch {
        Batch {
            block: InnerBlock::new(),
            side: Side::Neutral,
        }
    }

    /// Adds the transmission, or hands it back when it belongs in the next block.
    fn add(&mut self, outgoing: Outgoing) -> Result<(), Outgoing> {
        let side_conflict = match (self.side, outgoing.side) {
            (Side::Neutral, _) | (_, Side::Neutral) => false,
            (ours, theirs) => ours != theirs,
        };
        if side_conflict || !self.block.fits(outgoing.bytes.len()) {
            return Err(outgoing);
        }
        if outgoing.side != Side::Neutral {
            self.side = outgoing.side;
        }
        self.block
            .push_encoded(outgoing.bytes)
            .map_err(|_| Outgoing {
                bytes: Vec::new(),
                side: Side::Neutral,
            })
    }
}

/// Runs until the queue closes (the connection was dropped) or the socket fails.
pub(crate) async fn run<S>(
    mut sink: S,
    mut sealer: BlockSealer,
    mut queue: mpsc::Receiver<Outgoing>,
) -> Result<(), ClientError>
where
    S: Sink<Message, Error = WsError> + Unpin,
{
    let mut carried: Option<Outgoing> = None;
    loop {
        let first = match carried.take() {
            Some(outgoing) => outgoing,
            None => match queue.recv().await {
                Some(outgoing) => outgoing,
                None => break,
            },
        };
        let mut batch = Batch::new();
        // The submitter checked that every transmission fits an empty block.
        if batch.add(first).is_err() {
            continue;
        }
        while let Ok(next) = queue.try_recv() {
            if let Err(next) = batch.add(next) {
                carried = Some(next);
                break;
            }
        }
        let block = sealer.seal(&batch.block)?;
        sink.feed(Message::binary(block.into_vec())).await?;
        if carried.is_none() && queue.is_empty() {
            sink.flush().await?;
        }
    }
    sink.close().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outgoing(len: usize, side: Side) -> Outgoing {
        Outgoing {
            bytes: vec![1; len],
            side,
        }
    }

    #[test]
    fn sender_and_recipient_commands_never_share_a_block() {
        let mut batch = Batch::new();
        assert!(batch.add(outgoing(10, Side::Neutral)).is_ok());
        assert!(batch.add(outgoing(10, Side::Recipient)).is_ok());
        assert!(batch.add(outgoing(10, Side::Neutral)).is_ok());
        assert!(batch.add(outgoing(10, Side::Sender)).is_err());
        assert!(batch.add(outgoing(10, Side::Recipient)).is_ok());
        assert_eq!(batch.block.len(), 4);

        let mut batch = Batch::new();
        assert!(batch.add(outgoing(10, Side::Sender)).is_ok());
        assert!(batch.add(outgoing(10, Side::Recipient)).is_err());
    }

    #[test]
    fn a_full_block_hands_the_transmission_back() {
        let mut batch = Batch::new();
        assert!(
            batch
                .add(outgoing(MAX_TRANSMISSION_LEN, Side::Sender))
                .is_ok()
        );
        let back = batch.add(outgoing(1, Side::Sender)).unwrap_err();
        assert_eq!(back.bytes.len(), 1);

        let mut batch = Batch::new();
        for _ in 0..sotto_wire::MAX_TRANSMISSIONS {
            assert!(batch.add(outgoing(3, Side::Recipient)).is_ok());
        }
        assert!(batch.add(outgoing(3, Side::Recipient)).is_err());
    }

    #[test]
    fn oversized_transmissions_are_caught_before_queueing() {
        assert!(outgoing(MAX_TRANSMISSION_LEN, Side::Sender).fits_a_block());
        assert!(!outgoing(MAX_TRANSMISSION_LEN + 1, Side::Sender).fits_a_block());
        assert!(!outgoing(0, Side::Sender).fits_a_block());
    }
}
