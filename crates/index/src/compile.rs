//! Compiled watch/search queries ([`Node`]) and [`Filters`] become tantivy queries here, with
//! exactly the semantics of `earful_core::query::MatchTarget` (a differential property test in
//! `tests/differential.rs` holds the two together).

use std::ops::Bound;

use earful_core::query::{Field as QueryField, Node};
use tantivy::query::{AllQuery, BooleanQuery, EmptyQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::Term;

use crate::exclusion::ExcludedQuery;
use crate::phrase::PositionalPhraseQuery;
use crate::schema::{always_present, to_tantivy_date, MentionFields};
use crate::search::Filters;

/// Converts a compiled query node.
pub(crate) fn compile_node(fields: &MentionFields, node: &Node) -> Box<dyn Query> {
    match node {
        Node::All => Box::new(AllQuery),
        Node::Nothing => Box::new(EmptyQuery),
        Node::Bool {
            must,
            should,
            must_not,
        } => {
            if must.is_empty() && should.is_empty() {
                return Box::new(EmptyQuery);
            }
            let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for child in must {
                clauses.push((Occur::Must, compile_node(fields, child)));
            }
            for child in should {
                clauses.push((Occur::Should, compile_node(fields, child)));
            }
            for child in must_not {
                clauses.push((
                    Occur::MustNot,
                    Box::new(ExcludedQuery::new(compile_node(fields, child))),
                ));
            }
            Box::new(BooleanQuery::new(clauses))
        }
        Node::Phrase {
            field,
            terms,
            slop,
            prefix,
        } => {
            let tantivy_field = fields.of(*field);
            match (terms.as_slice(), *prefix, *slop) {
                ([], _, _) => Box::new(EmptyQuery),
                ([term], false, _) => Box::new(TermQuery::new(
                    Term::from_field_text(tantivy_field, term),
                    IndexRecordOption::WithFreqs,
                )),
                _ => Box::new(PositionalPhraseQuery::new(
                    tantivy_field,
                    terms,
                    *slop,
                    *prefix,
                )),
            }
        }
        Node::Keyword { field, value } => keyword(fields, *field, value),
        Node::NumberRange {
            field,
            lower,
            upper,
        } => {
            if lower > upper {
                return Box::new(EmptyQuery);
            }
            let tantivy_field = fields.of(*field);
            Box::new(RangeQuery::new(
                Bound::Included(Term::from_field_u64(tantivy_field, *lower)),
                Bound::Included(Term::from_field_u64(tantivy_field, *upper)),
            ))
        }
        Node::TimeRange { lower, upper } => time_range(fields, *lower, *upper),
        Node::Exists { field } => exists(fields, *field),
    }
}

fn keyword(fields: &MentionFields, field: QueryField, value: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(fields.of(field), value),
        IndexRecordOption::Basic,
    ))
}

fn exists(fields: &MentionFields, field: QueryField) -> Box<dyn Query> {
    if always_present(field) {
        // Every mention has a value (a publication time, an id, …): no `_present` entry.
        return Box::new(AllQuery);
    }
    Box::new(TermQuery::new(
        Term::from_field_text(fields.present, field.name()),
        IndexRecordOption::Basic,
    ))
}

/// `[lower, upper)` on `published_at`.
pub(crate) fn time_range(
    fields: &MentionFields,
    lower: Option<time::OffsetDateTime>,
    upper: Option<time::OffsetDateTime>,
) -> Box<dyn Query> {
    let term = |at| Term::from_field_date(fields.published_at, to_tantivy_date(at));
    match (lower, upper) {
        (None, None) => Box::new(AllQuery),
        (Some(lower), Some(upper)) if lower >= upper => Box::new(EmptyQuery),
        (lower, upper) => Box::new(RangeQuery::new(
            lower.map_or(Bound::Unbounded, |at| Bound::Included(term(at))),
            upper.map_or(Bound::Unbounded, |at| Bound::Excluded(term(at))),
        )),
    }
}

/// The search query and the filters, as one tantivy query: the filters are `Must` clauses.
pub(crate) fn compile_request(
    fields: &MentionFields,
    root: &Node,
    filters: &Filters,
) -> Box<dyn Query> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, compile_node(fields, root))];
    let lowercase = |value: &str| value.to_lowercase();
    if let Some(watch) = &filters.watch {
        clauses.push((
            Occur::Must,
            keyword(fields, QueryField::Watch, &lowercase(watch)),
        ));
    }
    if let Some(source) = &filters.source {
        clauses.push((
            Occur::Must,
            keyword(fields, QueryField::Source, &lowercase(source)),
        ));
    }
    if let Some(feed) = &filters.feed {
        clauses.push((
            Occur::Must,
            keyword(fields, QueryField::Feed, &lowercase(feed)),
        ));
    }
    if let Some(label) = filters.label {
        clauses.push((
            Occur::Must,
            keyword(fields, QueryField::Label, label.as_str()),
        ));
    }
    if let Some(lang) = &filters.lang {
        clauses.push((
            Occur::Must,
            keyword(fields, QueryField::Lang, &lowercase(lang)),
        ));
    }
    if filters.since.is_some() || filters.until.is_some() {
        clauses.push((
            Occur::Must,
            time_range(fields, filters.since, filters.until),
        ));
    }
    if let Some(min_reach) = filters.min_reach {
        clauses.push((
            Occur::Must,
            Box::new(RangeQuery::new(
                Bound::Included(Term::from_field_u64(fields.author_reach, min_reach)),
                Bound::Unbounded,
            )),
        ));
    }
    if clauses.len() == 1 {
        if let Some((_, query)) = clauses.pop() {
            return query;
        }
    }
    Box::new(BooleanQuery::new(clauses))
}
