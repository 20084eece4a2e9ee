//! The `hackernews` source against a loopback server serving recorded Algolia responses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::time::Duration;

use earful_collect::fetch::{FetchOptions, Fetcher};
use earful_collect::sources::{self, AnySource};
use earful_collect::{Collected, PollContext, SearchTerm, SourceError};
use serde_json::{json, Value};
use time::OffsetDateTime;
use util::{Reply, TestServer};

const PATH: &str = "/api/v1/search_by_date";

fn hn_source(server: &TestServer) -> AnySource {
    sources::build(&util::source_config(&format!(
        "version = 1\n[[watch]]\nname = \"acme\"\nquery = 'acme'\n[[source]]\nname = \"hn-acme\"\nkind = \"hackernews\"\nwatches = [\"acme\"]\nbase_url = \"{}\"\n",
        server.base_url()
    )))
    .unwrap()
}

fn fetcher() -> Fetcher {
    Fetcher::with_options(FetchOptions {
        timeout: Duration::from_millis(500),
        ..FetchOptions::default()
    })
    .unwrap()
}

fn terms() -> Vec<SearchTerm> {
    vec![SearchTerm {
        watch: "acme".into(),
        text: "acme corp".into(),
        phrase: true,
    }]
}

async fn poll(server: &TestServer, cursor: Option<&Value>) -> Result<Collected, SourceError> {
    let terms = terms();
    let context = PollContext {
        name: "hn-acme",
        cursor,
        first_run_since: OffsetDateTime::from_unix_timestamp(1_500_000_000).unwrap(),
        now: OffsetDateTime::now_utc(),
        terms: &terms,
    };
    hn_source(server).poll(&mut fetcher(), &context).await
}

fn fixture_json(name: &str) -> Value {
    serde_json::from_slice(&util::fixture(name)).unwrap()
}

/// A response with these hits, as page `page` of `pages`.
fn page_of(hits: Vec<Value>, page: u64, pages: u64, total: u64) -> Reply {
    let mut body = fixture_json("hackernews.json");
    body["hits"] = Value::Array(hits);
    body["page"] = json!(page);
    body["nbPages"] = json!(pages);
    body["nbHits"] = json!(total);
    Reply::ok(serde_json::to_vec(&body).unwrap()).header("content-type", "application/json")
}

fn hit(id: u64, created: i64) -> Value {
    let mut hit = fixture_json("hackernews.json")["hits"][0].clone();
    hit["objectID"] = json!(id.to_string());
    hit["created_at_i"] = json!(created);
    hit
}

#[tokio::test]
async fn comments_map_every_field() {
    let server = TestServer::start().await;
    server.serve(PATH, Reply::fixture("hackernews.json"));
    let collected = poll(&server, None).await.unwrap();
    assert_eq!(collected.mentions.len(), 2, "{:?}", collected.skipped);
    let comment = &collected.mentions[0];
    assert_eq!(comment.id, "hackernews:23605021");
    assert_eq!(comment.source.as_deref(), Some("hackernews"));
    assert_eq!(comment.feed.as_deref(), Some("hn-acme"));
    assert_eq!(
        comment.url.as_deref(),
        Some("https://news.ycombinator.com/item?id=23605021")
    );
    assert_eq!(comment.author.as_deref(), Some("imhoguy"));
    assert_eq!(comment.parent.as_deref(), Some("hackernews:23603905"));
    assert_eq!(
        comment.title.as_deref(),
        Some("Show HN: Web3Torrent – Adding Ethereum Micropayments to WebTorrent")
    );
    assert!(
        comment.text.starts_with("There is low chance"),
        "{}",
        comment.text
    );
    assert_eq!(comment.published_at.unix_timestamp(), 1_592_854_092);
    assert_eq!(comment.engagement, None);

    let request = &server.requests()[0];
    assert_eq!(
        request.query_param("query").as_deref(),
        Some("\"acme corp\"")
    );
    assert_eq!(
        request.query_param("tags").as_deref(),
        Some("(story,comment)")
    );
    assert_eq!(
        request.query_param("numericFilters").as_deref(),
        Some("created_at_i>=1500000000")
    );
    assert_eq!(request.query_param("page").as_deref(), Some("0"));
}

#[tokio::test]
async fn stories_map_title_points_and_text() {
    let server = TestServer::start().await;
    let story = fixture_json("hackernews-story-current-format.json")["hits"][0].clone();
    server.serve(PATH, page_of(vec![story.clone()], 0, 1, 1));
    let collected = poll(&server, None).await.unwrap();
    assert_eq!(collected.mentions.len(), 1, "{:?}", collected.skipped);
    let mention = &collected.mentions[0];
    assert_eq!(
        mention.id,
        format!("hackernews:{}", story["objectID"].as_str().unwrap())
    );
    assert_eq!(mention.title.as_deref(), story["title"].as_str());
    assert_eq!(mention.engagement, story["points"].as_u64());
    assert_eq!(mention.parent, None);
    assert_eq!(
        mention.published_at.unix_timestamp(),
        story["created_at_i"].as_i64().unwrap()
    );
}

#[tokio::test]
async fn pages_are_followed_and_the_high_water_mark_resumes() {
    let server = TestServer::start().await;
    server.serve_matching(
        PATH,
        |request| request.query_param("page").as_deref() == Some("0"),
        page_of(vec![hit(3, 1_700_000_300), hit(2, 1_700_000_200)], 0, 2, 3),
    );
    server.serve_matching(
        PATH,
        |request| request.query_param("page").as_deref() == Some("1"),
        page_of(vec![hit(1, 1_700_000_100)], 1, 2, 3),
    );
    let first = poll(&server, None).await.unwrap();
    let ids: Vec<&str> = first.mentions.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["hackernews:3", "hackernews:2", "hackernews:1"]);
    assert_eq!(server.requests().len(), 2);

    // The restart: same answers (Algolia's filter is inclusive), nothing handed on twice.
    server.clear_requests();
    let cursor = first.cursor.unwrap();
    let second = poll(&server, Some(&cursor)).await.unwrap();
    assert!(second.mentions.is_empty(), "{:?}", second.mentions);
    assert_eq!(
        server.requests()[0]
            .query_param("numericFilters")
            .as_deref(),
        Some("created_at_i>=1700000300")
    );
}

#[tokio::test]
async fn the_1000_hit_cap_is_sliced_by_time() {
    let server = TestServer::start().await;
    // Ten pages of the first window (Algolia stops there), then an older window.
    for page in 0..10u64 {
        let created = 1_700_001_000 - page as i64;
        server.serve_matching(
            PATH,
            move |request| {
                request.query_param("page") == Some(page.to_string())
                    && !request
                        .query_param("numericFilters")
                        .unwrap()
                        .contains("<=")
            },
            page_of(vec![hit(1_000 + page, created)], page, 10, 2_500),
        );
    }
    server.serve_matching(
        PATH,
        |request| {
            request
                .query_param("numericFilters")
                .unwrap()
                .contains("<=")
        },
        page_of(vec![hit(42, 1_700_000_000)], 0, 1, 1),
    );
    let collected = poll(&server, None).await.unwrap();
    assert_eq!(collected.mentions.len(), 11);
    let sliced = server
        .requests()
        .into_iter()
        .filter_map(|request| request.query_param("numericFilters"))
        .find(|filters| filters.contains("<="))
        .unwrap();
    assert_eq!(sliced, "created_at_i>=1500000000,created_at_i<=1700000991");
}

#[tokio::test]
async fn hits_with_missing_fields_are_skipped_and_the_rest_kept() {
    let server = TestServer::start().await;
    let mut no_time = hit(7, 1_700_000_000);
    no_time.as_object_mut().unwrap().remove("created_at_i");
    let mut no_id = hit(8, 1_700_000_000);
    no_id.as_object_mut().unwrap().remove("objectID");
    server.serve(
        PATH,
        page_of(vec![hit(6, 1_700_000_000), no_time, no_id], 0, 1, 3),
    );
    let collected = poll(&server, None).await.unwrap();
    assert_eq!(collected.mentions.len(), 1);
    assert_eq!(collected.skipped.len(), 2);
    assert!(
        collected.skipped[0].reason.contains("`7`"),
        "{:?}",
        collected.skipped
    );
    assert!(collected.skipped[0].reason.contains("created_at_i"));
    assert!(collected.skipped[1].reason.contains("objectID"));
}

#[tokio::test]
async fn malformed_json_is_a_parse_error() {
    let server = TestServer::start().await;
    server.serve(
        PATH,
        Reply::ok("{\"hits\": [").header("content-type", "application/json"),
    );
    let error = poll(&server, None).await.unwrap_err();
    assert_eq!(error.class(), "parse", "{error}");
}

#[tokio::test]
async fn http_failures_fail_the_poll() {
    let server = TestServer::start().await;
    server.serve(PATH, Reply::status(429).header("retry-after", "30"));
    let error = poll(&server, None).await.unwrap_err();
    assert_eq!(error.class(), "rate_limited");
    assert_eq!(error.retry_after(), Some(Duration::from_secs(30)));
    server.serve(PATH, Reply::status(500));
    assert_eq!(poll(&server, None).await.unwrap_err().class(), "server");
    server.serve(
        PATH,
        Reply::fixture("hackernews.json").delayed(Duration::from_secs(30)),
    );
    assert_eq!(poll(&server, None).await.unwrap_err().class(), "timeout");
    server.serve(PATH, Reply::fixture("hackernews.json").truncated(300));
    assert_eq!(poll(&server, None).await.unwrap_err().class(), "body");
}
