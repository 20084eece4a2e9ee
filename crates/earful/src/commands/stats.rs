//! `earful stats`: the aggregations behind the charts — mentions per time bucket split by
//! label, the top authors, sources or terms, and the label share — over the same query and
//! filters as `earful search`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use earful_index::TopField;

use crate::commands::search::{open_index, QueryArgs};
use crate::commands::UsageError;

/// Arguments of `earful stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    #[command(subcommand)]
    what: Stat,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = StatsFormat::Table)]
    format: StatsFormat,
}

#[derive(Debug, Subcommand)]
enum Stat {
    /// Mentions per time bucket, by label.
    Timeline {
        #[command(flatten)]
        query: QueryArgs,
        /// Bucket width: 5m, 1h, 1d, …
        #[arg(long, default_value = "1h")]
        interval: String,
    },
    /// The most frequent authors, sources, feeds, languages or terms.
    Top {
        #[command(flatten)]
        query: QueryArgs,
        /// What to rank: author, source, feed, lang, term.
        #[arg(long, default_value = "author")]
        field: String,
        /// How many to show.
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
    /// How the matching mentions split by label.
    Labels {
        #[command(flatten)]
        query: QueryArgs,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum StatsFormat {
    /// Aligned columns for people.
    Table,
    /// JSON, as the HTTP API returns it.
    Json,
    /// CSV with a header row.
    Csv,
}

/// A result in both shapes: JSON for programs, rows for the table and CSV.
struct Report {
    json: serde_json::Value,
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

/// Runs `earful stats`.
pub fn run(config_path: Option<&Path>, args: StatsArgs) -> anyhow::Result<ExitCode> {
    let report = match args.what {
        Stat::Timeline { query, interval } => {
            let interval = earful_core::time::parse_duration(&interval)
                .map_err(|error| UsageError(format!("--interval: {error}")))?;
            let (query, filters, _) = query.compile()?;
            let buckets = open_index(config_path)?.timeline(&query, &filters, interval)?;
            let rows = buckets
                .iter()
                .map(|bucket| {
                    let mut row = vec![
                        earful_core::time::format_timestamp(bucket.start),
                        bucket.total.to_string(),
                    ];
                    row.extend(
                        earful_core::Label::ALL
                            .iter()
                            .map(|label| bucket.count(*label).to_string()),
                    );
                    row
                })
                .collect();
            Report {
                json: serde_json::json!({ "buckets": buckets }),
                header: vec![
                    "start", "total", "positive", "neutral", "negative", "unscored",
                ],
                rows,
            }
        }
        Stat::Top {
            query,
            field,
            limit,
        } => {
            let field: TopField = field
                .parse()
                .map_err(|error: String| UsageError(format!("--field: {error}")))?;
            let (query, filters, _) = query.compile()?;
            let ranked = open_index(config_path)?.top(&query, &filters, field, limit)?;
            let json_rows: Vec<_> = ranked
                .iter()
                .map(|(value, count)| serde_json::json!({"value": value, "count": count}))
                .collect();
            Report {
                json: serde_json::json!({ "top": json_rows }),
                header: vec!["value", "count"],
                rows: ranked
                    .iter()
                    .map(|(value, count)| vec![value.clone(), count.to_string()])
                    .collect(),
            }
        }
        Stat::Labels { query } => {
            let (query, filters, _) = query.compile()?;
            let share = open_index(config_path)?.label_share(&query, &filters)?;
            let rows = earful_core::Label::ALL
                .iter()
                .map(|label| {
                    vec![
                        label.as_str().to_string(),
                        share.count(*label).to_string(),
                        format!("{:.3}", share.share(*label)),
                    ]
                })
                .collect();
            Report {
                json: serde_json::to_value(share)?,
                header: vec!["label", "count", "share"],
                rows,
            }
        }
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match args.format {
        StatsFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &report.json)?;
            writeln!(out)?;
        }
        StatsFormat::Csv => {
            let mut csv = csv::Writer::from_writer(&mut out);
            csv.write_record(&report.header)?;
            for row in &report.rows {
                csv.write_record(row)?;
            }
            csv.flush()?;
        }
        StatsFormat::Table => write_columns(&mut out, &report.header, &report.rows)?,
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Left-aligned columns, two spaces apart, each as wide as its widest cell.
fn write_columns(
    out: &mut impl Write,
    header: &[&str],
    rows: &[Vec<String>],
) -> anyhow::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|name| name.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|name| name.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        writeln!(out, "{}", cells.join("  ").trim_end())?;
    }
    Ok(())
}
