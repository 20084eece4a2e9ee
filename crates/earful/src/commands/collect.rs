//! `earful collect --once`: poll every enabled source once, enrich, index with the cursors in
//! the same commit, save each source's health, print a line per source. Exits 1 when any
//! source failed, after finishing the others.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use earful_collect::{Engine, EngineOptions, PollReport, SourceBatch};
use earful_enrich::Enricher;
use tokio::sync::mpsc;

use crate::commands::{UsageError, EXIT_FAILURE};
use crate::daemon::pipeline::{self, BATCH_CHANNEL_CAPACITY};
use crate::settings;

/// `earful collect`.
#[derive(Debug, Args)]
pub struct CollectArgs {
    /// Poll every source once and exit (the daemon, `earful run`, polls on schedule).
    #[arg(long)]
    once: bool,
}

/// Runs one collection cycle.
pub fn run(config_path: Option<&Path>, args: CollectArgs) -> anyhow::Result<ExitCode> {
    if !args.once {
        return Err(UsageError(
            "`earful collect` needs `--once`; `earful run` collects on schedule".into(),
        )
        .into());
    }
    let config = settings::load(config_path)?;
    let enricher = Enricher::from_config(&config)?;
    let pipeline::DataDir {
        index,
        committed,
        store,
        health,
    } = pipeline::open_data(&config)?;
    let mut engine = Engine::new(
        &config,
        EngineOptions::from_config(&config.collect),
        &committed,
        health,
    )?;
    let writer = index
        .start_writer()
        .context("cannot start the index writer")?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let (sender, receiver) = mpsc::channel::<SourceBatch>(BATCH_CHANNEL_CAPACITY);
    let index_stage =
        pipeline::spawn_enrich_stage(pipeline::fixed_enricher(enricher), receiver, writer.clone())
            .context("cannot start the enrichment thread")?;
    let reports = runtime.block_on(engine.poll_all(&sender));
    drop(sender);
    let staged = index_stage
        .join()
        .map_err(|_| anyhow::anyhow!("the enrichment thread panicked"))?;
    staged.context("indexing failed")?;
    let commit = writer.shutdown().context("the final index commit failed")?;

    // Health is saved after the commit, so it never claims items the index does not hold.
    pipeline::save_health(
        &store,
        reports
            .iter()
            .map(|report| (report.source.as_str(), report.kind, &report.health)),
    )?;
    // Searches and alerts see what the final commit holds (DESIGN.md invariant 2).
    index.reload().context("cannot reload the index")?;
    let indexed = commit.map_or_else(|| index.num_docs(), |info| info.num_docs);
    print_summary(&reports, indexed);
    crate::commands::alerts::evaluate_and_deliver(&config, &index)?;
    if reports.iter().any(|report| report.error.is_some()) {
        Ok(ExitCode::from(EXIT_FAILURE))
    } else {
        Ok(ExitCode::SUCCESS)
    }
}

fn print_summary(reports: &[PollReport], indexed: u64) {
    let mut sorted: Vec<&PollReport> = reports.iter().collect();
    sorted.sort_by(|a, b| a.source.cmp(&b.source));
    for report in sorted {
        match &report.error {
            None => println!(
                "{}\t{}\tok\t{} new, {} skipped, {} requests, {} not modified",
                report.source,
                report.kind,
                report.items,
                report.skipped,
                report.requests,
                report.not_modified
            ),
            Some(error) => println!(
                "{}\t{}\tfailed ({})\t{}",
                report.source, report.kind, error.class, error.message
            ),
        }
    }
    let failed = reports.iter().filter(|r| r.error.is_some()).count();
    let items: usize = reports.iter().map(|r| r.items).sum();
    println!(
        "{} sources, {} failed, {} new mentions, {indexed} in the index",
        reports.len(),
        failed,
        items,
    );
}
