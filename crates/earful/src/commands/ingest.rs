//! `earful ingest FILE.jsonl|-`: import mentions. Each line is one mention in the JSON form
//! (only `id`, `text` and `published_at` are required). A bad line is reported with its line
//! number and skipped; the rest is ingested. Ingesting the same file again changes nothing.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use clap::Args;
use earful_core::{Mention, MentionInput};
use earful_index::{Batch, IndexError, IndexOptions, IndexWriterHandle, MentionIndex};
use time::OffsetDateTime;
use tracing::info;

use crate::commands::EXIT_REJECTED_LINES;
use crate::settings;
use earful_enrich::Enricher;

/// Mentions sent to the writer at a time.
const BATCH_SIZE: usize = 1_000;
/// Shortest time between commits during an ingest.
const BULK_COMMIT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);
/// Batches that may wait for the index writer during an ingest.
const BULK_CHANNEL_CAPACITY: usize = 2;
/// Lines parsed and enriched as one unit of work.
const CHUNK_LINES: usize = 500;
/// Most enrichment threads.
const MAX_WORKERS: usize = 4;
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

/// Consecutive lines of the input.
struct Chunk {
    seq: u64,
    first_line: u64,
    lines: Vec<String>,
}

/// A chunk parsed and enriched.
struct Enriched {
    seq: u64,
    mentions: Vec<Mention>,
    rejected: Vec<(u64, String)>,
    blank: u64,
}

/// Reads the input in chunks of lines until it ends, an error, or nobody listens.
fn read_chunks(
    reader: Box<dyn Read + Send>,
    input_name: &str,
    chunks: &SyncSender<Chunk>,
) -> anyhow::Result<()> {
    let mut lines = BufReader::with_capacity(1 << 20, reader);
    let mut line_number = 0u64;
    let mut seq = 0u64;
    loop {
        let mut chunk = Chunk {
            seq,
            first_line: line_number + 1,
            lines: Vec::with_capacity(CHUNK_LINES),
        };
        let mut result = Ok(());
        while chunk.lines.len() < CHUNK_LINES {
            let mut line = String::new();
            match lines.read_line(&mut line) {
                Ok(0) => break,
                Ok(_) => {
                    line_number += 1;
                    chunk.lines.push(line);
                }
                Err(error) => {
                    result = Err(anyhow::Error::new(error).context(format!(
                        "cannot read `{input_name}` after line {line_number}"
                    )));
                    break;
                }
            }
        }
        let end = chunk.lines.len() < CHUNK_LINES;
        if !chunk.lines.is_empty() && chunks.send(chunk).is_err() {
            return result;
        }
        if end || result.is_err() {
            return result;
        }
        seq += 1;
    }
}

fn enrich_chunk(enricher: &Enricher, chunk: Chunk, now: OffsetDateTime) -> Enriched {
    let mut enriched = Enriched {
        seq: chunk.seq,
        mentions: Vec::with_capacity(chunk.lines.len()),
        rejected: Vec::new(),
        blank: 0,
    };
    for (line_number, line) in (chunk.first_line..).zip(&chunk.lines) {
        if line.trim().is_empty() {
            enriched.blank += 1;
            continue;
        }
        match MentionInput::from_json(line.trim_end_matches(['\n', '\r'])) {
            Ok(input) => enriched.mentions.push(enricher.enrich(input, now)),
            Err(error) => enriched.rejected.push((line_number, error.to_string())),
        }
    }
    enriched
}

/// Proves ids new while loading into an index that was empty, so the writer can skip the
/// upsert's delete (a look-up in every segment at each commit). Only the ids' hashes are kept
/// (8 bytes each): a collision merely costs a needless delete.
struct NewIds {
    /// `None` once the index had mentions when the ingest started: every batch upserts.
    seen: Option<HashSet<u64>>,
}

impl NewIds {
    fn for_index(index: &MentionIndex) -> NewIds {
        NewIds {
            seen: (index.num_docs() == 0).then(HashSet::new),
        }
    }

    /// Sends a batch, as new when every id in it is seen for the first time.
    fn send(
        &mut self,
        writer: &IndexWriterHandle,
        mentions: Vec<Mention>,
    ) -> Result<(), IndexError> {
        // Every id is recorded, even after one repeats: a later batch must see them all.
        let mut all_new = self.seen.is_some();
        if let Some(seen) = &mut self.seen {
            for mention in &mentions {
                all_new &= seen.insert(id_hash(&mention.id));
            }
        }
        let batch = Batch {
            mentions,
            ..Batch::default()
        };
        if all_new {
            writer.send_new(batch)
        } else {
            writer.send(batch)
        }
    }
}

fn id_hash(id: &str) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    id.hash(&mut hasher);
    hasher.finish()
}

/// Reads, enriches and indexes every good line; reports the bad ones.
pub fn run(config_path: Option<&Path>, args: IngestArgs) -> anyhow::Result<ExitCode> {
    let config = settings::load(config_path)?;
    let enricher = Enricher::from_config(&config)?;
    let index_dir = config.data_dir.join("index");
    // A bulk load commits by size rather than every couple of seconds: a daemon's interval
    // would make a commit (and the merges after it) out of every few thousand mentions.
    let configured = settings::index_options(&config.index);
    // Two batches waiting for the writer are enough to keep it busy; more would only hold
    // mentions in memory next to tantivy's own heap.
    let options = IndexOptions {
        commit_interval: configured.commit_interval.max(BULK_COMMIT_INTERVAL),
        channel_capacity: BULK_CHANNEL_CAPACITY,
        ..configured
    };
    let index = MentionIndex::open(&index_dir, options)
        .with_context(|| format!("cannot open the index in `{}`", index_dir.display()))?;
    let writer = index
        .start_writer()
        .context("cannot start the index writer")?;

    let (reader, input_name): (Box<dyn Read + Send>, String) = if args.input.as_os_str() == "-" {
        (Box::new(std::io::stdin()), "<stdin>".to_string())
    } else {
        let file = File::open(&args.input)
            .with_context(|| format!("cannot open `{}`", args.input.display()))?;
        (Box::new(file), args.input.display().to_string())
    };
    let now = OffsetDateTime::now_utc();
    let mut tally = Tally::default();
    let workers = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
        .clamp(1, MAX_WORKERS);
    // reader thread ─chunks─▶ workers (parse + enrich) ─results─▶ this thread, which puts
    // them back in line order (so errors are reported in order) and feeds the writer. Every
    // channel is bounded, so at most a few chunks are in flight whatever the input size.
    let read_error = std::thread::scope(|scope| -> anyhow::Result<Option<anyhow::Error>> {
        let (chunk_sender, chunk_receiver) = mpsc::sync_channel::<Chunk>(workers * 2);
        let chunk_receiver = Arc::new(Mutex::new(chunk_receiver));
        let (result_sender, result_receiver) = mpsc::sync_channel::<Enriched>(workers * 2);
        let reader_name = input_name.clone();
        let reading = scope.spawn(move || read_chunks(reader, &reader_name, &chunk_sender));
        for _ in 0..workers {
            let chunks = Arc::clone(&chunk_receiver);
            let results = result_sender.clone();
            let enricher = &enricher;
            scope.spawn(move || loop {
                let next = chunks.lock().ok().and_then(|chunks| chunks.recv().ok());
                let Some(chunk) = next else { break };
                if results.send(enrich_chunk(enricher, chunk, now)).is_err() {
                    break;
                }
            });
        }
        // Only the workers hold these now: when they stop, the reader and this loop stop too.
        drop(result_sender);
        drop(chunk_receiver);
        let mut waiting: BTreeMap<u64, Enriched> = BTreeMap::new();
        let mut next_seq = 0u64;
        let mut batch = Vec::with_capacity(BATCH_SIZE);
        let mut new_ids = NewIds::for_index(&index);
        let mut failure = None;
        for enriched in result_receiver.iter() {
            waiting.insert(enriched.seq, enriched);
            while let Some(ready) = waiting.remove(&next_seq) {
                next_seq += 1;
                tally.blank += ready.blank;
                for (line_number, error) in ready.rejected {
                    tally.rejected += 1;
                    if tally.rejected as usize <= MAX_REPORTED_LINES {
                        eprintln!("{input_name}:{line_number}: {error}");
                    }
                }
                tally.indexed += ready.mentions.len() as u64;
                batch.extend(ready.mentions);
                if batch.len() >= BATCH_SIZE {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_SIZE));
                    if let Err(error) = new_ids.send(&writer, full) {
                        failure = Some(error);
                        break;
                    }
                }
            }
            if failure.is_some() {
                break;
            }
        }
        // Dropping the receiver stops the workers and then the reader.
        drop(result_receiver);
        if let Some(error) = failure {
            return Err(anyhow::Error::new(error).context("the index writer stopped"));
        }
        if !batch.is_empty() {
            new_ids
                .send(&writer, batch)
                .context("the index writer stopped")?;
        }
        match reading.join() {
            Ok(result) => Ok(result.err()),
            Err(_) => Err(anyhow::anyhow!("the reader thread panicked")),
        }
    })?;
    if let Some(error) = read_error {
        // What was read before the error is committed, as the writer stops.
        writer.shutdown().context("cannot commit the index")?;
        return Err(error);
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
    // Alerts count what the final commit holds (DESIGN.md invariant 2).
    crate::commands::alerts::evaluate_and_deliver(&config, &index)?;
    if tally.rejected > 0 {
        Ok(ExitCode::from(EXIT_REJECTED_LINES))
    } else {
        Ok(ExitCode::SUCCESS)
    }
}
