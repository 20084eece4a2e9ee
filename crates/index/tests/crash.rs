//! Kill -9 while ingesting, at several random points: after each crash the documents and the
//! payload belong to the same commit, and re-ingesting converges with no duplicates.
//!
//! The test re-runs its own binary as the ingesting child (`crash_child`, which does nothing
//! unless `EARFUL_CRASH_CHILD` names an index directory), kills it with SIGKILL
//! (`Child::kill`) a random delay after its next commit, and checks the index it left.

// Test helpers outside `#[test]` functions may unwrap too (clippy.toml allows it inside).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use earful_core::MentionQuery;
use earful_index::{Batch, Filters, IndexError, IndexOptions, MentionIndex, Sort};

const PER_BATCH: u64 = 40;
const CHILD_ENV: &str = "EARFUL_CRASH_CHILD";
const UNTIL_ENV: &str = "EARFUL_CRASH_UNTIL";

/// The highest batch sequence committed, from the payload.
fn committed_sequence(index: &MentionIndex) -> u64 {
    index
        .commit_payload()
        .unwrap()
        .cursors
        .get("test")
        .and_then(|value| value.as_u64())
        .unwrap_or(0)
}

fn open_writer(dir: &Path) -> MentionIndex {
    let options = IndexOptions {
        writer_heap_bytes: 30_000_000,
        commit_max_docs: 3 * PER_BATCH as usize,
        commit_interval: Duration::from_millis(15),
        ..IndexOptions::default()
    };
    // The killed child's lock goes with its process; retry briefly in case the OS is slow.
    for _ in 0..200 {
        match MentionIndex::open(dir, options.clone()) {
            Err(IndexError::Locked { .. }) => std::thread::sleep(Duration::from_millis(10)),
            other => return other.unwrap(),
        }
    }
    panic!("index stayed locked");
}

/// The child: ingests batches forever (or until `EARFUL_CRASH_UNTIL`), re-sending the last
/// few committed batches first, as a collector re-fetching after a restart would.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let until: u64 = std::env::var(UNTIL_ENV)
        .ok()
        .and_then(|raw| raw.parse().ok())
        .unwrap_or(u64::MAX);
    let index = open_writer(Path::new(&dir));
    let start = committed_sequence(&index).saturating_sub(2) + 1;
    let writer = index.start_writer().unwrap();
    for sequence in start..=until {
        let mentions = (0..PER_BATCH)
            .map(|i| {
                common::mention(
                    &format!("crash:{sequence}-{i}"),
                    "acme crash test",
                    sequence as i64,
                )
            })
            .collect();
        let cursors = BTreeMap::from([("test".to_string(), serde_json::json!(sequence))]);
        writer.send(Batch { mentions, cursors }).unwrap();
    }
    writer.shutdown().unwrap();
}

/// Checks that the index holds exactly batches 1..=S of the payload's S, each mention once.
fn check_consistent(dir: &Path) -> u64 {
    let index = MentionIndex::open_read_only(dir).unwrap();
    let sequence = committed_sequence(&index);
    let mut per_batch: BTreeMap<u64, u64> = BTreeMap::new();
    let mut ids = std::collections::BTreeSet::new();
    index
        .export(
            &MentionQuery::parse("").unwrap(),
            &Filters::default(),
            Sort::Oldest,
            |mention| {
                let batch: u64 = mention.id["crash:".len()..]
                    .split('-')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap();
                *per_batch.entry(batch).or_default() += 1;
                assert!(ids.insert(mention.id.clone()), "duplicate {}", mention.id);
                Ok::<(), IndexError>(())
            },
        )
        .unwrap();
    assert_eq!(
        ids.len() as u64,
        sequence * PER_BATCH,
        "payload says {sequence}: {per_batch:?}"
    );
    assert!(
        per_batch.keys().all(|batch| (1..=sequence).contains(batch)),
        "{per_batch:?}"
    );
    assert!(
        per_batch.values().all(|count| *count == PER_BATCH),
        "{per_batch:?}"
    );
    sequence
}

fn random_delay(round: u64) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos() as u64)
        .unwrap_or(round * 7_919);
    Duration::from_millis((nanos ^ round.wrapping_mul(2_654_435_761)) % 400)
}

/// Waits until the child has committed past `after`, so every round kills it mid-stream
/// whatever the machine's load (a fixed delay alone can end before the first commit).
fn wait_for_commit_past(dir: &Path, after: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while std::time::Instant::now() < deadline {
        if dir.join("meta.json").exists() {
            if let Ok(index) = MentionIndex::open_read_only(dir) {
                if index
                    .commit_payload()
                    .ok()
                    .and_then(|payload| payload.cursors.get("test").and_then(|v| v.as_u64()))
                    .is_some_and(|sequence| sequence > after)
                {
                    return;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("the child committed nothing past batch {after} in 120 s");
}

fn spawn_child(dir: &Path, until: Option<u64>) -> std::process::Child {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(until) = until {
        command.env(UNTIL_ENV, until.to_string());
    }
    command.spawn().unwrap()
}

#[test]
fn kill_9_while_ingesting_loses_and_duplicates_nothing() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut committed = Vec::new();
    for round in 0..6 {
        let mut child = spawn_child(dir.path(), None);
        wait_for_commit_past(dir.path(), committed.last().copied().unwrap_or(0));
        std::thread::sleep(random_delay(round));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        committed.push(check_consistent(dir.path()));
    }
    assert!(
        committed.windows(2).all(|pair| pair[1] >= pair[0]),
        "a crash lost committed batches: {committed:?}"
    );
    // Re-ingest to a fixed end, cleanly: everything exactly once.
    let end = committed.iter().max().copied().unwrap_or(0) + 5;
    let status = spawn_child(dir.path(), Some(end)).wait().unwrap();
    assert!(status.success());
    assert_eq!(check_consistent(dir.path()), end);
    drop(open_writer(dir.path()));
}
