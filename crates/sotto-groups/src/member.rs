//! A member's per-group pseudonym: a random member id in a basic credential, a fresh
//! Ed25519 signature key, and the display name the member chose for this group.
//!
//! Nothing here is derived from the user's long-term identity, so two groups cannot link
//! one member and a group learns nothing of the member's contacts.

use std::fmt;

use ed25519_dalek::{Signer as _, SigningKey};
use openmls::prelude::{BasicCredential, Credential, CredentialWithKey, LeafNode};
use openmls_traits::signatures::{Signer, SignerError};
use openmls_traits::types::SignatureScheme;
use zeroize::Zeroizing;

use crate::Error;
use crate::group_config::PROFILE_EXTENSION_TYPE;

/// Length of a member id.
pub const MEMBER_ID_LEN: usize = 16;
/// Length of the Ed25519 secret key (seed) kept in pickles.
pub(crate) const SIGNING_SEED_LEN: usize = 32;
/// Longest display name, in bytes of UTF-8.
pub const MAX_DISPLAY_NAME_LEN: usize = 128;

/// A member's random id in one group: the identity of its basic credential.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MemberId([u8; MEMBER_ID_LEN]);

impl MemberId {
    /// The member id of these bytes.
    pub fn from_bytes(bytes: [u8; MEMBER_ID_LEN]) -> Self {
        Self(bytes)
    }

    /// The member id of a slice of exactly [`MEMBER_ID_LEN`] bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    /// The id's bytes.
    pub fn as_bytes(&self) -> &[u8; MEMBER_ID_LEN] {
        &self.0
    }

    /// The member id a credential holds, if it is a basic credential of the right length.
    pub(crate) fn of_credential(credential: &Credential) -> Result<Self, Error> {
        let basic =
            BasicCredential::try_from(credential.clone()).map_err(|_| Error::InvalidCredential)?;
        Self::from_slice(basic.identity()).ok_or(Error::InvalidCredential)
    }

    /// The basic credential holding this id.
    pub(crate) fn credential(&self) -> Credential {
        BasicCredential::new(self.0.to_vec()).into()
    }
}

impl fmt::Debug for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Ids are pseudonymous, but a short prefix is enough to tell members apart in tests.
        write!(f, "MemberId({:02x}{:02x}…)", self.0[0], self.0[1])
    }
}

/// The display name a member shows in one group, carried in its leaf node.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct DisplayName(String);

impl DisplayName {
    /// A display name of at most [`MAX_DISPLAY_NAME_LEN`] bytes.
    pub fn new(name: &str) -> Result<Self, Error> {
        if name.len() > MAX_DISPLAY_NAME_LEN {
            return Err(Error::DisplayNameTooLong);
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The display name in a leaf node's profile extension.
    pub(crate) fn of_leaf(leaf: &LeafNode) -> Result<Self, Error> {
        let data = leaf
            .extensions()
            .unknown(PROFILE_EXTENSION_TYPE)
            .ok_or(Error::InvalidProfile)?;
        if data.0.len() > MAX_DISPLAY_NAME_LEN {
            return Err(Error::InvalidProfile);
        }
        let name = std::str::from_utf8(&data.0).map_err(|_| Error::InvalidProfile)?;
        Ok(Self(name.to_owned()))
    }
}

impl fmt::Debug for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DisplayName").field(&self.0).finish()
    }
}

/// The member's Ed25519 signature key for one group (zeroized on drop by ed25519-dalek).
pub(crate) struct MemberSigner {
    key: SigningKey,
}

impl MemberSigner {
    /// The signer of a 32-byte seed (from the provider's randomness or a pickle).
    pub(crate) fn from_seed(seed: &[u8; SIGNING_SEED_LEN]) -> Self {
        Self {
            key: SigningKey::from_bytes(seed),
        }
    }

    /// The seed, for pickles.
    pub(crate) fn seed(&self) -> Zeroizing<[u8; SIGNING_SEED_LEN]> {
        Zeroizing::new(self.key.to_bytes())
    }

    /// The public key as OpenMLS encodes it.
    pub(crate) fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The credential and key this member shows in the group.
    pub(crate) fn credential_with_key(&self, id: &MemberId) -> CredentialWithKey {
        CredentialWithKey {
            credential: id.credential(),
            signature_key: self.public_key().to_vec().into(),
        }
    }
}

impl Signer for MemberSigner {
    fn sign(&self, payload: &[u8]) -> Result<Vec<u8>, SignerError> {
        Ok(self.key.sign(payload).to_bytes().to_vec())
    }

    fn signature_scheme(&self) -> SignatureScheme {
        SignatureScheme::ED25519
    }
}

impl fmt::Debug for MemberSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MemberSigner(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_round_trip() {
        let id = MemberId::from_bytes([7; MEMBER_ID_LEN]);
        assert_eq!(MemberId::of_credential(&id.credential()), Ok(id));
        let wrong_len = BasicCredential::new(vec![7; 15]).into();
        assert_eq!(
            MemberId::of_credential(&wrong_len),
            Err(Error::InvalidCredential)
        );
    }

    #[test]
    fn display_name_bounded() {
        assert!(DisplayName::new(&"é".repeat(64)).is_ok());
        assert_eq!(
            DisplayName::new(&"a".repeat(129)),
            Err(Error::DisplayNameTooLong)
        );
    }

    #[test]
    fn debug_prints_no_secret() {
        let signer = MemberSigner::from_seed(&[9; SIGNING_SEED_LEN]);
        assert_eq!(format!("{signer:?}"), "MemberSigner(…)");
    }
}
