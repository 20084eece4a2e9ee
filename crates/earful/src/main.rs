//! `earful`, the binary: the command line over Earful's library crates.
//!
//! This crate is thin wiring: it parses arguments, loads the config, and calls the library
//! crates. It must never hold logic another crate should own, and never print anything but
//! results on stdout (logs and errors go to stderr).

mod commands;
mod daemon;
mod settings;

/// mimalloc rather than the system allocator: tantivy's indexing threads and enrichment make
/// many small, short-lived allocations, and `earful ingest` spent ~7 % of its CPU in glibc's
/// malloc and free (BENCHMARKS.md, "Ingest").
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Earful: a self-hosted word-of-mouse monitor.
#[derive(Debug, Parser)]
#[command(name = "earful", version, about, long_about = None)]
struct Cli {
    /// The config file (default: the built-in config, with data in ./data).
    #[arg(long, short, global = true, env = "EARFUL_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log filter for stderr, e.g. `info`, `debug`, `earful_index=debug` (default: `info`
    /// for `run`, `warn` for the other commands).
    #[arg(long, global = true, env = "EARFUL_LOG", value_name = "FILTER")]
    log: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The daemon: collect on schedule, index, alert, deliver and serve HTTP until SIGTERM;
    /// SIGHUP reloads the config.
    Run(commands::run::RunArgs),
    /// Poll every source once, index what is new, and exit.
    Collect(commands::collect::CollectArgs),
    /// The health of every configured source.
    Sources(commands::sources::SourcesArgs),
    /// Import mentions from JSONL (backfill, replay, benchmarks).
    Ingest(commands::ingest::IngestArgs),
    /// Alerts with their state, evidence and delivery status; `alerts deliver` retries now.
    Alerts(commands::alerts::AlertsArgs),
    /// Search mentions.
    Search(commands::search::SearchArgs),
    /// Write every matching mention, streamed, as JSONL or CSV.
    Export(commands::search::ExportArgs),
    /// Aggregations: the timeline by label, top authors/sources/terms, label share.
    Stats(commands::stats::StatsArgs),
    /// Score text with VADER (stdin, a line each, if no TEXT).
    Score(commands::score::ScoreArgs),
    /// Run the spike detector and alert hygiene over a `timestamp,value` CSV series.
    Detect(commands::detect::DetectArgs),
    /// Work with the config file.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigAction {
    /// Validate the config and print what is wrong, as FILE:LINE: key: problem.
    Check,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The daemon's start, reload and stop lines are for operators; one-shot commands stay quiet.
    let default_filter = match cli.command {
        Command::Run(_) => {
            #[cfg(feature = "mimalloc")]
            daemon::reexec_for_allocator();
            "info"
        }
        _ => "warn",
    };
    init_logging(cli.log.as_deref().unwrap_or(default_filter));
    let outcome = match cli.command {
        Command::Run(args) => commands::run::run(cli.config.as_deref(), args),
        Command::Collect(args) => commands::collect::run(cli.config.as_deref(), args),
        Command::Sources(args) => commands::sources::run(cli.config.as_deref(), args),
        Command::Ingest(args) => commands::ingest::run(cli.config.as_deref(), args),
        Command::Alerts(args) => commands::alerts::run(cli.config.as_deref(), args),
        Command::Search(args) => commands::search::run_search(cli.config.as_deref(), args),
        Command::Export(args) => commands::search::run_export(cli.config.as_deref(), args),
        Command::Stats(args) => commands::stats::run(cli.config.as_deref(), args),
        Command::Score(args) => commands::score::run(cli.config.as_deref(), args),
        Command::Detect(args) => commands::detect::run(args),
        Command::Config {
            action: ConfigAction::Check,
        } => commands::config_check::run(cli.config.as_deref()),
    };
    match outcome {
        Ok(code) => code,
        Err(error) => commands::report(&error),
    }
}

fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // Colours only for a terminal: journald and log files get plain text.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}
