//! Alerts and silences: `GET /api/v1/alerts`, `GET /api/v1/alerts/{id}`,
//! `POST /api/v1/alerts/{id}/ack` (admin), `GET` and `POST /api/v1/silences` (admin),
//! `DELETE /api/v1/silences/{id}` (admin).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use earful_core::time::parse_duration;
use earful_store::{AlertRecord, Silence};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::api::params::{parse_limit, present};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::state::ApiState;

/// Longest silence.
const MAX_SILENCE: std::time::Duration = std::time::Duration::from_secs(90 * 86_400);

/// An alert: its identity, lifecycle and evidence.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertView {
    /// Stable id (watch, kind, episode start).
    pub id: String,
    /// The watch.
    pub watch: String,
    /// `negative_spike`, `volume_spike` or `praise_surge`.
    pub kind: String,
    /// `pending`, `firing` or `resolved`.
    pub state: String,
    /// Start of the episode's first elevated bucket.
    #[serde(with = "earful_core::time::rfc3339")]
    #[schema(value_type = String)]
    pub episode_start: OffsetDateTime,
    /// When it started firing.
    #[serde(with = "earful_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    pub fired_at: Option<OffsetDateTime>,
    /// When it resolved.
    #[serde(with = "earful_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    pub resolved_at: Option<OffsetDateTime>,
    /// When it last changed.
    #[serde(with = "earful_core::time::rfc3339")]
    #[schema(value_type = String)]
    pub updated_at: OffsetDateTime,
    /// Who acknowledged it.
    pub acknowledged_by: Option<String>,
    /// When.
    #[serde(with = "earful_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    pub acknowledged_at: Option<OffsetDateTime>,
    /// What happened: observed against expected, how unusual, rising terms, top sources, the
    /// most-reached negative mentions.
    #[schema(value_type = Object)]
    pub evidence: serde_json::Value,
}

impl From<AlertRecord> for AlertView {
    fn from(record: AlertRecord) -> AlertView {
        AlertView {
            id: record.id,
            watch: record.watch,
            kind: record.kind,
            state: record.state.as_str().to_string(),
            episode_start: record.episode_start,
            fired_at: record.fired_at,
            resolved_at: record.resolved_at,
            updated_at: record.updated_at,
            acknowledged_by: record.acknowledged_by,
            acknowledged_at: record.acknowledged_at,
            evidence: record.evidence,
        }
    }
}

/// A silence: no notifications for a watch until it ends.
#[derive(Debug, Serialize, ToSchema)]
pub struct SilenceView {
    /// Its id.
    pub id: i64,
    /// The watch.
    pub watch: String,
    /// When it ends.
    #[serde(with = "earful_core::time::rfc3339")]
    #[schema(value_type = String)]
    pub ends_at: OffsetDateTime,
    /// Who made it.
    pub created_by: String,
    /// Why.
    pub reason: String,
}

impl From<Silence> for SilenceView {
    fn from(silence: Silence) -> SilenceView {
        SilenceView {
            id: silence.id,
            watch: silence.watch,
            ends_at: silence.ends_at,
            created_by: silence.created_by,
            reason: silence.reason,
        }
    }
}

/// Which alerts.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertParams {
    /// Only this watch's alerts.
    pub watch: Option<String>,
    /// At most this many, 1 to 1000 (default 100).
    pub limit: Option<String>,
}

/// A new silence.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSilence {
    /// The watch to silence.
    pub watch: String,
    /// How long: `30m`, `2h`, `1d` (at most 90 days).
    pub duration: String,
    /// Why, for the record.
    #[serde(default)]
    pub reason: String,
}

/// Alerts, newest episode first.
#[utoipa::path(
    get,
    path = "/api/v1/alerts",
    operation_id = "list_alerts",
    tag = "alerts",
    params(AlertParams),
    responses(
        (status = 200, description = "Alerts", body = Vec<AlertView>),
        (status = 503, description = "No state database", body = ErrorBody),
    )
)]
pub(crate) async fn list(
    State(state): State<ApiState>,
    Query(params): Query<AlertParams>,
) -> Result<Json<Vec<AlertView>>, ApiError> {
    let limit = parse_limit(&params.limit, "limit", 100, 1_000)?;
    let watch = present(&params.watch).map(str::to_string);
    let alerts = state
        .with_store(move |store| store.alerts(watch.as_deref(), limit))
        .await?;
    Ok(Json(alerts.into_iter().map(AlertView::from).collect()))
}

/// One alert with its evidence.
#[utoipa::path(
    get,
    path = "/api/v1/alerts/{id}",
    operation_id = "get_alert",
    tag = "alerts",
    params(("id" = String, Path, description = "The alert id")),
    responses(
        (status = 200, description = "The alert", body = AlertView),
        (status = 404, description = "No such alert", body = ErrorBody),
    )
)]
pub(crate) async fn by_id(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<AlertView>, ApiError> {
    let wanted = id.clone();
    state
        .with_store(move |store| store.alert(&wanted))
        .await?
        .map(|record| Json(AlertView::from(record)))
        .ok_or_else(|| ApiError::NotFound(format!("no alert has the id `{id}`")))
}

/// Acknowledges an alert as the caller (admin). The first acknowledgement stands.
pub(crate) async fn acknowledge_as(
    state: &ApiState,
    id: String,
    caller: &Caller,
) -> Result<AlertView, ApiError> {
    let by = caller.name.clone();
    let wanted = id.clone();
    state
        .with_store(move |store| {
            if !store.acknowledge(&wanted, &by, OffsetDateTime::now_utc())? {
                return Ok(None);
            }
            store.alert(&wanted)
        })
        .await?
        .map(AlertView::from)
        .ok_or_else(|| ApiError::NotFound(format!("no alert has the id `{id}`")))
}

/// Acknowledges an alert (admin).
#[utoipa::path(
    post,
    path = "/api/v1/alerts/{id}/ack",
    operation_id = "acknowledge_alert",
    tag = "alerts",
    params(("id" = String, Path, description = "The alert id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The acknowledged alert", body = AlertView),
        (status = 403, description = "The token is not an admin token", body = ErrorBody),
        (status = 404, description = "No such alert", body = ErrorBody),
    )
)]
pub(crate) async fn acknowledge(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<AlertView>, ApiError> {
    Ok(Json(acknowledge_as(&state, id, &caller).await?))
}

/// The silences in force.
#[utoipa::path(
    get,
    path = "/api/v1/silences",
    operation_id = "list_silences",
    tag = "alerts",
    responses((status = 200, description = "Active silences", body = Vec<SilenceView>))
)]
pub(crate) async fn silences(
    State(state): State<ApiState>,
) -> Result<Json<Vec<SilenceView>>, ApiError> {
    let silences = state
        .with_store(|store| store.active_silences(OffsetDateTime::now_utc()))
        .await?;
    Ok(Json(silences.into_iter().map(SilenceView::from).collect()))
}

/// Silences a watch for a while, as the caller (admin).
pub(crate) async fn silence_as(
    state: &ApiState,
    silence: NewSilence,
    caller: &Caller,
) -> Result<SilenceView, ApiError> {
    let watch = silence.watch.trim().to_string();
    let live = state.live();
    if !live.watches().is_empty() && !live.watches().iter().any(|known| known.name == watch) {
        return Err(ApiError::BadRequest(format!(
            "field `watch`: no watch is named `{watch}`"
        )));
    }
    let duration = parse_duration(&silence.duration)
        .map_err(|error| ApiError::BadRequest(format!("field `duration`: {error}")))?;
    if duration.is_zero() || duration > MAX_SILENCE {
        return Err(ApiError::BadRequest(
            "field `duration`: must be more than 0s and at most 90d".into(),
        ));
    }
    let now = OffsetDateTime::now_utc();
    let ends_at = now + duration;
    let by = caller.name.clone();
    let reason = silence.reason;
    let id = {
        let (watch, by, reason) = (watch.clone(), by.clone(), reason.clone());
        state
            .with_store(move |store| store.add_silence(&watch, ends_at, &by, &reason, now))
            .await?
    };
    Ok(SilenceView {
        id,
        watch,
        ends_at,
        created_by: by,
        reason,
    })
}

/// Silences a watch (admin).
#[utoipa::path(
    post,
    path = "/api/v1/silences",
    operation_id = "add_silence",
    tag = "alerts",
    request_body = NewSilence,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The silence", body = SilenceView),
        (status = 400, description = "A bad field", body = ErrorBody),
        (status = 403, description = "The token is not an admin token", body = ErrorBody),
    )
)]
pub(crate) async fn add_silence(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Json(silence): Json<NewSilence>,
) -> Result<(StatusCode, Json<SilenceView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(silence_as(&state, silence, &caller).await?),
    ))
}

/// Ends a silence now (admin): the watch's alerts notify again from the next evaluation.
#[utoipa::path(
    delete,
    path = "/api/v1/silences/{id}",
    operation_id = "end_silence",
    tag = "alerts",
    params(("id" = i64, Path, description = "The silence's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The silence is over"),
        (status = 400, description = "The id is not a number", body = ErrorBody),
        (status = 403, description = "The token is not an admin token", body = ErrorBody),
        (status = 404, description = "No silence with that id is in force", body = ErrorBody),
    )
)]
pub(crate) async fn end_silence(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: i64 = id.parse().map_err(|_| {
        ApiError::BadRequest(format!("path: `{id}` is not a silence id (a whole number)"))
    })?;
    let now = OffsetDateTime::now_utc();
    let ended = state
        .with_store(move |store| store.end_silence(id, now))
        .await?;
    if ended {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!(
            "no silence with id {id} is in force"
        )))
    }
}
