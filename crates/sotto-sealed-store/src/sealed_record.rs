//! Records as IndexedDB stores them: every record of the core's store sealed
//! with XChaCha20-Poly1305 and padded to a size bucket ([`crate::padding`]),
//! under an opaque index so that the browser's database shows neither table
//! names, nor keys, nor exact sizes.
//!
//! ```text
//! subkeys      = HKDF-SHA256(ikm = storage key, info = "sotto-idb-v1 seal" | "sotto-idb-v1 index")
//! index (32)   = HMAC-SHA256(index key, len(table) u8 || table || key)   (HKDF-Expand, one block)
//! plaintext    = 0xF2 || len(table) u8 || table || len(key) u32 BE || key
//!                     || len(value) u32 BE || value || zero padding
//! sealed       = nonce (24, random) || XChaCha20-Poly1305(seal key, nonce, plaintext, aad = index)
//! len(sealed)  = bucket(24 + 16 + 10 + len(table) + len(key) + len(value))
//! ```
//!
//! Records written before padding (format 1, read but never written) have
//! `plaintext = len(table) u8 || table || len(key) u32 BE || key || value`.
//! A table name is at most 32 bytes, so the first byte of the plaintext tells
//! the two apart: 0xF2 is never a format-1 table length. It is inside the
//! authenticated plaintext, so nobody can change a record's format.
//!
//! The index in the associated data binds a sealed value to its place: a
//! record moved under another index does not open.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use rand_core::CryptoRngCore;
use sha2::Sha256;
use sotto_core::{MAX_KEY_LEN, MAX_VALUE_LEN, StorageKey};
use zeroize::Zeroizing;

use crate::padding::bucket;

/// Length of a record's index in IndexedDB.
pub const INDEX_LEN: usize = 32;
/// Length of the random nonce in front of each sealed value.
const NONCE_LEN: usize = 24;
/// Length of the Poly1305 tag after the ciphertext.
const TAG_LEN: usize = 16;
/// Longest table name the core uses.
const MAX_TABLE_LEN: usize = 32;
/// The first plaintext byte of a padded record (format 2).
const PADDED_MARK: u8 = 0xF2;
/// The plaintext bytes of a padded record besides table, key and value: the
/// mark, the table length and the two u32 lengths.
const PADDED_FRAMING: usize = 1 + 1 + 4 + 4;
/// The largest sealed value: the bucket of the largest record (checked in
/// the tests). Anything longer is refused before it is decrypted.
pub const MAX_SEALED_LEN: usize = 18 * 1024 * 1024;

/// How a stored record was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordFormat {
    /// Format 1: exact size, no padding (read only).
    Unpadded,
    /// Format 2: padded to a size bucket.
    Padded,
}

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
    /// How it was written: a format-1 record is sealed again on the next
    /// full write.
    pub format: RecordFormat,
}

impl std::fmt::Debug for OpenedRecord {
    // Values hold message text and key material: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedRecord")
            .field("table", &self.table)
            .field("value_len", &self.value.len())
            .field("format", &self.format)
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

    /// Seals one record, padded to its bucket; returns its index and the
    /// sealed bytes.
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
        let value_len = u32::try_from(value.len()).map_err(|_| SealError::TooLarge)?;
        let unpadded = PADDED_FRAMING + table.len() + key.len() + value.len();
        let sealed_len = bucket(NONCE_LEN + TAG_LEN + unpadded).ok_or(SealError::TooLarge)?;
        let mut plaintext = Zeroizing::new(Vec::with_capacity(sealed_len - NONCE_LEN - TAG_LEN));
        plaintext.push(PADDED_MARK);
        // `index` checked the table's length against MAX_TABLE_LEN.
        plaintext.push(table.len() as u8);
        plaintext.extend_from_slice(table.as_bytes());
        plaintext.extend_from_slice(&key_len.to_be_bytes());
        plaintext.extend_from_slice(key);
        plaintext.extend_from_slice(&value_len.to_be_bytes());
        plaintext.extend_from_slice(value);
        plaintext.resize(sealed_len - NONCE_LEN - TAG_LEN, 0);
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

    /// Opens the record stored under `index`, in either format.
    pub fn open(&self, index: &RecordIndex, sealed: &[u8]) -> Result<OpenedRecord, SealError> {
        if sealed.len() > MAX_SEALED_LEN {
            return Err(SealError::TooLarge);
        }
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
        let parsed = Plaintext::parse(&plaintext)?;
        let (format, table, key, value) = (parsed.format, parsed.table, parsed.key, parsed.value);
        let table = std::str::from_utf8(table).map_err(|_| SealError::Malformed)?;
        // The index proves the record is the one asked for.
        if self.index(table, key)? != *index {
            return Err(SealError::Malformed);
        }
        Ok(OpenedRecord {
            table: table.to_owned(),
            key: key.to_vec(),
            value: value.to_vec(),
            format,
        })
    }
}

/// A decrypted record's fields, borrowed from its plaintext.
struct Plaintext<'a> {
    format: RecordFormat,
    table: &'a [u8],
    key: &'a [u8],
    value: &'a [u8],
}

impl<'a> Plaintext<'a> {
    /// Reads either format, bounding every length before it is used.
    fn parse(plaintext: &'a [u8]) -> Result<Plaintext<'a>, SealError> {
        let (format, rest) = match plaintext.split_first() {
            Some((&PADDED_MARK, rest)) => (RecordFormat::Padded, rest),
            Some(_) => (RecordFormat::Unpadded, plaintext),
            None => return Err(SealError::Malformed),
        };
        let (&table_len, rest) = rest.split_first().ok_or(SealError::Malformed)?;
        if usize::from(table_len) > MAX_TABLE_LEN {
            return Err(SealError::Malformed);
        }
        let (table, rest) = rest
            .split_at_checked(usize::from(table_len))
            .ok_or(SealError::Malformed)?;
        let (key_len, rest) = length(rest)?;
        if key_len > MAX_KEY_LEN {
            return Err(SealError::Malformed);
        }
        let (key, rest) = rest.split_at_checked(key_len).ok_or(SealError::Malformed)?;
        let value = match format {
            RecordFormat::Unpadded => rest,
            RecordFormat::Padded => {
                let (value_len, rest) = length(rest)?;
                let (value, padding) = rest
                    .split_at_checked(value_len)
                    .ok_or(SealError::Malformed)?;
                if padding.iter().any(|&byte| byte != 0) {
                    return Err(SealError::Malformed);
                }
                value
            }
        };
        if value.len() > MAX_VALUE_LEN {
            return Err(SealError::Malformed);
        }
        Ok(Plaintext {
            format,
            table,
            key,
            value,
        })
    }
}

/// Parses a decrypted record's plaintext: what the fuzz target feeds (the
/// plaintext can only be reached with the key, so it is fuzzed directly).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub fn fuzz_parse_plaintext(
    plaintext: &[u8],
) -> Result<(RecordFormat, usize, usize, usize), SealError> {
    let parsed = Plaintext::parse(plaintext)?;
    Ok((
        parsed.format,
        parsed.table.len(),
        parsed.key.len(),
        parsed.value.len(),
    ))
}

/// A u32 BE length and what follows it.
fn length(bytes: &[u8]) -> Result<(usize, &[u8]), SealError> {
    let (len, rest) = bytes.split_at_checked(4).ok_or(SealError::Malformed)?;
    let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]);
    Ok((
        usize::try_from(len).map_err(|_| SealError::Malformed)?,
        rest,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::CountingRng;
    use sotto_core::{Argon2Params, KeyDerivation, Passphrase, Salt};

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

#[cfg(test)]
mod format_tests {
    use super::*;
    use crate::padding::MIN_BUCKET;
    use crate::test_support::{
        CountingRng, FORMAT_1_PASSPHRASE, FORMAT_1_RECORDS, format_1_derivation, hex, seal_unpadded,
    };

    fn format_1_key() -> StorageKey {
        format_1_derivation()
            .derive(&sotto_core::Passphrase::new(FORMAT_1_PASSPHRASE))
            .unwrap()
    }

    #[test]
    fn records_of_format_1_still_open() {
        let key = format_1_key();
        let sealer = RecordSealer::new(&key);
        let mut rng = CountingRng(0);
        for (table, record_key, value, index, sealed) in FORMAT_1_RECORDS {
            let index = RecordIndex(hex(index).try_into().unwrap());
            assert_eq!(sealer.index(table, &hex(record_key)).unwrap(), index);
            let opened = sealer.open(&index, &hex(sealed)).unwrap();
            assert_eq!(opened.table, table);
            assert_eq!(opened.key, hex(record_key));
            assert_eq!(opened.value, hex(value));
            assert_eq!(opened.format, RecordFormat::Unpadded);
            // The writer the tests keep is the one that made them.
            let again = seal_unpadded(&key, &index, &mut rng, table, &hex(record_key), &hex(value));
            assert_eq!(again, hex(sealed));
        }
    }

    #[test]
    fn sealed_sizes_are_buckets_and_hide_the_exact_length() {
        let sealer = RecordSealer::new(&format_1_key());
        let mut rng = CountingRng(0);
        let mut seal = |value: &[u8]| {
            let (index, sealed) = sealer.seal(&mut rng, "messages", b"k", value).unwrap();
            let opened = sealer.open(&index, &sealed).unwrap();
            assert_eq!(opened.value, value);
            assert_eq!(opened.format, RecordFormat::Padded);
            sealed.len()
        };
        assert_eq!(seal(b""), MIN_BUCKET);
        assert_eq!(seal(b"hi"), MIN_BUCKET);
        assert_eq!(seal(&[7; 150]), MIN_BUCKET);
        assert_eq!(seal(&[7; 300]), 512);
        assert_eq!(seal(&[7; 400]), 512);
        assert_eq!(seal(&[7; 100_000]), 106_496);
    }

    #[test]
    fn the_largest_record_fits_the_largest_sealed_length() {
        let largest = 24 + 16 + PADDED_FRAMING + MAX_TABLE_LEN + MAX_KEY_LEN + MAX_VALUE_LEN;
        assert_eq!(bucket(largest), Some(MAX_SEALED_LEN));
    }

    #[test]
    fn damaged_padding_lengths_and_oversized_values_are_refused() {
        let key = format_1_key();
        let sealer = RecordSealer::new(&key);
        let index = sealer.index("chats", b"k").unwrap();
        // A padded record whose padding is not zero, or whose value length
        // runs past the end, sealed under the right key: still refused.
        let reseal = |plaintext: &[u8]| {
            let hkdf = Hkdf::<Sha256>::new(None, key.as_bytes());
            let mut seal_key = [0u8; 32];
            hkdf.expand(b"sotto-idb-v1 seal", &mut seal_key).unwrap();
            let nonce = [1u8; NONCE_LEN];
            let sealed = XChaCha20Poly1305::new(&seal_key.into())
                .encrypt(
                    XNonce::from_slice(&nonce),
                    Payload {
                        msg: plaintext,
                        aad: &index.0,
                    },
                )
                .unwrap();
            [nonce.as_slice(), &sealed].concat()
        };
        let mut good = vec![PADDED_MARK, 5];
        good.extend_from_slice(b"chats");
        good.extend_from_slice(&1u32.to_be_bytes());
        good.push(b'k');
        good.extend_from_slice(&2u32.to_be_bytes());
        good.extend_from_slice(b"hi");
        good.resize(100, 0);
        assert_eq!(sealer.open(&index, &reseal(&good)).unwrap().value, b"hi");
        let mut dirty = good.clone();
        dirty[99] = 1;
        assert_eq!(
            sealer.open(&index, &reseal(&dirty)),
            Err(SealError::Malformed)
        );
        let mut overlong = good.clone();
        overlong[12..16].copy_from_slice(&1000u32.to_be_bytes());
        assert_eq!(
            sealer.open(&index, &reseal(&overlong)),
            Err(SealError::Malformed)
        );
        let mut long_table = good;
        long_table[1] = 200;
        assert_eq!(
            sealer.open(&index, &reseal(&long_table)),
            Err(SealError::Malformed)
        );
        assert_eq!(sealer.open(&index, &reseal(&[])), Err(SealError::Malformed));
        assert_eq!(
            sealer.open(&index, &vec![0; MAX_SEALED_LEN + 1]),
            Err(SealError::TooLarge)
        );
    }
}
