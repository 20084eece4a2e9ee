//! # Ingest throughput: raw tantivy vs the earful-index writer
//!
//! Reads mentions as JSONL and indexes them into a fresh directory, either with raw tantivy
//! (`raw`: the plain schema a user would start from, parse, build the document by hand,
//! `add_document`, one commit) or through `MentionIndex`'s writer thread (`earful`: Earful's
//! schema, parse, `Batch` of 1,000, upsert, commits with payload). Both use a 256 MB writer
//! heap. `earful ingest` itself (enrichment included) is measured as a whole process against
//! `raw`; see BENCHMARKS.md.
//!
//! ```sh
//! cargo run --release -p earful-index --example bench_ingest -- raw /tmp/m.jsonl /tmp/idx-raw
//! cargo run --release -p earful-index --example bench_ingest -- earful /tmp/m.jsonl /tmp/idx-earful
//! ```

use std::io::BufRead;
use std::time::{Duration, Instant};

use earful_core::Mention;
use earful_index::{Batch, IndexOptions, MentionIndex};
use tantivy::schema::{
    IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, INDEXED, STORED, STRING,
};
use tantivy::{DateTime, Index, TantivyDocument};

const HEAP: usize = 256 * 1024 * 1024;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, input, output] = args.as_slice() else {
        return Err("usage: bench_ingest raw|earful INPUT.jsonl OUTPUT_DIR".into());
    };
    let _ = std::fs::remove_dir_all(output);
    std::fs::create_dir_all(output)?;
    let reader = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(input)?);
    let started = Instant::now();
    let count = match mode.as_str() {
        "raw" => raw(reader, output)?,
        "earful" => earful(reader, output)?,
        _ => return Err(format!("unknown mode `{mode}`").into()),
    };
    let elapsed = started.elapsed();
    let size: u64 = std::fs::read_dir(output)?
        .filter_map(Result::ok)
        .filter_map(|entry| entry.metadata().ok())
        .map(|metadata| metadata.len())
        .sum();
    println!(
        "{mode}: {count} mentions in {:.2}s = {:.0} mentions/s, index {:.1} MB",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64(),
        size as f64 / 1e6
    );
    Ok(())
}

/// The reference a user would compare with: plain tantivy 0.27 and a plain schema (`id`
/// STRING|STORED; `title`, `text` TEXT|STORED with `en_stem`; `author`, `source`, `feed`,
/// `lang`, `label`, `watches` STRING|FAST; `published_at` DATE|FAST|INDEXED; `author_reach` u64
/// FAST; `compound` f64 FAST|STORED), a 256 MB heap and one commit. It indexes the fields as
/// the input gives them: no enrichment, no upsert, no stored mention.
fn raw(reader: impl BufRead, output: &str) -> Result<u64, Box<dyn std::error::Error>> {
    let mut builder = Schema::builder();
    let prose = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("en_stem")
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
        .set_stored();
    let id = builder.add_text_field("id", STRING | STORED);
    let title = builder.add_text_field("title", prose.clone());
    let text = builder.add_text_field("text", prose);
    let author = builder.add_text_field("author", STRING | FAST);
    let source = builder.add_text_field("source", STRING | FAST);
    let feed = builder.add_text_field("feed", STRING | FAST);
    let lang = builder.add_text_field("lang", STRING | FAST);
    let label = builder.add_text_field("label", STRING | FAST);
    let watches = builder.add_text_field("watches", STRING | FAST);
    let published_at = builder.add_date_field("published_at", INDEXED | FAST);
    let author_reach = builder.add_u64_field("author_reach", FAST);
    let compound = builder.add_f64_field("compound", FAST | STORED);
    let index = Index::create_in_dir(output, builder.build())?;
    let mut writer = index.writer::<TantivyDocument>(HEAP)?;
    let mut count = 0u64;
    for line in reader.lines() {
        let line = line?;
        let mention: RawMention = serde_json::from_str(&line)?;
        let mut document = TantivyDocument::default();
        document.add_text(id, &mention.id);
        if let Some(value) = &mention.title {
            document.add_text(title, value);
        }
        document.add_text(text, &mention.text);
        for (field, value) in [
            (author, &mention.author),
            (source, &mention.source),
            (feed, &mention.feed),
            (lang, &mention.lang),
        ] {
            if let Some(value) = value {
                document.add_text(field, value);
            }
        }
        if let Some(sentiment) = &mention.sentiment {
            if let Some(value) = &sentiment.label {
                document.add_text(label, value);
            }
            if let Some(value) = sentiment.compound {
                document.add_f64(compound, value);
            }
        }
        for watch in &mention.watches {
            document.add_text(watches, watch);
        }
        let at = time::OffsetDateTime::parse(
            &mention.published_at,
            &time::format_description::well_known::Rfc3339,
        )?;
        document.add_date(
            published_at,
            DateTime::from_timestamp_nanos(at.unix_timestamp_nanos() as i64),
        );
        if let Some(reach) = mention.author_reach {
            document.add_u64(author_reach, reach);
        }
        writer.add_document(document)?;
        count += 1;
    }
    writer.commit()?;
    writer.wait_merging_threads()?;
    Ok(count)
}

/// The fields the reference indexes, as the JSONL gives them (any may be missing but `id`,
/// `text` and `published_at`).
#[derive(serde::Deserialize)]
struct RawMention {
    id: String,
    title: Option<String>,
    text: String,
    author: Option<String>,
    source: Option<String>,
    feed: Option<String>,
    lang: Option<String>,
    #[serde(default)]
    watches: Vec<String>,
    published_at: String,
    author_reach: Option<u64>,
    sentiment: Option<RawSentiment>,
}

#[derive(serde::Deserialize)]
struct RawSentiment {
    label: Option<String>,
    compound: Option<f64>,
}

fn earful(reader: impl BufRead, output: &str) -> Result<u64, Box<dyn std::error::Error>> {
    let options = IndexOptions {
        writer_heap_bytes: HEAP,
        commit_max_docs: 100_000,
        commit_interval: Duration::from_secs(30),
        ..IndexOptions::default()
    };
    let index = MentionIndex::open(output.as_ref(), options)?;
    let writer = index.start_writer()?;
    let mut batch = Vec::with_capacity(1_000);
    let mut count = 0u64;
    for line in reader.lines() {
        let mention: Mention = serde_json::from_str(&line?)?;
        batch.push(mention);
        count += 1;
        if batch.len() == 1_000 {
            writer.send(Batch {
                mentions: std::mem::take(&mut batch),
                cursors: [("bench".to_string(), serde_json::json!(count))].into(),
            })?;
        }
    }
    writer.send(Batch {
        mentions: batch,
        cursors: [("bench".to_string(), serde_json::json!(count))].into(),
    })?;
    writer.shutdown()?;
    Ok(count)
}
