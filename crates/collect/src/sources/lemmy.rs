//! `lemmy`: posts and comments on one Lemmy instance (`base_url`, default lemmy.world) that
//! match the bound watches' terms.
//!
//! API v3 (Lemmy 0.19) is `GET /api/v3/search` with `sort=New` and 1-based pages; v4 (Lemmy
//! 1.0) is `GET /api/v4/search` with a `next_page` cursor. A source starts on v3 and moves to
//! v4 for good when the instance refuses v3 with a client error and answers v4; the response
//! parser reads both shapes (`published` / `published_at`, `counts.score` / `score`). Neither
//! has a "since": results come newest first, and a poll stops at the first one at or below
//! the high-water mark (per term and type). The global `ap_id` is the id.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};

use earful_core::config::SourceConfig;
use earful_core::MentionInput;
use serde::{Deserialize, Serialize};
use url::Url;

use super::support::{
    api_url, describe_item, endpoint, fetch_json, no_terms, non_negative, parse_item,
    parse_lenient_time, read_cursor, skipped, write_cursor, Draft, HighWater,
};
use crate::fetch::{redact_url, FetchErrorClass, Fetcher, Request};
use crate::source::{Collected, PollContext, SourceError};

const KIND: &str = "lemmy";
const PUBLIC_INSTANCE: &str = "https://lemmy.world";
const PAGE_SIZE: u32 = 50;
/// Pages per term and type per poll (instances allow about 60 searches per 10 minutes).
const MAX_PAGES: u32 = 3;
const CURSOR_VERSION: u32 = 1;

/// A Lemmy instance's search.
#[derive(Debug)]
pub struct Lemmy {
    instance: Url,
    /// Set once the instance has shown it speaks only v4.
    speaks_v4: AtomicBool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Cursor {
    version: u32,
    /// Per `posts:<term>` / `comments:<term>`, the newest item handed on.
    #[serde(default)]
    searches: BTreeMap<String, HighWater>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ItemType {
    Posts,
    Comments,
}

impl ItemType {
    fn key(self) -> &'static str {
        match self {
            ItemType::Posts => "posts",
            ItemType::Comments => "comments",
        }
    }
}

#[derive(Debug, Deserialize)]
struct PostView {
    post: Post,
    creator: Creator,
    #[serde(default)]
    counts: Option<Counts>,
}

#[derive(Debug, Deserialize)]
struct CommentView {
    comment: Comment,
    creator: Creator,
    post: Post,
    #[serde(default)]
    counts: Option<Counts>,
}

#[derive(Debug, Deserialize)]
struct Post {
    name: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    url: Option<String>,
    ap_id: String,
    #[serde(alias = "published_at")]
    published: String,
    /// v4 folds the counts into the post.
    #[serde(default)]
    score: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct Comment {
    content: String,
    ap_id: String,
    #[serde(alias = "published_at")]
    published: String,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    score: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct Creator {
    name: String,
    /// `actor_id` in v3, `ap_id` in v4: where the account lives.
    #[serde(default, alias = "ap_id")]
    actor_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Counts {
    #[serde(default)]
    score: i64,
}

impl Lemmy {
    /// Checks the settings: the instance URL.
    pub fn new(config: &SourceConfig) -> Result<Lemmy, SourceError> {
        Ok(Lemmy {
            instance: endpoint(config, PUBLIC_INSTANCE)?,
            speaks_v4: AtomicBool::new(false),
        })
    }

    /// Searches every term for posts and for comments, down to the high-water marks.
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
        let mut searched = HashSet::new();
        for term in context.terms {
            // Two watches may share a term: search it once.
            if !searched.insert(term.text.clone()) {
                continue;
            }
            for item_type in [ItemType::Posts, ItemType::Comments] {
                let key = format!("{}:{}", item_type.key(), term.text);
                let mark = cursor.searches.get(&key).cloned().unwrap_or_default();
                let mark = self
                    .search(
                        fetcher,
                        context,
                        &term.text,
                        item_type,
                        mark,
                        &mut collected,
                    )
                    .await?;
                cursor.searches.insert(key, mark);
            }
        }
        collected.cursor = write_cursor(&cursor);
        Ok(collected)
    }

    async fn search(
        &self,
        fetcher: &mut Fetcher,
        context: &PollContext<'_>,
        text: &str,
        item_type: ItemType,
        mark: HighWater,
        collected: &mut Collected,
    ) -> Result<HighWater, SourceError> {
        let mut advanced = mark.clone();
        let floor = mark.since(context.first_run_since);
        let mut page_cursor: Option<String> = None;
        // Pages may overlap while new posts arrive between requests.
        let mut handed_on = HashSet::new();
        for page in 1..=MAX_PAGES {
            let v4 = self.speaks_v4.load(Ordering::Relaxed);
            let request = self.request(v4, text, item_type, page, page_cursor.as_deref());
            let shown_url = redact_url(&request.url);
            let fetched = match fetch_json(fetcher, request).await {
                Ok(fetched) => fetched,
                // Lemmy 1.0 may drop v3: try v4 once before giving up.
                Err(SourceError::Fetch(error))
                    if !v4 && page == 1 && error.class == FetchErrorClass::Client =>
                {
                    let retry = self.request(true, text, item_type, page, None);
                    match fetch_json(fetcher, retry).await {
                        Ok(fetched) => {
                            tracing::info!(source = %context.name, "instance speaks Lemmy API v4");
                            self.speaks_v4.store(true, Ordering::Relaxed);
                            fetched
                        }
                        Err(_) => return Err(SourceError::Fetch(error)),
                    }
                }
                Err(error) => return Err(error),
            };
            let Some((_, body)) = fetched else {
                break;
            };
            if let Some(error) = body.get("error").and_then(serde_json::Value::as_str) {
                return Err(SourceError::Remote {
                    url: shown_url,
                    problem: error.to_string(),
                });
            }
            let items = match body.get(item_type.key()) {
                Some(serde_json::Value::Array(items)) => items,
                _ => {
                    return Err(SourceError::Parse {
                        url: shown_url,
                        problem: format!("no `{}` array in the response", item_type.key()),
                    })
                }
            };
            let mut reached_seen = false;
            for (index, raw) in items.iter().enumerate() {
                let id_field = match item_type {
                    ItemType::Posts => "post.ap_id",
                    ItemType::Comments => "comment.ap_id",
                };
                let mapped = match item_type {
                    ItemType::Posts => parse_item::<PostView>(KIND, index, raw, id_field)
                        .map(|view| map_post(view, context)),
                    ItemType::Comments => parse_item::<CommentView>(KIND, index, raw, id_field)
                        .map(|view| map_comment(view, context)),
                };
                match mapped {
                    Err(skip) => collected.skipped.push(skip),
                    Ok(Err(problem)) => collected
                        .skipped
                        .push(skipped(describe_item(KIND, index, raw, id_field), &problem)),
                    Ok(Ok(mention)) => {
                        let native = mention.id.clone();
                        // A first run reaches back only as far as the look-back window.
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
                }
            }
            let next_cursor = body
                .get("next_page")
                .and_then(serde_json::Value::as_str)
                .map(str::to_string);
            let v4 = self.speaks_v4.load(Ordering::Relaxed);
            let more = if v4 {
                next_cursor.is_some() && next_cursor != page_cursor
            } else {
                items.len() >= PAGE_SIZE as usize
            };
            if reached_seen || !more {
                break;
            }
            page_cursor = next_cursor;
        }
        Ok(advanced)
    }

    fn request(
        &self,
        v4: bool,
        text: &str,
        item_type: ItemType,
        page: u32,
        page_cursor: Option<&str>,
    ) -> Request {
        let mut url;
        if v4 {
            url = api_url(&self.instance, &["api", "v4", "search"]);
            let mut pairs = url.query_pairs_mut();
            pairs
                .append_pair("search_term", text)
                .append_pair("type_", item_type.key())
                .append_pair("listing_type", "all")
                .append_pair("limit", &PAGE_SIZE.to_string());
            if let Some(page_cursor) = page_cursor {
                pairs.append_pair("page_cursor", page_cursor);
            }
        } else {
            url = api_url(&self.instance, &["api", "v3", "search"]);
            url.query_pairs_mut()
                .append_pair("q", text)
                .append_pair(
                    "type_",
                    match item_type {
                        ItemType::Posts => "Posts",
                        ItemType::Comments => "Comments",
                    },
                )
                .append_pair("sort", "New")
                .append_pair("listing_type", "All")
                .append_pair("limit", &PAGE_SIZE.to_string())
                .append_pair("page", &page.to_string());
        }
        let request = Request::get(url);
        // The first page's URL is the same every poll: a validator saves a whole search.
        if page == 1 {
            request.conditional()
        } else {
            request
        }
    }
}

/// `name@instance` from the account's URL: a bare name is ambiguous across the fediverse.
fn author(creator: Creator) -> String {
    let host = creator
        .actor_id
        .as_deref()
        .and_then(|actor| Url::parse(actor).ok())
        .and_then(|url| url.host_str().map(str::to_string));
    match host {
        Some(host) => format!("{}@{host}", creator.name),
        None => creator.name,
    }
}

fn map_post(view: PostView, context: &PollContext<'_>) -> Result<MentionInput, String> {
    let published_at = parse_lenient_time(&view.post.published)
        .map_err(|problem| format!("field `published`: {problem}"))?;
    let score = view
        .post
        .score
        .or(view.counts.map(|counts| counts.score))
        .unwrap_or(0);
    // A link post's text is its link: that is what it says.
    let text = match (view.post.body, view.post.url) {
        (Some(body), _) if !body.trim().is_empty() => body,
        (_, Some(link)) => link,
        _ => String::new(),
    };
    let mut mention = Draft {
        kind: KIND,
        native_id: view.post.ap_id.clone(),
        published_at,
        text,
        title: Some(view.post.name),
    }
    .into_mention(context)?;
    mention.url = Some(view.post.ap_id);
    mention.author = Some(author(view.creator));
    mention.engagement = Some(non_negative(score));
    Ok(mention)
}

fn map_comment(view: CommentView, context: &PollContext<'_>) -> Result<MentionInput, String> {
    let published_at = parse_lenient_time(&view.comment.published)
        .map_err(|problem| format!("field `published`: {problem}"))?;
    let score = view
        .comment
        .score
        .or(view.counts.map(|counts| counts.score))
        .unwrap_or(0);
    // `path` is `0.<ancestors>.<self>`: a top-level comment (`0.<self>`) answers the post;
    // a deeper one answers a comment known here only by its local id, so no parent is given.
    let top_level = view
        .comment
        .path
        .as_deref()
        .is_some_and(|path| path.split('.').count() == 2);
    let mut mention = Draft {
        kind: KIND,
        native_id: view.comment.ap_id.clone(),
        published_at,
        text: view.comment.content,
        title: Some(view.post.name),
    }
    .into_mention(context)?;
    mention.url = Some(view.comment.ap_id);
    mention.author = Some(author(view.creator));
    mention.engagement = Some(non_negative(score));
    if top_level {
        mention.parent = Some(format!("{KIND}:{}", view.post.ap_id));
    }
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
            name: "lemmy-test",
            cursor: None,
            first_run_since: datetime!(2026-06-12 0:00 UTC),
            now: datetime!(2026-06-13 0:00 UTC),
            terms: &[],
        }
    }

    #[test]
    fn v3_and_v4_map_alike() {
        for name in ["lemmy.json", "lemmy-v4.json"] {
            let body = fixture(name);
            let post: PostView = serde_json::from_value(body["posts"][0].clone()).unwrap();
            let post = map_post(post, &context()).unwrap();
            assert_eq!(
                post.id, "lemmy:https://test1.lemmy.ddenis.info/post/180",
                "{name}"
            );
            assert_eq!(post.title.as_deref(), Some("Live recording (thread 8)"));
            assert_eq!(post.text, "https://example.com/live");
            assert_eq!(
                post.author.as_deref(),
                Some("seed_mod1@test1.lemmy.ddenis.info")
            );
            assert_eq!(post.engagement, Some(1));
            assert_eq!(post.published_at, datetime!(2026-06-12 23:37:46.566375 UTC));
            let comment: CommentView = serde_json::from_value(body["comments"][0].clone()).unwrap();
            let comment = map_comment(comment, &context()).unwrap();
            assert_eq!(
                comment.id,
                "lemmy:https://test1.lemmy.ddenis.info/comment/501"
            );
            assert_eq!(comment.text, "Great track, thanks for sharing!");
            assert_eq!(comment.engagement, Some(3));
            assert_eq!(comment.parent.as_deref(), Some(post.id.as_str()));
        }
    }

    #[test]
    fn a_time_without_offset_is_utc() {
        let mut body = fixture("lemmy.json");
        body["posts"][0]["post"]["published"] = "2023-08-04T18:15:42.162438".into();
        let post: PostView = serde_json::from_value(body["posts"][0].clone()).unwrap();
        let post = map_post(post, &context()).unwrap();
        assert_eq!(post.published_at, datetime!(2023-08-04 18:15:42.162438 UTC));
    }
}
