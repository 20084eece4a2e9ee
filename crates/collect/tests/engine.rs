//! The poll engine with an injected clock: the schedule, backoff and the long retry, health,
//! metrics, and cursors that travel with their batch and resume a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use earful_collect::{
    CommittedCursor, Engine, EngineOptions, FetchOptions, HealthState, SourceBatch,
};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use util::{Reply, TestServer};

/// A clock the test moves by hand.
#[derive(Clone)]
struct ManualClock(Arc<Mutex<OffsetDateTime>>);

impl ManualClock {
    fn new() -> ManualClock {
        ManualClock(Arc::new(Mutex::new(
            OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
        )))
    }
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
    fn set(&self, at: OffsetDateTime) {
        *self.0.lock().unwrap() = at;
    }
    fn advance(&self, by: time::Duration) {
        let now = self.now();
        self.set(now + by);
    }
}

fn options() -> EngineOptions {
    EngineOptions {
        fetch: FetchOptions {
            timeout: Duration::from_millis(500),
            ..FetchOptions::default()
        },
        // The recorded feeds are from 2021.
        lookback: Duration::from_secs(20 * 365 * 86_400),
        ..EngineOptions::default()
    }
}

fn feed_config(server: &TestServer, paths: &[&str]) -> earful_core::config::Config {
    let mut text = String::from("version = 1\n");
    for (index, path) in paths.iter().enumerate() {
        text.push_str(&format!(
            "[[source]]\nname = \"feed-{index}\"\nkind = \"feed\"\ninterval = \"5m\"\nurl = \"{}\"\n",
            server.url(path)
        ));
    }
    util::config(&text)
}

fn engine(
    config: &earful_core::config::Config,
    committed: &BTreeMap<String, serde_json::Value>,
    clock: &ManualClock,
) -> Engine {
    let reading = clock.clone();
    Engine::new(config, options(), committed, BTreeMap::new())
        .unwrap()
        .with_clock(Arc::new(move || reading.now()))
}

/// Drains what the engine sent, as the index writer would commit it.
fn drain(
    receiver: &mut mpsc::Receiver<SourceBatch>,
    committed: &mut BTreeMap<String, serde_json::Value>,
) -> Vec<SourceBatch> {
    let mut batches = Vec::new();
    while let Ok(batch) = receiver.try_recv() {
        committed.insert(batch.source.clone(), batch.cursor.clone());
        batches.push(batch);
    }
    batches
}

#[tokio::test]
async fn cursors_travel_with_their_batch_and_a_restart_resumes_from_them() {
    let server = TestServer::start().await;
    server.serve("/a", Reply::fixture("rss2.xml").with_etag("\"a1\""));
    server.serve("/b", Reply::fixture("jsonfeed.json"));
    let config = feed_config(&server, &["/a", "/b"]);
    let clock = ManualClock::new();
    let (sender, mut receiver) = mpsc::channel(8);
    let mut committed = BTreeMap::new();

    let mut first = engine(&config, &committed, &clock);
    let reports = first.poll_all(&sender).await;
    assert!(
        reports.iter().all(|report| report.error.is_none()),
        "{reports:?}"
    );
    let batches = drain(&mut receiver, &mut committed);
    assert_eq!(batches.iter().map(|b| b.mentions.len()).sum::<usize>(), 4);
    let cursor_a = CommittedCursor::from_committed("feed-0", &committed["feed-0"]).unwrap();
    let validators = &cursor_a.http.validators[server.url("/a").as_str()];
    assert_eq!(validators.etag.as_deref(), Some("\"a1\""));
    assert!(cursor_a.source.is_some());

    // A new process from the committed cursors: a 304 for /a, nothing new from /b.
    server.clear_requests();
    let mut restarted = engine(&config, &committed, &clock);
    let reports = restarted.poll_all(&sender).await;
    let batches = drain(&mut receiver, &mut committed);
    assert_eq!(batches.iter().map(|b| b.mentions.len()).sum::<usize>(), 0);
    let request_a = server.requests_to("/a").remove(0);
    assert_eq!(request_a.header("if-none-match"), Some("\"a1\""));
    assert_eq!(request_a.status, 304);
    let report_a = reports
        .iter()
        .find(|report| report.source == "feed-0")
        .unwrap();
    assert_eq!(report_a.not_modified, 1);
    assert_eq!(report_a.health.state, HealthState::Ok);
}

#[tokio::test]
async fn a_failing_source_backs_off_then_slows_to_the_long_retry_and_recovers() {
    let server = TestServer::start().await;
    server.serve("/down", Reply::status(500));
    let config = feed_config(&server, &["/down"]);
    let clock = ManualClock::new();
    let (sender, _receiver) = mpsc::channel(8);
    let mut engine = engine(&config, &BTreeMap::new(), &clock);

    let reports = engine.poll_due(&sender).await;
    assert_eq!(reports.len(), 1);
    let health = &reports[0].health;
    assert_eq!(health.state, HealthState::BackingOff);
    assert_eq!(health.consecutive_failures, 1);
    assert_eq!(health.last_error.as_ref().unwrap().class, "server");
    let next = health.next_attempt.unwrap();
    // The interval plus a backoff of at most one minute for the first failure.
    assert!(next - clock.now() >= time::Duration::minutes(5));
    assert!(next - clock.now() <= time::Duration::minutes(6));

    // Not due yet: nothing is polled, no request is made.
    clock.advance(time::Duration::minutes(1));
    assert!(engine.poll_due(&sender).await.is_empty());
    assert_eq!(server.requests().len(), 1);

    // Keep failing until the long retry.
    for _ in 0..9 {
        clock.set(engine.next_due().unwrap());
        assert_eq!(engine.poll_due(&sender).await.len(), 1);
    }
    let (_, _, health) = engine.health().remove(0);
    assert_eq!(health.consecutive_failures, 10);
    assert_eq!(health.state, HealthState::Failing);
    let wait = health.next_attempt.unwrap() - clock.now();
    assert!(wait >= time::Duration::hours(6), "{wait}");

    // Never abandoned: at the long retry it is polled again and recovers.
    server.serve("/down", Reply::fixture("rss2.xml"));
    clock.set(engine.next_due().unwrap());
    let reports = engine.poll_due(&sender).await;
    assert_eq!(reports[0].health.state, HealthState::Ok);
    assert_eq!(reports[0].health.consecutive_failures, 0);
    assert_eq!(reports[0].items, 2);
    assert!(
        reports[0].health.last_error.is_some(),
        "the last error stays on record"
    );
}

#[tokio::test]
async fn retry_after_holds_a_rate_limited_source_back() {
    let server = TestServer::start().await;
    server.serve("/limited", Reply::status(429).header("retry-after", "7200"));
    let config = feed_config(&server, &["/limited"]);
    let clock = ManualClock::new();
    let (sender, _receiver) = mpsc::channel(8);
    let mut engine = engine(&config, &BTreeMap::new(), &clock);
    let reports = engine.poll_due(&sender).await;
    let health = &reports[0].health;
    assert_eq!(health.last_error.as_ref().unwrap().class, "rate_limited");
    assert!(health.next_attempt.unwrap() - clock.now() >= time::Duration::hours(2));
}

#[tokio::test]
async fn one_broken_source_does_not_stop_the_others_and_metrics_count() {
    let server = TestServer::start().await;
    server.serve("/ok", Reply::fixture("rss2.xml"));
    server.serve("/bad", Reply::ok("not a feed"));
    let config = feed_config(&server, &["/ok", "/bad"]);
    let clock = ManualClock::new();
    let (sender, mut receiver) = mpsc::channel(8);
    let mut engine = engine(&config, &BTreeMap::new(), &clock);
    let reports = engine.poll_all(&sender).await;
    let ok = reports.iter().find(|r| r.source == "feed-0").unwrap();
    let bad = reports.iter().find(|r| r.source == "feed-1").unwrap();
    assert_eq!(ok.items, 2);
    assert_eq!(bad.error.as_ref().unwrap().class, "parse");
    let mut committed = BTreeMap::new();
    let batches = drain(&mut receiver, &mut committed);
    assert_eq!(batches.len(), 1);
    assert!(
        !committed.contains_key("feed-1"),
        "a failed poll commits no cursor"
    );

    let metrics = engine.metrics();
    let counters = metrics.source("feed-0").unwrap();
    assert_eq!((counters.requests, counters.items), (1, 2));
    assert_eq!(counters.latency_count, 1);
    assert_eq!(metrics.source("feed-1").unwrap().errors["parse"], 1);
    assert!(metrics
        .render()
        .contains("earful_collect_items_total{source=\"feed-0\",kind=\"feed\"} 2"));
}

#[tokio::test]
async fn a_source_that_cannot_be_built_is_reported_at_every_poll() {
    let config = util::config(
        "version = 1\n[[watch]]\nname = \"acme\"\nquery = 'acme'\n[[source]]\nname = \"bad-base\"\nkind = \"hackernews\"\nwatches = [\"acme\"]\nbase_url = \"http://[::1\"\n",
    );
    let clock = ManualClock::new();
    let (sender, _receiver) = mpsc::channel(8);
    let mut engine = engine(&config, &BTreeMap::new(), &clock);
    let reports = engine.poll_all(&sender).await;
    assert_eq!(reports[0].error.as_ref().unwrap().class, "settings");
    assert!(reports[0]
        .error
        .as_ref()
        .unwrap()
        .message
        .contains("bad-base"));
}

#[tokio::test]
async fn search_sources_ask_for_their_watch_terms() {
    let server = TestServer::start().await;
    server.serve("/api/v1/search_by_date", Reply::fixture("hackernews.json"));
    let config = util::config(&format!(
        "version = 1\n[[watch]]\nname = \"acme\"\nquery = '\"acme corp\" OR acme -\"acme acres\"'\n[[source]]\nname = \"hn\"\nkind = \"hackernews\"\nwatches = [\"acme\"]\nbase_url = \"{}\"\n",
        server.base_url()
    ));
    let clock = ManualClock::new();
    let (sender, _receiver) = mpsc::channel(8);
    let mut engine = engine(&config, &BTreeMap::new(), &clock);
    engine.poll_all(&sender).await;
    let mut queries: Vec<String> = server
        .requests()
        .iter()
        .filter_map(|request| request.query_param("query"))
        .collect();
    queries.sort();
    queries.dedup();
    assert_eq!(queries, ["\"acme corp\"", "acme"]);
}

#[tokio::test(start_paused = true)]
async fn the_daemon_loop_backs_off_on_tokio_time_and_never_spins() {
    // A source that fails without any I/O, so tokio's paused clock drives everything.
    let config = util::config(
        "version = 1\n[[watch]]\nname = \"acme\"\nquery = 'acme'\n[[source]]\nname = \"bad-base\"\nkind = \"hackernews\"\ninterval = \"5m\"\nwatches = [\"acme\"]\nbase_url = \"http://[::1\"\n",
    );
    let start = tokio::time::Instant::now();
    let base = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
    let clock = Arc::new(move || base + (tokio::time::Instant::now() - start));
    let mut engine = Engine::new(&config, options(), &BTreeMap::new(), BTreeMap::new())
        .unwrap()
        .with_clock(clock);
    let (sender, _receiver) = mpsc::channel(8);
    // Two hours of virtual time.
    engine
        .run(sender, tokio::time::sleep(Duration::from_secs(2 * 3_600)))
        .await;
    let (_, _, health) = engine.health().remove(0);
    // Backoff grows to at most 1, 2, 4, 8, 16, 32 minutes on top of the 5-minute interval: at
    // least 7 polls fit in two hours. The 10th failure in a row switches to the 6-hour long
    // retry, so there are at most 10. Retrying never stops.
    assert!((7..=10).contains(&health.polls), "{}", health.polls);
    assert_eq!(u64::from(health.consecutive_failures), health.polls);
    let expected = if health.polls == 10 {
        HealthState::Failing
    } else {
        HealthState::BackingOff
    };
    assert_eq!(health.state, expected);
    assert!(health.next_attempt.unwrap() > base + time::Duration::hours(2));
}
