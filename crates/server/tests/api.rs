//! The JSON API, the pages and the security rules, through the router (`oneshot`) over a real
//! index and a real state database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "api/live.rs"]
mod live;
#[path = "api/metrics.rs"]
mod metrics;

use std::collections::BTreeSet;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::*;
use earful_core::Label;
use earful_server::{apply_limits, ApiState, Limits};
use tower::ServiceExt;

fn ids(page: &serde_json::Value) -> Vec<String> {
    page["mentions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|mention| mention["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn search_returns_everything_newest_first() {
    let answer = get(state(), "/api/v1/mentions?limit=1000").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let page = answer.json();
    assert_eq!(page["total"], fixture().mentions.len());
    let times: Vec<String> = page["mentions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|mention| mention["published_at"].as_str().unwrap().to_string())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|left, right| right.cmp(left));
    assert_eq!(times, sorted);
    assert!(page["next_cursor"].is_null());
    // The Mention JSON, with the sentiment and a snippet.
    let first = &page["mentions"][0];
    assert!(first["sentiment"]["label"].is_string());
    assert!(first["highlight"]["html"].is_string());
}

#[tokio::test]
async fn a_query_is_highlighted() {
    let page = get(state(), "/api/v1/mentions?q=outage").await.json();
    assert_eq!(
        page["total"],
        count(|mention| mention.text.contains("outage"))
    );
    let html = page["mentions"][0]["highlight"]["html"].as_str().unwrap();
    assert!(html.contains("<b>outage</b>"), "{html}");
}

#[tokio::test]
async fn every_filter_narrows_the_search() {
    let cases: Vec<(&str, usize)> = vec![
        (
            "watch=globex",
            count(|m| m.watches.iter().any(|w| w == "globex")),
        ),
        ("source=mastodon", count(|m| m.source == "mastodon")),
        ("feed=acme-blog", count(|m| m.feed == "acme-blog")),
        ("label=negative", labelled(Label::Negative)),
        ("label=unscored", labelled(Label::Unscored)),
        ("lang=de", count(|m| m.lang == "de")),
        (
            "min_reach=300",
            count(|m| m.author_reach.unwrap_or(0) >= 300),
        ),
        (
            "since=2026-11-21T00:00:00Z&until=2026-11-21T12:00:00Z",
            count(|m| {
                m.published_at >= time::macros::datetime!(2026-11-21 00:00 UTC)
                    && m.published_at < time::macros::datetime!(2026-11-21 12:00 UTC)
            }),
        ),
        (
            "q=refund&source=hackernews&label=negative",
            count(|m| {
                m.text.contains("refund")
                    && m.source == "hackernews"
                    && m.sentiment.label == Label::Negative
            }),
        ),
    ];
    for (filter, expected) in cases {
        assert!(expected > 0, "the fixture has no mention for `{filter}`");
        assert!(
            expected < fixture().mentions.len(),
            "`{filter}` does not narrow"
        );
        let page = get(state(), &format!("/api/v1/mentions?limit=1000&{filter}"))
            .await
            .json();
        assert_eq!(page["total"], expected, "{filter}");
        assert_eq!(
            page["mentions"].as_array().unwrap().len(),
            expected,
            "{filter}"
        );
    }
}

#[tokio::test]
async fn cursors_page_through_every_match_once() {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        let uri = match &cursor {
            Some(cursor) => format!("/api/v1/mentions?sort=oldest&limit=7&cursor={cursor}"),
            None => "/api/v1/mentions?sort=oldest&limit=7".to_string(),
        };
        let page = get(state(), &uri).await.json();
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(seen.len(), fixture().mentions.len());
    assert_eq!(unique.len(), seen.len());
}

#[tokio::test]
async fn every_sort_is_accepted() {
    for sort in [
        "newest",
        "oldest",
        "relevance",
        "most_reached",
        "most_negative",
    ] {
        let answer = get(
            state(),
            &format!("/api/v1/mentions?q=acme&sort={sort}&limit=3"),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{sort}: {}", answer.body);
    }
    let page = get(state(), "/api/v1/mentions?sort=most_reached&limit=1")
        .await
        .json();
    let most = fixture()
        .mentions
        .iter()
        .filter_map(|m| m.author_reach)
        .max();
    assert_eq!(page["mentions"][0]["author_reach"].as_u64(), most);
}

#[tokio::test]
async fn a_bad_query_is_a_400_that_says_where() {
    let answer = get(state(), "/api/v1/mentions?q=acme%20AND%20(outage").await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let error = &answer.json()["error"];
    assert_eq!(error["code"], "bad_query");
    assert!(error["column"].as_u64().unwrap() > 1, "{error}");
    assert!(error["offset"].is_u64());
    assert!(
        error["message"].as_str().unwrap().contains("`q`"),
        "{error}"
    );
}

#[tokio::test]
async fn bad_parameters_are_400s_naming_them() {
    for (uri, named) in [
        ("/api/v1/mentions?label=furious", "`label`"),
        ("/api/v1/mentions?sort=loudest", "`sort`"),
        ("/api/v1/mentions?limit=0", "`limit`"),
        ("/api/v1/mentions?limit=many", "`limit`"),
        ("/api/v1/mentions?since=someday", "`since`"),
        ("/api/v1/mentions?cursor=bogus", "`cursor`"),
        ("/api/v1/mentions?min_reach=-1", "`min_reach`"),
        ("/api/v1/stats/timeline?interval=0s", "`interval`"),
        ("/api/v1/stats/timeline?interval=fortnight", "`interval`"),
        (
            "/api/v1/stats/timeline?interval=1s&since=2000-01-01&until=2026-01-01",
            "`interval`, `since` and `until`",
        ),
        ("/api/v1/stats/top", "`field`"),
        ("/api/v1/stats/top?field=mood", "`field`"),
        ("/api/v1/alerts?limit=5000", "`limit`"),
    ] {
        let answer = get(state(), uri).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{uri}: {}",
            answer.body
        );
        assert_eq!(answer.code(), "bad_request", "{uri}");
        let message = answer.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(message.contains(named), "{uri}: {message}");
    }
}

#[tokio::test]
async fn a_mention_by_id_comes_with_its_explanation() {
    // Number 6: a Hacker News mention (6 % 3 == 0) with the negative text (6 % 5 == 1).
    let answer = get(state(), "/api/v1/mentions/hackernews:6").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let mention = answer.json();
    assert_eq!(mention["id"], "hackernews:6");
    assert_eq!(mention["sentiment"]["label"], "negative");
    let tokens = mention["explanation"]["tokens"].as_array().unwrap();
    assert!(
        tokens.iter().any(|token| token["token"] == "Terrible"),
        "{tokens:?}"
    );
    assert_eq!(
        mention["explanation"]["scores"]["compound"],
        mention["sentiment"]["compound"]
    );

    let german = get(state(), "/api/v1/mentions/hackernews:3").await.json();
    assert_eq!(german["sentiment"]["label"], "unscored");
    assert!(german.get("explanation").is_none());

    let missing = get(state(), "/api/v1/mentions/hackernews:999").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.code(), "not_found");
    assert!(missing.body.contains("hackernews:999"));
}

#[tokio::test]
async fn the_timeline_counts_per_bucket_and_label() {
    let answer = get(
        state(),
        "/api/v1/stats/timeline?interval=6h&since=2026-11-20T00:00:00Z&until=2026-11-22T00:00:00Z",
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let timeline = answer.json();
    assert_eq!(timeline["interval_seconds"], 6 * 3600);
    let buckets = timeline["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 8);
    let sum = |key: &str| -> u64 { buckets.iter().map(|b| b[key].as_u64().unwrap()).sum() };
    let in_range = |label: Option<Label>| {
        count(|m| {
            m.published_at < time::macros::datetime!(2026-11-22 00:00 UTC)
                && label.is_none_or(|label| m.sentiment.label == label)
        }) as u64
    };
    assert_eq!(sum("total"), in_range(None));
    assert_eq!(sum("negative"), in_range(Some(Label::Negative)));
    assert_eq!(sum("positive"), in_range(Some(Label::Positive)));
    assert_eq!(sum("unscored"), in_range(Some(Label::Unscored)));
    assert_eq!(buckets[0]["total"], 6);

    let watch = get(state(), "/api/v1/stats/timeline?interval=1d&watch=globex")
        .await
        .json();
    let total: u64 = watch["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["total"].as_u64().unwrap())
        .sum();
    assert_eq!(
        total as usize,
        count(|m| m.watches.iter().any(|w| w == "globex"))
    );
}

#[tokio::test]
async fn top_ranks_authors_sources_and_terms() {
    let authors = get(state(), "/api/v1/stats/top?field=author&limit=2")
        .await
        .json();
    assert_eq!(authors["field"], "author");
    assert_eq!(authors["values"][0]["value"], "jdoe");
    assert_eq!(
        authors["values"][0]["count"],
        count(|m| m.author.as_deref() == Some("jdoe"))
    );
    assert_eq!(authors["values"].as_array().unwrap().len(), 2);

    let sources = get(state(), "/api/v1/stats/top?field=source&label=negative")
        .await
        .json();
    let total: u64 = sources["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["count"].as_u64().unwrap())
        .sum();
    assert_eq!(total as usize, labelled(Label::Negative));

    let terms = get(state(), "/api/v1/stats/top?field=term&q=globex&limit=50")
        .await
        .json();
    let words: Vec<&str> = terms["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["value"].as_str().unwrap())
        .collect();
    assert!(
        words.contains(&"globex") && words.contains(&"cheaper"),
        "{words:?}"
    );
    assert!(!words.contains(&"refund"), "{words:?}");
}

#[tokio::test]
async fn watches_and_sources_come_from_the_config_without_secrets() {
    let watches = get(state(), "/api/v1/watches").await.json();
    assert_eq!(watches[0]["name"], "acme");
    assert_eq!(watches[1]["query"], "globex");
    assert_eq!(watches[0]["alerts"][0], "negative_spike");

    let answer = get(state(), "/api/v1/sources").await;
    assert!(!answer.body.contains("mastodon-secret-value"));
    let sources = answer.json();
    let by_name = |name: &str| {
        sources
            .as_array()
            .unwrap()
            .iter()
            .find(|source| source["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(by_name("masto-acme")["kind"], "mastodon");
    assert_eq!(
        by_name("masto-acme")["indexed"],
        count(|m| m.feed == "masto-acme")
    );
    assert_eq!(
        by_name("masto-acme")["latest_published_at"],
        "2026-11-21T19:00:00Z"
    );
    assert_eq!(by_name("quiet-feed")["indexed"], 0);
    assert!(by_name("quiet-feed")["latest_published_at"].is_null());
    assert_eq!(by_name("hn-acme")["interval_seconds"], 300);
    // Poll health from the state database, so "quiet" and "broken" read differently.
    assert_eq!(by_name("masto-acme")["health"]["state"], "ok");
    assert_eq!(by_name("hn-acme")["health"]["state"], "failing");
    assert_eq!(
        by_name("hn-acme")["health"]["last_error"]["class"],
        "server"
    );
    assert!(by_name("quiet-feed")["health"].is_null());
}

#[tokio::test]
async fn probes_answer_and_readiness_follows_the_flag() {
    let health = get(state(), "/healthz").await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.json()["status"], "ok");
    let ready = get(state(), "/readyz").await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.json()["mentions"], fixture().mentions.len());
    let draining = state();
    draining.set_ready(false);
    assert_eq!(
        get(draining, "/readyz").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    // Probes need no token.
    assert_eq!(
        get(state_with_tokens(), "/healthz").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_are_json_errors() {
    let missing = get(state(), "/api/v1/nothing").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.code(), "not_found");
    let wrong = send(
        state(),
        Request::delete("/api/v1/mentions")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong.code(), "method_not_allowed");
    // A browser gets a page outside the API, JSON inside it.
    let page = |uri: &str| {
        Request::get(uri)
            .header(header::ACCEPT, "text/html,application/xhtml+xml")
            .body(Body::empty())
            .unwrap()
    };
    let lost = send(state(), page("/no-such-page")).await;
    assert_eq!(lost.status, StatusCode::NOT_FOUND);
    assert!(lost.body.contains("no route for `/no-such-page`"));
    assert!(lost.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let api = send(state(), page("/api/v1/nothing")).await;
    assert_eq!(api.code(), "not_found");
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_and_every_listed_route_answers() {
    let answer = get(state(), "/api/v1/openapi.json").await;
    assert_eq!(answer.status, StatusCode::OK);
    let document = answer.json();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let paths = document["paths"].as_object().unwrap();
    for expected in [
        "/api/v1/mentions",
        "/api/v1/mentions/{id}",
        "/api/v1/stats/timeline",
        "/api/v1/stats/top",
        "/api/v1/watches",
        "/api/v1/sources",
        "/api/v1/alerts",
        "/api/v1/alerts/{id}",
        "/api/v1/alerts/{id}/ack",
        "/api/v1/silences",
        "/api/v1/openapi.json",
        "/healthz",
        "/readyz",
    ] {
        assert!(paths.contains_key(expected), "{expected} is not documented");
    }
    assert!(paths["/api/v1/mentions"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .any(|parameter| parameter["name"] == "cursor"));
    // Every documented route and method is served (not the fallback, not a wrong method).
    for (path, operations) in paths {
        let concrete = path.replace("{id}", ALERT_ID);
        for method in operations.as_object().unwrap().keys() {
            let request = Request::builder()
                .method(method.to_uppercase().as_str())
                .uri(&concrete)
                .header(header::AUTHORIZATION, format!("Bearer {ADMIN_TOKEN}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{}"))
                .unwrap();
            let answer = send(state_with_tokens(), request).await;
            assert_ne!(
                answer.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
            if answer.status == StatusCode::NOT_FOUND {
                assert!(
                    !answer.body.contains("no route"),
                    "{method} {path}: {}",
                    answer.body
                );
            }
        }
    }
}

/// The paths the router serves, read from its `Debug` form, where axum lists every route's
/// path: the router as built, not a list kept beside it.
fn served_paths() -> BTreeSet<String> {
    let debug = format!("{:?}", earful_server::app(state()));
    debug
        .split("RouteId(")
        .skip(1)
        .filter_map(|rest| rest.split_once("): \""))
        .filter_map(|(_, rest)| rest.split('"').next())
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn the_openapi_document_and_the_router_list_the_same_api_routes() {
    let served = served_paths();
    // The parse found the router's routes (pages and API alike).
    for known in ["/", "/alerts", "/api/v1/mentions", "/metrics"] {
        assert!(served.contains(known), "{known} not in {served:?}");
    }
    let document = get(state(), "/api/v1/openapi.json").await.json();
    let documented: BTreeSet<String> = document["paths"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let api: BTreeSet<String> = served
        .iter()
        .filter(|path| path.starts_with("/api/") || *path == "/healthz" || *path == "/readyz")
        .cloned()
        .collect();
    assert_eq!(
        api, documented,
        "the router serves API routes the document does not list, or the reverse"
    );
    // Method by method: a documented method is served, any other is a 405.
    for path in &api {
        let concrete = path.replace("{id}", ALERT_ID);
        let operations = document["paths"][path].as_object().unwrap();
        for method in ["get", "post", "put", "patch", "delete"] {
            let request = Request::builder()
                .method(method.to_uppercase().as_str())
                .uri(&concrete)
                .header(header::AUTHORIZATION, format!("Bearer {ADMIN_TOKEN}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{}"))
                .unwrap();
            let answer = send(state_with_tokens(), request).await;
            if operations.contains_key(method) {
                assert_ne!(
                    answer.status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path}"
                );
            } else {
                assert_eq!(
                    answer.status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is served but not documented: {}",
                    answer.body
                );
                assert_eq!(answer.code(), "method_not_allowed");
            }
        }
    }
}

/// The document passes a real OpenAPI validator (`openapi-spec-validator`, from PyPI;
/// scripts/test.sh installs it).
#[tokio::test]
async fn the_openapi_document_is_valid_openapi() {
    let answer = get(state(), "/api/v1/openapi.json").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, &answer.body).unwrap();
    let output = tokio::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator", "--schema", "3.1"])
        .arg(&file)
        .output()
        .await
        .expect("python3 runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !said.contains("No module named"),
        "this test needs `pip install openapi-spec-validator` (scripts/test.sh does it): {said}"
    );
    assert!(
        output.status.success(),
        "the OpenAPI document is invalid: {said}"
    );
    assert!(said.contains("OK"), "{said}");
}

#[tokio::test]
async fn tokens_guard_reads_and_admin_actions() {
    let locked = get(state_with_tokens(), "/api/v1/mentions").await;
    assert_eq!(locked.status, StatusCode::UNAUTHORIZED);
    assert_eq!(locked.code(), "unauthorized");
    assert_eq!(locked.headers[header::WWW_AUTHENTICATE], "Bearer");

    let wrong = get_with(
        state_with_tokens(),
        "/api/v1/mentions",
        "read-token-0123456788",
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);

    let read = get_with(state_with_tokens(), "/api/v1/mentions", READ_TOKEN).await;
    assert_eq!(read.status, StatusCode::OK);

    let ack = |token: &'static str| {
        Request::post(format!("/api/v1/alerts/{ALERT_ID}/ack"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    let forbidden = send(state_with_tokens(), ack(READ_TOKEN)).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    assert_eq!(forbidden.code(), "forbidden");
    assert!(forbidden.body.contains("reader"));

    // No tokens configured: reads are open, admin actions still need a token.
    let anonymous_ack = send(
        state(),
        Request::post(format!("/api/v1/alerts/{ALERT_ID}/ack"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(anonymous_ack.status, StatusCode::FORBIDDEN);

    // A page sends a browser without a token to the login form.
    let browser = Request::get("/")
        .header(header::ACCEPT, "text/html,application/xhtml+xml")
        .body(Body::empty())
        .unwrap();
    let page = send(state_with_tokens(), browser).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.headers[header::LOCATION], "/login");
}

#[tokio::test]
async fn alerts_are_listed_acknowledged_and_silenced() {
    let alerts = get(state(), "/api/v1/alerts?watch=acme").await.json();
    assert_eq!(alerts[0]["id"], ALERT_ID);
    assert_eq!(alerts[0]["state"], "firing");
    assert!(alerts[0]["evidence"]["observed"].is_number());
    assert_eq!(
        get(state(), "/api/v1/alerts?watch=globex").await.json(),
        serde_json::json!([])
    );
    let one = get(state(), &format!("/api/v1/alerts/{ALERT_ID}")).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(
        get(state(), "/api/v1/alerts/al_missing").await.status,
        StatusCode::NOT_FOUND
    );

    let silence = |body: &str| {
        Request::post("/api/v1/silences")
            .header(header::AUTHORIZATION, format!("Bearer {ADMIN_TOKEN}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let made = send(
        state_with_tokens(),
        silence(r#"{"watch": "globex", "duration": "2h", "reason": "launch day"}"#),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    assert_eq!(made.json()["created_by"], "ops");
    let listed = get(state(), "/api/v1/silences").await.json();
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["reason"] == "launch day"));

    // An admin ends the silence early; a reader may not, and it ends only once.
    let end = |token: &str, id: &str| {
        Request::delete(format!("/api/v1/silences/{id}"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    let silence_id = made.json()["id"].clone();
    let refused = send(
        state_with_tokens(),
        end(READ_TOKEN, &silence_id.to_string()),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let ended = send(
        state_with_tokens(),
        end(ADMIN_TOKEN, &silence_id.to_string()),
    )
    .await;
    assert_eq!(ended.status, StatusCode::NO_CONTENT, "{}", ended.body);
    let listed = get(state(), "/api/v1/silences").await.json();
    assert!(!listed
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["id"] == silence_id));
    let again = send(
        state_with_tokens(),
        end(ADMIN_TOKEN, &silence_id.to_string()),
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(again.code(), "not_found");
    let garbled = send(state_with_tokens(), end(ADMIN_TOKEN, "soon")).await;
    assert_eq!(garbled.status, StatusCode::BAD_REQUEST);
    assert!(garbled.body.contains("soon"), "{}", garbled.body);

    let unknown = send(
        state_with_tokens(),
        silence(r#"{"watch": "initech", "duration": "2h"}"#),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(unknown.body.contains("initech"));
    let endless = send(
        state_with_tokens(),
        silence(r#"{"watch": "acme", "duration": "1000d"}"#),
    )
    .await;
    assert_eq!(endless.status, StatusCode::BAD_REQUEST);
    let malformed = send(state_with_tokens(), silence(r#"{"watch": 3}"#)).await;
    assert!(malformed.status.is_client_error());
    assert!(!malformed.code().is_empty(), "{}", malformed.body);

    // Without a state database the alert routes say so.
    let bare = ApiState::new(fixture().index.clone());
    let unavailable = get(bare, "/api/v1/alerts").await;
    assert_eq!(unavailable.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(unavailable.code(), "unavailable");
}

#[tokio::test]
async fn large_requests_are_refused() {
    let limits = Limits {
        max_body_bytes: 1_024,
        max_query_bytes: 256,
        ..Limits::default()
    };
    let long_query = format!("/api/v1/mentions?q={}", "acme%20OR%20".repeat(40));
    let answer = get(state().with_limits(limits.clone()), &long_query).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.code(), "too_large");

    let big_body = Request::post("/api/v1/silences")
        .header(header::AUTHORIZATION, format!("Bearer {ADMIN_TOKEN}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, 4_096)
        .body(Body::from(vec![b' '; 4_096]))
        .unwrap();
    let answer = send(state_with_tokens().with_limits(limits), big_body).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.code(), "too_large");
}

#[tokio::test(start_paused = true)]
async fn slow_requests_time_out() {
    let limits = Limits {
        request_timeout: Duration::from_secs(5),
        ..Limits::default()
    };
    let slow = axum::Router::new().route(
        "/slow",
        axum::routing::get(|| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            "late"
        }),
    );
    let response = apply_limits(slow, &limits)
        .oneshot(Request::get("/slow").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
    let body = axum::body::to_bytes(response.into_body(), 4_096)
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["error"]["code"], "timeout");
}
