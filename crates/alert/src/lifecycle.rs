//! Alert hygiene: turning a stream of [`Observation`]s into one alert per episode.
//!
//! An [`AlertTracker`] follows one series (one watch × one [`AlertKind`]) and moves through
//! these states, one bucket at a time:
//!
//! ```text
//!            alarming bucket                pending_buckets alarming in a row
//!   quiet ───────────────────▶ pending ──────────────────────────────────────▶ firing
//!     ▲                                    │ a calm bucket: cancelled          │
//!     │                                    ▼                                   │ resolve_buckets
//!     └────────── cooldown ◀──────────── quiet                                 │ in a row with
//!          (no new episode until                                               │ score < resolve_score
//!           resolved_at + cooldown) ◀──────────── resolved ◀──────────────────┘
//! ```
//!
//! - A bucket is *alarming* when [`Observation::is_alarming`]: the warm-up is over, the
//!   minimum volume is met and the score reaches the bucket's threshold (at least
//!   [`DetectorSettings::fire_score`], higher for a series that is bursty every day).
//! - The *pending period* asks for [`DetectorSettings::pending_buckets`] alarming buckets in a
//!   row, so one odd bucket does not wake anyone, however high: a single bucket of a
//!   retweet storm or a bot blast is not yet a story, and waiting one more bucket costs minutes.
//! - The episode's identity is (watch, kind, first alarming bucket): [`EpisodeId`]. It never
//!   changes while the episode lasts, so notifications keyed by it are sent once however often
//!   the series is re-evaluated or rebuilt (DESIGN.md invariant 3).
//! - *Keep firing while elevated, resolve with hysteresis*: once firing, only
//!   [`DetectorSettings::resolve_buckets`] buckets in a row scoring below the lower
//!   [`DetectorSettings::resolve_score`] (or below the volume floor) resolve it; a burst that
//!   dips for a bucket or two stays one episode.
//! - *Cooldown*: after an episode resolves, the series cannot start a new one for
//!   [`DetectorSettings::cooldown`]; an aftershock is part of the story already told.
//! - *Silences and acknowledgement* change who is told, never what is detected: a silenced
//!   tracker still goes pending, fires and resolves, but its transitions carry
//!   `notify: false`. Acknowledging marks the current episode; the store keeps both.
//!
//! The alarm bucket (the `alarm` column of `earful detect`) is the bucket of
//! [`Transition::Fired`].

use earful_core::time::format_timestamp;
use serde::Serialize;
use std::fmt;
use time::OffsetDateTime;

use crate::detector::{Detector, DetectorError, DetectorSettings, Observation};

pub use earful_core::config::AlertKind;

/// The stable identity of one alert episode: (watch, kind, episode start).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct EpisodeId {
    /// The watch the series belongs to.
    pub watch: String,
    /// The series' kind.
    pub kind: AlertKind,
    /// The first alarming bucket of the episode.
    #[serde(with = "earful_core::time::rfc3339")]
    pub started_at: OffsetDateTime,
}

impl fmt::Display for EpisodeId {
    /// `acme/negative_spike/2026-11-22T10:15:00Z`: readable, and unique per episode.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{}/{}/{}",
            self.watch,
            self.kind,
            format_timestamp(self.started_at)
        )
    }
}

/// Where a tracker is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackerState {
    /// Nothing unusual.
    Quiet,
    /// Alarming, but not yet for long enough to fire.
    Pending,
    /// An alert is out.
    Firing,
    /// An episode resolved recently; no new one may start yet.
    Cooldown,
}

/// One episode, pending or firing.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Episode {
    /// Its identity.
    pub id: EpisodeId,
    /// The bucket it fired on, once it has.
    #[serde(with = "earful_core::time::rfc3339::option")]
    pub fired_at: Option<OffsetDateTime>,
    /// The highest-scoring bucket so far.
    pub peak: Observation,
    /// The latest bucket.
    pub latest: Observation,
    /// Consecutive alarming buckets (while pending) or calm buckets (while firing).
    pub run: u32,
    /// Whether someone acknowledged it.
    pub acknowledged: bool,
}

/// A change of state worth recording (and, when `notify` is set, telling someone about).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Transition {
    /// The first alarming bucket of a possible episode.
    Pending {
        /// The episode.
        id: EpisodeId,
        /// The bucket.
        observation: Observation,
    },
    /// A pending episode calmed down before firing.
    Cancelled {
        /// The episode.
        id: EpisodeId,
    },
    /// The alert fires: this bucket is the alarm bucket.
    Fired {
        /// The episode.
        id: EpisodeId,
        /// The bucket it fired on.
        observation: Observation,
        /// The highest-scoring bucket of the episode so far.
        peak: Observation,
        /// False while the watch is silenced.
        notify: bool,
    },
    /// The episode is over.
    Resolved {
        /// The episode.
        id: EpisodeId,
        /// The bucket that completed the calm run.
        #[serde(with = "earful_core::time::rfc3339")]
        resolved_at: OffsetDateTime,
        /// The highest-scoring bucket of the episode.
        peak: Observation,
        /// Whether it was acknowledged.
        acknowledged: bool,
        /// False while the watch is silenced.
        notify: bool,
    },
}

impl Transition {
    /// The episode the transition belongs to.
    pub fn id(&self) -> &EpisodeId {
        match self {
            Transition::Pending { id, .. }
            | Transition::Cancelled { id }
            | Transition::Fired { id, .. }
            | Transition::Resolved { id, .. } => id,
        }
    }
}

/// Alert hygiene for one series. See the [module docs](self).
#[derive(Clone, Debug, PartialEq)]
pub struct AlertTracker {
    watch: String,
    kind: AlertKind,
    settings: DetectorSettings,
    episode: Option<Episode>,
    cooldown_until: Option<OffsetDateTime>,
    silenced_until: Option<OffsetDateTime>,
}

impl AlertTracker {
    /// A quiet tracker for `watch` × `kind`.
    pub fn new(watch: impl Into<String>, kind: AlertKind, settings: DetectorSettings) -> Self {
        AlertTracker {
            watch: watch.into(),
            kind,
            settings,
            episode: None,
            cooldown_until: None,
            silenced_until: None,
        }
    }

    /// Where the tracker is, as of `now` (a bucket start, for the cooldown).
    pub fn state(&self, now: OffsetDateTime) -> TrackerState {
        match &self.episode {
            Some(episode) if episode.fired_at.is_some() => TrackerState::Firing,
            Some(_) => TrackerState::Pending,
            None if self.in_cooldown(now) => TrackerState::Cooldown,
            None => TrackerState::Quiet,
        }
    }

    /// The episode under way (pending or firing), if any.
    pub fn episode(&self) -> Option<&Episode> {
        self.episode.as_ref()
    }

    /// Suppresses notifications for buckets before `until` (None lifts the silence). Detection
    /// goes on: an episode that fires while silenced is still recorded.
    pub fn silence_until(&mut self, until: Option<OffsetDateTime>) {
        self.silenced_until = until;
    }

    /// Marks the firing episode acknowledged; false when nothing is firing.
    pub fn acknowledge(&mut self) -> bool {
        match &mut self.episode {
            Some(episode) if episode.fired_at.is_some() => {
                episode.acknowledged = true;
                true
            }
            _ => false,
        }
    }

    fn in_cooldown(&self, now: OffsetDateTime) -> bool {
        self.cooldown_until.is_some_and(|until| now < until)
    }

    fn is_silenced(&self, now: OffsetDateTime) -> bool {
        self.silenced_until.is_some_and(|until| now < until)
    }

    /// Feeds one bucket's observation; returns the transition it caused, if any.
    pub fn update(&mut self, observation: &Observation) -> Option<Transition> {
        let now = observation.bucket_start;
        let alarming = observation.is_alarming();
        let notify = !self.is_silenced(now);
        let Some(episode) = &mut self.episode else {
            if !alarming || self.in_cooldown(now) {
                return None;
            }
            let id = EpisodeId {
                watch: self.watch.clone(),
                kind: self.kind,
                started_at: now,
            };
            let mut episode = Episode {
                id: id.clone(),
                fired_at: None,
                peak: observation.clone(),
                latest: observation.clone(),
                run: 1,
                acknowledged: false,
            };
            let fires_now = self.settings.pending_buckets <= 1;
            let transition = if fires_now {
                episode.fired_at = Some(now);
                episode.run = 0;
                Transition::Fired {
                    id,
                    observation: observation.clone(),
                    peak: observation.clone(),
                    notify,
                }
            } else {
                Transition::Pending {
                    id,
                    observation: observation.clone(),
                }
            };
            self.episode = Some(episode);
            return Some(transition);
        };
        episode.latest = observation.clone();
        if observation.score > episode.peak.score {
            episode.peak = observation.clone();
        }
        if episode.fired_at.is_none() {
            if !alarming {
                let id = episode.id.clone();
                self.episode = None;
                return Some(Transition::Cancelled { id });
            }
            episode.run += 1;
            if episode.run >= self.settings.pending_buckets {
                episode.fired_at = Some(now);
                episode.run = 0;
                return Some(Transition::Fired {
                    id: episode.id.clone(),
                    observation: observation.clone(),
                    peak: episode.peak.clone(),
                    notify,
                });
            }
            return None;
        }
        // Firing: only a run of calm buckets below the lower threshold resolves.
        let calm = observation.score < self.settings.resolve_score || !observation.meets_floor;
        if !calm {
            episode.run = 0;
            return None;
        }
        episode.run += 1;
        if episode.run < self.settings.resolve_buckets.max(1) {
            return None;
        }
        let transition = Transition::Resolved {
            id: episode.id.clone(),
            resolved_at: now,
            peak: episode.peak.clone(),
            acknowledged: episode.acknowledged,
            notify,
        };
        self.episode = None;
        self.cooldown_until = Some(now + self.settings.cooldown);
        Some(transition)
    }
}

/// What one bucket did to a series.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The detector's reading of the bucket.
    pub observation: Observation,
    /// The state change it caused, if any.
    pub transition: Option<Transition>,
}

impl Step {
    /// Whether this is the alarm bucket: the one an alert fires on.
    pub fn is_alarm(&self) -> bool {
        matches!(self.transition, Some(Transition::Fired { .. }))
    }
}

/// A detector and its tracker: everything that watches one series. This is what the daemon
/// runs per watch and kind, and what `earful detect` runs over a CSV.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesMonitor {
    detector: Detector,
    tracker: AlertTracker,
}

impl SeriesMonitor {
    /// A monitor with no history.
    pub fn new(watch: impl Into<String>, kind: AlertKind, settings: DetectorSettings) -> Self {
        SeriesMonitor {
            tracker: AlertTracker::new(watch, kind, settings.clone()),
            detector: Detector::new(settings),
        }
    }

    /// Replays history (oldest first) through [`SeriesMonitor::observe`], giving exactly the
    /// state of a monitor that watched it live, plus the transitions it went through (the store
    /// ignores those it already holds) and how many buckets were skipped as out of order or
    /// bad.
    pub fn rebuild(
        watch: impl Into<String>,
        kind: AlertKind,
        settings: DetectorSettings,
        history: impl IntoIterator<Item = (OffsetDateTime, f64)>,
    ) -> (SeriesMonitor, Vec<Transition>, usize) {
        let mut monitor = SeriesMonitor::new(watch, kind, settings);
        let mut transitions = Vec::new();
        let mut skipped = 0;
        for (bucket_start, value) in history {
            match monitor.observe(bucket_start, value) {
                Ok(step) => transitions.extend(step.transition),
                Err(_) => skipped += 1,
            }
        }
        (monitor, transitions, skipped)
    }

    /// Observes one closed bucket and applies the hygiene.
    pub fn observe(
        &mut self,
        bucket_start: OffsetDateTime,
        value: f64,
    ) -> Result<Step, DetectorError> {
        let observation = self.detector.observe(bucket_start, value)?;
        let transition = self.tracker.update(&observation);
        Ok(Step {
            observation,
            transition,
        })
    }

    /// The detector.
    pub fn detector(&self) -> &Detector {
        &self.detector
    }

    /// The tracker (for its state and episode).
    pub fn tracker(&self) -> &AlertTracker {
        &self.tracker
    }

    /// The tracker, to silence or acknowledge.
    pub fn tracker_mut(&mut self) -> &mut AlertTracker {
        &mut self.tracker
    }
}
