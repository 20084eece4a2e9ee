//! Search, sorting, paging, highlights, aggregations and export over one shared index.

// Test helpers outside `#[test]` functions may unwrap too (clippy.toml allows it inside).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::time::Duration;

use common::{mention, unscored, with_compound, BASE};
use earful_core::{Label, Mention, MentionQuery};
use earful_index::{Filters, IndexError, MentionIndex, SearchRequest, Sort, TopField};

struct Fixture {
    _dir: tempfile::TempDir,
    index: MentionIndex,
    mentions: Vec<Mention>,
}

fn fixture_mentions() -> Vec<Mention> {
    let mut mentions = vec![
        with_compound(
            mention("hackernews:1", "Acme outage again, refunds refused", 0),
            -0.8,
        ),
        with_compound(
            mention("hackernews:2", "I love Acme support, great refund", 60),
            0.9,
        ),
        mention("hackernews:3", "acme acres is a different company", 120),
        unscored(mention("mastodon:4", "Acme Störung schon wieder", 180)),
        with_compound(
            mention("feed:5", "The outage at acme corp lasted hours", 240),
            -0.4,
        ),
    ];
    mentions[2].watches.clear();
    mentions[3].source = "mastodon".into();
    mentions[3].feed = "masto-acme".into();
    mentions[3].lang = "de".into();
    mentions[3].author = Some("Hans".into());
    mentions[4].source = "feed".into();
    mentions[4].feed = "acme-blog".into();
    mentions[4].title = Some("Acme Corp status".into());
    mentions[4].author_reach = Some(5_000);
    mentions[1].author = Some("alice".into());
    mentions[1].author_reach = Some(900);
    // Many more, for paging: one a minute after the first day.
    for number in 0..250 {
        let mut extra = with_compound(
            mention(
                &format!("bulk:{number}"),
                &format!("bulk acme mention number {number} about shipping"),
                1_440 + number,
            ),
            if number % 3 == 0 { -0.5 } else { 0.3 },
        );
        extra.author = Some(format!("bulk{}", number % 7));
        extra.author_reach = Some(number as u64 % 11);
        mentions.push(extra);
    }
    mentions
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let mentions = fixture_mentions();
        let index = common::build_index(dir.path(), mentions.clone());
        Fixture {
            _dir: dir,
            index,
            mentions,
        }
    })
}

fn query(raw: &str) -> MentionQuery {
    MentionQuery::parse(raw).unwrap()
}

fn ids(index: &MentionIndex, request: SearchRequest) -> Vec<String> {
    index
        .search(&request)
        .unwrap()
        .hits
        .into_iter()
        .map(|hit| hit.mention.id)
        .collect()
}

#[test]
fn hits_return_the_exact_mention() {
    let fixture = fixture();
    let results = fixture
        .index
        .search(&SearchRequest::new(query("refused")))
        .unwrap();
    assert_eq!(results.total, 1);
    assert_eq!(results.hits[0].mention, fixture.mentions[0]);
    assert_eq!(
        fixture.index.get("hackernews:2").unwrap().as_ref(),
        Some(&fixture.mentions[1])
    );
    assert_eq!(
        fixture.index.get("HACKERNEWS:2").unwrap(),
        None,
        "ids are exact"
    );
}

#[test]
fn boolean_queries_and_exclusions() {
    let index = &fixture().index;
    let found = |raw: &str| -> BTreeSet<String> {
        let request = SearchRequest {
            limit: 1_000,
            ..SearchRequest::new(query(raw))
        };
        ids(index, request)
            .into_iter()
            .filter(|id| !id.starts_with("bulk"))
            .collect()
    };
    let set = |ids: &[&str]| ids.iter().map(|id| id.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(found("outage"), set(&["hackernews:1", "feed:5"]));
    assert_eq!(
        found("acme -\"acme acres\" -outage -bulk"),
        set(&["hackernews:2", "mastodon:4"])
    );
    assert_eq!(found("\"acme corp\""), set(&["feed:5"]));
    assert_eq!(found("title:corp"), set(&["feed:5"]));
    assert_eq!(
        found("author:ALICE OR author:hans"),
        set(&["hackernews:2", "mastodon:4"])
    );
    assert_eq!(found("lang:de"), set(&["mastodon:4"]));
    assert_eq!(
        found("label:negative -bulk"),
        set(&["hackernews:1", "feed:5"])
    );
    assert_eq!(found("refund*"), set(&["hackernews:1", "hackernews:2"]));
}

#[test]
fn syntax_errors_say_where() {
    let error = MentionQuery::parse("acme AND (outage").unwrap_err();
    assert!(error.column > 0, "{error}");
    let error = IndexError::from(MentionQuery::parse("colour:red").unwrap_err());
    assert!(error.to_string().contains("colour"), "{error}");
}

#[test]
fn filters_are_extra_conditions() {
    let index = &fixture().index;
    let count = |filters: Filters| index.count(&query("acme"), &filters).unwrap();
    assert_eq!(
        count(Filters {
            source: Some("Mastodon".into()),
            ..Filters::default()
        }),
        1
    );
    assert_eq!(
        count(Filters {
            feed: Some("acme-blog".into()),
            ..Filters::default()
        }),
        1
    );
    assert_eq!(
        count(Filters {
            lang: Some("de".into()),
            ..Filters::default()
        }),
        1
    );
    assert_eq!(
        count(Filters {
            label: Some(Label::Unscored),
            ..Filters::default()
        }),
        1
    );
    assert_eq!(
        count(Filters {
            min_reach: Some(900),
            ..Filters::default()
        }),
        2
    );
    assert_eq!(
        count(Filters {
            watch: Some("ACME".into()),
            ..Filters::default()
        }),
        254
    );
    let first_day = Filters {
        since: Some(BASE + time::Duration::minutes(60)),
        until: Some(BASE + time::Duration::minutes(240)),
        ..Filters::default()
    };
    assert_eq!(count(first_day), 3, "since is inclusive, until exclusive");
}

#[test]
fn sorts_order_hits() {
    let index = &fixture().index;
    let first = |sort: Sort, raw: &str| {
        ids(
            index,
            SearchRequest {
                sort,
                limit: 1,
                ..SearchRequest::new(query(raw))
            },
        )[0]
        .clone()
    };
    assert_eq!(first(Sort::Newest, "-bulk acme"), "feed:5");
    assert_eq!(first(Sort::Oldest, "acme"), "hackernews:1");
    assert_eq!(first(Sort::MostReached, "acme"), "feed:5");
    assert_eq!(first(Sort::MostNegative, "acme"), "hackernews:1");
    let relevance = index
        .search(&SearchRequest {
            sort: Sort::Relevance,
            ..SearchRequest::new(query("refund OR outage"))
        })
        .unwrap();
    assert!(relevance.hits.iter().all(|hit| hit.score.is_some()));
    let scores: Vec<f32> = relevance.hits.iter().filter_map(|hit| hit.score).collect();
    assert!(
        scores.windows(2).all(|pair| pair[0] >= pair[1]),
        "{scores:?}"
    );
}

#[test]
fn paging_visits_every_hit_once_in_every_sort() {
    let index = &fixture().index;
    for sort in Sort::ALL {
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = index
                .search(&SearchRequest {
                    sort,
                    limit: 7,
                    cursor,
                    ..SearchRequest::new(query("acme"))
                })
                .unwrap();
            assert_eq!(page.total, 255);
            seen.extend(page.hits.into_iter().map(|hit| hit.mention.id));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let unique: BTreeSet<&String> = seen.iter().collect();
        assert_eq!(seen.len(), 255, "{sort}");
        assert_eq!(unique.len(), 255, "{sort}: no repeats");
    }
}

#[test]
fn bad_cursors_are_errors() {
    let index = &fixture().index;
    let page = index
        .search(&SearchRequest {
            limit: 2,
            ..SearchRequest::new(query("acme"))
        })
        .unwrap();
    let cursor = page.next_cursor.unwrap();
    let wrong_sort = index.search(&SearchRequest {
        sort: Sort::Oldest,
        cursor: Some(cursor),
        ..SearchRequest::new(query("acme"))
    });
    assert!(matches!(wrong_sort, Err(IndexError::BadCursor(_))));
    let garbage = index.search(&SearchRequest {
        cursor: Some("%%%".into()),
        ..SearchRequest::new(query("acme"))
    });
    assert!(matches!(garbage, Err(IndexError::BadCursor(_))));
}

#[test]
fn highlights_mark_the_matched_words() {
    let index = &fixture().index;
    let results = index
        .search(&SearchRequest {
            highlight: true,
            ..SearchRequest::new(query("refused -bulk"))
        })
        .unwrap();
    let highlight = results.hits[0].highlight.as_ref().unwrap();
    assert!(
        highlight.html.contains("<b>refused</b>"),
        "{}",
        highlight.html
    );
    let (start, end) = highlight.ranges[0];
    assert_eq!(&highlight.fragment[start..end], "refused");
}

#[test]
fn timeline_counts_by_bucket_and_label() {
    let index = &fixture().index;
    let filters = Filters {
        since: Some(BASE),
        until: Some(BASE + time::Duration::hours(6)),
        ..Filters::default()
    };
    let timeline = index
        .timeline(&query(""), &filters, Duration::from_secs(3_600))
        .unwrap();
    assert_eq!(
        timeline.len(),
        6,
        "empty buckets inside the range are present"
    );
    assert_eq!(timeline[0].start, BASE);
    assert_eq!(
        (timeline[0].total, timeline[0].negative),
        (1, 1),
        "hackernews:1 at 00:00"
    );
    assert_eq!((timeline[1].total, timeline[1].positive), (1, 1));
    assert_eq!((timeline[2].total, timeline[2].neutral), (1, 1));
    assert_eq!((timeline[3].total, timeline[3].unscored), (1, 1));
    assert_eq!((timeline[4].total, timeline[4].negative), (1, 1));
    assert_eq!(timeline[5].total, 0);
    let all: u64 = index
        .timeline(
            &query("acme"),
            &Filters::default(),
            Duration::from_secs(86_400),
        )
        .unwrap()
        .iter()
        .map(|bucket| bucket.total)
        .sum();
    assert_eq!(all, 255);
}

#[test]
fn top_values_and_label_share() {
    let index = &fixture().index;
    let authors = index
        .top(&query("acme"), &Filters::default(), TopField::Author, 3)
        .unwrap();
    assert_eq!(authors.len(), 3);
    assert!(authors[0].0.starts_with("bulk"), "{authors:?}");
    assert_eq!(authors[0].1, 36);
    let sources = index
        .top(
            &query("-bulk acme"),
            &Filters::default(),
            TopField::Source,
            10,
        )
        .unwrap();
    assert_eq!(sources[0], ("hackernews".to_string(), 3));
    let terms = index
        .top(&query("outage"), &Filters::default(), TopField::Term, 5)
        .unwrap();
    assert!(terms.iter().any(|(term, _)| term == "outage"), "{terms:?}");
    assert!(
        terms.iter().all(|(term, _)| term != "the" && term != "at"),
        "stop words: {terms:?}"
    );
    let share = index
        .label_share(&query("acme -bulk"), &Filters::default())
        .unwrap();
    assert_eq!(share.total, 5);
    assert_eq!(
        (
            share.negative,
            share.positive,
            share.neutral,
            share.unscored
        ),
        (2, 1, 1, 1)
    );
    assert!((share.share(Label::Negative) - 0.4).abs() < 1e-9);
}

#[test]
fn export_streams_every_match_in_order() {
    let index = &fixture().index;
    let mut exported = Vec::new();
    let count = index
        .export(
            &query("acme"),
            &Filters::default(),
            Sort::Oldest,
            |mention| {
                exported.push(mention.published_at);
                Ok::<(), IndexError>(())
            },
        )
        .unwrap();
    assert_eq!(count, 255);
    assert!(exported.windows(2).all(|pair| pair[0] <= pair[1]));
    // An error from the callback stops the export.
    let mut given = 0;
    let stopped = index.export(&query("acme"), &Filters::default(), Sort::Newest, |_| {
        given += 1;
        if given == 3 {
            return Err(IndexError::BadRequest("enough".into()));
        }
        Ok(())
    });
    assert!(stopped.is_err());
    assert_eq!(given, 3);
}
