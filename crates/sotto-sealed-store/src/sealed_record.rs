//! Records as IndexedDB stores them: every record of the core's store sealed
//! with XChaCha20-Poly1305, under an opaque index so that the browser's
//! database shows neither table names nor keys.
//!
//! ```text
//! subkeys     = HKDF-SHA256(ikm = storage key, info = "sotto-idb-v1 seal" | "sotto-idb-v1 index")
//! index (32)  = HMAC-SHA256(index key, len(table) u8 || table || key)   (HKDF-Expand, one block)
//! plaintext   = len(table) u8 || table || len(key) u32 BE || key || value
//! sealed      = nonce (24, random) || XChaCha20-Poly1305(seal key, nonce, plaintext, aad = index)
//! ```
//!
//! The index in the associated data binds a sealed value to its place: a
//! record moved under another index does not open. The passphrase check is a
//! sealed record like any other, under a name the core never uses.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use rand_core::CryptoRngCore;
use sha2::Sha256;
use sotto_core::{MAX_KEY_LEN, MAX_VALUE_LEN, StorageKey};
use zeroize::Zeroizing;

/// Length of a record's index in IndexedDB.
pub const INDEX_LEN: usize = 32;
/// Length of the random nonce in front of each sealed value.
const NONCE_LEN: usize = 24;
/// Longest table name the core uses.
const MAX_TABLE_LEN: usize = 32;

/// Where a record lives in IndexedDB: a keyed hash of its table and key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct RecordIndex(pub [u8; INDEX_LEN]);

/// A record opened from IndexedDB.
#[derive(Clone, PartialEq, Eq)]
pub struct OpenedRecord {
    /// The core's table name.
    pub table: String,
    /// The record's key.
    pub key: Vec<u8>,
    /// The record's value.
    pub value: Vec<u8>,
}

impl std::fmt::Debug for OpenedRecord {
    // Values hold message text and key material: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedRecord")
            .field("table", &self.table)
            .field("value_len", &self.value.len())
            .finish()
    }
}

/// Why a sealed record did not open. Safe to log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The record does not open under this key (wrong passphrase, or tampered).
    #[error("the record does not open with this key")]
    Unopenable,
    /// The record opened but its contents are not a record.
    #[error("the record is malformed")]
    Malformed,
    /// A table name or key is out of bounds.
    #[error("the record is too large")]
    TooLarge,
}

/// Seals and opens records under the keys derived from one storage key.
/// Dropping it zeroizes the keys.
pub struct RecordSealer {
    seal_key: Zeroizing<[u8; 32]>,
    index_key: Zeroizing<[u8; 32]>,
}

impl RecordSealer {
    /// The sealer for the database protected by `key`.
    pub fn new(key: &StorageKey) -> RecordSealer {
        let hkdf = Hkdf::<Sha256>::new(None, key.as_bytes());
        let mut seal_key = Zeroizing::new([0u8; 32]);
        let mut index_key = Zeroizing::new([0u8; 32]);
        // 32 bytes is far below HKDF-SHA256's limit of 8160: expand cannot fail.
        let _ = hkdf.expand(b"sotto-idb-v1 seal", seal_key.as_mut());
        let _ = hkdf.expand(b"sotto-idb-v1 index", index_key.as_mut());
        RecordSealer {
            seal_key,
            index_key,
        }
    }

    /// The opaque index of `key` in `table`.
    pub fn index(&self, table: &str, key: &[u8]) -> Result<RecordIndex, SealError> {
        let table_len = u8::try_from(table.len()).map_err(|_| SealError::TooLarge)?;
        if table.len() > MAX_TABLE_LEN || key.len() > MAX_KEY_LEN {
            return Err(SealError::TooLarge);
        }
        let prk =
            Hkdf::<Sha256>::from_prk(self.index_key.as_ref()).map_err(|_| SealError::TooLarge)?;
        let mut out = [0u8; INDEX_LEN];
        prk.expand_multi_info(&[&[table_len], table.as_bytes(), key], &mut out)
            .map_err(|_| SealError::TooLarge)?;
        Ok(RecordIndex(out))
    }

    /// Seals one record; returns its index and the sealed bytes.
    pub fn seal(
        &self,
        rng: &mut impl CryptoRngCore,
        table: &str,
        key: &[u8],
        value: &[u8],
    ) -> Result<(RecordIndex, Vec<u8>), SealError> {
        if value.len() > MAX_VALUE_LEN {
            return Err(SealError::TooLarge);
        }
        let index = self.index(table, key)?;
        let key_len = u32::try_from(key.len()).map_err(|_| SealError::TooLarge)?;
        let mut plaintext = Zeroizing::new(Vec::with_capacity(
            1 + table.len() + 4 + key.len() + value.len(),
        ));
        plaintext.push(table.len() as u8);
        plaintext.extend_from_slice(table.as_bytes());
        plaintext.extend_from_slice(&key_len.to_be_bytes());
        plaintext.extend_from_slice(key);
        plaintext.extend_from_slice(value);
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let cipher = XChaCha20Poly1305::new(self.seal_key.as_ref().into());
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &plaintext,
                    aad: &index.0,
                },
            )
            .map_err(|_| SealError::TooLarge)?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok((index, out))
    }

    /// Opens the record stored under `index`.
    pub fn open(&self, index: &RecordIndex, sealed: &[u8]) -> Result<OpenedRecord, SealError> {
        let (nonce, ciphertext) = sealed
            .split_at_checked(NONCE_LEN)
            .ok_or(SealError::Unopenable)?;
        let cipher = XChaCha20Poly1305::new(self.seal_key.as_ref().into());
        let plaintext = Zeroizing::new(
            cipher
                .decrypt(
                    XNonce::from_slice(nonce),
                    Payload {
                        msg: ciphertext,
                        aad: &index.0,
                    },
                )
                .map_err(|_| SealError::Unopenable)?,
        );
        let (&table_len, rest) = plaintext.split_first().ok_or(SealError::Malformed)?;
        let (table, rest) = rest
            .split_at_checked(usize::from(table_len))
            .ok_or(SealError::Malformed)?;
        let (key_len, rest) = rest.split_at_checked(4).ok_or(SealError::Malformed)?;
        let key_len = u32::from_be_bytes([key_len[0], key_len[1], key_len[2], key_len[3]]);
        let key_len = usize::try_from(key_len).map_err(|_| SealError::Malformed)?;
        if key_len > MAX_KEY_LEN {
            return Err(SealError::Malformed);
        }
        let (key, value) = rest.split_at_checked(key_len).ok_or(SealError::Malformed)?;
        let table = std::str::from_utf8(table).map_err(|_| SealError::Malformed)?;
        // The index proves the record is the one asked for.
        if self.index(table, key)? != *index {
            return Err(SealError::Malformed);
        }
        Ok(OpenedRecord {
            table: table.to_owned(),
            key: key.to_vec(),
            value: value.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::{CryptoRng, RngCore};
    use sotto_core::{Argon2Params, KeyDerivation, Passphrase, Salt};

    /// A counter RNG: tests need distinct nonces, not unpredictable ones.
    struct CountingRng(u8);
    impl RngCore for CountingRng {
        fn next_u32(&mut self) -> u32 {
            rand_core::impls::next_u32_via_fill(self)
        }
        fn next_u64(&mut self) -> u64 {
            rand_core::impls::next_u64_via_fill(self)
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            for byte in dest {
                self.0 = self.0.wrapping_add(1);
                *byte = self.0;
            }
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }
    impl CryptoRng for CountingRng {}

    fn sealer(passphrase: &str) -> RecordSealer {
        let derivation = KeyDerivation {
            params: Argon2Params {
                memory_kib: 64,
                iterations: 1,
                lanes: 1,
            },
            salt: Salt([5; 16]),
        };
        RecordSealer::new(&derivation.derive(&Passphrase::new(passphrase)).unwrap())
    }

    #[test]
    fn records_round_trip_and_hide_their_contents() {
        let sealer = sealer("pass");
        let mut rng = CountingRng(0);
        let (index, sealed) = sealer
            .seal(&mut rng, "messages", b"key-1", b"hello secret")
            .unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert!(!sealed.windows(8).any(|w| w == b"messages"));
        let opened = sealer.open(&index, &sealed).unwrap();
        assert_eq!(opened.table, "messages");
        assert_eq!(opened.key, b"key-1");
        assert_eq!(opened.value, b"hello secret");
        // Same place, fresh nonce: a different ciphertext.
        let (again, resealed) = sealer
            .seal(&mut rng, "messages", b"key-1", b"hello secret")
            .unwrap();
        assert_eq!(again, index);
        assert_ne!(resealed, sealed);
    }

    #[test]
    fn wrong_key_moved_or_tampered_records_do_not_open() {
        let sealer = sealer("pass");
        let mut rng = CountingRng(9);
        let (index, sealed) = sealer.seal(&mut rng, "contacts", b"a", b"value").unwrap();
        assert_eq!(
            super::tests::sealer("other").open(&index, &sealed),
            Err(SealError::Unopenable)
        );
        let elsewhere = sealer.index("contacts", b"b").unwrap();
        assert_eq!(sealer.open(&elsewhere, &sealed), Err(SealError::Unopenable));
        let mut tampered = sealed.clone();
        if let Some(last) = tampered.last_mut() {
            *last ^= 1;
        }
        assert_eq!(sealer.open(&index, &tampered), Err(SealError::Unopenable));
        assert_eq!(
            sealer.open(&index, &sealed[..10]),
            Err(SealError::Unopenable)
        );
    }

    #[test]
    fn indexes_depend_on_table_key_and_passphrase() {
        let a = sealer("pass");
        let b = sealer("pass2");
        let one = a.index("t", b"k").unwrap();
        assert_eq!(one, a.index("t", b"k").unwrap());
        assert_ne!(one, a.index("t", b"j").unwrap());
        assert_ne!(one, a.index("u", b"k").unwrap());
        assert_ne!(one, b.index("t", b"k").unwrap());
        // The table length is part of the input: no ambiguity between splits.
        assert_ne!(a.index("ab", b"c").unwrap(), a.index("a", b"bc").unwrap());
    }
}
