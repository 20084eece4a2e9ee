//! The poll engine: builds every configured source, polls the due ones through one shared
//! [`HttpClient`], hands each poll's mentions and cursor to the next stage through a bounded
//! channel (a slow index slows the collectors), and keeps each source's schedule, health and
//! metrics.
//!
//! Cursors: what a source commits is a [`CommittedCursor`] — the source's own cursor plus the
//! HTTP validators of the URLs it fetched — travelling in the [`SourceBatch`] with the mentions
//! it led to. The index writer commits both together, and a restart reads the cursors back
//! from the last commit, so nothing is lost and nothing is fetched twice.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use earful_core::config::{CollectConfig, Config, SourceConfig, SourceKind};
use earful_core::{MentionInput, MentionQuery};
use futures::{FutureExt, StreamExt};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::mpsc;

use crate::fetch::{ClientError, FetchOptions, HttpClient, HttpState};
use crate::health::{HealthState, LastError, SourceHealth, RECENT_SKIPS};
use crate::metrics::CollectMetrics;
use crate::schedule::SchedulePolicy;
use crate::source::{PollContext, SearchTerm, SourceError};
use crate::sources::{self, AnySource};

/// The committed cursor format version.
pub const CURSOR_VERSION: u32 = 1;

/// The environment variable of the crash-test hooks (shared with the alert evaluator's).
/// `poll_panic:NAME` makes every poll of the source `NAME` panic, to prove a panicking source
/// is caught, recorded as a failure and retried alone.
pub const FAILPOINT_ENV: &str = "EARFUL_FAILPOINT";

/// A source's cursor as committed in the index: its own part and the HTTP validators.
///
/// ```json
/// {"version": 1, "source": {"version": 1, "queries": {…}}, "http": {"validators": {"https://…": {"etag": "\"v1\""}}}}
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CommittedCursor {
    /// Format version ([`CURSOR_VERSION`]).
    pub version: u32,
    /// The source module's own cursor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<serde_json::Value>,
    /// ETag / Last-Modified by URL.
    #[serde(default)]
    pub http: HttpState,
}

impl CommittedCursor {
    /// Reads a committed cursor. One this build cannot read starts the source afresh from the
    /// look-back window: re-fetched mentions are upserts, so that costs requests, never
    /// duplicates.
    pub fn from_committed(source: &str, value: &serde_json::Value) -> Option<CommittedCursor> {
        match serde_json::from_value::<CommittedCursor>(value.clone()) {
            Ok(cursor) if cursor.version == CURSOR_VERSION => Some(cursor),
            Ok(cursor) => {
                tracing::warn!(
                    source,
                    version = cursor.version,
                    "committed cursor has another version; starting from the look-back window"
                );
                None
            }
            Err(error) => {
                tracing::warn!(source, %error, "committed cursor unreadable; starting from the look-back window");
                None
            }
        }
    }
}

/// How the engine runs. `Default` suits tests; [`EngineOptions::from_config`] the binary.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// HTTP settings.
    pub fetch: FetchOptions,
    /// How far back a first run looks (24 h).
    pub lookback: Duration,
    /// The scheduling rules.
    pub policy: SchedulePolicy,
    /// Sources polled at once (each holds its poll's mentions until the next stage takes
    /// them, so this bounds memory too).
    pub max_concurrent_polls: usize,
}

impl Default for EngineOptions {
    fn default() -> EngineOptions {
        EngineOptions {
            fetch: FetchOptions::default(),
            lookback: Duration::from_secs(24 * 3_600),
            policy: SchedulePolicy::default(),
            max_concurrent_polls: 32,
        }
    }
}

impl EngineOptions {
    /// The options a `[collect]` section asks for.
    pub fn from_config(config: &CollectConfig) -> EngineOptions {
        EngineOptions {
            fetch: FetchOptions {
                contact_url: config.contact_url.clone(),
                timeout: config.timeout.0,
                body_cap: config.max_body_mb.saturating_mul(1024 * 1024),
                max_concurrent: config.max_concurrent,
                max_concurrent_per_host: config.max_concurrent_per_host,
            },
            lookback: config.lookback.0,
            policy: SchedulePolicy::default(),
            max_concurrent_polls: config.max_concurrent.max(1),
        }
    }
}

/// One poll's output for the enrich/index stage: the mentions and the cursor to commit with
/// them.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceBatch {
    /// The configured source's name (the cursor's key).
    pub source: String,
    /// Its kind.
    pub kind: SourceKind,
    /// Mentions to enrich and index.
    pub mentions: Vec<MentionInput>,
    /// The watches every one of these mentions belongs to whatever its text says: the
    /// `watches` of a source that reads a fixed feed (`feed`, `appstore`), whose items rarely
    /// name the brand (an app's own reviews). Empty for searching sources, whose `watches`
    /// only choose what to search for.
    pub bound_watches: Vec<String>,
    /// The [`CommittedCursor`], serialized.
    pub cursor: serde_json::Value,
}

/// What one poll of one source came to.
#[derive(Clone, Debug, PartialEq)]
pub struct PollReport {
    /// The configured source's name.
    pub source: String,
    /// Its kind.
    pub kind: SourceKind,
    /// Mentions handed on.
    pub items: usize,
    /// Items skipped as malformed.
    pub skipped: usize,
    /// Requests made.
    pub requests: u64,
    /// 304s / unchanged ETags.
    pub not_modified: u64,
    /// Why it failed, when it did.
    pub error: Option<LastError>,
    /// The source's health after the poll.
    pub health: SourceHealth,
}

/// What [`Engine::reconfigure`] changed, by source name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourcesDiff {
    /// Sources new in the config (or enabled again).
    pub added: Vec<String>,
    /// Sources no longer in the config (or disabled).
    pub removed: Vec<String>,
    /// Sources whose settings or search terms changed: rebuilt, their cursor and health
    /// kept, and polled at once.
    pub changed: Vec<String>,
}

impl SourcesDiff {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// The engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The HTTP client could not be built.
    #[error(transparent)]
    Client(#[from] ClientError),
}

/// The clock the engine reads; a test injects its own.
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

struct Slot {
    config: SourceConfig,
    /// `Err` when the source cannot run with its settings: reported at every poll, so it
    /// is never silently absent.
    source: Result<AnySource, String>,
    terms: Vec<SearchTerm>,
    cursor: Option<CommittedCursor>,
    health: SourceHealth,
    rng: StdRng,
}

impl Slot {
    fn new(
        config: &Config,
        source_config: &SourceConfig,
        committed: &BTreeMap<String, serde_json::Value>,
        health: &mut BTreeMap<String, SourceHealth>,
    ) -> Slot {
        Slot {
            source: sources::build(source_config).map_err(|error| error.to_string()),
            terms: search_terms(config, source_config),
            cursor: committed
                .get(&source_config.name)
                .and_then(|value| CommittedCursor::from_committed(&source_config.name, value)),
            health: health.remove(&source_config.name).unwrap_or_default(),
            config: source_config.clone(),
            rng: StdRng::from_os_rng(),
        }
    }
}

/// The poll engine over every enabled source of a config.
pub struct Engine {
    client: HttpClient,
    slots: Vec<Slot>,
    options: EngineOptions,
    metrics: Arc<CollectMetrics>,
    clock: Clock,
    /// The source whose polls panic on purpose (see [`FAILPOINT_ENV`]).
    panic_failpoint: Option<String>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Engine")
            .field("sources", &self.slots.len())
            .field("options", &self.options)
            .finish()
    }
}

impl Engine {
    /// Builds the engine for the config's enabled sources, resuming from the cursors of the
    /// last commit and the health records last saved.
    pub fn new(
        config: &Config,
        options: EngineOptions,
        committed: &BTreeMap<String, serde_json::Value>,
        mut health: BTreeMap<String, SourceHealth>,
    ) -> Result<Engine, EngineError> {
        let client = HttpClient::new(options.fetch.clone())?;
        let slots = config
            .sources
            .iter()
            .filter(|source| source.enabled)
            .map(|source_config| Slot::new(config, source_config, committed, &mut health))
            .collect();
        let panic_failpoint = std::env::var(FAILPOINT_ENV)
            .ok()
            .and_then(|value| value.strip_prefix("poll_panic:").map(str::to_string));
        Ok(Engine {
            client,
            slots,
            options,
            metrics: Arc::new(CollectMetrics::default()),
            clock: Arc::new(OffsetDateTime::now_utc),
            panic_failpoint,
        })
    }

    /// Applies a new config's sources without a restart: an unchanged source keeps its slot
    /// (cursor, health, schedule); a changed one is rebuilt with its cursor and health and
    /// polled at once (its cursor is dropped when its kind changed); a new one starts from
    /// `committed` and `health` as [`Engine::new`] would; a removed one stops. The HTTP
    /// settings of `[collect]` are not changed here (they need a restart).
    pub fn reconfigure(
        &mut self,
        config: &Config,
        committed: &BTreeMap<String, serde_json::Value>,
        mut health: BTreeMap<String, SourceHealth>,
    ) -> SourcesDiff {
        let mut running: BTreeMap<String, Slot> = self
            .slots
            .drain(..)
            .map(|slot| (slot.config.name.clone(), slot))
            .collect();
        let mut diff = SourcesDiff::default();
        for source_config in config.sources.iter().filter(|source| source.enabled) {
            let name = source_config.name.clone();
            let terms = search_terms(config, source_config);
            match running.remove(&name) {
                Some(slot) if slot.config == *source_config && slot.terms == terms => {
                    self.slots.push(slot);
                }
                Some(mut slot) => {
                    if slot.config.kind != source_config.kind {
                        // Another kind's cursor means nothing to this one.
                        slot.cursor = None;
                    }
                    slot.source = sources::build(source_config).map_err(|error| error.to_string());
                    slot.config = source_config.clone();
                    slot.terms = terms;
                    slot.health.next_attempt = None;
                    self.slots.push(slot);
                    diff.changed.push(name);
                }
                None => {
                    self.slots
                        .push(Slot::new(config, source_config, committed, &mut health));
                    diff.added.push(name);
                }
            }
        }
        diff.removed = running.into_keys().collect();
        diff
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: Clock) -> Engine {
        self.clock = clock;
        self
    }

    /// The metrics registry.
    pub fn metrics(&self) -> Arc<CollectMetrics> {
        Arc::clone(&self.metrics)
    }

    /// Every source's name, kind and health.
    pub fn health(&self) -> Vec<(String, SourceKind, SourceHealth)> {
        self.slots
            .iter()
            .map(|slot| {
                (
                    slot.config.name.clone(),
                    slot.config.kind,
                    slot.health.clone(),
                )
            })
            .collect()
    }

    /// When the next source is due, if any source is configured.
    pub fn next_due(&self) -> Option<OffsetDateTime> {
        let now = (self.clock)();
        self.slots
            .iter()
            .map(|slot| slot.health.next_attempt.unwrap_or(now))
            .min()
    }

    /// Polls every source once, whatever its schedule (`earful collect --once`).
    pub async fn poll_all(&mut self, sink: &mpsc::Sender<SourceBatch>) -> Vec<PollReport> {
        self.poll_where(sink, |_, _| true).await
    }

    /// Polls the sources whose next attempt is due (the daemon's step).
    pub async fn poll_due(&mut self, sink: &mpsc::Sender<SourceBatch>) -> Vec<PollReport> {
        let now = (self.clock)();
        self.poll_where(sink, move |slot, _| {
            slot.health.next_attempt.is_none_or(|due| due <= now)
        })
        .await
    }

    /// Polls due sources until `shutdown` completes, sleeping until the next one is due.
    pub async fn run(
        &mut self,
        sink: mpsc::Sender<SourceBatch>,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        loop {
            let now = (self.clock)();
            let wait = match self.next_due() {
                Some(due) if due > now => Duration::try_from(due - now).unwrap_or_default(),
                Some(_) => Duration::ZERO,
                None => Duration::from_secs(3_600),
            };
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(wait) => {}
            }
            if sink.is_closed() {
                return;
            }
            self.poll_due(&sink).await;
        }
    }

    async fn poll_where(
        &mut self,
        sink: &mpsc::Sender<SourceBatch>,
        due: impl Fn(&Slot, OffsetDateTime) -> bool,
    ) -> Vec<PollReport> {
        let now = (self.clock)();
        let client = &self.client;
        let options = &self.options;
        let metrics = &self.metrics;
        let clock = &self.clock;
        let panic_failpoint = self.panic_failpoint.as_deref();
        // Built eagerly: a lazy iterator of closures held across the await would keep the
        // future from being provably `Send`, and the daemon spawns it.
        let polls: Vec<_> = self
            .slots
            .iter_mut()
            .filter(|slot| due(slot, now))
            .map(|slot| {
                let panics = panic_failpoint == Some(slot.config.name.as_str());
                poll_slot(slot, client, options, metrics, clock, sink, panics)
            })
            .collect();
        futures::stream::iter(polls)
            .buffer_unordered(self.options.max_concurrent_polls.max(1))
            .collect()
            .await
    }
}

/// Why a poll failed, as the health record and the metrics class it.
struct Failure {
    class: &'static str,
    message: String,
    retry_after: Option<Duration>,
}

impl From<SourceError> for Failure {
    fn from(error: SourceError) -> Failure {
        Failure {
            class: error.class(),
            message: error.to_string(),
            retry_after: error.retry_after(),
        }
    }
}

/// The text of a caught panic (a `&str` or `String` payload; anything else is unnamed).
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// The watches a source's items belong to regardless of their text (see
/// [`SourceBatch::bound_watches`]).
fn bound_watches(source: &SourceConfig) -> Vec<String> {
    if source.kind.searches_watches() {
        Vec::new()
    } else {
        source.watches.clone()
    }
}

/// The remote search terms of a source's watches.
fn search_terms(config: &Config, source: &SourceConfig) -> Vec<SearchTerm> {
    let mut terms = Vec::new();
    for watch_name in &source.watches {
        let Some(watch) = config.watch(watch_name) else {
            continue;
        };
        // The config check has parsed every query already; one that fails here gives no terms.
        let Ok(query) = MentionQuery::parse(&watch.query) else {
            continue;
        };
        for (text, phrase) in query.search_terms() {
            terms.push(SearchTerm {
                watch: watch.name.clone(),
                text,
                phrase,
            });
        }
    }
    terms
}

async fn poll_slot(
    slot: &mut Slot,
    client: &HttpClient,
    options: &EngineOptions,
    metrics: &CollectMetrics,
    clock: &Clock,
    sink: &mpsc::Sender<SourceBatch>,
    panics: bool,
) -> PollReport {
    let now = clock();
    let interval = slot.config.interval.0;
    let policy = &options.policy;
    let name = slot.config.name.clone();
    let kind = slot.config.kind;
    // Scheduled before the fetch: whatever happens next, no tight loop.
    slot.health.last_attempt = Some(now);
    slot.health.next_attempt = Some(policy.provisional(now, interval));
    slot.health.polls += 1;

    let http = slot
        .cursor
        .as_ref()
        .map(|cursor| cursor.http.clone())
        .unwrap_or_default();
    let mut fetcher = client.fetcher(http);
    let lookback = time::Duration::try_from(options.lookback).unwrap_or(time::Duration::DAY);
    let result = match &slot.source {
        Ok(source) => {
            let context = PollContext {
                name: &name,
                cursor: slot
                    .cursor
                    .as_ref()
                    .and_then(|cursor| cursor.source.as_ref()),
                first_run_since: now - lookback,
                now,
                terms: &slot.terms,
            };
            let poll = async {
                if panics {
                    panic!("failpoint `poll_panic:{name}`");
                }
                source.poll(&mut fetcher, &context).await
            };
            // Supervision: a bug in one source module becomes that source's failure, retried
            // with its backoff, instead of taking the daemon down.
            match AssertUnwindSafe(poll).catch_unwind().await {
                Ok(result) => result.map_err(Failure::from),
                Err(panic) => Err(Failure {
                    class: "panic",
                    message: format!("the poll panicked: {}", panic_message(panic.as_ref())),
                    retry_after: None,
                }),
            }
        }
        Err(problem) => Err(Failure::from(SourceError::Settings(problem.clone()))),
    };
    let (http, signals) = fetcher.finish();
    let finished = clock();
    slot.health.requests += signals.requests;
    slot.health.not_modified += signals.not_modified;
    metrics.update(&name, kind.as_str(), |counters| {
        counters.polls += 1;
        counters.requests += signals.requests;
        counters.not_modified += signals.not_modified;
        for seconds in &signals.latencies {
            counters.observe_latency(*seconds);
        }
    });

    let outcome = match result {
        Ok(collected) => {
            let previous_source = slot
                .cursor
                .as_ref()
                .and_then(|cursor| cursor.source.clone());
            let cursor = CommittedCursor {
                version: CURSOR_VERSION,
                source: collected.cursor.or(previous_source),
                http,
            };
            let changed = slot.cursor.as_ref() != Some(&cursor);
            let items = collected.mentions.len();
            let skipped: Vec<String> = collected
                .skipped
                .into_iter()
                .map(|item| item.reason)
                .collect();
            for reason in &skipped {
                tracing::warn!(source = %name, reason = %reason, "item skipped");
            }
            let delivered = if items > 0 || changed {
                match serde_json::to_value(&cursor) {
                    Ok(cursor_value) => sink
                        .send(SourceBatch {
                            source: name.clone(),
                            kind,
                            mentions: collected.mentions,
                            bound_watches: bound_watches(&slot.config),
                            cursor: cursor_value,
                        })
                        .await
                        .map_err(|_| "the index stage has stopped".to_string()),
                    Err(error) => Err(format!("cannot serialize the cursor: {error}")),
                }
            } else {
                Ok(())
            };
            match delivered {
                Ok(()) => {
                    slot.cursor = Some(cursor);
                    Ok((items, skipped))
                }
                Err(problem) => Err(Failure {
                    class: "settings",
                    message: problem,
                    retry_after: None,
                }),
            }
        }
        Err(failure) => Err(failure),
    };

    match outcome {
        Ok((items, skipped)) => {
            slot.health.state = HealthState::Ok;
            slot.health.last_success = Some(finished);
            slot.health.consecutive_failures = 0;
            slot.health.items += items as u64;
            slot.health.skipped += skipped.len() as u64;
            slot.health.recent_skips = skipped.iter().take(RECENT_SKIPS).cloned().collect();
            let next = policy.after_success(finished, interval, &signals, &mut slot.rng);
            slot.health.next_attempt = Some(next);
            metrics.update(&name, kind.as_str(), |counters| {
                counters.items += items as u64;
                counters.skipped += skipped.len() as u64;
            });
            tracing::info!(source = %name, kind = %kind, items, skipped = skipped.len(), requests = signals.requests, not_modified = signals.not_modified, "poll done");
            PollReport {
                source: name,
                kind,
                items,
                skipped: skipped.len(),
                requests: signals.requests,
                not_modified: signals.not_modified,
                error: None,
                health: slot.health.clone(),
            }
        }
        Err(Failure {
            class,
            message,
            retry_after,
        }) => {
            slot.health.consecutive_failures = slot.health.consecutive_failures.saturating_add(1);
            slot.health.failures += 1;
            let failures = slot.health.consecutive_failures;
            slot.health.state = if policy.is_failing(failures) {
                HealthState::Failing
            } else {
                HealthState::BackingOff
            };
            let last_error = LastError {
                class: class.to_string(),
                message: message.clone(),
                at: finished,
            };
            slot.health.last_error = Some(last_error.clone());
            let next = policy.after_failure(
                finished,
                interval,
                failures,
                retry_after,
                &signals,
                &mut slot.rng,
            );
            slot.health.next_attempt = Some(next);
            metrics.update(&name, kind.as_str(), |counters| {
                *counters.errors.entry(class.to_string()).or_default() += 1;
            });
            tracing::warn!(source = %name, kind = %kind, class, failures, error = %message, next_attempt = %earful_core::time::format_timestamp(next), "poll failed");
            PollReport {
                source: name,
                kind,
                items: 0,
                skipped: 0,
                requests: signals.requests,
                not_modified: signals.not_modified,
                error: Some(last_error),
                health: slot.health.clone(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// Feeds on a loopback port nobody listens on: every poll fails fast with `connect`.
    fn config(sources: &[(&str, &str)]) -> Config {
        let mut text = String::from(
            "version = 1\n[[watch]]\nname = \"acme\"\nquery = \"acme\"\n[[watch]]\nname = \"globex\"\nquery = \"globex\"\n",
        );
        for (name, extra) in sources {
            text.push_str(&format!(
                "[[source]]\nname = \"{name}\"\nkind = \"feed\"\nurl = \"http://127.0.0.1:9/{name}.xml\"\n{extra}\n"
            ));
        }
        Config::parse(&text, "test.toml", |_| None).unwrap()
    }

    fn engine(config: &Config) -> Engine {
        let options = EngineOptions {
            fetch: FetchOptions {
                timeout: Duration::from_secs(5),
                ..FetchOptions::default()
            },
            ..EngineOptions::default()
        };
        Engine::new(config, options, &BTreeMap::new(), BTreeMap::new()).unwrap()
    }

    fn health_of(engine: &Engine, name: &str) -> SourceHealth {
        engine
            .health()
            .into_iter()
            .find(|(source, _, _)| source == name)
            .map(|(_, _, health)| health)
            .unwrap()
    }

    #[tokio::test]
    async fn a_panicking_poll_is_that_sources_failure_and_the_others_go_on() {
        let config = config(&[("steady", ""), ("buggy", "")]);
        let mut engine = engine(&config);
        engine.panic_failpoint = Some("buggy".to_string());
        let (sender, _receiver) = mpsc::channel(4);
        let reports = engine.poll_all(&sender).await;
        assert_eq!(reports.len(), 2);
        let buggy = reports.iter().find(|r| r.source == "buggy").unwrap();
        let error = buggy.error.as_ref().unwrap();
        assert_eq!(error.class, "panic");
        assert!(
            error.message.contains("poll_panic:buggy"),
            "{}",
            error.message
        );
        assert_eq!(buggy.health.consecutive_failures, 1);
        assert_eq!(buggy.health.state, HealthState::BackingOff);
        // Retried with the backoff, not at once and not never.
        let next = buggy.health.next_attempt.unwrap();
        assert!(next > buggy.health.last_attempt.unwrap());
        let steady = reports.iter().find(|r| r.source == "steady").unwrap();
        assert_eq!(steady.error.as_ref().unwrap().class, "connect");
        let counters = engine.metrics().source("buggy").unwrap();
        assert_eq!(counters.errors.get("panic"), Some(&1));
    }

    #[tokio::test]
    async fn reconfigure_keeps_unchanged_slots_and_reports_the_diff() {
        let before = config(&[
            ("kept", "watches = [\"acme\"]"),
            ("retuned", "interval = \"5m\""),
            ("dropped", ""),
        ]);
        let mut engine = engine(&before);
        let (sender, _receiver) = mpsc::channel(4);
        engine.poll_all(&sender).await;
        let kept_before = health_of(&engine, "kept");
        assert_eq!(kept_before.polls, 1);
        assert!(kept_before.next_attempt.is_some());

        let after = config(&[
            ("added", ""),
            ("kept", "watches = [\"acme\"]"),
            ("retuned", "interval = \"10m\""),
            ("disabled", "enabled = false"),
        ]);
        let stored = BTreeMap::from([(
            "added".to_string(),
            SourceHealth {
                polls: 7,
                ..SourceHealth::default()
            },
        )]);
        let diff = engine.reconfigure(&after, &BTreeMap::new(), stored);
        assert_eq!(diff.added, vec!["added".to_string()]);
        assert_eq!(diff.removed, vec!["dropped".to_string()]);
        assert_eq!(diff.changed, vec!["retuned".to_string()]);
        assert!(!diff.is_empty());
        // The unchanged source keeps its schedule and history; the changed one keeps its
        // history and is due at once; the new one starts from the stored health.
        assert_eq!(health_of(&engine, "kept"), kept_before);
        let retuned = health_of(&engine, "retuned");
        assert_eq!(retuned.polls, 1);
        assert_eq!(retuned.next_attempt, None);
        assert_eq!(health_of(&engine, "added").polls, 7);
        let names: Vec<String> = engine
            .health()
            .into_iter()
            .map(|(name, _, _)| name)
            .collect();
        assert_eq!(names, ["added", "kept", "retuned"]);

        // The same config again changes nothing.
        assert!(engine
            .reconfigure(&after, &BTreeMap::new(), BTreeMap::new())
            .is_empty());
    }
}
