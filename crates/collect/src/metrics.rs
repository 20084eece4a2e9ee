//! The collectors' metrics, declared once: counters and a latency summary per source, labelled
//! by the source's configured name and kind only (bounded by the config; never a URL or a
//! mention). Rendered as Prometheus text for `/metrics`.
//!
//! A few counters need no metrics framework; this keeps the crate's dependency list short.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// One source's counters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SourceCounters {
    /// The collector kind (a label).
    pub kind: String,
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

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        let Ok(sources) = self.sources.lock() else {
            return String::new();
        };
        let mut out = String::new();
        let simple: [SimpleCounter; 4] = [
            (
                "earful_collect_requests_total",
                "HTTP requests sent by collectors.",
                |c| c.requests,
            ),
            (
                "earful_collect_items_total",
                "Mentions handed on by collectors.",
                |c| c.items,
            ),
            (
                "earful_collect_skipped_items_total",
                "Malformed items skipped.",
                |c| c.skipped,
            ),
            (
                "earful_collect_not_modified_total",
                "Responses that were 304 or an unchanged ETag.",
                |c| c.not_modified,
            ),
        ];
        for (name, help, value) in simple {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (source, counters) in sources.iter() {
                let _ = writeln!(
                    out,
                    "{name}{{{}}} {}",
                    labels(source, &counters.kind),
                    value(counters)
                );
            }
        }
        let name = "earful_collect_errors_total";
        let _ = writeln!(
            out,
            "# HELP {name} Failed polls by error class.\n# TYPE {name} counter"
        );
        for (source, counters) in sources.iter() {
            for (class, count) in &counters.errors {
                let _ = writeln!(
                    out,
                    "{name}{{{},class=\"{class}\"}} {count}",
                    labels(source, &counters.kind)
                );
            }
        }
        let name = "earful_collect_request_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time to a complete response.\n# TYPE {name} summary"
        );
        for (source, counters) in sources.iter() {
            let labels = labels(source, &counters.kind);
            let _ = writeln!(
                out,
                "{name}_sum{{{labels}}} {}",
                counters.latency_seconds_sum
            );
            let _ = writeln!(out, "{name}_count{{{labels}}} {}", counters.latency_count);
        }
        out
    }
}

/// A counter's name, help text and how to read it from a source's counters.
type SimpleCounter = (&'static str, &'static str, fn(&SourceCounters) -> u64);

fn labels(source: &str, kind: &str) -> String {
    format!("source=\"{}\",kind=\"{}\"", escape(source), escape(kind))
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_with_bounded_labels() {
        let metrics = CollectMetrics::default();
        metrics.update("hn-acme", "hackernews", |c| {
            c.requests += 2;
            c.items += 5;
            *c.errors.entry("timeout".into()).or_default() += 1;
            c.latency_seconds_sum += 0.5;
            c.latency_count += 2;
        });
        let text = metrics.render();
        assert!(
            text.contains(
                "earful_collect_requests_total{source=\"hn-acme\",kind=\"hackernews\"} 2"
            ),
            "{text}"
        );
        assert!(text.contains("earful_collect_errors_total{source=\"hn-acme\",kind=\"hackernews\",class=\"timeout\"} 1"), "{text}");
        assert!(text.contains("earful_collect_request_duration_seconds_count{source=\"hn-acme\",kind=\"hackernews\"} 2"), "{text}");
    }
}
