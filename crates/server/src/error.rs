//! The one mapping from failures to HTTP responses: a status and a JSON body
//! `{"error": {"code", "message"}}`, plus where in the query a bad query went wrong.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use earful_index::IndexError;
use serde::Serialize;
use utoipa::ToSchema;

/// Longest plain-text error body (from axum's extractors) carried over into the JSON message.
const MAX_CARRIED_MESSAGE: usize = 1_024;

/// A request that failed, as the client is told.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The query language rejected `q`.
    #[error("{message}")]
    BadQuery {
        /// What is wrong, with the character column.
        message: String,
        /// Byte offset in `q` of the problem.
        offset: usize,
        /// 1-based character column in `q` of the problem.
        column: usize,
    },
    /// A parameter has a value this API does not take.
    #[error("{0}")]
    BadRequest(String),
    /// No token, or one that is not configured.
    #[error("{0}")]
    Unauthorized(String),
    /// A valid token whose role does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// No such thing.
    #[error("{0}")]
    NotFound(String),
    /// The request body or query is larger than the server takes.
    #[error("{0}")]
    TooLarge(String),
    /// A part the route needs is not there (no state database).
    #[error("{0}")]
    Unavailable(String),
    /// Something broke on the server; the details go to the log, never to the client.
    #[error("internal error")]
    Internal(String),
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable, machine-readable code (`bad_query`, `bad_request`, `unauthorized`,
    /// `forbidden`, `not_found`, `too_large`, `timeout`, `internal`, …).
    pub code: String,
    /// One sentence for people, naming the thing at fault.
    pub message: String,
    /// For `bad_query`: the byte offset in `q` where the query is wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<usize>,
    /// For `bad_query`: the 1-based character column in `q` where the query is wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl ApiError {
    /// An internal failure; `detail` is logged, not shown.
    pub fn internal(detail: impl Into<String>) -> ApiError {
        ApiError::Internal(detail.into())
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadQuery { .. } | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadQuery { .. } => "bad_query",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::TooLarge(_) => "too_large",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The body the client gets.
    pub fn body(&self) -> ErrorBody {
        let (offset, column) = match self {
            ApiError::BadQuery { offset, column, .. } => (Some(*offset), Some(*column)),
            _ => (None, None),
        };
        ErrorBody {
            error: ErrorDetail {
                code: self.code().to_string(),
                message: self.to_string(),
                offset,
                column,
            },
        }
    }
}

impl From<IndexError> for ApiError {
    fn from(error: IndexError) -> ApiError {
        match error {
            IndexError::Query(query) => ApiError::BadQuery {
                message: format!(
                    "parameter `q`, at character {}: {}",
                    query.column, query.message
                ),
                offset: query.offset,
                column: query.column,
            },
            IndexError::BadCursor(_) => ApiError::BadRequest(
                "parameter `cursor` is not a cursor this search handed out (or it was for another sort)".into(),
            ),
            IndexError::BadRequest(message) => ApiError::BadRequest(message),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<earful_core::QueryError> for ApiError {
    fn from(error: earful_core::QueryError) -> ApiError {
        ApiError::from(IndexError::Query(error))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!(error = %detail, "request failed");
        }
        json_error(self.status(), self.body())
    }
}

fn json_error(status: StatusCode, body: ErrorBody) -> Response {
    let json = serde_json::to_vec(&body).unwrap_or_else(|_| b"{\"error\":{}}".to_vec());
    let mut response = Response::new(Body::from(json));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The answer for a path no route serves: JSON, or a page for a browser outside `/api/`.
pub(crate) async fn no_route(
    axum::extract::State(state): axum::extract::State<crate::state::ApiState>,
    request: Request,
) -> Response {
    let path = request.uri().path();
    let error = ApiError::NotFound(format!("no route for `{path}`"));
    let wants_page = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_page && !path.starts_with("/api/") {
        return crate::ui::message(&state, error);
    }
    error.into_response()
}

/// Turns the error responses that do not come from [`ApiError`] — axum's extractor
/// rejections, a wrong method, the body limit and the timeout layers — into the same JSON
/// shape, so clients see one error format. HTML error pages pass unchanged.
pub(crate) async fn uniform_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/json") || content_type.starts_with("text/html") {
        return response;
    }
    let carried = if content_type.starts_with("text/plain") && !status.is_server_error() {
        axum::body::to_bytes(response.into_body(), MAX_CARRIED_MESSAGE)
            .await
            .ok()
            .and_then(|bytes| String::from_utf8(bytes.to_vec()).ok())
            .filter(|text| !text.trim().is_empty())
    } else {
        None
    };
    let (code, fallback) = match status {
        StatusCode::BAD_REQUEST => ("bad_request", "the request is malformed"),
        StatusCode::METHOD_NOT_ALLOWED => {
            ("method_not_allowed", "this route does not take that method")
        }
        StatusCode::PAYLOAD_TOO_LARGE => (
            "too_large",
            "the request body is larger than the server takes",
        ),
        StatusCode::REQUEST_TIMEOUT => {
            ("timeout", "the request took longer than the server allows")
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "the request body has the wrong content type",
        ),
        StatusCode::UNPROCESSABLE_ENTITY => (
            "bad_request",
            "the request body does not have the expected fields",
        ),
        status if status.is_server_error() => ("internal", "internal error"),
        _ => ("error", "the request failed"),
    };
    json_error(
        status,
        ErrorBody {
            error: ErrorDetail {
                code: code.to_string(),
                message: carried.unwrap_or_else(|| fallback.to_string()),
                offset: None,
                column: None,
            },
        },
    )
}
