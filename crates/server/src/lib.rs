//! Earful's HTTP server: the JSON API under `/api/v1` (with its OpenAPI document), the web UI,
//! the health probes and the Atom feeds of alerts (`/feeds/alerts.atom` for every watch,
//! `/feeds/alerts/{watch}.atom`). [`app`] serves all of it over an [`ApiState`] (the open index,
//! the configured watches and sources, and optionally the state database); [`router`] serves
//! the feeds alone over the store.
//!
//! What this crate must never do:
//! - write to the index, or to the store on a GET;
//! - block the async runtime: tantivy searches and SQLite reads run on the blocking pool;
//! - render attacker-controlled mention text unescaped (a `<script>` in a post shows as text);
//! - answer a request it has not authorised, compare tokens in variable time, or show a
//!   secret, a path or an internal error message.

mod api;
mod auth;
mod error;
mod feeds;
mod limits;
mod openapi;
mod state;
mod ui;

use std::sync::{Arc, Mutex};

use axum::routing::get;
use axum::Router;
use earful_store::Store;

pub use auth::{check_exposure, Caller, ExposureError};
pub use error::ApiError;
pub use limits::{apply_limits, Limits};
pub use openapi::openapi;
pub use state::ApiState;

/// What the handlers share.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The state database.
    pub store: Arc<Mutex<Store>>,
    /// The public base URL of this server (`http://127.0.0.1:7878`), for links in feeds.
    pub base_url: String,
}

/// The server's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/feeds/alerts.atom", get(feeds::all_alerts))
        .route("/feeds/alerts/{watch}", get(feeds::watch_alerts))
        .with_state(state)
}

/// Everything the server serves: the API, the health probes and the web pages, behind the
/// authorisation, size limits and timeouts of `state`; with a state database, the alert feeds
/// too.
pub fn app(state: ApiState) -> Router {
    let limits = state.limits().clone();
    let (read_api, _) = api::read_routes().split_for_parts();
    let (admin_api, _) = api::admin_routes().split_for_parts();
    let (probes, _) = api::probe_routes().split_for_parts();
    let readers = Router::new()
        .merge(read_api)
        .merge(ui::read_routes())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_read,
        ));
    let admins = Router::new()
        .merge(admin_api)
        .merge(ui::admin_routes())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_admin,
        ));
    let feeds = state.feed_state().map(|feed_state| {
        router(feed_state).route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_read,
        ))
    });
    let mut app = Router::new()
        .merge(readers)
        .merge(admins)
        .merge(probes)
        .merge(ui::open_routes())
        .fallback(error::no_route)
        .with_state(state);
    if let Some(feeds) = feeds {
        app = app.merge(feeds);
    }
    apply_limits(app, &limits)
}
