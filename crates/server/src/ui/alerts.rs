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

use crate::api::alerts::{acknowledge_as, silence_as, AlertView, NewSilence, SilenceView};
use crate::auth::Caller;
use crate::state::ApiState;
use crate::ui::render;

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
    evidence: String,
}

impl From<AlertView> for AlertRow {
    fn from(alert: AlertView) -> AlertRow {
        let time = |at: Option<time::OffsetDateTime>| at.map(format_timestamp).unwrap_or_default();
        AlertRow {
            summary: summary(&alert.evidence),
            evidence: serde_json::to_string_pretty(&alert.evidence).unwrap_or_default(),
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
        Err(error) => return error.into_response(),
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
                .watches()
                .iter()
                .map(|watch| watch.name.clone())
                .collect(),
            admin: caller.role == Role::Admin,
            error,
            login: state.auth().has_tokens(),
        },
    )
}

pub(crate) async fn alerts_page(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
) -> Response {
    page(&state, &caller, None).await
}

pub(crate) async fn acknowledge(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    match acknowledge_as(&state, id, &caller).await {
        Ok(_) => Redirect::to("/alerts").into_response(),
        Err(error) => page(&state, &caller, Some(error.to_string())).await,
    }
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
