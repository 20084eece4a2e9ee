//! `hackernews`: stories and comments from Algolia's `search_by_date`, newest first, one query
//! per watch term, resuming from a `created_at_i` high-water mark per term.
//!
//! Algolia serves at most 1,000 hits per query. When a window holds more, the module asks
//! again for the hits older than the oldest it got (`created_at_i<=…`), a few windows per
//! poll; what lies beyond that budget is reported as skipped rather than silently missing.

use std::collections::{BTreeMap, BTreeSet};

use earful_core::config::SourceConfig;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use url::Url;

use crate::fetch::{redact_url, Fetcher, Request};
use crate::source::{Collected, PollContext, SkippedItem, SourceError};
use crate::sources::support::{
    api_url, array_field, describe_item, endpoint, fetch_json, no_terms, quoted_if_phrase,
    read_cursor, skipped, unix_time, write_cursor, Draft, HighWater,
};

const PUBLIC_API: &str = "https://hn.algolia.com";
const CURSOR_VERSION: u32 = 1;
/// Algolia's maximum is 1,000; 100 keeps each body small.
const HITS_PER_PAGE: usize = 100;
/// Algolia refuses to page past 1,000 hits of one query.
const HIT_CAP: usize = 1_000;
/// Windows of up to 1,000 hits fetched per term per poll before the rest is reported.
const WINDOWS_PER_POLL: usize = 5;

/// A Hacker News search.
#[derive(Debug)]
pub struct HackerNewsSource {
    base: Url,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct HackerNewsCursor {
    version: u32,
    /// The high-water mark of each query, by the query text sent.
    #[serde(default)]
    queries: BTreeMap<String, HighWater>,
}

/// One page's hit, as far as the mapping needs it.
#[derive(Debug)]
struct Hit {
    native_id: String,
    created_at: OffsetDateTime,
}

impl HackerNewsSource {
    /// Reads `base_url` (default `https://hn.algolia.com`).
    pub fn new(config: &SourceConfig) -> Result<HackerNewsSource, SourceError> {
        Ok(HackerNewsSource {
            base: endpoint(config, PUBLIC_API)?,
        })
    }

    /// Runs each term's search from its high-water mark.
    pub async fn poll(
        &self,
        fetcher: &mut Fetcher,
        context: &PollContext<'_>,
    ) -> Result<Collected, SourceError> {
        if context.terms.is_empty() {
            return Err(no_terms(context));
        }
        let mut cursor: HackerNewsCursor = read_cursor(context, CURSOR_VERSION);
        cursor.version = CURSOR_VERSION;
        let mut collected = Collected::default();
        let mut handed_on = BTreeSet::new();
        let queries: BTreeSet<String> = context
            .terms
            .iter()
            .map(|term| quoted_if_phrase(&term.text, term.phrase))
            .collect();
        for query in queries {
            let mut mark = cursor.queries.get(&query).cloned().unwrap_or_default();
            let since = mark.since(context.first_run_since);
            let mut newest = mark.clone();
            let mut upper: Option<i64> = None;
            for window in 0..WINDOWS_PER_POLL {
                let (hits_in_window, capped, oldest) = self
                    .search_window(
                        fetcher,
                        context,
                        &query,
                        since,
                        upper,
                        &mark,
                        &mut newest,
                        &mut handed_on,
                        &mut collected,
                    )
                    .await?;
                if !capped || hits_in_window == 0 {
                    break;
                }
                match oldest {
                    // A window that reaches no further back than the last one: stop rather
                    // than ask the same question again.
                    Some(oldest) if upper.is_none_or(|upper| oldest < upper) => {
                        upper = Some(oldest)
                    }
                    _ => break,
                }
                if window + 1 == WINDOWS_PER_POLL {
                    collected.skipped.push(SkippedItem {
                        reason: format!(
                            "query `{query}`: more than {} hits since {}; older ones were not fetched this poll",
                            HIT_CAP * WINDOWS_PER_POLL,
                            earful_core::time::format_timestamp(since)
                        ),
                    });
                }
            }
            mark = newest;
            cursor.queries.insert(query, mark);
        }
        collected.cursor = write_cursor(&cursor);
        Ok(collected)
    }

    /// Pages through one window (at most 1,000 hits, newest first). Returns the hits seen,
    /// whether the window hit the cap, and the oldest `created_at_i` seen.
    #[allow(clippy::too_many_arguments)]
    async fn search_window(
        &self,
        fetcher: &mut Fetcher,
        context: &PollContext<'_>,
        query: &str,
        since: OffsetDateTime,
        upper: Option<i64>,
        mark: &HighWater,
        newest: &mut HighWater,
        handed_on: &mut BTreeSet<String>,
        collected: &mut Collected,
    ) -> Result<(usize, bool, Option<i64>), SourceError> {
        let mut seen = 0;
        let mut window_ids = BTreeSet::new();
        let mut oldest: Option<i64> = None;
        let mut filters = format!("created_at_i>={}", since.unix_timestamp());
        if let Some(upper) = upper {
            filters.push_str(&format!(",created_at_i<={upper}"));
        }
        for page in 0..HIT_CAP / HITS_PER_PAGE {
            let mut url = api_url(&self.base, &["api", "v1", "search_by_date"]);
            url.query_pairs_mut()
                .append_pair("query", query)
                .append_pair("tags", "(story,comment)")
                .append_pair("numericFilters", &filters)
                .append_pair("hitsPerPage", &HITS_PER_PAGE.to_string())
                .append_pair("page", &page.to_string());
            let shown_url = redact_url(&url);
            let Some((_, body)) = fetch_json(fetcher, Request::get(url)).await? else {
                break;
            };
            let hits = array_field(&shown_url, &body, "hits")?;
            let pages = body
                .get("nbPages")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(1) as usize;
            let total = body
                .get("nbHits")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0) as usize;
            let mut fresh_on_page = 0;
            for (index, raw) in hits.iter().enumerate() {
                seen += 1;
                let position = page * HITS_PER_PAGE + index + 1;
                match map_hit(raw, position, context) {
                    Ok((hit, mention)) => {
                        let created = hit.created_at.unix_timestamp();
                        oldest = Some(oldest.map_or(created, |o| o.min(created)));
                        if window_ids.insert(hit.native_id.clone()) {
                            fresh_on_page += 1;
                        }
                        if !mark.is_new(hit.created_at, &hit.native_id) {
                            continue;
                        }
                        newest.advance(hit.created_at, &hit.native_id);
                        if handed_on.insert(mention.id.clone()) {
                            collected.mentions.push(mention);
                        }
                    }
                    Err(item) => collected.skipped.push(item),
                }
            }
            // A page of only hits already seen means the remote repeats itself: stop.
            let last_page =
                hits.is_empty() || page + 1 >= pages || (page > 0 && fresh_on_page == 0);
            if last_page {
                let capped =
                    total > (page + 1) * HITS_PER_PAGE && (page + 1) * HITS_PER_PAGE >= HIT_CAP;
                return Ok((seen, capped, oldest));
            }
        }
        Ok((seen, true, oldest))
    }
}

fn map_hit(
    raw: &serde_json::Value,
    position: usize,
    context: &PollContext<'_>,
) -> Result<(Hit, earful_core::MentionInput), SkippedItem> {
    let item = describe_item("hackernews", position, raw, "objectID");
    let text_field = |name: &str| {
        raw.get(name)
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
    };
    let native_id = match raw.get("objectID") {
        Some(serde_json::Value::String(id)) if !id.trim().is_empty() => id.clone(),
        Some(serde_json::Value::Number(id)) => id.to_string(),
        _ => return Err(skipped(item, "missing `objectID`")),
    };
    let created_at = raw
        .get("created_at_i")
        .and_then(serde_json::Value::as_f64)
        .ok_or_else(|| skipped(item.clone(), "missing `created_at_i`"))
        .and_then(|seconds| {
            unix_time(seconds).map_err(|problem| skipped(item.clone(), &problem))
        })?;
    let is_comment = raw
        .get("_tags")
        .and_then(serde_json::Value::as_array)
        .and_then(|tags| tags.first())
        .and_then(serde_json::Value::as_str)
        .map(|tag| tag == "comment")
        .unwrap_or_else(|| raw.get("comment_text").is_some_and(|text| !text.is_null()));
    let (text, title) = if is_comment {
        (text_field("comment_text"), text_field("story_title"))
    } else {
        (text_field("story_text"), text_field("title"))
    };
    let draft = Draft {
        kind: "hackernews",
        native_id: native_id.clone(),
        published_at: created_at,
        text: text.unwrap_or_default(),
        title,
    };
    let mut mention = draft
        .into_mention(context)
        .map_err(|problem| skipped(item.clone(), &problem))?;
    mention.url = Some(format!("https://news.ycombinator.com/item?id={native_id}"));
    mention.author = text_field("author").filter(|author| !author.is_empty());
    mention.engagement = raw.get("points").and_then(serde_json::Value::as_u64);
    if is_comment {
        mention.parent = raw
            .get("parent_id")
            .and_then(|parent| match parent {
                serde_json::Value::Number(id) => Some(id.to_string()),
                serde_json::Value::String(id) => Some(id.clone()),
                _ => None,
            })
            .map(|parent| format!("hackernews:{parent}"));
    }
    Ok((
        Hit {
            native_id,
            created_at,
        },
        mention,
    ))
}
