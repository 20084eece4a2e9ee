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
//! 3. Latin script: English unless whatlang says another language **and** the text has at
//!    least [`MIN_WORDS_FOR_NON_ENGLISH`] words **and** whatlang's confidence is at least
//!    [`MIN_CONFIDENCE_FOR_NON_ENGLISH`]. Short or unsure Latin-script text is treated as
//!    English: trigram statistics on a handful of words are noise, and English is the base
//!    rate of the feeds Earful reads.

use whatlang::{Lang, Script};

/// Latin-script text needs at least this many whitespace-separated words before it can be
/// called non-English.
pub const MIN_WORDS_FOR_NON_ENGLISH: usize = 4;

/// ... and whatlang's confidence must reach this (0..=1).
pub const MIN_CONFIDENCE_FOR_NON_ENGLISH: f64 = 0.5;

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
    let words = text.split_whitespace().count();
    if words >= MIN_WORDS_FOR_NON_ENGLISH && info.confidence() >= MIN_CONFIDENCE_FOR_NON_ENGLISH {
        return iso639_1(info.lang());
    }
    "en"
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
