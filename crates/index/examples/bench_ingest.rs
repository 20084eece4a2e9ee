//! # Ingest throughput: raw tantivy vs the earful-index writer
//!
//! Reads mentions as JSONL and indexes them into a fresh directory, either with raw tantivy
//! (`raw`: parse, build the document by hand, `add_document`, one commit) or through
//! `MentionIndex`'s writer thread (`earful`: parse, `Batch` of 1,000, upsert, commits with
//! payload). Both use the same schema and a 256 MB writer heap.
//!
//! ```sh
//! cargo run --release -p earful-index --example bench_ingest -- raw /tmp/m.jsonl /tmp/idx-raw
//! cargo run --release -p earful-index --example bench_ingest -- earful /tmp/m.jsonl /tmp/idx-earful
//! ```

use std::io::BufRead;
use std::time::{Duration, Instant};

use earful_core::Mention;
use earful_index::{Batch, IndexOptions, MentionIndex};
use tantivy::schema::Schema;
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

fn raw(reader: impl BufRead, output: &str) -> Result<u64, Box<dyn std::error::Error>> {
    let schema = earful_index::raw::schema();
    let index = Index::create_in_dir(output, schema.clone())?;
    earful_index::raw::register_tokenizers(&index);
    let mut writer = index.writer::<TantivyDocument>(HEAP)?;
    let field = |name: &str| schema.get_field(name);
    let fields = RawFields::new(&schema, field)?;
    let mut count = 0u64;
    for line in reader.lines() {
        let line = line?;
        let mention: Mention = serde_json::from_str(&line)?;
        writer.add_document(fields.document(&mention, &line))?;
        count += 1;
    }
    let mut prepared = writer.prepare_commit()?;
    prepared.set_payload("{\"version\":1,\"cursors\":{}}");
    prepared.commit()?;
    writer.wait_merging_threads()?;
    Ok(count)
}

struct RawFields {
    f: Vec<tantivy::schema::Field>,
}

impl RawFields {
    fn new(
        _schema: &Schema,
        field: impl Fn(&str) -> tantivy::Result<tantivy::schema::Field>,
    ) -> tantivy::Result<RawFields> {
        let names = [
            "title",
            "text",
            "id",
            "author",
            "source",
            "feed",
            "lang",
            "label",
            "watch",
            "parent",
            "rating",
            "engagement",
            "author_reach",
            "published_at",
            "_id",
            "_id_hash",
            "_present",
            "compound",
            "_mention",
        ];
        Ok(RawFields {
            f: names
                .iter()
                .map(|name| field(name))
                .collect::<Result<_, _>>()?,
        })
    }

    fn document(&self, mention: &Mention, json: &str) -> TantivyDocument {
        let f = &self.f;
        let mut document = TantivyDocument::default();
        if let Some(title) = &mention.title {
            document.add_text(f[0], title);
        }
        document.add_text(f[1], &mention.text);
        document.add_text(f[2], &mention.id);
        if let Some(author) = &mention.author {
            document.add_text(f[3], author);
        }
        document.add_text(f[4], &mention.source);
        document.add_text(f[5], &mention.feed);
        document.add_text(f[6], &mention.lang);
        document.add_text(f[7], mention.sentiment.label.as_str());
        for watch in &mention.watches {
            document.add_text(f[8], watch);
        }
        if let Some(parent) = &mention.parent {
            document.add_text(f[9], parent);
        }
        if let Some(rating) = mention.rating {
            document.add_u64(f[10], u64::from(rating));
        }
        if let Some(engagement) = mention.engagement {
            document.add_u64(f[11], engagement);
        }
        if let Some(reach) = mention.author_reach {
            document.add_u64(f[12], reach);
        }
        document.add_date(
            f[13],
            DateTime::from_timestamp_nanos(mention.published_at.unix_timestamp_nanos() as i64),
        );
        document.add_text(f[14], &mention.id);
        document.add_u64(f[15], mention.id.len() as u64);
        document.add_text(f[16], "text");
        if let Some(compound) = mention.sentiment.compound {
            document.add_f64(f[17], compound);
        }
        document.add_text(f[18], json);
        document
    }
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
