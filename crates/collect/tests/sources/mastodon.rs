//! `mastodon` against the recorded `rstats` tag timeline.

use earful_collect::HttpState;
use time::macros::datetime;
use time::OffsetDateTime;

use super::util::{Reply, TestServer};
use super::{fixture_json, ids, json_reply, poll, source};

const PATH: &str = "/api/v1/timelines/tag/rstats";
const NEWEST: &str = "114870142396314555";
const OLDEST: &str = "114869598531117045";
const WINDOW: OffsetDateTime = datetime!(2025-07-16 0:00 UTC);

fn mastodon(server: &TestServer) -> earful_collect::sources::AnySource {
    source(
        "mastodon",
        "rstats-social",
        &server.base_url(),
        serde_json::json!({"hashtags": ["#rstats"]}),
    )
}

/// A status made from the first recorded one, with its own ids and time.
fn status(local_id: &str, created_at: &str) -> serde_json::Value {
    let mut status = fixture_json("mastodon.json")[0].clone();
    status["id"] = local_id.into();
    status["uri"] = format!("https://example.social/users/a/statuses/{local_id}").into();
    status["url"] = format!("https://example.social/@a/{local_id}").into();
    status["created_at"] = created_at.into();
    status
}

/// The recorded page with its recorded headers, its links pointing at the test server.
fn recorded_page(server: &TestServer) -> Reply {
    let base = server.url(PATH);
    Reply::fixture("mastodon.json")
        .header(
            "link",
            &format!(
                "<{base}?limit=40&max_id={OLDEST}>; rel=\"next\", <{base}?limit=40&min_id={NEWEST}>; rel=\"prev\""
            ),
        )
        .header("x-ratelimit-limit", "300")
        .header("x-ratelimit-remaining", "299")
        .header("x-ratelimit-reset", "2025-07-17T20:05:00.290188Z")
        .header("cache-control", "max-age=15, public, stale-while-revalidate=30, stale-if-error=86400")
}

#[tokio::test]
async fn a_first_poll_maps_every_field_and_walks_back_to_the_window() {
    let server = TestServer::start().await;
    let older = serde_json::json!([
        status("114869000000000001", "2025-07-10T08:00:00.000Z"),
        status("114869000000000002", "2025-07-16T12:00:00.000Z"),
    ]);
    server.serve_in_turn(PATH, vec![recorded_page(&server), json_reply(&older)]);
    let source = mastodon(&server);
    let (result, _) = poll(&source, HttpState::default(), None, &[], WINDOW).await;
    let collected = result.unwrap();
    assert!(collected.skipped.is_empty(), "{:?}", collected.skipped);
    // The in-window status of the older page is kept, the one before the window is not.
    assert_eq!(
        ids(&collected),
        [
            "mastodon:https://hachyderm.io/users/zkamvar/statuses/114869598497920330",
            "mastodon:https://mastodon.social/users/useR_conf/statuses/114869631572884594",
            "mastodon:https://rstats.me/users/simonpcouch/statuses/114870142137562212",
            "mastodon:https://example.social/users/a/statuses/114869000000000002",
        ]
    );
    let requests = server.requests_to(PATH);
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].query_param("limit").as_deref(), Some("40"));
    assert_eq!(requests[0].query_param("max_id"), None);
    assert_eq!(requests[1].query_param("max_id").as_deref(), Some(OLDEST));

    let simon = &collected.mentions[2];
    assert_eq!(simon.source.as_deref(), Some("mastodon"));
    assert_eq!(simon.feed.as_deref(), Some("under-test"));
    assert_eq!(
        simon.url.as_deref(),
        Some("https://rstats.me/@simonpcouch/114870142137562212")
    );
    assert_eq!(simon.author.as_deref(), Some("simonpcouch@rstats.me"));
    assert_eq!(simon.author_reach, Some(656));
    assert_eq!(simon.engagement, Some(0));
    assert_eq!(simon.lang.as_deref(), Some("en"));
    assert_eq!(simon.title, None);
    assert_eq!(simon.published_at, datetime!(2025-07-17 19:07:48 UTC));
    assert!(simon.text.starts_with("<p>After a month"), "{}", simon.text);
    let conference = &collected.mentions[1];
    assert_eq!(conference.engagement, Some(6), "favourites + reblogs");
    assert_eq!(conference.author_reach, Some(722));

    let cursor = collected.cursor.unwrap();
    assert_eq!(cursor["min_ids"]["rstats"], NEWEST);
}

#[tokio::test]
async fn later_polls_page_up_from_min_id_without_duplicates() {
    let server = TestServer::start().await;
    server.serve(PATH, recorded_page(&server));
    let source = mastodon(&server);
    let (first, _) = poll(&source, HttpState::default(), None, &[], WINDOW).await;
    let first = first.unwrap();
    assert_eq!(first.mentions.len(), 3);

    // Two newer statuses, served out of order, then the empty page that ends the walk.
    let newer = serde_json::json!([
        status("114870142396314999", "2025-07-17T21:00:00.000Z"),
        status("114870142396314600", "2025-07-17T20:30:00.000Z"),
    ]);
    server.serve_in_turn(
        PATH,
        vec![json_reply(&newer), json_reply(&serde_json::json!([]))],
    );
    server.clear_requests();
    let (second, _) = poll(
        &source,
        HttpState::default(),
        first.cursor.as_ref(),
        &[],
        WINDOW,
    )
    .await;
    let second = second.unwrap();
    assert_eq!(
        ids(&second),
        [
            "mastodon:https://example.social/users/a/statuses/114870142396314600",
            "mastodon:https://example.social/users/a/statuses/114870142396314999",
        ]
    );
    let requests = server.requests_to(PATH);
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].query_param("min_id").as_deref(), Some(NEWEST));
    assert_eq!(
        requests[1].query_param("min_id").as_deref(),
        Some("114870142396314999"),
        "the next min_id is the largest id, compared as a number"
    );
    let cursor = second.cursor.unwrap();
    assert_eq!(cursor["min_ids"]["rstats"], "114870142396314999");

    // Nothing newer: nothing collected, the cursor stays.
    let (third, _) = poll(&source, HttpState::default(), Some(&cursor), &[], WINDOW).await;
    let third = third.unwrap();
    assert!(third.mentions.is_empty());
    assert_eq!(
        third.cursor.unwrap()["min_ids"]["rstats"],
        "114870142396314999"
    );
}

#[tokio::test]
async fn an_unchanged_timeline_answers_304_and_adds_nothing() {
    let server = TestServer::start().await;
    server.serve(
        PATH,
        json_reply(&serde_json::json!([])).with_etag("W/\"7a76abe33ad1eba2ed3e60d08342bbd8\""),
    );
    let source = mastodon(&server);
    let cursor = serde_json::json!({"version": 1, "min_ids": {"rstats": NEWEST}});
    let (first, fetcher) = poll(&source, HttpState::default(), Some(&cursor), &[], WINDOW).await;
    assert!(first.unwrap().mentions.is_empty());
    let (state, _) = fetcher.finish();
    let (second, fetcher) = poll(&source, state, Some(&cursor), &[], WINDOW).await;
    let second = second.unwrap();
    assert!(second.mentions.is_empty());
    assert_eq!(fetcher.signals().not_modified, 1);
    let requests = server.requests_to(PATH);
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[1].header("if-none-match"),
        Some("W/\"7a76abe33ad1eba2ed3e60d08342bbd8\"")
    );
    assert_eq!(requests[1].status, 304);
}

#[tokio::test]
async fn the_same_post_on_two_instances_is_one_mention() {
    let server = TestServer::start().await;
    let mut other_instance = fixture_json("mastodon.json");
    for (offset, status) in other_instance
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .enumerate()
    {
        status["id"] = format!("11000000000000000{offset}").into();
    }
    server.serve(
        "/one/api/v1/timelines/tag/rstats",
        Reply::fixture("mastodon.json"),
    );
    server.serve(
        "/two/api/v1/timelines/tag/rstats",
        json_reply(&other_instance),
    );
    let mut seen = Vec::new();
    for instance in ["one", "two"] {
        let source = source(
            "mastodon",
            instance,
            &format!("{}/{instance}", server.base_url()),
            serde_json::json!({"hashtags": ["rstats"]}),
        );
        let (result, _) = poll(&source, HttpState::default(), None, &[], WINDOW).await;
        let mut found = ids(&result.unwrap());
        found.sort();
        seen.push(found);
    }
    assert_eq!(seen[0].len(), 3);
    assert_eq!(seen[0], seen[1]);
}

#[tokio::test]
async fn a_status_with_missing_fields_is_skipped_and_the_rest_kept() {
    let server = TestServer::start().await;
    let mut statuses = fixture_json("mastodon.json");
    statuses[1].as_object_mut().unwrap().remove("account");
    statuses[2]["created_at"] = "last tuesday".into();
    server.serve(PATH, json_reply(&statuses));
    let source = mastodon(&server);
    let (result, _) = poll(&source, HttpState::default(), None, &[], WINDOW).await;
    let collected = result.unwrap();
    assert_eq!(collected.mentions.len(), 1);
    assert_eq!(collected.skipped.len(), 2, "{:?}", collected.skipped);
    let reasons: Vec<&str> = collected
        .skipped
        .iter()
        .map(|s| s.reason.as_str())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("`account`") && r.contains("useR_conf")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("`created_at`") && r.contains("zkamvar")),
        "{reasons:?}"
    );
    // Paging still moves past the skipped statuses.
    assert_eq!(collected.cursor.unwrap()["min_ids"]["rstats"], NEWEST);
}
