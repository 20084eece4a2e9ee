//! The web UI in a real headless Chromium, driven through WebDriver (chromedriver): log in,
//! search, filter, see a `<script>` mention as text, open an alert and acknowledge it. The
//! server runs in the test on 127.0.0.1:0; chromedriver is killed by its PID at the end, even
//! when the test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::TcpListener as StdListener;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use earful_core::Label;
use fantoccini::{Client, ClientBuilder, Locator};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// Kills the process it holds, and the browsers it started (its process group, whose id is
/// its PID), when dropped, so a failing test leaves nothing running.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls until `ready` holds, for at most about 30 s (start-up waits, not assertions on time).
async fn eventually<F, Fut>(what: &str, mut ready: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if ready().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("gave up waiting for {what}");
}

async fn wait_for_url(client: &Client, part: &str) {
    eventually(&format!("a URL with `{part}`"), || async {
        client
            .current_url()
            .await
            .map(|url| url.as_str().contains(part))
            .unwrap_or(false)
    })
    .await;
}

async fn total(client: &Client) -> String {
    client
        .find(Locator::Css("#total strong"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_filter_escape_and_acknowledge_in_a_real_browser() {
    assert!(
        std::path::Path::new(CHROMEDRIVER).exists() && std::path::Path::new(CHROMIUM).exists(),
        "this test needs Debian's `chromium` and `chromium-driver` (scripts/test.sh installs them)"
    );

    // The server, on an ephemeral loopback port.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        axum::serve(listener, earful_server::app(state_with_tokens()))
            .await
            .unwrap();
    });

    // chromedriver, killed by PID when this guard drops.
    let port = free_port();
    let driver = KillOnDrop(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    eventually("chromedriver to listen", || async {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
    })
    .await;

    let profile = tempfile::tempdir().unwrap();
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                format!("--user-data-dir={}", profile.path().display()),
            ],
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .unwrap();

    // A browser without a token lands on the login form.
    client.goto(&format!("{base}/")).await.unwrap();
    wait_for_url(&client, "/login").await;
    let token = client.find(Locator::Id("token")).await.unwrap();
    token.send_keys(ADMIN_TOKEN).await.unwrap();
    client
        .find(Locator::Css("form.login button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the search page", || async {
        client.find(Locator::Id("q")).await.is_ok()
    })
    .await;
    assert_eq!(total(&client).await, fixture().mentions.len().to_string());

    // Search and filter with the form.
    client
        .find(Locator::Id("q"))
        .await
        .unwrap()
        .send_keys("acme")
        .await
        .unwrap();
    client
        .find(Locator::Id("label"))
        .await
        .unwrap()
        .select_by_value("negative")
        .await
        .unwrap();
    client
        .find(Locator::Id("go"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_url(&client, "label=negative").await;
    let negatives =
        count(|m| m.sentiment.label == Label::Negative && m.text.to_lowercase().contains("acme"));
    assert_eq!(total(&client).await, negatives.to_string());
    for badge in client
        .find_all(Locator::Css(".mention .badge"))
        .await
        .unwrap()
    {
        assert!(badge.text().await.unwrap().starts_with("negative"));
    }

    client
        .find(Locator::Id("source"))
        .await
        .unwrap()
        .select_by_value("mastodon")
        .await
        .unwrap();
    client
        .find(Locator::Id("go"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_url(&client, "source=mastodon").await;
    let mastodon_negatives = count(|m| {
        m.sentiment.label == Label::Negative
            && m.source == "mastodon"
            && m.text.to_lowercase().contains("acme")
    });
    assert_eq!(total(&client).await, mastodon_negatives.to_string());

    // The `<script>` mention shows as text, and nothing ran.
    client.goto(&format!("{base}/?q=script")).await.unwrap();
    let snippet = client
        .find(Locator::Css(&format!("li[data-id='{XSS_ID}'] .snippet")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(snippet.contains("<script>alert(1)</script>"), "{snippet}");
    let title = client
        .find(Locator::Css(&format!("li[data-id='{XSS_ID}'] .title")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(title.contains("<img src=x onerror=alert(2)>"), "{title}");
    assert!(client.get_alert_text().await.is_err(), "a script ran");
    assert!(client
        .find_all(Locator::Css(".results script, .results img"))
        .await
        .unwrap()
        .is_empty());

    // Open the alerts and acknowledge one.
    client
        .find(Locator::LinkText("Alerts"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_url(&client, "/alerts").await;
    // Open the alert: its page has the evidence and, for an admin, the button.
    client
        .find(Locator::Css(&format!("li[data-id='{ALERT_ID}'] a.title")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_url(&client, &format!("/alerts/{ALERT_ID}")).await;
    eventually("the alert's evidence", || async {
        match client.find(Locator::Css("#alert .evidence")).await {
            Ok(element) => element
                .text()
                .await
                .map(|text| text.contains("42 against 3.1 expected"))
                .unwrap_or(false),
            Err(_) => false,
        }
    })
    .await;
    client
        .find(Locator::Css("#alert form.ack button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the acknowledgement", || async {
        match client.find(Locator::Css("#alert .acked")).await {
            Ok(element) => element
                .text()
                .await
                .map(|text| text.contains("acknowledged by ops"))
                .unwrap_or(false),
            Err(_) => false,
        }
    })
    .await;
    assert!(client
        .current_url()
        .await
        .unwrap()
        .as_str()
        .ends_with(&format!("/alerts/{ALERT_ID}")));
    assert!(client
        .find_all(Locator::Css("#alert form.ack"))
        .await
        .unwrap()
        .is_empty());

    client.close().await.unwrap();
    drop(driver);
    server.abort();
}
