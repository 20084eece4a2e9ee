//! The tantivy schema of a mention, and the conversion of a [`Mention`] into a document.
//!
//! Queryable fields are named by [`earful_core::query::Field::name`], so the query language and
//! the schema cannot drift apart. Hidden fields start with `_`; no query can name them.

use std::sync::Arc;

use earful_core::query::Field as QueryField;
use earful_core::text::{
    cached_text_analyzer, presence_analyzer, register_analyzers, FastAscii, FinishWord,
    KEYWORD_ANALYZER, TEXT_ANALYZER,
};
use earful_core::Mention;
use rustc_hash::FxHashSet;
use tantivy::schema::{
    DateOptions, DateTimePrecision, Field, IndexRecordOption, NumericOptions, Schema,
    TextFieldIndexing, TextOptions, STORED,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RawTokenizer, RemoveLongFilter, SimpleTokenizer,
    StopWordFilter, TextAnalyzer,
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
    TextAnalyzer::from(FastAscii::new(
        TERMS_TOKEN_LIMIT,
        StopWords(Arc::new(STOP_WORDS.iter().copied().collect())),
        plain_terms_analyzer(),
    ))
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

/// Drops English stop words.
#[derive(Clone)]
pub(crate) struct StopWords(Arc<FxHashSet<&'static str>>);

impl FinishWord for StopWords {
    fn finish(&mut self, word: &mut String) -> bool {
        !self.0.contains(word.as_str())
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
    // The same analysis as core's prose analyzer, with the stems remembered (core's cache,
    // the one the watch matcher uses too).
    index
        .tokenizers()
        .register(TEXT_ANALYZER, cached_text_analyzer());
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
    use tantivy::tokenizer::TokenStream;

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
}
