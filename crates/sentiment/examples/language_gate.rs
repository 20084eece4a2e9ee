//! Measures the language gate (the figures in BENCHMARKS.md, "Sentiment"):
//!
//! ```text
//! cargo run --release -p earful-sentiment --example language_gate [GROUNDTRUTH_DIR]
//! ```
//!
//! Prints, for the shipped rule and for a grid of alternatives, the share of the (English)
//! VADER ground-truth sentences called non-English and the share of the non-English test
//! sentences (`tests/data/non_english.tsv`) that are caught.

use std::path::PathBuf;

use whatlang::{Lang, Script};

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../../../shared/data/vader-groundtruth"));
    let mut english = Vec::new();
    for file in [
        "tweets_GroundTruth.txt",
        "movieReviewSnippets_GroundTruth.txt",
        "amazonReviewSnippets_GroundTruth.txt",
        "nytEditorialSnippets_GroundTruth.txt",
    ] {
        let Ok(data) = std::fs::read_to_string(dir.join(file)) else {
            eprintln!("cannot read {}", dir.join(file).display());
            std::process::exit(1);
        };
        for line in data.split('\n') {
            if let Some(text) = line.trim_end_matches('\r').splitn(3, '\t').nth(2) {
                english.push((file, text.to_string()));
            }
        }
    }
    let foreign_data =
        std::fs::read_to_string(root.join("tests/data/non_english.tsv")).unwrap_or_default();
    let foreign: Vec<(&str, &str)> = foreign_data
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('\t'))
        .collect();

    // The shipped rule.
    let mut wrong = Vec::new();
    for (file, text) in &english {
        let lang = earful_sentiment::detect_language(text);
        if lang != "en" && lang != "und" {
            wrong.push(format!("{file}: {lang}: {text}"));
        }
    }
    let is_caught = |text: &str| {
        let lang = earful_sentiment::detect_language(text);
        lang != "en" && lang != "und"
    };
    let caught = foreign.iter().filter(|(_, text)| is_caught(text)).count();
    let correct = foreign
        .iter()
        .filter(|(lang, text)| earful_sentiment::detect_language(text) == *lang)
        .count();
    println!(
        "shipped rule (>= {} words, function words <= {}, pairwise confidence >= {}): English called non-English {}/{} \
         ({:.3} %); non-English caught {}/{} ({} with the right code)",
        earful_sentiment::MIN_WORDS_FOR_NON_ENGLISH,
        earful_sentiment::MAX_FUNCTION_WORD_SHARE,
        earful_sentiment::MIN_CONFIDENCE_FOR_NON_ENGLISH,
        wrong.len(),
        english.len(),
        100.0 * wrong.len() as f64 / english.len() as f64,
        caught,
        foreign.len(),
        correct
    );
    for line in &wrong {
        println!("  {line}");
    }
    for (lang, text) in &foreign {
        if !is_caught(text) {
            println!("  missed {lang}: {text}");
        }
    }

    // Pairwise: the detected language against English alone.
    println!("\nmin_words max_function_share pairwise_confidence  english->non-english  non-english caught");
    for (min_words, share) in [
        (4, 1.0),
        (4, 0.25),
        (4, 0.2),
        (4, 0.15),
        (4, 0.1),
        (3, 0.15),
    ] {
        for confidence in [0.5, 0.7, 0.8, 0.9] {
            let non_english = |text: &str| -> bool {
                let Some(info) = whatlang::detect(text) else {
                    return false;
                };
                if info.script() != Script::Latin {
                    return true;
                }
                if info.lang() == Lang::Eng
                    || text.split_whitespace().count() < min_words
                    || earful_sentiment::english_function_word_share(text) > share
                {
                    return false;
                }
                let pair = whatlang::Detector::with_allowlist(vec![Lang::Eng, info.lang()]);
                pair.detect(text)
                    .is_some_and(|duel| duel.lang() != Lang::Eng && duel.confidence() >= confidence)
            };
            let false_alarms = english.iter().filter(|(_, text)| non_english(text)).count();
            let hits = foreign.iter().filter(|(_, text)| non_english(text)).count();
            println!(
                "{min_words:>9} {share:>18} {confidence:>19}  {false_alarms:>6}/{} ({:.3} %)  {hits:>3}/{}",
                english.len(),
                100.0 * false_alarms as f64 / english.len() as f64,
                foreign.len()
            );
        }
    }

    // Alternatives, for the record.
    println!("\nmin_words confidence  english->non-english  non-english caught");
    for min_words in [1, 3, 4, 5, 6] {
        for confidence in [0.0, 0.3, 0.5, 0.7, 0.9] {
            let non_english = |text: &str| -> bool {
                let Some(info) = whatlang::detect(text) else {
                    return false;
                };
                if info.script() != Script::Latin {
                    return true;
                }
                info.lang() != Lang::Eng
                    && text.split_whitespace().count() >= min_words
                    && info.confidence() >= confidence
            };
            let false_alarms = english.iter().filter(|(_, text)| non_english(text)).count();
            let hits = foreign.iter().filter(|(_, text)| non_english(text)).count();
            println!(
                "{min_words:>9} {confidence:>10}  {false_alarms:>6}/{} ({:.2} %)  {hits:>3}/{}",
                english.len(),
                100.0 * false_alarms as f64 / english.len() as f64,
                foreign.len()
            );
        }
    }
}
