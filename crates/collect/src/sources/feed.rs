//! `feed`: RSS 0.9x/1.0/2.0, Atom and JSON Feed, Google Alerts included, through feed-rs.
//!
//! The body is parsed from raw bytes (feed-rs decodes by the XML prolog, so ISO-8859-1 feeds
//! keep their accents) with the final URL as `base_uri`, so relative links resolve. Entries
//! are keyed by their GUID, else their normalized link; the cursor keeps the keys of the last
//! fetch, so an entry is handed on once even when the feed gives it no date.

use std::collections::BTreeSet;

use earful_core::config::SourceConfig;
use earful_core::{MentionId, MentionInput};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use url::Url;

use crate::fetch::{redact_url, Fetcher, Request, Response};
use crate::source::{Collected, PollContext, SkippedItem, SourceError};

/// The cursor format this module writes.
const CURSOR_VERSION: u32 = 1;

/// Marks an entry that had no id of its own (feed-rs would otherwise invent one from the
/// title, and a title edit would make a "new" entry).
const NO_ID: &str = "";

/// A configured feed.
#[derive(Debug)]
pub struct FeedSource {
    url: Url,
}

/// What the feed module remembers between polls.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct FeedCursor {
    version: u32,
    /// Entry keys of the last fetch that were handed on (or were too old to be).
    #[serde(default)]
    seen: BTreeSet<String>,
}

impl FeedSource {
    /// Checks the entry's `url`; `base_url`, when set, replaces its scheme, host and port.
    pub fn new(config: &SourceConfig) -> Result<FeedSource, SourceError> {
        let raw = config.url.as_deref().unwrap_or_default().trim();
        let mut url = Url::parse(raw).map_err(|error| {
            SourceError::Settings(format!(
                "source `{}`: `url` `{raw}` is not a URL: {error}",
                config.name
            ))
        })?;
        if let Some(base) = config.base_url.as_deref().filter(|base| !base.is_empty()) {
            let base = Url::parse(base).map_err(|error| {
                SourceError::Settings(format!(
                    "source `{}`: `base_url` `{base}` is not a URL: {error}",
                    config.name
                ))
            })?;
            let path_and_query = match url.query() {
                Some(query) => format!("{}?{query}", url.path()),
                None => url.path().to_string(),
            };
            url = base.join(&path_and_query).map_err(|error| {
                SourceError::Settings(format!("source `{}`: `base_url`: {error}", config.name))
            })?;
        }
        if !matches!(url.scheme(), "http" | "https") {
            return Err(SourceError::Settings(format!(
                "source `{}`: `url` must be http or https",
                config.name
            )));
        }
        Ok(FeedSource { url })
    }

    /// Fetches the feed (conditionally) and maps its new entries.
    pub async fn poll(
        &self,
        fetcher: &mut Fetcher,
        context: &PollContext<'_>,
    ) -> Result<Collected, SourceError> {
        let cursor = read_cursor(context);
        let response = fetcher
            .fetch(Request::get(self.url.clone()).conditional())
            .await?;
        let fetched = match response {
            Response::NotModified => return Ok(Collected::default()),
            Response::Fresh(fetched) => fetched,
        };
        let parser = feed_rs::parser::Builder::new()
            .base_uri(Some(fetched.url.as_str()))
            .id_generator(|_, _, _| NO_ID.to_string())
            .build();
        let feed = parser
            .parse(fetched.body.as_ref())
            .map_err(|error| SourceError::Parse {
                url: redact_url(&self.url),
                problem: format!("not an RSS, Atom or JSON feed: {error}"),
            })?;
        let feed_url = self.url.as_str();
        let feed_language = feed.language.clone();
        let mut collected = Collected::default();
        let mut seen = BTreeSet::new();
        for (position, entry) in feed.entries.into_iter().enumerate() {
            let item = position + 1;
            let Some(key) = entry_key(&entry) else {
                collected.skipped.push(SkippedItem {
                    reason: format!("entry {item}: no `id`/`guid` and no link"),
                });
                continue;
            };
            if !seen.insert(key.clone()) {
                continue;
            }
            if cursor.seen.contains(&key) {
                continue;
            }
            let published_at = entry
                .published
                .or(entry.updated)
                .and_then(|at| epoch_to_time(at.timestamp(), at.timestamp_subsec_nanos()))
                .unwrap_or(fetched.fetched_at);
            let dated = entry.published.is_some() || entry.updated.is_some();
            if context.cursor.is_none() && dated && published_at < context.first_run_since {
                continue;
            }
            let text = entry
                .content
                .as_ref()
                .and_then(|content| content.body.clone())
                .filter(|body| !body.trim().is_empty())
                .or_else(|| {
                    entry
                        .summary
                        .as_ref()
                        .map(|summary| summary.content.clone())
                        .filter(|summary| !summary.trim().is_empty())
                });
            let title = entry
                .title
                .as_ref()
                .map(|title| title.content.trim().to_string())
                .filter(|title| !title.is_empty());
            let Some(text) = text.or_else(|| title.clone()) else {
                collected.skipped.push(SkippedItem {
                    reason: format!("entry {item} (`{key}`): no title, summary or content"),
                });
                continue;
            };
            let lang = entry
                .language
                .as_deref()
                .or(feed_language.as_deref())
                .and_then(normalize_language);
            collected.mentions.push(MentionInput {
                id: MentionId::feed_entry(feed_url, &key).as_str().to_string(),
                source: Some("feed".to_string()),
                feed: Some(context.name.to_string()),
                watches: Vec::new(),
                url: entry.links.first().map(|link| unwrap_redirect(&link.href)),
                author: entry.authors.first().and_then(author_name),
                author_reach: None,
                title,
                text,
                lang,
                rating: None,
                engagement: None,
                parent: None,
                published_at,
                collected_at: Some(fetched.fetched_at),
                sentiment: None,
            });
        }
        collected.cursor = serde_json::to_value(FeedCursor {
            version: CURSOR_VERSION,
            seen,
        })
        .ok();
        Ok(collected)
    }
}

fn read_cursor(context: &PollContext<'_>) -> FeedCursor {
    context
        .cursor
        .and_then(|raw| serde_json::from_value::<FeedCursor>(raw.clone()).ok())
        .filter(|cursor| cursor.version == CURSOR_VERSION)
        .unwrap_or_default()
}

/// The entry's GUID, else its normalized link.
fn entry_key(entry: &feed_rs::model::Entry) -> Option<String> {
    let id = entry.id.trim();
    if !id.is_empty() {
        return Some(id.to_string());
    }
    entry
        .links
        .first()
        .map(|link| normalize_link(&unwrap_redirect(&link.href)))
        .filter(|link| !link.is_empty())
}

/// A link as a dedup key: no fragment, lower-case scheme and host (the `url` crate), no
/// trailing slash.
fn normalize_link(link: &str) -> String {
    match Url::parse(link.trim()) {
        Ok(mut url) => {
            url.set_fragment(None);
            url.as_str().trim_end_matches('/').to_string()
        }
        Err(_) => link.trim().to_string(),
    }
}

/// Google Alerts links are `https://www.google.com/url?…&url=REAL&…`: the real one is wanted.
fn unwrap_redirect(link: &str) -> String {
    let Ok(url) = Url::parse(link) else {
        return link.to_string();
    };
    let is_google = url
        .host_str()
        .is_some_and(|host| host == "google.com" || host.ends_with(".google.com"));
    if is_google && url.path() == "/url" {
        if let Some((_, real)) = url
            .query_pairs()
            .find(|(name, _)| name == "url" || name == "q")
        {
            if real.starts_with("http://") || real.starts_with("https://") {
                return real.into_owned();
            }
        }
    }
    link.to_string()
}

/// The author's name. RSS `<author>` holds an email, which feed-rs files as name `author` and
/// email `jonas@… (Jonas)`: the name in parentheses is the one wanted. An empty Atom name
/// comes out as `unknown`.
fn author_name(person: &feed_rs::model::Person) -> Option<String> {
    let name = person.name.trim();
    if !name.is_empty() && name != "author" && name != "unknown" {
        return Some(name.to_string());
    }
    let email = person.email.as_deref()?.trim();
    if let (Some(open), Some(close)) = (email.find('('), email.rfind(')')) {
        let inner = email[open + 1..close].trim();
        if !inner.is_empty() {
            return Some(inner.to_string());
        }
    }
    Some(email.to_string()).filter(|email| !email.is_empty())
}

/// `en_US`, `en-us`, `EN` → `en`; anything that is not a two- or three-letter code → none
/// (enrichment then detects the language).
fn normalize_language(raw: &str) -> Option<String> {
    let primary = raw.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    let valid = (2..=3).contains(&primary.len()) && primary.chars().all(|c| c.is_ascii_lowercase());
    valid.then_some(primary)
}

/// feed-rs dates are chrono's; only their epoch is needed, so chrono stays out of the
/// dependency list.
fn epoch_to_time(seconds: i64, nanos: u32) -> Option<OffsetDateTime> {
    let total = i128::from(seconds) * 1_000_000_000 + i128::from(nanos);
    OffsetDateTime::from_unix_timestamp_nanos(total).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_normalized() {
        assert_eq!(normalize_language("en_us").as_deref(), Some("en"));
        assert_eq!(normalize_language("EN-GB").as_deref(), Some("en"));
        assert_eq!(normalize_language("de").as_deref(), Some("de"));
        assert_eq!(normalize_language("english"), None);
        assert_eq!(normalize_language(""), None);
    }

    #[test]
    fn google_redirects_are_unwrapped() {
        let link = "https://www.google.com/url?rct=j&sa=t&url=https://news.example/acme-outage&ct=ga&cd=1&usg=x";
        assert_eq!(unwrap_redirect(link), "https://news.example/acme-outage");
        assert_eq!(
            unwrap_redirect("https://blog.example/post"),
            "https://blog.example/post"
        );
    }

    #[test]
    fn links_normalize_for_dedup() {
        assert_eq!(
            normalize_link("HTTPS://Blog.Example/post/#comments"),
            "https://blog.example/post"
        );
    }
}
