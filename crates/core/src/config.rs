//! The configuration file: TOML, `version = 1`, validated before anything starts.
//!
//! Loading runs in three passes, each of which reports `FILE:LINE: key: problem`:
//! 1. `${VAR}` and `${VAR:-default}` are expanded, line by line, so secrets stay out of the file;
//! 2. the TOML is read into typed structs that refuse unknown keys (a typo is an error, never
//!    silently ignored);
//! 3. the values are checked against each other (watch names exist, queries parse, each source
//!    has the keys its kind needs).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

use crate::query::MentionQuery;

/// The only config format version this build reads.
pub const CONFIG_VERSION: u32 = 1;

/// A duration written as `30s`, `5m`, `2h`, `7d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Interval(pub Duration);

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Interval, D::Error> {
        let raw = String::deserialize(deserializer)?;
        crate::time::parse_duration(&raw)
            .map(Interval)
            .map_err(serde::de::Error::custom)
    }
}

impl Serialize for Interval {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format!("{}s", self.0.as_secs()))
    }
}

/// The whole configuration.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Format version; must be 1.
    pub version: u32,
    /// Where `index/` and `state.sqlite` live; relative paths are relative to the config file.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// The HTTP server.
    #[serde(default)]
    pub server: ServerConfig,
    /// The brands to watch.
    #[serde(default, rename = "watch")]
    pub watches: Vec<WatchConfig>,
    /// The feeds to poll.
    #[serde(default, rename = "source")]
    pub sources: Vec<SourceConfig>,
    /// How the collectors poll (politeness, limits, the first run's look-back).
    #[serde(default)]
    pub collect: CollectConfig,
    /// Spike detection.
    #[serde(default)]
    pub alerting: AlertingConfig,
    /// Where alerts are sent.
    #[serde(default, rename = "notify")]
    pub notifiers: Vec<NotifyConfig>,
    /// Sentiment scoring.
    #[serde(default)]
    pub sentiment: SentimentConfig,
    /// The search index.
    #[serde(default)]
    pub index: IndexConfig,
    /// The scale-out roles over NATS JetStream (`earful run --role collector|indexer`).
    #[serde(default)]
    pub cluster: ClusterConfig,
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("./data")
}

/// `[server]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// API tokens; with none, the API is open to whoever reaches `listen`.
    #[serde(default)]
    pub tokens: Vec<TokenConfig>,
    /// Lets a server without tokens listen on a non-loopback address, open to anyone for
    /// reading. Off by default: such a config refuses to start.
    #[serde(default)]
    pub allow_anonymous_read: bool,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            listen: default_listen(),
            tokens: Vec::new(),
            allow_anonymous_read: false,
        }
    }
}

impl ServerConfig {
    /// Why this server must not start, if it would expose mentions and alerts to anyone: a
    /// non-loopback `listen` with no tokens, unless `allow_anonymous_read` says so explicitly.
    pub fn exposure_problem(&self) -> Option<String> {
        let address = self.listen.parse::<SocketAddr>().ok()?;
        if address.ip().is_loopback() || !self.tokens.is_empty() || self.allow_anonymous_read {
            return None;
        }
        Some(format!(
            "`{address}` is reachable from other machines and no tokens are set: add `[server] tokens`, or set `allow_anonymous_read = true` to serve reads to anyone"
        ))
    }
}

fn default_listen() -> String {
    "127.0.0.1:7878".to_string()
}

/// One API token.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Who holds it, for logs.
    pub name: String,
    /// The secret itself.
    pub token: String,
    /// What it may do.
    #[serde(default)]
    pub role: Role,
}

impl fmt::Debug for TokenConfig {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("TokenConfig")
            .field("name", &self.name)
            .field("token", &"<redacted>")
            .field("role", &self.role)
            .finish()
    }
}

/// What a token may do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read mentions, alerts and health.
    #[default]
    Read,
    /// Also acknowledge and silence alerts, and ingest.
    Admin,
}

/// `[[watch]]`: a brand and the query that finds it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchConfig {
    /// Short name, used in tags and URLs.
    pub name: String,
    /// The query, in the search syntax.
    pub query: String,
    /// Which alert kinds this watch raises (default: `negative_spike` only).
    #[serde(default = "default_alert_kinds")]
    pub alerts: Vec<AlertKind>,
}

fn default_alert_kinds() -> Vec<AlertKind> {
    vec![AlertKind::NegativeSpike]
}

/// What an alert is about; each kind is one count series per watch, all scored by the same
/// detector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A rise of negative mentions (the count of mentions labelled negative).
    NegativeSpike,
    /// A rise of all mentions, whatever their sentiment.
    VolumeSpike,
    /// A rise of positive mentions: customers raving, worth thanking and passing on.
    PraiseSurge,
}

impl AlertKind {
    /// The kind's name as written in the config and in alert JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::NegativeSpike => "negative_spike",
            AlertKind::VolumeSpike => "volume_spike",
            AlertKind::PraiseSurge => "praise_surge",
        }
    }
}

impl fmt::Display for AlertKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// The collector kinds. One `match` on this enum is the registry of sources.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// RSS, Atom or JSON Feed (Google Alerts too).
    Feed,
    /// Hacker News through Algolia's search API.
    Hackernews,
    /// A Mastodon instance's hashtag timelines.
    Mastodon,
    /// Apple App Store customer reviews.
    Appstore,
    /// A Stack Exchange site.
    Stackexchange,
    /// GitHub issue and comment search.
    Github,
    /// A Lemmy instance's search.
    Lemmy,
    /// Bluesky post search (needs an app password).
    Bluesky,
    /// Reddit search (needs OAuth client credentials).
    Reddit,
}

impl SourceKind {
    /// The kind's name as written in the config and stored in `Mention.source`.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Feed => "feed",
            SourceKind::Hackernews => "hackernews",
            SourceKind::Mastodon => "mastodon",
            SourceKind::Appstore => "appstore",
            SourceKind::Stackexchange => "stackexchange",
            SourceKind::Github => "github",
            SourceKind::Lemmy => "lemmy",
            SourceKind::Bluesky => "bluesky",
            SourceKind::Reddit => "reddit",
        }
    }

    /// Whether the source searches for the watches' terms (rather than reading a fixed feed).
    pub fn searches_watches(self) -> bool {
        !matches!(self, SourceKind::Feed | SourceKind::Appstore)
    }

    /// The kind-specific keys this kind requires, and those it accepts.
    fn keys(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            SourceKind::Feed => (&["url"], &[]),
            SourceKind::Hackernews => (&[], &[]),
            SourceKind::Mastodon => (&[], &["hashtags", "token"]),
            SourceKind::Appstore => (&["app_id"], &["country"]),
            SourceKind::Stackexchange => (&[], &["site", "key"]),
            SourceKind::Github => (&[], &["token"]),
            SourceKind::Lemmy => (&[], &[]),
            SourceKind::Bluesky => (&["identifier", "app_password"], &[]),
            SourceKind::Reddit => (&["client_id", "client_secret"], &["user_agent"]),
        }
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// `[[source]]`: one feed to poll. Common keys first, then the keys only some kinds take.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Unique name; becomes `Mention.feed`.
    pub name: String,
    /// The collector kind.
    pub kind: SourceKind,
    /// How often to poll.
    #[serde(default = "default_interval")]
    pub interval: Interval,
    /// A searching source asks its API for these watches' terms (the watch queries then
    /// decide the tags). A `feed` or `appstore` source is bound to them: every item it
    /// collects belongs to these watches, whatever its text says.
    #[serde(default)]
    pub watches: Vec<String>,
    /// Overrides the public endpoint (an instance, a mirror, a test server).
    #[serde(default)]
    pub base_url: Option<String>,
    /// Off switch that keeps the entry in the file.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// `feed`: the feed's URL.
    #[serde(default)]
    pub url: Option<String>,
    /// `mastodon`: hashtags to follow (default: the watch names).
    #[serde(default)]
    pub hashtags: Option<Vec<String>>,
    /// `mastodon`, `github`: an access token.
    #[serde(default)]
    pub token: Option<String>,
    /// `appstore`: the numeric app id.
    #[serde(default)]
    pub app_id: Option<String>,
    /// `appstore`: the storefront country (default `us`).
    #[serde(default)]
    pub country: Option<String>,
    /// `stackexchange`: the site (default `stackoverflow`).
    #[serde(default)]
    pub site: Option<String>,
    /// `stackexchange`: an API key, for a larger quota.
    #[serde(default)]
    pub key: Option<String>,
    /// `bluesky`: the account handle.
    #[serde(default)]
    pub identifier: Option<String>,
    /// `bluesky`: an app password.
    #[serde(default)]
    pub app_password: Option<String>,
    /// `reddit`: OAuth client id.
    #[serde(default)]
    pub client_id: Option<String>,
    /// `reddit`: OAuth client secret.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// `reddit`: the User-Agent Reddit's rules ask for.
    #[serde(default)]
    pub user_agent: Option<String>,
}

impl fmt::Debug for SourceConfig {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = |value: &Option<String>| value.as_ref().map(|_| "<redacted>");
        formatter
            .debug_struct("SourceConfig")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("interval", &self.interval)
            .field("watches", &self.watches)
            .field("base_url", &self.base_url)
            .field("enabled", &self.enabled)
            .field("url", &self.url)
            .field("hashtags", &self.hashtags)
            .field("token", &secret(&self.token))
            .field("app_id", &self.app_id)
            .field("country", &self.country)
            .field("site", &self.site)
            .field("key", &secret(&self.key))
            .field("identifier", &self.identifier)
            .field("app_password", &secret(&self.app_password))
            .field("client_id", &self.client_id)
            .field("client_secret", &secret(&self.client_secret))
            .field("user_agent", &self.user_agent)
            .finish()
    }
}

impl SourceConfig {
    /// The kind-specific keys that are set, by name.
    fn kind_keys_set(&self) -> Vec<&'static str> {
        let set = [
            ("url", self.url.is_some()),
            ("hashtags", self.hashtags.is_some()),
            ("token", self.token.is_some()),
            ("app_id", self.app_id.is_some()),
            ("country", self.country.is_some()),
            ("site", self.site.is_some()),
            ("key", self.key.is_some()),
            ("identifier", self.identifier.is_some()),
            ("app_password", self.app_password.is_some()),
            ("client_id", self.client_id.is_some()),
            ("client_secret", self.client_secret.is_some()),
            ("user_agent", self.user_agent.is_some()),
        ];
        set.into_iter()
            .filter(|(_, is_set)| *is_set)
            .map(|(key, _)| key)
            .collect()
    }
}

/// `[collect]`: what every collector shares.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectConfig {
    /// Where site operators can reach whoever runs this Earful; sent in the User-Agent.
    #[serde(default = "default_contact_url")]
    pub contact_url: String,
    /// How far back a source looks on its first run.
    #[serde(default = "default_lookback")]
    pub lookback: Interval,
    /// Requests in flight at once, over all sources.
    #[serde(default = "default_max_concurrent")]
    pub max_concurrent: usize,
    /// Requests in flight at once to one host.
    #[serde(default = "default_max_concurrent_per_host")]
    pub max_concurrent_per_host: usize,
    /// How long one request may take, connect to last byte.
    #[serde(default = "default_request_timeout")]
    pub timeout: Interval,
    /// Responses larger than this many megabytes (MiB) are refused.
    #[serde(default = "default_max_body_mb")]
    pub max_body_mb: usize,
}

impl Default for CollectConfig {
    fn default() -> CollectConfig {
        CollectConfig {
            contact_url: default_contact_url(),
            lookback: default_lookback(),
            max_concurrent: default_max_concurrent(),
            max_concurrent_per_host: default_max_concurrent_per_host(),
            timeout: default_request_timeout(),
            max_body_mb: default_max_body_mb(),
        }
    }
}

fn default_contact_url() -> String {
    "https://github.com/earful/earful".to_string()
}

fn default_lookback() -> Interval {
    Interval(Duration::from_secs(24 * 3_600))
}

fn default_max_concurrent() -> usize {
    32
}

fn default_max_concurrent_per_host() -> usize {
    2
}

fn default_request_timeout() -> Interval {
    Interval(Duration::from_secs(30))
}

fn default_max_body_mb() -> usize {
    10
}

fn default_interval() -> Interval {
    Interval(Duration::from_secs(300))
}

fn default_true() -> bool {
    true
}

/// `[alerting]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertingConfig {
    /// The width of a counting bucket.
    #[serde(default = "default_bucket")]
    pub bucket: Interval,
    /// How readily the detector fires.
    #[serde(default)]
    pub sensitivity: Sensitivity,
}

impl Default for AlertingConfig {
    fn default() -> AlertingConfig {
        AlertingConfig {
            bucket: default_bucket(),
            sensitivity: Sensitivity::default(),
        }
    }
}

fn default_bucket() -> Interval {
    Interval(Duration::from_secs(300))
}

/// Detector sensitivity presets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sensitivity {
    /// Only large spikes.
    Fewer,
    /// The default.
    #[default]
    Balanced,
    /// Smaller spikes too.
    More,
}

/// The notifier kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyKind {
    /// An HTTP POST of the alert JSON, signed with `secret`.
    Webhook,
    /// A Slack incoming webhook.
    Slack,
    /// Email over SMTP.
    Email,
}

/// `[[notify]]`: one channel alerts go to.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// The channel kind.
    pub kind: NotifyKind,
    /// A name for logs and metrics (default: the kind).
    #[serde(default)]
    pub name: Option<String>,
    /// `webhook`, `slack`: where to POST.
    #[serde(default)]
    pub url: Option<String>,
    /// `webhook`: the HMAC signing secret.
    #[serde(default)]
    pub secret: Option<String>,
    /// `email`: the SMTP server, `host:port`.
    #[serde(default)]
    pub smtp: Option<String>,
    /// `email`: the sender.
    #[serde(default)]
    pub from: Option<String>,
    /// `email`: the recipients.
    #[serde(default)]
    pub to: Vec<String>,
    /// Only alerts for these watches (default: all).
    #[serde(default)]
    pub watches: Vec<String>,
    /// Whether this channel also hears when an alert resolves.
    #[serde(default = "default_true")]
    pub send_resolved: bool,
    /// Tries before a notification is marked dead.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// `email`: how the SMTP connection is secured.
    #[serde(default)]
    pub tls: SmtpTls,
    /// `email`: the SMTP user name.
    #[serde(default)]
    pub username: Option<String>,
    /// `email`: the SMTP password.
    #[serde(default)]
    pub password: Option<String>,
}

fn default_max_attempts() -> u32 {
    12
}

/// How an SMTP connection is secured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (port 587), required.
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only allowed to a loopback host.
    None,
}

impl NotifyConfig {
    /// The channel's name: `name`, or the kind.
    pub fn channel_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            match self.kind {
                NotifyKind::Webhook => "webhook",
                NotifyKind::Slack => "slack",
                NotifyKind::Email => "email",
            }
            .to_string()
        })
    }
}

impl fmt::Debug for NotifyConfig {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("NotifyConfig")
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("url", &self.url.as_ref().map(|_| "<redacted>"))
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("smtp", &self.smtp)
            .field("from", &self.from)
            .field("to", &self.to)
            .field("watches", &self.watches)
            .field("send_resolved", &self.send_resolved)
            .field("max_attempts", &self.max_attempts)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// `[sentiment]`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentimentConfig {
    /// Words to add to or change in VADER's lexicon, with valences from −4 to 4.
    #[serde(default)]
    pub lexicon: BTreeMap<String, f64>,
}

/// `[index]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexConfig {
    /// The tantivy writer's memory budget, in megabytes.
    #[serde(default = "default_writer_heap_mb")]
    pub writer_heap_mb: usize,
    /// Commit after this many mentions…
    #[serde(default = "default_commit_docs")]
    pub commit_docs: usize,
    /// …or after this long, whichever comes first.
    #[serde(default = "default_commit_interval")]
    pub commit_interval: Interval,
    /// Delete mentions published longer ago than this (default: keep everything).
    #[serde(default)]
    pub retention: Option<Interval>,
}

impl Default for IndexConfig {
    fn default() -> IndexConfig {
        IndexConfig {
            writer_heap_mb: default_writer_heap_mb(),
            commit_docs: default_commit_docs(),
            commit_interval: default_commit_interval(),
            retention: None,
        }
    }
}

fn default_writer_heap_mb() -> usize {
    256
}

fn default_commit_docs() -> usize {
    50_000
}

fn default_commit_interval() -> Interval {
    Interval(Duration::from_secs(2))
}

/// `[cluster]`: collectors on several machines publish to a NATS JetStream stream and one
/// indexer consumes it (`earful run --role collector|indexer`). `--role all`, the default,
/// reads none of it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// The NATS server(s): `nats://host:port`, several separated by commas (`--nats` overrides).
    #[serde(default = "default_nats")]
    pub nats: String,
    /// The JetStream stream mentions travel in.
    #[serde(default = "default_stream")]
    pub stream: String,
    /// The subject prefix: a mention of source `hn-acme` is published to `<subject>.hn-acme`.
    #[serde(default = "default_subject")]
    pub subject: String,
    /// The JetStream key-value bucket that keeps each source's cursor.
    #[serde(default = "default_kv_bucket")]
    pub kv_bucket: String,
    /// The indexer's durable consumer.
    #[serde(default = "default_consumer")]
    pub consumer: String,
    /// This node's name, in logs and in the NATS connection name.
    #[serde(default = "default_node")]
    pub node: String,
    /// Which sources this collector polls: `all` (the default), `hash` (a source belongs to
    /// node `hash(name) % nodes`) or `list` (the names in `sources`; implied when `sources`
    /// is set).
    #[serde(default)]
    pub assign: Option<AssignMode>,
    /// `assign = "hash"`: how many collector nodes share the sources.
    #[serde(default)]
    pub nodes: Option<u32>,
    /// `assign = "hash"`: this node's number, from 0 to `nodes - 1`.
    #[serde(default)]
    pub node_index: Option<u32>,
    /// `assign = "list"`: the sources this node polls, by name.
    #[serde(default)]
    pub sources: Vec<String>,
    /// How long the stream remembers message ids to drop a republished mention (2h). It must
    /// cover a collector's restart: mentions published but whose cursor was not yet saved are
    /// published again from the saved cursor.
    #[serde(default = "default_duplicate_window")]
    pub duplicate_window: Interval,
    /// How long the stream keeps mentions (7d): a rebuilt indexer can replay that much.
    #[serde(default = "default_stream_max_age")]
    pub max_age: Interval,
    /// A collector's publishes awaiting the stream's acknowledgement at once.
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: usize,
    /// Mentions delivered to the indexer and not yet acknowledged (acknowledged after the
    /// commit that holds them): the server delivers no more, so this bounds the indexer's memory.
    #[serde(default = "default_max_ack_pending")]
    pub max_ack_pending: usize,
    /// Mentions the indexer enriches and hands to the index writer at once.
    #[serde(default = "default_fetch_batch")]
    pub fetch_batch: usize,
}

impl Default for ClusterConfig {
    fn default() -> ClusterConfig {
        ClusterConfig {
            nats: default_nats(),
            stream: default_stream(),
            subject: default_subject(),
            kv_bucket: default_kv_bucket(),
            consumer: default_consumer(),
            node: default_node(),
            assign: None,
            nodes: None,
            node_index: None,
            sources: Vec::new(),
            duplicate_window: default_duplicate_window(),
            max_age: default_stream_max_age(),
            max_in_flight: default_max_in_flight(),
            max_ack_pending: default_max_ack_pending(),
            fetch_batch: default_fetch_batch(),
        }
    }
}

/// How `[cluster]` assigns sources to collector nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AssignMode {
    /// Every enabled source (one collector node).
    All,
    /// By a stable hash of the source name over `nodes`.
    Hash,
    /// By the names in `sources`.
    List,
}

impl ClusterConfig {
    /// How sources are assigned, with `list` implied by a `sources` list.
    pub fn assign_mode(&self) -> AssignMode {
        match self.assign {
            Some(mode) => mode,
            None if !self.sources.is_empty() => AssignMode::List,
            None => AssignMode::All,
        }
    }

    /// Whether this node polls the source named `source`. With `hash`, every source belongs
    /// to exactly one of the `nodes` nodes, and to the same one on every machine and every
    /// run: the hash is FNV-1a, never Rust's per-process randomised hasher.
    pub fn assigns(&self, source: &str) -> bool {
        match self.assign_mode() {
            AssignMode::All => true,
            AssignMode::List => self.sources.iter().any(|name| name == source),
            AssignMode::Hash => match (self.nodes, self.node_index) {
                (Some(nodes), Some(index)) if nodes > 0 => {
                    stable_hash(source) % u64::from(nodes) == u64::from(index)
                }
                // The config check refuses this; polling nothing is the safe reading.
                _ => false,
            },
        }
    }
}

/// FNV-1a (64 bit) of a source name: the same on every machine, build and run.
pub fn stable_hash(name: &str) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    name.bytes().fold(OFFSET_BASIS, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    })
}

fn default_nats() -> String {
    "nats://127.0.0.1:4222".to_string()
}

fn default_stream() -> String {
    "EARFUL_MENTIONS".to_string()
}

fn default_subject() -> String {
    "earful.mentions".to_string()
}

fn default_kv_bucket() -> String {
    "earful_cursors".to_string()
}

fn default_consumer() -> String {
    "earful-indexer".to_string()
}

fn default_node() -> String {
    "earful".to_string()
}

fn default_duplicate_window() -> Interval {
    Interval(Duration::from_secs(2 * 3_600))
}

fn default_stream_max_age() -> Interval {
    Interval(Duration::from_secs(7 * 86_400))
}

fn default_max_in_flight() -> usize {
    1_024
}

fn default_max_ack_pending() -> usize {
    20_000
}

fn default_fetch_batch() -> usize {
    1_000
}

/// One problem in a config file, located.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The key at fault, as a path (`source[2].interval`).
    pub key: String,
    /// What is wrong.
    pub problem: String,
}

/// Everything wrong with a config file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file, as given.
    pub file: String,
    /// The problems, in file order.
    pub problems: Vec<ConfigProblem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, problem) in self.problems.iter().enumerate() {
            if index > 0 {
                writeln!(formatter)?;
            }
            match problem.line {
                Some(line) => write!(formatter, "{}:{line}: ", self.file)?,
                None => write!(formatter, "{}: ", self.file)?,
            }
            if !problem.key.is_empty() {
                write!(formatter, "{}: ", problem.key)?;
            }
            write!(formatter, "{}", problem.problem)?;
        }
        Ok(())
    }
}

impl Config {
    /// Reads, expands and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError {
            file: file.clone(),
            problems: vec![ConfigProblem {
                line: None,
                key: String::new(),
                problem: format!("cannot read the file: {error}"),
            }],
        })?;
        let mut config = Config::parse(&text, &file, |name| std::env::var(name).ok())?;
        if config.data_dir.is_relative() {
            if let Some(parent) = path
                .parent()
                .filter(|parent| !parent.as_os_str().is_empty())
            {
                config.data_dir = parent.join(&config.data_dir);
            }
        }
        Ok(config)
    }

    /// Parses and validates config text; `file` names it in errors, `env` looks up variables.
    pub fn parse(
        text: &str,
        file: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let fail = |problems: Vec<ConfigProblem>| ConfigError {
            file: file.to_string(),
            problems,
        };
        let expanded = expand_env(text, &env).map_err(fail)?;
        let document = toml_edit::Document::parse(expanded.as_str()).map_err(|error| {
            let line = error.span().map(|span| line_of(&expanded, span.start));
            fail(vec![ConfigProblem {
                line,
                key: String::new(),
                problem: first_line(error.message()),
            }])
        })?;
        let config: Config = toml::from_str(&expanded).map_err(|error| {
            let span = error.span().unwrap_or(0..0);
            fail(vec![ConfigProblem {
                line: Some(line_of(&expanded, span.start)),
                key: key_path_at(document.as_item(), &span),
                problem: first_line(error.message()),
            }])
        })?;
        let locator = Locator {
            document: &document,
            text: &expanded,
        };
        let problems = config.validate(&locator);
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(fail(problems))
        }
    }

    /// The checks the types cannot make.
    fn validate(&self, locator: &Locator<'_>) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let mut report = |path: &[Segment], problem: String| {
            problems.push(ConfigProblem {
                line: locator.line(path),
                key: render_path(path),
                problem,
            });
        };
        if self.version != CONFIG_VERSION {
            report(
                &[key("version")],
                format!(
                    "version {} is not supported; this build reads version {CONFIG_VERSION}",
                    self.version
                ),
            );
        }
        if self.server.listen.parse::<SocketAddr>().is_err() {
            report(
                &[key("server"), key("listen")],
                format!(
                    "`{}` is not an address like 127.0.0.1:7878",
                    self.server.listen
                ),
            );
        }
        if let Some(problem) = self.server.exposure_problem() {
            report(&[key("server"), key("listen")], problem);
        }
        for (index, token) in self.server.tokens.iter().enumerate() {
            if token.token.len() < 16 {
                report(
                    &[key("server"), key("tokens"), at(index), key("token")],
                    "tokens must be at least 16 characters long".into(),
                );
            }
        }
        let mut watch_names = BTreeSet::new();
        for (index, watch) in self.watches.iter().enumerate() {
            if !is_name(&watch.name) {
                report(
                    &[key("watch"), at(index), key("name")],
                    format!(
                        "`{}` is not a name: use letters, digits, `-` and `_`",
                        watch.name
                    ),
                );
            } else if !watch_names.insert(watch.name.as_str()) {
                report(
                    &[key("watch"), at(index), key("name")],
                    format!("watch `{}` is defined twice", watch.name),
                );
            }
            if let Err(error) = MentionQuery::parse(&watch.query) {
                report(
                    &[key("watch"), at(index), key("query")],
                    format!("at character {}: {}", error.column, error.message),
                );
            } else if watch.query.trim().is_empty() {
                report(
                    &[key("watch"), at(index), key("query")],
                    "the query is empty: it would match every mention".into(),
                );
            }
            let mut alert_kinds = BTreeSet::new();
            for kind in &watch.alerts {
                if !alert_kinds.insert(*kind) {
                    report(
                        &[key("watch"), at(index), key("alerts")],
                        format!("alert kind `{kind}` is listed twice"),
                    );
                }
            }
        }
        let bucket_seconds = self.alerting.bucket.0.as_secs();
        if !(60..=3_600).contains(&bucket_seconds) || 3_600 % bucket_seconds != 0 {
            // The detector's baseline is kept per hour of day: buckets must tile an hour.
            report(
                &[key("alerting"), key("bucket")],
                "the bucket must be between 1m and 1h and divide an hour evenly (like 5m)".into(),
            );
        }
        let mut source_names = BTreeSet::new();
        for (index, source) in self.sources.iter().enumerate() {
            let here = |name: &'static str| [key("source"), at(index), key(name)];
            if !is_name(&source.name) {
                report(
                    &here("name"),
                    format!(
                        "`{}` is not a name: use letters, digits, `-` and `_`",
                        source.name
                    ),
                );
            } else if !source_names.insert(source.name.as_str()) {
                report(
                    &here("name"),
                    format!("source `{}` is defined twice", source.name),
                );
            }
            for watch in &source.watches {
                if !watch_names.contains(watch.as_str()) {
                    report(&here("watches"), format!("no watch is named `{watch}`"));
                }
            }
            if source.kind.searches_watches() && source.watches.is_empty() {
                report(
                    &here("watches"),
                    format!(
                        "kind `{}` searches for watches' terms: name at least one watch",
                        source.kind
                    ),
                );
            }
            if source.interval.0 < Duration::from_secs(30) {
                report(
                    &here("interval"),
                    "polling more often than every 30s is impolite; sources rate-limit".into(),
                );
            }
            let (required, optional) = source.kind.keys();
            let set = source.kind_keys_set();
            for needed in required {
                if !set.contains(needed) {
                    report(
                        &[key("source"), at(index), key("kind")],
                        format!("kind `{}` needs key `{needed}`", source.kind),
                    );
                }
            }
            for given in &set {
                if !required.contains(given) && !optional.contains(given) {
                    report(
                        &here(given),
                        format!("key `{given}` does not apply to kind `{}`", source.kind),
                    );
                }
            }
            for (name, url) in [("url", &source.url), ("base_url", &source.base_url)] {
                if let Some(url) = url {
                    if !(url.starts_with("http://") || url.starts_with("https://")) {
                        report(&here(name), format!("`{url}` is not an http(s) URL"));
                    }
                }
            }
        }
        let mut channel_names = BTreeSet::new();
        let collect = &self.collect;
        if !(collect.contact_url.starts_with("https://")
            || collect.contact_url.starts_with("http://")
            || collect.contact_url.starts_with("mailto:"))
        {
            report(
                &[key("collect"), key("contact_url")],
                format!(
                    "`{}` is not an http(s) or mailto: URL; site operators need a way to reach you",
                    collect.contact_url
                ),
            );
        }
        if collect.max_concurrent == 0 {
            report(
                &[key("collect"), key("max_concurrent")],
                "must be at least 1".into(),
            );
        }
        if collect.max_concurrent_per_host == 0
            || collect.max_concurrent_per_host > collect.max_concurrent.max(1)
        {
            report(
                &[key("collect"), key("max_concurrent_per_host")],
                "must be at least 1 and at most `max_concurrent`".into(),
            );
        }
        if collect.timeout.0 < Duration::from_secs(1)
            || collect.timeout.0 > Duration::from_secs(600)
        {
            report(
                &[key("collect"), key("timeout")],
                "must be between 1s and 10m".into(),
            );
        }
        if collect.max_body_mb == 0 || collect.max_body_mb > 1024 {
            report(
                &[key("collect"), key("max_body_mb")],
                "must be between 1 and 1024".into(),
            );
        }
        for (index, notifier) in self.notifiers.iter().enumerate() {
            let here = |name: &'static str| [key("notify"), at(index), key(name)];
            match notifier.kind {
                NotifyKind::Webhook | NotifyKind::Slack if notifier.url.is_none() => {
                    report(
                        &[key("notify"), at(index), key("kind")],
                        "this kind needs key `url`".into(),
                    );
                }
                NotifyKind::Email => {
                    for (name, missing) in [
                        ("smtp", notifier.smtp.is_none()),
                        ("from", notifier.from.is_none()),
                        ("to", notifier.to.is_empty()),
                    ] {
                        if missing {
                            report(
                                &[key("notify"), at(index), key("kind")],
                                format!("kind `email` needs key `{name}`"),
                            );
                        }
                    }
                }
                _ => {}
            }
            for watch in &notifier.watches {
                if !watch_names.contains(watch.as_str()) {
                    report(&here("watches"), format!("no watch is named `{watch}`"));
                }
            }
            let channel = notifier.channel_name();
            if !is_name(&channel) {
                report(
                    &here("name"),
                    format!("`{channel}` is not a name: use letters, digits, `-` and `_`"),
                );
            } else if !channel_names.insert(channel.clone()) {
                report(
                    &here("name"),
                    format!("two channels are named `{channel}`: give each a distinct `name`"),
                );
            }
            if notifier.max_attempts == 0 {
                report(&here("max_attempts"), "must be at least 1".into());
            }
            if let Some(url) = &notifier.url {
                // The URL may hold a secret (Slack's does): never repeat it.
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    report(&here("url"), "is not an http(s) URL".into());
                }
            }
            if notifier.kind == NotifyKind::Email {
                if let Some(smtp) = &notifier.smtp {
                    match smtp
                        .rsplit_once(':')
                        .map(|(host, port)| (host, port.parse::<u16>()))
                    {
                        Some((host, Ok(_))) if !host.is_empty() => {
                            let loopback = host == "localhost"
                                || host
                                    .trim_matches(['[', ']'])
                                    .parse::<std::net::IpAddr>()
                                    .is_ok_and(|ip| ip.is_loopback());
                            if notifier.tls == SmtpTls::None && !loopback {
                                report(
                                    &here("tls"),
                                    format!("`none` sends mail unencrypted: only allowed to a loopback host, not `{host}`"),
                                );
                            }
                        }
                        _ => report(&here("smtp"), format!("`{smtp}` is not `host:port`")),
                    }
                }
            }
        }
        for (word, valence) in &self.sentiment.lexicon {
            let path = [key("sentiment"), key("lexicon"), key_owned(word)];
            if !valence.is_finite() || !(-4.0..=4.0).contains(valence) {
                report(&path, format!("valence {valence} is outside -4..4"));
            }
            if word.is_empty() || word.chars().any(char::is_whitespace) {
                report(&path, "lexicon entries are single words".into());
            }
        }
        if self.index.writer_heap_mb < 16 {
            report(
                &[key("index"), key("writer_heap_mb")],
                "the writer needs at least 16 MB".into(),
            );
        }
        if self.index.commit_docs == 0 {
            report(
                &[key("index"), key("commit_docs")],
                "must be at least 1".into(),
            );
        }
        self.validate_cluster(&source_names, &mut report);
        problems.sort_by_key(|problem| problem.line.unwrap_or(usize::MAX));
        problems
    }

    /// The checks of `[cluster]`.
    fn validate_cluster(
        &self,
        source_names: &BTreeSet<&str>,
        report: &mut impl FnMut(&[Segment], String),
    ) {
        let cluster = &self.cluster;
        let here = |name: &'static str| [key("cluster"), key(name)];
        for server in cluster.nats.split(',').map(str::trim) {
            let scheme_ok = ["nats://", "tls://"]
                .iter()
                .any(|scheme| server.starts_with(scheme) && server.len() > scheme.len());
            if !scheme_ok {
                report(
                    &here("nats"),
                    format!("`{server}` is not a NATS URL like nats://127.0.0.1:4222"),
                );
            }
        }
        for (name, value) in [
            ("stream", &cluster.stream),
            ("kv_bucket", &cluster.kv_bucket),
            ("consumer", &cluster.consumer),
            ("node", &cluster.node),
        ] {
            if !is_name(value) {
                report(
                    &here(name),
                    format!("`{value}` is not a name: use letters, digits, `-` and `_`"),
                );
            }
        }
        if cluster.subject.split('.').any(|token| !is_name(token)) {
            report(
                &here("subject"),
                format!(
                    "`{}` is not a subject prefix: dot-separated names like `earful.mentions`, no wildcards",
                    cluster.subject
                ),
            );
        }
        let mode = cluster.assign_mode();
        match (mode, cluster.nodes, cluster.node_index) {
            (AssignMode::Hash, None, _) => {
                report(&here("assign"), "`hash` needs `nodes`".into());
            }
            (AssignMode::Hash, Some(0), _) => {
                report(&here("nodes"), "must be at least 1".into());
            }
            (AssignMode::Hash, Some(_), None) => {
                report(&here("assign"), "`hash` needs `node_index`".into());
            }
            (AssignMode::Hash, Some(nodes), Some(index)) if index >= nodes => {
                report(
                    &here("node_index"),
                    format!("must be below `nodes` ({nodes}): nodes count from 0"),
                );
            }
            (AssignMode::Hash, _, _) => {}
            (_, nodes, index) => {
                for (name, set) in [("nodes", nodes.is_some()), ("node_index", index.is_some())] {
                    if set {
                        report(&here(name), "applies only with `assign = \"hash\"`".into());
                    }
                }
            }
        }
        match mode {
            AssignMode::List if cluster.sources.is_empty() => {
                report(&here("assign"), "`list` needs `sources`".into());
            }
            AssignMode::List => {
                for (index, name) in cluster.sources.iter().enumerate() {
                    if !source_names.contains(name.as_str()) {
                        report(
                            &[key("cluster"), key("sources"), at(index)],
                            format!("no source is named `{name}`"),
                        );
                    }
                }
            }
            AssignMode::All | AssignMode::Hash if !cluster.sources.is_empty() => {
                report(
                    &here("sources"),
                    "applies only with `assign = \"list\"`".into(),
                );
            }
            AssignMode::All | AssignMode::Hash => {}
        }
        if cluster.duplicate_window.0 < Duration::from_secs(60) {
            report(
                &here("duplicate_window"),
                "must be at least 1m: it has to cover a collector's restart".into(),
            );
        }
        if cluster.duplicate_window.0 > cluster.max_age.0 {
            report(
                &here("duplicate_window"),
                "must not exceed `max_age`: the stream cannot remember ids longer than it keeps mentions".into(),
            );
        }
        for (name, value) in [
            ("max_in_flight", cluster.max_in_flight),
            ("max_ack_pending", cluster.max_ack_pending),
            ("fetch_batch", cluster.fetch_batch),
        ] {
            if value == 0 {
                report(&here(name), "must be at least 1".into());
            }
        }
        if cluster.fetch_batch > cluster.max_ack_pending {
            report(
                &here("fetch_batch"),
                "must not exceed `max_ack_pending`: the server would never deliver a whole batch"
                    .into(),
            );
        }
    }

    /// Looks up a watch by name.
    pub fn watch(&self, name: &str) -> Option<&WatchConfig> {
        self.watches.iter().find(|watch| watch.name == name)
    }
}

fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn first_line(message: &str) -> String {
    message
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|&&byte| byte == b'\n')
        .count()
        + 1
}

/// Expands `${VAR}` and `${VAR:-default}` outside comments, keeping every line where it was.
/// An unset variable without a default is an error naming it and its line. `$$` is a `$`.
fn expand_env(
    text: &str,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<String, Vec<ConfigProblem>> {
    let mut problems = Vec::new();
    let mut expanded = String::with_capacity(text.len());
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let mut rest = line;
        let mut in_basic_string = false;
        let mut in_literal_string = false;
        while let Some(position) = rest.find(['$', '"', '\'', '#', '\\']) {
            let (before, tail) = rest.split_at(position);
            expanded.push_str(before);
            let Some(symbol) = tail.chars().next() else {
                break;
            };
            match symbol {
                '#' if !in_basic_string && !in_literal_string => {
                    expanded.push_str(tail);
                    rest = "";
                    continue;
                }
                '\\' if in_basic_string => {
                    let escape_len = tail.chars().take(2).map(char::len_utf8).sum::<usize>();
                    expanded.push_str(&tail[..escape_len]);
                    rest = &tail[escape_len..];
                    continue;
                }
                '"' if !in_literal_string => in_basic_string = !in_basic_string,
                '\'' if !in_basic_string => in_literal_string = !in_literal_string,
                '$' if tail.starts_with("$$") => {
                    expanded.push('$');
                    rest = &tail[2..];
                    continue;
                }
                '$' if tail.starts_with("${") => {
                    let Some(close) = tail.find('}') else {
                        problems.push(env_problem(
                            index,
                            line,
                            "`${` without a closing `}`".into(),
                        ));
                        expanded.push_str(tail);
                        rest = "";
                        continue;
                    };
                    let reference = &tail[2..close];
                    let (name, default) = match reference.split_once(":-") {
                        Some((name, default)) => (name, Some(default)),
                        None => (reference, None),
                    };
                    let value = env(name).filter(|value| !value.is_empty() || default.is_none());
                    match value.or_else(|| default.map(str::to_string)) {
                        Some(value) if in_basic_string => expanded.push_str(&escape_basic(&value)),
                        Some(value) if in_literal_string && (value.contains('\'') || value.contains('\n')) => {
                            problems.push(env_problem(index, line, format!("`${{{name}}}` holds a quote or newline, which a '…' string cannot; use \"…\"")));
                        }
                        Some(value) => expanded.push_str(&value),
                        None => problems.push(env_problem(index, line, format!("environment variable `{name}` is not set and has no default (`${{{name}:-default}}`)"))),
                    }
                    rest = &tail[close + 1..];
                    continue;
                }
                _ => {}
            }
            expanded.push(symbol);
            rest = &tail[symbol.len_utf8()..];
        }
        expanded.push_str(rest);
    }
    if problems.is_empty() {
        Ok(expanded)
    } else {
        Err(problems)
    }
}

fn env_problem(line_index: usize, line: &str, problem: String) -> ConfigProblem {
    let key = line
        .split_once('=')
        .map(|(key, _)| key.trim().to_string())
        .unwrap_or_default();
    ConfigProblem {
        line: Some(line_index + 1),
        key,
        problem,
    }
}

fn escape_basic(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '"' => escaped.push_str("\\\""),
            '\\' => escaped.push_str("\\\\"),
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            '\t' => escaped.push_str("\\t"),
            c if c.is_control() => escaped.push_str(&format!("\\u{:04X}", c as u32)),
            c => escaped.push(c),
        }
    }
    escaped
}

/// One step of a key path: a table key or an array index.
#[derive(Clone, Debug)]
enum Segment {
    Key(String),
    Index(usize),
}

fn key(name: &str) -> Segment {
    Segment::Key(name.to_string())
}

fn key_owned(name: &str) -> Segment {
    Segment::Key(name.to_string())
}

fn at(index: usize) -> Segment {
    Segment::Index(index)
}

fn render_path(path: &[Segment]) -> String {
    let mut rendered = String::new();
    for segment in path {
        match segment {
            Segment::Key(name) => {
                if !rendered.is_empty() {
                    rendered.push('.');
                }
                rendered.push_str(name);
            }
            Segment::Index(index) => rendered.push_str(&format!("[{index}]")),
        }
    }
    rendered
}

/// Finds the line of a key path in the parsed document.
struct Locator<'a> {
    document: &'a toml_edit::Document<&'a str>,
    text: &'a str,
}

impl Locator<'_> {
    /// The line of the deepest part of `path` that the file spells out.
    fn line(&self, path: &[Segment]) -> Option<usize> {
        let mut item = self.document.as_item();
        let mut best: Option<Range<usize>> = None;
        for segment in path {
            let next = match (segment, item) {
                (Segment::Key(name), item) => match item.as_table_like() {
                    Some(table) => table.get_key_value(name).map(|(key, value)| {
                        if let Some(span) = key.span() {
                            best = Some(span);
                        }
                        value
                    }),
                    None => None,
                },
                (Segment::Index(index), toml_edit::Item::ArrayOfTables(tables)) => {
                    if let Some(span) = tables.get(*index).and_then(toml_edit::Table::span) {
                        best = Some(span);
                    }
                    item.get(*index)
                }
                (Segment::Index(index), item) => item.get(*index).inspect(|value| {
                    if let Some(span) = value.span() {
                        best = Some(span);
                    }
                }),
            };
            match next {
                Some(next) => item = next,
                None => break,
            }
        }
        best.map(|span| line_of(self.text, span.start))
    }
}

/// The key path of the deepest key whose key or value contains `span`.
fn key_path_at(root: &toml_edit::Item, span: &Range<usize>) -> String {
    let mut path = Vec::new();
    find_span(root, span, &mut path);
    render_path(&path)
}

fn span_contains(outer: Option<Range<usize>>, inner: &Range<usize>) -> bool {
    outer.is_some_and(|outer| {
        outer.start <= inner.start && inner.start < outer.end.max(outer.start + 1)
    })
}

fn find_span(item: &toml_edit::Item, span: &Range<usize>, path: &mut Vec<Segment>) -> bool {
    if let toml_edit::Item::ArrayOfTables(tables) = item {
        for (index, table) in tables.iter().enumerate() {
            path.push(at(index));
            if find_span_in_table(table, span, path) || span_contains(table.span(), span) {
                return true;
            }
            path.pop();
        }
        return false;
    }
    if let Some(array) = item.as_array() {
        for (index, value) in array.iter().enumerate() {
            if span_contains(value.span(), span) {
                path.push(at(index));
                return true;
            }
        }
        return false;
    }
    match item.as_table_like() {
        Some(table) => find_span_in_table(table, span, path),
        None => false,
    }
}

fn find_span_in_table(
    table: &dyn toml_edit::TableLike,
    span: &Range<usize>,
    path: &mut Vec<Segment>,
) -> bool {
    for (name, child) in table.iter() {
        path.push(key_owned(name));
        let key_span = table.get_key_value(name).and_then(|(key, _)| key.span());
        if find_span(child, span, path)
            || span_contains(key_span, span)
            || span_contains(child.span(), span)
        {
            return true;
        }
        path.pop();
    }
    false
}

#[cfg(test)]
mod tests;
