//! The commit payload: collector cursors, committed atomically with the documents they led to.
//!
//! Persisted format (`version = 1`), kept as a fixture in `tests/fixtures/commit-payload-v1.json`:
//!
//! ```json
//! {"version": 1, "cursors": {"hn-acme": {"since_id": 41234567}}, "committed_at": "2026-11-22T10:16:03Z"}
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::IndexError;

/// The payload format version this build writes and the newest it reads.
pub const PAYLOAD_VERSION: u32 = 1;

/// What a commit carries besides documents.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CommitPayload {
    /// Format version; a payload newer than [`PAYLOAD_VERSION`] is refused.
    pub version: u32,
    /// The cursor of every source, by source name, as of this commit. Each commit carries the
    /// whole map: later cursors of a source replace earlier ones.
    #[serde(default)]
    pub cursors: BTreeMap<String, serde_json::Value>,
    /// When the commit was made.
    #[serde(
        default,
        with = "earful_core::time::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub committed_at: Option<OffsetDateTime>,
}

impl Default for CommitPayload {
    fn default() -> CommitPayload {
        CommitPayload {
            version: PAYLOAD_VERSION,
            cursors: BTreeMap::new(),
            committed_at: None,
        }
    }
}

impl CommitPayload {
    /// Reads a payload as stored in tantivy's `meta.json`. No payload (a fresh index, or one
    /// written before payloads existed) is the empty payload.
    pub fn from_stored(stored: Option<&str>) -> Result<CommitPayload, IndexError> {
        let Some(raw) = stored.filter(|raw| !raw.trim().is_empty()) else {
            return Ok(CommitPayload::default());
        };
        let payload: CommitPayload = serde_json::from_str(raw)
            .map_err(|error| IndexError::CorruptPayload(format!("{error} in `{raw}`")))?;
        if payload.version == 0 || payload.version > PAYLOAD_VERSION {
            return Err(IndexError::CorruptPayload(format!(
                "version {} is not supported (this build reads up to {PAYLOAD_VERSION})",
                payload.version
            )));
        }
        Ok(payload)
    }

    /// Applies a batch's cursor deltas: each named source's cursor is replaced.
    pub fn merge_cursors(&mut self, deltas: &BTreeMap<String, serde_json::Value>) {
        for (source, cursor) in deltas {
            self.cursors.insert(source.clone(), cursor.clone());
        }
    }

    pub(crate) fn to_stored(&self) -> Result<String, IndexError> {
        serde_json::to_string(self).map_err(|error| IndexError::CorruptPayload(error.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_payload_is_empty() {
        assert_eq!(
            CommitPayload::from_stored(None).unwrap(),
            CommitPayload::default()
        );
    }

    #[test]
    fn newer_versions_are_refused() {
        let error = CommitPayload::from_stored(Some(r#"{"version":2,"cursors":{}}"#)).unwrap_err();
        assert!(error.to_string().contains("version 2"), "{error}");
        assert!(CommitPayload::from_stored(Some("{not json")).is_err());
    }

    #[test]
    fn later_cursors_replace_earlier_ones() {
        let mut payload = CommitPayload::default();
        payload.merge_cursors(&BTreeMap::from([
            ("a".to_string(), serde_json::json!(1)),
            ("b".to_string(), serde_json::json!("x")),
        ]));
        payload.merge_cursors(&BTreeMap::from([("a".to_string(), serde_json::json!(2))]));
        assert_eq!(payload.cursors["a"], serde_json::json!(2));
        assert_eq!(payload.cursors["b"], serde_json::json!("x"));
    }
}
