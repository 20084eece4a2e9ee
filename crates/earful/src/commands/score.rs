//! `earful score`: VADER scores for text given as arguments, or for each line of stdin.
//!
//! Lines from stdin are scored in chunks on a few threads and written back in input order, so
//! the output is the same bytes whatever the number of threads.

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use earful_sentiment::{Analyzer, PolarityScores};
use serde::Serialize;

use crate::settings;

/// Lines scored as one unit of work: big enough that handing chunks to threads costs nothing
/// next to scoring them, small enough to keep memory flat on any input.
const CHUNK_LINES: usize = 4_096;
/// Most scoring threads (scoring is CPU-bound; more threads than cores only add switching).
const MAX_THREADS: usize = 8;

/// Arguments of `earful score`.
#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// Texts to score; with none, each line of stdin is one text.
    text: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ScoreFormat::Text)]
    format: ScoreFormat,
    /// Show each word's contribution after every rule.
    #[arg(long)]
    explain: bool,
    /// Score whatever the language (VADER is English-only: by default non-English text is
    /// reported as unscored).
    #[arg(long)]
    any_language: bool,
    /// Threads scoring stdin (default: the available cores, at most 8). The output is the same
    /// whatever the number.
    #[arg(long, env = "EARFUL_SCORE_THREADS")]
    threads: Option<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ScoreFormat {
    /// One line per text: label, compound, pos, neu, neg.
    Text,
    /// One JSON object per line.
    Json,
}

/// How each text is scored and written.
#[derive(Clone, Copy, Debug)]
struct Options {
    format: ScoreFormat,
    explain: bool,
    any_language: bool,
}

/// Scores every text. The lexicon overrides of `--config`, when given, apply.
pub fn run(config_path: Option<&Path>, args: ScoreArgs) -> anyhow::Result<ExitCode> {
    let custom;
    let analyzer = match config_path {
        Some(_) => {
            let config = settings::load(config_path)?;
            let overrides = config.sentiment.lexicon.into_iter();
            custom = Analyzer::with_overrides(overrides)?;
            &custom
        }
        None => Analyzer::standard(),
    };
    let options = Options {
        format: args.format,
        explain: args.explain,
        any_language: args.any_language,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    if args.text.is_empty() {
        let threads = match args.threads {
            Some(0) => anyhow::bail!(crate::commands::UsageError(
                "`--threads` must be at least 1".into()
            )),
            Some(threads) => threads.min(MAX_THREADS),
            None => std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(1)
                .min(MAX_THREADS),
        };
        let stdin = std::io::stdin();
        score_lines(stdin.lock(), &mut out, analyzer, options, threads)?;
    } else {
        let mut buffer = Vec::new();
        for text in &args.text {
            write_score(&mut buffer, analyzer, text, options)?;
        }
        out.write_all(&buffer).context("cannot write stdout")?;
    }
    out.flush().context("cannot write stdout")?;
    Ok(ExitCode::SUCCESS)
}

/// Consecutive input lines in one buffer (no allocation per line).
#[derive(Default)]
struct Chunk {
    text: String,
    /// Byte ranges of the lines in `text`, line endings excluded.
    lines: Vec<(usize, usize)>,
}

impl Chunk {
    fn lines(&self) -> impl Iterator<Item = &str> {
        self.lines
            .iter()
            .map(|&(start, end)| &self.text[start..end])
    }
}

/// Reads up to [`CHUNK_LINES`] lines; fewer only at the end of the input.
fn read_chunk(input: &mut impl BufRead, line_number: &mut u64) -> anyhow::Result<Chunk> {
    let mut chunk = Chunk {
        text: String::with_capacity(CHUNK_LINES * 128),
        lines: Vec::with_capacity(CHUNK_LINES),
    };
    while chunk.lines.len() < CHUNK_LINES {
        let start = chunk.text.len();
        let read = input
            .read_line(&mut chunk.text)
            .with_context(|| format!("cannot read stdin line {}", *line_number + 1))?;
        if read == 0 {
            break;
        }
        *line_number += 1;
        let line = &chunk.text[start..];
        let line = line.strip_suffix('\n').unwrap_or(line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        chunk.lines.push((start, start + line.len()));
    }
    Ok(chunk)
}

fn score_chunk(analyzer: &Analyzer, chunk: &Chunk, options: Options) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(chunk.lines.len() * 80);
    for line in chunk.lines() {
        write_score(&mut out, analyzer, line, options)?;
    }
    Ok(out)
}

/// Scores each line of `input` on `threads` threads and writes the results in input order.
/// Memory stays at `threads` chunks whatever the input size.
fn score_lines(
    mut input: impl BufRead,
    out: &mut impl Write,
    analyzer: &Analyzer,
    options: Options,
    threads: usize,
) -> anyhow::Result<()> {
    let mut line_number = 0_u64;
    loop {
        let mut round = Vec::with_capacity(threads);
        let mut at_end = false;
        while round.len() < threads.max(1) {
            let chunk = read_chunk(&mut input, &mut line_number)?;
            at_end = chunk.lines.len() < CHUNK_LINES;
            if !chunk.lines.is_empty() {
                round.push(chunk);
            }
            if at_end {
                break;
            }
        }
        if round.len() <= 1 {
            for chunk in &round {
                out.write_all(&score_chunk(analyzer, chunk, options)?)
                    .context("cannot write stdout")?;
            }
        } else {
            std::thread::scope(|scope| -> anyhow::Result<()> {
                let workers: Vec<_> = round
                    .iter()
                    .map(|chunk| scope.spawn(move || score_chunk(analyzer, chunk, options)))
                    .collect();
                for worker in workers {
                    let scored = worker
                        .join()
                        .map_err(|_| anyhow::anyhow!("a scoring thread panicked"))??;
                    out.write_all(&scored).context("cannot write stdout")?;
                }
                Ok(())
            })?;
        }
        if at_end {
            return Ok(());
        }
    }
}

/// The JSON line of a scored text (fields in this order, as earlier versions printed them).
#[derive(Serialize)]
struct ScoredLine {
    compound: f64,
    label: &'static str,
    neg: f64,
    neu: f64,
    pos: f64,
}

/// The JSON line of a text left unscored.
#[derive(Serialize)]
struct UnscoredLine<'a> {
    label: &'static str,
    lang: &'a str,
}

fn write_score(
    out: &mut Vec<u8>,
    analyzer: &Analyzer,
    text: &str,
    options: Options,
) -> anyhow::Result<()> {
    let verdict = if options.any_language {
        analyzer.score(text, Some("en"))
    } else {
        analyzer.score(text, None)
    };
    match (options.format, options.explain) {
        (ScoreFormat::Json, false) => {
            match verdict.scores {
                Some(PolarityScores {
                    compound,
                    pos,
                    neu,
                    neg,
                }) => serde_json::to_writer(
                    &mut *out,
                    &ScoredLine {
                        compound,
                        label: verdict.label.as_str(),
                        neg,
                        neu,
                        pos,
                    },
                )?,
                None => serde_json::to_writer(
                    &mut *out,
                    &UnscoredLine {
                        label: verdict.label.as_str(),
                        lang: &verdict.lang,
                    },
                )?,
            }
            out.push(b'\n');
        }
        (ScoreFormat::Json, true) => {
            let explanation = verdict.scores.map(|_| analyzer.score_explained(text));
            let value = serde_json::json!({
                "label": verdict.label.as_str(), "lang": verdict.lang, "explanation": explanation,
            });
            writeln!(out, "{value}")?;
        }
        (ScoreFormat::Text, explain) => match verdict.scores {
            Some(_) if explain => writeln!(out, "{}", analyzer.score_explained(text))?,
            Some(scores) => writeln!(
                out,
                "{:<8} compound {:+.4}  pos {:.3}  neu {:.3}  neg {:.3}",
                verdict.label.as_str(),
                scores.compound,
                scores.pos,
                scores.neu,
                scores.neg
            )?,
            None => writeln!(
                out,
                "unscored (language `{}`; VADER scores English only — use --any-language to force)",
                verdict.lang
            )?,
        },
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groundtruth_lines() -> String {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/vader-groundtruth");
        let mut lines = String::new();
        for file in [
            "tweets_GroundTruth.txt",
            "movieReviewSnippets_GroundTruth.txt",
            "amazonReviewSnippets_GroundTruth.txt",
            "nytEditorialSnippets_GroundTruth.txt",
        ] {
            let path = dir.join(file);
            let data = std::fs::read_to_string(&path)
                .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
            for line in data.lines() {
                if let Some(text) = line.splitn(3, '\t').nth(2) {
                    lines.push_str(text);
                    lines.push('\n');
                }
            }
        }
        // Lines that are not English, blank or CRLF-terminated take the other paths.
        lines.push_str("Der Kundendienst war leider wirklich sehr schlecht.\n\nfine\r\nlast");
        lines
    }

    fn score_all(input: &str, threads: usize, format: ScoreFormat) -> Vec<u8> {
        let mut out = Vec::new();
        let options = Options {
            format,
            explain: false,
            any_language: false,
        };
        score_lines(
            input.as_bytes(),
            &mut out,
            Analyzer::standard(),
            options,
            threads,
        )
        .unwrap();
        out
    }

    #[test]
    fn output_is_the_same_bytes_with_one_thread_or_several() {
        let input = groundtruth_lines();
        let line_count = input.lines().count();
        assert!(line_count > 3 * CHUNK_LINES, "several rounds of chunks");
        let one = score_all(&input, 1, ScoreFormat::Json);
        let two = score_all(&input, 2, ScoreFormat::Json);
        let three = score_all(&input, 3, ScoreFormat::Json);
        assert_eq!(
            one.iter().filter(|&&byte| byte == b'\n').count(),
            line_count
        );
        assert!(
            one == two && one == three,
            "output depends on the thread count"
        );
        let text_one = score_all(&input, 1, ScoreFormat::Text);
        assert_eq!(text_one, score_all(&input, 2, ScoreFormat::Text));
    }

    #[test]
    fn json_lines_keep_their_shape() {
        let out = score_all(
            "The outage was not good!\nDer Kundendienst war leider wirklich sehr schlecht.\n",
            2,
            ScoreFormat::Json,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"compound\":-0.4015,\"label\":\"negative\",\"neg\":0.403,\"neu\":0.597,\"pos\":0.0}\n\
             {\"label\":\"unscored\",\"lang\":\"de\"}\n"
        );
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let mut out = Vec::new();
        let options = Options {
            format: ScoreFormat::Json,
            explain: false,
            any_language: false,
        };
        let input: &[u8] = b"fine\nbad \xff\n";
        let error = score_lines(input, &mut out, Analyzer::standard(), options, 2).unwrap_err();
        assert!(format!("{error:#}").contains("line 2"), "{error:#}");
    }
}
