//! Slack incoming webhooks: a readable message with blocks (a header, the numbers, the rising
//! terms and the most-reached mentions as links), a plain `text` fallback for notifications,
//! one message a second per webhook (Slack's limit), and `Retry-After` honoured on a 429.

use std::time::Duration;

use earful_core::config::NotifyConfig;
use earful_store::Event;
use serde_json::{json, Value};

use crate::alert::Alert;
use crate::notify::{classify_status, http_error, subject, Pacer, SendError};

/// A Slack channel.
pub struct SlackChannel {
    url: String,
    http: reqwest::Client,
    pacer: Pacer,
}

impl std::fmt::Debug for SlackChannel {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The webhook URL is the credential.
        formatter
            .debug_struct("SlackChannel")
            .field("url", &"<redacted>")
            .finish()
    }
}

impl SlackChannel {
    /// From a `[[notify]]` entry of kind `slack`.
    pub fn new(config: &NotifyConfig, http: reqwest::Client) -> Result<SlackChannel, String> {
        let url = config.url.clone().ok_or("kind `slack` needs key `url`")?;
        reqwest::Url::parse(&url).map_err(|_| "the `url` is not a valid URL".to_string())?;
        Ok(SlackChannel {
            url,
            http,
            pacer: Pacer::new(Duration::from_secs(1)),
        })
    }

    /// Posts one alert event.
    pub async fn send(&self, alert: &Alert, event: Event) -> Result<(), SendError> {
        self.pacer.wait().await;
        let response = self
            .http
            .post(&self.url)
            .json(&message(alert, event))
            .send()
            .await
            .map_err(http_error)?;
        let outcome = classify_status(
            response.status(),
            response.headers().get(reqwest::header::RETRY_AFTER),
        );
        if let Err(SendError::RetryAfter { wait, .. }) = &outcome {
            self.pacer.hold_off(*wait).await;
        }
        outcome
    }
}

/// Escapes the three characters Slack's mrkdwn treats as control characters.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The Slack message of an alert event.
pub fn message(alert: &Alert, event: Event) -> Value {
    let evidence = &alert.evidence;
    let title = subject(alert, event);
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": title.chars().take(150).collect::<String>()}}),
        json!({"type": "section", "fields": [
            {"type": "mrkdwn", "text": format!("*Observed*\n{} ({:.1} expected)", evidence.observed, evidence.expected)},
            {"type": "mrkdwn", "text": format!("*Score*\n{:.1}", evidence.score)},
            {"type": "mrkdwn", "text": format!("*Negative share*\n{:.0}% (usually {:.0}%)", evidence.negative_share.window * 100.0, evidence.negative_share.baseline * 100.0)},
            {"type": "mrkdwn", "text": format!("*Window*\n{} – {}", earful_core::time::format_timestamp(evidence.window.start), earful_core::time::format_timestamp(evidence.window.end))},
        ]}),
    ];
    if !evidence.rising_terms.is_empty() {
        let terms: Vec<String> = evidence
            .rising_terms
            .iter()
            .map(|term| format!("`{}` {}×", escape(&term.term), term.window_count))
            .collect();
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*Rising terms:* {}", terms.join(", "))}}));
    }
    if !evidence.top_mentions.is_empty() {
        let lines: Vec<String> = evidence
            .top_mentions
            .iter()
            .map(|mention| {
                let text: String = mention.text.chars().take(200).collect();
                let who = escape(mention.author.as_deref().unwrap_or("someone"));
                match &mention.url {
                    Some(url) => format!("• <{}|{who}>: {}", escape(url), escape(&text)),
                    None => format!("• {who}: {}", escape(&text)),
                }
            })
            .collect();
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*Most-reached mentions*\n{}", lines.join("\n"))}}));
    }
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": format!("Alert `{}` · {}", alert.id, alert.state)}]}));
    json!({"text": title, "blocks": blocks})
}
