//! Phrases with slop or a trailing prefix, matched with exactly the rule of the watch matcher
//! (`earful_core::query::MatchTarget`): the terms in order, each later than the one before,
//! with at most `slop` extra positions in total, the last one a prefix when asked.
//!
//! Every phrase of two words or more gets this query. tantivy's own sloppy phrase scorer
//! allows terms out of order and its result depends on whether scoring is on; its
//! `PhrasePrefixQuery` caps the prefix expansions; and in 0.27 its `PhraseScorer` trips a
//! `seek_danger` debug assertion inside exclusions (`a -"b c"`), found by the differential
//! test. Matching here costs a doc list per word per segment; phrases score a constant.

use std::fmt;

use tantivy::postings::{Postings, SegmentPostings};
use tantivy::query::{ConstScorer, EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, DocSet, Score, SegmentReader, Term, TERMINATED};

/// A phrase matched position by position.
#[derive(Clone)]
pub(crate) struct PositionalPhraseQuery {
    field: Field,
    terms: Vec<Term>,
    slop: u32,
    prefix: bool,
}

impl fmt::Debug for PositionalPhraseQuery {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("PositionalPhraseQuery")
            .field("terms", &self.terms)
            .field("slop", &self.slop)
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl PositionalPhraseQuery {
    /// `terms` are analyzed already; `prefix` makes the last one match any term it starts.
    pub fn new(field: Field, terms: &[String], slop: u32, prefix: bool) -> PositionalPhraseQuery {
        PositionalPhraseQuery {
            field,
            terms: terms
                .iter()
                .map(|term| Term::from_field_text(field, term))
                .collect(),
            slop,
            prefix,
        }
    }
}

impl Query for PositionalPhraseQuery {
    fn weight(&self, _enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        let exact = if self.prefix {
            self.terms.len().saturating_sub(1)
        } else {
            self.terms.len()
        };
        for term in &self.terms[..exact] {
            visitor(term, true);
        }
    }
}

impl Weight for PositionalPhraseQuery {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let docs = self.matching_docs(reader)?;
        Ok(Box::new(ConstScorer::new(SortedDocs::new(docs), boost)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let docs = self.matching_docs(reader)?;
        if docs.binary_search(&doc).is_err() {
            return Err(tantivy::TantivyError::InvalidArgument(format!(
                "document {doc} does not match the phrase"
            )));
        }
        Ok(Explanation::new("positional phrase", 1.0))
    }
}

/// The matching docs of a segment, as a doc set.
pub(crate) struct SortedDocs {
    docs: Vec<DocId>,
    cursor: usize,
}

impl SortedDocs {
    pub(crate) fn new(docs: Vec<DocId>) -> SortedDocs {
        SortedDocs { docs, cursor: 0 }
    }
}

impl DocSet for SortedDocs {
    fn advance(&mut self) -> DocId {
        if self.cursor < self.docs.len() {
            self.cursor += 1;
        }
        self.doc()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        // Never moves backwards, whatever the target.
        let remaining = &self.docs[self.cursor..];
        self.cursor += remaining.partition_point(|&doc| doc < target);
        self.doc()
    }

    fn doc(&self) -> DocId {
        self.docs.get(self.cursor).copied().unwrap_or(TERMINATED)
    }

    fn size_hint(&self) -> u32 {
        u32::try_from(self.docs.len() - self.cursor).unwrap_or(u32::MAX)
    }
}

/// One word of the phrase in one segment: the postings of its term, or of every term it is a
/// prefix of.
struct Slot {
    postings: Vec<SegmentPostings>,
}

impl Slot {
    /// The positions of this slot's terms in `doc` (postings only move forward), sorted.
    fn positions_in(&mut self, doc: DocId, output: &mut Vec<u32>) {
        output.clear();
        let mut buffer = Vec::new();
        for postings in &mut self.postings {
            if postings.doc() < doc {
                postings.seek(doc);
            }
            if postings.doc() == doc {
                postings.positions(&mut buffer);
                output.extend_from_slice(&buffer);
            }
        }
        if self.postings.len() > 1 {
            output.sort_unstable();
            output.dedup();
        }
    }
}

impl PositionalPhraseQuery {
    fn slots(&self, reader: &SegmentReader) -> tantivy::Result<Option<Vec<Slot>>> {
        let inverted = reader.inverted_index(self.field)?;
        let option = IndexRecordOption::WithFreqsAndPositions;
        let mut slots = Vec::with_capacity(self.terms.len());
        for (index, term) in self.terms.iter().enumerate() {
            let is_prefix = self.prefix && index == self.terms.len() - 1;
            let mut postings = Vec::new();
            if is_prefix {
                let prefix = term.serialized_value_bytes();
                let mut stream = inverted.terms().range().ge(prefix).into_stream()?;
                while stream.advance() {
                    if !stream.key().starts_with(prefix) {
                        break;
                    }
                    postings.push(inverted.read_postings_from_terminfo(stream.value(), option)?);
                }
            } else if let Some(term_info) = inverted.get_term_info(term)? {
                postings.push(inverted.read_postings_from_terminfo(&term_info, option)?);
            }
            if postings.is_empty() {
                return Ok(None);
            }
            slots.push(Slot { postings });
        }
        Ok(Some(slots))
    }

    /// The docs of a segment that match (deleted ones included: collectors skip those).
    fn matching_docs(&self, reader: &SegmentReader) -> tantivy::Result<Vec<DocId>> {
        // Candidates: docs having every word. Reading doc lists uses the postings up, so the
        // positions are read from a second, fresh set.
        let Some(doc_slots) = self.slots(reader)? else {
            return Ok(Vec::new());
        };
        let mut candidates: Option<Vec<DocId>> = None;
        for slot in doc_slots {
            let docs = union_docs(slot);
            let narrowed = match candidates {
                None => docs,
                Some(previous) => intersect_sorted(&previous, &docs),
            };
            if narrowed.is_empty() {
                return Ok(narrowed);
            }
            candidates = Some(narrowed);
        }
        let Some(mut slots) = self.slots(reader)? else {
            return Ok(Vec::new());
        };
        let mut positions: Vec<Vec<u32>> = vec![Vec::new(); slots.len()];
        let mut matching = Vec::new();
        for doc in candidates.unwrap_or_default() {
            for (slot, output) in slots.iter_mut().zip(positions.iter_mut()) {
                slot.positions_in(doc, output);
            }
            if positions_match(&positions, self.slop) {
                matching.push(doc);
            }
        }
        Ok(matching)
    }
}

fn union_docs(slot: Slot) -> Vec<DocId> {
    let mut docs = Vec::new();
    for mut postings in slot.postings {
        let mut doc = postings.doc();
        while doc != TERMINATED {
            docs.push(doc);
            doc = postings.advance();
        }
    }
    if docs.windows(2).any(|pair| pair[0] >= pair[1]) {
        docs.sort_unstable();
        docs.dedup();
    }
    docs
}

fn intersect_sorted(left: &[DocId], right: &[DocId]) -> Vec<DocId> {
    let mut out = Vec::with_capacity(left.len().min(right.len()));
    let (mut i, mut j) = (0, 0);
    while i < left.len() && j < right.len() {
        match left[i].cmp(&right[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(left[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// The watch matcher's rule over per-word sorted positions: some start position of the first
/// word, then for each next word its earliest position after the previous one, no later than
/// `start + index + slop`.
fn positions_match(slots: &[Vec<u32>], slop: u32) -> bool {
    let Some((first, rest)) = slots.split_first() else {
        return false;
    };
    let slop = u64::from(slop);
    first.iter().any(|&start| {
        let mut previous = start;
        for (offset, positions) in rest.iter().enumerate() {
            let latest = u64::from(start) + offset as u64 + 1 + slop;
            let next = positions
                .iter()
                .find(|&&position| position > previous)
                .filter(|&&position| u64::from(position) <= latest);
            match next {
                Some(&position) => previous = position,
                None => return false,
            }
        }
        true
    })
}

#[cfg(test)]
mod tests {
    use super::positions_match;

    #[test]
    fn positions_follow_the_watch_rule() {
        assert!(positions_match(&[vec![0], vec![1]], 0));
        assert!(!positions_match(&[vec![1], vec![0]], 5), "order matters");
        assert!(positions_match(&[vec![0], vec![3]], 2));
        assert!(!positions_match(&[vec![0], vec![4]], 2));
        assert!(positions_match(&[vec![0], vec![2], vec![3]], 1));
        assert!(
            !positions_match(&[vec![0], vec![2], vec![4]], 1),
            "slop is a total"
        );
        assert!(
            !positions_match(&[vec![0], vec![0]], 3),
            "one word cannot be two"
        );
    }
}
