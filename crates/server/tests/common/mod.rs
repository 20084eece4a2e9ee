//! The shared test fixture: a real tantivy index on disk and a real SQLite state database,
//! built once per test binary from mentions enriched the way `earful ingest` enriches them.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::PathBuf;
use std::sync::{Arc, LazyLock};

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use earful_core::config::Config;
use earful_core::{Label, Mention, MentionInput};
use earful_index::{Batch, IndexOptions, MentionIndex};
use earful_server::ApiState;
use earful_store::{AlertState, AlertWrite, Event, Store};
use time::macros::datetime;
use time::OffsetDateTime;
use tower::ServiceExt;

pub const READ_TOKEN: &str = "read-token-0123456789";
pub const ADMIN_TOKEN: &str = "admin-token-0123456789";
pub const ALERT_ID: &str = "al_3f1c0e2b9d8a7c61";
pub const XSS_ID: &str = "feed:xss";
pub const FORMULA_ID: &str = "feed:formula";

/// The config the fixture's mentions were enriched with.
pub const CONFIG: &str = r#"version = 1
[[watch]]
name = "acme"
query = 'acme -"acme acres"'

[[watch]]
name = "globex"
query = "globex"

[[source]]
name = "hn-acme"
kind = "hackernews"
watches = ["acme"]

[[source]]
name = "masto-acme"
kind = "mastodon"
watches = ["acme"]
token = "mastodon-secret-value"

[[source]]
name = "acme-blog"
kind = "feed"
url = "https://acme.example/feed.xml"

[[source]]
name = "quiet-feed"
kind = "feed"
url = "https://quiet.example/feed.xml"
"#;

pub struct Fixture {
    pub index: Arc<MentionIndex>,
    pub store_path: PathBuf,
    pub config: Config,
    /// Every indexed mention, as the enricher made it (the expected side of the tests).
    pub mentions: Vec<Mention>,
}

/// The first hour of the fixture's mentions; they are one hour apart.
pub const START: OffsetDateTime = datetime!(2026-11-20 00:00 UTC);

const TEXTS: [&str; 5] = [
    "I love Acme, the new release is great and really fast",
    "Acme outage again. Terrible support and still no refund!",
    "Acme released version 4 of the dashboard today",
    "Der Kundendienst von Acme war leider wirklich sehr schlecht und langsam.",
    "Globex and Acme both announced pricing changes; Globex is cheaper but awful",
];
const SOURCES: [(&str, &str); 3] = [
    ("hackernews", "hn-acme"),
    ("mastodon", "masto-acme"),
    ("feed", "acme-blog"),
];
const AUTHORS: [&str; 4] = ["jdoe", "asmith", "bkim", "jdoe"];

fn inputs() -> Vec<serde_json::Value> {
    let mut inputs: Vec<serde_json::Value> = (0..45)
        .map(|number: usize| {
            let (source, feed) = SOURCES[number % SOURCES.len()];
            let published = START + time::Duration::hours(number as i64);
            serde_json::json!({
                "id": format!("{source}:{number}"),
                "source": source,
                "feed": feed,
                "url": format!("https://{source}.example/item/{number}"),
                "author": AUTHORS[number % AUTHORS.len()],
                "author_reach": number * 10,
                "text": TEXTS[number % TEXTS.len()],
                "published_at": earful_core::time::format_timestamp(published),
            })
        })
        .collect();
    inputs.push(serde_json::json!({
        "id": XSS_ID,
        "source": "feed",
        "feed": "acme-blog",
        "url": "javascript:alert(3)",
        "author": "<b>mallory</b>",
        // Sources give HTML; after HTML removal the text holds the markup as literal text.
        "title": "Acme &lt;img src=x onerror=alert(2)&gt;",
        "text": "Acme support is &lt;script&gt;alert(1)&lt;/script&gt; awful &amp; slow",
        "published_at": "2026-11-21T20:30:00Z",
    }));
    // Spreadsheet formulas in attacker-controlled cells, for the CSV export.
    inputs.push(serde_json::json!({
        "id": FORMULA_ID,
        "source": "feed",
        "feed": "acme-blog",
        "url": "https://acme.example/formula",
        "author": "@mallory",
        "title": "+cmd|' /C calc'!A0",
        "text": "=HYPERLINK(\"https://evil.example\",\"Acme refund\") terrible",
        "published_at": "2026-11-21T20:40:00Z",
    }));
    inputs
}

fn build() -> Fixture {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "earful-server-{}",
        std::env::current_exe()
            .ok()
            .and_then(|exe| exe
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned()))
            .unwrap_or_default()
    ));
    // A fresh fixture per run: the directory of an earlier run is replaced.
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let config = Config::parse(CONFIG, "test.toml", |_| None).unwrap();
    let enricher = earful_enrich::Enricher::from_config(&config).unwrap();
    let now = datetime!(2026-11-22 12:00 UTC);
    let mentions: Vec<Mention> = inputs()
        .into_iter()
        .map(|input| {
            let input = MentionInput::from_json(&input.to_string()).unwrap();
            enricher.enrich(input, now)
        })
        .collect();
    let index = MentionIndex::open(&root.join("index"), IndexOptions::default()).unwrap();
    let writer = index.start_writer().unwrap();
    writer
        .send(Batch {
            mentions: mentions.clone(),
            cursors: Default::default(),
        })
        .unwrap();
    writer.shutdown().unwrap();
    index.reload().unwrap();

    let store_path = root.join("state.sqlite");
    let mut store = Store::open(&store_path).unwrap();
    let alert: serde_json::Value =
        serde_json::from_str(include_str!("../../../alert/tests/fixtures/alert-v1.json")).unwrap();
    store
        .record_alert(
            &AlertWrite {
                id: ALERT_ID.into(),
                watch: "acme".into(),
                kind: "negative_spike".into(),
                episode_start: datetime!(2026-11-21 10:00 UTC),
                state: AlertState::Firing,
                at: datetime!(2026-11-21 10:10 UTC),
                evidence: alert["evidence"].clone(),
            },
            Some(Event::Firing),
            &[],
        )
        .unwrap();
    // Poll health as the collectors write it: one source fine, one failing.
    let polled = datetime!(2026-11-21 23:55 UTC);
    store
        .put_source_health(
            "masto-acme",
            "mastodon",
            &serde_json::json!({"state": "ok", "last_success": "2026-11-21T23:55:00Z",
                "consecutive_failures": 0, "polls": 12, "items": 20}),
            polled,
        )
        .unwrap();
    store
        .put_source_health(
            "hn-acme",
            "hackernews",
            &serde_json::json!({"state": "failing", "consecutive_failures": 11,
                "last_error": {"class": "server", "message": "fetching `https://hn.algolia.com/api/v1/search_by_date`: 503 <Service Unavailable>", "at": "2026-11-21T23:55:00Z"},
                "next_attempt": "2026-11-22T05:55:00Z"}),
            polled,
        )
        .unwrap();
    Fixture {
        index: Arc::new(index),
        store_path,
        config,
        mentions,
    }
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(build);

pub fn fixture() -> &'static Fixture {
    &FIXTURE
}

/// The state over the fixture, with its config (no tokens) and a connection to its store.
pub fn state() -> ApiState {
    let fixture = fixture();
    ApiState::from_config(fixture.index.clone(), &fixture.config)
        .unwrap()
        .with_state_database(Store::open(&fixture.store_path).unwrap())
}

/// The state with a read and an admin token, anonymous reads off.
pub fn state_with_tokens() -> ApiState {
    let text = format!(
        "{CONFIG}[server]\ntokens = [{{ name = \"reader\", token = \"{READ_TOKEN}\" }}, {{ name = \"ops\", token = \"{ADMIN_TOKEN}\", role = \"admin\" }}]\n"
    );
    let config = Config::parse(&text, "test.toml", |_| None).unwrap();
    state().with_server_config(&config.server)
}

pub fn count(predicate: impl Fn(&Mention) -> bool) -> usize {
    fixture()
        .mentions
        .iter()
        .filter(|mention| predicate(mention))
        .count()
}

pub fn labelled(label: Label) -> usize {
    count(|mention| mention.sentiment.label == label)
}

/// A response, read whole.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.body))
    }

    /// The `error.code` of a JSON error body.
    pub fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }
}

pub async fn send(state: ApiState, request: Request<Body>) -> Answer {
    let response = earful_server::app(state).oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    Answer {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

pub async fn get(state: ApiState, uri: &str) -> Answer {
    send(state, Request::get(uri).body(Body::empty()).unwrap()).await
}

pub async fn get_with(state: ApiState, uri: &str, token: &str) -> Answer {
    let request = Request::get(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    send(state, request).await
}
