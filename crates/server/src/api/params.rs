//! Query-string parameters shared by the API and the web pages, and their parsing into the
//! index's request types. Every error names the parameter at fault.

use earful_core::time::parse_time_bound;
use earful_core::{Label, MentionQuery};
use earful_index::{Filters, SearchRequest, Sort};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::IntoParams;

use crate::error::ApiError;

/// What to search: the query and the filters. Empty values count as absent, so an HTML form's
/// blank fields need no special case.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FilterParams {
    /// The query, in the watch query language (`acme AND outage -"acme acres"`); empty or
    /// absent matches every mention.
    pub q: Option<String>,
    /// Only mentions tagged with this watch.
    pub watch: Option<String>,
    /// Only this source kind (`hackernews`, `feed`, `mastodon`, …).
    pub source: Option<String>,
    /// Only this configured source name.
    pub feed: Option<String>,
    /// Only this sentiment label: `positive`, `neutral`, `negative` or `unscored`.
    pub label: Option<String>,
    /// Only this language (`en`, `de`, `und`, …).
    pub lang: Option<String>,
    /// Published at or after: RFC 3339, a date, `now`, or an age such as `24h` or `7d`.
    pub since: Option<String>,
    /// Published before: the same forms as `since`.
    pub until: Option<String>,
    /// Only authors with at least this reach.
    pub min_reach: Option<String>,
}

/// How to page: order, page size and where to continue.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// `newest` (default), `oldest`, `relevance`, `most_reached` or `most_negative`.
    pub sort: Option<String>,
    /// Page size, 1 to 1000 (default 20).
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A parameter's value, when it has one.
pub(crate) fn present(value: &Option<String>) -> Option<&str> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

fn bad(parameter: &str, problem: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest(format!("parameter `{parameter}`: {problem}"))
}

/// Parses a count parameter within `1..=max`.
pub(crate) fn parse_limit(
    raw: &Option<String>,
    name: &str,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    let Some(raw) = present(raw) else {
        return Ok(default);
    };
    match raw.parse::<usize>() {
        Ok(limit) if (1..=max).contains(&limit) => Ok(limit),
        _ => Err(bad(
            name,
            format!("`{raw}` is not a number from 1 to {max}"),
        )),
    }
}

impl FilterParams {
    /// The query and filters, with relative times (`24h`) taken back from `now`.
    pub fn parse(&self, now: OffsetDateTime) -> Result<(MentionQuery, Filters), ApiError> {
        let query = MentionQuery::parse(present(&self.q).unwrap_or(""))?;
        let time = |name: &str, raw: &Option<String>| {
            present(raw)
                .map(|raw| parse_time_bound(raw, now).map_err(|error| bad(name, error)))
                .transpose()
        };
        let label = present(&self.label)
            .map(|raw| {
                raw.parse::<Label>().map_err(|_| {
                    bad(
                        "label",
                        format!("`{raw}` is not a label (positive, neutral, negative, unscored)"),
                    )
                })
            })
            .transpose()?;
        let min_reach = present(&self.min_reach)
            .map(|raw| {
                raw.parse::<u64>()
                    .map_err(|_| bad("min_reach", format!("`{raw}` is not a whole number")))
            })
            .transpose()?;
        let filters = Filters {
            watch: present(&self.watch).map(str::to_string),
            source: present(&self.source).map(str::to_string),
            feed: present(&self.feed).map(str::to_string),
            label,
            lang: present(&self.lang).map(str::to_string),
            since: time("since", &self.since)?,
            until: time("until", &self.until)?,
            min_reach,
        };
        if let (Some(since), Some(until)) = (filters.since, filters.until) {
            if since >= until {
                return Err(bad("until", "must be later than `since`"));
            }
        }
        Ok((query, filters))
    }
}

impl PageParams {
    /// The sort, page size and cursor.
    pub fn parse(&self) -> Result<(Sort, usize, Option<String>), ApiError> {
        let sort = present(&self.sort)
            .map(|raw| raw.parse::<Sort>().map_err(|problem| bad("sort", problem)))
            .transpose()?
            .unwrap_or_default();
        let limit = parse_limit(&self.limit, "limit", 20, SearchRequest::MAX_LIMIT)?;
        Ok((sort, limit, present(&self.cursor).map(str::to_string)))
    }
}

/// A complete search request from the two parameter sets.
pub(crate) fn search_request(
    filters: &FilterParams,
    page: &PageParams,
    now: OffsetDateTime,
) -> Result<SearchRequest, ApiError> {
    let (query, filters) = filters.parse(now)?;
    let (sort, limit, cursor) = page.parse()?;
    Ok(SearchRequest {
        query,
        filters,
        sort,
        limit,
        cursor,
        highlight: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn blank_parameters_are_absent() {
        let params = FilterParams {
            q: Some("  ".into()),
            watch: Some(String::new()),
            ..FilterParams::default()
        };
        let (query, filters) = params.parse(datetime!(2026-11-22 12:00 UTC)).unwrap();
        assert_eq!(query.as_str(), "");
        assert_eq!(filters, Filters::default());
    }

    #[test]
    fn relative_times_count_back_from_now() {
        let params = FilterParams {
            since: Some("24h".into()),
            ..FilterParams::default()
        };
        let (_, filters) = params.parse(datetime!(2026-11-22 12:00 UTC)).unwrap();
        assert_eq!(filters.since, Some(datetime!(2026-11-21 12:00 UTC)));
    }

    #[test]
    fn errors_name_the_parameter() {
        let now = datetime!(2026-11-22 12:00 UTC);
        let message = |params: FilterParams| params.parse(now).unwrap_err().to_string();
        assert!(message(FilterParams {
            label: Some("angry".into()),
            ..FilterParams::default()
        })
        .starts_with("parameter `label`: `angry`"));
        assert!(message(FilterParams {
            since: Some("yesterday-ish".into()),
            ..FilterParams::default()
        })
        .starts_with("parameter `since`"));
        assert!(message(FilterParams {
            since: Some("2026-11-22".into()),
            until: Some("2026-11-21".into()),
            ..FilterParams::default()
        })
        .starts_with("parameter `until`"));
        let page = |limit: &str| {
            PageParams {
                limit: Some(limit.into()),
                ..PageParams::default()
            }
            .parse()
        };
        assert!(page("0").is_err());
        assert!(page("1001")
            .unwrap_err()
            .to_string()
            .starts_with("parameter `limit`"));
        assert_eq!(page("1000").unwrap().1, 1000);
        let sort = PageParams {
            sort: Some("loudest".into()),
            ..PageParams::default()
        };
        assert!(sort
            .parse()
            .unwrap_err()
            .to_string()
            .starts_with("parameter `sort`"));
    }
}
