//! Time: RFC 3339 in, UTC out; durations such as `5m`; search bounds such as `24h` or a date.

use std::time::Duration;

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// Why a time or duration could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TimeError {
    /// Not an RFC 3339 timestamp.
    #[error("`{0}` is not an RFC 3339 timestamp (like 2026-11-22T10:15:00Z)")]
    BadTimestamp(String),
    /// Not a duration.
    #[error("`{0}` is not a duration (like 30s, 5m, 2h, 7d or 1w)")]
    BadDuration(String),
    /// Not a timestamp, date or relative time.
    #[error("`{0}` is not a time: use RFC 3339, a date (2026-11-22), `now` or an age (24h, 7d)")]
    BadBound(String),
}

/// Parses an RFC 3339 timestamp and converts it to UTC, to the second's nanosecond.
pub fn parse_timestamp(raw: &str) -> Result<OffsetDateTime, TimeError> {
    OffsetDateTime::parse(raw.trim(), &Rfc3339)
        .map(|timestamp| timestamp.to_offset(UtcOffset::UTC))
        .map_err(|_| TimeError::BadTimestamp(raw.to_string()))
}

/// Formats a time as RFC 3339 in UTC (`2026-11-22T10:15:00Z`).
pub fn format_timestamp(timestamp: OffsetDateTime) -> String {
    timestamp
        .to_offset(UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| timestamp.unix_timestamp().to_string())
}

/// Parses a duration written as a number and a unit: `250ms`, `30s`, `5m`, `2h`, `7d`, `1w`.
pub fn parse_duration(raw: &str) -> Result<Duration, TimeError> {
    let bad = || TimeError::BadDuration(raw.to_string());
    let trimmed = raw.trim();
    let split_at = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(bad)?;
    let (digits, unit) = trimmed.split_at(split_at);
    let amount: u64 = digits.parse().map_err(|_| bad())?;
    let unit_seconds = match unit {
        "ms" => return Ok(Duration::from_millis(amount)),
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(bad()),
    };
    amount
        .checked_mul(unit_seconds)
        .map(Duration::from_secs)
        .ok_or_else(bad)
}

/// Parses a search bound: an RFC 3339 timestamp, a date (midnight UTC), a date and time
/// without an offset (UTC), `now`, or an age such as `24h` or `7d` meaning that long before
/// `now`.
pub fn parse_time_bound(raw: &str, now: OffsetDateTime) -> Result<OffsetDateTime, TimeError> {
    let trimmed = raw.trim();
    if trimmed.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    if let Ok(timestamp) = parse_timestamp(trimmed) {
        return Ok(timestamp);
    }
    if let Ok(date) = Date::parse(trimmed, format_description!("[year]-[month]-[day]")) {
        return Ok(date.midnight().assume_utc());
    }
    let without_offset = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    if let Ok(local) = PrimitiveDateTime::parse(trimmed, without_offset) {
        return Ok(local.assume_utc());
    }
    if let Ok(age) = parse_duration(trimmed) {
        let age = time::Duration::try_from(age).map_err(|_| TimeError::BadBound(raw.into()))?;
        return now
            .checked_sub(age)
            .ok_or_else(|| TimeError::BadBound(raw.to_string()));
    }
    Err(TimeError::BadBound(raw.to_string()))
}

/// Serde helpers for RFC 3339 timestamps that always serialize in UTC.
pub mod rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;

    /// Serializes as RFC 3339 UTC.
    pub fn serialize<S: Serializer>(
        value: &OffsetDateTime,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::format_timestamp(*value))
    }

    /// Deserializes RFC 3339 with any offset, converting to UTC.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<OffsetDateTime, D::Error> {
        let raw = String::deserialize(deserializer)?;
        super::parse_timestamp(&raw).map_err(serde::de::Error::custom)
    }

    /// The same for optional timestamps.
    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};
        use time::OffsetDateTime;

        /// Serializes as RFC 3339 UTC, or null.
        pub fn serialize<S: Serializer>(
            value: &Option<OffsetDateTime>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match value {
                Some(timestamp) => {
                    serializer.serialize_str(&super::super::format_timestamp(*timestamp))
                }
                None => serializer.serialize_none(),
            }
        }

        /// Deserializes RFC 3339 with any offset, converting to UTC.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<OffsetDateTime>, D::Error> {
            let raw: Option<String> = Option::deserialize(deserializer)?;
            raw.map(|raw| super::super::parse_timestamp(&raw).map_err(serde::de::Error::custom))
                .transpose()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    #[test]
    fn timestamps_come_out_in_utc() {
        let parsed = parse_timestamp("2026-11-22T12:15:00+02:00").unwrap();
        assert_eq!(parsed, datetime!(2026-11-22 10:15:00 UTC));
        assert_eq!(format_timestamp(parsed), "2026-11-22T10:15:00Z");
        assert!(parse_timestamp("22/11/2026").is_err());
        assert!(parse_timestamp("2026-11-22").is_err());
    }

    #[test]
    fn durations_have_units() {
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("99999999999999999999w").is_err());
    }

    #[test]
    fn bounds_accept_dates_ages_and_timestamps() {
        let now = datetime!(2026-12-03 12:00:00 UTC);
        assert_eq!(
            parse_time_bound("24h", now),
            Ok(datetime!(2026-12-02 12:00:00 UTC))
        );
        assert_eq!(
            parse_time_bound("2026-11-22", now),
            Ok(datetime!(2026-11-22 0:00 UTC))
        );
        assert_eq!(parse_time_bound("now", now), Ok(now));
        assert_eq!(
            parse_time_bound("2026-11-22T10:15:00", now),
            Ok(datetime!(2026-11-22 10:15:00 UTC))
        );
        assert!(matches!(
            parse_time_bound("yesterday", now),
            Err(TimeError::BadBound(_))
        ));
    }

    proptest! {
        #[test]
        fn timestamps_round_trip(seconds in -62_135_596_800i64..253_402_300_799i64) {
            let timestamp = OffsetDateTime::from_unix_timestamp(seconds).unwrap();
            prop_assert_eq!(parse_timestamp(&format_timestamp(timestamp)), Ok(timestamp));
        }

        #[test]
        fn parsers_never_panic(raw in "\\PC{0,40}") {
            let _ = parse_timestamp(&raw);
            let _ = parse_duration(&raw);
            let _ = parse_time_bound(&raw, OffsetDateTime::UNIX_EPOCH);
        }
    }
}
