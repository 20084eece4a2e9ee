//! Request limits: body size, query-string size and a time limit per request, so one client
//! cannot make the server hold unbounded memory or work.

use std::time::Duration;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::error::{uniform_errors, ApiError};

/// How much one request may ask of the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Longest query string, in bytes.
    pub max_query_bytes: usize,
    /// Longest time to produce a response's head (a streamed export's body may take longer).
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_body_bytes: 64 * 1024,
            max_query_bytes: 8 * 1024,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Wraps `router` in the limits and in the layer that gives every error the JSON shape.
pub fn apply_limits(router: Router, limits: &Limits) -> Router {
    let max_query_bytes = limits.max_query_bytes;
    router
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            limit_query(max_query_bytes, request, next)
        }))
        .layer(middleware::from_fn(uniform_errors))
}

async fn limit_query(max_query_bytes: usize, request: Request, next: Next) -> Response {
    let length = request.uri().query().map_or(0, str::len);
    if length > max_query_bytes {
        return ApiError::TooLarge(format!(
            "the query string is {length} bytes; this server takes at most {max_query_bytes}"
        ))
        .into_response();
    }
    next.run(request).await
}
