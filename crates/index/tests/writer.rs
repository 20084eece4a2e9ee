//! The writer: upserts, commit payloads, locking, read-only opening, retention, and paging
//! while newer mentions arrive.

// Test helpers outside `#[test]` functions may unwrap too (clippy.toml allows it inside).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::{mention, test_options, BASE};
use earful_core::MentionQuery;
use earful_index::{
    Batch, CommitPayload, Filters, IndexError, IndexOptions, MentionIndex, SearchRequest,
};

fn cursors(pairs: &[(&str, serde_json::Value)]) -> BTreeMap<String, serde_json::Value> {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.clone()))
        .collect()
}

#[test]
fn the_v1_payload_fixture_still_loads() {
    let fixture = include_str!("fixtures/commit-payload-v1.json");
    let payload = CommitPayload::from_stored(Some(fixture)).unwrap();
    assert_eq!(payload.version, 1);
    assert_eq!(
        payload.cursors["hn-acme"],
        serde_json::json!({"since_id": 41234567})
    );
    assert_eq!(payload.cursors["acme-blog"]["etag"], "\"abc123\"");
    assert!(payload.committed_at.is_some());
}

#[test]
fn upserts_replace_by_id_and_cursors_merge_across_commits() {
    let dir = tempfile::tempdir().unwrap();
    let index = MentionIndex::open(dir.path(), test_options()).unwrap();
    let writer = index.start_writer().unwrap();
    writer
        .send(Batch {
            mentions: vec![
                mention("hn:1", "first version", 0),
                mention("hn:1", "second version", 0),
            ],
            cursors: cursors(&[
                ("hn", serde_json::json!(1)),
                ("blog", serde_json::json!("etag-a")),
            ]),
        })
        .unwrap();
    let first = writer.flush().unwrap().unwrap();
    assert_eq!(first.num_docs, 1, "the same id twice in a batch leaves one");
    writer
        .send(Batch {
            mentions: vec![
                mention("hn:1", "third version", 0),
                mention("HN:1", "another id", 0),
            ],
            cursors: cursors(&[("hn", serde_json::json!(2))]),
        })
        .unwrap();
    let second = writer.flush().unwrap().unwrap();
    assert_eq!(second.num_docs, 2, "ids are case-sensitive");
    assert!(second.opstamp > first.opstamp);
    assert_eq!(index.get("hn:1").unwrap().unwrap().text, "third version");
    let payload = index.commit_payload().unwrap();
    assert_eq!(payload.cursors["hn"], serde_json::json!(2));
    assert_eq!(
        payload.cursors["blog"],
        serde_json::json!("etag-a"),
        "kept from the first commit"
    );
    // Nothing new: flush does not commit again.
    assert_eq!(writer.flush().unwrap().unwrap().opstamp, second.opstamp);
    writer.shutdown().unwrap();
    drop(index);
    // The payload survives reopening, and the writer continues from it.
    let index = MentionIndex::open(dir.path(), test_options()).unwrap();
    assert_eq!(
        index.commit_payload().unwrap().cursors["hn"],
        serde_json::json!(2)
    );
    assert_eq!(index.num_docs(), 2);
}

#[test]
fn every_commit_is_published_to_subscribers() {
    let dir = tempfile::tempdir().unwrap();
    let index = MentionIndex::open(dir.path(), test_options()).unwrap();
    let writer = index.start_writer().unwrap();
    let mut commits = writer.subscribe_commits();
    assert!(
        commits.borrow_and_update().is_none(),
        "nothing committed yet"
    );
    writer
        .send(Batch {
            mentions: vec![mention("hn:1", "one", 0), mention("hn:2", "two", 0)],
            cursors: cursors(&[("hn", serde_json::json!(2))]),
        })
        .unwrap();
    let flushed = writer.flush().unwrap().unwrap();
    assert!(commits.has_changed().unwrap());
    let published = commits.borrow_and_update().clone().unwrap();
    assert_eq!(published, flushed);
    assert_eq!((published.docs_added, published.num_docs), (2, 2));
    assert_eq!(published.payload.cursors["hn"], serde_json::json!(2));
    writer.shutdown().unwrap();
    assert!(
        commits.has_changed().is_err(),
        "the channel closes when the writer stops"
    );
}

#[test]
fn a_second_writer_gets_a_clear_lock_error_and_read_only_works() {
    let dir = tempfile::tempdir().unwrap();
    let index = MentionIndex::open(dir.path(), test_options()).unwrap();
    let error = MentionIndex::open(dir.path(), test_options()).unwrap_err();
    assert!(
        matches!(&error, IndexError::Locked { path } if path == dir.path()),
        "{error}"
    );
    assert!(error.to_string().contains("locked"), "{error}");

    let writer = index.start_writer().unwrap();
    let reader = MentionIndex::open_read_only(dir.path()).unwrap();
    assert!(reader.start_writer().is_err());
    writer
        .send(Batch {
            mentions: vec![mention("hn:1", "acme", 0)],
            cursors: BTreeMap::new(),
        })
        .unwrap();
    writer.flush().unwrap();
    reader.reload().unwrap();
    assert_eq!(
        reader
            .count(&MentionQuery::parse("acme").unwrap(), &Filters::default())
            .unwrap(),
        1
    );
    writer.shutdown().unwrap();

    let missing = dir.path().join("nothing-here");
    assert!(matches!(
        MentionIndex::open_read_only(&missing),
        Err(IndexError::NotFound { .. })
    ));
}

#[test]
fn commits_happen_by_count_and_by_time() {
    let dir = tempfile::tempdir().unwrap();
    let options = IndexOptions {
        commit_max_docs: 2,
        ..test_options()
    };
    let index = MentionIndex::open(dir.path(), options).unwrap();
    let writer = index.start_writer().unwrap();
    writer
        .send(Batch {
            mentions: vec![mention("hn:1", "a", 0), mention("hn:2", "b", 0)],
            cursors: BTreeMap::new(),
        })
        .unwrap();
    // The writer committed by itself (count reached); wait for it without a flush.
    wait_for(|| index.num_docs() == 2);
    writer.shutdown().unwrap();
    drop(index);

    let dir = tempfile::tempdir().unwrap();
    let options = IndexOptions {
        commit_interval: Duration::from_millis(50),
        ..test_options()
    };
    let index = MentionIndex::open(dir.path(), options).unwrap();
    let writer = index.start_writer().unwrap();
    writer
        .send(Batch {
            mentions: vec![mention("hn:1", "a", 0)],
            cursors: cursors(&[("hn", serde_json::json!(7))]),
        })
        .unwrap();
    wait_for(|| index.num_docs() == 1);
    assert_eq!(
        index.commit_payload().unwrap().cursors["hn"],
        serde_json::json!(7)
    );
    writer.shutdown().unwrap();
}

/// Polls a condition (no timing assertion: only a generous limit against hanging forever).
fn wait_for(condition: impl Fn() -> bool) {
    for _ in 0..2_000 {
        if condition() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("condition not reached in 20 s");
}

#[test]
fn retention_deletes_old_mentions() {
    let dir = tempfile::tempdir().unwrap();
    let index = MentionIndex::open(dir.path(), test_options()).unwrap();
    let writer = index.start_writer().unwrap();
    writer
        .send(Batch {
            mentions: (0..10)
                .map(|i| mention(&format!("hn:{i}"), "acme", i * 60))
                .collect(),
            cursors: BTreeMap::new(),
        })
        .unwrap();
    writer
        .delete_older_than(BASE + time::Duration::minutes(5 * 60))
        .unwrap();
    writer.flush().unwrap();
    assert_eq!(index.num_docs(), 5);
    writer.shutdown().unwrap();
    drop(index);

    // The periodic sweep: everything in the fixtures is older than a day.
    let options = IndexOptions {
        retention: Some(Duration::from_secs(86_400)),
        ..test_options()
    };
    let index = MentionIndex::open(dir.path(), options).unwrap();
    let writer = index.start_writer().unwrap();
    let mut fresh = mention("hn:new", "acme", 0);
    fresh.published_at = time::OffsetDateTime::now_utc();
    writer
        .send(Batch {
            mentions: vec![fresh],
            cursors: BTreeMap::new(),
        })
        .unwrap();
    writer.flush().unwrap();
    assert_eq!(index.num_docs(), 1);
    assert!(index.get("hn:new").unwrap().is_some());
    writer.shutdown().unwrap();
}

#[test]
fn a_full_queue_blocks_producers_instead_of_growing() {
    let dir = tempfile::tempdir().unwrap();
    let options = IndexOptions {
        channel_capacity: 1,
        ..test_options()
    };
    let index = MentionIndex::open(dir.path(), options).unwrap();
    let writer = index.start_writer().unwrap();
    // Many batches through a queue of one: every send waits for room, none is lost.
    for batch in 0..50 {
        writer
            .send(Batch {
                mentions: (0..20)
                    .map(|i| mention(&format!("hn:{batch}-{i}"), "acme", i))
                    .collect(),
                cursors: BTreeMap::new(),
            })
            .unwrap();
    }
    assert_eq!(writer.shutdown().unwrap().unwrap().num_docs, 1_000);
    assert!(index.start_writer().is_err(), "one writer per open");
}

#[test]
fn paging_newest_first_never_skips_or_repeats_while_newer_mentions_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let index = MentionIndex::open(dir.path(), test_options()).unwrap();
    let writer = index.start_writer().unwrap();
    let initial: Vec<_> = (0..3_000)
        .map(|i| mention(&format!("old:{i}"), "acme", i / 3))
        .collect();
    for chunk in initial.chunks(1_000) {
        writer
            .send(Batch {
                mentions: chunk.to_vec(),
                cursors: BTreeMap::new(),
            })
            .unwrap();
    }
    writer.flush().unwrap();
    let producer = {
        let writer = writer.clone();
        std::thread::spawn(move || {
            for round in 0..30 {
                let newer = (0..50)
                    .map(|i| {
                        mention(
                            &format!("new:{round}-{i}"),
                            "acme",
                            100_000 + round * 50 + i,
                        )
                    })
                    .collect();
                writer
                    .send(Batch {
                        mentions: newer,
                        cursors: BTreeMap::new(),
                    })
                    .unwrap();
                writer.flush().unwrap();
            }
        })
    };
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = index
            .search(&SearchRequest {
                limit: 25,
                cursor,
                ..SearchRequest::new(MentionQuery::parse("acme").unwrap())
            })
            .unwrap();
        seen.extend(page.hits.into_iter().map(|hit| hit.mention.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    producer.join().unwrap();
    let old: Vec<&String> = seen.iter().filter(|id| id.starts_with("old:")).collect();
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no mention twice");
    assert_eq!(
        old.len(),
        3_000,
        "every mention that was there at the start"
    );
    writer.shutdown().unwrap();
}
