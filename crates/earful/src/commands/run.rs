//! `earful run`: the daemon. Validates the config (exit 2 with `FILE:LINE: key: problem`),
//! refuses to expose an open server on a public address (exit 2), then runs every task until
//! SIGTERM or SIGINT (exit 0), a second stop signal (exit 130), or a dead index writer
//! (exit 1). SIGHUP reloads the config. See [`crate::daemon`].
//!
//! `--role collector` runs only this node's share of the sources (`[cluster]`) and publishes
//! what they collect to NATS JetStream (see `earful_cluster`); `--role indexer` is the daemon
//! above with the stream in place of its own collectors; `--role all`, the default, is the
//! single process and needs no NATS.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;

use crate::commands::UsageError;
use crate::settings;

/// Which part of Earful this process runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// Collect, index, alert and serve in this process (no NATS).
    #[default]
    All,
    /// Poll this node's `[cluster]` sources and publish their mentions to NATS JetStream.
    Collector,
    /// Consume the collectors' mentions from NATS JetStream, index, alert and serve.
    Indexer,
}

/// Arguments of `earful run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// What this process runs: `all` (the default; needs no NATS), `collector` or `indexer`.
    #[arg(long, value_enum, default_value_t = Role::All, env = "EARFUL_ROLE")]
    role: Role,
    /// The NATS server(s) of a scale-out role, `nats://host:port` (overrides `[cluster] nats`).
    #[arg(long, value_name = "URL", env = "EARFUL_NATS")]
    nats: Option<String>,
}

/// Runs the daemon.
pub fn run(config_path: Option<&Path>, args: RunArgs) -> anyhow::Result<ExitCode> {
    let mut config = settings::load(config_path)?;
    if let Some(nats) = args.nats {
        if args.role == Role::All {
            return Err(UsageError(
                "`--nats` applies only to a scale-out role such as `--role collector`".into(),
            )
            .into());
        }
        if !nats.split(',').all(|server| {
            server.trim().starts_with("nats://") || server.trim().starts_with("tls://")
        }) {
            return Err(UsageError(format!(
                "`--nats {}` is not a NATS URL like nats://127.0.0.1:4222",
                earful_cluster::redact(&nats)
            ))
            .into());
        }
        config.cluster.nats = nats;
    }
    if args.role == Role::Collector {
        return run_collector(config);
    }
    let address = earful_server::check_exposure(&config.server)
        .map_err(|error| UsageError(error.to_string()))?;
    let intake = match args.role {
        Role::Indexer => crate::daemon::Intake::Stream,
        Role::All | Role::Collector => crate::daemon::Intake::Collectors,
    };
    crate::daemon::run(config_path, config, address, intake)
}

/// `--role collector`: the poll engine over this node's sources, publishing to NATS, until
/// SIGTERM or SIGINT. Exits 1 with a message naming the URL when NATS cannot be reached.
/// Like every node it serves `[server] listen`: the probes, `/metrics` (the collectors' and
/// the cluster's series) and `/sources`, whose health it saves to `state.sqlite` after each
/// round whose mentions the stream has acknowledged. Its index stays empty.
fn run_collector(config: earful_core::config::Config) -> anyhow::Result<ExitCode> {
    use std::future::IntoFuture;
    use std::sync::{Arc, Mutex};

    use anyhow::Context;
    use tokio::signal::unix::{signal, SignalKind};

    use crate::daemon::{alerting, collector::HealthSnapshot, pipeline};

    let address = earful_server::check_exposure(&config.server)
        .map_err(|error| UsageError(error.to_string()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("earful-runtime")
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
        let shutdown = async move {
            let name = tokio::select! {
                _ = terminate.recv() => "SIGTERM",
                _ = interrupt.recv() => "SIGINT",
            };
            tracing::info!(signal = name, "stopping");
        };
        tracing::info!(node = %config.cluster.node, nats = %earful_cluster::redact(&config.cluster.nats), listen = %address, "starting as a collector");
        let pipeline::DataDir {
            index, store, health, ..
        } = pipeline::open_data(&config)?;
        let store = Arc::new(Mutex::new(store));
        let metrics = Arc::new(earful_cluster::ClusterMetrics::default());
        let connection =
            earful_cluster::ClusterConnection::connect(&config.cluster, "collector", Arc::clone(&metrics))
                .await?;
        let collector = earful_cluster::Collector::start(connection).await?;
        let assigned = earful_cluster::assigned_config(&config);
        let names: Vec<String> = assigned
            .sources
            .iter()
            .filter(|source| source.enabled)
            .map(|source| source.name.clone())
            .collect();
        tracing::info!(node = %config.cluster.node, sources = names.len(), "collector sources assigned");
        let cursors = collector.saved_cursors(&names).await?;
        let mut engine = earful_collect::Engine::new(
            &assigned,
            earful_collect::EngineOptions::from_config(&config.collect),
            &cursors,
            health,
        )
        .context("cannot start the poll engine")?;

        let render = Arc::clone(&metrics);
        let state = earful_server::ApiState::from_config(Arc::new(index), &assigned)?
            .with_state_database(pipeline::open_store(&config)?)
            .with_collect_metrics(engine.metrics())
            .with_metrics_text(earful_server::MetricsText::new(move || render.render()));
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen on `{address}`"))?;
        let (server_stop, server_stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(
            axum::serve(listener, earful_server::app(state))
                .with_graceful_shutdown(async move {
                    let _ = server_stopped.await;
                })
                .into_future(),
        );
        let save = |sources| {
            let snapshot = HealthSnapshot {
                sources,
                brought_items: false,
            };
            if let Err(error) = alerting::save(&store, &snapshot) {
                tracing::warn!(error = %format!("{error:#}"), "cannot save the source health");
            }
        };
        let outcome = collector.run_with_health(&mut engine, shutdown, save).await;
        let _ = server_stop.send(());
        let _ = server.await;
        outcome?;
        Ok(ExitCode::SUCCESS)
    })
}
