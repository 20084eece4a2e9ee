//! `bluesky`: posts that match the bound watches' terms, through `app.bsky.feed.searchPosts`
//! on the account's PDS (`base_url`, default bsky.social).
//!
//! Search needs a session: `com.atproto.server.createSession` with `identifier` and an app
//! password (`app_password`, usually `${BLUESKY_APP_PASSWORD}`). The session is kept between
//! polls (the PDS allows 30 logins per 5 minutes) and renewed when its token's `exp` has
//! passed, or once when a search is refused for its token (401, or an `ExpiredToken` /
//! `InvalidToken` error body); any other refusal fails the poll and keeps the session.
//! Per term the cursor keeps a high-water mark on the post's sort time, min(`createdAt`,
//! `indexedAt`) — the time `since` filters on; results come newest first, paged by an opaque
//! `cursor`.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use base64::Engine;
use earful_core::config::SourceConfig;
use earful_core::MentionInput;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use url::Url;

use super::support::{
    api_url, array_field, describe_item, endpoint, fetch_json, parse_item, read_cursor,
    required_secret, search_queries, skipped, write_cursor, Draft, HighWater,
};
use crate::fetch::{redact_url, FetchError, Fetcher, Request, RequestBody};
use crate::source::{Collected, PollContext, SourceError};

const KIND: &str = "bluesky";
const PUBLIC_PDS: &str = "https://bsky.social";
const PAGE_SIZE: u32 = 100;
const MAX_PAGES: u32 = 5;
/// A token this close to its expiry is renewed before use.
const EXPIRY_MARGIN: time::Duration = time::Duration::minutes(1);
const CURSOR_VERSION: u32 = 1;

/// Bluesky post search with an app-password session.
pub struct Bluesky {
    pds: Url,
    identifier: String,
    app_password: String,
    session: Mutex<Option<Session>>,
}

impl std::fmt::Debug for Bluesky {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Bluesky")
            .field("pds", &self.pds.as_str())
            .field("identifier", &self.identifier)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
struct Session {
    access_jwt: String,
    expires_at: Option<OffsetDateTime>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Cursor {
    version: u32,
    /// Per search query, the newest post handed on.
    #[serde(default)]
    terms: BTreeMap<String, HighWater>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreatedSession {
    access_jwt: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostView {
    uri: String,
    author: Author,
    record: Record,
    #[serde(default)]
    indexed_at: Option<String>,
    #[serde(default)]
    like_count: u64,
    #[serde(default)]
    repost_count: u64,
}

#[derive(Debug, Deserialize)]
struct Author {
    handle: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    #[serde(default)]
    text: String,
    created_at: String,
    #[serde(default)]
    langs: Vec<String>,
    #[serde(default)]
    reply: Option<Reply>,
}

#[derive(Debug, Deserialize)]
struct Reply {
    parent: StrongRef,
}

#[derive(Debug, Deserialize)]
struct StrongRef {
    uri: String,
}

impl Bluesky {
    /// Checks the settings: `identifier` and `app_password` must be set and not empty.
    pub fn new(config: &SourceConfig) -> Result<Bluesky, SourceError> {
        Ok(Bluesky {
            pds: endpoint(config, PUBLIC_PDS)?,
            identifier: required_secret(config, "identifier", config.identifier.as_ref())?,
            app_password: required_secret(config, "app_password", config.app_password.as_ref())?,
            session: Mutex::new(None),
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
            let since = mark.since(context.first_run_since);
            let mut page_cursor: Option<String> = None;
            // Pages may overlap while new posts arrive between requests.
            let mut handed_on = HashSet::new();
            for _ in 0..MAX_PAGES {
                let url = self.search_url(&query, since, page_cursor.as_deref());
                let shown_url = redact_url(&url);
                let Some(body) = self.search(fetcher, context, url).await? else {
                    break;
                };
                let posts = array_field(&shown_url, &body, "posts")?;
                let mut reached_seen = false;
                for (index, raw) in posts.iter().enumerate() {
                    let post: PostView = match parse_item(KIND, index, raw, "uri") {
                        Ok(post) => post,
                        Err(skip) => {
                            collected.skipped.push(skip);
                            continue;
                        }
                    };
                    match map_post(post, context) {
                        Ok(mention) => {
                            if !mark.is_new(mention.published_at, &mention.id) {
                                reached_seen = true;
                                continue;
                            }
                            if !handed_on.insert(mention.id.clone()) {
                                continue;
                            }
                            advanced.advance(mention.published_at, &mention.id);
                            collected.mentions.push(mention);
                        }
                        Err(problem) => collected
                            .skipped
                            .push(skipped(describe_item(KIND, index, raw, "uri"), &problem)),
                    }
                }
                let next_cursor = body
                    .get("cursor")
                    .and_then(serde_json::Value::as_str)
                    .filter(|next| !next.is_empty())
                    .map(str::to_string);
                if reached_seen
                    || posts.is_empty()
                    || next_cursor.is_none()
                    || next_cursor == page_cursor
                {
                    break;
                }
                page_cursor = next_cursor;
            }
            cursor.terms.insert(query, advanced);
        }
        collected.cursor = write_cursor(&cursor);
        Ok(collected)
    }

    fn search_url(&self, query: &str, since: OffsetDateTime, page_cursor: Option<&str>) -> Url {
        let mut url = api_url(&self.pds, &["xrpc", "app.bsky.feed.searchPosts"]);
        {
            let mut pairs = url.query_pairs_mut();
            pairs
                .append_pair("q", query)
                .append_pair("sort", "latest")
                .append_pair("since", &earful_core::time::format_timestamp(since))
                .append_pair("limit", &PAGE_SIZE.to_string());
            if let Some(page_cursor) = page_cursor {
                pairs.append_pair("cursor", page_cursor);
            }
        }
        url
    }

    /// One search request with a live session; renews the session once if it is refused.
    async fn search(
        &self,
        fetcher: &mut Fetcher,
        context: &PollContext<'_>,
        url: Url,
    ) -> Result<Option<serde_json::Value>, SourceError> {
        let (session, fresh) = self.session(fetcher, context.now).await?;
        let request = |session: &Session| {
            Request::get(url.clone())
                .header("Authorization", format!("Bearer {}", session.access_jwt))
        };
        match fetch_json(fetcher, request(&session)).await {
            Ok(found) => Ok(found.map(|(_, body)| body)),
            Err(SourceError::Fetch(error)) if !fresh && is_token_refusal(&error) => {
                tracing::info!(source = %context.name, "Bluesky refused the session; logging in again");
                self.forget_session();
                let (session, _) = self.session(fetcher, context.now).await?;
                Ok(fetch_json(fetcher, request(&session))
                    .await?
                    .map(|(_, body)| body))
            }
            Err(error) => Err(error),
        }
    }

    /// The cached session while its token is valid, else a new one (and whether it is new).
    async fn session(
        &self,
        fetcher: &mut Fetcher,
        now: OffsetDateTime,
    ) -> Result<(Session, bool), SourceError> {
        let cached = self.session.lock().ok().and_then(|session| session.clone());
        if let Some(session) = cached {
            if session
                .expires_at
                .is_none_or(|expires_at| expires_at - EXPIRY_MARGIN > now)
            {
                return Ok((session, false));
            }
        }
        let url = api_url(&self.pds, &["xrpc", "com.atproto.server.createSession"]);
        let shown_url = redact_url(&url);
        let request = Request::get(url).with_body(RequestBody::Json(serde_json::json!({
            "identifier": self.identifier,
            "password": self.app_password,
        })));
        let Some((_, body)) = fetch_json(fetcher, request).await? else {
            return Err(SourceError::Remote {
                url: shown_url,
                problem: "the login answered 304 Not Modified".to_string(),
            });
        };
        let created: CreatedSession =
            serde_json::from_value(body).map_err(|_| SourceError::Remote {
                url: shown_url,
                problem: "the login answer has no `accessJwt`".to_string(),
            })?;
        let session = Session {
            expires_at: token_expiry(&created.access_jwt),
            access_jwt: created.access_jwt,
        };
        if let Ok(mut cached) = self.session.lock() {
            *cached = Some(session.clone());
        }
        Ok((session, true))
    }

    fn forget_session(&self) {
        if let Ok(mut cached) = self.session.lock() {
            *cached = None;
        }
    }
}

/// A 401, or an XRPC error body naming the token (`ExpiredToken`, `InvalidToken`; a PDS sends
/// these as 400): the session is at fault, not the request.
fn is_token_refusal(error: &FetchError) -> bool {
    if error.status == Some(401) {
        return true;
    }
    let body = error.body_json();
    let name = body
        .as_ref()
        .and_then(|body| body.get("error"))
        .and_then(serde_json::Value::as_str);
    matches!(name, Some("ExpiredToken" | "InvalidToken"))
}

/// The `exp` claim of a JWT, read without checking the signature (the PDS checks it; this
/// only decides when to log in again).
fn token_expiry(jwt: &str) -> Option<OffsetDateTime> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    OffsetDateTime::from_unix_timestamp(claims.get("exp")?.as_i64()?).ok()
}

fn map_post(post: PostView, context: &PollContext<'_>) -> Result<MentionInput, String> {
    let created_at = earful_core::time::parse_timestamp(&post.record.created_at)
        .map_err(|error| format!("field `record.createdAt`: {error}"))?;
    // `createdAt` is the client's word and may lie in the future; search sorts and filters
    // on the earlier of it and the server's `indexedAt`, and so does the mention.
    let published_at = post
        .indexed_at
        .as_deref()
        .and_then(|raw| earful_core::time::parse_timestamp(raw).ok())
        .map_or(created_at, |indexed_at| indexed_at.min(created_at));
    let rkey = post
        .uri
        .rsplit('/')
        .next()
        .filter(|rkey| !rkey.is_empty() && post.uri.starts_with("at://"))
        .ok_or_else(|| format!("field `uri`: `{}` is not an at:// URI", post.uri))?
        .to_string();
    let mut mention = Draft {
        kind: KIND,
        native_id: post.uri,
        published_at,
        text: post.record.text,
        title: None,
    }
    .into_mention(context)?;
    mention.url = Some(format!(
        "https://bsky.app/profile/{}/post/{rkey}",
        post.author.handle
    ));
    mention.author = Some(post.author.handle);
    mention.lang = post
        .record
        .langs
        .into_iter()
        .next()
        .filter(|lang| !lang.is_empty());
    mention.engagement = Some(post.like_count + post.repost_count);
    mention.parent = post
        .record
        .reply
        .map(|reply| format!("{KIND}:{}", reply.parent.uri));
    Ok(mention)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn token_expiry_reads_the_exp_claim() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"scope":"com.atproto.appPass","exp":1700000000}"#);
        let jwt = format!("eyJhbGciOiJIUzI1NiJ9.{payload}.c2ln");
        assert_eq!(token_expiry(&jwt), Some(datetime!(2023-11-14 22:13:20 UTC)));
        assert_eq!(token_expiry("not-a-jwt"), None);
    }
}
