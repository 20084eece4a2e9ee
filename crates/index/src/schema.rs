//! The tantivy schema of a mention, and the conversion of a [`Mention`] into a document.
//!
//! Queryable fields are named by [`earful_core::query::Field::name`], so the query language and
//! the schema cannot drift apart. Hidden fields start with `_`; no query can name them.

use earful_core::query::Field as QueryField;
use earful_core::text::{presence_analyzer, register_analyzers, KEYWORD_ANALYZER, TEXT_ANALYZER};
use earful_core::Mention;
use tantivy::schema::{
    DateOptions, DateTimePrecision, Field, IndexRecordOption, NumericOptions, Schema,
    TextFieldIndexing, TextOptions, STORED,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RawTokenizer, RemoveLongFilter, SimpleTokenizer,
    StopWordFilter, TextAnalyzer, TokenStream,
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

/// The analyzer of the `text` fast field (top terms).
pub(crate) fn terms_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(StopWordFilter::remove(
            STOP_WORDS.iter().map(|word| word.to_string()),
        ))
        .build()
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

/// Turns mentions into documents, reusing one analyzer for the presence checks.
pub(crate) struct DocumentBuilder {
    fields: MentionFields,
    /// Tokenizes like the prose analyzer but does not stem: presence only needs one token.
    presence: TextAnalyzer,
}

impl DocumentBuilder {
    pub fn new(fields: MentionFields) -> DocumentBuilder {
        DocumentBuilder {
            fields,
            presence: presence_analyzer(),
        }
    }

    /// Whether prose has at least one term after analysis (what `exists` means for prose in
    /// the watch matcher).
    fn has_terms(&mut self, prose: &str) -> bool {
        self.presence.token_stream(prose).advance()
    }

    /// Builds the document of a mention.
    pub fn build(&mut self, mention: &Mention) -> Result<TantivyDocument, IndexError> {
        let fields = self.fields.clone();
        let mut document = TantivyDocument::default();
        let mut present: Vec<&'static str> = vec![QueryField::PublishedAt.name()];
        // Presence follows the watch matcher exactly: prose counts when it has terms after
        // analysis, exact fields whenever they have a value (the keyword analyzer always
        // yields one term).
        if let Some(title) = &mention.title {
            document.add_text(fields.title, title);
            if self.has_terms(title) {
                present.push(QueryField::Title.name());
            }
        }
        document.add_text(fields.text, &mention.text);
        if self.has_terms(&mention.text) {
            present.push(QueryField::Text.name());
        }
        let mut keywords: Vec<(Field, QueryField, &str)> = vec![
            (fields.id, QueryField::Id, &mention.id),
            (fields.source, QueryField::Source, &mention.source),
            (fields.feed, QueryField::Feed, &mention.feed),
            (fields.lang, QueryField::Lang, &mention.lang),
            (
                fields.label,
                QueryField::Label,
                mention.sentiment.label.as_str(),
            ),
        ];
        if let Some(author) = &mention.author {
            keywords.push((fields.author, QueryField::Author, author));
        }
        if let Some(parent) = &mention.parent {
            keywords.push((fields.parent, QueryField::Parent, parent));
        }
        for watch in &mention.watches {
            keywords.push((fields.watch, QueryField::Watch, watch));
        }
        for (field, query_field, value) in keywords {
            document.add_text(field, value);
            if !present.contains(&query_field.name()) {
                present.push(query_field.name());
            }
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
        for (field, query_field, value) in numbers {
            if let Some(value) = value {
                document.add_u64(field, value);
                present.push(query_field.name());
            }
        }
        document.add_date(fields.published_at, to_tantivy_date(mention.published_at));
        for name in present {
            document.add_text(fields.present, name);
        }
        document.add_text(fields.upsert_key, &mention.id);
        document.add_u64(fields.id_hash, id_hash(&mention.id));
        if let Some(compound) = mention.sentiment.compound {
            document.add_f64(fields.compound, compound);
        }
        let json = serde_json::to_string(mention)
            .map_err(|error| IndexError::CorruptDocument(error.to_string()))?;
        document.add_text(fields.stored, json);
        Ok(document)
    }
}
