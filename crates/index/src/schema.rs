//! The tantivy schema of a mention, and the conversion of a [`Mention`] into a document.
//!
//! Queryable fields are named by [`earful_core::query::Field::name`], so the query language and
//! the schema cannot drift apart. Hidden fields start with `_`; no query can name them.

use std::sync::Arc;

use earful_core::query::Field as QueryField;
use earful_core::text::{presence_analyzer, register_analyzers, KEYWORD_ANALYZER, TEXT_ANALYZER};
use earful_core::Mention;
use rustc_hash::{FxHashMap, FxHashSet};
use tantivy::schema::{
    DateOptions, DateTimePrecision, Field, IndexRecordOption, NumericOptions, Schema,
    TextFieldIndexing, TextOptions, STORED,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, BoxTokenStream, LowerCaser, RawTokenizer, RemoveLongFilter,
    SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer, Token, TokenFilter, TokenStream,
    Tokenizer,
};
use tantivy::{DateTime, Index, TantivyDocument};

use crate::error::IndexError;

/// The fast-field tokenizer of `text` behind "top terms": words, lowercased, accents folded,
/// unstemmed (they are shown to people), English stop words and web noise removed.
pub(crate) const TERMS_TOKENIZER: &str = "earful_terms";
/// The fast-field tokenizer of exact fields: the value as written.
pub(crate) const RAW_TOKENIZER: &str = "raw";

/// Hidden: the id as given, case-sensitive; the upsert key.
pub(crate) const UPSERT_KEY: &str = "_id";
/// Hidden: a 64-bit hash of the id, the tie-breaker of every sort.
pub(crate) const ID_HASH: &str = "_id_hash";
/// Hidden: the names of the fields that have a value, for `exists` queries.
pub(crate) const PRESENT: &str = "_present";
/// Hidden: the whole mention as JSON.
pub(crate) const STORED_MENTION: &str = "_mention";
/// The compound sentiment score, for the "most negative" sort.
pub(crate) const COMPOUND: &str = "compound";

const STOP_WORDS: &[&str] = &[
    "a", "about", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at",
    "be", "because", "been", "before", "being", "but", "by", "can", "could", "did", "do", "does",
    "doing", "don", "for", "from", "get", "got", "had", "has", "have", "he", "her", "here", "him",
    "his", "how", "i", "if", "in", "into", "is", "it", "its", "just", "me", "more", "my", "no",
    "not", "now", "of", "on", "one", "only", "or", "our", "out", "over", "s", "she", "so", "some",
    "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "those",
    "to", "too", "up", "us", "very", "was", "we", "were", "what", "when", "where", "which", "who",
    "why", "will", "with", "would", "you", "your", "t", "http", "https", "www", "com",
];

/// Longest word of the `text` fast field, in bytes, exclusive.
const TERMS_TOKEN_LIMIT: usize = 40;

/// The analyzer of the `text` fast field (top terms): words, lowercased, folded, stop words
/// removed — [`plain_terms_analyzer`]'s tokens, with a fused pass for ASCII text.
pub(crate) fn terms_analyzer() -> TextAnalyzer {
    TextAnalyzer::from(FastAscii {
        limit: TERMS_TOKEN_LIMIT,
        finish: StopWords(Arc::new(STOP_WORDS.iter().copied().collect())),
        fallback: plain_terms_analyzer(),
        token: Token::default(),
    })
}

/// The top-terms analysis as a chain of tantivy's filters: what [`terms_analyzer`] runs on
/// text that is not all ASCII.
fn plain_terms_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(TERMS_TOKEN_LIMIT))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(StopWordFilter::remove(
            STOP_WORDS.iter().map(|word| word.to_string()),
        ))
        .build()
}

/// Longest prose word indexed, in bytes, exclusive: `earful_core::text::text_analyzer`'s
/// limit (a test holds the two analyzers together).
const PROSE_TOKEN_LIMIT: usize = 60;
/// Most words a [`StemCache`] remembers before it starts over: a few MB, bounded whatever the
/// input.
const MAX_CACHED_STEMS: usize = 50_000;

/// The analyzer the index runs on prose: exactly `earful_core::text::text_analyzer` (the
/// same tokens, positions and offsets — a test checks it word by word), but each distinct
/// word is stemmed once per analyzer instead of at every occurrence. Snowball stemming was a
/// fifth of ingest's instructions, and the words of mentions repeat (Zipf).
pub(crate) fn prose_analyzer() -> TextAnalyzer {
    prose_analyzer_caching(MAX_CACHED_STEMS)
}

fn prose_analyzer_caching(capacity: usize) -> TextAnalyzer {
    TextAnalyzer::from(FastAscii {
        limit: PROSE_TOKEN_LIMIT,
        finish: StemCache::new(capacity),
        fallback: TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(PROSE_TOKEN_LIMIT))
            .filter(LowerCaser)
            .filter(AsciiFoldingFilter)
            .filter(CachedStemmer { capacity })
            .build(),
        token: Token::default(),
    })
}

/// What the fused ASCII pass does with a word once it is split off and lowercased: rewrite it
/// in place, and say whether it is kept.
pub(crate) trait FinishWord: Clone + Send + Sync + 'static {
    /// Finishes `word`; `false` drops it (its position stays taken, as tantivy's filters do).
    fn finish(&mut self, word: &mut String) -> bool;
}

impl FinishWord for StemCache {
    fn finish(&mut self, word: &mut String) -> bool {
        self.stem_in_place(word);
        true
    }
}

/// Drops English stop words.
#[derive(Clone)]
pub(crate) struct StopWords(Arc<FxHashSet<&'static str>>);

impl FinishWord for StopWords {
    fn finish(&mut self, word: &mut String) -> bool {
        !self.0.contains(word.as_str())
    }
}

/// tantivy's `SimpleTokenizer` → `RemoveLongFilter(limit)` → `LowerCaser` →
/// `AsciiFoldingFilter` → a last filter, in one pass over ASCII text (where folding changes
/// nothing and a letter or digit is one byte), and the same chain of filters (`fallback`) for
/// any other text. Each filter of a chain costs a virtual call and a pass over every token;
/// analysis was a quarter of ingest's instructions.
#[derive(Clone)]
pub(crate) struct FastAscii<F> {
    /// Words this many bytes long or longer are dropped.
    limit: usize,
    finish: F,
    fallback: TextAnalyzer,
    token: Token,
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
pub(crate) enum FastAsciiStream<'a, F> {
    /// The fused pass.
    Ascii {
        text: &'a str,
        cursor: usize,
        limit: usize,
        token: &'a mut Token,
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

/// A token filter giving what tantivy's English [`Stemmer`] gives, remembering up to
/// `capacity` stems.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CachedStemmer {
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
pub(crate) struct CachedStemmerFilter<T> {
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
pub(crate) struct CachedStemmerStream<'a, T> {
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
pub(crate) struct StemCache {
    stems: FxHashMap<String, String>,
    capacity: usize,
    /// tantivy's own stemmer over the whole word, for words not seen yet, so a cached stem
    /// is always the one the query side computes.
    stemmer: TextAnalyzer,
}

impl StemCache {
    pub(crate) fn new(capacity: usize) -> StemCache {
        StemCache {
            stems: FxHashMap::default(),
            capacity,
            stemmer: TextAnalyzer::builder(RawTokenizer::default())
                .filter(Stemmer::default())
                .build(),
        }
    }

    /// Replaces a (lowercased, folded) word by its stem, reusing the word's buffer.
    fn stem_in_place(&mut self, word: &mut String) {
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

/// Handles on every field of the schema.
#[derive(Clone, Debug)]
pub(crate) struct MentionFields {
    pub title: Field,
    pub text: Field,
    pub id: Field,
    pub author: Field,
    pub source: Field,
    pub feed: Field,
    pub lang: Field,
    pub label: Field,
    pub watch: Field,
    pub parent: Field,
    pub rating: Field,
    pub engagement: Field,
    pub author_reach: Field,
    pub published_at: Field,
    pub upsert_key: Field,
    pub id_hash: Field,
    pub present: Field,
    pub compound: Field,
    pub stored: Field,
}

impl MentionFields {
    /// The tantivy field a query field maps to.
    pub fn of(&self, field: QueryField) -> Field {
        match field {
            QueryField::Title => self.title,
            QueryField::Text => self.text,
            QueryField::Id => self.id,
            QueryField::Author => self.author,
            QueryField::Source => self.source,
            QueryField::Feed => self.feed,
            QueryField::Lang => self.lang,
            QueryField::Label => self.label,
            QueryField::Watch => self.watch,
            QueryField::Parent => self.parent,
            QueryField::Rating => self.rating,
            QueryField::Engagement => self.engagement,
            QueryField::AuthorReach => self.author_reach,
            QueryField::PublishedAt => self.published_at,
        }
    }

    /// Finds the fields in a schema (an index opened from disk).
    pub fn from_schema(schema: &Schema) -> Result<MentionFields, String> {
        let get = |name: &str| {
            schema
                .get_field(name)
                .map_err(|_| format!("field `{name}` is missing"))
        };
        Ok(MentionFields {
            title: get(QueryField::Title.name())?,
            text: get(QueryField::Text.name())?,
            id: get(QueryField::Id.name())?,
            author: get(QueryField::Author.name())?,
            source: get(QueryField::Source.name())?,
            feed: get(QueryField::Feed.name())?,
            lang: get(QueryField::Lang.name())?,
            label: get(QueryField::Label.name())?,
            watch: get(QueryField::Watch.name())?,
            parent: get(QueryField::Parent.name())?,
            rating: get(QueryField::Rating.name())?,
            engagement: get(QueryField::Engagement.name())?,
            author_reach: get(QueryField::AuthorReach.name())?,
            published_at: get(QueryField::PublishedAt.name())?,
            upsert_key: get(UPSERT_KEY)?,
            id_hash: get(ID_HASH)?,
            present: get(PRESENT)?,
            compound: get(COMPOUND)?,
            stored: get(STORED_MENTION)?,
        })
    }
}

/// Builds the schema.
pub(crate) fn build_schema() -> Schema {
    let mut builder = Schema::builder();
    let prose = |fast: Option<&str>| {
        let options = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TEXT_ANALYZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        match fast {
            Some(tokenizer) => options.set_fast(tokenizer),
            None => options,
        }
    };
    let keyword = |fast: bool| {
        let options = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(KEYWORD_ANALYZER)
                .set_index_option(IndexRecordOption::Basic)
                .set_fieldnorms(false),
        );
        if fast {
            options.set_fast(RAW_TOKENIZER)
        } else {
            options
        }
    };
    let hidden_key = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(RAW_TOKENIZER)
            .set_index_option(IndexRecordOption::Basic)
            .set_fieldnorms(false),
    );
    let number = NumericOptions::default().set_indexed().set_fast();
    builder.add_text_field(QueryField::Title.name(), prose(None));
    builder.add_text_field(QueryField::Text.name(), prose(Some(TERMS_TOKENIZER)));
    builder.add_text_field(QueryField::Id.name(), keyword(false));
    builder.add_text_field(QueryField::Author.name(), keyword(true));
    builder.add_text_field(QueryField::Source.name(), keyword(true));
    builder.add_text_field(QueryField::Feed.name(), keyword(true));
    builder.add_text_field(QueryField::Lang.name(), keyword(true));
    builder.add_text_field(QueryField::Label.name(), keyword(true));
    builder.add_text_field(QueryField::Watch.name(), keyword(true));
    builder.add_text_field(QueryField::Parent.name(), keyword(false));
    builder.add_u64_field(QueryField::Rating.name(), number.clone());
    builder.add_u64_field(QueryField::Engagement.name(), number.clone());
    builder.add_u64_field(QueryField::AuthorReach.name(), number);
    builder.add_date_field(
        QueryField::PublishedAt.name(),
        DateOptions::default()
            .set_indexed()
            .set_fast()
            .set_precision(DateTimePrecision::Nanoseconds),
    );
    builder.add_text_field(UPSERT_KEY, hidden_key.clone());
    builder.add_u64_field(ID_HASH, NumericOptions::default().set_fast());
    builder.add_text_field(PRESENT, hidden_key);
    builder.add_f64_field(COMPOUND, NumericOptions::default().set_fast());
    builder.add_text_field(STORED_MENTION, STORED);
    builder.build()
}

/// Registers every analyzer the schema names, on a fresh or opened index.
pub(crate) fn register_tokenizers(index: &Index) {
    register_analyzers(index.tokenizers());
    // The same analysis as core's prose analyzer, with the stems remembered.
    index.tokenizers().register(TEXT_ANALYZER, prose_analyzer());
    register_analyzers(index.fast_field_tokenizer());
    index
        .fast_field_tokenizer()
        .register(TERMS_TOKENIZER, terms_analyzer());
    index
        .fast_field_tokenizer()
        .register(RAW_TOKENIZER, TextAnalyzer::from(RawTokenizer::default()));
    index
        .tokenizers()
        .register(RAW_TOKENIZER, TextAnalyzer::from(RawTokenizer::default()));
}

/// FNV-1a, 64 bits: stable across versions and platforms (unlike `DefaultHasher`), which
/// matters because the hash is persisted and paging cursors carry it.
pub(crate) fn id_hash(id: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in id.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// A time as tantivy stores it, to the nanosecond; times beyond ±292 years from 1970 are
/// clamped.
pub(crate) fn to_tantivy_date(at: time::OffsetDateTime) -> DateTime {
    let nanos = at.unix_timestamp_nanos();
    let clamped = i64::try_from(nanos).unwrap_or(if nanos < 0 { i64::MIN } else { i64::MAX });
    DateTime::from_timestamp_nanos(clamped)
}

/// Whether every mention has a value for this field, so `field:*` is every mention and needs
/// no `_present` entry: the publication time, and the exact fields that always have one (the
/// id, the source kind, the feed, the language and the label; the keyword analyzer yields a
/// term even for an empty value, as the watch matcher's does).
pub(crate) fn always_present(field: QueryField) -> bool {
    matches!(
        field,
        QueryField::PublishedAt
            | QueryField::Id
            | QueryField::Source
            | QueryField::Feed
            | QueryField::Lang
            | QueryField::Label
    )
}

/// Turns mentions into documents, reusing one analyzer for the presence checks and one buffer
/// for the stored JSON.
pub(crate) struct DocumentBuilder {
    fields: MentionFields,
    /// Tokenizes like the prose analyzer but does not stem: presence only needs one token.
    presence: TextAnalyzer,
    /// The stored mention's JSON, serialized here and copied into the document.
    json: Vec<u8>,
}

impl DocumentBuilder {
    pub fn new(fields: MentionFields) -> DocumentBuilder {
        DocumentBuilder {
            fields,
            presence: presence_analyzer(),
            json: Vec::with_capacity(1024),
        }
    }

    /// Builds the document of a mention.
    pub fn build(&mut self, mention: &Mention) -> Result<TantivyDocument, IndexError> {
        let DocumentBuilder {
            fields,
            presence,
            json,
        } = self;
        let mut document = TantivyDocument::default();
        // `_present` follows the watch matcher exactly: prose counts when it has terms after
        // analysis (the tokenizer and the length filter decide that; lowercasing, folding and
        // stemming never drop a token), optional exact fields and numbers when they have a
        // value. Fields every mention has are left out (see `always_present`).
        let mut present = |field: QueryField| document.add_text(fields.present, field.name());
        let mut has_terms = |prose: &str| presence.token_stream(prose).advance();
        let title_present = mention.title.as_deref().is_some_and(&mut has_terms);
        let text_present = has_terms(&mention.text);
        if title_present {
            present(QueryField::Title);
        }
        if text_present {
            present(QueryField::Text);
        }
        if mention.author.is_some() {
            present(QueryField::Author);
        }
        if mention.parent.is_some() {
            present(QueryField::Parent);
        }
        if !mention.watches.is_empty() {
            present(QueryField::Watch);
        }
        let numbers = [
            (
                fields.rating,
                QueryField::Rating,
                mention.rating.map(u64::from),
            ),
            (
                fields.engagement,
                QueryField::Engagement,
                mention.engagement,
            ),
            (
                fields.author_reach,
                QueryField::AuthorReach,
                mention.author_reach,
            ),
        ];
        for (_, query_field, value) in numbers {
            if value.is_some() {
                present(query_field);
            }
        }
        if let Some(title) = &mention.title {
            document.add_text(fields.title, title);
        }
        document.add_text(fields.text, &mention.text);
        document.add_text(fields.id, &mention.id);
        document.add_text(fields.source, &mention.source);
        document.add_text(fields.feed, &mention.feed);
        document.add_text(fields.lang, &mention.lang);
        document.add_text(fields.label, mention.sentiment.label.as_str());
        if let Some(author) = &mention.author {
            document.add_text(fields.author, author);
        }
        if let Some(parent) = &mention.parent {
            document.add_text(fields.parent, parent);
        }
        for watch in &mention.watches {
            document.add_text(fields.watch, watch);
        }
        for (field, _, value) in numbers {
            if let Some(value) = value {
                document.add_u64(field, value);
            }
        }
        document.add_date(fields.published_at, to_tantivy_date(mention.published_at));
        document.add_text(fields.upsert_key, &mention.id);
        document.add_u64(fields.id_hash, id_hash(&mention.id));
        if let Some(compound) = mention.sentiment.compound {
            document.add_f64(fields.compound, compound);
        }
        json.clear();
        serde_json::to_writer(&mut *json, mention)
            .map_err(|error| IndexError::CorruptDocument(error.to_string()))?;
        let stored = std::str::from_utf8(json)
            .map_err(|error| IndexError::CorruptDocument(error.to_string()))?;
        document.add_text(fields.stored, stored);
        Ok(document)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use earful_core::text::text_analyzer;

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
    fn the_caching_prose_analyzer_gives_core_s_tokens() {
        let words = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../sentiment/src/data/english_words.txt"
        ));
        let long = format!(
            "{} {} {}",
            "a".repeat(PROSE_TOKEN_LIMIT - 1),
            "b".repeat(PROSE_TOKEN_LIMIT),
            "c".repeat(PROSE_TOKEN_LIMIT + 1)
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
            let mut cached = prose_analyzer_caching(capacity);
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
    fn the_fused_terms_analyzer_gives_the_chain_s_tokens() {
        let words = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../sentiment/src/data/english_words.txt"
        ));
        let long = format!(
            "{} {} {} the",
            "a".repeat(TERMS_TOKEN_LIMIT - 1),
            "b".repeat(TERMS_TOKEN_LIMIT),
            "c".repeat(TERMS_TOKEN_LIMIT + 1)
        );
        let texts = [
            "The refund; THE outage, and https://www.acme.com/x?y=1 — don't you know it's 4 AM",
            "Café au lait, naïve façade: Ｇｏｏｄ job 😀 the #AcmeOutage",
            "Приложение снова не работает",
            "",
            " ,;- ",
            long.as_str(),
        ];
        let mut fused = terms_analyzer();
        let mut chain = plain_terms_analyzer();
        for text in texts {
            assert_eq!(
                tokens(&mut fused, text),
                tokens(&mut chain, text),
                "{text:?}"
            );
        }
        for chunk in words.lines().collect::<Vec<_>>().chunks(41) {
            let text = chunk.join(", the ");
            assert_eq!(tokens(&mut fused, &text), tokens(&mut chain, &text));
            let upper = text.to_uppercase();
            assert_eq!(tokens(&mut fused, &upper), tokens(&mut chain, &upper));
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
}
