//! Earful's scale-out roles over NATS JetStream, for when one machine's polling budget is not
//! enough.
//!
//! - **Collector** ([`run_collector`], [`Collector`]): runs the poll engine over the sources
//!   `[cluster]` assigns to this node ([`assigned`]), publishes every mention to the stream
//!   with `Nats-Msg-Id` = the mention id (the stream drops a mention it already has), and
//!   saves each source's cursor to a JetStream key-value bucket only after the stream has
//!   acknowledged every mention the cursor covers. A restart resumes from those cursors.
//! - **Indexer** ([`run_indexer`], [`Indexer`]): a durable pull consumer feeds enrichment and
//!   the index writer; messages are acknowledged only after the tantivy commit that holds
//!   them. At most `max_ack_pending` messages are delivered and unacknowledged at once, and a
//!   full writer queue stops the pull: memory stays bounded.
//!
//! The single-process path (`earful run --role all`) needs none of this.
//!
//! ```no_run
//! # async fn example(config: earful_core::config::Config, writer: earful_index::IndexWriterHandle)
//! # -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! let metrics = Arc::new(earful_cluster::ClusterMetrics::default());
//! // A config reload may send a new enricher; this one never changes.
//! let (_keep, enricher) = tokio::sync::watch::channel(Arc::new(earful_enrich::Enricher::from_config(&config)?));
//! earful_cluster::run_indexer(
//!     &config.cluster, metrics, enricher, writer,
//!     earful_cluster::IndexerOptions::default(), async { let _ = tokio::signal::ctrl_c().await; },
//! ).await?;
//! # Ok(()) }
//! ```
//!
//! What this crate must never do:
//! - save a cursor before every mention it covers is acknowledged by the stream, or
//!   acknowledge a message before the commit that holds its mention;
//! - hold more than `max_ack_pending` delivered mentions, or more than `max_in_flight`
//!   unacknowledged publishes;
//! - give up on a lost connection (it reconnects with backoff and says so in the log), or put
//!   credentials from the NATS URL into a message;
//! - assign a source to two nodes, or to a different node from one run to the next.

mod collector;
mod connection;
mod error;
mod indexer;
mod metrics;
mod wire;

pub use collector::{assigned_config, run_collector, Collector};
pub use connection::{redact, ClusterConnection};
pub use error::ClusterError;
pub use indexer::{run_indexer, Indexer, IndexerOptions};
pub use metrics::{ClusterMetrics, PublishCounters};
pub use wire::{WireError, WireMention, WIRE_VERSION};

/// Whether this node (as `config.cluster` describes it) polls the source named `source`.
/// With `assign = "hash"`, every source belongs to exactly one of the `nodes` nodes, the same
/// one on every machine and every run.
pub fn assigned(config: &earful_core::config::Config, source: &str) -> bool {
    config.cluster.assigns(source)
}
