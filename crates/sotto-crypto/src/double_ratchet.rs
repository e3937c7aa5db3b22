//! The double ratchet with header encryption and a KEM step in every DH step.
//!
//! Every mutation is computed first and committed only once the message authenticates,
//! so a rejected message (forged, over a limit, duplicated) leaves the state unchanged.

use std::collections::VecDeque;

use zeroize::Zeroize;

use crate::Error;
use crate::codec::Entropy;
use crate::header_key::HeaderKey;
use crate::message::{
    BODY_OFFSET, ENCRYPTED_MESSAGE_LEN, EncryptedMessage, HEADER_RANGE, Header, MESSAGE_PREFIX,
};
use crate::message_key::MessageKey;
use crate::padding::{LENGTH_PREFIX_LEN, PADDED_PLAINTEXT_LEN, checked_len, pad_onto, unpad};
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
/// Length of a body's AD: session AD || sender's role || the message up to the body.
const BODY_AD_LEN: usize = ASSOCIATED_DATA_LEN + 1 + BODY_OFFSET;

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
    fn header_associated_data(&self, sender: Role) -> [u8; HEADER_AD_LEN] {
        let mut ad = [0u8; HEADER_AD_LEN];
        let (session, rest) = ad.split_at_mut(ASSOCIATED_DATA_LEN);
        session.copy_from_slice(&self.associated_data);
        rest[0] = sender.byte();
        rest[1..].copy_from_slice(&MESSAGE_PREFIX);
        ad
    }

    /// AD of a body: session AD || sender's role || everything before the body.
    fn body_associated_data(&self, sender: Role, prefix: &[u8; BODY_OFFSET]) -> [u8; BODY_AD_LEN] {
        let mut ad = [0u8; BODY_AD_LEN];
        let (session, rest) = ad.split_at_mut(ASSOCIATED_DATA_LEN);
        session.copy_from_slice(&self.associated_data);
        rest[0] = sender.byte();
        rest[1..].copy_from_slice(prefix);
        ad
    }

    /// Pads, encrypts and frames one message. Takes the header nonce from `entropy`, then,
    /// if a ratchet step is pending, the new ratchet keys and the KEM randomness.
    ///
    /// The message is written once, front to back: the header and the padded plaintext go
    /// straight to their places in the output and are encrypted there.
    pub(crate) fn encrypt(
        &mut self,
        plaintext: &[u8],
        entropy: &mut Entropy<'_>,
    ) -> Result<Vec<u8>, Error> {
        checked_len(plaintext)?;
        let header_nonce = entropy.take::<AEAD_NONCE_LEN>()?;
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
        let header = Header {
            ratchet_key: own.public_dh(),
            kem_key: own.kem.public_key().as_bytes(),
            kem_ciphertext: &chain.kem_ciphertext.0,
            previous_chain_length: chain.previous_chain_length,
            message_number,
        };
        let (message_key, next_chain_key) = chain.chain_key.step();

        let mut out = Vec::with_capacity(ENCRYPTED_MESSAGE_LEN);
        out.extend_from_slice(&MESSAGE_PREFIX);
        out.extend_from_slice(header_nonce.as_ref());
        header.write(&mut out);
        let header_ad = self.header_associated_data(self.role);
        let tag = chain
            .header_key
            .seal(&header_nonce, &header_ad, &mut out[HEADER_RANGE])?;
        out.extend_from_slice(&tag);
        pad_onto(plaintext, &mut out)?;
        let (prefix, body) = out.split_at_mut(BODY_OFFSET);
        let prefix =
            <&[u8; BODY_OFFSET]>::try_from(&*prefix).map_err(|_| Error::Malformed("message"))?;
        let body_ad = self.body_associated_data(self.role, prefix);
        let tag = message_key.seal(&header_nonce, &body_ad, body)?;
        out.extend_from_slice(&tag);

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

    /// Decrypts one message. `Error::Duplicate` means it was already decrypted.
    pub(crate) fn decrypt(&mut self, bytes: &[u8]) -> Result<Vec<u8>, Error> {
        let message = EncryptedMessage::parse(bytes)?;
        let sender = self.role.peer();
        let header_ad = self.header_associated_data(sender);
        // The header holds public keys and counters, no secret: it is decrypted into a
        // stack buffer that needs no erasing.
        let mut header = *message.encrypted_header;
        let mut opens = |key: &HeaderKey| {
            header = *message.encrypted_header;
            key.open(
                message.header_nonce,
                &header_ad,
                &mut header,
                message.header_tag,
            )
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
        let header = Header::decode(&header)?;
        let body = Body {
            header_nonce: message.header_nonce,
            associated_data: self.body_associated_data(sender, message.authenticated_prefix),
            ciphertext: message.encrypted_body,
            tag: message.body_tag,
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
        body: &Body<'_>,
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
            let plaintext = match chain.skipped.get(position) {
                Some((_, key)) => body.open(key)?,
                None => return Err(Error::Duplicate),
            };
            chain.skipped.remove(position);
            return Ok(plaintext);
        }
        let advance = chain.advance(number, true)?;
        let plaintext = body.open_with(advance.message_key.as_ref())?;
        chain.apply(advance);
        self.enforce_skipped_limit();
        Ok(plaintext)
    }

    fn decrypt_in_new_chain(
        &mut self,
        header: &Header<'_>,
        body: &Body<'_>,
    ) -> Result<Vec<u8>, Error> {
        let closing = match self.receivers.back() {
            Some(newest) if newest.chain_key.is_some() => {
                Some(newest.advance(header.previous_chain_length, false)?)
            }
            _ => None,
        };
        let peer_kem = KemPublicKey::from_bytes(header.kem_key)?;
        let dh = self.own.dh.diffie_hellman(&header.ratchet_key)?;
        let kem_secret = self.own.kem.decapsulate(header.kem_ciphertext);
        let (root_key, chain_key, next_header_key) = self.root_key.advance(&dh, &kem_secret);
        let mut chain = ReceiverChain::new(
            header.ratchet_key,
            self.next_receiving_header_key.clone(),
            chain_key,
        );
        let advance = chain.advance(header.message_number, true)?;
        let plaintext = body.open_with(advance.message_key.as_ref())?;

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
        Ok(plaintext)
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

/// A message body with its associated data, opened with a message key.
struct Body<'a> {
    header_nonce: &'a [u8; AEAD_NONCE_LEN],
    associated_data: [u8; BODY_AD_LEN],
    ciphertext: &'a [u8; PADDED_PLAINTEXT_LEN],
    tag: &'a [u8; AEAD_TAG_LEN],
}

impl Body<'_> {
    /// Authenticates and decrypts into a stack buffer, returns the unpadded plaintext,
    /// and erases the buffer: after a successful unpad only its first bytes are not zero,
    /// so the erasure costs what the plaintext is long, not what the padding is.
    fn open(&self, key: &MessageKey) -> Result<Vec<u8>, Error> {
        let mut padded = *self.ciphertext;
        let plaintext = key
            .open(
                self.header_nonce,
                &self.associated_data,
                &mut padded,
                self.tag,
            )
            .and_then(|()| unpad(&padded).map(<[u8]>::to_vec));
        let used = match &plaintext {
            Ok(plaintext) => LENGTH_PREFIX_LEN + plaintext.len(),
            Err(_) => PADDED_PLAINTEXT_LEN,
        };
        if let Some(used) = padded.get_mut(..used) {
            used.zeroize();
        }
        plaintext
    }

    fn open_with(&self, key: Option<&MessageKey>) -> Result<Vec<u8>, Error> {
        self.open(key.ok_or(Error::AuthenticationFailed)?)
    }
}
