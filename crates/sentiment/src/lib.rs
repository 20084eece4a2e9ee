//! Sentiment scoring for Earful: an exact, deterministic port of VADER 3.3.2 (Hutto & Gilbert,
//! ICWSM-14; Python `vaderSentiment` 3.3.2 and its MIT-licensed lexicons, shipped in
//! `src/data/`), with per-token explanations, per-deployment lexicon overrides and an
//! English-only language gate.
//!
//! Every mention gets a [`PolarityScores`] (`compound`, `pos`, `neu`, `neg`) and a [`Label`].
//! The numbers are the ones Python's `SentimentIntensityAnalyzer().polarity_scores(text)`
//! returns — same tokenisation, rules, quirks and rounding — checked on all 23,703 sentences
//! of the VADER ground truth and on 4,118 adversarial and random texts (`tests/parity.rs`).
//!
//! What this crate must never do:
//!
//! - **never differ from the reference** on the default analyzer ([`Analyzer::standard`]):
//!   where 3.3.2 has a quirk it is reproduced and marked `QUIRK` in `src/vader.rs`;
//! - **never depend on hash iteration order** (or anything else run-dependent): hash maps are
//!   only looked up, never iterated, so the same text scores the same on every run;
//! - **never allocate per character** on the hot path, and never re-read the lexicons (they
//!   are parsed once, on first use);
//! - **never panic** on any input (`&str` of any content or length);
//! - **never guess for non-English text**: [`Analyzer::score`] labels it
//!   [`Label::Unscored`] with no scores.
//!
//! ```
//! use earful_sentiment::{Analyzer, Label};
//!
//! let analyzer = Analyzer::standard();
//! let scores = analyzer.polarity_scores("The outage was not good!");
//! assert_eq!(scores.compound, -0.4015);
//! assert_eq!(scores.label(), Label::Negative);
//!
//! let why = analyzer.score_explained("The outage was not good!");
//! assert_eq!(why.scores, scores);
//! println!("{why}"); // one line per scored token
//!
//! let custom = Analyzer::with_overrides([("outage".to_string(), -2.5)]).unwrap();
//! assert!(custom.polarity_scores("another outage").compound < 0.0);
//!
//! let german = analyzer.score("Der Kundendienst war leider wirklich sehr schlecht.", None);
//! assert_eq!((german.label, german.lang.as_str()), (Label::Unscored, "de"));
//! ```
//!
//! # Language gate
//!
//! See [`detect_language`]: text is NFKC-folded for detection (full-width and styled letters);
//! text with no letters is `"und"` (and scored); non-Latin scripts are named by script;
//! Latin-script text is English when it has fewer than 4 words (names aside), at least 75 % of
//! its words are English words (a shipped SCOWL word list plus the VADER lexicon), or more
//! than 15 % are English function words, and otherwise only when whatlang does not prefer
//! another language over English with confidence ≥ 0.8. Measured: 7 of the 23,703 ground-truth
//! sentences (0.03 %, all of them really Turkish, Dutch, Spanish or French tweets and
//! snippets) and none of 315 hard English texts are called non-English; 312 of 322
//! non-English posts (21 languages) are caught. Details in BENCHMARKS.md ("Language gate").

#![warn(missing_docs)]

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

mod explain;
mod language;
mod lexicon;
mod pystr;
mod round;
mod vader;

pub use explain::{Explanation, Rule, Step, TokenContribution};
pub use language::{
    count_words, detect_language, english_function_word_share, fold, is_english, WordCounts,
    MAX_FUNCTION_WORD_SHARE, MIN_CONFIDENCE_FOR_NON_ENGLISH, MIN_ENGLISH_VOCABULARY_SHARE,
    MIN_WORDS_FOR_NON_ENGLISH,
};
pub use lexicon::{LexiconError, MAX_VALENCE, MIN_VALENCE};

use lexicon::{EmojiLexicon, Lexicon};

/// VADER's four numbers for one text, rounded as 3.3.2 rounds them (compound to 4 decimals,
/// the proportions to 3, Python `round()` semantics).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolarityScores {
    /// Normalised sum of valences, in `-1..=1`.
    pub compound: f64,
    /// Share of positive sentiment.
    pub pos: f64,
    /// Share of neutral tokens.
    pub neu: f64,
    /// Share of negative sentiment.
    pub neg: f64,
}

impl PolarityScores {
    /// The label of `compound` (see [`Label::from_compound`]).
    pub fn label(&self) -> Label {
        Label::from_compound(self.compound)
    }
}

/// The sentiment class of a mention.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    /// compound ≥ 0.05.
    Positive,
    /// compound ≤ −0.05.
    Negative,
    /// In between.
    Neutral,
    /// Not scored: the text is not English (VADER is English-only).
    Unscored,
}

/// Thresholds of the conventional VADER labels.
const POSITIVE_THRESHOLD: f64 = 0.05;
const NEGATIVE_THRESHOLD: f64 = -0.05;

impl Label {
    /// Every label, in display order.
    pub const ALL: [Label; 4] = [
        Label::Positive,
        Label::Neutral,
        Label::Negative,
        Label::Unscored,
    ];

    /// The conventional VADER label: positive if `compound >= 0.05`, negative if
    /// `compound <= -0.05`, neutral otherwise (NaN included).
    pub fn from_compound(compound: f64) -> Label {
        if compound >= POSITIVE_THRESHOLD {
            Label::Positive
        } else if compound <= NEGATIVE_THRESHOLD {
            Label::Negative
        } else {
            Label::Neutral
        }
    }

    /// `"positive"`, `"negative"`, `"neutral"` or `"unscored"` (the serialised form).
    pub fn as_str(&self) -> &'static str {
        match self {
            Label::Positive => "positive",
            Label::Negative => "negative",
            Label::Neutral => "neutral",
            Label::Unscored => "unscored",
        }
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not one of the four label names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown sentiment label `{0}` (expected positive, negative, neutral or unscored)")]
pub struct ParseLabelError(pub String);

impl FromStr for Label {
    type Err = ParseLabelError;

    /// Parses the serialised form, ignoring ASCII case.
    fn from_str(text: &str) -> Result<Label, ParseLabelError> {
        Label::ALL
            .into_iter()
            .find(|label| label.as_str().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| ParseLabelError(text.to_string()))
    }
}

/// The gated result of [`Analyzer::score`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sentiment {
    /// VADER's numbers; `None` when the text is not English.
    pub scores: Option<PolarityScores>,
    /// The label; [`Label::Unscored`] exactly when `scores` is `None`.
    pub label: Label,
    /// The language tag used: as given by the caller, or detected (`"en"`, `"de"`, …, `"und"`).
    pub lang: String,
}

/// The emoji lexicon is the same for every analyzer.
static EMOJI: LazyLock<EmojiLexicon> = LazyLock::new(EmojiLexicon::vader);

/// The exact 3.3.2 analyzer.
static STANDARD: LazyLock<Analyzer> = LazyLock::new(|| Analyzer {
    lexicon: Lexicon::vader(),
    overrides: 0,
});

/// A VADER sentiment analyzer: the 3.3.2 lexicon, optionally with overrides. Immutable,
/// `Send + Sync`; share one (by `&'static` for the standard one, or in an `Arc`).
pub struct Analyzer {
    lexicon: Lexicon,
    overrides: usize,
}

impl fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Analyzer")
            .field("lexicon_words", &self.lexicon.len())
            .field("emoji", &EMOJI.len())
            .field("overrides", &self.overrides)
            .finish()
    }
}

impl Analyzer {
    /// The exact VADER 3.3.2 analyzer, built on first use and shared.
    pub fn standard() -> &'static Analyzer {
        &STANDARD
    }

    /// An analyzer whose lexicon is 3.3.2's plus `overrides` (added or replacing, e.g.
    /// `("outage", -2.5)`). Words are lowercased; each must be non-empty, without whitespace
    /// (multi-word idioms are not supported) and not carry leading/trailing punctuation the
    /// tokeniser would strip; valences must be finite and within `-4..=4`; a word may appear
    /// once. Overriding a booster or negation word makes it a lexicon word, with the
    /// consequences VADER's rules give lexicon words (it stops acting as a modifier for the
    /// word after it). The standard analyzer is unaffected.
    pub fn with_overrides<I>(overrides: I) -> Result<Analyzer, LexiconError>
    where
        I: IntoIterator<Item = (String, f64)>,
    {
        let (lexicon, overrides) = STANDARD.lexicon.with_overrides(overrides)?;
        Ok(Analyzer { lexicon, overrides })
    }

    fn vader(&self) -> vader::Vader<'_> {
        vader::Vader {
            lexicon: &self.lexicon,
            emoji: &EMOJI,
        }
    }

    /// VADER's scores for `text`, exactly as 3.3.2's `polarity_scores` (for the standard
    /// analyzer). Never panics.
    pub fn polarity_scores(&self, text: &str) -> PolarityScores {
        self.vader().polarity_scores(text, &mut vader::NoTrace)
    }

    /// The scores with the reasoning behind them: each token's lexicon valence and its value
    /// after every rule, the punctuation amplifier, the sum. `scores` equals
    /// [`polarity_scores`](Self::polarity_scores) of the same text.
    pub fn score_explained(&self, text: &str) -> Explanation {
        let mut recorder = explain::Recorder::default();
        let scores = self.vader().polarity_scores(text, &mut recorder);
        recorder.finish(scores)
    }

    /// Scores `text` if it is English: `lang` is the source's language tag if it gave one,
    /// otherwise it is detected ([`detect_language`]). English and undetermined (`"und"`) text
    /// is scored; any other language gives [`Label::Unscored`] and no scores.
    pub fn score(&self, text: &str, lang: Option<&str>) -> Sentiment {
        let lang = match lang.map(str::trim) {
            Some(given) if !given.is_empty() => given.to_string(),
            _ => detect_language(text),
        };
        if language::is_scorable(&lang) {
            let scores = self.polarity_scores(text);
            Sentiment {
                scores: Some(scores),
                label: scores.label(),
                lang,
            }
        } else {
            Sentiment {
                scores: None,
                label: Label::Unscored,
                lang,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analyzer_is_send_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Analyzer>();
    }

    #[test]
    fn labels() {
        assert_eq!(Label::from_compound(0.05), Label::Positive);
        assert_eq!(Label::from_compound(-0.05), Label::Negative);
        assert_eq!(Label::from_compound(0.0499), Label::Neutral);
        assert_eq!(Label::from_compound(f64::NAN), Label::Neutral);
        for label in [
            Label::Positive,
            Label::Negative,
            Label::Neutral,
            Label::Unscored,
        ] {
            assert_eq!(label.as_str().parse::<Label>(), Ok(label));
            assert_eq!(
                serde_json::to_string(&label).unwrap(),
                format!("\"{label}\"")
            );
        }
        assert!("good".parse::<Label>().is_err());
    }

    #[test]
    fn gate() {
        let analyzer = Analyzer::standard();
        let english = analyzer.score("I love it", None);
        assert_eq!(english.lang, "en");
        assert_eq!(english.label, Label::Positive);
        let given = analyzer.score("I love it", Some("de"));
        assert_eq!((given.scores, given.label), (None, Label::Unscored));
        let undetermined = analyzer.score("😁", None);
        assert_eq!(undetermined.lang, "und");
        assert_eq!(undetermined.label, Label::Positive);
    }

    #[test]
    fn debug_is_short() {
        let text = format!("{:?}", Analyzer::standard());
        assert!(text.len() < 100, "{text}");
    }
}
