//! The outbox worker: delivers due notifications through their channels and records the
//! outcome. A failed try is retried with capped exponential backoff and full jitter
//! (`delay = random(0, min(cap, base · 2^(tries − 1)))`, so a crowd of failures spreads out
//! instead of retrying in step); after the channel's `max_attempts` tries, or an error that a
//! retry cannot fix, the notification is marked dead. The rows live in the store, so retries
//! carry on across restarts.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use earful_core::config::NotifyConfig;
use earful_store::{Notification, OutboxCounts, Store, StoreError};
use rand::Rng;
use time::OffsetDateTime;
use tracing::{error, info, warn};

use crate::alert::Alert;
use crate::notify::{Channel, ChannelError, SendError};

/// Backoff between tries of one notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The ceiling of the first retry's delay.
    pub base: Duration,
    /// The largest delay.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    /// 30 s, doubling, up to an hour: twelve tries span about six hours.
    fn default() -> RetryPolicy {
        RetryPolicy {
            base: Duration::from_secs(30),
            cap: Duration::from_secs(3_600),
        }
    }
}

impl RetryPolicy {
    /// The ceiling of the delay after `tries` failed tries (at least one).
    pub fn ceiling(&self, tries: u32) -> Duration {
        let doublings = tries.saturating_sub(1).min(30);
        self.base.saturating_mul(1u32 << doublings).min(self.cap)
    }

    /// The delay after `tries` failed tries: full jitter under [`RetryPolicy::ceiling`].
    pub fn delay(&self, tries: u32, rng: &mut impl Rng) -> Duration {
        let ceiling = u64::try_from(self.ceiling(tries).as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rng.random_range(0..=ceiling))
    }
}

/// Which notifications a delivery run takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Due {
    /// Those whose next try is due (the normal run).
    Scheduled,
    /// Every pending one, now (an operator's "deliver again"; tries still count).
    Everything,
}

/// What a delivery run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Delivered.
    pub sent: usize,
    /// Failed and scheduled again.
    pub retried: usize,
    /// Given up.
    pub dead: usize,
    /// Still pending when the run ended (its time ran out, or not yet due).
    pub pending: u64,
}

struct Configured {
    channel: Channel,
    max_attempts: u32,
}

/// Delivers the outbox through the configured channels.
pub struct Deliverer {
    channels: BTreeMap<String, Configured>,
    policy: RetryPolicy,
}

impl std::fmt::Debug for Deliverer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Deliverer")
            .field("channels", &self.channels.keys().collect::<Vec<_>>())
            .field("policy", &self.policy)
            .finish()
    }
}

impl Deliverer {
    /// The channels of `[[notify]]`.
    pub fn from_config(
        notifiers: &[NotifyConfig],
        policy: RetryPolicy,
    ) -> Result<Deliverer, ChannelError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .user_agent(concat!("earful/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| ChannelError {
                channel: "http".into(),
                problem: format!("cannot build the HTTP client: {}", error.without_url()),
            })?;
        let mut channels = BTreeMap::new();
        for notifier in notifiers {
            channels.insert(
                notifier.channel_name(),
                Configured {
                    channel: Channel::from_config(notifier, &http)?,
                    max_attempts: notifier.max_attempts.max(1),
                },
            );
        }
        Ok(Deliverer { channels, policy })
    }

    /// Delivers what is due, one notification at a time, until nothing is left or `budget`
    /// is spent; what is left stays in the outbox for the next run.
    pub async fn deliver(
        &self,
        store: &mut Store,
        due: Due,
        budget: Duration,
    ) -> Result<DeliveryReport, StoreError> {
        let deadline = tokio::time::Instant::now() + budget;
        let mut report = DeliveryReport::default();
        let mut rng = rand::rng();
        // Each notification is tried at most once per run: a retry waits for its backoff.
        let mut tried = std::collections::HashSet::new();
        'runs: loop {
            let horizon = match due {
                Due::Scheduled => OffsetDateTime::now_utc(),
                Due::Everything => OffsetDateTime::now_utc() + time::Duration::days(36_500),
            };
            let batch: Vec<Notification> = store
                .due_notifications(horizon, 64)?
                .into_iter()
                .filter(|notification| !tried.contains(&notification.id))
                .collect();
            if batch.is_empty() {
                break;
            }
            for notification in batch {
                let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
                if remaining.is_zero() {
                    break 'runs;
                }
                tried.insert(notification.id);
                self.deliver_one(store, &notification, remaining, &mut rng, &mut report)
                    .await?;
            }
        }
        report.pending = store.outbox_counts()?.pending;
        Ok(report)
    }

    async fn deliver_one(
        &self,
        store: &mut Store,
        notification: &Notification,
        remaining: Duration,
        rng: &mut impl Rng,
        report: &mut DeliveryReport,
    ) -> Result<(), StoreError> {
        let Some(configured) = self.channels.get(&notification.channel) else {
            let problem = format!("channel `{}` is no longer configured", notification.channel);
            error!(channel = %notification.channel, alert = %notification.alert_id, "notification dead: {problem}");
            store.mark_failed(notification.id, &problem, None)?;
            report.dead += 1;
            return Ok(());
        };
        let alert = match store.alert(&notification.alert_id)? {
            Some(record) => Alert::from_record(&record).map_err(|error| error.to_string()),
            None => Err(format!(
                "alert `{}` is not in the store",
                notification.alert_id
            )),
        };
        let outcome = match alert {
            Ok(alert) => {
                let delivery_id = format!("{}_{}", notification.alert_id, notification.event);
                let send = configured
                    .channel
                    .send(&alert, notification.event, &delivery_id);
                match tokio::time::timeout(remaining.min(Duration::from_secs(30)), send).await {
                    Ok(outcome) => outcome,
                    Err(_) => Err(SendError::Retry("the delivery timed out".into())),
                }
            }
            Err(problem) => Err(SendError::Permanent(problem)),
        };
        let now = OffsetDateTime::now_utc();
        let tries = notification.attempts + 1;
        match outcome {
            Ok(()) => {
                store.mark_sent(notification.id, now)?;
                report.sent += 1;
                info!(channel = %notification.channel, alert = %notification.alert_id, event = %notification.event, tries, "notification sent");
            }
            Err(SendError::Permanent(problem)) => {
                store.mark_failed(notification.id, &problem, None)?;
                report.dead += 1;
                error!(channel = %notification.channel, alert = %notification.alert_id, tries, error = %problem, "notification dead");
            }
            Err(failure) if tries >= configured.max_attempts => {
                let problem = format!("{failure} (gave up after {tries} tries)");
                store.mark_failed(notification.id, &problem, None)?;
                report.dead += 1;
                error!(channel = %notification.channel, alert = %notification.alert_id, tries, error = %failure, "notification dead");
            }
            Err(failure) => {
                let delay = match &failure {
                    SendError::RetryAfter { wait, .. } => *wait,
                    _ => self.policy.delay(tries, rng),
                };
                let retry_at = now + delay;
                store.mark_failed(notification.id, &failure.to_string(), Some(retry_at))?;
                report.retried += 1;
                warn!(channel = %notification.channel, alert = %notification.alert_id, tries, error = %failure, retry_in_ms = delay.as_millis() as u64, "notification failed; will retry");
            }
        }
        Ok(())
    }
}

/// The outbox as Prometheus text: `earful_alert_outbox_notifications{state="…"}`.
pub fn outbox_metrics(counts: &OutboxCounts) -> String {
    let mut text = String::from(
        "# HELP earful_alert_outbox_notifications Notifications in the outbox, by delivery state.\n\
         # TYPE earful_alert_outbox_notifications gauge\n",
    );
    for (state, count) in [
        ("pending", counts.pending),
        ("sent", counts.sent),
        ("dead", counts.dead),
    ] {
        let _ = writeln!(
            text,
            "earful_alert_outbox_notifications{{state=\"{state}\"}} {count}"
        );
    }
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_full_jitter() {
        let policy = RetryPolicy {
            base: Duration::from_secs(10),
            cap: Duration::from_secs(60),
        };
        assert_eq!(policy.ceiling(1), Duration::from_secs(10));
        assert_eq!(policy.ceiling(2), Duration::from_secs(20));
        assert_eq!(policy.ceiling(3), Duration::from_secs(40));
        assert_eq!(policy.ceiling(4), Duration::from_secs(60));
        assert_eq!(policy.ceiling(400), Duration::from_secs(60));
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let delays: Vec<Duration> = (0..200).map(|_| policy.delay(3, &mut rng)).collect();
        assert!(delays.iter().all(|delay| *delay <= Duration::from_secs(40)));
        // Full jitter spreads retries over the whole range, not just near the ceiling.
        assert!(delays.iter().any(|delay| *delay < Duration::from_secs(10)));
        assert!(delays.iter().any(|delay| *delay > Duration::from_secs(30)));
    }

    #[test]
    fn metrics_name_every_state() {
        let text = outbox_metrics(&OutboxCounts {
            pending: 1,
            sent: 2,
            dead: 3,
        });
        assert!(text.contains("earful_alert_outbox_notifications{state=\"dead\"} 3"));
    }
}
