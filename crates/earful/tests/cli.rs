//! End-to-end tests: the real `earful` binary on real files.

mod util;

use serde_json::Value;
use util::{fixture, Earful};

#[test]
fn ingest_then_search_returns_the_right_mentions_newest_first() {
    let earful = Earful::new();
    let ingest = earful.run(&["ingest", &fixture("config/examples/mentions.jsonl")]);
    assert_eq!(ingest.code, 0, "{}", ingest.stderr);
    assert!(
        ingest.stderr.contains("ingested 20 mentions"),
        "{}",
        ingest.stderr
    );

    let search = earful.run(&[
        "search",
        "acme -refund",
        "--format",
        "json",
        "--limit",
        "100",
    ]);
    assert_eq!(search.code, 0, "{}", search.stderr);
    let document: Value = serde_json::from_str(&search.stdout).unwrap();
    let mentions = document["mentions"].as_array().unwrap();
    let ids: Vec<&str> = mentions
        .iter()
        .map(|mention| mention["id"].as_str().unwrap())
        .collect();
    // Every mention naming Acme but not a refund (stemmed: "refunds" counts), and not the
    // ones that only name "Acme Acres" — the watch excludes those, plain search does not.
    let expected = [
        "hackernews:41290000",
        "stackexchange:q-79000450",
        "hackernews:41260001",
        "mastodon:https://piaille.fr/users/chloe/statuses/8",
        "mastodon:https://chaos.social/users/max/statuses/5",
        "lemmy:https://lemmy.world/post/777",
        "github:acme/sdk#412",
        "stackexchange:q-79000001",
        "appstore:11223344",
        "mastodon:https://mastodon.social/users/ana/statuses/1133",
        "hackernews:41234601",
        "hackernews:41234567",
    ];
    assert_eq!(ids, expected);
    assert_eq!(document["total"], expected.len());
    for mention in mentions {
        let sentiment = &mention["sentiment"];
        let label = sentiment["label"].as_str().unwrap();
        if mention["lang"] == "en" {
            assert!(sentiment["compound"].is_f64(), "{mention}");
            assert_ne!(label, "unscored");
        } else {
            assert_eq!(label, "unscored", "{mention}");
            assert!(sentiment.get("compound").is_none());
        }
    }
    let outage = mentions
        .iter()
        .find(|m| m["id"] == "hackernews:41234567")
        .unwrap();
    assert_eq!(outage["sentiment"]["label"], "negative");
    assert_eq!(outage["watches"], serde_json::json!(["acme"]));
    let acres = mentions
        .iter()
        .find(|m| m["id"] == "lemmy:https://lemmy.world/post/777")
        .unwrap();
    assert_eq!(
        acres["watches"],
        serde_json::json!([]),
        "the watch excludes Acme Acres"
    );
    let html = mentions
        .iter()
        .find(|m| m["author"] == "ana@mastodon.social")
        .unwrap();
    assert!(
        !html["text"].as_str().unwrap().contains('<'),
        "HTML is removed: {html}"
    );

    // A second ingest of the same file leaves the count unchanged.
    let again = earful.run(&["ingest", &fixture("config/examples/mentions.jsonl")]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stderr.contains("the index holds 20 mentions"),
        "{}",
        again.stderr
    );
    let search_again = earful.run(&[
        "search",
        "acme -refund",
        "--format",
        "json",
        "--limit",
        "100",
    ]);
    let document_again: Value = serde_json::from_str(&search_again.stdout).unwrap();
    assert_eq!(document_again["total"], expected.len());
}

#[test]
fn bad_lines_are_reported_by_number_and_the_rest_is_ingested() {
    let earful = Earful::new();
    let ingest = earful.run(&[
        "ingest",
        &fixture("tests/fixtures/ingest-with-errors.jsonl"),
    ]);
    assert_eq!(
        ingest.code, 3,
        "exit 3: some lines were rejected\n{}",
        ingest.stderr
    );
    let file = fixture("tests/fixtures/ingest-with-errors.jsonl");
    for (line, needle) in [
        (2, "invalid JSON at column 40: EOF while parsing a string"),
        (4, "published_at"),
        (6, "22/11/2026"),
        (7, "autor"),
    ] {
        let prefix = format!("{file}:{line}: ");
        let reported = ingest.stderr.lines().find(|row| row.starts_with(&prefix));
        let reported =
            reported.unwrap_or_else(|| panic!("line {line} not reported:\n{}", ingest.stderr));
        assert!(reported.contains(needle), "{reported}");
    }
    assert!(
        ingest.stderr.contains("ingested 3 mentions"),
        "{}",
        ingest.stderr
    );
    assert!(
        ingest.stderr.contains("rejected 4 lines"),
        "{}",
        ingest.stderr
    );
    let search = earful.run(&["search", "--format", "jsonl"]);
    let ids: Vec<String> = search
        .stdout
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ids, ["ingest:7", "ingest:3", "ingest:1"]);
}

#[test]
fn ingest_reads_stdin() {
    let earful = Earful::new();
    let line =
        r#"{"id":"ingest:stdin","text":"Acme via a pipe","published_at":"2026-11-22T10:00:00Z"}"#;
    let ingest = earful.run_with_stdin(&["ingest", "-"], &format!("{line}\n"));
    assert_eq!(ingest.code, 0, "{}", ingest.stderr);
    let search = earful.run(&["search", "pipe", "--format", "jsonl"]);
    assert!(search.stdout.contains("ingest:stdin"), "{}", search.stdout);
}

#[test]
fn a_bad_query_is_a_usage_error_that_says_where() {
    let earful = Earful::new();
    earful.run(&["ingest", &fixture("config/examples/mentions.jsonl")]);
    let search = earful.run(&["search", "acme AND (refund"]);
    assert_eq!(search.code, 2, "{}", search.stderr);
    assert!(
        search.stderr.contains("at character 17"),
        "{}",
        search.stderr
    );
    let since = earful.run(&["search", "acme", "--since", "last week"]);
    assert_eq!(since.code, 2, "{}", since.stderr);
    assert!(since.stderr.contains("--since"), "{}", since.stderr);
}

#[test]
fn search_formats_and_filters() {
    let earful = Earful::new();
    earful.run(&["ingest", &fixture("config/examples/mentions.jsonl")]);
    let csv = earful.run(&[
        "search", "acme", "--label", "negative", "--format", "csv", "--limit", "100",
    ]);
    assert_eq!(csv.code, 0, "{}", csv.stderr);
    let mut reader = csv::Reader::from_reader(csv.stdout.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "id");
    let label_column = headers.iter().position(|header| header == "label").unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|row| &row[label_column] == "negative"));

    let table = earful.run(&["search", "outage", "--source", "hackernews"]);
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(table.stdout.contains("jdoe"), "{}", table.stdout);
    assert!(table.stdout.contains("of 2 mentions"), "{}", table.stdout);

    let since = earful.run(&[
        "search",
        "--since",
        "2026-11-26",
        "--until",
        "2026-11-27",
        "--format",
        "jsonl",
    ]);
    assert_eq!(since.stdout.lines().count(), 2, "{}", since.stdout);

    let export = earful.run(&["export", "acme", "--format", "jsonl"]);
    assert_eq!(export.code, 0, "{}", export.stderr);
    let exported = export.stdout.lines().count();
    let counted = earful.run(&["search", "acme", "--format", "json", "--limit", "1"]);
    let total = serde_json::from_str::<Value>(&counted.stdout).unwrap()["total"]
        .as_u64()
        .unwrap();
    assert_eq!(exported as u64, total);
}

#[test]
fn config_check_reports_file_line_key_problem() {
    let earful = Earful::new();
    let good = earful.run(&["config", "check"]);
    assert_eq!(good.code, 0, "{}", good.stderr);
    assert!(good.stdout.contains("ok"), "{}", good.stdout);

    let bad = earful.write_file(
        "bad.toml",
        "version = 1\n[[watch]]\nname = \"acme\"\nquery = \"acme\"\nqeury = \"typo\"\n",
    );
    let checked = earful.run_with_config(&bad, &["config", "check"]);
    assert_eq!(checked.code, 2, "{}", checked.stderr);
    let first = checked.stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(&format!("{bad}:5: watch[0].qeury: unknown field `qeury`")),
        "{}",
        checked.stderr
    );
    let missing = earful.run_with_config("/nonexistent/earful.toml", &["config", "check"]);
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(
        missing.stderr.contains("/nonexistent/earful.toml"),
        "{}",
        missing.stderr
    );
}

#[test]
fn the_built_in_config_runs_with_no_file() {
    let earful = Earful::new();
    let checked = earful.run_without_config(&["config", "check"]);
    assert_eq!(checked.code, 0, "{}", checked.stderr);
    assert!(checked.stdout.contains("built-in"), "{}", checked.stdout);
    let ingest = earful.run_without_config(&["ingest", &fixture("config/examples/mentions.jsonl")]);
    assert_eq!(ingest.code, 0, "{}", ingest.stderr);
    assert!(
        earful.dir().join("data/index").is_dir(),
        "data lands in ./data"
    );
}

#[test]
fn score_prints_vader_numbers() {
    let earful = Earful::new();
    let json = earful.run_without_config(&["score", "Hello world!", "--format", "json"]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    let value: Value = serde_json::from_str(json.stdout.trim()).unwrap();
    assert_eq!(
        value,
        serde_json::json!({"compound": 0.0, "pos": 0.0, "neu": 1.0, "neg": 0.0, "label": "neutral"})
    );

    let lines = earful.run_with_stdin(
        &["score", "--format", "json"],
        "VADER is smart, handsome, and funny.\nThis is terrible.\n",
    );
    let scores: Vec<Value> = lines
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(scores.len(), 2);
    assert_eq!(scores[0]["compound"], 0.8316);
    assert_eq!(scores[1]["label"], "negative");

    let explained = earful.run_without_config(&["score", "--explain", "The service is not good"]);
    assert_eq!(explained.code, 0, "{}", explained.stderr);
    assert!(explained.stdout.contains("good"), "{}", explained.stdout);
    assert!(explained.stdout.contains("negat"), "{}", explained.stdout);
}

#[test]
fn a_locked_index_is_a_clear_error() {
    let earful = Earful::new();
    earful.run(&["ingest", &fixture("config/examples/mentions.jsonl")]);
    let index =
        earful_index::MentionIndex::open(&earful.dir().join("data/index"), Default::default())
            .unwrap();
    let _writer = index.start_writer().unwrap();
    let ingest = earful.run(&["ingest", &fixture("config/examples/mentions.jsonl")]);
    assert_eq!(ingest.code, 1, "{}", ingest.stderr);
    assert!(ingest.stderr.contains("locked"), "{}", ingest.stderr);
    assert!(!ingest.stderr.contains("panicked"), "{}", ingest.stderr);
    // Searching works while another process writes.
    let search = earful.run(&["search", "acme", "--format", "jsonl"]);
    assert_eq!(search.code, 0, "{}", search.stderr);
}

#[test]
fn stats_aggregate_the_same_query_and_filters() {
    let earful = Earful::new();
    earful.run(&["ingest", &fixture("config/examples/mentions.jsonl")]);
    let timeline = earful.run(&[
        "stats",
        "timeline",
        "acme",
        "--interval",
        "1d",
        "--format",
        "json",
    ]);
    assert_eq!(timeline.code, 0, "{}", timeline.stderr);
    let document: Value = serde_json::from_str(&timeline.stdout).unwrap();
    let buckets = document["buckets"].as_array().unwrap();
    let total: u64 = buckets
        .iter()
        .map(|bucket| bucket["total"].as_u64().unwrap())
        .sum();
    let counted = earful.run(&["search", "acme", "--format", "json", "--limit", "1"]);
    let expected = serde_json::from_str::<Value>(&counted.stdout).unwrap()["total"]
        .as_u64()
        .unwrap();
    assert_eq!(total, expected);
    let first = &buckets[0];
    assert_eq!(first["start"], "2026-11-22T00:00:00Z");
    let by_label: u64 = ["positive", "neutral", "negative", "unscored"]
        .iter()
        .map(|label| first[label].as_u64().unwrap())
        .sum();
    assert_eq!(by_label, first["total"].as_u64().unwrap());

    let top = earful.run(&["stats", "top", "--field", "source", "--format", "csv"]);
    assert_eq!(top.code, 0, "{}", top.stderr);
    let mut lines = top.stdout.lines();
    assert_eq!(lines.next(), Some("value,count"));
    assert_eq!(lines.next(), Some("hackernews,6"), "{}", top.stdout);

    let labels = earful.run(&[
        "stats", "labels", "--source", "appstore", "--format", "json",
    ]);
    let share: Value = serde_json::from_str(&labels.stdout).unwrap();
    assert_eq!(share["total"], 3);

    let bad = earful.run(&["stats", "top", "--field", "colour"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}

#[test]
fn a_fresh_bulk_load_still_keeps_one_mention_per_id() {
    // More lines than one writer batch, with an id repeated inside a batch and, after that
    // repeat, another id repeated across batches:
    // a load into an empty index skips the upsert's delete only for ids it proved new.
    let earful = Earful::new();
    let mut lines = String::new();
    for number in 0..2_500 {
        let id = match number {
            12 | 1_700 => "ingest:repeated".to_string(),
            11 => "ingest:0".to_string(),
            _ => format!("ingest:{number}"),
        };
        lines.push_str(&format!(
            "{{\"id\":\"{id}\",\"text\":\"Acme mention number {number}\",\"published_at\":\"2026-11-22T10:00:00Z\"}}\n"
        ));
    }
    let file = earful.write_file("bulk.jsonl", &lines);
    let ingest = earful.run(&["ingest", &file]);
    assert_eq!(ingest.code, 0, "{}", ingest.stderr);
    assert!(
        ingest.stderr.contains("the index holds 2498 mentions"),
        "{}",
        ingest.stderr
    );
    let repeated = earful.run(&["search", "id:\"ingest:repeated\"", "--format", "jsonl"]);
    let texts: Vec<Value> = repeated
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(texts.len(), 1, "{}", repeated.stdout);
    assert_eq!(
        texts[0]["text"], "Acme mention number 1700",
        "the later line wins"
    );
    let first = earful.run(&["search", "id:\"ingest:0\"", "--format", "jsonl"]);
    assert_eq!(first.stdout.lines().count(), 1, "{}", first.stdout);
    assert!(first.stdout.contains("number 11"), "{}", first.stdout);
}
