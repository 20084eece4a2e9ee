//! `lemmy` against the recorded v3 and v4 search responses.

use earful_collect::{HttpState, SourceError};
use time::macros::datetime;
use time::OffsetDateTime;

use super::util::{Reply, TestServer};
use super::{fixture_json, ids, json_reply, poll, source, terms};

const V3: &str = "/api/v3/search";
const V4: &str = "/api/v4/search";
const WINDOW: OffsetDateTime = datetime!(2026-06-01 0:00 UTC);
const POST: &str = "lemmy:https://test1.lemmy.ddenis.info/post/180";
const COMMENT: &str = "lemmy:https://test1.lemmy.ddenis.info/comment/501";

fn lemmy(server: &TestServer) -> earful_collect::sources::AnySource {
    source(
        "lemmy",
        "lemmy-test",
        &server.base_url(),
        serde_json::json!({}),
    )
}

/// Fifty posts newer than the recorded one: a full page.
fn full_page_of_posts() -> serde_json::Value {
    let mut body = fixture_json("lemmy.json");
    let template = body["posts"][0].clone();
    let posts: Vec<serde_json::Value> = (0..50)
        .map(|n| {
            let mut post = template.clone();
            post["post"]["ap_id"] =
                format!("https://test1.lemmy.ddenis.info/post/{}", 1000 - n).into();
            post["post"]["published"] = format!("2026-06-13T10:{:02}:00.000000Z", 59 - n).into();
            post
        })
        .collect();
    body["posts"] = serde_json::Value::Array(posts);
    body
}

#[tokio::test]
async fn v3_posts_and_comments_map_every_field() {
    let server = TestServer::start().await;
    server.serve(V3, Reply::fixture("lemmy.json"));
    let (result, _) = poll(
        &lemmy(&server),
        HttpState::default(),
        None,
        &terms("live"),
        WINDOW,
    )
    .await;
    let collected = result.unwrap();
    assert!(collected.skipped.is_empty(), "{:?}", collected.skipped);
    assert_eq!(ids(&collected), [POST, COMMENT]);
    let requests = server.requests_to(V3);
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].query_param("type_").as_deref(), Some("Posts"));
    assert_eq!(
        requests[1].query_param("type_").as_deref(),
        Some("Comments")
    );
    for request in &requests {
        assert_eq!(request.query_param("q").as_deref(), Some("live"));
        assert_eq!(request.query_param("sort").as_deref(), Some("New"));
        assert_eq!(request.query_param("listing_type").as_deref(), Some("All"));
        assert_eq!(request.query_param("page").as_deref(), Some("1"));
        assert_eq!(request.query_param("limit").as_deref(), Some("50"));
    }
    let post = &collected.mentions[0];
    assert_eq!(
        post.url.as_deref(),
        Some("https://test1.lemmy.ddenis.info/post/180")
    );
    assert_eq!(
        post.author.as_deref(),
        Some("seed_mod1@test1.lemmy.ddenis.info")
    );
    assert_eq!(post.title.as_deref(), Some("Live recording (thread 8)"));
    assert_eq!(
        post.text, "https://example.com/live",
        "a link post says its link"
    );
    assert_eq!(post.engagement, Some(1));
    assert_eq!(post.published_at, datetime!(2026-06-12 23:37:46.566375 UTC));
    let comment = &collected.mentions[1];
    assert_eq!(comment.text, "Great track, thanks for sharing!");
    assert_eq!(comment.title.as_deref(), Some("Live recording (thread 8)"));
    assert_eq!(comment.parent.as_deref(), Some(POST));
    assert_eq!(comment.engagement, Some(3));
    assert_eq!(comment.published_at, datetime!(2026-06-12 23:39:00 UTC));
}

#[tokio::test]
async fn a_full_page_leads_to_the_next_and_the_next_poll_stops_at_the_mark() {
    let server = TestServer::start().await;
    let recorded = Reply::fixture("lemmy.json");
    // Posts page 1 (full), posts page 2, comments page 1.
    server.serve_in_turn(
        V3,
        vec![
            json_reply(&full_page_of_posts()),
            recorded.clone(),
            recorded.clone(),
        ],
    );
    let source = lemmy(&server);
    let (first, _) = poll(&source, HttpState::default(), None, &terms("live"), WINDOW).await;
    let first = first.unwrap();
    assert_eq!(first.mentions.len(), 52);
    let pages: Vec<Option<String>> = server
        .requests_to(V3)
        .iter()
        .map(|request| request.query_param("page"))
        .collect();
    assert_eq!(
        pages,
        [Some("1".into()), Some("2".into()), Some("1".into())]
    );
    let cursor = first.cursor.unwrap();

    server.serve(V3, json_reply(&full_page_of_posts()));
    server.clear_requests();
    let (second, _) = poll(
        &source,
        HttpState::default(),
        Some(&cursor),
        &terms("live"),
        WINDOW,
    )
    .await;
    let second = second.unwrap();
    assert!(second.mentions.is_empty(), "{:?}", ids(&second));
    assert_eq!(
        server.requests().len(),
        2,
        "one page per type: the mark ends each walk"
    );
}

#[tokio::test]
async fn an_unchanged_search_answers_304_and_adds_nothing() {
    let server = TestServer::start().await;
    server.serve(V3, Reply::fixture("lemmy.json").with_etag("\"s1\""));
    let source = lemmy(&server);
    let (first, fetcher) = poll(&source, HttpState::default(), None, &terms("live"), WINDOW).await;
    let first = first.unwrap();
    let (state, _) = fetcher.finish();
    let (second, fetcher) = poll(
        &source,
        state,
        first.cursor.as_ref(),
        &terms("live"),
        WINDOW,
    )
    .await;
    let second = second.unwrap();
    assert!(second.mentions.is_empty());
    assert_eq!(fetcher.signals().not_modified, 2);
    assert_eq!(second.cursor, first.cursor);
}

#[tokio::test]
async fn an_instance_without_v3_is_read_through_v4() {
    let server = TestServer::start().await;
    server.serve(V3, Reply::status(404));
    let last = json_reply(&serde_json::json!({"posts": [], "comments": [], "next_page": null}));
    server.serve_in_turn(
        V4,
        vec![
            Reply::fixture("lemmy-v4.json"),
            last.clone(),
            Reply::fixture("lemmy-v4.json"),
            last,
        ],
    );
    let (result, _) = poll(
        &lemmy(&server),
        HttpState::default(),
        None,
        &terms("live"),
        WINDOW,
    )
    .await;
    let collected = result.unwrap();
    assert_eq!(ids(&collected), [POST, COMMENT]);
    assert_eq!(collected.mentions[0].engagement, Some(1));
    assert_eq!(collected.mentions[1].engagement, Some(3));
    assert_eq!(
        server.requests_to(V3).len(),
        1,
        "v3 is tried once, then v4 for good"
    );
    let v4 = server.requests_to(V4);
    assert_eq!(v4.len(), 4);
    assert_eq!(v4[0].query_param("search_term").as_deref(), Some("live"));
    assert_eq!(v4[0].query_param("type_").as_deref(), Some("posts"));
    assert_eq!(v4[0].query_param("page_cursor"), None);
    assert_eq!(
        v4[1].query_param("page_cursor").as_deref(),
        Some("Pc20"),
        "next_page pages"
    );
    assert_eq!(v4[2].query_param("type_").as_deref(), Some("comments"));
}

#[tokio::test]
async fn a_post_with_missing_fields_is_skipped_and_a_throttle_is_an_error() {
    let server = TestServer::start().await;
    let mut body = fixture_json("lemmy.json");
    let mut broken = body["posts"][0].clone();
    broken["post"].as_object_mut().unwrap().remove("published");
    body["posts"].as_array_mut().unwrap().push(broken);
    server.serve(V3, json_reply(&body));
    let source = lemmy(&server);
    let (result, _) = poll(&source, HttpState::default(), None, &terms("live"), WINDOW).await;
    let collected = result.unwrap();
    assert_eq!(ids(&collected), [POST, COMMENT]);
    assert_eq!(collected.skipped.len(), 1);
    assert!(
        collected.skipped[0].reason.contains("published"),
        "{:?}",
        collected.skipped
    );

    server.serve(
        V3,
        json_reply(&serde_json::json!({"error": "rate_limit_error"})),
    );
    let (result, _) = poll(&source, HttpState::default(), None, &terms("live"), WINDOW).await;
    match result {
        Err(SourceError::Remote { problem, .. }) => assert_eq!(problem, "rate_limit_error"),
        other => panic!("expected a remote error, got {other:?}"),
    }
}
