//! Alerts, silences and acknowledgements.
//!
//! An alert row is the latest state of one episode (watch, kind, episode start). It only moves
//! forward — pending → firing → resolved — and every move is written together with the
//! notifications it causes, in one transaction ([`Store::record_alert`]).

use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::outbox::Event;
use crate::{from_millis, to_millis, Store, StoreError};

/// Where an alert is in its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// Elevated, waiting out the pending period.
    Pending,
    /// Elevated long enough: staff are told.
    Firing,
    /// Back to normal.
    Resolved,
}

impl AlertState {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        }
    }

    fn parse(raw: &str) -> Result<AlertState, StoreError> {
        match raw {
            "pending" => Ok(AlertState::Pending),
            "firing" => Ok(AlertState::Firing),
            "resolved" => Ok(AlertState::Resolved),
            other => Err(StoreError::Corrupt(format!(
                "unknown alert state `{other}`"
            ))),
        }
    }
}

impl std::fmt::Display for AlertState {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// One alert as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertRecord {
    /// Stable id, derived from (watch, kind, episode start) by the evaluator.
    pub id: String,
    /// The watch.
    pub watch: String,
    /// The alert kind (`negative_spike`, `volume_spike`, `praise_surge`).
    pub kind: String,
    /// Start of the first elevated bucket of the episode.
    pub episode_start: OffsetDateTime,
    /// The current state.
    pub state: AlertState,
    /// When the alert was first written.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
    /// When it started firing.
    pub fired_at: Option<OffsetDateTime>,
    /// When it resolved.
    pub resolved_at: Option<OffsetDateTime>,
    /// The evidence, in the alert JSON form of `earful-alert`.
    pub evidence: Value,
    /// Who acknowledged it.
    pub acknowledged_by: Option<String>,
    /// When.
    pub acknowledged_at: Option<OffsetDateTime>,
}

/// A state the evaluator wants an alert to be in.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertWrite {
    /// Stable id.
    pub id: String,
    /// The watch.
    pub watch: String,
    /// The alert kind.
    pub kind: String,
    /// Start of the episode.
    pub episode_start: OffsetDateTime,
    /// The state to move to (or stay in).
    pub state: AlertState,
    /// When the move happened (the evaluation time).
    pub at: OffsetDateTime,
    /// The evidence as of `at`.
    pub evidence: Value,
}

/// What [`Store::record_alert`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordOutcome {
    /// The alert was new.
    pub created: bool,
    /// Its state moved forward.
    pub state_changed: bool,
    /// Notifications added to the outbox (duplicates of queued ones are not added).
    pub queued: usize,
}

/// A silence: no notifications for a watch until `ends_at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Silence {
    /// Row id.
    pub id: i64,
    /// The watch silenced.
    pub watch: String,
    /// When the silence ends.
    pub ends_at: OffsetDateTime,
    /// Who asked for it.
    pub created_by: String,
    /// Why.
    pub reason: String,
    /// When it was made.
    pub created_at: OffsetDateTime,
}

const ALERT_COLUMNS: &str = "id, watch, kind, episode_start, state, created_at, updated_at, \
     fired_at, resolved_at, evidence, acknowledged_by, acknowledged_at";

fn alert_from_row(row: &Row<'_>) -> rusqlite::Result<RawAlert> {
    Ok(RawAlert {
        id: row.get(0)?,
        watch: row.get(1)?,
        kind: row.get(2)?,
        episode_start: row.get(3)?,
        state: row.get(4)?,
        created_at: row.get(5)?,
        updated_at: row.get(6)?,
        fired_at: row.get(7)?,
        resolved_at: row.get(8)?,
        evidence: row.get(9)?,
        acknowledged_by: row.get(10)?,
        acknowledged_at: row.get(11)?,
    })
}

/// A row before its columns are checked.
struct RawAlert {
    id: String,
    watch: String,
    kind: String,
    episode_start: i64,
    state: String,
    created_at: i64,
    updated_at: i64,
    fired_at: Option<i64>,
    resolved_at: Option<i64>,
    evidence: String,
    acknowledged_by: Option<String>,
    acknowledged_at: Option<i64>,
}

impl RawAlert {
    fn check(self) -> Result<AlertRecord, StoreError> {
        let evidence = serde_json::from_str(&self.evidence).map_err(|source| StoreError::Json {
            what: "alert evidence",
            source,
        })?;
        Ok(AlertRecord {
            state: AlertState::parse(&self.state)?,
            episode_start: from_millis(self.episode_start)?,
            created_at: from_millis(self.created_at)?,
            updated_at: from_millis(self.updated_at)?,
            fired_at: self.fired_at.map(from_millis).transpose()?,
            resolved_at: self.resolved_at.map(from_millis).transpose()?,
            acknowledged_at: self.acknowledged_at.map(from_millis).transpose()?,
            id: self.id,
            watch: self.watch,
            kind: self.kind,
            evidence,
            acknowledged_by: self.acknowledged_by,
        })
    }
}

impl Store {
    /// Writes an alert's state and, in the same transaction, the notifications that state
    /// causes: one outbox row per `(alert, event, channel)`, never two. A state only moves
    /// forward (pending → firing → resolved); writing an earlier or equal state only refreshes
    /// the evidence. `event` is queued for each of `channels` when given (the caller decides,
    /// by routing and silences, which channels hear of it).
    pub fn record_alert(
        &mut self,
        write: &AlertWrite,
        event: Option<Event>,
        channels: &[String],
    ) -> Result<RecordOutcome, StoreError> {
        let evidence =
            serde_json::to_string(&write.evidence).map_err(|source| StoreError::Json {
                what: "alert evidence",
                source,
            })?;
        let at = to_millis(write.at);
        let transaction = self.connection.transaction()?;
        let current: Option<String> = transaction
            .query_row(
                "SELECT state FROM alerts WHERE id = ?1",
                params![write.id],
                |row| row.get(0),
            )
            .optional()?;
        let mut outcome = RecordOutcome::default();
        match current {
            None => {
                transaction.execute(
                    "INSERT INTO alerts (id, watch, kind, episode_start, state, created_at,
                         updated_at, fired_at, resolved_at, evidence)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8, ?9)",
                    params![
                        write.id,
                        write.watch,
                        write.kind,
                        to_millis(write.episode_start),
                        write.state.as_str(),
                        at,
                        (write.state >= AlertState::Firing).then_some(at),
                        (write.state == AlertState::Resolved).then_some(at),
                        evidence,
                    ],
                )?;
                outcome.created = true;
                outcome.state_changed = true;
            }
            Some(current) => {
                let current = AlertState::parse(&current)?;
                if write.state > current {
                    transaction.execute(
                        "UPDATE alerts SET state = ?2, updated_at = ?3, evidence = ?4,
                             fired_at = COALESCE(fired_at, ?5),
                             resolved_at = COALESCE(resolved_at, ?6)
                         WHERE id = ?1",
                        params![
                            write.id,
                            write.state.as_str(),
                            at,
                            evidence,
                            (write.state >= AlertState::Firing).then_some(at),
                            (write.state == AlertState::Resolved).then_some(at),
                        ],
                    )?;
                    outcome.state_changed = true;
                } else if write.state == current && current != AlertState::Resolved {
                    // Still elevated: the evidence grows with the episode.
                    transaction.execute(
                        "UPDATE alerts SET evidence = ?2 WHERE id = ?1",
                        params![write.id, evidence],
                    )?;
                }
            }
        }
        if let Some(event) = event {
            let mut insert = transaction.prepare_cached(
                "INSERT OR IGNORE INTO outbox (alert_id, event, channel, state, attempts,
                     next_attempt_at, created_at)
                 VALUES (?1, ?2, ?3, 'pending', 0, ?4, ?4)",
            )?;
            for channel in channels {
                outcome.queued += insert.execute(params![write.id, event.as_str(), channel, at])?;
            }
        }
        transaction.commit()?;
        Ok(outcome)
    }

    /// Forgets a pending alert whose episode calmed down before firing (nothing was sent for
    /// it). Firing and resolved alerts are never removed. True when a row was removed.
    pub fn discard_pending(&mut self, id: &str) -> Result<bool, StoreError> {
        let removed = self.connection.execute(
            "DELETE FROM alerts WHERE id = ?1 AND state = 'pending'
                 AND NOT EXISTS (SELECT 1 FROM outbox WHERE alert_id = ?1)",
            params![id],
        )?;
        Ok(removed > 0)
    }

    /// One alert by id.
    pub fn alert(&self, id: &str) -> Result<Option<AlertRecord>, StoreError> {
        let raw = self
            .connection
            .query_row(
                &format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = ?1"),
                params![id],
                alert_from_row,
            )
            .optional()?;
        raw.map(RawAlert::check).transpose()
    }

    /// Alerts, newest episode first; only `watch`'s when given; at most `limit`.
    pub fn alerts(
        &self,
        watch: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AlertRecord>, StoreError> {
        let mut statement = self.connection.prepare_cached(&format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE ?1 IS NULL OR watch = ?1
             ORDER BY episode_start DESC, id LIMIT ?2"
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = statement.query_map(params![watch, limit], alert_from_row)?;
        let mut alerts = Vec::new();
        for raw in rows {
            alerts.push(raw?.check()?);
        }
        Ok(alerts)
    }

    /// How many alerts ever fired, by watch and kind (for `/metrics`): an alert counts once
    /// from the moment it fires, and keeps counting after it resolves.
    pub fn fired_alert_counts(&self) -> Result<Vec<(String, String, u64)>, StoreError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT watch, kind, COUNT(*) FROM alerts WHERE fired_at IS NOT NULL
             GROUP BY watch, kind ORDER BY watch, kind",
        )?;
        let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
        let mut counts = Vec::new();
        for row in rows {
            counts.push(row?);
        }
        Ok(counts)
    }

    /// Marks an alert acknowledged; false when there is no such alert. The first
    /// acknowledgement stands.
    pub fn acknowledge(
        &mut self,
        id: &str,
        by: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let exists = self.alert(id)?.is_some();
        if exists {
            self.connection.execute(
                "UPDATE alerts SET acknowledged_by = COALESCE(acknowledged_by, ?2),
                     acknowledged_at = COALESCE(acknowledged_at, ?3)
                 WHERE id = ?1",
                params![id, by, to_millis(at)],
            )?;
        }
        Ok(exists)
    }

    /// Silences a watch until `ends_at`; returns the silence's id.
    pub fn add_silence(
        &mut self,
        watch: &str,
        ends_at: OffsetDateTime,
        created_by: &str,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<i64, StoreError> {
        self.connection.execute(
            "INSERT INTO silences (watch, ends_at, created_by, reason, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                watch,
                to_millis(ends_at),
                created_by,
                reason,
                to_millis(now)
            ],
        )?;
        Ok(self.connection.last_insert_rowid())
    }

    /// Ends a silence at `now`, so notifications flow again; `false` when no silence with that
    /// id is still in force (unknown, or over already). The row stays, for the record.
    pub fn end_silence(&mut self, id: i64, now: OffsetDateTime) -> Result<bool, StoreError> {
        let changed = self.connection.execute(
            "UPDATE silences SET ends_at = ?2 WHERE id = ?1 AND ends_at > ?2",
            params![id, to_millis(now)],
        )?;
        Ok(changed > 0)
    }

    /// Silences still in force at `now`, latest end first.
    pub fn active_silences(&self, now: OffsetDateTime) -> Result<Vec<Silence>, StoreError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT id, watch, ends_at, created_by, reason, created_at FROM silences
             WHERE ends_at > ?1 ORDER BY ends_at DESC, id",
        )?;
        let rows = statement.query_map(params![to_millis(now)], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, i64>(5)?,
            ))
        })?;
        let mut silences = Vec::new();
        for row in rows {
            let (id, watch, ends_at, created_by, reason, created_at) = row?;
            silences.push(Silence {
                id,
                watch,
                ends_at: from_millis(ends_at)?,
                created_by,
                reason,
                created_at: from_millis(created_at)?,
            });
        }
        Ok(silences)
    }

    /// The silence in force for a watch at `now`, if any.
    pub fn silence_for(
        &self,
        watch: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Silence>, StoreError> {
        Ok(self
            .active_silences(now)?
            .into_iter()
            .find(|silence| silence.watch == watch))
    }
}
