//! `GET /api/v1/mentions` (search) and `GET /api/v1/mentions/{id}`.

use axum::extract::{Path, Query, State};
use axum::Json;
use earful_core::{Label, Mention};
use earful_index::Hit;
use earful_sentiment::Explanation;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::api::params::{search_request, FilterParams, PageParams};
use crate::error::{ApiError, ErrorBody};
use crate::state::ApiState;

/// One page of matching mentions.
#[derive(Debug, Serialize, ToSchema)]
pub struct MentionPage {
    /// How many mentions match in all.
    pub total: usize,
    /// This page: each is a mention (DESIGN.md's Mention JSON) with a `highlight`.
    #[schema(value_type = Vec<Object>)]
    pub mentions: Vec<MentionItem>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A mention in a result list: the Mention JSON plus its snippet.
#[derive(Debug, Serialize)]
pub struct MentionItem {
    /// The mention.
    #[serde(flatten)]
    pub mention: Mention,
    /// The text around the matched words: `fragment`, byte `ranges` of the matches in it, and
    /// `html` (escaped, matches in `<b>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub highlight: Option<earful_index::Highlight>,
    /// The BM25 score, when sorted by relevance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
}

impl From<Hit> for MentionItem {
    fn from(hit: Hit) -> MentionItem {
        MentionItem {
            mention: hit.mention,
            highlight: hit.highlight,
            score: hit.score,
        }
    }
}

/// A mention with the explanation of its sentiment.
#[derive(Debug, Serialize)]
pub struct ExplainedMention {
    /// The mention.
    #[serde(flatten)]
    pub mention: Mention,
    /// Why it scored as it did: per-token contributions and rules (absent when unscored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Explanation>,
}

/// Searches mentions.
#[utoipa::path(
    get,
    path = "/api/v1/mentions",
    operation_id = "search_mentions",
    tag = "mentions",
    params(FilterParams, PageParams),
    responses(
        (status = 200, description = "A page of matching mentions", body = MentionPage),
        (status = 400, description = "A bad parameter; for a bad `q`, the offset and column where it is wrong", body = ErrorBody),
        (status = 401, description = "A token is needed", body = ErrorBody),
    )
)]
pub(crate) async fn search(
    State(state): State<ApiState>,
    Query(filters): Query<FilterParams>,
    Query(page): Query<PageParams>,
) -> Result<Json<MentionPage>, ApiError> {
    let request = search_request(&filters, &page, OffsetDateTime::now_utc())?;
    let results = state
        .with_index(move |index| index.search(&request))
        .await?;
    Ok(Json(MentionPage {
        total: results.total,
        mentions: results.hits.into_iter().map(MentionItem::from).collect(),
        next_cursor: results.next_cursor,
    }))
}

/// The explanation of a mention's score, from the analyzer that scored it.
pub(crate) fn explain(state: &ApiState, mention: &Mention) -> Option<Explanation> {
    (mention.sentiment.label != Label::Unscored).then(|| {
        state
            .live()
            .analyzer()
            .score_explained(&mention.full_text())
    })
}

/// One mention by id, with the explanation of its sentiment.
#[utoipa::path(
    get,
    path = "/api/v1/mentions/{id}",
    operation_id = "get_mention",
    tag = "mentions",
    params(("id" = String, Path, description = "The mention id, such as `hackernews:41234567`")),
    responses(
        (status = 200, description = "The mention (Mention JSON) with `explanation`", body = Object),
        (status = 404, description = "No mention has this id", body = ErrorBody),
    )
)]
pub(crate) async fn by_id(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<ExplainedMention>, ApiError> {
    let wanted = id.clone();
    let mention = state
        .with_index(move |index| index.get(&wanted))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no mention has the id `{id}`")))?;
    let explanation = explain(&state, &mention);
    Ok(Json(ExplainedMention {
        mention,
        explanation,
    }))
}
