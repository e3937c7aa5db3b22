//! What the tests share: a counting RNG, the format-1 writer, and records
//! sealed by the last version that wrote format 1.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use rand_core::{CryptoRng, RngCore};
use sha2::Sha256;
use sotto_core::{Argon2Params, KeyDerivation, Salt, StorageKey};

use crate::sealed_record::RecordIndex;

/// A counter RNG: tests need distinct nonces, not unpredictable ones.
pub(crate) struct CountingRng(pub(crate) u8);

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

/// The passphrase of the recorded format-1 profile.
pub(crate) const FORMAT_1_PASSPHRASE: &str = "old profile passphrase";

/// Its key derivation as stored in `meta`: the first default parameters
/// (19 MiB, 2 passes, 1 lane), salt 16 × 0x05.
pub(crate) const FORMAT_1_KDF: &str = "0100004c00000000020000000105050505050505050505050505050505";

/// Its records as `(table, key, value, index, sealed)`, all hex but the
/// table, recorded from the bridge's sealer before padding (nonces from a
/// `CountingRng(0)`, in this order).
pub(crate) const FORMAT_1_RECORDS: [(&str, &str, &str, &str, &str); 4] = [
    (
        "passphrase_check",
        "",
        "",
        "9f4e4e977f38f131b874397938157162779c93d58ee77924a727a834039121f3",
        "0102030405060708090a0b0c0d0e0f1011121314151617184118e728a8a9cb27f2de4a5fa3a3e083d4c9896f5eb82ff2047432b93e12733a3ff631c49b",
    ),
    (
        "web_prefs",
        "",
        "7b227468656d65223a226461726b227d",
        "9b084b414e8e143120e13959d4a0931bd529390eab07272a397094eb0e5fc727",
        "191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f30abd86d729ce9eb429c207a940fd777cc9e5d22fcebeb25d21e794a502d23d66e1b32c0b92a932cf9846a4299810e",
    ),
    (
        "chats",
        "6b31",
        "68656c6c6f",
        "c3de69f60468d824e964d0053ff4c12a5257f96261aa0ceaf9e79b6965702fe7",
        "3132333435363738393a3b3c3d3e3f404142434445464748255e50fde2d8988a95eac9159ec0274478924b411391331e2daadb94fbb044622c",
    ),
    (
        "messages",
        "0001",
        "7365636f6e64207265636f7264",
        "ec95798a26800d5ee9ede5a1edc4e5b6f2d1681e5e524d4de25924e297ba72b8",
        "494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f60f35e5581ba2bef91be003e2707ac5b2983e40fcd5cbefbc81f61ec170eeebe0084159ade1a1b821e550e04a5",
    ),
];

pub(crate) fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).unwrap())
        .collect()
}

/// The recorded profile's derivation, decoded.
pub(crate) fn format_1_derivation() -> KeyDerivation {
    let bytes: [u8; KeyDerivation::ENCODED_LEN] = hex(FORMAT_1_KDF).try_into().unwrap();
    let derivation = KeyDerivation::decode(&bytes).unwrap();
    assert_eq!(
        derivation,
        KeyDerivation {
            params: Argon2Params::INITIAL,
            salt: Salt([5; 16]),
        }
    );
    derivation
}

/// Seals a record as format 1 did (exact size, no mark): the writer that
/// made [`FORMAT_1_RECORDS`], kept to build larger old profiles in tests.
pub(crate) fn seal_unpadded(
    key: &StorageKey,
    index: &RecordIndex,
    rng: &mut impl RngCore,
    table: &str,
    record_key: &[u8],
    value: &[u8],
) -> Vec<u8> {
    let hkdf = Hkdf::<Sha256>::new(None, key.as_bytes());
    let mut seal_key = [0u8; 32];
    hkdf.expand(b"sotto-idb-v1 seal", &mut seal_key).unwrap();
    let mut plaintext = vec![table.len() as u8];
    plaintext.extend_from_slice(table.as_bytes());
    plaintext.extend_from_slice(&(record_key.len() as u32).to_be_bytes());
    plaintext.extend_from_slice(record_key);
    plaintext.extend_from_slice(value);
    let mut nonce = [0u8; 24];
    rng.fill_bytes(&mut nonce);
    let sealed = XChaCha20Poly1305::new(&seal_key.into())
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &plaintext,
                aad: &index.0,
            },
        )
        .unwrap();
    [nonce.as_slice(), &sealed].concat()
}
