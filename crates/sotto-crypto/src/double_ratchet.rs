//! The double ratchet with header encryption and a KEM step in every DH step.
//!
//! Every mutation is computed first and committed only once the message authenticates,
//! so a rejected message (forged, over a limit, duplicated) leaves the state unchanged.

use std::collections::VecDeque;

use rand_chacha::ChaCha12Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use zeroize::Zeroize;

use crate::Error;
use crate::codec::{Entropy, MESSAGE_VERSION, kind};
use crate::header_key::HeaderKey;
use crate::message::{
    Body, ENCRYPTED_MESSAGE_LEN, EncryptedMessage, HEADER_RANGE, Header, MESSAGE_PREFIX,
    PAYLOAD_KEM_KEY_LEN, PAYLOAD_OFFSET, checked_len, v1,
};
use crate::message_key::MessageKey;
use crate::primitives::aead::{AEAD_NONCE_LEN, AEAD_TAG_LEN};
use crate::primitives::kem::KemPublicKey;
use crate::ratchet_key::{PeerRatchetKey, RatchetKeyPair};
use crate::receiver_chain::{MAX_RECEIVING_CHAINS, MAX_STORED_SKIPPED_KEYS, ReceiverChain};
use crate::root_key::RootKey;
use crate::sender_chain::{SenderChain, Sending};

/// Length of the session associated data: inviter identity key || joiner identity key.
pub(crate) const ASSOCIATED_DATA_LEN: usize = 64;
/// Length of a header's AD: session AD || sender's role || version || kind.
const HEADER_AD_LEN: usize = ASSOCIATED_DATA_LEN + 1 + MESSAGE_PREFIX.len();
/// Length of the caller randomness that seeds a message's filler.
pub(crate) const FILLER_SEED_LEN: usize = 32;

/// Which side of the key agreement a party was; also the direction byte of the AD.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Inviter,
    Joiner,
}

impl Role {
    pub(crate) fn byte(self) -> u8 {
        match self {
            Role::Inviter => 0,
            Role::Joiner => 1,
        }
    }

    pub(crate) fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0 => Some(Role::Inviter),
            1 => Some(Role::Joiner),
            _ => None,
        }
    }

    pub(crate) fn peer(self) -> Self {
        match self {
            Role::Inviter => Role::Joiner,
            Role::Joiner => Role::Inviter,
        }
    }
}

/// The full ratchet state of one session.
#[derive(Clone, Debug)]
pub(crate) struct DoubleRatchet {
    pub(crate) role: Role,
    pub(crate) associated_data: [u8; ASSOCIATED_DATA_LEN],
    pub(crate) root_key: RootKey,
    pub(crate) own: RatchetKeyPair,
    pub(crate) peer: Option<PeerRatchetKey>,
    pub(crate) sending: Sending,
    pub(crate) next_sending_header_key: HeaderKey,
    pub(crate) receivers: VecDeque<ReceiverChain>,
    pub(crate) next_receiving_header_key: HeaderKey,
}

/// The outcome of a sending step, committed by the caller.
struct SendingStep {
    own: RatchetKeyPair,
    root_key: RootKey,
    chain: SenderChain,
    next_header_key: HeaderKey,
}

/// New own ratchet keys; DH with the peer's ratchet key and encapsulation to its KEM key
/// go through the root KDF together.
fn sending_step(
    root_key: &RootKey,
    peer: &PeerRatchetKey,
    header_key: HeaderKey,
    previous_chain_length: u32,
    entropy: &mut Entropy<'_>,
) -> Result<SendingStep, Error> {
    let own = RatchetKeyPair::generate(entropy)?;
    let dh = own.dh.diffie_hellman(&peer.dh)?;
    let (kem_ciphertext, kem_secret) = peer.kem.encapsulate(&*entropy.take::<32>()?);
    let (root_key, chain_key, next_header_key) = root_key.advance(&dh, &kem_secret);
    Ok(SendingStep {
        own,
        root_key,
        chain: SenderChain {
            header_key,
            chain_key,
            next_message_number: 0,
            previous_chain_length,
            kem_ciphertext,
        },
        next_header_key,
    })
}

impl DoubleRatchet {
    /// The joiner starts with a sending chain towards the invitation's keys.
    pub(crate) fn new_joiner(
        associated_data: [u8; ASSOCIATED_DATA_LEN],
        root_key: RootKey,
        peer: PeerRatchetKey,
        first_header_key: HeaderKey,
        next_receiving_header_key: HeaderKey,
        entropy: &mut Entropy<'_>,
    ) -> Result<Self, Error> {
        let step = sending_step(&root_key, &peer, first_header_key, 0, entropy)?;
        Ok(Self {
            role: Role::Joiner,
            associated_data,
            root_key: step.root_key,
            own: step.own,
            peer: Some(peer),
            sending: Sending::Active(step.chain),
            next_sending_header_key: step.next_header_key,
            receivers: VecDeque::new(),
            next_receiving_header_key,
        })
    }

    /// The inviter's invitation keys are its first ratchet keys; it waits for the joiner.
    pub(crate) fn new_inviter(
        associated_data: [u8; ASSOCIATED_DATA_LEN],
        root_key: RootKey,
        own: RatchetKeyPair,
        first_sending_header_key: HeaderKey,
        first_receiving_header_key: HeaderKey,
    ) -> Self {
        Self {
            role: Role::Inviter,
            associated_data,
            root_key,
            own,
            peer: None,
            sending: Sending::StepPending {
                header_key: first_sending_header_key.clone(),
                previous_chain_length: 0,
            },
            next_sending_header_key: first_sending_header_key,
            receivers: VecDeque::new(),
            next_receiving_header_key: first_receiving_header_key,
        }
    }

    /// AD of a header: session AD || sender's role || version || kind.
    fn header_associated_data(&self, sender: Role, version: u8) -> [u8; HEADER_AD_LEN] {
        let mut ad = [0u8; HEADER_AD_LEN];
        let (session, rest) = ad.split_at_mut(ASSOCIATED_DATA_LEN);
        session.copy_from_slice(&self.associated_data);
        rest[0] = sender.byte();
        rest[1] = version;
        rest[2] = kind::MESSAGE;
        ad
    }

    /// AD of a payload (or version-1 body): session AD || sender's role || everything
    /// before it (version, kind, header nonce, encrypted header and its tag).
    fn payload_associated_data(&self, sender: Role, prefix: &[u8]) -> Vec<u8> {
        let mut ad = Vec::with_capacity(ASSOCIATED_DATA_LEN + 1 + prefix.len());
        ad.extend_from_slice(&self.associated_data);
        ad.push(sender.byte());
        ad.extend_from_slice(prefix);
        ad
    }

    /// Encrypts and frames one message (format version 2). Takes the header nonce and the
    /// filler seed from `entropy`, then, if a ratchet step is pending, the new ratchet
    /// keys and the KEM randomness.
    ///
    /// The message is written once, front to back: header and payload go straight to
    /// their places in the output and are encrypted there; the filler is generated in
    /// place after them.
    pub(crate) fn encrypt(
        &mut self,
        plaintext: &[u8],
        entropy: &mut Entropy<'_>,
    ) -> Result<Vec<u8>, Error> {
        // Every message carries the sender's KEM key: the receiver may start the chain
        // from any of its messages (the first may be lost or late).
        self.encrypt_payload(plaintext, true, entropy)
    }

    /// [`Self::encrypt`], with or without the KEM key in the payload (a message without
    /// it can only be read in a chain its receiver already has).
    fn encrypt_payload(
        &mut self,
        plaintext: &[u8],
        carry_kem_key: bool,
        entropy: &mut Entropy<'_>,
    ) -> Result<Vec<u8>, Error> {
        let plaintext_len = checked_len(plaintext)?;
        let header_nonce = entropy.take::<AEAD_NONCE_LEN>()?;
        let filler_seed = entropy.take::<FILLER_SEED_LEN>()?;
        let stepped = match &self.sending {
            Sending::Active(_) => None,
            Sending::StepPending {
                header_key,
                previous_chain_length,
            } => {
                let peer = self.peer.as_ref().ok_or(Error::NotEstablished)?;
                Some(sending_step(
                    &self.root_key,
                    peer,
                    header_key.clone(),
                    *previous_chain_length,
                    entropy,
                )?)
            }
        };
        let (own, chain) = match (&stepped, &self.sending) {
            (Some(step), _) => (&step.own, &step.chain),
            (None, Sending::Active(chain)) => (&self.own, chain),
            // A pending step always produced `stepped` above.
            (None, Sending::StepPending { .. }) => return Err(Error::NotEstablished),
        };
        let message_number = chain.next_message_number;
        let next_message_number = message_number.checked_add(1).ok_or(Error::ChainExhausted)?;
        let kem_key_len = if carry_kem_key {
            PAYLOAD_KEM_KEY_LEN
        } else {
            0
        };
        let header = Header {
            ratchet_key: own.public_dh(),
            kem_key: None,
            kem_ciphertext: &chain.kem_ciphertext.0,
            previous_chain_length: chain.previous_chain_length,
            message_number,
            body: Body::Payload {
                len: kem_key_len + plaintext_len,
                kem_key: carry_kem_key,
            },
        };
        let (message_key, next_chain_key) = chain.chain_key.step();

        let mut out = Vec::with_capacity(ENCRYPTED_MESSAGE_LEN);
        out.extend_from_slice(&MESSAGE_PREFIX);
        out.extend_from_slice(header_nonce.as_ref());
        header.write(&mut out);
        let header_ad = self.header_associated_data(self.role, MESSAGE_VERSION);
        let tag = chain
            .header_key
            .seal(&header_nonce, &header_ad, &mut out[HEADER_RANGE])?;
        out.extend_from_slice(&tag);
        if carry_kem_key {
            out.extend_from_slice(own.kem.public_key().as_bytes());
        }
        out.extend_from_slice(plaintext);
        let (prefix, payload) = out.split_at_mut(PAYLOAD_OFFSET);
        let payload_ad = self.payload_associated_data(self.role, prefix);
        let tag = message_key.seal(&header_nonce, &payload_ad, payload)?;
        out.extend_from_slice(&tag);
        write_filler(&filler_seed, &mut out);

        match stepped {
            Some(step) => {
                self.own = step.own;
                self.root_key = step.root_key;
                self.next_sending_header_key = step.next_header_key;
                self.sending = Sending::Active(SenderChain {
                    chain_key: next_chain_key,
                    next_message_number,
                    ..step.chain
                });
            }
            None => {
                if let Sending::Active(chain) = &mut self.sending {
                    chain.chain_key = next_chain_key;
                    chain.next_message_number = next_message_number;
                }
            }
        }
        Ok(out)
    }

    /// Decrypts one message (format version 2, or 1). `Error::Duplicate` means it was
    /// already decrypted.
    pub(crate) fn decrypt(&mut self, bytes: &[u8]) -> Result<Vec<u8>, Error> {
        let message = EncryptedMessage::parse(bytes)?;
        let sender = self.role.peer();
        let header_ad = self.header_associated_data(sender, message.version);
        // The header holds public keys and counters, no secret: it is decrypted into a
        // stack buffer that needs no erasing.
        let mut buffer = [0u8; v1::HEADER_LEN];
        let header = buffer
            .get_mut(..message.encrypted_header.len())
            .ok_or(Error::Malformed("message"))?;
        let mut opens = |key: &HeaderKey| {
            header.copy_from_slice(message.encrypted_header);
            key.open(message.header_nonce, &header_ad, header, message.header_tag)
        };
        // Newest chain first: in steady state the first key tried is the right one.
        let chain = match self
            .receivers
            .iter()
            .rposition(|chain| opens(&chain.header_key))
        {
            Some(index) => Some(index),
            None if opens(&self.next_receiving_header_key) => None,
            None => return Err(Error::UnknownHeaderKey),
        };
        let header = message.decode_header(header)?;
        let body = Sealed {
            version: message.version,
            header_nonce: message.header_nonce,
            associated_data: self.payload_associated_data(sender, message.authenticated_prefix),
            layout: header.body,
            sealed: message.rest,
        };
        match chain {
            Some(index) => self.decrypt_in_chain(index, &header, &body),
            None => self.decrypt_in_new_chain(&header, &body),
        }
    }

    fn decrypt_in_chain(
        &mut self,
        index: usize,
        header: &Header<'_>,
        body: &Sealed<'_>,
    ) -> Result<Vec<u8>, Error> {
        let chain = self
            .receivers
            .get_mut(index)
            .ok_or(Error::UnknownHeaderKey)?;
        if header.ratchet_key != chain.ratchet_key {
            return Err(Error::InconsistentHeader);
        }
        let number = header.message_number;
        if number < chain.next_message_number {
            let position = chain.skipped_position(number).ok_or(Error::Duplicate)?;
            let opened = match chain.skipped.get(position) {
                Some((_, key)) => body.open(key, false)?,
                None => return Err(Error::Duplicate),
            };
            chain.skipped.remove(position);
            return Ok(opened.plaintext);
        }
        let advance = chain.advance(number, true)?;
        let opened = body.open_with(advance.message_key.as_ref(), false)?;
        chain.apply(advance);
        self.enforce_skipped_limit();
        Ok(opened.plaintext)
    }

    fn decrypt_in_new_chain(
        &mut self,
        header: &Header<'_>,
        body: &Sealed<'_>,
    ) -> Result<Vec<u8>, Error> {
        let closing = match self.receivers.back() {
            Some(newest) if newest.chain_key.is_some() => {
                Some(newest.advance(header.previous_chain_length, false)?)
            }
            _ => None,
        };
        let dh = self.own.dh.diffie_hellman(&header.ratchet_key)?;
        let kem_secret = self.own.kem.decapsulate(header.kem_ciphertext);
        let (root_key, chain_key, next_header_key) = self.root_key.advance(&dh, &kem_secret);
        let mut chain = ReceiverChain::new(
            header.ratchet_key,
            self.next_receiving_header_key.clone(),
            chain_key,
        );
        let advance = chain.advance(header.message_number, true)?;
        let opened = body.open_with(advance.message_key.as_ref(), true)?;
        // Version 1 carried the KEM key in the header, version 2 in the payload.
        let peer_kem = match (header.kem_key, opened.kem_key) {
            (Some(bytes), _) => KemPublicKey::from_bytes(bytes)?,
            (None, Some(key)) => key,
            (None, None) => return Err(Error::Malformed("payload")),
        };

        if let (Some(closing), Some(newest)) = (closing, self.receivers.back_mut()) {
            newest.close(closing);
        }
        chain.apply(advance);
        self.receivers.push_back(chain);
        while self.receivers.len() > MAX_RECEIVING_CHAINS {
            self.receivers.pop_front();
        }
        self.enforce_skipped_limit();
        self.root_key = root_key;
        self.next_receiving_header_key = next_header_key;
        self.peer = Some(PeerRatchetKey {
            dh: header.ratchet_key,
            kem: peer_kem,
        });
        self.sending = Sending::StepPending {
            header_key: self.next_sending_header_key.clone(),
            previous_chain_length: self.sending.chain_length(),
        };
        Ok(opened.plaintext)
    }

    /// Evicts the oldest skipped keys beyond [`MAX_STORED_SKIPPED_KEYS`].
    fn enforce_skipped_limit(&mut self) {
        let mut stored: usize = self.receivers.iter().map(|chain| chain.skipped.len()).sum();
        for chain in &mut self.receivers {
            while stored > MAX_STORED_SKIPPED_KEYS && chain.skipped.pop_front().is_some() {
                stored -= 1;
            }
        }
    }
}

/// Fills the rest of a message with filler: the output of rand's ChaCha12 generator
/// seeded with fresh caller randomness, indistinguishable from the ciphertext before it.
/// The receiver never reads it.
fn write_filler(seed: &[u8; FILLER_SEED_LEN], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(ENCRYPTED_MESSAGE_LEN, 0);
    if let Some(filler) = out.get_mut(start..) {
        ChaCha12Rng::from_seed(*seed).fill_bytes(filler);
    }
}

/// What an opened payload holds.
struct Opened {
    plaintext: Vec<u8>,
    /// The sender's KEM key from a version-2 payload, validated; only when asked for.
    kem_key: Option<KemPublicKey>,
}

/// A sealed payload (or version-1 body) with its associated data, opened with a
/// message key.
struct Sealed<'a> {
    version: u8,
    header_nonce: &'a [u8; AEAD_NONCE_LEN],
    associated_data: Vec<u8>,
    layout: Body,
    /// Everything after the header tag.
    sealed: &'a [u8],
}

impl Sealed<'_> {
    /// Authenticates and decrypts the payload. With `kem_key`, also returns the sender's
    /// KEM key from a version-2 payload (validated).
    fn open(&self, key: &MessageKey, kem_key: bool) -> Result<Opened, Error> {
        match self.layout {
            Body::Padded => self.open_padded(key),
            Body::Payload {
                len,
                kem_key: carried,
            } => self.open_payload(key, len, carried && kem_key),
        }
    }

    fn open_with(&self, key: Option<&MessageKey>, kem_key: bool) -> Result<Opened, Error> {
        self.open(key.ok_or(Error::AuthenticationFailed)?, kem_key)
    }

    /// Version 2: the payload and its tag, at the length the authenticated header gives;
    /// the filler after them is not read.
    fn open_payload(&self, key: &MessageKey, len: usize, kem_key: bool) -> Result<Opened, Error> {
        const MALFORMED: Error = Error::Malformed("payload");
        let (payload, rest) = self.sealed.split_at_checked(len).ok_or(MALFORMED)?;
        let tag = rest.first_chunk::<AEAD_TAG_LEN>().ok_or(MALFORMED)?;
        let mut buffer = payload.to_vec();
        key.open(
            self.version,
            self.header_nonce,
            &self.associated_data,
            &mut buffer,
            tag,
        )?;
        let (kem_bytes, plaintext) = match &self.layout {
            Body::Payload { kem_key: true, .. } => buffer.split_at_checked(PAYLOAD_KEM_KEY_LEN),
            _ => Some(([].as_slice(), buffer.as_slice())),
        }
        .ok_or(MALFORMED)?;
        let opened = Opened {
            plaintext: plaintext.to_vec(),
            kem_key: None,
        };
        let start = kem_bytes.len();
        if let Some(secret) = buffer.get_mut(start..) {
            secret.zeroize();
        }
        if !kem_key {
            return Ok(opened);
        }
        let bytes = buffer
            .first_chunk::<PAYLOAD_KEM_KEY_LEN>()
            .ok_or(MALFORMED)?;
        Ok(Opened {
            kem_key: Some(KemPublicKey::from_bytes(bytes)?),
            ..opened
        })
    }

    /// Version 1: authenticates and decrypts the padded body into a stack buffer, returns
    /// the unpadded plaintext, and erases the part of the buffer that held it.
    fn open_padded(&self, key: &MessageKey) -> Result<Opened, Error> {
        const MALFORMED: Error = Error::Malformed("message");
        let (body, rest) = self
            .sealed
            .split_first_chunk::<{ v1::PADDED_PLAINTEXT_LEN }>()
            .ok_or(MALFORMED)?;
        let tag = rest.first_chunk::<AEAD_TAG_LEN>().ok_or(MALFORMED)?;
        let mut padded = *body;
        let plaintext = key
            .open(
                self.version,
                self.header_nonce,
                &self.associated_data,
                &mut padded,
                tag,
            )
            .and_then(|()| v1::unpad(&padded).map(<[u8]>::to_vec));
        let used = match &plaintext {
            Ok(plaintext) => v1::LENGTH_PREFIX_LEN + plaintext.len(),
            Err(_) => v1::PADDED_PLAINTEXT_LEN,
        };
        if let Some(used) = padded.get_mut(..used) {
            used.zeroize();
        }
        Ok(Opened {
            plaintext: plaintext?,
            kem_key: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::IdentityKeyPair;
    use crate::key_agreement::{JOIN_RANDOMNESS_LEN, PendingInvitation, join};
    use crate::session::ENCRYPT_RANDOMNESS_LEN;

    fn pair() -> (DoubleRatchet, DoubleRatchet) {
        let inviter_identity = IdentityKeyPair::from_secret_bytes(&[0x31; 32]);
        let joiner_identity = IdentityKeyPair::from_secret_bytes(&[0x32; 32]);
        let pending = PendingInvitation::new(&inviter_identity, &[0x33; 96]).unwrap();
        let (joiner, answer) = join(
            &joiner_identity,
            &pending.invitation(),
            b"hi",
            &[0x34; JOIN_RANDOMNESS_LEN],
        )
        .unwrap();
        let (inviter, _) = pending.accept(&inviter_identity, &answer).unwrap();
        (inviter.ratchet, joiner.ratchet)
    }

    fn randomness(byte: u8) -> [u8; ENCRYPT_RANDOMNESS_LEN] {
        [byte; ENCRYPT_RANDOMNESS_LEN]
    }

    #[test]
    fn filler_is_the_chacha12_keystream_of_its_seed() {
        use chacha20::cipher::{KeyIvInit, StreamCipher};
        let seed = [0x42; FILLER_SEED_LEN];
        let mut out = vec![0xaa; 100];
        write_filler(&seed, &mut out);
        assert_eq!(out.len(), ENCRYPTED_MESSAGE_LEN);
        assert_eq!(out[..100], [0xaa; 100]);
        // ChaCha with 12 rounds, key = seed, nonce and block counter zero (the IETF
        // variant's 32-bit counter and 96-bit nonce match the original's 64-bit ones
        // while the counter stays below 2^32).
        let mut keystream = vec![0u8; ENCRYPTED_MESSAGE_LEN - 100];
        chacha20::ChaCha12::new(&seed.into(), &[0u8; 12].into()).apply_keystream(&mut keystream);
        assert_eq!(out[100..], keystream[..]);
    }

    #[test]
    fn a_payload_without_kem_key_reads_only_in_a_known_chain() {
        let (mut inviter, mut joiner) = pair();
        // The joiner's first chain is known to the inviter (from the answer).
        let without = joiner
            .encrypt_payload(b"known chain", false, &mut Entropy::new(&randomness(1)))
            .unwrap();
        assert_eq!(without.len(), ENCRYPTED_MESSAGE_LEN);
        assert_eq!(inviter.decrypt(&without).unwrap(), b"known chain");

        // The inviter's first message starts a chain: without the KEM key the joiner
        // cannot take the next ratchet step, so it refuses and keeps its state.
        let first = inviter
            .encrypt_payload(b"new chain", false, &mut Entropy::new(&randomness(2)))
            .unwrap();
        assert_eq!(joiner.decrypt(&first), Err(Error::Malformed("payload")));
        assert!(joiner.receivers.is_empty());
        let second = inviter
            .encrypt(b"with key", &mut Entropy::new(&randomness(3)))
            .unwrap();
        assert_eq!(joiner.decrypt(&second).unwrap(), b"with key");
        // Now the chain is known, and the first message reads as a skipped one.
        assert_eq!(joiner.decrypt(&first).unwrap(), b"new chain");
    }
}
