//! The indexer role: a durable pull consumer feeds the enricher and the index writer, and a
//! message is acknowledged only after the tantivy commit that holds its mention. A crash
//! between the commit and the acknowledgements redelivers those messages, and the writer
//! upserts them by id: nothing is lost, nothing is indexed twice.
//!
//! How a commit is matched to messages: every batch sent to the writer carries a marker
//! (`cluster:<consumer>` → this run and the batch's number) among the commit payload's
//! cursors. The payload of a commit therefore names the last batch it holds, and every
//! batch up to it is acknowledged — whether the writer committed on its own schedule or
//! because the indexer asked it to ([`IndexWriterHandle::flush`]) when the window of
//! unacknowledged messages was full.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::pull::{MessagesErrorKind, Stream as MessageStream};
use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::message::{AckKind, Acker};
use earful_enrich::Enricher;
use earful_index::{Batch, CommitInfo, IndexWriterHandle};
use futures::{FutureExt, StreamExt};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::connection::ClusterConnection;
use crate::error::ClusterError;
use crate::wire::WireMention;

/// Runtime knobs of the indexer that the config file does not carry.
#[derive(Clone, Debug)]
pub struct IndexerOptions {
    /// How long the server waits for an acknowledgement before delivering a message again
    /// (60 s): longer than a commit takes under load, short enough that a crashed indexer's
    /// messages come back soon.
    pub ack_wait: Duration,
    /// How often the server signals an idle pull request is alive (5 s); two missed
    /// heartbeats reopen the pull.
    pub heartbeat: Duration,
}

impl Default for IndexerOptions {
    fn default() -> IndexerOptions {
        IndexerOptions {
            ack_wait: Duration::from_secs(60),
            heartbeat: Duration::from_secs(5),
        }
    }
}

/// The marker a batch carries into the commit payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Marker {
    /// This run of the indexer (random): a payload from an earlier run acknowledges nothing.
    run: u64,
    /// The batch's number within the run.
    batch: u64,
}

/// A batch handed to the writer, waiting for its commit.
struct Sent {
    batch: u64,
    ackers: Vec<Acker>,
}

/// The indexer side of the cluster.
#[derive(Debug)]
pub struct Indexer {
    connection: ClusterConnection,
    consumer: PullConsumer,
    options: IndexerOptions,
}

impl Indexer {
    /// Makes sure the stream and the durable consumer exist.
    pub async fn start(
        connection: ClusterConnection,
        options: IndexerOptions,
    ) -> Result<Indexer, ClusterError> {
        let stream = connection.ensure_stream().await?;
        let consumer = connection
            .ensure_consumer(&stream, options.ack_wait)
            .await?;
        Ok(Indexer {
            connection,
            consumer,
            options,
        })
    }

    /// The commit payload key of this consumer's marker.
    fn marker_key(&self) -> String {
        format!("cluster:{}", self.connection.config().consumer)
    }

    /// Consumes until `shutdown` completes: enriches each delivered mention (with the
    /// enricher `enricher` holds at the time, so a config reload applies from the next
    /// batch), sends it to `writer`, and acknowledges it after the commit that holds it. On shutdown the writer
    /// is flushed and everything it committed acknowledged, so a clean stop redelivers
    /// nothing. Fails when the writer fails (the messages it held are delivered again to the
    /// next run).
    pub async fn run(
        &mut self,
        enricher: watch::Receiver<Arc<Enricher>>,
        writer: IndexWriterHandle,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), ClusterError> {
        let metrics = self.connection.metrics();
        let config = self.connection.config().clone();
        let max_ack_pending = config.max_ack_pending.max(1);
        let fetch_batch = config.fetch_batch.clamp(1, max_ack_pending);
        let run = rand::random::<u64>();
        let marker_key = self.marker_key();
        let mut commits = writer.subscribe_commits();
        let mut sent: VecDeque<Sent> = VecDeque::new();
        let mut unacked = 0usize;
        let mut next_batch = 1u64;
        let mut messages = self.open_messages(fetch_batch).await;
        let mut stream_errors = 0u32;
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                changed = commits.changed() => {
                    if changed.is_err() {
                        return Err(ClusterError::Stopped("the index writer stopped".into()));
                    }
                    let info = commits.borrow_and_update().clone();
                    if let Some(info) = info {
                        unacked -= acknowledge(&info, &marker_key, run, &mut sent, &metrics).await;
                    }
                }
                next = messages.next() => match next {
                    Some(Ok(first)) => {
                        stream_errors = 0;
                        let mut delivered = vec![first];
                        // Whatever else has arrived, up to a batch, without waiting.
                        while delivered.len() < fetch_batch {
                            match messages.next().now_or_never() {
                                Some(Some(Ok(message))) => delivered.push(message),
                                _ => break,
                            }
                        }
                        let batch = next_batch;
                        next_batch += 1;
                        let ackers = self
                            .dispatch(delivered, &current(&enricher), &writer, &marker_key, Marker { run, batch })
                            .await?;
                        unacked += ackers.len();
                        sent.push_back(Sent { batch, ackers });
                        if unacked >= max_ack_pending {
                            // The server delivers no more until some are acknowledged: commit
                            // now rather than at the writer's next scheduled commit.
                            if let Some(info) = flush(&writer).await? {
                                unacked -= acknowledge(&info, &marker_key, run, &mut sent, &metrics).await;
                            }
                        }
                    }
                    Some(Err(error)) => {
                        stream_errors += 1;
                        tracing::warn!(consumer = %config.consumer, %error, "pull from the stream failed");
                        if stream_errors >= 2 || is_terminal(error.kind()) {
                            tokio::select! {
                                () = &mut shutdown => break,
                                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                            }
                            messages = self.reopen(fetch_batch).await;
                            stream_errors = 0;
                        }
                    }
                    None => {
                        tracing::warn!(consumer = %config.consumer, "the pull ended; reopening");
                        messages = self.reopen(fetch_batch).await;
                    }
                },
            }
            metrics.unacked.store(unacked as u64, Ordering::Relaxed);
        }
        if !sent.is_empty() {
            if let Some(info) = flush(&writer).await? {
                unacked -= acknowledge(&info, &marker_key, run, &mut sent, &metrics).await;
            }
        }
        metrics.unacked.store(unacked as u64, Ordering::Relaxed);
        tracing::info!(consumer = %config.consumer, unacked, "indexer stopped");
        Ok(())
    }

    /// Parses, enriches and sends one delivery to the writer; returns the ackers of the
    /// mentions sent. A message that is not a readable mention is terminated (never
    /// delivered again), logged and counted.
    async fn dispatch(
        &self,
        delivered: Vec<async_nats::jetstream::Message>,
        enricher: &Arc<Enricher>,
        writer: &IndexWriterHandle,
        marker_key: &str,
        marker: Marker,
    ) -> Result<Vec<Acker>, ClusterError> {
        let metrics = self.connection.metrics();
        let mut payloads = Vec::with_capacity(delivered.len());
        let mut ackers = Vec::with_capacity(delivered.len());
        for message in delivered {
            let (sequence, deliveries) = message
                .info()
                .map(|info| (info.stream_sequence, info.delivered))
                .unwrap_or((0, 1));
            if deliveries > 1 {
                metrics.redelivered.fetch_add(1, Ordering::Relaxed);
            }
            let (message, acker) = message.split();
            payloads.push((sequence, message.subject.to_string(), message.payload));
            ackers.push(acker);
        }
        let marker_value = serde_json::to_value(marker)
            .map_err(|error| ClusterError::Stopped(format!("cannot write the marker: {error}")))?;
        let cursors = BTreeMap::from([(marker_key.to_string(), marker_value)]);
        let enricher = Arc::clone(enricher);
        let writer = writer.clone();
        // Decoding and enrichment are CPU work, and `send` blocks while the writer's queue is
        // full (the back-pressure): all of it off the async threads.
        let malformed = tokio::task::spawn_blocking(move || {
            let now = OffsetDateTime::now_utc();
            let mut mentions = Vec::with_capacity(payloads.len());
            let mut malformed = Vec::new();
            for (position, (sequence, subject, payload)) in payloads.into_iter().enumerate() {
                match WireMention::from_payload(&payload) {
                    Ok(wire) => {
                        mentions.push(enricher.enrich_bound(wire.mention, now, &wire.bound_watches))
                    }
                    Err(error) => {
                        tracing::warn!(%subject, sequence, %error, "message skipped");
                        malformed.push(position);
                    }
                }
            }
            writer.send(Batch { mentions, cursors }).map(|()| malformed)
        })
        .await
        .map_err(|error| ClusterError::Stopped(format!("the enrichment task failed: {error}")))??;
        for position in malformed.iter().rev() {
            let acker = ackers.remove(*position);
            metrics.malformed.fetch_add(1, Ordering::Relaxed);
            if let Err(error) = acker.ack_with(AckKind::Term).await {
                tracing::warn!(%error, "cannot terminate a malformed message");
            }
        }
        metrics
            .consumed
            .fetch_add(ackers.len() as u64, Ordering::Relaxed);
        Ok(ackers)
    }

    async fn open_messages(&self, fetch_batch: usize) -> MessageStream {
        let mut attempt = 0u32;
        loop {
            match self
                .consumer
                .stream()
                .max_messages_per_batch(fetch_batch)
                .heartbeat(self.options.heartbeat)
                .expires(self.options.heartbeat.saturating_mul(6))
                .messages()
                .await
            {
                Ok(messages) => return messages,
                Err(error) => {
                    attempt += 1;
                    tracing::warn!(consumer = %self.connection.config().consumer, %error, attempt, "cannot open the pull; retrying");
                    tokio::time::sleep(Duration::from_secs(u64::from(attempt.min(5)))).await;
                }
            }
        }
    }

    /// Reopens the pull, re-creating the consumer first if the server lost it.
    async fn reopen(&mut self, fetch_batch: usize) -> MessageStream {
        let mut attempt = 0u32;
        loop {
            let recreated = match self.connection.ensure_stream().await {
                Ok(stream) => {
                    self.connection
                        .ensure_consumer(&stream, self.options.ack_wait)
                        .await
                }
                Err(error) => Err(error),
            };
            match recreated {
                Ok(consumer) => {
                    self.consumer = consumer;
                    return self.open_messages(fetch_batch).await;
                }
                Err(error) => {
                    attempt += 1;
                    tracing::warn!(%error, attempt, "cannot reach the consumer; retrying");
                    tokio::time::sleep(Duration::from_secs(u64::from(attempt.min(5)))).await;
                }
            }
        }
    }
}

/// The enricher of the latest config (a reload swaps it between batches).
fn current(enricher: &watch::Receiver<Arc<Enricher>>) -> Arc<Enricher> {
    Arc::clone(&enricher.borrow())
}

fn is_terminal(kind: MessagesErrorKind) -> bool {
    matches!(
        kind,
        MessagesErrorKind::ConsumerDeleted | MessagesErrorKind::NoResponders
    )
}

/// Commits everything sent so far.
async fn flush(writer: &IndexWriterHandle) -> Result<Option<CommitInfo>, ClusterError> {
    let writer = writer.clone();
    tokio::task::spawn_blocking(move || writer.flush())
        .await
        .map_err(|error| ClusterError::Stopped(format!("the flush task failed: {error}")))?
        .map_err(ClusterError::from)
}

/// Acknowledges every batch the commit holds; returns how many messages that was.
async fn acknowledge(
    info: &CommitInfo,
    marker_key: &str,
    run: u64,
    sent: &mut VecDeque<Sent>,
    metrics: &crate::ClusterMetrics,
) -> usize {
    let Some(marker) = info
        .payload
        .cursors
        .get(marker_key)
        .and_then(|value| serde_json::from_value::<Marker>(value.clone()).ok())
        .filter(|marker| marker.run == run)
    else {
        return 0;
    };
    let mut acknowledged = 0;
    while sent
        .front()
        .is_some_and(|front| front.batch <= marker.batch)
    {
        let Some(done) = sent.pop_front() else { break };
        for acker in done.ackers {
            // A lost acknowledgement only means a redelivery, which the upsert absorbs.
            if let Err(error) = acker.ack().await {
                tracing::debug!(%error, "acknowledgement not sent");
            }
            acknowledged += 1;
        }
    }
    metrics
        .acked
        .fetch_add(acknowledged as u64, Ordering::Relaxed);
    acknowledged
}

/// Runs the indexer role: connects, makes sure the stream and consumer exist, and consumes
/// into `writer` until `shutdown` completes. The caller owns the writer (and its final
/// commit), the alert evaluator and the server, exactly as with `--role all`.
pub async fn run_indexer(
    config: &earful_core::config::ClusterConfig,
    metrics: Arc<crate::ClusterMetrics>,
    enricher: watch::Receiver<Arc<Enricher>>,
    writer: IndexWriterHandle,
    options: IndexerOptions,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), ClusterError> {
    let connection = ClusterConnection::connect(config, "indexer", metrics).await?;
    let mut indexer = Indexer::start(connection, options).await?;
    indexer.run(enricher, writer, shutdown).await
}
