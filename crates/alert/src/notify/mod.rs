//! The channels alerts are delivered to: one module per channel kind, one `match` on
//! [`NotifyKind`] ([`Channel::from_config`]) as the registry. A channel only knows how to send
//! one alert event; retries, backoff and bookkeeping live once, in [`crate::deliver`].
//!
//! Errors never carry a secret: URLs (Slack's holds its token), signing secrets and passwords
//! are left out of every message, and reqwest's errors are stripped of their URL.

pub mod email;
pub mod slack;
pub mod webhook;

use std::fmt::Write as _;
use std::time::Duration;

use earful_core::config::{NotifyConfig, NotifyKind};
use earful_store::Event;

use crate::alert::Alert;

/// Why a channel could not be built from its config.
#[derive(Debug, thiserror::Error)]
#[error("channel `{channel}`: {problem}")]
pub struct ChannelError {
    /// The channel's name.
    pub channel: String,
    /// What is wrong (never the secret itself).
    pub problem: String,
}

/// Why a send failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SendError {
    /// Worth trying again later (a timeout, a refused connection, a 5xx).
    #[error("{0}")]
    Retry(String),
    /// The receiver asked to wait this long (HTTP 429 with `Retry-After`).
    #[error("rate limited for {wait:?}: {message}")]
    RetryAfter {
        /// How long.
        wait: Duration,
        /// What it said.
        message: String,
    },
    /// Trying again will not help (a 4xx other than 408/429, a rejected recipient).
    #[error("{0}")]
    Permanent(String),
}

/// One configured channel.
#[derive(Debug)]
pub enum Channel {
    /// A signed JSON POST.
    Webhook(webhook::WebhookChannel),
    /// A Slack incoming webhook.
    Slack(slack::SlackChannel),
    /// Email over SMTP.
    Email(email::EmailChannel),
}

impl Channel {
    /// Builds a channel from its `[[notify]]` entry: the registry of channel kinds.
    pub fn from_config(
        config: &NotifyConfig,
        http: &reqwest::Client,
    ) -> Result<Channel, ChannelError> {
        let name = config.channel_name();
        let fail = |problem: String| ChannelError {
            channel: name.clone(),
            problem,
        };
        Ok(match config.kind {
            NotifyKind::Webhook => {
                Channel::Webhook(webhook::WebhookChannel::new(config, http.clone()).map_err(fail)?)
            }
            NotifyKind::Slack => {
                Channel::Slack(slack::SlackChannel::new(config, http.clone()).map_err(fail)?)
            }
            NotifyKind::Email => Channel::Email(email::EmailChannel::new(config).map_err(fail)?),
        })
    }

    /// Sends one alert event. `delivery_id` is stable across retries of the same
    /// notification, so receivers can drop a repeat.
    pub async fn send(
        &self,
        alert: &Alert,
        event: Event,
        delivery_id: &str,
    ) -> Result<(), SendError> {
        match self {
            Channel::Webhook(channel) => channel.send(alert, event, delivery_id).await,
            Channel::Slack(channel) => channel.send(alert, event).await,
            Channel::Email(channel) => channel.send(alert, event).await,
        }
    }
}

/// The subject line of an alert event.
pub fn subject(alert: &Alert, event: Event) -> String {
    match event {
        Event::Firing => format!("[Earful] {}", alert.headline()),
        Event::Resolved => format!(
            "[Earful] resolved: {}: {}",
            alert.watch,
            alert.kind.replace('_', " ")
        ),
    }
}

/// The plain-text body of an alert event: the evidence, readable.
pub fn text_body(alert: &Alert, event: Event) -> String {
    let evidence = &alert.evidence;
    let mut text = String::new();
    let _ = writeln!(text, "{}", subject(alert, event));
    let _ = writeln!(text);
    let _ = writeln!(
        text,
        "Observed {} vs {:.1} expected (score {:.1}) between {} and {}.",
        evidence.observed,
        evidence.expected,
        evidence.score,
        earful_core::time::format_timestamp(evidence.window.start),
        earful_core::time::format_timestamp(evidence.window.end),
    );
    let _ = writeln!(
        text,
        "Negative share: {:.0}% now, {:.0}% in the week before.",
        evidence.negative_share.window * 100.0,
        evidence.negative_share.baseline * 100.0
    );
    if !evidence.rising_terms.is_empty() {
        let terms: Vec<String> = evidence
            .rising_terms
            .iter()
            .map(|term| {
                format!(
                    "{} ({} vs {})",
                    term.term, term.window_count, term.baseline_count
                )
            })
            .collect();
        let _ = writeln!(text, "Rising terms: {}.", terms.join(", "));
    }
    if !evidence.top_sources.is_empty() {
        let sources: Vec<String> = evidence
            .top_sources
            .iter()
            .map(|source| format!("{} ({})", source.source, source.count))
            .collect();
        let _ = writeln!(text, "Sources: {}.", sources.join(", "));
    }
    if !evidence.top_mentions.is_empty() {
        let _ = writeln!(text);
        let _ = writeln!(text, "Most-reached mentions:");
        for mention in &evidence.top_mentions {
            let who = mention.author.as_deref().unwrap_or("someone");
            let reach = mention
                .author_reach
                .map(|reach| format!(", reach {reach}"))
                .unwrap_or_default();
            let _ = writeln!(text, "- {who}{reach}: {}", mention.text);
            if let Some(url) = &mention.url {
                let _ = writeln!(text, "  {url}");
            }
            if !mention.because.is_empty() {
                let words: Vec<String> = mention
                    .because
                    .iter()
                    .map(|token| format!("{} {:+.1}", token.token, token.valence))
                    .collect();
                let _ = writeln!(
                    text,
                    "  sentiment {:+.2} because of: {}",
                    mention.compound.unwrap_or(0.0),
                    words.join(", ")
                );
            }
        }
    }
    let _ = writeln!(text);
    let _ = writeln!(text, "Alert {} ({}).", alert.id, alert.state);
    text
}

/// Keeps sends at least `interval` apart (Slack allows one message a second per webhook).
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next: tokio::sync::Mutex<Option<tokio::time::Instant>>,
}

impl Pacer {
    /// A pacer allowing one send per `interval`.
    pub fn new(interval: Duration) -> Pacer {
        Pacer {
            interval,
            next: tokio::sync::Mutex::new(None),
        }
    }

    /// Waits until a send is allowed, and books it.
    pub async fn wait(&self) {
        let mut next = self.next.lock().await;
        if let Some(at) = *next {
            tokio::time::sleep_until(at).await;
        }
        *next = Some(tokio::time::Instant::now() + self.interval);
    }

    /// Pushes the next allowed send back to `wait` from now (a `Retry-After`).
    pub async fn hold_off(&self, wait: Duration) {
        let mut next = self.next.lock().await;
        let until = tokio::time::Instant::now() + wait;
        if next.is_none_or(|at| at < until) {
            *next = Some(until);
        }
    }
}

/// Classifies an HTTP status: success, retry, or give up.
pub(crate) fn classify_status(
    status: reqwest::StatusCode,
    retry_after: Option<&reqwest::header::HeaderValue>,
) -> Result<(), SendError> {
    if status.is_success() {
        return Ok(());
    }
    let message = format!("the receiver answered HTTP {}", status.as_u16());
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        let wait = retry_after
            .and_then(|value| value.to_str().ok())
            .and_then(parse_retry_after)
            .unwrap_or(Duration::from_secs(1));
        return Err(SendError::RetryAfter { wait, message });
    }
    if status.is_server_error() || status == reqwest::StatusCode::REQUEST_TIMEOUT {
        return Err(SendError::Retry(message));
    }
    Err(SendError::Permanent(message))
}

/// `Retry-After`: seconds, or an HTTP date.
fn parse_retry_after(raw: &str) -> Option<Duration> {
    if let Ok(seconds) = raw.trim().parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(raw.trim()).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// A reqwest error as a message without the URL (which may hold a secret).
pub(crate) fn http_error(error: reqwest::Error) -> SendError {
    let error = error.without_url();
    let message = if error.is_timeout() {
        "the request timed out".to_string()
    } else if error.is_connect() {
        "cannot connect to the receiver".to_string()
    } else {
        format!("the request failed: {error}")
    };
    SendError::Retry(message)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_pacer_spaces_sends_and_honours_a_hold_off() {
        let pacer = Pacer::new(Duration::from_secs(1));
        let start = tokio::time::Instant::now();
        pacer.wait().await;
        pacer.wait().await;
        pacer.wait().await;
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        pacer.hold_off(Duration::from_secs(30)).await;
        pacer.wait().await;
        assert_eq!(start.elapsed(), Duration::from_secs(32));
    }

    #[test]
    fn statuses_are_classified() {
        use reqwest::header::HeaderValue;
        use reqwest::StatusCode;
        assert_eq!(classify_status(StatusCode::NO_CONTENT, None), Ok(()));
        assert!(matches!(
            classify_status(StatusCode::BAD_GATEWAY, None),
            Err(SendError::Retry(_))
        ));
        assert!(matches!(
            classify_status(StatusCode::GONE, None),
            Err(SendError::Permanent(_))
        ));
        let wait = HeaderValue::from_static("7");
        assert!(matches!(
            classify_status(StatusCode::TOO_MANY_REQUESTS, Some(&wait)),
            Err(SendError::RetryAfter { wait, .. }) if wait == Duration::from_secs(7)
        ));
    }
}
