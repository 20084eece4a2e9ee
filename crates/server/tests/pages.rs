//! The web pages through the router: escaping of attacker-controlled text, filters, the chart,
//! paging links, the CSV export, the sources and alerts pages, and the login.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::*;
use earful_core::Label;

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
    let lines = csv::Reader::from_reader(all.body.as_bytes())
        .records()
        .count();
    assert_eq!(lines, fixture().mentions.len());
}

#[tokio::test]
async fn the_sources_page_tells_quiet_sources_apart() {
    let page = get(state(), "/sources").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<td>quiet-feed</td>"));
    assert!(page.body.contains("no mentions indexed"));
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
