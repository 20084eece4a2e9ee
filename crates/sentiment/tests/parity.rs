//! Parity with Python `vaderSentiment` 3.3.2, number for number.
//!
//! The reference values are committed in `tests/vectors/` (regenerate with
//! `make_vectors.py`; CI does not run Python). The ground-truth corpus texts are third-party
//! and are read from `../shared/data/vader-groundtruth/` next to the workspace (override with
//! `EARFUL_VADER_GROUNDTRUTH`); the extra vectors carry their own text.

use std::path::PathBuf;

use earful_sentiment::{Analyzer, PolarityScores};

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn groundtruth_dir() -> PathBuf {
    match std::env::var_os("EARFUL_VADER_GROUNDTRUTH") {
        Some(dir) => PathBuf::from(dir),
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/vader-groundtruth")
        }
    }
}

fn same(actual: f64, expected: f64) -> bool {
    // Exact, including the sign of zero (Python keeps -0.0 from round()).
    actual.to_bits() == expected.to_bits()
}

fn same_scores(actual: &PolarityScores, expected: &PolarityScores) -> bool {
    same(actual.compound, expected.compound)
        && same(actual.pos, expected.pos)
        && same(actual.neu, expected.neu)
        && same(actual.neg, expected.neg)
}

/// Parses the corpus the way `make_vectors.py` does: split on '\n', drop a trailing '\r',
/// skip empty lines, `id<TAB>rating<TAB>text`.
fn corpus_rows(file: &str) -> Vec<(usize, String, String)> {
    let path = groundtruth_dir().join(file);
    let data = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    data.split('\n')
        .enumerate()
        .filter_map(|(index, line)| {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.is_empty() {
                return None;
            }
            let mut fields = line.splitn(3, '\t');
            let id = fields.next()?.to_string();
            let _rating = fields.next()?;
            Some((index + 1, id, fields.next()?.to_string()))
        })
        .collect()
}

/// The corpus rows with their reference scores: `(line, id, text, expected)`.
fn corpus_vectors(
    name: &str,
    file: &str,
    expected_rows: usize,
) -> Vec<(usize, String, String, PolarityScores)> {
    let vectors = std::fs::read_to_string(vectors_dir().join(format!("{name}.tsv")))
        .unwrap_or_else(|error| panic!("{name}.tsv: {error}"));
    let vectors: Vec<&str> = vectors.lines().filter(|l| !l.starts_with('#')).collect();
    let rows = corpus_rows(file);
    assert_eq!(rows.len(), expected_rows, "{file}: row count");
    assert_eq!(vectors.len(), rows.len(), "{name}.tsv: row count");
    rows.into_iter()
        .zip(&vectors)
        .map(|((line, id, text), vector)| {
            let fields: Vec<&str> = vector.split('\t').collect();
            assert_eq!(fields[0], line.to_string(), "{name}: vector out of step");
            assert_eq!(fields[1], id, "{name}: vector out of step at line {line}");
            let number = |i: usize| {
                fields[i]
                    .parse::<f64>()
                    .unwrap_or_else(|error| panic!("{name}: line {line}: {error}"))
            };
            let expected = PolarityScores {
                compound: number(2),
                pos: number(3),
                neu: number(4),
                neg: number(5),
            };
            (line, id, text, expected)
        })
        .collect()
}

fn check_corpus(name: &str, file: &str, expected_rows: usize) {
    let rows = corpus_vectors(name, file, expected_rows);
    let analyzer = Analyzer::standard();
    let mut mismatches = Vec::new();
    for (_, id, text, expected) in &rows {
        let actual = analyzer.polarity_scores(text);
        if !same_scores(&actual, expected) {
            mismatches.push(format!(
                "{id}: {text:?}\n  got  {actual:?}\n  want {expected:?}"
            ));
        }
    }
    eprintln!(
        "{name}: {}/{} exact",
        rows.len() - mismatches.len(),
        rows.len()
    );
    assert!(
        mismatches.is_empty(),
        "{name}: {} of {} differ:\n{}",
        mismatches.len(),
        rows.len(),
        mismatches[..mismatches.len().min(20)].join("\n")
    );
}

/// What a user of `earful score` gets: the language gate on, then VADER. A text the gate
/// leaves unscored counts as a difference from the reference (which scores everything), and
/// so does any number or label that differs. At least 99.95 % must agree.
#[test]
fn groundtruth_with_the_gate_on() {
    let analyzer = Analyzer::standard();
    let mut total = 0;
    let mut differences = Vec::new();
    for (name, file, expected_rows) in [
        ("tweets", "tweets_GroundTruth.txt", 4200),
        ("movie", "movieReviewSnippets_GroundTruth.txt", 10605),
        ("amazon", "amazonReviewSnippets_GroundTruth.txt", 3708),
        ("nyt", "nytEditorialSnippets_GroundTruth.txt", 5190),
    ] {
        for (_, id, text, expected) in corpus_vectors(name, file, expected_rows) {
            total += 1;
            let gated = analyzer.score(&text, None);
            let agrees = gated
                .scores
                .is_some_and(|scores| same_scores(&scores, &expected))
                && gated.label == expected.label();
            if !agrees {
                differences.push(format!("{name} {id} ({}): {text}", gated.lang));
            }
        }
    }
    assert_eq!(total, 23_703);
    eprintln!(
        "gate on: {}/{total} agree with vaderSentiment 3.3.2",
        total - differences.len()
    );
    // 99.95 % of 23,703: at most 11 differences.
    assert!(
        differences.len() * 10_000 <= total * 5,
        "{} of {total} differ:\n{}",
        differences.len(),
        differences.join("\n")
    );
}

#[test]
fn tweets() {
    check_corpus("tweets", "tweets_GroundTruth.txt", 4200);
}

#[test]
fn movie_reviews() {
    check_corpus("movie", "movieReviewSnippets_GroundTruth.txt", 10605);
}

#[test]
fn amazon_reviews() {
    check_corpus("amazon", "amazonReviewSnippets_GroundTruth.txt", 3708);
}

#[test]
fn nyt_editorials() {
    check_corpus("nyt", "nytEditorialSnippets_GroundTruth.txt", 5190);
}

#[derive(serde::Deserialize)]
struct ExtraVector {
    text: String,
    compound: f64,
    pos: f64,
    neu: f64,
    neg: f64,
}

/// Texts written for this crate: adversarial cases and a seeded random soup of rule words,
/// lexicon words, emoji, casing, punctuation and odd Unicode.
#[test]
fn extra_vectors() {
    let data = std::fs::read_to_string(vectors_dir().join("extra.jsonl")).unwrap();
    let analyzer = Analyzer::standard();
    let mut total = 0;
    let mut mismatches = Vec::new();
    for line in data.lines() {
        let vector: ExtraVector = serde_json::from_str(line).unwrap();
        let expected = PolarityScores {
            compound: vector.compound,
            pos: vector.pos,
            neu: vector.neu,
            neg: vector.neg,
        };
        total += 1;
        let actual = analyzer.polarity_scores(&vector.text);
        if !same_scores(&actual, &expected) {
            mismatches.push(format!(
                "{:?}\n  got  {actual:?}\n  want {expected:?}",
                vector.text
            ));
        }
        let explained = analyzer.score_explained(&vector.text);
        assert!(
            same_scores(&explained.scores, &actual),
            "score_explained differs on {:?}",
            vector.text
        );
    }
    assert_eq!(total, 4118);
    eprintln!("extra: {}/{total} exact", total - mismatches.len());
    assert!(
        mismatches.is_empty(),
        "{} of {total} differ:\n{}",
        mismatches.len(),
        mismatches[..mismatches.len().min(20)].join("\n")
    );
}
