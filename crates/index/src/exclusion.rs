//! Exclusions (`-term`, `NOT x`) with their doc sets materialized per segment.
//!
//! tantivy 0.27 checks an exclusion through `DocSet::seek_danger`, and with debug assertions
//! on, the fast-field range doc set and the phrase scorer panic there (an unsigned subtraction,
//! a `target >= doc` assertion) when the excluded clause is asked about a doc behind its
//! last one — found by the differential test on queries such as `a -rating:[1 TO 2]`. Listing
//! the excluded docs once per segment and answering from the sorted list avoids both and costs
//! one pass over the excluded clause's matches.

use std::fmt;

use tantivy::query::{ConstScorer, EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SegmentReader, Term, TERMINATED};

use crate::phrase::SortedDocs;

/// Wraps the query of a `MustNot` clause.
pub(crate) struct ExcludedQuery {
    inner: Box<dyn Query>,
}

impl ExcludedQuery {
    pub fn new(inner: Box<dyn Query>) -> ExcludedQuery {
        ExcludedQuery { inner }
    }
}

impl Clone for ExcludedQuery {
    fn clone(&self) -> ExcludedQuery {
        ExcludedQuery {
            inner: self.inner.box_clone(),
        }
    }
}

impl fmt::Debug for ExcludedQuery {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_tuple("ExcludedQuery")
            .field(&self.inner)
            .finish()
    }
}

impl Query for ExcludedQuery {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        // An exclusion never scores.
        let schema = enable_scoring.schema();
        let inner = self
            .inner
            .weight(EnableScoring::disabled_from_schema(schema))?;
        Ok(Box::new(ExcludedWeight { inner }))
    }

    fn query_terms<'a>(&'a self, _visitor: &mut dyn FnMut(&'a Term, bool)) {
        // Excluded words are never highlighted.
    }
}

struct ExcludedWeight {
    inner: Box<dyn Weight>,
}

impl ExcludedWeight {
    fn docs(&self, reader: &SegmentReader) -> tantivy::Result<Vec<DocId>> {
        let mut scorer = self.inner.scorer(reader, 1.0)?;
        let mut docs = Vec::new();
        let mut doc = scorer.doc();
        while doc != TERMINATED {
            docs.push(doc);
            doc = scorer.advance();
        }
        Ok(docs)
    }
}

impl Weight for ExcludedWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(ConstScorer::new(
            SortedDocs::new(self.docs(reader)?),
            boost,
        )))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.inner.explain(reader, doc)
    }
}
