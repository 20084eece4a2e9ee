//! The configured watches and sources, the health probes and the OpenAPI document.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use earful_core::config::SourceConfig;
use earful_core::MentionQuery;
use earful_index::{Filters, SearchRequest, TopField};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::state::ApiState;

/// A configured watch.
#[derive(Debug, Serialize, ToSchema)]
pub struct WatchInfo {
    /// Its name, as mentions are tagged.
    pub name: String,
    /// Its query.
    pub query: String,
    /// The alert kinds it raises.
    pub alerts: Vec<String>,
}

/// A configured source and what the index holds from it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SourceInfo {
    /// The source's name (`Mention.feed`).
    pub name: String,
    /// The collector kind (`Mention.source`).
    pub kind: String,
    /// Poll interval in seconds.
    pub interval_seconds: u64,
    /// Whether it is polled.
    pub enabled: bool,
    /// The watches it searches for.
    pub watches: Vec<String>,
    /// Mentions from it in the index.
    pub indexed: u64,
    /// When its newest indexed mention was published.
    #[serde(with = "earful_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    pub latest_published_at: Option<OffsetDateTime>,
    /// The poll health record as the collectors last wrote it (state, last success, last error
    /// with its class, failures in a row, next attempt, counts); `null` when the source has
    /// never been polled or the server has no state database.
    #[schema(value_type = Option<Object>)]
    pub health: Option<serde_json::Value>,
}

/// `/healthz` and `/readyz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Probe {
    /// `ok`, or why not.
    pub status: String,
    /// Mentions in the index (`/readyz` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mentions: Option<u64>,
}

/// The configured watches.
#[utoipa::path(
    get,
    path = "/api/v1/watches",
    operation_id = "list_watches",
    tag = "config",
    responses((status = 200, description = "The watches", body = Vec<WatchInfo>))
)]
pub(crate) async fn watches(State(state): State<ApiState>) -> Json<Vec<WatchInfo>> {
    Json(
        state
            .live()
            .watches()
            .iter()
            .map(|watch| WatchInfo {
                name: watch.name.clone(),
                query: watch.query.clone(),
                alerts: watch
                    .alerts
                    .iter()
                    .map(|kind| kind.as_str().to_string())
                    .collect(),
            })
            .collect(),
    )
}

/// The configured sources with what the index holds from each and their poll health.
pub(crate) async fn source_infos(state: &ApiState) -> Result<Vec<SourceInfo>, ApiError> {
    let mut infos = indexed_source_infos(state).await?;
    if state.has_store() {
        let health = state.with_store(|store| store.all_source_health()).await?;
        for info in &mut infos {
            info.health = health
                .iter()
                .find(|row| row.source == info.name)
                .map(|row| row.record.clone());
        }
    }
    Ok(infos)
}

/// The configured sources with what the index holds from each.
async fn indexed_source_infos(state: &ApiState) -> Result<Vec<SourceInfo>, ApiError> {
    let sources: Vec<SourceConfig> = state.live().sources().to_vec();
    state
        .with_index(move |index| {
            let everything = MentionQuery::parse("")?;
            let counts = index.top(
                &everything,
                &Filters::default(),
                TopField::Feed,
                sources.len().max(1) * 4,
            )?;
            sources
                .iter()
                .map(|source| {
                    let indexed = counts
                        .iter()
                        .find(|(feed, _)| *feed == source.name)
                        .map_or(0, |(_, count)| *count);
                    let mut newest = SearchRequest::new(everything.clone());
                    newest.filters.feed = Some(source.name.clone());
                    newest.limit = 1;
                    let latest_published_at = if indexed == 0 {
                        None
                    } else {
                        index
                            .search(&newest)?
                            .hits
                            .first()
                            .map(|hit| hit.mention.published_at)
                    };
                    Ok(SourceInfo {
                        name: source.name.clone(),
                        kind: source.kind.as_str().to_string(),
                        interval_seconds: source.interval.0.as_secs(),
                        enabled: source.enabled,
                        watches: source.watches.clone(),
                        indexed,
                        latest_published_at,
                        health: None,
                    })
                })
                .collect()
        })
        .await
}

/// The configured sources (never their secrets), what the index holds from each, and their
/// poll health.
#[utoipa::path(
    get,
    path = "/api/v1/sources",
    operation_id = "list_sources",
    tag = "config",
    responses((status = 200, description = "The sources", body = Vec<SourceInfo>))
)]
pub(crate) async fn sources(
    State(state): State<ApiState>,
) -> Result<Json<Vec<SourceInfo>>, ApiError> {
    Ok(Json(source_infos(&state).await?))
}

/// Alive: the process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "probes",
    responses((status = 200, description = "Alive", body = Probe))
)]
pub(crate) async fn healthz() -> Json<Probe> {
    Json(Probe {
        status: "ok".into(),
        mentions: None,
    })
}

/// Ready: the index is open and answers, and the server is not shutting down.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "probes",
    responses(
        (status = 200, description = "Ready", body = Probe),
        (status = 503, description = "Not ready", body = ErrorBody),
    )
)]
pub(crate) async fn readyz(State(state): State<ApiState>) -> (StatusCode, Json<Probe>) {
    if !state.is_ready() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Probe {
                status: "shutting down".into(),
                mentions: None,
            }),
        );
    }
    match state.with_index(|index| Ok(index.num_docs())).await {
        Ok(mentions) => (
            StatusCode::OK,
            Json(Probe {
                status: "ok".into(),
                mentions: Some(mentions),
            }),
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Probe {
                status: "the index does not answer".into(),
                mentions: None,
            }),
        ),
    }
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    operation_id = "openapi_document",
    tag = "config",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", body = Object))
)]
pub(crate) async fn openapi_json() -> Json<&'static utoipa::openapi::OpenApi> {
    Json(crate::openapi::openapi())
}
