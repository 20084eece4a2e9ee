//! `appstore`: Apple's customer-review JSON feed for one app in one storefront.
//!
//! The feed has no "since": pages 1–10 of 50 reviews each, newest first. A poll reads pages
//! until it meets a review at or below the high-water mark (on `updated`), a short page, or
//! page 10. Page 1 is fetched conditionally. Every scalar is wrapped as `{"label": …}`;
//! `entry` may be an array, one object, or absent; older feeds put the app itself first (an
//! entry with no `im:rating`, skipped as not a review).

use earful_core::config::SourceConfig;
use earful_core::MentionInput;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use url::Url;

use super::support::{
    api_url, describe_item, endpoint, fetch_json, parse_item, parse_lenient_time, read_cursor,
    skipped, write_cursor, Draft, HighWater,
};
use crate::fetch::{redact_url, Fetcher, Request};
use crate::source::{Collected, PollContext, SourceError};

const KIND: &str = "appstore";
const PUBLIC_ENDPOINT: &str = "https://itunes.apple.com";
const LAST_PAGE: u32 = 10;
const PAGE_SIZE: usize = 50;
const CURSOR_VERSION: u32 = 1;

/// Customer reviews of one app in one storefront.
#[derive(Debug)]
pub struct Appstore {
    endpoint: Url,
    app_id: String,
    country: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Cursor {
    version: u32,
    #[serde(default)]
    high_water: HighWater,
}

#[derive(Debug, Deserialize)]
struct Label {
    label: String,
}

#[derive(Debug, Deserialize)]
struct Entry {
    id: Label,
    #[serde(rename = "im:rating")]
    rating: Label,
    #[serde(default)]
    updated: Option<Label>,
    #[serde(default)]
    title: Option<Label>,
    content: Label,
    #[serde(default)]
    author: Option<Author>,
    #[serde(rename = "im:voteSum", default)]
    vote_sum: Option<Label>,
}

#[derive(Debug, Deserialize)]
struct Author {
    name: Label,
}

impl Appstore {
    /// Checks the settings: a numeric `app_id` and a two-letter `country` (default `us`).
    pub fn new(config: &SourceConfig) -> Result<Appstore, SourceError> {
        let endpoint = endpoint(config, PUBLIC_ENDPOINT)?;
        let app_id = config
            .app_id
            .as_deref()
            .map(|id| id.trim().trim_start_matches("id").to_string())
            .unwrap_or_default();
        if app_id.is_empty() || !app_id.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(SourceError::Settings(format!(
                "source `{}`: `app_id` must be the App Store's numeric app id (the digits after \
                 `id` in the app's URL)",
                config.name
            )));
        }
        let country = config
            .country
            .as_deref()
            .unwrap_or("us")
            .trim()
            .to_ascii_lowercase();
        if country.len() != 2 || !country.bytes().all(|byte| byte.is_ascii_alphabetic()) {
            return Err(SourceError::Settings(format!(
                "source `{}`: `country` `{country}` is not a two-letter storefront code such as \
                 `us` or `gb`",
                config.name
            )));
        }
        Ok(Appstore {
            endpoint,
            app_id,
            country,
        })
    }

    /// Reads the newest pages down to the high-water mark.
    pub async fn poll(
        &self,
        fetcher: &mut Fetcher,
        context: &PollContext<'_>,
    ) -> Result<Collected, SourceError> {
        let mut cursor: Cursor = read_cursor(context, CURSOR_VERSION);
        cursor.version = CURSOR_VERSION;
        let mut collected = Collected::default();
        let mut high_water = cursor.high_water.clone();
        let floor = cursor.high_water.since(context.first_run_since);
        for page in 1..=LAST_PAGE {
            let mut request = Request::get(self.page_url(page));
            if page == 1 {
                request = request.conditional();
            }
            let shown_url = redact_url(&request.url);
            let Some((fetched, body)) = fetch_json(fetcher, request).await? else {
                break;
            };
            let Some(feed) = body.get("feed") else {
                return Err(SourceError::Parse {
                    url: shown_url,
                    problem: "no `feed` object in the response".to_string(),
                });
            };
            let entries: Vec<&serde_json::Value> = match feed.get("entry") {
                Some(serde_json::Value::Array(entries)) => entries.iter().collect(),
                Some(entry @ serde_json::Value::Object(_)) => vec![entry],
                Some(_) => {
                    return Err(SourceError::Parse {
                        url: shown_url,
                        problem: "`feed.entry` is neither a list nor an entry".to_string(),
                    })
                }
                // An app with reviews never has an empty first page: a missing `entry` there
                // means a wrong id or URL form, which must show in the source's health.
                None if page == 1 => {
                    return Err(SourceError::Remote {
                        url: shown_url,
                        problem: format!(
                            "the review feed has no `entry`: check `app_id` {} and `country` {}",
                            self.app_id, self.country
                        ),
                    })
                }
                None => break,
            };
            // Entries without a date of their own (older JSON feeds) take the feed's date.
            let feed_updated = feed
                .get("updated")
                .and_then(|updated| updated.get("label"))
                .and_then(serde_json::Value::as_str)
                .and_then(|raw| parse_lenient_time(raw).ok())
                .unwrap_or(fetched.fetched_at);
            let mut reached_seen = false;
            for (index, raw) in entries.iter().enumerate() {
                if raw.get("im:rating").is_none() {
                    continue; // the app's own entry, not a review
                }
                let entry: Entry = match parse_item(KIND, index, raw, "id.label") {
                    Ok(entry) => entry,
                    Err(skip) => {
                        collected.skipped.push(skip);
                        continue;
                    }
                };
                match self.map_entry(entry, feed_updated, context) {
                    Ok(mention) => {
                        let native = native_id(&mention);
                        // A first run reaches back only as far as the look-back window.
                        if mention.published_at < floor
                            || !cursor.high_water.is_new(mention.published_at, &native)
                        {
                            reached_seen = true;
                            continue;
                        }
                        high_water.advance(mention.published_at, &native);
                        collected.mentions.push(mention);
                    }
                    Err(problem) => collected.skipped.push(skipped(
                        describe_item(KIND, index, raw, "id.label"),
                        &problem,
                    )),
                }
            }
            if reached_seen || entries.len() < PAGE_SIZE {
                break;
            }
        }
        cursor.high_water = high_water;
        collected.cursor = write_cursor(&cursor);
        Ok(collected)
    }

    fn page_url(&self, page: u32) -> Url {
        api_url(
            &self.endpoint,
            &[
                &self.country,
                "rss",
                "customerreviews",
                &format!("page={page}"),
                &format!("id={}", self.app_id),
                "sortby=mostrecent",
                "json",
            ],
        )
    }

    fn map_entry(
        &self,
        entry: Entry,
        feed_updated: OffsetDateTime,
        context: &PollContext<'_>,
    ) -> Result<MentionInput, String> {
        let rating: u8 = entry
            .rating
            .label
            .trim()
            .parse()
            .ok()
            .filter(|rating| (1..=5).contains(rating))
            .ok_or_else(|| format!("field `im:rating`: `{}` is not 1 to 5", entry.rating.label))?;
        let published_at = match entry.updated {
            Some(updated) => parse_lenient_time(&updated.label)
                .map_err(|problem| format!("field `updated`: {problem}"))?,
            None => feed_updated,
        };
        let mut mention = Draft {
            kind: KIND,
            native_id: entry.id.label.trim().to_string(),
            published_at,
            text: entry.content.label,
            title: entry.title.map(|title| title.label),
        }
        .into_mention(context)?;
        // Reviews have no page of their own; the app's page in the storefront is the link.
        mention.url = Some(format!(
            "https://apps.apple.com/{}/app/id{}",
            self.country, self.app_id
        ));
        mention.author = entry
            .author
            .map(|author| author.name.label)
            .filter(|name| !name.is_empty());
        mention.rating = Some(rating);
        mention.engagement = entry
            .vote_sum
            .and_then(|votes| votes.label.trim().parse::<u64>().ok());
        Ok(mention)
    }
}

fn native_id(mention: &MentionInput) -> String {
    mention
        .id
        .strip_prefix("appstore:")
        .unwrap_or(&mention.id)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn source() -> Appstore {
        let config: earful_core::config::SourceConfig = serde_json::from_value(serde_json::json!({
            "name": "insta-us", "kind": "appstore", "app_id": "389801252"
        }))
        .unwrap();
        Appstore::new(&config).unwrap()
    }

    #[test]
    fn page_urls_follow_the_documented_form() {
        assert_eq!(
            source().page_url(3).as_str(),
            "https://itunes.apple.com/us/rss/customerreviews/page=3/id=389801252/sortby=mostrecent/json"
        );
    }

    #[test]
    fn an_entry_maps_with_rating_and_utc_time() {
        let body = super::super::support::recorded_payload("appstore.json");
        let entry: Entry = serde_json::from_value(body["feed"]["entry"][0].clone()).unwrap();
        let context = PollContext {
            name: "insta-us",
            cursor: None,
            first_run_since: datetime!(2026-05-27 00:00 UTC),
            now: datetime!(2026-05-29 16:00 UTC),
            terms: &[],
        };
        let mention = source()
            .map_entry(entry, datetime!(2026-05-29 15:39:20 UTC), &context)
            .unwrap();
        assert_eq!(mention.id, "appstore:14115629180");
        assert_eq!(mention.rating, Some(4));
        assert_eq!(mention.published_at, datetime!(2026-05-28 13:25:43 UTC));
        assert_eq!(mention.author.as_deref(), Some("SuoQin16"));
        assert_eq!(
            mention.title.as_deref(),
            Some("I really need to edit music")
        );
        assert_eq!(
            mention.url.as_deref(),
            Some("https://apps.apple.com/us/app/id389801252")
        );
        assert_eq!(mention.engagement, Some(0));
    }
}
