//! `github` against the recorded issue search and its headers.

use earful_collect::HttpState;
use time::macros::datetime;
use time::OffsetDateTime;

use super::util::{Reply, TestServer};
use super::{fixture_json, ids, json_reply, poll, source, terms};

const PATH: &str = "/search/issues";
const WINDOW: OffsetDateTime = datetime!(2022-07-18 0:00 UTC);

fn github(server: &TestServer) -> earful_collect::sources::AnySource {
    source(
        "github",
        "gh-sesame",
        &server.base_url(),
        serde_json::json!({"token": "ghp-never-shown"}),
    )
}

/// The recorded search with its recorded rate-limit headers.
fn recorded(reply: Reply) -> Reply {
    reply
        .header("x-ratelimit-limit", "30")
        .header("x-ratelimit-remaining", "29")
        .header("x-ratelimit-reset", "1658205727")
        .header("x-ratelimit-used", "1")
        .header("x-ratelimit-resource", "search")
        .header("cache-control", "no-cache")
}

/// A second page: a pull request and an issue with no body, both newer.
fn second_page() -> serde_json::Value {
    let mut body = fixture_json("github.json");
    let items = body["items"].as_array_mut().unwrap();
    items[0]["id"] = 1_308_970_100u64.into();
    items[0]["created_at"] = "2022-07-19T05:00:00Z".into();
    items[0]["html_url"] = "https://github.com/octokit-fixture-org/repo/pull/3".into();
    items[0]["pull_request"] =
        serde_json::json!({"url": "https://api.github.com/repos/o/r/pulls/3"});
    items[0]["reactions"]["total_count"] = 4.into();
    items[1]["id"] = 1_308_970_101u64.into();
    items[1]["created_at"] = "2022-07-19T05:01:00Z".into();
    items[1]["body"] = serde_json::Value::Null;
    body
}

#[tokio::test]
async fn issues_map_every_field_and_page_with_the_link_header() {
    let server = TestServer::start().await;
    let next = format!(
        "<{}?q=x&page=2>; rel=\"next\", <{}?q=x&page=2>; rel=\"last\"",
        server.url(PATH),
        server.url(PATH)
    );
    server.serve_in_turn(
        PATH,
        vec![
            recorded(Reply::fixture("github.json")).header("link", &next),
            recorded(json_reply(&second_page())),
        ],
    );
    let (result, fetcher) = poll(
        &github(&server),
        HttpState::default(),
        None,
        &terms("sesame"),
        WINDOW,
    )
    .await;
    let collected = result.unwrap();
    assert!(collected.skipped.is_empty(), "{:?}", collected.skipped);
    assert_eq!(
        ids(&collected),
        [
            "github:1308970076",
            "github:1308970043",
            "github:1308970100",
            "github:1308970101"
        ]
    );
    let requests = server.requests_to(PATH);
    assert_eq!(requests.len(), 2);
    for (page, request) in requests.iter().enumerate() {
        assert_eq!(
            request.query_param("q").as_deref(),
            Some("\"sesame\" created:>=2022-07-18T00:00:00Z")
        );
        assert_eq!(request.query_param("page"), Some((page + 1).to_string()));
        assert_eq!(request.query_param("sort").as_deref(), Some("created"));
        assert_eq!(request.query_param("order").as_deref(), Some("asc"));
        assert_eq!(request.query_param("per_page").as_deref(), Some("100"));
        assert_eq!(
            request.query_param("advanced_search").as_deref(),
            Some("true")
        );
        assert_eq!(
            request.header("accept"),
            Some("application/vnd.github+json")
        );
        assert_eq!(request.header("x-github-api-version"), Some("2022-11-28"));
        assert_eq!(
            request.header("authorization"),
            Some("Bearer ghp-never-shown")
        );
    }
    // 29 of 30 left: no reason to wait.
    assert_eq!(fetcher.signals().defer_until, None);

    let issue = &collected.mentions[0];
    assert_eq!(issue.source.as_deref(), Some("github"));
    assert_eq!(
        issue.url.as_deref(),
        Some("https://github.com/octokit-fixture-org/tmp-scenario-search-issues-20220719044045959-jlcli/issues/2")
    );
    assert_eq!(issue.author.as_deref(), Some("octokit-fixture-user-b"));
    assert_eq!(
        issue.title.as_deref(),
        Some("Sesame seeds split without a pop!")
    );
    assert_eq!(
        issue.text,
        "I’ve waited all year long, but there was no pop 😭"
    );
    assert_eq!(issue.engagement, Some(0));
    assert_eq!(issue.published_at, datetime!(2022-07-19 04:40:52 UTC));
    let pull = &collected.mentions[2];
    assert_eq!(
        pull.url.as_deref(),
        Some("https://github.com/octokit-fixture-org/repo/pull/3")
    );
    assert_eq!(pull.engagement, Some(4), "reactions");
    let bodiless = &collected.mentions[3];
    assert_eq!(
        bodiless.text,
        fixture_json("github.json")["items"][1]["title"]
            .as_str()
            .unwrap()
    );
    assert_eq!(bodiless.title, None);

    // The next poll asks from the newest issue on and hands on nothing twice.
    let cursor = collected.cursor.unwrap();
    server.serve(PATH, recorded(json_reply(&second_page())));
    server.clear_requests();
    let (second, _) = poll(
        &github(&server),
        HttpState::default(),
        Some(&cursor),
        &terms("sesame"),
        WINDOW,
    )
    .await;
    assert!(second.unwrap().mentions.is_empty());
    assert_eq!(
        server.requests()[0].query_param("q").as_deref(),
        Some("\"sesame\" created:>=2022-07-19T05:01:00Z")
    );
}

#[tokio::test]
async fn a_spent_search_budget_defers_to_githubs_epoch_reset() {
    let server = TestServer::start().await;
    server.serve(
        PATH,
        Reply::fixture("github.json")
            .header("x-ratelimit-remaining", "0")
            .header("x-ratelimit-reset", "1658205727"),
    );
    let (result, fetcher) = poll(
        &github(&server),
        HttpState::default(),
        None,
        &terms("sesame"),
        WINDOW,
    )
    .await;
    assert_eq!(result.unwrap().mentions.len(), 2);
    assert_eq!(
        fetcher.signals().defer_until,
        Some(OffsetDateTime::from_unix_timestamp(1_658_205_727).unwrap())
    );
}

#[tokio::test]
async fn incomplete_results_keep_the_mark_so_the_gap_is_searched_again() {
    let server = TestServer::start().await;
    let mut body = fixture_json("github.json");
    body["incomplete_results"] = true.into();
    server.serve(PATH, json_reply(&body));
    let (result, _) = poll(
        &github(&server),
        HttpState::default(),
        None,
        &terms("sesame"),
        WINDOW,
    )
    .await;
    let collected = result.unwrap();
    assert_eq!(collected.mentions.len(), 2, "what came is kept");
    let cursor = collected.cursor.unwrap();
    assert!(
        cursor["terms"]["\"sesame\""].get("at").is_none(),
        "{cursor}"
    );
}

#[tokio::test]
async fn an_issue_with_missing_fields_is_skipped_and_the_rest_kept() {
    let server = TestServer::start().await;
    let mut body = fixture_json("github.json");
    body["items"][0]
        .as_object_mut()
        .unwrap()
        .remove("created_at");
    server.serve(PATH, json_reply(&body));
    let (result, _) = poll(
        &github(&server),
        HttpState::default(),
        None,
        &terms("sesame"),
        WINDOW,
    )
    .await;
    let collected = result.unwrap();
    assert_eq!(ids(&collected), ["github:1308970043"]);
    let reason = &collected.skipped[0].reason;
    assert!(
        reason.contains("issues/2") && reason.contains("created_at"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_term_two_watches_share_is_searched_once() {
    let server = TestServer::start().await;
    server.serve(PATH, Reply::fixture("github.json"));
    let mut shared = terms("sesame");
    shared.extend(terms("sesame"));
    shared[1].watch = "other".to_string();
    let (result, _) = poll(
        &github(&server),
        HttpState::default(),
        None,
        &shared,
        WINDOW,
    )
    .await;
    assert_eq!(result.unwrap().mentions.len(), 2);
    assert_eq!(server.requests().len(), 1);
}
