//! The daemon, `earful run`: collection, enrichment, indexing, alerting, delivery and the HTTP
//! server in one process, wired from the library crates.
//!
//! ```text
//! collector task ──SourceBatch──▶ [bounded channel] ──▶ enrich thread ──Batch──▶ writer thread
//!   (engine: schedule, backoff,                                           │ commit (cursors in it)
//!    a panicking poll is caught)                                          ▼
//!                               after-commit task: save health, evaluate alerts (blocking pool)
//!                                                                         │ queued?
//!                               delivery task: outbox ─▶ webhook / Slack / email, retries
//! HTTP server (axum): API, UI, feeds, /healthz, /readyz, /metrics
//! liveness task: probes the writer each second, pings the systemd watchdog while it lives
//! main task: signals — SIGTERM/SIGINT stop, SIGHUP reloads, a second stop signal exits at once
//! ```
//!
//! A dead index writer ends the process with exit 1 (systemd restarts it; nothing committed is
//! lost, and what was not committed is fetched again from the committed cursors).

pub mod alerting;
pub mod collector;
pub mod pipeline;
pub mod reload;
pub mod systemd;

use std::collections::BTreeMap;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use earful_alert::{Deliverer, Evaluator, RetryPolicy};
use earful_collect::{Engine, EngineOptions, SourcesDiff};
use earful_core::config::Config;
use earful_enrich::Enricher;
use earful_index::{Batch, CommitInfo, IndexMetrics, IndexWriterHandle};
use earful_server::{app, ApiState};
use earful_store::Store;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use crate::daemon::alerting::AfterCommit;
use crate::daemon::collector::{Control, HealthSnapshot};
use crate::daemon::pipeline::BATCH_CHANNEL_CAPACITY;
use crate::daemon::reload::ConfigChanges;
use crate::settings;

/// How long polls in flight at shutdown may take to finish.
const IN_FLIGHT_GRACE: Duration = Duration::from_secs(4);
/// How long shutdown spends delivering due notifications.
const DRAIN_BUDGET: Duration = Duration::from_secs(3);
/// How long the HTTP server gets to finish its requests at shutdown.
const SERVER_STOP_GRACE: Duration = Duration::from_secs(1);
/// The whole shutdown, after which the daemon gives up on a clean exit.
const SHUTDOWN_BUDGET: Duration = Duration::from_secs(10);
/// How often the writer's liveness is probed.
const LIVENESS_INTERVAL: Duration = Duration::from_secs(1);
/// A health round that handed mentions on is saved at the latest this long after it, when no
/// commit came (it normally comes within `[index] commit_interval`).
const HEALTH_DEADLINE_FLOOR: Duration = Duration::from_secs(10);
/// The exit code after a second stop signal (128 + SIGINT, as shells report an interrupt).
pub const EXIT_INTERRUPTED: i32 = 130;

/// The allocator options `earful run` needs (see [`reexec_for_allocator`]).
#[cfg(feature = "mimalloc")]
const ALLOCATOR_OPTIONS: [(&str, &str); 2] = [
    // Return freed pages to the system at once rather than after a delay.
    ("MIMALLOC_PURGE_DELAY", "0"),
    // Commit arena memory as pages are used, not a whole arena when it is reserved: without
    // this, an idle daemon's resident set grew by pages it never used.
    ("MIMALLOC_ARENA_EAGER_COMMIT", "0"),
];

/// Re-executes this process (same PID, same arguments) with mimalloc told to give freed
/// memory back to the system at once, unless any of these options is set already (then the
/// caller's choice stands). mimalloc reads its options when the process loads, so they cannot
/// be set later from `main`; and by default it keeps freed pages committed and purges them
/// only when the freeing thread allocates again, which tantivy's indexing threads, idle
/// between commits, never do. And it commits a whole arena when it reserves one: an idle
/// daemon that had indexed 100 mentions grew from 60 to 88 MB while doing nothing, and stays at
/// 37 MB with these options (BENCHMARKS.md, "Daemon idle memory"). Returns only when the exec
/// failed.
#[cfg(feature = "mimalloc")]
pub fn reexec_for_allocator() {
    use std::os::unix::process::CommandExt;
    if ALLOCATOR_OPTIONS
        .iter()
        .any(|(name, _)| std::env::var_os(name).is_some())
    {
        return;
    }
    let Ok(executable) = std::env::current_exe() else {
        return;
    };
    let mut arguments = std::env::args_os();
    let mut command = std::process::Command::new(executable);
    if let Some(name) = arguments.next() {
        command.arg0(name);
    }
    let failure = command
        .args(arguments)
        .envs(ALLOCATOR_OPTIONS.iter().copied())
        .exec();
    // Still here: run with the allocator's defaults.
    eprintln!("warning: cannot re-execute with the allocator's options: {failure}");
}

/// Where the daemon's mentions come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intake {
    /// Its own collectors (`--role all`).
    Collectors,
    /// The NATS JetStream stream that collector nodes publish to (`--role indexer`): the
    /// daemon polls no source itself, and `earful_cluster` feeds its index writer.
    Stream,
}

impl Intake {
    /// The config the daemon's own collectors run: with [`Intake::Stream`], no sources.
    fn collected(self, config: &Config) -> Config {
        let mut collected = config.clone();
        if self == Intake::Stream {
            collected.sources.clear();
        }
        collected
    }
}

/// Runs the daemon until a signal stops it or the index writer dies. `config` is valid and
/// `address` has passed the exposure check.
pub fn run(
    config_path: Option<&Path>,
    config: Config,
    address: SocketAddr,
    intake: Intake,
) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("earful-runtime")
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let outcome = runtime.block_on(serve(
        config_path.map(Path::to_path_buf),
        config,
        address,
        intake,
    ));
    // Blocking work still running (an evaluation, a join) must not hold the exit.
    runtime.shutdown_timeout(Duration::from_secs(1));
    outcome
}

/// The stop and reload signals, registered before anything starts.
struct Signals {
    terminate: Signal,
    interrupt: Signal,
    hangup: Signal,
}

impl Signals {
    fn register() -> anyhow::Result<Signals> {
        let register = |kind: SignalKind, name: &str| {
            signal(kind).with_context(|| format!("cannot listen for {name}"))
        };
        Ok(Signals {
            terminate: register(SignalKind::terminate(), "SIGTERM")?,
            interrupt: register(SignalKind::interrupt(), "SIGINT")?,
            hangup: register(SignalKind::hangup(), "SIGHUP")?,
        })
    }
}

/// Waits for SIGTERM or SIGINT and names it.
async fn stop_signal(terminate: &mut Signal, interrupt: &mut Signal) -> &'static str {
    tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
    }
}

/// What can change on a reload, and where to send it.
struct Live {
    config_path: Option<PathBuf>,
    running: Config,
    state: ApiState,
    store: Arc<Mutex<Store>>,
    commits: watch::Receiver<Option<CommitInfo>>,
    committed_at_start: BTreeMap<String, serde_json::Value>,
    enricher: watch::Sender<Arc<Enricher>>,
    evaluator: watch::Sender<Arc<Evaluator>>,
    deliverer: watch::Sender<Arc<Deliverer>>,
    collector: mpsc::Sender<Control>,
    intake: Intake,
}

/// A reload whose sources the collector task has yet to apply.
struct PendingReload {
    changes: ConfigChanges,
    sources: oneshot::Receiver<SourcesDiff>,
}

/// The parts a reload rebuilds, built before anything is swapped.
struct Rebuilt {
    enricher: Option<Enricher>,
    evaluator: Option<Evaluator>,
    deliverer: Option<Deliverer>,
}

impl Live {
    fn config_name(&self) -> String {
        self.config_path
            .as_ref()
            .map(|path| path.display().to_string())
            .unwrap_or_else(|| settings::BUILT_IN_NAME.to_string())
    }

    /// Reads and validates the config again and applies what changed; on any error the
    /// running config stays whole. The sources are applied by the collector task between
    /// polls: the returned reload carries its answer.
    async fn begin_reload(&mut self) -> Option<PendingReload> {
        let path = self.config_path.clone();
        let loaded = tokio::task::spawn_blocking(move || settings::load(path.as_deref())).await;
        let new = match loaded {
            Ok(Ok(config)) => config,
            Ok(Err(problems)) => {
                error!(config = %self.config_name(), problems = %problems, "config reload refused; the running config stays");
                return None;
            }
            Err(failure) => {
                error!(error = %failure, "config reload failed; the running config stays");
                return None;
            }
        };
        let changes = ConfigChanges::between(&self.running, &new);
        let rebuilt = match rebuild(&new, &changes) {
            Ok(rebuilt) => rebuilt,
            Err(failure) => {
                error!(config = %self.config_name(), error = %format!("{failure:#}"), "config reload refused; the running config stays");
                return None;
            }
        };
        if let Err(failure) = self.state.reconfigure(&new) {
            error!(config = %self.config_name(), error = %failure, "config reload refused; the running config stays");
            return None;
        }
        if let Some(enricher) = rebuilt.enricher {
            self.enricher.send_replace(Arc::new(enricher));
        }
        if let Some(evaluator) = rebuilt.evaluator {
            self.evaluator.send_replace(Arc::new(evaluator));
        }
        if let Some(deliverer) = rebuilt.deliverer {
            self.deliverer.send_replace(Arc::new(deliverer));
        }
        let committed = self
            .commits
            .borrow()
            .as_ref()
            .map(|commit| commit.payload.cursors.clone())
            .unwrap_or_else(|| self.committed_at_start.clone());
        let store = Arc::clone(&self.store);
        let health = tokio::task::spawn_blocking(move || {
            let store = store
                .lock()
                .map_err(|_| anyhow::anyhow!("the state database lock is poisoned"))?;
            pipeline::load_health(&store)
        })
        .await
        .map_err(anyhow::Error::from)
        .and_then(|result| result)
        .unwrap_or_else(|failure| {
            warn!(error = %format!("{failure:#}"), "cannot read the saved health; new sources start afresh");
            BTreeMap::new()
        });
        if !changes.needs_restart.is_empty() {
            warn!(settings = ?changes.needs_restart, "these settings changed but need a restart; running with the old values");
        }
        let (reply, sources) = oneshot::channel();
        let command = Control::Reconfigure {
            config: Arc::new(self.intake.collected(&new)),
            committed,
            health,
            reply,
        };
        self.running = reload::effective(&self.running, new);
        if self.collector.send(command).await.is_err() {
            error!("the collector task has stopped; sources not reloaded");
        }
        Some(PendingReload { changes, sources })
    }
}

/// Builds what the changes need rebuilt.
fn rebuild(config: &Config, changes: &ConfigChanges) -> anyhow::Result<Rebuilt> {
    Ok(Rebuilt {
        enricher: changes
            .watches
            .then(|| Enricher::from_config(config))
            .transpose()?,
        evaluator: changes
            .evaluator()
            .then(|| Evaluator::from_config(config))
            .transpose()?,
        deliverer: changes
            .channels
            .then(|| Deliverer::from_config(&config.notifiers, RetryPolicy::default()))
            .transpose()
            .context("cannot set up the notification channels")?,
    })
}

fn log_reload(changes: &ConfigChanges, sources: &SourcesDiff) {
    info!(
        sources_added = ?sources.added,
        sources_removed = ?sources.removed,
        sources_changed = ?sources.changed,
        watches_changed = changes.watches,
        channels_changed = changes.channels,
        alerting_changed = changes.alerting,
        server_changed = changes.server,
        needs_restart = ?changes.needs_restart,
        "config reloaded"
    );
}

/// The running tasks, for the shutdown.
struct Tasks {
    stop: watch::Sender<bool>,
    collector: JoinHandle<Engine>,
    enrich: JoinHandle<std::thread::Result<Result<(), earful_index::IndexError>>>,
    after_commit: JoinHandle<()>,
    delivery_stop: watch::Sender<bool>,
    delivery: JoinHandle<()>,
    deliver_wake: Arc<Notify>,
    liveness: JoinHandle<()>,
    server_stop: oneshot::Sender<()>,
    server: JoinHandle<std::io::Result<()>>,
    writer: IndexWriterHandle,
}

async fn serve(
    config_path: Option<PathBuf>,
    config: Config,
    address: SocketAddr,
    intake: Intake,
) -> anyhow::Result<ExitCode> {
    let mut signals = Signals::register()?;
    let config_name = config_path
        .as_ref()
        .map(|path| path.display().to_string())
        .unwrap_or_else(|| settings::BUILT_IN_NAME.to_string());
    info!(config = %config_name, data_dir = %config.data_dir.display(), listen = %address, "starting");

    let pipeline::DataDir {
        index,
        committed,
        store,
        health,
    } = pipeline::open_data(&config)?;
    let index = Arc::new(index);
    let enricher = Enricher::from_config(&config)?;
    let evaluator = Evaluator::from_config(&config)?;
    let deliverer = Deliverer::from_config(&config.notifiers, RetryPolicy::default())
        .context("cannot set up the notification channels")?;
    let engine = Engine::new(
        &intake.collected(&config),
        EngineOptions::from_config(&config.collect),
        &committed,
        health,
    )?;
    let writer = index
        .start_writer()
        .context("cannot start the index writer")?;
    let commits = writer.subscribe_commits();
    let index_metrics = Arc::new(IndexMetrics::starting_at(index.num_docs()));
    let state = ApiState::from_config(Arc::clone(&index), &config)?
        .with_state_database(pipeline::open_store(&config)?)
        .with_collect_metrics(engine.metrics())
        .with_index_metrics(Arc::clone(&index_metrics));
    let cluster_metrics = Arc::new(earful_cluster::ClusterMetrics::default());
    // Only the indexer role has the stream's metrics; `--role all` shows what it always did.
    let state = if intake == Intake::Stream {
        let metrics = Arc::clone(&cluster_metrics);
        state.with_metrics_text(earful_server::MetricsText::new(move || metrics.render()))
    } else {
        state
    };
    // Alive from here on, ready only once every task runs.
    state.set_ready(false);
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on `{address}`"))?;
    let (server_stop, server_stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(
        axum::serve(listener, app(state.clone()))
            .with_graceful_shutdown(async move {
                let _ = server_stopped.await;
            })
            .into_future(),
    );
    tokio::spawn({
        let commits = commits.clone();
        async move { index_metrics.follow(commits).await }
    });

    let (fatal_sender, mut fatal_errors) = mpsc::unbounded_channel::<anyhow::Error>();
    let (enricher_sender, enricher_receiver) = watch::channel(Arc::new(enricher));
    let (batch_sender, batch_receiver) = mpsc::channel(BATCH_CHANNEL_CAPACITY);
    let enrich_thread =
        pipeline::spawn_enrich_stage(enricher_receiver, batch_receiver, writer.clone())
            .context("cannot start the enrichment thread")?;
    let mut enrich = tokio::task::spawn_blocking(move || enrich_thread.join());

    let (stop, stopped) = watch::channel(false);
    let (control, control_receiver) = mpsc::channel(4);
    let (health_sender, health_receiver) = watch::channel(HealthSnapshot::default());
    let source_count = config.sources.iter().filter(|s| s.enabled).count();
    let mut collector = tokio::spawn(collector::run(
        engine,
        batch_sender,
        control_receiver,
        stopped.clone(),
        health_sender,
        IN_FLIGHT_GRACE,
    ));
    if intake == Intake::Stream {
        // The stream replaces the collectors; a consumer that fails (NATS unreachable at
        // start, a dead writer) ends the daemon like a dead writer does.
        let cluster = config.cluster.clone();
        let enricher = enricher_sender.subscribe();
        let writer = writer.clone();
        let fatal_sender = fatal_sender.clone();
        let mut stop = stopped.clone();
        tokio::spawn(async move {
            let until_stopped = async move { collector::until_stopped(&mut stop).await };
            if let Err(failure) = earful_cluster::run_indexer(
                &cluster,
                cluster_metrics,
                enricher,
                writer,
                earful_cluster::IndexerOptions::default(),
                until_stopped,
            )
            .await
            {
                let _ = fatal_sender.send(anyhow::Error::new(failure));
            }
        });
    }

    let shared_store = Arc::new(Mutex::new(store));
    let (evaluator_sender, evaluator_receiver) = watch::channel(Arc::new(evaluator));
    let deliver_wake = Arc::new(Notify::new());
    let after_commit = tokio::spawn(
        AfterCommit {
            index: Arc::clone(&index),
            store: Arc::clone(&shared_store),
            evaluator: evaluator_receiver,
            health: health_receiver,
            deliver: Arc::clone(&deliver_wake),
            health_deadline: (config.index.commit_interval.0 * 2).max(HEALTH_DEADLINE_FLOOR),
        }
        .run(writer.subscribe_commits(), stopped.clone()),
    );
    let (deliverer_sender, deliverer_receiver) = watch::channel(Arc::new(deliverer));
    let (delivery_stop, delivery_stopped) = watch::channel(false);
    let delivery_thread = alerting::spawn_delivery(
        pipeline::open_store(&config)?,
        deliverer_receiver,
        Arc::clone(&deliver_wake),
        delivery_stopped,
        DRAIN_BUDGET,
    )
    .context("cannot start the delivery thread")?;
    let delivery = tokio::task::spawn_blocking(move || {
        let _ = delivery_thread.join();
    });
    let liveness = tokio::spawn(liveness(
        writer.clone(),
        fatal_sender,
        systemd::watchdog_interval(),
    ));

    state.set_ready(true);
    systemd::ready();
    info!(
        listen = %address,
        sources = source_count,
        watches = config.watches.len(),
        channels = config.notifiers.len(),
        mentions = index.num_docs(),
        "ready"
    );

    let mut live = Live {
        config_path,
        running: config,
        state: state.clone(),
        store: shared_store,
        commits,
        committed_at_start: committed,
        enricher: enricher_sender,
        evaluator: evaluator_sender,
        deliverer: deliverer_sender,
        collector: control,
        intake,
    };
    let mut pending: Option<PendingReload> = None;
    let stopped_by = loop {
        tokio::select! {
            name = stop_signal(&mut signals.terminate, &mut signals.interrupt) => break name,
            _ = signals.hangup.recv() => {
                systemd::reloading();
                info!(config = %live.config_name(), "reloading the config");
                match live.begin_reload().await {
                    Some(reload) => pending = Some(reload),
                    None => systemd::ready(),
                }
            }
            diff = reload_done(&mut pending), if pending.is_some() => {
                if let Some(reload) = pending.take() {
                    log_reload(&reload.changes, &diff.unwrap_or_default());
                }
                systemd::ready();
            }
            Some(failure) = fatal_errors.recv() => return fatal(failure),
            joined = &mut enrich => {
                let failure = match joined {
                    Ok(Ok(Err(error))) => anyhow::Error::new(error),
                    Ok(Ok(Ok(()))) => anyhow::anyhow!("the enrichment stage stopped"),
                    Ok(Err(_)) | Err(_) => anyhow::anyhow!("the enrichment thread panicked"),
                };
                return fatal(failure);
            }
            _ = &mut collector => return fatal(anyhow::anyhow!("the collector task stopped")),
        }
    };

    info!(signal = stopped_by, "stopping");
    systemd::stopping();
    state.set_ready(false);
    let tasks = Tasks {
        stop,
        collector,
        enrich,
        after_commit,
        delivery_stop,
        delivery,
        deliver_wake,
        liveness,
        server_stop,
        server,
        writer,
    };
    let store = Arc::clone(&live.store);
    let index_for_final = Arc::clone(&index);
    let evaluator = Arc::clone(&live.evaluator.borrow());
    tokio::select! {
        outcome = tokio::time::timeout(SHUTDOWN_BUDGET, shutdown(tasks, index_for_final, store, evaluator)) => {
            match outcome {
                Ok(Ok(())) => {
                    info!("stopped");
                    Ok(ExitCode::SUCCESS)
                }
                Ok(Err(failure)) => Err(failure.context("the shutdown failed")),
                Err(_) => Err(anyhow::anyhow!("the shutdown took longer than {} s", SHUTDOWN_BUDGET.as_secs())),
            }
        }
        name = stop_signal(&mut signals.terminate, &mut signals.interrupt) => {
            error!(signal = name, "second stop signal: exiting at once");
            std::process::exit(EXIT_INTERRUPTED);
        }
    }
}

/// Waits for the collector's answer to a pending reload.
async fn reload_done(pending: &mut Option<PendingReload>) -> Option<SourcesDiff> {
    match pending {
        Some(reload) => (&mut reload.sources).await.ok(),
        None => std::future::pending().await,
    }
}

/// Logs why the daemon cannot go on; the caller exits 1 and systemd restarts it.
fn fatal(failure: anyhow::Error) -> anyhow::Result<ExitCode> {
    error!(error = %format!("{failure:#}"), "exiting: the daemon cannot go on");
    Err(failure)
}

/// Stops everything in order: collectors (in-flight polls finish), enrichment drains into the
/// writer, the final commit with the cursors, health and alerts for it, a bounded drain of
/// the outbox, then the server.
async fn shutdown(
    tasks: Tasks,
    index: Arc<earful_index::MentionIndex>,
    store: Arc<Mutex<Store>>,
    evaluator: Arc<Evaluator>,
) -> anyhow::Result<()> {
    tasks.liveness.abort();
    tasks.stop.send_replace(true);
    let engine = tasks.collector.await.context("the collector task failed")?;
    match tasks.enrich.await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(error))) => return Err(anyhow::Error::new(error).context("indexing failed")),
        Ok(Err(_)) | Err(_) => anyhow::bail!("the enrichment thread panicked"),
    }
    // An evaluation in progress finishes first: the final one below sees everything.
    let _ = tasks.after_commit.await;
    let writer = tasks.writer;
    let commit = tokio::task::spawn_blocking(move || writer.shutdown())
        .await
        .context("the final commit failed")?
        .context("the final index commit failed")?;
    info!(
        mentions = commit
            .as_ref()
            .map_or_else(|| index.num_docs(), |info| info.num_docs),
        "final commit"
    );
    let snapshot = HealthSnapshot {
        sources: engine.health(),
        brought_items: false,
    };
    let queued = tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
        alerting::save(&store, &snapshot)?;
        alerting::evaluate(&evaluator, &index, &store)
    })
    .await
    .context("the final evaluation failed")?;
    match queued {
        Ok(queued) if queued > 0 => tasks.deliver_wake.notify_one(),
        Ok(_) => {}
        Err(failure) => {
            warn!(error = %format!("{failure:#}"), "final alert evaluation failed; it runs after the next start");
        }
    }
    tasks.delivery_stop.send_replace(true);
    // The drain has its own budget; past it (a channel ignoring its timeout), exit anyway:
    // what is not marked sent stays in the outbox for the next start.
    if tokio::time::timeout(DRAIN_BUDGET + Duration::from_millis(500), tasks.delivery)
        .await
        .is_err()
    {
        warn!("notifications still sending at shutdown; they stay in the outbox");
    }
    let _ = tasks.server_stop.send(());
    let mut server = tasks.server;
    match tokio::time::timeout(SERVER_STOP_GRACE, &mut server).await {
        Ok(Ok(Err(error))) => warn!(%error, "the HTTP server failed"),
        Ok(_) => {}
        Err(_) => server.abort(),
    }
    Ok(())
}

/// Probes the writer every second: an empty batch changes nothing and fails only once the
/// writer thread has stopped (its commit failed, or it panicked), so a dead writer is noticed
/// without waiting for the next poll. While it lives, pings the systemd watchdog.
async fn liveness(
    writer: IndexWriterHandle,
    fatal: mpsc::UnboundedSender<anyhow::Error>,
    watchdog: Option<Duration>,
) {
    let period = watchdog.map_or(LIVENESS_INTERVAL, |half| half.min(LIVENESS_INTERVAL));
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let probe = writer.clone();
        match tokio::task::spawn_blocking(move || probe.send(Batch::default())).await {
            Ok(Ok(())) => {
                if watchdog.is_some() {
                    systemd::watchdog();
                }
            }
            Ok(Err(error)) => {
                let _ = fatal.send(anyhow::Error::new(error));
                return;
            }
            Err(failure) => {
                let _ = fatal.send(anyhow::anyhow!("the writer probe failed: {failure}"));
                return;
            }
        }
    }
}
