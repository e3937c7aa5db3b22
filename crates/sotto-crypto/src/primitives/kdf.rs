//! HKDF-SHA-256 and HMAC-SHA-256 with the protocol's labels.

use hkdf::Hkdf;
use hkdf::hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// Every label of the protocol, in one place (see docs/e2e-protocol.md).
pub(crate) mod label {
    /// Initial key agreement.
    pub(crate) const PQXDH: &[u8] = b"Sotto v1 PQXDH";
    /// Root-key step of the double ratchet.
    pub(crate) const ROOT: &[u8] = b"Sotto v1 root";
    /// Message key expansion into AEAD key and nonce.
    pub(crate) const MESSAGE: &[u8] = b"Sotto v1 message";
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

/// HMAC-SHA-256 of a one-byte message, for the symmetric chain step.
pub(crate) fn hmac(key: &[u8; 32], byte: u8) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    if let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) {
        mac.update(&[byte]);
        out.copy_from_slice(&mac.finalize().into_bytes());
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
        assert_ne!(*hmac(&[3; 32], 1), *hmac(&[3; 32], 2));
    }
}
