//! The `feed` source against a loopback server serving the recorded feeds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::time::Duration;

use earful_collect::fetch::{FetchOptions, Fetcher};
use earful_collect::sources::{self, AnySource};
use earful_collect::{Collected, PollContext, SourceError};
use earful_core::MentionId;
use time::OffsetDateTime;
use util::{Reply, TestServer};

fn feed_source(url: &str) -> AnySource {
    sources::build(&util::source_config(&format!(
        "version = 1\n[[source]]\nname = \"blog\"\nkind = \"feed\"\nurl = \"{url}\"\n"
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

/// A context whose look-back reaches the recorded feeds (2020–2021).
fn context<'a>(cursor: Option<&'a serde_json::Value>) -> PollContext<'a> {
    PollContext {
        name: "blog",
        cursor,
        first_run_since: OffsetDateTime::from_unix_timestamp(1_000_000_000).unwrap(),
        now: OffsetDateTime::now_utc(),
        terms: &[],
    }
}

async fn poll_fixture(fixture: &str) -> (TestServer, Collected) {
    let server = TestServer::start().await;
    server.serve("/feed", Reply::fixture(fixture));
    let source = feed_source(server.url("/feed").as_str());
    let collected = source.poll(&mut fetcher(), &context(None)).await.unwrap();
    (server, collected)
}

#[tokio::test]
async fn rss2_maps_every_field() {
    let (server, collected) = poll_fixture("rss2.xml").await;
    assert_eq!(collected.mentions.len(), 2, "{:?}", collected.skipped);
    assert!(collected.skipped.is_empty());
    let first = &collected.mentions[0];
    let feed_url = server.url("/feed").to_string();
    let guid = "https://insanity.industries/post/pareto-optimal-compression/";
    assert_eq!(first.id, MentionId::feed_entry(&feed_url, guid).as_str());
    assert_eq!(first.source.as_deref(), Some("feed"));
    assert_eq!(first.feed.as_deref(), Some("blog"));
    assert_eq!(first.url.as_deref(), Some(guid));
    assert_eq!(first.title.as_deref(), Some("Pareto-optimal compression"));
    // The RSS `<author>` email quirk: the name in parentheses.
    assert_eq!(first.author.as_deref(), Some("Jonas Große Sundrup"));
    assert_eq!(first.lang.as_deref(), Some("en"));
    // Tue, 02 Mar 2021 23:39:15 +0100
    assert_eq!(first.published_at.unix_timestamp(), 1_614_724_755);
    assert!(!first.text.is_empty());
    assert!(first.collected_at.is_some());
    assert!(collected.cursor.is_some());
}

#[tokio::test]
async fn google_alerts_links_are_unwrapped_and_empty_authors_dropped() {
    let (_server, collected) = poll_fixture("google-alerts.xml").await;
    assert_eq!(collected.mentions.len(), 2);
    for mention in &collected.mentions {
        let url = mention.url.as_deref().unwrap();
        assert!(!url.contains("google.com/url"), "{url}");
        assert!(url.starts_with("http"), "{url}");
        assert_eq!(mention.author, None);
    }
    let title = collected.mentions[0].title.as_deref().unwrap();
    assert!(title.contains("Estación Umbría"), "{title}");
}

#[tokio::test]
async fn json_feed_entries_take_their_url() {
    let (_server, collected) = poll_fixture("jsonfeed.json").await;
    assert_eq!(collected.mentions.len(), 2);
    assert_eq!(
        collected.mentions[0].url.as_deref(),
        Some("https://daringfireball.net/linked/2020/01/24/bezos-iphone-x")
    );
}

#[tokio::test]
async fn iso_8859_1_feeds_keep_their_accents() {
    let (_server, collected) = poll_fixture("rss2-iso-8859-1.xml").await;
    assert!(!collected.mentions.is_empty());
    let titles: Vec<&str> = collected
        .mentions
        .iter()
        .filter_map(|mention| mention.title.as_deref())
        .collect();
    assert!(
        titles.iter().any(|title| title.contains("Revolução")),
        "{titles:?}"
    );
    assert_eq!(collected.mentions[0].lang.as_deref(), Some("pt"));
}

#[tokio::test]
async fn undated_entries_take_the_fetch_time() {
    let before = OffsetDateTime::now_utc() - time::Duration::seconds(5);
    let (_server, collected) = poll_fixture("rss2-nonstandard-date.xml").await;
    assert!(!collected.mentions.is_empty());
    for mention in &collected.mentions {
        assert!(mention.published_at >= before, "{}", mention.published_at);
        assert_eq!(mention.lang.as_deref(), Some("en"));
    }
}

#[tokio::test]
async fn a_second_poll_gets_304_and_adds_nothing() {
    let server = TestServer::start().await;
    server.serve("/feed", Reply::fixture("rss2.xml").with_etag("\"abc\""));
    let source = feed_source(server.url("/feed").as_str());
    let mut fetcher = fetcher();
    let first = source.poll(&mut fetcher, &context(None)).await.unwrap();
    assert_eq!(first.mentions.len(), 2);
    let cursor = first.cursor.unwrap();
    let second = source
        .poll(&mut fetcher, &context(Some(&cursor)))
        .await
        .unwrap();
    assert!(second.mentions.is_empty());
    assert_eq!(
        server.requests()[1].header("if-none-match"),
        Some("\"abc\"")
    );
    assert_eq!(server.requests()[1].status, 304);
}

#[tokio::test]
async fn entries_seen_last_time_are_not_handed_on_again() {
    // No validators at all: the cursor's keys still keep the second poll empty, even for
    // entries whose date is the fetch time.
    let server = TestServer::start().await;
    server.serve("/feed", Reply::fixture("rss2-nonstandard-date.xml"));
    let source = feed_source(server.url("/feed").as_str());
    let first = source.poll(&mut fetcher(), &context(None)).await.unwrap();
    assert!(!first.mentions.is_empty());
    let cursor = first.cursor.unwrap();
    let second = source
        .poll(&mut fetcher(), &context(Some(&cursor)))
        .await
        .unwrap();
    assert!(second.mentions.is_empty(), "{:?}", second.mentions);
}

#[tokio::test]
async fn an_entry_without_content_is_skipped_and_the_rest_kept() {
    let server = TestServer::start().await;
    let rss = r#"<?xml version="1.0"?>
<rss version="2.0"><channel><title>Acme news</title><link>https://acme.example/</link>
<item><title>Acme outage again</title><link>/posts/1</link><description>Down for &lt;b&gt;hours&lt;/b&gt;.</description><pubDate>Sun, 22 Nov 2026 10:15:00 GMT</pubDate></item>
<item><link>https://acme.example/posts/2</link></item>
<item><title>Acme ships</title><guid>post-3</guid><description>New release.</description></item>
</channel></rss>"#;
    server.serve("/feed", Reply::ok(rss));
    let source = feed_source(server.url("/feed").as_str());
    let collected = source.poll(&mut fetcher(), &context(None)).await.unwrap();
    assert_eq!(collected.mentions.len(), 2);
    assert_eq!(collected.skipped.len(), 1);
    assert!(
        collected.skipped[0].reason.contains("entry 2"),
        "{:?}",
        collected.skipped
    );
    // A relative link resolves against the feed's URL.
    assert_eq!(
        collected.mentions[0].url.as_deref(),
        Some(server.url("/posts/1").as_str())
    );
}

#[tokio::test]
async fn malformed_xml_is_a_parse_error_naming_the_feed() {
    let server = TestServer::start().await;
    server.serve("/feed", Reply::ok("<rss><channel><item><title>cut"));
    let source = feed_source(server.url("/feed").as_str());
    let error = source
        .poll(&mut fetcher(), &context(None))
        .await
        .unwrap_err();
    assert!(matches!(error, SourceError::Parse { .. }), "{error}");
    assert_eq!(error.class(), "parse");
    assert!(error.to_string().contains("/feed"), "{error}");
}

#[tokio::test]
async fn http_failures_fail_the_poll_with_their_class() {
    let server = TestServer::start().await;
    server.serve("/limited", Reply::status(429).header("retry-after", "60"));
    server.serve("/broken", Reply::status(500));
    server.serve(
        "/slow",
        Reply::fixture("rss2.xml").delayed(Duration::from_secs(30)),
    );
    server.serve("/cut", Reply::fixture("rss2.xml").truncated(200));
    for (path, class) in [
        ("/limited", "rate_limited"),
        ("/broken", "server"),
        ("/slow", "timeout"),
        ("/cut", "body"),
    ] {
        let source = feed_source(server.url(path).as_str());
        let error = source
            .poll(&mut fetcher(), &context(None))
            .await
            .unwrap_err();
        assert_eq!(error.class(), class, "{path}: {error}");
    }
    let source = feed_source(server.url("/limited").as_str());
    let error = source
        .poll(&mut fetcher(), &context(None))
        .await
        .unwrap_err();
    assert_eq!(error.retry_after(), Some(Duration::from_secs(60)));
}

#[tokio::test]
async fn a_first_run_only_looks_back_the_window() {
    let server = TestServer::start().await;
    server.serve("/feed", Reply::fixture("rss2.xml"));
    let source = feed_source(server.url("/feed").as_str());
    let recent = PollContext {
        first_run_since: OffsetDateTime::from_unix_timestamp(1_614_000_000).unwrap(),
        ..context(None)
    };
    let collected = source.poll(&mut fetcher(), &recent).await.unwrap();
    // Only the 2 March 2021 entry is newer than 22 February 2021.
    assert_eq!(collected.mentions.len(), 1);
}
