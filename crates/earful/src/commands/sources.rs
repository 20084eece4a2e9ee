//! `earful sources`: the health of every configured source, as the last polls left it.

use std::path::Path;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use earful_collect::SourceHealth;
use earful_store::Store;
use serde::Serialize;

use crate::settings;

/// `earful sources`.
#[derive(Debug, Args)]
pub struct SourcesArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
}

/// One row of the table: a configured source and its health.
#[derive(Debug, Serialize)]
struct Row {
    name: String,
    kind: String,
    enabled: bool,
    #[serde(flatten)]
    health: SourceHealth,
}

/// Prints the health table.
pub fn run(config_path: Option<&Path>, args: SourcesArgs) -> anyhow::Result<ExitCode> {
    let config = settings::load(config_path)?;
    let store_path = config.data_dir.join("state.sqlite");
    // No state database yet: every source is simply new.
    let store = if store_path.exists() {
        Some(Store::open(&store_path)?)
    } else {
        None
    };
    let mut rows = Vec::new();
    for source in &config.sources {
        let stored = match &store {
            Some(store) => store.source_health(&source.name)?,
            None => None,
        };
        let health = stored
            .and_then(|row| serde_json::from_value::<SourceHealth>(row.record).ok())
            .unwrap_or_default();
        rows.push(Row {
            name: source.name.clone(),
            kind: source.kind.as_str().to_string(),
            enabled: source.enabled,
            health,
        });
    }
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
        Format::Table => print_table(&rows),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(rows: &[Row]) {
    let time = |at: Option<time::OffsetDateTime>| {
        at.map_or_else(|| "-".to_string(), earful_core::time::format_timestamp)
    };
    let header = [
        "SOURCE",
        "KIND",
        "STATE",
        "FAILURES",
        "LAST SUCCESS",
        "NEXT ATTEMPT",
        "ITEMS",
        "SKIPPED",
        "304S",
        "LAST ERROR",
    ];
    let mut lines: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    for row in rows {
        let state = if row.enabled {
            row.health.state.as_str().to_string()
        } else {
            "disabled".to_string()
        };
        let last_error = row.health.last_error.as_ref().map_or_else(
            || "-".to_string(),
            |error| format!("{}: {}", error.class, error.message),
        );
        lines.push(vec![
            row.name.clone(),
            row.kind.clone(),
            state,
            row.health.consecutive_failures.to_string(),
            time(row.health.last_success),
            time(row.health.next_attempt),
            row.health.items.to_string(),
            row.health.skipped.to_string(),
            row.health.not_modified.to_string(),
            last_error,
        ]);
    }
    let columns = header.len();
    let widths: Vec<usize> = (0..columns)
        .map(|column| {
            lines
                .iter()
                .map(|line| line[column].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for line in &lines {
        let mut out = String::new();
        for (column, cell) in line.iter().enumerate() {
            if column + 1 == columns {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  ", width = widths[column]));
            }
        }
        println!("{}", out.trim_end());
    }
}
