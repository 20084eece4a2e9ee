//! The API sources (mastodon, appstore, stackexchange, github, lemmy, bluesky, reddit)
//! against a loopback server serving their recorded payloads: field mapping, paging, cursors
//! that resume without duplicates, conditional requests, and every way a poll can fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

#[path = "sources/appstore.rs"]
mod appstore;
#[path = "sources/bluesky.rs"]
mod bluesky;
#[path = "sources/failures.rs"]
mod failures;
#[path = "sources/github.rs"]
mod github;
#[path = "sources/lemmy.rs"]
mod lemmy;
#[path = "sources/mastodon.rs"]
mod mastodon;
#[path = "sources/reddit.rs"]
mod reddit;
#[path = "sources/restart.rs"]
mod restart;
#[path = "sources/stackexchange.rs"]
mod stackexchange;

use std::time::Duration;

use earful_collect::fetch::{FetchOptions, Fetcher, HttpState};
use earful_collect::sources::{build, AnySource};
use earful_collect::{Collected, HttpClient, PollContext, SearchTerm, SourceError};
use earful_core::config::SourceConfig;
use time::OffsetDateTime;

/// A source of `kind` named `name`, pointed at `base_url`, with kind-specific keys.
pub fn source(kind: &str, name: &str, base_url: &str, extra: serde_json::Value) -> AnySource {
    let config = source_config(kind, name, base_url, extra);
    build(&config).unwrap()
}

/// The config entry [`source`] builds from.
pub fn source_config(
    kind: &str,
    name: &str,
    base_url: &str,
    extra: serde_json::Value,
) -> SourceConfig {
    let mut entry = serde_json::json!({"name": name, "kind": kind, "base_url": base_url});
    if let serde_json::Value::Object(extra) = extra {
        for (key, value) in extra {
            entry[key] = value;
        }
    }
    serde_json::from_value(entry).unwrap()
}

/// A fetcher with a short timeout, starting from these validators.
pub fn fetcher(state: HttpState) -> Fetcher {
    HttpClient::new(FetchOptions {
        timeout: Duration::from_secs(5),
        ..FetchOptions::default()
    })
    .unwrap()
    .fetcher(state)
}

/// One search term for the watch `acme`.
pub fn terms(text: &str) -> Vec<SearchTerm> {
    vec![SearchTerm {
        watch: "acme".to_string(),
        text: text.to_string(),
        phrase: false,
    }]
}

/// A poll of `source` with this cursor; returns what it collected and the fetcher (for its
/// validators and signals).
pub async fn poll(
    source: &AnySource,
    state: HttpState,
    cursor: Option<&serde_json::Value>,
    terms: &[SearchTerm],
    first_run_since: OffsetDateTime,
) -> (Result<Collected, SourceError>, Fetcher) {
    let mut fetcher = fetcher(state);
    let context = PollContext {
        name: "under-test",
        cursor,
        first_run_since,
        now: OffsetDateTime::now_utc(),
        terms,
    };
    let result = source.poll(&mut fetcher, &context).await;
    (result, fetcher)
}

/// A recorded JSON payload, parsed.
pub fn fixture_json(name: &str) -> serde_json::Value {
    serde_json::from_slice(&util::fixture(name)).unwrap()
}

/// A JSON reply.
pub fn json_reply(value: &serde_json::Value) -> util::Reply {
    util::Reply::ok(serde_json::to_vec(value).unwrap()).header("content-type", "application/json")
}

/// The ids of the collected mentions, in order.
pub fn ids(collected: &Collected) -> Vec<String> {
    collected
        .mentions
        .iter()
        .map(|mention| mention.id.clone())
        .collect()
}
