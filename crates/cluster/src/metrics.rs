//! The scale-out roles' metrics, declared once: counters per source (labelled by the
//! configured source name only, bounded by the config) and a few role-wide counters and
//! gauges, rendered as Prometheus text for `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// A per-source series: name, help, and how to read it.
type PerSourceSeries = (&'static str, &'static str, fn(&PublishCounters) -> u64);

/// A collector's counters for one source.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PublishCounters {
    /// Mentions the stream acknowledged as new.
    pub published: u64,
    /// Mentions the stream acknowledged as duplicates (already in its duplicate window).
    pub duplicates: u64,
    /// Cursors saved to the key-value bucket.
    pub cursor_saves: u64,
    /// Mentions skipped because they cannot be published (larger than the server allows).
    pub skipped: u64,
}

/// The registry, shared by both roles.
#[derive(Debug, Default)]
pub struct ClusterMetrics {
    sources: Mutex<BTreeMap<String, PublishCounters>>,
    /// Publishes or cursor saves that failed and were retried.
    pub publish_retries: AtomicU64,
    /// Times the connection to NATS was lost.
    pub disconnects: AtomicU64,
    /// Mentions the indexer handed to the index writer.
    pub consumed: AtomicU64,
    /// Mentions acknowledged after the commit that holds them.
    pub acked: AtomicU64,
    /// Messages delivered more than once (after a crash, a lost ack or a restart).
    pub redelivered: AtomicU64,
    /// Messages that are not a mention this build can read; terminated, never redelivered.
    pub malformed: AtomicU64,
    /// Mentions delivered to the indexer and not yet acknowledged.
    pub unacked: AtomicU64,
}

impl ClusterMetrics {
    /// Applies a change to one source's counters.
    pub fn update(&self, source: &str, change: impl FnOnce(&mut PublishCounters)) {
        if let Ok(mut sources) = self.sources.lock() {
            change(sources.entry(source.to_string()).or_default());
        }
    }

    /// A copy of one source's counters.
    pub fn source(&self, source: &str) -> PublishCounters {
        self.sources
            .lock()
            .ok()
            .and_then(|sources| sources.get(source).cloned())
            .unwrap_or_default()
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Ok(sources) = self.sources.lock() {
            let per_source: [PerSourceSeries; 4] = [
                (
                    "earful_cluster_published_mentions_total",
                    "Mentions the stream acknowledged as new.",
                    |c| c.published,
                ),
                (
                    "earful_cluster_duplicate_mentions_total",
                    "Mentions the stream dropped as already published.",
                    |c| c.duplicates,
                ),
                (
                    "earful_cluster_cursor_saves_total",
                    "Source cursors saved to the key-value bucket after their mentions were acknowledged.",
                    |c| c.cursor_saves,
                ),
                (
                    "earful_cluster_unpublishable_mentions_total",
                    "Mentions skipped because they exceed the server's message size.",
                    |c| c.skipped,
                ),
            ];
            for (name, help, value) in per_source {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
                for (source, counters) in sources.iter() {
                    let _ = writeln!(out, "{name}{{source=\"{source}\"}} {}", value(counters));
                }
            }
        }
        let role_wide: [(&str, &str, &str, &AtomicU64); 7] = [
            (
                "earful_cluster_publish_retries_total",
                "counter",
                "Publishes and cursor saves retried after a failure.",
                &self.publish_retries,
            ),
            (
                "earful_cluster_nats_disconnects_total",
                "counter",
                "Times the connection to NATS was lost.",
                &self.disconnects,
            ),
            (
                "earful_cluster_consumed_mentions_total",
                "counter",
                "Mentions the indexer handed to the index writer.",
                &self.consumed,
            ),
            (
                "earful_cluster_acked_mentions_total",
                "counter",
                "Mentions acknowledged after the commit that holds them.",
                &self.acked,
            ),
            (
                "earful_cluster_redelivered_messages_total",
                "counter",
                "Messages delivered to the indexer more than once.",
                &self.redelivered,
            ),
            (
                "earful_cluster_malformed_messages_total",
                "counter",
                "Messages that are not a readable mention; terminated.",
                &self.malformed,
            ),
            (
                "earful_cluster_unacked_mentions",
                "gauge",
                "Mentions delivered to the indexer and not yet acknowledged.",
                &self.unacked,
            ),
        ];
        for (name, kind, help, value) in role_wide {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}",
                value.load(Ordering::Relaxed)
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_per_source_and_role_wide_series() {
        let metrics = ClusterMetrics::default();
        metrics.update("hn-acme", |counters| counters.published += 3);
        metrics.acked.fetch_add(2, Ordering::Relaxed);
        let text = metrics.render();
        assert!(
            text.contains("earful_cluster_published_mentions_total{source=\"hn-acme\"} 3"),
            "{text}"
        );
        assert!(
            text.contains("earful_cluster_acked_mentions_total 2"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE earful_cluster_unacked_mentions gauge"),
            "{text}"
        );
    }
}
