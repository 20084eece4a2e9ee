//! The query language of watches and search: `"acme corp" OR acme -"acme acres"`.
//!
//! The syntax is tantivy's query grammar (phrases, `AND`/`OR`/`NOT`, `-exclusion`,
//! parentheses, `field:value`, ranges such as `rating:[1 TO 2]` and `engagement:>10`, sets
//! `lang: IN [en de]`, `*`), parsed once by `tantivy-query-grammar` and compiled here into a
//! [`MentionQuery`] whose terms are already analyzed. Words side by side must all match
//! (`acme refund` means both), as in a web search engine.
//!
//! The same compiled query decides whether one mention matches ([`MentionQuery::matches`],
//! used to tag watches) and becomes the tantivy query that searches the index (in
//! `earful-index`), so a watch tags exactly what its query finds in search.

use std::collections::BTreeMap;

use tantivy::tokenizer::{TextAnalyzer, TokenStream};
use tantivy_query_grammar::{Occur, UserInputAst, UserInputBound, UserInputLeaf};
use time::OffsetDateTime;

use crate::mention::Mention;
use crate::text::{
    analyze, analyze_with_positions, cached_text_analyzer, keyword_analyzer, text_analyzer,
    MAX_TOKEN_BYTES,
};

/// The fields a query can name, and how each is matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    /// Prose, analyzed with stemming.
    Title,
    /// Prose, analyzed with stemming.
    Text,
    /// Exact, case-insensitive.
    Id,
    /// Exact, case-insensitive.
    Author,
    /// Exact, case-insensitive.
    Source,
    /// Exact, case-insensitive.
    Feed,
    /// Exact, case-insensitive.
    Lang,
    /// Exact, case-insensitive.
    Label,
    /// Exact, case-insensitive: the watch names a mention was tagged with.
    Watch,
    /// Exact, case-insensitive.
    Parent,
    /// Number.
    Rating,
    /// Number.
    Engagement,
    /// Number.
    AuthorReach,
    /// Time.
    PublishedAt,
}

/// What kind of values a field holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// Analyzed prose.
    Prose,
    /// A whole value.
    Keyword,
    /// An unsigned number.
    Number,
    /// A timestamp.
    Time,
}

impl Field {
    /// Every field, in schema order.
    pub const ALL: [Field; 14] = [
        Field::Title,
        Field::Text,
        Field::Id,
        Field::Author,
        Field::Source,
        Field::Feed,
        Field::Lang,
        Field::Label,
        Field::Watch,
        Field::Parent,
        Field::Rating,
        Field::Engagement,
        Field::AuthorReach,
        Field::PublishedAt,
    ];

    /// The name used in queries and in the index schema.
    pub fn name(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Text => "text",
            Field::Id => "id",
            Field::Author => "author",
            Field::Source => "source",
            Field::Feed => "feed",
            Field::Lang => "lang",
            Field::Label => "label",
            Field::Watch => "watch",
            Field::Parent => "parent",
            Field::Rating => "rating",
            Field::Engagement => "engagement",
            Field::AuthorReach => "author_reach",
            Field::PublishedAt => "published_at",
        }
    }

    /// Finds a field by the name a user typed; `reach` and `watches` are accepted too.
    pub fn from_name(name: &str) -> Option<Field> {
        match name {
            "reach" => Some(Field::AuthorReach),
            "watches" => Some(Field::Watch),
            "published" | "time" => Some(Field::PublishedAt),
            _ => Field::ALL.into_iter().find(|field| field.name() == name),
        }
    }

    /// How the field's values are matched.
    pub fn kind(self) -> FieldKind {
        match self {
            Field::Title | Field::Text => FieldKind::Prose,
            Field::Rating | Field::Engagement | Field::AuthorReach => FieldKind::Number,
            Field::PublishedAt => FieldKind::Time,
            _ => FieldKind::Keyword,
        }
    }
}

/// A query that could not be compiled, with the byte offset in the query where it went wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("query `{query}`, at character {column}: {message}")]
pub struct QueryError {
    /// The query as given.
    pub query: String,
    /// Byte offset of the problem.
    pub offset: usize,
    /// 1-based character column of the problem, for people.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// A compiled query node. Terms are analyzed already, ready for the index.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// Matches every mention (`*`).
    All,
    /// Matches nothing (a query with no terms left after analysis).
    Nothing,
    /// A boolean combination with tantivy's semantics: every `must`, no `must_not`, and at
    /// least one `should` when there is no `must`. A clause of only `must_not` matches nothing.
    Bool {
        /// All of these.
        must: Vec<Node>,
        /// At least one of these, when `must` is empty.
        should: Vec<Node>,
        /// None of these.
        must_not: Vec<Node>,
    },
    /// Consecutive terms in one prose field (one term: that term anywhere). With `prefix`, the
    /// last term matches any word it starts.
    Phrase {
        /// Title or text.
        field: Field,
        /// Analyzed terms, in order.
        terms: Vec<String>,
        /// How many positions the terms may drift apart in total.
        slop: u32,
        /// Whether the last term is a prefix.
        prefix: bool,
    },
    /// A whole value of an exact field, lowercased.
    Keyword {
        /// The field.
        field: Field,
        /// The lowercased value.
        value: String,
    },
    /// A number range, inclusive on both ends (exclusive bounds are turned inclusive).
    NumberRange {
        /// The field.
        field: Field,
        /// Least value.
        lower: u64,
        /// Greatest value.
        upper: u64,
    },
    /// A time range, `[lower, upper)`.
    TimeRange {
        /// From, inclusive.
        lower: Option<OffsetDateTime>,
        /// Until, exclusive.
        upper: Option<OffsetDateTime>,
    },
    /// The field has a value.
    Exists {
        /// The field.
        field: Field,
    },
}

/// A parsed, compiled query over mentions.
#[derive(Clone, Debug, PartialEq)]
pub struct MentionQuery {
    text: String,
    root: Node,
}

impl MentionQuery {
    /// Parses and compiles a query; an error says where and why.
    pub fn parse(query: &str) -> Result<MentionQuery, QueryError> {
        let error_at = |offset: usize, message: String| {
            let offset = offset.min(query.len());
            let column = query[..offset].chars().count() + 1;
            QueryError {
                query: query.to_string(),
                offset,
                column,
                message,
            }
        };
        if query.trim().is_empty() {
            return Ok(MentionQuery {
                text: query.to_string(),
                root: Node::All,
            });
        }
        let (ast, errors) = tantivy_query_grammar::parse_query_lenient(query);
        if let Some(first) = errors.into_iter().next() {
            return Err(error_at(first.pos, first.message.to_lowercase()));
        }
        let mut compiler = Compiler {
            text: text_analyzer(),
            keyword: keyword_analyzer(),
        };
        let root = compiler.compile(&ast).map_err(|(needle, message)| {
            let offset = needle
                .and_then(|needle| query.find(needle.as_str()))
                .unwrap_or(0);
            error_at(offset, message)
        })?;
        if is_all_negative(&ast) {
            return Err(error_at(
                0,
                "a query needs at least one term to include, not only exclusions".into(),
            ));
        }
        Ok(MentionQuery {
            text: query.to_string(),
            root: root.unwrap_or(Node::Nothing),
        })
    }

    /// The query as it was typed.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The compiled query.
    pub fn root(&self) -> &Node {
        &self.root
    }

    /// The words and phrases a remote search should ask for to find what this query may
    /// match: every positive prose term as typed (not stemmed), none that is excluded, no
    /// field filters. `(text, is_phrase)`, in query order, without repeats.
    pub fn search_terms(&self) -> Vec<(String, bool)> {
        let (ast, _) = tantivy_query_grammar::parse_query_lenient(&self.text);
        let mut terms = Vec::new();
        collect_search_terms(&ast, &mut terms);
        terms
    }

    /// Whether the query matches the mention.
    pub fn matches(&self, target: &MatchTarget) -> bool {
        target.matches(&self.root)
    }
}

fn collect_search_terms(ast: &UserInputAst, terms: &mut Vec<(String, bool)>) {
    match ast {
        UserInputAst::Clause(clauses) => {
            for (occur, child) in clauses {
                if *occur != Some(Occur::MustNot) {
                    collect_search_terms(child, terms);
                }
            }
        }
        UserInputAst::Boost(inner, _) => collect_search_terms(inner, terms),
        UserInputAst::Leaf(leaf) => {
            let tantivy_query_grammar::UserInputLeaf::Literal(literal) = leaf.as_ref() else {
                return;
            };
            let prose_field = literal
                .field_name
                .as_deref()
                .is_none_or(|field| field == "title" || field == "text");
            let text = literal.phrase.trim();
            if !prose_field || text.is_empty() {
                return;
            }
            let phrase = literal.delimiter != tantivy_query_grammar::Delimiter::None
                && text.contains(char::is_whitespace);
            let term = (text.to_string(), phrase);
            if !terms.contains(&term) {
                terms.push(term);
            }
        }
    }
}

fn is_all_negative(ast: &UserInputAst) -> bool {
    match ast {
        UserInputAst::Clause(clauses) => {
            !clauses.is_empty()
                && clauses
                    .iter()
                    .all(|(occur, child)| *occur == Some(Occur::MustNot) || is_all_negative(child))
        }
        UserInputAst::Boost(inner, _) => is_all_negative(inner),
        UserInputAst::Leaf(_) => false,
    }
}

/// A compile error: an optional piece of the query to point at, and the message.
type CompileError = (Option<String>, String);

struct Compiler {
    text: TextAnalyzer,
    keyword: TextAnalyzer,
}

impl Compiler {
    /// Compiles a node; `None` when it analyzed away to nothing (tantivy drops such clauses).
    fn compile(&mut self, ast: &UserInputAst) -> Result<Option<Node>, CompileError> {
        match ast {
            UserInputAst::Boost(inner, _) => self.compile(inner),
            UserInputAst::Leaf(leaf) => self.compile_leaf(leaf),
            UserInputAst::Clause(clauses) => {
                let mut must = Vec::new();
                let mut should = Vec::new();
                let mut must_not = Vec::new();
                for (occur, child) in clauses {
                    let Some(node) = self.compile(child)? else {
                        continue;
                    };
                    match occur.unwrap_or(Occur::Must) {
                        Occur::Must => must.push(node),
                        Occur::Should => should.push(node),
                        Occur::MustNot => must_not.push(node),
                    }
                }
                if must.is_empty() && should.is_empty() && must_not.is_empty() {
                    return Ok(None);
                }
                if must_not.is_empty() && must.len() + should.len() == 1 {
                    return Ok(must.pop().or_else(|| should.pop()));
                }
                Ok(Some(Node::Bool {
                    must,
                    should,
                    must_not,
                }))
            }
        }
    }

    fn field(&self, name: Option<&String>) -> Result<Option<Field>, CompileError> {
        let Some(name) = name else { return Ok(None) };
        Field::from_name(name).map(Some).ok_or_else(|| {
            let known: Vec<&str> = Field::ALL.iter().map(|field| field.name()).collect();
            (
                Some(format!("{name}:")),
                format!("unknown field `{name}`; fields are {}", known.join(", ")),
            )
        })
    }

    fn compile_leaf(&mut self, leaf: &UserInputLeaf) -> Result<Option<Node>, CompileError> {
        match leaf {
            UserInputLeaf::All => Ok(Some(Node::All)),
            UserInputLeaf::Literal(literal) => {
                let field = self.field(literal.field_name.as_ref())?;
                self.compile_value(field, &literal.phrase, literal.slop, literal.prefix)
            }
            UserInputLeaf::Set { field, elements } => {
                let field = self.field(field.as_ref())?;
                let mut should = Vec::new();
                for element in elements {
                    if let Some(node) = self.compile_value(field, element, 0, false)? {
                        should.push(node);
                    }
                }
                Ok(Some(Node::Bool {
                    must: Vec::new(),
                    should,
                    must_not: Vec::new(),
                }))
            }
            UserInputLeaf::Exists { field } => {
                let field = self
                    .field(Some(field))?
                    .ok_or((None, "`exists` needs a field".to_string()))?;
                Ok(Some(Node::Exists { field }))
            }
            UserInputLeaf::Range {
                field,
                lower,
                upper,
            } => {
                let Some(field) = self.field(field.as_ref())? else {
                    return Err((None, "a range needs a field, like `rating:[1 TO 2]`".into()));
                };
                self.compile_range(field, lower, upper)
            }
            UserInputLeaf::Regex { field, pattern } => Err((
                Some(format!("/{pattern}/")),
                format!(
                    "regular expressions are not supported{}",
                    field
                        .as_ref()
                        .map(|field| format!(" (field `{field}`)"))
                        .unwrap_or_default()
                ),
            )),
        }
    }

    fn compile_value(
        &mut self,
        field: Option<Field>,
        value: &str,
        slop: u32,
        prefix: bool,
    ) -> Result<Option<Node>, CompileError> {
        let Some(field) = field else {
            // No field: title or text.
            let title = self.compile_value(Some(Field::Title), value, slop, prefix)?;
            let text = self.compile_value(Some(Field::Text), value, slop, prefix)?;
            return Ok(match (title, text) {
                (Some(title), Some(text)) => Some(Node::Bool {
                    must: Vec::new(),
                    should: vec![title, text],
                    must_not: Vec::new(),
                }),
                (one, other) => one.or(other),
            });
        };
        match field.kind() {
            FieldKind::Prose => {
                let terms = analyze(&mut self.text, value);
                if terms.is_empty() {
                    return Ok(None);
                }
                Ok(Some(Node::Phrase {
                    field,
                    terms,
                    slop,
                    prefix,
                }))
            }
            FieldKind::Keyword => {
                let value = analyze(&mut self.keyword, value)
                    .into_iter()
                    .next()
                    .unwrap_or_default();
                if prefix {
                    return Err((
                        Some(format!("{}:", field.name())),
                        format!(
                            "field `{}` takes whole values; `*` is not supported there",
                            field.name()
                        ),
                    ));
                }
                Ok(Some(Node::Keyword { field, value }))
            }
            FieldKind::Number => {
                let number = parse_number(field, value)?;
                Ok(Some(Node::NumberRange {
                    field,
                    lower: number,
                    upper: number,
                }))
            }
            FieldKind::Time => {
                let at = crate::time::parse_timestamp(value)
                    .map_err(|error| (Some(value.to_string()), error.to_string()))?;
                let next = at + time::Duration::nanoseconds(1);
                Ok(Some(Node::TimeRange {
                    lower: Some(at),
                    upper: Some(next),
                }))
            }
        }
    }

    fn compile_range(
        &mut self,
        field: Field,
        lower: &UserInputBound,
        upper: &UserInputBound,
    ) -> Result<Option<Node>, CompileError> {
        match field.kind() {
            FieldKind::Number => {
                let lower = match lower {
                    UserInputBound::Inclusive(raw) => parse_number(field, raw)?,
                    UserInputBound::Exclusive(raw) => parse_number(field, raw)?.saturating_add(1),
                    UserInputBound::Unbounded => 0,
                };
                let upper = match upper {
                    UserInputBound::Inclusive(raw) => parse_number(field, raw)?,
                    UserInputBound::Exclusive(raw) => {
                        match parse_number(field, raw)?.checked_sub(1) {
                            Some(upper) => upper,
                            None => return Ok(Some(Node::Nothing)),
                        }
                    }
                    UserInputBound::Unbounded => u64::MAX,
                };
                Ok(Some(Node::NumberRange {
                    field,
                    lower,
                    upper,
                }))
            }
            FieldKind::Time => {
                let parse = |raw: &str| {
                    crate::time::parse_time_bound(raw, OffsetDateTime::now_utc())
                        .map_err(|error| (Some(raw.to_string()), error.to_string()))
                };
                let one_nanosecond = time::Duration::nanoseconds(1);
                let lower = match lower {
                    UserInputBound::Inclusive(raw) => Some(parse(raw)?),
                    UserInputBound::Exclusive(raw) => Some(parse(raw)? + one_nanosecond),
                    UserInputBound::Unbounded => None,
                };
                let upper = match upper {
                    UserInputBound::Inclusive(raw) => Some(parse(raw)? + one_nanosecond),
                    UserInputBound::Exclusive(raw) => Some(parse(raw)?),
                    UserInputBound::Unbounded => None,
                };
                Ok(Some(Node::TimeRange { lower, upper }))
            }
            FieldKind::Prose | FieldKind::Keyword => Err((
                Some(format!("{}:", field.name())),
                format!(
                    "field `{}` does not take ranges; numbers and times do",
                    field.name()
                ),
            )),
        }
    }
}

fn parse_number(field: Field, raw: &str) -> Result<u64, CompileError> {
    raw.trim().parse::<u64>().map_err(|_| {
        (
            Some(raw.to_string()),
            format!("field `{}` takes whole numbers, not `{raw}`", field.name()),
        )
    })
}

thread_local! {
    /// The analyzers the matcher runs, built once per thread instead of per mention. The prose
    /// one remembers stems ([`cached_text_analyzer`]: the same tokens as [`text_analyzer`],
    /// at most `MAX_CACHED_STEMS` words per thread), since the words of mentions repeat.
    static MATCH_ANALYZERS: std::cell::RefCell<(TextAnalyzer, TextAnalyzer)> =
        std::cell::RefCell::new((cached_text_analyzer(), keyword_analyzer()));
}

/// A mention prepared for matching: its prose analyzed once, its exact fields lowercased.
/// Build one per mention and test every watch against it.
#[derive(Clone, Debug, Default)]
pub struct MatchTarget {
    title: Vec<(usize, String)>,
    text: Vec<(usize, String)>,
    /// Whether the title and the text have any term after analysis (`exists`), kept apart
    /// because a target built for some terms only ([`MatchTarget::for_terms`]) holds no others.
    title_has_terms: bool,
    text_has_terms: bool,
    keywords: BTreeMap<Field, Vec<String>>,
    numbers: BTreeMap<Field, u64>,
    published_at: Option<OffsetDateTime>,
}

impl MatchTarget {
    /// Prepares a mention.
    pub fn new(mention: &Mention) -> MatchTarget {
        MATCH_ANALYZERS.with(|analyzers| {
            let (prose, keyword) = &mut *analyzers.borrow_mut();
            MatchTarget::analyzed(mention, prose, keyword)
        })
    }

    fn analyzed(
        mention: &Mention,
        prose: &mut TextAnalyzer,
        keyword: &mut TextAnalyzer,
    ) -> MatchTarget {
        let (keywords, numbers) = MatchTarget::exact_fields(mention, keyword);
        let title = mention
            .title
            .as_deref()
            .map(|title| analyze_with_positions(prose, title))
            .unwrap_or_default();
        let text = analyze_with_positions(prose, &mention.text);
        MatchTarget {
            title_has_terms: !title.is_empty(),
            text_has_terms: !text.is_empty(),
            title,
            text,
            keywords,
            numbers,
            published_at: Some(mention.published_at),
        }
    }

    /// The exact fields, lowercased, and the numbers.
    #[allow(clippy::type_complexity)] // two maps, named by the fields of `MatchTarget`
    fn exact_fields(
        mention: &Mention,
        keyword: &mut TextAnalyzer,
    ) -> (BTreeMap<Field, Vec<String>>, BTreeMap<Field, u64>) {
        let mut keywords: BTreeMap<Field, Vec<String>> = BTreeMap::new();
        let mut add = |field: Field, value: &str| {
            if let Some(term) = analyze(keyword, value).into_iter().next() {
                keywords.entry(field).or_default().push(term);
            }
        };
        add(Field::Id, &mention.id);
        add(Field::Source, &mention.source);
        add(Field::Feed, &mention.feed);
        add(Field::Lang, &mention.lang);
        add(Field::Label, mention.sentiment.label.as_str());
        for (field, value) in [
            (Field::Author, &mention.author),
            (Field::Parent, &mention.parent),
        ] {
            if let Some(value) = value {
                add(field, value);
            }
        }
        for watch in &mention.watches {
            add(Field::Watch, watch);
        }
        let mut numbers = BTreeMap::new();
        let number_fields = [
            (Field::Rating, mention.rating.map(u64::from)),
            (Field::Engagement, mention.engagement),
            (Field::AuthorReach, mention.author_reach),
        ];
        for (field, value) in number_fields {
            if let Some(value) = value {
                numbers.insert(field, value);
            }
        }
        (keywords, numbers)
    }

    /// Prepares a mention for queries whose prose terms are all in `terms` (built by
    /// [`ProseTerms::of`] over them): the same answers as [`MatchTarget::new`] for those
    /// queries, but the exact fields are only prepared when one of them names one, and ASCII
    /// prose is not analyzed word by word — only the words that could stem to one of the terms are stemmed, at their
    /// positions (a phrase only ever compares tokens with its own terms). Other text is
    /// analyzed in full.
    pub fn for_terms(mention: &Mention, terms: &ProseTerms) -> MatchTarget {
        let title_ascii = mention.title.as_deref().is_none_or(str::is_ascii);
        if !title_ascii || !mention.text.is_ascii() {
            return MatchTarget::new(mention);
        }
        MATCH_ANALYZERS.with(|analyzers| {
            let (prose, keyword) = &mut *analyzers.borrow_mut();
            let (keywords, numbers) = if terms.exact_fields {
                MatchTarget::exact_fields(mention, keyword)
            } else {
                (BTreeMap::new(), BTreeMap::new())
            };
            let mut target = MatchTarget {
                keywords,
                numbers,
                published_at: Some(mention.published_at),
                ..MatchTarget::default()
            };
            let mut sparse = |field: Field, text: &str| {
                let mut has_terms = false;
                let mut tokens = Vec::new();
                for (position, word) in ascii_words(text).enumerate() {
                    has_terms |= word.len() < MAX_TOKEN_BYTES;
                    if let Some(stem) = terms.stem_if_needed(prose, field, word) {
                        tokens.push((position, stem));
                    }
                }
                (tokens, has_terms)
            };
            if let Some(title) = &mention.title {
                (target.title, target.title_has_terms) = sparse(Field::Title, title);
            }
            (target.text, target.text_has_terms) = sparse(Field::Text, &mention.text);
            target
        })
    }

    fn prose(&self, field: Field) -> &[(usize, String)] {
        if field == Field::Title {
            &self.title
        } else {
            &self.text
        }
    }

    fn matches(&self, node: &Node) -> bool {
        match node {
            Node::All => true,
            Node::Nothing => false,
            Node::Bool {
                must,
                should,
                must_not,
            } => {
                if must.is_empty() && should.is_empty() {
                    return false;
                }
                must.iter().all(|node| self.matches(node))
                    && (!must.is_empty() || should.iter().any(|node| self.matches(node)))
                    && !must_not.iter().any(|node| self.matches(node))
            }
            Node::Phrase {
                field,
                terms,
                slop,
                prefix,
            } => phrase_matches(self.prose(*field), terms, *slop, *prefix),
            Node::Keyword { field, value } => self
                .keywords
                .get(field)
                .is_some_and(|values| values.iter().any(|v| v == value)),
            Node::NumberRange {
                field,
                lower,
                upper,
            } => self
                .numbers
                .get(field)
                .is_some_and(|value| (*lower..=*upper).contains(value)),
            Node::TimeRange { lower, upper } => self.published_at.is_some_and(|at| {
                lower.is_none_or(|lower| at >= lower) && upper.is_none_or(|upper| at < upper)
            }),
            Node::Exists { field } => match field.kind() {
                FieldKind::Prose => {
                    if *field == Field::Title {
                        self.title_has_terms
                    } else {
                        self.text_has_terms
                    }
                }
                FieldKind::Keyword => self.keywords.contains_key(field),
                FieldKind::Number => self.numbers.contains_key(field),
                FieldKind::Time => self.published_at.is_some(),
            },
        }
    }
}

/// A cheap necessary condition for a query to match a mention, checked before the mention's
/// prose is analyzed: most mentions match no watch, and stemming every word of every mention
/// for the watch matcher costs as much as indexing it.
///
/// It holds the prose terms of which the query needs at least one (`None` when the query can
/// match without any, e.g. `rating:5`). On ASCII prose it looks for a word that could stem to
/// one of them: the English stemmer only rewrites the end of a word, so a word stems to `t`
/// only if it starts with all of `t` but its last two characters (`dying` → `die`, `happy` →
/// `happi`, `hoping` → `hope`); only such candidates are stemmed. Text with non-ASCII
/// characters (accents fold, scripts differ) is always analyzed in full.
///
/// [`MatchPrefilter::may_match`] is `false` only when [`MentionQuery::matches`] is `false`
/// too: a property test and a test over 64k English words check it.
#[derive(Clone, Debug, PartialEq)]
pub struct MatchPrefilter {
    needed: Option<Vec<NeededTerm>>,
}

/// One prose term a query may need.
#[derive(Clone, Debug, PartialEq)]
struct NeededTerm {
    field: Field,
    /// The analyzed (stemmed) term.
    term: String,
    /// Whether a word matches when its stem starts with `term` (a prefix query).
    prefix: bool,
    /// What a word must start with to be able to stem to (a stem starting with) `term`.
    anchor: String,
}

impl NeededTerm {
    fn new(field: Field, term: &str, prefix: bool) -> NeededTerm {
        let keep = term.chars().count().saturating_sub(2);
        NeededTerm {
            field,
            term: term.to_string(),
            prefix,
            anchor: term.chars().take(keep).collect(),
        }
    }
}

/// Every prose term of some queries, each with its field and whether it is a phrase's last
/// prefix term: what [`MatchTarget::for_terms`] needs to stem.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProseTerms {
    terms: Vec<NeededTerm>,
    /// Whether some query names an exact or numeric field (a value, a range, `field:*`): only
    /// then does a target need them, lowercased (most watches are prose only).
    exact_fields: bool,
}

impl ProseTerms {
    /// The prose terms of all these queries, excluded phrases included.
    pub fn of<'a>(queries: impl IntoIterator<Item = &'a MentionQuery>) -> ProseTerms {
        let mut all = ProseTerms::default();
        for query in queries {
            all.collect(&query.root);
        }
        all
    }

    fn collect(&mut self, node: &Node) {
        match node {
            Node::Phrase {
                field,
                terms,
                prefix,
                ..
            } => {
                for (index, term) in terms.iter().enumerate() {
                    let is_prefix = *prefix && index + 1 == terms.len();
                    let needed = NeededTerm::new(*field, term, is_prefix);
                    if !self.terms.contains(&needed) {
                        self.terms.push(needed);
                    }
                }
            }
            Node::Bool {
                must,
                should,
                must_not,
            } => {
                for child in must.iter().chain(should).chain(must_not) {
                    self.collect(child);
                }
            }
            Node::Keyword { .. } | Node::NumberRange { .. } => self.exact_fields = true,
            Node::Exists { field } => {
                self.exact_fields |= matches!(field.kind(), FieldKind::Keyword | FieldKind::Number);
            }
            Node::All | Node::Nothing | Node::TimeRange { .. } => {}
        }
    }

    /// The stem of an ASCII word of `field` if some term could match it, else `None`.
    fn stem_if_needed(&self, prose: &mut TextAnalyzer, field: Field, word: &str) -> Option<String> {
        let mut stem: Option<Option<String>> = None;
        for needed in self.terms.iter().filter(|needed| needed.field == field) {
            let anchor = needed.anchor.as_bytes();
            if word.len() < anchor.len()
                || !word.as_bytes()[..anchor.len()].eq_ignore_ascii_case(anchor)
            {
                continue;
            }
            let stem = stem.get_or_insert_with(|| {
                let mut stream = prose.token_stream(word);
                stream.next().map(|token| token.text.clone())
            });
            let Some(stem) = stem else {
                return None;
            };
            let matches = if needed.prefix {
                stem.starts_with(&needed.term)
            } else {
                *stem == needed.term
            };
            if matches {
                return Some(stem.clone());
            }
        }
        None
    }
}

impl MentionQuery {
    /// The prefilter of this query (see [`MatchPrefilter`]).
    pub fn prefilter(&self) -> MatchPrefilter {
        MatchPrefilter {
            needed: needed_terms(&self.root),
        }
    }
}

/// Prose terms of which a mention needs at least one to match `node`; `None` when there is no
/// such set. `Some(empty)` means the node never matches.
fn needed_terms(node: &Node) -> Option<Vec<NeededTerm>> {
    match node {
        Node::Nothing => Some(Vec::new()),
        Node::Phrase {
            field,
            terms,
            prefix,
            ..
        } => {
            // A phrase match starts with a token equal to its first term (a prefix only when
            // it is the only term).
            let Some(first) = terms.first() else {
                return Some(Vec::new());
            };
            Some(vec![NeededTerm::new(
                *field,
                first,
                *prefix && terms.len() == 1,
            )])
        }
        Node::Bool { must, should, .. } => {
            if must.is_empty() && should.is_empty() {
                return Some(Vec::new());
            }
            if !must.is_empty() {
                // Any one required clause's needs are the whole node's.
                return must.iter().find_map(needed_terms);
            }
            let mut union: Vec<NeededTerm> = Vec::new();
            for clause in should {
                for needed in needed_terms(clause)? {
                    // `"acme corp" OR acme` needs `acme` once: each term costs a scan of the text.
                    if !union.contains(&needed) {
                        union.push(needed);
                    }
                }
            }
            Some(union)
        }
        Node::All
        | Node::Keyword { .. }
        | Node::NumberRange { .. }
        | Node::TimeRange { .. }
        | Node::Exists { .. } => None,
    }
}

impl MatchPrefilter {
    /// Whether the query may match a mention with this title and text. `false` proves it
    /// cannot; `true` means the full matcher must decide.
    pub fn may_match(&self, title: Option<&str>, text: &str) -> bool {
        let Some(needed) = &self.needed else {
            return true;
        };
        if needed.is_empty() {
            return false;
        }
        if !text.is_ascii() || title.is_some_and(|title| !title.is_ascii()) {
            return true;
        }
        MATCH_ANALYZERS.with(|analyzers| {
            let (prose, _) = &mut *analyzers.borrow_mut();
            needed.iter().any(|needed| {
                let prose_text = match needed.field {
                    Field::Title => title.unwrap_or_default(),
                    _ => text,
                };
                ascii_words(prose_text).any(|word| could_be(prose, word, needed))
            })
        })
    }
}

/// The words of ASCII text as the prose analyzer's tokenizer splits it (runs of letters and
/// digits).
fn ascii_words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|ch: char| !ch.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
}

/// Whether an ASCII word analyzes to the needed term: cheap when it does not start with the
/// anchor, stemmed otherwise.
fn could_be(prose: &mut TextAnalyzer, word: &str, needed: &NeededTerm) -> bool {
    let anchor = needed.anchor.as_bytes();
    let starts =
        word.len() >= anchor.len() && word.as_bytes()[..anchor.len()].eq_ignore_ascii_case(anchor);
    if !starts {
        return false;
    }
    let mut stream = prose.token_stream(word);
    let mut matched = false;
    while let Some(token) = stream.next() {
        matched |= if needed.prefix {
            token.text.starts_with(&needed.term)
        } else {
            token.text == needed.term
        };
    }
    matched
}

/// Whether `terms` occur in `tokens` in order, at most `slop` extra positions apart in total,
/// the last one as a prefix when `prefix` is set. Tokens carry their analyzer positions, so a
/// word dropped by analysis (too long) still counts as a gap, as it does in the index.
fn phrase_matches(tokens: &[(usize, String)], terms: &[String], slop: u32, prefix: bool) -> bool {
    let Some((last, leading)) = terms.split_last() else {
        return false;
    };
    let term_matches = |token: &str, term: &str, is_last: bool| {
        if is_last && prefix {
            token.starts_with(term)
        } else {
            token == term
        }
    };
    if leading.is_empty() {
        return tokens
            .iter()
            .any(|(_, token)| term_matches(token, last, true));
    }
    let slop = slop as usize;
    (0..tokens.len()).any(|start| {
        let (first_position, first_token) = &tokens[start];
        if !term_matches(first_token, &terms[0], false) {
            return false;
        }
        let mut index = start;
        for (term_index, term) in terms.iter().enumerate().skip(1) {
            let is_last = term_index == terms.len() - 1;
            // Total drift so far plus this gap: position - first - term_index <= slop.
            let latest = first_position + term_index + slop;
            let found = tokens[index + 1..]
                .iter()
                .take_while(|(position, _)| *position <= latest)
                .position(|(_, token)| term_matches(token, term, is_last));
            match found {
                Some(offset) => index += 1 + offset,
                None => return false,
            }
        }
        true
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_terms_are_the_positive_words_and_phrases_as_typed() {
        let query =
            MentionQuery::parse(r#""acme corp" OR acme -"acme acres" -rating:1 outages"#).unwrap();
        assert_eq!(
            query.search_terms(),
            vec![
                ("acme corp".to_string(), true),
                ("acme".to_string(), false),
                ("outages".to_string(), false),
            ]
        );
    }
    use crate::mention::{Label, Sentiment};
    use proptest::prelude::*;
    use time::macros::datetime;

    fn mention(title: Option<&str>, text: &str) -> Mention {
        Mention {
            id: "hackernews:1".into(),
            source: "hackernews".into(),
            feed: "hn-acme".into(),
            watches: vec!["acme".into()],
            url: None,
            author: Some("JDoe".into()),
            author_reach: Some(1520),
            title: title.map(str::to_string),
            text: text.into(),
            lang: "en".into(),
            rating: Some(2),
            engagement: None,
            parent: None,
            published_at: datetime!(2026-11-22 10:15:00 UTC),
            collected_at: datetime!(2026-11-22 10:16:00 UTC),
            sentiment: Sentiment {
                label: Label::Negative,
                ..Sentiment::scored(-0.6, 0.0, 0.7, 0.3)
            },
        }
    }

    fn matches(query: &str, mention: &Mention) -> bool {
        MentionQuery::parse(query)
            .unwrap()
            .matches(&MatchTarget::new(mention))
    }

    #[test]
    fn the_design_watch_query_works() {
        let query = r#""acme corp" OR acme -"acme acres""#;
        assert!(matches(
            query,
            &mention(None, "Acme Corp shipped late again")
        ));
        assert!(matches(query, &mention(Some("ACME outage"), "it is down")));
        assert!(!matches(
            query,
            &mention(None, "Lunch at Acme Acres was lovely")
        ));
        assert!(!matches(query, &mention(None, "nothing to see")));
    }

    #[test]
    fn words_side_by_side_must_all_match() {
        let post = mention(None, "Acme refunds take weeks");
        assert!(matches("acme refund", &post), "stemming: refunds ~ refund");
        assert!(!matches("acme invoice", &post));
        assert!(matches("acme AND (invoice OR weeks)", &post));
        assert!(!matches("acme -refund", &post));
        assert!(matches("acme NOT invoice", &post));
    }

    #[test]
    fn phrases_need_the_words_in_order() {
        let post = mention(None, "the acme corp support line");
        assert!(matches("\"acme corp\"", &post));
        assert!(!matches("\"corp acme\"", &post));
        assert!(matches("\"acme support\"~1", &post));
        assert!(matches("\"acme corp sup\"*", &post));
        assert!(matches("title:acme", &mention(Some("Acme news"), "body")));
        assert!(!matches(
            "title:acme",
            &mention(Some("news"), "acme in body")
        ));
    }

    #[test]
    fn exact_fields_ranges_and_sets() {
        let post = mention(None, "text");
        assert!(matches("author:jdoe", &post), "exact fields ignore case");
        assert!(!matches("author:jdo", &post));
        assert!(matches("label:negative source:hackernews lang:en", &post));
        assert!(matches("rating:[1 TO 2]", &post));
        assert!(!matches("rating:{2 TO 5]", &post));
        assert!(matches("reach:>1000", &post));
        assert!(matches("lang: IN [de en]", &post));
        assert!(matches(
            "published_at:[2026-11-22T00:00:00Z TO 2026-11-23T00:00:00Z}",
            &post
        ));
        assert!(!matches("published_at:[2026-11-23T00:00:00Z TO *]", &post));
        assert!(matches("*", &post));
    }

    #[test]
    fn errors_say_where() {
        let error = MentionQuery::parse("acme AND (refund").unwrap_err();
        assert_eq!(error.column, 17, "{error}");
        let unknown = MentionQuery::parse("acme colour:blue").unwrap_err();
        assert_eq!(unknown.offset, 5, "{unknown}");
        assert!(
            unknown.message.contains("unknown field `colour`"),
            "{unknown}"
        );
        let number = MentionQuery::parse("rating:five").unwrap_err();
        assert!(number.message.contains("whole numbers"), "{number}");
        let negative = MentionQuery::parse("-acme").unwrap_err();
        assert!(negative.message.contains("at least one term"), "{negative}");
        let regex = MentionQuery::parse("text:/ac.e/").unwrap_err();
        assert!(regex.message.contains("regular expressions"), "{regex}");
    }

    #[test]
    fn an_empty_query_matches_everything_and_punctuation_matches_nothing() {
        let post = mention(None, "text");
        assert!(matches("", &post));
        assert!(!matches("\"!!!\"", &post));
    }

    proptest! {
        #[test]
        fn parse_never_panics(query in "\\PC{0,60}") {
            if let Ok(query) = MentionQuery::parse(&query) {
                let _ = query.matches(&MatchTarget::new(&mention(Some("a title"), "some text")));
            }
        }

        #[test]
        fn parse_never_panics_on_query_like_text(query in "[a-c \"()*:~^\\-+\\[\\]{}]{0,30}|(AND|OR|NOT|title:|rating:|[a-c]| |\\(|\\)|\"){0,12}") {
            let _ = MentionQuery::parse(&query);
        }

        /// The prefilter never rules out a mention the matcher tags, and a target built for the
        /// query's terms only answers as the full one does.
        #[test]
        fn the_prefilter_never_rejects_a_match(
            title_words in proptest::collection::vec(0..PREFILTER_WORDS.len(), 0..4),
            text_words in proptest::collection::vec(0..PREFILTER_WORDS.len(), 0..12),
            separators in proptest::collection::vec(0..4_usize, 16),
            uppercase in proptest::collection::vec(proptest::bool::ANY, 16),
            query in 0..PREFILTER_QUERIES.len(),
        ) {
            let join = |words: &[usize]| {
                let mut joined = String::new();
                for (index, word) in words.iter().enumerate() {
                    if index > 0 {
                        joined.push_str([" ", ", ", "-", "'s "][separators[index % 16]]);
                    }
                    let word = PREFILTER_WORDS[*word];
                    if uppercase[index % 16] {
                        joined.push_str(&word.to_uppercase());
                    } else {
                        joined.push_str(word);
                    }
                }
                joined
            };
            let title = join(&title_words);
            let post = mention((!title.is_empty()).then_some(title.as_str()), &join(&text_words));
            let query = MentionQuery::parse(PREFILTER_QUERIES[query]).unwrap();
            let full = query.matches(&MatchTarget::new(&post));
            let terms = ProseTerms::of([&query]);
            prop_assert_eq!(full, query.matches(&MatchTarget::for_terms(&post, &terms)));
            if full {
                prop_assert!(query.prefilter().may_match(post.title.as_deref(), &post.text));
            }
        }
    }

    proptest! {
        /// The matcher's cached analyzer prepares exactly the target the reference chain does,
        /// and every query answers the same, on any text (one small cache across cases, so it
        /// starts over often and hits and misses both occur).
        #[test]
        fn the_cached_matcher_equals_the_uncached_one(
            words in proptest::collection::vec(0..PREFILTER_WORDS.len(), 0..10),
            noise in "\\PC{0,40}",
            upper in proptest::bool::ANY,
        ) {
            let mut text = words.iter().map(|word| PREFILTER_WORDS[*word]).collect::<Vec<_>>().join(" ");
            text.push(' ');
            text.push_str(&noise);
            if upper {
                text = text.to_uppercase();
            }
            let post = mention(Some(&noise), &text);
            CACHED.with(|cached| {
                let (cached, keyword) = &mut *cached.borrow_mut();
                let fast = MatchTarget::analyzed(&post, cached, keyword);
                let reference = MatchTarget::analyzed(&post, &mut text_analyzer(), keyword);
                prop_assert_eq!(&fast.title, &reference.title);
                prop_assert_eq!(&fast.text, &reference.text);
                for query in PREFILTER_QUERIES {
                    let query = MentionQuery::parse(query).unwrap();
                    prop_assert_eq!(query.matches(&fast), query.matches(&reference));
                }
                Ok(())
            })?;
        }
    }

    thread_local! {
        /// A cached prose analyzer of 7 words, kept across the cases of a property test.
        static CACHED: std::cell::RefCell<(TextAnalyzer, TextAnalyzer)> =
            std::cell::RefCell::new((crate::text::text_analyzer_caching(7), keyword_analyzer()));
    }

    /// The same over every shipped English word, as written and in capitals, with the cache
    /// the matcher really runs (it must give the same stems as the chain the query side uses).
    #[test]
    fn the_cached_matcher_equals_the_uncached_one_on_english_words() {
        let words = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../sentiment/src/data/english_words.txt"
        ));
        let mut reference = text_analyzer();
        let mut keyword = keyword_analyzer();
        for chunk in words.lines().collect::<Vec<_>>().chunks(29) {
            let text = chunk.join(", ");
            for text in [text.clone(), text.to_uppercase()] {
                let title: String = text.chars().take(40).collect();
                let post = mention(Some(&title), &text);
                let fast = MatchTarget::new(&post);
                let slow = MatchTarget::analyzed(&post, &mut reference, &mut keyword);
                assert_eq!(fast.title, slow.title, "{text:?}");
                assert_eq!(fast.text, slow.text, "{text:?}");
            }
        }
    }

    /// Words whose stems are not plain prefixes of them, and their neighbours.
    const PREFILTER_WORDS: &[&str] = &[
        "acme",
        "acmes",
        "acme's",
        "acmeing",
        "account",
        "corp",
        "corps",
        "corporate",
        "acres",
        "dying",
        "die",
        "dies",
        "lying",
        "lie",
        "tying",
        "tie",
        "happy",
        "happiness",
        "happily",
        "hoping",
        "hope",
        "hop",
        "generously",
        "generous",
        "probability",
        "probable",
        "skies",
        "sky",
        "news",
        "early",
        "only",
        "ugly",
        "gently",
        "relational",
        "relate",
        "refund",
        "refunds",
        "refunded",
        "outage",
        "outages",
        "crying",
        "cries",
        "flies",
        "café",
        "naïve",
        "x2",
        "b",
        "by",
        "the",
        "a",
    ];

    const PREFILTER_QUERIES: &[&str] = &[
        "\"acme corp\" OR acme -\"acme acres\"",
        "acme",
        "dying",
        "lie OR tie",
        "happy hoping",
        "title:early",
        "refund* outage",
        "generous*",
        "\"probable news\"~2",
        "rating:5 OR acme",
        "b",
        "skies -sky",
        "cafe",
        "title:* acme",
        "text:* -title:*",
        "\"acme corp\"~1",
        "\"hop refund*\"",
        "\"the acme\" OR \"by the\"~3",
        "acme* -corp",
        "acme -lang:de",
        "label:* corp",
        "source:hackernews OR happy",
    ];

    /// The English stemmer keeps all but at most the last two characters of a word as they are
    /// (the prefilter's premise), over every ASCII word of the shipped English word list.
    #[test]
    fn stems_keep_the_start_of_every_english_word() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../sentiment/src/data/english_words.txt"
        );
        let words = std::fs::read_to_string(path).unwrap();
        let mut analyzer = text_analyzer();
        let mut checked = 0;
        for word in words.lines().filter(|word| word.is_ascii()) {
            for part in ascii_words(word) {
                for stem in analyze(&mut analyzer, part) {
                    let keep: String = stem
                        .chars()
                        .take(stem.chars().count().saturating_sub(2))
                        .collect();
                    assert!(
                        part.to_ascii_lowercase().starts_with(&keep),
                        "`{part}` stems to `{stem}`"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 60_000, "{checked}");
    }

    #[test]
    fn the_prefilter_rules_out_mentions_without_the_terms() {
        let query = MentionQuery::parse("\"acme corp\" OR acme -\"acme acres\"").unwrap();
        let prefilter = query.prefilter();
        assert!(!prefilter.may_match(None, "the account is broken again"));
        assert!(prefilter.may_match(None, "ACME's outage"));
        assert!(prefilter.may_match(Some("Acmes"), "nothing here"));
        assert!(prefilter.may_match(None, "Acmé accent: analyzed in full"));
        assert!(MentionQuery::parse("rating:5")
            .unwrap()
            .prefilter()
            .may_match(None, "x"));
        let dying = MentionQuery::parse("die").unwrap().prefilter();
        assert!(dying.may_match(None, "the battery is dying"));
        assert!(!dying.may_match(None, "the battery is fine"));
    }
}
