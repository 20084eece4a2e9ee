//! The connection to NATS shared by both roles: a clear error when the server cannot be
//! reached at start, reconnects with backoff afterwards (logged and counted), and the stream,
//! key-value bucket and consumer both roles agree on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer, kv, stream};
use earful_core::config::ClusterConfig;

use crate::error::ClusterError;
use crate::metrics::ClusterMetrics;

/// How long a first connection attempt may take before the role refuses to start.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A live connection to NATS JetStream with the `[cluster]` settings it serves.
#[derive(Clone, Debug)]
pub struct ClusterConnection {
    client: async_nats::Client,
    jetstream: jetstream::Context,
    config: ClusterConfig,
    metrics: Arc<ClusterMetrics>,
}

impl ClusterConnection {
    /// Connects to `config.nats` and checks that JetStream answers. `role` names the
    /// connection on the server (`earful-collector-<node>`). Once connected, a lost
    /// connection is retried forever with backoff (up to 4 s between attempts); every loss and
    /// recovery is logged.
    pub async fn connect(
        config: &ClusterConfig,
        role: &str,
        metrics: Arc<ClusterMetrics>,
    ) -> Result<ClusterConnection, ClusterError> {
        let url = redact(&config.nats);
        let event_url = url.clone();
        let event_metrics = Arc::clone(&metrics);
        // The first `Connected` is the initial connection, logged below; later ones are
        // recoveries.
        let was_connected = Arc::new(AtomicBool::new(false));
        let client = async_nats::ConnectOptions::new()
            .name(format!("earful-{role}-{}", config.node))
            .connection_timeout(CONNECT_TIMEOUT)
            .max_reconnects(None)
            .event_callback(move |event| {
                let url = event_url.clone();
                let metrics = Arc::clone(&event_metrics);
                let was_connected = Arc::clone(&was_connected);
                async move { log_event(&url, &metrics, &was_connected, event) }
            })
            .connect(config.nats.as_str())
            .await
            .map_err(|error| ClusterError::Unreachable {
                url: url.clone(),
                reason: error.to_string(),
            })?;
        let version = client.server_info().version;
        if !supports_jetstream_api(&version) {
            return Err(ClusterError::TooOld { url, version });
        }
        // A larger in-flight budget than the collector's own bound: the collector limits
        // itself, and the context must never be the one that blocks.
        let jetstream = jetstream::ContextBuilder::new()
            .max_ack_inflight(config.max_in_flight.saturating_mul(2).max(16))
            .backpressure_on_inflight(true)
            .build(client.clone());
        jetstream
            .query_account()
            .await
            .map_err(|error| ClusterError::JetStream {
                url: url.clone(),
                what: "answer a JetStream request".into(),
                reason: error.to_string(),
            })?;
        tracing::info!(nats = %url, role, node = %config.node, "connected to NATS JetStream");
        Ok(ClusterConnection {
            client,
            jetstream,
            config: config.clone(),
            metrics,
        })
    }

    /// The `[cluster]` settings.
    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    /// The metrics registry.
    pub fn metrics(&self) -> Arc<ClusterMetrics> {
        Arc::clone(&self.metrics)
    }

    /// The JetStream context.
    pub fn jetstream(&self) -> &jetstream::Context {
        &self.jetstream
    }

    /// The core NATS client.
    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    /// The server URL with credentials removed, for messages.
    pub fn url(&self) -> String {
        redact(&self.config.nats)
    }

    /// The subject a source's mentions are published to.
    pub fn subject(&self, source: &str) -> String {
        format!("{}.{source}", self.config.subject)
    }

    /// The stream, created when missing. Limits retention (not a work queue) so a rebuilt
    /// indexer can replay up to `max_age`; file storage so a restarted server loses nothing.
    pub async fn ensure_stream(&self) -> Result<stream::Stream, ClusterError> {
        let config = stream::Config {
            name: self.config.stream.clone(),
            subjects: vec![format!("{}.>", self.config.subject)],
            retention: stream::RetentionPolicy::Limits,
            storage: stream::StorageType::File,
            max_age: self.config.max_age.0,
            duplicate_window: self.config.duplicate_window.0,
            description: Some("Earful mentions, collector to indexer".into()),
            ..stream::Config::default()
        };
        self.jetstream
            .get_or_create_stream(config)
            .await
            .map_err(|error| self.refused(format!("create stream `{}`", self.config.stream), error))
    }

    /// The cursor bucket, created when missing. One revision per key is enough: a cursor only
    /// ever moves forward.
    pub async fn ensure_cursor_bucket(&self) -> Result<kv::Store, ClusterError> {
        let bucket = &self.config.kv_bucket;
        if let Ok(store) = self.jetstream.get_key_value(bucket.as_str()).await {
            return Ok(store);
        }
        self.jetstream
            .create_key_value(kv::Config {
                bucket: bucket.clone(),
                description: "Earful collector cursors, by source name".into(),
                history: 1,
                storage: stream::StorageType::File,
                ..kv::Config::default()
            })
            .await
            .map_err(|error| self.refused(format!("create key-value bucket `{bucket}`"), error))
    }

    /// The indexer's durable pull consumer, created when missing. The server delivers at most
    /// `max_ack_pending` unacknowledged mentions, which bounds the indexer's memory; a message
    /// not acknowledged within `ack_wait` (a crashed indexer's) is delivered again. A consumer
    /// left by an earlier run with another `max_ack_pending` or `ack_wait` is updated to these
    /// (JetStream allows editing both on a durable consumer), and the change is logged.
    pub async fn ensure_consumer(
        &self,
        stream: &stream::Stream,
        ack_wait: Duration,
    ) -> Result<consumer::PullConsumer, ClusterError> {
        let name = &self.config.consumer;
        let max_ack_pending = i64::try_from(self.config.max_ack_pending).unwrap_or(i64::MAX);
        let wanted = consumer::pull::Config {
            durable_name: Some(name.clone()),
            description: Some("Earful indexer".into()),
            ack_policy: consumer::AckPolicy::Explicit,
            ack_wait,
            deliver_policy: consumer::DeliverPolicy::All,
            filter_subject: format!("{}.>", self.config.subject),
            max_ack_pending,
            ..consumer::pull::Config::default()
        };
        let mut existing: consumer::PullConsumer = stream
            .get_or_create_consumer(name, wanted)
            .await
            .map_err(|error| self.refused(format!("create consumer `{name}`"), error))?;
        let (old_ack_wait, old_max_ack_pending) = {
            let info = existing.cached_info();
            (info.config.ack_wait, info.config.max_ack_pending)
        };
        if old_ack_wait == ack_wait && old_max_ack_pending == max_ack_pending {
            return Ok(existing);
        }
        // Only the two settings the config owns change; the rest (deliver policy, filter)
        // stays as the server has it, so an update can never be refused for editing a
        // setting JetStream fixes at creation.
        let mut updated =
            <consumer::pull::Config as consumer::FromConsumer>::try_from_consumer_config(
                existing.cached_info().config.clone(),
            )
            .map_err(|error| self.refused(format!("read consumer `{name}`"), error))?;
        updated.ack_wait = ack_wait;
        updated.max_ack_pending = max_ack_pending;
        existing = stream
            .update_consumer(updated)
            .await
            .map_err(|error| self.refused(format!("update consumer `{name}`"), error))?;
        tracing::info!(
            consumer = %name,
            old_ack_wait_ms = u64::try_from(old_ack_wait.as_millis()).unwrap_or(u64::MAX),
            ack_wait_ms = u64::try_from(ack_wait.as_millis()).unwrap_or(u64::MAX),
            old_max_ack_pending,
            max_ack_pending,
            "updated the consumer to the configured ack_wait and max_ack_pending"
        );
        Ok(existing)
    }

    fn refused(&self, what: String, error: impl std::fmt::Display) -> ClusterError {
        ClusterError::JetStream {
            url: self.url(),
            what,
            reason: error.to_string(),
        }
    }
}

fn log_event(
    url: &str,
    metrics: &ClusterMetrics,
    was_connected: &AtomicBool,
    event: async_nats::Event,
) {
    match event {
        async_nats::Event::Disconnected => {
            metrics.disconnects.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(nats = %url, "lost the connection to NATS; reconnecting with backoff");
        }
        async_nats::Event::Connected => {
            if was_connected.swap(true, Ordering::Relaxed) {
                tracing::info!(nats = %url, "reconnected to NATS");
            }
        }
        async_nats::Event::SlowConsumer(subscription) => {
            tracing::warn!(nats = %url, subscription, "NATS reports this client as a slow consumer");
        }
        async_nats::Event::Closed => tracing::info!(nats = %url, "NATS connection closed"),
        other => tracing::warn!(nats = %url, event = %other, "NATS connection event"),
    }
}

/// Whether a server of this version (`2.10.4`) answers the JetStream requests this build
/// makes (the client is built for 2.10's API). An unreadable version is given the benefit of
/// the doubt: the first JetStream request then says what is wrong.
fn supports_jetstream_api(version: &str) -> bool {
    let mut parts = version.trim_start_matches('v').split('.');
    match (
        parts.next().and_then(|major| major.parse::<u32>().ok()),
        parts.next().and_then(|minor| minor.parse::<u32>().ok()),
    ) {
        (Some(major), Some(minor)) => (major, minor) >= (2, 10),
        _ => true,
    }
}

/// A server list without passwords or tokens (`nats://user:secret@host` → `nats://host`).
pub fn redact(servers: &str) -> String {
    servers
        .split(',')
        .map(|server| {
            let server = server.trim();
            match (server.find("://"), server.rfind('@')) {
                (Some(scheme_end), Some(at)) if at > scheme_end => {
                    format!("{}{}", &server[..scheme_end + 3], &server[at + 1..])
                }
                _ => server.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_reach_a_message() {
        assert_eq!(
            redact("nats://earful:s3cret@10.0.0.1:4222, tls://tok@b.example:4222"),
            "nats://10.0.0.1:4222,tls://b.example:4222"
        );
        assert_eq!(redact("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
    }

    #[test]
    fn servers_before_2_10_are_refused_by_version() {
        assert!(!supports_jetstream_api("2.9.10"));
        assert!(supports_jetstream_api("2.10.0"));
        assert!(supports_jetstream_api("2.15.1"));
        assert!(supports_jetstream_api("v3.0.0"));
        assert!(supports_jetstream_api("unknown"));
    }

    #[tokio::test]
    async fn an_unreachable_server_is_a_clear_error_naming_the_url() {
        // A port nothing listens on: bind one, note it, close it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|address| address.port())
            .unwrap_or(1);
        let config = ClusterConfig {
            nats: format!("nats://earful:hunter2@127.0.0.1:{port}"),
            ..ClusterConfig::default()
        };
        let error = ClusterConnection::connect(&config, "collector", Arc::default())
            .await
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        assert!(
            error.starts_with(&format!("cannot reach NATS at `nats://127.0.0.1:{port}`")),
            "{error}"
        );
        assert!(error.contains("nats-server -js"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
    }
}
