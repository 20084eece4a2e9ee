//! The two VADER 3.3.2 lexicons, parsed once, and per-deployment overrides.
//!
//! Lookups go through a small Fx-style hash map. Nothing ever iterates it: a score depends
//! only on whether a word is present and what its valence is, so the hasher cannot change a
//! result.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::pystr::{is_py_space, push_py_lower, strip_punc_if_word};

/// `vader_lexicon.txt` from the `vaderSentiment` 3.3.2 wheel, byte for byte (MIT, C.J. Hutto).
pub(crate) const VADER_LEXICON: &str = include_str!("data/vader_lexicon.txt");
/// `emoji_utf8_lexicon.txt` from the same wheel, byte for byte.
pub(crate) const EMOJI_LEXICON: &str = include_str!("data/emoji_utf8_lexicon.txt");

/// Lowest valence an override may set; the lexicon's own scale is -4..=4.
pub const MIN_VALENCE: f64 = -4.0;
/// Highest valence an override may set.
pub const MAX_VALENCE: f64 = 4.0;

/// Why a lexicon override was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LexiconError {
    /// The valence is NaN, infinite or outside `-4..=4`.
    #[error("lexicon override `{word}`: valence {valence} is not a finite number in -4..=4")]
    InvalidValence {
        /// The word as given.
        word: String,
        /// The rejected valence.
        valence: f64,
    },
    /// The word is empty, contains whitespace (multi-word idioms are not supported), or would
    /// never match a token because the tokeniser strips its leading/trailing punctuation.
    #[error("lexicon override `{word}`: {reason}")]
    InvalidWord {
        /// The word as given.
        word: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Two overrides name the same word (after lowercasing).
    #[error("lexicon override `{word}` is given more than once")]
    Duplicate {
        /// The lowercased word.
        word: String,
    },
}

/// FxHash (as in rustc): fast for short keys; fine because keys are our own lexicon words and
/// lookups never depend on iteration order.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0_u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0_u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// word -> valence, as `SentimentIntensityAnalyzer.make_lex_dict` builds it.
#[derive(Clone)]
pub(crate) struct Lexicon {
    words: FxMap<Box<str>, f64>,
}

impl Lexicon {
    /// Parses `vader_lexicon.txt` the way 3.3.2 does: `text.rstrip('\n').split('\n')`, skip
    /// empty lines, `line.strip().split('\t')[0:2]`, `float(measure)`; a later duplicate
    /// overwrites an earlier one (the file has 14 duplicate words).
    pub(crate) fn vader() -> Lexicon {
        let mut words = FxMap::default();
        words.reserve(7600);
        for line in VADER_LEXICON.trim_end_matches('\n').split('\n') {
            if line.is_empty() {
                continue;
            }
            let mut fields = line.trim_matches(is_py_space).split('\t');
            let (Some(word), Some(measure)) = (fields.next(), fields.next()) else {
                debug_assert!(false, "malformed lexicon line {line:?}");
                continue;
            };
            match measure.trim_matches(is_py_space).parse::<f64>() {
                Ok(valence) => {
                    words.insert(Box::from(word), valence);
                }
                Err(_) => debug_assert!(false, "malformed valence in {line:?}"),
            }
        }
        Lexicon { words }
    }

    /// The valence of an already lowercased token, if the lexicon has it.
    #[inline]
    pub(crate) fn get(&self, lowercase_word: &str) -> Option<f64> {
        self.words.get(lowercase_word).copied()
    }

    pub(crate) fn len(&self) -> usize {
        self.words.len()
    }

    /// A copy with `overrides` applied; every override is validated first.
    pub(crate) fn with_overrides<I>(&self, overrides: I) -> Result<(Lexicon, usize), LexiconError>
    where
        I: IntoIterator<Item = (String, f64)>,
    {
        let mut validated: FxMap<Box<str>, f64> = FxMap::default();
        let mut order: Vec<Box<str>> = Vec::new();
        for (word, valence) in overrides {
            if !valence.is_finite() || !(MIN_VALENCE..=MAX_VALENCE).contains(&valence) {
                return Err(LexiconError::InvalidValence { word, valence });
            }
            if word.is_empty() {
                return Err(LexiconError::InvalidWord {
                    word,
                    reason: "the word is empty",
                });
            }
            if word.chars().any(is_py_space) {
                return Err(LexiconError::InvalidWord {
                    word,
                    reason: "the word contains whitespace (multi-word idioms are not supported)",
                });
            }
            let mut lowercase = String::with_capacity(word.len());
            push_py_lower(&word, &mut lowercase);
            if strip_punc_if_word(&lowercase) != lowercase {
                return Err(LexiconError::InvalidWord {
                    word,
                    reason: "the tokeniser strips this word's leading or trailing punctuation, \
                             so it would never match",
                });
            }
            let key: Box<str> = lowercase.into_boxed_str();
            if validated.insert(key.clone(), valence).is_some() {
                return Err(LexiconError::Duplicate {
                    word: key.into_string(),
                });
            }
            order.push(key);
        }
        let mut lexicon = self.clone();
        let count = order.len();
        for key in order {
            if let Some(valence) = validated.get(&key).copied() {
                lexicon.words.insert(key, valence);
            }
        }
        Ok((lexicon, count))
    }
}

/// Single-character emoji -> description, as `make_emoji_dict` builds it. Only keys of exactly
/// one code point are kept: 3.3.2 tests `chr in self.emojis` one code point at a time, so the
/// multi-code-point keys (flags, skin tones, ZWJ sequences) can never match (bug-for-bug).
pub(crate) struct EmojiLexicon {
    /// Sorted by code point for binary search.
    entries: Vec<(char, &'static str)>,
}

impl EmojiLexicon {
    pub(crate) fn vader() -> EmojiLexicon {
        let mut map: std::collections::BTreeMap<char, &'static str> = Default::default();
        for line in EMOJI_LEXICON.trim_end_matches('\n').split('\n') {
            let mut fields = line.trim_matches(is_py_space).split('\t');
            let (Some(emoji), Some(description)) = (fields.next(), fields.next()) else {
                debug_assert!(false, "malformed emoji line {line:?}");
                continue;
            };
            let mut chars = emoji.chars();
            if let (Some(ch), None) = (chars.next(), chars.next()) {
                map.insert(ch, description);
            }
        }
        EmojiLexicon {
            entries: map.into_iter().collect(),
        }
    }

    /// The description of `ch`, if it is a (single code point) emoji key. All keys are
    /// non-ASCII, so ASCII characters answer without a search.
    #[inline]
    pub(crate) fn get(&self, ch: char) -> Option<&'static str> {
        if ch.is_ascii() {
            return None;
        }
        self.entries
            .binary_search_by_key(&ch, |&(key, _)| key)
            .ok()
            .and_then(|index| self.entries.get(index))
            .map(|&(_, description)| description)
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexicon_sizes() {
        let lexicon = Lexicon::vader();
        // 7,520 lines, 14 duplicated words.
        assert_eq!(lexicon.len(), 7506);
        assert_eq!(lexicon.get("good"), Some(1.9));
        let emoji = EmojiLexicon::vader();
        assert_eq!(emoji.len(), 1212);
        assert_eq!(emoji.get('😁'), Some("beaming face with smiling eyes"));
        assert_eq!(emoji.get('a'), None);
    }

    #[test]
    fn override_validation() {
        let base = Lexicon::vader();
        let ok = base.with_overrides([("Outage".to_string(), -2.5)]);
        assert!(matches!(ok, Ok((ref lexicon, 1)) if lexicon.get("outage") == Some(-2.5)));
        let bad = |word: &str, valence: f64| base.with_overrides([(word.to_string(), valence)]);
        assert!(matches!(
            bad("x", f64::NAN),
            Err(LexiconError::InvalidValence { .. })
        ));
        assert!(matches!(
            bad("x", 4.5),
            Err(LexiconError::InvalidValence { .. })
        ));
        assert!(matches!(
            bad("", 1.0),
            Err(LexiconError::InvalidWord { .. })
        ));
        assert!(matches!(
            bad("cut the mustard", 1.0),
            Err(LexiconError::InvalidWord { .. })
        ));
        assert!(matches!(
            bad("outage!", 1.0),
            Err(LexiconError::InvalidWord { .. })
        ));
        assert!(base.with_overrides([(":-)".to_string(), 2.0)]).is_ok());
        let duplicate = base.with_overrides([("a1".to_string(), 1.0), ("A1".to_string(), 2.0)]);
        assert_eq!(
            duplicate.err(),
            Some(LexiconError::Duplicate {
                word: "a1".to_string()
            })
        );
    }
}
