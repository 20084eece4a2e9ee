//! `earful score`: VADER scores for text given as arguments, or for each line of stdin.

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use earful_sentiment::Analyzer;

use crate::settings;

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
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ScoreFormat {
    /// One line per text: label, compound, pos, neu, neg.
    Text,
    /// One JSON object per line.
    Json,
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
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if args.text.is_empty() {
        for line in std::io::stdin().lock().lines() {
            let line = line.context("cannot read stdin")?;
            write_score(&mut out, analyzer, &line, &args)?;
        }
    } else {
        for text in &args.text {
            write_score(&mut out, analyzer, text, &args)?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn write_score(
    out: &mut impl Write,
    analyzer: &Analyzer,
    text: &str,
    args: &ScoreArgs,
) -> anyhow::Result<()> {
    let verdict = if args.any_language {
        analyzer.score(text, Some("en"))
    } else {
        analyzer.score(text, None)
    };
    match (args.format, args.explain) {
        (ScoreFormat::Json, false) => {
            let value = match verdict.scores {
                Some(scores) => serde_json::json!({
                    "compound": scores.compound, "pos": scores.pos, "neu": scores.neu,
                    "neg": scores.neg, "label": verdict.label.as_str(),
                }),
                None => serde_json::json!({"label": verdict.label.as_str(), "lang": verdict.lang}),
            };
            writeln!(out, "{value}")?;
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
