//! The evaluator on a real index and a real store: one alert per episode, routed by watch,
//! resolves only to channels that want them, nothing sent twice, old episodes recorded but
//! not sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;
use std::time::Duration;

use earful_alert::evaluate::{EvaluatorSettings, Route};
use earful_alert::{alert_id, Alert, DetectorSettings, Evaluator};
use earful_core::config::{AlertKind, Config, Sensitivity};
use earful_core::MentionInput;
use earful_index::{Batch, IndexOptions, MentionIndex};
use earful_sentiment::Analyzer;
use earful_store::{AlertState, Event, Store};
use time::macros::datetime;
use time::OffsetDateTime;

const T0: OffsetDateTime = datetime!(2026-11-01 00:00 UTC);
/// The burst: three 5-minute buckets of complaints, a week and a half-day in.
const BURST: OffsetDateTime = datetime!(2026-11-08 12:00 UTC);

/// One index for every test: nine days of background, the burst on day eight.
fn index() -> &'static (tempfile::TempDir, MentionIndex) {
    static INDEX: OnceLock<(tempfile::TempDir, MentionIndex)> = OnceLock::new();
    INDEX.get_or_init(|| {
        let config = Config::parse(
            "version = 1\n[[watch]]\nname = \"acme\"\nquery = 'acme'\n",
            "test.toml",
            |_| None,
        )
        .unwrap();
        let enricher = earful_enrich::Enricher::from_config(&config).unwrap();
        let mut mentions = Vec::new();
        let mut push = |id: String, at: OffsetDateTime, text: &str, reach: u64| {
            let line = serde_json::json!({
                "id": id, "text": text, "lang": "en", "author_reach": reach,
                "url": "https://news.ycombinator.com/item?id=1",
                "published_at": earful_core::time::format_timestamp(at),
            });
            let input = MentionInput::from_json(&line.to_string()).unwrap();
            mentions.push(enricher.enrich(input, at));
        };
        let mut at = T0;
        let mut n = 0u64;
        while at < T0 + time::Duration::days(9) {
            for k in 0..(2 + n % 3) {
                n += 1;
                push(
                    format!("hackernews:bg{n}"),
                    at + time::Duration::seconds(k as i64 * 60),
                    "Reading about Acme today, nice release",
                    n % 300,
                );
            }
            at += time::Duration::minutes(5);
        }
        for k in 0..90 {
            push(
                format!("hackernews:burst{k}"),
                BURST + time::Duration::seconds(k * 10),
                "Acme outage again, everything is down, terrible",
                1_000 + k as u64,
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let index = MentionIndex::open(dir.path(), IndexOptions::default()).unwrap();
        let writer = index.start_writer().unwrap();
        writer
            .send(Batch {
                mentions,
                ..Batch::default()
            })
            .unwrap();
        writer.shutdown().unwrap();
        index.reload().unwrap();
        (dir, index)
    })
}

fn evaluator() -> Evaluator {
    let settings = EvaluatorSettings {
        watches: vec![("acme".into(), vec![AlertKind::NegativeSpike])],
        detector: DetectorSettings::from_sensitivity(
            Sensitivity::Balanced,
            Duration::from_secs(300),
        ),
        routes: vec![
            Route {
                channel: "all".into(),
                watches: vec![],
                send_resolved: false,
            },
            Route {
                channel: "other".into(),
                watches: vec!["globex".into()],
                send_resolved: true,
            },
            Route {
                channel: "resolver".into(),
                watches: vec!["acme".into()],
                send_resolved: true,
            },
        ],
        notify_window: Duration::from_secs(3_600),
    };
    Evaluator::new(settings, Analyzer::with_overrides(Vec::new()).unwrap())
}

fn channels(store: &Store, id: &str, event: Event) -> Vec<String> {
    store
        .notifications_for(id)
        .unwrap()
        .into_iter()
        .filter(|n| n.event == event)
        .map(|n| n.channel)
        .collect()
}

#[test]
fn one_episode_one_alert_routed_by_watch_and_never_sent_twice() {
    let (_dir, index) = index();
    let state_dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&state_dir.path().join("state.sqlite")).unwrap();
    let evaluator = evaluator();

    let during = BURST + time::Duration::minutes(25);
    let first = evaluator.evaluate(index, &mut store, during).unwrap();
    assert_eq!(first.queued, 2, "{first:?}");
    let alerts = store.alerts(None, 10).unwrap();
    assert_eq!(alerts.len(), 1);
    let alert = Alert::from_record(&alerts[0]).unwrap();
    assert_eq!(alert.state, AlertState::Firing);
    assert_eq!(alert.episode_start, BURST);
    assert_eq!(
        channels(&store, &alert.id, Event::Firing),
        ["all", "resolver"]
    );
    assert!(alert.evidence.observed >= 80, "{:?}", alert.evidence);
    let terms: Vec<&str> = alert
        .evidence
        .rising_terms
        .iter()
        .map(|t| t.term.as_str())
        .collect();
    // The complaint's words rise; the watch's own name, in every mention, does not.
    assert!(terms[..4].contains(&"outage"), "{terms:?}");
    assert!(!terms[..4].contains(&"acme"), "{terms:?}");
    assert_eq!(alert.evidence.top_mentions.len(), 5);
    assert_eq!(alert.evidence.top_mentions[0].author_reach, Some(1_089));

    // The same evaluation again, and one a bucket later: nothing new.
    assert_eq!(
        evaluator
            .evaluate(index, &mut store, during)
            .unwrap()
            .queued,
        0
    );
    let later = evaluator
        .evaluate(index, &mut store, during + time::Duration::minutes(5))
        .unwrap();
    assert_eq!(later.queued, 0);
    assert_eq!(store.alerts(None, 10).unwrap().len(), 1);

    // Calm again: resolved, told only to the channel that wants resolves.
    let after = BURST + time::Duration::minutes(60);
    let resolved = evaluator.evaluate(index, &mut store, after).unwrap();
    assert_eq!(resolved.queued, 1, "{resolved:?}");
    let record = store.alert(&alert.id).unwrap().unwrap();
    assert_eq!(record.state, AlertState::Resolved);
    assert_eq!(channels(&store, &alert.id, Event::Resolved), ["resolver"]);
    assert_eq!(
        evaluator.evaluate(index, &mut store, after).unwrap().queued,
        0
    );
}

#[test]
fn a_backfilled_episode_is_recorded_but_not_sent_and_a_silence_holds_notifications() {
    let (_dir, index) = index();
    let evaluator = evaluator();

    let state_dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&state_dir.path().join("state.sqlite")).unwrap();
    let report = evaluator
        .evaluate(index, &mut store, T0 + time::Duration::days(9))
        .unwrap();
    assert_eq!(report.queued, 0);
    let alerts = store.alerts(None, 10).unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].state, AlertState::Resolved);
    assert!(store.notifications().unwrap().is_empty());

    let silenced_dir = tempfile::tempdir().unwrap();
    let mut silenced = Store::open(&silenced_dir.path().join("state.sqlite")).unwrap();
    let during = BURST + time::Duration::minutes(25);
    silenced
        .add_silence(
            "acme",
            during + time::Duration::hours(1),
            "ops",
            "known incident",
            during,
        )
        .unwrap();
    assert_eq!(
        evaluator
            .evaluate(index, &mut silenced, during)
            .unwrap()
            .queued,
        0
    );
    let alerts = silenced.alerts(None, 10).unwrap();
    assert_eq!(alerts.len(), 1, "a silenced alert is still recorded");
    assert_eq!(alerts[0].state, AlertState::Firing);
}

#[test]
fn alert_ids_are_stable_per_episode() {
    let episode = earful_alert::EpisodeId {
        watch: "acme".into(),
        kind: AlertKind::NegativeSpike,
        started_at: BURST,
    };
    let id = alert_id(&episode);
    assert_eq!(id, alert_id(&episode.clone()));
    assert!(id.starts_with("al_") && id.len() == 19, "{id}");
    let other = earful_alert::EpisodeId {
        started_at: BURST + time::Duration::minutes(5),
        ..episode
    };
    assert_ne!(alert_id(&other), id);
}
