//! Why a text scored as it did: each token's valence after every rule, the punctuation
//! amplifier and the final scores. Built by the same code path as `polarity_scores`, so the
//! final numbers are identical by construction.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::vader::{RuleEvent, Token, Trace};
use crate::{Label, PolarityScores};

/// A rule that changed a token's valence. Serialised in `snake_case`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The token is a booster/dampener ("very", "kinda") or the "kind" of "kind of": it
    /// modifies its neighbours and contributes 0 itself.
    Modifier,
    /// "no" directly before another lexicon word: "no" itself contributes 0.
    NoBeforeLexiconWord,
    /// Within three words after "no" (or after "no X or/nor"): lexicon valence × −0.74.
    NegatedByNo,
    /// Written in ALL CAPS while other words are not: ±0.733.
    AllCaps,
    /// A booster (+0.293) or dampener (−0.293) one, two or three words before, scaled by
    /// 1, 0.95 or 0.9 with distance (±0.733 more if the booster is in ALL CAPS).
    Booster,
    /// A negation ("not", "never", "isn't", any word containing "n't", ...) up to three
    /// words before: × −0.74.
    Negation,
    /// "never so/this …" (3.3.2 also applies it for any "so"/"this" right before the word
    /// when three words precede it): × 1.25.
    NeverSoThis,
    /// A special-case idiom ("the bomb", "yeah right", "kiss of death", …) replaced the valence.
    SpecialCase,
    /// "kind of", "sort of" or "just enough" before the word: −0.293.
    BoosterPhrase,
    /// "least" right before (but not "at least"/"very least"): × −0.74.
    Least,
    /// Before the first "but": × 0.5.
    ButBefore,
    /// After the first "but": × 1.5.
    ButAfter,
}

impl Rule {
    /// A short lowercase name, the same as the serialised form.
    pub fn as_str(&self) -> &'static str {
        match self {
            Rule::Modifier => "modifier",
            Rule::NoBeforeLexiconWord => "no_before_lexicon_word",
            Rule::NegatedByNo => "negated_by_no",
            Rule::AllCaps => "all_caps",
            Rule::Booster => "booster",
            Rule::Negation => "negation",
            Rule::NeverSoThis => "never_so_this",
            Rule::SpecialCase => "special_case",
            Rule::BoosterPhrase => "booster_phrase",
            Rule::Least => "least",
            Rule::ButBefore => "but_before",
            Rule::ButAfter => "but_after",
        }
    }
}

/// One rule application.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Which rule.
    pub rule: Rule,
    /// The word or phrase that triggered it (lowercased), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// The token's valence after this step.
    pub valence: f64,
}

/// One token's part in the score.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenContribution {
    /// The token as VADER sees it: split on whitespace, leading/trailing punctuation removed
    /// (kept when that would leave two characters or fewer, e.g. emoticons), emoji replaced by
    /// their descriptions' words.
    pub token: String,
    /// Its lexicon valence (looked up lowercased), if it is in the lexicon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lexicon_valence: Option<f64>,
    /// The rules that changed it, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
    /// What it finally contributes to the sum (0 for neutral tokens).
    pub valence: f64,
}

/// The explanation of one score; see [`crate::Analyzer::score_explained`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// The text as scored: emoji replaced by descriptions, outer whitespace removed.
    pub text: String,
    /// Every token, in order.
    pub tokens: Vec<TokenContribution>,
    /// Whether some but not all tokens are ALL CAPS (the condition for the caps rules).
    pub caps_differential: bool,
    /// Index of the first "but" token, whose rule scales the words around it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub but_index: Option<usize>,
    /// Sum of the token valences, before punctuation emphasis.
    pub sum: f64,
    /// Number of '!' in the text (up to 4 count, 0.292 each).
    pub exclamation_marks: usize,
    /// Number of '?' in the text (2–3 count 0.18 each, more count 0.96).
    pub question_marks: usize,
    /// The punctuation amplifier, added to the sum away from zero.
    pub punctuation_amplifier: f64,
    /// The final scores, equal to `polarity_scores` of the same text.
    pub scores: PolarityScores,
    /// The label of `scores.compound`.
    pub label: Label,
}

impl Explanation {
    /// A compact human-readable rendering (the same as `Display`), as `earful score --explain`
    /// prints it.
    pub fn render_text(&self) -> String {
        self.to_string()
    }
}

fn signed(value: f64) -> String {
    format!("{value:+.3}")
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scores = &self.scores;
        writeln!(
            f,
            "{} (compound {:+.4}; pos {:.3}, neu {:.3}, neg {:.3})",
            self.label.as_str(),
            scores.compound,
            scores.pos,
            scores.neu,
            scores.neg
        )?;
        let width = self
            .tokens
            .iter()
            .filter(|token| token.lexicon_valence.is_some() || !token.steps.is_empty())
            .map(|token| token.token.chars().count())
            .max()
            .unwrap_or(0)
            .min(24);
        let mut neutral = 0_usize;
        for token in &self.tokens {
            let modifier_only = token.steps.iter().all(|step| step.rule == Rule::Modifier);
            if token.lexicon_valence.is_none() && modifier_only {
                neutral += 1;
                continue;
            }
            write!(f, "  {:<width$}", token.token)?;
            if let Some(valence) = token.lexicon_valence {
                write!(f, "  lexicon {}", signed(valence))?;
            }
            for step in &token.steps {
                write!(f, " → {}", step.rule.as_str())?;
                if let Some(by) = &step.by {
                    write!(f, " \"{by}\"")?;
                }
                write!(f, " {}", signed(step.valence))?;
            }
            writeln!(f, "  = {}", signed(token.valence))?;
        }
        if neutral > 0 {
            writeln!(
                f,
                "  ({neutral} neutral token{})",
                if neutral == 1 { "" } else { "s" }
            )?;
        }
        write!(f, "  sum {}", signed(self.sum))?;
        if self.punctuation_amplifier != 0.0 {
            write!(
                f,
                "; punctuation ({} '!', {} '?') {}",
                self.exclamation_marks,
                self.question_marks,
                signed(self.punctuation_amplifier)
            )?;
        }
        write!(f, " → compound {:+.4}", scores.compound)
    }
}

/// Collects an [`Explanation`] from the rule trace.
#[derive(Default)]
pub(crate) struct Recorder {
    text: String,
    words: Vec<String>,
    tokens: Vec<TokenContribution>,
    caps_differential: bool,
    but_index: Option<usize>,
    sum: f64,
    exclamation_marks: usize,
    question_marks: usize,
    punctuation_amplifier: f64,
}

impl Recorder {
    fn lower(&self, index: usize) -> Option<String> {
        self.words.get(index).cloned()
    }

    fn phrase(&self, first: usize, count: usize) -> Option<String> {
        let words: Vec<&str> = (first..first + count)
            .filter_map(|index| self.words.get(index).map(String::as_str))
            .collect();
        Some(words.join(" "))
    }

    fn push(&mut self, index: usize, rule: Rule, by: Option<String>, valence: f64) {
        if let Some(token) = self.tokens.get_mut(index) {
            token.steps.push(Step { rule, by, valence });
            token.valence = valence;
        }
    }

    pub(crate) fn finish(self, scores: PolarityScores) -> Explanation {
        Explanation {
            text: self.text,
            tokens: self.tokens,
            caps_differential: self.caps_differential,
            but_index: self.but_index,
            sum: self.sum,
            exclamation_marks: self.exclamation_marks,
            question_marks: self.question_marks,
            punctuation_amplifier: self.punctuation_amplifier,
            label: Label::from_compound(scores.compound),
            scores,
        }
    }
}

impl Trace for Recorder {
    const DETAIL: bool = true;

    fn tokens(&mut self, text: &str, tokens: &[Token<'_>], caps_differential: bool) {
        self.text = text.to_string();
        self.caps_differential = caps_differential;
        self.words = tokens
            .iter()
            .map(|token| token.word.to_lowercase())
            .collect();
        self.tokens = tokens
            .iter()
            .map(|token| TokenContribution {
                token: token.word.to_string(),
                lexicon_valence: token.valence,
                steps: Vec::new(),
                valence: 0.0,
            })
            .collect();
    }

    fn lexicon(&mut self, index: usize, valence: f64) {
        if let Some(token) = self.tokens.get_mut(index) {
            token.valence = valence;
        }
    }

    fn rule(&mut self, index: usize, event: RuleEvent, valence: f64) {
        let (rule, by) = match event {
            RuleEvent::Modifier => (Rule::Modifier, None),
            RuleEvent::NoBeforeLexiconWord => (Rule::NoBeforeLexiconWord, None),
            RuleEvent::NegatedByNo { no_index } => (Rule::NegatedByNo, self.lower(no_index)),
            RuleEvent::AllCaps => (Rule::AllCaps, None),
            RuleEvent::Booster { word_index, .. } => (Rule::Booster, self.lower(word_index)),
            RuleEvent::Negation { word_index, .. } => (Rule::Negation, self.lower(word_index)),
            RuleEvent::NeverSoThis { distance } => {
                let first = index.saturating_sub(distance);
                (Rule::NeverSoThis, self.phrase(first, distance))
            }
            RuleEvent::SpecialCase { first_index, words } => {
                (Rule::SpecialCase, self.phrase(first_index, words))
            }
            RuleEvent::BoosterPhrase { first_index } => {
                (Rule::BoosterPhrase, self.phrase(first_index, 2))
            }
            RuleEvent::Least { least_index } => (Rule::Least, self.lower(least_index)),
        };
        self.push(index, rule, by, valence);
    }

    fn but(&mut self, but_index: usize, before: &[f64], after: &[f64]) {
        self.but_index = Some(but_index);
        for (index, (old, new)) in before.iter().zip(after).enumerate() {
            if old.to_bits() == new.to_bits() {
                continue;
            }
            let rule = if index < but_index {
                Rule::ButBefore
            } else {
                Rule::ButAfter
            };
            self.push(index, rule, Some("but".to_string()), *new);
        }
    }

    fn sentiments(&mut self, sentiments: &[f64]) {
        for (token, &valence) in self.tokens.iter_mut().zip(sentiments) {
            token.valence = valence;
        }
    }

    fn totals(&mut self, sum: f64, exclamations: usize, questions: usize, amplifier: f64) {
        self.sum = sum;
        self.exclamation_marks = exclamations;
        self.question_marks = questions;
        self.punctuation_amplifier = amplifier;
    }
}
