//! # Synthetic mentions for benchmarks
//!
//! Writes N realistic-looking mentions as JSONL: Zipf-distributed words, a few brands, many
//! authors with Zipfian activity, several sources and languages, timestamps over 60 days with
//! a daily rhythm, sentiment labels. Deterministic for a given N and seed.
//!
//! ```sh
//! cargo run --release -p earful-index --example gen_mentions -- 1000000 > /tmp/m.jsonl
//! ```

use std::io::{BufWriter, Write};

use earful_core::{Mention, Sentiment};

/// xorshift64*: small, fast, deterministic; good enough for synthetic data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Samples ranks 0..n with probability ∝ 1/(rank+1)^s, by inverting a precomputed CDF.
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Zipf {
        let mut cdf = Vec::with_capacity(n);
        let mut total = 0.0;
        for rank in 0..n {
            total += 1.0 / ((rank + 1) as f64).powf(s);
            cdf.push(total);
        }
        for value in &mut cdf {
            *value /= total;
        }
        Zipf { cdf }
    }
    fn sample(&self, rng: &mut Rng) -> usize {
        let u = rng.unit();
        self.cdf.partition_point(|&p| p < u).min(self.cdf.len() - 1)
    }
}

const COMMON: &[&str] = &[
    "the", "a", "to", "and", "is", "it", "of", "for", "my", "this", "in", "on", "with", "not",
    "app", "update", "support", "customer", "service", "order", "refund", "outage", "price",
    "shipping", "delivery", "login", "account", "broken", "love", "hate", "great", "terrible",
    "works", "again", "today", "finally", "why", "still", "new", "feature", "bug", "crash", "slow",
    "fast", "team", "help", "email", "phone", "waiting", "days", "week", "fixed",
];
const BRANDS: &[&str] = &[
    "acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne",
];
const SOURCES: &[(&str, &str)] = &[
    ("hackernews", "hn"),
    ("mastodon", "masto"),
    ("reddit", "reddit"),
    ("feed", "blog"),
    ("appstore", "ios"),
    ("stackexchange", "se"),
    ("github", "gh"),
    ("bluesky", "bsky"),
];
const LANGS: &[(&str, u64)] = &[("en", 80), ("de", 6), ("fr", 5), ("es", 5), ("und", 4)];

fn syllable_word(rng: &mut Rng, rank: usize) -> String {
    // Rare words: deterministic pseudo-words from their rank, so the vocabulary is large and
    // Zipfian but repeatable.
    const SYLLABLES: &[&str] = &[
        "ka", "lo", "mi", "ne", "ra", "to", "vu", "zen", "dor", "pli", "qua", "ster", "bri", "mon",
        "tek", "sal", "vir", "gon", "lex", "nu",
    ];
    let _ = rng;
    let mut word = String::new();
    let mut value = rank + 7;
    while value > 0 {
        word.push_str(SYLLABLES[value % SYLLABLES.len()]);
        value /= SYLLABLES.len();
    }
    word
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let count: u64 = args.next().as_deref().unwrap_or("100000").parse()?;
    let seed: u64 = args.next().as_deref().unwrap_or("42").parse()?;
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let vocabulary = Zipf::new(50_000, 1.07);
    let authors = Zipf::new(200_000, 0.9);
    let end = time::macros::datetime!(2026-12-01 00:00:00 UTC);
    let span_seconds: u64 = 60 * 86_400;
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    for number in 0..count {
        let (source, feed_prefix) = SOURCES[rng.below(SOURCES.len() as u64) as usize];
        let brand = BRANDS[Zipf::new(BRANDS.len(), 1.0).sample(&mut rng)];
        let words = 6 + rng.below(40) as usize;
        let mut text = String::new();
        let brand_at = rng.below(words as u64) as usize;
        for index in 0..words {
            if index > 0 {
                text.push(' ');
            }
            if index == brand_at {
                text.push_str(if rng.below(3) == 0 { "Acme" } else { brand });
                continue;
            }
            let rank = vocabulary.sample(&mut rng);
            match COMMON.get(rank) {
                Some(word) => text.push_str(word),
                None => text.push_str(&syllable_word(&mut rng, rank)),
            }
        }
        let mut lang_roll = rng.below(100);
        let mut lang = "en";
        for (code, weight) in LANGS {
            if lang_roll < *weight {
                lang = code;
                break;
            }
            lang_roll -= weight;
        }
        // A daily rhythm: more posts in the (UTC) afternoon.
        let day = rng.below(60);
        let hour = ((rng.unit() + rng.unit() + rng.unit()) / 3.0 * 24.0) as u64;
        let second_of_day = hour * 3_600 + rng.below(3_600);
        let offset = span_seconds - (day * 86_400 + second_of_day).min(span_seconds);
        let published_at = end - time::Duration::seconds(offset as i64);
        let sentiment = if lang == "en" {
            let compound = ((rng.unit() * 2.0 - 1.0) * 10_000.0).round() / 10_000.0;
            Sentiment::scored(compound, 0.1, 0.8, 0.1)
        } else {
            Sentiment::unscored()
        };
        let author = authors.sample(&mut rng);
        let mention = Mention {
            id: format!("{source}:{number}"),
            source: source.to_string(),
            feed: format!("{feed_prefix}-{brand}"),
            watches: vec![brand.to_string()],
            url: Some(format!("https://{source}.example/item/{number}")),
            author: Some(format!("user{author}")),
            author_reach: (rng.below(4) != 0)
                .then(|| rng.below(100_000) / (1 + author as u64 % 50)),
            title: (rng.below(3) == 0).then(|| {
                format!(
                    "{brand} {}",
                    COMMON[rng.below(COMMON.len() as u64) as usize]
                )
            }),
            text,
            lang: lang.to_string(),
            rating: (source == "appstore").then(|| 1 + rng.below(5) as u8),
            engagement: Some(rng.below(500)),
            parent: None,
            published_at,
            collected_at: published_at + time::Duration::seconds(30),
            sentiment,
        };
        serde_json::to_writer(&mut out, &mention)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}
