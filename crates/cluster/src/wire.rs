//! The message a collector publishes for each mention: the mention as collected (enrichment
//! happens on the indexer, so every mention is enriched by one build with one set of watches)
//! plus what the indexer needs to enrich it like the single-process path does.
//!
//! Persisted format (`v = 1`, in the stream for up to `max_age`):
//!
//! ```json
//! {"v": 1, "source": "acme-blog", "kind": "feed", "bound_watches": ["acme"], "mention": {"id": "feed:…", "text": "…", "published_at": "…"}}
//! ```

use earful_core::config::SourceKind;
use earful_core::MentionInput;
use serde::{Deserialize, Serialize};

/// The wire format version this build writes and reads.
pub const WIRE_VERSION: u32 = 1;

/// One published mention.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WireMention {
    /// Format version ([`WIRE_VERSION`]).
    pub v: u32,
    /// The configured source's name.
    pub source: String,
    /// Its kind.
    pub kind: SourceKind,
    /// The watches the mention belongs to whatever its text says (see
    /// `earful_collect::SourceBatch::bound_watches`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bound_watches: Vec<String>,
    /// The mention as collected.
    pub mention: MentionInput,
}

/// Why a message is not a mention this build can read.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// Not JSON of the expected shape.
    #[error("not a mention message: {0}")]
    Json(#[from] serde_json::Error),
    /// Written by a newer build.
    #[error("mention message version {0} is not supported (this build reads {WIRE_VERSION})")]
    Version(u32),
    /// The mention itself is invalid.
    #[error("invalid mention: {0}")]
    Mention(#[from] earful_core::MentionError),
}

impl WireMention {
    /// Reads and checks a message payload.
    pub fn from_payload(payload: &[u8]) -> Result<WireMention, WireError> {
        let message: WireMention = serde_json::from_slice(payload)?;
        if message.v != WIRE_VERSION {
            return Err(WireError::Version(message.v));
        }
        message.mention.validate()?;
        Ok(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_v1_format_still_reads() {
        let raw = br#"{"v":1,"source":"acme-blog","kind":"feed","bound_watches":["acme"],"mention":{"id":"feed:abc","text":"Acme rocks","published_at":"2026-11-22T10:15:00Z"}}"#;
        let message = WireMention::from_payload(raw).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(message.source, "acme-blog");
        assert_eq!(message.kind, SourceKind::Feed);
        assert_eq!(message.mention.id, "feed:abc");
        let again = serde_json::to_vec(&message).unwrap_or_default();
        assert_eq!(WireMention::from_payload(&again).ok(), Some(message));
    }

    #[test]
    fn foreign_and_newer_messages_are_refused_with_the_reason() {
        let newer = br#"{"v":2,"source":"a","kind":"feed","mention":{"id":"feed:x","text":"t","published_at":"2026-11-22T10:15:00Z"}}"#;
        let error = WireMention::from_payload(newer)
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some("mention message version 2 is not supported (this build reads 1)")
        );
        assert!(WireMention::from_payload(b"hello").is_err());
        let empty = br#"{"v":1,"source":"a","kind":"feed","mention":{"id":"feed:x","text":" ","published_at":"2026-11-22T10:15:00Z"}}"#;
        assert!(WireMention::from_payload(empty).is_err());
    }
}
