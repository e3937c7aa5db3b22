//! What the browser keeps while the profile is locked: each delivery a relay
//! pushed ([`HeldDelivery`]), sealed to the profile's lock key so that it is
//! written without the storage key (which is not in memory while locked) and
//! opens only once the profile is unlocked.
//!
//! ```text
//! meta "lock_key"  the lock key: an X25519 secret (32), sealed as a record
//!                  (crate::sealed_record) under the table name "lock_key"
//! held             IndexedDB key (its key generator: arrival order) -> held record
//! held record  = crypto_box sealed box (X25519, XSalsa20-Poly1305, libsodium's
//!                crypto_box_seal) to the lock key's public key of:
//!                0x01 || suite u8 || recipient id (24) || message id (24)
//!                || relay_len u16 BE || relay address (UTF-8) || sealed message (rest)
//! ```
//!
//! The sealed box gives confidentiality, not authenticity (anyone holding the
//! public key can make one): a held record is only as trusted as a delivery
//! from the network, which is what the core treats it as. It still opens with
//! the queue key only if the relay sealed it for that queue.

use crypto_box::{PublicKey, SecretKey};
use rand_core::CryptoRngCore;
use sotto_core::HeldDelivery;
use sotto_wire::{
    CipherSuite, ID_LEN, MAX_ADDRESS_LEN, MAX_SEALED_LEN, MessageId, RecipientId, RelayAddress,
    SealedMessage,
};
use zeroize::Zeroizing;

use crate::sealed_record::{RecordSealer, SealError};

/// `meta` entry: the lock key, sealed.
pub const META_LOCK_KEY: &str = "lock_key";
/// The table name the lock key is sealed under (never a core table).
const LOCK_KEY_TABLE: &str = "lock_key";
/// The first byte of a held record's plaintext.
const VERSION: u8 = 1;
/// The sealed box's ephemeral public key and tag.
const SEAL_OVERHEAD: usize = crypto_box::SEALBYTES;
/// The plaintext's bytes besides the relay address and the sealed message.
const FRAMING: usize = 1 + 1 + ID_LEN + ID_LEN + 2;
/// The longest held record: anything longer is refused before it is opened.
pub const MAX_HELD_LEN: usize = SEAL_OVERHEAD + FRAMING + MAX_ADDRESS_LEN + MAX_SEALED_LEN;

/// Why a held record did not open. Safe to log.
#[derive(Debug, thiserror::Error)]
pub enum HeldError {
    /// The delivery is too long to seal (never one a relay delivers).
    #[error("a delivery too long to keep")]
    TooLong,
    /// The record does not open with this lock key (damaged, or sealed to
    /// another profile's key).
    #[error("a held delivery does not open with this profile's lock key")]
    WrongKey,
    /// It opened but does not hold a delivery.
    #[error("a held delivery is malformed: {0}")]
    Malformed(&'static str),
    /// The lock key's record is damaged.
    #[error(transparent)]
    Record(#[from] SealError),
}

/// The profile's lock key: the secret that opens what was kept while locked.
/// Kept sealed beside the profile's records; in memory only while unlocked.
///
/// Held as zeroizing bytes: `crypto_box`'s `SecretKey` zeroizes its scalar
/// when dropped but not its copy of the bytes, so one is made only for the
/// moment it is used.
pub struct LockKey {
    secret: Zeroizing<[u8; crypto_box::KEY_SIZE]>,
    public: PublicKey,
}

impl std::fmt::Debug for LockKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LockKey(..)")
    }
}

/// The public half of a [`LockKey`]: all that locked receiving holds.
#[derive(Clone)]
pub struct LockPublicKey(PublicKey);

impl LockKey {
    /// A fresh lock key.
    pub fn generate(rng: &mut impl CryptoRngCore) -> LockKey {
        let mut secret = Zeroizing::new([0u8; crypto_box::KEY_SIZE]);
        rng.fill_bytes(secret.as_mut_slice());
        LockKey::from_secret(secret)
    }

    fn from_secret(secret: Zeroizing<[u8; crypto_box::KEY_SIZE]>) -> LockKey {
        let public = SecretKey::from_bytes(*secret).public_key();
        LockKey { secret, public }
    }

    /// The key sealed for `meta` [`META_LOCK_KEY`].
    pub fn seal(
        &self,
        rng: &mut impl CryptoRngCore,
        sealer: &RecordSealer,
    ) -> Result<Vec<u8>, SealError> {
        let (_, sealed) = sealer.seal(rng, LOCK_KEY_TABLE, &[], self.secret.as_slice())?;
        Ok(sealed)
    }

    /// The key stored (sealed) in `meta` [`META_LOCK_KEY`].
    pub fn open(sealer: &RecordSealer, sealed: &[u8]) -> Result<LockKey, HeldError> {
        let index = sealer.index(LOCK_KEY_TABLE, &[])?;
        let opened = sealer.open(&index, sealed)?;
        let value = Zeroizing::new(opened.value);
        let mut secret = Zeroizing::new([0u8; crypto_box::KEY_SIZE]);
        if value.len() != secret.len() {
            return Err(HeldError::Malformed("lock key length"));
        }
        secret.copy_from_slice(&value);
        Ok(LockKey::from_secret(secret))
    }

    /// Its public half.
    pub fn public_key(&self) -> LockPublicKey {
        LockPublicKey(self.public.clone())
    }

    /// Opens a held record.
    pub fn open_held(&self, record: &[u8]) -> Result<HeldDelivery, HeldError> {
        if record.len() > MAX_HELD_LEN {
            return Err(HeldError::Malformed("too long"));
        }
        let secret = SecretKey::from_bytes(*self.secret);
        let plaintext = Zeroizing::new(secret.unseal(record).map_err(|_| HeldError::WrongKey)?);
        decode(&plaintext)
    }
}

impl LockPublicKey {
    /// `delivery` sealed to this key, as a held record.
    pub fn seal(
        &self,
        rng: &mut impl CryptoRngCore,
        delivery: &HeldDelivery,
    ) -> Result<Vec<u8>, HeldError> {
        let plaintext = Zeroizing::new(encode(delivery));
        self.0.seal(rng, &plaintext).map_err(|_| HeldError::TooLong)
    }
}

/// Parses an opened held record's plaintext: what the fuzz target feeds
/// (only the lock key reaches it, so it is fuzzed directly).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub fn fuzz_decode(plaintext: &[u8]) -> Result<HeldDelivery, HeldError> {
    decode(plaintext)
}

fn encode(delivery: &HeldDelivery) -> Vec<u8> {
    let relay = delivery.relay.to_string();
    let sealed = delivery.sealed.as_bytes();
    let mut out = Vec::with_capacity(FRAMING + relay.len() + sealed.len());
    out.push(VERSION);
    out.push(delivery.suite.id());
    out.extend_from_slice(delivery.recipient_id.as_bytes());
    out.extend_from_slice(delivery.message_id.as_bytes());
    // A relay address is at most MAX_ADDRESS_LEN (512) bytes: it fits.
    out.extend_from_slice(&(relay.len() as u16).to_be_bytes());
    out.extend_from_slice(relay.as_bytes());
    out.extend_from_slice(sealed);
    out
}

fn decode(bytes: &[u8]) -> Result<HeldDelivery, HeldError> {
    let (&version, rest) = bytes.split_first().ok_or(HeldError::Malformed("empty"))?;
    if version != VERSION {
        return Err(HeldError::Malformed("unknown version"));
    }
    let (&suite, rest) = rest.split_first().ok_or(HeldError::Malformed("suite"))?;
    let suite = CipherSuite::from_id(suite).ok_or(HeldError::Malformed("suite"))?;
    let (recipient_id, rest) = take::<ID_LEN>(rest, "recipient id")?;
    let (message_id, rest) = take::<ID_LEN>(rest, "message id")?;
    let (relay_len, rest) = take::<2>(rest, "relay length")?;
    let relay_len = usize::from(u16::from_be_bytes(relay_len));
    if relay_len > MAX_ADDRESS_LEN || rest.len() < relay_len {
        return Err(HeldError::Malformed("relay length"));
    }
    let (relay, sealed) = rest.split_at(relay_len);
    let relay: RelayAddress = std::str::from_utf8(relay)
        .ok()
        .and_then(|relay| relay.parse().ok())
        .ok_or(HeldError::Malformed("relay address"))?;
    let sealed = SealedMessage::from_vec(sealed.to_vec())
        .map_err(|_| HeldError::Malformed("sealed message length"))?;
    Ok(HeldDelivery {
        relay,
        recipient_id: RecipientId::from_bytes(recipient_id),
        message_id: MessageId::from_bytes(message_id),
        sealed,
        suite,
    })
}

fn take<'a, const N: usize>(
    bytes: &'a [u8],
    field: &'static str,
) -> Result<([u8; N], &'a [u8]), HeldError> {
    if bytes.len() < N {
        return Err(HeldError::Malformed(field));
    }
    let (head, rest) = bytes.split_at(N);
    let mut out = [0u8; N];
    out.copy_from_slice(head);
    Ok((out, rest))
}

#[cfg(test)]
mod tests {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;
    use sotto_core::StorageKey;

    use super::*;

    fn delivery(sealed_len: usize) -> HeldDelivery {
        HeldDelivery {
            relay: "sotto://tgAwbPp2cj_ew5XlOps9n9t4seLXojwy_LzS3G0MQJI@relay.example:443"
                .parse()
                .unwrap(),
            recipient_id: RecipientId::from_bytes([7; ID_LEN]),
            message_id: MessageId::from_bytes([9; ID_LEN]),
            sealed: SealedMessage::from_vec(vec![0xAB; sealed_len]).unwrap(),
            suite: CipherSuite::ChaCha20Poly1305,
        }
    }

    fn sealer(byte: u8) -> RecordSealer {
        RecordSealer::new(&StorageKey::take_derived(
            &mut [byte; sotto_core::STORAGE_KEY_LEN],
        ))
    }

    #[test]
    fn a_held_delivery_opens_with_its_lock_key_only() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let key = LockKey::generate(&mut rng);
        for len in [sotto_wire::MIN_SEALED_LEN, 100, MAX_SEALED_LEN] {
            let held = key.public_key().seal(&mut rng, &delivery(len)).unwrap();
            assert!(held.len() <= MAX_HELD_LEN);
            assert_eq!(key.open_held(&held).unwrap(), delivery(len));
            let other = LockKey::generate(&mut rng);
            assert!(matches!(other.open_held(&held), Err(HeldError::WrongKey)));
        }
    }

    #[test]
    fn the_lock_key_opens_with_the_profile_key_only() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let key = LockKey::generate(&mut rng);
        let sealed = key.seal(&mut rng, &sealer(1)).unwrap();
        let opened = LockKey::open(&sealer(1), &sealed).unwrap();
        let held = key.public_key().seal(&mut rng, &delivery(50)).unwrap();
        assert_eq!(opened.open_held(&held).unwrap(), delivery(50));
        assert!(LockKey::open(&sealer(2), &sealed).is_err());
        assert_eq!(format!("{key:?}"), "LockKey(..)");
    }

    #[test]
    fn damaged_or_hostile_records_are_refused() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let key = LockKey::generate(&mut rng);
        let held = key.public_key().seal(&mut rng, &delivery(40)).unwrap();
        for cut in [0, 1, SEAL_OVERHEAD, held.len() - 1] {
            assert!(key.open_held(&held[..cut]).is_err());
        }
        let mut flipped = held.clone();
        flipped[SEAL_OVERHEAD + 3] ^= 1;
        assert!(matches!(key.open_held(&flipped), Err(HeldError::WrongKey)));
        assert!(key.open_held(&vec![0; MAX_HELD_LEN + 1]).is_err());
        // Well sealed but malformed inside: every prefix of a good plaintext.
        let plaintext = encode(&delivery(40));
        for cut in 0..FRAMING + 10 {
            let sealed = key
                .public_key()
                .0
                .seal(&mut rng, &plaintext[..cut])
                .unwrap();
            assert!(matches!(
                key.open_held(&sealed),
                Err(HeldError::Malformed(_))
            ));
        }
        let mut bad_suite = plaintext.clone();
        bad_suite[1] = 9;
        let sealed = key.public_key().0.seal(&mut rng, &bad_suite).unwrap();
        assert!(matches!(
            key.open_held(&sealed),
            Err(HeldError::Malformed("suite"))
        ));
    }
}
