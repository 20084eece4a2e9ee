//! The alert JSON form: what `earful alerts --format json`, the API, the webhook body and the
//! Atom entries carry. Version 1; `tests/fixtures/alert-v1.json` must always load.
//!
//! ```json
//! {
//!   "version": 1,
//!   "id": "al_3f1c0e2b9d8a7c61",
//!   "watch": "acme",
//!   "kind": "negative_spike",
//!   "state": "firing",
//!   "episode_start": "2026-11-22T10:15:00Z",
//!   "created_at": "…", "updated_at": "…", "fired_at": "…", "resolved_at": null,
//!   "acknowledged": {"by": "ana", "at": "…"},
//!   "evidence": {
//!     "bucket_seconds": 300,
//!     "window": {"start": "…", "end": "…"},
//!     "baseline": {"start": "…", "end": "…"},
//!     "observed": 42, "expected": 3.1, "score": 9.4,
//!     "peak": {"bucket_start": "…", "observed": 30, "expected": 1.2, "score": 9.4},
//!     "total": 51,
//!     "negative_share": {"window": 0.82, "baseline": 0.14},
//!     "rising_terms": [{"term": "outage", "window_count": 31, "baseline_count": 2, "score": 4.1}],
//!     "top_sources": [{"source": "hackernews", "count": 30}],
//!     "top_mentions": [{"id": "…", "url": "…", "author": "…", "author_reach": 1520,
//!                       "published_at": "…", "text": "…", "compound": -0.62,
//!                       "because": [{"token": "outage", "valence": -2.5}]}]
//!   }
//! }
//! ```

use earful_store::{AlertRecord, AlertState};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The version of the alert JSON form this build writes.
pub const ALERT_FORMAT_VERSION: u32 = 1;

/// An alert in its JSON form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Format version ([`ALERT_FORMAT_VERSION`]).
    pub version: u32,
    /// Stable id: the same episode always has the same id ([`crate::alert_id`]).
    pub id: String,
    /// The watch.
    pub watch: String,
    /// `negative_spike`, `volume_spike` or `praise_surge`.
    pub kind: String,
    /// `pending`, `firing` or `resolved`.
    pub state: AlertState,
    /// Start of the first alarming bucket.
    #[serde(with = "earful_core::time::rfc3339")]
    pub episode_start: OffsetDateTime,
    /// When the alert was first recorded.
    #[serde(with = "earful_core::time::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it last changed.
    #[serde(with = "earful_core::time::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// When it started firing.
    #[serde(default, with = "earful_core::time::rfc3339::option")]
    pub fired_at: Option<OffsetDateTime>,
    /// When it resolved.
    #[serde(default, with = "earful_core::time::rfc3339::option")]
    pub resolved_at: Option<OffsetDateTime>,
    /// Who acknowledged it, and when.
    #[serde(default)]
    pub acknowledged: Option<Acknowledgement>,
    /// Why it fired.
    pub evidence: Evidence,
}

/// An acknowledgement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgement {
    /// Who.
    pub by: String,
    /// When.
    #[serde(with = "earful_core::time::rfc3339")]
    pub at: OffsetDateTime,
}

/// A time range, `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    /// Inclusive start.
    #[serde(with = "earful_core::time::rfc3339")]
    pub start: OffsetDateTime,
    /// Exclusive end.
    #[serde(with = "earful_core::time::rfc3339")]
    pub end: OffsetDateTime,
}

/// What the detector saw in one bucket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BucketReading {
    /// The bucket.
    #[serde(with = "earful_core::time::rfc3339")]
    pub bucket_start: OffsetDateTime,
    /// Its count.
    pub observed: f64,
    /// What the baseline expected.
    pub expected: f64,
    /// How unusual (the detector's `z`).
    pub score: f64,
}

/// The evidence of an alert: enough for a brand manager to judge it without opening Earful.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The bucket width.
    pub bucket_seconds: u64,
    /// The episode so far: from its first alarming bucket to the end of its latest bucket.
    pub window: TimeRange,
    /// What the window is compared with: the days before it.
    pub baseline: TimeRange,
    /// Mentions of the alert's kind counted in the window (negative ones for a negative spike).
    pub observed: u64,
    /// What the detector expected over the same buckets.
    pub expected: f64,
    /// The highest bucket score of the episode.
    pub score: f64,
    /// The highest-scoring bucket.
    pub peak: BucketReading,
    /// All mentions of the watch in the window.
    pub total: u64,
    /// The share of negative mentions, in the window and in the baseline.
    pub negative_share: ShareChange,
    /// The words that rose most in the window against the baseline.
    pub rising_terms: Vec<RisingTerm>,
    /// The sources of the window's mentions of the alert's kind, most first.
    pub top_sources: Vec<SourceCount>,
    /// The most-reached mentions of the alert's kind in the window (5 at most).
    pub top_mentions: Vec<MentionEvidence>,
}

/// A share then and now.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShareChange {
    /// In the alert window, in `[0, 1]`.
    pub window: f64,
    /// In the baseline.
    pub baseline: f64,
}

/// A word that rose.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RisingTerm {
    /// The word.
    pub term: String,
    /// Its count in the window.
    pub window_count: u64,
    /// Its count in the baseline.
    pub baseline_count: u64,
    /// The significance score (see `earful_index::MentionIndex::significant_terms`).
    pub score: f64,
}

/// A source and how many of the window's mentions came from it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceCount {
    /// The source kind.
    pub source: String,
    /// Mentions.
    pub count: u64,
}

/// One mention behind the alert, with why it scored as it did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MentionEvidence {
    /// Mention id.
    pub id: String,
    /// Link to the post.
    #[serde(default)]
    pub url: Option<String>,
    /// Author.
    #[serde(default)]
    pub author: Option<String>,
    /// Author's reach.
    #[serde(default)]
    pub author_reach: Option<u64>,
    /// When it was published.
    #[serde(with = "earful_core::time::rfc3339")]
    pub published_at: OffsetDateTime,
    /// Title, when the source has one.
    #[serde(default)]
    pub title: Option<String>,
    /// The text, shortened to 280 characters.
    pub text: String,
    /// VADER compound score, when scored.
    #[serde(default)]
    pub compound: Option<f64>,
    /// The sentiment explanation: the words that moved the score, with their final valence.
    #[serde(default)]
    pub because: Vec<TokenValence>,
}

/// A word's contribution to a sentiment score.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenValence {
    /// The token as written.
    pub token: String,
    /// Its valence after VADER's rules.
    pub valence: f64,
}

/// Why a stored alert could not be read in the JSON form.
#[derive(Debug, thiserror::Error)]
#[error("alert `{id}`: the stored evidence is not in the v1 form: {source}")]
pub struct AlertFormatError {
    /// The alert.
    pub id: String,
    /// What serde says.
    pub source: serde_json::Error,
}

impl Alert {
    /// The JSON form of a stored alert.
    pub fn from_record(record: &AlertRecord) -> Result<Alert, AlertFormatError> {
        let evidence: Evidence =
            serde_json::from_value(record.evidence.clone()).map_err(|source| AlertFormatError {
                id: record.id.clone(),
                source,
            })?;
        let acknowledged = match (&record.acknowledged_by, record.acknowledged_at) {
            (Some(by), Some(at)) => Some(Acknowledgement { by: by.clone(), at }),
            _ => None,
        };
        Ok(Alert {
            version: ALERT_FORMAT_VERSION,
            id: record.id.clone(),
            watch: record.watch.clone(),
            kind: record.kind.clone(),
            state: record.state,
            episode_start: record.episode_start,
            created_at: record.created_at,
            updated_at: record.updated_at,
            fired_at: record.fired_at,
            resolved_at: record.resolved_at,
            acknowledged,
            evidence,
        })
    }

    /// A one-line summary: `acme: negative spike — 42 mentions in 15m, 3.1 expected`.
    pub fn headline(&self) -> String {
        let minutes = (self.evidence.window.end - self.evidence.window.start).whole_minutes();
        let what = match self.kind.as_str() {
            "negative_spike" => "negative mentions",
            "praise_surge" => "positive mentions",
            _ => "mentions",
        };
        format!(
            "{}: {} — {} {what} in {minutes} min, {:.1} expected",
            self.watch,
            self.kind.replace('_', " "),
            self.evidence.observed,
            self.evidence.expected
        )
    }
}
