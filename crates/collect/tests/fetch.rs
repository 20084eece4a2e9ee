//! The fetcher against a real loopback server: conditional requests, rate-limit signals,
//! error classes, the body cap and the User-Agent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::time::Duration;

use earful_collect::fetch::{FetchOptions, Fetcher, Request, Response, ERROR_BODY_EXCERPT};
use earful_collect::FetchErrorClass;
use util::{Reply, TestServer};

fn fetcher() -> Fetcher {
    Fetcher::with_options(FetchOptions {
        contact_url: "https://acme.example/earful".into(),
        timeout: Duration::from_millis(500),
        ..FetchOptions::default()
    })
    .unwrap()
}

#[tokio::test]
async fn sends_a_user_agent_naming_earful_and_the_contact() {
    let server = TestServer::start().await;
    server.serve("/feed.xml", Reply::fixture("rss2.xml"));
    let mut fetcher = fetcher();
    let response = fetcher
        .fetch(Request::get(server.url("/feed.xml")))
        .await
        .unwrap();
    let Response::Fresh(fetched) = response else {
        panic!("expected a body");
    };
    assert_eq!(fetched.body, util::fixture("rss2.xml"));
    let user_agent = server.requests()[0]
        .header("user-agent")
        .unwrap()
        .to_string();
    assert!(user_agent.starts_with("Earful/"), "{user_agent}");
    assert!(
        user_agent.contains("https://acme.example/earful"),
        "{user_agent}"
    );
}

#[tokio::test]
async fn etag_and_last_modified_make_the_second_fetch_conditional() {
    let server = TestServer::start().await;
    server.serve(
        "/feed.xml",
        Reply::fixture("rss2.xml")
            .with_etag("\"v1\"")
            .header("last-modified", "Sat, 01 Nov 2026 10:00:00 GMT"),
    );
    let mut fetcher = fetcher();
    let first = fetcher
        .fetch(Request::get(server.url("/feed.xml")).conditional())
        .await
        .unwrap();
    assert!(matches!(first, Response::Fresh(_)));
    let second = fetcher
        .fetch(Request::get(server.url("/feed.xml")).conditional())
        .await
        .unwrap();
    assert!(matches!(second, Response::NotModified));
    let requests = server.requests();
    assert_eq!(requests[0].header("if-none-match"), None);
    assert_eq!(requests[1].header("if-none-match"), Some("\"v1\""));
    assert_eq!(
        requests[1].header("if-modified-since"),
        Some("Sat, 01 Nov 2026 10:00:00 GMT")
    );
    assert_eq!(requests[1].status, 304);
    assert_eq!(fetcher.signals().not_modified, 1);
    assert_eq!(fetcher.signals().requests, 2);

    // The validators survive as committed state: a new fetcher built from them is conditional.
    let (state, _) = fetcher.finish();
    let json = serde_json::to_value(&state).unwrap();
    let restored: earful_collect::HttpState = serde_json::from_value(json).unwrap();
    let client = earful_collect::HttpClient::new(FetchOptions::default()).unwrap();
    let mut resumed = client.fetcher(restored);
    let third = resumed
        .fetch(Request::get(server.url("/feed.xml")).conditional())
        .await
        .unwrap();
    assert!(matches!(third, Response::NotModified));
}

#[tokio::test]
async fn an_unchanged_etag_on_a_200_is_not_modified() {
    let server = TestServer::start().await;
    // A server that ignores If-None-Match but sends the same ETag.
    server.serve(
        "/feed.xml",
        Reply::fixture("rss2.xml").header("etag", "\"same\""),
    );
    let mut fetcher = fetcher();
    let request = || Request::get(server.url("/feed.xml")).conditional();
    assert!(matches!(
        fetcher.fetch(request()).await.unwrap(),
        Response::Fresh(_)
    ));
    assert!(matches!(
        fetcher.fetch(request()).await.unwrap(),
        Response::NotModified
    ));
}

#[tokio::test]
async fn a_429_carries_retry_after_and_defers_the_source() {
    let server = TestServer::start().await;
    server.serve("/api", Reply::status(429).header("retry-after", "120"));
    let mut fetcher = fetcher();
    let error = fetcher
        .fetch(Request::get(server.url("/api")))
        .await
        .unwrap_err();
    assert_eq!(error.class, FetchErrorClass::RateLimited);
    assert_eq!(error.retry_after, Some(Duration::from_secs(120)));
    assert!(fetcher.signals().defer_until.is_some());
}

#[tokio::test]
async fn a_503_with_an_http_date_retry_after() {
    let server = TestServer::start().await;
    let later = std::time::SystemTime::now() + Duration::from_secs(600);
    server.serve(
        "/api",
        Reply::status(503).header("retry-after", &httpdate::fmt_http_date(later)),
    );
    let error = fetcher()
        .fetch(Request::get(server.url("/api")))
        .await
        .unwrap_err();
    assert_eq!(error.class, FetchErrorClass::Server);
    let wait = error.retry_after.unwrap();
    assert!(
        wait > Duration::from_secs(500) && wait <= Duration::from_secs(600),
        "{wait:?}"
    );
}

#[tokio::test]
async fn error_statuses_are_classed() {
    let server = TestServer::start().await;
    server.serve("/gone", Reply::status(404));
    server.serve("/broken", Reply::status(500));
    let mut fetcher = fetcher();
    let not_found = fetcher
        .fetch(Request::get(server.url("/gone")))
        .await
        .unwrap_err();
    assert_eq!(not_found.class, FetchErrorClass::Client);
    assert!(not_found.to_string().contains("404"), "{not_found}");
    let broken = fetcher
        .fetch(Request::get(server.url("/broken")))
        .await
        .unwrap_err();
    assert_eq!(broken.class, FetchErrorClass::Server);
}

#[tokio::test]
async fn an_error_keeps_its_status_and_a_capped_excerpt_of_its_body() {
    let server = TestServer::start().await;
    server.serve(
        "/refused",
        Reply::ok(br#"{"error":"ExpiredToken","message":"echoed s3cret"}"#.to_vec())
            .with_status(400),
    );
    let mut long_body = vec![b'x'; 64 * 1024];
    long_body.extend_from_slice(b"the end");
    server.serve("/long", Reply::ok(long_body).with_status(500));
    server.serve("/empty", Reply::status(404));
    let mut fetcher = fetcher();

    let refused = fetcher
        .fetch(Request::get(server.url("/refused")))
        .await
        .unwrap_err();
    assert_eq!(refused.class, FetchErrorClass::Client);
    assert_eq!(refused.status, Some(400));
    assert_eq!(refused.body_json().unwrap()["error"], "ExpiredToken");
    // The body may echo what was sent: it stays out of every message.
    for shown in [refused.to_string(), format!("{refused:?}")] {
        assert!(!shown.contains("s3cret"), "{shown}");
    }

    let long = fetcher
        .fetch(Request::get(server.url("/long")))
        .await
        .unwrap_err();
    assert_eq!(long.status, Some(500));
    let excerpt = long.body_excerpt.unwrap();
    assert_eq!(excerpt.len(), ERROR_BODY_EXCERPT);
    assert!(excerpt.bytes().all(|byte| byte == b'x'));

    let empty = fetcher
        .fetch(Request::get(server.url("/empty")))
        .await
        .unwrap_err();
    assert_eq!(empty.status, Some(404));
    assert_eq!(empty.body_excerpt, None);
}

#[tokio::test]
async fn a_slow_server_times_out() {
    let server = TestServer::start().await;
    server.serve(
        "/slow",
        Reply::fixture("rss2.xml").delayed(Duration::from_secs(30)),
    );
    let error = fetcher()
        .fetch(Request::get(server.url("/slow")))
        .await
        .unwrap_err();
    assert_eq!(error.class, FetchErrorClass::Timeout, "{error}");
}

#[tokio::test]
async fn a_truncated_body_is_a_body_error() {
    let server = TestServer::start().await;
    server.serve("/cut", Reply::fixture("rss2.xml").truncated(100));
    let error = fetcher()
        .fetch(Request::get(server.url("/cut")))
        .await
        .unwrap_err();
    assert_eq!(error.class, FetchErrorClass::Body, "{error}");
}

#[tokio::test]
async fn a_body_over_the_cap_is_refused() {
    let server = TestServer::start().await;
    server.serve("/big", Reply::ok(vec![b'x'; 4096]));
    let mut small = Fetcher::with_options(FetchOptions {
        body_cap: 1024,
        ..FetchOptions::default()
    })
    .unwrap();
    let error = small
        .fetch(Request::get(server.url("/big")))
        .await
        .unwrap_err();
    assert_eq!(error.class, FetchErrorClass::Body);
    assert!(error.to_string().contains("cap"), "{error}");
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error() {
    // Bind, learn the port, close: nothing listens there any more.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = url::Url::parse(&format!("http://127.0.0.1:{port}/feed")).unwrap();
    let error = fetcher().fetch(Request::get(url)).await.unwrap_err();
    assert_eq!(error.class, FetchErrorClass::Connect, "{error}");
}

#[tokio::test]
async fn credentials_never_reach_the_error() {
    let server = TestServer::start().await;
    server.serve("/search", Reply::status(403));
    let url = server.url("/search?q=acme&key=hunter2hunter2");
    let error = fetcher()
        .fetch(Request::get(url).header("Authorization", "Bearer sekrit-token"))
        .await
        .unwrap_err();
    let message = format!("{error} {error:?}");
    assert!(!message.contains("hunter2hunter2"), "{message}");
    assert!(!message.contains("sekrit-token"), "{message}");
    assert!(message.contains("q=acme"), "{message}");
    // The header did reach the server.
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some("Bearer sekrit-token")
    );
}

#[tokio::test]
async fn rate_limit_headers_defer_the_next_poll() {
    let server = TestServer::start().await;
    server.serve(
        "/api/v1/timelines/tag/acme",
        Reply::fixture("mastodon.json")
            .header("x-ratelimit-remaining", "0")
            .header("x-ratelimit-reset", "2099-01-01T00:00:00.000Z"),
    );
    let mut fetcher = fetcher();
    fetcher
        .fetch(Request::get(server.url("/api/v1/timelines/tag/acme")))
        .await
        .unwrap();
    let deferred = fetcher.signals().defer_until.unwrap();
    assert_eq!(deferred.year(), 2099);
}

#[tokio::test]
async fn cache_control_max_age_is_reported() {
    let server = TestServer::start().await;
    server.serve(
        "/feed",
        Reply::fixture("rss2.xml").header("cache-control", "public, max-age=900"),
    );
    let mut fetcher = fetcher();
    fetcher
        .fetch(Request::get(server.url("/feed")))
        .await
        .unwrap();
    assert_eq!(fetcher.signals().fresh_for, Some(Duration::from_secs(900)));
}
