//! `earful detect`: the daemon's spike detector and alert hygiene over a CSV series.
//!
//! Reads `timestamp,value` rows and writes `timestamp,value,anomaly_score,alarm`, one row out
//! per row in, as it reads (no look-ahead). `alarm` is 1 on exactly the buckets on which the
//! daemon would fire an alert; `anomaly_score` is the detector's score mapped to `[0, 1)` with
//! 0.5 at the firing threshold. It exists so the detector can be measured on public
//! benchmarks (NAB realTweets).

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, ValueEnum};
use earful_alert::{AlertKind, DetectorSettings, SeriesMonitor};
use earful_core::config::Sensitivity;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use super::{UsageError, EXIT_REJECTED_LINES};

/// Arguments of `earful detect`.
#[derive(Debug, Args)]
pub struct DetectArgs {
    /// The series: a CSV with `timestamp` (RFC 3339, or `YYYY-MM-DD HH:MM:SS` in UTC) and
    /// `value` columns, oldest first; `-` for stdin.
    #[arg(long, value_name = "FILE.csv")]
    input: PathBuf,
    /// Where to write the scored series (default: stdout).
    #[arg(long, value_name = "FILE.csv")]
    output: Option<PathBuf>,
    /// The detector preset (the daemon's default: balanced).
    #[arg(long, value_enum, default_value_t = SensitivityArg::Balanced)]
    sensitivity: SensitivityArg,
    /// The width of one bucket: the spacing of the rows (the daemon's default: 5m).
    #[arg(long, default_value = "5m", value_parser = parse_bucket)]
    bucket: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SensitivityArg {
    Fewer,
    Balanced,
    More,
}

impl From<SensitivityArg> for Sensitivity {
    fn from(argument: SensitivityArg) -> Sensitivity {
        match argument {
            SensitivityArg::Fewer => Sensitivity::Fewer,
            SensitivityArg::Balanced => Sensitivity::Balanced,
            SensitivityArg::More => Sensitivity::More,
        }
    }
}

fn parse_bucket(raw: &str) -> Result<Duration, String> {
    let bucket = earful_core::time::parse_duration(raw).map_err(|error| error.to_string())?;
    if bucket.as_secs() == 0 {
        return Err(format!("`{raw}` is shorter than a second"));
    }
    Ok(bucket)
}

/// Runs the detector over the input. Rows that cannot be read are reported on stderr, one
/// line each naming the input line, and skipped; the exit code says some were.
pub fn run(args: DetectArgs) -> anyhow::Result<ExitCode> {
    let input_name = args.input.display().to_string();
    let reader: Box<dyn Read> = if args.input == Path::new("-") {
        Box::new(io::stdin().lock())
    } else {
        Box::new(File::open(&args.input).with_context(|| format!("cannot open `{input_name}`"))?)
    };
    let writer: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(
            File::create(path).with_context(|| format!("cannot create `{}`", path.display()))?,
        ),
        None => Box::new(io::stdout().lock()),
    };
    let settings = DetectorSettings::from_sensitivity(args.sensitivity.into(), args.bucket);
    let rejected = detect(reader, BufWriter::new(writer), &input_name, settings)?;
    if rejected > 0 {
        eprintln!("{input_name}: {rejected} rows rejected");
        return Ok(ExitCode::from(EXIT_REJECTED_LINES));
    }
    Ok(ExitCode::SUCCESS)
}

/// Streams the series through one [`SeriesMonitor`]; returns how many rows were rejected.
fn detect(
    reader: impl Read,
    writer: impl Write,
    input_name: &str,
    settings: DetectorSettings,
) -> anyhow::Result<usize> {
    let mut csv_reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(reader);
    let headers = csv_reader
        .headers()
        .with_context(|| format!("cannot read the header of `{input_name}`"))?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|header| header == name)
            .ok_or_else(|| {
                UsageError(format!(
                "{input_name}:1: the header has no `{name}` column (it needs `timestamp,value`)"
            ))
            })
    };
    let timestamp_column = column("timestamp")?;
    let value_column = column("value")?;

    let mut csv_writer = csv::Writer::from_writer(writer);
    csv_writer.write_record(["timestamp", "value", "anomaly_score", "alarm"])?;
    // The kind only names the series; every kind runs the same detector.
    let mut monitor = SeriesMonitor::new("series", AlertKind::VolumeSpike, settings);
    let mut rejected = 0;
    for (index, record) in csv_reader.records().enumerate() {
        // Line numbers as an editor shows them: the header is line 1.
        let line = index + 2;
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                eprintln!("{input_name}:{line}: {error}");
                rejected += 1;
                continue;
            }
        };
        let line = record
            .position()
            .map_or(line, |position| position.line() as usize);
        let raw_timestamp = record.get(timestamp_column).unwrap_or("");
        let raw_value = record.get(value_column).unwrap_or("");
        let step = parse_row(raw_timestamp, raw_value).and_then(|(bucket_start, value)| {
            monitor
                .observe(bucket_start, value)
                .map_err(|error| error.to_string())
        });
        let step = match step {
            Ok(step) => step,
            Err(problem) => {
                eprintln!("{input_name}:{line}: {problem}");
                rejected += 1;
                continue;
            }
        };
        let anomaly_score = step.observation.anomaly_score();
        csv_writer.write_record([
            raw_timestamp,
            raw_value,
            &format!("{anomaly_score:.6}"),
            if step.is_alarm() { "1" } else { "0" },
        ])?;
    }
    csv_writer.flush().context("cannot write the output")?;
    Ok(rejected)
}

/// Reads one row's timestamp and value, or says which is wrong.
fn parse_row(raw_timestamp: &str, raw_value: &str) -> Result<(OffsetDateTime, f64), String> {
    let bucket_start = parse_row_timestamp(raw_timestamp).ok_or_else(|| {
        format!("timestamp `{raw_timestamp}` is neither RFC 3339 nor `YYYY-MM-DD HH:MM:SS`")
    })?;
    let value = raw_value
        .parse::<f64>()
        .ok()
        .filter(|value| value.is_finite() && *value >= 0.0)
        .ok_or_else(|| format!("value `{raw_value}` is not a count (a number ≥ 0)"))?;
    Ok((bucket_start, value))
}

fn parse_row_timestamp(raw: &str) -> Option<OffsetDateTime> {
    if let Ok(timestamp) = earful_core::time::parse_timestamp(raw) {
        return Some(timestamp);
    }
    let spaced = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    PrimitiveDateTime::parse(raw, spaced)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_on(input: &str) -> (String, usize) {
        let mut output = Vec::new();
        let rejected = detect(
            input.as_bytes(),
            &mut output,
            "series.csv",
            DetectorSettings::default(),
        )
        .unwrap();
        (String::from_utf8(output).unwrap(), rejected)
    }

    #[test]
    fn rows_pass_through_with_a_score_and_an_alarm() {
        let (output, rejected) =
            run_on("timestamp,value\n2015-02-26 21:42:53,3\n2015-02-26T21:47:53Z,4\n");
        assert_eq!(rejected, 0);
        let lines: Vec<&str> = output.lines().collect();
        assert_eq!(lines[0], "timestamp,value,anomaly_score,alarm");
        assert!(lines[1].starts_with("2015-02-26 21:42:53,3,"), "{output}");
        assert!(lines[2].starts_with("2015-02-26T21:47:53Z,4,"), "{output}");
        assert!(lines[1].ends_with(",0"), "{output}");
    }

    #[test]
    fn bad_rows_are_skipped_and_counted() {
        let (output, rejected) = run_on(
            "timestamp,value\n2015-02-26 21:42:53,3\nyesterday,4\n2015-02-26 21:52:53,-1\n\
             2015-02-26 21:40:00,2\n2015-02-26 21:57:53,5\n",
        );
        assert_eq!(rejected, 3, "{output}");
        assert_eq!(output.lines().count(), 3, "{output}");
    }

    #[test]
    fn a_missing_column_is_a_usage_error() {
        let mut output = Vec::new();
        let error = detect(
            "time,count\n".as_bytes(),
            &mut output,
            "series.csv",
            DetectorSettings::default(),
        )
        .unwrap_err();
        assert!(error.to_string().contains("`timestamp` column"), "{error}");
        assert!(error.downcast_ref::<UsageError>().is_some());
    }
}
