//! # Search and aggregation latency
//!
//! Opens an index read-only and measures p50/p99 of (a) random 1–2 term queries sorted
//! newest-first, top 20, and (b) a 30-day timeline in 1-hour buckets split by label.
//!
//! ```sh
//! cargo run --release -p earful-index --example bench_search -- /tmp/idx-earful
//! ```

use std::time::{Duration, Instant};

use earful_core::MentionQuery;
use earful_index::{Filters, MentionIndex, SearchRequest, Sort};

const WORDS: &[&str] = &[
    "acme", "globex", "initech", "umbrella", "hooli", "refund", "outage", "support", "price",
    "shipping", "delivery", "login", "account", "broken", "love", "hate", "great", "terrible",
    "crash", "slow", "update", "app", "bug", "fixed", "waiting", "email",
];

fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort();
    let at = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[at].as_secs_f64() * 1_000.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .ok_or("usage: bench_search INDEX_DIR")?;
    let index = MentionIndex::open_read_only(dir.as_ref())?;
    println!("{} mentions", index.num_docs());
    let mut seed = 0x1234_5678_u64;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let queries: Vec<String> = (0..1_000)
        .map(|i| {
            let first = WORDS[next(WORDS.len())];
            if i % 2 == 0 {
                first.to_string()
            } else {
                format!("{first} {}", WORDS[next(WORDS.len())])
            }
        })
        .collect();
    // Warm up the page cache and the searcher.
    for query in queries.iter().take(50) {
        index.search(&SearchRequest::new(MentionQuery::parse(query)?))?;
    }
    let mut samples = Vec::new();
    let mut hits = 0usize;
    for query in &queries {
        let request = SearchRequest {
            sort: Sort::Newest,
            limit: 20,
            ..SearchRequest::new(MentionQuery::parse(query)?)
        };
        let started = Instant::now();
        let results = index.search(&request)?;
        samples.push(started.elapsed());
        hits += results.total;
    }
    println!(
        "search newest top-20, 1-2 terms, {} queries (mean {} matches): p50 {:.2} ms, p99 {:.2} ms",
        samples.len(),
        hits / queries.len(),
        percentile(&mut samples, 0.50),
        percentile(&mut samples, 0.99)
    );

    let end = time::macros::datetime!(2026-12-01 00:00:00 UTC);
    let mut samples = Vec::new();
    let mut buckets = 0;
    for i in 0..200 {
        let filters = Filters {
            since: Some(end - time::Duration::days(30)),
            until: Some(end),
            watch: (i % 2 == 1).then(|| "acme".to_string()),
            ..Filters::default()
        };
        let query = MentionQuery::parse(if i % 4 < 2 {
            ""
        } else {
            WORDS[next(WORDS.len())]
        })?;
        let started = Instant::now();
        let timeline = index.timeline(&query, &filters, Duration::from_secs(3_600))?;
        samples.push(started.elapsed());
        buckets = timeline.len();
    }
    println!(
        "timeline 30 days x 1 h by label ({buckets} buckets; all / watch / term queries): p50 {:.2} ms, p99 {:.2} ms",
        percentile(&mut samples, 0.50),
        percentile(&mut samples, 0.99)
    );
    Ok(())
}
