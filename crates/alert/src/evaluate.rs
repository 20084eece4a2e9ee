//! The evaluator: after an index commit, counts per watch and bucket are read from the index,
//! replayed through a [`SeriesMonitor`] per watch and alert kind, and every state change is
//! written to the store together with the notifications it causes.
//!
//! Nothing about the detector is saved: each evaluation rebuilds it from the index history
//! (DESIGN.md invariant 2), so re-ingested mentions, restarts and crashes cannot inflate or
//! lose a spike. The store holds what was decided; an alert's id is derived from its episode
//! (watch, kind, first alarming bucket), so replaying the same history writes the same rows
//! and the outbox's unique key refuses a second notification (invariant 3).
//!
//! Replaying history also finds episodes long past (after a backfill, say). They are recorded,
//! but only transitions in the last [`EvaluatorSettings::notify_window`] are sent to anyone:
//! nobody wants to be paged for last month.

use std::time::Duration;

use earful_core::config::{Config, NotifyConfig};
use earful_core::MentionQuery;
use earful_index::{Filters, IndexError, MentionIndex};
use earful_sentiment::Analyzer;
use earful_store::{AlertState, AlertWrite, Event, Store, StoreError};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tracing::{info, warn};

use crate::alert::TimeRange;
use crate::detector::{DetectorSettings, Observation};
use crate::evidence::{self, bucket_end, EpisodeReadings};
use crate::lifecycle::{AlertKind, EpisodeId, SeriesMonitor, Transition};

/// The environment variable of the crash-test hook: when it is `after_alert_commit`, the
/// process aborts right after the first store transaction that queued a notification commits,
/// before anything is delivered. It exists so tests can prove the outbox survives a crash at
/// the worst moment; it has no other use.
pub const FAILPOINT_ENV: &str = "EARFUL_FAILPOINT";

/// How much index history the detector is rebuilt from.
const HISTORY_DAYS: i64 = 35;

/// Why an evaluation failed.
#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    /// The index could not answer.
    #[error("alert evaluation: {0}")]
    Index(#[from] IndexError),
    /// The store could not be written.
    #[error("alert evaluation: {0}")]
    Store(#[from] StoreError),
    /// The lexicon overrides are invalid.
    #[error("alert evaluation: sentiment lexicon: {0}")]
    Lexicon(#[from] earful_sentiment::LexiconError),
    /// The evidence could not be written as JSON.
    #[error("alert evaluation: evidence: {0}")]
    Json(#[from] serde_json::Error),
}

/// Where one channel's notifications go and which it hears.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The channel name (the outbox key).
    pub channel: String,
    /// Only these watches; all when empty.
    pub watches: Vec<String>,
    /// Whether resolves are sent.
    pub send_resolved: bool,
}

impl Route {
    /// The routes of `[[notify]]`.
    pub fn from_config(notifiers: &[NotifyConfig]) -> Vec<Route> {
        notifiers
            .iter()
            .map(|notifier| Route {
                channel: notifier.channel_name(),
                watches: notifier.watches.clone(),
                send_resolved: notifier.send_resolved,
            })
            .collect()
    }

    fn hears(&self, watch: &str, event: Event) -> bool {
        (self.watches.is_empty() || self.watches.iter().any(|name| name == watch))
            && (event == Event::Firing || self.send_resolved)
    }
}

/// What the evaluator needs beyond the index and the store.
#[derive(Clone, Debug)]
pub struct EvaluatorSettings {
    /// Watches and the alert kinds each has.
    pub watches: Vec<(String, Vec<AlertKind>)>,
    /// Detector and hygiene settings.
    pub detector: DetectorSettings,
    /// The channels.
    pub routes: Vec<Route>,
    /// Transitions older than this are recorded but not sent.
    pub notify_window: Duration,
}

/// What one evaluation did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvaluationReport {
    /// Series (watch × kind) evaluated.
    pub series: usize,
    /// Alerts whose state moved (or that were new).
    pub state_changes: usize,
    /// Notifications added to the outbox.
    pub queued: usize,
    /// Buckets the detector refused.
    pub skipped_buckets: usize,
}

/// Evaluates every watch's series against the index and records the outcome in the store.
#[derive(Debug)]
pub struct Evaluator {
    settings: EvaluatorSettings,
    analyzer: Analyzer,
    failpoint: bool,
}

/// The stable id of an alert episode: `al_` and 16 hex digits of a SHA-256 of
/// `watch/kind/episode start`.
pub fn alert_id(episode: &EpisodeId) -> String {
    let digest = Sha256::digest(episode.to_string().as_bytes());
    let hex: String = digest
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("al_{hex}")
}

impl Evaluator {
    /// An evaluator for a config's watches, `[alerting]` and `[[notify]]`.
    pub fn from_config(config: &Config) -> Result<Evaluator, EvaluateError> {
        let settings = EvaluatorSettings {
            watches: config
                .watches
                .iter()
                .map(|watch| (watch.name.clone(), watch.alerts.clone()))
                .collect(),
            detector: DetectorSettings::from_sensitivity(
                config.alerting.sensitivity,
                config.alerting.bucket.0,
            ),
            routes: Route::from_config(&config.notifiers),
            notify_window: Duration::from_secs(3_600),
        };
        let overrides = config
            .sentiment
            .lexicon
            .iter()
            .map(|(word, valence)| (word.clone(), *valence));
        Ok(Evaluator::new(
            settings,
            Analyzer::with_overrides(overrides)?,
        ))
    }

    /// An evaluator with explicit settings.
    pub fn new(settings: EvaluatorSettings, analyzer: Analyzer) -> Evaluator {
        Evaluator {
            settings,
            analyzer,
            failpoint: std::env::var(FAILPOINT_ENV)
                .is_ok_and(|value| value == "after_alert_commit"),
        }
    }

    /// Evaluates every closed bucket up to `now`.
    pub fn evaluate(
        &self,
        index: &MentionIndex,
        store: &mut Store,
        now: OffsetDateTime,
    ) -> Result<EvaluationReport, EvaluateError> {
        let mut report = EvaluationReport::default();
        for (watch, kinds) in &self.settings.watches {
            for kind in kinds {
                self.evaluate_series(index, store, watch, *kind, now, &mut report)?;
                report.series += 1;
            }
        }
        info!(
            series = report.series,
            state_changes = report.state_changes,
            queued = report.queued,
            "alerts evaluated"
        );
        Ok(report)
    }

    fn bucket_seconds(&self) -> u64 {
        self.settings.detector.bucket.as_secs().max(1)
    }

    /// The closed buckets of one series, oldest first, from its first mention.
    fn history(
        &self,
        index: &MentionIndex,
        watch: &str,
        kind: AlertKind,
        now: OffsetDateTime,
    ) -> Result<Vec<(OffsetDateTime, f64)>, EvaluateError> {
        let width = self.bucket_seconds() as i64;
        let until_seconds = now.unix_timestamp().div_euclid(width) * width;
        let until = OffsetDateTime::from_unix_timestamp(until_seconds)
            .map_err(|error| IndexError::BadRequest(format!("evaluation time: {error}")))?;
        let filters = Filters {
            watch: Some(watch.to_string()),
            since: Some(until - time::Duration::days(HISTORY_DAYS)),
            until: Some(until),
            ..Filters::default()
        };
        let everything = MentionQuery::parse("")
            .map_err(|error| IndexError::BadRequest(format!("the match-all query: {error}")))?;
        let buckets = index.timeline(&everything, &filters, self.settings.detector.bucket)?;
        let label = evidence::counted_label(kind);
        let series: Vec<(OffsetDateTime, f64)> = buckets
            .into_iter()
            .filter(|bucket| bucket.start < until)
            // The series starts with the watch's first mention: weeks of zeros before it would
            // teach the baseline that nothing is normal.
            .skip_while(|bucket| bucket.total == 0)
            .map(|bucket| {
                let value = match label {
                    Some(label) => bucket.count(label),
                    None => bucket.total,
                };
                (bucket.start, value as f64)
            })
            .collect();
        Ok(series)
    }

    fn evaluate_series(
        &self,
        index: &MentionIndex,
        store: &mut Store,
        watch: &str,
        kind: AlertKind,
        now: OffsetDateTime,
        report: &mut EvaluationReport,
    ) -> Result<(), EvaluateError> {
        let history = self.history(index, watch, kind, now)?;
        let mut monitor = SeriesMonitor::new(watch, kind, self.settings.detector.clone());
        let mut observations: Vec<Observation> = Vec::with_capacity(history.len());
        let mut transitions = Vec::new();
        for (bucket_start, value) in history {
            match monitor.observe(bucket_start, value) {
                Ok(step) => {
                    observations.push(step.observation);
                    transitions.extend(step.transition);
                }
                Err(error) => {
                    report.skipped_buckets += 1;
                    warn!(watch, kind = %kind, %error, "bucket skipped");
                }
            }
        }
        let silenced = store.silence_for(watch, now)?.is_some();
        for transition in &transitions {
            self.record_transition(
                index,
                store,
                transition,
                &observations,
                now,
                silenced,
                report,
            )?;
        }
        // The episode under way: record it pending, or refresh a firing one's evidence.
        if let Some(episode) = monitor.tracker().episode() {
            let state = if episode.fired_at.is_some() {
                AlertState::Firing
            } else {
                AlertState::Pending
            };
            let window_end = bucket_end(episode.latest.bucket_start, self.bucket_seconds());
            let write = self.write_for(
                index,
                &episode.id,
                state,
                window_end,
                &episode.peak,
                &observations,
            )?;
            let outcome = store.record_alert(&write, None, &[])?;
            report.state_changes += usize::from(outcome.state_changed);
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn record_transition(
        &self,
        index: &MentionIndex,
        store: &mut Store,
        transition: &Transition,
        observations: &[Observation],
        now: OffsetDateTime,
        silenced: bool,
        report: &mut EvaluationReport,
    ) -> Result<(), EvaluateError> {
        let (id, state, event, at, peak, notify) = match transition {
            Transition::Pending { .. } => return Ok(()),
            Transition::Cancelled { id } => {
                store.discard_pending(&alert_id(id))?;
                return Ok(());
            }
            Transition::Fired {
                id,
                observation,
                peak,
                notify,
            } => (
                id,
                AlertState::Firing,
                Event::Firing,
                observation.bucket_start,
                peak,
                *notify,
            ),
            Transition::Resolved {
                id,
                resolved_at,
                peak,
                notify,
                ..
            } => (
                id,
                AlertState::Resolved,
                Event::Resolved,
                *resolved_at,
                peak,
                *notify,
            ),
        };
        let key = alert_id(id);
        if let Some(stored) = store.alert(&key)? {
            if stored.state >= state {
                return Ok(());
            }
        }
        let window_end = bucket_end(at, self.bucket_seconds());
        let write = self.write_for(index, id, state, window_end, peak, observations)?;
        let recent = window_end + self.settings.notify_window >= now;
        let channels: Vec<String> = if notify && recent && !silenced {
            self.settings
                .routes
                .iter()
                .filter(|route| route.hears(&id.watch, event))
                .map(|route| route.channel.clone())
                .collect()
        } else {
            Vec::new()
        };
        let outcome = store.record_alert(&write, Some(event), &channels)?;
        report.state_changes += usize::from(outcome.state_changed);
        report.queued += outcome.queued;
        info!(
            alert = %key,
            watch = %id.watch,
            kind = %id.kind,
            state = %state,
            queued = outcome.queued,
            "alert recorded"
        );
        if self.failpoint && outcome.queued > 0 {
            // The crash-test hook: see FAILPOINT_ENV.
            std::process::abort();
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn write_for(
        &self,
        index: &MentionIndex,
        id: &EpisodeId,
        state: AlertState,
        window_end: OffsetDateTime,
        peak: &Observation,
        observations: &[Observation],
    ) -> Result<AlertWrite, EvaluateError> {
        let window = TimeRange {
            start: id.started_at,
            end: window_end,
        };
        let in_window: Vec<Observation> = observations
            .iter()
            .filter(|observation| {
                observation.bucket_start >= window.start && observation.bucket_start < window.end
            })
            .cloned()
            .collect();
        let readings = EpisodeReadings {
            watch: &id.watch,
            kind: id.kind,
            bucket_seconds: self.bucket_seconds(),
            window,
            observations: &in_window,
            peak,
        };
        let evidence = evidence::gather(index, &self.analyzer, &readings)?;
        Ok(AlertWrite {
            id: alert_id(id),
            watch: id.watch.clone(),
            kind: id.kind.as_str().to_string(),
            episode_start: id.started_at,
            state,
            // Data time, not wall time: a replayed episode keeps the times it happened at.
            at: window_end,
            evidence: serde_json::to_value(&evidence)?,
        })
    }
}
