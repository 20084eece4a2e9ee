//! `stackexchange` against the recorded `search`-shaped responses.

use std::time::Duration;

use earful_collect::{FetchErrorClass, HttpState, SourceError};
use time::macros::datetime;
use time::OffsetDateTime;

use super::util::{Reply, TestServer};
use super::{fixture_json, ids, json_reply, poll, source, terms};

const PATH: &str = "/2.3/search/advanced";
const WINDOW: OffsetDateTime = datetime!(2018-01-01 0:00 UTC);

fn stackexchange(
    server: &TestServer,
    extra: serde_json::Value,
) -> earful_collect::sources::AnySource {
    source("stackexchange", "so-docker", &server.base_url(), extra)
}

fn with(mut body: serde_json::Value, key: &str, value: serde_json::Value) -> serde_json::Value {
    body[key] = value;
    body
}

#[tokio::test]
async fn questions_map_every_field_and_page_with_has_more() {
    let server = TestServer::start().await;
    let first_page = with(fixture_json("stackexchange.json"), "has_more", true.into());
    server.serve_in_turn(
        PATH,
        vec![
            json_reply(&first_page),
            json_reply(&with(
                fixture_json("stackexchange-custom-filter-withbody.json"),
                "has_more",
                false.into(),
            )),
        ],
    );
    let source = stackexchange(&server, serde_json::json!({"key": "k3y-never-shown"}));
    let (result, _) = poll(
        &source,
        HttpState::default(),
        None,
        &terms("docker"),
        WINDOW,
    )
    .await;
    let collected = result.unwrap();
    assert!(collected.skipped.is_empty(), "{:?}", collected.skipped);
    let requests = server.requests_to(PATH);
    assert_eq!(requests.len(), 2);
    for (page, request) in requests.iter().enumerate() {
        assert_eq!(request.query_param("page"), Some((page + 1).to_string()));
        assert_eq!(request.query_param("q").as_deref(), Some("docker"));
        assert_eq!(
            request.query_param("site").as_deref(),
            Some("stackoverflow")
        );
        assert_eq!(request.query_param("sort").as_deref(), Some("creation"));
        assert_eq!(request.query_param("order").as_deref(), Some("asc"));
        assert_eq!(request.query_param("filter").as_deref(), Some("withbody"));
        assert_eq!(
            request.query_param("key").as_deref(),
            Some("k3y-never-shown")
        );
        assert_eq!(
            request.query_param("fromdate"),
            Some(WINDOW.unix_timestamp().to_string())
        );
    }
    let question = collected
        .mentions
        .iter()
        .find(|mention| mention.id == "stackexchange:stackoverflow:76170819")
        .unwrap();
    assert_eq!(
        question.url.as_deref(),
        Some("https://stackoverflow.com/questions/76170819/docker-compose-build-generate-failed-to-fetch-oauth-token-post-https-auth-do")
    );
    assert_eq!(question.author.as_deref(), Some("miltone"));
    assert_eq!(question.author_reach, Some(4629));
    assert_eq!(question.engagement, Some(1));
    assert_eq!(
        question.published_at,
        OffsetDateTime::from_unix_timestamp(1_683_187_049).unwrap()
    );
    // Without a body the (entity-encoded) title is the text; enrichment decodes entities.
    assert!(
        question
            .text
            .contains("Post &quot;https://auth.docker.io/token&quot;"),
        "{}",
        question.text
    );
    assert_eq!(question.title, None);
    let with_body = collected
        .mentions
        .iter()
        .find(|mention| mention.id == "stackexchange:stackoverflow:53554542")
        .unwrap();
    assert!(
        with_body.text.starts_with("<p>We have written JMH"),
        "{}",
        with_body.text
    );
    assert_eq!(
        with_body.title.as_deref(),
        Some("A fatal error has been detected by the Java Runtime Environment (SIGBUS (0x7))")
    );
    assert_eq!(
        with_body.author_reach, None,
        "this filter has no reputation"
    );
    let total = fixture_json("stackexchange.json")["items"]
        .as_array()
        .unwrap()
        .len()
        + fixture_json("stackexchange-custom-filter-withbody.json")["items"]
            .as_array()
            .unwrap()
            .len();
    assert_eq!(collected.mentions.len(), total);
}

#[tokio::test]
async fn the_next_poll_resumes_at_the_mark_without_duplicates() {
    let server = TestServer::start().await;
    server.serve(PATH, json_reply(&fixture_json("stackexchange.json")));
    let source = stackexchange(&server, serde_json::json!({}));
    let (first, _) = poll(
        &source,
        HttpState::default(),
        None,
        &terms("docker"),
        WINDOW,
    )
    .await;
    let first = first.unwrap();
    assert_eq!(first.mentions.len(), 3);
    let cursor = first.cursor.unwrap();

    // `fromdate` is inclusive, and a server may repeat what it sent: nothing comes twice.
    server.clear_requests();
    let (second, _) = poll(
        &source,
        HttpState::default(),
        Some(&cursor),
        &terms("docker"),
        WINDOW,
    )
    .await;
    let second = second.unwrap();
    assert!(second.mentions.is_empty(), "{:?}", ids(&second));
    assert_eq!(
        server.requests()[0].query_param("fromdate").as_deref(),
        Some("1683187049"),
        "the newest creation_date handed on"
    );
}

#[tokio::test]
async fn backoff_and_a_low_quota_stop_paging_and_defer_the_source() {
    let server = TestServer::start().await;
    let body = with(
        with(fixture_json("stackexchange.json"), "has_more", true.into()),
        "backoff",
        30.into(),
    );
    server.serve(PATH, json_reply(&body));
    let source = stackexchange(&server, serde_json::json!({}));
    let (result, fetcher) = poll(
        &source,
        HttpState::default(),
        None,
        &terms("docker"),
        WINDOW,
    )
    .await;
    assert_eq!(
        result.unwrap().mentions.len(),
        3,
        "what came before the backoff is kept"
    );
    assert_eq!(
        server.requests().len(),
        1,
        "no second page during a backoff"
    );
    let until = fetcher.signals().defer_until.unwrap();
    assert!(
        until > OffsetDateTime::now_utc() + time::Duration::seconds(20),
        "{until}"
    );

    let overdrawn = with(
        with(fixture_json("stackexchange.json"), "has_more", true.into()),
        "quota_remaining",
        (-1).into(),
    );
    server.serve(PATH, json_reply(&overdrawn));
    server.clear_requests();
    let (result, fetcher) = poll(
        &source,
        HttpState::default(),
        None,
        &terms("docker"),
        WINDOW,
    )
    .await;
    assert_eq!(result.unwrap().mentions.len(), 3);
    assert_eq!(server.requests().len(), 1);
    let until = fetcher.signals().defer_until.unwrap();
    assert_eq!(
        (until.hour(), until.minute()),
        (0, 0),
        "the quota resets at midnight UTC"
    );
}

#[tokio::test]
async fn an_error_body_names_the_refusal() {
    let server = TestServer::start().await;
    server.serve(
        PATH,
        json_reply(&serde_json::json!({
            "error_id": 502, "error_message": "too many requests from this IP", "error_name": "throttle_violation"
        })),
    );
    let source = stackexchange(&server, serde_json::json!({}));
    let (result, _) = poll(
        &source,
        HttpState::default(),
        None,
        &terms("docker"),
        WINDOW,
    )
    .await;
    match result {
        Err(SourceError::Fetch(error)) => {
            assert_eq!(error.class, FetchErrorClass::RateLimited);
            assert!(
                error.detail.contains("throttle_violation"),
                "{}",
                error.detail
            );
        }
        other => panic!("expected a rate limit, got {other:?}"),
    }
    server.serve(
        PATH,
        json_reply(&serde_json::json!({
            "error_id": 400, "error_message": "site is required", "error_name": "bad_parameter"
        })),
    );
    let (result, _) = poll(
        &source,
        HttpState::default(),
        None,
        &terms("docker"),
        WINDOW,
    )
    .await;
    match result {
        Err(SourceError::Remote { problem, .. }) => {
            assert!(problem.contains("bad_parameter"), "{problem}")
        }
        other => panic!("expected a remote error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_400_throttle_is_a_rate_limit_whose_wait_is_honoured() {
    let server = TestServer::start().await;
    server.serve(
        PATH,
        json_reply(&serde_json::json!({
            "error_id": 502,
            "error_name": "throttle_violation",
            "error_message": "too many requests from this IP, more requests available in 82961 seconds"
        }))
        .with_status(400),
    );
    let source = stackexchange(&server, serde_json::json!({"key": "k3y-never-shown"}));
    let before = OffsetDateTime::now_utc();
    let (result, fetcher) = poll(
        &source,
        HttpState::default(),
        None,
        &terms("docker"),
        WINDOW,
    )
    .await;
    let after = OffsetDateTime::now_utc();
    let error = result.unwrap_err();
    assert_eq!(error.class(), "rate_limited");
    assert_eq!(error.retry_after(), Some(Duration::from_secs(82961)));
    let shown = error.to_string();
    assert!(
        shown.contains("throttle_violation") && !shown.contains("k3y-never-shown"),
        "{shown}"
    );
    let wait = time::Duration::seconds(82961);
    let until = fetcher.signals().defer_until.unwrap();
    assert!(
        until >= before + wait && until <= after + wait,
        "deferred until {until}"
    );
    assert_eq!(
        server.requests().len(),
        1,
        "no second page after a throttle"
    );
}

#[tokio::test]
async fn a_400_with_another_error_id_names_the_error() {
    let server = TestServer::start().await;
    server.serve(
        PATH,
        json_reply(&serde_json::json!({
            "error_id": 403, "error_name": "access_denied", "error_message": "this key is not allowed"
        }))
        .with_status(400),
    );
    let (result, fetcher) = poll(
        &stackexchange(&server, serde_json::json!({})),
        HttpState::default(),
        None,
        &terms("docker"),
        WINDOW,
    )
    .await;
    match result {
        Err(SourceError::Remote { url, problem }) => {
            assert!(url.contains(PATH), "{url}");
            assert!(
                problem.contains("403") && problem.contains("access_denied"),
                "{problem}"
            );
        }
        other => panic!("expected a remote error, got {other:?}"),
    }
    assert_eq!(fetcher.signals().defer_until, None);

    // A 4xx without an `error_id` stays a client error.
    server.serve(PATH, Reply::status(404));
    let (result, _) = poll(
        &stackexchange(&server, serde_json::json!({})),
        HttpState::default(),
        None,
        &terms("docker"),
        WINDOW,
    )
    .await;
    assert_eq!(result.unwrap_err().class(), "client");
}

#[tokio::test]
async fn a_question_with_missing_fields_is_skipped_and_the_rest_kept() {
    let server = TestServer::start().await;
    let mut body = fixture_json("stackexchange.json");
    body["items"][1]
        .as_object_mut()
        .unwrap()
        .remove("creation_date");
    server.serve(PATH, json_reply(&body));
    let source = stackexchange(&server, serde_json::json!({"site": "superuser"}));
    let (result, _) = poll(
        &source,
        HttpState::default(),
        None,
        &terms("docker"),
        WINDOW,
    )
    .await;
    let collected = result.unwrap();
    assert_eq!(
        ids(&collected),
        [
            "stackexchange:superuser:76124274",
            "stackexchange:superuser:76170819"
        ]
    );
    assert_eq!(collected.skipped.len(), 1);
    let reason = &collected.skipped[0].reason;
    assert!(
        reason.contains("74236426") && reason.contains("creation_date"),
        "{reason}"
    );
}
