//! Text analysis shared by the index and the watch matcher, so that a watch query matches a
//! mention exactly when the same query typed into search finds it.

use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RawTokenizer, RemoveLongFilter, SimpleTokenizer, Stemmer,
    TextAnalyzer, TokenStream, TokenizerManager,
};

/// The analyzer for prose (`title`, `text`): words, lowercased, accents folded, English stems.
pub const TEXT_ANALYZER: &str = "earful_text";
/// The analyzer for exact fields (`author`, `source`, `feed`, `lang`, `label`, `watch`): the
/// whole value, lowercased, so `author:JDoe` finds `jdoe`.
pub const KEYWORD_ANALYZER: &str = "earful_keyword";

/// Words this long or longer are dropped (base64 blobs, minified URLs).
pub(crate) const MAX_TOKEN_BYTES: usize = 60;

/// Builds the prose analyzer.
pub fn text_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::default())
        .build()
}

/// The prose analyzer without the filters that only rewrite tokens (lowercasing, folding,
/// stemming never drop one): it yields a token exactly when [`text_analyzer`] does, so it
/// answers "has this prose any term?" without stemming.
pub fn presence_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .build()
}

/// Builds the exact-field analyzer.
pub fn keyword_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(RawTokenizer::default())
        .filter(LowerCaser)
        .build()
}

/// Registers both analyzers under their names.
pub fn register_analyzers(manager: &TokenizerManager) {
    manager.register(TEXT_ANALYZER, text_analyzer());
    manager.register(KEYWORD_ANALYZER, keyword_analyzer());
}

/// Runs an analyzer over a text, collecting the terms in order.
pub fn analyze(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut terms = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while let Some(token) = stream.next() {
        terms.push(token.text.clone());
    }
    terms
}

/// Runs an analyzer over a text, collecting each term with its position. Positions can skip
/// (a word too long to index still takes its place), which is what the index records and what
/// phrase matching must respect.
pub fn analyze_with_positions(analyzer: &mut TextAnalyzer, text: &str) -> Vec<(usize, String)> {
    let mut terms = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while let Some(token) = stream.next() {
        terms.push((token.position, token.text.clone()));
    }
    terms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prose_is_stemmed_lowercased_and_folded() {
        let terms = analyze(&mut text_analyzer(), "Refunds REFUSED at the Café!");
        assert_eq!(terms, ["refund", "refus", "at", "the", "cafe"]);
    }

    #[test]
    fn keywords_are_whole_and_lowercased() {
        assert_eq!(
            analyze(&mut keyword_analyzer(), "JDoe Smith"),
            ["jdoe smith"]
        );
    }

    #[test]
    fn presence_agrees_with_the_prose_analyzer() {
        let long = "x".repeat(MAX_TOKEN_BYTES);
        for text in [
            "",
            "  !! ",
            "Refunds",
            "Café",
            long.as_str(),
            "ÉÉÉ",
            "--- 42 ---",
        ] {
            assert_eq!(
                presence_analyzer().token_stream(text).advance(),
                text_analyzer().token_stream(text).advance(),
                "{text:?}"
            );
        }
    }
}
