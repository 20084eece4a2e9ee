//! All seven sources through the poll engine, configured from TOML as a user would: the first
//! cycle collects every recorded item, and a new engine started from the committed cursors
//! hands on none of them again.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use earful_collect::{Engine, EngineOptions, FetchOptions, SourceBatch};
use time::OffsetDateTime;
use tokio::sync::mpsc;

use super::failures::serve_logins;
use super::util::{self, Reply, TestServer};

fn config(server: &TestServer) -> earful_core::config::Config {
    let base = server.base_url();
    util::config(&format!(
        r#"version = 1

[[watch]]
name = "acme"
query = "acme"

[[source]]
name = "mastodon-test"
kind = "mastodon"
base_url = "{base}"
hashtags = ["rstats"]
watches = ["acme"]

[[source]]
name = "appstore-test"
kind = "appstore"
base_url = "{base}"
app_id = "389801252"
country = "us"

[[source]]
name = "stackexchange-test"
kind = "stackexchange"
base_url = "{base}"
watches = ["acme"]

[[source]]
name = "github-test"
kind = "github"
base_url = "{base}"
watches = ["acme"]

[[source]]
name = "lemmy-test"
kind = "lemmy"
base_url = "{base}"
watches = ["acme"]

[[source]]
name = "bluesky-test"
kind = "bluesky"
base_url = "{base}"
identifier = "earful.test"
app_password = "app-pw"
watches = ["acme"]

[[source]]
name = "reddit-test"
kind = "reddit"
base_url = "{base}"
client_id = "client"
client_secret = "secret"
watches = ["acme"]
"#
    ))
}

fn engine(
    config: &earful_core::config::Config,
    committed: &BTreeMap<String, serde_json::Value>,
) -> Engine {
    let options = EngineOptions {
        fetch: FetchOptions {
            timeout: Duration::from_secs(5),
            ..FetchOptions::default()
        },
        // The recorded payloads span 2016 to 2026.
        lookback: Duration::from_secs(20 * 365 * 86_400),
        ..EngineOptions::default()
    };
    let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
    Engine::new(config, options, committed, BTreeMap::new())
        .unwrap()
        .with_clock(Arc::new(move || now))
}

fn drain(
    receiver: &mut mpsc::Receiver<SourceBatch>,
    committed: &mut BTreeMap<String, serde_json::Value>,
) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    while let Ok(batch) = receiver.try_recv() {
        committed.insert(batch.source.clone(), batch.cursor.clone());
        *counts.entry(batch.source).or_default() += batch.mentions.len();
    }
    counts
}

#[tokio::test]
async fn a_restart_from_the_committed_cursors_hands_on_nothing_twice() {
    let server = TestServer::start().await;
    serve_logins(&server);
    server.serve(
        "/api/v1/timelines/tag/rstats",
        Reply::fixture("mastodon.json"),
    );
    server.serve(
        "/us/rss/customerreviews/page=1/id=389801252/sortby=mostrecent/json",
        Reply::fixture("appstore.json"),
    );
    server.serve("/2.3/search/advanced", Reply::fixture("stackexchange.json"));
    server.serve("/search/issues", Reply::fixture("github.json"));
    server.serve("/api/v3/search", Reply::fixture("lemmy.json"));
    server.serve(
        "/xrpc/app.bsky.feed.searchPosts",
        Reply::fixture("bluesky.json"),
    );
    server.serve("/search", Reply::fixture("reddit.json"));
    let config = config(&server);
    let (sender, mut receiver) = mpsc::channel(16);
    let mut committed = BTreeMap::new();

    let mut first = engine(&config, &committed);
    let reports = first.poll_all(&sender).await;
    assert!(
        reports.iter().all(|report| report.error.is_none()),
        "{reports:?}"
    );
    let counts = drain(&mut receiver, &mut committed);
    let expected: BTreeMap<String, usize> = [
        ("appstore-test", 3),
        ("bluesky-test", 3),
        ("github-test", 2),
        ("lemmy-test", 2),
        ("mastodon-test", 3),
        ("reddit-test", 3),
        ("stackexchange-test", 3),
    ]
    .into_iter()
    .map(|(name, count)| (name.to_string(), count))
    .collect();
    assert_eq!(counts, expected);

    // A new process, the same payloads served again: everything was handed on already.
    let mut restarted = engine(&config, &committed);
    let reports = restarted.poll_all(&sender).await;
    assert!(
        reports.iter().all(|report| report.error.is_none()),
        "{reports:?}"
    );
    let counts = drain(&mut receiver, &mut committed);
    assert!(counts.values().all(|count| *count == 0), "{counts:?}");
}
