//! Grant timestamps: RFC 3339 strings in claims, whole Unix seconds inside the gatekeeper.

use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Seconds since the Unix epoch. Grants are checked to the second; sub-second precision in a
/// timestamp is dropped (towards the past), which can only shorten a grant's life by under 1 s.
pub(crate) type UnixSeconds = i64;

/// Parses a PASETO time claim such as `2026-11-27T20:30:00Z` or `…+01:00`.
pub(crate) fn parse(s: &str) -> Option<UnixSeconds> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(OffsetDateTime::unix_timestamp)
}

/// Formats Unix seconds as RFC 3339 in UTC, the form grant claims carry.
///
/// ```
/// assert_eq!(s3_gatekeeper::grant::format_time(0).as_deref(), Some("1970-01-01T00:00:00Z"));
/// ```
pub fn format(t: i64) -> Option<String> {
    OffsetDateTime::from_unix_timestamp(t)
        .ok()?
        .format(&Rfc3339)
        .ok()
}

/// `now` in whole seconds; times before 1970 cannot occur on a running gatekeeper and read as 0.
pub(crate) fn unix_seconds(now: SystemTime) -> UnixSeconds {
    now.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_honours_offsets() {
        assert_eq!(parse("2026-11-27T20:30:00Z"), Some(1_795_811_400));
        assert_eq!(parse("2026-11-27T21:30:00+01:00"), Some(1_795_811_400));
        assert_eq!(
            format(1_795_811_400).as_deref(),
            Some("2026-11-27T20:30:00Z")
        );
        assert_eq!(parse("2026-11-27 20:30:00"), None);
        assert_eq!(parse("1795811400"), None);
    }
}
