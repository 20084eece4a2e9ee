//! Atom feeds of alerts: one entry per alert, updated as it moves from firing to resolved, so a
//! feed reader shows each episode once with its latest state. The entry's content is the
//! alert's evidence as text.

use atom_syndication::{Content, Entry, Feed, FixedDateTime, Link, Person, Text};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use earful_alert::notify::{subject, text_body};
use earful_alert::Alert;
use earful_store::{AlertState, Event};
use time::OffsetDateTime;
use tracing::warn;

use crate::error::ApiError;
use crate::state::ApiState;

/// Entries in a feed.
const FEED_ENTRIES: usize = 100;

pub(crate) async fn all_alerts(State(state): State<ApiState>) -> Result<Response, ApiError> {
    feed_response(state, None).await
}

pub(crate) async fn watch_alerts(
    State(state): State<ApiState>,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let Some(watch) = file.strip_suffix(".atom") else {
        return Err(ApiError::NotFound(format!(
            "no feed `{file}`: feeds end in `.atom`"
        )));
    };
    feed_response(state, Some(watch.to_string())).await
}

async fn feed_response(state: ApiState, watch: Option<String>) -> Result<Response, ApiError> {
    let wanted = watch.clone();
    let records = state
        .with_store(move |store| store.alerts(wanted.as_deref(), FEED_ENTRIES))
        .await?;
    let mut alerts = Vec::with_capacity(records.len());
    for record in &records {
        match Alert::from_record(record) {
            Ok(alert) => alerts.push(alert),
            // One unreadable alert does not take the feed down.
            Err(error) => warn!(%error, "alert left out of the feed"),
        }
    }
    let feed = build_feed(state.base_url(), watch.as_deref(), &alerts);
    Ok((
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        feed.to_string(),
    )
        .into_response())
}

fn fixed(at: OffsetDateTime) -> FixedDateTime {
    let text = earful_core::time::format_timestamp(at);
    FixedDateTime::parse_from_rfc3339(&text).unwrap_or_default()
}

/// The feed of `alerts` (newest first); `watch` names a per-watch feed.
pub fn build_feed(base_url: &str, watch: Option<&str>, alerts: &[Alert]) -> Feed {
    let base = base_url.trim_end_matches('/');
    let (path, title) = match watch {
        Some(watch) => (
            format!("/feeds/alerts/{watch}.atom"),
            format!("Earful alerts: {watch}"),
        ),
        None => (
            "/feeds/alerts.atom".to_string(),
            "Earful alerts".to_string(),
        ),
    };
    let updated = alerts
        .iter()
        .map(|alert| alert.updated_at)
        .max()
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let entries = alerts
        .iter()
        .map(|alert| {
            let event = if alert.state == AlertState::Resolved {
                Event::Resolved
            } else {
                Event::Firing
            };
            let mut link = Link::default();
            link.set_href(format!("{base}/alerts/{}", alert.id));
            link.set_rel("alternate");
            let mut content = Content::default();
            content.set_content_type("text".to_string());
            content.set_value(text_body(alert, event));
            Entry {
                id: format!("urn:earful:alert:{}", alert.id),
                title: Text::plain(subject(alert, event)),
                updated: fixed(alert.updated_at),
                published: Some(fixed(alert.fired_at.unwrap_or(alert.created_at))),
                links: vec![link],
                summary: Some(Text::plain(alert.headline())),
                content: Some(content),
                ..Entry::default()
            }
        })
        .collect();
    let mut self_link = Link::default();
    self_link.set_href(format!("{base}{path}"));
    self_link.set_rel("self");
    Feed {
        id: format!("{base}{path}"),
        title: Text::plain(title),
        updated: fixed(updated),
        authors: vec![Person {
            name: "Earful".into(),
            ..Person::default()
        }],
        links: vec![self_link],
        entries,
        ..Feed::default()
    }
}
