//! A user's profile as contacts see it: a display name and an optional short
//! bio, sent only end to end.
//!
//! ```text
//! profile = name_len u16 (1..=64) || name (UTF-8) || has_bio u8 || [bio_len u16 (..=280) || bio]
//! ```

use crate::CoreError;
use crate::codec::{Reader, Writer};

/// Longest display name, in bytes of UTF-8.
pub const MAX_DISPLAY_NAME_LEN: usize = 64;
/// Longest bio, in bytes of UTF-8.
pub const MAX_BIO_LEN: usize = 280;

/// A display name and optional bio.
#[derive(Clone, PartialEq, Eq)]
pub struct Profile {
    display_name: String,
    bio: Option<String>,
}

impl Profile {
    /// A profile; the name must be 1 to [`MAX_DISPLAY_NAME_LEN`] bytes (after
    /// trimming), the bio at most [`MAX_BIO_LEN`].
    pub fn new(display_name: &str, bio: Option<&str>) -> Result<Profile, CoreError> {
        let display_name = display_name.trim();
        if display_name.is_empty() {
            return Err(CoreError::InvalidValue("empty display name"));
        }
        if display_name.len() > MAX_DISPLAY_NAME_LEN {
            return Err(CoreError::TooLong {
                what: "display name",
                max: MAX_DISPLAY_NAME_LEN,
            });
        }
        let bio = bio.map(str::trim).filter(|bio| !bio.is_empty());
        if bio.is_some_and(|bio| bio.len() > MAX_BIO_LEN) {
            return Err(CoreError::TooLong {
                what: "bio",
                max: MAX_BIO_LEN,
            });
        }
        Ok(Profile {
            display_name: display_name.to_owned(),
            bio: bio.map(str::to_owned),
        })
    }

    /// The display name.
    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    /// The bio, if any.
    pub fn bio(&self) -> Option<&str> {
        self.bio.as_deref()
    }

    pub(crate) fn encode(&self, writer: &mut Writer) {
        writer.bytes16(self.display_name.as_bytes());
        writer.option(self.bio.as_ref(), |w, bio| {
            w.bytes16(bio.as_bytes());
        });
    }

    /// Decodes a profile; names and bios must be as [`Profile::new`] leaves
    /// them (trimmed, a bio not empty), so every profile has one encoding.
    pub(crate) fn decode(reader: &mut Reader<'_>) -> Result<Profile, CoreError> {
        let name = reader.text(MAX_DISPLAY_NAME_LEN)?;
        let bio = reader.option(|r| r.text(MAX_BIO_LEN))?;
        let profile =
            Profile::new(&name, bio.as_deref()).map_err(|_| CoreError::Malformed("profile"))?;
        if profile.display_name != name || profile.bio != bio {
            return Err(CoreError::Malformed("profile"));
        }
        Ok(profile)
    }
}

impl std::fmt::Debug for Profile {
    // Names are user data: keep them out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_round_trip() {
        assert!(Profile::new(" ", None).is_err());
        assert!(Profile::new(&"a".repeat(65), None).is_err());
        assert!(Profile::new("a", Some(&"b".repeat(281))).is_err());
        let profile = Profile::new(" Alice ", Some("hi")).unwrap();
        assert_eq!(profile.display_name(), "Alice");
        let mut writer = Writer::new();
        profile.encode(&mut writer);
        let bytes = writer.finish();
        assert_eq!(
            Profile::decode(&mut Reader::new(&bytes, "p")).unwrap(),
            profile
        );
        assert!(!format!("{profile:?}").contains("Alice"));
    }
}
