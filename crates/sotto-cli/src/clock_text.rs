//! Times as the terminal shows them, in the user's local time zone: the time
//! of day for today, the date too for older items.

use chrono::{DateTime, Datelike, Local, TimeZone};
use sotto_core::UnixMillis;

/// `10:56` today, `Dec 01 10:56` earlier this year, `2025-12-01 10:56` before.
pub(crate) fn stamp(at: UnixMillis, now: UnixMillis) -> String {
    let (Some(at), Some(now)) = (local(at), local(now)) else {
        return "--:--".to_owned();
    };
    if at.date_naive() == now.date_naive() {
        at.format("%H:%M").to_string()
    } else if at.year() == now.year() {
        at.format("%b %d %H:%M").to_string()
    } else {
        at.format("%Y-%m-%d %H:%M").to_string()
    }
}

fn local(at: UnixMillis) -> Option<DateTime<Local>> {
    let millis = i64::try_from(at.0).ok()?;
    Local.timestamp_millis_opt(millis).single()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_shows_the_time_and_older_items_the_date() {
        let now = UnixMillis(1_765_018_800_000);
        assert_eq!(stamp(now, now).len(), 5);
        let last_year = UnixMillis(now.0 - 400 * 86_400_000);
        assert_eq!(stamp(last_year, now).len(), 16);
        assert_eq!(stamp(UnixMillis(u64::MAX), now), "--:--");
    }
}
