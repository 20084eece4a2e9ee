//! `GET /api/v1/stats/timeline` and `GET /api/v1/stats/top`.

use axum::extract::{Query, State};
use axum::Json;
use earful_core::time::parse_duration;
use earful_index::{TimelineBucket, TopField};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::api::params::{parse_limit, present, FilterParams};
use crate::error::{ApiError, ErrorBody};
use crate::state::ApiState;

/// The timeline's bucket width.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineParams {
    /// Bucket width: `5m`, `1h`, `1d`, … (default `1h`).
    pub interval: Option<String>,
}

/// Mention counts per time bucket and label.
#[derive(Debug, Serialize, ToSchema)]
pub struct Timeline {
    /// The bucket width in seconds.
    pub interval_seconds: u64,
    /// Buckets in time order: `start` and the `total`, `positive`, `neutral`, `negative` and
    /// `unscored` counts. With `since` and `until`, empty buckets are present too.
    #[schema(value_type = Vec<Object>)]
    pub buckets: Vec<TimelineBucket>,
}

/// What to rank.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TopParams {
    /// `author`, `source`, `feed`, `lang` or `term`.
    pub field: Option<String>,
    /// How many values, 1 to 1000 (default 10).
    pub limit: Option<String>,
}

/// The most frequent values of a field among the matching mentions.
#[derive(Debug, Serialize, ToSchema)]
pub struct Top {
    /// The field ranked.
    pub field: String,
    /// The values, most frequent first.
    pub values: Vec<TopValue>,
}

/// One ranked value.
#[derive(Debug, Serialize, ToSchema)]
pub struct TopValue {
    /// The value (an author, a source kind, a word, …).
    pub value: String,
    /// Matching mentions with it (for `term`: occurrences).
    pub count: u64,
}

/// Parses a timeline interval parameter.
pub(crate) fn parse_interval(raw: &Option<String>) -> Result<std::time::Duration, ApiError> {
    let raw = present(raw).unwrap_or("1h");
    match parse_duration(raw) {
        Ok(interval) if interval.as_secs() >= 1 => Ok(interval),
        Ok(_) => Err(ApiError::BadRequest(
            "parameter `interval`: must be at least 1s".into(),
        )),
        Err(error) => Err(ApiError::BadRequest(format!(
            "parameter `interval`: {error}"
        ))),
    }
}

/// Mention counts per time bucket and sentiment label.
#[utoipa::path(
    get,
    path = "/api/v1/stats/timeline",
    operation_id = "timeline",
    tag = "stats",
    params(FilterParams, TimelineParams),
    responses(
        (status = 200, description = "Counts per bucket and label", body = Timeline),
        (status = 400, description = "A bad parameter, or too many buckets", body = ErrorBody),
    )
)]
pub(crate) async fn timeline(
    State(state): State<ApiState>,
    Query(filters): Query<FilterParams>,
    Query(params): Query<TimelineParams>,
) -> Result<Json<Timeline>, ApiError> {
    let (query, filters) = filters.parse(OffsetDateTime::now_utc())?;
    let interval = parse_interval(&params.interval)?;
    let buckets = state
        .with_index(move |index| index.timeline(&query, &filters, interval))
        .await
        .map_err(|error| match error {
            // The only request the timeline refuses is too many buckets: say which knobs.
            ApiError::BadRequest(problem) => ApiError::BadRequest(format!(
                "parameters `interval`, `since` and `until`: {problem}"
            )),
            other => other,
        })?;
    Ok(Json(Timeline {
        interval_seconds: interval.as_secs(),
        buckets,
    }))
}

/// The most frequent authors, sources, feeds, languages or words among the matches.
#[utoipa::path(
    get,
    path = "/api/v1/stats/top",
    operation_id = "top_values",
    tag = "stats",
    params(FilterParams, TopParams),
    responses(
        (status = 200, description = "The top values", body = Top),
        (status = 400, description = "A bad parameter", body = ErrorBody),
    )
)]
pub(crate) async fn top(
    State(state): State<ApiState>,
    Query(filters): Query<FilterParams>,
    Query(params): Query<TopParams>,
) -> Result<Json<Top>, ApiError> {
    let (query, filters) = filters.parse(OffsetDateTime::now_utc())?;
    let raw_field = present(&params.field).ok_or_else(|| {
        ApiError::BadRequest(
            "parameter `field` is required (author, source, feed, lang, term)".into(),
        )
    })?;
    let field: TopField = raw_field
        .parse()
        .map_err(|problem| ApiError::BadRequest(format!("parameter `field`: {problem}")))?;
    let limit = parse_limit(&params.limit, "limit", 10, 1_000)?;
    let values = state
        .with_index(move |index| index.top(&query, &filters, field, limit))
        .await?;
    Ok(Json(Top {
        field: raw_field.to_ascii_lowercase(),
        values: values
            .into_iter()
            .map(|(value, count)| TopValue { value, count })
            .collect(),
    }))
}
