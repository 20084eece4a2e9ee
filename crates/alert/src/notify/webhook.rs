//! The generic webhook: the alert JSON, POSTed and signed as the Standard Webhooks
//! specification describes (<https://www.standardwebhooks.com>):
//!
//! - `webhook-id`: the delivery's id, the same on every retry, so receivers can drop repeats;
//! - `webhook-timestamp`: Unix seconds of this attempt;
//! - `webhook-signature`: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`, keyed with
//!   the secret. A secret written `whsec_…` is base64 after the prefix (as the spec's
//!   libraries print it); any other secret is used as its bytes.
//!
//! The body is `{"event": "firing"|"resolved", "alert": {…the alert JSON…}}`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use earful_core::config::NotifyConfig;
use earful_store::Event;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::alert::Alert;
use crate::notify::{classify_status, http_error, SendError};

/// A webhook channel.
pub struct WebhookChannel {
    url: String,
    key: Option<Vec<u8>>,
    http: reqwest::Client,
}

impl std::fmt::Debug for WebhookChannel {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("WebhookChannel")
            .field("url", &"<redacted>")
            .field("signed", &self.key.is_some())
            .finish()
    }
}

/// The signing key of a secret as configured: `whsec_<base64>` or raw bytes.
pub fn signing_key(secret: &str) -> Result<Vec<u8>, String> {
    match secret.strip_prefix("whsec_") {
        Some(encoded) => STANDARD
            .decode(encoded)
            .map_err(|_| "the `whsec_` secret is not valid base64 after the prefix".to_string()),
        None => Ok(secret.as_bytes().to_vec()),
    }
}

/// The `webhook-signature` value of a message: `v1,<base64 HMAC-SHA256 of id.timestamp.body>`.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

impl WebhookChannel {
    /// From a `[[notify]]` entry of kind `webhook`.
    pub fn new(config: &NotifyConfig, http: reqwest::Client) -> Result<WebhookChannel, String> {
        let url = config.url.clone().ok_or("kind `webhook` needs key `url`")?;
        reqwest::Url::parse(&url).map_err(|_| "the `url` is not a valid URL".to_string())?;
        // An empty secret (`${VAR:-}` with VAR unset) means unsigned, not signed with no key.
        let key = config
            .secret
            .as_deref()
            .filter(|secret| !secret.is_empty())
            .map(signing_key)
            .transpose()?;
        Ok(WebhookChannel { url, key, http })
    }

    /// POSTs one alert event.
    pub async fn send(
        &self,
        alert: &Alert,
        event: Event,
        delivery_id: &str,
    ) -> Result<(), SendError> {
        let body = serde_json::to_vec(&serde_json::json!({"event": event, "alert": alert}))
            .map_err(|error| {
                SendError::Permanent(format!("cannot write the alert JSON: {error}"))
            })?;
        let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut request = self
            .http
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", delivery_id)
            .header("webhook-timestamp", timestamp.to_string());
        if let Some(key) = &self.key {
            request = request.header(
                "webhook-signature",
                sign(key, delivery_id, timestamp, &body),
            );
        }
        let response = request.body(body).send().await.map_err(http_error)?;
        classify_status(
            response.status(),
            response.headers().get(reqwest::header::RETRY_AFTER),
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_standard_webhooks_test_vector() {
        // The example of the Standard Webhooks specification's reference libraries.
        let key = signing_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_bad_whsec_secret_is_refused_without_echoing_it() {
        let error = signing_key("whsec_not*base64!").unwrap_err();
        assert!(!error.contains("not*base64"), "{error}");
    }
}
