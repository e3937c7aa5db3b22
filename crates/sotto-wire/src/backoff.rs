//! When to try a relay again after connections to it failed in a row.
//!
//! Shared by every driver of a [`crate::ClientConnection`], so that the
//! command-line client and the browser come back to a relay alike: the wait
//! starts at [`ReconnectBackoff::FIRST`], doubles with each failure in a row
//! up to [`ReconnectBackoff::MAX`], and is drawn between half of it and all of
//! it, so that clients that lost the same relay do not all return at once.

use std::time::Duration;

/// Failures in a row to reach one relay, and the wait they call for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReconnectBackoff {
    failures: u32,
}

impl ReconnectBackoff {
    /// The wait after the first failure (before jitter).
    pub const FIRST: Duration = Duration::from_millis(500);
    /// The longest wait (before jitter). Short, so that a relay that comes
    /// back (a restart, an outage) has its clients back within seconds; a
    /// failed attempt costs a refused or unanswered connection, and the
    /// jitter spreads the clients' returns over the upper half of the wait.
    pub const MAX: Duration = Duration::from_secs(4);

    /// Counts a failure; returns how long to wait before the next attempt.
    /// `random` is any 32 random bits from the driver's generator (jitter).
    pub fn failed(&mut self, random: u32) -> Duration {
        let base = Self::FIRST
            .saturating_mul(1 << self.failures.min(16))
            .min(Self::MAX);
        self.failures = self.failures.saturating_add(1);
        let half = base / 2;
        // Millisecond jitter within the upper half of the wait.
        let span = u32::try_from(half.as_millis()).unwrap_or(u32::MAX).max(1);
        half + Duration::from_millis(u64::from(random % span))
    }

    /// A connection succeeded: the next failure starts over.
    pub fn succeeded(&mut self) {
        self.failures = 0;
    }

    /// Failures in a row so far.
    pub const fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_maximum_with_jitter_in_the_upper_half() {
        let mut backoff = ReconnectBackoff::default();
        let mut previous_base = Duration::ZERO;
        for _ in 0..20 {
            let low = backoff.failed(0);
            backoff.failures -= 1;
            let high = backoff.failed(u32::MAX - 1);
            let base = low * 2;
            assert!(base >= previous_base);
            assert!(base <= ReconnectBackoff::MAX);
            assert!(high >= low && high <= base, "{low:?} {high:?}");
            previous_base = base;
        }
        assert_eq!(previous_base, ReconnectBackoff::MAX);
        backoff.succeeded();
        assert_eq!(backoff.failures(), 0);
        assert_eq!(backoff.failed(0), ReconnectBackoff::FIRST / 2);
    }
}
