//! The Atom feeds through the app, on a real store and a real (empty) index.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use earful_index::{IndexOptions, MentionIndex};
use earful_server::{app, ApiState};
use earful_store::{AlertState, AlertWrite, Event, Store};
use tower::ServiceExt;

const FIXTURE: &str = include_str!("../../alert/tests/fixtures/alert-v1.json");

fn state(dir: &tempfile::TempDir) -> ApiState {
    let mut store = Store::open(&dir.path().join("state.sqlite")).unwrap();
    let alert: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
    let evidence = alert["evidence"].clone();
    for (id, watch) in [("al_1", "acme"), ("al_2", "globex")] {
        let write = AlertWrite {
            id: id.into(),
            watch: watch.into(),
            kind: "negative_spike".into(),
            episode_start: time::macros::datetime!(2026-11-22 10:15 UTC),
            state: AlertState::Firing,
            at: time::macros::datetime!(2026-11-22 10:25 UTC),
            evidence: evidence.clone(),
        };
        store
            .record_alert(&write, Some(Event::Firing), &[])
            .unwrap();
    }
    let index = MentionIndex::open(&dir.path().join("index"), IndexOptions::default()).unwrap();
    ApiState::new(Arc::new(index))
        .with_state_database(store)
        .with_base_url("http://127.0.0.1:7878")
}

async fn get(state: ApiState, path: &str) -> (StatusCode, String, String) {
    let response = app(state)
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|value| value.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        content_type,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

#[tokio::test]
async fn the_feeds_list_alerts_with_their_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(&dir);

    let (status, content_type, body) = get(state.clone(), "/feeds/alerts.atom").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/atom+xml; charset=utf-8");
    let feed: atom_syndication::Feed = body.parse().unwrap();
    assert_eq!(feed.entries.len(), 2);
    let entry = feed
        .entries
        .iter()
        .find(|entry| entry.id == "urn:earful:alert:al_1")
        .unwrap();
    assert!(
        entry.title.value.contains("acme: negative spike"),
        "{}",
        entry.title.value
    );
    let content = entry.content.as_ref().unwrap().value.as_deref().unwrap();
    assert!(content.contains("Rising terms: outage"), "{content}");
    assert!(
        content.contains("https://news.ycombinator.com/item?id=41234567"),
        "{content}"
    );

    // The entry links to the alert's page, which this server serves.
    let href = &entry.links[0].href;
    let path = href.strip_prefix("http://127.0.0.1:7878").unwrap();
    assert_eq!(path, "/alerts/al_1");
    let (status, content_type, page) = get(state.clone(), path).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(content_type.starts_with("text/html"));
    assert!(page.contains("data-id=\"al_1\""));

    let (status, _, body) = get(state.clone(), "/feeds/alerts/globex.atom").await;
    assert_eq!(status, StatusCode::OK);
    let feed: atom_syndication::Feed = body.parse().unwrap();
    assert_eq!(feed.entries.len(), 1);
    assert_eq!(feed.entries[0].id, "urn:earful:alert:al_2");
    assert_eq!(feed.title.value, "Earful alerts: globex");

    let (status, _, body) = get(state.clone(), "/feeds/alerts/nobody.atom").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body
        .parse::<atom_syndication::Feed>()
        .unwrap()
        .entries
        .is_empty());

    let (status, _, body) = get(state, "/feeds/alerts/acme.rss").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("feeds end in `.atom`"), "{body}");
}

#[tokio::test]
async fn without_a_state_database_the_feeds_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let index = MentionIndex::open(&dir.path().join("index"), IndexOptions::default()).unwrap();
    let (status, _, body) = get(ApiState::new(Arc::new(index)), "/feeds/alerts.atom").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("state database"), "{body}");
}
