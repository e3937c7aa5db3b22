//! Time as the core sees it: milliseconds since the Unix epoch, passed in by the
//! caller, never read from a clock.

use std::time::Duration;

/// A point in time: milliseconds since 1970-01-01 UTC.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct UnixMillis(pub u64);

impl UnixMillis {
    /// A time that never comes ("always", for a mute).
    pub const FOREVER: UnixMillis = UnixMillis(u64::MAX);

    /// The instant `duration` later (saturating).
    pub fn after(self, duration: Duration) -> UnixMillis {
        let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        UnixMillis(self.0.saturating_add(millis))
    }

    /// Time from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: UnixMillis) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(
            UnixMillis(u64::MAX - 1).after(Duration::from_secs(1)),
            UnixMillis(u64::MAX)
        );
        assert_eq!(UnixMillis(5).since(UnixMillis(9)), Duration::ZERO);
        assert_eq!(
            UnixMillis(1000).after(Duration::from_millis(500)),
            UnixMillis(1500)
        );
    }
}
