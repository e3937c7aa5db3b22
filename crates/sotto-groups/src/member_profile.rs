//! A member's profile in one group — the display name and picture it shows there —
//! carried in its own leaf node, so that it is signed by the member's per-group key,
//! reaches a joiner within the welcome's ratchet tree, and changes only by a commit or
//! update of the member itself.
//!
//! ```text
//! 0xF5A1 profile        = UTF-8 display name, 0..=128 bytes (in every leaf)
//! 0xF5A3 member picture = the picture's bytes, 1..=2048 (only in a leaf that has one)
//! ```

use openmls::prelude::{Extension, Extensions, LeafNode, UnknownExtension};

use crate::Error;
use crate::group_config::{MEMBER_PICTURE_EXTENSION_TYPE, PROFILE_EXTENSION_TYPE};
use crate::member::DisplayName;

/// Largest member picture, in bytes: every member holds every member's leaf, and a
/// welcome carries them all (2 MiB more at 1,000 members with a picture each).
pub const MAX_MEMBER_PICTURE_LEN: usize = 2048;

/// The name and picture a member shows in one group.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct MemberProfile {
    name: DisplayName,
    picture: Vec<u8>,
}

impl MemberProfile {
    /// A profile with this name and picture (a small image of at most
    /// [`MAX_MEMBER_PICTURE_LEN`] bytes; empty for none).
    pub fn new(name: DisplayName, picture: Vec<u8>) -> Result<Self, Error> {
        if picture.len() > MAX_MEMBER_PICTURE_LEN {
            return Err(Error::TooLong {
                what: "member picture",
                len: picture.len(),
                max: MAX_MEMBER_PICTURE_LEN,
            });
        }
        Ok(Self { name, picture })
    }

    /// A profile with this name and no picture.
    pub fn named(name: DisplayName) -> Self {
        Self {
            name,
            picture: Vec::new(),
        }
    }

    /// A profile whose picture may be too large, so that tests can show that every
    /// member refuses it. Never for production use.
    #[cfg(feature = "dangerous-testing")]
    pub fn dangerous_unchecked(name: DisplayName, picture: Vec<u8>) -> Self {
        Self { name, picture }
    }

    /// The display name.
    pub fn name(&self) -> &DisplayName {
        &self.name
    }

    /// The picture (empty for none).
    pub fn picture(&self) -> &[u8] {
        &self.picture
    }

    /// The leaf node extensions carrying this profile: the name always, the picture
    /// when there is one.
    pub(crate) fn leaf_extensions(&self) -> Result<Extensions<LeafNode>, Error> {
        let mut extensions = vec![Extension::Unknown(
            PROFILE_EXTENSION_TYPE,
            UnknownExtension(self.name.as_str().as_bytes().to_vec()),
        )];
        if !self.picture.is_empty() {
            extensions.push(Extension::Unknown(
                MEMBER_PICTURE_EXTENSION_TYPE,
                UnknownExtension(self.picture.clone()),
            ));
        }
        Extensions::from_vec(extensions).map_err(|_| Error::Local("profile extensions"))
    }

    /// The profile a leaf node carries: a valid name, and a picture within its bound
    /// (absent or empty: none).
    pub(crate) fn of_leaf(leaf: &LeafNode) -> Result<Self, Error> {
        let name = DisplayName::of_leaf(leaf)?;
        let picture = match leaf.extensions().unknown(MEMBER_PICTURE_EXTENSION_TYPE) {
            Some(data) if data.0.len() > MAX_MEMBER_PICTURE_LEN => {
                return Err(Error::InvalidProfile);
            }
            Some(data) => data.0.clone(),
            None => Vec::new(),
        };
        Ok(Self { name, picture })
    }
}

impl std::fmt::Debug for MemberProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemberProfile")
            .field("name", &self.name)
            .field("picture_len", &self.picture.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_are_bounded() {
        let name = DisplayName::new("Zoë").unwrap();
        assert!(MemberProfile::new(name.clone(), vec![1; MAX_MEMBER_PICTURE_LEN]).is_ok());
        assert_eq!(
            MemberProfile::new(name, vec![1; MAX_MEMBER_PICTURE_LEN + 1]),
            Err(Error::TooLong {
                what: "member picture",
                len: MAX_MEMBER_PICTURE_LEN + 1,
                max: MAX_MEMBER_PICTURE_LEN,
            })
        );
    }

    #[test]
    fn no_picture_writes_no_extension() {
        let profile = MemberProfile::named(DisplayName::new("Bob").unwrap());
        assert_eq!(profile.leaf_extensions().unwrap().iter().count(), 1);
        let pictured = MemberProfile::new(DisplayName::new("Bob").unwrap(), vec![7; 3]).unwrap();
        assert_eq!(pictured.leaf_extensions().unwrap().iter().count(), 2);
    }
}
