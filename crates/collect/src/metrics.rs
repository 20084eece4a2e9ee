//! The collectors' metrics, declared once: counters and a latency histogram per source,
//! labelled by the source's configured name and kind only (bounded by the config; never a URL
//! or a mention). [`CollectMetrics`] is a `prometheus_client` collector: `/metrics` registers
//! it and it encodes what the engine counted at scrape time.

use std::collections::BTreeMap;
use std::sync::Mutex;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

/// Upper bounds, in seconds, of the response latency histogram's buckets.
pub const REQUEST_SECONDS_BUCKETS: [f64; 10] =
    [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// One source's counters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SourceCounters {
    /// The collector kind (a label).
    pub kind: String,
    /// Polls made (successful or not).
    pub polls: u64,
    /// HTTP requests sent.
    pub requests: u64,
    /// Mentions handed on.
    pub items: u64,
    /// Items skipped as malformed.
    pub skipped: u64,
    /// 304s and unchanged ETags.
    pub not_modified: u64,
    /// Failed polls by error class.
    pub errors: BTreeMap<String, u64>,
    /// Sum of response latencies, seconds.
    pub latency_seconds_sum: f64,
    /// Number of responses timed.
    pub latency_count: u64,
    /// Responses per latency bucket of [`REQUEST_SECONDS_BUCKETS`] (not cumulative), then
    /// those slower than the last bound. Empty until the first response.
    pub latency_buckets: Vec<u64>,
}

impl SourceCounters {
    /// Counts one response that took `seconds`.
    pub fn observe_latency(&mut self, seconds: f64) {
        if self.latency_buckets.is_empty() {
            self.latency_buckets = vec![0; REQUEST_SECONDS_BUCKETS.len() + 1];
        }
        let bucket = REQUEST_SECONDS_BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(REQUEST_SECONDS_BUCKETS.len());
        if let Some(count) = self.latency_buckets.get_mut(bucket) {
            *count += 1;
        }
        self.latency_seconds_sum += seconds;
        self.latency_count += 1;
    }

    /// The histogram's buckets as `prometheus_client` encodes them: upper bound and count.
    fn histogram_buckets(&self) -> Vec<(f64, u64)> {
        REQUEST_SECONDS_BUCKETS
            .iter()
            .copied()
            .chain(std::iter::once(f64::INFINITY))
            .enumerate()
            .map(|(bucket, bound)| {
                (
                    bound,
                    self.latency_buckets.get(bucket).copied().unwrap_or(0),
                )
            })
            .collect()
    }
}

/// The registry. Shared by reference; cheap to update.
#[derive(Debug, Default)]
pub struct CollectMetrics {
    sources: Mutex<BTreeMap<String, SourceCounters>>,
}

impl CollectMetrics {
    /// Applies one poll's figures to a source's counters.
    pub fn update(&self, source: &str, kind: &str, change: impl FnOnce(&mut SourceCounters)) {
        if let Ok(mut sources) = self.sources.lock() {
            let counters = sources.entry(source.to_string()).or_default();
            if counters.kind.is_empty() {
                counters.kind = kind.to_string();
            }
            change(counters);
        }
    }

    /// A copy of one source's counters.
    pub fn source(&self, source: &str) -> Option<SourceCounters> {
        self.sources.lock().ok()?.get(source).cloned()
    }

    /// A copy of every source's counters, by source name.
    pub fn snapshot(&self) -> BTreeMap<String, SourceCounters> {
        self.sources
            .lock()
            .map(|sources| sources.clone())
            .unwrap_or_default()
    }

    /// These metrics alone in the Prometheus text format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(SnapshotCollector(self.snapshot())));
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, &registry);
        text
    }
}

/// The counters are copied out of the lock first, so a scrape holds it only for the copy.
impl Collector for CollectMetrics {
    fn encode(&self, encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        SnapshotCollector(self.snapshot()).encode(encoder)
    }
}

#[derive(Debug)]
struct SnapshotCollector(BTreeMap<String, SourceCounters>);

/// A counter's name (without `_total`, which the encoder adds), help text and how to read it
/// from a source's counters.
type SimpleCounter = (&'static str, &'static str, fn(&SourceCounters) -> u64);

const SIMPLE_COUNTERS: [SimpleCounter; 5] = [
    (
        "earful_collect_polls",
        "Polls of a source, successful or not.",
        |c| c.polls,
    ),
    (
        "earful_collect_requests",
        "HTTP requests sent by collectors.",
        |c| c.requests,
    ),
    (
        "earful_collect_items",
        "Mentions handed on by collectors.",
        |c| c.items,
    ),
    (
        "earful_collect_skipped_items",
        "Malformed items skipped.",
        |c| c.skipped,
    ),
    (
        "earful_collect_not_modified",
        "Responses that were 304 or an unchanged ETag.",
        |c| c.not_modified,
    ),
];

impl Collector for SnapshotCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let sources = &self.0;
        for (name, help, value) in SIMPLE_COUNTERS {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for (source, counters) in sources {
                let labels = [
                    ("source", source.as_str()),
                    ("kind", counters.kind.as_str()),
                ];
                ConstCounter::new(value(counters)).encode(family.encode_family(&labels)?)?;
            }
        }
        let mut errors = encoder.encode_descriptor(
            "earful_collect_errors",
            "Failed polls by error class.",
            None,
            MetricType::Counter,
        )?;
        for (source, counters) in sources {
            for (class, count) in &counters.errors {
                let labels = [
                    ("source", source.as_str()),
                    ("kind", counters.kind.as_str()),
                    ("class", class.as_str()),
                ];
                ConstCounter::new(*count).encode(errors.encode_family(&labels)?)?;
            }
        }
        let mut latency = encoder.encode_descriptor(
            "earful_collect_request_duration_seconds",
            "Time to a complete response.",
            None,
            MetricType::Histogram,
        )?;
        for (source, counters) in sources {
            let labels = [
                ("source", source.as_str()),
                ("kind", counters.kind.as_str()),
            ];
            latency
                .encode_family(&labels)?
                .encode_histogram::<NoLabelSet>(
                    counters.latency_seconds_sum,
                    counters.latency_count,
                    &counters.histogram_buckets(),
                    None,
                )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_with_bounded_labels() {
        let metrics = CollectMetrics::default();
        metrics.update("hn-acme", "hackernews", |c| {
            c.polls += 1;
            c.requests += 2;
            c.items += 5;
            *c.errors.entry("timeout".into()).or_default() += 1;
            c.observe_latency(0.2);
            c.observe_latency(0.3);
        });
        let text = metrics.render();
        for line in [
            "# TYPE earful_collect_requests_total counter",
            "earful_collect_polls_total{source=\"hn-acme\",kind=\"hackernews\"} 1",
            "earful_collect_requests_total{source=\"hn-acme\",kind=\"hackernews\"} 2",
            "earful_collect_errors_total{source=\"hn-acme\",kind=\"hackernews\",class=\"timeout\"} 1",
            "# TYPE earful_collect_request_duration_seconds histogram",
            "earful_collect_request_duration_seconds_bucket{source=\"hn-acme\",kind=\"hackernews\",le=\"0.1\"} 0",
            "earful_collect_request_duration_seconds_bucket{source=\"hn-acme\",kind=\"hackernews\",le=\"0.25\"} 1",
            "earful_collect_request_duration_seconds_bucket{source=\"hn-acme\",kind=\"hackernews\",le=\"0.5\"} 2",
            "earful_collect_request_duration_seconds_bucket{source=\"hn-acme\",kind=\"hackernews\",le=\"+Inf\"} 2",
            "earful_collect_request_duration_seconds_count{source=\"hn-acme\",kind=\"hackernews\"} 2",
        ] {
            assert!(text.lines().any(|got| got == line), "{line} not in\n{text}");
        }
    }

    #[test]
    fn label_values_are_escaped() {
        let metrics = CollectMetrics::default();
        metrics.update("odd \"name\"", "feed", |c| c.polls += 1);
        let text = metrics.render();
        assert!(
            text.contains(
                "earful_collect_polls_total{source=\"odd \\\"name\\\"\",kind=\"feed\"} 1"
            ),
            "{text}"
        );
    }
}
