//! `mastodon`: hashtag timelines of one instance (`base_url`, default mastodon.social).
//!
//! Per hashtag the cursor keeps the newest status id seen on this instance; a poll asks for
//! `min_id={it}` (the page just above it), takes the larger of the page's largest id and the
//! `Link` header's `rel="prev"` `min_id`, and repeats until a page is empty. A first run
//! walks `rel="next"` (older) pages back to the look-back window. The mention id is the
//! status's global `uri`, so a post seen on two instances is one mention.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use earful_core::config::SourceConfig;
use earful_core::MentionInput;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use url::Url;

use super::support::{
    api_url, describe_item, endpoint, fetch_json, link_target, optional_secret, parse_item,
    query_value, read_cursor, skipped, write_cursor, Draft,
};
use crate::fetch::{redact_url, Fetcher, Request};
use crate::source::{Collected, PollContext, SkippedItem, SourceError};

const KIND: &str = "mastodon";
const PUBLIC_INSTANCE: &str = "https://mastodon.social";
/// Mastodon's maximum page size.
const PAGE_SIZE: u32 = 40;
/// Pages per hashtag per poll; the rest waits for the next poll (the cursor stays exact).
const MAX_PAGES: usize = 10;
const CURSOR_VERSION: u32 = 1;

/// A Mastodon instance's hashtag timelines.
#[derive(Debug)]
pub struct Mastodon {
    instance: Url,
    hashtags: Vec<String>,
    token: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Cursor {
    version: u32,
    /// Per hashtag, the newest instance-local status id seen.
    #[serde(default)]
    min_ids: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct Status {
    #[serde(default)]
    reblog: Option<Box<Status>>,
    uri: String,
    #[serde(default)]
    url: Option<String>,
    created_at: String,
    #[serde(default)]
    content: String,
    #[serde(default)]
    spoiler_text: String,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    favourites_count: u64,
    #[serde(default)]
    reblogs_count: u64,
    account: Account,
}

#[derive(Debug, Deserialize)]
struct Account {
    acct: String,
    #[serde(default)]
    followers_count: Option<u64>,
}

impl Mastodon {
    /// Checks the settings: the instance URL and at least one hashtag (`hashtags`, else the
    /// names of the bound watches).
    pub fn new(config: &SourceConfig) -> Result<Mastodon, SourceError> {
        let instance = endpoint(config, PUBLIC_INSTANCE)?;
        let hashtags: Vec<String> = config
            .hashtags
            .clone()
            .unwrap_or_else(|| config.watches.clone())
            .iter()
            .map(|tag| tag.trim().trim_start_matches('#').to_string())
            .filter(|tag| !tag.is_empty())
            .collect();
        if hashtags.is_empty() {
            return Err(SourceError::Settings(format!(
                "source `{}` (kind `mastodon`) has no hashtag to follow: set `hashtags` or bind \
                 it to a watch",
                config.name
            )));
        }
        if let Some(bad) = hashtags
            .iter()
            .find(|tag| tag.contains(|c: char| c.is_whitespace() || c == '/'))
        {
            return Err(SourceError::Settings(format!(
                "source `{}`: hashtag `{bad}` holds a space or a slash",
                config.name
            )));
        }
        Ok(Mastodon {
            instance,
            hashtags,
            token: optional_secret(config.token.as_ref()),
        })
    }

    /// Polls every hashtag once.
    pub async fn poll(
        &self,
        fetcher: &mut Fetcher,
        context: &PollContext<'_>,
    ) -> Result<Collected, SourceError> {
        let mut cursor: Cursor = read_cursor(context, CURSOR_VERSION);
        cursor.version = CURSOR_VERSION;
        let mut collected = Collected::default();
        for tag in &self.hashtags {
            let known = cursor.min_ids.get(tag).cloned();
            let newest = match known {
                Some(min_id) => {
                    self.poll_newer(fetcher, context, tag, min_id, &mut collected)
                        .await?
                }
                None => {
                    self.poll_first(fetcher, context, tag, &mut collected)
                        .await?
                }
            };
            if let Some(newest) = newest {
                cursor.min_ids.insert(tag.clone(), newest);
            }
        }
        // Several hashtags (and boosts) can bring the same status twice.
        let mut seen = std::collections::HashSet::new();
        collected
            .mentions
            .retain(|mention| seen.insert(mention.id.clone()));
        collected.cursor = write_cursor(&cursor);
        Ok(collected)
    }

    fn request(&self, tag: &str, parameter: Option<(&str, &str)>) -> Request {
        let mut url = api_url(&self.instance, &["api", "v1", "timelines", "tag", tag]);
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("limit", &PAGE_SIZE.to_string());
            if let Some((name, value)) = parameter {
                query.append_pair(name, value);
            }
        }
        let request = Request::get(url).conditional();
        match &self.token {
            Some(token) => request.header("Authorization", format!("Bearer {token}")),
            None => request,
        }
    }

    /// Newer than `min_id`, page by page until a page is empty. Returns the new newest id.
    async fn poll_newer(
        &self,
        fetcher: &mut Fetcher,
        context: &PollContext<'_>,
        tag: &str,
        mut min_id: String,
        collected: &mut Collected,
    ) -> Result<Option<String>, SourceError> {
        for _ in 0..MAX_PAGES {
            let request = self.request(tag, Some(("min_id", &min_id)));
            let shown_url = redact_url(&request.url);
            let Some((fetched, body)) = fetch_json(fetcher, request).await? else {
                break;
            };
            let page = read_page(&shown_url, &body, context)?;
            let Some(mut next) = page.newest_id.clone() else {
                break;
            };
            if let Some(linked) =
                link_target(&fetched.headers, "prev").and_then(|url| query_value(&url, "min_id"))
            {
                if compare_ids(&linked, &next) == Ordering::Greater {
                    next = linked;
                }
            }
            // Only what lies above `min_id` is new, whatever the server sent.
            let floor = min_id.clone();
            page.hand_on(collected, |local_id, _| {
                compare_ids(local_id, &floor) == Ordering::Greater
            });
            if compare_ids(&next, &min_id) != Ordering::Greater {
                break;
            }
            min_id = next;
        }
        Ok(Some(min_id))
    }

    /// No cursor yet: the newest page, then older pages back to the look-back window.
    async fn poll_first(
        &self,
        fetcher: &mut Fetcher,
        context: &PollContext<'_>,
        tag: &str,
        collected: &mut Collected,
    ) -> Result<Option<String>, SourceError> {
        let mut newest: Option<String> = None;
        let mut max_id: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let request = self.request(tag, max_id.as_deref().map(|id| ("max_id", id)));
            let shown_url = redact_url(&request.url);
            let Some((fetched, body)) = fetch_json(fetcher, request).await? else {
                break;
            };
            let page = read_page(&shown_url, &body, context)?;
            if let Some(page_newest) = &page.newest_id {
                if newest
                    .as_deref()
                    .is_none_or(|known| compare_ids(page_newest, known) == Ordering::Greater)
                {
                    newest = Some(page_newest.clone());
                }
            }
            let reached_window = page
                .oldest_at
                .is_none_or(|oldest| oldest < context.first_run_since);
            let older = link_target(&fetched.headers, "next")
                .and_then(|url| query_value(&url, "max_id"))
                .or(page.oldest_id.clone());
            let ceiling = max_id.clone();
            let since = context.first_run_since;
            page.hand_on(collected, |local_id, published_at| {
                let below_ceiling = ceiling
                    .as_deref()
                    .is_none_or(|ceiling| compare_ids(local_id, ceiling) == Ordering::Less);
                below_ceiling && published_at.is_none_or(|at| at >= since)
            });
            let moves_back = match (&older, &max_id) {
                (Some(older), Some(current)) => compare_ids(older, current) == Ordering::Less,
                (Some(_), None) => true,
                (None, _) => false,
            };
            if reached_window || !moves_back {
                break;
            }
            max_id = older;
        }
        Ok(newest)
    }
}

/// One page of statuses, mapped, oldest first.
struct Page {
    /// Per status: its instance-local id and the mention, or why it was skipped.
    items: Vec<(String, Result<MentionInput, SkippedItem>)>,
    newest_id: Option<String>,
    oldest_id: Option<String>,
    oldest_at: Option<OffsetDateTime>,
}

impl Page {
    /// Hands on the statuses `wanted` picks (by local id and time), good and skipped alike.
    fn hand_on(
        self,
        collected: &mut Collected,
        wanted: impl Fn(&str, Option<OffsetDateTime>) -> bool,
    ) {
        for (local_id, item) in self.items {
            let published_at = item.as_ref().ok().map(|mention| mention.published_at);
            if !wanted(&local_id, published_at) {
                continue;
            }
            match item {
                Ok(mention) => collected.mentions.push(mention),
                Err(skip) => collected.skipped.push(skip),
            }
        }
    }
}

fn read_page(
    shown_url: &str,
    body: &serde_json::Value,
    context: &PollContext<'_>,
) -> Result<Page, SourceError> {
    let serde_json::Value::Array(statuses) = body else {
        let problem = match body.get("error").and_then(serde_json::Value::as_str) {
            Some(error) => format!("the instance said: {error}"),
            None => "expected an array of statuses".to_string(),
        };
        return Err(SourceError::Parse {
            url: shown_url.to_string(),
            problem,
        });
    };
    let mut page = Page {
        items: Vec::new(),
        newest_id: None,
        oldest_id: None,
        oldest_at: None,
    };
    for (index, raw) in statuses.iter().enumerate() {
        // Paging follows the local ids even of statuses that cannot become mentions.
        let local_id = raw
            .get("id")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_string();
        if !local_id.is_empty() {
            if page
                .newest_id
                .as_deref()
                .is_none_or(|known| compare_ids(&local_id, known) == Ordering::Greater)
            {
                page.newest_id = Some(local_id.clone());
            }
            if page
                .oldest_id
                .as_deref()
                .is_none_or(|known| compare_ids(&local_id, known) == Ordering::Less)
            {
                page.oldest_id = Some(local_id.clone());
            }
        }
        let item = parse_item::<Status>(KIND, index, raw, "uri").and_then(|status| {
            map_status(status, context)
                .map_err(|problem| skipped(describe_item(KIND, index, raw, "uri"), &problem))
        });
        if let Ok(mention) = &item {
            if page.oldest_at.is_none_or(|at| mention.published_at < at) {
                page.oldest_at = Some(mention.published_at);
            }
        }
        page.items.push((local_id, item));
    }
    // The array's order is not a promise: order by id, oldest first.
    page.items
        .sort_by(|(left, _), (right, _)| compare_ids(left, right));
    Ok(page)
}

fn map_status(status: Status, context: &PollContext<'_>) -> Result<MentionInput, String> {
    // A boost is the boosted post: that is what was said, and by whom.
    let status = match status.reblog {
        Some(original) => *original,
        None => status,
    };
    let published_at = earful_core::time::parse_timestamp(&status.created_at)
        .map_err(|error| format!("field `created_at`: {error}"))?;
    let mut mention = Draft {
        kind: KIND,
        native_id: status.uri.clone(),
        published_at,
        text: status.content,
        title: Some(status.spoiler_text),
    }
    .into_mention(context)?;
    mention.url = Some(
        status
            .url
            .filter(|url| !url.is_empty())
            .unwrap_or(status.uri),
    );
    mention.author = Some(status.account.acct);
    mention.author_reach = status.account.followers_count;
    mention.lang = status.language.filter(|lang| !lang.is_empty());
    mention.engagement = Some(status.favourites_count + status.reblogs_count);
    // `in_reply_to_id` is local to the instance and the parent's `uri` is not in the status,
    // so no parent id can be formed that matches the parent's own mention id.
    Ok(mention)
}

/// Snowflake ids compared as numbers; ids that are not numbers by length, then text.
fn compare_ids(left: &str, right: &str) -> Ordering {
    match (left.parse::<u128>(), right.parse::<u128>()) {
        (Ok(left), Ok(right)) => left.cmp(&right),
        _ => left.len().cmp(&right.len()).then_with(|| left.cmp(right)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn context() -> PollContext<'static> {
        PollContext {
            name: "rstats-social",
            cursor: None,
            first_run_since: datetime!(2025-07-16 00:00 UTC),
            now: datetime!(2025-07-17 20:03 UTC),
            terms: &[],
        }
    }

    fn fixture() -> serde_json::Value {
        super::super::support::recorded_payload("mastodon.json")
    }

    fn handed_on(page: Page) -> Collected {
        let mut collected = Collected::default();
        page.hand_on(&mut collected, |_, _| true);
        collected
    }

    #[test]
    fn ids_compare_as_numbers() {
        assert_eq!(compare_ids("99", "100"), Ordering::Less);
        assert_eq!(
            compare_ids("114870142396314555", "114869631572884594"),
            Ordering::Greater
        );
    }

    #[test]
    fn recorded_page_maps_every_field() {
        let page = read_page("u", &fixture(), &context()).unwrap();
        assert_eq!(page.newest_id.as_deref(), Some("114870142396314555"));
        assert_eq!(page.oldest_id.as_deref(), Some("114869598531117045"));
        let collected = handed_on(page);
        assert!(collected.skipped.is_empty(), "{:?}", collected.skipped);
        assert_eq!(collected.mentions.len(), 3);
        let newest = &collected.mentions[2];
        assert_eq!(
            newest.id,
            "mastodon:https://rstats.me/users/simonpcouch/statuses/114870142137562212"
        );
        assert_eq!(newest.source.as_deref(), Some("mastodon"));
        assert_eq!(newest.feed.as_deref(), Some("rstats-social"));
        assert_eq!(
            newest.url.as_deref(),
            Some("https://rstats.me/@simonpcouch/114870142137562212")
        );
        assert_eq!(newest.lang.as_deref(), Some("en"));
        assert_eq!(newest.published_at, datetime!(2025-07-17 19:07:48 UTC));
        assert!(newest.text.contains("Claude Code"));
        assert_eq!(newest.title, None, "an empty spoiler is no title");
        let conference = &collected.mentions[1];
        assert_eq!(conference.engagement, Some(6));
        assert_eq!(conference.author.as_deref(), Some("useR_conf"));
        assert!(conference.author_reach.is_some());
    }

    #[test]
    fn a_boost_is_the_boosted_status() {
        let mut statuses = fixture();
        let original = statuses[0].clone();
        let mut boost = statuses[1].clone();
        boost["id"] = "114870142396319999".into();
        boost["uri"] = "https://mastodon.social/users/x/statuses/1/activity".into();
        boost["content"] = "".into();
        boost["reblog"] = original.clone();
        statuses = serde_json::Value::Array(vec![boost]);
        let page = read_page("u", &statuses, &context()).unwrap();
        assert_eq!(page.newest_id.as_deref(), Some("114870142396319999"));
        assert_eq!(
            handed_on(page).mentions[0].id,
            format!("mastodon:{}", original["uri"].as_str().unwrap())
        );
    }

    #[test]
    fn a_status_without_created_at_is_skipped_and_named() {
        let mut statuses = fixture();
        statuses[1].as_object_mut().unwrap().remove("created_at");
        let collected = handed_on(read_page("u", &statuses, &context()).unwrap());
        assert_eq!(collected.mentions.len(), 2);
        assert_eq!(collected.skipped.len(), 1);
        let reason = &collected.skipped[0].reason;
        assert!(
            reason.contains("created_at") && reason.contains("useR_conf"),
            "{reason}"
        );
    }
}
