//! # Choosing the language gate: detectors compared on Earful's question
//!
//! The gate must answer one question — is this text English, so VADER may score it? — almost
//! never wrongly for English, while still catching non-English posts. This example measures
//! the shipped rule and the alternatives on the same three sets (the figures in BENCHMARKS.md,
//! "Language gate"):
//!
//! - the 23,703 sentences of the VADER ground truth (all English);
//! - `tests/data/english_hard.tsv`: English unlike it (headlines, fragments, telegraphic
//!   reviews, full-width and styled letters, repeated words, capitals, hashtags, emoji);
//! - `tests/data/non_english.tsv`: real-looking posts in 21 other languages.
//!
//! ```text
//! cargo run --release -p earful-sentiment --features compare-detectors --example language_gate [GROUNDTRUTH_DIR]
//! ```
//!
//! For each method: English called non-English, non-English caught (also by length in words),
//! texts per second over the ground truth on one thread, and the memory its models take.

use std::path::PathBuf;
use std::time::Instant;

use earful_sentiment::{count_words, detect_language, fold};
use lingua::{Language, LanguageDetector, LanguageDetectorBuilder};
use whatlang::{Lang, Script};

/// A method: its name, the memory its models take, and whether it calls a text non-English.
type Method = (&'static str, String, Box<dyn Fn(&str) -> bool>);

/// A text and where it came from (a corpus file or a language code).
struct Sample {
    text: String,
    label: String,
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../../../shared/data/vader-groundtruth"));
    let mut groundtruth = Vec::new();
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
                groundtruth.push(Sample {
                    text: text.to_string(),
                    label: file.to_string(),
                });
            }
        }
    }
    let english_hard = read_tsv(&root.join("tests/data/english_hard.tsv"));
    let non_english = read_tsv(&root.join("tests/data/non_english.tsv"));

    let rss_before = resident_kb();
    let lingua_high = LanguageDetectorBuilder::from_all_languages()
        .with_preloaded_language_models()
        .build();
    let rss_lingua_high = resident_kb();
    let lingua_low = LanguageDetectorBuilder::from_all_languages()
        .with_low_accuracy_mode()
        .with_preloaded_language_models()
        .build();
    let rss_lingua_low = resident_kb();
    // The shipped rule's vocabulary is built on first use.
    let _ = detect_language("warm up");
    let rss_vocabulary = resident_kb();

    let methods: Vec<Method> = vec![
        (
            "shipped: NFKC + vocabulary + function words + whatlang duel",
            format!(
                "{:.1} MB (vocabulary)",
                (rss_vocabulary - rss_lingua_low) as f64 / 1024.0
            ),
            Box::new(|text| {
                let lang = detect_language(text);
                lang != "en" && lang != "und"
            }),
        ),
        (
            "previous: function words + whatlang duel",
            "~0 (static trigrams)".into(),
            Box::new(previous_rule),
        ),
        (
            "previous rule after NFKC",
            "~0".into(),
            Box::new(|text| previous_rule(&fold(text))),
        ),
        (
            "vocabulary share < 0.75 (>= 4 words), no detector",
            "as shipped".into(),
            Box::new(|text| {
                let folded = fold(text);
                if !is_mostly_latin(&folded) {
                    return folded.chars().any(char::is_alphabetic);
                }
                let counts = count_words(&folded);
                counts.words >= 4 && (counts.english as f64) < 0.75 * counts.words as f64
            }),
        ),
        (
            "whatlang 0.18, any confidence",
            "~0".into(),
            Box::new(|text| whatlang::detect_lang(text).is_some_and(|lang| lang != Lang::Eng)),
        ),
        (
            "whatlang 0.18, is_reliable()",
            "~0".into(),
            Box::new(|text| {
                whatlang::detect(text)
                    .is_some_and(|info| info.lang() != Lang::Eng && info.is_reliable())
            }),
        ),
        (
            "whichlang 0.1 (16 languages)",
            "~0 (static weights)".into(),
            Box::new(|text| {
                text.chars().any(char::is_alphabetic)
                    && whichlang::detect_language(text) != whichlang::Lang::Eng
            }),
        ),
        (
            "lingua 1.8 high accuracy (16 languages)",
            format!("{:.0} MB", (rss_lingua_high - rss_before) as f64 / 1024.0),
            Box::new(move |text| lingua_says_foreign(&lingua_high, text)),
        ),
        (
            "lingua 1.8 low accuracy (16 languages)",
            format!(
                "{:.0} MB",
                (rss_lingua_low - rss_lingua_high) as f64 / 1024.0
            ),
            Box::new(move |text| lingua_says_foreign(&lingua_low, text)),
        ),
    ];

    println!(
        "| method | ground truth called non-English (of {}) | hard English called non-English (of {}) | non-English caught (of {}) | caught, 1–3 words | caught, 4–7 words | caught, 8+ words | texts/s (ground truth, 1 thread) | model memory |",
        groundtruth.len(),
        english_hard.len(),
        non_english.len()
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut details = Vec::new();
    for (name, memory, is_foreign) in &methods {
        let started = Instant::now();
        let wrong_groundtruth: Vec<&Sample> = groundtruth
            .iter()
            .filter(|sample| is_foreign(&sample.text))
            .collect();
        let rate = groundtruth.len() as f64 / started.elapsed().as_secs_f64();
        let wrong_hard: Vec<&Sample> = english_hard
            .iter()
            .filter(|sample| is_foreign(&sample.text))
            .collect();
        let mut buckets = [(0, 0); 3];
        let mut missed = Vec::new();
        for sample in &non_english {
            let words = sample.text.split_whitespace().count();
            let bucket = match words {
                0..=3 => 0,
                4..=7 => 1,
                _ => 2,
            };
            buckets[bucket].1 += 1;
            if is_foreign(&sample.text) {
                buckets[bucket].0 += 1;
            } else {
                missed.push(sample);
            }
        }
        let caught: usize = buckets.iter().map(|bucket| bucket.0).sum();
        let share = |count: usize, total: usize| 100.0 * count as f64 / total.max(1) as f64;
        println!(
            "| {name} | {} ({:.3} %) | {} ({:.1} %) | {caught} ({:.1} %) | {}/{} | {}/{} | {}/{} | {:.0} | {memory} |",
            wrong_groundtruth.len(),
            share(wrong_groundtruth.len(), groundtruth.len()),
            wrong_hard.len(),
            share(wrong_hard.len(), english_hard.len()),
            share(caught, non_english.len()),
            buckets[0].0,
            buckets[0].1,
            buckets[1].0,
            buckets[1].1,
            buckets[2].0,
            buckets[2].1,
            rate
        );
        if name.starts_with("shipped") || name.starts_with("previous:") {
            details.push(format!("\n{name}:"));
            for sample in wrong_groundtruth.iter().chain(&wrong_hard) {
                details.push(format!(
                    "  English called {}: [{}] {}",
                    detect_language(&sample.text),
                    sample.label,
                    sample.text
                ));
            }
            for sample in &missed {
                details.push(format!(
                    "  missed [{}] {} -> {}",
                    sample.label,
                    sample.text,
                    detect_language(&sample.text)
                ));
            }
        }
    }
    for line in details {
        println!("{line}");
    }
}

fn read_tsv(path: &std::path::Path) -> Vec<Sample> {
    let Ok(data) = std::fs::read_to_string(path) else {
        eprintln!("cannot read {}", path.display());
        std::process::exit(1);
    };
    data.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('\t'))
        .map(|(label, text)| Sample {
            text: text.to_string(),
            label: label.to_string(),
        })
        .collect()
}

fn lingua_says_foreign(detector: &LanguageDetector, text: &str) -> bool {
    detector
        .detect_language_of(text)
        .is_some_and(|language| language != Language::English)
}

fn is_mostly_latin(text: &str) -> bool {
    let latin = text
        .chars()
        .filter(|ch| {
            ch.is_alphabetic() && (ch.is_ascii() || ('\u{00C0}'..='\u{024F}').contains(ch))
        })
        .count();
    let letters = text.chars().filter(|ch| ch.is_alphabetic()).count();
    latin * 2 >= letters
}

/// The gate as it was before the vocabulary step and NFKC folding (whatlang, at least 4
/// words, at most 15 % English function words, and a 0.8-confident English-vs-L duel).
fn previous_rule(text: &str) -> bool {
    let Some(info) = whatlang::detect(text) else {
        return false;
    };
    if info.script() != Script::Latin {
        return true;
    }
    if info.lang() == Lang::Eng
        || text.split_whitespace().count() < 4
        || previous_function_word_share(text) > 0.15
    {
        return false;
    }
    whatlang::Detector::with_allowlist(vec![Lang::Eng, info.lang()])
        .detect(text)
        .is_some_and(|duel| duel.lang() != Lang::Eng && duel.confidence() >= 0.8)
}

/// The function-word share as the previous rule computed it (whitespace words, edges trimmed).
fn previous_function_word_share(text: &str) -> f64 {
    const FUNCTION_WORDS: &[&str] = &[
        "about", "after", "all", "an", "and", "any", "are", "at", "be", "because", "been", "but",
        "by", "can", "can't", "could", "did", "do", "does", "don't", "for", "from", "get", "had",
        "has", "have", "he", "her", "his", "how", "i'm", "if", "into", "it", "it's", "its", "just",
        "like", "more", "my", "not", "of", "on", "one", "or", "our", "out", "she", "should",
        "than", "that", "the", "their", "them", "then", "there", "they", "this", "to", "up",
        "very", "we", "were", "what", "when", "which", "who", "will", "with", "would", "you",
        "your",
    ];
    let mut words = 0_usize;
    let mut function_words = 0_usize;
    for word in text.split_whitespace() {
        let trimmed = word.trim_matches(|ch: char| !ch.is_alphanumeric() && ch != '\'');
        if trimmed.is_empty() {
            continue;
        }
        words += 1;
        let lowercase = trimmed.to_lowercase();
        if FUNCTION_WORDS.binary_search(&lowercase.as_str()).is_ok() {
            function_words += 1;
        }
    }
    if words == 0 {
        0.0
    } else {
        function_words as f64 / words as f64
    }
}

/// The process's resident memory in kB (Linux; 0 elsewhere).
fn resident_kb() -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmRSS:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kb| kb.parse().ok())
        })
        .unwrap_or(0)
}
