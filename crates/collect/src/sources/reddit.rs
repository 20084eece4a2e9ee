//! `reddit`: posts that match the bound watches' terms, through Reddit's OAuth `search`.
//!
//! Reddit answers unauthenticated JSON with a 403 "blocked" page, so the source needs an
//! app's `client_id` and `client_secret` (usually `${REDDIT_CLIENT_ID}` and
//! `${REDDIT_CLIENT_SECRET}`) and refuses to start without them. It takes an app-only token
//! (`client_credentials`, HTTP Basic) from `/api/v1/access_token`, keeps it until it expires,
//! and takes a new one once when a search is refused with a 401. Every request
//! carries the User-Agent Reddit's rules ask for (`user_agent`). Search has no "since":
//! `sort=new` listings are paged with `after` and read down to the high-water mark on
//! `created_utc`. `raw_json=1` turns off Reddit's HTML-escaping of strings. Listings of
//! comments (`t1`) map too, with their parent.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use base64::Engine;
use earful_core::config::SourceConfig;
use earful_core::MentionInput;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use url::Url;

use super::support::{
    api_url, describe_item, endpoint, fetch_json, non_negative, parse_item, read_cursor,
    required_secret, search_queries, skipped, unix_time, write_cursor, Draft, HighWater,
};
use crate::fetch::{redact_url, Fetcher, Request, RequestBody};
use crate::source::{Collected, PollContext, SourceError};

const KIND: &str = "reddit";
const PUBLIC_API: &str = "https://oauth.reddit.com";
const PUBLIC_TOKEN_HOST: &str = "https://www.reddit.com";
const PAGE_SIZE: u32 = 100;
const MAX_PAGES: u32 = 5;
const EXPIRY_MARGIN: time::Duration = time::Duration::minutes(1);
const CURSOR_VERSION: u32 = 1;

/// Reddit search with app-only OAuth.
pub struct Reddit {
    api: Url,
    token_host: Url,
    client_id: String,
    client_secret: String,
    user_agent: String,
    token: Mutex<Option<Token>>,
}

impl std::fmt::Debug for Reddit {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Reddit")
            .field("api", &self.api.as_str())
            .field("user_agent", &self.user_agent)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
struct Token {
    access_token: String,
    expires_at: OffsetDateTime,
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<i64>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Cursor {
    version: u32,
    /// Per search query, the newest post handed on.
    #[serde(default)]
    terms: BTreeMap<String, HighWater>,
}

#[derive(Debug, Deserialize)]
struct Thing {
    kind: String,
    data: serde_json::Value,
}

#[derive(Debug, Deserialize)]
struct Link {
    name: String,
    title: String,
    #[serde(default)]
    selftext: String,
    #[serde(default)]
    url: Option<String>,
    permalink: String,
    author: String,
    created_utc: f64,
    #[serde(default)]
    score: i64,
    #[serde(default)]
    subreddit_subscribers: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct Comment {
    id: String,
    name: String,
    body: String,
    author: String,
    created_utc: f64,
    link_id: String,
    parent_id: String,
    #[serde(default)]
    link_title: Option<String>,
    #[serde(default)]
    permalink: Option<String>,
    #[serde(default)]
    subreddit: Option<String>,
    #[serde(default)]
    score: i64,
}

impl Reddit {
    /// Checks the settings: `client_id` and `client_secret` must be set and not empty.
    pub fn new(config: &SourceConfig) -> Result<Reddit, SourceError> {
        let client_id = required_secret(config, "client_id", config.client_id.as_ref())?;
        let client_secret =
            required_secret(config, "client_secret", config.client_secret.as_ref())?;
        // One override moves both hosts: a test server or a proxy serves them together.
        let api = endpoint(config, PUBLIC_API)?;
        let token_host = endpoint(config, PUBLIC_TOKEN_HOST)?;
        let user_agent = config
            .user_agent
            .as_deref()
            .map(str::trim)
            .filter(|agent| !agent.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| {
                // Reddit's form: `<platform>:<app ID>:<version> (by /u/<username>)`.
                format!(
                    "{}:earful:v{} (self-hosted mention monitor)",
                    std::env::consts::OS,
                    env!("CARGO_PKG_VERSION")
                )
            });
        Ok(Reddit {
            api,
            token_host,
            client_id,
            client_secret,
            user_agent,
            token: Mutex::new(None),
        })
    }

    /// Searches every term down to its high-water mark.
    pub async fn poll(
        &self,
        fetcher: &mut Fetcher,
        context: &PollContext<'_>,
    ) -> Result<Collected, SourceError> {
        let queries = search_queries(context)?;
        let mut cursor: Cursor = read_cursor(context, CURSOR_VERSION);
        cursor.version = CURSOR_VERSION;
        let mut collected = Collected::default();
        for query in queries {
            let mark = cursor.terms.get(&query).cloned().unwrap_or_default();
            let mut advanced = mark.clone();
            let floor = mark.since(context.first_run_since);
            let mut after: Option<String> = None;
            let mut handed_on = HashSet::new();
            for _ in 0..MAX_PAGES {
                let url = self.search_url(&query, after.as_deref());
                let shown_url = redact_url(&url);
                let Some(body) = self.search(fetcher, context, url).await? else {
                    break;
                };
                let (things, next) = read_listing(&shown_url, &body)?;
                let mut reached_seen = false;
                for (index, raw) in things.iter().enumerate() {
                    match map_thing(raw, index, context) {
                        Ok(mention) => {
                            let native = mention.id.clone();
                            if mention.published_at < floor
                                || !mark.is_new(mention.published_at, &native)
                            {
                                reached_seen = true;
                                continue;
                            }
                            if !handed_on.insert(native.clone()) {
                                continue;
                            }
                            advanced.advance(mention.published_at, &native);
                            collected.mentions.push(mention);
                        }
                        Err(skip) => collected.skipped.push(skip),
                    }
                }
                if reached_seen || next.is_none() || next == after {
                    break;
                }
                after = next;
            }
            cursor.terms.insert(query, advanced);
        }
        collected.cursor = write_cursor(&cursor);
        Ok(collected)
    }

    fn search_url(&self, query: &str, after: Option<&str>) -> Url {
        let mut url = api_url(&self.api, &["search"]);
        {
            let mut pairs = url.query_pairs_mut();
            pairs
                .append_pair("q", query)
                .append_pair("sort", "new")
                .append_pair("type", "link")
                .append_pair("limit", &PAGE_SIZE.to_string())
                .append_pair("raw_json", "1");
            if let Some(after) = after {
                pairs.append_pair("after", after);
            }
        }
        url
    }

    async fn search(
        &self,
        fetcher: &mut Fetcher,
        context: &PollContext<'_>,
        url: Url,
    ) -> Result<Option<serde_json::Value>, SourceError> {
        let (token, fresh) = self.token(fetcher, context.now).await?;
        let request = |token: &Token| {
            Request::get(url.clone())
                .header("User-Agent", self.user_agent.clone())
                .header("Authorization", format!("bearer {}", token.access_token))
        };
        match fetch_json(fetcher, request(&token)).await {
            Ok(found) => Ok(found.map(|(_, body)| body)),
            // Only a 401 blames the token: a 403 or 404 would be refused to a new one too.
            Err(SourceError::Fetch(error)) if !fresh && error.status == Some(401) => {
                tracing::info!(source = %context.name, "Reddit refused the token; taking a new one");
                if let Ok(mut cached) = self.token.lock() {
                    *cached = None;
                }
                let (token, _) = self.token(fetcher, context.now).await?;
                Ok(fetch_json(fetcher, request(&token))
                    .await?
                    .map(|(_, body)| body))
            }
            Err(error) => Err(error),
        }
    }

    /// The cached token while it is valid, else a new one (and whether it is new).
    async fn token(
        &self,
        fetcher: &mut Fetcher,
        now: OffsetDateTime,
    ) -> Result<(Token, bool), SourceError> {
        let cached = self.token.lock().ok().and_then(|token| token.clone());
        if let Some(token) = cached {
            if token.expires_at - EXPIRY_MARGIN > now {
                return Ok((token, false));
            }
        }
        let url = api_url(&self.token_host, &["api", "v1", "access_token"]);
        let shown_url = redact_url(&url);
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.client_id, self.client_secret));
        let request = Request::get(url)
            .header("User-Agent", self.user_agent.clone())
            .header("Authorization", format!("Basic {basic}"))
            .with_body(RequestBody::Form(vec![(
                "grant_type".to_string(),
                "client_credentials".to_string(),
            )]));
        let refused = |problem: String| SourceError::Remote {
            url: shown_url.clone(),
            problem,
        };
        let Some((_, body)) = fetch_json(fetcher, request).await? else {
            return Err(refused(
                "the token request answered 304 Not Modified".to_string(),
            ));
        };
        let answer: TokenAnswer = serde_json::from_value(body)
            .map_err(|error| refused(format!("unreadable token answer: {error}")))?;
        if let Some(error) = answer.error {
            return Err(refused(format!("no token: {error}")));
        }
        let Some(access_token) = answer.access_token.filter(|token| !token.is_empty()) else {
            return Err(refused(
                "the token answer has no `access_token`".to_string(),
            ));
        };
        let token = Token {
            access_token,
            expires_at: now + time::Duration::seconds(answer.expires_in.unwrap_or(3600).max(0)),
        };
        if let Ok(mut cached) = self.token.lock() {
            *cached = Some(token.clone());
        }
        Ok((token, true))
    }
}

/// The things of a Listing and its `after` (the end is `after: null`).
fn read_listing<'a>(
    shown_url: &str,
    body: &'a serde_json::Value,
) -> Result<(&'a [serde_json::Value], Option<String>), SourceError> {
    let bad = |problem: &str| SourceError::Parse {
        url: shown_url.to_string(),
        problem: problem.to_string(),
    };
    if body.get("kind").and_then(serde_json::Value::as_str) != Some("Listing") {
        return Err(bad("expected a Listing"));
    }
    let data = body
        .get("data")
        .ok_or_else(|| bad("the Listing has no `data`"))?;
    let children = match data.get("children") {
        Some(serde_json::Value::Array(children)) => children.as_slice(),
        _ => return Err(bad("the Listing has no `data.children` array")),
    };
    let after = data
        .get("after")
        .and_then(serde_json::Value::as_str)
        .filter(|after| !after.is_empty())
        .map(str::to_string);
    Ok((children, after))
}

fn map_thing(
    raw: &serde_json::Value,
    index: usize,
    context: &PollContext<'_>,
) -> Result<MentionInput, crate::source::SkippedItem> {
    let thing: Thing = parse_item(KIND, index, raw, "data.name")?;
    let name = || describe_item(KIND, index, raw, "data.name");
    let mapped = match thing.kind.as_str() {
        "t3" => parse_item::<Link>(KIND, index, &thing.data, "name")
            .map(|link| map_link(link, context))?,
        "t1" => parse_item::<Comment>(KIND, index, &thing.data, "name")
            .map(|comment| map_comment(comment, context))?,
        other => Err(format!("kind `{other}` is neither a post nor a comment")),
    };
    mapped.map_err(|problem| skipped(name(), &problem))
}

fn map_link(link: Link, context: &PollContext<'_>) -> Result<MentionInput, String> {
    let published_at =
        unix_time(link.created_utc).map_err(|problem| format!("field `created_utc`: {problem}"))?;
    // A link post has no text of its own: its link is what it says.
    let text = if link.selftext.trim().is_empty() {
        link.url.unwrap_or_default()
    } else {
        link.selftext
    };
    let mut mention = Draft {
        kind: KIND,
        native_id: link.name,
        published_at,
        text,
        title: Some(link.title),
    }
    .into_mention(context)?;
    mention.url = Some(format!("https://www.reddit.com{}", link.permalink));
    mention.author = Some(link.author);
    // Reddit has no per-post author reach without a call per author; the community's size
    // stands in for how far the post can be seen.
    mention.author_reach = link.subreddit_subscribers;
    mention.engagement = Some(non_negative(link.score));
    Ok(mention)
}

fn map_comment(comment: Comment, context: &PollContext<'_>) -> Result<MentionInput, String> {
    let published_at = unix_time(comment.created_utc)
        .map_err(|problem| format!("field `created_utc`: {problem}"))?;
    let link_id = comment
        .link_id
        .strip_prefix("t3_")
        .unwrap_or(&comment.link_id)
        .to_string();
    // Older payloads have no `permalink`; Reddit resolves the post-and-comment form.
    let url = match (comment.permalink, comment.subreddit) {
        (Some(permalink), _) => format!("https://www.reddit.com{permalink}"),
        (None, Some(subreddit)) => format!(
            "https://www.reddit.com/r/{subreddit}/comments/{link_id}/_/{}/",
            comment.id
        ),
        (None, None) => format!(
            "https://www.reddit.com/comments/{link_id}/_/{}/",
            comment.id
        ),
    };
    let mut mention = Draft {
        kind: KIND,
        native_id: comment.name,
        published_at,
        text: comment.body,
        title: comment.link_title,
    }
    .into_mention(context)?;
    mention.url = Some(url);
    mention.author = Some(comment.author);
    mention.engagement = Some(non_negative(comment.score));
    mention.parent = Some(format!("{KIND}:{}", comment.parent_id));
    Ok(mention)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn fixture(name: &str) -> serde_json::Value {
        super::super::support::recorded_payload(name)
    }

    fn context() -> PollContext<'static> {
        PollContext {
            name: "reddit-acme",
            cursor: None,
            first_run_since: datetime!(2016-01-01 0:00 UTC),
            now: datetime!(2023-07-27 0:00 UTC),
            terms: &[],
        }
    }

    #[test]
    fn posts_map_every_field() {
        let body = fixture("reddit.json");
        let (things, after) = read_listing("u", &body).unwrap();
        assert_eq!(after.as_deref(), Some("t3_1518iy6"));
        let post = map_thing(&things[0], 0, &context()).unwrap();
        assert_eq!(post.id, "reddit:t3_15ac365");
        assert_eq!(
            post.url.as_deref(),
            Some("https://www.reddit.com/r/kpopthoughts/comments/15ac365/what_are_your_my_whole_life_has_been_a_lie/")
        );
        assert_eq!(post.author.as_deref(), Some("DiMpLe_dolL003"));
        assert_eq!(post.author_reach, Some(146_673));
        assert_eq!(post.engagement, Some(507));
        assert_eq!(post.published_at, datetime!(2023-07-26 17:29:51 UTC));
        assert!(post.text.starts_with("Cha Eunwoo"));
        assert!(post
            .title
            .as_deref()
            .unwrap_or_default()
            .contains("whole life"));
    }

    #[test]
    fn comments_map_with_parent_and_a_built_link() {
        let body = fixture("reddit-comments.json");
        let (things, _) = read_listing("u", &body).unwrap();
        let comment = map_thing(&things[0], 0, &context()).unwrap();
        assert_eq!(comment.id, "reddit:t1_d8v8e1i");
        assert_eq!(comment.parent.as_deref(), Some("reddit:t3_57uqpc"));
        assert_eq!(
            comment.url.as_deref(),
            Some("https://www.reddit.com/r/pcmasterrace/comments/57uqpc/_/d8v8e1i/")
        );
        assert_eq!(
            comment.title.as_deref(),
            Some("Something wrong with motherboard")
        );
        assert_eq!(comment.published_at, datetime!(2016-10-17 03:03:20 UTC));
    }
}
