//! `earful search` and `earful export`: the same query and filters; search shows a page,
//! export streams every match.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use earful_core::{Label, Mention, MentionQuery};
use earful_index::{Filters, MentionIndex, SearchRequest, Sort};
use time::OffsetDateTime;

use crate::commands::UsageError;
use crate::settings;

/// The query and filters both commands take.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The query: words (all must match), "phrases", OR, NOT, -exclusion, (groups),
    /// field:value for author, source, feed, lang, label, watch; empty matches everything.
    #[arg(default_value = "")]
    query: String,
    /// Only mentions of this watch.
    #[arg(long)]
    watch: Option<String>,
    /// Only mentions from this source kind (hackernews, feed, …).
    #[arg(long)]
    source: Option<String>,
    /// Only mentions from this configured source (its `name`).
    #[arg(long)]
    feed: Option<String>,
    /// Only this label: positive, neutral, negative or unscored.
    #[arg(long)]
    label: Option<String>,
    /// Only this language (ISO 639-1).
    #[arg(long)]
    lang: Option<String>,
    /// Published at or after: RFC 3339, a date, or an age such as 24h or 7d.
    #[arg(long)]
    since: Option<String>,
    /// Published before: RFC 3339, a date, or an age such as 24h or 7d.
    #[arg(long)]
    until: Option<String>,
    /// Only authors with at least this reach (followers, karma).
    #[arg(long)]
    min_reach: Option<u64>,
    /// Order: newest, oldest, relevance, reach, negative.
    #[arg(long, default_value = "newest")]
    sort: String,
}

/// Arguments of `earful search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    #[command(flatten)]
    query: QueryArgs,
    /// How many mentions to show.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Continue after a previous page (its `next_cursor`).
    #[arg(long)]
    cursor: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// Arguments of `earful export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    query: QueryArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
    format: ExportFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Aligned columns for people.
    Table,
    /// One JSON document: total, mentions, next_cursor (as the HTTP API).
    Json,
    /// One mention per line.
    Jsonl,
    /// CSV with a header row.
    Csv,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ExportFormat {
    /// One mention per line.
    Jsonl,
    /// CSV with a header row.
    Csv,
}

impl QueryArgs {
    /// The compiled query, filters and sort; a bad value is a [`UsageError`] naming its flag.
    pub fn compile(&self) -> anyhow::Result<(MentionQuery, Filters, Sort)> {
        let query =
            MentionQuery::parse(&self.query).map_err(|error| UsageError(error.to_string()))?;
        let now = OffsetDateTime::now_utc();
        let bound = |flag: &str, raw: &Option<String>| -> anyhow::Result<Option<OffsetDateTime>> {
            raw.as_deref()
                .map(|raw| earful_core::time::parse_time_bound(raw, now))
                .transpose()
                .map_err(|error| UsageError(format!("--{flag}: {error}")).into())
        };
        let label = self
            .label
            .as_deref()
            .map(str::parse::<Label>)
            .transpose()
            .map_err(|error| UsageError(format!("--label: {error}")))?;
        let sort = self
            .sort
            .parse::<Sort>()
            .map_err(|error| UsageError(format!("--sort: {error}")))?;
        let filters = Filters {
            watch: self.watch.clone(),
            source: self.source.clone(),
            feed: self.feed.clone(),
            label,
            lang: self.lang.clone(),
            since: bound("since", &self.since)?,
            until: bound("until", &self.until)?,
            min_reach: self.min_reach,
        };
        Ok((query, filters, sort))
    }
}

/// Opens the config's index for reading (works while another process writes).
pub fn open_index(config_path: Option<&Path>) -> anyhow::Result<MentionIndex> {
    let config = settings::load(config_path)?;
    let index_dir = config.data_dir.join("index");
    MentionIndex::open_read_only(&index_dir)
        .with_context(|| format!("cannot open the index in `{}`", index_dir.display()))
}

/// Runs `earful search`.
pub fn run_search(config_path: Option<&Path>, args: SearchArgs) -> anyhow::Result<ExitCode> {
    let (query, filters, sort) = args.query.compile()?;
    let index = open_index(config_path)?;
    let request = SearchRequest {
        query,
        filters,
        sort,
        limit: args.limit,
        cursor: args.cursor,
        highlight: args.format == Format::Table,
    };
    let results = index.search(&request).map_err(|error| match error {
        earful_index::IndexError::BadCursor(_) => UsageError(format!("--cursor: {error}")).into(),
        other => anyhow::Error::new(other).context("search failed"),
    })?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match args.format {
        Format::Json => {
            let mentions: Vec<&Mention> = results.hits.iter().map(|hit| &hit.mention).collect();
            let document = serde_json::json!({
                "total": results.total,
                "mentions": mentions,
                "next_cursor": results.next_cursor,
            });
            serde_json::to_writer_pretty(&mut out, &document)?;
            writeln!(out)?;
        }
        Format::Jsonl => {
            for hit in &results.hits {
                serde_json::to_writer(&mut out, &hit.mention)?;
                writeln!(out)?;
            }
        }
        Format::Csv => {
            let mut csv = CsvOut::new(&mut out)?;
            for hit in &results.hits {
                csv.write(&hit.mention)?;
            }
            csv.finish()?;
        }
        Format::Table => {
            write_table(&mut out, &results)?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `earful export`.
pub fn run_export(config_path: Option<&Path>, args: ExportArgs) -> anyhow::Result<ExitCode> {
    let (query, filters, sort) = args.query.compile()?;
    let index = open_index(config_path)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match args.format {
        ExportFormat::Jsonl => {
            index.export(&query, &filters, sort, |mention| -> anyhow::Result<()> {
                serde_json::to_writer(&mut out, &mention)?;
                writeln!(out)?;
                Ok(())
            })?;
        }
        ExportFormat::Csv => {
            let mut csv = CsvOut::new(&mut out)?;
            index.export(&query, &filters, sort, |mention| csv.write(&mention))?;
            csv.finish()?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

struct CsvOut<W: Write> {
    writer: csv::Writer<W>,
}

impl<W: Write> CsvOut<W> {
    fn new(out: W) -> anyhow::Result<CsvOut<W>> {
        let mut writer = csv::Writer::from_writer(out);
        writer.write_record(Mention::CSV_HEADER)?;
        Ok(CsvOut { writer })
    }

    fn write(&mut self, mention: &Mention) -> anyhow::Result<()> {
        self.writer.write_record(mention.csv_record())?;
        Ok(())
    }

    fn finish(mut self) -> anyhow::Result<()> {
        self.writer.flush()?;
        Ok(())
    }
}

fn write_table(out: &mut impl Write, results: &earful_index::SearchResults) -> anyhow::Result<()> {
    if results.hits.is_empty() {
        writeln!(out, "no mentions match")?;
        return Ok(());
    }
    for hit in &results.hits {
        let mention = &hit.mention;
        let published = earful_core::time::format_timestamp(mention.published_at);
        let compound = mention
            .sentiment
            .compound
            .map(|compound| format!("{compound:+.2}"))
            .unwrap_or_else(|| "  – ".to_string());
        let snippet = hit
            .highlight
            .as_ref()
            .map(|highlight| highlight.fragment.clone())
            .unwrap_or_else(|| mention.text.clone());
        let snippet: String = snippet.split_whitespace().collect::<Vec<_>>().join(" ");
        let snippet: String = snippet.chars().take(100).collect();
        writeln!(
            out,
            "{published}  {:<8} {compound}  {:<12} {:<16} {snippet}",
            mention.sentiment.label.as_str(),
            truncate(&mention.feed, 12),
            truncate(mention.author.as_deref().unwrap_or("-"), 16),
        )?;
    }
    let shown = results.hits.len();
    write!(out, "{shown} of {} mentions", results.total)?;
    if let Some(cursor) = &results.next_cursor {
        write!(out, "; next page: --cursor {cursor}")?;
    }
    writeln!(out)?;
    Ok(())
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}
