//! End-to-end alerts: the real binary ingests a week of ordinary mentions and then a burst of
//! negative ones; the alert it raises is delivered to a webhook receiver on loopback (whose
//! signature is checked), to a real SMTP server (aiosmtpd) and is in the Atom feed. Receivers
//! that are down, and a crash between the alert's commit and its delivery, delay delivery but
//! never lose or repeat it.
// Test code: a failure is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use time::OffsetDateTime;

const SIGNING_KEY: &[u8] = b"earful-test-signing-key-0123456789";
const DEAD_URL_TOKEN: &str = "sekrit-token-4711";

/// One request the webhook receiver accepted.
#[derive(Clone, Debug)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: Vec<u8>,
}

/// A webhook receiver on 127.0.0.1:0 that answers 503 while `down`.
struct Receiver {
    addr: SocketAddr,
    down: Arc<AtomicBool>,
    received: Arc<Mutex<Vec<Received>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    fn start(down: bool) -> Receiver {
        use axum::http::{HeaderMap, StatusCode};
        let down = Arc::new(AtomicBool::new(down));
        let received = Arc::new(Mutex::new(Vec::new()));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (state_down, state_received) = (down.clone(), received.clone());
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let app = axum::Router::new().route(
                    "/hook",
                    axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                        let (down, received) = (state_down.clone(), state_received.clone());
                        async move {
                            if down.load(Ordering::SeqCst) {
                                return StatusCode::SERVICE_UNAVAILABLE;
                            }
                            let header = |name: &str| {
                                headers
                                    .get(name)
                                    .map(|value| value.to_str().unwrap().to_string())
                                    .unwrap_or_default()
                            };
                            received.lock().unwrap().push(Received {
                                id: header("webhook-id"),
                                timestamp: header("webhook-timestamp"),
                                signature: header("webhook-signature"),
                                body: body.to_vec(),
                            });
                            StatusCode::NO_CONTENT
                        }
                    }),
                );
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        Receiver {
            addr,
            down,
            received,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A real SMTP server (aiosmtpd) writing every message into a maildir; killed by PID on drop.
struct SmtpServer {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

impl SmtpServer {
    fn start(dir: &Path) -> SmtpServer {
        let port = free_port();
        let maildir = dir.join("maildir");
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 -m aiosmtpd (scripts/test.sh installs it)");
        let mut server = SmtpServer {
            child,
            port,
            maildir,
        };
        // Readiness, not timing: wait until it accepts connections (or has died).
        for _ in 0..400 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            if let Some(status) = server.child.try_wait().unwrap() {
                let mut stderr = String::new();
                use std::io::Read as _;
                server
                    .child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut stderr)
                    .unwrap();
                panic!("aiosmtpd exited with {status}: {stderr}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("aiosmtpd did not start listening on port {port}");
    }

    fn messages(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        entries
            .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A scratch directory with a config, data and the generated mentions.
struct Scratch {
    dir: tempfile::TempDir,
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Scratch {
    fn new(notify: &str) -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            "version = 1\ndata_dir = \"data\"\n\n[[watch]]\nname = \"acme\"\nquery = 'acme'\n\n\
             [alerting]\nbucket = \"5m\"\nsensitivity = \"balanced\"\n\n{notify}\n\
             [sentiment.lexicon]\noutage = -2.5\n"
        );
        std::fs::write(dir.path().join("earful.toml"), config).unwrap();
        std::fs::write(dir.path().join("mentions.jsonl"), mentions()).unwrap();
        Scratch { dir }
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_earful"));
        command
            .arg("--config")
            .arg(self.dir.path().join("earful.toml"))
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("EARFUL_CONFIG")
            .env_remove("EARFUL_FAILPOINT")
            .env("EARFUL_LOG", "info")
            .env(
                "EARFUL_WEBHOOK_SECRET",
                format!("whsec_{}", STANDARD.encode(SIGNING_KEY)),
            )
            .stdin(Stdio::null());
        for (name, value) in env {
            command.env(name, value);
        }
        let output = command.output().unwrap();
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    fn ingest(&self, env: &[(&str, &str)]) -> Run {
        self.run(&["ingest", "mentions.jsonl"], env)
    }

    fn alerts(&self) -> Value {
        let run = self.run(&["alerts", "--format", "json"], &[]);
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        serde_json::from_str(&run.stdout).unwrap()
    }
}

/// A week of ordinary mentions with a daily rhythm up to 15 minutes ago, then three buckets
/// of complaints about an outage.
fn mentions() -> String {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let current_bucket = now - now.rem_euclid(300);
    let burst_start = current_bucket - 15 * 60;
    let mut lines = String::new();
    let mut seed: u64 = 42;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as u32
    };
    let ordinary = [
        "I like the new Acme dashboard, nice work",
        "Acme shipped a release today",
        "Trying Acme for our team, looks good so far",
        "Acme support answered my question quickly, thanks",
        "Reading the Acme docs this morning",
    ];
    let grumbles = ["Acme billing page is confusing and bad"];
    let mut id = 0u64;
    let mut bucket = burst_start - 7 * 86_400;
    while bucket < burst_start {
        let hour = (bucket.rem_euclid(86_400) / 3_600) as f64;
        // Busy afternoons, quiet nights.
        let rhythm = 2.0 + 1.5 * ((hour - 9.0) / 24.0 * std::f64::consts::TAU).sin();
        let count = rhythm.round() as u32 + next() % 2;
        for _ in 0..count {
            id += 1;
            let text = if next() % 12 == 0 {
                grumbles[0]
            } else {
                ordinary[(next() as usize) % ordinary.len()]
            };
            push(
                &mut lines,
                id,
                bucket + i64::from(next() % 300),
                text,
                10 + u64::from(next() % 500),
            );
        }
        bucket += 300;
    }
    let complaints = [
        "Acme outage again, the app is down and it is terrible",
        "Another Acme outage, everything is broken, awful",
        "Acme down for an hour, this outage is a disaster",
    ];
    for minute in 0..15 {
        for index in 0..9 {
            id += 1;
            let at = burst_start + minute * 60 + i64::from(next() % 60);
            push(
                &mut lines,
                id,
                at,
                complaints[index % complaints.len()],
                100 * id % 9_000,
            );
        }
    }
    lines
}

fn push(lines: &mut String, id: u64, at: i64, text: &str, reach: u64) {
    let published = OffsetDateTime::from_unix_timestamp(at).unwrap();
    let line = serde_json::json!({
        "id": format!("hackernews:{id}"),
        "url": format!("https://news.ycombinator.com/item?id={id}"),
        "author": format!("user{}", id % 97),
        "author_reach": reach,
        "lang": "en",
        "text": text,
        "published_at": earful_core::time::format_timestamp(published),
    });
    lines.push_str(&line.to_string());
    lines.push('\n');
}

fn verify_signature(received: &Received) {
    let mut mac = Hmac::<Sha256>::new_from_slice(SIGNING_KEY).unwrap();
    mac.update(format!("{}.{}.", received.id, received.timestamp).as_bytes());
    mac.update(&received.body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    assert_eq!(
        received.signature, expected,
        "the webhook signature verifies"
    );
}

fn delivery<'a>(alert: &'a Value, channel: &str) -> &'a Value {
    alert["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|delivery| delivery["channel"] == channel)
        .unwrap_or_else(|| panic!("no delivery for `{channel}` in {alert:#}"))
}

fn webhook_config(name: &str, url: &str, extra: &str) -> String {
    format!(
        "[[notify]]\nkind = \"webhook\"\nname = \"{name}\"\nurl = \"{url}\"\nsecret = \"${{EARFUL_WEBHOOK_SECRET}}\"\n{extra}\n"
    )
}

#[test]
fn a_burst_raises_one_alert_delivered_everywhere_once_even_when_the_receiver_was_down() {
    let receiver = Receiver::start(true);
    let scratch_dir = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start(scratch_dir.path());
    let notify = format!(
        "{}\n[[notify]]\nkind = \"email\"\nname = \"mail\"\nsmtp = \"127.0.0.1:{}\"\ntls = \"none\"\nfrom = \"earful@example.org\"\nto = [\"brand@example.org\"]\n",
        webhook_config("hook", &receiver.url(), ""),
        smtp.port
    );
    let scratch = Scratch::new(&notify);

    let ingest = scratch.ingest(&[]);
    assert_eq!(ingest.code, Some(0), "{}", ingest.stderr);
    assert!(ingest.stderr.contains("alerts: "), "{}", ingest.stderr);

    let document = scratch.alerts();
    let alerts = document["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "exactly one alert: {document:#}");
    let alert = &alerts[0];
    assert_eq!(alert["kind"], "negative_spike");
    assert_eq!(alert["state"], "firing");
    let evidence = &alert["evidence"];
    assert!(evidence["observed"].as_u64().unwrap() >= 60, "{evidence:#}");
    assert!(
        evidence["expected"].as_f64().unwrap() < 10.0,
        "{evidence:#}"
    );
    assert!(evidence["negative_share"]["window"].as_f64().unwrap() > 0.8);
    assert!(evidence["negative_share"]["baseline"].as_f64().unwrap() < 0.2);
    let terms: Vec<&str> = evidence["rising_terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|term| term["term"].as_str().unwrap())
        .collect();
    assert!(terms.contains(&"outage"), "{terms:?}");
    assert_eq!(evidence["top_sources"][0]["source"], "hackernews");
    let top = evidence["top_mentions"].as_array().unwrap();
    assert_eq!(top.len(), 5);
    let reaches: Vec<u64> = top
        .iter()
        .map(|m| m["author_reach"].as_u64().unwrap())
        .collect();
    assert!(
        reaches.windows(2).all(|pair| pair[0] >= pair[1]),
        "{reaches:?}"
    );
    assert!(top[0]["url"]
        .as_str()
        .unwrap()
        .starts_with("https://news.ycombinator.com/"));
    assert!(top[0]["because"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["valence"].as_f64().unwrap() < 0.0));

    // The receiver was down: the webhook waits in the outbox; the email went out.
    let hook = delivery(alert, "hook");
    assert_eq!(hook["state"], "pending", "{hook}");
    assert_eq!(hook["attempts"], 1);
    assert!(
        hook["last_error"].as_str().unwrap().contains("503"),
        "{hook}"
    );
    assert_eq!(delivery(alert, "mail")["state"], "sent");
    assert!(receiver.received().is_empty());
    let mail = smtp.messages();
    assert_eq!(mail.len(), 1);
    let id = alert["id"].as_str().unwrap();
    assert!(
        mail[0].contains("Subject: [Earful] acme: negative spike"),
        "{}",
        mail[0]
    );
    assert!(
        mail[0].contains(&format!("Message-ID: <{id}@earful>")),
        "{}",
        mail[0]
    );
    assert!(mail[0].contains("multipart/alternative"));
    assert!(mail[0].contains("text/html"));

    // Back up: delivered, once, signed.
    receiver.down.store(false, Ordering::SeqCst);
    let deliver = scratch.run(&["alerts", "deliver"], &[]);
    assert_eq!(deliver.code, Some(0), "{}", deliver.stderr);
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    verify_signature(&received[0]);
    assert_eq!(received[0].id, format!("{id}_firing"));
    let body: Value = serde_json::from_slice(&received[0].body).unwrap();
    assert_eq!(body["event"], "firing");
    assert_eq!(body["alert"]["id"], id);
    assert_eq!(body["alert"]["evidence"]["observed"], evidence["observed"]);
    assert_eq!(
        delivery(&scratch.alerts()["alerts"][0], "hook")["state"],
        "sent"
    );

    // Ingesting the same mentions again changes no count: no second alert, no second message.
    let again = scratch.ingest(&[]);
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    let deliver_again = scratch.run(&["alerts", "deliver"], &[]);
    assert_eq!(deliver_again.code, Some(0), "{}", deliver_again.stderr);
    let document = scratch.alerts();
    assert_eq!(document["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(document["alerts"][0]["id"], id);
    assert_eq!(document["outbox"]["sent"], 2);
    assert_eq!(document["outbox"]["pending"], 0);
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(smtp.messages().len(), 1);

    // The table names the channels and their state.
    let table = scratch.run(&["alerts"], &[]);
    assert!(
        table.stdout.contains("hook firing: sent"),
        "{}",
        table.stdout
    );

    // And the Atom feed has it.
    let store = earful_store::Store::open(&scratch.dir.path().join("data/state.sqlite")).unwrap();
    let feed = atom_feed(
        store,
        &scratch.dir.path().join("data"),
        "/feeds/alerts/acme.atom",
    );
    assert_eq!(feed.entries.len(), 1);
    assert_eq!(feed.entries[0].id, format!("urn:earful:alert:{id}"));
    assert!(feed.entries[0].title.value.contains("negative spike"));

    // The signing secret never shows.
    let secret = STANDARD.encode(SIGNING_KEY);
    for run in [&ingest, &deliver, &again, &table] {
        assert!(!run.stderr.contains(&secret) && !run.stdout.contains(&secret));
    }
}

fn atom_feed(
    store: earful_store::Store,
    data_dir: &std::path::Path,
    path: &str,
) -> atom_syndication::Feed {
    use tower::ServiceExt;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let index = earful_index::MentionIndex::open(
            &data_dir.join("index"),
            earful_index::IndexOptions::default(),
        )
        .unwrap();
        let state = earful_server::ApiState::new(Arc::new(index)).with_state_database(store);
        let response = earful_server::app(state)
            .oneshot(
                axum::http::Request::get(path)
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        std::str::from_utf8(&body).unwrap().parse().unwrap()
    })
}

#[test]
fn a_crash_after_the_alert_commit_delivers_after_restart_once_and_dead_channels_show() {
    let receiver = Receiver::start(false);
    let closed = free_port();
    let notify = format!(
        "{}\n{}",
        webhook_config("hook", &receiver.url(), ""),
        webhook_config(
            "gone",
            &format!("http://127.0.0.1:{closed}/hook?token={DEAD_URL_TOKEN}"),
            "max_attempts = 1"
        )
    );
    let scratch = Scratch::new(&notify);

    let crashed = scratch.ingest(&[("EARFUL_FAILPOINT", "after_alert_commit")]);
    assert_ne!(
        crashed.code,
        Some(0),
        "the failpoint aborts: {}",
        crashed.stderr
    );
    assert!(
        receiver.received().is_empty(),
        "nothing was delivered before the crash"
    );
    let document = scratch.alerts();
    assert_eq!(document["alerts"].as_array().unwrap().len(), 1);
    let hook = delivery(&document["alerts"][0], "hook");
    assert_eq!(
        (hook["state"].as_str(), hook["attempts"].as_u64()),
        (Some("pending"), Some(0))
    );

    // The restart delivers what the crash left in the outbox.
    let restart = scratch.ingest(&[]);
    assert_eq!(restart.code, Some(0), "{}", restart.stderr);
    assert_eq!(receiver.received().len(), 1);
    verify_signature(&receiver.received()[0]);
    let deliver = scratch.run(&["alerts", "deliver"], &[]);
    assert_eq!(deliver.code, Some(0), "{}", deliver.stderr);
    assert_eq!(receiver.received().len(), 1, "delivered once");

    // A channel that cannot be reached is dead after its one try, and says so.
    let document = scratch.alerts();
    let gone = delivery(&document["alerts"][0], "gone");
    assert_eq!(gone["state"], "dead", "{gone}");
    assert_eq!(document["outbox"]["dead"], 1);
    assert!(
        gone["last_error"]
            .as_str()
            .unwrap()
            .contains("cannot connect"),
        "{gone}"
    );
    let table = scratch.run(&["alerts"], &[]);
    assert!(
        table.stdout.contains("gone firing: dead"),
        "{}",
        table.stdout
    );
    // The URL's token never shows, in errors or logs.
    for run in [&crashed, &restart, &deliver, &table] {
        assert!(!run.stderr.contains(DEAD_URL_TOKEN), "{}", run.stderr);
        assert!(!run.stdout.contains(DEAD_URL_TOKEN), "{}", run.stdout);
    }
    assert!(!document.to_string().contains(DEAD_URL_TOKEN));
}
