//! The spike detector: how unusual is this bucket's count, given the same hours of past days?
//!
//! One [`Detector`] follows one count series (one watch × one
//! [`AlertKind`](crate::lifecycle::AlertKind)): the number of negative mentions per bucket for
//! `negative_spike`, all mentions for `volume_spike`, positive ones for `praise_surge`. It
//! streams: [`Detector::observe`] takes each closed bucket once, in order, and never looks
//! ahead. Its state is a pure function of the buckets it was fed, so
//! replaying the indexed history through [`Detector::rebuild`] gives back exactly the state a
//! long-running daemon had (DESIGN.md invariant 2: nothing about the detector is saved).
//!
//! # The method
//!
//! Mention counts are bursty, heavy-tailed and follow the clock (people post by day, less at
//! weekends), so the detector compares each bucket with the same hour of past days, uses
//! medians so that past bursts do not raise the bar, and measures surprise on a scale where
//! count noise is even.
//!
//! **Variance-stabilised counts.** Each count `y` is read through the Anscombe transform
//! `A(y) = 2·√(y + 3/8)`. For Poisson counts `A(y)` is close to normal with variance 1,
//! whatever the mean, so a difference of `A` values means the same at 3 mentions a bucket as at
//! 3 000 (a plain z-score on raw counts fires constantly on small series and never on big ones).
//!
//! **Baseline by hour of day.** The detector keeps, for each of the 24 hours of the day (UTC),
//! the last [`DetectorSettings::history_days`] days of bucket counts that fell in that hour
//! (12 a day with 5-minute buckets). For a bucket starting in hour `h`:
//!
//! - `m_h = median{ A(y_i) }` over that hour's history, and
//! - `s_h = 1.4826 · median{ |A(y_i) − m_h| }` (the MAD, scaled to match a standard deviation
//!   under normal noise).
//!
//! Medians ignore up to half the history being bursts; and the values stored are winsorised
//! (see below), so a long burst cannot teach the baseline that bursts are normal.
//!
//! **Day of week.** Whole UTC days are totalled. Once at least two earlier days of the same
//! weekday `d` are known (within [`DetectorSettings::weekday_weeks`] weeks), the factor
//! `f_d = median(totals of weekday d) / median(totals of all days)`, clamped to `[1/4, 4]`,
//! scales the expected count; before that `f_d = 1`. Hour and weekday thus combine
//! multiplicatively, which needs only two weeks of data, where 168 hour-of-week slots would
//! need months.
//!
//! **Expected count and score.** With `μ = f_d · A⁻¹(m_h)`, where `A⁻¹(a) = (a/2)² − 3/8`
//! (floored at 0), the expected count is `μ` and the score is
//!
//! ```text
//! z = (A(y) − A(μ)) / σ,   σ = max(s_h, 1)
//! ```
//!
//! `σ` is never below 1, the Poisson noise level on the Anscombe scale: even a series that has
//! been perfectly flat is allowed its natural count noise. `z` reads like a normal z-score: 3
//! is rare, 6 is very rare.
//!
//! **Bucket and window.** The same comparison is made twice: for the bucket alone
//! ([`Observation::bucket`]) and for the sum of the last [`DetectorSettings::window`] of
//! buckets, this one included ([`Observation::window`]), against a baseline of such sums kept
//! the same way per hour of day. A sudden burst shows in the bucket; a sustained rise (three
//! times the usual for an hour, no single bucket remarkable) shows in the window. The
//! observation's score is the larger of the two among those that meet the volume floor.
//!
//! **The series' own burstiness.** Mention counts are heavy-tailed: a big brand sees bursts of
//! `z = 10` most days, which are news to nobody. So the score needed to alarm is
//!
//! ```text
//! threshold = max(fire_score, q)
//! ```
//!
//! where `q` is the [`DetectorSettings::peak_quantile`] of the daily peaks: the highest score
//! of each of the last [`DetectorSettings::burst_days`] whole UTC days. With the default 0.75
//! and 7 days, `q` is the 6th of the 7 daily peaks in ascending order: an alert means "more
//! unusual than the peaks of all but the busiest day or two of the past week", and never less
//! than `fire_score`. Because it is a quantile of days, not of buckets, a burst (however long)
//! on one day of the week does not raise the bar for the next one.
//!
//! **Minimum volume.** A high `z` alone is not an alert: the bucket (or the window) must also
//! hold at least [`DetectorSettings::min_count`] mentions and at least
//! [`DetectorSettings::min_ratio`] times the expected count (so two complaints on a quiet night
//! are not a "spike", and a 10 % wobble on a huge series is not one either); the window counts
//! only while the bucket itself is above its expected count, so an hour that held a burst that
//! is already over cannot start an alert. [`Observation::meets_floor`] says whether the
//! reading behind the score met its floor.
//!
//! **Warm-up.** Until [`DetectorSettings::warmup`] of history has been seen (every hour of the
//! day at least once), [`Observation::ready`] is false and no alert can fire.
//!
//! **Winsorising.** Once ready, the value stored into history is capped at the count that would
//! score `z = clip_score` as a bucket: `A⁻¹(A(μ) + clip_score · σ)`; window sums are kept from
//! the capped values. Normal buckets are stored as they are; a burst is remembered as "high"
//! but not as its full height, so the baseline still adapts to a real rise in level within a
//! few days while a one-off burst barely moves it.
//!
//! A bucket is *alarming* ([`Observation::is_alarming`]) when it is ready, meets the floor and
//! scores at least its threshold. Turning alarming buckets into one alert per episode (pending,
//! firing, resolving, cooldown) is [`crate::lifecycle::AlertTracker`]'s job, with the same
//! [`DetectorSettings`].

use std::collections::VecDeque;
use std::time::Duration;

use earful_core::config::Sensitivity;
use serde::Serialize;
use time::{Date, OffsetDateTime, Weekday};

/// Hours in a day: one baseline slot each.
const HOURS_PER_DAY: usize = 24;
/// The factor that turns a median absolute deviation into a standard deviation under normal
/// noise.
const MAD_TO_SIGMA: f64 = 1.4826;
/// The Poisson noise level on the Anscombe scale: the least `σ` can be.
const MIN_SIGMA: f64 = 1.0;
/// How far the day-of-week factor may move the expected count, either way.
const WEEKDAY_FACTOR_LIMIT: f64 = 4.0;
/// The highest `anomaly_score` of a bucket that is not alarming.
const BELOW_ALARMING: f64 = 0.499_999;
/// A day counts towards the weekday factors when at least this share of its buckets was seen.
const COMPLETE_DAY_SHARE: f64 = 0.9;

/// Why a bucket could not be observed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DetectorError {
    /// The bucket is not after the last bucket observed: buckets must arrive in order, once.
    #[error("bucket {bucket_start} is not after the last observed bucket {last}")]
    OutOfOrder {
        /// The bucket offered.
        bucket_start: OffsetDateTime,
        /// The last bucket observed.
        last: OffsetDateTime,
    },
    /// The count is negative, infinite or not a number.
    #[error("bucket {bucket_start}: `{value}` is not a count")]
    BadValue {
        /// The bucket offered.
        bucket_start: OffsetDateTime,
        /// The value offered.
        value: f64,
    },
}

/// Everything the detector and the alert hygiene need, from a sensitivity preset.
///
/// The fields are public so that a reader can see (and an alert can quote) what was applied;
/// the presets are the supported way to choose them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DetectorSettings {
    /// The width of one bucket.
    pub bucket: Duration,
    /// How many past days each hour-of-day slot remembers.
    pub history_days: u32,
    /// The span of the window score: a sustained rise shows in the window's sum before any
    /// single bucket looks unusual.
    pub window: Duration,
    /// How many past weeks the day-of-week factors look at.
    pub weekday_weeks: u32,
    /// How much history is needed before an alert may fire.
    pub warmup: Duration,
    /// The least count a bucket must hold to be alarming.
    pub min_count: f64,
    /// The least ratio of observed to expected count for a bucket to be alarming.
    pub min_ratio: f64,
    /// The score from which a bucket is alarming (and counts towards firing).
    pub fire_score: f64,
    /// While firing, the score must stay below this for the episode to resolve (hysteresis).
    pub resolve_score: f64,
    /// Consecutive alarming buckets needed to fire (the pending period, in buckets).
    pub pending_buckets: u32,
    /// Consecutive calm buckets needed to resolve.
    pub resolve_buckets: u32,
    /// After an episode resolves, how long before the same series may fire again.
    pub cooldown: Duration,
    /// Stored values are capped at the count that scores this (winsorising).
    pub clip_score: f64,
    /// Which quantile of the recent daily peak scores describes the series' ordinary
    /// burstiness (0.5: the median day).
    pub peak_quantile: f64,
    /// How many past days of peaks that quantile looks at.
    pub burst_days: u32,
}

impl DetectorSettings {
    /// The settings of a sensitivity preset for a bucket width.
    ///
    /// `balanced` is chosen for a brand manager: one alert early in a real burst, not one per
    /// bucket, and no alert for what the same hour of an ordinary day brings:
    ///
    /// - a week of history per hour of day (recent enough to follow a brand's growth, long
    ///   enough that one bad day is a minority in every median), weekday factors from 4 weeks;
    /// - one day of warm-up, so every hour of the day has been seen before anything fires;
    /// - `z ≥ 5` and above the peak of all but the busiest day or two of the past week, with at
    ///   least 10 mentions and twice the expected count: big, and unusual for this brand (a
    ///   brand manager wants the week's story, not every day's peak);
    /// - 2 alarming buckets in a row to fire (10 minutes), 6 calm ones (30 minutes, below
    ///   `z = 2`) to resolve;
    /// - a 12-hour cooldown: a story's second wave, as other time zones wake up, is the same
    ///   story; the next day's is news again.
    ///
    /// `fewer` asks for bigger, longer bursts that beat every day of the past week, and waits a
    /// day between episodes; `more` fires on the first alarming bucket of smaller rises that
    /// beat the median day's peak, and cools down for 6 hours.
    pub fn from_sensitivity(sensitivity: Sensitivity, bucket: Duration) -> DetectorSettings {
        let balanced = DetectorSettings {
            bucket,
            history_days: 7,
            window: Duration::from_secs(3_600),
            weekday_weeks: 4,
            warmup: Duration::from_secs(86_400),
            min_count: 10.0,
            min_ratio: 2.0,
            fire_score: 5.0,
            resolve_score: 2.0,
            pending_buckets: 2,
            resolve_buckets: 6,
            cooldown: Duration::from_secs(12 * 3_600),
            clip_score: 3.0,
            peak_quantile: 0.75,
            burst_days: 7,
        };
        match sensitivity {
            Sensitivity::Balanced => balanced,
            Sensitivity::Fewer => DetectorSettings {
                min_count: 20.0,
                min_ratio: 3.0,
                fire_score: 7.0,
                pending_buckets: 3,
                cooldown: Duration::from_secs(24 * 3_600),
                peak_quantile: 1.0,
                ..balanced
            },
            Sensitivity::More => DetectorSettings {
                min_count: 5.0,
                min_ratio: 1.5,
                fire_score: 3.5,
                resolve_score: 1.5,
                pending_buckets: 1,
                cooldown: Duration::from_secs(6 * 3_600),
                peak_quantile: 0.5,
                ..balanced
            },
        }
    }

    /// How many buckets of one hour-of-day slot are remembered.
    fn slot_capacity(&self) -> usize {
        let per_hour = (3_600 / self.bucket_seconds()).max(1);
        (per_hour * u64::from(self.history_days.max(1))) as usize
    }

    /// How many buckets the window score sums (at least one).
    fn window_buckets(&self) -> usize {
        (self.window.as_secs() / self.bucket_seconds()).max(1) as usize
    }

    /// The bucket width in whole seconds, at least one.
    fn bucket_seconds(&self) -> u64 {
        self.bucket.as_secs().max(1)
    }

    /// How many buckets the warm-up lasts.
    fn warmup_buckets(&self) -> u64 {
        self.warmup.as_secs().div_ceil(self.bucket_seconds())
    }
}

impl Default for DetectorSettings {
    /// `balanced`, 5-minute buckets.
    fn default() -> DetectorSettings {
        DetectorSettings::from_sensitivity(Sensitivity::Balanced, Duration::from_secs(300))
    }
}

/// One count compared with its baseline.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Reading {
    /// The count.
    pub observed: f64,
    /// The count the baseline expected (`μ` in the module docs).
    pub expected: f64,
    /// The noise level `σ` the score was divided by (Anscombe scale, at least 1).
    pub sigma: f64,
    /// How unusual the count is: `z = (A(observed) − A(expected)) / σ`.
    pub score: f64,
    /// Whether the count is at least `min_count` and `min_ratio` times the expected count (for
    /// the window, also: the bucket itself is above its expected count).
    pub meets_floor: bool,
}

/// What the detector made of one bucket: enough to explain "how unusual".
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Observation {
    /// The bucket's start.
    #[serde(with = "earful_core::time::rfc3339")]
    pub bucket_start: OffsetDateTime,
    /// The count in the bucket.
    pub observed: f64,
    /// The count the baseline expected for the bucket.
    pub expected: f64,
    /// The bucket alone: its count against its baseline.
    pub bucket: Reading,
    /// The window ending with this bucket (by default the last hour): its sum against the
    /// baseline of such sums.
    pub window: Reading,
    /// How unusual this bucket is: the larger of the bucket's and the window's scores, among
    /// those that meet the volume floor (of both, when neither does).
    pub score: f64,
    /// The score this bucket needed to be alarming: `max(fire_score, q)`, where `q` is the
    /// [`DetectorSettings::peak_quantile`] of the recent daily peak scores.
    pub threshold: f64,
    /// The day-of-week factor `f_d` applied to the hour-of-day median.
    pub weekday_factor: f64,
    /// Whether the reading behind [`Observation::score`] meets the volume floor.
    pub meets_floor: bool,
    /// Whether the warm-up is over: before that nothing may fire.
    pub ready: bool,
}

impl Observation {
    /// Whether this bucket is alarming: ready, above the floor, and scoring at least its
    /// [`Observation::threshold`].
    pub fn is_alarming(&self) -> bool {
        self.ready && self.meets_floor && self.score >= self.threshold
    }

    /// The score mapped to `[0, 1)`: `z⁺ / (z⁺ + threshold)`, so that it is at least 0.5
    /// exactly when the bucket is alarming. It is 0 during the warm-up and held below 0.5 when
    /// the volume floor is not met. This is the `anomaly_score` column of `earful detect`.
    pub fn anomaly_score(&self) -> f64 {
        let positive = self.score.max(0.0);
        if !self.ready || positive == 0.0 {
            return 0.0;
        }
        let mapped = positive / (positive + self.threshold.max(f64::MIN_POSITIVE));
        if self.is_alarming() {
            mapped
        } else {
            mapped.min(BELOW_ALARMING)
        }
    }
}

/// One completed (or in-progress) UTC day's total, for the weekday factors.
#[derive(Clone, Debug, PartialEq)]
struct DayTotal {
    date: Date,
    total: f64,
    buckets: u64,
}

/// The detector for one series. See the [module docs](self) for the method.
#[derive(Clone, Debug, PartialEq)]
pub struct Detector {
    settings: DetectorSettings,
    /// Per hour of day, the Anscombe values of the remembered buckets, oldest first.
    slots: Vec<VecDeque<f64>>,
    /// Per hour of day, the Anscombe values of the window sums ending at those buckets.
    window_slots: Vec<VecDeque<f64>>,
    /// The last `window_buckets − 1` counts as observed, oldest first.
    recent_observed: VecDeque<f64>,
    /// The same counts as stored (winsorised), oldest first.
    recent_stored: VecDeque<f64>,
    /// Completed days, oldest first.
    days: VecDeque<DayTotal>,
    /// The day in progress.
    today: Option<DayTotal>,
    /// The last bucket observed.
    last_bucket: Option<OffsetDateTime>,
    /// Buckets observed (gaps filled with zeros included).
    buckets_seen: u64,
    /// The highest score of each of the last `burst_days` days, oldest first.
    daily_peaks: VecDeque<f64>,
    /// The day in progress and its highest score so far.
    today_peak: Option<(Date, f64)>,
}

impl Detector {
    /// A detector with no history.
    pub fn new(settings: DetectorSettings) -> Detector {
        Detector {
            slots: vec![VecDeque::new(); HOURS_PER_DAY],
            window_slots: vec![VecDeque::new(); HOURS_PER_DAY],
            recent_observed: VecDeque::new(),
            recent_stored: VecDeque::new(),
            days: VecDeque::new(),
            today: None,
            last_bucket: None,
            buckets_seen: 0,
            daily_peaks: VecDeque::new(),
            today_peak: None,
            settings,
        }
    }

    /// Rebuilds a detector from history, oldest bucket first, exactly as if each bucket had been
    /// observed live. Buckets out of order or with a bad value are skipped and counted in the
    /// second element, so one bad row cannot lose the rest of the history.
    pub fn rebuild(
        settings: DetectorSettings,
        history: impl IntoIterator<Item = (OffsetDateTime, f64)>,
    ) -> (Detector, usize) {
        let mut detector = Detector::new(settings);
        let mut skipped = 0;
        for (bucket_start, value) in history {
            if detector.observe(bucket_start, value).is_err() {
                skipped += 1;
            }
        }
        (detector, skipped)
    }

    /// The settings in use.
    pub fn settings(&self) -> &DetectorSettings {
        &self.settings
    }

    /// The last bucket observed, if any.
    pub fn last_bucket(&self) -> Option<OffsetDateTime> {
        self.last_bucket
    }

    /// Scores a closed bucket, then learns from it. Buckets must come in order, once each; a
    /// gap of missing buckets is read as buckets with no mentions (which is what they are: the
    /// index had none).
    pub fn observe(
        &mut self,
        bucket_start: OffsetDateTime,
        value: f64,
    ) -> Result<Observation, DetectorError> {
        // Checks first, so a refused bucket changes nothing.
        self.score(bucket_start, value)?;
        if let Some(last) = self.last_bucket {
            let width = time::Duration::seconds(self.settings.bucket_seconds() as i64);
            for step in self.missing_steps_between(last, bucket_start) {
                let empty_bucket = last + width * step;
                let empty = self.score_unchecked(empty_bucket, 0.0);
                self.learn(&empty);
            }
        }
        let observation = self.score_unchecked(bucket_start, value);
        self.learn(&observation);
        self.last_bucket = Some(bucket_start);
        Ok(observation)
    }

    /// Scores a bucket without learning from it: for the bucket still filling up, or a what-if.
    /// The same checks as [`Detector::observe`] apply. Buckets skipped since the last observed
    /// one are not filled in (that would be learning); for the bucket right after the last
    /// observed one, the result is exactly what [`Detector::observe`] will return.
    pub fn score(
        &self,
        bucket_start: OffsetDateTime,
        value: f64,
    ) -> Result<Observation, DetectorError> {
        if !value.is_finite() || value < 0.0 {
            return Err(DetectorError::BadValue {
                bucket_start,
                value,
            });
        }
        if let Some(last) = self.last_bucket {
            if bucket_start <= last {
                return Err(DetectorError::OutOfOrder { bucket_start, last });
            }
        }
        Ok(self.score_unchecked(bucket_start, value))
    }

    /// The steps (in buckets after `last`) of the buckets skipped before `next`; only the most
    /// recent ones the slots can hold, since older zeros would be forgotten anyway.
    fn missing_steps_between(
        &self,
        last: OffsetDateTime,
        next: OffsetDateTime,
    ) -> std::ops::Range<i32> {
        let elapsed = (next - last).whole_seconds().max(0) as u64;
        let steps = elapsed / self.settings.bucket_seconds();
        let cap = (self.settings.slot_capacity() * HOURS_PER_DAY) as u64;
        let first = steps.saturating_sub(cap).max(1);
        let first = i32::try_from(first).unwrap_or(i32::MAX);
        let end = i32::try_from(steps).unwrap_or(i32::MAX);
        first..end
    }

    fn score_unchecked(&self, bucket_start: OffsetDateTime, value: f64) -> Observation {
        let hour = usize::from(bucket_start.hour());
        let weekday_factor = self.weekday_factor(bucket_start.weekday());
        let bucket = self.read(&self.slots[hour], weekday_factor, value);
        let window_sum = value + self.recent_observed.iter().sum::<f64>();
        let mut window = self.read(&self.window_slots[hour], weekday_factor, window_sum);
        // The window speaks only for a rise still under way: once the bucket is back below its
        // expected count, an hour that held a burst is not a reason to start an alert.
        if bucket.observed <= bucket.expected {
            window.meets_floor = false;
        }
        let (score, meets_floor) = match (bucket.meets_floor, window.meets_floor) {
            (true, true) | (false, false) => (bucket.score.max(window.score), bucket.meets_floor),
            (true, false) => (bucket.score, true),
            (false, true) => (window.score, true),
        };
        let threshold = quantile(&self.daily_peaks, self.settings.peak_quantile)
            .map_or(self.settings.fire_score, |burst| {
                burst.max(self.settings.fire_score)
            });
        let ready = self.buckets_seen >= self.settings.warmup_buckets()
            && self.slots.iter().all(|slot| !slot.is_empty());
        Observation {
            bucket_start,
            observed: value,
            expected: bucket.expected,
            bucket,
            window,
            score,
            threshold,
            weekday_factor,
            meets_floor,
            ready,
        }
    }

    /// Compares one count with the baseline held in `slot`.
    fn read(&self, slot: &VecDeque<f64>, weekday_factor: f64, observed: f64) -> Reading {
        let (median, sigma) = match median_and_sigma(slot) {
            Some((median, mad_sigma)) => (median, mad_sigma.max(MIN_SIGMA)),
            None => (anscombe(0.0), MIN_SIGMA),
        };
        let expected = weekday_factor * inverse_anscombe(median);
        Reading {
            observed,
            expected,
            sigma,
            score: (anscombe(observed) - anscombe(expected)) / sigma,
            meets_floor: observed >= self.settings.min_count
                && observed >= self.settings.min_ratio * expected,
        }
    }

    /// Adds a scored bucket to the history, winsorised once the baseline is ready.
    fn learn(&mut self, observation: &Observation) {
        let stored = if observation.ready {
            let bucket = &observation.bucket;
            let cap = inverse_anscombe(
                anscombe(bucket.expected) + self.settings.clip_score * bucket.sigma,
            );
            observation.observed.min(cap)
        } else {
            observation.observed
        };
        let hour = usize::from(observation.bucket_start.hour());
        let capacity = self.settings.slot_capacity();
        push_bounded(&mut self.slots[hour], anscombe(stored), capacity);
        let window_sum = stored + self.recent_stored.iter().sum::<f64>();
        push_bounded(&mut self.window_slots[hour], anscombe(window_sum), capacity);
        let window_rest = self.settings.window_buckets() - 1;
        push_bounded(&mut self.recent_observed, observation.observed, window_rest);
        push_bounded(&mut self.recent_stored, stored, window_rest);
        self.add_to_day(observation.bucket_start.date(), stored);
        if observation.ready {
            self.add_to_peaks(observation.bucket_start.date(), observation.score);
        }
        self.buckets_seen += 1;
    }

    fn add_to_peaks(&mut self, date: Date, score: f64) {
        match &mut self.today_peak {
            Some((today, peak)) if *today == date => {
                *peak = peak.max(score);
                return;
            }
            _ => {}
        }
        if let Some((_, peak)) = self.today_peak.replace((date, score)) {
            let keep = self.settings.burst_days.max(1) as usize;
            push_bounded(&mut self.daily_peaks, peak, keep);
        }
    }

    fn add_to_day(&mut self, date: Date, value: f64) {
        match &mut self.today {
            Some(today) if today.date == date => {
                today.total += value;
                today.buckets += 1;
                return;
            }
            _ => {}
        }
        let finished = self.today.replace(DayTotal {
            date,
            total: value,
            buckets: 1,
        });
        let buckets_per_day = 86_400 / self.settings.bucket_seconds();
        if let Some(day) = finished {
            if day.buckets as f64 >= COMPLETE_DAY_SHARE * buckets_per_day as f64 {
                self.days.push_back(day);
            }
        }
        let keep = (self.settings.weekday_weeks.max(1) * 7) as usize;
        while self.days.len() > keep {
            self.days.pop_front();
        }
    }

    /// `f_d`: the median total of past `weekday`s over the median total of all past days.
    fn weekday_factor(&self, weekday: Weekday) -> f64 {
        let mut same_day: Vec<f64> = self
            .days
            .iter()
            .filter(|day| day.date.weekday() == weekday)
            .map(|day| day.total)
            .collect();
        if same_day.len() < 2 {
            return 1.0;
        }
        let mut all_days: Vec<f64> = self.days.iter().map(|day| day.total).collect();
        let (Some(same), Some(all)) = (median(&mut same_day), median(&mut all_days)) else {
            return 1.0;
        };
        if all <= 0.0 {
            return 1.0;
        }
        (same / all).clamp(1.0 / WEEKDAY_FACTOR_LIMIT, WEEKDAY_FACTOR_LIMIT)
    }
}

/// The Anscombe transform `A(y) = 2·√(y + 3/8)`: Poisson counts become roughly normal with
/// variance 1.
pub fn anscombe(count: f64) -> f64 {
    2.0 * (count.max(0.0) + 0.375).sqrt()
}

/// The inverse of [`anscombe`], floored at a count of 0.
pub fn inverse_anscombe(value: f64) -> f64 {
    let half = value.max(0.0) / 2.0;
    (half * half - 0.375).max(0.0)
}

/// The median of the slot and its MAD scaled to a standard deviation.
fn median_and_sigma(values: &VecDeque<f64>) -> Option<(f64, f64)> {
    let mut sorted: Vec<f64> = values.iter().copied().collect();
    let center = median(&mut sorted)?;
    let mut deviations: Vec<f64> = values.iter().map(|value| (value - center).abs()).collect();
    let spread = median(&mut deviations)?;
    Some((center, MAD_TO_SIGMA * spread))
}

/// Appends to a queue that keeps only its newest `capacity` values.
fn push_bounded(queue: &mut VecDeque<f64>, value: f64, capacity: usize) {
    queue.push_back(value);
    while queue.len() > capacity {
        queue.pop_front();
    }
}

/// The `q`-quantile (nearest rank) of the values, or None when there are none.
fn quantile(values: &VecDeque<f64>, q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted: Vec<f64> = values.iter().copied().collect();
    let rank = ((q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    let (_, value, _) = sorted.select_nth_unstable_by(rank - 1, f64::total_cmp);
    Some(*value)
}

/// The median (mean of the two middle values for an even count); reorders `values`.
fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let middle = values.len() / 2;
    let (_, upper_middle, _) = values.select_nth_unstable_by(middle, f64::total_cmp);
    let upper = *upper_middle;
    if values.len() % 2 == 1 {
        return Some(upper);
    }
    let lower = values[..middle]
        .iter()
        .copied()
        .max_by(f64::total_cmp)
        .unwrap_or(upper);
    Some((lower + upper) / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn anscombe_round_trips() {
        for count in [0.0, 1.0, 7.0, 250.0, 13_479.0] {
            let back = inverse_anscombe(anscombe(count));
            assert!((back - count).abs() < 1e-9, "{count} -> {back}");
        }
    }
}
