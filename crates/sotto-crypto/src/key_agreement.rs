//! The initial key agreement, PQXDH-style: three X25519 agreements and one ML-KEM-768
//! encapsulation through HKDF, bound to a hash of the invitation and the answer, with
//! the joiner's identity key sealed inside the answer (see `answer`).
//!
//! ```text
//! invitation = version || 0x01 || IK_i (32) || OPK_i (32) || KEM_i (1184)
//! answer     = version || 0x02 || EK_j (32) || KEM ciphertext (1088)
//!              || sealed IK_j (48) || first message (ENCRYPTED_MESSAGE_LEN)
//! ```

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::Error;
use crate::answer::{ANSWER_LEN, Answer, IdentitySealingKey, JoinerIdentity};
#[cfg(test)]
use crate::codec::ANSWER_VERSION_1;
use crate::codec::{Entropy, Reader, kind, write_prefix};
use crate::double_ratchet::{ASSOCIATED_DATA_LEN, DoubleRatchet, FILLER_SEED_LEN};
use crate::header_key::HeaderKey;
use crate::identity::{IdentityKeyPair, IdentityPublicKey};
use crate::primitives::kdf::{hkdf, label};
use crate::primitives::kem::{KEM_PUBLIC_KEY_LEN, KemKeyPair, KemPublicKey, KemSharedSecret};
use crate::primitives::x25519::{DhSecret, X25519_LEN, X25519Public, X25519Secret};
use crate::ratchet_key::{PeerRatchetKey, RATCHET_KEY_RANDOMNESS_LEN, RatchetKeyPair};
use crate::root_key::{RootKey, split};
use crate::session::Session;

/// The relay's limit on one message body: every answer and message fits in it.
pub const MAX_MESSAGE_BODY: usize = 16_000;
/// Length of an encoded invitation.
pub const INVITATION_LEN: usize = 2 + X25519_LEN + X25519_LEN + KEM_PUBLIC_KEY_LEN;
/// Randomness for [`PendingInvitation::new`]: one-time X25519 key (32), ML-KEM seed (64).
pub const INVITATION_RANDOMNESS_LEN: usize = X25519_LEN + 64;
/// Randomness for [`join`]: ephemeral key (32), PQXDH encapsulation (32), first ratchet
/// keys (96), their encapsulation (32), first header nonce (24), first filler seed (32).
pub const JOIN_RANDOMNESS_LEN: usize =
    X25519_LEN + 32 + RATCHET_KEY_RANDOMNESS_LEN + 32 + 24 + FILLER_SEED_LEN;

const _: () = assert!(ANSWER_LEN <= MAX_MESSAGE_BODY);

/// The public invitation, carried in a link or a QR code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invitation {
    pub(crate) identity: IdentityPublicKey,
    pub(crate) one_time_key: X25519Public,
    pub(crate) kem_key: KemPublicKey,
}

impl Invitation {
    /// The inviter's identity key.
    pub fn identity(&self) -> IdentityPublicKey {
        self.identity
    }

    /// Encodes to [`INVITATION_LEN`] bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(INVITATION_LEN);
        write_prefix(&mut out, kind::INVITATION);
        out.extend_from_slice(&self.identity.to_bytes());
        out.extend_from_slice(&self.one_time_key.0);
        out.extend_from_slice(self.kem_key.as_bytes());
        out
    }

    /// Parses an invitation; the ML-KEM key is validated.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut reader = Reader::new(bytes, "invitation");
        reader.prefix(kind::INVITATION)?;
        let identity = IdentityPublicKey::from_bytes(&reader.array()?);
        let one_time_key = X25519Public(reader.array()?);
        let kem_key = KemPublicKey::from_bytes(&reader.array()?)?;
        reader.finish()?;
        Ok(Self {
            identity,
            one_time_key,
            kem_key,
        })
    }
}

/// The inviter's secret side of an invitation, kept until the answer arrives.
/// Drop it once accepted: its secrets are zeroized.
#[derive(Clone, Debug)]
pub struct PendingInvitation {
    pub(crate) identity: IdentityPublicKey,
    pub(crate) one_time_key: X25519Secret,
    pub(crate) kem: KemKeyPair,
}

impl PendingInvitation {
    /// Creates a one-time invitation for `identity` from caller-supplied randomness.
    pub fn new(
        identity: &IdentityKeyPair,
        randomness: &[u8; INVITATION_RANDOMNESS_LEN],
    ) -> Result<Self, Error> {
        let mut entropy = Entropy::new(randomness);
        Ok(Self {
            identity: identity.public_key(),
            one_time_key: X25519Secret::from_bytes(&*entropy.take::<X25519_LEN>()?),
            kem: KemKeyPair::generate(&*entropy.take::<64>()?),
        })
    }

    /// The public invitation to hand to the joiner.
    pub fn invitation(&self) -> Invitation {
        Invitation {
            identity: self.identity,
            one_time_key: self.one_time_key.public_key(),
            kem_key: self.kem.public_key().clone(),
        }
    }

    /// Accepts an answer: opens the joiner's sealed identity key (then
    /// [`Session::peer_identity`]), runs the key agreement and decrypts the joiner's first
    /// message. Any failure leaves the pending invitation usable.
    pub fn accept(
        &self,
        identity: &IdentityKeyPair,
        answer: &[u8],
    ) -> Result<(Session, Vec<u8>), Error> {
        if identity.public_key() != self.identity {
            return Err(Error::UnexpectedAnswer);
        }
        let answer = Answer::parse(answer)?;
        let invitation = self.invitation();
        let dh2 = identity.secret().diffie_hellman(&answer.ephemeral)?;
        let dh3 = self.one_time_key.diffie_hellman(&answer.ephemeral)?;
        let kem_secret = self.kem.decapsulate(&answer.kem_ciphertext.0);
        let joiner = match answer.joiner {
            JoinerIdentity::Sealed { prefix, sealed } => {
                IdentitySealingKey::derive(&dh2, &dh3, &kem_secret, &invitation, prefix)
                    .open(sealed)?
            }
            JoinerIdentity::Clear(joiner) => joiner,
        };
        let dh1 = self.one_time_key.diffie_hellman(&joiner.0)?;
        let keys = AgreedKeys::derive(
            [&dh1, &dh2, &dh3],
            &kem_secret,
            &transcript_hash(&invitation, answer.key_agreement),
        );
        let associated_data = associated_data(self.identity, joiner);
        let own = RatchetKeyPair::new(self.one_time_key.clone(), self.kem.clone());
        let ratchet = DoubleRatchet::new_inviter(
            associated_data,
            keys.root_key,
            own,
            keys.inviter_header_key,
            keys.joiner_header_key,
        );
        let mut session = Session::new(ratchet, Some(answer.ephemeral));
        let plaintext = session.decrypt_message(answer.message)?;
        Ok((session, plaintext))
    }
}

/// Answers `invitation` as `identity`, sending `first_plaintext` (e.g. the joiner's own
/// reply address) in the answer. Returns the session and the answer bytes to send; the
/// answer carries `identity`'s public key sealed for the inviter alone.
pub fn join(
    identity: &IdentityKeyPair,
    invitation: &Invitation,
    first_plaintext: &[u8],
    randomness: &[u8; JOIN_RANDOMNESS_LEN],
) -> Result<(Session, Vec<u8>), Error> {
    join_with_layout(
        identity,
        invitation,
        first_plaintext,
        randomness,
        AnswerLayout::Sealed,
    )
}

/// Like [`join`], but writes a version-1 answer (identity key in clear): only tests
/// write them, to replay the vectors recorded before answer version 2.
#[cfg(test)]
pub(crate) fn join_version_1(
    identity: &IdentityKeyPair,
    invitation: &Invitation,
    first_plaintext: &[u8],
    randomness: &[u8; JOIN_RANDOMNESS_LEN],
) -> Result<(Session, Vec<u8>), Error> {
    join_with_layout(
        identity,
        invitation,
        first_plaintext,
        randomness,
        AnswerLayout::Version1,
    )
}

/// How the answer carries the joiner's identity key.
enum AnswerLayout {
    /// Version 2: sealed.
    Sealed,
    /// Version 1: in clear (tests only).
    #[cfg(test)]
    Version1,
}

fn join_with_layout(
    identity: &IdentityKeyPair,
    invitation: &Invitation,
    first_plaintext: &[u8],
    randomness: &[u8; JOIN_RANDOMNESS_LEN],
    layout: AnswerLayout,
) -> Result<(Session, Vec<u8>), Error> {
    let mut entropy = Entropy::new(randomness);
    let ephemeral = X25519Secret::from_bytes(&*entropy.take::<X25519_LEN>()?);
    let (kem_ciphertext, kem_secret) = invitation.kem_key.encapsulate(&*entropy.take::<32>()?);
    let dh1 = identity.secret().diffie_hellman(&invitation.one_time_key)?;
    let dh2 = ephemeral.diffie_hellman(&invitation.identity.0)?;
    let dh3 = ephemeral.diffie_hellman(&invitation.one_time_key)?;

    let mut answer = Vec::with_capacity(ANSWER_LEN);
    match layout {
        AnswerLayout::Sealed => {
            write_prefix(&mut answer, kind::ANSWER);
            answer.extend_from_slice(&ephemeral.public_key().0);
            answer.extend_from_slice(&kem_ciphertext.0[..]);
            let sealing = IdentitySealingKey::derive(&dh2, &dh3, &kem_secret, invitation, &answer);
            answer.extend_from_slice(&sealing.seal(identity.public_key())?);
        }
        #[cfg(test)]
        AnswerLayout::Version1 => {
            answer.extend_from_slice(&[ANSWER_VERSION_1, kind::ANSWER]);
            answer.extend_from_slice(&identity.public_key().to_bytes());
            answer.extend_from_slice(&ephemeral.public_key().0);
            answer.extend_from_slice(&kem_ciphertext.0[..]);
        }
    }
    let keys = AgreedKeys::derive(
        [&dh1, &dh2, &dh3],
        &kem_secret,
        &transcript_hash(invitation, &answer),
    );

    let peer = PeerRatchetKey {
        dh: invitation.one_time_key,
        kem: invitation.kem_key.clone(),
    };
    let ratchet = DoubleRatchet::new_joiner(
        associated_data(invitation.identity, identity.public_key()),
        keys.root_key,
        peer,
        keys.joiner_header_key,
        keys.inviter_header_key,
        &mut entropy,
    )?;
    let mut session = Session::new(ratchet, None);
    answer.extend_from_slice(&session.encrypt_with(first_plaintext, &mut entropy)?);
    Ok((session, answer))
}

/// The session associated data: inviter identity key || joiner identity key.
fn associated_data(
    inviter: IdentityPublicKey,
    joiner: IdentityPublicKey,
) -> [u8; ASSOCIATED_DATA_LEN] {
    let mut ad = [0u8; ASSOCIATED_DATA_LEN];
    ad[..32].copy_from_slice(&inviter.to_bytes());
    ad[32..].copy_from_slice(&joiner.to_bytes());
    ad
}

/// `T = SHA-256(invitation || key-agreement part of the answer)`: with the sealed identity
/// key in it, the session's keys depend on the exact sealed bytes.
fn transcript_hash(invitation: &Invitation, answer_key_agreement: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(invitation.to_bytes());
    hash.update(answer_key_agreement);
    hash.finalize().into()
}

/// The three outputs of the key agreement.
struct AgreedKeys {
    root_key: RootKey,
    joiner_header_key: HeaderKey,
    inviter_header_key: HeaderKey,
}

impl AgreedKeys {
    /// HKDF(salt = 32 zero bytes, ikm = 0xFF×32 || DH1 || DH2 || DH3 || KEM secret,
    /// info = "Sotto v1 PQXDH" || transcript hash) → root key || joiner's first header
    /// key || inviter's first header key.
    fn derive(dh: [&DhSecret; 3], kem: &KemSharedSecret, transcript: &[u8; 32]) -> Self {
        let mut ikm = Zeroizing::new(Vec::with_capacity(32 * 5));
        ikm.extend_from_slice(&[0xff; 32]);
        for secret in dh {
            ikm.extend_from_slice(secret.as_bytes());
        }
        ikm.extend_from_slice(kem.as_bytes());
        let mut info = Vec::with_capacity(label::PQXDH.len() + 32);
        info.extend_from_slice(label::PQXDH);
        info.extend_from_slice(transcript);
        let okm = hkdf::<96>(&[0u8; 32], &ikm, &info);
        Self {
            root_key: RootKey::new(split::<0>(&okm)),
            joiner_header_key: HeaderKey::new(split::<32>(&okm)),
            inviter_header_key: HeaderKey::new(split::<64>(&okm)),
        }
    }
}
