//! Aggregations with tantivy's aggregation API: the timeline (date histogram by label), top
//! authors / sources / feeds / terms, and the label share. All honour the query and filters.
//!
//! Top terms come from a terms aggregation on the `text` fast field, which is tokenized with
//! its own analyzer (`earful_terms`: words, lowercased, folded, unstemmed, stop words removed),
//! so they read as words. Counts are occurrences within the matching mentions.

use std::collections::BTreeMap;
use std::time::Duration;

use earful_core::query::Field as QueryField;
use earful_core::{Label, MentionQuery};
use serde::Serialize;
use serde_json::{json, Value};
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::{AggContextParams, AggregationCollector, AggregationLimitsGuard};
use time::OffsetDateTime;

use crate::compile::compile_request;
use crate::error::IndexError;
use crate::index::MentionIndex;
use crate::search::Filters;

/// Most buckets a timeline may have.
pub const MAX_TIMELINE_BUCKETS: u64 = 100_000;

/// One bucket of the timeline: mentions published in `[start, start + interval)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TimelineBucket {
    /// Start of the bucket.
    #[serde(with = "earful_core::time::rfc3339")]
    pub start: OffsetDateTime,
    /// All mentions.
    pub total: u64,
    /// Positive mentions.
    pub positive: u64,
    /// Neutral mentions.
    pub neutral: u64,
    /// Negative mentions.
    pub negative: u64,
    /// Mentions without a score (not English).
    pub unscored: u64,
}

impl TimelineBucket {
    /// The count of one label.
    pub fn count(&self, label: Label) -> u64 {
        by_label(
            label,
            [self.positive, self.neutral, self.negative, self.unscored],
        )
    }
}

/// What [`MentionIndex::top`] ranks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TopField {
    /// Authors, as written.
    Author,
    /// Source kinds.
    Source,
    /// Configured source names.
    Feed,
    /// Languages.
    Lang,
    /// Words of the text.
    Term,
}

impl TopField {
    fn column(self) -> &'static str {
        match self {
            TopField::Author => QueryField::Author.name(),
            TopField::Source => QueryField::Source.name(),
            TopField::Feed => QueryField::Feed.name(),
            TopField::Lang => QueryField::Lang.name(),
            TopField::Term => QueryField::Text.name(),
        }
    }
}

impl std::str::FromStr for TopField {
    type Err = String;

    fn from_str(raw: &str) -> Result<TopField, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "author" => Ok(TopField::Author),
            "source" => Ok(TopField::Source),
            "feed" => Ok(TopField::Feed),
            "lang" => Ok(TopField::Lang),
            "term" | "terms" => Ok(TopField::Term),
            _ => Err(format!(
                "`{raw}` cannot be ranked (author, source, feed, lang, term)"
            )),
        }
    }
}

/// How the matching mentions split by label.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LabelShare {
    /// All matching mentions.
    pub total: u64,
    /// Positive.
    pub positive: u64,
    /// Neutral.
    pub neutral: u64,
    /// Negative.
    pub negative: u64,
    /// Not scored.
    pub unscored: u64,
}

impl LabelShare {
    /// The count of one label.
    pub fn count(&self, label: Label) -> u64 {
        by_label(
            label,
            [self.positive, self.neutral, self.negative, self.unscored],
        )
    }

    /// The share of a label in `[0, 1]` (0 when nothing matches).
    pub fn share(&self, label: Label) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        self.count(label) as f64 / self.total as f64
    }
}

/// Where a label's count stands in counts kept in [`Label::ALL`] order.
fn label_index(label: Label) -> usize {
    match label {
        Label::Positive => 0,
        Label::Neutral => 1,
        Label::Negative => 2,
        Label::Unscored => 3,
    }
}

/// Picks a label's count from counts in [`Label::ALL`] order.
fn by_label(label: Label, counts: [u64; 4]) -> u64 {
    counts[label_index(label)]
}

fn label_counts(buckets: Option<&Value>) -> [u64; 4] {
    let mut counts = [0u64; 4];
    for bucket in buckets.and_then(Value::as_array).into_iter().flatten() {
        let count = bucket["doc_count"].as_u64().unwrap_or(0);
        if let Some(label) = bucket["key"]
            .as_str()
            .and_then(|key| key.parse::<Label>().ok())
        {
            counts[label_index(label)] += count;
        }
    }
    counts
}

fn millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

impl MentionIndex {
    fn aggregate(
        &self,
        query: &MentionQuery,
        filters: &Filters,
        request: Value,
    ) -> Result<Value, IndexError> {
        let aggregations: Aggregations = serde_json::from_value(request)
            .map_err(|error| IndexError::BadRequest(format!("aggregation request: {error}")))?;
        let context = AggContextParams::new(
            AggregationLimitsGuard::new(None, Some(MAX_TIMELINE_BUCKETS as u32 * 8)),
            Default::default(),
        );
        let collector = AggregationCollector::from_aggs(aggregations, context);
        let compiled = compile_request(&self.fields, query.root(), filters);
        let result = self.searcher().search(&*compiled, &collector)?;
        serde_json::to_value(result)
            .map_err(|error| IndexError::BadRequest(format!("aggregation result: {error}")))
    }

    /// Counts per time bucket and label: the timeline chart, and what the alert evaluator
    /// compares. Buckets are aligned on multiples of `interval` since the Unix epoch; with
    /// `since` and `until` set, every bucket of that range is present (empty ones too).
    pub fn timeline(
        &self,
        query: &MentionQuery,
        filters: &Filters,
        interval: Duration,
    ) -> Result<Vec<TimelineBucket>, IndexError> {
        let interval_ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
        if interval_ms == 0 {
            return Err(IndexError::BadRequest(
                "the timeline interval must be at least 1ms".into(),
            ));
        }
        let mut histogram = json!({
            "field": QueryField::PublishedAt.name(),
            "fixed_interval": format!("{interval_ms}ms"),
            "min_doc_count": 0,
        });
        if let (Some(since), Some(until)) = (filters.since, filters.until) {
            let (min, max) = (millis(since), millis(until) - 1);
            if max >= min {
                let buckets = (max - min) as u64 / interval_ms;
                if buckets > MAX_TIMELINE_BUCKETS {
                    return Err(IndexError::BadRequest(format!(
                        "the timeline would have {buckets} buckets; the limit is {MAX_TIMELINE_BUCKETS}"
                    )));
                }
                histogram["extended_bounds"] = json!({"min": min, "max": max});
                histogram["hard_bounds"] = json!({"min": min, "max": max});
            }
        }
        // The label split is a terms aggregation on `label` with the histogram under it: four
        // histograms (array-indexed buckets) are far cheaper than a terms sub-aggregation in
        // each of hundreds of time buckets. Every mention has exactly one label, so a bucket's
        // total is the sum over labels.
        let request = json!({
            "labels": {
                "terms": {"field": QueryField::Label.name(), "size": 8, "min_doc_count": 1},
                "aggs": {"timeline": {"date_histogram": histogram}}
            }
        });
        let result = self.aggregate(query, filters, request)?;
        let mut by_key: BTreeMap<i64, [u64; 5]> = BTreeMap::new();
        for label_bucket in result["labels"]["buckets"].as_array().into_iter().flatten() {
            let label = label_bucket["key"]
                .as_str()
                .and_then(|key| key.parse::<Label>().ok());
            for bucket in label_bucket["timeline"]["buckets"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let Some(key_ms) = bucket["key"].as_f64() else {
                    continue;
                };
                let count = bucket["doc_count"].as_u64().unwrap_or(0);
                let counts = by_key.entry(key_ms as i64).or_default();
                counts[0] += count;
                match label {
                    Some(Label::Positive) => counts[1] += count,
                    Some(Label::Neutral) => counts[2] += count,
                    Some(Label::Negative) => counts[3] += count,
                    Some(Label::Unscored) => counts[4] += count,
                    None => {}
                }
            }
        }
        // Like one histogram with `min_doc_count: 0`: every bucket from the first to the last
        // (from `since` to `until` when both are given) is present, empty ones too.
        let step = i64::try_from(interval_ms).unwrap_or(i64::MAX);
        let mut span = by_key
            .first_key_value()
            .map(|(first, _)| *first)
            .zip(by_key.last_key_value().map(|(last, _)| *last));
        if let Some(bounds) = histogram.get("extended_bounds") {
            if let (Some(min), Some(max)) = (bounds["min"].as_i64(), bounds["max"].as_i64()) {
                let min = min.div_euclid(step).saturating_mul(step);
                span = Some(match span {
                    Some((first, last)) => (first.min(min), last.max(max)),
                    None => (min, max),
                });
            }
        }
        if let Some((first, last)) = span {
            let count = (i128::from(last) - i128::from(first)) / i128::from(step);
            if count > i128::from(MAX_TIMELINE_BUCKETS) {
                return Err(IndexError::BadRequest(format!(
                    "the timeline would have {count} buckets; the limit is {MAX_TIMELINE_BUCKETS}"
                )));
            }
            let mut key = first;
            while key <= last {
                by_key.entry(key).or_default();
                key = match key.checked_add(step) {
                    Some(next) => next,
                    None => break,
                };
            }
        }
        let mut buckets = Vec::with_capacity(by_key.len());
        for (key_ms, [total, positive, neutral, negative, unscored]) in by_key {
            let start = OffsetDateTime::from_unix_timestamp_nanos(i128::from(key_ms) * 1_000_000)
                .map_err(|error| IndexError::BadRequest(format!("bucket key: {error}")))?;
            buckets.push(TimelineBucket {
                start,
                total,
                positive,
                neutral,
                negative,
                unscored,
            });
        }
        Ok(buckets)
    }

    /// The most frequent values of a field among the matching mentions, most first.
    pub fn top(
        &self,
        query: &MentionQuery,
        filters: &Filters,
        field: TopField,
        limit: usize,
    ) -> Result<Vec<(String, u64)>, IndexError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Per-segment candidates well beyond `limit` keep merged counts exact in practice.
        let segment_size = (limit * 10).max(1_000);
        let request = json!({
            "top": {"terms": {"field": field.column(), "size": limit, "segment_size": segment_size}}
        });
        let result = self.aggregate(query, filters, request)?;
        Ok(result["top"]["buckets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|bucket| {
                let key = match &bucket["key"] {
                    Value::String(key) => key.clone(),
                    other => other.to_string(),
                };
                Some((key, bucket["doc_count"].as_u64()?))
            })
            .collect())
    }

    /// How the matching mentions split by label.
    pub fn label_share(
        &self,
        query: &MentionQuery,
        filters: &Filters,
    ) -> Result<LabelShare, IndexError> {
        let request = json!({"labels": {"terms": {"field": QueryField::Label.name(), "size": 8}}});
        let result = self.aggregate(query, filters, request)?;
        let [positive, neutral, negative, unscored] =
            label_counts(Some(&result["labels"]["buckets"]));
        Ok(LabelShare {
            total: positive + neutral + negative + unscored,
            positive,
            neutral,
            negative,
            unscored,
        })
    }
}

/// A word that is more frequent in a window than in its baseline: what a spike is about.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SignificantTerm {
    /// The word, as the terms analyzer gives it (lowercased, folded, unstemmed).
    pub term: String,
    /// Matching mentions in the window that contain it.
    pub window_count: u64,
    /// Matching mentions in the baseline that contain it (0 when it is not among the
    /// baseline's most frequent [`SIGNIFICANT_TERMS_BASELINE_SIZE`] words).
    pub baseline_count: u64,
    /// Its share of the window's mentions.
    pub window_share: f64,
    /// Its share of the baseline's mentions, smoothed: `(count + 1) / (mentions + 2)`.
    pub baseline_share: f64,
    /// The JLH score: `(window_share − baseline_share) · window_share / baseline_share`.
    pub score: f64,
}

/// How many of the baseline's most frequent words are counted for [`MentionIndex::significant_terms`].
pub const SIGNIFICANT_TERMS_BASELINE_SIZE: usize = 10_000;

impl MentionIndex {
    /// The words whose frequency rose most in `window` against `baseline` (the same query, two
    /// sets of filters, usually two time ranges of one watch), highest score first.
    ///
    /// The score is the JLH score of Elasticsearch's `significant_terms`: the absolute rise in
    /// share times the relative rise, `(w − b) · w / b`, where `w` and `b` are the word's
    /// shares of the window's and the baseline's mentions. It favours words that are both
    /// common in the window and much more common than usual. The baseline share is smoothed
    /// with Laplace's rule of succession, `(count + 1) / (mentions + 2)`, so a word new in the
    /// window has a finite score even against an empty baseline.
    /// Words seen in fewer than `min_count` window mentions are left out.
    pub fn significant_terms(
        &self,
        query: &MentionQuery,
        window: &Filters,
        baseline: &Filters,
        limit: usize,
        min_count: u64,
    ) -> Result<Vec<SignificantTerm>, IndexError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let window_total = self.label_share(query, window)?.total;
        if window_total == 0 {
            return Ok(Vec::new());
        }
        let baseline_total = self.label_share(query, baseline)?.total;
        let window_terms = self.top(query, window, TopField::Term, 500)?;
        let baseline_terms: BTreeMap<String, u64> = self
            .top(
                query,
                baseline,
                TopField::Term,
                SIGNIFICANT_TERMS_BASELINE_SIZE,
            )?
            .into_iter()
            .collect();
        let mut terms: Vec<SignificantTerm> = window_terms
            .into_iter()
            .filter(|(_, count)| *count >= min_count.max(1))
            .map(|(term, window_count)| {
                let baseline_count = baseline_terms.get(&term).copied().unwrap_or(0);
                // Occurrences may exceed mentions for a repeated word: cap the share at 1.
                let window_share = (window_count as f64 / window_total as f64).min(1.0);
                // Laplace's rule of succession: finite for a word the baseline lacks, and
                // still meaningful when the baseline holds few mentions.
                let baseline_share =
                    ((baseline_count + 1) as f64 / (baseline_total + 2) as f64).min(1.0);
                let score = (window_share - baseline_share) * window_share / baseline_share;
                SignificantTerm {
                    term,
                    window_count,
                    baseline_count,
                    window_share,
                    baseline_share,
                    score,
                }
            })
            .filter(|term| term.score > 0.0)
            .collect();
        terms.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.term.cmp(&b.term))
        });
        terms.truncate(limit);
        Ok(terms)
    }
}
