//! `GET /metrics`: the Prometheus text format (version 0.0.4) of everything the process
//! counts — the collectors' polls, items, errors and 304s per source, the index writer's
//! commits, their latency and the mentions indexed, the alerts fired and the outbox by
//! channel (read from the state database at scrape time), and this server's requests by
//! route template and status with their latency.
//!
//! Labels stay bounded: a route is the template that matched (`/api/v1/mentions/{id}`),
//! never the raw path, and every path no route serves is `unmatched`; a status is its code.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use earful_alert::AlertMetrics;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::error::ApiError;
use crate::state::ApiState;

/// The `Content-Type` of the Prometheus text format.
pub const METRICS_CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The route label of a request no route matched (a scan of random paths stays one series).
const UNMATCHED_ROUTE: &str = "unmatched";

/// Upper bounds, in seconds, of the request latency histogram's buckets.
const REQUEST_SECONDS_BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

fn request_histogram() -> Histogram {
    Histogram::new(REQUEST_SECONDS_BUCKETS)
}

/// The server's own counters, shared by every clone of the state.
#[derive(Clone, Debug)]
pub(crate) struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    request_seconds: Family<RouteLabels, Histogram, fn() -> Histogram>,
    reconfigurations: Counter,
}

impl Default for HttpMetrics {
    fn default() -> HttpMetrics {
        HttpMetrics {
            requests: Family::default(),
            request_seconds: Family::new_with_constructor(request_histogram),
            reconfigurations: Counter::default(),
        }
    }
}

impl HttpMetrics {
    fn observe(&self, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_string(),
                status: status.to_string(),
            })
            .inc();
        self.request_seconds
            .get_or_create(&RouteLabels {
                route: route.to_string(),
            })
            .observe(seconds);
    }

    pub(crate) fn count_reconfiguration(&self) {
        self.reconfigurations.inc();
    }

    fn register(&self, registry: &mut Registry) {
        registry.register(
            "earful_http_requests",
            "HTTP requests served, by route template and status code.",
            self.requests.clone(),
        );
        registry.register(
            "earful_http_request_duration_seconds",
            "Time to a response's head, by route template.",
            self.request_seconds.clone(),
        );
        registry.register(
            "earful_server_reconfigurations",
            "Configs the running server took on (watches, sources, tokens, lexicon).",
            self.reconfigurations.clone(),
        );
    }
}

/// Middleware (outermost, so it sees limit and timeout responses too): counts each request
/// by the route template it matched and its status, and times it.
pub(crate) async fn track_requests(
    State(state): State<ApiState>,
    request: Request,
    next: Next,
) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or_else(
        || UNMATCHED_ROUTE.to_string(),
        |path| path.as_str().to_string(),
    );
    let started = Instant::now();
    let response = next.run(request).await;
    state.http_metrics().observe(
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// `GET /metrics`.
pub(crate) async fn scrape(State(state): State<ApiState>) -> Result<Response, ApiError> {
    let alerts = if state.has_store() {
        Some(state.with_store(|store| AlertMetrics::read(store)).await?)
    } else {
        None
    };
    let documents = match state.index_metrics() {
        Some(_) => None,
        None => Some(state.with_index(|index| Ok(index.num_docs())).await?),
    };
    let mut registry = Registry::default();
    state.http_metrics().register(&mut registry);
    if let Some(collect) = state.collect_metrics() {
        registry.register_collector(Box::new(collect.clone()));
    }
    match (state.index_metrics(), documents) {
        (Some(index), _) => index.register(&mut registry),
        (None, Some(documents)) => {
            // Without the writer's metrics (a server beside another process's writer), the
            // index size is still known from the reader.
            let gauge = Gauge::<i64>::default();
            gauge.set(i64::try_from(documents).unwrap_or(i64::MAX));
            registry.register(
                "earful_index_documents",
                "Mentions in the index after the latest commit.",
                gauge,
            );
        }
        (None, None) => {}
    }
    if let Some(alerts) = alerts {
        registry.register_collector(Box::new(alerts));
    }
    let mut text = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut text, &registry)
        .map_err(|_| ApiError::internal("cannot encode the metrics"))?;
    if let Some(extra) = state.extra_metrics() {
        // Before the closing `# EOF`, which must stay the last line.
        let body_end = text.rfind("# EOF").unwrap_or(text.len());
        text.insert_str(body_end, &extra.render());
    }
    Ok(([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], text).into_response())
}
