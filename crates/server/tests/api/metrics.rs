//! `/metrics` over a real listener on 127.0.0.1: scraped after real requests, real index
//! commits and a real outbox, then parsed line by line.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use earful_collect::CollectMetrics;
use earful_index::{Batch, IndexMetrics, IndexOptions, MentionIndex};
use earful_server::ApiState;
use earful_store::{AlertState, AlertWrite, Event, Store};
use time::macros::datetime;

use super::common::*;
use super::live::{http_get, Server};

/// One sample: its name, its labels and its value.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A metric or label name: `[a-zA-Z_:][a-zA-Z0-9_:]*` (labels without `:`).
fn is_name(name: &str, colon: bool) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || (colon && c == ':'));
    first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':'))
}

/// Parses `{a="x",b="y\"z"}` strictly; `None` when malformed.
fn parse_labels(text: &str) -> Option<(BTreeMap<String, String>, &str)> {
    let mut labels = BTreeMap::new();
    let mut rest = text.strip_prefix('{')?;
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            return Some((labels, after));
        }
        let (name, after) = rest.split_once("=\"")?;
        if !is_name(name, false) {
            return None;
        }
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            let (at, c) = chars.next()?;
            match c {
                '\\' => match chars.next()?.1 {
                    '\\' => value.push('\\'),
                    '"' => value.push('"'),
                    'n' => value.push('\n'),
                    _ => return None,
                },
                '"' => break at + 1,
                '\n' => return None,
                c => value.push(c),
            }
        };
        labels.insert(name.to_string(), value);
        rest = &after[end..];
        if let Some(after_comma) = rest.strip_prefix(',') {
            rest = after_comma;
        } else if !rest.starts_with('}') {
            return None;
        }
    }
}

/// Checks the exposition format (0.0.4) line by line — every line a `# HELP`, a `# TYPE` or a
/// well-formed sample, every sample's family described by both — and returns the samples.
/// Written out here because the small parser crates read labels with a regular expression that
/// stops at the first `}`, and route templates such as `/api/v1/mentions/{id}` contain one.
fn parse_exposition(text: &str) -> Vec<Sample> {
    let mut helped = BTreeSet::new();
    let mut typed = BTreeMap::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect("HELP has a text");
            assert!(is_name(name, true) && !help.is_empty(), "{line}");
            assert!(helped.insert(name.to_string()), "HELP twice for {name}");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE has a type");
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            assert!(helped.contains(name), "TYPE before HELP: {line}");
            assert!(typed.insert(name.to_string(), kind.to_string()).is_none());
            continue;
        }
        assert!(
            !line.starts_with('#') && !line.is_empty(),
            "stray line {line:?}"
        );
        let name_end = line.find(['{', ' ']).expect("a sample has a value");
        let name = &line[..name_end];
        assert!(is_name(name, true), "bad metric name in {line}");
        let (labels, rest) = if line[name_end..].starts_with('{') {
            parse_labels(&line[name_end..]).unwrap_or_else(|| panic!("bad labels in {line}"))
        } else {
            (BTreeMap::new(), &line[name_end..])
        };
        let value_text = rest.strip_prefix(' ').expect("one space before the value");
        let value = match value_text {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            text => text
                .parse::<f64>()
                .unwrap_or_else(|_| panic!("bad value in {line}")),
        };
        let family = [
            name.to_string(),
            name.trim_end_matches("_bucket").to_string(),
            name.trim_end_matches("_sum").to_string(),
            name.trim_end_matches("_count").to_string(),
        ]
        .into_iter()
        .find(|family| typed.contains_key(family))
        .unwrap_or_else(|| panic!("sample of an undescribed family: {line}"));
        if typed[&family] == "histogram" && name.ends_with("_bucket") {
            assert!(labels.contains_key("le"), "a bucket needs `le`: {line}");
        }
        assert!(
            name.starts_with("earful_"),
            "{name} is not an Earful metric"
        );
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    assert!(!samples.is_empty());
    samples
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|sample| {
            sample.name == name
                && sample.labels.len() == labels.len()
                && labels
                    .iter()
                    .all(|(key, value)| sample.labels.get(*key).map(String::as_str) == Some(*value))
        })
        .map(|sample| sample.value)
}

fn must(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    value(samples, name, labels).unwrap_or_else(|| panic!("no {name}{labels:?} in {samples:#?}"))
}

/// A fresh index with a writer, and a state database with one fired alert whose
/// notification went out on `hook` after one failed try and waits on `mail`.
struct Scene {
    _dir: tempfile::TempDir,
    index: Arc<MentionIndex>,
    writer: earful_index::IndexWriterHandle,
    index_metrics: Arc<IndexMetrics>,
    collect_metrics: Arc<CollectMetrics>,
    state: ApiState,
}

fn scene() -> Scene {
    let dir = tempfile::tempdir().unwrap();
    let index =
        Arc::new(MentionIndex::open(&dir.path().join("index"), IndexOptions::default()).unwrap());
    let writer = index.start_writer().unwrap();
    let mut store = Store::open(&dir.path().join("state.sqlite")).unwrap();
    let evidence: serde_json::Value =
        serde_json::from_str(include_str!("../../../alert/tests/fixtures/alert-v1.json")).unwrap();
    store
        .record_alert(
            &AlertWrite {
                id: "al_metrics".into(),
                watch: "acme".into(),
                kind: "negative_spike".into(),
                episode_start: datetime!(2026-11-21 10:00 UTC),
                state: AlertState::Firing,
                at: datetime!(2026-11-21 10:10 UTC),
                evidence: evidence["evidence"].clone(),
            },
            Some(Event::Firing),
            &["hook".to_string(), "mail".to_string()],
        )
        .unwrap();
    let hook = store
        .notifications()
        .unwrap()
        .into_iter()
        .find(|notification| notification.channel == "hook")
        .unwrap();
    let at = datetime!(2026-11-21 10:11 UTC);
    store
        .mark_failed(hook.id, "503 from the receiver", Some(at))
        .unwrap();
    store.mark_sent(hook.id, at).unwrap();

    let index_metrics = Arc::new(IndexMetrics::starting_at(index.num_docs()));
    let collect_metrics = Arc::new(CollectMetrics::default());
    let state = ApiState::from_config(index.clone(), &fixture().config)
        .unwrap()
        .with_state_database(store)
        .with_collect_metrics(collect_metrics.clone())
        .with_index_metrics(index_metrics.clone());
    Scene {
        _dir: dir,
        index,
        writer,
        index_metrics,
        collect_metrics,
        state,
    }
}

impl Scene {
    /// Indexes `mentions` in one real commit and waits until the follower counted it.
    async fn commit(&self, mentions: &[earful_core::Mention], commits: u64) {
        self.writer
            .send(Batch {
                mentions: mentions.to_vec(),
                cursors: Default::default(),
            })
            .unwrap();
        self.writer.flush().unwrap();
        // The test runtime has one thread: the follower runs when this task yields.
        for _ in 0..10_000 {
            if self.index_metrics.commits() == commits {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("the commit follower never counted commit {commits}");
    }
}

#[tokio::test]
async fn metrics_cover_requests_commits_collectors_alerts_and_the_outbox() {
    let scene = scene();
    let follower = {
        let metrics = scene.index_metrics.clone();
        let commits = scene.writer.subscribe_commits();
        tokio::spawn(async move { metrics.follow(commits).await })
    };
    let mentions = &fixture().mentions;
    scene.commit(&mentions[..10], 1).await;
    scene
        .collect_metrics
        .update("hn-acme", "hackernews", |counters| {
            counters.polls += 2;
            counters.items += 7;
            counters.not_modified += 1;
            *counters.errors.entry("timeout".into()).or_default() += 1;
            counters.observe_latency(0.12);
        });
    let server = Server::start(scene.state.clone()).await;
    assert_eq!(
        http_get(server.address, "/api/v1/mentions?q=acme", None)
            .await
            .status,
        200
    );
    let missing = http_get(server.address, "/api/v1/mentions/feed:nothing-here", None).await;
    assert_eq!(missing.status, 404);
    let stray = http_get(server.address, "/no/such/path?secret=1", None).await;
    assert_eq!(stray.status, 404);

    let scrape = http_get(server.address, "/metrics", None).await;
    assert_eq!(scrape.status, 200);
    assert_eq!(
        scrape.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let first = parse_exposition(&scrape.body);

    // HTTP: by route template and status; a raw path never becomes a label.
    let search = [("route", "/api/v1/mentions"), ("status", "200")];
    assert_eq!(must(&first, "earful_http_requests_total", &search), 1.0);
    let by_id = [("route", "/api/v1/mentions/{id}"), ("status", "404")];
    assert_eq!(must(&first, "earful_http_requests_total", &by_id), 1.0);
    let unmatched = [("route", "unmatched"), ("status", "404")];
    assert_eq!(must(&first, "earful_http_requests_total", &unmatched), 1.0);
    assert_eq!(
        must(
            &first,
            "earful_http_request_duration_seconds_count",
            &[("route", "/api/v1/mentions")]
        ),
        1.0
    );
    assert_eq!(
        must(
            &first,
            "earful_http_request_duration_seconds_bucket",
            &[("route", "/api/v1/mentions"), ("le", "+Inf")]
        ),
        1.0
    );
    for sample in &first {
        for value in sample.labels.values() {
            assert!(
                !value.contains("nothing-here")
                    && !value.contains("/no/such")
                    && !value.contains("secret"),
                "unbounded label in {sample:?}"
            );
        }
    }

    // Index: the real commit.
    assert_eq!(must(&first, "earful_index_commits_total", &[]), 1.0);
    assert_eq!(
        must(&first, "earful_index_documents_indexed_total", &[]),
        10.0
    );
    assert_eq!(must(&first, "earful_index_documents", &[]), 10.0);
    assert_eq!(
        must(
            &first,
            "earful_index_commit_seconds_bucket",
            &[("le", "+Inf")]
        ),
        1.0
    );
    assert_eq!(must(&first, "earful_index_commit_seconds_count", &[]), 1.0);

    // Collectors: per source name and kind.
    let source = [("source", "hn-acme"), ("kind", "hackernews")];
    assert_eq!(must(&first, "earful_collect_polls_total", &source), 2.0);
    assert_eq!(must(&first, "earful_collect_items_total", &source), 7.0);
    assert_eq!(
        must(&first, "earful_collect_not_modified_total", &source),
        1.0
    );
    assert_eq!(
        must(
            &first,
            "earful_collect_errors_total",
            &[
                ("source", "hn-acme"),
                ("kind", "hackernews"),
                ("class", "timeout")
            ]
        ),
        1.0
    );

    // Alerts and the outbox, from the state database.
    assert_eq!(
        must(
            &first,
            "earful_alert_fired_total",
            &[("watch", "acme"), ("kind", "negative_spike")]
        ),
        1.0
    );
    assert_eq!(
        must(
            &first,
            "earful_alert_notifications_sent_total",
            &[("channel", "hook")]
        ),
        1.0
    );
    assert_eq!(
        must(
            &first,
            "earful_alert_notification_failed_tries_total",
            &[("channel", "hook")]
        ),
        1.0
    );
    assert_eq!(
        must(
            &first,
            "earful_alert_outbox_notifications",
            &[("channel", "mail"), ("state", "pending")]
        ),
        1.0
    );

    // Counters grow with more requests and another commit.
    scene.commit(&mentions[10..14], 2).await;
    http_get(server.address, "/api/v1/mentions?q=globex", None).await;
    let second = parse_exposition(&http_get(server.address, "/metrics", None).await.body);
    assert_eq!(must(&second, "earful_http_requests_total", &search), 2.0);
    let scrapes = [("route", "/metrics"), ("status", "200")];
    assert_eq!(must(&second, "earful_http_requests_total", &scrapes), 1.0);
    assert_eq!(must(&second, "earful_index_commits_total", &[]), 2.0);
    assert_eq!(
        must(&second, "earful_index_documents_indexed_total", &[]),
        14.0
    );
    assert_eq!(must(&second, "earful_index_documents", &[]), 14.0);
    for sample in first
        .iter()
        .filter(|sample| sample.name.ends_with("_total"))
    {
        let later = value(
            &second,
            &sample.name,
            &sample
                .labels
                .iter()
                .map(|(key, value)| (key.as_str(), value.as_str()))
                .collect::<Vec<_>>(),
        )
        .unwrap_or_else(|| panic!("{sample:?} is gone"));
        assert!(later >= sample.value, "{sample:?} went down to {later}");
    }
    assert_eq!(scene.index.num_docs(), 14);

    server.stop().await;
    scene.writer.shutdown().unwrap();
    follower.await.unwrap();
}

#[tokio::test]
async fn metrics_follow_the_read_rules() {
    let locked = get(state_with_tokens(), "/metrics").await;
    assert_eq!(locked.status, axum::http::StatusCode::UNAUTHORIZED);
    let read = get_with(state_with_tokens(), "/metrics", READ_TOKEN).await;
    assert_eq!(read.status, axum::http::StatusCode::OK);
    // Without the daemon's metrics the server still tells the index size, from the reader.
    let samples = parse_exposition(&read.body);
    assert_eq!(
        must(&samples, "earful_index_documents", &[]),
        fixture().mentions.len() as f64
    );
    assert_eq!(
        must(
            &samples,
            "earful_alert_fired_total",
            &[("watch", "acme"), ("kind", "negative_spike")]
        ),
        1.0
    );

    let text = format!(
        "{CONFIG}[server]\nallow_anonymous_read = true\ntokens = [{{ name = \"ops\", token = \"{ADMIN_TOKEN}\", role = \"admin\" }}]\n"
    );
    let config = earful_core::config::Config::parse(&text, "test.toml", |_| None).unwrap();
    let open = get(state().with_server_config(&config.server), "/metrics").await;
    assert_eq!(open.status, axum::http::StatusCode::OK);

    // The request limits hold for `/metrics` too.
    let limits = earful_server::Limits {
        max_query_bytes: 64,
        ..earful_server::Limits::default()
    };
    let long = format!("/metrics?{}", "x".repeat(100));
    let refused = get(state().with_limits(limits), &long).await;
    assert_eq!(refused.status, axum::http::StatusCode::PAYLOAD_TOO_LARGE);
}

#[test]
fn the_format_check_refuses_malformed_expositions() {
    let good = "# HELP earful_x_total Things.\n# TYPE earful_x_total counter\nearful_x_total{route=\"/a/{id}\",kind=\"q\\\"x\"} 3\n";
    assert_eq!(parse_exposition(good)[0].labels["route"], "/a/{id}");
    for bad in [
        // No HELP or TYPE.
        "earful_x_total 1\n",
        // An unterminated label value.
        "# HELP earful_x_total T.\n# TYPE earful_x_total counter\nearful_x_total{route=\"/a} 1\n",
        // A bad escape and a missing value.
        "# HELP earful_x_total T.\n# TYPE earful_x_total counter\nearful_x_total{a=\"\\q\"} 1\n",
        "# HELP earful_x_total T.\n# TYPE earful_x_total counter\nearful_x_total{a=\"b\"}\n",
        // A value that is not a number, and a name that is not a name.
        "# HELP earful_x_total T.\n# TYPE earful_x_total counter\nearful_x_total many\n",
        "# HELP earful_x_total T.\n# TYPE earful_x_total counter\nearful-x_total 1\n",
    ] {
        let outcome = std::panic::catch_unwind(|| parse_exposition(bad));
        assert!(outcome.is_err(), "accepted {bad:?}");
    }
}
