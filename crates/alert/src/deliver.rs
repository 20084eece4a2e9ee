//! The outbox worker: delivers due notifications through their channels and records the
//! outcome. A failed try is retried with capped exponential backoff and full jitter
//! (`delay = random(0, min(cap, base · 2^(tries − 1)))`, so a crowd of failures spreads out
//! instead of retrying in step); after the channel's `max_attempts` tries, or an error that a
//! retry cannot fix, the notification is marked dead. The rows live in the store, so retries
//! carry on across restarts.

use std::collections::BTreeMap;
use std::time::Duration;

use earful_core::config::NotifyConfig;
use earful_store::{ChannelCounts, Notification, Store, StoreError};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
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

/// The alert and outbox metrics, read from the state database at scrape time (so they
/// survive restarts and count what the store holds, never what one process saw). Labels are
/// the watch, the alert kind and the channel name, all bounded by the config's history. A
/// `prometheus_client` collector: `/metrics` registers it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AlertMetrics {
    /// Alerts that ever fired: watch, kind, count.
    pub fired: Vec<(String, String, u64)>,
    /// The outbox by channel.
    pub channels: Vec<ChannelCounts>,
}

impl AlertMetrics {
    /// Reads the counts from `store` (two grouped queries).
    pub fn read(store: &Store) -> Result<AlertMetrics, StoreError> {
        Ok(AlertMetrics {
            fired: store.fired_alert_counts()?,
            channels: store.outbox_counts_by_channel()?,
        })
    }
}

/// A per-channel counter's name (without `_total`, which the encoder adds), help text and how
/// to read it from a channel's counts.
type ChannelCounter = (&'static str, &'static str, fn(&ChannelCounts) -> u64);

impl Collector for AlertMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut fired = encoder.encode_descriptor(
            "earful_alert_fired",
            "Alerts that fired, by watch and kind (each episode once).",
            None,
            MetricType::Counter,
        )?;
        for (watch, kind, count) in &self.fired {
            let labels = [("watch", watch.as_str()), ("kind", kind.as_str())];
            ConstCounter::new(*count).encode(fired.encode_family(&labels)?)?;
        }
        let mut outbox = encoder.encode_descriptor(
            "earful_alert_outbox_notifications",
            "Notifications in the outbox, by channel and delivery state.",
            None,
            MetricType::Gauge,
        )?;
        for counts in &self.channels {
            for (state, count) in [
                ("pending", counts.pending),
                ("sent", counts.sent),
                ("dead", counts.dead),
            ] {
                let labels = [("channel", counts.channel.as_str()), ("state", state)];
                ConstGauge::new(i64::try_from(count).unwrap_or(i64::MAX))
                    .encode(outbox.encode_family(&labels)?)?;
            }
        }
        let counters: [ChannelCounter; 3] = [
            (
                "earful_alert_notifications_sent",
                "Notifications delivered, by channel.",
                |counts| counts.sent,
            ),
            (
                "earful_alert_notifications_dead",
                "Notifications given up on, by channel.",
                |counts| counts.dead,
            ),
            (
                "earful_alert_notification_failed_tries",
                "Delivery tries that failed, by channel (retried or given up on).",
                |counts| counts.failed_tries,
            ),
        ];
        for (name, help, value) in counters {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for counts in &self.channels {
                let labels = [("channel", counts.channel.as_str())];
                ConstCounter::new(value(counts)).encode(family.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
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
    fn metrics_name_every_channel_and_state() {
        let metrics = AlertMetrics {
            fired: vec![("acme".into(), "negative_spike".into(), 2)],
            channels: vec![ChannelCounts {
                channel: "hook".into(),
                pending: 1,
                sent: 2,
                dead: 3,
                failed_tries: 4,
            }],
        };
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register_collector(Box::new(metrics));
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &registry).unwrap();
        for line in [
            "# TYPE earful_alert_fired_total counter",
            "earful_alert_fired_total{watch=\"acme\",kind=\"negative_spike\"} 2",
            "# TYPE earful_alert_outbox_notifications gauge",
            "earful_alert_outbox_notifications{channel=\"hook\",state=\"dead\"} 3",
            "earful_alert_notifications_sent_total{channel=\"hook\"} 2",
            "earful_alert_notifications_dead_total{channel=\"hook\"} 3",
            "earful_alert_notification_failed_tries_total{channel=\"hook\"} 4",
        ] {
            assert!(text.lines().any(|got| got == line), "{line} not in\n{text}");
        }
    }
}
