//! `earful ingest FILE.jsonl|-`: import mentions. Each line is one mention in the JSON form
//! (only `id`, `text` and `published_at` are required). A bad line is reported with its line
//! number and skipped; the rest is ingested. Ingesting the same file again changes nothing.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use earful_core::MentionInput;
use earful_index::{Batch, MentionIndex};
use time::OffsetDateTime;
use tracing::info;

use crate::commands::EXIT_REJECTED_LINES;
use crate::enrich::Enricher;
use crate::settings;

/// Mentions sent to the writer at a time.
const BATCH_SIZE: usize = 2_000;
/// Rejected lines reported one by one; past this only the count is kept.
const MAX_REPORTED_LINES: usize = 100;

/// Arguments of `earful ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// A JSONL file, or `-` for stdin.
    input: PathBuf,
}

/// What an ingest did.
#[derive(Debug, Default)]
struct Tally {
    indexed: u64,
    rejected: u64,
    blank: u64,
}

/// Reads, enriches and indexes every good line; reports the bad ones.
pub fn run(config_path: Option<&Path>, args: IngestArgs) -> anyhow::Result<ExitCode> {
    let config = settings::load(config_path)?;
    let enricher = Enricher::from_config(&config)?;
    let index_dir = config.data_dir.join("index");
    let index = MentionIndex::open(&index_dir, settings::index_options(&config.index))
        .with_context(|| format!("cannot open the index in `{}`", index_dir.display()))?;
    let writer = index
        .start_writer()
        .context("cannot start the index writer")?;

    let (reader, input_name): (Box<dyn Read>, String) = if args.input.as_os_str() == "-" {
        (Box::new(std::io::stdin().lock()), "<stdin>".to_string())
    } else {
        let file = File::open(&args.input)
            .with_context(|| format!("cannot open `{}`", args.input.display()))?;
        (Box::new(file), args.input.display().to_string())
    };
    let now = OffsetDateTime::now_utc();
    let mut tally = Tally::default();
    let mut batch = Vec::with_capacity(BATCH_SIZE);
    let mut lines = BufReader::with_capacity(1 << 20, reader);
    let mut line = String::new();
    let mut line_number = 0u64;
    loop {
        line.clear();
        let read = lines
            .read_line(&mut line)
            .with_context(|| format!("cannot read `{input_name}` after line {line_number}"))?;
        if read == 0 {
            break;
        }
        line_number += 1;
        if line.trim().is_empty() {
            tally.blank += 1;
            continue;
        }
        match MentionInput::from_json(line.trim_end_matches(['\n', '\r'])) {
            Ok(input) => {
                batch.push(enricher.enrich(input, now));
                tally.indexed += 1;
            }
            Err(error) => {
                tally.rejected += 1;
                if tally.rejected as usize <= MAX_REPORTED_LINES {
                    eprintln!("{input_name}:{line_number}: {error}");
                }
            }
        }
        if batch.len() >= BATCH_SIZE {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_SIZE));
            writer
                .send(Batch {
                    mentions: full,
                    ..Batch::default()
                })
                .context("the index writer stopped")?;
        }
    }
    if !batch.is_empty() {
        writer
            .send(Batch {
                mentions: batch,
                ..Batch::default()
            })
            .context("the index writer stopped")?;
    }
    let commit = writer.shutdown().context("cannot commit the index")?;
    index.reload().context("cannot reload the index")?;
    let total = commit
        .map(|commit| commit.num_docs)
        .unwrap_or_else(|| index.num_docs());
    info!(
        indexed = tally.indexed,
        rejected = tally.rejected,
        total,
        "ingest finished"
    );
    if tally.rejected as usize > MAX_REPORTED_LINES {
        eprintln!(
            "{input_name}: {} more rejected lines not shown",
            tally.rejected as usize - MAX_REPORTED_LINES
        );
    }
    eprintln!(
        "ingested {} mentions from `{input_name}`, rejected {} lines; the index holds {total} mentions",
        tally.indexed, tally.rejected
    );
    if tally.rejected > 0 {
        Ok(ExitCode::from(EXIT_REJECTED_LINES))
    } else {
        Ok(ExitCode::SUCCESS)
    }
}
