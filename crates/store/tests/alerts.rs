//! Alerts, silences and the outbox on a real SQLite file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use earful_store::{AlertState, AlertWrite, DeliveryState, Event, Store};
use serde_json::json;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = datetime!(2026-11-22 10:00 UTC);

fn write(state: AlertState, at: OffsetDateTime, observed: u64) -> AlertWrite {
    AlertWrite {
        id: "acme-negative_spike-1".into(),
        watch: "acme".into(),
        kind: "negative_spike".into(),
        episode_start: T0,
        state,
        at,
        evidence: json!({"observed": observed}),
    }
}

fn channels() -> Vec<String> {
    vec!["webhook".to_string(), "email".to_string()]
}

#[test]
fn a_state_change_and_its_notifications_are_written_once_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.sqlite");
    let mut store = Store::open(&path).unwrap();

    let pending = store
        .record_alert(&write(AlertState::Pending, T0, 4), None, &channels())
        .unwrap();
    assert!(pending.created && pending.state_changed);
    assert_eq!(pending.queued, 0);

    let at = T0 + Duration::minutes(10);
    let firing = store
        .record_alert(
            &write(AlertState::Firing, at, 9),
            Some(Event::Firing),
            &channels(),
        )
        .unwrap();
    assert!(!firing.created && firing.state_changed);
    assert_eq!(firing.queued, 2);

    // Re-evaluating the same episode (a restart, a re-ingest) queues nothing new.
    let again = store
        .record_alert(
            &write(AlertState::Firing, at + Duration::minutes(5), 12),
            Some(Event::Firing),
            &channels(),
        )
        .unwrap();
    assert!(!again.state_changed);
    assert_eq!(again.queued, 0);
    drop(store);

    let mut store = Store::open(&path).unwrap();
    let alert = store.alert("acme-negative_spike-1").unwrap().unwrap();
    assert_eq!(alert.state, AlertState::Firing);
    assert_eq!(alert.fired_at, Some(at));
    assert_eq!(alert.created_at, T0);
    assert_eq!(
        alert.evidence,
        json!({"observed": 12}),
        "evidence refreshed"
    );
    let queued = store.notifications_for(&alert.id).unwrap();
    assert_eq!(queued.len(), 2);
    assert!(queued.iter().all(|n| n.state == DeliveryState::Pending));

    // A state never moves back.
    let back = store
        .record_alert(&write(AlertState::Pending, at, 1), None, &channels())
        .unwrap();
    assert!(!back.state_changed);
    assert_eq!(
        store.alert(&alert.id).unwrap().unwrap().state,
        AlertState::Firing
    );

    let resolved_at = at + Duration::hours(1);
    let resolved = store
        .record_alert(
            &write(AlertState::Resolved, resolved_at, 0),
            Some(Event::Resolved),
            &["webhook".to_string()],
        )
        .unwrap();
    assert!(resolved.state_changed);
    assert_eq!(resolved.queued, 1);
    let alert = store.alert(&alert.id).unwrap().unwrap();
    assert_eq!(alert.resolved_at, Some(resolved_at));
    assert_eq!(alert.fired_at, Some(at), "the first firing time stays");
    assert_eq!(alert.evidence, json!({"observed": 0}));
    assert_eq!(store.alerts(Some("acme"), 10).unwrap().len(), 1);
    assert!(store.alerts(Some("other"), 10).unwrap().is_empty());
}

#[test]
fn the_outbox_retries_then_delivers_or_gives_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("state.sqlite")).unwrap();
    store
        .record_alert(
            &write(AlertState::Firing, T0, 9),
            Some(Event::Firing),
            &channels(),
        )
        .unwrap();
    let due = store.due_notifications(T0, 10).unwrap();
    assert_eq!(due.len(), 2);
    let (webhook, email) = (&due[0], &due[1]);
    assert_eq!(
        (webhook.channel.as_str(), email.channel.as_str()),
        ("webhook", "email")
    );

    store
        .mark_failed(
            email.id,
            "connection refused",
            Some(T0 + Duration::seconds(30)),
        )
        .unwrap();
    store.mark_sent(webhook.id, T0).unwrap();
    assert!(store.due_notifications(T0, 10).unwrap().is_empty());
    assert_eq!(
        store.next_attempt_at().unwrap(),
        Some(T0 + Duration::seconds(30))
    );
    let later = store
        .due_notifications(T0 + Duration::seconds(30), 10)
        .unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].attempts, 1);
    assert_eq!(later[0].last_error.as_deref(), Some("connection refused"));

    store.mark_failed(later[0].id, "timed out", None).unwrap();
    // A delivered or dead row never moves again.
    store.mark_sent(later[0].id, T0).unwrap();
    let counts = store.outbox_counts().unwrap();
    assert_eq!((counts.pending, counts.sent, counts.dead), (0, 1, 1));
    let all = store.notifications().unwrap();
    let dead = all.iter().find(|n| n.id == later[0].id).unwrap();
    assert_eq!(dead.state, DeliveryState::Dead);
    assert_eq!(dead.attempts, 2);
    assert_eq!(store.next_attempt_at().unwrap(), None);
}

#[test]
fn silences_and_acknowledgements() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("state.sqlite")).unwrap();
    store
        .add_silence(
            "acme",
            T0 + Duration::hours(2),
            "ops",
            "planned maintenance",
            T0,
        )
        .unwrap();
    assert!(store.silence_for("acme", T0).unwrap().is_some());
    assert!(store.silence_for("other", T0).unwrap().is_none());
    assert!(store
        .silence_for("acme", T0 + Duration::hours(2))
        .unwrap()
        .is_none());

    assert!(!store.acknowledge("missing", "ana", T0).unwrap());
    store
        .record_alert(&write(AlertState::Firing, T0, 9), None, &[])
        .unwrap();
    assert!(store
        .acknowledge("acme-negative_spike-1", "ana", T0)
        .unwrap());
    assert!(store
        .acknowledge("acme-negative_spike-1", "bo", T0 + Duration::hours(1))
        .unwrap());
    let alert = store.alert("acme-negative_spike-1").unwrap().unwrap();
    assert_eq!(alert.acknowledged_by.as_deref(), Some("ana"));
    assert_eq!(alert.acknowledged_at, Some(T0));
}

#[test]
fn a_damaged_row_is_an_error_naming_it_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.sqlite");
    let mut store = Store::open(&path).unwrap();
    store
        .record_alert(&write(AlertState::Firing, T0, 9), None, &[])
        .unwrap();
    drop(store);
    let connection = rusqlite::Connection::open(&path).unwrap();
    connection
        .execute("UPDATE alerts SET evidence = 'not json'", [])
        .unwrap();
    drop(connection);
    let store = Store::open(&path).unwrap();
    let error = store.alert("acme-negative_spike-1").unwrap_err();
    assert!(error.to_string().contains("alert evidence"), "{error}");
}
