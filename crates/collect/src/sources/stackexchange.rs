//! `stackexchange`: questions on one Stack Exchange site (`site`, default `stackoverflow`)
//! that match the bound watches' terms, through `search/advanced`.
//!
//! Per term the cursor keeps a high-water mark on `creation_date`; a poll asks for
//! `fromdate={mark}` oldest first (`order=asc`), so stopping early — a page cap, a `backoff`,
//! a low quota — leaves the mark exactly where the handed-on questions end. The quota and
//! throttle signals are in the body: `backoff` (seconds before this method may be called
//! again) and a low `quota_remaining` defer the source; `error_id` names a refusal, whether
//! it comes with a 200 or a 4xx. `throttle_violation` (error 502, sent as HTTP 400) is a rate
//! limit: its "more requests available in N seconds" defers the source.

use std::collections::{BTreeMap, HashSet};

use earful_core::config::SourceConfig;
use earful_core::MentionInput;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use url::Url;

use super::support::{
    api_url, array_field, describe_item, endpoint, fetch_json, non_negative, optional_secret,
    parse_item, read_cursor, search_queries, skipped, write_cursor, Draft, HighWater,
};
use crate::fetch::{redact_url, FetchError, FetchErrorClass, Fetcher, Request};
use crate::source::{Collected, PollContext, SourceError};

const KIND: &str = "stackexchange";
const PUBLIC_ENDPOINT: &str = "https://api.stackexchange.com";
const PAGE_SIZE: u32 = 100;
/// Pages per term per poll; the rest waits for the next poll.
const MAX_PAGES: u32 = 5;
/// Below this many requests left for the day, stop until the quota resets at 00:00 UTC
/// rather than spend the last ones (a key-less IP has 300 a day).
const QUOTA_RESERVE: i64 = 5;
const CURSOR_VERSION: u32 = 1;

/// Question search on one Stack Exchange site.
#[derive(Debug)]
pub struct Stackexchange {
    endpoint: Url,
    site: String,
    key: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Cursor {
    version: u32,
    /// Per search query, the newest question handed on.
    #[serde(default)]
    terms: BTreeMap<String, HighWater>,
}

#[derive(Debug, Deserialize)]
struct Question {
    question_id: u64,
    creation_date: i64,
    link: String,
    title: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    score: i64,
    #[serde(default)]
    owner: Option<Owner>,
}

#[derive(Debug, Deserialize)]
struct Owner {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    reputation: Option<u64>,
}

/// What the envelope said about the quota.
struct Signals {
    has_more: bool,
    stop: bool,
}

impl Stackexchange {
    /// Checks the settings: the site name and an optional API key.
    pub fn new(config: &SourceConfig) -> Result<Stackexchange, SourceError> {
        let endpoint = endpoint(config, PUBLIC_ENDPOINT)?;
        let site = config
            .site
            .as_deref()
            .unwrap_or("stackoverflow")
            .trim()
            .to_ascii_lowercase();
        if site.is_empty()
            || !site
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'.' || byte == b'-')
        {
            return Err(SourceError::Settings(format!(
                "source `{}`: `site` `{site}` is not a Stack Exchange site name such as \
                 `stackoverflow` or `superuser`",
                config.name
            )));
        }
        Ok(Stackexchange {
            endpoint,
            site,
            key: optional_secret(config.key.as_ref()),
        })
    }

    /// Searches every term from its high-water mark.
    pub async fn poll(
        &self,
        fetcher: &mut Fetcher,
        context: &PollContext<'_>,
    ) -> Result<Collected, SourceError> {
        let queries = search_queries(context)?;
        let mut cursor: Cursor = read_cursor(context, CURSOR_VERSION);
        cursor.version = CURSOR_VERSION;
        let mut collected = Collected::default();
        // Terms overlap and pages shift while new items arrive: hand each on once.
        let mut handed_on = HashSet::new();
        'terms: for query in queries {
            let mark = cursor.terms.get(&query).cloned().unwrap_or_default();
            let mut high_water = mark.clone();
            let since = mark.since(context.first_run_since);
            for page in 1..=MAX_PAGES {
                let request = Request::get(self.search_url(&query, since, page));
                let shown_url = redact_url(&request.url);
                let found = match fetch_json(fetcher, request).await {
                    Ok(found) => found,
                    Err(SourceError::Fetch(error)) => {
                        return Err(read_error_answer(error, fetcher))
                    }
                    Err(error) => return Err(error),
                };
                let Some((fetched, body)) = found else {
                    break;
                };
                let signals = read_signals(&shown_url, &body, fetched.fetched_at, fetcher)?;
                let items = array_field(&shown_url, &body, "items")?;
                for (index, raw) in items.iter().enumerate() {
                    let question: Question = match parse_item(KIND, index, raw, "question_id") {
                        Ok(question) => question,
                        Err(skip) => {
                            collected.skipped.push(skip);
                            continue;
                        }
                    };
                    let native = question.question_id.to_string();
                    match self.map_question(question, context) {
                        Ok(mention) => {
                            // Judged against the mark the poll started from: the order
                            // within a response is the server's, not a promise.
                            if mark.is_new(mention.published_at, &native)
                                && handed_on.insert(mention.id.clone())
                            {
                                high_water.advance(mention.published_at, &native);
                                collected.mentions.push(mention);
                            }
                        }
                        Err(problem) => collected.skipped.push(skipped(
                            describe_item(KIND, index, raw, "question_id"),
                            &problem,
                        )),
                    }
                }
                if signals.stop {
                    cursor.terms.insert(query, high_water);
                    break 'terms;
                }
                if !signals.has_more {
                    break;
                }
            }
            cursor.terms.insert(query, high_water);
        }
        collected.cursor = write_cursor(&cursor);
        Ok(collected)
    }

    fn search_url(&self, query: &str, since: OffsetDateTime, page: u32) -> Url {
        let mut url = api_url(&self.endpoint, &["2.3", "search", "advanced"]);
        {
            let mut pairs = url.query_pairs_mut();
            pairs
                .append_pair("order", "asc")
                .append_pair("sort", "creation")
                .append_pair("q", query)
                .append_pair("site", &self.site)
                .append_pair("fromdate", &since.unix_timestamp().to_string())
                .append_pair("pagesize", &PAGE_SIZE.to_string())
                .append_pair("page", &page.to_string())
                .append_pair("filter", "withbody");
            if let Some(key) = &self.key {
                pairs.append_pair("key", key);
            }
        }
        url
    }

    fn map_question(
        &self,
        question: Question,
        context: &PollContext<'_>,
    ) -> Result<MentionInput, String> {
        let published_at =
            OffsetDateTime::from_unix_timestamp(question.creation_date).map_err(|_| {
                format!(
                    "field `creation_date`: `{}` is out of range",
                    question.creation_date
                )
            })?;
        // Question ids are per site: the site is part of the id.
        let mut mention = Draft {
            kind: KIND,
            native_id: format!("{}:{}", self.site, question.question_id),
            published_at,
            text: question.body.unwrap_or_default(),
            // Titles come entity-encoded (`&quot;`); enrichment decodes them with the HTML.
            title: Some(question.title),
        }
        .into_mention(context)?;
        mention.url = Some(question.link);
        if let Some(owner) = question.owner {
            mention.author = owner.display_name;
            mention.author_reach = owner.reputation;
        }
        mention.engagement = Some(non_negative(question.score));
        mention.lang = site_language(&self.site);
        Ok(mention)
    }
}

/// The localized Stack Overflows say their language in their name (`ru.stackoverflow`).
fn site_language(site: &str) -> Option<String> {
    let (prefix, rest) = site.split_once('.')?;
    (rest == "stackoverflow" && prefix.len() == 2).then(|| prefix.to_string())
}

/// A 4xx whose body is a Stack Exchange error (`error_id`) becomes that error; any other
/// failed fetch stays as it is.
fn read_error_answer(error: FetchError, fetcher: &mut Fetcher) -> SourceError {
    let is_client_status = error
        .status
        .is_some_and(|status| (400..500).contains(&status));
    let body = error.body_json().filter(|_| is_client_status);
    let refusal = body.as_ref().and_then(|body| {
        refusal(
            &error.url,
            body,
            OffsetDateTime::now_utc(),
            error.retry_after,
            fetcher,
        )
    });
    refusal.unwrap_or(SourceError::Fetch(error))
}

/// The error a body with an `error_id` stands for: `throttle_violation` is a rate limit whose
/// wait ("more requests available in N seconds", or `backoff`) defers the source; any other
/// id is the remote's refusal, named.
fn refusal(
    shown_url: &str,
    body: &serde_json::Value,
    now: OffsetDateTime,
    retry_after: Option<std::time::Duration>,
    fetcher: &mut Fetcher,
) -> Option<SourceError> {
    let error_id = body.get("error_id").and_then(serde_json::Value::as_i64)?;
    let name = body
        .get("error_name")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("unknown");
    let message = body
        .get("error_message")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    if name != "throttle_violation" && error_id != 502 {
        return Some(SourceError::Remote {
            url: shown_url.to_string(),
            problem: format!("error {error_id} `{name}`: {message}"),
        });
    }
    let asked = throttle_wait(message).or_else(|| {
        body.get("backoff")
            .and_then(serde_json::Value::as_u64)
            .map(std::time::Duration::from_secs)
    });
    let wait = match (asked, retry_after) {
        (Some(asked), Some(header)) => Some(asked.max(header)),
        (asked, header) => asked.or(header),
    };
    if let Some(wait) = wait {
        tracing::info!(url = %shown_url, seconds = wait.as_secs(), "Stack Exchange throttled this client");
        let until = time::Duration::try_from(wait)
            .ok()
            .and_then(|wait| now.checked_add(wait))
            .unwrap_or(now + time::Duration::DAY);
        fetcher.defer_until(until);
    }
    let mut error = FetchError::new(
        shown_url,
        FetchErrorClass::RateLimited,
        format!("Stack Exchange refused: {name} ({message})"),
    );
    error.retry_after = wait;
    Some(SourceError::Fetch(error))
}

/// The N of "more requests available in N seconds" in a throttle message.
fn throttle_wait(message: &str) -> Option<std::time::Duration> {
    let (_, after) = message.split_once("available in ")?;
    let (seconds, unit) = after.trim_start().split_once(char::is_whitespace)?;
    unit.starts_with("second")
        .then(|| seconds.parse::<u64>().ok())
        .flatten()
        .map(std::time::Duration::from_secs)
}

/// Reads `error_id`, `backoff`, `quota_remaining` and `has_more`, and defers the source when
/// the body asks for it.
fn read_signals(
    shown_url: &str,
    body: &serde_json::Value,
    fetched_at: OffsetDateTime,
    fetcher: &mut Fetcher,
) -> Result<Signals, SourceError> {
    if let Some(error) = refusal(shown_url, body, fetched_at, None, fetcher) {
        return Err(error);
    }
    let mut stop = false;
    if let Some(backoff) = body.get("backoff").and_then(serde_json::Value::as_i64) {
        tracing::info!(url = %shown_url, backoff, "Stack Exchange asked for a pause");
        fetcher.defer_until(fetched_at + time::Duration::seconds(backoff.max(0)));
        stop = true;
    }
    if let Some(remaining) = body
        .get("quota_remaining")
        .and_then(serde_json::Value::as_i64)
    {
        if remaining <= QUOTA_RESERVE {
            tracing::warn!(url = %shown_url, remaining, "Stack Exchange quota nearly spent; pausing until it resets");
            fetcher.defer_until(next_utc_midnight(fetched_at));
            stop = true;
        }
    }
    let has_more = body
        .get("has_more")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    Ok(Signals { has_more, stop })
}

fn next_utc_midnight(at: OffsetDateTime) -> OffsetDateTime {
    let utc = at.to_offset(time::UtcOffset::UTC);
    (utc.date() + time::Duration::DAY).midnight().assume_utc()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn localized_sites_name_their_language() {
        assert_eq!(site_language("ru.stackoverflow").as_deref(), Some("ru"));
        assert_eq!(site_language("stackoverflow"), None);
        assert_eq!(site_language("meta.stackoverflow"), None);
    }

    #[test]
    fn a_throttle_message_gives_its_wait() {
        assert_eq!(
            throttle_wait(
                "too many requests from this IP, more requests available in 82961 seconds"
            ),
            Some(std::time::Duration::from_secs(82961))
        );
        assert_eq!(throttle_wait("too many requests from this IP"), None);
        assert_eq!(throttle_wait("more requests available in a while"), None);
    }

    #[test]
    fn the_quota_resets_at_the_next_utc_midnight() {
        assert_eq!(
            next_utc_midnight(datetime!(2026-12-04 23:59 UTC)),
            datetime!(2026-12-05 0:00 UTC)
        );
    }
}
