//! The security code of a contact pair: the same on both sides, whichever side computes it.

use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;

use crate::identity::IdentityPublicKey;
use crate::primitives::kdf::label;

/// Number of digit groups shown.
pub const SECURITY_CODE_GROUPS: usize = 6;
/// Digits per group.
pub const SECURITY_CODE_GROUP_DIGITS: usize = 5;
/// Length of the QR payload: version byte and 32 bytes of the code's digest.
pub const SECURITY_CODE_QR_LEN: usize = 33;
/// Version byte that opens the QR payload.
const QR_VERSION: u8 = 1;

/// SHA-512("Sotto v1 security code" || smaller identity key || larger identity key).
#[derive(Clone, PartialEq, Eq)]
pub struct SecurityCode {
    digest: [u8; 64],
}

impl SecurityCode {
    /// Computes the code of two identity keys; the order of the arguments does not matter.
    pub fn new(a: &IdentityPublicKey, b: &IdentityPublicKey) -> Self {
        let (a, b) = (a.to_bytes(), b.to_bytes());
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        let mut hash = Sha512::new();
        hash.update(label::SECURITY_CODE);
        hash.update(low);
        hash.update(high);
        Self {
            digest: hash.finalize().into(),
        }
    }

    /// The code of a 64-byte digest computed elsewhere by a specified rule (e.g. the
    /// code of two members of an MLS group), so that it shows like a contact's code.
    pub fn from_digest(digest: [u8; 64]) -> Self {
        Self { digest }
    }

    /// Thirty digits in six groups of five, e.g. `"01234 56789 …"`: each group is a
    /// 5-byte big-endian chunk of the digest modulo 100000.
    pub fn digits(&self) -> String {
        let mut groups = Vec::with_capacity(SECURITY_CODE_GROUPS);
        for chunk in self.digest.chunks_exact(5).take(SECURITY_CODE_GROUPS) {
            let value = chunk
                .iter()
                .fold(0u64, |acc, &byte| (acc << 8) | u64::from(byte));
            groups.push(format!("{:05}", value % 100_000));
        }
        groups.join(" ")
    }

    /// The bytes to show as a QR code: `0x01 || digest[..32]`.
    pub fn qr_payload(&self) -> [u8; SECURITY_CODE_QR_LEN] {
        let mut payload = [0u8; SECURITY_CODE_QR_LEN];
        payload[0] = QR_VERSION;
        payload[1..].copy_from_slice(&self.digest[..32]);
        payload
    }

    /// Whether a scanned QR payload shows this same code (constant-time comparison).
    pub fn matches_qr_payload(&self, scanned: &[u8]) -> bool {
        scanned.len() == SECURITY_CODE_QR_LEN && bool::from(scanned.ct_eq(&self.qr_payload()))
    }
}

impl core::fmt::Debug for SecurityCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("SecurityCode").field(&self.digits()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> IdentityPublicKey {
        IdentityPublicKey::from_bytes(&[byte; 32])
    }

    #[test]
    fn order_independent() {
        assert_eq!(
            SecurityCode::new(&key(1), &key(2)),
            SecurityCode::new(&key(2), &key(1))
        );
        assert_ne!(
            SecurityCode::new(&key(1), &key(2)),
            SecurityCode::new(&key(1), &key(3))
        );
    }

    #[test]
    fn thirty_digits_in_six_groups() {
        let digits = SecurityCode::new(&key(1), &key(2)).digits();
        assert_eq!(digits.len(), 35);
        assert_eq!(digits.split(' ').count(), 6);
        assert!(digits.chars().all(|c| c == ' ' || c.is_ascii_digit()));
    }

    #[test]
    fn qr_payload_matches_only_itself() {
        let code = SecurityCode::new(&key(1), &key(2));
        let other = SecurityCode::new(&key(1), &key(3));
        assert!(code.matches_qr_payload(&SecurityCode::new(&key(2), &key(1)).qr_payload()));
        assert!(!code.matches_qr_payload(&other.qr_payload()));
        assert!(!code.matches_qr_payload(&code.qr_payload()[..32]));
    }
}
