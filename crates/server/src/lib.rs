//! Earful's HTTP server: the JSON API under `/api/v1` (with its OpenAPI document), the web UI,
//! the health probes, `/metrics` (Prometheus text) and the Atom feeds of alerts
//! (`/feeds/alerts.atom` for every watch, `/feeds/alerts/{watch}.atom`). [`app`] serves all of
//! it over one [`ApiState`]: the open index, optionally the state database, the live config
//! (watches, sources, tokens, lexicon — swapped whole by [`ApiState::reconfigure`]) and the
//! metrics the daemon hands over.
//!
//! What this crate must never do:
//! - write to the index, or to the store on a GET;
//! - block the async runtime: tantivy searches and SQLite reads run on the blocking pool;
//! - render attacker-controlled mention text unescaped (a `<script>` in a post shows as text);
//! - answer a request it has not authorised, compare tokens in variable time, or show a
//!   secret, a path or an internal error message;
//! - label a metric with anything unbounded (a raw path, a query, a URL, a mention).

mod api;
mod auth;
mod error;
mod feeds;
mod limits;
mod metrics;
mod openapi;
mod state;
mod ui;

use axum::routing::get;
use axum::Router;

pub use auth::{check_exposure, Caller, ExposureError};
pub use error::ApiError;
pub use limits::{apply_limits, Limits};
pub use metrics::METRICS_CONTENT_TYPE;
pub use openapi::openapi;
pub use state::{ApiState, LiveConfig, MetricsText, ReconfigureError};

/// Everything the server serves: the API, the health probes, `/metrics`, the web pages and
/// the alert feeds, behind the authorisation, size limits and timeouts of `state`, and counted
/// by route and status. `/metrics` and the feeds need a read token like every other read
/// (none when `allow_anonymous_read` is set or no tokens are configured); the feeds and the
/// alert routes answer 503 when the server has no state database.
pub fn app(state: ApiState) -> Router {
    let limits = state.limits().clone();
    let (read_api, _) = api::read_routes().split_for_parts();
    let (admin_api, _) = api::admin_routes().split_for_parts();
    let (probes, _) = api::probe_routes().split_for_parts();
    let readers = Router::new()
        .merge(read_api)
        .merge(ui::read_routes())
        .route("/metrics", get(metrics::scrape))
        .route("/feeds/alerts.atom", get(feeds::all_alerts))
        .route("/feeds/alerts/{watch}", get(feeds::watch_alerts))
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
    let app = Router::new()
        .merge(readers)
        .merge(admins)
        .merge(probes)
        .merge(ui::open_routes())
        .fallback(error::no_route)
        .with_state(state.clone());
    apply_limits(app, &limits).layer(axum::middleware::from_fn_with_state(
        state,
        metrics::track_requests,
    ))
}
