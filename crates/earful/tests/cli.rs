//! End-to-end tests: the real `earful` binary on real files.

mod util;
// The loopback server the collector tests use, serving the recorded source payloads.
#[path = "../../collect/tests/util/mod.rs"]
mod source_server;

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

#[test]
fn detect_marks_the_alarm_bucket_of_a_burst_once() {
    // Two and a half days of a steady 20 mentions a bucket with a little wobble, then a burst
    // of 400 for an hour, then calm: NAB's timestamp format, 5-minute buckets.
    let start = time::macros::datetime!(2015-03-01 00:02:53 UTC);
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let mut csv = String::from("timestamp,value\n");
    let burst_at = 720;
    for index in 0..900 {
        let timestamp = start + time::Duration::minutes(5 * index as i64);
        let value = if (burst_at..burst_at + 12).contains(&index) {
            400
        } else {
            18 + (index * 7) % 5
        };
        csv.push_str(&format!("{},{value}\n", timestamp.format(&format).unwrap()));
    }
    let earful = Earful::new();
    let input = earful.write_file("series.csv", &csv);
    let output = earful.dir().join("scored.csv").display().to_string();
    let run = earful.run_without_config(&["detect", "--input", &input, "--output", &output]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    let scored = std::fs::read_to_string(&output).unwrap();
    let mut lines = scored.lines();
    assert_eq!(lines.next(), Some("timestamp,value,anomaly_score,alarm"));
    let rows: Vec<Vec<&str>> = lines.map(|line| line.split(',').collect()).collect();
    assert_eq!(rows.len(), 900);
    let input_rows: Vec<&str> = csv.lines().skip(1).collect();
    for (row, input_row) in rows.iter().zip(&input_rows) {
        assert_eq!(format!("{},{}", row[0], row[1]), *input_row);
        let score: f64 = row[2].parse().unwrap();
        assert!((0.0..1.0).contains(&score), "{row:?}");
    }
    let alarms: Vec<usize> = rows
        .iter()
        .enumerate()
        .filter(|(_, row)| row[3] == "1")
        .map(|(index, _)| index)
        .collect();
    // The pending period: the second bucket of the burst is the alarm bucket.
    assert_eq!(alarms, vec![burst_at + 1], "{scored}");
    assert!(rows[burst_at][2].parse::<f64>().unwrap() > 0.5);
}

#[test]
fn detect_names_bad_rows_and_keeps_the_rest() {
    let earful = Earful::new();
    let input = "timestamp,value\n2015-03-01 00:00:00,3\n2015-03-01 00:05:00,three\n\
                 not a time,4\n2015-03-01 00:10:00,5\n";
    let run = earful.run_with_stdin(&["detect", "--input", "-"], input);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("-:3: value `three` is not a count"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("-:4: timestamp `not a time` is neither"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout.lines().count(), 3, "{}", run.stdout);

    let missing = earful.write_file("bad.csv", "time,count\n1,2\n");
    let run = earful.run_without_config(&["detect", "--input", &missing]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("bad.csv:1: the header has no `timestamp` column"),
        "{}",
        run.stderr
    );
    let absent = earful.run_without_config(&["detect", "--input", "no-such.csv"]);
    assert_eq!(absent.code, 1, "{}", absent.stderr);
    assert!(
        absent.stderr.contains("cannot open `no-such.csv`"),
        "{}",
        absent.stderr
    );
}

/// A config with a feed, a Hacker News search and a broken feed, all on a loopback server.
fn collect_config(earful: &Earful, server: &source_server::TestServer) -> String {
    earful.write_file(
        "collect.toml",
        &format!(
            r#"version = 1
data_dir = "data"

[collect]
contact_url = "https://acme.example/earful"
lookback = "10000d"

[[watch]]
name = "acme"
query = '"acme corp" OR acme -"acme acres"'

[[source]]
name = "acme-blog"
kind = "feed"
url = "{base}/feed.xml"
watches = ["acme"]

[[source]]
name = "hn-acme"
kind = "hackernews"
watches = ["acme"]
base_url = "{base}"

[[source]]
name = "broken"
kind = "feed"
url = "{base}/broken.xml"
"#,
            base = server.base_url()
        ),
    )
}

// A test helper: a failure here is a failed test.
#[allow(clippy::unwrap_used)]
fn total_mentions(earful: &Earful, config: &str) -> u64 {
    let search = earful.run_with_config(config, &["search", "--format", "json", "--limit", "100"]);
    assert_eq!(search.code, 0, "{}", search.stderr);
    let document: Value = serde_json::from_str(&search.stdout).unwrap();
    document["total"].as_u64().unwrap()
}

#[test]
fn collect_once_indexes_then_a_restart_resumes_with_304s_and_no_duplicates() {
    use source_server::{Reply, TestServer};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(TestServer::start());
    server.serve("/feed.xml", Reply::fixture("rss2.xml").with_etag("\"v1\""));
    server.serve("/api/v1/search_by_date", Reply::fixture("hackernews.json"));
    server.serve("/broken.xml", Reply::status(500));
    let earful = Earful::new();
    let config = collect_config(&earful, &server);

    let first = earful.run_with_config(&config, &["collect", "--once"]);
    // One source failed: exit 1, after the others were indexed.
    assert_eq!(first.code, 1, "{}\n{}", first.stdout, first.stderr);
    assert!(
        first.stdout.contains("acme-blog\tfeed\tok\t2 new"),
        "{}",
        first.stdout
    );
    assert!(
        first.stdout.contains("hn-acme\thackernews\tok\t2 new"),
        "{}",
        first.stdout
    );
    assert!(
        first.stdout.contains("broken\tfeed\tfailed (server)"),
        "{}",
        first.stdout
    );
    assert_eq!(total_mentions(&earful, &config), 4);
    // The blog is bound to `acme`: its posts belong to the watch though none names the brand.
    let bound = earful.run_with_config(
        &config,
        &[
            "search", "--watch", "acme", "--source", "feed", "--format", "json",
        ],
    );
    assert_eq!(bound.code, 0, "{}", bound.stderr);
    let bound: Value = serde_json::from_str(&bound.stdout).unwrap();
    assert_eq!(bound["total"], 2, "{bound}");
    let user_agent = server.requests()[0]
        .header("user-agent")
        .unwrap()
        .to_string();
    assert!(
        user_agent.contains("https://acme.example/earful"),
        "{user_agent}"
    );

    // A second process resumes from the committed cursors: the feed answers 304, the search
    // returns what it returned before, and nothing is added twice.
    server.clear_requests();
    server.serve("/broken.xml", Reply::fixture("jsonfeed.json"));
    let second = earful.run_with_config(&config, &["collect", "--once"]);
    assert_eq!(second.code, 0, "{}\n{}", second.stdout, second.stderr);
    let feed_request = server.requests_to("/feed.xml").remove(0);
    assert_eq!(feed_request.header("if-none-match"), Some("\"v1\""));
    assert_eq!(feed_request.status, 304);
    assert!(
        second.stdout.contains("acme-blog\tfeed\tok\t0 new"),
        "{}",
        second.stdout
    );
    assert!(
        second.stdout.contains("hn-acme\thackernews\tok\t0 new"),
        "{}",
        second.stdout
    );
    assert!(
        second.stdout.contains("broken\tfeed\tok\t2 new"),
        "{}",
        second.stdout
    );
    assert_eq!(total_mentions(&earful, &config), 6);

    // The health table remembers the failure and the recovery.
    let health = earful.run_with_config(&config, &["sources", "--format", "json"]);
    assert_eq!(health.code, 0, "{}", health.stderr);
    let rows: Value = serde_json::from_str(&health.stdout).unwrap();
    let broken = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["name"] == "broken")
        .unwrap();
    assert_eq!(broken["state"], "ok");
    assert_eq!(broken["last_error"]["class"], "server");
    assert_eq!(broken["failures"], 1);
    let blog = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["name"] == "acme-blog")
        .unwrap();
    assert_eq!(blog["items"], 2);
    assert_eq!(blog["not_modified"], 1);
    let table = earful.run_with_config(&config, &["sources"]);
    assert!(table.stdout.starts_with("SOURCE"), "{}", table.stdout);
    assert!(table.stdout.contains("hn-acme"), "{}", table.stdout);
}

#[test]
fn collect_without_once_is_a_usage_error() {
    let earful = Earful::new();
    let output = earful.run(&["collect"]);
    assert_eq!(output.code, 2, "{}", output.stderr);
    assert!(output.stderr.contains("--once"), "{}", output.stderr);
}
