//! The group's own profile — its name, description and picture — in a group context
//! extension: every member reads the same one, a joiner gets it with the welcome, and
//! only owners and admins change it (a commit proposing the group context extensions;
//! `commit_policy` refuses it from anyone else).
//!
//! ```text
//! group profile = 0x01 || name (len u32 || UTF-8, 1..=64 bytes, not only white space)
//!                 || description (len u32 || UTF-8, 0..=512 bytes)
//!                 || picture (len u32 || 0..=8192 bytes: a small image, as its maker chose)
//! ```

use crate::Error;
use crate::codec::{Reader, Writer};

/// The group context extension holding the group's profile (private-use range of
/// RFC 9420, 17.3).
pub const GROUP_PROFILE_EXTENSION_TYPE: u16 = 0xF5A2;
/// Longest group name, in bytes.
pub const MAX_GROUP_NAME_LEN: usize = 64;
/// Longest group description, in bytes.
pub const MAX_GROUP_DESCRIPTION_LEN: usize = 512;
/// Largest group picture, in bytes (a thumbnail: it travels in every commit that
/// changes the group context and in every welcome).
pub const MAX_GROUP_PICTURE_LEN: usize = 8192;

const VERSION: u8 = 0x01;

/// A group's name, description and picture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupProfile {
    name: String,
    description: String,
    picture: Vec<u8>,
}

impl GroupProfile {
    /// A profile, if each part is within its bounds: a name of 1 to 64 bytes that is
    /// not only white space and has no control characters, a description of at most
    /// 512 bytes, a picture of at most 8192 bytes (empty for none).
    pub fn new(name: &str, description: &str, picture: Vec<u8>) -> Result<Self, Error> {
        let controls = |text: &str, keep_newlines: bool| {
            text.chars()
                .any(|c| c.is_control() && !(keep_newlines && c == '\n'))
        };
        if name.trim().is_empty() || controls(name, false) {
            return Err(Error::Malformed("group name"));
        }
        for (what, len, max) in [
            ("group name", name.len(), MAX_GROUP_NAME_LEN),
            (
                "group description",
                description.len(),
                MAX_GROUP_DESCRIPTION_LEN,
            ),
            ("group picture", picture.len(), MAX_GROUP_PICTURE_LEN),
        ] {
            if len > max {
                return Err(Error::TooLong { what, len, max });
            }
        }
        if controls(description, true) {
            return Err(Error::Malformed("group description"));
        }
        Ok(Self {
            name: name.to_owned(),
            description: description.to_owned(),
            picture,
        })
    }

    /// The group's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The group's description (empty for none).
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The group's picture (empty for none).
    pub fn picture(&self) -> &[u8] {
        &self.picture
    }

    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = Writer::new();
        out.u8(VERSION);
        out.bytes(self.name.as_bytes());
        out.bytes(self.description.as_bytes());
        out.bytes(&self.picture);
        out.into_bytes()
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut input = Reader::new(bytes, "group profile");
        if input.u8()? != VERSION {
            return Err(input.malformed());
        }
        let text = |bytes: &[u8]| std::str::from_utf8(bytes).map(str::to_owned);
        let name = text(input.bytes()?).map_err(|_| input.malformed())?;
        let description = text(input.bytes()?).map_err(|_| input.malformed())?;
        let picture = input.bytes()?.to_vec();
        input.finish()?;
        Self::new(&name, &description, picture).map_err(|_| Error::Malformed("group profile"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_round_trips_and_bounds_hold() {
        let profile =
            GroupProfile::new("Climbing", "Saturdays\nat the wall", vec![7; 100]).unwrap();
        assert_eq!(
            GroupProfile::from_bytes(&profile.to_bytes()).unwrap(),
            profile
        );
        assert!(GroupProfile::new(" ", "", Vec::new()).is_err());
        assert!(GroupProfile::new("a\u{7}b", "", Vec::new()).is_err());
        assert!(GroupProfile::new(&"x".repeat(65), "", Vec::new()).is_err());
        assert!(GroupProfile::new("x", &"d".repeat(513), Vec::new()).is_err());
        assert!(GroupProfile::new("x", "", vec![0; MAX_GROUP_PICTURE_LEN + 1]).is_err());
        let bytes = profile.to_bytes();
        for cut in 0..bytes.len() {
            assert!(GroupProfile::from_bytes(&bytes[..cut]).is_err());
        }
    }

    proptest::proptest! {
        #[test]
        fn hostile_profiles_are_errors_not_panics(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..128),
        ) {
            let _ = GroupProfile::from_bytes(&bytes);
        }
    }
}
