//! One module per source kind. [`AnySource`] and [`build`] are the registry: one `match` on
//! the kind, no global registration.
//!
//! A source module exposes a type with
//! `fn new(config: &SourceConfig) -> Result<Self, SourceError>` and
//! `async fn poll(&self, fetcher: &mut Fetcher, context: &PollContext<'_>) -> Result<Collected, SourceError>`,
//! and knows nothing about scheduling, retries or the index.

pub mod appstore;
pub mod bluesky;
pub mod feed;
pub mod github;
pub mod hackernews;
pub mod lemmy;
pub mod mastodon;
pub mod reddit;
pub mod stackexchange;
mod support;

use earful_core::config::{SourceConfig, SourceKind};

use crate::fetch::Fetcher;
use crate::source::{Collected, PollContext, SourceError};

/// A configured source of any kind.
#[derive(Debug)]
pub enum AnySource {
    /// RSS, Atom, JSON Feed.
    Feed(feed::FeedSource),
    /// Hacker News through Algolia.
    Hackernews(hackernews::HackerNewsSource),
    /// A Mastodon instance's hashtag timelines.
    Mastodon(mastodon::Mastodon),
    /// App Store reviews of one app in one storefront.
    Appstore(appstore::Appstore),
    /// Stack Exchange question search.
    Stackexchange(stackexchange::Stackexchange),
    /// GitHub issue and pull-request search.
    Github(github::Github),
    /// Lemmy post and comment search.
    Lemmy(lemmy::Lemmy),
    /// Bluesky post search.
    Bluesky(bluesky::Bluesky),
    /// Reddit post search.
    Reddit(reddit::Reddit),
}

impl AnySource {
    /// Polls the source once.
    pub async fn poll(
        &self,
        fetcher: &mut Fetcher,
        context: &PollContext<'_>,
    ) -> Result<Collected, SourceError> {
        match self {
            AnySource::Feed(source) => source.poll(fetcher, context).await,
            AnySource::Hackernews(source) => source.poll(fetcher, context).await,
            AnySource::Mastodon(source) => source.poll(fetcher, context).await,
            AnySource::Appstore(source) => source.poll(fetcher, context).await,
            AnySource::Stackexchange(source) => source.poll(fetcher, context).await,
            AnySource::Github(source) => source.poll(fetcher, context).await,
            AnySource::Lemmy(source) => source.poll(fetcher, context).await,
            AnySource::Bluesky(source) => source.poll(fetcher, context).await,
            AnySource::Reddit(source) => source.poll(fetcher, context).await,
        }
    }
}

/// Builds the source a `[[source]]` entry describes.
pub fn build(config: &SourceConfig) -> Result<AnySource, SourceError> {
    match config.kind {
        SourceKind::Feed => Ok(AnySource::Feed(feed::FeedSource::new(config)?)),
        SourceKind::Hackernews => Ok(AnySource::Hackernews(hackernews::HackerNewsSource::new(
            config,
        )?)),
        SourceKind::Mastodon => mastodon::Mastodon::new(config).map(AnySource::Mastodon),
        SourceKind::Appstore => appstore::Appstore::new(config).map(AnySource::Appstore),
        SourceKind::Stackexchange => {
            stackexchange::Stackexchange::new(config).map(AnySource::Stackexchange)
        }
        SourceKind::Github => github::Github::new(config).map(AnySource::Github),
        SourceKind::Lemmy => lemmy::Lemmy::new(config).map(AnySource::Lemmy),
        SourceKind::Bluesky => bluesky::Bluesky::new(config).map(AnySource::Bluesky),
        SourceKind::Reddit => reddit::Reddit::new(config).map(AnySource::Reddit),
    }
}
