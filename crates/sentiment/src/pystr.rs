//! The few pieces of Python `str` behaviour VADER's result depends on, reproduced exactly.
//!
//! The reference runs on CPython; which characters count as whitespace, as upper case or as
//! lower case decides how a text is tokenised and whether the ALL-CAPS rules fire. Rust's
//! `char::is_whitespace` differs from `str.isspace()` (it omits U+001C..U+001F), and Rust has
//! no "titlecase" predicate, so both are spelled out here. Upper/lower case come from Rust's
//! Unicode tables, which agree with CPython's for every character assigned in Unicode 14 (the
//! version of CPython 3.11, which produced the test vectors); see the `casing` unit test.

/// `ch.isspace()` in CPython: bidirectional class WS, B or S, or general category Zs.
#[inline]
pub(crate) fn is_py_space(ch: char) -> bool {
    matches!(
        ch,
        '\t'..='\r'
            | '\u{1c}'..='\u{20}'
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// `text.strip()` with no argument.
pub(crate) fn py_strip(text: &str) -> &str {
    text.trim_matches(is_py_space)
}

/// `text.split()` with no argument: runs of whitespace separate, no empty pieces.
pub(crate) fn py_split(text: &str) -> impl Iterator<Item = &str> {
    text.split(is_py_space).filter(|piece| !piece.is_empty())
}

/// General category Lt (titlecase letters), as in Unicode 14; the set has not changed since
/// Unicode 3.
#[inline]
fn is_titlecase(ch: char) -> bool {
    matches!(
        ch,
        '\u{1c5}'
            | '\u{1c8}'
            | '\u{1cb}'
            | '\u{1f2}'
            | '\u{1f88}'..='\u{1f8f}'
            | '\u{1f98}'..='\u{1f9f}'
            | '\u{1fa8}'..='\u{1faf}'
            | '\u{1fbc}'
            | '\u{1fcc}'
            | '\u{1ffc}'
    )
}

/// `word.isupper()`: at least one cased character and no lowercase or titlecase one.
pub(crate) fn py_isupper(word: &str) -> bool {
    if word.is_ascii() {
        let bytes = word.as_bytes();
        return bytes.iter().any(u8::is_ascii_uppercase)
            && !bytes.iter().any(u8::is_ascii_lowercase);
    }
    let mut cased = false;
    for ch in word.chars() {
        if ch.is_lowercase() || is_titlecase(ch) {
            return false;
        }
        if ch.is_uppercase() {
            cased = true;
        }
    }
    cased
}

/// Appends `word.lower()` to `out`: full case mapping, final sigma included (Rust's
/// `str::to_lowercase` applies the same context rule as CPython).
pub(crate) fn push_py_lower(word: &str, out: &mut String) {
    if word.is_ascii() {
        out.extend(
            word.bytes()
                .map(|byte| char::from(byte.to_ascii_lowercase())),
        );
    } else {
        out.push_str(&word.to_lowercase());
    }
}

/// `SentiText._strip_punc_if_word`: strip leading and trailing `string.punctuation`; if two
/// or fewer characters remain, the token was probably an emoticon, so keep it whole.
pub(crate) fn strip_punc_if_word(token: &str) -> &str {
    let stripped = token.trim_matches(|ch: char| ch.is_ascii_punctuation());
    if stripped.chars().nth(2).is_none() {
        token
    } else {
        stripped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_matches_cpython() {
        // The full list printed by CPython 3.11: [c for c in range(0x110000) if chr(c).isspace()].
        let expected: Vec<u32> = vec![
            0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000,
            0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028,
            0x2029, 0x202f, 0x205f, 0x3000,
        ];
        let actual: Vec<u32> = (0..=0x10ffff_u32)
            .filter_map(char::from_u32)
            .filter(|&ch| is_py_space(ch))
            .map(u32::from)
            .collect();
        assert_eq!(actual, expected);
    }

    #[test]
    fn split_and_strip() {
        assert_eq!(
            py_split(" a\u{1c}b\u{3000} c\t").collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        assert_eq!(py_split("").count(), 0);
        assert_eq!(py_strip("\u{85} x \u{a0}"), "x");
        // U+200B ZERO WIDTH SPACE is not whitespace in Python.
        assert_eq!(py_split("a\u{200b}b").count(), 1);
    }

    #[test]
    fn isupper() {
        assert!(py_isupper("GOOD"));
        assert!(py_isupper("GOOD!1"));
        assert!(!py_isupper("Good"));
        assert!(!py_isupper("123"));
        assert!(!py_isupper(":)"));
        assert!(py_isupper(":D"));
        assert!(py_isupper("ÉTÉ"));
        assert!(!py_isupper("ǅ"));
        assert!(!py_isupper("ΣΟΦΟς"));
        assert!(py_isupper("ΣΟΦΟΣ"));
    }

    #[test]
    fn lower() {
        let mut out = String::new();
        push_py_lower("\u{212a}ILL", &mut out);
        assert_eq!(out, "kill");
        out.clear();
        push_py_lower("ΣΟΦΟΣ", &mut out);
        assert_eq!(out, "σοφος");
        out.clear();
        push_py_lower("İ", &mut out);
        assert_eq!(out, "i\u{307}");
    }

    #[test]
    fn strip_punctuation() {
        assert_eq!(strip_punc_if_word("good!!!"), "good");
        assert_eq!(strip_punc_if_word(":)"), ":)");
        assert_eq!(strip_punc_if_word("'ok'"), "'ok'");
        assert_eq!(strip_punc_if_word("(é)"), "(é)");
        assert_eq!(strip_punc_if_word("(éé)"), "(éé)");
        assert_eq!(strip_punc_if_word("(ééé)"), "ééé");
        assert_eq!(strip_punc_if_word("don't."), "don't");
    }
}
