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
use std::sync::Arc;
use std::time::Duration;

use earful_core::config::{CollectConfig, Config, SourceConfig, SourceKind};
use earful_core::{MentionInput, MentionQuery};
use futures::StreamExt;
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

/// The poll engine over every enabled source of a config.
pub struct Engine {
    client: HttpClient,
    slots: Vec<Slot>,
    options: EngineOptions,
    metrics: Arc<CollectMetrics>,
    clock: Clock,
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
        let mut slots = Vec::new();
        for source_config in config.sources.iter().filter(|source| source.enabled) {
            let source = sources::build(source_config).map_err(|error| error.to_string());
            slots.push(Slot {
                terms: search_terms(config, source_config),
                cursor: committed
                    .get(&source_config.name)
                    .and_then(|value| CommittedCursor::from_committed(&source_config.name, value)),
                health: health.remove(&source_config.name).unwrap_or_default(),
                config: source_config.clone(),
                source,
                rng: StdRng::from_os_rng(),
            });
        }
        Ok(Engine {
            client,
            slots,
            options,
            metrics: Arc::new(CollectMetrics::default()),
            clock: Arc::new(OffsetDateTime::now_utc),
        })
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
        let polls = self
            .slots
            .iter_mut()
            .filter(|slot| due(slot, now))
            .map(|slot| poll_slot(slot, client, options, metrics, clock, sink));
        futures::stream::iter(polls)
            .buffer_unordered(self.options.max_concurrent_polls.max(1))
            .collect()
            .await
    }
}

/// The remote search terms of a source's watches.
/// The watches a source's items belong to regardless of their text (see
/// [`SourceBatch::bound_watches`]).
fn bound_watches(source: &SourceConfig) -> Vec<String> {
    if source.kind.searches_watches() {
        Vec::new()
    } else {
        source.watches.clone()
    }
}

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
            source.poll(&mut fetcher, &context).await
        }
        Err(problem) => Err(SourceError::Settings(problem.clone())),
    };
    let (http, signals) = fetcher.finish();
    let finished = clock();
    slot.health.requests += signals.requests;
    slot.health.not_modified += signals.not_modified;
    metrics.update(&name, kind.as_str(), |counters| {
        counters.requests += signals.requests;
        counters.not_modified += signals.not_modified;
        counters.latency_count += signals.latencies.len() as u64;
        counters.latency_seconds_sum += signals.latencies.iter().sum::<f64>();
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
                Err(problem) => Err(("settings", problem, None)),
            }
        }
        Err(error) => Err((error.class(), error.to_string(), error.retry_after())),
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
        Err((class, message, retry_after)) => {
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
