//! The VADER 3.3.2 rules, in the order `SentimentIntensityAnalyzer.polarity_scores` applies
//! them, operation for operation (floating-point results depend on the order).
//!
//! One code path serves both plain scoring and explanations: the rules report to a [`Trace`];
//! plain scoring passes [`NoTrace`], whose empty methods compile away.
//!
//! Quirks of 3.3.2 reproduced on purpose are marked `QUIRK`.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use crate::lexicon::{EmojiLexicon, Lexicon};
use crate::pystr::{push_py_lower, py_isupper, py_split, py_strip, strip_punc_if_word};
use crate::round::py_round;
use crate::PolarityScores;

/// Empirically derived mean sentiment intensity increase for booster words.
const B_INCR: f64 = 0.293;
/// ... and decrease for dampeners.
const B_DECR: f64 = -0.293;
/// Increase for a word in ALL CAPS when others are not.
const C_INCR: f64 = 0.733;
/// Negation scalar.
const N_SCALAR: f64 = -0.74;

/// `BOOSTER_DICT` (single-word keys; the multi-word keys are handled in [`booster_bigram`]).
fn booster(lowercase_word: &str) -> Option<f64> {
    match lowercase_word {
        "absolutely" | "amazingly" | "awfully" | "completely" | "considerable" | "considerably"
        | "decidedly" | "deeply" | "effing" | "enormous" | "enormously" | "entirely"
        | "especially" | "exceptional" | "exceptionally" | "extreme" | "extremely"
        | "fabulously" | "flipping" | "flippin" | "frackin" | "fracking" | "fricking"
        | "frickin" | "frigging" | "friggin" | "fully" | "fuckin" | "fucking" | "fuggin"
        | "fugging" | "greatly" | "hella" | "highly" | "hugely" | "incredible" | "incredibly"
        | "intensely" | "major" | "majorly" | "more" | "most" | "particularly" | "purely"
        | "quite" | "really" | "remarkably" | "so" | "substantially" | "thoroughly" | "total"
        | "totally" | "tremendous" | "tremendously" | "uber" | "unbelievably" | "unusually"
        | "utter" | "utterly" | "very" => Some(B_INCR),
        "almost" | "barely" | "hardly" | "kinda" | "kindof" | "kind-of" | "less" | "little"
        | "marginal" | "marginally" | "occasional" | "occasionally" | "partly" | "scarce"
        | "scarcely" | "slight" | "slightly" | "somewhat" | "sorta" | "sortof" | "sort-of" => {
            Some(B_DECR)
        }
        _ => None,
    }
}

/// The two-word `BOOSTER_DICT` keys ("just enough", "kind of", "sort of"). A token never
/// contains whitespace, so `"{a} {b}" in BOOSTER_DICT` is exactly this.
fn booster_bigram(first: &str, second: &str) -> Option<f64> {
    match (first, second) {
        ("just", "enough") | ("kind", "of") | ("sort", "of") => Some(B_DECR),
        _ => None,
    }
}

/// `SPECIAL_CASES` two-word keys. ("badass" is a one-word key and can never match a joined
/// sequence: QUIRK, it has no effect beyond the lexicon's own "badass".)
fn special_case2(first: &str, second: &str) -> Option<f64> {
    match (first, second) {
        ("the", "shit") | ("the", "bomb") => Some(3.0),
        ("bad", "ass") => Some(1.5),
        ("bus", "stop") => Some(0.0),
        ("yeah", "right") => Some(-2.0),
        ("beating", "heart") => Some(3.5),
        _ => None,
    }
}

/// `SPECIAL_CASES` three-word keys.
fn special_case3(first: &str, second: &str, third: &str) -> Option<f64> {
    match (first, second, third) {
        ("kiss", "of", "death") => Some(-1.5),
        ("to", "die", "for") => Some(3.0),
        _ => None,
    }
}

/// `negated([word])` for one lowercased word: in `NEGATE`, or contains "n't".
fn is_negation(lowercase_word: &str) -> bool {
    matches!(
        lowercase_word,
        "aint"
            | "arent"
            | "cannot"
            | "cant"
            | "couldnt"
            | "darent"
            | "didnt"
            | "doesnt"
            | "ain't"
            | "aren't"
            | "can't"
            | "couldn't"
            | "daren't"
            | "didn't"
            | "doesn't"
            | "dont"
            | "hadnt"
            | "hasnt"
            | "havent"
            | "isnt"
            | "mightnt"
            | "mustnt"
            | "neither"
            | "don't"
            | "hadn't"
            | "hasn't"
            | "haven't"
            | "isn't"
            | "mightn't"
            | "mustn't"
            | "neednt"
            | "needn't"
            | "never"
            | "none"
            | "nope"
            | "nor"
            | "not"
            | "nothing"
            | "nowhere"
            | "oughtnt"
            | "shant"
            | "shouldnt"
            | "uhuh"
            | "wasnt"
            | "werent"
            | "oughtn't"
            | "shan't"
            | "shouldn't"
            | "uh-uh"
            | "wasn't"
            | "weren't"
            | "without"
            | "wont"
            | "wouldnt"
            | "won't"
            | "wouldn't"
            | "rarely"
            | "seldom"
            | "despite"
    ) || lowercase_word.contains("n't")
}

/// What a rule did to one token's valence, reported to a [`Trace`]. Words are referred to by
/// token index so that building a step costs nothing when nobody listens.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RuleEvent {
    /// The token is a booster/dampener or the "kind" of "kind of": it contributes 0 itself.
    Modifier,
    /// "no" directly before another lexicon word: its own valence is dropped.
    NoBeforeLexiconWord,
    /// Within three words after "no" (or "no X or/nor"): lexicon valence times -0.74.
    NegatedByNo { no_index: usize },
    /// ALL CAPS while other words are not: ±0.733.
    AllCaps,
    /// A booster/dampener `distance` words before (scaled 1, 0.95, 0.9).
    Booster { word_index: usize },
    /// A negation word up to three words before: times -0.74.
    Negation { word_index: usize },
    /// "never so/this X" (and the 3.3.2 widening of it, see `negation_check`): times 1.25.
    NeverSoThis { distance: usize },
    /// A `SPECIAL_CASES` idiom replaced the valence.
    SpecialCase { first_index: usize, words: usize },
    /// "kind of"/"sort of"/"just enough" before: plus -0.293.
    BoosterPhrase { first_index: usize },
    /// "least" before (not "at least"/"very least"): times -0.74.
    Least { least_index: usize },
}

/// Receives what the rules do; see [`NoTrace`] and the explanation builder.
pub(crate) trait Trace {
    /// Whether the trace wants the per-token detail that costs a copy (the "but" rule's
    /// before/after values).
    const DETAIL: bool;
    fn tokens(&mut self, _text: &str, _tokens: &[Token<'_>], _caps_differential: bool) {}
    fn lexicon(&mut self, _index: usize, _valence: f64) {}
    fn rule(&mut self, _index: usize, _event: RuleEvent, _valence: f64) {}
    fn but(&mut self, _but_index: usize, _before: &[f64], _after: &[f64]) {}
    fn sentiments(&mut self, _sentiments: &[f64]) {}
    fn totals(&mut self, _sum: f64, _exclamations: usize, _questions: usize, _amplifier: f64) {}
}

/// The trace that records nothing.
pub(crate) struct NoTrace;
impl Trace for NoTrace {
    const DETAIL: bool = false;
}

/// One token with everything the rules ask about it computed once.
#[derive(Debug)]
pub(crate) struct Token<'a> {
    /// The token as `SentiText` leaves it (punctuation stripped unless it was an emoticon).
    pub(crate) word: &'a str,
    /// Byte range of `word.lower()` in the shared lowercase buffer.
    lower_start: u32,
    lower_end: u32,
    /// `lexicon.get(word.lower())`.
    pub(crate) valence: Option<f64>,
    /// `word.isupper()`.
    pub(crate) upper: bool,
}

/// The analyzer's data: the (possibly overridden) word lexicon and the emoji lexicon.
pub(crate) struct Vader<'l> {
    pub(crate) lexicon: &'l Lexicon,
    pub(crate) emoji: &'l EmojiLexicon,
}

/// Per-call working state: tokens and their lowercase forms in one buffer.
struct Words<'a> {
    tokens: Vec<Token<'a>>,
    lower: String,
}

impl Words<'_> {
    #[inline]
    fn lower(&self, index: usize) -> &str {
        self.tokens
            .get(index)
            .and_then(|token| {
                self.lower
                    .get(token.lower_start as usize..token.lower_end as usize)
            })
            .unwrap_or("")
    }

    #[inline]
    fn in_lexicon(&self, index: usize) -> bool {
        self.tokens
            .get(index)
            .is_some_and(|token| token.valence.is_some())
    }
}

impl Vader<'_> {
    /// Replaces each emoji code point by its description, exactly as 3.3.2's loop does.
    /// Borrows the input when it holds no emoji (the common case).
    fn replace_emoji<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let Some(first) = text
            .char_indices()
            .find(|&(_, ch)| self.emoji.get(ch).is_some())
            .map(|(at, _)| at)
        else {
            return Cow::Borrowed(text);
        };
        let (head, tail) = text.split_at(first);
        let mut out = String::with_capacity(text.len() + 64);
        out.push_str(head);
        // `prev_space` starts True and is True only after an ASCII space.
        let mut prev_space = head.is_empty() || head.ends_with(' ');
        for ch in tail.chars() {
            if let Some(description) = self.emoji.get(ch) {
                if !prev_space {
                    out.push(' ');
                }
                out.push_str(description);
                // QUIRK: no space is added *after* a description, so "😁abc" becomes
                // "beaming face with smiling eyesabc".
                prev_space = false;
            } else {
                out.push(ch);
                prev_space = ch == ' ';
            }
        }
        Cow::Owned(out)
    }

    fn words<'a>(&self, text: &'a str) -> Words<'a> {
        let mut tokens = Vec::with_capacity(text.len() / 5 + 1);
        let mut lower = String::with_capacity(text.len());
        for piece in py_split(text) {
            let word = strip_punc_if_word(piece);
            let lower_start = lower.len();
            push_py_lower(word, &mut lower);
            let lower_end = lower.len();
            let valence = lower
                .get(lower_start..lower_end)
                .and_then(|lowercase| self.lexicon.get(lowercase));
            tokens.push(Token {
                word,
                // Texts over 4 GiB are not a use case; saturate rather than wrap.
                lower_start: u32::try_from(lower_start).unwrap_or(u32::MAX),
                lower_end: u32::try_from(lower_end).unwrap_or(u32::MAX),
                valence,
                upper: py_isupper(word),
            });
        }
        Words { tokens, lower }
    }

    /// `polarity_scores`, reporting to `trace`.
    pub(crate) fn polarity_scores<T: Trace>(&self, input: &str, trace: &mut T) -> PolarityScores {
        let replaced = self.replace_emoji(input);
        let text = py_strip(&replaced);
        let words = self.words(text);
        let count = words.tokens.len();

        // `allcap_differential`: some but not all tokens are ALL CAPS.
        let allcap_words = words.tokens.iter().filter(|token| token.upper).count();
        let cap_differential = count - allcap_words;
        let is_cap_diff = 0 < cap_differential && cap_differential < count;
        trace.tokens(text, &words.tokens, is_cap_diff);

        let mut sentiments: Vec<f64> = Vec::with_capacity(count);
        for index in 0..count {
            let lowercase = words.lower(index);
            if let Some(valence) = words.tokens.get(index).and_then(|token| token.valence) {
                trace.lexicon(index, valence);
            }
            if booster(lowercase).is_some()
                || (index + 1 < count && lowercase == "kind" && words.lower(index + 1) == "of")
            {
                trace.rule(index, RuleEvent::Modifier, 0.0);
                sentiments.push(0.0);
                continue;
            }
            sentiments.push(self.sentiment_valence(&words, index, is_cap_diff, trace));
        }

        if let Some(but_index) = (0..count).find(|&index| words.lower(index) == "but") {
            let before = if T::DETAIL {
                sentiments.clone()
            } else {
                Vec::new()
            };
            but_check(&mut sentiments, but_index);
            trace.but(but_index, &before, &sentiments);
        }
        trace.sentiments(&sentiments);

        score_valence(&sentiments, text, trace)
    }

    fn sentiment_valence<T: Trace>(
        &self,
        words: &Words<'_>,
        i: usize,
        is_cap_diff: bool,
        trace: &mut T,
    ) -> f64 {
        let count = words.tokens.len();
        let Some(token) = words.tokens.get(i) else {
            return 0.0;
        };
        let Some(lexicon_valence) = token.valence else {
            return 0.0;
        };
        let mut valence = lexicon_valence;
        let lowercase = words.lower(i);

        // "no" as negation of the next lexicon word vs "no" as a lexicon word of its own.
        if lowercase == "no" && i != count - 1 && words.in_lexicon(i + 1) {
            valence = 0.0;
            trace.rule(i, RuleEvent::NoBeforeLexiconWord, valence);
        }
        // QUIRK: this uses the lexicon valence again, so "no no good" gives the second "no"
        // -0.74 times its lexicon valence even though the rule above had just zeroed it.
        let no_index = if i > 0 && words.lower(i - 1) == "no" {
            Some(i - 1)
        } else if i > 1 && words.lower(i - 2) == "no" {
            Some(i - 2)
        } else if i > 2 && words.lower(i - 3) == "no" && matches!(words.lower(i - 1), "or" | "nor")
        {
            Some(i - 3)
        } else {
            None
        };
        if let Some(no_index) = no_index {
            valence = lexicon_valence * N_SCALAR;
            trace.rule(i, RuleEvent::NegatedByNo { no_index }, valence);
        }

        if token.upper && is_cap_diff {
            // QUIRK: a valence of exactly 0 (e.g. a zeroed "no") counts as negative here.
            if valence > 0.0 {
                valence += C_INCR;
            } else {
                valence -= C_INCR;
            }
            trace.rule(i, RuleEvent::AllCaps, valence);
        }

        for start_i in 0..3_usize {
            // Dampen the modifier of preceding words by their distance; only words that are
            // not themselves lexicon words count.
            let before = i.wrapping_sub(start_i + 1);
            if i > start_i && !words.in_lexicon(before) {
                let mut scalar = scalar_inc_dec(words, before, valence, is_cap_diff);
                if start_i == 1 && scalar != 0.0 {
                    scalar *= 0.95;
                }
                if start_i == 2 && scalar != 0.0 {
                    scalar *= 0.9;
                }
                valence += scalar;
                if scalar != 0.0 {
                    trace.rule(i, RuleEvent::Booster { word_index: before }, valence);
                }
                valence = negation_check(valence, words, start_i, i, trace);
                if start_i == 2 {
                    valence = special_idioms_check(valence, words, i, trace);
                }
            }
        }

        least_check(valence, words, i, trace)
    }
}

/// `scalar_inc_dec`: the boost a preceding booster/dampener gives.
fn scalar_inc_dec(words: &Words<'_>, index: usize, valence: f64, is_cap_diff: bool) -> f64 {
    let Some(mut scalar) = booster(words.lower(index)) else {
        return 0.0;
    };
    if valence < 0.0 {
        scalar *= -1.0;
    }
    // An ALL CAPS booster while other words are not.
    if words.tokens.get(index).is_some_and(|token| token.upper) && is_cap_diff {
        if valence > 0.0 {
            scalar += C_INCR;
        } else {
            scalar -= C_INCR;
        }
    }
    scalar
}

/// `_negation_check`.
fn negation_check<T: Trace>(
    valence: f64,
    words: &Words<'_>,
    start_i: usize,
    i: usize,
    trace: &mut T,
) -> f64 {
    let back = |distance: usize| words.lower(i - distance);
    let negated = |distance: usize, trace: &mut T| {
        let result = valence * N_SCALAR;
        let event = RuleEvent::Negation {
            word_index: i - distance,
        };
        trace.rule(i, event, result);
        result
    };
    let amplified = |distance: usize, trace: &mut T| {
        let result = valence * 1.25;
        trace.rule(i, RuleEvent::NeverSoThis { distance }, result);
        result
    };
    match start_i {
        0 if is_negation(back(1)) => negated(1, trace),
        1 => {
            if back(2) == "never" && matches!(back(1), "so" | "this") {
                amplified(2, trace)
            } else if back(2) == "without" && back(1) == "doubt" {
                valence
            } else if is_negation(back(2)) {
                negated(2, trace)
            } else {
                valence
            }
        }
        2 => {
            // QUIRK: Python's precedence makes this
            // `(w[i-3] == "never" and w[i-2] in (so, this)) or w[i-1] in (so, this)`,
            // so any "so"/"this" right before the word multiplies by 1.25 here.
            if (back(3) == "never" && matches!(back(2), "so" | "this"))
                || matches!(back(1), "so" | "this")
            {
                amplified(3, trace)
            } else if back(3) == "without" && (back(2) == "doubt" || back(1) == "doubt") {
                valence
            } else if is_negation(back(3)) {
                negated(3, trace)
            } else {
                valence
            }
        }
        _ => valence,
    }
}

/// `_special_idioms_check`. Only reached when `i > 2` and the word three back is not a
/// lexicon word (QUIRK: it runs inside the `start_i == 2` branch, so idioms near the start of
/// a text, or after a lexicon word, are never checked). `SENTIMENT_LADEN_IDIOMS` ("cut the
/// mustard", "hand to mouth", ...) is never consulted by 3.3.2 (future work there), so not here.
fn special_idioms_check<T: Trace>(
    mut valence: f64,
    words: &Words<'_>,
    i: usize,
    trace: &mut T,
) -> f64 {
    let count = words.tokens.len();
    let (w3, w2, w1, w0) = (
        words.lower(i - 3),
        words.lower(i - 2),
        words.lower(i - 1),
        words.lower(i),
    );
    // In order: onezero, twoonezero, twoone, threetwoone, threetwo; the first match wins.
    let sequences = [
        (special_case2(w1, w0), i - 1, 2),
        (special_case3(w2, w1, w0), i - 2, 3),
        (special_case2(w2, w1), i - 2, 2),
        (special_case3(w3, w2, w1), i - 3, 3),
        (special_case2(w3, w2), i - 3, 2),
    ];
    if let Some((Some(idiom), first_index, length)) =
        sequences.into_iter().find(|(found, _, _)| found.is_some())
    {
        valence = idiom;
        trace.rule(
            i,
            RuleEvent::SpecialCase {
                first_index,
                words: length,
            },
            valence,
        );
    }
    if count - 1 > i {
        if let Some(idiom) = special_case2(w0, words.lower(i + 1)) {
            valence = idiom;
            let event = RuleEvent::SpecialCase {
                first_index: i,
                words: 2,
            };
            trace.rule(i, event, valence);
        }
    }
    if count - 1 > i + 1 {
        if let Some(idiom) = special_case3(w0, words.lower(i + 1), words.lower(i + 2)) {
            valence = idiom;
            let event = RuleEvent::SpecialCase {
                first_index: i,
                words: 3,
            };
            trace.rule(i, event, valence);
        }
    }
    // Booster/dampener bigrams: threetwoone (no three-word keys exist), threetwo, twoone.
    for (first_index, first, second) in [(i - 3, w3, w2), (i - 2, w2, w1)] {
        if let Some(scalar) = booster_bigram(first, second) {
            valence += scalar;
            trace.rule(i, RuleEvent::BoosterPhrase { first_index }, valence);
        }
    }
    valence
}

/// `_least_check`.
fn least_check<T: Trace>(valence: f64, words: &Words<'_>, i: usize, trace: &mut T) -> f64 {
    let least_before = i > 0 && !words.in_lexicon(i - 1) && words.lower(i - 1) == "least";
    if !least_before {
        return valence;
    }
    let negate = if i > 1 {
        !matches!(words.lower(i - 2), "at" | "very")
    } else {
        true
    };
    if negate {
        let result = valence * N_SCALAR;
        trace.rule(i, RuleEvent::Least { least_index: i - 1 }, result);
        return result;
    }
    valence
}

/// Below this many sentiments the quadratic reference algorithm is faster than the indexed one.
const BUT_INDEX_THRESHOLD: usize = 64;

/// `_but_check`, bug for bug. QUIRK: 3.3.2 loops `for sentiment in sentiments` while replacing
/// items and locates each by `sentiments.index(sentiment)`, i.e. the *first position holding
/// an equal value*, which may be an earlier, already-scaled position. So repeated values can be
/// scaled twice at one position and not at all at another. Reproduced exactly; long texts use
/// an index from value to positions so that the cost stays O(n log n).
pub(crate) fn but_check(sentiments: &mut [f64], but_index: usize) {
    if sentiments.len() <= BUT_INDEX_THRESHOLD {
        but_check_reference(sentiments, but_index);
    } else {
        but_check_indexed(sentiments, but_index);
    }
}

/// The direct transcription of the Python loop (quadratic).
pub(crate) fn but_check_reference(sentiments: &mut [f64], but_index: usize) {
    for position in 0..sentiments.len() {
        let Some(&sentiment) = sentiments.get(position) else {
            break;
        };
        // `index()` always finds `sentiment` at `position` or earlier.
        let Some(first) = sentiments[..=position]
            .iter()
            .position(|&value| value == sentiment)
        else {
            continue;
        };
        let factor = if first < but_index {
            0.5
        } else if first > but_index {
            1.5
        } else {
            continue;
        };
        if let Some(slot) = sentiments.get_mut(first) {
            *slot = sentiment * factor;
        }
    }
}

/// Same result as [`but_check_reference`] with positions indexed by value. Zeros are skipped:
/// scaling 0 gives 0, an equal value, so they never change anything.
pub(crate) fn but_check_indexed(sentiments: &mut [f64], but_index: usize) {
    // Key: the bit pattern of a non-zero value (no -0.0/NaN ambiguity among non-zero finite
    // values). BTree, not hash: nothing here may depend on hashing.
    let mut positions: BTreeMap<u64, BTreeSet<usize>> = BTreeMap::new();
    for (position, &value) in sentiments.iter().enumerate() {
        if value != 0.0 {
            positions
                .entry(value.to_bits())
                .or_default()
                .insert(position);
        }
    }
    for position in 0..sentiments.len() {
        let Some(&sentiment) = sentiments.get(position) else {
            break;
        };
        if sentiment == 0.0 {
            continue;
        }
        let Some(set) = positions.get_mut(&sentiment.to_bits()) else {
            continue;
        };
        let Some(first) = set.first().copied() else {
            continue;
        };
        let factor = if first < but_index {
            0.5
        } else if first > but_index {
            1.5
        } else {
            continue;
        };
        let scaled = sentiment * factor;
        set.remove(&first);
        if let Some(slot) = sentiments.get_mut(first) {
            *slot = scaled;
        }
        positions.entry(scaled.to_bits()).or_default().insert(first);
    }
}

/// `score_valence` plus the final rounding of `polarity_scores`.
fn score_valence<T: Trace>(sentiments: &[f64], text: &str, trace: &mut T) -> PolarityScores {
    if sentiments.is_empty() {
        trace.totals(0.0, 0, 0, 0.0);
        return PolarityScores {
            compound: 0.0,
            pos: 0.0,
            neu: 0.0,
            neg: 0.0,
        };
    }
    // Python 3.11's `sum()` of floats: plain left-to-right addition.
    let mut sum_s = 0.0_f64;
    for &sentiment in sentiments {
        sum_s += sentiment;
    }
    let (exclamations, questions) = text.bytes().fold((0_usize, 0_usize), |(e, q), byte| {
        (e + usize::from(byte == b'!'), q + usize::from(byte == b'?'))
    });
    let amplifier = punctuation_emphasis(exclamations, questions);
    trace.totals(sum_s, exclamations, questions, amplifier);
    if sum_s > 0.0 {
        sum_s += amplifier;
    } else if sum_s < 0.0 {
        sum_s -= amplifier;
    }
    let compound = normalize(sum_s);

    let mut pos_sum = 0.0_f64;
    let mut neg_sum = 0.0_f64;
    let mut neu_count = 0_usize;
    for &sentiment in sentiments {
        if sentiment > 0.0 {
            pos_sum += sentiment + 1.0; // compensates for neutral words counted as 1
        }
        if sentiment < 0.0 {
            neg_sum += sentiment - 1.0;
        }
        if sentiment == 0.0 {
            neu_count += 1;
        }
    }
    if pos_sum > neg_sum.abs() {
        pos_sum += amplifier;
    } else if pos_sum < neg_sum.abs() {
        neg_sum -= amplifier;
    }
    let neu_count = neu_count as f64;
    let total = pos_sum + neg_sum.abs() + neu_count;
    PolarityScores {
        compound: py_round(compound, 4),
        pos: py_round((pos_sum / total).abs(), 3),
        neu: py_round((neu_count / total).abs(), 3),
        neg: py_round((neg_sum / total).abs(), 3),
    }
}

/// `_punctuation_emphasis`: up to four '!' at 0.292 each; two or three '?' at 0.18 each, more
/// than three 0.96.
pub(crate) fn punctuation_emphasis(exclamations: usize, questions: usize) -> f64 {
    let ep_amplifier = exclamations.min(4) as f64 * 0.292;
    let qm_amplifier = if questions > 1 {
        if questions <= 3 {
            questions as f64 * 0.18
        } else {
            0.96
        }
    } else {
        0.0
    };
    ep_amplifier + qm_amplifier
}

/// `normalize(score, alpha=15)`.
fn normalize(score: f64) -> f64 {
    let norm_score = score / (score * score + 15.0).sqrt();
    norm_score.clamp(-1.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn but_check_variants_agree() {
        // The quirk: equal values are found at their first position.
        let mut values = [2.0, 1.0, 0.0, 1.0, 3.0, 1.5];
        but_check_reference(&mut values, 2);
        assert_eq!(values, [0.5, 0.5, 0.0, 1.0, 4.5, 2.25]);
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..2000 {
            let len = (next() % 200) as usize + 1;
            let pool = [0.0, 1.0, -1.0, 0.5, 2.0, -2.0, 1.5, 0.25, 3.0, -0.5, 4.0];
            let values: Vec<f64> = (0..len)
                .map(|_| pool[(next() % pool.len() as u64) as usize])
                .collect();
            let but_index = (next() % len as u64) as usize;
            let mut reference = values.clone();
            but_check_reference(&mut reference, but_index);
            let mut indexed = values.clone();
            but_check_indexed(&mut indexed, but_index);
            assert_eq!(reference, indexed, "{values:?} but at {but_index}");
        }
    }

    #[test]
    fn normalize_clamps() {
        assert_eq!(normalize(0.0), 0.0);
        assert!(normalize(1e300) <= 1.0);
        assert!(normalize(-1e300) >= -1.0);
    }
}
