//! Source health: one row per configured source, the record as the collectors wrote it.
//!
//! The record's shape belongs to the collectors (`earful-collect`'s `SourceHealth`); the store
//! keeps it as JSON so the two crates do not depend on each other.

use rusqlite::{params, OptionalExtension};
use time::OffsetDateTime;

use crate::{Store, StoreError};

/// One source's stored health.
#[derive(Clone, Debug, PartialEq)]
pub struct HealthRow {
    /// The configured source's name.
    pub source: String,
    /// Its collector kind.
    pub kind: String,
    /// The health record.
    pub record: serde_json::Value,
    /// When it was written.
    pub updated_at: OffsetDateTime,
}

impl Store {
    /// Writes (or replaces) a source's health record.
    pub fn put_source_health(
        &self,
        source: &str,
        kind: &str,
        record: &serde_json::Value,
        updated_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let record = serde_json::to_string(record).map_err(|source| StoreError::Json {
            what: "source health",
            source,
        })?;
        self.connection().execute(
            "INSERT INTO source_health (source, kind, record, updated_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(source) DO UPDATE SET kind = ?2, record = ?3, updated_at = ?4",
            params![
                source,
                kind,
                record,
                earful_core::time::format_timestamp(updated_at)
            ],
        )?;
        Ok(())
    }

    /// Writes many sources' health records in one transaction: one sync to disk for a whole
    /// collection cycle rather than one per source.
    pub fn put_source_health_all<'a>(
        &self,
        rows: impl IntoIterator<Item = (&'a str, &'a str, &'a serde_json::Value)>,
        updated_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let transaction = self.connection().unchecked_transaction()?;
        let at = earful_core::time::format_timestamp(updated_at);
        {
            let mut statement = transaction.prepare(
                "INSERT INTO source_health (source, kind, record, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(source) DO UPDATE SET kind = ?2, record = ?3, updated_at = ?4",
            )?;
            for (source, kind, record) in rows {
                let record = serde_json::to_string(record).map_err(|source| StoreError::Json {
                    what: "source health",
                    source,
                })?;
                statement.execute(params![source, kind, record, at])?;
            }
        }
        transaction.commit()?;
        Ok(())
    }

    /// One source's health record, if it has one.
    pub fn source_health(&self, source: &str) -> Result<Option<HealthRow>, StoreError> {
        let row = self
            .connection()
            .query_row(
                "SELECT source, kind, record, updated_at FROM source_health WHERE source = ?1",
                params![source],
                raw_row,
            )
            .optional()?;
        row.map(decode).transpose()
    }

    /// Every source's health record, by name.
    pub fn all_source_health(&self) -> Result<Vec<HealthRow>, StoreError> {
        let mut statement = self.connection().prepare(
            "SELECT source, kind, record, updated_at FROM source_health ORDER BY source",
        )?;
        let rows = statement.query_map([], raw_row)?;
        let mut decoded = Vec::new();
        for row in rows {
            decoded.push(decode(row?)?);
        }
        Ok(decoded)
    }
}

type RawRow = (String, String, String, String);

fn raw_row(row: &rusqlite::Row<'_>) -> Result<RawRow, rusqlite::Error> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

fn decode((source, kind, record, updated_at): RawRow) -> Result<HealthRow, StoreError> {
    let record = serde_json::from_str(&record).map_err(|source| StoreError::Json {
        what: "source health",
        source,
    })?;
    // A timestamp this crate wrote always parses; a hand-edited one reads as the epoch.
    let updated_at =
        earful_core::time::parse_timestamp(&updated_at).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    Ok(HealthRow {
        source,
        kind,
        record,
        updated_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_rows_round_trip_and_replace() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.sqlite");
        let at = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        {
            let store = Store::open(&path).unwrap();
            store
                .put_source_health(
                    "hn-acme",
                    "hackernews",
                    &serde_json::json!({"failures": 1}),
                    at,
                )
                .unwrap();
            store
                .put_source_health(
                    "hn-acme",
                    "hackernews",
                    &serde_json::json!({"failures": 0}),
                    at,
                )
                .unwrap();
            store
                .put_source_health("blog", "feed", &serde_json::json!({}), at)
                .unwrap();
        }
        {
            let store = Store::open(&path).unwrap();
            let record = serde_json::json!({"failures": 0});
            let empty = serde_json::json!({});
            store
                .put_source_health_all(
                    [("hn-acme", "hackernews", &record), ("blog", "feed", &empty)],
                    at,
                )
                .unwrap();
        }
        let reopened = Store::open(&path).unwrap();
        let rows = reopened.all_source_health().unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].source, "blog");
        assert_eq!(rows[1].record, serde_json::json!({"failures": 0}));
        assert_eq!(rows[1].updated_at, at);
        assert!(reopened.source_health("missing").unwrap().is_none());
    }
}
