//! The contract between the poll engine and a source module.

use earful_core::MentionInput;
use time::OffsetDateTime;

use crate::fetch::FetchError;

/// What one poll of a source is told.
#[derive(Clone, Debug)]
pub struct PollContext<'a> {
    /// The configured source's name; becomes `Mention.feed`.
    pub name: &'a str,
    /// The source's own cursor as last committed, `None` on a first run. Its shape is the
    /// source module's business (serde of a private struct), versioned by the module.
    pub cursor: Option<&'a serde_json::Value>,
    /// Where a first run starts looking back from (now − the lookback window, 24 h default).
    pub first_run_since: OffsetDateTime,
    /// The poll's clock (a test sets it).
    pub now: OffsetDateTime,
    /// What a searching source asks its API for: the terms of the watches it is bound to.
    pub terms: &'a [SearchTerm],
}

/// One search a searching source runs per poll: the watch it came from and the words or
/// phrase to ask the remote API for. Watch tags are still decided by the full watch query
/// during enrichment; the remote search only has to be a superset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchTerm {
    /// The watch's name.
    pub watch: String,
    /// A single word or a phrase, as typed in the watch query (no operators).
    pub text: String,
    /// Whether `text` was a quoted phrase.
    pub phrase: bool,
}

/// What one poll produced: the mentions, the items that could not be used, and the cursor to
/// commit with the mentions.
#[derive(Clone, Debug, Default)]
pub struct Collected {
    /// Mentions ready for enrichment (`id`, `source`, `feed` and `published_at` set).
    pub mentions: Vec<MentionInput>,
    /// Items skipped because they were malformed; counted in the source's health.
    pub skipped: Vec<SkippedItem>,
    /// The source's cursor after this poll; `None` keeps the committed one.
    pub cursor: Option<serde_json::Value>,
}

/// An item that was skipped, and why (`item 3: missing `created_at_i``).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedItem {
    /// What was wrong, naming the item and the field at fault.
    pub reason: String,
}

/// Why a poll failed as a whole. Every variant names the thing at fault and never carries a
/// secret.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The HTTP exchange failed (classed for the health record).
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The response as a whole could not be read (not JSON, not a feed, wrong shape).
    #[error("cannot read the response from `{url}`: {problem}")]
    Parse {
        /// The URL fetched, without credentials.
        url: String,
        /// What was wrong.
        problem: String,
    },
    /// The remote API answered with an error of its own (Stack Exchange `error_id`, Lemmy
    /// `{"error": …}`, an OAuth refusal).
    #[error("`{url}` answered with an error: {problem}")]
    Remote {
        /// The URL fetched, without credentials.
        url: String,
        /// The remote's own words.
        problem: String,
    },
    /// The source cannot run with its settings (a missing credential variable, say).
    #[error("{0}")]
    Settings(String),
}

impl SourceError {
    /// The failure's class, as health tables and metric labels show it: a fetch class
    /// (`dns`, `tls`, `connect`, `timeout`, `rate_limited`, `client`, `server`, `body`), or
    /// `parse`, `remote`, `settings`.
    pub fn class(&self) -> &'static str {
        match self {
            SourceError::Fetch(error) => error.class.as_str(),
            SourceError::Parse { .. } => "parse",
            SourceError::Remote { .. } => "remote",
            SourceError::Settings(_) => "settings",
        }
    }

    /// How long the remote asked to be left alone, when it said.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            SourceError::Fetch(error) => error.retry_after,
            _ => None,
        }
    }
}
