//! `appstore` against the recorded customer-review feed (Instagram, `us`).

use earful_collect::{HttpState, SourceError};
use time::macros::datetime;
use time::OffsetDateTime;

use super::util::{Reply, TestServer};
use super::{fixture_json, ids, json_reply, poll, source};

const WINDOW: OffsetDateTime = datetime!(2026-01-01 0:00 UTC);

fn page_path(page: u32) -> String {
    format!("/us/rss/customerreviews/page={page}/id=389801252/sortby=mostrecent/json")
}

fn appstore(server: &TestServer) -> earful_collect::sources::AnySource {
    source(
        "appstore",
        "insta-us",
        &server.base_url(),
        serde_json::json!({"app_id": "389801252", "country": "US"}),
    )
}

/// A review made from the first recorded one, with its own id and time.
fn review(id: u64, updated: &str) -> serde_json::Value {
    let mut entry = fixture_json("appstore.json")["feed"]["entry"][0].clone();
    entry["id"]["label"] = id.to_string().into();
    entry["updated"]["label"] = updated.into();
    entry
}

fn feed(entries: Vec<serde_json::Value>) -> serde_json::Value {
    let mut feed = fixture_json("appstore.json");
    feed["feed"]["entry"] = serde_json::Value::Array(entries);
    feed
}

/// A full first page of 50 reviews newer than the recorded ones (one a minute from 08:00).
fn full_page() -> Vec<serde_json::Value> {
    (0..50)
        .map(|minute| {
            review(
                20_000_000_000 - minute,
                &format!("2026-05-29T08:{:02}:00-07:00", 59 - minute),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_recorded_page_maps_every_field() {
    let server = TestServer::start().await;
    server.serve(&page_path(1), Reply::fixture("appstore.json"));
    let (result, _) = poll(&appstore(&server), HttpState::default(), None, &[], WINDOW).await;
    let collected = result.unwrap();
    assert!(collected.skipped.is_empty(), "{:?}", collected.skipped);
    assert_eq!(
        ids(&collected),
        [
            "appstore:14115629180",
            "appstore:14115585288",
            "appstore:14115564793"
        ]
    );
    let first = &collected.mentions[0];
    assert_eq!(first.source.as_deref(), Some("appstore"));
    assert_eq!(first.feed.as_deref(), Some("under-test"));
    assert_eq!(first.rating, Some(4));
    assert_eq!(first.author.as_deref(), Some("SuoQin16"));
    assert_eq!(first.title.as_deref(), Some("I really need to edit music"));
    assert!(
        first.text.starts_with("I don’t get why the music"),
        "{}",
        first.text
    );
    assert_eq!(
        first.url.as_deref(),
        Some("https://apps.apple.com/us/app/id389801252")
    );
    assert_eq!(first.published_at, datetime!(2026-05-28 13:25:43 UTC));
    assert_eq!(first.engagement, Some(0));
    assert_eq!(first.lang, None, "a storefront is not a language");
    assert_eq!(collected.mentions[2].rating, Some(1));
    // A short page is the last one.
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn pages_run_until_a_short_page_and_the_next_poll_stops_at_the_mark() {
    let server = TestServer::start().await;
    server.serve(&page_path(1), json_reply(&feed(full_page())));
    server.serve(&page_path(2), Reply::fixture("appstore.json"));
    let source = appstore(&server);
    let (first, _) = poll(&source, HttpState::default(), None, &[], WINDOW).await;
    let first = first.unwrap();
    assert_eq!(first.mentions.len(), 53);
    assert_eq!(server.requests().len(), 2);
    let cursor = first.cursor.unwrap();
    assert_eq!(cursor["high_water"]["at"], "2026-05-29T15:59:00Z");

    // One new review on top; the rest of page 1 was handed on before.
    let mut entries = full_page();
    entries.insert(0, review(20_000_000_001, "2026-05-29T09:30:00-07:00"));
    entries.truncate(50);
    server.serve(&page_path(1), json_reply(&feed(entries)));
    server.clear_requests();
    let (second, _) = poll(&source, HttpState::default(), Some(&cursor), &[], WINDOW).await;
    let second = second.unwrap();
    assert_eq!(ids(&second), ["appstore:20000000001"]);
    assert_eq!(
        server.requests().len(),
        1,
        "the mark ends the walk on page 1"
    );
    assert_eq!(
        second.cursor.unwrap()["high_water"]["at"],
        "2026-05-29T16:30:00Z"
    );
}

#[tokio::test]
async fn an_unchanged_first_page_answers_304_and_adds_nothing() {
    let server = TestServer::start().await;
    server.serve(
        &page_path(1),
        Reply::fixture("appstore.json").with_etag("\"reviews-1\""),
    );
    let source = appstore(&server);
    let (first, fetcher) = poll(&source, HttpState::default(), None, &[], WINDOW).await;
    let first = first.unwrap();
    assert_eq!(first.mentions.len(), 3);
    let (state, _) = fetcher.finish();
    let (second, fetcher) = poll(&source, state, first.cursor.as_ref(), &[], WINDOW).await;
    let second = second.unwrap();
    assert!(second.mentions.is_empty());
    assert_eq!(second.cursor, first.cursor);
    assert_eq!(fetcher.signals().not_modified, 1);
    assert_eq!(server.requests()[1].status, 304);
}

#[tokio::test]
async fn the_app_entry_is_passed_over_and_a_bad_review_is_skipped() {
    let server = TestServer::start().await;
    let mut entries = fixture_json("appstore.json")["feed"]["entry"]
        .as_array()
        .unwrap()
        .clone();
    // Older feeds open with the app itself: no rating, not a review.
    entries.insert(
        0,
        serde_json::json!({"im:name": {"label": "Instagram"}, "id": {"label": "https://apps.apple.com/us/app/id389801252"}}),
    );
    entries[2]["im:rating"]["label"] = "7".into();
    entries[3].as_object_mut().unwrap().remove("content");
    server.serve(&page_path(1), json_reply(&feed(entries)));
    let (result, _) = poll(&appstore(&server), HttpState::default(), None, &[], WINDOW).await;
    let collected = result.unwrap();
    assert_eq!(ids(&collected), ["appstore:14115629180"]);
    let reasons: Vec<&str> = collected
        .skipped
        .iter()
        .map(|skip| skip.reason.as_str())
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons[0].contains("14115585288") && reasons[0].contains("im:rating"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].contains("14115564793") && reasons[1].contains("content"),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn a_feed_without_entries_is_a_suspect_setting_not_silence() {
    let server = TestServer::start().await;
    let mut empty = fixture_json("appstore.json");
    empty["feed"].as_object_mut().unwrap().remove("entry");
    server.serve(&page_path(1), json_reply(&empty));
    let (result, _) = poll(&appstore(&server), HttpState::default(), None, &[], WINDOW).await;
    match result {
        Err(SourceError::Remote { problem, .. }) => {
            assert!(
                problem.contains("389801252") && problem.contains("country"),
                "{problem}"
            )
        }
        other => panic!("expected a remote error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_single_review_comes_as_an_object() {
    let server = TestServer::start().await;
    let mut single = fixture_json("appstore.json");
    single["feed"]["entry"] = single["feed"]["entry"][1].clone();
    server.serve(&page_path(1), json_reply(&single));
    let (result, _) = poll(&appstore(&server), HttpState::default(), None, &[], WINDOW).await;
    assert_eq!(ids(&result.unwrap()), ["appstore:14115585288"]);
}

#[tokio::test]
async fn a_first_run_reaches_back_only_to_the_window() {
    let server = TestServer::start().await;
    server.serve(&page_path(1), json_reply(&feed(full_page())));
    server.serve(&page_path(2), Reply::fixture("appstore.json"));
    // The window opens between the first page (2026-05-29) and the recorded reviews (05-28).
    let window = datetime!(2026-05-29 0:00 UTC);
    let (result, _) = poll(&appstore(&server), HttpState::default(), None, &[], window).await;
    assert_eq!(result.unwrap().mentions.len(), 50);
}
