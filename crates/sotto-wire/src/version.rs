//! Protocol versions and the version range negotiated in the handshake.

use crate::WireError;

/// A relay protocol version (never zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(u16);

impl Version {
    /// Version 1: Ed25519 command signatures, ChaCha20-Poly1305 blocks. No
    /// longer spoken; its clients get a VersionReject.
    pub const V1: Version = Version(1);

    /// Version 2: command authenticators, negotiated cipher suites.
    pub const V2: Version = Version(2);

    /// The version numbered `number`, or an error for zero.
    pub const fn new(number: u16) -> Result<Version, WireError> {
        if number == 0 {
            return Err(WireError::InvalidVersion);
        }
        Ok(Version(number))
    }

    /// The version number as sent on the wire.
    pub const fn number(self) -> u16 {
        self.0
    }
}

/// An inclusive range of protocol versions, `min <= max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VersionRange {
    min: Version,
    max: Version,
}

impl VersionRange {
    /// The versions this implementation speaks: `[2, 2]`.
    pub const SUPPORTED: VersionRange = VersionRange {
        min: Version::V2,
        max: Version::V2,
    };

    /// The range `[min, max]`; both must be non-zero and `min <= max`.
    pub const fn new(min: u16, max: u16) -> Result<VersionRange, WireError> {
        if min == 0 || min > max {
            return Err(WireError::InvalidVersion);
        }
        Ok(VersionRange {
            min: Version(min),
            max: Version(max),
        })
    }

    /// The lowest version in the range.
    pub const fn min(self) -> Version {
        self.min
    }

    /// The highest version in the range.
    pub const fn max(self) -> Version {
        self.max
    }

    /// Whether `version` lies in the range.
    pub fn contains(self, version: Version) -> bool {
        self.min <= version && version <= self.max
    }

    /// The version both sides use: the lower of the two maxima, provided it is at
    /// least both minima; `None` when the ranges do not overlap.
    pub fn negotiate(client: VersionRange, relay: VersionRange) -> Option<Version> {
        let version = client.max.min(relay.max);
        (version >= client.min && version >= relay.min).then_some(version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_and_inverted_ranges_are_refused() {
        assert_eq!(Version::new(0), Err(WireError::InvalidVersion));
        assert_eq!(VersionRange::new(0, 1), Err(WireError::InvalidVersion));
        assert_eq!(VersionRange::new(3, 2), Err(WireError::InvalidVersion));
        assert!(VersionRange::new(2, 2).is_ok());
    }

    #[test]
    fn negotiation_picks_the_lower_maximum() {
        let r = |a, b| VersionRange::new(a, b).unwrap();
        assert_eq!(
            VersionRange::negotiate(r(1, 3), r(2, 5)),
            Some(Version::new(3).unwrap())
        );
        assert_eq!(
            VersionRange::negotiate(r(2, 5), r(1, 3)),
            Some(Version::new(3).unwrap())
        );
        assert_eq!(VersionRange::negotiate(r(1, 1), r(1, 1)), Some(Version::V1));
    }

    #[test]
    fn disjoint_ranges_do_not_negotiate() {
        let r = |a, b| VersionRange::new(a, b).unwrap();
        assert_eq!(VersionRange::negotiate(r(1, 1), r(2, 3)), None);
        assert_eq!(VersionRange::negotiate(r(4, 9), r(1, 3)), None);
    }

    #[test]
    fn contains_is_inclusive() {
        let range = VersionRange::new(2, 4).unwrap();
        assert!(!range.contains(Version::V1));
        assert!(range.contains(Version::new(2).unwrap()));
        assert!(range.contains(Version::new(4).unwrap()));
        assert!(!range.contains(Version::new(5).unwrap()));
    }
}
