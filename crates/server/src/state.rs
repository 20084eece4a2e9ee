//! [`ApiState`]: what every handler reads — the index, the state database, the live part of
//! the config (watches, sources, tokens, the sentiment analyzer), the limits and the metrics.
//!
//! The live part sits behind one [`ArcSwap`]: [`ApiState::reconfigure`] swaps it whole, so a
//! request sees the old config or the new one, never a mix (a token removed in the same
//! reload as a watch is added cannot be half applied).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use earful_collect::CollectMetrics;
use earful_core::config::{Config, ServerConfig, SourceConfig, WatchConfig};
use earful_index::{IndexError, IndexMetrics, MentionIndex};
use earful_sentiment::{Analyzer, LexiconError};
use earful_store::{Store, StoreError};

use crate::auth::{Auth, ExposureError};
use crate::error::ApiError;
use crate::limits::Limits;
use crate::metrics::HttpMetrics;

/// The base URL when none is configured: the default listen address.
const DEFAULT_BASE_URL: &str = "http://127.0.0.1:7878";

/// The shared, cheaply cloned state of the server.
#[derive(Clone, Debug)]
pub struct ApiState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    index: Arc<MentionIndex>,
    live: ArcSwap<LiveConfig>,
    limits: Limits,
    ready: AtomicBool,
    /// The state database (alerts, silences, health, outbox), when the server has one.
    store: Option<Arc<Mutex<Store>>>,
    /// This server's public base URL, for links in feeds.
    base_url: String,
    collect_metrics: Option<Arc<CollectMetrics>>,
    index_metrics: Option<Arc<IndexMetrics>>,
    /// Metrics another part of the process renders itself (the scale-out roles').
    extra_metrics: Option<MetricsText>,
    http_metrics: HttpMetrics,
}

/// A part of the process that renders its own metrics as Prometheus text (one `# HELP`,
/// `# TYPE` and samples per series), appended to `/metrics` at scrape time.
#[derive(Clone)]
pub struct MetricsText(Arc<dyn Fn() -> String + Send + Sync>);

impl MetricsText {
    /// Wraps a renderer, such as `move || cluster_metrics.render()`.
    pub fn new(render: impl Fn() -> String + Send + Sync + 'static) -> MetricsText {
        MetricsText(Arc::new(render))
    }

    /// The text, as it is now.
    pub fn render(&self) -> String {
        (self.0)()
    }
}

impl std::fmt::Debug for MetricsText {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("MetricsText")
    }
}

/// The part of the config a running server takes on without a restart: watches, sources,
/// tokens and the sentiment lexicon. Read it once per request ([`ApiState::live`]) and use
/// that one value throughout, so the request sees one config.
#[derive(Debug)]
pub struct LiveConfig {
    watches: Vec<WatchConfig>,
    sources: Vec<SourceConfig>,
    /// `None` for the standard lexicon, shared as a `&'static`.
    analyzer: Option<Arc<Analyzer>>,
    auth: Auth,
}

impl LiveConfig {
    fn empty() -> LiveConfig {
        LiveConfig {
            watches: Vec::new(),
            sources: Vec::new(),
            analyzer: None,
            auth: Auth::from_config(&ServerConfig::default()),
        }
    }

    fn from_config(config: &Config) -> Result<LiveConfig, LexiconError> {
        let analyzer = if config.sentiment.lexicon.is_empty() {
            None
        } else {
            let overrides = config
                .sentiment
                .lexicon
                .iter()
                .map(|(word, valence)| (word.clone(), *valence));
            Some(Arc::new(Analyzer::with_overrides(overrides)?))
        };
        Ok(LiveConfig {
            watches: config.watches.clone(),
            sources: config.sources.clone(),
            analyzer,
            auth: Auth::from_config(&config.server),
        })
    }

    /// The configured watches.
    pub fn watches(&self) -> &[WatchConfig] {
        &self.watches
    }

    /// The configured sources.
    pub fn sources(&self) -> &[SourceConfig] {
        &self.sources
    }

    /// The analyzer whose lexicon scored the mentions, to explain their scores.
    pub fn analyzer(&self) -> &Analyzer {
        self.analyzer
            .as_deref()
            .unwrap_or_else(|| Analyzer::standard())
    }

    pub(crate) fn auth(&self) -> &Auth {
        &self.auth
    }
}

/// Why [`ApiState::reconfigure`] kept the running config.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReconfigureError {
    /// A `[sentiment] lexicon` override is invalid.
    #[error("`sentiment.lexicon`: {0}")]
    Lexicon(#[from] LexiconError),
    /// The new `[server]` section would expose reads to anyone on a public address.
    #[error(transparent)]
    Exposure(#[from] ExposureError),
}

impl ApiState {
    /// State over an open index with no watches, no sources and no tokens: reads are open to
    /// anyone who reaches the listener (mind [`crate::check_exposure`]).
    pub fn new(index: Arc<MentionIndex>) -> ApiState {
        ApiState::with_live(index, LiveConfig::empty(), DEFAULT_BASE_URL.to_string())
    }

    /// State for a validated config: its watches, sources, tokens and sentiment lexicon.
    pub fn from_config(
        index: Arc<MentionIndex>,
        config: &Config,
    ) -> Result<ApiState, LexiconError> {
        let live = LiveConfig::from_config(config)?;
        Ok(ApiState::with_live(
            index,
            live,
            format!("http://{}", config.server.listen),
        ))
    }

    fn with_live(index: Arc<MentionIndex>, live: LiveConfig, base_url: String) -> ApiState {
        ApiState {
            inner: Arc::new(Inner {
                index,
                live: ArcSwap::from_pointee(live),
                limits: Limits::default(),
                ready: AtomicBool::new(true),
                store: None,
                base_url,
                collect_metrics: None,
                index_metrics: None,
                extra_metrics: None,
                http_metrics: HttpMetrics::default(),
            }),
        }
    }

    /// Takes on the watches, sources, tokens and sentiment lexicon of `config`, atomically:
    /// every request after this sees all of the new config, every request before it saw all
    /// of the old one (a request in flight keeps the config it started with). On an error
    /// the running config stays. `server.listen` is not changed (the listener is bound once);
    /// the daemon calls this on SIGHUP after validating the file. Every clone of this state
    /// (the router's included) sees the change; call it after the `with_*` builders, which
    /// make a new state.
    pub fn reconfigure(&self, config: &Config) -> Result<(), ReconfigureError> {
        if let Some(problem) = config.server.exposure_problem() {
            return Err(ExposureError::Exposed(problem).into());
        }
        let live = LiveConfig::from_config(config)?;
        self.inner.live.store(Arc::new(live));
        self.inner.http_metrics.count_reconfiguration();
        tracing::info!(
            watches = config.watches.len(),
            sources = config.sources.len(),
            tokens = config.server.tokens.len(),
            "server reconfigured"
        );
        Ok(())
    }

    /// The live config as it is now; hold the returned value for the whole request.
    pub fn live(&self) -> Arc<LiveConfig> {
        self.inner.live.load_full()
    }

    /// The same state with other limits (tests and the daemon's flags).
    pub fn with_limits(self, limits: Limits) -> ApiState {
        self.rebuild(|inner| inner.limits = limits)
    }

    /// The same state with the tokens and anonymous-read rule of `server`.
    pub fn with_server_config(self, server: &ServerConfig) -> ApiState {
        let auth = Auth::from_config(server);
        self.rebuild(|inner| {
            let current = inner.live.load_full();
            inner.live = ArcSwap::from_pointee(LiveConfig {
                watches: current.watches.clone(),
                sources: current.sources.clone(),
                analyzer: current.analyzer.clone(),
                auth,
            });
        })
    }

    /// The same state with the collectors' metrics (the daemon passes
    /// `earful_collect::Engine::metrics()`), which `/metrics` then shows.
    pub fn with_collect_metrics(self, metrics: Arc<CollectMetrics>) -> ApiState {
        self.rebuild(|inner| inner.collect_metrics = Some(metrics))
    }

    /// The same state with the index writer's metrics, which `/metrics` then shows. The daemon
    /// feeds them from the writer:
    /// `tokio::spawn(async move { metrics.follow(writer.subscribe_commits()).await })`.
    /// Without them `/metrics` still shows the mentions in the index.
    pub fn with_index_metrics(self, metrics: Arc<IndexMetrics>) -> ApiState {
        self.rebuild(|inner| inner.index_metrics = Some(metrics))
    }

    /// The same state with metrics rendered elsewhere (the scale-out roles pass
    /// `earful_cluster::ClusterMetrics::render`), which `/metrics` then shows after its own.
    pub fn with_metrics_text(self, metrics: MetricsText) -> ApiState {
        self.rebuild(|inner| inner.extra_metrics = Some(metrics))
    }

    fn rebuild(self, change: impl FnOnce(&mut Inner)) -> ApiState {
        let mut inner = match Arc::try_unwrap(self.inner) {
            Ok(inner) => inner,
            Err(shared) => Inner {
                index: shared.index.clone(),
                live: ArcSwap::new(shared.live.load_full()),
                limits: shared.limits.clone(),
                ready: AtomicBool::new(shared.ready.load(Ordering::Relaxed)),
                store: shared.store.clone(),
                base_url: shared.base_url.clone(),
                collect_metrics: shared.collect_metrics.clone(),
                index_metrics: shared.index_metrics.clone(),
                extra_metrics: shared.extra_metrics.clone(),
                http_metrics: shared.http_metrics.clone(),
            },
        };
        change(&mut inner);
        ApiState {
            inner: Arc::new(inner),
        }
    }

    /// The same state with the state database, for the alert routes, pages and feeds, source
    /// health and the alert metrics. The server keeps its own connection (SQLite in WAL mode
    /// serves it beside the daemon's writer).
    pub fn with_state_database(self, store: Store) -> ApiState {
        self.rebuild(|inner| inner.store = Some(Arc::new(Mutex::new(store))))
    }

    /// The same state with another public base URL (behind a proxy), for links in feeds.
    pub fn with_base_url(self, base_url: impl Into<String>) -> ApiState {
        let base_url = base_url.into();
        self.rebuild(|inner| inner.base_url = base_url)
    }

    /// This server's public base URL.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// Marks the server ready or not for `/readyz` (the daemon clears it while shutting down).
    pub fn set_ready(&self, ready: bool) {
        self.inner.ready.store(ready, Ordering::Relaxed);
    }

    /// Whether `/readyz` says ready.
    pub fn is_ready(&self) -> bool {
        self.inner.ready.load(Ordering::Relaxed)
    }

    /// The index.
    pub fn index(&self) -> &Arc<MentionIndex> {
        &self.inner.index
    }

    /// The limits the router applies.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// Runs `work` on the index on the blocking pool: tantivy is synchronous and a search may
    /// take milliseconds, too long to hold an async worker.
    pub(crate) async fn with_index<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&MentionIndex) -> Result<T, IndexError> + Send + 'static,
    {
        let index = self.inner.index.clone();
        tokio::task::spawn_blocking(move || work(&index))
            .await
            .map_err(|error| ApiError::internal(format!("index task failed: {error}")))?
            .map_err(ApiError::from)
    }

    /// Runs `work` on the state database on the blocking pool (SQLite calls are synchronous).
    pub(crate) async fn with_store<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    {
        let Some(store) = self.inner.store.clone() else {
            return Err(ApiError::Unavailable(
                "alerts need the state database, and this server has none".into(),
            ));
        };
        tokio::task::spawn_blocking(move || {
            let mut store = store
                .lock()
                .map_err(|_| ApiError::internal("the state database lock is poisoned"))?;
            work(&mut store).map_err(|error| ApiError::internal(error.to_string()))
        })
        .await
        .map_err(|error| ApiError::internal(format!("store task failed: {error}")))?
    }

    /// Whether the server has the state database.
    pub(crate) fn has_store(&self) -> bool {
        self.inner.store.is_some()
    }

    pub(crate) fn collect_metrics(&self) -> Option<&Arc<CollectMetrics>> {
        self.inner.collect_metrics.as_ref()
    }

    pub(crate) fn index_metrics(&self) -> Option<&Arc<IndexMetrics>> {
        self.inner.index_metrics.as_ref()
    }

    pub(crate) fn extra_metrics(&self) -> Option<&MetricsText> {
        self.inner.extra_metrics.as_ref()
    }

    pub(crate) fn http_metrics(&self) -> &HttpMetrics {
        &self.inner.http_metrics
    }
}
