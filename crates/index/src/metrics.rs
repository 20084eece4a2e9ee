//! The index writer's metrics, declared once: commits, their latency, mentions indexed and
//! mentions in the index. Fed from [`IndexWriterHandle::subscribe_commits`] (see
//! [`IndexMetrics::follow`]) and registered on a `prometheus_client` registry for `/metrics`.
//!
//! [`IndexWriterHandle::subscribe_commits`]: crate::IndexWriterHandle::subscribe_commits

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tokio::sync::watch;

use crate::writer::CommitInfo;

/// Upper bounds, in seconds, of the commit latency histogram's buckets. Fixed, so dashboards
/// can compare them across releases; a commit takes milliseconds with a small batch and
/// seconds when segments merge.
pub const COMMIT_SECONDS_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The index metrics: cheap to update (atomics), shared by `Arc` between the task that
/// observes commits and the server that renders them.
#[derive(Debug, Clone)]
pub struct IndexMetrics {
    commits: Counter,
    commit_seconds: Histogram,
    documents_indexed: Counter,
    documents: Gauge,
}

impl Default for IndexMetrics {
    fn default() -> IndexMetrics {
        IndexMetrics {
            commits: Counter::default(),
            commit_seconds: Histogram::new(COMMIT_SECONDS_BUCKETS),
            documents_indexed: Counter::default(),
            documents: Gauge::default(),
        }
    }
}

impl IndexMetrics {
    /// Metrics for an index that already holds `documents` mentions (so the gauge is right
    /// before the first commit).
    pub fn starting_at(documents: u64) -> IndexMetrics {
        let metrics = IndexMetrics::default();
        metrics.set_documents(documents);
        metrics
    }

    /// Counts one commit: its latency, the mentions it took in and the index's new size.
    pub fn observe(&self, commit: &CommitInfo) {
        self.commits.inc();
        self.commit_seconds.observe(commit.duration.as_secs_f64());
        self.documents_indexed.inc_by(commit.docs_added);
        self.set_documents(commit.num_docs);
    }

    /// Sets the number of mentions in the index.
    pub fn set_documents(&self, documents: u64) {
        self.documents
            .set(i64::try_from(documents).unwrap_or(i64::MAX));
    }

    /// Observes every commit announced after `commits` was subscribed, until the writer
    /// stops (a commit made before subscribing was counted by whoever saw it; use
    /// [`IndexMetrics::starting_at`] for the index's size). The channel keeps only the newest
    /// commit, so two commits landing while this task waits for a turn count as one
    /// (undercounting, never double counting); observing is a few atomic additions, so that
    /// takes a starved runtime.
    pub async fn follow(&self, mut commits: watch::Receiver<Option<CommitInfo>>) {
        while commits.changed().await.is_ok() {
            let latest = commits.borrow_and_update().clone();
            if let Some(commit) = latest {
                self.observe(&commit);
            }
        }
    }

    /// Registers the metrics (names start `earful_index_`):
    /// `earful_index_commits_total`, `earful_index_commit_seconds` (histogram),
    /// `earful_index_documents_indexed_total` and `earful_index_documents` (gauge).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "earful_index_commits",
            "Index commits (each makes mentions and collector cursors durable together).",
            self.commits.clone(),
        );
        registry.register(
            "earful_index_commit_seconds",
            "Time to prepare, write and reload one index commit.",
            self.commit_seconds.clone(),
        );
        registry.register(
            "earful_index_documents_indexed",
            "Mentions written to the index (an upsert of a known mention counts again).",
            self.documents_indexed.clone(),
        );
        registry.register(
            "earful_index_documents",
            "Mentions in the index after the latest commit.",
            self.documents.clone(),
        );
    }

    /// Commits counted so far.
    pub fn commits(&self) -> u64 {
        self.commits.get()
    }

    /// Mentions indexed so far.
    pub fn documents_indexed(&self) -> u64 {
        self.documents_indexed.get()
    }

    /// Mentions in the index at the latest commit.
    pub fn documents(&self) -> u64 {
        u64::try_from(self.documents.get()).unwrap_or(0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::CommitPayload;

    fn commit(opstamp: u64, docs_added: u64, num_docs: u64, millis: u64) -> CommitInfo {
        CommitInfo {
            opstamp,
            payload: CommitPayload::default(),
            num_docs,
            docs_added,
            duration: Duration::from_millis(millis),
        }
    }

    fn render(metrics: &IndexMetrics) -> String {
        let mut registry = Registry::default();
        metrics.register(&mut registry);
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &registry).unwrap();
        text
    }

    #[test]
    fn commits_fill_counters_gauge_and_histogram_buckets() {
        let metrics = IndexMetrics::starting_at(10);
        assert!(render(&metrics).contains("earful_index_documents 10\n"));
        metrics.observe(&commit(5, 3, 13, 7));
        metrics.observe(&commit(9, 2, 14, 400));
        let text = render(&metrics);
        for line in [
            "# TYPE earful_index_commits_total counter",
            "earful_index_commits_total 2",
            "earful_index_documents_indexed_total 5",
            "earful_index_documents 14",
            "# TYPE earful_index_commit_seconds histogram",
            // 7 ms falls in the 10 ms bucket; 400 ms in the 500 ms bucket; both under +Inf.
            "earful_index_commit_seconds_bucket{le=\"0.005\"} 0",
            "earful_index_commit_seconds_bucket{le=\"0.01\"} 1",
            "earful_index_commit_seconds_bucket{le=\"0.25\"} 1",
            "earful_index_commit_seconds_bucket{le=\"0.5\"} 2",
            "earful_index_commit_seconds_bucket{le=\"+Inf\"} 2",
            "earful_index_commit_seconds_count 2",
        ] {
            assert!(text.lines().any(|got| got == line), "{line} not in\n{text}");
        }
    }

    /// Lets the follower run until `done` holds (no clock involved).
    async fn until(done: impl Fn() -> bool) {
        for _ in 0..10_000 {
            if done() {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("the follower never caught up");
    }

    #[tokio::test]
    async fn follow_counts_each_commit_announced_after_subscribing() {
        let (sender, receiver) = watch::channel(Some(commit(1, 4, 4, 1)));
        let metrics = IndexMetrics::default();
        let follower = {
            let metrics = metrics.clone();
            tokio::spawn(async move { metrics.follow(receiver).await })
        };
        tokio::task::yield_now().await;
        sender.send_replace(Some(commit(2, 6, 10, 2)));
        until(|| metrics.commits() == 1).await;
        sender.send_replace(Some(commit(3, 1, 11, 3)));
        until(|| metrics.commits() == 2).await;
        // Closing the channel (the writer stopped) ends the task.
        drop(sender);
        follower.await.unwrap();
        assert_eq!(metrics.commits(), 2);
        assert_eq!(metrics.documents_indexed(), 7);
        assert_eq!(metrics.documents(), 11);
    }
}
