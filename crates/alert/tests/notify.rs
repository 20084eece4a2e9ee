//! Channels against real loopback servers: Slack's message and its 429 `Retry-After`, the
//! email thread headers, and no secret in any error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use earful_alert::notify::{Channel, SendError};
use earful_alert::Alert;
use earful_core::config::Config;
use earful_store::Event;

const FIXTURE: &str = include_str!("fixtures/alert-v1.json");

fn alert() -> Alert {
    serde_json::from_str(FIXTURE).unwrap()
}

fn channel(notify: &str) -> Channel {
    let text = format!("version = 1\n[[watch]]\nname = \"acme\"\nquery = 'acme'\n{notify}");
    let config = Config::parse(&text, "test.toml", |_| None).unwrap();
    Channel::from_config(&config.notifiers[0], &reqwest::Client::new()).unwrap()
}

/// A Slack stand-in on 127.0.0.1:0: answers the queued statuses in order, then 200.
async fn slack_server(
    statuses: Vec<(StatusCode, Option<&'static str>)>,
) -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let queue = Arc::new(Mutex::new(statuses));
    let seen = received.clone();
    let app = axum::Router::new().route(
        "/services/T000/B000/SECRETTOKEN",
        axum::routing::post(move |body: axum::Json<serde_json::Value>| {
            let (seen, queue) = (seen.clone(), queue.clone());
            async move {
                seen.lock().unwrap().push(body.0);
                let next = {
                    let mut queue = queue.lock().unwrap();
                    (!queue.is_empty()).then(|| queue.remove(0))
                };
                match next {
                    Some((status, Some(wait))) => (status, [("retry-after", wait)]).into_response(),
                    Some((status, None)) => status.into_response(),
                    None => StatusCode::OK.into_response(),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (
        format!("http://{addr}/services/T000/B000/SECRETTOKEN"),
        received,
    )
}

use axum::response::IntoResponse;

#[tokio::test]
async fn slack_gets_a_readable_message_and_its_retry_after_is_honoured() {
    let (url, received) = slack_server(vec![(StatusCode::TOO_MANY_REQUESTS, Some("3"))]).await;
    let slack = channel(&format!("[[notify]]\nkind = \"slack\"\nurl = \"{url}\"\n"));
    let alert = alert();

    let limited = slack.send(&alert, Event::Firing, "d1").await.unwrap_err();
    assert!(
        matches!(&limited, SendError::RetryAfter { wait, .. } if *wait == Duration::from_secs(3)),
        "{limited:?}"
    );
    assert!(!limited.to_string().contains("SECRETTOKEN"));
    let message = &received.lock().unwrap()[0];
    assert!(message["text"]
        .as_str()
        .unwrap()
        .contains("acme: negative spike"));
    let blocks = message["blocks"].to_string();
    assert!(
        blocks.contains("<https://news.ycombinator.com/item?id=41234567|jdoe>"),
        "{blocks}"
    );
    assert!(blocks.contains("`outage` 31×"), "{blocks}");
}

#[tokio::test]
async fn an_unreachable_receiver_is_a_retry_that_names_no_secret() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/services/T000/B000/SECRETTOKEN");
    for (kind, secret) in [
        ("slack", ""),
        ("webhook", "secret = \"whsec_c2VjcmV0LXNpZ25pbmcta2V5\"\n"),
    ] {
        let channel = channel(&format!(
            "[[notify]]\nkind = \"{kind}\"\nurl = \"{url}\"\n{secret}"
        ));
        let error = channel
            .send(&alert(), Event::Firing, "d1")
            .await
            .unwrap_err();
        assert!(matches!(error, SendError::Retry(_)), "{error:?}");
        let shown = format!("{error} {error:?} {channel:?}");
        assert!(!shown.contains("SECRETTOKEN"), "{shown}");
        assert!(!shown.contains("c2VjcmV0"), "{shown}");
    }
}

#[test]
fn email_threads_the_resolve_under_the_firing_message() {
    let Channel::Email(email) = channel(
        "[[notify]]\nkind = \"email\"\nsmtp = \"127.0.0.1:2525\"\ntls = \"none\"\nfrom = \"earful@example.org\"\nto = [\"brand@example.org\"]\n",
    ) else {
        panic!("an email channel");
    };
    let alert = alert();
    let firing =
        String::from_utf8(email.message(&alert, Event::Firing).unwrap().formatted()).unwrap();
    assert!(
        firing.contains("Message-ID: <al_3f1c0e2b9d8a7c61@earful>"),
        "{firing}"
    );
    assert!(firing.contains("text/plain") && firing.contains("text/html"));
    let resolved =
        String::from_utf8(email.message(&alert, Event::Resolved).unwrap().formatted()).unwrap();
    assert!(
        resolved.contains("In-Reply-To: <al_3f1c0e2b9d8a7c61@earful>"),
        "{resolved}"
    );
    assert!(
        resolved.contains("References: <al_3f1c0e2b9d8a7c61@earful>"),
        "{resolved}"
    );
    assert!(
        resolved.contains("Subject: [Earful] resolved: acme"),
        "{resolved}"
    );
}

#[test]
fn plain_smtp_to_a_remote_host_is_refused() {
    let config = Config::parse(
        "version = 1\n[[notify]]\nkind = \"email\"\nsmtp = \"127.0.0.1:25\"\ntls = \"none\"\nfrom = \"a@example.org\"\nto = [\"b@example.org\"]\n",
        "t.toml",
        |_| None,
    )
    .unwrap();
    let mut remote = config.notifiers[0].clone();
    remote.smtp = Some("mail.example.org:25".into());
    let error = Channel::from_config(&remote, &reqwest::Client::new()).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("only allowed to a loopback host"),
        "{error}"
    );
}
