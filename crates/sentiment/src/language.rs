//! The language gate: VADER is English-only, so non-English text is left unscored rather than
//! given a guess.
//!
//! Detection uses `whatlang` (trigram models for 70 languages, script detection first). The
//! rule, tuned on the VADER ground truth (all English) and on a set of non-English sentences
//! (see `tests/language.rs` and BENCHMARKS.md, "Sentiment"):
//!
//! 1. No alphabetic character at all (empty, emoji, emoticons, numbers): `"und"`.
//! 2. The dominant script is not Latin (Cyrillic, Arabic, Han, kana, Hangul, ...): whatlang's
//!    language for that script, however short the text; English is never written that way.
//! 3. Latin script: English, unless whatlang names another language `L` **and** the text has
//!    at least [`MIN_WORDS_FOR_NON_ENGLISH`] words **and** at most
//!    [`MAX_FUNCTION_WORD_SHARE`] of them are common English function words ("the", "and",
//!    "you", ...) **and** whatlang, asked to choose between only English and `L`, picks `L`
//!    with confidence at least [`MIN_CONFIDENCE_FOR_NON_ENGLISH`]. whatlang's plain confidence
//!    is low whenever close languages compete (Dutch/Afrikaans, Swedish/Danish), which says
//!    nothing about English; the pairwise run asks the question that matters here.
//!
//! Short or unsure Latin-script text is treated as English: trigram statistics on a handful
//! of words are noise, and English is the base rate of the feeds Earful reads.
//!
//! Measured (`cargo run --release -p earful-sentiment --example language_gate`): 47 of the
//! 23,703 English ground-truth sentences (0.20 %) are called non-English; all 72 non-English
//! test sentences (12 languages, `tests/data/non_english.tsv`) are caught. The best rule on
//! whatlang's plain confidence caught 59 of 72 at a similar false-alarm rate (0.22 %).

use whatlang::{Lang, Script};

/// Latin-script text needs at least this many whitespace-separated words before it can be
/// called non-English.
pub const MIN_WORDS_FOR_NON_ENGLISH: usize = 4;

/// ... at most this share of its words may be common English function words ...
pub const MAX_FUNCTION_WORD_SHARE: f64 = 0.15;

/// ... and whatlang, choosing between English and the detected language only, must pick the
/// latter with at least this confidence (0..=1).
pub const MIN_CONFIDENCE_FOR_NON_ENGLISH: f64 = 0.8;

/// Guesses the language of `text`: an ISO 639-1 code (`"en"`, `"de"`, `"fr"`, `"ja"`, ...), or
/// `"und"` when the text has no letters or the language cannot be named. See the module rule:
/// short or unsure Latin-script text is `"en"`.
pub fn detect_language(text: &str) -> String {
    detect_language_code(text).to_string()
}

pub(crate) fn detect_language_code(text: &str) -> &'static str {
    if !text.chars().any(char::is_alphabetic) {
        return "und";
    }
    if is_plainly_english(text) {
        return "en";
    }
    let Some(info) = whatlang::detect(text) else {
        return if whatlang::detect_script(text).is_none_or(|script| script == Script::Latin) {
            "en"
        } else {
            "und"
        };
    };
    if info.script() != Script::Latin {
        return iso639_1(info.lang());
    }
    if info.lang() == Lang::Eng {
        return "en";
    }
    if text.split_whitespace().count() < MIN_WORDS_FOR_NON_ENGLISH
        || english_function_word_share(text) > MAX_FUNCTION_WORD_SHARE
    {
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

/// The fast path, taken by most English text before any trigram statistics: text whose letters
/// are almost all ASCII (so whatlang would call its script Latin) and whose words are more than
/// [`MAX_FUNCTION_WORD_SHARE`] English function words, or fewer than
/// [`MIN_WORDS_FOR_NON_ENGLISH`] words. The full rule below returns `"en"` for
/// exactly such text whatever whatlang says, so this changes no result, only the cost
/// (whatlang's trigram detection is ~20x slower than VADER itself).
fn is_plainly_english(text: &str) -> bool {
    let mut letters = 0_usize;
    let mut non_ascii_letters = 0_usize;
    for ch in text.chars().filter(|ch| ch.is_alphabetic()) {
        letters += 1;
        if !ch.is_ascii() {
            non_ascii_letters += 1;
        }
    }
    non_ascii_letters * 50 <= letters
        && (text.split_whitespace().count() < MIN_WORDS_FOR_NON_ENGLISH
            || english_function_word_share(text) > MAX_FUNCTION_WORD_SHARE)
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
    let mut words = 0_usize;
    let mut function_words = 0_usize;
    let mut buffer = String::new();
    for word in text.split_whitespace() {
        let trimmed = word.trim_matches(|ch: char| !ch.is_alphanumeric() && ch != '\'');
        if trimmed.is_empty() {
            continue;
        }
        words += 1;
        buffer.clear();
        buffer.extend(trimmed.chars().flat_map(char::to_lowercase));
        if ENGLISH_FUNCTION_WORDS
            .binary_search(&buffer.as_str())
            .is_ok()
        {
            function_words += 1;
        }
    }
    if words == 0 {
        0.0
    } else {
        function_words as f64 / words as f64
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
