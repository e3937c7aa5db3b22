//! The security code two members of a group compare to check that each sees the
//! other's real signature key for this group.

use sha2::{Digest, Sha512};
use sotto_crypto::SecurityCode;

use crate::group::GROUP_ID_LEN;

/// Prefix of the hashed input (ASCII).
const LABEL_GROUP_SECURITY_CODE: &[u8] = b"Sotto v1 group security code";

/// `SHA-512(label || group id || smaller key || larger key)`, shown like a contact's
/// code (thirty digits, QR payload): the same whichever of the two members computes it,
/// and different in every group, so codes do not link a member across groups.
pub(crate) fn member_security_code(
    group_id: &[u8; GROUP_ID_LEN],
    own_key: &[u8],
    their_key: &[u8],
) -> SecurityCode {
    let (low, high) = if own_key <= their_key {
        (own_key, their_key)
    } else {
        (their_key, own_key)
    };
    let mut hash = Sha512::new();
    hash.update(LABEL_GROUP_SECURITY_CODE);
    hash.update(group_id);
    hash.update(low);
    hash.update(high);
    SecurityCode::from_digest(hash.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symmetric_and_bound_to_the_group() {
        let (a, b) = ([1; 32], [2; 32]);
        let code = member_security_code(&[7; GROUP_ID_LEN], &a, &b);
        assert_eq!(code, member_security_code(&[7; GROUP_ID_LEN], &b, &a));
        assert_ne!(code, member_security_code(&[8; GROUP_ID_LEN], &a, &b));
        assert_eq!(code.digits().len(), 35);
    }

    /// The vector of docs/e2e-protocol.md, section 15.9.
    #[test]
    fn recorded_vector() {
        let group_id: [u8; GROUP_ID_LEN] = core::array::from_fn(|i| i as u8);
        let code = member_security_code(&group_id, &[2; 32], &[1; 32]);
        assert_eq!(code.digits(), "15764 21891 84087 04683 96999 08214");
        assert_eq!(
            hex(&code.qr_payload()),
            "0113e5a727b45421173503bf49987e37257d5f8fcb5118e4c5c7891d37af76814e"
        );
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
