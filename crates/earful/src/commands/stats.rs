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

/// Runs `earful stats`.
pub fn run(config_path: Option<&Path>, args: StatsArgs) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match args.what {
        Stat::Timeline { query, interval } => {
            let interval = earful_core::time::parse_duration(&interval)
                .map_err(|error| UsageError(format!("--interval: {error}")))?;
            let (query, filters, _) = query.compile()?;
            let index = open_index(config_path)?;
            let buckets = index.timeline(&query, &filters, interval)?;
            match args.format {
                StatsFormat::Json => {
                    serde_json::to_writer_pretty(
                        &mut out,
                        &serde_json::json!({ "buckets": buckets }),
                    )?;
                    writeln!(out)?;
                }
                StatsFormat::Csv | StatsFormat::Table => {
                    let separator = if args.format == StatsFormat::Csv {
                        ","
                    } else {
                        "  "
                    };
                    writeln!(
                        out,
                        "{}",
                        ["start", "total", "positive", "neutral", "negative", "unscored"]
                            .join(separator)
                    )?;
                    for bucket in &buckets {
                        let row = [
                            earful_core::time::format_timestamp(bucket.start),
                            bucket.total.to_string(),
                            bucket.positive.to_string(),
                            bucket.neutral.to_string(),
                            bucket.negative.to_string(),
                            bucket.unscored.to_string(),
                        ];
                        writeln!(out, "{}", row.join(separator))?;
                    }
                }
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
            let index = open_index(config_path)?;
            let ranked = index.top(&query, &filters, field, limit)?;
            match args.format {
                StatsFormat::Json => {
                    let rows: Vec<_> = ranked
                        .iter()
                        .map(|(value, count)| serde_json::json!({"value": value, "count": count}))
                        .collect();
                    serde_json::to_writer_pretty(&mut out, &serde_json::json!({ "top": rows }))?;
                    writeln!(out)?;
                }
                StatsFormat::Csv => {
                    let mut csv = csv::Writer::from_writer(&mut out);
                    csv.write_record(["value", "count"])?;
                    for (value, count) in &ranked {
                        csv.write_record([value.as_str(), &count.to_string()])?;
                    }
                    csv.flush()?;
                }
                StatsFormat::Table => {
                    for (value, count) in &ranked {
                        writeln!(out, "{count:>8}  {value}")?;
                    }
                }
            }
        }
        Stat::Labels { query } => {
            let (query, filters, _) = query.compile()?;
            let index = open_index(config_path)?;
            let share = index.label_share(&query, &filters)?;
            match args.format {
                StatsFormat::Json => {
                    serde_json::to_writer_pretty(&mut out, &share)?;
                    writeln!(out)?;
                }
                StatsFormat::Csv | StatsFormat::Table => {
                    let separator = if args.format == StatsFormat::Csv {
                        ","
                    } else {
                        "  "
                    };
                    writeln!(out, "{}", ["label", "count", "share"].join(separator))?;
                    for label in earful_core::Label::ALL {
                        let count = match label {
                            earful_core::Label::Positive => share.positive,
                            earful_core::Label::Neutral => share.neutral,
                            earful_core::Label::Negative => share.negative,
                            earful_core::Label::Unscored => share.unscored,
                        };
                        writeln!(
                            out,
                            "{}",
                            [
                                label.as_str().to_string(),
                                count.to_string(),
                                format!("{:.3}", share.share(label))
                            ]
                            .join(separator)
                        )?;
                    }
                }
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
