//! The spike detector and its alert hygiene, on series whose right answer is known.
// Test code: a failure is a failed test, so panicking is the right response.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use earful_alert::detector::Reading;
use earful_alert::lifecycle::TrackerState;
use earful_alert::{
    AlertKind, AlertTracker, Detector, DetectorError, DetectorSettings, Observation, SeriesMonitor,
    Transition,
};
use earful_core::config::Sensitivity;
use proptest::prelude::*;
use time::macros::datetime;
use time::OffsetDateTime;

const BUCKET: i64 = 300;
const PER_DAY: usize = 288;

/// A Monday at midnight UTC: series start here so weekdays are predictable.
fn start() -> OffsetDateTime {
    datetime!(2026-11-02 00:00 UTC)
}

fn bucket(index: usize) -> OffsetDateTime {
    start() + time::Duration::seconds(BUCKET * index as i64)
}

/// SplitMix64: a small, seeded generator, so the noisy series are the same on every run.
struct Noise(u64);

impl Noise {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A Poisson draw: Knuth's product method for small means, a rounded normal for large.
    fn poisson(&mut self, mean: f64) -> f64 {
        if mean <= 0.0 {
            return 0.0;
        }
        if mean > 60.0 {
            let normal = (-2.0 * self.uniform().max(1e-300).ln()).sqrt()
                * (2.0 * std::f64::consts::PI * self.uniform()).cos();
            return (mean + mean.sqrt() * normal).round().max(0.0);
        }
        let limit = (-mean).exp();
        let mut product = self.uniform();
        let mut count = 0.0;
        while product > limit {
            product *= self.uniform();
            count += 1.0;
        }
        count
    }
}

/// A day-and-week rhythm: quiet nights, busy afternoons, quieter weekends.
fn rhythm(index: usize, peak: f64) -> f64 {
    let hour = (index % PER_DAY) as f64 / 12.0;
    let daily = 0.15 + 0.85 * (0.5 - 0.5 * ((hour - 3.0) / 24.0 * std::f64::consts::TAU).cos());
    let weekday = (index / PER_DAY) % 7;
    let weekly = if weekday >= 5 { 0.5 } else { 1.0 };
    peak * daily * weekly
}

fn run(series: &[f64]) -> (SeriesMonitor, Vec<(usize, Transition)>) {
    let mut monitor = SeriesMonitor::new(
        "acme",
        AlertKind::NegativeSpike,
        DetectorSettings::default(),
    );
    let mut transitions = Vec::new();
    for (index, value) in series.iter().enumerate() {
        let step = monitor.observe(bucket(index), *value).unwrap();
        if let Some(transition) = step.transition {
            transitions.push((index, transition));
        }
    }
    (monitor, transitions)
}

fn fired(transitions: &[(usize, Transition)]) -> Vec<usize> {
    transitions
        .iter()
        .filter(|(_, transition)| matches!(transition, Transition::Fired { .. }))
        .map(|(index, _)| *index)
        .collect()
}

fn background(days: usize, peak: f64, seed: u64) -> Vec<f64> {
    let mut noise = Noise(seed);
    (0..days * PER_DAY)
        .map(|index| noise.poisson(rhythm(index, peak)))
        .collect()
}

proptest! {
    // Each case streams days of buckets; a dozen cases cover the ranges well enough.
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn a_flat_series_never_alerts(level in 0u32..2_000, days in 2usize..6) {
        let series = vec![f64::from(level); days * PER_DAY];
        let (_, transitions) = run(&series);
        prop_assert!(transitions.is_empty(), "{transitions:?}");
    }

    #[test]
    fn a_noisy_flat_series_never_fires(mean in 0.0f64..500.0, seed in any::<u64>()) {
        let mut noise = Noise(seed);
        let series: Vec<f64> = (0..4 * PER_DAY).map(|_| noise.poisson(mean)).collect();
        let (_, transitions) = run(&series);
        prop_assert!(fired(&transitions).is_empty(), "{transitions:?}");
    }

    #[test]
    fn a_clear_step_alerts_once(level in 5u32..300, seed in any::<u64>()) {
        let mut noise = Noise(seed);
        let base = f64::from(level);
        let mut series: Vec<f64> = (0..3 * PER_DAY).map(|_| noise.poisson(base)).collect();
        let step_at = series.len();
        // Ten times the usual, at least 50 mentions, for three hours; then back to normal.
        let high = (10.0 * base).max(50.0);
        series.extend((0..36).map(|_| noise.poisson(high)));
        series.extend((0..PER_DAY).map(|_| noise.poisson(base)));
        let (_, transitions) = run(&series);
        let alarms = fired(&transitions);
        prop_assert_eq!(alarms.len(), 1, "{:?}", transitions);
        prop_assert!(alarms[0] >= step_at && alarms[0] <= step_at + 2, "{:?}", alarms);
        let resolved: Vec<_> = transitions
            .iter()
            .filter(|(_, transition)| matches!(transition, Transition::Resolved { .. }))
            .collect();
        prop_assert_eq!(resolved.len(), 1, "{:?}", transitions);
        // The same episode identity from pending to resolved.
        let ids: Vec<_> = transitions.iter().map(|(_, transition)| transition.id().clone()).collect();
        prop_assert!(ids.windows(2).all(|pair| pair[0] == pair[1]), "{:?}", ids);
        prop_assert_eq!(ids[0].started_at, bucket(step_at));
    }

    #[test]
    fn a_daily_rhythm_alone_does_not_alert(peak in 5.0f64..1_000.0, seed in any::<u64>()) {
        let series = background(10, peak, seed);
        let (_, transitions) = run(&series);
        prop_assert!(fired(&transitions).is_empty(), "{transitions:?}");
    }

    #[test]
    fn replaying_history_rebuilds_the_same_state(
        values in proptest::collection::vec(0u32..400, 0..2_000),
        gaps in proptest::collection::vec(0usize..3, 0..2_000),
    ) {
        let history: Vec<(OffsetDateTime, f64)> = values
            .iter()
            .zip(gaps.iter().chain(std::iter::repeat(&0)))
            .scan(0usize, |index, (value, gap)| {
                *index += 1 + gap;
                Some((bucket(*index), f64::from(*value)))
            })
            .collect();
        let mut live =
            SeriesMonitor::new("acme", AlertKind::NegativeSpike, DetectorSettings::default());
        let mut live_transitions = Vec::new();
        for (bucket_start, value) in &history {
            live_transitions.extend(live.observe(*bucket_start, *value).unwrap().transition);
        }
        let (rebuilt, transitions, skipped) = SeriesMonitor::rebuild(
            "acme",
            AlertKind::NegativeSpike,
            DetectorSettings::default(),
            history.iter().copied(),
        );
        prop_assert_eq!(skipped, 0);
        prop_assert_eq!(&rebuilt, &live);
        prop_assert_eq!(transitions, live_transitions);
        let (detector, _) = Detector::rebuild(DetectorSettings::default(), history);
        prop_assert_eq!(&detector, live.detector());
    }
}

#[test]
fn a_burst_on_a_rhythm_fires_and_past_bursts_do_not_raise_the_bar() {
    let mut series = background(10, 120.0, 7);
    // Day 8 from 14:00 UTC, five times the usual for two hours; again from 20:00, inside the
    // cooldown; and on day 9 from 16:00, after it.
    let first = 8 * PER_DAY + 14 * 12;
    let aftershock = 8 * PER_DAY + 20 * 12;
    let next_day = 9 * PER_DAY + 16 * 12;
    for start in [first, aftershock, next_day] {
        for value in &mut series[start..start + 24] {
            *value *= 5.0;
        }
    }
    let (_, transitions) = run(&series);
    let alarms = fired(&transitions);
    assert_eq!(alarms.len(), 2, "{transitions:?}");
    assert!((first..first + 3).contains(&alarms[0]), "{alarms:?}");
    // The first burst did not become part of the baseline or of the bar.
    assert!((next_day..next_day + 3).contains(&alarms[1]), "{alarms:?}");
}

#[test]
fn a_sustained_rise_fires_through_the_window_score() {
    let mut noise = Noise(11);
    let mut series: Vec<f64> = (0..3 * PER_DAY).map(|_| noise.poisson(4.0)).collect();
    let rise_at = series.len();
    // Three times the usual for hours: no single bucket is remarkable, the hour is.
    series.extend((0..48).map(|_| noise.poisson(12.0)));
    let mut monitor = SeriesMonitor::new(
        "acme",
        AlertKind::NegativeSpike,
        DetectorSettings::default(),
    );
    let mut alarm = None;
    for (index, value) in series.iter().enumerate() {
        let step = monitor.observe(bucket(index), *value).unwrap();
        if step.is_alarm() {
            alarm = Some((index, step.observation));
        }
    }
    let (index, observation) = alarm.expect("the rise fires");
    assert!(index > rise_at && index < rise_at + 24, "{index}");
    assert!(observation.window.score >= observation.bucket.score);
    assert!(observation.window.observed > 2.0 * observation.window.expected);
}

#[test]
fn nothing_fires_during_the_warm_up() {
    let mut series = vec![10.0; PER_DAY + 24];
    for value in &mut series[100..130] {
        *value = 500.0;
    }
    let (_, transitions) = run(&series);
    assert!(transitions.is_empty(), "{transitions:?}");
}

#[test]
fn gaps_are_buckets_with_no_mentions() {
    let settings = DetectorSettings::default();
    let mut with_gaps = Detector::new(settings.clone());
    let mut with_zeros = Detector::new(settings);
    for index in 0..600 {
        let value = (index % 17) as f64;
        if index % 5 == 0 {
            with_zeros.observe(bucket(index), 0.0).unwrap();
        } else {
            with_gaps.observe(bucket(index), value).unwrap();
            with_zeros.observe(bucket(index), value).unwrap();
        }
    }
    let after_gaps = with_gaps.observe(bucket(601), 3.0).unwrap();
    let after_zeros = with_zeros.observe(bucket(601), 3.0).unwrap();
    assert_eq!(after_gaps, after_zeros);
}

#[test]
fn buckets_out_of_order_or_bad_are_refused_and_change_nothing() {
    let mut detector = Detector::new(DetectorSettings::default());
    detector.observe(bucket(1), 4.0).unwrap();
    let before = detector.clone();
    assert_eq!(
        detector.observe(bucket(1), 5.0),
        Err(DetectorError::OutOfOrder {
            bucket_start: bucket(1),
            last: bucket(1)
        })
    );
    assert!(matches!(
        detector.observe(bucket(2), f64::NAN),
        Err(DetectorError::BadValue { .. })
    ));
    assert!(matches!(
        detector.observe(bucket(2), -1.0),
        Err(DetectorError::BadValue { .. })
    ));
    assert_eq!(detector, before);
    let error = detector.observe(bucket(0), 1.0).unwrap_err().to_string();
    assert!(
        error.contains("is not after the last observed bucket"),
        "{error}"
    );
}

#[test]
fn scoring_the_open_bucket_learns_nothing() {
    let mut detector = Detector::new(DetectorSettings::default());
    for index in 0..400 {
        detector.observe(bucket(index), 20.0).unwrap();
    }
    let before = detector.clone();
    let peek = detector.score(bucket(400), 90.0).unwrap();
    assert_eq!(detector, before);
    assert_eq!(detector.observe(bucket(400), 90.0).unwrap(), peek);
}

#[test]
fn presets_order_by_sensitivity() {
    let bucket_width = Duration::from_secs(300);
    let fewer = DetectorSettings::from_sensitivity(Sensitivity::Fewer, bucket_width);
    let balanced = DetectorSettings::from_sensitivity(Sensitivity::Balanced, bucket_width);
    let more = DetectorSettings::from_sensitivity(Sensitivity::More, bucket_width);
    assert_eq!(balanced, DetectorSettings::default());
    assert!(fewer.fire_score > balanced.fire_score && balanced.fire_score > more.fire_score);
    assert!(fewer.min_count > balanced.min_count && balanced.min_count > more.min_count);
    assert!(fewer.cooldown > balanced.cooldown && balanced.cooldown > more.cooldown);

    // A moderate burst: `more` hears it, `fewer` does not.
    let mut series = background(9, 40.0, 3);
    let burst = 8 * PER_DAY + 15 * 12;
    for value in &mut series[burst..burst + 12] {
        *value *= 2.5;
    }
    let count_alarms = |settings: DetectorSettings| {
        let mut monitor = SeriesMonitor::new("acme", AlertKind::NegativeSpike, settings);
        series
            .iter()
            .enumerate()
            .filter(|(index, value)| monitor.observe(bucket(*index), **value).unwrap().is_alarm())
            .count()
    };
    assert_eq!(count_alarms(fewer), 0);
    assert!(count_alarms(more) >= 1);
}

// Hygiene alone, on hand-made observations: every threshold is exercised exactly.

fn observation(index: usize, score: f64) -> Observation {
    let reading = Reading {
        observed: 100.0,
        expected: 10.0,
        sigma: 1.0,
        score,
        meets_floor: true,
    };
    Observation {
        bucket_start: bucket(index),
        observed: 100.0,
        expected: 10.0,
        bucket: reading.clone(),
        window: reading,
        score,
        threshold: 5.0,
        weekday_factor: 1.0,
        meets_floor: true,
        ready: true,
    }
}

fn tracker() -> AlertTracker {
    AlertTracker::new("acme", AlertKind::PraiseSurge, DetectorSettings::default())
}

#[test]
fn a_single_alarming_bucket_stays_pending_and_is_cancelled() {
    let mut tracker = tracker();
    assert!(matches!(
        tracker.update(&observation(0, 50.0)),
        Some(Transition::Pending { .. })
    ));
    assert_eq!(tracker.state(bucket(0)), TrackerState::Pending);
    assert!(matches!(
        tracker.update(&observation(1, 4.9)),
        Some(Transition::Cancelled { .. })
    ));
    assert_eq!(tracker.state(bucket(1)), TrackerState::Quiet);
    // Cancelling starts no cooldown: the next alarming pair fires.
    assert!(tracker.update(&observation(2, 6.0)).is_some());
    let fired = tracker.update(&observation(3, 6.0));
    let Some(Transition::Fired { id, notify, .. }) = fired else {
        panic!("{fired:?}");
    };
    assert_eq!(id.started_at, bucket(2));
    assert_eq!(id.to_string(), "acme/praise_surge/2026-11-02T00:10:00Z");
    assert!(notify);
}

#[test]
fn firing_holds_through_dips_and_resolves_with_hysteresis() {
    let settings = DetectorSettings::default();
    let mut tracker = tracker();
    tracker.update(&observation(0, 8.0));
    assert!(matches!(
        tracker.update(&observation(1, 9.0)),
        Some(Transition::Fired { .. })
    ));
    let mut index = 2;
    // Below the firing threshold but above the resolve threshold: still the same episode.
    for _ in 0..20 {
        assert_eq!(tracker.update(&observation(index, 3.0)), None);
        index += 1;
    }
    // Calm runs shorter than resolve_buckets, broken by an elevated bucket, do not resolve.
    for _ in 0..settings.resolve_buckets - 1 {
        assert_eq!(tracker.update(&observation(index, 0.5)), None);
        index += 1;
    }
    assert_eq!(tracker.update(&observation(index, 2.5)), None);
    index += 1;
    assert_eq!(tracker.state(bucket(index)), TrackerState::Firing);
    for _ in 0..settings.resolve_buckets - 1 {
        assert_eq!(tracker.update(&observation(index, 0.5)), None);
        index += 1;
    }
    let resolved = tracker.update(&observation(index, 0.5));
    let Some(Transition::Resolved {
        id,
        resolved_at,
        peak,
        ..
    }) = resolved
    else {
        panic!("{resolved:?}");
    };
    assert_eq!(id.started_at, bucket(0));
    assert_eq!(resolved_at, bucket(index));
    assert_eq!(peak.score, 9.0);
    assert_eq!(tracker.state(bucket(index)), TrackerState::Cooldown);
}

#[test]
fn the_cooldown_suppresses_new_episodes_until_it_ends() {
    let settings = DetectorSettings::default();
    let cooldown_buckets = (settings.cooldown.as_secs() / BUCKET as u64) as usize;
    let mut tracker = tracker();
    tracker.update(&observation(0, 8.0));
    tracker.update(&observation(1, 8.0));
    let mut index = 2;
    let resolved_at = loop {
        if let Some(Transition::Resolved { .. }) = tracker.update(&observation(index, 0.0)) {
            break index;
        }
        index += 1;
    };
    // Alarming buckets inside the cooldown start nothing.
    for index in [resolved_at + 1, resolved_at + cooldown_buckets - 1] {
        assert_eq!(tracker.update(&observation(index, 20.0)), None);
        assert_eq!(tracker.state(bucket(index)), TrackerState::Cooldown);
    }
    let after = resolved_at + cooldown_buckets;
    assert_eq!(tracker.state(bucket(after)), TrackerState::Quiet);
    let pending = tracker.update(&observation(after, 20.0));
    let Some(Transition::Pending { id, .. }) = pending else {
        panic!("{pending:?}");
    };
    assert_eq!(id.started_at, bucket(after));
}

#[test]
fn a_silence_mutes_notifications_not_detection() {
    let mut tracker = tracker();
    tracker.silence_until(Some(bucket(3)));
    tracker.update(&observation(0, 8.0));
    let fired = tracker.update(&observation(1, 8.0));
    assert!(
        matches!(fired, Some(Transition::Fired { notify: false, .. })),
        "{fired:?}"
    );
    assert!(tracker.acknowledge());
    assert!(tracker
        .episode()
        .is_some_and(|episode| episode.acknowledged));
    let mut index = 2;
    let resolved = loop {
        if let Some(transition) = tracker.update(&observation(index, 0.0)) {
            break transition;
        }
        index += 1;
    };
    // The silence ended at bucket 3: the resolve is told, and carries the acknowledgement.
    assert!(
        matches!(
            resolved,
            Transition::Resolved {
                notify: true,
                acknowledged: true,
                ..
            }
        ),
        "{resolved:?}"
    );
    assert!(!tracker.acknowledge());
}

#[test]
fn buckets_that_are_not_ready_or_below_the_floor_never_start_an_episode() {
    let mut tracker = tracker();
    let mut warming = observation(0, 50.0);
    warming.ready = false;
    assert_eq!(tracker.update(&warming), None);
    let mut thin = observation(1, 50.0);
    thin.meets_floor = false;
    assert_eq!(tracker.update(&thin), None);
    let mut below_burst_level = observation(2, 50.0);
    below_burst_level.threshold = 60.0;
    assert_eq!(tracker.update(&below_burst_level), None);
}

#[test]
fn the_anomaly_score_reaches_one_half_exactly_on_alarming_buckets() {
    let mut series = background(4, 60.0, 5);
    for value in &mut series[3 * PER_DAY + 150..3 * PER_DAY + 170] {
        *value *= 6.0;
    }
    let mut detector = Detector::new(DetectorSettings::default());
    let mut alarming = 0;
    for (index, value) in series.iter().enumerate() {
        let observation = detector.observe(bucket(index), *value).unwrap();
        let anomaly_score = observation.anomaly_score();
        assert!((0.0..1.0).contains(&anomaly_score), "{observation:?}");
        assert_eq!(
            anomaly_score >= 0.5,
            observation.is_alarming(),
            "{observation:?}"
        );
        if !observation.ready {
            assert_eq!(anomaly_score, 0.0);
        }
        alarming += usize::from(observation.is_alarming());
    }
    assert!(alarming > 0);
}
