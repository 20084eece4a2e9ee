//! The index finds exactly what the watch matcher (`MatchTarget`) matches: random mentions from
//! a small vocabulary, random queries from a small grammar, the two id sets compared — with
//! scoring on (relevance sort), off (newest sort) and through `count`.

// Test helpers outside `#[test]` functions may unwrap too (clippy.toml allows it inside).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use earful_core::query::MatchTarget;
use earful_core::{Mention, MentionQuery, Sentiment};
use earful_index::{Filters, IndexError, MentionIndex, Sort};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const WORDS: &[&str] = &[
    "acme",
    "Acme",
    "outage",
    "outages",
    "refund",
    "refunds",
    "refused",
    "great",
    "bad",
    "corp",
    "acres",
    "café",
    "cafe",
    "the",
    "support",
    "supporting",
    "a",
    "averyveryverylongwordthatisdefinitelymorethansixtybyteslongsoitgetsdropped",
];
const AUTHORS: &[&str] = &["JDoe", "jdoe", "Alice Smith", "bob"];
const SOURCES: &[&str] = &["hackernews", "feed", "mastodon"];
const LANGS: &[&str] = &["en", "de", "und"];
const WATCHES: &[&str] = &["acme", "beta", "Gamma"];

fn prose(max_words: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(WORDS), 0..max_words)
        .prop_map(|words| words.join(" "))
}

fn arb_mention(number: usize) -> impl Strategy<Value = Mention> {
    (
        prop::option::of(prose(5)),
        prose(12),
        prop::option::of(prop::sample::select(AUTHORS)),
        prop::sample::select(SOURCES),
        prop::sample::select(LANGS),
        prop::sample::subsequence(WATCHES, 0..3),
        (
            prop::option::of(0u64..5),
            prop::option::of(1u8..=5),
            prop::option::of(0u64..8),
        ),
        (0i64..7_200, 0i64..1_000_000_000),
        prop::option::of(-1.0f64..1.0),
        prop::option::of(0usize..5),
    )
        .prop_map(
            move |(title, text, author, source, lang, watches, numbers, time, compound, parent)| {
                let (reach, rating, engagement) = numbers;
                let mut mention = common::mention(&format!("{source}:{number}"), &text, 0);
                mention.title = title;
                mention.author = author.map(str::to_string);
                mention.source = source.to_string();
                mention.feed = format!("{source}-feed");
                mention.lang = lang.to_string();
                mention.watches = watches.into_iter().map(str::to_string).collect();
                mention.author_reach = reach;
                mention.rating = rating;
                mention.engagement = engagement;
                mention.parent = parent.map(|parent| format!("hackernews:{parent}"));
                mention.published_at = common::BASE
                    + time::Duration::seconds(time.0)
                    + time::Duration::nanoseconds(time.1);
                mention.sentiment = match compound {
                    Some(compound) => {
                        Sentiment::scored((compound * 1e4).round() / 1e4, 0.1, 0.8, 0.1)
                    }
                    None => Sentiment::unscored(),
                };
                mention
            },
        )
}

fn timestamp(seconds: i64) -> String {
    earful_core::time::format_timestamp(common::BASE + time::Duration::seconds(seconds))
}

fn leaf() -> impl Strategy<Value = String> {
    let word = prop::sample::select(WORDS).prop_map(str::to_string);
    prop_oneof![
        4 => word.clone(),
        1 => prop::sample::select(&["ac", "refu", "out", "sup", "caf", "a", "the"][..])
            .prop_map(|prefix| format!("{prefix}*")),
        2 => (word.clone(), word.clone()).prop_map(|(a, b)| format!("\"{a} {b}\"")),
        2 => (word.clone(), word.clone(), word.clone(), 0u32..4)
            .prop_map(|(a, b, c, slop)| format!("\"{a} {b} {c}\"~{slop}")),
        1 => (word.clone(), word.clone(), 0u32..3).prop_map(|(a, b, slop)| format!("\"{a} {b}\"~{slop}")),
        1 => (word.clone(), prop::sample::select(&["ou", "re", "sup", "c"][..]))
            .prop_map(|(a, b)| format!("\"{a} {b}\"*")),
        1 => (prop::sample::select(&["title", "text"][..]), word.clone())
            .prop_map(|(field, value)| format!("{field}:{value}")),
        1 => prop::sample::select(AUTHORS).prop_map(|author| format!("author:\"{author}\"")),
        1 => prop::sample::select(SOURCES).prop_map(|source| format!("source:{source}")),
        1 => prop::sample::select(LANGS).prop_map(|lang| format!("lang:{}", lang.to_uppercase())),
        1 => prop::sample::select(&["positive", "negative", "neutral", "unscored"][..])
            .prop_map(|label| format!("label:{label}")),
        1 => prop::sample::select(WATCHES).prop_map(|watch| format!("watch:{watch}")),
        1 => (0u64..6, 0u64..6).prop_map(|(a, b)| format!("rating:[{a} TO {b}]")),
        1 => (0u64..8).prop_map(|a| format!("engagement:>{a}")),
        1 => (0u64..5).prop_map(|a| format!("author_reach:<={a}")),
        1 => (0i64..7_200, 0i64..7_200)
            .prop_map(|(a, b)| format!("published_at:[{} TO {}}}", timestamp(a.min(b)), timestamp(a.max(b)))),
        1 => prop::sample::select(&["title", "text", "author", "parent", "rating", "engagement", "author_reach"][..])
            .prop_map(|field| format!("{field}:*")),
        1 => Just("*".to_string()),
    ]
}

fn query() -> impl Strategy<Value = String> {
    leaf().prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} OR {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} AND {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} -{b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} AND NOT {b})")),
            (inner.clone(), inner.clone(), inner)
                .prop_map(|(a, b, c)| format!("({a} OR {b}) -({c})")),
        ]
    })
}

fn found(index: &MentionIndex, query: &MentionQuery, sort: Sort) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    index
        .export(query, &Filters::default(), sort, |mention| {
            ids.insert(mention.id);
            Ok::<(), IndexError>(())
        })
        .unwrap();
    ids
}

#[test]
fn the_index_finds_exactly_what_the_watch_matcher_matches() {
    let mut runner = TestRunner::new(Config {
        cases: 24,
        ..Config::default()
    });
    let corpus = (0..60usize).map(arb_mention).collect::<Vec<_>>();
    let strategy = (corpus, prop::collection::vec(query(), 40));
    let parsed_queries = std::cell::Cell::new(0usize);
    runner
        .run(&strategy, |(mentions, queries)| {
            let dir = tempfile::tempdir().unwrap();
            let index = common::build_index(dir.path(), mentions.clone());
            let targets: Vec<(String, MatchTarget)> = mentions
                .iter()
                .map(|mention| (mention.id.clone(), MatchTarget::new(mention)))
                .collect();
            for raw in &queries {
                let Ok(query) = MentionQuery::parse(raw) else {
                    continue;
                };
                parsed_queries.set(parsed_queries.get() + 1);
                let expected: BTreeSet<String> = targets
                    .iter()
                    .filter(|(_, target)| query.matches(target))
                    .map(|(id, _)| id.clone())
                    .collect();
                let unscored = found(&index, &query, Sort::Newest);
                prop_assert_eq!(
                    &unscored,
                    &expected,
                    "query `{}` compiled to {:?}",
                    raw,
                    query.root()
                );
                let scored = found(&index, &query, Sort::Relevance);
                prop_assert_eq!(&scored, &expected, "scored query `{}`", raw);
                let count = index.count(&query, &Filters::default()).unwrap();
                prop_assert_eq!(count, expected.len(), "count of `{}`", raw);
            }
            Ok(())
        })
        .unwrap();
    let parsed = parsed_queries.get();
    assert!(parsed > 200, "only {parsed} generated queries parsed");
}
