//! `reddit` against the recorded Listings, with a real client-credentials exchange.

use earful_collect::{FetchErrorClass, HttpState, SourceError};
use time::macros::datetime;
use time::OffsetDateTime;

use super::failures::serve_logins;
use super::util::{Reply, TestServer};
use super::{fixture_json, ids, json_reply, poll, source, terms};

const SEARCH: &str = "/search";
const TOKEN: &str = "/api/v1/access_token";
const WINDOW: OffsetDateTime = datetime!(2016-01-01 0:00 UTC);
const AGENT: &str = "linux:com.acme.earful:v0.1.0 (by /u/acme_ops)";

fn reddit(server: &TestServer) -> earful_collect::sources::AnySource {
    source(
        "reddit",
        "reddit-acme",
        &server.base_url(),
        serde_json::json!({"client_id": "client", "client_secret": "s3cret", "user_agent": AGENT}),
    )
}

fn comments_last_page() -> serde_json::Value {
    let mut body = fixture_json("reddit-comments.json");
    body["data"]["after"] = serde_json::Value::Null;
    body
}

#[tokio::test]
async fn a_token_then_posts_and_comments_paged_by_after() {
    let server = TestServer::start().await;
    serve_logins(&server);
    server.serve_in_turn(
        SEARCH,
        vec![
            Reply::fixture("reddit.json"),
            json_reply(&comments_last_page()),
        ],
    );
    let (result, _) = poll(
        &reddit(&server),
        HttpState::default(),
        None,
        &terms("ram"),
        WINDOW,
    )
    .await;
    let collected = result.unwrap();
    assert!(collected.skipped.is_empty(), "{:?}", collected.skipped);
    assert_eq!(
        ids(&collected),
        [
            "reddit:t3_15ac365",
            "reddit:t3_150ny9q",
            "reddit:t3_1518iy6",
            "reddit:t1_d8v8e1i",
            "reddit:t1_d85iobu",
        ]
    );

    let token = server.requests_to(TOKEN);
    assert_eq!(token.len(), 1);
    assert_eq!(token[0].method, "POST");
    // base64("client:s3cret")
    assert_eq!(
        token[0].header("authorization"),
        Some("Basic Y2xpZW50OnMzY3JldA==")
    );
    assert_eq!(
        String::from_utf8_lossy(&token[0].body),
        "grant_type=client_credentials"
    );
    assert_eq!(token[0].header("user-agent"), Some(AGENT));
    let searches = server.requests_to(SEARCH);
    assert_eq!(searches.len(), 2);
    for search in &searches {
        assert_eq!(search.header("authorization"), Some("bearer token-1"));
        assert_eq!(search.header("user-agent"), Some(AGENT));
        assert_eq!(search.query_param("q").as_deref(), Some("ram"));
        assert_eq!(search.query_param("sort").as_deref(), Some("new"));
        assert_eq!(search.query_param("limit").as_deref(), Some("100"));
        assert_eq!(search.query_param("raw_json").as_deref(), Some("1"));
    }
    assert_eq!(searches[0].query_param("after"), None);
    assert_eq!(
        searches[1].query_param("after").as_deref(),
        Some("t3_1518iy6")
    );

    let post = &collected.mentions[2];
    assert_eq!(post.source.as_deref(), Some("reddit"));
    assert_eq!(
        post.url.as_deref(),
        Some("https://www.reddit.com/r/NoStupidQuestions/comments/1518iy6/an_ad_popped_up_in_my_dream_should_i_be_worried/")
    );
    assert_eq!(post.author.as_deref(), Some("tinaonfredyemail"));
    assert_eq!(post.author_reach, Some(3_687_829));
    assert_eq!(post.engagement, Some(5177));
    assert_eq!(
        post.title.as_deref(),
        Some("An ad popped up in my dream, should i be worried")
    );
    assert!(
        post.text.starts_with("Basically what the title says."),
        "{}",
        post.text
    );
    assert_eq!(
        post.published_at,
        OffsetDateTime::from_unix_timestamp(1_689_519_834).unwrap()
    );
    let comment = &collected.mentions[4];
    assert_eq!(comment.parent.as_deref(), Some("reddit:t3_54v7vq"));
    assert_eq!(
        comment.url.as_deref(),
        Some("https://www.reddit.com/r/buildapcsales/comments/54v7vq/_/d85iobu/")
    );
    assert!(comment
        .title
        .as_deref()
        .unwrap_or_default()
        .starts_with("[RAM] 16GB"));
}

#[tokio::test]
async fn the_token_is_kept_and_the_next_poll_stops_at_the_mark() {
    let server = TestServer::start().await;
    serve_logins(&server);
    let mut only_posts = fixture_json("reddit.json");
    only_posts["data"]["after"] = serde_json::Value::Null;
    server.serve(SEARCH, json_reply(&only_posts));
    let source = reddit(&server);
    let (first, _) = poll(&source, HttpState::default(), None, &terms("ram"), WINDOW).await;
    let first = first.unwrap();
    assert_eq!(first.mentions.len(), 3);
    let cursor = first.cursor.unwrap();

    // One new post on top of the same listing.
    let mut newer = fixture_json("reddit.json");
    let mut fresh = newer["data"]["children"][0].clone();
    fresh["data"]["name"] = "t3_200aaaa".into();
    fresh["data"]["created_utc"] = 1_700_000_000.0.into();
    newer["data"]["children"]
        .as_array_mut()
        .unwrap()
        .insert(0, fresh);
    server.serve(SEARCH, json_reply(&newer));
    server.clear_requests();
    let (second, _) = poll(
        &source,
        HttpState::default(),
        Some(&cursor),
        &terms("ram"),
        WINDOW,
    )
    .await;
    assert_eq!(ids(&second.unwrap()), ["reddit:t3_200aaaa"]);
    assert!(server.requests_to(TOKEN).is_empty(), "the token is reused");
    assert_eq!(
        server.requests_to(SEARCH).len(),
        1,
        "the mark ends the walk before `after`"
    );
}

#[tokio::test]
async fn a_blocked_page_is_an_error_not_a_crash() {
    let server = TestServer::start().await;
    serve_logins(&server);
    server.serve(
        SEARCH,
        Reply::ok(
            b"<html><body>whoa there, pardner! Your request has been blocked</body></html>"
                .to_vec(),
        )
        .header("content-type", "text/html")
        .with_status(403),
    );
    let (result, _) = poll(
        &reddit(&server),
        HttpState::default(),
        None,
        &terms("ram"),
        WINDOW,
    )
    .await;
    match result {
        Err(SourceError::Fetch(error)) => {
            assert_eq!(error.class, FetchErrorClass::Client);
            assert!(
                !error.to_string().contains("s3cret") && !error.to_string().contains("token-1")
            );
        }
        other => panic!("expected a client error, got {other:?}"),
    }
    // A refused token request is an error naming the token endpoint.
    server.serve(
        TOKEN,
        json_reply(&serde_json::json!({"error": "invalid_grant"})),
    );
    let (result, _) = poll(
        &reddit(&server),
        HttpState::default(),
        None,
        &terms("ram"),
        WINDOW,
    )
    .await;
    match result {
        Err(SourceError::Remote { url, problem }) => {
            assert!(
                url.ends_with(TOKEN) && problem.contains("invalid_grant"),
                "{url}: {problem}"
            )
        }
        other => panic!("expected a remote error, got {other:?}"),
    }
}

#[tokio::test]
async fn only_a_401_takes_a_new_token() {
    let server = TestServer::start().await;
    serve_logins(&server);
    let mut last_page = fixture_json("reddit.json");
    last_page["data"]["after"] = serde_json::Value::Null;
    server.serve(SEARCH, json_reply(&last_page));
    let source = reddit(&server);
    let (first, _) = poll(&source, HttpState::default(), None, &terms("ram"), WINDOW).await;
    first.unwrap();
    assert_eq!(server.requests_to(TOKEN).len(), 1);

    server.serve(SEARCH, Reply::status(403));
    let (second, _) = poll(&source, HttpState::default(), None, &terms("ram"), WINDOW).await;
    assert_eq!(second.unwrap_err().class(), "client");
    assert_eq!(server.requests_to(TOKEN).len(), 1, "a 403 keeps the token");

    server.serve_in_turn(SEARCH, vec![Reply::status(401), json_reply(&last_page)]);
    let (third, _) = poll(&source, HttpState::default(), None, &terms("ram"), WINDOW).await;
    third.unwrap();
    assert_eq!(server.requests_to(TOKEN).len(), 2, "a 401 takes a new one");
}

#[tokio::test]
async fn a_thing_with_missing_fields_is_skipped_and_the_rest_kept() {
    let server = TestServer::start().await;
    serve_logins(&server);
    let mut body = fixture_json("reddit.json");
    body["data"]["after"] = serde_json::Value::Null;
    body["data"]["children"][1]["data"]
        .as_object_mut()
        .unwrap()
        .remove("created_utc");
    body["data"]["children"][2]["kind"] = "t5".into();
    server.serve(SEARCH, json_reply(&body));
    let (result, _) = poll(
        &reddit(&server),
        HttpState::default(),
        None,
        &terms("ram"),
        WINDOW,
    )
    .await;
    let collected = result.unwrap();
    assert_eq!(ids(&collected), ["reddit:t3_15ac365"]);
    let reasons: Vec<&str> = collected
        .skipped
        .iter()
        .map(|skip| skip.reason.as_str())
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons[0].contains("t3_150ny9q") && reasons[0].contains("created_utc"),
        "{reasons:?}"
    );
    assert!(reasons[1].contains("t5"), "{reasons:?}");
}
