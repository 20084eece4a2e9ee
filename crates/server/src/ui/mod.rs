//! The web pages: search with filters, chart and results (`/`), the CSV export of a search
//! (`/export.csv`), the alerts (`/alerts`, and `/alerts/{id}` with one alert's evidence), source
//! health (`/sources`) and the token login. Server-rendered with askama,
//! which escapes every value it prints: mention text is attacker-controlled. No script, and
//! nothing fetched from elsewhere.

mod alerts;
mod chart;
mod export;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use earful_core::time::format_timestamp;
use earful_core::{Label, Mention, MentionQuery};
use earful_index::{Filters, SearchRequest, Sort, TopField};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::api::params::{present, search_request, FilterParams, PageParams};
use crate::api::source_infos;
use crate::auth::TOKEN_COOKIE;
use crate::error::ApiError;
use crate::state::{ApiState, LiveConfig};

use chart::Chart;

/// Most alerts marked on a chart.
const MARKED_ALERTS: usize = 500;

/// The vendored style sheet.
const STYLE: &str = include_str!("../../assets/earful.css");

/// Pages for callers allowed to read.
pub(crate) fn read_routes() -> Router<ApiState> {
    Router::new()
        .route("/", get(search_page))
        .route("/sources", get(sources_page))
        .route("/export.csv", get(export::export_csv))
        .route("/alerts", get(alerts::alerts_page))
        .route("/alerts/{id}", get(alerts::alert_page))
}

/// Forms that change state: admin only.
pub(crate) fn admin_routes() -> Router<ApiState> {
    Router::new()
        .route("/alerts/{id}/ack", axum::routing::post(alerts::acknowledge))
        .route("/silences", axum::routing::post(alerts::silence))
}

/// Pages open to all: the style sheet and the login.
pub(crate) fn open_routes() -> Router<ApiState> {
    Router::new()
        .route("/assets/earful.css", get(style))
        .route("/login", get(login_page).post(login))
        .route("/logout", axum::routing::post(logout))
}

async fn style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLE,
    )
}

/// A page, or the error page when rendering fails.
pub(crate) fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => {
            let mut response = (status, Html(html)).into_response();
            // Pages need nothing from elsewhere; saying so also blocks injected scripts.
            response.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'",
                ),
            );
            response
        }
        Err(error) => ApiError::internal(format!("template: {error}")).into_response(),
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage {
    title: String,
    message: String,
    login: bool,
}

/// An error as a page, for a browser.
pub(crate) fn message(state: &ApiState, error: ApiError) -> Response {
    let status = error.status();
    if status.is_server_error() {
        // Logged by the conversion; the page says only what the client may know.
        let _ = error.clone().into_response();
    }
    render(
        status,
        &MessagePage {
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            message: error.to_string(),
            login: state.live().auth().has_tokens(),
        },
    )
}

/// An option of a `<select>`.
#[derive(Debug)]
struct Choice {
    value: String,
    text: String,
    selected: bool,
}

fn choices(
    values: impl IntoIterator<Item = (String, String)>,
    current: Option<&str>,
) -> Vec<Choice> {
    values
        .into_iter()
        .map(|(value, text)| Choice {
            selected: current == Some(value.as_str()),
            value,
            text,
        })
        .collect()
}

/// One token's part in a score, for the explanation table.
#[derive(Debug)]
struct TokenView {
    token: String,
    lexicon: String,
    rules: String,
    valence: String,
}

/// A result, ready to print.
#[derive(Debug)]
struct HitView {
    id: String,
    /// Only `http` and `https` links are printed as links (never `javascript:`).
    url: Option<String>,
    title: Option<String>,
    /// The snippet as HTML: the index escapes the text and marks matches with `<b>`.
    snippet_html: String,
    author: String,
    reach: Option<String>,
    source: String,
    feed: String,
    watches: String,
    lang: String,
    published: String,
    label: &'static str,
    compound: Option<String>,
    proportions: Option<String>,
    tokens: Vec<TokenView>,
}

pub(crate) fn safe_link(url: Option<&str>) -> Option<String> {
    let url = url?.trim();
    let lower = url.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then(|| url.to_string())
}

fn hit_view(state: &ApiState, mention: Mention, snippet_html: String) -> HitView {
    let sentiment = &mention.sentiment;
    let proportions = match (sentiment.pos, sentiment.neu, sentiment.neg) {
        (Some(pos), Some(neu), Some(neg)) => {
            Some(format!("pos {pos:.3} · neu {neu:.3} · neg {neg:.3}"))
        }
        _ => None,
    };
    let tokens = crate::api::mentions::explain(state, &mention)
        .map(|explanation| {
            explanation
                .tokens
                .into_iter()
                .filter(|token| token.valence != 0.0 || token.lexicon_valence.is_some())
                .map(|token| TokenView {
                    lexicon: token
                        .lexicon_valence
                        .map_or_else(String::new, |valence| format!("{valence:+.2}")),
                    rules: token
                        .steps
                        .iter()
                        .map(|step| match &step.by {
                            Some(by) => format!("{} ({by})", step.rule.as_str()),
                            None => step.rule.as_str().to_string(),
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                    valence: format!("{:+.3}", token.valence),
                    token: token.token,
                })
                .collect()
        })
        .unwrap_or_default();
    HitView {
        url: safe_link(mention.url.as_deref()),
        title: mention.title.clone().filter(|title| !title.is_empty()),
        snippet_html,
        author: mention.author.clone().unwrap_or_default(),
        reach: mention.author_reach.map(|reach| reach.to_string()),
        source: mention.source.clone(),
        feed: mention.feed.clone(),
        watches: mention.watches.join(", "),
        lang: mention.lang.clone(),
        published: format_timestamp(mention.published_at),
        label: sentiment.label.as_str(),
        compound: sentiment.compound.map(|compound| format!("{compound:+.4}")),
        proportions,
        tokens,
        id: mention.id,
    }
}

/// The search form's values, echoed back into it.
#[derive(Debug, Default)]
struct FormValues {
    q: String,
    lang: String,
    since: String,
    until: String,
    min_reach: String,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    form: FormValues,
    watches: Vec<Choice>,
    sources: Vec<Choice>,
    feeds: Vec<Choice>,
    languages: Vec<String>,
    labels: Vec<Choice>,
    sorts: Vec<Choice>,
    error: Option<String>,
    total: usize,
    hits: Vec<HitView>,
    chart: Option<Chart>,
    next_link: Option<String>,
    first_link: Option<String>,
    export_link: String,
    login: bool,
}

/// The query string of a search, for links: the filters, the sort and optionally a cursor.
fn search_query(filters: &FilterParams, page: &PageParams, cursor: Option<&str>) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    let pairs = [
        ("q", &filters.q),
        ("watch", &filters.watch),
        ("source", &filters.source),
        ("feed", &filters.feed),
        ("label", &filters.label),
        ("lang", &filters.lang),
        ("since", &filters.since),
        ("until", &filters.until),
        ("min_reach", &filters.min_reach),
        ("sort", &page.sort),
        ("limit", &page.limit),
    ];
    for (name, value) in pairs {
        if let Some(value) = present(value) {
            serializer.append_pair(name, value);
        }
    }
    if let Some(cursor) = cursor {
        serializer.append_pair("cursor", cursor);
    }
    serializer.finish()
}

async fn search_page(
    State(state): State<ApiState>,
    Query(filters): Query<FilterParams>,
    Query(page): Query<PageParams>,
) -> Response {
    // One config for the whole page, even if the server is reconfigured meanwhile.
    let live = state.live();
    let known = match known_values(&state, &live).await {
        Ok(known) => known,
        Err(error) => return error.into_response(),
    };
    let mut view = SearchPage {
        form: FormValues {
            q: filters.q.clone().unwrap_or_default(),
            lang: filters.lang.clone().unwrap_or_default(),
            since: filters.since.clone().unwrap_or_default(),
            until: filters.until.clone().unwrap_or_default(),
            min_reach: filters.min_reach.clone().unwrap_or_default(),
        },
        watches: choices(
            live.watches()
                .iter()
                .map(|watch| (watch.name.clone(), watch.name.clone())),
            present(&filters.watch),
        ),
        sources: choices(
            known.sources.into_iter().map(|kind| (kind.clone(), kind)),
            present(&filters.source),
        ),
        feeds: choices(
            known.feeds.into_iter().map(|feed| (feed.clone(), feed)),
            present(&filters.feed),
        ),
        languages: known.languages,
        labels: choices(
            Label::ALL
                .into_iter()
                .map(|label| (label.as_str().to_string(), label.as_str().to_string())),
            present(&filters.label),
        ),
        sorts: choices(
            Sort::ALL
                .into_iter()
                .map(|sort| (sort.as_str().to_string(), sort.as_str().replace('_', " "))),
            present(&page.sort),
        ),
        error: None,
        total: 0,
        hits: Vec::new(),
        chart: None,
        next_link: None,
        first_link: None,
        export_link: format!("/export.csv?{}", search_query(&filters, &page, None)),
        login: live.auth().has_tokens(),
    };
    let request = match search_request(&filters, &page, OffsetDateTime::now_utc()) {
        Ok(request) => request,
        Err(error) => return error_view(view, error),
    };
    let for_chart = request.clone();
    let results = match state.with_index(move |index| index.search(&request)).await {
        Ok(results) => results,
        Err(error) => return error_view(view, error),
    };
    view.chart = match draw_chart(&state, for_chart).await {
        Ok(chart) => chart,
        Err(error) => return error_view(view, error),
    };
    view.total = results.total;
    view.next_link = results
        .next_cursor
        .as_deref()
        .map(|cursor| format!("/?{}", search_query(&filters, &page, Some(cursor))));
    view.first_link = present(&page.cursor)
        .is_some()
        .then(|| format!("/?{}", search_query(&filters, &page, None)));
    view.hits = results
        .hits
        .into_iter()
        .map(|hit| {
            let snippet = hit
                .highlight
                .map(|highlight| highlight.html)
                .unwrap_or_default();
            hit_view(&state, hit.mention, snippet)
        })
        .collect();
    render(StatusCode::OK, &view)
}

/// The values the search form offers: the configured source kinds and names, and those the
/// index holds (sources removed from the config still have mentions), and the languages.
#[derive(Debug, Default)]
struct KnownValues {
    sources: Vec<String>,
    feeds: Vec<String>,
    languages: Vec<String>,
}

/// Most values of one kind offered in the form.
const OFFERED_VALUES: usize = 100;

async fn known_values(state: &ApiState, live: &LiveConfig) -> Result<KnownValues, ApiError> {
    let mut known = KnownValues {
        sources: live
            .sources()
            .iter()
            .map(|source| source.kind.as_str().to_string())
            .collect(),
        feeds: live
            .sources()
            .iter()
            .map(|source| source.name.clone())
            .collect(),
        languages: Vec::new(),
    };
    let indexed = state
        .with_index(|index| {
            let everything = MentionQuery::parse("")?;
            let top = |field| index.top(&everything, &Filters::default(), field, OFFERED_VALUES);
            Ok((
                top(TopField::Source)?,
                top(TopField::Feed)?,
                top(TopField::Lang)?,
            ))
        })
        .await?;
    let names = |values: Vec<(String, u64)>| values.into_iter().map(|(value, _)| value);
    known.sources.extend(names(indexed.0));
    known.feeds.extend(names(indexed.1));
    known.languages.extend(names(indexed.2));
    for values in [&mut known.sources, &mut known.feeds, &mut known.languages] {
        values.retain(|value| !value.is_empty());
        values.sort();
        values.dedup();
    }
    Ok(known)
}

fn error_view(mut view: SearchPage, error: ApiError) -> Response {
    let status = error.status();
    if status.is_server_error() {
        // Logged by the conversion; the page says only that something broke.
        let _ = error.clone().into_response();
    }
    view.error = Some(error.to_string());
    render(status, &view)
}

/// The chart of the search's matches over their time range (or the filters' range).
async fn draw_chart(state: &ApiState, request: SearchRequest) -> Result<Option<Chart>, ApiError> {
    let markers = if state.has_store() {
        let watch = request.filters.watch.clone();
        state
            .with_store(move |store| store.alerts(watch.as_deref(), MARKED_ALERTS))
            .await?
            .into_iter()
            .filter(|alert| alert.state != earful_store::AlertState::Pending)
            .map(|alert| {
                let title = format!(
                    "alert {} on {} ({}), from {}",
                    alert.kind,
                    alert.watch,
                    alert.state,
                    format_timestamp(alert.episode_start)
                );
                (alert.episode_start, title, format!("/alerts/{}", alert.id))
            })
            .collect()
    } else {
        Vec::new()
    };
    state
        .with_index(move |index| {
            let SearchRequest { query, filters, .. } = request;
            let Some((since, until)) = chart_range(index, &query, &filters)? else {
                return Ok(None);
            };
            let interval = chart::interval_for(until - since);
            let start = chart::align(since, interval);
            let end = chart::align(until, interval)
                + time::Duration::try_from(interval).unwrap_or(time::Duration::HOUR);
            let ranged = Filters {
                since: Some(start),
                until: Some(end),
                ..filters
            };
            let buckets = index.timeline(&query, &ranged, interval)?;
            Ok(Some(chart::draw(&buckets, interval, &markers)))
        })
        .await
}

/// The filters' time range, completed from the oldest and newest match where open.
fn chart_range(
    index: &earful_index::MentionIndex,
    query: &MentionQuery,
    filters: &Filters,
) -> Result<Option<(OffsetDateTime, OffsetDateTime)>, earful_index::IndexError> {
    let edge = |sort: Sort| -> Result<Option<OffsetDateTime>, earful_index::IndexError> {
        let mut request = SearchRequest::new(query.clone());
        request.filters = filters.clone();
        request.sort = sort;
        request.limit = 1;
        Ok(index
            .search(&request)?
            .hits
            .first()
            .map(|hit| hit.mention.published_at))
    };
    let since = match filters.since {
        Some(since) => since,
        None => match edge(Sort::Oldest)? {
            Some(oldest) => oldest,
            None => return Ok(None),
        },
    };
    let until = match filters.until {
        Some(until) => until,
        None => match edge(Sort::Newest)? {
            Some(newest) => newest,
            None => return Ok(None),
        },
    };
    Ok(Some((since, until.max(since))))
}

/// A row of the sources table.
#[derive(Debug)]
struct SourceRow {
    name: String,
    kind: String,
    enabled: bool,
    interval: String,
    watches: String,
    indexed: u64,
    latest: String,
    status: &'static str,
    /// The poll health in words; empty when never polled.
    health: String,
    /// Whether the health says the source is failing or backing off.
    unhealthy: bool,
}

#[derive(Template)]
#[template(path = "sources.html")]
struct SourcesPage {
    rows: Vec<SourceRow>,
    login: bool,
}

/// One line on a source's poll health: its state, the last error with its class, failures in a
/// row and the next attempt, so "no mentions" and "source broken" read differently.
fn health_summary(health: &serde_json::Value) -> String {
    let mut parts = vec![health["state"]
        .as_str()
        .unwrap_or("unknown")
        .replace('_', " ")];
    if let Some(success) = health["last_success"].as_str() {
        parts.push(format!("last success {success}"));
    }
    let failures = health["consecutive_failures"].as_u64().unwrap_or(0);
    if failures > 0 {
        parts.push(format!("{failures} failed in a row"));
    }
    if let Some(error) = health["last_error"].as_object() {
        let class = error
            .get("class")
            .and_then(|v| v.as_str())
            .unwrap_or("error");
        let message = error.get("message").and_then(|v| v.as_str()).unwrap_or("");
        parts.push(format!("last error ({class}): {message}"));
    }
    if let Some(next) = health["next_attempt"].as_str() {
        parts.push(format!("next poll {next}"));
    }
    parts.join(" · ")
}

/// The state column: a broken source reads differently from a quiet one at a glance.
fn source_status(enabled: bool, indexed: u64, health: Option<&serde_json::Value>) -> &'static str {
    let state = health.and_then(|health| health["state"].as_str());
    match (enabled, state, indexed) {
        (false, _, _) => "disabled",
        (true, Some("failing" | "backing_off"), _) => "source broken",
        (true, None | Some("new"), 0) => "not polled yet, no mentions",
        (true, None | Some("new"), _) => "not polled yet, mentions indexed",
        (true, _, 0) => "working, no mentions indexed",
        (true, _, _) => "working, mentions indexed",
    }
}

async fn sources_page(State(state): State<ApiState>) -> Response {
    let infos = match source_infos(&state).await {
        Ok(infos) => infos,
        Err(error) => return error.into_response(),
    };
    let rows = infos
        .into_iter()
        .map(|info| SourceRow {
            health: info.health.as_ref().map(health_summary).unwrap_or_default(),
            unhealthy: info.health.as_ref().is_some_and(|health| {
                matches!(health["state"].as_str(), Some("failing" | "backing_off"))
            }),
            status: source_status(info.enabled, info.indexed, info.health.as_ref()),
            name: info.name,
            kind: info.kind,
            enabled: info.enabled,
            interval: format!("{}s", info.interval_seconds),
            watches: info.watches.join(", "),
            indexed: info.indexed,
            latest: info
                .latest_published_at
                .map(format_timestamp)
                .unwrap_or_default(),
        })
        .collect();
    render(
        StatusCode::OK,
        &SourcesPage {
            rows,
            login: state.live().auth().has_tokens(),
        },
    )
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    error: Option<String>,
    login: bool,
}

async fn login_page() -> Response {
    render(
        StatusCode::OK,
        &LoginPage {
            error: None,
            login: true,
        },
    )
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    token: String,
}

/// Characters a cookie value may hold without quoting (RFC 6265 `cookie-octet`).
fn is_cookie_safe(token: &str) -> bool {
    token
        .bytes()
        .all(|byte| byte.is_ascii_graphic() && !matches!(byte, b'"' | b',' | b';' | b'\\'))
}

async fn login(State(state): State<ApiState>, Form(form): Form<LoginForm>) -> Response {
    let token = form.token.trim();
    if !state.live().auth().knows(token) || !is_cookie_safe(token) {
        return render(
            StatusCode::UNAUTHORIZED,
            &LoginPage {
                error: Some("That token is not one this server knows.".into()),
                login: true,
            },
        );
    }
    // `SameSite=Strict`: another site's form cannot act with this cookie.
    let cookie = format!("{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict");
    let mut response = Redirect::to("/").into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

async fn logout() -> Response {
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("earful_token=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_links_are_links() {
        assert_eq!(
            safe_link(Some("https://news.ycombinator.com/item?id=1")).as_deref(),
            Some("https://news.ycombinator.com/item?id=1")
        );
        assert_eq!(safe_link(Some("javascript:alert(1)")), None);
        assert_eq!(safe_link(Some(" JavaScript:alert(1)")), None);
        assert_eq!(safe_link(Some("data:text/html,<script>")), None);
        assert_eq!(safe_link(None), None);
    }

    #[test]
    fn links_keep_the_search() {
        let filters = FilterParams {
            q: Some("acme & \"co\"".into()),
            label: Some("negative".into()),
            watch: Some(String::new()),
            ..FilterParams::default()
        };
        assert_eq!(
            search_query(
                &filters,
                &PageParams {
                    sort: Some("oldest".into()),
                    ..PageParams::default()
                },
                Some("abc")
            ),
            "q=acme+%26+%22co%22&label=negative&sort=oldest&cursor=abc"
        );
    }

    #[test]
    fn a_broken_source_is_told_from_a_quiet_one() {
        let ok = serde_json::json!({"state": "ok"});
        let failing = serde_json::json!({"state": "failing"});
        let backing_off = serde_json::json!({"state": "backing_off"});
        assert_eq!(
            source_status(true, 0, Some(&ok)),
            "working, no mentions indexed"
        );
        assert_eq!(
            source_status(true, 9, Some(&ok)),
            "working, mentions indexed"
        );
        assert_eq!(source_status(true, 0, Some(&failing)), "source broken");
        assert_eq!(source_status(true, 9, Some(&backing_off)), "source broken");
        assert_eq!(source_status(true, 0, None), "not polled yet, no mentions");
        assert_eq!(
            source_status(true, 3, None),
            "not polled yet, mentions indexed"
        );
        assert_eq!(source_status(false, 0, Some(&failing)), "disabled");
    }

    /// Pages fetch nothing from elsewhere: no absolute or protocol-relative URL in a template
    /// or the style sheet (the SVG namespace is a name, never fetched).
    #[test]
    fn templates_reference_nothing_outside_the_server() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(root.join("templates"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        files.push(root.join("assets/earful.css"));
        assert!(files.len() > 5, "{files:?}");
        for file in files {
            let text = std::fs::read_to_string(&file)
                .unwrap()
                .replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
            // Only the index's snippet, escaped there with the matches marked, is printed raw.
            let raw = text.matches("|safe").count();
            let snippet = text.matches("{{ hit.snippet_html|safe }}").count();
            assert_eq!(raw, snippet, "{} prints a value unescaped", file.display());
            for needle in [
                "http://", "https://", "=\"//", "='//", "url(", "@import", "<script",
            ] {
                assert!(
                    !text.contains(needle),
                    "{} contains `{needle}`",
                    file.display()
                );
            }
        }
    }

    #[test]
    fn cookie_values_are_plain() {
        assert!(is_cookie_safe("admin-token-0123456789"));
        assert!(!is_cookie_safe("a token"));
        assert!(!is_cookie_safe("a;b"));
    }
}
