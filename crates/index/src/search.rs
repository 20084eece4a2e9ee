//! Search requests and results: filters, sorts, stable cursor paging, highlights.

use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use earful_core::{Label, Mention, MentionQuery};
use serde::{Deserialize, Serialize};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::{DateTime, DocAddress, DocId, Score, SegmentOrdinal, SegmentReader};
use time::OffsetDateTime;

use crate::error::IndexError;
use crate::schema::{COMPOUND, ID_HASH};

/// Restrictions on top of the query; each one is an extra `Must` clause.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filters {
    /// Only mentions tagged with this watch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch: Option<String>,
    /// Only this source kind (`hackernews`, `feed`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Only this configured source (feed) name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed: Option<String>,
    /// Only this sentiment label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Label>,
    /// Only this language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// Published at or after this time (use `earful_core::time::parse_time_bound` for `24h`).
    #[serde(
        default,
        with = "earful_core::time::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub since: Option<OffsetDateTime>,
    /// Published before this time.
    #[serde(
        default,
        with = "earful_core::time::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub until: Option<OffsetDateTime>,
    /// Only authors with at least this reach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_reach: Option<u64>,
}

/// The order of results.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Latest published first (the default).
    #[default]
    Newest,
    /// Earliest published first.
    Oldest,
    /// Best BM25 match first.
    Relevance,
    /// Largest author reach first; mentions without reach last.
    MostReached,
    /// Lowest compound sentiment first; unscored mentions last.
    MostNegative,
}

impl Sort {
    /// Every sort, in display order.
    pub const ALL: [Sort; 5] = [
        Sort::Newest,
        Sort::Oldest,
        Sort::Relevance,
        Sort::MostReached,
        Sort::MostNegative,
    ];

    /// The name used on the command line and in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Newest => "newest",
            Sort::Oldest => "oldest",
            Sort::Relevance => "relevance",
            Sort::MostReached => "most_reached",
            Sort::MostNegative => "most_negative",
        }
    }
}

impl std::fmt::Display for Sort {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for Sort {
    type Err = String;

    fn from_str(raw: &str) -> Result<Sort, String> {
        let wanted = raw.trim().to_ascii_lowercase().replace('-', "_");
        Sort::ALL
            .into_iter()
            .find(|sort| sort.as_str() == wanted)
            .ok_or_else(|| {
                format!("`{raw}` is not a sort (newest, oldest, relevance, most_reached, most_negative)")
            })
    }
}

/// One page of a search.
#[derive(Clone, Debug)]
pub struct SearchRequest {
    /// The query (`MentionQuery::parse("")` matches everything).
    pub query: MentionQuery,
    /// Extra restrictions.
    pub filters: Filters,
    /// The order.
    pub sort: Sort,
    /// Page size; at most [`SearchRequest::MAX_LIMIT`].
    pub limit: usize,
    /// The `next_cursor` of the previous page, to continue after it.
    pub cursor: Option<String>,
    /// Whether to compute text snippets with the matched words marked.
    pub highlight: bool,
}

impl SearchRequest {
    /// The largest page.
    pub const MAX_LIMIT: usize = 1_000;

    /// The first page of 20 newest matches of a query, no filters.
    pub fn new(query: MentionQuery) -> SearchRequest {
        SearchRequest {
            query,
            filters: Filters::default(),
            sort: Sort::Newest,
            limit: 20,
            cursor: None,
            highlight: false,
        }
    }
}

/// A page of results.
#[derive(Clone, Debug, Serialize)]
pub struct SearchResults {
    /// How many mentions match in all (not only on this page).
    pub total: usize,
    /// This page.
    pub hits: Vec<Hit>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// One result.
#[derive(Clone, Debug, Serialize)]
pub struct Hit {
    /// The mention, exactly as indexed.
    pub mention: Mention,
    /// The BM25 score, when sorting by relevance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
    /// The text snippet, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub highlight: Option<Highlight>,
}

/// A snippet of a mention's text around the matched words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Highlight {
    /// The snippet, plain.
    pub fragment: String,
    /// Byte ranges of the matched words within `fragment`.
    pub ranges: Vec<(usize, usize)>,
    /// The snippet, HTML-escaped, matched words in `<b>`.
    pub html: String,
}

/// The position of a hit in a sort: the sort's value mapped to an order-preserving `u64`, then
/// the id hash. Greater comes first, for every sort.
pub(crate) type SortKey = (u64, u64);

/// Order-preserving map of an `f64` to a `u64`.
pub(crate) fn f64_order(value: f64) -> u64 {
    let bits = value.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// Order-preserving map of an `i64` to a `u64`.
pub(crate) fn i64_order(value: i64) -> u64 {
    (value as u64) ^ (1 << 63)
}

/// The inverse of [`i64_order`].
pub(crate) fn i64_order_inverse(value: u64) -> i64 {
    (value ^ (1 << 63)) as i64
}

#[derive(Serialize, Deserialize)]
struct CursorWire {
    v: u32,
    sort: Sort,
    key: SortKey,
}

/// Encodes a cursor: base64url of a small JSON object naming the sort and the last key.
pub(crate) fn encode_cursor(sort: Sort, key: SortKey) -> String {
    let wire = CursorWire { v: 1, sort, key };
    let json = serde_json::to_vec(&wire).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// Decodes a cursor handed out for the same sort.
pub(crate) fn decode_cursor(raw: &str, sort: Sort) -> Result<SortKey, IndexError> {
    let bad = || IndexError::BadCursor(raw.to_string());
    let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| bad())?;
    let wire: CursorWire = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if wire.v != 1 || wire.sort != sort {
        return Err(bad());
    }
    Ok(wire.key)
}

/// Collects the top `limit` hits of a sort that come after a cursor.
pub(crate) struct SortedCollector {
    pub sort: Sort,
    pub after: Option<SortKey>,
    pub limit: usize,
}

/// A collected hit: its key, address and score (when scoring).
pub(crate) type Collected = (SortKey, DocAddress, Option<Score>);

enum SortColumn {
    Date(Column<DateTime>),
    U64(Column<u64>),
    F64(Column<f64>),
    Score,
}

pub(crate) struct SortedSegmentCollector {
    sort: Sort,
    after: Option<SortKey>,
    limit: usize,
    segment: SegmentOrdinal,
    column: SortColumn,
    id_hash: Column<u64>,
    // A min-heap of the best `limit` so far.
    best: std::collections::BinaryHeap<std::cmp::Reverse<(SortKey, DocId, OrderedScore)>>,
}

/// An `f32` score that sorts (never NaN from BM25; NaN sorts as equal).
#[derive(Clone, Copy, Debug, PartialEq)]
struct OrderedScore(f32);
impl Eq for OrderedScore {}
impl PartialOrd for OrderedScore {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for OrderedScore {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0
            .partial_cmp(&other.0)
            .unwrap_or(std::cmp::Ordering::Equal)
    }
}

impl Collector for SortedCollector {
    type Fruit = Vec<Collected>;
    type Child = SortedSegmentCollector;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SortedSegmentCollector> {
        let fast = reader.fast_fields();
        let column = match self.sort {
            Sort::Newest | Sort::Oldest => {
                SortColumn::Date(fast.date(earful_core::query::Field::PublishedAt.name())?)
            }
            Sort::MostReached => {
                SortColumn::U64(fast.u64(earful_core::query::Field::AuthorReach.name())?)
            }
            Sort::MostNegative => SortColumn::F64(fast.f64(COMPOUND)?),
            Sort::Relevance => SortColumn::Score,
        };
        Ok(SortedSegmentCollector {
            sort: self.sort,
            after: self.after,
            limit: self.limit,
            segment,
            column,
            id_hash: fast.u64(ID_HASH)?,
            best: std::collections::BinaryHeap::with_capacity(self.limit + 1),
        })
    }

    fn requires_scoring(&self) -> bool {
        self.sort == Sort::Relevance
    }

    fn merge_fruits(&self, fruits: Vec<Vec<Collected>>) -> tantivy::Result<Vec<Collected>> {
        let mut all: Vec<Collected> = fruits.into_iter().flatten().collect();
        all.sort_by(|left, right| right.0.cmp(&left.0).then(left.1.cmp(&right.1)));
        all.truncate(self.limit);
        Ok(all)
    }
}

impl SortedSegmentCollector {
    fn key(&self, doc: DocId, score: Score) -> SortKey {
        (
            self.primary(doc, score),
            self.id_hash.first(doc).unwrap_or(0),
        )
    }

    fn primary(&self, doc: DocId, score: Score) -> u64 {
        match (&self.column, self.sort) {
            (SortColumn::Date(column), Sort::Oldest) => column
                .first(doc)
                .map_or(0, |at| u64::MAX - i64_order(at.into_timestamp_nanos())),
            (SortColumn::Date(column), _) => column
                .first(doc)
                .map_or(0, |at| i64_order(at.into_timestamp_nanos())),
            (SortColumn::U64(column), _) => column.first(doc).unwrap_or(0),
            // Most negative first; unscored (no compound) last.
            (SortColumn::F64(column), _) => column
                .first(doc)
                .map_or(0, |compound| u64::MAX - f64_order(compound)),
            (SortColumn::Score, _) => f64_order(f64::from(score)),
        }
    }
}

impl SegmentCollector for SortedSegmentCollector {
    type Fruit = Vec<Collected>;

    fn collect(&mut self, doc: DocId, score: Score) {
        if self.limit == 0 {
            return;
        }
        if self.best.len() >= self.limit {
            // A full heap: a doc whose primary key is below the worst kept cannot get in, and
            // its tie-breaker need not be read.
            if let Some(worst) = self.best.peek() {
                if self.primary(doc, score) < worst.0 .0 .0 {
                    return;
                }
            }
        }
        let key = self.key(doc, score);
        if self.after.is_some_and(|after| key >= after) {
            return;
        }
        let entry = std::cmp::Reverse((key, doc, OrderedScore(score)));
        if self.best.len() < self.limit {
            self.best.push(entry);
        } else if let Some(worst) = self.best.peek() {
            // Equal keys keep the earlier doc, like tantivy's own top-k.
            if key > worst.0 .0 {
                self.best.pop();
                self.best.push(entry);
            }
        }
    }

    fn harvest(self) -> Vec<Collected> {
        let scoring = self.sort == Sort::Relevance;
        let segment = self.segment;
        self.best
            .into_iter()
            .map(|std::cmp::Reverse((key, doc, score))| {
                (
                    key,
                    DocAddress::new(segment, doc),
                    scoring.then_some(score.0),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sorts_parse_by_name() {
        for sort in Sort::ALL {
            assert_eq!(sort.as_str().parse::<Sort>(), Ok(sort));
        }
        assert_eq!("most-negative".parse::<Sort>(), Ok(Sort::MostNegative));
        assert!("loudest".parse::<Sort>().is_err());
    }

    #[test]
    fn cursors_round_trip_and_refuse_other_sorts() {
        let cursor = encode_cursor(Sort::Newest, (7, 9));
        assert_eq!(decode_cursor(&cursor, Sort::Newest).unwrap(), (7, 9));
        assert!(matches!(
            decode_cursor(&cursor, Sort::Oldest),
            Err(IndexError::BadCursor(_))
        ));
        assert!(decode_cursor("not a cursor!", Sort::Newest).is_err());
    }

    proptest! {
        #[test]
        fn f64_order_preserves_order(a in -1e9f64..1e9, b in -1e9f64..1e9) {
            prop_assert_eq!(a.partial_cmp(&b), Some(f64_order(a).cmp(&f64_order(b))));
        }

        #[test]
        fn i64_order_preserves_order(a: i64, b: i64) {
            prop_assert_eq!(a.cmp(&b), i64_order(a).cmp(&i64_order(b)));
        }

        #[test]
        fn garbage_cursors_are_errors(raw in "\\PC{0,60}") {
            let _ = decode_cursor(&raw, Sort::Newest);
        }
    }
}
