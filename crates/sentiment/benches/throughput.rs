//! Single-thread throughput on the VADER ground-truth corpora (texts per second).
//!
//! ```text
//! cargo bench -p earful-sentiment
//! python3 crates/sentiment/benches/python_reference.py   # the reference, same texts
//! ```
//!
//! Reads the corpora from `../shared/data/vader-groundtruth/` next to the workspace
//! (override with `EARFUL_VADER_GROUNDTRUTH`).

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use earful_sentiment::Analyzer;

fn corpus(file: &str) -> Vec<String> {
    let dir = match std::env::var_os("EARFUL_VADER_GROUNDTRUTH") {
        Some(dir) => PathBuf::from(dir),
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/vader-groundtruth")
        }
    };
    let path = dir.join(file);
    let data = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    data.split('\n')
        .filter_map(|line| line.trim_end_matches('\r').splitn(3, '\t').nth(2))
        .map(str::to_string)
        .collect()
}

fn throughput(c: &mut Criterion) {
    let tweets = corpus("tweets_GroundTruth.txt");
    let mut all = tweets.clone();
    for file in [
        "movieReviewSnippets_GroundTruth.txt",
        "amazonReviewSnippets_GroundTruth.txt",
        "nytEditorialSnippets_GroundTruth.txt",
    ] {
        all.extend(corpus(file));
    }
    let analyzer = Analyzer::standard();
    let oracle = vader_parity::SentimentIntensityAnalyzer::new();

    for (name, texts) in [("tweets", &tweets), ("all", &all)] {
        let mut group = c.benchmark_group(format!("polarity_scores/{name}"));
        group.throughput(Throughput::Elements(texts.len() as u64));
        group.sample_size(10);
        group.bench_function("earful-sentiment", |b| {
            b.iter(|| {
                for text in texts.iter() {
                    black_box(analyzer.polarity_scores(black_box(text)));
                }
            })
        });
        group.bench_function("vader-parity", |b| {
            b.iter(|| {
                for text in texts.iter() {
                    black_box(oracle.polarity_scores(black_box(text)));
                }
            })
        });
        group.finish();
    }

    let mut group = c.benchmark_group("extras/tweets");
    group.throughput(Throughput::Elements(tweets.len() as u64));
    group.sample_size(10);
    group.bench_function("score_explained", |b| {
        b.iter(|| {
            for text in &tweets {
                black_box(analyzer.score_explained(black_box(text)));
            }
        })
    });
    group.bench_function("detect_language", |b| {
        b.iter(|| {
            for text in &tweets {
                black_box(earful_sentiment::detect_language(black_box(text)));
            }
        })
    });
    group.bench_function("score (gate + vader)", |b| {
        b.iter(|| {
            for text in &tweets {
                black_box(analyzer.score(black_box(text), None));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, throughput);
criterion_main!(benches);
