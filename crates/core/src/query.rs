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

use tantivy::tokenizer::TextAnalyzer;
use tantivy_query_grammar::{Occur, UserInputAst, UserInputBound, UserInputLeaf};
use time::OffsetDateTime;

use crate::mention::Mention;
use crate::text::{analyze, analyze_with_positions, keyword_analyzer, text_analyzer};

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

    /// Whether the query matches the mention.
    pub fn matches(&self, target: &MatchTarget) -> bool {
        target.matches(&self.root)
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
    /// The analyzers [`MatchTarget::new`] runs, built once per thread instead of per mention.
    static MATCH_ANALYZERS: std::cell::RefCell<(TextAnalyzer, TextAnalyzer)> =
        std::cell::RefCell::new((text_analyzer(), keyword_analyzer()));
}

/// A mention prepared for matching: its prose analyzed once, its exact fields lowercased.
/// Build one per mention and test every watch against it.
#[derive(Clone, Debug, Default)]
pub struct MatchTarget {
    title: Vec<(usize, String)>,
    text: Vec<(usize, String)>,
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
        MatchTarget {
            title: mention
                .title
                .as_deref()
                .map(|title| analyze_with_positions(prose, title))
                .unwrap_or_default(),
            text: analyze_with_positions(prose, &mention.text),
            keywords,
            numbers,
            published_at: Some(mention.published_at),
        }
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
                FieldKind::Prose => !self.prose(*field).is_empty(),
                FieldKind::Keyword => self.keywords.contains_key(field),
                FieldKind::Number => self.numbers.contains_key(field),
                FieldKind::Time => self.published_at.is_some(),
            },
        }
    }
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
    }
}
