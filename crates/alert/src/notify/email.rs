//! Email over SMTP with lettre: STARTTLS (the default) or implicit TLS, or plain SMTP to a
//! loopback host only; an HTML part and a plain-text alternative; one thread per alert —
//! the firing message has the Message-ID `<alert-id@earful>` and the resolve message replies
//! to it (`In-Reply-To` and `References`), so mail readers show them together.

use earful_core::config::{NotifyConfig, SmtpTls};
use earful_store::Event;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::alert::Alert;
use crate::notify::{subject, text_body, SendError};

/// An email channel.
pub struct EmailChannel {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
}

impl std::fmt::Debug for EmailChannel {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("EmailChannel")
            .field("from", &self.from.to_string())
            .field("to", &self.to.len())
            .finish()
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl EmailChannel {
    /// From a `[[notify]]` entry of kind `email`.
    pub fn new(config: &NotifyConfig) -> Result<EmailChannel, String> {
        let smtp = config
            .smtp
            .as_deref()
            .ok_or("kind `email` needs key `smtp`")?;
        let (host, port) = smtp
            .rsplit_once(':')
            .and_then(|(host, port)| Some((host, port.parse::<u16>().ok()?)))
            .ok_or_else(|| format!("`smtp` must be `host:port`, not `{smtp}`"))?;
        let host = host.trim_matches(['[', ']']);
        let builder = match config.tls {
            SmtpTls::None if !is_loopback(host) => {
                return Err(format!(
                    "`tls = \"none\"` is only allowed to a loopback host, not `{host}`"
                ))
            }
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .map_err(|error| format!("cannot set up STARTTLS to `{host}`: {error}"))?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                .map_err(|error| format!("cannot set up TLS to `{host}`: {error}"))?,
        };
        let mut builder = builder
            .port(port)
            .timeout(Some(std::time::Duration::from_secs(15)));
        if let (Some(user), Some(password)) = (&config.username, &config.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        let from: Mailbox = config
            .from
            .as_deref()
            .ok_or("kind `email` needs key `from`")?
            .parse()
            .map_err(|_| "`from` is not an email address".to_string())?;
        let mut to = Vec::new();
        for recipient in &config.to {
            to.push(
                recipient
                    .parse::<Mailbox>()
                    .map_err(|_| format!("`to`: `{recipient}` is not an email address"))?,
            );
        }
        if to.is_empty() {
            return Err("kind `email` needs key `to`".into());
        }
        Ok(EmailChannel {
            transport: builder.build(),
            from,
            to,
        })
    }

    /// Sends one alert event.
    pub async fn send(&self, alert: &Alert, event: Event) -> Result<(), SendError> {
        let message = self
            .message(alert, event)
            .map_err(|error| SendError::Permanent(format!("cannot build the message: {error}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(error) if error.is_permanent() => Err(SendError::Permanent(format!(
                "the SMTP server refused the message: {error}"
            ))),
            Err(error) => Err(SendError::Retry(format!("SMTP delivery failed: {error}"))),
        }
    }

    /// The message of an alert event.
    pub fn message(&self, alert: &Alert, event: Event) -> Result<Message, lettre::error::Error> {
        let thread = thread_id(alert);
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(subject(alert, event));
        for recipient in &self.to {
            builder = builder.to(recipient.clone());
        }
        builder = match event {
            Event::Firing => builder.message_id(Some(thread)),
            Event::Resolved => builder
                .message_id(Some(format!("<{}.resolved@earful>", alert.id)))
                .in_reply_to(thread.clone())
                .references(thread),
        };
        let text = text_body(alert, event);
        builder.multipart(MultiPart::alternative_plain_html(
            text,
            html_body(alert, event),
        ))
    }
}

/// The Message-ID that starts an alert's thread.
pub fn thread_id(alert: &Alert) -> String {
    format!("<{}@earful>", alert.id)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The HTML part: the same content as the text part, with links.
pub fn html_body(alert: &Alert, event: Event) -> String {
    let evidence = &alert.evidence;
    let mut html = format!(
        "<html><body><h2>{}</h2><p>Observed <b>{}</b> vs {:.1} expected (score {:.1}), {} – {}.</p>\
         <p>Negative share: {:.0}% now, {:.0}% in the week before.</p>",
        escape(&subject(alert, event)),
        evidence.observed,
        evidence.expected,
        evidence.score,
        earful_core::time::format_timestamp(evidence.window.start),
        earful_core::time::format_timestamp(evidence.window.end),
        evidence.negative_share.window * 100.0,
        evidence.negative_share.baseline * 100.0,
    );
    if !evidence.rising_terms.is_empty() {
        let terms: Vec<String> = evidence
            .rising_terms
            .iter()
            .map(|term| {
                format!(
                    "<code>{}</code> ({})",
                    escape(&term.term),
                    term.window_count
                )
            })
            .collect();
        html.push_str(&format!("<p>Rising terms: {}</p>", terms.join(", ")));
    }
    if !evidence.top_mentions.is_empty() {
        html.push_str("<h3>Most-reached mentions</h3><ul>");
        for mention in &evidence.top_mentions {
            let who = escape(mention.author.as_deref().unwrap_or("someone"));
            let who = match &mention.url {
                Some(url) => format!("<a href=\"{}\">{who}</a>", escape(url)),
                None => who,
            };
            html.push_str(&format!("<li>{who}: {}</li>", escape(&mention.text)));
        }
        html.push_str("</ul>");
    }
    html.push_str(&format!(
        "<p style=\"color:#666\">Alert {} ({})</p></body></html>",
        escape(&alert.id),
        alert.state
    ));
    html
}
