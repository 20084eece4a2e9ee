//! Gathering an alert's evidence from the index: what was counted, what rose, where it came
//! from and which posts drove it.

use earful_core::{Label, MentionQuery};
use earful_index::{Filters, IndexError, MentionIndex, SearchRequest, Sort, TopField};
use earful_sentiment::Analyzer;
use time::OffsetDateTime;

use crate::alert::{
    BucketReading, Evidence, MentionEvidence, RisingTerm, ShareChange, SourceCount, TimeRange,
    TokenValence,
};
use crate::detector::Observation;
use crate::lifecycle::AlertKind;

/// How far back the baseline of the rising terms and the negative share reaches.
pub const BASELINE_DAYS: i64 = 7;
/// Most-reached mentions kept.
pub const TOP_MENTIONS: usize = 5;
/// Rising terms kept.
pub const RISING_TERMS: usize = 10;
/// Top sources kept.
pub const TOP_SOURCES: usize = 5;
/// Characters of a mention's text kept.
const TEXT_CHARS: usize = 280;

/// The label an alert kind counts, if it counts one.
pub fn counted_label(kind: AlertKind) -> Option<Label> {
    match kind {
        AlertKind::NegativeSpike => Some(Label::Negative),
        AlertKind::PraiseSurge => Some(Label::Positive),
        AlertKind::VolumeSpike => None,
    }
}

/// What [`gather`] needs to know about the episode.
#[derive(Debug)]
pub struct EpisodeReadings<'a> {
    /// The watch.
    pub watch: &'a str,
    /// The kind.
    pub kind: AlertKind,
    /// The bucket width in seconds.
    pub bucket_seconds: u64,
    /// The window the evidence covers.
    pub window: TimeRange,
    /// The detector's readings of the window's buckets.
    pub observations: &'a [Observation],
    /// The episode's highest-scoring bucket.
    pub peak: &'a Observation,
}

/// Reads an episode's evidence from the index.
pub fn gather(
    index: &MentionIndex,
    analyzer: &Analyzer,
    episode: &EpisodeReadings<'_>,
) -> Result<Evidence, IndexError> {
    let everything = MentionQuery::parse("")
        .map_err(|error| IndexError::BadRequest(format!("the match-all query: {error}")))?;
    let baseline = TimeRange {
        start: episode.window.start - time::Duration::days(BASELINE_DAYS),
        end: episode.window.start,
    };
    let range = |range: TimeRange, label: Option<Label>| Filters {
        watch: Some(episode.watch.to_string()),
        since: Some(range.start),
        until: Some(range.end),
        label,
        ..Filters::default()
    };
    let label = counted_label(episode.kind);
    let window_share = index.label_share(&everything, &range(episode.window, None))?;
    let baseline_share = index.label_share(&everything, &range(baseline, None))?;
    let observed = match label {
        Some(label) => window_share.count(label),
        None => window_share.total,
    };
    let expected: f64 = episode
        .observations
        .iter()
        .map(|observation| observation.expected)
        .sum();
    // The spike's mentions against everything said about the watch the week before: what is
    // different from the usual conversation (the watch's own name, which is in every mention,
    // does not rise).
    let rising_terms = index
        .significant_terms(
            &everything,
            &range(episode.window, label),
            &range(baseline, None),
            RISING_TERMS,
            2,
        )?
        .into_iter()
        .map(|term| RisingTerm {
            term: term.term,
            window_count: term.window_count,
            baseline_count: term.baseline_count,
            score: round(term.score, 4),
        })
        .collect();
    let top_sources = index
        .top(
            &everything,
            &range(episode.window, label),
            TopField::Source,
            TOP_SOURCES,
        )?
        .into_iter()
        .map(|(source, count)| SourceCount { source, count })
        .collect();
    let mut request = SearchRequest::new(everything);
    request.filters = range(episode.window, label);
    request.sort = Sort::MostReached;
    request.limit = TOP_MENTIONS;
    let top_mentions = index
        .search(&request)?
        .hits
        .into_iter()
        .map(|hit| mention_evidence(analyzer, hit.mention))
        .collect();
    Ok(Evidence {
        bucket_seconds: episode.bucket_seconds,
        window: episode.window,
        baseline,
        observed,
        expected: round(expected, 2),
        score: round(episode.peak.score, 3),
        peak: BucketReading {
            bucket_start: episode.peak.bucket_start,
            observed: episode.peak.observed,
            expected: round(episode.peak.expected, 2),
            score: round(episode.peak.score, 3),
        },
        total: window_share.total,
        negative_share: ShareChange {
            window: round(window_share.share(Label::Negative), 4),
            baseline: round(baseline_share.share(Label::Negative), 4),
        },
        rising_terms,
        top_sources,
        top_mentions,
    })
}

fn mention_evidence(analyzer: &Analyzer, mention: earful_core::Mention) -> MentionEvidence {
    let scored = mention.sentiment.compound.is_some();
    let because = if scored {
        analyzer
            .score_explained(&mention.text)
            .tokens
            .into_iter()
            .filter(|token| token.valence != 0.0)
            .map(|token| TokenValence {
                token: token.token,
                valence: round(token.valence, 4),
            })
            .collect()
    } else {
        Vec::new()
    };
    let text = if mention.text.chars().count() > TEXT_CHARS {
        let mut short: String = mention.text.chars().take(TEXT_CHARS - 1).collect();
        short.push('…');
        short
    } else {
        mention.text
    };
    MentionEvidence {
        id: mention.id,
        url: mention.url,
        author: mention.author,
        author_reach: mention.author_reach,
        published_at: mention.published_at,
        title: mention.title,
        text,
        compound: mention.sentiment.compound,
        because,
    }
}

fn round(value: f64, decimals: i32) -> f64 {
    if !value.is_finite() {
        return 0.0;
    }
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// The end of the bucket that starts at `start`.
pub fn bucket_end(start: OffsetDateTime, bucket_seconds: u64) -> OffsetDateTime {
    start + time::Duration::seconds(i64::try_from(bucket_seconds).unwrap_or(i64::MAX))
}
