//! The collector role: the poll engine runs only this node's sources, each poll's mentions
//! are published to the stream (message id = mention id, so the stream drops a mention it
//! already has), and the source's cursor is saved to the key-value bucket only once every one
//! of those publishes is acknowledged. A crash at any instant re-fetches at most what was
//! published since the last saved cursor, and the stream drops those as duplicates.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::kv;
use async_nats::jetstream::message::PublishMessage;
use bytes::Bytes;
use earful_collect::{Engine, EngineOptions, SourceBatch, SourceHealth};
use earful_core::config::{Config, SourceKind};
use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{mpsc, watch};

use crate::connection::ClusterConnection;
use crate::error::ClusterError;
use crate::wire::{WireMention, WIRE_VERSION};

/// Poll batches waiting to be published before the engine waits: a slow or absent NATS slows
/// collection, it never grows memory.
const BATCH_CHANNEL_CAPACITY: usize = 4;

/// The longest sleep between looks at the schedule (no source due, say).
const LONGEST_WAIT: Duration = Duration::from_secs(3_600);

/// The longest pause between retries of a failed publish or cursor save.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(5);

/// The config a collector node runs: the same file with only the sources `[cluster]`
/// assigns to this node.
pub fn assigned_config(config: &Config) -> Config {
    let mut assigned = config.clone();
    assigned
        .sources
        .retain(|source| config.cluster.assigns(&source.name));
    assigned
}

/// The collector side of the cluster: publishes poll batches and keeps cursors.
#[derive(Debug)]
pub struct Collector {
    connection: ClusterConnection,
    cursors: kv::Store,
}

impl Collector {
    /// Makes sure the stream and the cursor bucket exist.
    pub async fn start(connection: ClusterConnection) -> Result<Collector, ClusterError> {
        connection.ensure_stream().await?;
        let cursors = connection.ensure_cursor_bucket().await?;
        Ok(Collector {
            connection,
            cursors,
        })
    }

    /// The saved cursors of these sources, in the form [`Engine::new`] takes from an index
    /// commit. A source with no saved cursor, or one that does not parse, is absent (it starts
    /// from the look-back window; re-fetched mentions are dropped as duplicates or upserted).
    pub async fn saved_cursors(
        &self,
        sources: &[String],
    ) -> Result<BTreeMap<String, serde_json::Value>, ClusterError> {
        let mut cursors = BTreeMap::new();
        for source in sources {
            let source = source.as_str();
            let value =
                self.cursors
                    .get(source)
                    .await
                    .map_err(|error| ClusterError::JetStream {
                        url: self.connection.url(),
                        what: format!(
                            "read the cursor of source `{source}` from bucket `{}`",
                            self.connection.config().kv_bucket
                        ),
                        reason: error.to_string(),
                    })?;
            let Some(bytes) = value else { continue };
            match serde_json::from_slice::<serde_json::Value>(&bytes) {
                Ok(cursor) => {
                    cursors.insert(source.to_string(), cursor);
                }
                Err(error) => {
                    tracing::warn!(source, %error, "saved cursor unreadable; starting from the look-back window");
                }
            }
        }
        Ok(cursors)
    }

    /// Publishes every batch `batches` yields until it closes or `stop` turns true. A batch's
    /// cursor is saved once its mentions are all acknowledged; a failed publish is retried
    /// with backoff (safe: the stream drops duplicates). On stop, the batch at hand is
    /// abandoned without saving its cursor, so the next start fetches it again.
    pub async fn publish_batches(
        &self,
        mut batches: mpsc::Receiver<SourceBatch>,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), ClusterError> {
        loop {
            let batch = tokio::select! {
                batch = batches.recv() => batch,
                _ = stop.wait_for(|stopped| *stopped) => None,
            };
            let Some(batch) = batch else { return Ok(()) };
            if !self.publish_batch(&batch, &mut stop).await {
                return Ok(());
            }
        }
    }

    /// Publishes one batch and saves its cursor; `false` when stopped first.
    async fn publish_batch(&self, batch: &SourceBatch, stop: &mut watch::Receiver<bool>) -> bool {
        let metrics = self.connection.metrics();
        let subject = self.connection.subject(&batch.source);
        let mut payloads = Vec::with_capacity(batch.mentions.len());
        for mention in &batch.mentions {
            let message = WireMention {
                v: WIRE_VERSION,
                source: batch.source.clone(),
                kind: batch.kind,
                bound_watches: batch.bound_watches.clone(),
                mention: mention.clone(),
            };
            match serde_json::to_vec(&message) {
                Ok(payload) => payloads.push((mention.id.clone(), Bytes::from(payload))),
                Err(error) => {
                    tracing::warn!(source = %batch.source, mention = %mention.id, %error, "mention cannot be serialized; skipped");
                    metrics.update(&batch.source, |counters| counters.skipped += 1);
                }
            }
        }
        let mut attempt = 0u32;
        while !payloads.is_empty() {
            if *stop.borrow() {
                return false;
            }
            if attempt > 0 {
                metrics.publish_retries.fetch_add(1, Ordering::Relaxed);
                if !pause(retry_delay(attempt), stop).await {
                    return false;
                }
            }
            attempt += 1;
            payloads = self.publish_all(&batch.source, &subject, payloads).await;
        }
        let cursor = match serde_json::to_vec(&batch.cursor) {
            Ok(cursor) => Bytes::from(cursor),
            Err(error) => {
                // Not reachable for a `serde_json::Value`; the source re-fetches rather than
                // moving past data that is not stored.
                tracing::error!(source = %batch.source, %error, "cursor cannot be serialized; not saved");
                return true;
            }
        };
        let mut attempt = 0u32;
        loop {
            match self.cursors.put(&batch.source, cursor.clone()).await {
                Ok(_) => {
                    metrics.update(&batch.source, |counters| counters.cursor_saves += 1);
                    tracing::debug!(source = %batch.source, mentions = batch.mentions.len(), "cursor saved");
                    return true;
                }
                Err(error) => {
                    attempt += 1;
                    metrics.publish_retries.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(source = %batch.source, %error, attempt, "cursor save failed; retrying");
                    if !pause(retry_delay(attempt), stop).await {
                        return false;
                    }
                }
            }
        }
    }

    /// Publishes each payload with at most `max_in_flight` acknowledgements outstanding;
    /// returns those that failed (to be retried).
    async fn publish_all(
        &self,
        source: &str,
        subject: &str,
        payloads: Vec<(String, Bytes)>,
    ) -> Vec<(String, Bytes)> {
        let metrics = self.connection.metrics();
        let max_in_flight = self.connection.config().max_in_flight.max(1);
        let mut tally = Tally::default();
        let mut in_flight = FuturesUnordered::new();
        for (id, payload) in payloads {
            while in_flight.len() >= max_in_flight {
                if let Some(result) = in_flight.next().await {
                    tally.settle(&metrics, source, result);
                }
            }
            let publish = PublishMessage::build()
                .payload(payload.clone())
                .message_id(&id);
            let sent = self
                .connection
                .jetstream()
                .send_publish(subject.to_string(), publish)
                .await;
            match sent {
                Ok(ack) => in_flight.push(async move {
                    match ack.await {
                        Ok(ack) => Ok(ack.duplicate),
                        Err(error) => Err((id, payload, error.to_string())),
                    }
                }),
                Err(error) if error.kind() == PublishErrorKind::MaxPayloadExceeded => {
                    tracing::warn!(source, mention = %id, bytes = payload.len(), %error, "mention larger than the server accepts; skipped");
                    metrics.update(source, |counters| counters.skipped += 1);
                }
                Err(error) => tally.settle(&metrics, source, Err((id, payload, error.to_string()))),
            }
        }
        while let Some(result) = in_flight.next().await {
            tally.settle(&metrics, source, result);
        }
        if let Some(error) = tally.first_error {
            tracing::warn!(source, failed = tally.failed.len(), %error, "publishes not acknowledged; retrying");
        }
        tally.failed
    }

    /// Runs `engine` like [`Collector::run`], and after each round of polls whose batches
    /// are all published and their cursors saved, hands every source's health to
    /// `round_done` (the role saves it to `state.sqlite`, as the single process does after a
    /// commit). A round cut short by `shutdown` is not reported: its cursors are not saved.
    pub async fn run_with_health(
        &self,
        engine: &mut Engine,
        shutdown: impl std::future::Future<Output = ()>,
        mut round_done: impl FnMut(Vec<(String, SourceKind, SourceHealth)>),
    ) -> Result<(), ClusterError> {
        let (stop_sender, mut stop) = watch::channel(false);
        let mut stopped = stop.clone();
        let (sender, mut receiver) = mpsc::channel(BATCH_CHANNEL_CAPACITY);
        let work = async move {
            loop {
                let now = time::OffsetDateTime::now_utc();
                let wait = match engine.next_due() {
                    Some(due) if due > now => Duration::try_from(due - now).unwrap_or(LONGEST_WAIT),
                    Some(_) => Duration::ZERO,
                    None => LONGEST_WAIT,
                }
                .min(LONGEST_WAIT);
                tokio::select! {
                    _ = stopped.wait_for(|stopped| *stopped) => return Ok(()),
                    () = tokio::time::sleep(wait) => {}
                }
                let completed = {
                    // Publish while the round polls (its batches wait in a bounded channel),
                    // then what it left in the channel once it is done.
                    let poll = engine.poll_due(&sender);
                    tokio::pin!(poll);
                    let mut polled = false;
                    loop {
                        let batch = tokio::select! {
                            _ = stopped.wait_for(|stopped| *stopped) => break false,
                            _ = &mut poll, if !polled => {
                                polled = true;
                                None
                            }
                            batch = receiver.recv() => batch,
                        };
                        match batch {
                            Some(batch) => {
                                let published = self.publish_batch(&batch, &mut stop).await;
                                if !published {
                                    break false;
                                }
                            }
                            None if polled => {
                                let mut finished = true;
                                while let Ok(batch) = receiver.try_recv() {
                                    if !self.publish_batch(&batch, &mut stop).await {
                                        finished = false;
                                        break;
                                    }
                                }
                                break finished;
                            }
                            None => {}
                        }
                    }
                };
                if !completed {
                    return Ok(());
                }
                round_done(engine.health());
            }
        };
        let signal = async move {
            shutdown.await;
            let _ = stop_sender.send(true);
            // Keep the sender alive so the others see `true`, not a closed channel.
            std::future::pending::<()>().await;
        };
        tokio::select! {
            result = work => result,
            () = signal => Ok(()),
        }
    }

    /// Runs `engine` and publishes what it collects until `shutdown` completes.
    pub async fn run(
        &self,
        engine: &mut Engine,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), ClusterError> {
        let (stop_sender, stop) = watch::channel(false);
        let (sender, receiver) = mpsc::channel(BATCH_CHANNEL_CAPACITY);
        let mut engine_stop = stop.clone();
        let collect = engine.run(sender, async move {
            let _ = engine_stop.wait_for(|stopped| *stopped).await;
        });
        let publish = self.publish_batches(receiver, stop);
        let signal = async move {
            shutdown.await;
            let _ = stop_sender.send(true);
            // Keep the sender alive so the others see `true`, not a closed channel.
            std::future::pending::<()>().await;
        };
        tokio::pin!(signal);
        tokio::select! {
            ((), result) = async { tokio::join!(collect, publish) } => result,
            () = &mut signal => Ok(()),
        }
    }
}

/// Runs the collector role: connects, builds the poll engine over this node's sources,
/// resuming from the cursors in the bucket, and publishes until `shutdown` completes.
/// `health` is the sources' last saved health (empty is fine).
pub async fn run_collector(
    config: &Config,
    options: EngineOptions,
    health: BTreeMap<String, SourceHealth>,
    metrics: std::sync::Arc<crate::ClusterMetrics>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), ClusterError> {
    let connection = ClusterConnection::connect(&config.cluster, "collector", metrics).await?;
    let collector = Collector::start(connection).await?;
    let assigned = assigned_config(config);
    let names: Vec<String> = assigned
        .sources
        .iter()
        .filter(|source| source.enabled)
        .map(|source| source.name.clone())
        .collect();
    tracing::info!(node = %config.cluster.node, sources = names.len(), "collector sources assigned");
    let cursors = collector.saved_cursors(&names).await?;
    let mut engine = Engine::new(&assigned, options, &cursors, health)
        .map_err(|error| ClusterError::Stopped(format!("cannot start the poll engine: {error}")))?;
    collector.run(&mut engine, shutdown).await
}

/// One publish's outcome: duplicate or not, or the mention and why it failed.
type PublishOutcome = Result<bool, (String, Bytes, String)>;

/// What a round of publishes came to.
#[derive(Default)]
struct Tally {
    failed: Vec<(String, Bytes)>,
    first_error: Option<String>,
}

impl Tally {
    fn settle(&mut self, metrics: &crate::ClusterMetrics, source: &str, outcome: PublishOutcome) {
        match outcome {
            Ok(duplicate) => metrics.update(source, |counters| {
                if duplicate {
                    counters.duplicates += 1;
                } else {
                    counters.published += 1;
                }
            }),
            Err((id, payload, error)) => {
                self.first_error.get_or_insert(error);
                self.failed.push((id, payload));
            }
        }
    }
}

fn retry_delay(attempt: u32) -> Duration {
    let millis = 100u64.saturating_mul(1u64 << attempt.min(6));
    Duration::from_millis(millis).min(MAX_RETRY_DELAY)
}

/// Sleeps `delay`; `false` when stopped first.
async fn pause(delay: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        () = tokio::time::sleep(delay) => true,
        _ = stop.wait_for(|stopped| *stopped) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_a_ceiling() {
        assert_eq!(retry_delay(1), Duration::from_millis(200));
        assert_eq!(retry_delay(3), Duration::from_millis(800));
        assert_eq!(retry_delay(40), MAX_RETRY_DELAY);
    }
}
