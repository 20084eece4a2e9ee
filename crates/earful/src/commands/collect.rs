//! `earful collect --once`: poll every enabled source once, enrich, index with the cursors in
//! the same commit, save each source's health, print a line per source. Exits 1 when any
//! source failed, after finishing the others.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use earful_collect::{Engine, EngineOptions, PollReport, SourceBatch, SourceHealth};
use earful_enrich::Enricher;
use earful_index::{Batch, MentionIndex};
use earful_store::Store;
use time::OffsetDateTime;
use tokio::sync::mpsc;

use crate::commands::{UsageError, EXIT_FAILURE};
use crate::settings;

/// Poll batches waiting for enrichment before the collectors wait (a slow index slows them).
const BATCH_CHANNEL_CAPACITY: usize = 16;

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
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create `{}`", config.data_dir.display()))?;
    let index_dir = config.data_dir.join("index");
    let index = MentionIndex::open(&index_dir, settings::index_options(&config.index))
        .with_context(|| format!("cannot open the index in `{}`", index_dir.display()))?;
    let committed = index
        .commit_payload()
        .context("cannot read the committed cursors")?
        .cursors;
    let store_path = config.data_dir.join("state.sqlite");
    let store = Store::open(&store_path)?;
    let health = load_health(&store)?;
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
    let (sender, mut receiver) = mpsc::channel::<SourceBatch>(BATCH_CHANNEL_CAPACITY);
    // Enrichment is CPU work: it runs on its own thread, fed by the bounded channel, and
    // hands each poll's mentions to the writer with that poll's cursor.
    let index_stage = std::thread::Builder::new()
        .name("earful-enrich".into())
        .spawn({
            let writer = writer.clone();
            move || -> anyhow::Result<()> {
                while let Some(batch) = receiver.blocking_recv() {
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
        })
        .context("cannot start the enrichment thread")?;
    let reports = runtime.block_on(engine.poll_all(&sender));
    drop(sender);
    let staged = index_stage
        .join()
        .map_err(|_| anyhow::anyhow!("the enrichment thread panicked"))?;
    staged.context("indexing failed")?;
    let commit = writer.shutdown().context("the final index commit failed")?;

    // Health is saved after the commit, so it never claims items the index does not hold.
    let records = reports
        .iter()
        .map(|report| serde_json::to_value(&report.health))
        .collect::<Result<Vec<_>, _>>()?;
    store.put_source_health_all(
        reports
            .iter()
            .zip(&records)
            .map(|(report, record)| (report.source.as_str(), report.kind.as_str(), record)),
        OffsetDateTime::now_utc(),
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

fn load_health(store: &Store) -> anyhow::Result<BTreeMap<String, SourceHealth>> {
    let mut health = BTreeMap::new();
    for row in store.all_source_health()? {
        match serde_json::from_value::<SourceHealth>(row.record) {
            Ok(record) => {
                health.insert(row.source, record);
            }
            Err(error) => {
                tracing::warn!(source = %row.source, %error, "stored health unreadable; starting afresh");
            }
        }
    }
    Ok(health)
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
