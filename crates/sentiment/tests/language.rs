//! The language gate, measured: English text must almost never be called non-English, and
//! non-English text must be caught. Figures are in BENCHMARKS.md ("Sentiment").

use std::path::PathBuf;

use earful_sentiment::{detect_language, Analyzer, Label};

fn groundtruth_dir() -> PathBuf {
    match std::env::var_os("EARFUL_VADER_GROUNDTRUTH") {
        Some(dir) => PathBuf::from(dir),
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/vader-groundtruth")
        }
    }
}

fn non_english(lang: &str) -> bool {
    lang != "en" && lang != "und"
}

#[test]
fn english_groundtruth_is_rarely_called_non_english() {
    let mut total = 0;
    let mut flagged = 0;
    for file in [
        "tweets_GroundTruth.txt",
        "movieReviewSnippets_GroundTruth.txt",
        "amazonReviewSnippets_GroundTruth.txt",
        "nytEditorialSnippets_GroundTruth.txt",
    ] {
        let path = groundtruth_dir().join(file);
        let data = std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
        for line in data.split('\n') {
            let Some(text) = line.trim_end_matches('\r').splitn(3, '\t').nth(2) else {
                continue;
            };
            total += 1;
            if non_english(&detect_language(text)) {
                flagged += 1;
            }
        }
    }
    assert_eq!(total, 23_703);
    // Measured 47 (0.20 %), several of them genuinely not English (Turkish, Dutch and
    // Spanish tweets, "Merci pour le movie."). The bound leaves room for whatlang updates.
    assert!(
        flagged <= 60,
        "{flagged} of {total} English sentences called non-English"
    );
}

#[test]
fn non_english_sentences_are_caught() {
    let data = include_str!("data/non_english.tsv");
    let mut missed = Vec::new();
    let mut count = 0;
    for line in data.lines().filter(|line| !line.starts_with('#')) {
        let Some((lang, text)) = line.split_once('\t') else {
            continue;
        };
        count += 1;
        let detected = detect_language(text);
        if !non_english(&detected) {
            missed.push(format!("{lang}: {text} -> {detected}"));
        }
        let gated = Analyzer::standard().score(text, None);
        assert_eq!(gated.label == Label::Unscored, non_english(&detected));
    }
    assert_eq!(count, 72);
    assert!(missed.is_empty(), "missed:\n{}", missed.join("\n"));
}

#[test]
fn short_english_and_symbols() {
    for text in [
        "ok",
        "Hello world!",
        "love it",
        "meh.",
        "WTF",
        "so so bad",
        "great :)",
    ] {
        assert_eq!(detect_language(text), "en", "{text}");
    }
    for text in ["", "   ", "😁😁", ":) :(", "12345", "!!!"] {
        assert_eq!(detect_language(text), "und", "{text:?}");
    }
}
