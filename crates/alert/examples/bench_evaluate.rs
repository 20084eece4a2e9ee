//! # What an alert evaluation costs after a commit
//!
//! Builds an index of one watch's mentions over 35 days (the history the evaluator replays),
//! with a burst of complaints at the end, then times, in the same run:
//!
//! - `timeline`: the one timeline query the evaluation starts with (the reference);
//! - `first`: a full evaluation into an empty store (detector rebuilt from 35 days of 5-minute
//!   buckets, the alert recorded with its evidence);
//! - `again`: the evaluation after the next commit, with the alert already stored.
//!
//! ```sh
//! cargo run --release -p earful-alert --example bench_evaluate -- 300000
//! ```

use std::time::{Duration, Instant};

use earful_alert::evaluate::{EvaluatorSettings, Route};
use earful_alert::{DetectorSettings, Evaluator};
use earful_core::config::{AlertKind, Config, Sensitivity};
use earful_core::{MentionInput, MentionQuery};
use earful_index::{Batch, Filters, IndexOptions, MentionIndex};
use earful_sentiment::Analyzer;
use earful_store::Store;
use time::OffsetDateTime;

const RUNS: usize = 15;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let total: u64 = std::env::args()
        .nth(1)
        .map(|raw| raw.parse())
        .transpose()?
        .unwrap_or(300_000);
    let config = Config::parse(
        "version = 1\n[[watch]]\nname = \"acme\"\nquery = 'acme'\n",
        "bench.toml",
        |_| None,
    )?;
    let enricher = earful_enrich::Enricher::from_config(&config)?;
    let now = OffsetDateTime::now_utc();
    let start = now - time::Duration::days(35);
    let span = (now - start).whole_seconds() - 1_800;
    let texts = [
        "Reading about Acme today, nice release",
        "Acme support was helpful",
        "Acme billing page is confusing and bad",
        "Trying Acme at work",
    ];
    let dir = tempfile::tempdir()?;
    let index = MentionIndex::open(dir.path(), IndexOptions::default())?;
    let writer = index.start_writer()?;
    let mut batch = Vec::with_capacity(10_000);
    for n in 0..total {
        let at = start + time::Duration::seconds((n as i64 * span) / total as i64);
        batch.push(mention(&enricher, n, at, texts[(n % 4) as usize])?);
        if batch.len() == 10_000 {
            writer.send_new(Batch {
                mentions: std::mem::take(&mut batch),
                ..Batch::default()
            })?;
        }
    }
    for n in 0..300 {
        let at = now - time::Duration::minutes(20) + time::Duration::seconds(n * 3);
        batch.push(mention(
            &enricher,
            total + n as u64,
            at,
            "Acme outage again, everything is down, terrible",
        )?);
    }
    writer.send_new(Batch {
        mentions: batch,
        ..Batch::default()
    })?;
    writer.shutdown()?;
    index.reload()?;

    let settings = EvaluatorSettings {
        watches: vec![("acme".into(), vec![AlertKind::NegativeSpike])],
        detector: DetectorSettings::from_sensitivity(
            Sensitivity::Balanced,
            Duration::from_secs(300),
        ),
        routes: vec![Route {
            channel: "hook".into(),
            watches: vec![],
            send_resolved: true,
        }],
        notify_window: Duration::from_secs(3_600),
    };
    let evaluator = Evaluator::new(settings, Analyzer::with_overrides(Vec::new())?);
    let everything = MentionQuery::parse("")?;
    let filters = Filters {
        watch: Some("acme".into()),
        since: Some(now - time::Duration::days(35)),
        until: Some(now),
        ..Filters::default()
    };
    let mut timeline = Vec::new();
    let mut first = Vec::new();
    let mut again = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        index.timeline(&everything, &filters, Duration::from_secs(300))?;
        timeline.push(started.elapsed());

        let state = tempfile::tempdir()?;
        let mut store = Store::open(&state.path().join("state.sqlite"))?;
        let started = Instant::now();
        let report = evaluator.evaluate(&index, &mut store, now)?;
        first.push(started.elapsed());
        assert_eq!(report.queued, 1, "the burst raises one alert: {report:?}");

        let started = Instant::now();
        let report = evaluator.evaluate(&index, &mut store, now)?;
        again.push(started.elapsed());
        assert_eq!(report.queued, 0);
    }
    println!("mentions: {}", index.num_docs());
    for (name, samples) in [
        ("timeline", &mut timeline),
        ("first", &mut first),
        ("again", &mut again),
    ] {
        samples.sort();
        println!(
            "{name:>8}: p50 {:>7.2} ms  max {:>7.2} ms",
            ms(samples[RUNS / 2]),
            ms(samples[RUNS - 1])
        );
    }
    println!(
        "ratio first/timeline p50: {:.1}×",
        ms(first[RUNS / 2]) / ms(timeline[RUNS / 2])
    );
    println!(
        "ratio again/timeline p50: {:.1}×",
        ms(again[RUNS / 2]) / ms(timeline[RUNS / 2])
    );
    Ok(())
}

fn mention(
    enricher: &earful_enrich::Enricher,
    n: u64,
    at: OffsetDateTime,
    text: &str,
) -> Result<earful_core::Mention, Box<dyn std::error::Error>> {
    let line = serde_json::json!({
        "id": format!("hackernews:{n}"),
        "text": text,
        "lang": "en",
        "author_reach": n % 5_000,
        "published_at": earful_core::time::format_timestamp(at),
    });
    Ok(enricher.enrich(MentionInput::from_json(&line.to_string())?, at))
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1_000.0
}
