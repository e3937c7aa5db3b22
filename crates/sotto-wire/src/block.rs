//! Fixed-size blocks and the inner block that batches transmissions.
//!
//! Every WebSocket frame is one [`Block`] of [`BLOCK_SIZE`] bytes. After the
//! handshake a block is the AEAD encryption of an [`InnerBlock`]:
//! `count u8 | count × (length u16 | transmission) | zero padding`.

use std::fmt;

use crate::WireError;
use crate::codec::Reader;
use crate::transmission::Transmission;

/// Size of every frame on the wire, in both directions.
pub const BLOCK_SIZE: usize = 16384;

/// Size of the AEAD tag that ends every encrypted block (either suite).
pub const TAG_SIZE: usize = 16;

/// Size of an inner block: the plaintext of an encrypted block.
pub const INNER_SIZE: usize = BLOCK_SIZE - TAG_SIZE;

/// Most transmissions one inner block can carry.
pub const MAX_TRANSMISSIONS: usize = 255;

/// Longest transmission that fits in an inner block (alone).
pub const MAX_TRANSMISSION_LEN: usize = INNER_SIZE - 1 - 2;

/// One frame: exactly [`BLOCK_SIZE`] bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Block(Vec<u8>);

impl Block {
    /// Takes a received frame; refuses any size but [`BLOCK_SIZE`].
    pub fn from_vec(bytes: Vec<u8>) -> Result<Block, WireError> {
        if bytes.len() != BLOCK_SIZE {
            return Err(WireError::WrongBlockSize { len: bytes.len() });
        }
        Ok(Block(bytes))
    }

    /// Copies a received frame; refuses any size but [`BLOCK_SIZE`].
    pub fn from_slice(bytes: &[u8]) -> Result<Block, WireError> {
        if bytes.len() != BLOCK_SIZE {
            return Err(WireError::WrongBlockSize { len: bytes.len() });
        }
        Ok(Block(bytes.to_vec()))
    }

    /// The frame's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The frame's bytes, to hand to the WebSocket.
    pub fn into_vec(self) -> Vec<u8> {
        self.0
    }

    /// A block of zeros, to be filled in place.
    pub(crate) fn zeroed() -> Block {
        Block(vec![0; BLOCK_SIZE])
    }

    pub(crate) fn as_mut_bytes(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

impl AsRef<[u8]> for Block {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Block({} bytes)", self.0.len())
    }
}

/// A batch of encoded transmissions: the plaintext of one encrypted block.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct InnerBlock {
    transmissions: Vec<Vec<u8>>,
    /// Bytes used so far, count byte included.
    used: usize,
}

impl InnerBlock {
    /// An empty batch.
    pub fn new() -> InnerBlock {
        InnerBlock {
            transmissions: Vec::new(),
            used: 1,
        }
    }

    /// Whether a transmission of `len` encoded bytes would still fit.
    pub fn fits(&self, len: usize) -> bool {
        self.transmissions.len() < MAX_TRANSMISSIONS
            && len <= MAX_TRANSMISSION_LEN
            && self.used.saturating_add(2).saturating_add(len) <= INNER_SIZE
    }

    /// Adds a transmission; [`WireError::BatchFull`] when it does not fit (then
    /// send this block and start another).
    pub fn push(&mut self, transmission: &Transmission) -> Result<(), WireError> {
        self.push_encoded(transmission.encode())
    }

    /// Adds an already encoded transmission; [`WireError::BatchFull`] when it does
    /// not fit, and [`WireError::LengthOutOfRange`] for an empty one (which no
    /// block may carry).
    pub fn push_encoded(&mut self, transmission: Vec<u8>) -> Result<(), WireError> {
        if transmission.is_empty() {
            return Err(WireError::LengthOutOfRange {
                field: "transmission",
            });
        }
        if !self.fits(transmission.len()) {
            return Err(WireError::BatchFull);
        }
        self.used += 2 + transmission.len();
        self.transmissions.push(transmission);
        Ok(())
    }

    /// How many transmissions the batch holds.
    pub fn len(&self) -> usize {
        self.transmissions.len()
    }

    /// Whether the batch holds no transmission (an empty batch cannot be sent).
    pub fn is_empty(&self) -> bool {
        self.transmissions.is_empty()
    }

    /// The encoded transmissions, in order.
    pub fn transmissions(&self) -> &[Vec<u8>] {
        &self.transmissions
    }

    /// The encoded transmissions, in order.
    pub fn into_transmissions(self) -> Vec<Vec<u8>> {
        self.transmissions
    }

    /// The [`INNER_SIZE`] bytes of the batch, zero-padded.
    pub fn encode(&self) -> Result<Vec<u8>, WireError> {
        let mut out = vec![0; INNER_SIZE];
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Writes the batch over `out[..INNER_SIZE]`, which must be zero beyond it.
    pub(crate) fn encode_into(&self, out: &mut [u8]) -> Result<(), WireError> {
        let count = u8::try_from(self.transmissions.len()).map_err(|_| WireError::BatchFull)?;
        if count == 0 {
            return Err(WireError::EmptyBlock);
        }
        // Straight into `out`: a block's transmissions are copied once.
        let mut put = |at: usize, bytes: &[u8]| -> Result<usize, WireError> {
            let end = at.checked_add(bytes.len()).ok_or(WireError::BatchFull)?;
            out.get_mut(at..end)
                .ok_or(WireError::BatchFull)?
                .copy_from_slice(bytes);
            Ok(end)
        };
        let mut at = put(0, &[count])?;
        for transmission in &self.transmissions {
            let len = u16::try_from(transmission.len()).map_err(|_| WireError::BatchFull)?;
            at = put(at, &len.to_be_bytes())?;
            at = put(at, transmission)?;
        }
        Ok(())
    }

    /// Parses the [`INNER_SIZE`] bytes of a decrypted block.
    pub fn decode(bytes: &[u8]) -> Result<InnerBlock, WireError> {
        if bytes.len() != INNER_SIZE {
            return Err(WireError::LengthOutOfRange {
                field: "inner block",
            });
        }
        let mut reader = Reader::new(bytes);
        let count = reader.u8()?;
        if count == 0 {
            return Err(WireError::EmptyBlock);
        }
        let mut batch = InnerBlock::new();
        for _ in 0..count {
            let len = usize::from(reader.u16()?);
            batch.push_encoded(reader.take(len)?.to_vec())?;
        }
        reader.finish_padding()?;
        Ok(batch)
    }
}

impl fmt::Debug for InnerBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InnerBlock")
            .field("transmissions", &self.transmissions.len())
            .field("used", &self.used)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn an_empty_transmission_is_refused_when_built_and_when_read() {
        let mut batch = InnerBlock::new();
        let refused = WireError::LengthOutOfRange {
            field: "transmission",
        };
        assert_eq!(batch.push_encoded(Vec::new()), Err(refused));
        assert!(batch.is_empty());
        // count 1, length 0: what a peer that skipped the check would send.
        let mut bytes = vec![0; INNER_SIZE];
        bytes[0] = 1;
        assert_eq!(InnerBlock::decode(&bytes), Err(refused));
    }

    #[test]
    fn blocks_of_the_wrong_size_are_refused() {
        assert_eq!(
            Block::from_vec(vec![0; BLOCK_SIZE - 1]),
            Err(WireError::WrongBlockSize {
                len: BLOCK_SIZE - 1
            })
        );
        assert!(Block::from_slice(&[0; BLOCK_SIZE + 1]).is_err());
        assert!(Block::from_slice(&[]).is_err());
        assert!(Block::from_vec(vec![0; BLOCK_SIZE]).is_ok());
    }

    #[test]
    fn layout_is_count_then_length_prefixed_transmissions() {
        let mut batch = InnerBlock::new();
        batch.push_encoded(vec![0xaa, 0xbb]).unwrap();
        batch.push_encoded(vec![0xcc]).unwrap();
        let bytes = batch.encode().unwrap();
        assert_eq!(bytes.len(), INNER_SIZE);
        assert_eq!(&bytes[..9], &[2, 0, 2, 0xaa, 0xbb, 0, 1, 0xcc, 0]);
        assert!(bytes[8..].iter().all(|&b| b == 0));
        assert_eq!(InnerBlock::decode(&bytes).unwrap(), batch);
    }

    #[test]
    fn empty_batches_cannot_be_encoded_or_decoded() {
        assert_eq!(InnerBlock::new().encode(), Err(WireError::EmptyBlock));
        assert_eq!(
            InnerBlock::decode(&[0; INNER_SIZE]),
            Err(WireError::EmptyBlock)
        );
    }

    #[test]
    fn malformed_inner_blocks_are_refused() {
        let mut bytes = vec![0; INNER_SIZE];
        bytes[..4].copy_from_slice(&[1, 0, 1, 7]);
        assert!(InnerBlock::decode(&bytes).is_ok());

        let mut trailing = bytes.clone();
        trailing[INNER_SIZE - 1] = 1;
        assert_eq!(
            InnerBlock::decode(&trailing),
            Err(WireError::NonZeroPadding)
        );

        let mut zero_len = bytes.clone();
        zero_len[2] = 0;
        assert!(InnerBlock::decode(&zero_len).is_err());

        let mut past_end = bytes.clone();
        past_end[1..3].copy_from_slice(&u16::MAX.to_be_bytes());
        assert_eq!(InnerBlock::decode(&past_end), Err(WireError::Truncated));

        let mut too_many = bytes.clone();
        too_many[0] = 2;
        assert!(InnerBlock::decode(&too_many).is_err());

        assert!(InnerBlock::decode(&bytes[1..]).is_err());
    }

    #[test]
    fn a_full_batch_refuses_more() {
        let mut batch = InnerBlock::new();
        batch.push_encoded(vec![1; MAX_TRANSMISSION_LEN]).unwrap();
        assert_eq!(batch.push_encoded(vec![1]), Err(WireError::BatchFull));
        assert!(InnerBlock::decode(&batch.encode().unwrap()).is_ok());

        let mut many = InnerBlock::new();
        for _ in 0..MAX_TRANSMISSIONS {
            many.push_encoded(vec![1]).unwrap();
        }
        assert_eq!(many.push_encoded(vec![1]), Err(WireError::BatchFull));
        assert_eq!(InnerBlock::decode(&many.encode().unwrap()).unwrap(), many);

        assert_eq!(
            InnerBlock::new().push_encoded(vec![1; MAX_TRANSMISSION_LEN + 1]),
            Err(WireError::BatchFull)
        );
    }

    proptest! {
        #[test]
        fn batches_round_trip(
            transmissions in prop::collection::vec(
                prop::collection::vec(any::<u8>(), 1..600), 1..40)
        ) {
            let mut batch = InnerBlock::new();
            for transmission in transmissions {
                if batch.push_encoded(transmission).is_err() {
                    break;
                }
            }
            let bytes = batch.encode().unwrap();
            prop_assert_eq!(InnerBlock::decode(&bytes).unwrap(), batch);
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(
            head in prop::collection::vec(any::<u8>(), 0..64)
        ) {
            let mut bytes = vec![0; INNER_SIZE];
            bytes[..head.len()].copy_from_slice(&head);
            if let Ok(batch) = InnerBlock::decode(&bytes) {
                prop_assert_eq!(batch.encode().unwrap(), bytes);
            }
        }
    }
}
