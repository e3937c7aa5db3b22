//! Storage keys derived from the user's passphrase with Argon2id.
//!
//! Every place that keeps a profile under a passphrase (the native SQLCipher
//! database, the browser's IndexedDB, an export archive) records a
//! [`KeyDerivation`] next to its data: the Argon2id parameters and a random salt.
//! The parameters are recorded rather than implied, so a later version can raise
//! the defaults while data written under older parameters still opens. Parameters
//! read back from disk are attacker-controlled and bounded
//! ([`Argon2Params::decode`]) before any memory is allocated for them.
//!
//! ```text
//! key derivation (29 bytes) = kdf id (1: 0x01 Argon2id, version 0x13)
//!                          || memory KiB (u32 BE) || passes (u32 BE) || lanes (u32 BE)
//!                          || salt (16)
//! storage key (32 bytes)    = Argon2id(passphrase, salt, parameters)
//! ```
//!
//! The salt comes from the caller: the core makes no RNG calls.
//!
//! A passphrase chosen for new data must not be empty
//! ([`Passphrase::check_chosen`]); data written under an empty passphrase by
//! an earlier version still opens.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Length of a passphrase salt.
pub const PASSPHRASE_SALT_LEN: usize = 16;
/// Length of a storage key.
pub const STORAGE_KEY_LEN: usize = 32;

/// The one KDF identifier of this version: Argon2id, algorithm version 0x13.
const KDF_ARGON2ID_V13: u8 = 0x01;

/// The largest memory cost accepted from stored parameters: 256 MiB, what a
/// browser tab can reliably allocate. A hostile file must not make a client try
/// more, nor spend minutes on passes.
const MAX_MEMORY_KIB: u32 = 256 * 1024;
/// The most passes accepted from stored parameters.
const MAX_ITERATIONS: u32 = 16;
/// The most lanes accepted from stored parameters.
const MAX_LANES: u32 = 8;

/// A passphrase typed by the user. Zeroized on drop; `Debug` prints nothing of it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Passphrase(Vec<u8>);

impl Passphrase {
    /// Takes ownership of the passphrase's UTF-8 (or any) bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Passphrase {
        Passphrase(bytes.into())
    }

    /// The passphrase's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Whether the passphrase has no bytes at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Refuses an empty passphrase for new data (a new profile, a new
    /// passphrase, an archive): it would protect nothing. Opening existing
    /// data does not call this.
    pub fn check_chosen(&self) -> Result<(), PassphraseError> {
        if self.is_empty() {
            Err(PassphraseError::Empty)
        } else {
            Ok(())
        }
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

/// A 32-byte key derived from a passphrase. Zeroized on drop; `Debug` prints
/// nothing of it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct StorageKey([u8; STORAGE_KEY_LEN]);

impl StorageKey {
    /// A key that [`KeyDerivation::derive`] produced elsewhere (the browser
    /// derives in a worker, off the page's thread) and handed over as bytes.
    /// Copies them and zeroizes `bytes`.
    pub fn take_derived(bytes: &mut [u8; STORAGE_KEY_LEN]) -> StorageKey {
        let key = StorageKey(*bytes);
        bytes.zeroize();
        key
    }

    /// The key's bytes, to hand to a cipher. Never log or store them in the clear.
    pub fn as_bytes(&self) -> &[u8; STORAGE_KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for StorageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StorageKey(<redacted>)")
    }
}

/// A random salt for one derivation (not secret).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Salt(pub [u8; PASSPHRASE_SALT_LEN]);

/// The cost of one Argon2id derivation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Parallel lanes.
    pub lanes: u32,
}

impl Argon2Params {
    /// The parameters new data is written with: 64 MiB, 3 passes, 1 lane. The
    /// files they protect travel (archives) and can be attacked offline, so the
    /// cost is well above OWASP's minimum for servers (19 MiB, 2 passes); about
    /// 0.2 s natively and 0.5 s in a browser's wasm (docs/storage.md). One lane,
    /// because the browser derives on a single thread.
    pub const DEFAULT: Argon2Params = Argon2Params {
        memory_kib: 64 * 1024,
        iterations: 3,
        lanes: 1,
    };

    /// The defaults of the first versions (19 MiB, 2 passes, 1 lane). Files
    /// written with them record them and still open; nothing new uses them.
    pub const INITIAL: Argon2Params = Argon2Params {
        memory_kib: 19 * 1024,
        iterations: 2,
        lanes: 1,
    };

    /// Length of the encoded parameters, KDF id included.
    pub const ENCODED_LEN: usize = 13;

    /// `kdf id || memory KiB || passes || lanes`, big-endian.
    pub fn encode(&self) -> [u8; Self::ENCODED_LEN] {
        let mut out = [0u8; Self::ENCODED_LEN];
        out[0] = KDF_ARGON2ID_V13;
        out[1..5].copy_from_slice(&self.memory_kib.to_be_bytes());
        out[5..9].copy_from_slice(&self.iterations.to_be_bytes());
        out[9..13].copy_from_slice(&self.lanes.to_be_bytes());
        out
    }

    /// Reads parameters written by [`Argon2Params::encode`], refusing an unknown KDF
    /// and costs outside the accepted bounds.
    pub fn decode(bytes: &[u8; Self::ENCODED_LEN]) -> Result<Argon2Params, PassphraseError> {
        if bytes[0] != KDF_ARGON2ID_V13 {
            return Err(PassphraseError::UnknownKdf(bytes[0]));
        }
        let word = |at: usize| {
            u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let params = Argon2Params {
            memory_kib: word(1),
            iterations: word(5),
            lanes: word(9),
        };
        params.check()?;
        Ok(params)
    }

    fn check(&self) -> Result<(), PassphraseError> {
        let lanes_ok = (1..=MAX_LANES).contains(&self.lanes);
        let iterations_ok = (1..=MAX_ITERATIONS).contains(&self.iterations);
        // Argon2 needs at least 8 KiB per lane.
        let memory_ok =
            self.memory_kib <= MAX_MEMORY_KIB && self.memory_kib >= 8 * self.lanes.min(MAX_LANES);
        if lanes_ok && iterations_ok && memory_ok {
            Ok(())
        } else {
            Err(PassphraseError::ParametersOutOfBounds)
        }
    }

    fn argon2(&self) -> Result<argon2::Argon2<'static>, PassphraseError> {
        self.check()?;
        let params = argon2::Params::new(
            self.memory_kib,
            self.iterations,
            self.lanes,
            Some(STORAGE_KEY_LEN),
        )
        .map_err(|_| PassphraseError::ParametersOutOfBounds)?;
        Ok(argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            params,
        ))
    }
}

/// How a storage key is derived: the parameters and the salt, recorded next to
/// the data the key protects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyDerivation {
    /// The Argon2id cost.
    pub params: Argon2Params,
    /// The salt.
    pub salt: Salt,
}

impl KeyDerivation {
    /// Length of the encoded derivation.
    pub const ENCODED_LEN: usize = Argon2Params::ENCODED_LEN + PASSPHRASE_SALT_LEN;

    /// A derivation with the default parameters and a fresh random salt from the
    /// caller.
    pub fn new(salt: [u8; PASSPHRASE_SALT_LEN]) -> KeyDerivation {
        KeyDerivation {
            params: Argon2Params::DEFAULT,
            salt: Salt(salt),
        }
    }

    /// `parameters || salt`.
    pub fn encode(&self) -> [u8; Self::ENCODED_LEN] {
        let mut out = [0u8; Self::ENCODED_LEN];
        out[..Argon2Params::ENCODED_LEN].copy_from_slice(&self.params.encode());
        out[Argon2Params::ENCODED_LEN..].copy_from_slice(&self.salt.0);
        out
    }

    /// Reads a derivation written by [`KeyDerivation::encode`].
    pub fn decode(bytes: &[u8; Self::ENCODED_LEN]) -> Result<KeyDerivation, PassphraseError> {
        let mut params = [0u8; Argon2Params::ENCODED_LEN];
        params.copy_from_slice(&bytes[..Argon2Params::ENCODED_LEN]);
        let mut salt = [0u8; PASSPHRASE_SALT_LEN];
        salt.copy_from_slice(&bytes[Argon2Params::ENCODED_LEN..]);
        Ok(KeyDerivation {
            params: Argon2Params::decode(&params)?,
            salt: Salt(salt),
        })
    }

    /// Runs Argon2id. Costs about as much time and memory as the parameters say:
    /// call it once per unlock, not per record.
    pub fn derive(&self, passphrase: &Passphrase) -> Result<StorageKey, PassphraseError> {
        let argon2 = self.params.argon2()?;
        let mut key = Zeroizing::new([0u8; STORAGE_KEY_LEN]);
        argon2
            .hash_password_into(passphrase.as_bytes(), &self.salt.0, key.as_mut())
            .map_err(|_| PassphraseError::Derivation)?;
        Ok(StorageKey(*key))
    }
}

/// Why a key could not be derived. Safe to log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PassphraseError {
    /// Stored parameters name a KDF this version does not know (written by a newer
    /// client, or damaged).
    #[error("unknown key derivation function {0:#04x}")]
    UnknownKdf(u8),
    /// Stored parameters ask for more (or less) than this version accepts.
    #[error("key derivation parameters out of bounds")]
    ParametersOutOfBounds,
    /// Argon2 refused the input (a passphrase over 4 GiB).
    #[error("key derivation failed")]
    Derivation,
    /// A new passphrase was empty ([`Passphrase::check_chosen`]).
    #[error("the passphrase is empty: choose one")]
    Empty,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap parameters so the tests run fast; the format is the same.
    const FAST: Argon2Params = Argon2Params {
        memory_kib: 64,
        iterations: 1,
        lanes: 1,
    };

    fn derivation(salt: u8) -> KeyDerivation {
        KeyDerivation {
            params: FAST,
            salt: Salt([salt; PASSPHRASE_SALT_LEN]),
        }
    }

    #[test]
    fn keys_depend_on_passphrase_salt_and_parameters() {
        let passphrase = Passphrase::new("correct horse");
        let a = derivation(1).derive(&passphrase).unwrap();
        let b = derivation(1).derive(&passphrase).unwrap();
        let c = derivation(2).derive(&passphrase).unwrap();
        let d = derivation(1)
            .derive(&Passphrase::new("correct horsf"))
            .unwrap();
        let mut slower = derivation(1);
        slower.params.iterations = 2;
        let e = slower.derive(&passphrase).unwrap();
        assert_eq!(a.as_bytes(), b.as_bytes());
        for other in [&c, &d, &e] {
            assert_ne!(a.as_bytes(), other.as_bytes());
        }
    }

    fn hex(key: &StorageKey) -> String {
        key.as_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn default_parameters_match_the_reference_implementation() {
        // From the reference `argon2` command: `echo -n sotto | argon2
        // <16 x 0x07> -id -t 3 -k 65536 -p 1 -l 32 -r`.
        let key = KeyDerivation::new([7; PASSPHRASE_SALT_LEN])
            .derive(&Passphrase::new("sotto"))
            .unwrap();
        let expected = "91f6bdcf479ec9de1d0d153050964fab81ac34b80cbc4952686aa4aa0baf6f21";
        assert_eq!(hex(&key), expected);
    }

    #[test]
    fn initial_parameters_still_derive_the_keys_they_did() {
        // Data written before the defaults were raised records these
        // parameters. Reference: `echo -n sotto | argon2 <16 x 0x07> -id -t 2
        // -k 19456 -p 1 -l 32 -r`.
        let stored = KeyDerivation {
            params: Argon2Params::INITIAL,
            salt: Salt([7; PASSPHRASE_SALT_LEN]),
        };
        let decoded = KeyDerivation::decode(&stored.encode()).unwrap();
        assert_eq!(decoded, stored);
        let key = decoded.derive(&Passphrase::new("sotto")).unwrap();
        let expected = "62068674f2c1d4d743365128d64f461d3d64cb061991b315a8831c4b503978fe";
        assert_eq!(hex(&key), expected);
    }

    #[test]
    fn empty_passphrases_are_refused_for_new_data_only() {
        assert_eq!(
            Passphrase::new("").check_chosen(),
            Err(PassphraseError::Empty)
        );
        assert_eq!(Passphrase::new(" ").check_chosen(), Ok(()));
        // What an earlier version wrote under an empty passphrase still opens.
        assert!(derivation(1).derive(&Passphrase::new("")).is_ok());
    }

    #[test]
    fn derivations_round_trip_and_hostile_parameters_are_refused() {
        let original = KeyDerivation::new([9; PASSPHRASE_SALT_LEN]);
        assert_eq!(KeyDerivation::decode(&original.encode()), Ok(original));

        let mut unknown = original.encode();
        unknown[0] = 0x02;
        assert_eq!(
            KeyDerivation::decode(&unknown),
            Err(PassphraseError::UnknownKdf(0x02))
        );
        for params in [
            Argon2Params {
                memory_kib: u32::MAX,
                ..FAST
            },
            Argon2Params {
                memory_kib: MAX_MEMORY_KIB + 1,
                ..FAST
            },
            Argon2Params {
                memory_kib: 4,
                ..FAST
            },
            Argon2Params {
                iterations: 0,
                ..FAST
            },
            Argon2Params {
                iterations: MAX_ITERATIONS + 1,
                ..FAST
            },
            Argon2Params { lanes: 0, ..FAST },
            Argon2Params {
                lanes: MAX_LANES + 1,
                memory_kib: 1 << 16,
                ..FAST
            },
        ] {
            assert_eq!(
                Argon2Params::decode(&params.encode()),
                Err(PassphraseError::ParametersOutOfBounds),
                "{params:?}"
            );
            let derivation = KeyDerivation {
                params,
                salt: Salt([0; 16]),
            };
            assert!(derivation.derive(&Passphrase::new("x")).is_err());
        }
    }

    #[test]
    fn debug_prints_no_secret() {
        let passphrase = Passphrase::new("hunter2");
        let key = derivation(3).derive(&passphrase).unwrap();
        let printed = format!("{passphrase:?} {key:?}");
        assert!(!printed.contains("hunter2"));
        assert_eq!(printed, "Passphrase(<redacted>) StorageKey(<redacted>)");
    }
}
