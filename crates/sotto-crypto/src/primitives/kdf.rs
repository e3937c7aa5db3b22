//! HKDF-SHA-256 and HMAC-SHA-256 with the protocol's labels.

use hkdf::Hkdf;
use hkdf::hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// Every label of the protocol, in one place (see docs/e2e-protocol.md).
pub(crate) mod label {
    /// Initial key agreement.
    pub(crate) const PQXDH: &[u8] = b"Sotto v1 PQXDH";
    /// Key that seals the joiner's identity key in a version-2 answer.
    pub(crate) const ANSWER_IDENTITY: &[u8] = b"Sotto v2 answer identity";
    /// Root-key step of the double ratchet.
    pub(crate) const ROOT: &[u8] = b"Sotto v1 root";
    /// Message key expansion into AEAD key and nonce for a version-1 body.
    pub(crate) const MESSAGE: &[u8] = b"Sotto v1 message";
    /// Message key expansion into AEAD key and nonce for a version-2 payload.
    pub(crate) const PAYLOAD: &[u8] = b"Sotto v2 payload";
    /// Security code.
    pub(crate) const SECURITY_CODE: &[u8] = b"Sotto v1 security code";
    /// Associated data of an encrypted pickle.
    pub(crate) const PICKLE_ASSOCIATED_DATA: &[u8] = b"Sotto v1 pickle";
}

/// HKDF-SHA-256 (extract with `salt`, expand with `info`) into an `N`-byte output.
pub(crate) fn hkdf<const N: usize>(salt: &[u8], ikm: &[u8], info: &[u8]) -> Zeroizing<[u8; N]> {
    let mut okm = Zeroizing::new([0u8; N]);
    // `expand` only fails for outputs over 255 * 32 bytes; every caller asks for at most 96.
    let expanded = Hkdf::<Sha256>::new(Some(salt), ikm).expand(info, okm.as_mut());
    debug_assert!(expanded.is_ok());
    okm
}

/// HMAC-SHA-256 of two one-byte messages under one key, for the symmetric chain step:
/// the key's inner and outer pads are hashed once and shared by both MACs.
pub(crate) fn hmac_pair(key: &[u8; 32], bytes: [u8; 2]) -> [Zeroizing<[u8; 32]>; 2] {
    let mut out = [Zeroizing::new([0u8; 32]), Zeroizing::new([0u8; 32])];
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    if let Ok(keyed) = Hmac::<Sha256>::new_from_slice(key) {
        for (out, byte) in out.iter_mut().zip(bytes) {
            let mut mac = keyed.clone();
            mac.update(&[byte]);
            out.copy_from_slice(&mac.finalize().into_bytes());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hkdf_matches_rfc5869_case_1() {
        let ikm = [0x0b; 22];
        let salt: Vec<u8> = (0u8..=0x0c).collect();
        let info: Vec<u8> = (0xf0u8..=0xf9).collect();
        let okm = hkdf::<42>(&salt, &ikm, &info);
        assert_eq!(okm[..8], [0x3c, 0xb2, 0x5f, 0x25, 0xfa, 0xac, 0xd5, 0x7a]);
    }

    #[test]
    fn chain_bytes_differ() {
        let [first, second] = hmac_pair(&[3; 32], [1, 2]);
        assert_ne!(*first, *second);
    }

    #[test]
    fn hmac_pair_equals_two_separate_hmacs() {
        let key = [0x0b; 32];
        let [first, second] = hmac_pair(&key, [0x01, 0x02]);
        for (byte, got) in [(0x01u8, first), (0x02, second)] {
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
            mac.update(&[byte]);
            assert_eq!(&got[..], &mac.finalize().into_bytes()[..]);
        }
    }
}
