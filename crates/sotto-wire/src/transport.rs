//! The encrypted transport that follows the handshake.
//!
//! Each direction has its own key for the negotiated cipher suite and a block
//! counter that starts at 0: block `n` is sealed with nonce `0u32 || n as u64`
//! (big-endian) and empty associated data, so a dropped, replayed, reordered or
//! altered block fails to open and breaks the connection.

use std::collections::VecDeque;
use std::fmt;

use x25519_dalek::PublicKey as DhPublicKey;

use crate::Transmission;
use crate::WireError;
use crate::block::{Block, INNER_SIZE, InnerBlock, MAX_TRANSMISSION_LEN, MAX_TRANSMISSIONS};
use crate::suite::{Aead, CipherSuite};
use crate::version::Version;

/// Identifies one connection: SHA-256 over both hello blocks. Command keys are
/// derived from it, so an authorized command is good on its connection only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId([u8; 32]);

impl SessionId {
    /// The session id with these bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> SessionId {
        SessionId(bytes)
    }

    /// The session id's bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Seals outgoing blocks for one direction. The key is zeroized on drop.
pub struct BlockSealer {
    cipher: Aead,
    counter: u64,
}

impl BlockSealer {
    pub(crate) fn new(suite: CipherSuite, key: &[u8; 32]) -> Result<BlockSealer, WireError> {
        Ok(BlockSealer {
            cipher: Aead::new(suite, key)?,
            counter: 0,
        })
    }

    /// Encrypts the next outgoing block.
    pub fn seal(&mut self, inner: &InnerBlock) -> Result<Block, WireError> {
        self.seal_with(|plaintext| inner.encode_into(plaintext))
    }

    /// Encrypts the next outgoing block holding the transmissions at the front
    /// of `queue`, as many as fit, taken off it: each is encoded straight into
    /// the block's plaintext, where [`BlockSealer::seal`] copies an inner block
    /// built first. Returns the block and the encoded bytes taken.
    /// [`WireError::EmptyBlock`] when `queue` is empty; a transmission too
    /// long for any block is taken off and refused
    /// ([`WireError::LengthOutOfRange`]), and the rest stays queued.
    pub fn seal_from(
        &mut self,
        queue: &mut VecDeque<Transmission>,
    ) -> Result<(Block, usize), WireError> {
        let mut count = 0;
        let mut used = 1;
        for transmission in queue.iter() {
            let len = transmission.encoded_len();
            if count == MAX_TRANSMISSIONS
                || len > MAX_TRANSMISSION_LEN
                || used + 2 + len > INNER_SIZE
            {
                break;
            }
            count += 1;
            used += 2 + len;
        }
        if count == 0 {
            return match queue.pop_front() {
                None => Err(WireError::EmptyBlock),
                Some(_) => Err(WireError::LengthOutOfRange {
                    field: "transmission",
                }),
            };
        }
        let block = self.seal_with(|plaintext| {
            plaintext[0] = u8::try_from(count).map_err(|_| WireError::BatchFull)?;
            let mut at = 1;
            for transmission in queue.iter().take(count) {
                let len =
                    u16::try_from(transmission.encoded_len()).map_err(|_| WireError::BatchFull)?;
                plaintext[at..at + 2].copy_from_slice(&len.to_be_bytes());
                at += 2;
                at += transmission.encode_into(&mut plaintext[at..])?;
            }
            Ok(())
        })?;
        queue.drain(..count);
        Ok((block, used - 1 - 2 * count))
    }

    /// Encrypts `inner` as the next block's plaintext WITHOUT checking that it is
    /// a well-formed inner block: for tests that must send a malformed block
    /// through an authentic channel. Fails only if `inner` is not exactly
    /// [`INNER_SIZE`] bytes or the counter is exhausted.
    pub fn dangerous_seal_unchecked(&mut self, inner: &[u8]) -> Result<Block, WireError> {
        self.seal_with(|plaintext| {
            if inner.len() != INNER_SIZE {
                return Err(WireError::LengthOutOfRange {
                    field: "inner block",
                });
            }
            plaintext.copy_from_slice(inner);
            Ok(())
        })
    }

    fn seal_with(
        &mut self,
        fill: impl FnOnce(&mut [u8]) -> Result<(), WireError>,
    ) -> Result<Block, WireError> {
        let next = self
            .counter
            .checked_add(1)
            .ok_or(WireError::CounterExhausted)?;
        let mut block = Block::zeroed();
        let bytes = block.as_mut_bytes();
        let (plaintext, tag_out) = bytes.split_at_mut(INNER_SIZE);
        fill(plaintext)?;
        let tag = self.cipher.seal(nonce(self.counter), plaintext)?;
        tag_out.copy_from_slice(&tag);
        self.counter = next;
        Ok(block)
    }
}

impl fmt::Debug for BlockSealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockSealer")
            .field("counter", &self.counter)
            .finish_non_exhaustive()
    }
}

/// Opens incoming blocks for one direction. The key is zeroized on drop.
pub struct BlockOpener {
    cipher: Aead,
    counter: u64,
    broken: bool,
}

impl BlockOpener {
    pub(crate) fn new(suite: CipherSuite, key: &[u8; 32]) -> Result<BlockOpener, WireError> {
        Ok(BlockOpener {
            cipher: Aead::new(suite, key)?,
            counter: 0,
            broken: false,
        })
    }

    /// Decrypts the next incoming block and parses its inner block.
    ///
    /// [`WireError::DecryptFailed`] (and every later call, which fails with
    /// [`WireError::TransportBroken`]) means the stream is broken: close the
    /// connection without a reply. Any other error means the block was authentic
    /// but its inner block is malformed: the relay answers ERR BLOCK and goes on.
    pub fn open(&mut self, block: Block) -> Result<InnerBlock, WireError> {
        if self.broken {
            return Err(WireError::TransportBroken);
        }
        let next = self
            .counter
            .checked_add(1)
            .ok_or(WireError::CounterExhausted)?;
        let mut bytes = block.into_vec();
        if self.cipher.open(nonce(self.counter), &mut bytes).is_err() {
            self.broken = true;
            return Err(WireError::DecryptFailed);
        }
        self.counter = next;
        InnerBlock::decode(&bytes[..INNER_SIZE])
    }
}

impl fmt::Debug for BlockOpener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockOpener")
            .field("counter", &self.counter)
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

fn nonce(counter: u64) -> [u8; 12] {
    let mut nonce = [0; 12];
    nonce[4..].copy_from_slice(&counter.to_be_bytes());
    nonce
}

/// What the handshake settled for a connection, on either end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionParameters {
    /// The connection's session id.
    pub session_id: SessionId,
    /// The negotiated protocol version.
    pub version: Version,
    /// The negotiated cipher suite, also used for delivered messages.
    pub suite: CipherSuite,
    /// The relay's X25519 session key, from which clients derive command keys.
    pub relay_session_key: DhPublicKey,
}

/// Both directions of an established connection, on either end.
#[derive(Debug)]
pub struct Transport {
    parameters: SessionParameters,
    sealer: BlockSealer,
    opener: BlockOpener,
}

impl Transport {
    pub(crate) fn new(
        parameters: SessionParameters,
        sealer: BlockSealer,
        opener: BlockOpener,
    ) -> Transport {
        Transport {
            parameters,
            sealer,
            opener,
        }
    }

    /// The connection's session id, which command keys are derived from.
    pub fn session_id(&self) -> SessionId {
        self.parameters.session_id
    }

    /// The negotiated protocol version.
    pub fn version(&self) -> Version {
        self.parameters.version
    }

    /// The negotiated cipher suite.
    pub fn suite(&self) -> CipherSuite {
        self.parameters.suite
    }

    /// The relay's session key, for [`crate::CommandKey::for_client`].
    pub fn relay_session_key(&self) -> DhPublicKey {
        self.parameters.relay_session_key
    }

    /// Everything the handshake settled.
    pub fn parameters(&self) -> SessionParameters {
        self.parameters
    }

    /// Encrypts the next outgoing block. See [`BlockSealer::seal`].
    pub fn seal(&mut self, inner: &InnerBlock) -> Result<Block, WireError> {
        self.sealer.seal(inner)
    }

    /// See [`BlockSealer::dangerous_seal_unchecked`].
    pub fn dangerous_seal_unchecked(&mut self, inner: &[u8]) -> Result<Block, WireError> {
        self.sealer.dangerous_seal_unchecked(inner)
    }

    /// Decrypts the next incoming block. See [`BlockOpener::open`].
    pub fn open(&mut self, block: Block) -> Result<InnerBlock, WireError> {
        self.opener.open(block)
    }

    /// Splits the transport so that a reading task and a writing task can each
    /// own one direction.
    pub fn into_split(self) -> (BlockSealer, BlockOpener) {
        (self.sealer, self.opener)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::BLOCK_SIZE;

    fn pair_for(suite: CipherSuite) -> (BlockSealer, BlockOpener) {
        (
            BlockSealer::new(suite, &[1; 32]).unwrap(),
            BlockOpener::new(suite, &[1; 32]).unwrap(),
        )
    }

    fn pair() -> (BlockSealer, BlockOpener) {
        pair_for(CipherSuite::Aes256Gcm)
    }

    fn batch(byte: u8) -> InnerBlock {
        let mut batch = InnerBlock::new();
        batch.push_encoded(vec![byte; 10]).unwrap();
        batch
    }

    #[test]
    fn blocks_round_trip_in_order_with_each_suite() {
        for &suite in CipherSuite::offered() {
            let (mut sealer, mut opener) = pair_for(suite);
            for byte in 0..5 {
                let block = sealer.seal(&batch(byte)).unwrap();
                assert_eq!(block.as_bytes().len(), BLOCK_SIZE);
                assert_eq!(opener.open(block).unwrap(), batch(byte));
            }
        }
    }

    fn reply(byte: u8, body_len: usize, authorized: bool) -> Transmission {
        Transmission {
            authenticator: authorized.then(|| {
                crate::auth::Authenticator::from_bytes([byte; crate::auth::AUTHENTICATOR_LEN])
            }),
            corr_id: crate::ids::CorrId::from_bytes([byte; crate::ids::CORR_ID_LEN]),
            entity: byte
                .is_multiple_of(2)
                .then(|| crate::ids::EntityId::from_bytes([byte; 24])),
            tag: byte,
            body: vec![byte; body_len],
        }
    }

    #[test]
    fn sealing_from_a_queue_makes_the_block_an_inner_block_makes() {
        let mut queue: VecDeque<Transmission> = [
            reply(1, 10, true),
            reply(2, 0, false),
            reply(3, 8_000, false),
            // Does not fit beside the others: the next block's.
            reply(4, 9_000, true),
        ]
        .into();
        let (mut by_queue, mut opener) = pair();
        let (mut by_inner, _) = pair();
        let mut inner = InnerBlock::new();
        for transmission in queue.iter().take(3) {
            inner.push(transmission).unwrap();
        }
        let encoded: usize = queue.iter().take(3).map(Transmission::encoded_len).sum();
        let (block, taken) = by_queue.seal_from(&mut queue).unwrap();
        assert_eq!(taken, encoded);
        assert_eq!(block, by_inner.seal(&inner).unwrap());
        assert_eq!(opener.open(block).unwrap(), inner);
        assert_eq!(queue.len(), 1);
        let (block, _) = by_queue.seal_from(&mut queue).unwrap();
        let opened = opener.open(block).unwrap();
        assert_eq!(opened.transmissions(), [reply(4, 9_000, true).encode()]);
        assert_eq!(by_queue.seal_from(&mut queue), Err(WireError::EmptyBlock));
        // One that fits no block is taken off and refused; the rest stay.
        let mut queue: VecDeque<Transmission> =
            [reply(5, MAX_TRANSMISSION_LEN, false), reply(6, 1, false)].into();
        assert!(matches!(
            by_queue.seal_from(&mut queue),
            Err(WireError::LengthOutOfRange { .. })
        ));
        assert_eq!(queue.len(), 1);
    }

    #[test]
    fn suites_do_not_open_each_others_blocks() {
        let (mut sealer, _) = pair_for(CipherSuite::Aes256Gcm);
        let (_, mut opener) = pair_for(CipherSuite::ChaCha20Poly1305);
        assert_eq!(
            opener.open(sealer.seal(&batch(1)).unwrap()),
            Err(WireError::DecryptFailed)
        );
    }

    #[test]
    fn the_nonce_is_the_counter_after_four_zero_bytes() {
        let nonce = nonce(0x0102);
        assert_eq!(nonce.as_slice(), &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2]);
    }

    #[test]
    fn same_batch_twice_gives_different_blocks() {
        let (mut sealer, _) = pair();
        assert_ne!(
            sealer.seal(&batch(1)).unwrap(),
            sealer.seal(&batch(1)).unwrap()
        );
    }

    #[test]
    fn tampered_blocks_break_the_transport() {
        let (mut sealer, mut opener) = pair();
        let mut bytes = sealer.seal(&batch(1)).unwrap().into_vec();
        bytes[100] ^= 1;
        assert_eq!(
            opener.open(Block::from_vec(bytes).unwrap()),
            Err(WireError::DecryptFailed)
        );
        // Even a good block is refused afterwards.
        let good = sealer.seal(&batch(2)).unwrap();
        assert_eq!(opener.open(good), Err(WireError::TransportBroken));
    }

    #[test]
    fn tampered_tags_fail() {
        let (mut sealer, mut opener) = pair();
        let mut bytes = sealer.seal(&batch(1)).unwrap().into_vec();
        bytes[BLOCK_SIZE - 1] ^= 0x80;
        assert_eq!(
            opener.open(Block::from_vec(bytes).unwrap()),
            Err(WireError::DecryptFailed)
        );
    }

    #[test]
    fn replayed_blocks_fail() {
        let (mut sealer, mut opener) = pair();
        let block = sealer.seal(&batch(1)).unwrap();
        assert!(opener.open(block.clone()).is_ok());
        assert_eq!(opener.open(block), Err(WireError::DecryptFailed));
    }

    #[test]
    fn reordered_or_dropped_blocks_fail() {
        let (mut sealer, mut opener) = pair();
        let first = sealer.seal(&batch(1)).unwrap();
        let second = sealer.seal(&batch(2)).unwrap();
        drop(first);
        assert_eq!(opener.open(second), Err(WireError::DecryptFailed));
    }

    #[test]
    fn a_wrong_key_fails() {
        let (mut sealer, _) = pair();
        let mut opener = BlockOpener::new(CipherSuite::Aes256Gcm, &[2; 32]).unwrap();
        assert_eq!(
            opener.open(sealer.seal(&batch(1)).unwrap()),
            Err(WireError::DecryptFailed)
        );
    }

    #[test]
    fn authentic_but_malformed_inner_blocks_do_not_break_the_transport() {
        let (mut sealer, mut opener) = pair();
        // Seal a plaintext with a zero count by hand.
        let block = sealer
            .dangerous_seal_unchecked(&vec![0; INNER_SIZE])
            .unwrap();
        assert_eq!(opener.open(block), Err(WireError::EmptyBlock));
        assert_eq!(
            opener.open(sealer.seal(&batch(3)).unwrap()).unwrap(),
            batch(3)
        );
    }

    #[test]
    fn empty_batches_are_not_sealed() {
        let (mut sealer, mut opener) = pair();
        assert_eq!(sealer.seal(&InnerBlock::new()), Err(WireError::EmptyBlock));
        // The failed seal did not use up a counter value.
        assert!(opener.open(sealer.seal(&batch(1)).unwrap()).is_ok());
    }

    #[test]
    fn an_exhausted_counter_refuses_to_seal() {
        let (mut sealer, _) = pair();
        sealer.counter = u64::MAX;
        assert_eq!(sealer.seal(&batch(1)), Err(WireError::CounterExhausted));
    }

    #[test]
    fn keys_do_not_print() {
        let (sealer, opener) = pair();
        assert_eq!(format!("{sealer:?}"), "BlockSealer { counter: 0, .. }");
        assert_eq!(
            format!("{opener:?}"),
            "BlockOpener { counter: 0, broken: false, .. }"
        );
    }
}
