//! The health record of a source: what `earful sources` and `/api/v1/sources` show, persisted
//! in the state database after every poll.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// How a source is doing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    /// Not polled yet.
    #[default]
    New,
    /// The last poll worked.
    Ok,
    /// The last polls failed; retrying with backoff.
    BackingOff,
    /// Failed many times in a row: retried at the long interval until it works again.
    Failing,
}

impl HealthState {
    /// The state's name in tables.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthState::New => "new",
            HealthState::Ok => "ok",
            HealthState::BackingOff => "backing_off",
            HealthState::Failing => "failing",
        }
    }
}

/// The last failure of a source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastError {
    /// `dns`, `tls`, `connect`, `timeout`, `rate_limited`, `client`, `server`, `body`,
    /// `parse`, `remote` or `settings`.
    pub class: String,
    /// The error, in words (never a credential).
    pub message: String,
    /// When it happened.
    #[serde(with = "earful_core::time::rfc3339")]
    pub at: OffsetDateTime,
}

/// One source's health.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SourceHealth {
    /// The summary.
    pub state: HealthState,
    /// When the last poll started.
    #[serde(
        with = "earful_core::time::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_attempt: Option<OffsetDateTime>,
    /// When a poll last worked.
    #[serde(
        with = "earful_core::time::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_success: Option<OffsetDateTime>,
    /// The last failure (kept after a later success, for the record).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<LastError>,
    /// Failed polls since the last success.
    pub consecutive_failures: u32,
    /// When the next poll is due.
    #[serde(
        with = "earful_core::time::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub next_attempt: Option<OffsetDateTime>,
    /// Polls, ever.
    pub polls: u64,
    /// Failed polls, ever.
    pub failures: u64,
    /// HTTP requests, ever.
    pub requests: u64,
    /// Mentions handed on, ever.
    pub items: u64,
    /// Items skipped as malformed, ever.
    pub skipped: u64,
    /// Responses that were 304 or an unchanged ETag, ever.
    pub not_modified: u64,
    /// Why the last poll's skipped items were skipped (at most a few).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recent_skips: Vec<String>,
}

/// How many skip reasons a health record keeps.
pub const RECENT_SKIPS: usize = 5;
