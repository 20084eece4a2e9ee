//! Enrichment: what turns a [`MentionInput`] into a [`Mention`] — HTML to text, the language,
//! the watch tags and the sentiment. `earful ingest`, `earful collect`, the daemon and the
//! scale-out indexer all enrich through this one crate, so a mention is the same whichever
//! way it arrived.
//!
//! What this crate must never do: fail on a mention (every input gives a mention; text that
//! cannot be scored is `unscored`, never dropped), do I/O, or depend on the index.

use earful_core::config::Config;
use earful_core::query::{MatchPrefilter, MatchTarget, ProseTerms};
use earful_core::{Mention, MentionInput, MentionQuery, Sentiment};
use earful_sentiment::Analyzer;
use time::OffsetDateTime;

/// Why an [`Enricher`] could not be built from a config.
#[derive(Debug, thiserror::Error)]
pub enum EnrichError {
    /// A watch's query does not parse.
    #[error("watch `{watch}`: {source}")]
    Query {
        /// The watch's name.
        watch: String,
        /// What is wrong with its query.
        source: earful_core::query::QueryError,
    },
    /// The lexicon overrides are invalid.
    #[error("sentiment lexicon: {0}")]
    Lexicon(#[from] earful_sentiment::LexiconError),
}

/// A compiled watch.
#[derive(Debug)]
struct Watch {
    name: String,
    query: MentionQuery,
    /// Rules most mentions out before their prose is analyzed.
    prefilter: MatchPrefilter,
}

/// Enriches mentions with one set of watches and one lexicon.
#[derive(Debug)]
pub struct Enricher {
    watches: Vec<Watch>,
    /// Every prose term of the watches: the only words the matcher stems.
    terms: ProseTerms,
    analyzer: Analyzer,
}

impl Enricher {
    /// Compiles the config's watches and builds its sentiment analyzer.
    pub fn from_config(config: &Config) -> Result<Enricher, EnrichError> {
        let mut watches = Vec::with_capacity(config.watches.len());
        for watch in &config.watches {
            let query = MentionQuery::parse(&watch.query).map_err(|source| EnrichError::Query {
                watch: watch.name.clone(),
                source,
            })?;
            watches.push(Watch {
                name: watch.name.clone(),
                prefilter: query.prefilter(),
                query,
            });
        }
        let overrides = config
            .sentiment
            .lexicon
            .iter()
            .map(|(word, valence)| (word.clone(), *valence));
        let analyzer = Analyzer::with_overrides(overrides)?;
        let terms = ProseTerms::of(watches.iter().map(|watch| &watch.query));
        Ok(Enricher {
            watches,
            terms,
            analyzer,
        })
    }

    /// Completes a mention. `now` stands in for a missing `collected_at`.
    pub fn enrich(&self, input: MentionInput, now: OffsetDateTime) -> Mention {
        let source = input.source_kind();
        let text = plain_text(input.text);
        let title = input
            .title
            .map(plain_text)
            .filter(|title| !title.is_empty());
        let scored_text: std::borrow::Cow<'_, str> = match &title {
            Some(title) => format!("{title}\n{text}").into(),
            None => text.as_str().into(),
        };
        let given_lang = input
            .lang
            .as_deref()
            .map(normalize_lang)
            .filter(|lang| !lang.is_empty());
        let verdict = self.analyzer.score(&scored_text, given_lang.as_deref());
        let sentiment = match verdict.scores {
            Some(scores) => Sentiment::scored(scores.compound, scores.pos, scores.neu, scores.neg),
            None => Sentiment::unscored(),
        };
        let mut mention = Mention {
            id: input.id,
            feed: input
                .feed
                .filter(|feed| !feed.is_empty())
                .unwrap_or_else(|| source.clone()),
            source,
            watches: Vec::new(),
            url: input.url,
            author: input.author,
            author_reach: input.author_reach,
            title,
            text,
            lang: verdict.lang,
            rating: input.rating,
            engagement: input.engagement,
            parent: input.parent,
            published_at: input.published_at,
            collected_at: input.collected_at.unwrap_or(now),
            sentiment,
        };
        // Analyzing the prose for the matcher costs about what indexing it does: only do it
        // when some watch may match.
        let mut candidates = self
            .watches
            .iter()
            .filter(|watch| {
                watch
                    .prefilter
                    .may_match(mention.title.as_deref(), &mention.text)
            })
            .peekable();
        if candidates.peek().is_some() {
            let target = MatchTarget::for_terms(&mention, &self.terms);
            mention.watches = candidates
                .filter(|watch| watch.query.matches(&target))
                .map(|watch| watch.name.clone())
                .collect();
        }
        mention
    }

    /// Completes a mention from a source bound to watches (a `feed` or `appstore` source's
    /// `watches`): it belongs to `bound_watches` as well as to every watch whose query it
    /// matches. Tags keep the config's order of watches; unknown names are ignored (the
    /// config check refuses them).
    pub fn enrich_bound(
        &self,
        input: MentionInput,
        now: OffsetDateTime,
        bound_watches: &[String],
    ) -> Mention {
        let mut mention = self.enrich(input, now);
        if bound_watches.is_empty() {
            return mention;
        }
        let matched = std::mem::take(&mut mention.watches);
        mention.watches = self
            .watches
            .iter()
            .map(|watch| &watch.name)
            .filter(|name| matched.contains(name) || bound_watches.contains(name))
            .cloned()
            .collect();
        mention
    }
}

/// `en-US` → `en`; `EN` → `en`.
fn normalize_lang(lang: &str) -> String {
    let primary = lang.trim().split(['-', '_']).next().unwrap_or_default();
    primary.to_ascii_lowercase()
}

/// Plain text from text that may be HTML. Text without markup passes through untouched (and
/// without the cost of parsing).
pub fn html_to_text(text: &str) -> String {
    if !looks_like_html(text) {
        return text.trim().to_string();
    }
    render_html(text)
}

/// [`html_to_text`] of an owned text: plain text that needs no trimming is kept as it is,
/// without a copy (most mentions).
fn plain_text(text: String) -> String {
    if looks_like_html(&text) {
        return render_html(&text);
    }
    if text.trim().len() == text.len() {
        return text;
    }
    text.trim().to_string()
}

/// The text of an HTML fragment, whitespace collapsed.
fn render_html(text: &str) -> String {
    // The trivial decorator renders links, emphasis and images as their bare text.
    let decorator = html2text::render::TrivialDecorator::new();
    let rendered = html2text::config::with_decorator(decorator)
        .link_footnotes(false)
        .string_from_read(text.as_bytes(), usize::MAX / 4)
        .unwrap_or_else(|_| text.to_string());
    rendered.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn looks_like_html(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.windows(2).any(|pair| {
        (pair[0] == b'<' && (pair[1].is_ascii_alphabetic() || pair[1] == b'/' || pair[1] == b'!'))
            || (pair[0] == b'&' && (pair[1].is_ascii_alphanumeric() || pair[1] == b'#'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use earful_core::Label;
    use time::macros::datetime;

    fn enricher() -> Enricher {
        let config = Config::parse(
            "version = 1\n[[watch]]\nname = \"acme\"\nquery = 'acme -\"acme acres\"'\n[[watch]]\nname = \"globex\"\nquery = 'globex'\n[sentiment.lexicon]\noutage = -2.5\n",
            "test.toml",
            |_| None,
        )
        .unwrap();
        Enricher::from_config(&config).unwrap()
    }

    fn input(id: &str, text: &str) -> MentionInput {
        MentionInput::from_json(
            &serde_json::json!({"id": id, "text": text, "published_at": "2026-11-22T10:15:00Z"})
                .to_string(),
        )
        .unwrap()
    }

    #[test]
    fn enrichment_derives_everything_else() {
        let mention = enricher().enrich(
            input(
                "hackernews:1",
                "<p>Another <a href=\"https://acme.example\">#Acme</a> <b>outage</b> &amp; no word from support.</p>",
            ),
            datetime!(2026-11-22 10:20:00 UTC),
        );
        assert_eq!(mention.text, "Another #Acme outage & no word from support.");
        assert_eq!(mention.source, "hackernews");
        assert_eq!(mention.feed, "hackernews");
        assert_eq!(mention.watches, ["acme"]);
        assert_eq!(mention.lang, "en");
        assert_eq!(
            mention.sentiment.label,
            Label::Negative,
            "the lexicon override counts"
        );
        assert_eq!(mention.collected_at, datetime!(2026-11-22 10:20:00 UTC));
    }

    #[test]
    fn non_english_text_is_unscored() {
        let mention = enricher().enrich(
            input(
                "x:2",
                "Die Lieferung von Acme kam wieder viel zu spät und der Support antwortet nicht.",
            ),
            datetime!(2026-11-22 10:20:00 UTC),
        );
        assert_eq!(mention.lang, "de");
        assert_eq!(mention.sentiment, Sentiment::unscored());
        assert_eq!(mention.watches, ["acme"]);
    }

    #[test]
    fn watches_are_tagged_with_and_without_the_prefilter() {
        let enricher = enricher();
        let now = datetime!(2026-11-22 10:20:00 UTC);
        let tags = |value: serde_json::Value| {
            let input = MentionInput::from_json(&value.to_string()).unwrap();
            enricher.enrich(input, now).watches
        };
        let at = "2026-11-22T10:15:00Z";
        let none: [&str; 0] = [];
        assert_eq!(
            tags(
                serde_json::json!({"id": "a", "text": "an account of nothing", "published_at": at})
            ),
            none
        );
        assert_eq!(
            tags(
                serde_json::json!({"id": "b", "text": "GLOBEX's and Acme's outage", "published_at": at})
            ),
            ["acme", "globex"]
        );
        assert_eq!(
            tags(
                serde_json::json!({"id": "c", "title": "Globexes", "text": "down", "published_at": at})
            ),
            ["globex"]
        );
        assert_eq!(
            tags(serde_json::json!({"id": "d", "text": "Acme acres, café", "published_at": at})),
            none
        );
        assert_eq!(
            tags(serde_json::json!({"id": "e", "text": "Acmé — accents fold", "published_at": at})),
            ["acme"]
        );
    }

    #[test]
    fn a_bound_source_tags_its_watches_whatever_the_text() {
        let enricher = enricher();
        let now = datetime!(2026-11-22 10:20:00 UTC);
        let review = input(
            "appstore:1",
            "Crashes every time since the update. Refund please.",
        );
        assert!(enricher.enrich(review.clone(), now).watches.is_empty());
        let bound = ["globex".to_string()];
        assert_eq!(
            enricher.enrich_bound(review, now, &bound).watches,
            ["globex"]
        );
        let both = input("appstore:2", "Acme support was quick, unlike Globex.");
        assert_eq!(
            enricher.enrich_bound(both, now, &bound).watches,
            ["acme", "globex"],
            "matched and bound, in config order, each once"
        );
    }

    #[test]
    fn plain_text_passes_through() {
        assert_eq!(html_to_text("  a < b and c > d  "), "a < b and c > d");
        assert_eq!(html_to_text("AT&T is <3"), "AT&T is <3");
    }

    #[test]
    fn owned_text_is_converted_as_borrowed_text_is() {
        for text in [
            "",
            "  ",
            "plain",
            " padded\n",
            "AT&T is <3",
            "<p>An <b>outage</b> &amp; more</p>",
            "  <i>spaced</i>  ",
        ] {
            assert_eq!(plain_text(text.to_string()), html_to_text(text), "{text:?}");
        }
    }
}
