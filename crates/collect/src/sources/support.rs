//! What the API sources (mastodon, appstore, stackexchange, github, lemmy, bluesky, reddit)
//! share: endpoints from `base_url`, versioned cursors, high-water marks, `Link` headers, JSON
//! bodies read defensively, credentials checked before the first request, and the skeleton of
//! a mention.

use std::collections::BTreeSet;

use earful_core::config::SourceConfig;
use earful_core::{MentionId, MentionInput};
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use url::Url;

use crate::fetch::{redact_url, Fetched, Fetcher, Request, Response};
use crate::source::{PollContext, SkippedItem, SourceError};

/// The endpoint a source talks to: `base_url` when configured (a self-hosted instance, a test
/// server), else the public one.
pub(crate) fn endpoint(config: &SourceConfig, public: &str) -> Result<Url, SourceError> {
    let raw = config
        .base_url
        .as_deref()
        .map(str::trim)
        .filter(|raw| !raw.is_empty())
        .unwrap_or(public);
    let url = Url::parse(raw).map_err(|error| {
        SourceError::Settings(format!(
            "source `{}`: `base_url` `{raw}` is not a URL: {error}",
            config.name
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(SourceError::Settings(format!(
            "source `{}`: `base_url` `{raw}` must be an http or https URL",
            config.name
        )));
    }
    Ok(url)
}

/// `base` with `segments` appended to its path (each segment percent-encoded), no query.
pub(crate) fn api_url(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty();
        path.extend(segments);
    }
    url
}

/// A credential from the config. `${VAR}` expansion has already happened, so an empty value
/// means the variable was set to nothing: refuse to start rather than fail every poll.
pub(crate) fn required_secret(
    config: &SourceConfig,
    key: &str,
    value: Option<&String>,
) -> Result<String, SourceError> {
    match value
        .map(|value| value.trim())
        .filter(|value| !value.is_empty())
    {
        Some(value) => Ok(value.to_string()),
        None => Err(SourceError::Settings(format!(
            "source `{}` (kind `{}`): `{key}` is missing or empty; set it in the config, usually \
             as `{key} = \"${{VARIABLE}}\"` with that environment variable set",
            config.name, config.kind
        ))),
    }
}

/// An optional credential: an empty value (an unset `${VAR:-}`) counts as none.
pub(crate) fn optional_secret(value: Option<&String>) -> Option<String> {
    value
        .map(|value| value.trim().to_string())
        .filter(|value| !value.is_empty())
}

/// Reads the source's own cursor. One from an older version, or one that does not parse,
/// starts the source afresh from the look-back window: re-fetched mentions are upserts, so
/// that costs requests, never duplicates.
pub(crate) fn read_cursor<T: DeserializeOwned + Default>(
    context: &PollContext<'_>,
    version: u32,
) -> T {
    let Some(raw) = context.cursor else {
        return T::default();
    };
    let found = raw.get("version").and_then(serde_json::Value::as_u64);
    if found != Some(u64::from(version)) {
        tracing::warn!(
            source = %context.name,
            found = ?found,
            expected = version,
            "cursor version differs; starting from the look-back window"
        );
        return T::default();
    }
    match serde_json::from_value(raw.clone()) {
        Ok(cursor) => cursor,
        Err(error) => {
            tracing::warn!(source = %context.name, %error, "cursor unreadable; starting from the look-back window");
            T::default()
        }
    }
}

/// Serializes a cursor for [`Collected::cursor`](crate::Collected::cursor).
pub(crate) fn write_cursor<T: Serialize>(cursor: &T) -> Option<serde_json::Value> {
    serde_json::to_value(cursor).ok()
}

/// The newest item a search has handed on: its time and the ids published at that very time,
/// so an inclusive `since` (Stack Exchange's `fromdate`, GitHub's `created:>=`) or a tie in
/// a newest-first listing yields neither a duplicate nor a gap.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HighWater {
    /// The newest time handed on.
    #[serde(
        default,
        with = "earful_core::time::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub at: Option<OffsetDateTime>,
    /// The native ids published exactly at `at`.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub ids: BTreeSet<String>,
}

impl HighWater {
    /// Whether an item has not been handed on yet.
    pub fn is_new(&self, at: OffsetDateTime, id: &str) -> bool {
        match self.at {
            None => true,
            Some(mark) => at > mark || (at == mark && !self.ids.contains(id)),
        }
    }

    /// Moves the mark to include an item handed on.
    pub fn advance(&mut self, at: OffsetDateTime, id: &str) {
        match self.at {
            Some(mark) if at < mark => {}
            Some(mark) if at == mark => {
                self.ids.insert(id.to_string());
            }
            _ => {
                self.at = Some(at);
                self.ids.clear();
                self.ids.insert(id.to_string());
            }
        }
    }

    /// Where a search resumes: the mark, or the first-run look-back.
    pub fn since(&self, first_run_since: OffsetDateTime) -> OffsetDateTime {
        self.at.unwrap_or(first_run_since)
    }
}

/// The target of the `Link` header entry with this `rel` (RFC 8288), when there is one.
pub(crate) fn link_target(headers: &HeaderMap, rel: &str) -> Option<Url> {
    for value in headers.get_all(reqwest::header::LINK) {
        let Ok(value) = value.to_str() else {
            continue;
        };
        for entry in value.split(',') {
            let mut parts = entry.split(';');
            let target = parts.next().map(str::trim).unwrap_or_default();
            let Some(target) = target.strip_prefix('<').and_then(|t| t.strip_suffix('>')) else {
                continue;
            };
            let has_rel = parts.any(|parameter| {
                let Some((name, rels)) = parameter.split_once('=') else {
                    return false;
                };
                name.trim().eq_ignore_ascii_case("rel")
                    && rels
                        .trim()
                        .trim_matches('"')
                        .split_ascii_whitespace()
                        .any(|candidate| candidate.eq_ignore_ascii_case(rel))
            });
            if has_rel {
                if let Ok(url) = Url::parse(target) {
                    return Some(url);
                }
            }
        }
    }
    None
}

/// The value of one query parameter of a URL.
pub(crate) fn query_value(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// A fetched JSON document, or `None` for "not modified".
pub(crate) async fn fetch_json(
    fetcher: &mut Fetcher,
    request: Request,
) -> Result<Option<(Fetched, serde_json::Value)>, SourceError> {
    let shown_url = redact_url(&request.url);
    match fetcher.fetch(request).await? {
        Response::NotModified => Ok(None),
        Response::Fresh(fetched) => {
            let value = parse_json(&shown_url, &fetched)?;
            Ok(Some((fetched, value)))
        }
    }
}

/// Parses a body as JSON, refusing HTML pages (Reddit's "blocked" page comes as HTML) with a
/// message that says so instead of a JSON syntax error.
pub(crate) fn parse_json(
    shown_url: &str,
    fetched: &Fetched,
) -> Result<serde_json::Value, SourceError> {
    let content_type = fetched
        .headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let starts_like_html = fetched
        .body
        .iter()
        .find(|byte| !byte.is_ascii_whitespace())
        .is_some_and(|byte| *byte == b'<');
    if content_type.contains("html") || starts_like_html {
        return Err(SourceError::Parse {
            url: shown_url.to_string(),
            problem: format!(
                "expected JSON, got an HTML page (content type `{}`); the site may be blocking \
                 this client",
                if content_type.is_empty() {
                    "none"
                } else {
                    &content_type
                }
            ),
        });
    }
    serde_json::from_slice(&fetched.body).map_err(|error| SourceError::Parse {
        url: shown_url.to_string(),
        problem: format!("not valid JSON: {error}"),
    })
}

/// The array under `key` of a JSON object, or a parse error naming the key.
pub(crate) fn array_field<'a>(
    shown_url: &str,
    value: &'a serde_json::Value,
    key: &str,
) -> Result<&'a [serde_json::Value], SourceError> {
    match value.get(key) {
        Some(serde_json::Value::Array(items)) => Ok(items),
        Some(_) => Err(SourceError::Parse {
            url: shown_url.to_string(),
            problem: format!("`{key}` is not an array"),
        }),
        None => Err(SourceError::Parse {
            url: shown_url.to_string(),
            problem: format!("no `{key}` array in the response"),
        }),
    }
}

/// Reads one item into its typed shape; a malformed one becomes a [`SkippedItem`] naming the
/// item (by its position and, when it has one, its id) and what was wrong.
pub(crate) fn parse_item<T: DeserializeOwned>(
    kind: &str,
    index: usize,
    raw: &serde_json::Value,
    id_field: &str,
) -> Result<T, SkippedItem> {
    T::deserialize(raw).map_err(|error| SkippedItem {
        reason: format!("{}: {error}", describe_item(kind, index, raw, id_field)),
    })
}

/// `mastodon item 3 (`https://…`)`: how a skipped item is named.
pub(crate) fn describe_item(
    kind: &str,
    index: usize,
    raw: &serde_json::Value,
    id_field: &str,
) -> String {
    let id = id_field
        .split('.')
        .try_fold(raw, |value, key| value.get(key))
        .and_then(|id| match id {
            serde_json::Value::String(text) => Some(text.clone()),
            serde_json::Value::Number(number) => Some(number.to_string()),
            _ => None,
        });
    match id {
        Some(id) => format!("{kind} item {index} (`{id}`)"),
        None => format!("{kind} item {index}"),
    }
}

/// A skipped item for a problem found after parsing.
pub(crate) fn skipped(item: String, problem: &str) -> SkippedItem {
    SkippedItem {
        reason: format!("{item}: {problem}"),
    }
}

/// The fields every mention has; the caller fills in the rest. Empty text takes the title's
/// place, so a link post or an issue with no body still has something to score.
pub(crate) struct Draft {
    /// `<kind>:<native id>`.
    pub kind: &'static str,
    /// The source's own id for the item.
    pub native_id: String,
    /// When it was published.
    pub published_at: OffsetDateTime,
    /// The body.
    pub text: String,
    /// The title, when the item has one.
    pub title: Option<String>,
}

impl Draft {
    /// The mention, or why the item cannot be one (a bad id, no text at all).
    pub fn into_mention(self, context: &PollContext<'_>) -> Result<MentionInput, String> {
        let id =
            MentionId::native(self.kind, &self.native_id).map_err(|error| error.to_string())?;
        let title = self.title.filter(|title| !title.trim().is_empty());
        let (text, title) = if self.text.trim().is_empty() {
            match title {
                Some(title) => (title, None),
                None => return Err("no text and no title".to_string()),
            }
        } else {
            (self.text, title)
        };
        Ok(MentionInput {
            id: id.as_str().to_string(),
            source: Some(self.kind.to_string()),
            feed: Some(context.name.to_string()),
            watches: Vec::new(),
            url: None,
            author: None,
            author_reach: None,
            title,
            text,
            lang: None,
            rating: None,
            engagement: None,
            parent: None,
            published_at: self.published_at,
            collected_at: None,
            sentiment: None,
        })
    }
}

/// A count that may be negative on the wire (scores): below zero is no engagement.
pub(crate) fn non_negative(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// A search query for a term: phrases quoted, single words as typed.
pub(crate) fn quoted_if_phrase(text: &str, phrase: bool) -> String {
    if phrase || text.contains(char::is_whitespace) {
        format!("\"{}\"", text.replace('"', ""))
    } else {
        text.to_string()
    }
}

/// The remote queries of a poll: each watch term as the API's phrase syntax expects, each
/// once (two watches may share a term), in the watches' order. A source bound to no watch
/// has nothing to ask, and says so.
pub(crate) fn search_queries(context: &PollContext<'_>) -> Result<Vec<String>, SourceError> {
    if context.terms.is_empty() {
        return Err(no_terms(context));
    }
    let mut queries: Vec<String> = Vec::with_capacity(context.terms.len());
    for term in context.terms {
        let query = quoted_if_phrase(&term.text, term.phrase);
        if !queries.contains(&query) {
            queries.push(query);
        }
    }
    Ok(queries)
}

/// A searching source with no watch to search for has nothing to ask: say so.
pub(crate) fn no_terms(context: &PollContext<'_>) -> SourceError {
    SourceError::Settings(format!(
        "source `{}` searches for its watches' terms but has none; bind it to a watch with \
         `watches = [\"…\"]`",
        context.name
    ))
}

/// An RFC 3339 timestamp, or one with no offset (old Lemmy servers), read as UTC.
pub(crate) fn parse_lenient_time(raw: &str) -> Result<OffsetDateTime, String> {
    if let Ok(at) = earful_core::time::parse_timestamp(raw) {
        return Ok(at);
    }
    let naive = time::PrimitiveDateTime::parse(
        raw.trim(),
        &time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
        ),
    )
    .map_err(|_| format!("`{raw}` is not a timestamp"))?;
    Ok(naive.assume_utc())
}

/// Unix seconds (possibly fractional, as Reddit sends them) as a time.
pub(crate) fn unix_time(seconds: f64) -> Result<OffsetDateTime, String> {
    if !seconds.is_finite() {
        return Err(format!("`{seconds}` is not a time"));
    }
    let nanos = (seconds * 1e9).round() as i128;
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .map_err(|_| format!("`{seconds}` is out of range"))
}

/// A recorded payload from `../shared/fixtures/sources/`, for the source modules' unit tests.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) fn recorded_payload(name: &str) -> serde_json::Value {
    let path = format!(
        "{}/../../../shared/fixtures/sources/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use time::macros::datetime;

    #[test]
    fn high_water_drops_ties_it_has_seen_and_keeps_new_ones() {
        let mut mark = HighWater::default();
        let at = datetime!(2026-11-22 10:00 UTC);
        assert!(mark.is_new(at, "a"));
        mark.advance(at, "a");
        mark.advance(at, "b");
        mark.advance(at - time::Duration::hours(1), "old");
        assert!(!mark.is_new(at, "a") && !mark.is_new(at, "b"));
        assert!(mark.is_new(at, "c"));
        assert!(!mark.is_new(at - time::Duration::SECOND, "z"));
        mark.advance(at + time::Duration::SECOND, "d");
        assert_eq!(mark.ids.len(), 1);
        assert_eq!(
            mark.since(datetime!(2000-01-01 0:00 UTC)),
            at + time::Duration::SECOND
        );
    }

    proptest::proptest! {
        /// A poll hands on a batch in any order and commits the mark; the next poll sees
        /// that batch again plus items at or after its newest time (ties included), after a
        /// trip through the stored cursor. Nothing is handed on twice and nothing is lost.
        #[test]
        fn high_water_neither_duplicates_nor_loses(
            first in proptest::collection::btree_map(0u32..60, 0i64..20, 0..30),
            later in proptest::collection::btree_map(100u32..160, 0i64..5, 0..30),
        ) {
            let at = |seconds: i64| datetime!(2026-11-22 10:00 UTC) + time::Duration::seconds(seconds);
            let first: Vec<(String, i64)> =
                first.into_iter().map(|(id, seconds)| (id.to_string(), seconds)).collect();
            let mut mark = HighWater::default();
            for (id, seconds) in &first {
                proptest::prop_assert!(mark.is_new(at(*seconds), id), "an empty mark lets all through");
            }
            for (id, seconds) in first.iter().rev() {
                mark.advance(at(*seconds), id);
            }
            let stored = serde_json::to_value(&mark).unwrap();
            let mark: HighWater = serde_json::from_value(stored).unwrap();
            let newest = first.iter().map(|(_, seconds)| *seconds).max().unwrap_or(0);
            let later: Vec<(String, i64)> = later
                .into_iter()
                .map(|(id, offset)| (id.to_string(), newest + offset))
                .collect();
            let again: Vec<&(String, i64)> = first.iter().chain(later.iter()).collect();
            let handed_on: Vec<&String> = again
                .iter()
                .filter(|(id, seconds)| mark.is_new(at(*seconds), id))
                .map(|(id, _)| id)
                .collect();
            let expected: Vec<&String> = later.iter().map(|(id, _)| id).collect();
            proptest::prop_assert_eq!(handed_on, expected);
        }
    }

    #[test]
    fn link_header_targets_by_rel() {
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::LINK,
            HeaderValue::from_static(
                "<https://a.example/x?max_id=1>; rel=\"next\", <https://a.example/x?min_id=9>; rel=\"prev\"",
            ),
        );
        let prev = link_target(&headers, "prev").map(|url| url.to_string());
        assert_eq!(prev.as_deref(), Some("https://a.example/x?min_id=9"));
        let next = link_target(&headers, "next").and_then(|url| query_value(&url, "max_id"));
        assert_eq!(next.as_deref(), Some("1"));
        assert!(link_target(&headers, "last").is_none());
    }

    #[test]
    fn naive_and_offset_times() {
        assert_eq!(
            parse_lenient_time("2023-08-04T18:15:42.162438").map(|t| t.unix_timestamp()),
            Ok(1_691_172_942)
        );
        assert_eq!(
            parse_lenient_time("2026-05-28T06:25:43-07:00"),
            Ok(datetime!(2026-05-28 13:25:43 UTC))
        );
        assert!(parse_lenient_time("yesterday").is_err());
        assert_eq!(
            unix_time(1_690_392_591.0),
            Ok(datetime!(2023-07-26 17:29:51 UTC))
        );
    }

    #[test]
    fn api_urls_append_encoded_segments() {
        let base = Url::parse("http://127.0.0.1:9/prefix/").unwrap();
        assert_eq!(
            api_url(&base, &["api", "v1", "tag", "c#"]).as_str(),
            "http://127.0.0.1:9/prefix/api/v1/tag/c%23"
        );
    }
}
