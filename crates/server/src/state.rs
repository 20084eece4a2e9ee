//! [`ApiState`]: what every handler reads — the index, the configured watches and sources, the
//! sentiment analyzer that explains scores, the tokens and the limits.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use earful_core::config::{Config, ServerConfig, SourceConfig, WatchConfig};
use earful_index::{IndexError, MentionIndex};
use earful_sentiment::{Analyzer, LexiconError};
use earful_store::{Store, StoreError};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::limits::Limits;

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
    watches: Vec<WatchConfig>,
    sources: Vec<SourceConfig>,
    /// `None` for the standard lexicon, shared as a `&'static`.
    analyzer: Option<Arc<Analyzer>>,
    auth: Auth,
    limits: Limits,
    ready: AtomicBool,
    /// The state database (alerts, silences), when the server has one.
    store: Option<Arc<Mutex<Store>>>,
    /// This server's public base URL, for links in feeds.
    base_url: String,
}

impl ApiState {
    /// State over an open index with no watches, no sources and no tokens: reads are open to
    /// anyone who reaches the listener (mind [`crate::check_exposure`]).
    pub fn new(index: Arc<MentionIndex>) -> ApiState {
        ApiState {
            inner: Arc::new(Inner {
                index,
                watches: Vec::new(),
                sources: Vec::new(),
                analyzer: None,
                auth: Auth::from_config(&ServerConfig::default()),
                limits: Limits::default(),
                ready: AtomicBool::new(true),
                store: None,
                base_url: DEFAULT_BASE_URL.to_string(),
            }),
        }
    }

    /// State for a validated config: its watches, sources, tokens and sentiment lexicon.
    pub fn from_config(
        index: Arc<MentionIndex>,
        config: &Config,
    ) -> Result<ApiState, LexiconError> {
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
        Ok(ApiState {
            inner: Arc::new(Inner {
                index,
                watches: config.watches.clone(),
                sources: config.sources.clone(),
                analyzer,
                auth: Auth::from_config(&config.server),
                limits: Limits::default(),
                ready: AtomicBool::new(true),
                store: None,
                base_url: format!("http://{}", config.server.listen),
            }),
        })
    }

    /// The same state with other limits (tests and the daemon's flags).
    pub fn with_limits(self, limits: Limits) -> ApiState {
        self.rebuild(|inner| inner.limits = limits)
    }

    /// The same state with the tokens and anonymous-read rule of `server`.
    pub fn with_server_config(self, server: &ServerConfig) -> ApiState {
        self.rebuild(|inner| inner.auth = Auth::from_config(server))
    }

    fn rebuild(self, change: impl FnOnce(&mut Inner)) -> ApiState {
        let mut inner = match Arc::try_unwrap(self.inner) {
            Ok(inner) => inner,
            Err(shared) => Inner {
                index: shared.index.clone(),
                watches: shared.watches.clone(),
                sources: shared.sources.clone(),
                analyzer: shared.analyzer.clone(),
                auth: shared.auth.clone(),
                limits: shared.limits.clone(),
                ready: AtomicBool::new(shared.ready.load(Ordering::Relaxed)),
                store: shared.store.clone(),
                base_url: shared.base_url.clone(),
            },
        };
        change(&mut inner);
        ApiState {
            inner: Arc::new(inner),
        }
    }

    /// The same state with the state database, for the alert routes and pages. The server
    /// keeps its own connection (SQLite in WAL mode serves it beside the daemon's writer).
    pub fn with_state_database(self, store: Store) -> ApiState {
        self.rebuild(|inner| inner.store = Some(Arc::new(Mutex::new(store))))
    }

    /// The same state with another public base URL (behind a proxy), for links in feeds.
    pub fn with_base_url(self, base_url: impl Into<String>) -> ApiState {
        let base_url = base_url.into();
        self.rebuild(|inner| inner.base_url = base_url)
    }

    /// The state of the alert feeds, when there is a state database.
    pub(crate) fn feed_state(&self) -> Option<crate::AppState> {
        let store = self.inner.store.clone()?;
        Some(crate::AppState {
            store,
            base_url: self.inner.base_url.clone(),
        })
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

    /// The configured watches.
    pub fn watches(&self) -> &[WatchConfig] {
        &self.inner.watches
    }

    /// The configured sources.
    pub fn sources(&self) -> &[SourceConfig] {
        &self.inner.sources
    }

    /// The analyzer whose lexicon scored the mentions, to explain their scores.
    pub fn analyzer(&self) -> &Analyzer {
        self.inner
            .analyzer
            .as_deref()
            .unwrap_or_else(|| Analyzer::standard())
    }

    pub(crate) fn auth(&self) -> &Auth {
        &self.inner.auth
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
}
