//! The language gate: VADER is English-only, so non-English text is left unscored rather than
//! given a guess.
//!
//! The rule, chosen on the measurements in BENCHMARKS.md ("Language gate") over the VADER
//! ground truth (all English), a set of English texts unlike it (`tests/data/english_hard.tsv`:
//! headlines, fragments, telegraphic reviews, full-width and styled letters, repeated words,
//! capitals, hashtags, emoji) and real-looking non-English posts
//! (`tests/data/non_english.tsv`):
//!
//! 1. Text with non-ASCII characters is first NFKC-folded, so full-width (`Ｇｏｏｄ`),
//!    mathematical (`𝐆𝐨𝐨𝐝`), circled letters and ligatures read as the letters they stand for.
//!    Only detection sees the folded text; VADER scores the text as given.
//! 2. No letter at all (empty, emoji, emoticons, numbers): `"und"`.
//! 3. More letters in other scripts than in Latin (Cyrillic, Greek, Arabic, Hebrew, Han, kana,
//!    Hangul, Devanagari, Thai, ...): whatlang names the language, however short the text;
//!    English is never written that way.
//! 4. Latin script: the words (runs of letters; tokens with digits, `#hashtags`, `@handles`,
//!    links and capitalised words that are no English word — names — are not language
//!    evidence) are looked up in an English vocabulary — the
//!    SCOWL word list shipped in `src/data/english_words.txt` plus the VADER lexicon. Text is
//!    English when it has fewer than [`MIN_WORDS_FOR_NON_ENGLISH`] words, or at least
//!    [`MIN_ENGLISH_VOCABULARY_SHARE`] of its words are English words, or more than
//!    [`MAX_FUNCTION_WORD_SHARE`] are English function words. Otherwise whatlang decides:
//!    its language `L`, if not English, must also win a run between only English and `L`
//!    with confidence at least [`MIN_CONFIDENCE_FOR_NON_ENGLISH`] (whatlang's plain confidence
//!    is low whenever close languages compete, Dutch/Afrikaans or Swedish/Danish, which says
//!    nothing about English).
//!
//! The vocabulary step is what keeps short English text with no function words ("Mild,
//! meandering teen flick.") from being handed to trigram statistics, which are noise on a
//! handful of words; the function-word step catches English full of names, slang or typos.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::LazyLock;

use unicode_normalization::UnicodeNormalization;
use whatlang::{Lang, Script};

use crate::lexicon::{FxHasher, VADER_LEXICON};

/// Latin-script text needs at least this many words before it can be called non-English.
pub const MIN_WORDS_FOR_NON_ENGLISH: usize = 4;

/// ... fewer than this share of its words may be English words (word list or VADER lexicon) ...
pub const MIN_ENGLISH_VOCABULARY_SHARE: f64 = 0.75;

/// ... at most this share of its words may be common English function words ...
pub const MAX_FUNCTION_WORD_SHARE: f64 = 0.15;

/// ... and whatlang, choosing between English and the detected language only, must pick the
/// latter with at least this confidence (0..=1).
pub const MIN_CONFIDENCE_FOR_NON_ENGLISH: f64 = 0.8;

/// English words, one a line, lowercase: SCOWL's `american-english` list (Debian `wamerican`
/// 2020.12.07, without proper nouns and possessives; licence in `data/SCOWL-LICENSE.txt`).
const ENGLISH_WORDS: &str = include_str!("data/english_words.txt");

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// The English vocabulary — the word list, the VADER lexicon's words and the function words —
/// each word mapped to whether it is a function word (one look-up answers both).
static VOCABULARY: LazyLock<FxMap<&'static str, bool>> = LazyLock::new(|| {
    let mut words = FxMap::default();
    words.reserve(72_000);
    for word in ENGLISH_WORDS.lines().filter(|word| !word.is_empty()) {
        words.insert(word, false);
    }
    let lexicon_words = VADER_LEXICON
        .lines()
        .filter_map(|line| line.split('\t').next())
        .filter(|word| word.chars().all(|ch| ch.is_alphabetic() || ch == '\''));
    for word in lexicon_words {
        words.insert(word, false);
    }
    for word in ENGLISH_FUNCTION_WORDS {
        words.insert(word, true);
    }
    words
});

/// Guesses the language of `text`: an ISO 639-1 code (`"en"`, `"de"`, `"fr"`, `"ja"`, ...), or
/// `"und"` when the text has no letters or the language cannot be named. See the module rule:
/// short or unsure Latin-script text is `"en"`.
pub fn detect_language(text: &str) -> String {
    detect_language_code(text).to_string()
}

pub(crate) fn detect_language_code(text: &str) -> &'static str {
    let folded = fold(text);
    let text = folded.as_ref();
    let letters = count_letters(text);
    if letters.latin + letters.other == 0 {
        return "und";
    }
    if letters.other > letters.latin {
        return match whatlang::detect(text) {
            Some(info) if info.script() != Script::Latin => iso639_1(info.lang()),
            _ => "und",
        };
    }
    if is_plainly_english(text) {
        return "en";
    }
    let Some(info) = whatlang::detect(text) else {
        return "en";
    };
    if info.lang() == Lang::Eng || info.script() != Script::Latin {
        return "en";
    }
    let duel = whatlang::Detector::with_allowlist(vec![Lang::Eng, info.lang()]).detect(text);
    match duel {
        Some(duel)
            if duel.lang() != Lang::Eng && duel.confidence() >= MIN_CONFIDENCE_FOR_NON_ENGLISH =>
        {
            iso639_1(duel.lang())
        }
        _ => "en",
    }
}

/// NFKC-folds text that has any non-ASCII character (full-width and styled letters, ligatures);
/// ASCII text is borrowed as it is.
#[doc(hidden)]
pub fn fold(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.nfkc().collect())
    }
}

/// Letters by script: Latin, or any other.
#[derive(Clone, Copy, Debug, Default)]
struct Letters {
    latin: usize,
    other: usize,
}

fn count_letters(text: &str) -> Letters {
    let mut letters = Letters::default();
    for ch in text.chars() {
        if ch.is_ascii_alphabetic() || (!ch.is_ascii() && is_latin_letter(ch)) {
            letters.latin += 1;
        } else if !ch.is_ascii() && ch.is_alphabetic() {
            letters.other += 1;
        }
    }
    letters
}

/// Latin letters outside ASCII: Latin-1, Latin Extended-A/B, IPA, Latin Extended Additional.
fn is_latin_letter(ch: char) -> bool {
    matches!(ch, '\u{00C0}'..='\u{024F}' | '\u{0250}'..='\u{02AF}' | '\u{1E00}'..='\u{1EFF}')
        && ch.is_alphabetic()
}

/// The word counts behind the Latin-script rule.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WordCounts {
    /// Words (runs of letters) outside tokens with digits, hashtags, handles and links, and
    /// not capitalised words that are no English word (names).
    pub words: usize,
    /// Of those, English words (word list, VADER lexicon, function words).
    pub english: usize,
    /// Of those, common English function words.
    pub function: usize,
}

impl WordCounts {
    /// Whether the counts alone make Latin-script text English (rule 4 before whatlang).
    pub fn is_plainly_english(&self) -> bool {
        let words = self.words as f64;
        self.words < MIN_WORDS_FOR_NON_ENGLISH
            || self.english as f64 >= MIN_ENGLISH_VOCABULARY_SHARE * words
            || self.function as f64 > MAX_FUNCTION_WORD_SHARE * words
    }
}

/// Counts the words of (folded) text and how many are English. No allocation for ASCII words
/// up to 64 bytes.
#[doc(hidden)]
pub fn count_words(text: &str) -> WordCounts {
    scan_words(text, |_| false)
}

/// Rule 4 before whatlang, with early answers: the counts can only be decided English once
/// they are, however the rest of the text goes, so most English text is decided after a few
/// words. `words_at_most` bounds the word count from above (runs of letters).
fn is_plainly_english(text: &str) -> bool {
    let words_at_most = letter_runs(text);
    if words_at_most < MIN_WORDS_FOR_NON_ENGLISH {
        return true;
    }
    let bound = words_at_most as f64;
    let mut decided = false;
    let counts = scan_words(text, |counts| {
        // `words <= words_at_most`, so a share over the bound is a share over the words.
        decided = counts.english as f64 >= MIN_ENGLISH_VOCABULARY_SHARE * bound
            || counts.function as f64 > MAX_FUNCTION_WORD_SHARE * bound;
        decided
    });
    decided || counts.is_plainly_english()
}

/// How many runs of letters (and apostrophes) `text` has: at least its word count.
fn letter_runs(text: &str) -> usize {
    let mut runs = 0;
    let mut in_run = false;
    for ch in text.chars() {
        let is_letter = ch.is_alphabetic() || ch == '\'' || ch == '’';
        runs += usize::from(is_letter && !in_run);
        in_run = is_letter;
    }
    runs
}

/// Counts words until `stop` says the counts so far are enough.
fn scan_words(text: &str, mut stop: impl FnMut(&WordCounts) -> bool) -> WordCounts {
    let vocabulary = &*VOCABULARY;
    let mut counts = WordCounts::default();
    let mut buffer = String::new();
    let mut sentence_start;
    let mut next_starts_sentence = true;
    for token in text.split_whitespace() {
        sentence_start = next_starts_sentence;
        next_starts_sentence = token.ends_with(['.', '!', '?', ':', '"', '“', '”']);
        if token.starts_with(['#', '@'])
            || token.contains("://")
            || token.starts_with("www.")
            || token.chars().any(|ch| ch.is_numeric())
        {
            continue;
        }
        for word in token.split(|ch: char| !(ch.is_alphabetic() || ch == '\'' || ch == '’')) {
            let word = word.trim_matches(['\'', '’']);
            if word.is_empty() {
                continue;
            }
            let sentence_start = std::mem::take(&mut sentence_start);
            buffer.clear();
            if word.is_ascii() {
                buffer.push_str(word);
                buffer.make_ascii_lowercase();
            } else {
                for ch in word.chars() {
                    if ch == '’' {
                        buffer.push('\'');
                    } else {
                        buffer.extend(ch.to_lowercase());
                    }
                }
            }
            let lowercase = buffer.as_str();
            let (is_english, is_function_word) = match vocabulary.get(lowercase) {
                Some(&is_function_word) => (true, is_function_word),
                None => {
                    let possessive = lowercase
                        .strip_suffix("'s")
                        .is_some_and(|stem| vocabulary.contains_key(stem));
                    (possessive, false)
                }
            };
            // A capitalised word that is no English word is most often a name ("Brian De
            // Palma", "Häagen-Dazs"): evidence of nothing, so it is not counted.
            // The first word of a sentence is capitalised anyway, so it counts.
            if !is_english && !sentence_start && is_titlecase(word) {
                continue;
            }
            counts.words += 1;
            counts.english += usize::from(is_english);
            counts.function += usize::from(is_function_word);
            if stop(&counts) {
                return counts;
            }
        }
    }
    counts
}

/// An initial capital followed by at least one lowercase letter (`Palma`, not `LSU` or `palma`).
fn is_titlecase(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next().is_some_and(char::is_uppercase) && chars.any(char::is_lowercase)
}

/// Common English function words that are not also frequent words of the other Latin-script
/// languages whatlang knows ("die", "in", "is", "was", "a", "no", "so", "i" are left out).
const ENGLISH_FUNCTION_WORDS: &[&str] = &[
    "about", "after", "all", "an", "and", "any", "are", "at", "be", "because", "been", "but", "by",
    "can", "can't", "could", "did", "do", "does", "don't", "for", "from", "get", "had", "has",
    "have", "he", "her", "his", "how", "i'm", "if", "into", "it", "it's", "its", "just", "like",
    "more", "my", "not", "of", "on", "one", "or", "our", "out", "she", "should", "than", "that",
    "the", "their", "them", "then", "there", "they", "this", "to", "up", "very", "we", "were",
    "what", "when", "which", "who", "will", "with", "would", "you", "your",
];

/// The share of `text`'s words that are common English function words (0..=1).
#[doc(hidden)]
pub fn english_function_word_share(text: &str) -> f64 {
    let counts = count_words(&fold(text));
    if counts.words == 0 {
        0.0
    } else {
        counts.function as f64 / counts.words as f64
    }
}

/// Whether a language tag means English: `en`, `en-GB`, `en_US`, `eng` (any case).
pub fn is_english(lang: &str) -> bool {
    let lang = lang.trim();
    let primary = lang.split(['-', '_']).next().unwrap_or("");
    primary.eq_ignore_ascii_case("en") || primary.eq_ignore_ascii_case("eng")
}

/// Whether `score` runs VADER for this tag: English, or undetermined (`und`, empty), which
/// the gate treats as English rather than refuse (emoji and emoticons score fine).
pub(crate) fn is_scorable(lang: &str) -> bool {
    let lang = lang.trim();
    is_english(lang) || lang.is_empty() || lang.eq_ignore_ascii_case("und")
}

/// whatlang's ISO 639-3 languages as ISO 639-1 codes.
fn iso639_1(lang: Lang) -> &'static str {
    match lang {
        Lang::Epo => "eo",
        Lang::Eng => "en",
        Lang::Rus => "ru",
        Lang::Cmn => "zh",
        Lang::Spa => "es",
        Lang::Por => "pt",
        Lang::Ita => "it",
        Lang::Ben => "bn",
        Lang::Fra => "fr",
        Lang::Deu => "de",
        Lang::Ukr => "uk",
        Lang::Kat => "ka",
        Lang::Ara => "ar",
        Lang::Hin => "hi",
        Lang::Jpn => "ja",
        Lang::Heb => "he",
        Lang::Yid => "yi",
        Lang::Pol => "pl",
        Lang::Amh => "am",
        Lang::Jav => "jv",
        Lang::Kor => "ko",
        Lang::Nob => "nb",
        Lang::Dan => "da",
        Lang::Swe => "sv",
        Lang::Fin => "fi",
        Lang::Tur => "tr",
        Lang::Nld => "nl",
        Lang::Hun => "hu",
        Lang::Ces => "cs",
        Lang::Ell => "el",
        Lang::Bul => "bg",
        Lang::Bel => "be",
        Lang::Mar => "mr",
        Lang::Kan => "kn",
        Lang::Ron => "ro",
        Lang::Slv => "sl",
        Lang::Hrv => "hr",
        Lang::Srp => "sr",
        Lang::Mkd => "mk",
        Lang::Lit => "lt",
        Lang::Lav => "lv",
        Lang::Est => "et",
        Lang::Tam => "ta",
        Lang::Vie => "vi",
        Lang::Urd => "ur",
        Lang::Tha => "th",
        Lang::Guj => "gu",
        Lang::Uzb => "uz",
        Lang::Pan => "pa",
        Lang::Aze => "az",
        Lang::Ind => "id",
        Lang::Tel => "te",
        Lang::Pes => "fa",
        Lang::Mal => "ml",
        Lang::Ori => "or",
        Lang::Mya => "my",
        Lang::Nep => "ne",
        Lang::Sin => "si",
        Lang::Khm => "km",
        Lang::Tuk => "tk",
        Lang::Aka => "ak",
        Lang::Zul => "zu",
        Lang::Sna => "sn",
        Lang::Afr => "af",
        Lang::Lat => "la",
        Lang::Slk => "sk",
        Lang::Cat => "ca",
        Lang::Tgl => "tl",
        Lang::Hye => "hy",
        Lang::Cym => "cy",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_words_are_sorted() {
        assert!(ENGLISH_FUNCTION_WORDS
            .windows(2)
            .all(|pair| pair[0] < pair[1]));
        assert_eq!(english_function_word_share("The app is down"), 0.25);
    }

    #[test]
    fn early_answers_are_the_full_counts_answers() {
        let data = [
            include_str!("../tests/data/english_hard.tsv"),
            include_str!("../tests/data/non_english.tsv"),
        ];
        let texts = data
            .iter()
            .flat_map(|data| data.lines())
            .filter_map(|line| line.split_once('\t').map(|(_, text)| text));
        for text in texts.chain([
            "a b c d",
            "Der Die Das was",
            "the the x y z w v u t s r q p",
        ]) {
            let folded = fold(text);
            assert_eq!(
                is_plainly_english(&folded),
                count_words(&folded).is_plainly_english(),
                "{text}"
            );
        }
    }

    #[test]
    fn english_tags() {
        for tag in ["en", "EN", "en-GB", "en_US", "eng", " en "] {
            assert!(is_english(tag), "{tag}");
        }
        for tag in ["de", "und", "", "fr-CA", "ena"] {
            assert!(!is_english(tag), "{tag}");
        }
        assert!(is_scorable("und") && is_scorable("") && !is_scorable("de"));
    }

    #[test]
    fn simple_cases() {
        assert_eq!(detect_language(""), "und");
        assert_eq!(detect_language("😁 :) 123"), "und");
        assert_eq!(detect_language("Hello world!"), "en");
        assert_eq!(detect_language("Gracias"), "en"); // too short to call
        assert_eq!(detect_language("これはとても良い製品です"), "ja");
    }
}
