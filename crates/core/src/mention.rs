//! The Mention: one post, review or comment that names a watched brand, in the JSON form shared
//! by the API, `earful ingest` and `earful export`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::id::{IdError, MentionId};

/// A sentiment label: VADER's, from `earful-sentiment`, so scorer and mention agree by type.
pub use earful_sentiment::Label;

/// A mention's sentiment. The scores are absent when the label is `unscored`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sentiment {
    /// VADER compound score in [−1, 1], rounded to 4 decimals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compound: Option<f64>,
    /// Share of positive valence, 3 decimals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pos: Option<f64>,
    /// Share of neutral tokens, 3 decimals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neu: Option<f64>,
    /// Share of negative valence, 3 decimals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neg: Option<f64>,
    /// The label the compound score gives.
    pub label: Label,
}

impl Sentiment {
    /// A scored sentiment; the label follows from the compound score.
    pub fn scored(compound: f64, pos: f64, neu: f64, neg: f64) -> Sentiment {
        Sentiment {
            compound: Some(compound),
            pos: Some(pos),
            neu: Some(neu),
            neg: Some(neg),
            label: Label::from_compound(compound),
        }
    }

    /// The sentiment of text VADER cannot score.
    pub fn unscored() -> Sentiment {
        Sentiment {
            compound: None,
            pos: None,
            neu: None,
            neg: None,
            label: Label::Unscored,
        }
    }
}

/// A mention, complete: what the index stores and the API returns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mention {
    /// Stable id, `<source>:<native id>`.
    pub id: String,
    /// The collector kind (`hackernews`, `feed`, …).
    pub source: String,
    /// The configured source's name.
    pub feed: String,
    /// The watches whose queries this mention matches.
    #[serde(default)]
    pub watches: Vec<String>,
    /// Link to the original post.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Author's handle or name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Followers, karma or reputation, when the source has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_reach: Option<u64>,
    /// Title, for sources that have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Plain text, HTML removed.
    pub text: String,
    /// Language: ISO 639-1, or `und` when unsure.
    pub lang: String,
    /// Review rating, 1..5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<u8>,
    /// Points, favourites or votes, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engagement: Option<u64>,
    /// The id of the mention this one replies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// When the author published it.
    #[serde(with = "crate::time::rfc3339")]
    pub published_at: OffsetDateTime,
    /// When Earful fetched it.
    #[serde(with = "crate::time::rfc3339")]
    pub collected_at: OffsetDateTime,
    /// VADER's verdict.
    pub sentiment: Sentiment,
}

/// A mention as it arrives (`earful ingest`, a collector): only `id`, `text` and
/// `published_at` are required; the rest is derived by enrichment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MentionInput {
    /// Stable id, `<source>:<native id>`.
    pub id: String,
    /// The collector kind; derived from the id's prefix when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The configured source's name; defaults to the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed: Option<String>,
    /// Ignored on input: watches are always derived from the configured watch queries, so
    /// that a changed query re-tags on re-ingest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub watches: Vec<String>,
    /// Link to the original post.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Author's handle or name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Followers, karma or reputation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_reach: Option<u64>,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The text; HTML is removed during enrichment.
    pub text: String,
    /// Language, when the source knows it; detected otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// Review rating, 1..5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<u8>,
    /// Points, favourites or votes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engagement: Option<u64>,
    /// The id of the mention this one replies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// When the author published it (RFC 3339, any offset).
    #[serde(with = "crate::time::rfc3339")]
    pub published_at: OffsetDateTime,
    /// When it was fetched; now when absent.
    #[serde(
        default,
        with = "crate::time::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub collected_at: Option<OffsetDateTime>,
    /// Ignored on input: sentiment is always recomputed, so lexicon changes apply on re-ingest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<Sentiment>,
}

/// Why an incoming mention was refused.
#[derive(Debug, thiserror::Error)]
pub enum MentionError {
    /// The JSON could not be read (syntax, a missing required field, a wrong type, an unknown
    /// field, a bad time).
    #[error("{}", describe_json_error(.0))]
    Json(#[from] serde_json::Error),
    /// The id is unusable.
    #[error("field `id`: {0}")]
    Id(#[from] IdError),
    /// The text is empty once trimmed.
    #[error("field `text` is empty")]
    EmptyText,
    /// A rating outside 1..5.
    #[error("field `rating` is {0}; ratings are 1 to 5")]
    Rating(u8),
}

/// serde_json's message without its "at line 1 column N" (a JSONL record is one line), with
/// the column put first for syntax errors, where it helps.
fn describe_json_error(error: &serde_json::Error) -> String {
    let full = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full);
    match error.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            format!("invalid JSON at column {}: {message}", error.column())
        }
        _ => message.to_string(),
    }
}

impl MentionInput {
    /// Reads one mention from JSON and checks it.
    pub fn from_json(raw: &str) -> Result<MentionInput, MentionError> {
        let input: MentionInput = serde_json::from_str(raw)?;
        input.validate()?;
        Ok(input)
    }

    /// Checks what the JSON types cannot: the id's shape, a non-empty text, the rating range.
    pub fn validate(&self) -> Result<(), MentionError> {
        MentionId::parse(&self.id)?;
        if self.text.trim().is_empty() {
            return Err(MentionError::EmptyText);
        }
        if let Some(rating) = self.rating.filter(|rating| !(1..=5).contains(rating)) {
            return Err(MentionError::Rating(rating));
        }
        Ok(())
    }

    /// The source kind: given, or the id's prefix, or `ingest`.
    pub fn source_kind(&self) -> String {
        if let Some(source) = self.source.as_deref().filter(|source| !source.is_empty()) {
            return source.to_string();
        }
        match self.id.split_once(':') {
            Some((prefix, _)) if !prefix.is_empty() => prefix.to_string(),
            _ => "ingest".to_string(),
        }
    }
}

impl Mention {
    /// The columns of a mention's CSV form (`earful export --format csv`, the web UI's export),
    /// in order.
    pub const CSV_HEADER: [&'static str; 15] = [
        "id",
        "published_at",
        "source",
        "feed",
        "watches",
        "author",
        "author_reach",
        "label",
        "compound",
        "lang",
        "rating",
        "engagement",
        "title",
        "text",
        "url",
    ];

    /// The mention as one CSV row, in the order of [`Mention::CSV_HEADER`]; absent values are
    /// empty and watches are separated by spaces. Every cell is safe to open in a spreadsheet:
    /// one that would start a formula gets a leading `'`.
    pub fn csv_record(&self) -> [String; 15] {
        let optional = |value: Option<String>| value.unwrap_or_default();
        [
            self.id.clone(),
            crate::time::format_timestamp(self.published_at),
            self.source.clone(),
            self.feed.clone(),
            self.watches.join(" "),
            optional(self.author.clone()),
            optional(self.author_reach.map(|reach| reach.to_string())),
            self.sentiment.label.as_str().to_string(),
            optional(self.sentiment.compound.map(|compound| compound.to_string())),
            self.lang.clone(),
            optional(self.rating.map(|rating| rating.to_string())),
            optional(self.engagement.map(|engagement| engagement.to_string())),
            optional(self.title.clone()),
            self.text.clone(),
            optional(self.url.clone()),
        ]
        .map(inert_cell)
    }

    /// The title and text as one string, for scoring and matching.
    pub fn full_text(&self) -> String {
        match &self.title {
            Some(title) if !title.is_empty() => format!("{title}\n{}", self.text),
            _ => self.text.clone(),
        }
    }
}

/// A cell a spreadsheet will show as text, never run as a formula: mention text, titles and
/// authors are attacker-controlled, and a cell starting with `=`, `+`, `-`, `@`, a tab or a
/// carriage return is read as a formula by Excel, LibreOffice and Sheets. Such a cell gets a
/// leading `'`, as OWASP advises; a plain number (a negative compound score) stays a number.
fn inert_cell(cell: String) -> String {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let number = cell.parse::<f64>().is_ok_and(f64::is_finite);
    if risky && !number {
        format!("'{cell}")
    } else {
        cell
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const DESIGN_EXAMPLE: &str = r#"{
      "id": "hackernews:41234567",
      "source": "hackernews",
      "feed": "hn-acme",
      "watches": ["acme"],
      "url": "https://news.ycombinator.com/item?id=41234567",
      "author": "jdoe",
      "author_reach": 1520,
      "title": "Acme outage again",
      "text": "plain text, HTML removed",
      "lang": "en",
      "rating": 2,
      "engagement": 37,
      "parent": "hackernews:41234000",
      "published_at": "2026-11-22T10:15:00Z",
      "collected_at": "2026-11-22T10:16:03Z",
      "sentiment": {"compound": -0.6249, "pos": 0.0, "neu": 0.66, "neg": 0.34, "label": "negative"}
    }"#;

    #[test]
    fn the_design_example_round_trips() {
        let mention: Mention = serde_json::from_str(DESIGN_EXAMPLE).unwrap();
        assert_eq!(mention.published_at, datetime!(2026-11-22 10:15:00 UTC));
        assert_eq!(mention.sentiment.label, Label::Negative);
        let json = serde_json::to_string(&mention).unwrap();
        let again: Mention = serde_json::from_str(&json).unwrap();
        assert_eq!(mention, again);
        let expected: serde_json::Value = serde_json::from_str(DESIGN_EXAMPLE).unwrap();
        assert_eq!(serde_json::to_value(&mention).unwrap(), expected);
    }

    #[test]
    fn the_v1_fixture_still_loads() {
        let fixture = include_str!("../tests/fixtures/mention-v1.jsonl");
        for line in fixture.lines() {
            let mention: Mention = serde_json::from_str(line).unwrap();
            assert!(!mention.id.is_empty());
        }
    }

    #[test]
    fn unscored_sentiment_has_no_numbers() {
        let json = serde_json::to_string(&Sentiment::unscored()).unwrap();
        assert_eq!(json, r#"{"label":"unscored"}"#);
    }

    #[test]
    fn ingest_needs_only_id_text_and_time() {
        let input = MentionInput::from_json(
            r#"{"id":"ingest:1","text":"Acme rocks","published_at":"2026-11-22T11:15:00+01:00"}"#,
        )
        .unwrap();
        assert_eq!(input.source_kind(), "ingest");
        assert_eq!(input.published_at, datetime!(2026-11-22 10:15:00 UTC));
        assert_eq!(input.collected_at, None);
    }

    #[test]
    fn missing_required_fields_are_named() {
        let error = MentionInput::from_json(r#"{"id":"x:1","text":"hi"}"#).unwrap_err();
        assert!(error.to_string().contains("published_at"), "{error}");
        let error =
            MentionInput::from_json(r#"{"id":"x:1","published_at":"2026-11-22T10:15:00Z"}"#)
                .unwrap_err();
        assert!(error.to_string().contains("text"), "{error}");
    }

    #[test]
    fn unknown_fields_are_refused_by_name() {
        let error = MentionInput::from_json(
            r#"{"id":"x:1","text":"hi","published_at":"2026-11-22T10:15:00Z","autor":"me"}"#,
        )
        .unwrap_err();
        assert!(error.to_string().contains("autor"), "{error}");
    }

    #[test]
    fn bad_values_are_refused_with_the_reason() {
        let bad_time =
            MentionInput::from_json(r#"{"id":"x:1","text":"hi","published_at":"last tuesday"}"#)
                .unwrap_err();
        assert!(bad_time.to_string().contains("last tuesday"), "{bad_time}");
        let bad_rating = MentionInput::from_json(
            r#"{"id":"x:1","text":"hi","published_at":"2026-11-22T10:15:00Z","rating":9}"#,
        )
        .unwrap_err();
        assert!(matches!(bad_rating, MentionError::Rating(9)));
        let empty = MentionInput::from_json(
            r#"{"id":"x:1","text":"  ","published_at":"2026-11-22T10:15:00Z"}"#,
        )
        .unwrap_err();
        assert!(matches!(empty, MentionError::EmptyText));
        let bad_id = MentionInput::from_json(
            r#"{"id":"x 1","text":"hi","published_at":"2026-11-22T10:15:00Z"}"#,
        )
        .unwrap_err();
        assert!(bad_id.to_string().contains("id"), "{bad_id}");
    }

    #[test]
    fn labels_follow_vader_thresholds() {
        assert_eq!(Label::from_compound(0.05), Label::Positive);
        assert_eq!(Label::from_compound(0.0499), Label::Neutral);
        assert_eq!(Label::from_compound(-0.05), Label::Negative);
        assert_eq!("NEGATIVE".parse::<Label>(), Ok(Label::Negative));
        assert!("bad".parse::<Label>().is_err());
    }

    #[test]
    fn formulas_become_text_and_numbers_stay_numbers() {
        for formula in [
            "=HYPERLINK(\"https://evil.example\",\"x\")",
            "+1+cmd|' /C calc'!A0",
            "-2+3",
            "@SUM(A1:A9)",
            "\t=1",
            "\r=1",
            "-inf",
            "-NaN",
        ] {
            assert_eq!(inert_cell(formula.to_string()), format!("'{formula}"));
        }
        for plain in ["-0.6249", "+3", "-1e3", "acme = great", "", "0.5", "jdoe"] {
            assert_eq!(inert_cell(plain.to_string()), plain);
        }
    }
}
