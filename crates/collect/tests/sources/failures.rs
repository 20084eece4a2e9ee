//! Every source meets the same failures the same way: a 429 with `Retry-After` is a rate
//! limit the engine waits out, a 500 a server error, a cut body a body error, and a body that
//! is not JSON a parse error naming the URL. No error carries a credential.

use std::time::Duration;

use earful_collect::{FetchErrorClass, HttpState, SourceError};
use time::macros::datetime;

use super::util::{Reply, TestServer};
use super::{json_reply, poll, source, source_config, terms};

const BLUESKY_SECRET: &str = "pw-never-shown";
const REDDIT_SECRET: &str = "secret-never-shown";
const KEY_SECRET: &str = "key-never-shown";

/// A source of each kind, the path its first data request goes to, and the replies its
/// login needs first.
struct Case {
    kind: &'static str,
    extra: serde_json::Value,
    path: &'static str,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            kind: "mastodon",
            extra: serde_json::json!({"hashtags": ["rstats"], "token": KEY_SECRET}),
            path: "/api/v1/timelines/tag/rstats",
        },
        Case {
            kind: "appstore",
            extra: serde_json::json!({"app_id": "389801252"}),
            path: "/us/rss/customerreviews/page=1/id=389801252/sortby=mostrecent/json",
        },
        Case {
            kind: "stackexchange",
            extra: serde_json::json!({"key": KEY_SECRET}),
            path: "/2.3/search/advanced",
        },
        Case {
            kind: "github",
            extra: serde_json::json!({"token": KEY_SECRET}),
            path: "/search/issues",
        },
        Case {
            kind: "lemmy",
            extra: serde_json::json!({}),
            path: "/api/v3/search",
        },
        Case {
            kind: "bluesky",
            extra: serde_json::json!({"identifier": "earful.test", "app_password": BLUESKY_SECRET}),
            path: "/xrpc/app.bsky.feed.searchPosts",
        },
        Case {
            kind: "reddit",
            extra: serde_json::json!({"client_id": "client", "client_secret": REDDIT_SECRET}),
            path: "/search",
        },
    ]
}

/// Serves the logins the credentialed sources need.
pub fn serve_logins(server: &TestServer) {
    server.serve(
        "/xrpc/com.atproto.server.createSession",
        json_reply(&serde_json::json!({
            "accessJwt": "header.eyJleHAiOjQxMDI0NDQ4MDB9.sig",
            "refreshJwt": "refresh",
            "handle": "earful.test",
            "did": "did:plc:test"
        })),
    );
    server.serve(
        "/api/v1/access_token",
        json_reply(&serde_json::json!({
            "access_token": "token-1", "token_type": "bearer", "expires_in": 86400, "scope": "*"
        })),
    );
}

async fn failure(case: &Case, reply: Reply) -> SourceError {
    let server = TestServer::start().await;
    serve_logins(&server);
    server.serve(case.path, reply);
    let source = source(case.kind, "failing", &server.base_url(), case.extra.clone());
    let (result, _) = poll(
        &source,
        HttpState::default(),
        None,
        &terms("acme"),
        datetime!(2026-01-01 0:00 UTC),
    )
    .await;
    let error = result.expect_err(case.kind);
    let shown = error.to_string();
    assert!(
        [BLUESKY_SECRET, REDDIT_SECRET, KEY_SECRET, "token-1"]
            .iter()
            .all(|secret| !shown.contains(secret)),
        "{}: a credential in `{shown}`",
        case.kind
    );
    error
}

fn fetch_class(kind: &str, error: &SourceError) -> (FetchErrorClass, Option<Duration>) {
    match error {
        SourceError::Fetch(fetch) => (fetch.class, fetch.retry_after),
        other => panic!("{kind}: expected a fetch error, got {other}"),
    }
}

#[tokio::test]
async fn too_many_requests_is_a_rate_limit_with_its_wait() {
    for case in cases() {
        let error = failure(&case, Reply::status(429).header("retry-after", "120")).await;
        assert_eq!(
            fetch_class(case.kind, &error),
            (FetchErrorClass::RateLimited, Some(Duration::from_secs(120))),
            "{}",
            case.kind
        );
    }
}

#[tokio::test]
async fn a_server_error_is_classed_as_one() {
    for case in cases() {
        let error = failure(&case, Reply::status(500)).await;
        assert_eq!(
            fetch_class(case.kind, &error).0,
            FetchErrorClass::Server,
            "{}",
            case.kind
        );
    }
}

#[tokio::test]
async fn a_cut_body_is_a_body_error() {
    for case in cases() {
        let reply = Reply::ok(br#"{"items": [{"question_id": 1}], "has_more": false}"#.to_vec())
            .header("content-type", "application/json")
            .truncated(12);
        let error = failure(&case, reply).await;
        assert_eq!(
            fetch_class(case.kind, &error).0,
            FetchErrorClass::Body,
            "{}",
            case.kind
        );
    }
}

#[tokio::test]
async fn malformed_json_is_a_parse_error_naming_the_url() {
    for case in cases() {
        let reply = Reply::ok(b"{\"items\": [{\"oops\"".to_vec())
            .header("content-type", "application/json");
        match failure(&case, reply).await {
            SourceError::Parse { url, problem } => {
                assert!(url.contains(case.path), "{}: {url}", case.kind);
                assert!(problem.contains("JSON"), "{}: {problem}", case.kind);
            }
            other => panic!("{}: expected a parse error, got {other}", case.kind),
        }
    }
}

#[tokio::test]
async fn an_html_block_page_is_an_error_that_says_so() {
    for case in cases() {
        let reply =
            Reply::ok(b"<!doctype html><title>Blocked</title>whoa there, pardner!".to_vec())
                .header("content-type", "text/html; charset=utf-8");
        match failure(&case, reply).await {
            SourceError::Parse { problem, .. } => {
                assert!(problem.contains("HTML"), "{}: {problem}", case.kind)
            }
            other => panic!("{}: expected a parse error, got {other}", case.kind),
        }
    }
}

#[test]
fn missing_credentials_refuse_to_start_naming_the_key() {
    let missing = [
        (
            "bluesky",
            serde_json::json!({"identifier": "earful.test", "app_password": ""}),
            "app_password",
        ),
        (
            "bluesky",
            serde_json::json!({"identifier": " ", "app_password": "x"}),
            "identifier",
        ),
        (
            "reddit",
            serde_json::json!({"client_id": "", "client_secret": "x"}),
            "client_id",
        ),
        (
            "reddit",
            serde_json::json!({"client_id": "x"}),
            "client_secret",
        ),
    ];
    for (kind, extra, key) in missing {
        let config = source_config(kind, "no-credentials", "http://127.0.0.1:9", extra);
        let error = earful_collect::sources::build(&config).expect_err(kind);
        let shown = error.to_string();
        assert!(
            shown.contains(&format!("`{key}`")) && shown.contains("no-credentials"),
            "{kind}: {shown}"
        );
    }
}

#[tokio::test]
async fn a_searching_source_without_terms_says_what_to_bind() {
    let server = TestServer::start().await;
    let source = source(
        "github",
        "unbound",
        &server.base_url(),
        serde_json::json!({}),
    );
    let (result, _) = poll(
        &source,
        HttpState::default(),
        None,
        &[],
        datetime!(2026-01-01 0:00 UTC),
    )
    .await;
    let shown = result.expect_err("no terms").to_string();
    assert!(
        shown.contains("under-test") && shown.contains("watches"),
        "{shown}"
    );
    assert!(server.requests().is_empty());
}
