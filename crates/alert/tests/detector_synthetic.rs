//! The default detector on generated series with injected bursts: a check against fitting the
//! public benchmark, on data it has never seen, whose right answers are known.
//!
//! Each series is four weeks of 5-minute counts with a day-and-week rhythm, day-to-day level
//! drift, and an ordinary short blip every day (the heavy tail real mention counts have). Into
//! the last three weeks, three bursts are injected: four times the usual for one to three
//! hours. Run with `--nocapture` to see the figures quoted in BENCHMARKS.md.
// Test code: a failure is a failed test, so panicking is the right response.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use earful_alert::{AlertKind, DetectorSettings, SeriesMonitor};
use earful_core::config::Sensitivity;
use time::macros::datetime;

const PER_DAY: usize = 288;
const DAYS: usize = 28;

/// SplitMix64: seeded, so every run sees the same series.
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

    fn normal(&mut self) -> f64 {
        (-2.0 * self.uniform().max(1e-300).ln()).sqrt()
            * (2.0 * std::f64::consts::PI * self.uniform()).cos()
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.uniform() * bound as f64) as usize % bound
    }

    fn poisson(&mut self, mean: f64) -> f64 {
        if mean <= 0.0 {
            return 0.0;
        }
        if mean > 60.0 {
            return (mean + mean.sqrt() * self.normal()).round().max(0.0);
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

fn rhythm(index: usize, peak: f64) -> f64 {
    let hour = (index % PER_DAY) as f64 / 12.0;
    let daily = 0.15 + 0.85 * (0.5 - 0.5 * ((hour - 3.0) / 24.0 * std::f64::consts::TAU).cos());
    let weekly = if (index / PER_DAY) % 7 >= 5 { 0.6 } else { 1.0 };
    peak * daily * weekly
}

struct Series {
    values: Vec<f64>,
    /// Start and length of each injected burst, in buckets.
    bursts: Vec<(usize, usize)>,
}

fn generate(seed: u64, peak: f64) -> Series {
    let mut noise = Noise(seed);
    let mut means: Vec<f64> = (0..DAYS * PER_DAY)
        .map(|index| rhythm(index, peak))
        .collect();
    for day in 0..DAYS {
        // Day-to-day drift of the level, about ±20 %.
        let drift = (0.2 * noise.normal()).exp();
        for mean in &mut means[day * PER_DAY..(day + 1) * PER_DAY] {
            *mean *= drift;
        }
        // One ordinary blip a day: twice the usual for 15 minutes.
        let blip = day * PER_DAY + noise.below(PER_DAY - 3);
        for mean in &mut means[blip..blip + 3] {
            *mean *= 2.0;
        }
    }
    // Three bursts, one in each of the last three weeks, during the day.
    let mut bursts = Vec::new();
    for week in 1..4 {
        let day = week * 7 + noise.below(7);
        let start = day * PER_DAY + 10 * 12 + noise.below(8 * 12);
        let length = 12 + noise.below(25);
        for mean in &mut means[start..start + length] {
            *mean *= 4.0;
        }
        bursts.push((start, length));
    }
    let values = means.iter().map(|mean| noise.poisson(*mean)).collect();
    Series { values, bursts }
}

/// What one preset made of the generated series.
#[derive(Debug)]
struct Tally {
    found: usize,
    bursts: usize,
    median_delay: usize,
    false_alarms: usize,
    weeks: f64,
}

fn evaluate(settings: &DetectorSettings) -> Tally {
    let start = datetime!(2026-11-02 00:00 UTC);
    let mut found = 0;
    let mut bursts = 0;
    let mut delays = Vec::new();
    let mut false_alarms = 0;
    let mut weeks = 0.0;
    for seed in 0..24u64 {
        let peak = [8.0, 30.0, 120.0, 600.0][seed as usize % 4];
        let series = generate(seed, peak);
        let mut monitor =
            SeriesMonitor::new("synthetic", AlertKind::NegativeSpike, settings.clone());
        let mut alarms = Vec::new();
        for (index, value) in series.values.iter().enumerate() {
            let bucket_start = start + time::Duration::minutes(5 * index as i64);
            if monitor.observe(bucket_start, *value).unwrap().is_alarm() {
                alarms.push(index);
            }
        }
        let in_burst = |alarm: &usize| {
            series
                .bursts
                .iter()
                .any(|(burst_start, length)| (*burst_start..burst_start + length).contains(alarm))
        };
        for (burst_start, length) in &series.bursts {
            bursts += 1;
            if let Some(alarm) = alarms
                .iter()
                .find(|alarm| (*burst_start..burst_start + length).contains(alarm))
            {
                found += 1;
                delays.push(alarm - burst_start);
            }
        }
        false_alarms += alarms.iter().filter(|alarm| !in_burst(alarm)).count();
        // The warm-up day cannot alarm.
        weeks += (DAYS - 1) as f64 / 7.0;
    }
    delays.sort_unstable();
    Tally {
        found,
        bursts,
        median_delay: delays.get(delays.len() / 2).copied().unwrap_or(usize::MAX),
        false_alarms,
        weeks,
    }
}

#[test]
fn injected_bursts_are_found_early_and_quiet_weeks_stay_quiet() {
    let bucket = std::time::Duration::from_secs(300);
    let mut tallies = Vec::new();
    for sensitivity in [Sensitivity::Fewer, Sensitivity::Balanced, Sensitivity::More] {
        let tally = evaluate(&DetectorSettings::from_sensitivity(sensitivity, bucket));
        println!(
            "synthetic, {sensitivity:?}: {}/{} bursts found, median delay {} buckets, {} false \
             alarms in {:.1} series-weeks ({:.2} a week)",
            tally.found,
            tally.bursts,
            tally.median_delay,
            tally.false_alarms,
            tally.weeks,
            tally.false_alarms as f64 / tally.weeks
        );
        tallies.push(tally);
    }
    let [fewer, balanced, more] = [&tallies[0], &tallies[1], &tallies[2]];
    // Balanced: most 4x bursts, within minutes, and well under one false alarm a week. The
    // bursts it misses are those that land on a quiet day and rise less than 3x its level.
    assert!(balanced.found * 10 >= balanced.bursts * 8, "{balanced:?}");
    assert!(balanced.median_delay <= 3, "{balanced:?}");
    assert!(
        balanced.false_alarms as f64 / balanced.weeks <= 0.5,
        "{balanced:?}"
    );
    // The presets trade one for the other in order.
    assert!(
        fewer.found <= balanced.found && balanced.found <= more.found,
        "{tallies:?}"
    );
    assert!(fewer.false_alarms <= balanced.false_alarms, "{tallies:?}");
    assert!(balanced.false_alarms <= more.false_alarms, "{tallies:?}");
}
