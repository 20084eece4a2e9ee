//! The alert JSON form is a persisted format: the v1 fixture must always load, and what this
//! build writes must read back the same.
#![allow(clippy::unwrap_used)]

use earful_alert::{Alert, ALERT_FORMAT_VERSION};
use earful_store::AlertState;

const FIXTURE: &str = include_str!("fixtures/alert-v1.json");

#[test]
fn the_v1_fixture_loads_and_round_trips() {
    let alert: Alert = serde_json::from_str(FIXTURE).unwrap();
    assert_eq!(alert.version, ALERT_FORMAT_VERSION);
    assert_eq!(alert.state, AlertState::Firing);
    assert_eq!(alert.evidence.observed, 42);
    assert_eq!(alert.evidence.rising_terms[0].term, "outage");
    assert_eq!(
        alert.evidence.top_mentions[0].url.as_deref(),
        Some("https://news.ycombinator.com/item?id=41234567")
    );
    assert_eq!(alert.acknowledged.as_ref().unwrap().by, "ana");
    let written = serde_json::to_string(&alert).unwrap();
    let again: Alert = serde_json::from_str(&written).unwrap();
    assert_eq!(again, alert);
    assert!(
        alert.headline().contains("42 negative mentions in 10 min"),
        "{}",
        alert.headline()
    );
}
