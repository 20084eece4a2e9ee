//! Helpers shared by the integration tests.
// Test helpers outside `#[test]` functions may unwrap too (clippy.toml allows it inside).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use earful_core::{Label, Mention, Sentiment};
use earful_index::{Batch, IndexOptions, MentionIndex};
use time::macros::datetime;
use time::OffsetDateTime;

/// Small heap, commits only when asked: tests decide when.
pub fn test_options() -> IndexOptions {
    IndexOptions {
        writer_heap_bytes: 50_000_000,
        commit_max_docs: 1_000_000,
        commit_interval: Duration::from_secs(3_600),
        retention: None,
        retention_check_interval: Duration::from_secs(3_600),
        channel_capacity: 4,
    }
}

pub const BASE: OffsetDateTime = datetime!(2026-11-01 00:00:00 UTC);

/// A plain mention; tests adjust the fields they care about.
pub fn mention(id: &str, text: &str, minutes: i64) -> Mention {
    Mention {
        id: id.to_string(),
        source: "hackernews".into(),
        feed: "hn-acme".into(),
        watches: vec!["acme".into()],
        url: Some(format!("https://example.test/{id}")),
        author: Some("jdoe".into()),
        author_reach: Some(10),
        title: None,
        text: text.to_string(),
        lang: "en".into(),
        rating: None,
        engagement: None,
        parent: None,
        published_at: BASE + time::Duration::minutes(minutes),
        collected_at: BASE + time::Duration::minutes(minutes + 1),
        sentiment: Sentiment::scored(0.0, 0.0, 1.0, 0.0),
    }
}

pub fn with_compound(mut mention: Mention, compound: f64) -> Mention {
    mention.sentiment = Sentiment::scored(compound, 0.1, 0.8, 0.1);
    mention
}

pub fn unscored(mut mention: Mention) -> Mention {
    mention.sentiment = Sentiment::unscored();
    debug_assert_eq!(mention.sentiment.label, Label::Unscored);
    mention
}

/// Creates an index in `dir` holding `mentions`, committed.
pub fn build_index(dir: &Path, mentions: Vec<Mention>) -> MentionIndex {
    let index = MentionIndex::open(dir, test_options()).unwrap();
    let writer = index.start_writer().unwrap();
    for chunk in mentions.chunks(500) {
        writer
            .send(Batch {
                mentions: chunk.to_vec(),
                cursors: Default::default(),
            })
            .unwrap();
    }
    writer.shutdown().unwrap();
    index
}
