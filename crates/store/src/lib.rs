//! Earful's state in one SQLite file (`state.sqlite` in the data directory): alerts and their
//! lifecycle, the notification outbox, source health, and (later) per-mention triage state.
//!
//! What this crate must never do: hold mentions (they live in the index), write an alert state
//! change and its notifications in separate transactions, or lose a notification it accepted.

mod alerts;
mod health;
mod outbox;

use std::path::Path;

use rusqlite::Connection;
use time::OffsetDateTime;

pub use alerts::{AlertRecord, AlertState, AlertWrite, RecordOutcome, Silence};
pub use health::HealthRow;
pub use outbox::{ChannelCounts, DeliveryState, Event, Notification, OutboxCounts};

/// A failure of the state database. Names the file or the operation at fault.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file could not be opened or migrated.
    #[error("cannot open the state database `{path}`: {source}")]
    Open {
        /// The database file.
        path: String,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// A query failed.
    #[error("state database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored JSON column could not be read back.
    #[error("state database: a stored `{what}` is not valid JSON: {source}")]
    Json {
        /// What the column holds.
        what: &'static str,
        /// serde's error.
        source: serde_json::Error,
    },
    /// A stored value is not one this build knows (a newer build wrote it, or the file was
    /// edited by hand).
    #[error("state database: {0}")]
    Corrupt(String),
}

/// Schema migrations, applied in order once each (`PRAGMA user_version` counts them). Append
/// only: a shipped migration never changes.
const MIGRATIONS: &[&str] = &[
    // 1: source health, one row per configured source name.
    "CREATE TABLE source_health (
        source TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        record TEXT NOT NULL,      -- the health record as JSON
        updated_at TEXT NOT NULL   -- RFC 3339
    );",
    // 2: alerts, silences and the notification outbox. Times are Unix milliseconds.
    "CREATE TABLE alerts (
        id TEXT PRIMARY KEY,           -- stable: derived from watch, kind, episode start
        watch TEXT NOT NULL,
        kind TEXT NOT NULL,
        episode_start INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'firing', 'resolved')),
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        fired_at INTEGER,
        resolved_at INTEGER,
        evidence TEXT NOT NULL,        -- the alert's evidence as JSON
        acknowledged_by TEXT,
        acknowledged_at INTEGER
    );
    CREATE INDEX alerts_by_watch ON alerts (watch, episode_start);
    CREATE TABLE silences (
        id INTEGER PRIMARY KEY,
        watch TEXT NOT NULL,
        ends_at INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        reason TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        alert_id TEXT NOT NULL REFERENCES alerts (id),
        event TEXT NOT NULL CHECK (event IN ('firing', 'resolved')),
        channel TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'dead')),
        attempts INTEGER NOT NULL,
        next_attempt_at INTEGER NOT NULL,
        last_error TEXT,
        created_at INTEGER NOT NULL,
        delivered_at INTEGER,
        UNIQUE (alert_id, event, channel)
    );
    CREATE INDEX outbox_due ON outbox (state, next_attempt_at);",
];

/// The state database.
#[derive(Debug)]
pub struct Store {
    connection: Connection,
}

impl Store {
    /// Opens (creating when missing) and migrates the state database at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let open_error = |source| StoreError::Open {
            path: path.display().to_string(),
            source,
        };
        let mut connection = Connection::open(path).map_err(open_error)?;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;",
            )
            .map_err(open_error)?;
        migrate(&mut connection).map_err(open_error)?;
        Ok(Store { connection })
    }

    /// The connection, for this crate's modules.
    #[allow(dead_code)]
    fn connection(&self) -> &Connection {
        &self.connection
    }
}

fn migrate(connection: &mut Connection) -> Result<(), rusqlite::Error> {
    let applied: usize = connection.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    for (number, migration) in MIGRATIONS.iter().enumerate().skip(applied) {
        let transaction = connection.transaction()?;
        transaction.execute_batch(migration)?;
        transaction.pragma_update(None, "user_version", number + 1)?;
        transaction.commit()?;
    }
    Ok(())
}

/// Unix milliseconds, the stored form of a time.
fn to_millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn from_millis(millis: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .map_err(|_| StoreError::Corrupt(format!("time {millis} ms is out of range")))
}
