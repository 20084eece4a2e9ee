//! Text analysis shared by the index and the watch matcher, so that a watch query matches a
//! mention exactly when the same query typed into search finds it.

use rustc_hash::FxHashMap;
use tantivy::tokenizer::{
    AsciiFoldingFilter, BoxTokenStream, LowerCaser, RawTokenizer, RemoveLongFilter,
    SimpleTokenizer, Stemmer, TextAnalyzer, Token, TokenFilter, TokenStream, Tokenizer,
    TokenizerManager,
};

/// The analyzer for prose (`title`, `text`): words, lowercased, accents folded, English stems.
pub const TEXT_ANALYZER: &str = "earful_text";
/// The analyzer for exact fields (`author`, `source`, `feed`, `lang`, `label`, `watch`): the
/// whole value, lowercased, so `author:JDoe` finds `jdoe`.
pub const KEYWORD_ANALYZER: &str = "earful_keyword";

/// Words this long or longer are dropped (base64 blobs, minified URLs).
pub(crate) const MAX_TOKEN_BYTES: usize = 60;

/// Most words a [`StemCache`] remembers before it starts over: a few MB, bounded whatever the
/// input.
pub const MAX_CACHED_STEMS: usize = 50_000;

/// Builds the prose analyzer: the reference chain of tantivy's filters. The index and the
/// watch matcher run [`cached_text_analyzer`], which gives the same tokens.
pub fn text_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::default())
        .build()
}

/// The prose analyzer as the index and the watch matcher run it: exactly [`text_analyzer`]
/// (the same tokens, positions and offsets — a test checks it word by word), but each distinct
/// word is stemmed once per analyzer instead of at every occurrence, and ASCII text is split,
/// lowercased and stemmed in one pass. Snowball stemming was a fifth of ingest's instructions,
/// and the words of mentions repeat (Zipf).
pub fn cached_text_analyzer() -> TextAnalyzer {
    text_analyzer_caching(MAX_CACHED_STEMS)
}

/// [`cached_text_analyzer`] remembering at most `capacity` stems.
pub(crate) fn text_analyzer_caching(capacity: usize) -> TextAnalyzer {
    TextAnalyzer::from(FastAscii::new(
        MAX_TOKEN_BYTES,
        StemCache::new(capacity),
        TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
            .filter(LowerCaser)
            .filter(AsciiFoldingFilter)
            .filter(CachedStemmer { capacity })
            .build(),
    ))
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

/// What the fused ASCII pass of [`FastAscii`] does with a word once it is split off and
/// lowercased: rewrite it in place, and say whether it is kept.
pub trait FinishWord: Clone + Send + Sync + 'static {
    /// Finishes `word`; `false` drops it (its position stays taken, as tantivy's filters do).
    fn finish(&mut self, word: &mut String) -> bool;
}

impl FinishWord for StemCache {
    fn finish(&mut self, word: &mut String) -> bool {
        self.stem_in_place(word);
        true
    }
}

/// tantivy's `SimpleTokenizer` → `RemoveLongFilter(limit)` → `LowerCaser` →
/// `AsciiFoldingFilter` → a last filter, in one pass over ASCII text (where folding changes
/// nothing and a letter or digit is one byte), and the same chain of filters (`fallback`) for
/// any other text. Each filter of a chain costs a virtual call and a pass over every token;
/// analysis was a quarter of ingest's instructions.
#[derive(Clone)]
pub struct FastAscii<F> {
    /// Words this many bytes long or longer are dropped.
    limit: usize,
    finish: F,
    fallback: TextAnalyzer,
    token: Token,
}

impl<F: FinishWord> FastAscii<F> {
    /// The fused pass dropping words of `limit` bytes or more and ending with `finish`, and
    /// `fallback` for text that is not all ASCII; `fallback` must be the chain the pass
    /// stands for, ending with the filter `finish` mirrors.
    pub fn new(limit: usize, finish: F, fallback: TextAnalyzer) -> FastAscii<F> {
        FastAscii {
            limit,
            finish,
            fallback,
            token: Token::default(),
        }
    }
}

impl<F: FinishWord> Tokenizer for FastAscii<F> {
    type TokenStream<'a> = FastAsciiStream<'a, F>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> FastAsciiStream<'a, F> {
        if !text.is_ascii() {
            return FastAsciiStream::Other(self.fallback.token_stream(text));
        }
        self.token.reset();
        FastAsciiStream::Ascii {
            text,
            cursor: 0,
            limit: self.limit,
            token: &mut self.token,
            finish: &mut self.finish,
        }
    }
}

/// The token stream of [`FastAscii`].
pub enum FastAsciiStream<'a, F> {
    /// The fused pass.
    Ascii {
        /// The whole text.
        text: &'a str,
        /// Where the next word is looked for.
        cursor: usize,
        /// Words this many bytes long or longer are dropped.
        limit: usize,
        /// The current token.
        token: &'a mut Token,
        /// The last step of each word.
        finish: &'a mut F,
    },
    /// The chain of filters.
    Other(BoxTokenStream<'a>),
}

impl<F: FinishWord> TokenStream for FastAsciiStream<'_, F> {
    fn advance(&mut self) -> bool {
        match self {
            FastAsciiStream::Other(stream) => stream.advance(),
            FastAsciiStream::Ascii {
                text,
                cursor,
                limit,
                token,
                finish,
            } => next_ascii_word(text, cursor, *limit, token, *finish),
        }
    }

    fn token(&self) -> &Token {
        match self {
            FastAsciiStream::Ascii { token, .. } => token,
            FastAsciiStream::Other(stream) => stream.token(),
        }
    }

    fn token_mut(&mut self) -> &mut Token {
        match self {
            FastAsciiStream::Ascii { token, .. } => token,
            FastAsciiStream::Other(stream) => stream.token_mut(),
        }
    }
}

/// Moves `token` to the next kept word of ASCII `text` from `cursor`, as the chain would.
fn next_ascii_word<F: FinishWord>(
    text: &str,
    cursor: &mut usize,
    limit: usize,
    token: &mut Token,
    finish: &mut F,
) -> bool {
    let bytes = text.as_bytes();
    loop {
        while *cursor < bytes.len() && !bytes[*cursor].is_ascii_alphanumeric() {
            *cursor += 1;
        }
        if *cursor == bytes.len() {
            return false;
        }
        let start = *cursor;
        while *cursor < bytes.len() && bytes[*cursor].is_ascii_alphanumeric() {
            *cursor += 1;
        }
        // Every word takes a position, kept or not, as in tantivy's chain.
        token.position = token.position.wrapping_add(1);
        if *cursor - start >= limit {
            continue;
        }
        token.offset_from = start;
        token.offset_to = *cursor;
        token.text.clear();
        token.text.push_str(&text[start..*cursor]);
        token.text.make_ascii_lowercase();
        if finish.finish(&mut token.text) {
            return true;
        }
    }
}

/// A token filter giving what tantivy's English [`Stemmer`] gives, remembering up to
/// `capacity` stems.
#[derive(Clone, Copy, Debug)]
pub struct CachedStemmer {
    capacity: usize,
}

impl TokenFilter for CachedStemmer {
    type Tokenizer<T: Tokenizer> = CachedStemmerFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> CachedStemmerFilter<T> {
        CachedStemmerFilter {
            inner: tokenizer,
            cache: StemCache::new(self.capacity),
        }
    }
}

/// [`CachedStemmer`] over a tokenizer. Each clone has its own cache: tantivy clones an
/// analyzer for every segment writer, and a cache per thread needs no lock.
#[derive(Clone)]
pub struct CachedStemmerFilter<T> {
    inner: T,
    cache: StemCache,
}

impl<T: Tokenizer> Tokenizer for CachedStemmerFilter<T> {
    type TokenStream<'a> = CachedStemmerStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        CachedStemmerStream {
            tail: self.inner.token_stream(text),
            cache: &mut self.cache,
        }
    }
}

/// The token stream of [`CachedStemmerFilter`].
pub struct CachedStemmerStream<'a, T> {
    tail: T,
    cache: &'a mut StemCache,
}

impl<T: TokenStream> TokenStream for CachedStemmerStream<'_, T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        self.cache.stem_in_place(&mut self.tail.token_mut().text);
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

/// Word → English stem, bounded: when full it starts over, which only costs re-stemming.
pub struct StemCache {
    stems: FxHashMap<String, String>,
    capacity: usize,
    /// tantivy's own stemmer over the whole word, for words not seen yet, so a cached stem
    /// is always the one the query side computes.
    stemmer: TextAnalyzer,
}

impl StemCache {
    /// An empty cache remembering at most `capacity` stems.
    pub fn new(capacity: usize) -> StemCache {
        StemCache {
            stems: FxHashMap::default(),
            capacity,
            stemmer: TextAnalyzer::builder(RawTokenizer::default())
                .filter(Stemmer::default())
                .build(),
        }
    }

    /// Replaces a (lowercased, folded) word by its stem, reusing the word's buffer.
    pub fn stem_in_place(&mut self, word: &mut String) {
        if let Some(stem) = self.stems.get(word.as_str()) {
            word.clear();
            word.push_str(stem);
            return;
        }
        let mut stream = self.stemmer.token_stream(word);
        let stem = if stream.advance() {
            stream.token().text.clone()
        } else {
            word.clone()
        };
        drop(stream);
        if self.stems.len() >= self.capacity {
            self.stems.clear();
        }
        let original = std::mem::replace(word, stem.clone());
        self.stems.insert(original, stem);
    }
}

impl Clone for StemCache {
    /// A clone starts empty: the cache is only a shortcut, and copying a warm one would cost
    /// more than refilling it.
    fn clone(&self) -> StemCache {
        StemCache::new(self.capacity)
    }
}

// tantivy's analyzers and tokens have no `Debug`; these say what the value is for.
impl<F> std::fmt::Debug for FastAscii<F> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("FastAscii")
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl<F> std::fmt::Debug for FastAsciiStream<'_, F> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FastAsciiStream::Ascii { cursor, .. } => formatter
                .debug_struct("FastAsciiStream::Ascii")
                .field("cursor", cursor)
                .finish_non_exhaustive(),
            FastAsciiStream::Other(_) => formatter.write_str("FastAsciiStream::Other"),
        }
    }
}

impl<T> std::fmt::Debug for CachedStemmerFilter<T> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("CachedStemmerFilter")
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl<T> std::fmt::Debug for CachedStemmerStream<'_, T> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("CachedStemmerStream")
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for StemCache {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("StemCache")
            .field("stems", &self.stems.len())
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every token with its position and offsets.
    fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<(usize, usize, usize, String)> {
        let mut stream = analyzer.token_stream(text);
        let mut tokens = Vec::new();
        while let Some(token) = stream.next() {
            tokens.push((
                token.position,
                token.offset_from,
                token.offset_to,
                token.text.clone(),
            ));
        }
        tokens
    }

    #[test]
    fn the_cached_analyzer_gives_the_chain_s_tokens() {
        let words = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../sentiment/src/data/english_words.txt"
        ));
        let long = format!(
            "{} {} {}",
            "a".repeat(MAX_TOKEN_BYTES - 1),
            "b".repeat(MAX_TOKEN_BYTES),
            "c".repeat(MAX_TOKEN_BYTES + 1)
        );
        let texts = [
            "Refunds REFUSED at the Café! Running, runs, ran; happily HAPPY happiness.",
            "Die Lieferung kam wieder viel zu spät — naïve façade, Ærøskøbing, ﬁnance",
            "Ｇｏｏｄ job 😀 #AcmeOutage @acme_support 404s v2.0 x86_64 l33t",
            "Приложение снова не работает; 応用 が 落ちた; ٱلتَّطْبِيق",
            "",
            "   ...   ",
            long.as_str(),
        ];
        let mut reference = text_analyzer();
        // A tiny capacity makes the cache start over many times; every word is seen twice, so
        // hits and misses both occur.
        for capacity in [3, 1_000, MAX_CACHED_STEMS] {
            let mut cached = text_analyzer_caching(capacity);
            for _ in 0..2 {
                for text in texts {
                    assert_eq!(
                        tokens(&mut cached, text),
                        tokens(&mut reference, text),
                        "{text:?}"
                    );
                }
                for chunk in words.lines().collect::<Vec<_>>().chunks(37) {
                    let text = chunk.join(" ");
                    assert_eq!(tokens(&mut cached, &text), tokens(&mut reference, &text));
                    let upper = text.to_uppercase();
                    assert_eq!(tokens(&mut cached, &upper), tokens(&mut reference, &upper));
                }
            }
        }
    }

    #[test]
    fn a_cache_stays_within_its_capacity_and_clones_empty() {
        let mut cache = StemCache::new(4);
        for word in ["running", "runs", "jumped", "happily", "cats", "running"] {
            let mut buffer = word.to_string();
            cache.stem_in_place(&mut buffer);
            assert!(cache.stems.len() <= 4);
        }
        let mut word = "running".to_string();
        cache.stem_in_place(&mut word);
        assert_eq!(word, "run");
        assert!(cache.clone().stems.is_empty());
    }

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
