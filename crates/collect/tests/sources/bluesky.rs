//! `bluesky` against the recorded `searchPosts` response, with a real login exchange.

use earful_collect::HttpState;
use time::macros::datetime;
use time::OffsetDateTime;

use super::failures::serve_logins;
use super::util::{Reply, TestServer};
use super::{fixture_json, ids, json_reply, poll, source, terms};

const SEARCH: &str = "/xrpc/app.bsky.feed.searchPosts";
const LOGIN: &str = "/xrpc/com.atproto.server.createSession";
const WINDOW: OffsetDateTime = datetime!(2025-03-01 0:00 UTC);

fn bluesky(server: &TestServer) -> earful_collect::sources::AnySource {
    source(
        "bluesky",
        "bsky-acme",
        &server.base_url(),
        serde_json::json!({"identifier": "earful.test", "app_password": "app-pw-1"}),
    )
}

fn last_page() -> Reply {
    json_reply(&serde_json::json!({"posts": []}))
}

#[tokio::test]
async fn a_session_then_posts_mapped_and_paged_by_cursor() {
    let server = TestServer::start().await;
    serve_logins(&server);
    server.serve_in_turn(SEARCH, vec![Reply::fixture("bluesky.json"), last_page()]);
    let source = bluesky(&server);
    let (result, _) = poll(
        &source,
        HttpState::default(),
        None,
        &terms("hceres"),
        WINDOW,
    )
    .await;
    let collected = result.unwrap();
    assert!(collected.skipped.is_empty(), "{:?}", collected.skipped);
    assert_eq!(
        ids(&collected),
        [
            "bluesky:at://did:plc:fpruhuo22xkm5o7ttr2ktxdo/app.bsky.feed.post/3ll4whwghy22y",
            "bluesky:at://did:plc:fhv65kba5do4hgyf7yq4dtyo/app.bsky.feed.post/3lkhaibfxv22b",
            "bluesky:at://did:plc:2tcpwnpvacttgambthndvcas/app.bsky.feed.post/3lkd73d7zlj2w",
        ]
    );

    let login = server.requests_to(LOGIN);
    assert_eq!(login.len(), 1);
    assert_eq!(login[0].method, "POST");
    let sent: serde_json::Value = serde_json::from_slice(&login[0].body).unwrap();
    assert_eq!(
        sent,
        serde_json::json!({"identifier": "earful.test", "password": "app-pw-1"})
    );
    let searches = server.requests_to(SEARCH);
    assert_eq!(searches.len(), 2);
    assert_eq!(
        searches[0].header("authorization"),
        Some("Bearer header.eyJleHAiOjQxMDI0NDQ4MDB9.sig")
    );
    assert_eq!(searches[0].query_param("q").as_deref(), Some("hceres"));
    assert_eq!(searches[0].query_param("sort").as_deref(), Some("latest"));
    assert_eq!(
        searches[0].query_param("since").as_deref(),
        Some("2025-03-01T00:00:00Z")
    );
    assert_eq!(searches[0].query_param("limit").as_deref(), Some("100"));
    assert_eq!(searches[0].query_param("cursor"), None);
    assert_eq!(searches[1].query_param("cursor").as_deref(), Some("25"));

    let dan = &collected.mentions[0];
    assert_eq!(dan.source.as_deref(), Some("bluesky"));
    assert_eq!(
        dan.url.as_deref(),
        Some("https://bsky.app/profile/danabra.mov/post/3ll4whwghy22y")
    );
    assert_eq!(dan.author.as_deref(), Some("danabra.mov"));
    assert_eq!(dan.text, "but its only me and i walk a lawn");
    assert_eq!(dan.lang.as_deref(), Some("en"));
    assert_eq!(dan.engagement, Some(43), "likes + reposts");
    assert_eq!(dan.published_at, datetime!(2025-03-24 14:06:20.249 UTC));
    assert_eq!(dan.parent, None);
    let reply = &collected.mentions[1];
    assert_eq!(reply.lang.as_deref(), Some("fr"));
    assert_eq!(
        reply.parent.as_deref(),
        Some("bluesky:at://did:plc:7g4ic3vzf6ts42dmpy5usg4l/app.bsky.feed.post/3lkgnjzh6ec2g")
    );
    assert_eq!(collected.mentions[2].lang, None, "no `langs`");
}

#[tokio::test]
async fn the_session_is_kept_and_the_next_poll_hands_on_nothing_twice() {
    let server = TestServer::start().await;
    serve_logins(&server);
    server.serve(SEARCH, Reply::fixture("bluesky.json"));
    let source = bluesky(&server);
    let (first, _) = poll(
        &source,
        HttpState::default(),
        None,
        &terms("hceres"),
        WINDOW,
    )
    .await;
    let first = first.unwrap();
    assert_eq!(first.mentions.len(), 3);
    let cursor = first.cursor.unwrap();
    assert_eq!(cursor["terms"]["hceres"]["at"], "2025-03-24T14:06:20.249Z");

    server.clear_requests();
    let (second, _) = poll(
        &source,
        HttpState::default(),
        Some(&cursor),
        &terms("hceres"),
        WINDOW,
    )
    .await;
    assert!(second.unwrap().mentions.is_empty());
    assert!(
        server.requests_to(LOGIN).is_empty(),
        "the session is reused"
    );
    let searches = server.requests_to(SEARCH);
    assert_eq!(
        searches.len(),
        1,
        "the first post at the mark ends the walk"
    );
    assert_eq!(
        searches[0].query_param("since").as_deref(),
        Some("2025-03-24T14:06:20.249Z")
    );
}

#[tokio::test]
async fn a_refused_session_is_renewed_once() {
    let server = TestServer::start().await;
    serve_logins(&server);
    server.serve(SEARCH, last_page());
    let source = bluesky(&server);
    let (first, _) = poll(
        &source,
        HttpState::default(),
        None,
        &terms("hceres"),
        WINDOW,
    )
    .await;
    first.unwrap();
    server.serve_in_turn(
        SEARCH,
        vec![
            Reply::status(401),
            Reply::fixture("bluesky.json"),
            last_page(),
        ],
    );
    let (second, _) = poll(
        &source,
        HttpState::default(),
        None,
        &terms("hceres"),
        WINDOW,
    )
    .await;
    assert_eq!(second.unwrap().mentions.len(), 3);
    assert_eq!(server.requests_to(LOGIN).len(), 2);

    // A login that is refused is an error naming the login, not the password.
    server.serve(LOGIN, Reply::status(401));
    server.serve(SEARCH, Reply::status(401));
    let (third, _) = poll(
        &source,
        HttpState::default(),
        None,
        &terms("hceres"),
        WINDOW,
    )
    .await;
    let shown = third.unwrap_err().to_string();
    assert!(
        shown.contains("createSession") && !shown.contains("app-pw-1"),
        "{shown}"
    );
}

#[tokio::test]
async fn only_a_token_error_renews_the_session() {
    let server = TestServer::start().await;
    serve_logins(&server);
    server.serve(SEARCH, last_page());
    let source = bluesky(&server);
    let (first, _) = poll(
        &source,
        HttpState::default(),
        None,
        &terms("hceres"),
        WINDOW,
    )
    .await;
    first.unwrap();
    assert_eq!(server.requests_to(LOGIN).len(), 1);

    // A 400 about the request itself: a new session would be refused the same way.
    server.serve(
        SEARCH,
        json_reply(&serde_json::json!({
            "error": "InvalidRequest", "message": "Error: limit must be <= 100"
        }))
        .with_status(400),
    );
    let (second, _) = poll(
        &source,
        HttpState::default(),
        None,
        &terms("hceres"),
        WINDOW,
    )
    .await;
    let error = second.unwrap_err();
    assert_eq!(error.class(), "client");
    assert!(!error.to_string().contains("app-pw-1"), "{error}");
    assert_eq!(server.requests_to(LOGIN).len(), 1, "no second login");
    assert_eq!(server.requests_to(SEARCH).len(), 2, "no retried search");

    // The PDS says the token expired with a 400 too.
    server.serve_in_turn(
        SEARCH,
        vec![
            json_reply(&serde_json::json!({
                "error": "ExpiredToken", "message": "Token has expired"
            }))
            .with_status(400),
            Reply::fixture("bluesky.json"),
            last_page(),
        ],
    );
    let (third, _) = poll(
        &source,
        HttpState::default(),
        None,
        &terms("hceres"),
        WINDOW,
    )
    .await;
    assert_eq!(third.unwrap().mentions.len(), 3);
    assert_eq!(server.requests_to(LOGIN).len(), 2, "one login to renew it");
}

#[tokio::test]
async fn a_post_with_missing_fields_is_skipped_and_the_rest_kept() {
    let server = TestServer::start().await;
    serve_logins(&server);
    let mut body = fixture_json("bluesky.json");
    body["posts"][1]["record"]
        .as_object_mut()
        .unwrap()
        .remove("createdAt");
    body["posts"][2]["uri"] = "not-an-at-uri".into();
    body.as_object_mut().unwrap().remove("cursor");
    server.serve(SEARCH, json_reply(&body));
    let (result, _) = poll(
        &bluesky(&server),
        HttpState::default(),
        None,
        &terms("hceres"),
        WINDOW,
    )
    .await;
    let collected = result.unwrap();
    assert_eq!(collected.mentions.len(), 1);
    let reasons: Vec<&str> = collected
        .skipped
        .iter()
        .map(|skip| skip.reason.as_str())
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons[0].contains("createdAt") && reasons[0].contains("3lkhaibfxv22b"),
        "{reasons:?}"
    );
    assert!(reasons[1].contains("uri"), "{reasons:?}");
}
