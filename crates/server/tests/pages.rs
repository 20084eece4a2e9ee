//! The web pages through the router: escaping of attacker-controlled text, filters, the chart,
//! paging links, the CSV export, the sources and alerts pages, and the login.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::*;
use earful_core::Label;
use earful_server::ApiState;
use earful_store::{AlertState, AlertWrite, Event, Store};

#[tokio::test]
async fn mention_text_is_escaped_everywhere() {
    let stored = fixture().mentions.iter().find(|m| m.id == XSS_ID).unwrap();
    assert!(
        stored.text.contains("<script>alert(1)</script>"),
        "{}",
        stored.text
    );
    for uri in [
        "/?q=script",
        "/?q=acme&feed=acme-blog&sort=oldest&limit=100",
        "/?feed=acme-blog&limit=100",
    ] {
        let page = get(state(), uri).await;
        assert_eq!(page.status, StatusCode::OK, "{uri}");
        assert!(
            page.body.contains(XSS_ID),
            "{uri}: the mention is not on the page"
        );
        assert!(
            !page.body.contains("<script>alert(1)</script>"),
            "{uri}: {}",
            page.body
        );
        assert!(!page.body.contains("<img src=x"), "{uri}");
        assert!(!page.body.contains("<b>mallory</b>"), "{uri}");
        assert!(
            !page.body.contains("javascript:alert(3)"),
            "{uri}: an unsafe link is printed"
        );
        let shown = page
            .body
            .split(XSS_ID)
            .nth(1)
            .unwrap_or("")
            .split("</li>")
            .next()
            .unwrap_or("");
        // Shown as text: the brackets escaped (the match itself may be marked in `<b>`).
        assert!(shown.contains("alert(1)"), "{uri}: {shown}");
        assert!(
            !shown.contains("<script") && !shown.contains("</script"),
            "{uri}: {shown}"
        );
        assert!(
            shown.contains("&lt;") || shown.contains("&#60;"),
            "{uri}: {shown}"
        );
        assert!(page.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("default-src 'none'"));
    }
}

#[tokio::test]
async fn the_search_page_has_filters_chart_results_and_paging() {
    let page = get(state(), "/?q=acme&label=negative&limit=5").await;
    assert_eq!(page.status, StatusCode::OK);
    let body = &page.body;
    let negatives =
        count(|m| m.sentiment.label == Label::Negative && m.text.to_lowercase().contains("acme"));
    assert!(
        body.contains(&format!("<strong>{negatives}</strong>")),
        "{body}"
    );
    assert_eq!(body.matches("<li class=\"mention\"").count(), 5);
    assert!(body.contains("<option value=\"negative\" selected>"));
    assert!(body.contains("<option value=\"acme\">acme</option>"));
    assert!(body.contains("<option value=\"mastodon\">mastodon</option>"));
    assert!(body.contains("<svg"));
    assert!(body.contains("class=\"negative\""));
    // The firing alert of `acme` on 2026-11-21 is inside the chart's range.
    assert!(body.contains("class=\"alert-marker\""), "no alert marker");
    // The sentiment explanation, per token.
    assert!(body.contains("<details class=\"why\">"));
    assert!(body.contains("<td>Terrible</td>"), "no token contributions");
    assert!(body.contains("<b>Acme</b>") || body.contains("<b>acme</b>"));
    let next = body
        .split("id=\"next\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a next-page link")
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    assert!(next.contains("cursor="));
    assert!(next.contains("label=negative"));
    let second = get(state(), &next).await;
    assert_eq!(second.status, StatusCode::OK);
    assert!(second.body.contains("id=\"first\""));
    assert!(next.contains("limit=5"));
    assert!(body.contains("href=\"/export.csv?q=acme&#38;label=negative&#38;limit=5\""));
}

#[tokio::test]
async fn a_bad_query_shows_on_the_page() {
    let page = get(state(), "/?q=acme%20AND%20(").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("id=\"error\""));
    assert!(page.body.contains("at character"));
    // The form keeps what was typed.
    assert!(page.body.contains("value=\"acme AND (\""));
}

#[tokio::test]
async fn the_export_streams_every_match_as_csv() {
    let answer = get(state(), "/export.csv?watch=globex&sort=oldest").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let mut reader = csv::Reader::from_reader(answer.body.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "id");
    assert_eq!(&headers[13], "text");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(
        rows.len(),
        count(|m| m.watches.iter().any(|w| w == "globex"))
    );
    assert!(rows.iter().all(|row| row[13].contains("Globex")));
    let times: Vec<&str> = rows.iter().map(|row| row.get(1).unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);

    let all = get(state(), "/export.csv").await;
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(all.body.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), fixture().mentions.len());
    // No cell starts a spreadsheet formula; negative scores stay numbers.
    let formula = rows.iter().find(|row| &row[0] == FORMULA_ID).unwrap();
    assert!(formula[13].starts_with("'=HYPERLINK("), "{formula:?}");
    assert!(formula[12].starts_with("'+cmd"), "{formula:?}");
    assert_eq!(&formula[5], "'@mallory");
    for row in &rows {
        for cell in row.iter() {
            assert!(
                !cell.starts_with(['=', '+', '@', '\t', '\r'])
                    && (!cell.starts_with('-') || cell.parse::<f64>().is_ok()),
                "{row:?}"
            );
        }
    }
    assert!(rows
        .iter()
        .any(|row| row[8].starts_with('-') && row[8].parse::<f64>().unwrap() < 0.0));
}

#[tokio::test]
async fn the_sources_page_tells_quiet_sources_apart() {
    let page = get(state(), "/sources").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<td>quiet-feed</td>"));
    assert!(page.body.contains("<td>not polled yet, no mentions</td>"));
    assert!(page.body.contains("<td>source broken</td>"));
    assert!(page.body.contains("<td>working, mentions indexed</td>"));
    assert!(page.body.contains(&format!(
        "<td class=\"number\">{}</td>",
        count(|m| m.feed == "masto-acme")
    )));
    assert!(!page.body.contains("mastodon-secret-value"));
    assert!(
        page.body.contains("<td class=\"unhealthy\">failing · 11 failed in a row · last error (server): fetching `https://hn.algolia.com/api/v1/search_by_date`: 503 &#60;Service Unavailable&#62; · next poll 2026-11-22T05:55:00Z</td>"),
        "{}",
        page.body
    );
    assert!(page
        .body
        .contains("<td class=\"healthy\">ok · last success 2026-11-21T23:55:00Z</td>"));
    assert!(page.body.contains("not polled yet"));
}

#[tokio::test]
async fn logging_in_lets_an_admin_acknowledge_from_the_alerts_page() {
    let tokens = state_with_tokens;
    let wrong = send(
        tokens(),
        Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("token=nope"))
            .unwrap(),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);

    let login = send(
        tokens(),
        Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("token={ADMIN_TOKEN}")))
            .unwrap(),
    )
    .await;
    assert_eq!(login.status, StatusCode::SEE_OTHER);
    let cookie = login.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let cookie = cookie.split(';').next().unwrap().to_string();

    let with_cookie =
        |request: axum::http::request::Builder| request.header(header::COOKIE, cookie.clone());
    let page = send(
        tokens(),
        with_cookie(Request::get("/alerts"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(ALERT_ID));
    assert!(page.body.contains("href=\"/feeds/alerts.atom\""));
    assert!(
        page.body
            .contains("42 observed, 3.1 expected, score 9.4, 82% negative"),
        "no evidence summary"
    );

    // A reader sees the alerts but no buttons.
    let reader = get_with(tokens(), "/alerts", READ_TOKEN).await;
    assert_eq!(reader.status, StatusCode::OK);
    assert!(!reader.body.contains("Acknowledge</button>"));
    let refused = send(
        tokens(),
        Request::post("/silences")
            .header(header::AUTHORIZATION, format!("Bearer {READ_TOKEN}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("watch=acme&duration=1h"))
            .unwrap(),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let silenced = send(
        tokens(),
        with_cookie(Request::post("/silences"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("watch=acme&duration=1h&reason=known+incident"))
            .unwrap(),
    )
    .await;
    assert_eq!(silenced.status, StatusCode::SEE_OTHER, "{}", silenced.body);
    let page = send(
        tokens(),
        with_cookie(Request::get("/alerts"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(page.body.contains("known incident"));
}

#[tokio::test]
async fn the_style_sheet_is_served_without_a_token() {
    let css = get(state_with_tokens(), "/assets/earful.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    assert!(!css.body.contains("@import") && !css.body.contains("url("));
}

#[tokio::test]
async fn the_alert_feeds_are_mounted_behind_the_tokens() {
    assert_eq!(
        get(state_with_tokens(), "/feeds/alerts.atom").await.status,
        StatusCode::UNAUTHORIZED
    );
    let feed = get_with(state_with_tokens(), "/feeds/alerts.atom", READ_TOKEN).await;
    assert_eq!(feed.status, StatusCode::OK);
    assert!(feed.body.contains(ALERT_ID));
}

/// A state over the fixture's index with a fresh state database holding one alert whose
/// evidence is `evidence`, and the fixture's tokens.
fn state_with_alert(dir: &tempfile::TempDir, id: &str, evidence: serde_json::Value) -> ApiState {
    let mut store = Store::open(&dir.path().join("state.sqlite")).unwrap();
    store
        .record_alert(
            &AlertWrite {
                id: id.into(),
                watch: "acme".into(),
                kind: "negative_spike".into(),
                episode_start: time::macros::datetime!(2026-11-21 10:00 UTC),
                state: AlertState::Firing,
                at: time::macros::datetime!(2026-11-21 10:10 UTC),
                evidence,
            },
            Some(Event::Firing),
            &[],
        )
        .unwrap();
    state_with_tokens().with_state_database(store)
}

fn fixture_evidence() -> serde_json::Value {
    let alert: serde_json::Value =
        serde_json::from_str(include_str!("../../alert/tests/fixtures/alert-v1.json")).unwrap();
    alert["evidence"].clone()
}

#[tokio::test]
async fn an_alert_has_its_own_page_with_all_of_its_evidence() {
    let page = get(state(), &format!("/alerts/{ALERT_ID}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = &page.body;
    assert!(body.contains(&format!("data-id=\"{ALERT_ID}\"")));
    assert!(body.contains("42 observed, 3.1 expected, score 9.4, 82% negative"));
    assert!(body.contains("82% (baseline 14%)"), "{body}");
    assert!(
        body.contains("<td>outage</td><td class=\"number\">31</td>"),
        "{body}"
    );
    assert!(body.contains("hackernews (30), mastodon (12)"), "{body}");
    assert!(body.contains("Acme is down again, third outage this month. Terrible."));
    assert!(body.contains("href=\"https://news.ycombinator.com/item?id=41234567\""));
    assert!(
        body.contains("because: outage -2.50, Terrible -2.10"),
        "{body}"
    );
    assert!(body.contains("reach 1520"));
    assert!(body.contains(
        "href=\"/?watch=acme&#38;label=negative&#38;since=2026-11-22T10%3A15%3A00Z&#38;until=2026-11-22T10%3A25%3A00Z\""
    ), "{body}");
    // The watch's feed, as a link and for feed readers.
    assert!(body.contains("href=\"/feeds/alerts/acme.atom\""));
    assert!(body.contains("rel=\"alternate\" type=\"application/atom+xml\""));
    // Without an admin token: the evidence, no buttons, and why.
    assert!(!body.contains("Acknowledge</button>"));
    assert!(!body.contains("id=\"silence\""));
    assert!(body.contains("id=\"read-only\""));

    // The list links each alert to its page.
    let list = get(state(), "/alerts").await;
    assert!(list.body.contains(&format!("href=\"/alerts/{ALERT_ID}\"")));
    assert!(
        list.body.contains("<td>outage</td>"),
        "the list shows no evidence"
    );
    assert!(list.body.contains("id=\"read-only\""));

    let missing = get(state(), "/alerts/al_missing").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("id=\"error\""));
    assert!(missing.body.contains("al_missing"));
    assert!(missing.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));

    let bare = get(
        ApiState::new(fixture().index.clone()),
        &format!("/alerts/{ALERT_ID}"),
    )
    .await;
    assert_eq!(bare.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(bare.body.contains("state database"));
}

#[tokio::test]
async fn an_admin_acknowledges_and_silences_from_the_alert_page() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_with_alert(&dir, "al_page", fixture_evidence());
    let page = get_with(state.clone(), "/alerts/al_page", ADMIN_TOKEN).await;
    assert!(
        page.body.contains("name=\"back\" value=\"alert\""),
        "{}",
        page.body
    );
    assert!(page
        .body
        .contains("<input type=\"hidden\" name=\"watch\" value=\"acme\">"));
    let post = |uri: &str, form: &str| {
        Request::post(uri)
            .header(header::AUTHORIZATION, format!("Bearer {ADMIN_TOKEN}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form.to_string()))
            .unwrap()
    };
    let acked = send(state.clone(), post("/alerts/al_page/ack", "back=alert")).await;
    assert_eq!(acked.status, StatusCode::SEE_OTHER, "{}", acked.body);
    assert_eq!(acked.headers[header::LOCATION], "/alerts/al_page");
    let page = get_with(state.clone(), "/alerts/al_page", ADMIN_TOKEN).await;
    assert!(page.body.contains("acknowledged by ops"));
    assert!(!page.body.contains("Acknowledge</button>"));
    // From the list, back to the list.
    let again = send(state.clone(), post("/alerts/al_page/ack", "back=list")).await;
    assert_eq!(again.headers[header::LOCATION], "/alerts");
    let missing = send(state.clone(), post("/alerts/al_nothing/ack", "back=alert")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("al_nothing"));
    // A reader may look, not act.
    let refused = send(
        state.clone(),
        Request::post("/alerts/al_page/ack")
            .header(header::AUTHORIZATION, format!("Bearer {READ_TOKEN}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("back=alert"))
            .unwrap(),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let silenced = send(
        state.clone(),
        post("/silences", "watch=acme&duration=30m&reason=on+it"),
    )
    .await;
    assert_eq!(silenced.status, StatusCode::SEE_OTHER);
    let page = get_with(state, "/alerts/al_page", READ_TOKEN).await;
    assert!(page.body.contains("<td>on it</td>"), "{}", page.body);
}

#[tokio::test]
async fn alert_evidence_is_escaped_on_every_page() {
    let mut evidence = fixture_evidence();
    evidence["rising_terms"][0]["term"] = "<i>outage</i>".into();
    evidence["top_sources"][0]["source"] = "<u>hn</u>".into();
    let mention = &mut evidence["top_mentions"][0];
    mention["text"] = "Acme <script>alert(1)</script> is down".into();
    mention["title"] = "<img src=x onerror=alert(2)>".into();
    mention["author"] = "<b>mallory</b>".into();
    mention["url"] = "javascript:alert(3)".into();
    mention["because"][0]["token"] = "<em>down</em>".into();
    let dir = tempfile::tempdir().unwrap();
    let state = state_with_alert(&dir, "al_xss", evidence);
    for uri in ["/alerts/al_xss", "/alerts"] {
        let page = get_with(state.clone(), uri, READ_TOKEN).await;
        assert_eq!(page.status, StatusCode::OK, "{uri}");
        let body = &page.body;
        assert!(body.contains("alert(1)"), "{uri}: the mention is not shown");
        for raw in [
            "<script",
            "<img",
            "<b>mallory",
            "<i>outage",
            "<u>hn",
            "<em>down",
            "javascript:",
        ] {
            assert!(!body.contains(raw), "{uri}: `{raw}` is printed raw: {body}");
        }
        assert!(body.contains("&#60;script&#62;") || body.contains("&lt;script&gt;"));
    }
    let feed = get_with(state, "/feeds/alerts.atom", READ_TOKEN).await;
    assert_eq!(feed.status, StatusCode::OK);
    assert!(!feed.body.contains("<script"), "{}", feed.body);
    let parsed: atom_syndication::Feed = feed.body.parse().unwrap();
    let content = parsed.entries[0]
        .content
        .as_ref()
        .unwrap()
        .value
        .as_deref()
        .unwrap();
    // The text survives as text.
    assert!(content.contains("<script>alert(1)</script>"), "{content}");
}

#[tokio::test]
async fn the_search_page_offers_every_filter_of_the_index() {
    let page = get(state(), "/?feed=masto-acme&min_reach=200&lang=en&limit=100").await;
    assert_eq!(page.status, StatusCode::OK);
    let body = &page.body;
    let expected =
        count(|m| m.feed == "masto-acme" && m.author_reach.unwrap_or(0) >= 200 && m.lang == "en");
    assert!(expected > 0);
    assert!(
        body.contains(&format!("<strong>{expected}</strong>")),
        "{body}"
    );
    assert!(body.contains("<option value=\"masto-acme\" selected>"));
    assert!(body.contains("value=\"200\""));
    // Choices come from the config and from what the index holds.
    assert!(body.contains("<option value=\"quiet-feed\">"));
    assert!(body.contains("<option value=\"feed\">feed</option>"));
    assert!(
        body.contains("<datalist id=\"languages\"><option value=\"de\">"),
        "{body}"
    );
    // The badge says the scores on hover; the chart's alert markers link to the alert.
    assert!(body.contains("title=\"pos "), "{body}");
    let all = get(state(), "/?q=acme").await;
    assert!(all.body.contains(&format!(
        "<a href=\"/alerts/{ALERT_ID}\" class=\"alert-link\">"
    )));
    // The export keeps the new filters.
    assert!(
        body.contains(
            "href=\"/export.csv?feed=masto-acme&#38;lang=en&#38;min_reach=200&#38;limit=100\""
        ),
        "{body}"
    );
    let export = get(state(), "/export.csv?feed=masto-acme&min_reach=200&lang=en").await;
    assert_eq!(
        csv::Reader::from_reader(export.body.as_bytes())
            .records()
            .count(),
        expected
    );
}
