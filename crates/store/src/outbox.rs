//! The notification outbox: one row per (alert, event, channel), written in the same
//! transaction as the alert state change that causes it, and moved by the delivery worker to
//! `sent` or, after too many failed tries, `dead`. Rows survive restarts, so a notification
//! accepted here is delivered eventually or visibly given up on.

use rusqlite::{params, Row};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{from_millis, to_millis, Store, StoreError};

/// What happened to an alert that staff are told about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Event {
    /// The alert started firing.
    Firing,
    /// The alert resolved.
    Resolved,
}

impl Event {
    /// The name stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Firing => "firing",
            Event::Resolved => "resolved",
        }
    }

    fn parse(raw: &str) -> Result<Event, StoreError> {
        match raw {
            "firing" => Ok(Event::Firing),
            "resolved" => Ok(Event::Resolved),
            other => Err(StoreError::Corrupt(format!(
                "unknown notification event `{other}`"
            ))),
        }
    }
}

impl std::fmt::Display for Event {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// Where a notification is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Not delivered yet; tried again at `next_attempt_at`.
    Pending,
    /// Delivered.
    Sent,
    /// Given up after the configured number of tries.
    Dead,
}

impl DeliveryState {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sent => "sent",
            DeliveryState::Dead => "dead",
        }
    }

    fn parse(raw: &str) -> Result<DeliveryState, StoreError> {
        match raw {
            "pending" => Ok(DeliveryState::Pending),
            "sent" => Ok(DeliveryState::Sent),
            "dead" => Ok(DeliveryState::Dead),
            other => Err(StoreError::Corrupt(format!(
                "unknown delivery state `{other}`"
            ))),
        }
    }
}

impl std::fmt::Display for DeliveryState {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// One outbox row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// Row id; also the delivery's idempotency key for receivers (`webhook-id`).
    pub id: i64,
    /// The alert.
    pub alert_id: String,
    /// What happened to it.
    pub event: Event,
    /// The configured channel's name.
    pub channel: String,
    /// Where delivery stands.
    pub state: DeliveryState,
    /// Tries made so far.
    pub attempts: u32,
    /// When it may be tried next.
    pub next_attempt_at: OffsetDateTime,
    /// The last failure, without secrets.
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: OffsetDateTime,
    /// When it was delivered.
    pub delivered_at: Option<OffsetDateTime>,
}

/// Counts of outbox rows by state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OutboxCounts {
    /// Waiting for delivery.
    pub pending: u64,
    /// Delivered.
    pub sent: u64,
    /// Given up.
    pub dead: u64,
}

/// Counts of one channel's outbox rows by state, and its failed delivery tries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ChannelCounts {
    /// The configured channel's name.
    pub channel: String,
    /// Waiting for delivery.
    pub pending: u64,
    /// Delivered.
    pub sent: u64,
    /// Given up.
    pub dead: u64,
    /// Tries that failed, whether retried later or given up on.
    pub failed_tries: u64,
}

const COLUMNS: &str = "id, alert_id, event, channel, state, attempts, next_attempt_at, \
     last_error, created_at, delivered_at";

type RawRow = (
    i64,
    String,
    String,
    String,
    String,
    u32,
    i64,
    Option<String>,
    i64,
    Option<i64>,
);

fn raw_row(row: &Row<'_>) -> rusqlite::Result<RawRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
        row.get(9)?,
    ))
}

fn check(raw: RawRow) -> Result<Notification, StoreError> {
    let (id, alert_id, event, channel, state, attempts, next, last_error, created, delivered) = raw;
    Ok(Notification {
        id,
        alert_id,
        event: Event::parse(&event)?,
        channel,
        state: DeliveryState::parse(&state)?,
        attempts,
        next_attempt_at: from_millis(next)?,
        last_error,
        created_at: from_millis(created)?,
        delivered_at: delivered.map(from_millis).transpose()?,
    })
}

impl Store {
    fn notifications_where(
        &self,
        clause: &str,
        bind: impl rusqlite::Params,
    ) -> Result<Vec<Notification>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached(&format!("SELECT {COLUMNS} FROM outbox WHERE {clause}"))?;
        let rows = statement.query_map(bind, raw_row)?;
        let mut notifications = Vec::new();
        for row in rows {
            notifications.push(check(row?)?);
        }
        Ok(notifications)
    }

    /// Pending notifications whose time has come at `now`, earliest first, at most `limit`.
    pub fn due_notifications(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Notification>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.notifications_where(
            "state = 'pending' AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2",
            params![to_millis(now), limit],
        )
    }

    /// When the earliest pending notification may be tried, if any is pending.
    pub fn next_attempt_at(&self) -> Result<Option<OffsetDateTime>, StoreError> {
        let next: Option<i64> = self.connection.query_row(
            "SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'pending'",
            [],
            |row| row.get(0),
        )?;
        next.map(from_millis).transpose()
    }

    /// Every notification of an alert, by channel then event.
    pub fn notifications_for(&self, alert_id: &str) -> Result<Vec<Notification>, StoreError> {
        self.notifications_where(
            "alert_id = ?1 ORDER BY channel, event, id",
            params![alert_id],
        )
    }

    /// Every notification, oldest first.
    pub fn notifications(&self) -> Result<Vec<Notification>, StoreError> {
        self.notifications_where("1 = 1 ORDER BY id", [])
    }

    /// Records a delivery. Only a pending row moves (a row is delivered once).
    pub fn mark_sent(&mut self, id: i64, at: OffsetDateTime) -> Result<(), StoreError> {
        self.connection.execute(
            "UPDATE outbox SET state = 'sent', attempts = attempts + 1, delivered_at = ?2,
                 last_error = NULL
             WHERE id = ?1 AND state = 'pending'",
            params![id, to_millis(at)],
        )?;
        Ok(())
    }

    /// Records a failed try: the row is tried again at `retry_at`, or is dead when `retry_at`
    /// is `None`. `error` must not hold secrets.
    pub fn mark_failed(
        &mut self,
        id: i64,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError> {
        match retry_at {
            Some(retry_at) => self.connection.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3
                 WHERE id = ?1 AND state = 'pending'",
                params![id, error, to_millis(retry_at)],
            )?,
            None => self.connection.execute(
                "UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = ?2
                 WHERE id = ?1 AND state = 'pending'",
                params![id, error],
            )?,
        };
        Ok(())
    }

    /// Puts a notification back to be tried at `at` without counting a try (a channel asked
    /// to wait, e.g. Slack's `Retry-After`).
    pub fn postpone(&mut self, id: i64, at: OffsetDateTime) -> Result<(), StoreError> {
        self.connection.execute(
            "UPDATE outbox SET next_attempt_at = ?2 WHERE id = ?1 AND state = 'pending'",
            params![id, to_millis(at)],
        )?;
        Ok(())
    }

    /// Counts of outbox rows by channel and state, by channel name (for `/metrics`). A sent
    /// row's tries before the one that succeeded count as failed.
    pub fn outbox_counts_by_channel(&self) -> Result<Vec<ChannelCounts>, StoreError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT channel, state, COUNT(*),
                 SUM(CASE WHEN state = 'sent' THEN MAX(attempts - 1, 0) ELSE attempts END)
             FROM outbox GROUP BY channel, state ORDER BY channel",
        )?;
        let rows = statement.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, u64>(2)?,
                row.get::<_, u64>(3)?,
            ))
        })?;
        let mut channels: Vec<ChannelCounts> = Vec::new();
        for row in rows {
            let (channel, state, count, failed_tries) = row?;
            if channels.last().is_none_or(|last| last.channel != channel) {
                channels.push(ChannelCounts {
                    channel,
                    ..ChannelCounts::default()
                });
            }
            let Some(counts) = channels.last_mut() else {
                continue;
            };
            counts.failed_tries += failed_tries;
            match DeliveryState::parse(&state)? {
                DeliveryState::Pending => counts.pending = count,
                DeliveryState::Sent => counts.sent = count,
                DeliveryState::Dead => counts.dead = count,
            }
        }
        Ok(channels)
    }

    /// Counts of outbox rows by state.
    pub fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
        let mut counts = OutboxCounts::default();
        let mut statement = self
            .connection
            .prepare_cached("SELECT state, COUNT(*) FROM outbox GROUP BY state")?;
        let rows = statement.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, u64>(1)?))
        })?;
        for row in rows {
            let (state, count) = row?;
            match DeliveryState::parse(&state)? {
                DeliveryState::Pending => counts.pending = count,
                DeliveryState::Sent => counts.sent = count,
                DeliveryState::Dead => counts.dead = count,
            }
        }
        Ok(counts)
    }
}
