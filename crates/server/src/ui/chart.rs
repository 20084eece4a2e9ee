//! The volume chart: stacked bars of mentions per time bucket, split by sentiment, drawn as
//! SVG on the server so the page needs no script.

use std::time::Duration;

use earful_core::time::format_timestamp;
use earful_index::TimelineBucket;
use time::OffsetDateTime;

/// Bucket widths the chart chooses from, smallest first.
const NICE_INTERVALS: [u64; 12] = [
    60,
    5 * 60,
    15 * 60,
    30 * 60,
    3_600,
    3 * 3_600,
    6 * 3_600,
    12 * 3_600,
    86_400,
    2 * 86_400,
    7 * 86_400,
    30 * 86_400,
];

/// Most bars on a chart.
pub(crate) const MAX_BARS: u64 = 60;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 160.0;
const AXIS: f64 = 18.0;

/// The smallest nice bucket width that covers `span` in at most [`MAX_BARS`] bars.
pub(crate) fn interval_for(span: time::Duration) -> Duration {
    let seconds = u64::try_from(span.whole_seconds()).unwrap_or(0);
    let wanted = seconds.div_ceil(MAX_BARS).max(1);
    let chosen = NICE_INTERVALS
        .into_iter()
        .find(|nice| *nice >= wanted)
        .unwrap_or(wanted.div_ceil(86_400) * 86_400);
    Duration::from_secs(chosen)
}

/// Aligns `at` down to a multiple of `interval` since the epoch, as the index's buckets are.
pub(crate) fn align(at: OffsetDateTime, interval: Duration) -> OffsetDateTime {
    let step = i64::try_from(interval.as_secs()).unwrap_or(i64::MAX).max(1);
    let seconds = at.unix_timestamp().div_euclid(step) * step;
    OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(at)
}

/// One rectangle of the chart.
#[derive(Debug)]
pub(crate) struct Bar {
    pub x: String,
    pub y: String,
    pub width: String,
    pub height: String,
    /// `positive`, `neutral`, `negative` or `unscored`: the CSS class that colours it.
    pub label: &'static str,
    /// The tooltip: bucket start, label and count.
    pub title: String,
}

/// A time label under the chart.
#[derive(Debug)]
pub(crate) struct Tick {
    pub x: String,
    pub text: String,
}

/// A vertical marker (an alert) on the chart.
#[derive(Debug)]
pub(crate) struct Marker {
    pub x: String,
    pub title: String,
    /// The alert's page.
    pub href: String,
}

/// A drawn chart.
#[derive(Debug)]
pub(crate) struct Chart {
    pub width: String,
    pub height: String,
    pub plot_height: String,
    pub bars: Vec<Bar>,
    pub ticks: Vec<Tick>,
    pub markers: Vec<Marker>,
    pub largest: u64,
    pub interval: String,
}

fn number(value: f64) -> String {
    format!("{value:.1}")
}

fn interval_name(interval: Duration) -> String {
    let seconds = interval.as_secs();
    match seconds {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// Draws `buckets` (in time order, all of the same `interval`), with a marker at each of
/// `markers` (a time, its tooltip and the page it links to) that falls within them.
pub(crate) fn draw(
    buckets: &[TimelineBucket],
    interval: Duration,
    markers: &[(OffsetDateTime, String, String)],
) -> Chart {
    let largest = buckets.iter().map(|bucket| bucket.total).max().unwrap_or(0);
    let plot_height = HEIGHT - AXIS;
    let slot = WIDTH / buckets.len().max(1) as f64;
    let bar_width = (slot * 0.85).max(1.0);
    let scale = if largest == 0 {
        0.0
    } else {
        plot_height / largest as f64
    };
    let mut bars = Vec::new();
    let mut ticks = Vec::new();
    let tick_every = (buckets.len() / 6).max(1);
    for (position, bucket) in buckets.iter().enumerate() {
        let x = position as f64 * slot;
        let mut base = plot_height;
        // Negative at the bottom, where a spike is easiest to see.
        for (label, count) in [
            ("negative", bucket.negative),
            ("neutral", bucket.neutral),
            ("positive", bucket.positive),
            ("unscored", bucket.unscored),
        ] {
            if count == 0 {
                continue;
            }
            let height = count as f64 * scale;
            base -= height;
            bars.push(Bar {
                x: number(x),
                y: number(base),
                width: number(bar_width),
                height: number(height),
                label,
                title: format!("{}: {count} {label}", format_timestamp(bucket.start)),
            });
        }
        if position % tick_every == 0 {
            ticks.push(Tick {
                x: number(x),
                text: tick_text(bucket.start, interval),
            });
        }
    }
    let markers = match buckets.first() {
        Some(first) => {
            let span = interval.as_secs_f64() * buckets.len() as f64;
            markers
                .iter()
                .filter_map(|(at, title, href)| {
                    let offset = (*at - first.start).as_seconds_f64();
                    (0.0..span).contains(&offset).then(|| Marker {
                        x: number(offset / span * WIDTH),
                        title: title.clone(),
                        href: href.clone(),
                    })
                })
                .collect()
        }
        None => Vec::new(),
    };
    Chart {
        width: number(WIDTH),
        height: number(HEIGHT),
        plot_height: number(plot_height),
        bars,
        ticks,
        markers,
        largest,
        interval: interval_name(interval),
    }
}

fn tick_text(at: OffsetDateTime, interval: Duration) -> String {
    let stamp = format_timestamp(at);
    if interval.as_secs() >= 86_400 {
        stamp.chars().take(10).collect()
    } else {
        // `MM-DD HH:MM`
        format!(
            "{} {}",
            stamp.get(5..10).unwrap_or(""),
            stamp.get(11..16).unwrap_or("")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn intervals_keep_the_chart_within_its_bars() {
        assert_eq!(
            interval_for(time::Duration::hours(1)),
            Duration::from_secs(60)
        );
        assert_eq!(
            interval_for(time::Duration::days(1)),
            Duration::from_secs(30 * 60)
        );
        assert_eq!(
            interval_for(time::Duration::days(30)),
            Duration::from_secs(12 * 3_600)
        );
        assert_eq!(
            interval_for(time::Duration::days(90)),
            Duration::from_secs(2 * 86_400)
        );
        assert_eq!(interval_for(time::Duration::ZERO), Duration::from_secs(60));
        let decade = interval_for(time::Duration::days(3_650));
        assert!(decade.as_secs() * MAX_BARS >= 3_650 * 86_400);
    }

    #[test]
    fn bars_stack_to_the_bucket_total() {
        let bucket = |start, negative, positive| TimelineBucket {
            start,
            total: negative + positive,
            positive,
            neutral: 0,
            negative,
            unscored: 0,
        };
        let chart = draw(
            &[
                bucket(datetime!(2026-11-22 10:00 UTC), 3, 1),
                bucket(datetime!(2026-11-22 11:00 UTC), 0, 0),
                bucket(datetime!(2026-11-22 12:00 UTC), 1, 1),
            ],
            Duration::from_secs(3_600),
            &[
                (
                    datetime!(2026-11-22 11:30 UTC),
                    "alert".to_string(),
                    "/alerts/al_1".to_string(),
                ),
                (
                    datetime!(2026-11-22 13:00 UTC),
                    "after".to_string(),
                    "/alerts/al_2".to_string(),
                ),
            ],
        );
        assert_eq!(chart.markers.len(), 1);
        assert_eq!(chart.markers[0].x, "360.0");
        assert_eq!(chart.markers[0].href, "/alerts/al_1");
        assert_eq!(chart.largest, 4);
        assert_eq!(chart.bars.len(), 4);
        // The tallest bucket fills the plot: 3 negative + 1 positive = 142 px.
        let first: f64 = chart.bars[..2]
            .iter()
            .map(|bar| bar.height.parse::<f64>().unwrap())
            .sum();
        assert!((first - (HEIGHT - AXIS)).abs() < 0.2, "{first}");
        assert_eq!(chart.bars[0].label, "negative");
        assert!(chart.bars[0].title.contains("3 negative"));
        assert_eq!(chart.interval, "1h");
        assert_eq!(
            align(datetime!(2026-11-22 10:17:03 UTC), Duration::from_secs(900)),
            datetime!(2026-11-22 10:15 UTC)
        );
    }
}
