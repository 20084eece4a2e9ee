//! `/alerts`: alerts with their state and evidence, the silences in force, and for admins the
//! acknowledge and silence forms.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use earful_core::config::Role;
use earful_core::time::format_timestamp;
use serde::Deserialize;

use earful_alert::Evidence;

use crate::api::alerts::{acknowledge_as, silence_as, AlertView, NewSilence, SilenceView};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::ApiState;
use crate::ui::{message, render, safe_link};

/// Alerts shown on the page.
const SHOWN: usize = 200;

#[derive(Debug)]
struct AlertRow {
    id: String,
    watch: String,
    kind: String,
    state: String,
    episode_start: String,
    fired_at: String,
    resolved_at: String,
    acknowledged: Option<String>,
    summary: Option<String>,
    evidence: EvidenceView,
}

impl From<AlertView> for AlertRow {
    fn from(alert: AlertView) -> AlertRow {
        let time = |at: Option<time::OffsetDateTime>| at.map(format_timestamp).unwrap_or_default();
        AlertRow {
            summary: summary(&alert.evidence),
            evidence: EvidenceView::new(&alert.watch, &alert.kind, &alert.evidence),
            acknowledged: alert.acknowledged_by.map(|by| match alert.acknowledged_at {
                Some(at) => format!("{by} at {}", format_timestamp(at)),
                None => by,
            }),
            id: alert.id,
            watch: alert.watch,
            kind: alert.kind,
            state: alert.state,
            episode_start: format_timestamp(alert.episode_start),
            fired_at: time(alert.fired_at),
            resolved_at: time(alert.resolved_at),
        }
    }
}

/// The evidence of an alert, ready to print: every string from a mention is printed escaped.
#[derive(Debug, Default)]
struct EvidenceView {
    /// Evidence this build cannot read as the v1 form, shown as it is stored.
    raw: Option<String>,
    window: String,
    baseline: String,
    bucket: String,
    observed: String,
    expected: String,
    score: String,
    peak: String,
    total: String,
    share_window: String,
    share_baseline: String,
    rising_terms: Vec<RisingTermRow>,
    top_sources: Vec<(String, String)>,
    top_mentions: Vec<EvidenceMention>,
    /// The search of the alert's window, for reading every mention behind it.
    search_link: String,
}

#[derive(Debug)]
struct RisingTermRow {
    term: String,
    window_count: u64,
    baseline_count: u64,
    score: String,
}

#[derive(Debug)]
struct EvidenceMention {
    id: String,
    url: Option<String>,
    author: String,
    reach: Option<String>,
    published: String,
    title: Option<String>,
    text: String,
    compound: Option<String>,
    because: String,
}

impl EvidenceView {
    fn new(watch: &str, kind: &str, evidence: &serde_json::Value) -> EvidenceView {
        let evidence: Evidence = match serde_json::from_value(evidence.clone()) {
            Ok(evidence) => evidence,
            Err(_) => {
                return EvidenceView {
                    raw: Some(serde_json::to_string_pretty(evidence).unwrap_or_default()),
                    ..EvidenceView::default()
                }
            }
        };
        let range =
            |start, end| format!("{} to {}", format_timestamp(start), format_timestamp(end));
        let mut search = url::form_urlencoded::Serializer::new(String::new());
        search.append_pair("watch", watch);
        match kind {
            "negative_spike" => {
                search.append_pair("label", "negative");
            }
            "praise_surge" => {
                search.append_pair("label", "positive");
            }
            _ => {}
        }
        search.append_pair("since", &format_timestamp(evidence.window.start));
        search.append_pair("until", &format_timestamp(evidence.window.end));
        EvidenceView {
            raw: None,
            window: range(evidence.window.start, evidence.window.end),
            baseline: range(evidence.baseline.start, evidence.baseline.end),
            bucket: format!("{}s", evidence.bucket_seconds),
            observed: evidence.observed.to_string(),
            expected: format!("{:.1}", evidence.expected),
            score: format!("{:.1}", evidence.score),
            peak: format!(
                "{}: {} observed, {:.1} expected, score {:.1}",
                format_timestamp(evidence.peak.bucket_start),
                evidence.peak.observed,
                evidence.peak.expected,
                evidence.peak.score
            ),
            total: evidence.total.to_string(),
            share_window: format!("{:.0}%", evidence.negative_share.window * 100.0),
            share_baseline: format!("{:.0}%", evidence.negative_share.baseline * 100.0),
            rising_terms: evidence
                .rising_terms
                .into_iter()
                .map(|term| RisingTermRow {
                    term: term.term,
                    window_count: term.window_count,
                    baseline_count: term.baseline_count,
                    score: format!("{:.2}", term.score),
                })
                .collect(),
            top_sources: evidence
                .top_sources
                .into_iter()
                .map(|source| (source.source, source.count.to_string()))
                .collect(),
            top_mentions: evidence
                .top_mentions
                .into_iter()
                .map(|mention| EvidenceMention {
                    url: safe_link(mention.url.as_deref()),
                    author: mention.author.unwrap_or_default(),
                    reach: mention.author_reach.map(|reach| reach.to_string()),
                    published: format_timestamp(mention.published_at),
                    title: mention.title.filter(|title| !title.is_empty()),
                    text: mention.text,
                    compound: mention.compound.map(|compound| format!("{compound:+.4}")),
                    because: mention
                        .because
                        .iter()
                        .map(|token| format!("{} {:+.2}", token.token, token.valence))
                        .collect::<Vec<_>>()
                        .join(", "),
                    id: mention.id,
                })
                .collect(),
            search_link: format!("/?{}", search.finish()),
        }
    }
}

/// One line of the evidence: observed against expected, how unusual, the negative share.
fn summary(evidence: &serde_json::Value) -> Option<String> {
    let observed = evidence.get("observed")?.as_f64()?;
    let expected = evidence.get("expected")?.as_f64()?;
    let mut line = format!("{observed} observed, {expected:.1} expected");
    if let Some(score) = evidence.get("score").and_then(serde_json::Value::as_f64) {
        line.push_str(&format!(", score {score:.1}"));
    }
    // The share in the window (against its baseline), or a plain number.
    let share = evidence.get("negative_share").and_then(|share| {
        share
            .get("window")
            .and_then(serde_json::Value::as_f64)
            .or_else(|| share.as_f64())
    });
    if let Some(share) = share {
        line.push_str(&format!(", {:.0}% negative", share * 100.0));
    }
    Some(line)
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    alerts: Vec<AlertRow>,
    silences: Vec<SilenceRow>,
    watches: Vec<String>,
    admin: bool,
    error: Option<String>,
    login: bool,
}

#[derive(Template)]
#[template(path = "alert.html")]
struct AlertPage {
    alert: AlertRow,
    silences: Vec<SilenceRow>,
    admin: bool,
    error: Option<String>,
    login: bool,
}

#[derive(Debug)]
struct SilenceRow {
    watch: String,
    ends_at: String,
    created_by: String,
    reason: String,
}

impl From<SilenceView> for SilenceRow {
    fn from(silence: SilenceView) -> SilenceRow {
        SilenceRow {
            watch: silence.watch,
            ends_at: format_timestamp(silence.ends_at),
            created_by: silence.created_by,
            reason: silence.reason,
        }
    }
}

async fn page(state: &ApiState, caller: &Caller, error: Option<String>) -> Response {
    let loaded = state
        .with_store(|store| {
            let alerts = store.alerts(None, SHOWN)?;
            let silences = store.active_silences(time::OffsetDateTime::now_utc())?;
            Ok((alerts, silences))
        })
        .await;
    let (alerts, silences) = match loaded {
        Ok(loaded) => loaded,
        Err(error) => return message(state, error),
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    render(
        status,
        &AlertsPage {
            alerts: alerts
                .into_iter()
                .map(|record| AlertRow::from(AlertView::from(record)))
                .collect(),
            silences: silences
                .into_iter()
                .map(|silence| SilenceRow::from(SilenceView::from(silence)))
                .collect(),
            watches: state
                .live()
                .watches()
                .iter()
                .map(|watch| watch.name.clone())
                .collect(),
            admin: caller.role == Role::Admin,
            error,
            login: state.live().auth().has_tokens(),
        },
    )
}

async fn one_alert(
    state: &ApiState,
    caller: &Caller,
    id: String,
    error: Option<String>,
) -> Response {
    let wanted = id.clone();
    let loaded = state
        .with_store(move |store| {
            let alert = store.alert(&wanted)?;
            let silences = store.active_silences(time::OffsetDateTime::now_utc())?;
            Ok((alert, silences))
        })
        .await;
    let (alert, silences) = match loaded {
        Ok((Some(alert), silences)) => (alert, silences),
        Ok((None, _)) => {
            return message(
                state,
                ApiError::NotFound(format!("no alert has the id `{id}`")),
            )
        }
        Err(error) => return message(state, error),
    };
    let alert = AlertRow::from(AlertView::from(alert));
    let silences = silences
        .into_iter()
        .filter(|silence| silence.watch == alert.watch)
        .map(|silence| SilenceRow::from(SilenceView::from(silence)))
        .collect();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    render(
        status,
        &AlertPage {
            alert,
            silences,
            admin: caller.role == Role::Admin,
            error,
            login: state.live().auth().has_tokens(),
        },
    )
}

/// `/alerts/{id}`: one alert with all of its evidence (the Atom entries link here).
pub(crate) async fn alert_page(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    one_alert(&state, &caller, id, None).await
}

pub(crate) async fn alerts_page(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
) -> Response {
    page(&state, &caller, None).await
}

/// Which page a form returns to.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Back {
    /// `/alerts`.
    #[default]
    List,
    /// The alert's own page.
    Alert,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AckForm {
    #[serde(default)]
    back: Back,
}

pub(crate) async fn acknowledge(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Form(form): Form<AckForm>,
) -> Response {
    let back = match form.back {
        Back::List => "/alerts".to_string(),
        Back::Alert => alert_path(&id),
    };
    match acknowledge_as(&state, id.clone(), &caller).await {
        Ok(_) => Redirect::to(&back).into_response(),
        Err(error) if form.back == Back::Alert => {
            one_alert(&state, &caller, id, Some(error.to_string())).await
        }
        Err(error) => page(&state, &caller, Some(error.to_string())).await,
    }
}

/// The path of an alert's page, its id percent-encoded.
fn alert_path(id: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
    format!("/alerts/{encoded}")
}

#[derive(Debug, Deserialize)]
pub(crate) struct SilenceForm {
    watch: String,
    duration: String,
    #[serde(default)]
    reason: String,
}

pub(crate) async fn silence(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Form(form): Form<SilenceForm>,
) -> Response {
    let silence = NewSilence {
        watch: form.watch,
        duration: form.duration,
        reason: form.reason,
    };
    match silence_as(&state, silence, &caller).await {
        Ok(_) => Redirect::to("/alerts").into_response(),
        Err(error) => page(&state, &caller, Some(error.to_string())).await,
    }
}
