//! When a source is polled next. Pure functions of the clock and a random source, so the rules
//! are tested without waiting: the next check is set *before* a fetch (an error never causes
//! a tight loop), successes come back after the interval plus jitter, failures back off
//! exponentially with full jitter up to a cap, and a source failing many times in a row drops
//! to a long retry interval — slowed, never abandoned.

use std::time::Duration;

use rand::Rng;
use time::OffsetDateTime;

use crate::fetch::PollSignals;

/// The scheduling rules. `Default` is what the daemon uses.
#[derive(Clone, Debug, PartialEq)]
pub struct SchedulePolicy {
    /// Up to this share of the interval is added at random, so sources with one interval do
    /// not all fire at once (0.1).
    pub jitter: f64,
    /// The first backoff step (1 min).
    pub backoff_base: Duration,
    /// The longest backoff (1 h).
    pub backoff_cap: Duration,
    /// After this many failures in a row, the source is `failing` (10).
    pub failing_after: u32,
    /// A failing source is retried this often (6 h).
    pub failing_interval: Duration,
}

impl Default for SchedulePolicy {
    fn default() -> SchedulePolicy {
        SchedulePolicy {
            jitter: 0.1,
            backoff_base: Duration::from_secs(60),
            backoff_cap: Duration::from_secs(3_600),
            failing_after: 10,
            failing_interval: Duration::from_secs(6 * 3_600),
        }
    }
}

impl SchedulePolicy {
    /// The first poll of a source: spread over the first jitter share of its interval.
    pub fn first_due(
        &self,
        now: OffsetDateTime,
        interval: Duration,
        rng: &mut impl Rng,
    ) -> OffsetDateTime {
        now + to_time(self.jittered(Duration::ZERO, interval, rng))
    }

    /// Set before a fetch starts: if the poll never reports back, the source is still due
    /// again only after its interval.
    pub fn provisional(&self, now: OffsetDateTime, interval: Duration) -> OffsetDateTime {
        now + to_time(interval)
    }

    /// After a poll that worked: the interval plus jitter, but no sooner than the response
    /// stays fresh (`Cache-Control: max-age`) or the remote asked (`X-RateLimit-Reset`,
    /// `backoff`).
    pub fn after_success(
        &self,
        now: OffsetDateTime,
        interval: Duration,
        signals: &PollSignals,
        rng: &mut impl Rng,
    ) -> OffsetDateTime {
        let base = interval.max(signals.fresh_for.unwrap_or_default());
        let next = now + to_time(self.jittered(base, interval, rng));
        later(next, signals.defer_until)
    }

    /// After the `failures`-th failure in a row: the interval plus a backoff drawn uniformly
    /// from zero to `min(cap, base · 2^(failures−1))` ("full jitter"); a failing source waits
    /// the long interval. A `Retry-After` is honoured when it asks for longer.
    pub fn after_failure(
        &self,
        now: OffsetDateTime,
        interval: Duration,
        failures: u32,
        retry_after: Option<Duration>,
        signals: &PollSignals,
        rng: &mut impl Rng,
    ) -> OffsetDateTime {
        let wait = if failures >= self.failing_after {
            self.jittered(self.failing_interval, self.failing_interval, rng)
        } else {
            interval + self.backoff(failures, rng)
        };
        let wait = wait.max(retry_after.unwrap_or_default());
        later(now + to_time(wait), signals.defer_until)
    }

    /// Whether this many failures in a row make a source `failing`.
    pub fn is_failing(&self, failures: u32) -> bool {
        failures >= self.failing_after
    }

    /// The full-jitter backoff for the `failures`-th failure in a row.
    pub fn backoff(&self, failures: u32, rng: &mut impl Rng) -> Duration {
        let exponent = failures.saturating_sub(1).min(30);
        let ceiling = self
            .backoff_base
            .saturating_mul(1u32 << exponent)
            .min(self.backoff_cap);
        ceiling.mul_f64(rng.random_range(0.0..=1.0))
    }

    fn jittered(&self, base: Duration, interval: Duration, rng: &mut impl Rng) -> Duration {
        let share = self.jitter.clamp(0.0, 1.0);
        base + interval.mul_f64(share * rng.random_range(0.0..=1.0))
    }
}

fn later(at: OffsetDateTime, floor: Option<OffsetDateTime>) -> OffsetDateTime {
    match floor {
        Some(floor) if floor > at => floor,
        _ => at,
    }
}

fn to_time(duration: Duration) -> time::Duration {
    time::Duration::try_from(duration).unwrap_or(time::Duration::DAY)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    #[test]
    fn success_comes_back_after_the_interval_within_the_jitter() {
        let policy = SchedulePolicy::default();
        let mut rng = StdRng::seed_from_u64(7);
        let interval = Duration::from_secs(300);
        for _ in 0..1_000 {
            let next = policy.after_success(now(), interval, &PollSignals::default(), &mut rng);
            let wait = next - now();
            assert!(
                wait >= time::Duration::seconds(300) && wait <= time::Duration::seconds(330),
                "{wait}"
            );
        }
    }

    #[test]
    fn max_age_and_rate_limits_push_the_next_poll_out() {
        let policy = SchedulePolicy {
            jitter: 0.0,
            ..SchedulePolicy::default()
        };
        let mut rng = StdRng::seed_from_u64(1);
        let fresh = PollSignals {
            fresh_for: Some(Duration::from_secs(900)),
            ..PollSignals::default()
        };
        let next = policy.after_success(now(), Duration::from_secs(300), &fresh, &mut rng);
        assert_eq!(next - now(), time::Duration::seconds(900));
        let reset = now() + time::Duration::hours(2);
        let limited = PollSignals {
            defer_until: Some(reset),
            ..PollSignals::default()
        };
        assert_eq!(
            policy.after_success(now(), Duration::from_secs(300), &limited, &mut rng),
            reset
        );
    }

    #[test]
    fn backoff_grows_with_full_jitter_up_to_the_cap() {
        let policy = SchedulePolicy::default();
        let mut rng = StdRng::seed_from_u64(3);
        for failures in 1..=9u32 {
            let ceiling =
                (Duration::from_secs(60) * 2u32.pow(failures - 1)).min(Duration::from_secs(3_600));
            let draws: Vec<Duration> = (0..500)
                .map(|_| policy.backoff(failures, &mut rng))
                .collect();
            assert!(draws.iter().all(|draw| *draw <= ceiling), "{failures}");
            // Full jitter: draws spread over the whole range, not bunched at the top.
            assert!(draws.iter().any(|draw| *draw < ceiling / 4), "{failures}");
            assert!(
                draws.iter().any(|draw| *draw > ceiling * 3 / 4),
                "{failures}"
            );
        }
        assert!(policy.backoff(40, &mut rng) <= Duration::from_secs(3_600));
    }

    #[test]
    fn a_failure_never_retries_sooner_than_the_interval_or_retry_after() {
        let policy = SchedulePolicy::default();
        let mut rng = StdRng::seed_from_u64(5);
        let interval = Duration::from_secs(300);
        for failures in 1..10 {
            let next = policy.after_failure(
                now(),
                interval,
                failures,
                None,
                &PollSignals::default(),
                &mut rng,
            );
            assert!(next - now() >= time::Duration::seconds(300));
        }
        let asked = policy.after_failure(
            now(),
            interval,
            1,
            Some(Duration::from_secs(7_200)),
            &PollSignals::default(),
            &mut rng,
        );
        assert!(asked - now() >= time::Duration::seconds(7_200));
    }

    #[test]
    fn many_failures_slow_to_the_long_interval_but_keep_retrying() {
        let policy = SchedulePolicy::default();
        let mut rng = StdRng::seed_from_u64(9);
        assert!(!policy.is_failing(9));
        assert!(policy.is_failing(10));
        for failures in [10, 11, 500, u32::MAX] {
            let next = policy.after_failure(
                now(),
                Duration::from_secs(300),
                failures,
                None,
                &PollSignals::default(),
                &mut rng,
            );
            let wait = next - now();
            assert!(
                wait >= time::Duration::hours(6) && wait <= time::Duration::minutes(6 * 66),
                "{wait}"
            );
        }
    }

    #[test]
    fn first_polls_spread_over_the_jitter_window() {
        let policy = SchedulePolicy::default();
        let mut rng = StdRng::seed_from_u64(11);
        let dues: Vec<_> = (0..200)
            .map(|_| policy.first_due(now(), Duration::from_secs(600), &mut rng))
            .collect();
        assert!(dues
            .iter()
            .all(|due| *due >= now() && *due - now() <= time::Duration::seconds(60)));
        assert!(dues
            .iter()
            .any(|due| *due - now() > time::Duration::seconds(30)));
    }
}
