//! Stable mention ids.
//!
//! A mention's id is `<source>:<native id>` when the source has ids of its own (a Hacker News
//! item, a Mastodon status), and `feed:<hash>` of the feed URL and the entry's id or link when it
//! has none. The same mention fetched twice gets the same id, which is what lets the index
//! upsert instead of duplicating.

use sha2::{Digest, Sha256};

/// A mention id, `<source>:<native id>`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MentionId(String);

/// Why a string is not a usable mention id.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdError {
    /// The id was empty or only whitespace.
    #[error("mention id is empty")]
    Empty,
    /// The id contains whitespace or control characters.
    #[error("mention id `{0}` contains whitespace or control characters")]
    BadCharacter(String),
    /// The id is longer than [`MentionId::MAX_LEN`] bytes.
    #[error("mention id is {0} bytes long; the limit is {max}", max = MentionId::MAX_LEN)]
    TooLong(usize),
}

impl MentionId {
    /// Ids longer than this are rejected: tantivy terms and SQLite keys stay small.
    pub const MAX_LEN: usize = 512;

    /// Checks and wraps an id given from outside (ingest, the API).
    pub fn parse(raw: &str) -> Result<MentionId, IdError> {
        if raw.trim().is_empty() {
            return Err(IdError::Empty);
        }
        if raw.len() > Self::MAX_LEN {
            return Err(IdError::TooLong(raw.len()));
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(IdError::BadCharacter(raw.to_string()));
        }
        Ok(MentionId(raw.to_string()))
    }

    /// The id of a mention whose source has native ids: `hackernews:41234567`.
    pub fn native(source: &str, native_id: &str) -> Result<MentionId, IdError> {
        MentionId::parse(&format!("{source}:{native_id}"))
    }

    /// The id of a feed entry: a hash of the feed URL and the entry's id (or link, when the
    /// entry has no id). Feeds rewrite titles and dates, but rarely ids and links.
    pub fn feed_entry(feed_url: &str, entry_key: &str) -> MentionId {
        let mut hasher = Sha256::new();
        hasher.update(feed_url.trim().as_bytes());
        hasher.update([0u8]);
        hasher.update(entry_key.trim().as_bytes());
        let digest = hasher.finalize();
        let hex: String = digest[..12]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        MentionId(format!("feed:{hex}"))
    }

    /// The source prefix: the part before the first `:`, if any.
    pub fn source_prefix(&self) -> Option<&str> {
        self.0
            .split_once(':')
            .map(|(prefix, _)| prefix)
            .filter(|prefix| !prefix.is_empty())
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Consumes the id, giving its string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Display for MentionId {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn native_ids_join_source_and_native_id() {
        let id = MentionId::native("hackernews", "41234567").unwrap();
        assert_eq!(id.as_str(), "hackernews:41234567");
        assert_eq!(id.source_prefix(), Some("hackernews"));
    }

    #[test]
    fn feed_entry_ids_are_stable_and_distinct() {
        let first = MentionId::feed_entry("https://acme.example/feed.xml", "tag:acme,2026:1");
        let again = MentionId::feed_entry(" https://acme.example/feed.xml", "tag:acme,2026:1 ");
        let other = MentionId::feed_entry("https://acme.example/feed.xml", "tag:acme,2026:2");
        assert_eq!(first, again);
        assert_ne!(first, other);
        assert_eq!(first.as_str().len(), "feed:".len() + 24);
        // The hash is part of the persisted format: it must never change.
        assert_eq!(first.as_str(), "feed:24c07bc1b343e0c7c5723c27");
    }

    #[test]
    fn bad_ids_are_rejected_with_the_reason() {
        assert_eq!(MentionId::parse("  "), Err(IdError::Empty));
        assert!(matches!(
            MentionId::parse("a b"),
            Err(IdError::BadCharacter(_))
        ));
        assert!(matches!(
            MentionId::parse(&"x".repeat(600)),
            Err(IdError::TooLong(600))
        ));
    }

    proptest! {
        #[test]
        fn feed_entry_ids_are_always_valid(url in ".{0,80}", key in ".{0,80}") {
            let id = MentionId::feed_entry(&url, &key);
            prop_assert_eq!(MentionId::parse(id.as_str()), Ok(id.clone()));
        }

        #[test]
        fn parse_never_panics(raw in "\\PC{0,40}") {
            let _ = MentionId::parse(&raw);
        }
    }
}
