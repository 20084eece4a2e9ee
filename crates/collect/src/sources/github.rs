//! `github`: issues and pull requests that match the bound watches' terms, through
//! `search/issues` with `created:>=` in the query.
//!
//! Per term the cursor keeps a high-water mark on `created_at`; a poll asks oldest first
//! (`order=asc`) and follows the `Link` header's `rel="next"` up to GitHub's 1000-result cap.
//! Stopping there is safe: the next poll starts from the last item handed on, so a busy term
//! is sliced by `created:` ranges rather than cut off. The engine reads the rate-limit
//! headers (`X-RateLimit-Reset` is an epoch here). A token (`token`, usually
//! `${GITHUB_TOKEN}`) is optional and triples the search budget.

use std::collections::{BTreeMap, HashSet};

use earful_core::config::SourceConfig;
use earful_core::MentionInput;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use url::Url;

use super::support::{
    api_url, array_field, describe_item, endpoint, fetch_json, link_target, no_terms,
    optional_secret, parse_item, read_cursor, skipped, write_cursor, Draft, HighWater,
};
use crate::fetch::{redact_url, Fetcher, Request};
use crate::source::{Collected, PollContext, SourceError};

const KIND: &str = "github";
const PUBLIC_ENDPOINT: &str = "https://api.github.com";
const PAGE_SIZE: u32 = 100;
/// GitHub serves at most 1000 results per query: ten pages of 100.
const MAX_PAGES: u32 = 10;
const CURSOR_VERSION: u32 = 1;

/// GitHub issue and pull-request search.
#[derive(Debug)]
pub struct Github {
    endpoint: Url,
    token: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Cursor {
    version: u32,
    /// Per search term, the newest issue handed on.
    #[serde(default)]
    terms: BTreeMap<String, HighWater>,
}

#[derive(Debug, Deserialize)]
struct Issue {
    id: u64,
    html_url: String,
    title: String,
    #[serde(default)]
    body: Option<String>,
    created_at: String,
    #[serde(default)]
    user: Option<User>,
    #[serde(default)]
    reactions: Option<Reactions>,
}

#[derive(Debug, Deserialize)]
struct User {
    login: String,
}

#[derive(Debug, Deserialize)]
struct Reactions {
    #[serde(default)]
    total_count: u64,
}

impl Github {
    /// Checks the settings; the token is optional.
    pub fn new(config: &SourceConfig) -> Result<Github, SourceError> {
        Ok(Github {
            endpoint: endpoint(config, PUBLIC_ENDPOINT)?,
            token: optional_secret(config.token.as_ref()),
        })
    }

    /// Searches every term from its high-water mark.
    pub async fn poll(
        &self,
        fetcher: &mut Fetcher,
        context: &PollContext<'_>,
    ) -> Result<Collected, SourceError> {
        if context.terms.is_empty() {
            return Err(no_terms(context));
        }
        let mut cursor: Cursor = read_cursor(context, CURSOR_VERSION);
        cursor.version = CURSOR_VERSION;
        let mut collected = Collected::default();
        // Terms overlap and pages shift while new items arrive: hand each on once.
        let mut handed_on = HashSet::new();
        let mut searched = HashSet::new();
        for term in context.terms {
            // GitHub matches a quoted string as a phrase; quoting a single word is harmless
            // and keeps `-` and `:` in brand names from being read as qualifiers.
            let phrase = format!("\"{}\"", term.text.replace('"', ""));
            // Two watches may share a term: search it once.
            if !searched.insert(phrase.clone()) {
                continue;
            }
            let mut high_water = cursor.terms.get(&phrase).cloned().unwrap_or_default();
            let since = high_water.since(context.first_run_since);
            let mut complete = true;
            let mut fresh = Vec::new();
            for page in 1..=MAX_PAGES {
                let request = self.request(self.search_url(&phrase, since, page));
                let shown_url = redact_url(&request.url);
                let Some((fetched, body)) = fetch_json(fetcher, request).await? else {
                    break;
                };
                if body
                    .get("incomplete_results")
                    .and_then(serde_json::Value::as_bool)
                    .unwrap_or(false)
                {
                    // The search timed out on GitHub's side and may have left holes.
                    complete = false;
                }
                let items = array_field(&shown_url, &body, "items")?;
                for (index, raw) in items.iter().enumerate() {
                    let issue: Issue = match parse_item(KIND, index, raw, "html_url") {
                        Ok(issue) => issue,
                        Err(skip) => {
                            collected.skipped.push(skip);
                            continue;
                        }
                    };
                    let native = issue.id.to_string();
                    match map_issue(issue, context) {
                        Ok(mention) => {
                            if high_water.is_new(mention.published_at, &native)
                                && handed_on.insert(mention.id.clone())
                            {
                                fresh.push((mention.published_at, native));
                                collected.mentions.push(mention);
                            }
                        }
                        Err(problem) => collected.skipped.push(skipped(
                            describe_item(KIND, index, raw, "html_url"),
                            &problem,
                        )),
                    }
                }
                if link_target(&fetched.headers, "next").is_none() {
                    break;
                }
            }
            if complete {
                for (at, native) in &fresh {
                    high_water.advance(*at, native);
                }
            } else {
                tracing::warn!(source = %context.name, term = %term.text, "GitHub returned incomplete results; the term is searched again from the same mark next time");
            }
            cursor.terms.insert(phrase, high_water);
        }
        collected.cursor = write_cursor(&cursor);
        Ok(collected)
    }

    fn search_url(&self, phrase: &str, since: OffsetDateTime, page: u32) -> Url {
        let mut url = api_url(&self.endpoint, &["search", "issues"]);
        url.query_pairs_mut()
            .append_pair(
                "q",
                &format!(
                    "{phrase} created:>={}",
                    earful_core::time::format_timestamp(
                        since.replace_nanosecond(0).unwrap_or(since)
                    )
                ),
            )
            .append_pair("sort", "created")
            .append_pair("order", "asc")
            .append_pair("per_page", &PAGE_SIZE.to_string())
            .append_pair("page", &page.to_string())
            .append_pair("advanced_search", "true");
        url
    }

    fn request(&self, url: Url) -> Request {
        let request = Request::get(url)
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28");
        match &self.token {
            Some(token) => request.header("Authorization", format!("Bearer {token}")),
            None => request,
        }
    }
}

fn map_issue(issue: Issue, context: &PollContext<'_>) -> Result<MentionInput, String> {
    let published_at = earful_core::time::parse_timestamp(&issue.created_at)
        .map_err(|error| format!("field `created_at`: {error}"))?;
    let mut mention = Draft {
        kind: KIND,
        native_id: issue.id.to_string(),
        published_at,
        text: issue.body.unwrap_or_default(),
        title: Some(issue.title),
    }
    .into_mention(context)?;
    // A pull request's `html_url` is its `/pull/N` page, which is how it shows as one.
    mention.url = Some(issue.html_url);
    mention.author = issue.user.map(|user| user.login);
    mention.engagement = issue.reactions.map(|reactions| reactions.total_count);
    Ok(mention)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_query_carries_the_phrase_and_the_mark() {
        let github = Github {
            endpoint: Url::parse(PUBLIC_ENDPOINT).unwrap(),
            token: None,
        };
        let url = github.search_url("\"acme-cli\"", datetime!(2026-09-01 0:00:00.5 UTC), 2);
        let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(query[0].1, "\"acme-cli\" created:>=2026-09-01T00:00:00Z");
        assert!(query.contains(&("page".to_string(), "2".to_string())));
        assert!(query.contains(&("advanced_search".to_string(), "true".to_string())));
    }
}
