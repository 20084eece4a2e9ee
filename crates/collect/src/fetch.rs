//! The HTTP side of the poll engine, as a source module sees it: [`Fetcher::fetch`] sends a
//! [`Request`] with the engine's User-Agent, timeout, body cap and concurrency limits, makes it
//! conditional when asked (ETag / Last-Modified remembered per URL and committed with the
//! batch), reads rate-limit signals, and classes every failure for the health record.
//!
//! Sources never retry: a failed fetch fails the poll, and the engine backs off.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

/// One HTTP request a source wants made.
#[derive(Clone, Debug)]
pub struct Request {
    /// What to fetch.
    pub url: Url,
    /// `GET` unless a body is set.
    pub body: Option<RequestBody>,
    /// Extra headers. `Authorization` and other credential headers never reach a log or an
    /// error message.
    pub headers: Vec<(String, String)>,
    /// Send `If-None-Match` / `If-Modified-Since` from the validators remembered for this URL,
    /// and remember the response's.
    pub conditional: bool,
}

/// A request body (makes the request a `POST`).
#[derive(Clone, Debug)]
pub enum RequestBody {
    /// `application/x-www-form-urlencoded` pairs.
    Form(Vec<(String, String)>),
    /// A JSON document.
    Json(serde_json::Value),
}

impl Request {
    /// A plain `GET`.
    pub fn get(url: Url) -> Request {
        Request {
            url,
            body: None,
            headers: Vec::new(),
            conditional: false,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Request {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// Makes the request conditional (see [`Request::conditional`]).
    pub fn conditional(mut self) -> Request {
        self.conditional = true;
        self
    }

    /// Makes the request a `POST` with this body.
    pub fn with_body(mut self, body: RequestBody) -> Request {
        self.body = Some(body);
        self
    }
}

/// What a fetch gave back.
// Moved once per fetch and matched at once: boxing the body's envelope would only add an
// allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Response {
    /// 304, or the same ETag as last time: nothing new at this URL.
    NotModified,
    /// A 2xx response with its body (at most the body cap).
    Fresh(Fetched),
}

/// A 2xx response.
#[derive(Clone, Debug)]
pub struct Fetched {
    /// The status code.
    pub status: u16,
    /// The response headers (for `Link` paging, say).
    pub headers: HeaderMap,
    /// The raw body bytes (feeds must be parsed from bytes, not decoded text).
    pub body: Bytes,
    /// The URL after redirects (to resolve relative links).
    pub url: Url,
    /// When the response arrived.
    pub fetched_at: OffsetDateTime,
}

/// The class of a failure, as the health record and metrics show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FetchErrorClass {
    /// The host name did not resolve.
    Dns,
    /// The TLS handshake failed.
    Tls,
    /// The connection was refused or dropped.
    Connect,
    /// No answer within the request timeout.
    Timeout,
    /// 429, or a rate-limit signal (`Retry-After`, `X-RateLimit-Remaining: 0`, `backoff`).
    RateLimited,
    /// Another 4xx status.
    Client,
    /// A 5xx status.
    Server,
    /// The body was cut short or exceeded the cap.
    Body,
    /// The body could not be parsed.
    Parse,
}

impl FetchErrorClass {
    /// The class as shown in health tables and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            FetchErrorClass::Dns => "dns",
            FetchErrorClass::Tls => "tls",
            FetchErrorClass::Connect => "connect",
            FetchErrorClass::Timeout => "timeout",
            FetchErrorClass::RateLimited => "rate_limited",
            FetchErrorClass::Client => "client",
            FetchErrorClass::Server => "server",
            FetchErrorClass::Body => "body",
            FetchErrorClass::Parse => "parse",
        }
    }
}

impl std::fmt::Display for FetchErrorClass {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// How much of an error response's body [`FetchError::body_excerpt`] keeps.
pub const ERROR_BODY_EXCERPT: usize = 4 * 1024;

/// A failed fetch. The message names the URL (credentials removed) and what went wrong.
#[derive(Clone, thiserror::Error)]
#[error("fetching `{url}`: {detail}")]
pub struct FetchError {
    /// The URL, without credentials or secret query parameters.
    pub url: String,
    /// The failure's class.
    pub class: FetchErrorClass,
    /// What went wrong, in words.
    pub detail: String,
    /// How long the remote asked us to wait, when it said.
    pub retry_after: Option<Duration>,
    /// The HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// The start of a non-2xx response's body (at most [`ERROR_BODY_EXCERPT`] bytes, decoded
    /// lossily), for the source to read the remote's own error (Stack Exchange `error_id`,
    /// Bluesky `ExpiredToken`). A server may echo what it was sent, so it never reaches the
    /// message, a log or `Debug`.
    pub body_excerpt: Option<String>,
}

impl FetchError {
    /// A failure with no HTTP response behind it.
    pub fn new(url: impl Into<String>, class: FetchErrorClass, detail: impl Into<String>) -> Self {
        FetchError {
            url: url.into(),
            class,
            detail: detail.into(),
            retry_after: None,
            status: None,
            body_excerpt: None,
        }
    }

    /// The error body as JSON, when it is a whole JSON document.
    pub fn body_json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(self.body_excerpt.as_deref()?).ok()
    }
}

impl std::fmt::Debug for FetchError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("FetchError")
            .field("url", &self.url)
            .field("class", &self.class)
            .field("detail", &self.detail)
            .field("retry_after", &self.retry_after)
            .field("status", &self.status)
            .field(
                "body_excerpt",
                &self.body_excerpt.as_ref().map(|excerpt| excerpt.len()),
            )
            .finish()
    }
}

/// The HTTP settings every fetch shares. `Default` suits tests; the binary builds it from the
/// `[collect]` config section.
#[derive(Clone, Debug)]
pub struct FetchOptions {
    /// Where a site operator can learn about this crawler; part of the User-Agent.
    pub contact_url: String,
    /// The whole exchange, connect to last body byte (30 s).
    pub timeout: Duration,
    /// Bodies longer than this are refused (10 MiB).
    pub body_cap: usize,
    /// Requests in flight at once, over all hosts (32).
    pub max_concurrent: usize,
    /// Requests in flight at once to one host (2).
    pub max_concurrent_per_host: usize,
}

impl Default for FetchOptions {
    fn default() -> FetchOptions {
        FetchOptions {
            contact_url: "https://github.com/earful/earful".to_string(),
            timeout: Duration::from_secs(30),
            body_cap: 10 * 1024 * 1024,
            max_concurrent: 32,
            max_concurrent_per_host: 2,
        }
    }
}

impl FetchOptions {
    /// `Earful/0.1.0 (+https://…)`.
    pub fn user_agent(&self) -> String {
        format!(
            "Earful/{} (+{})",
            env!("CARGO_PKG_VERSION"),
            self.contact_url
        )
    }
}

/// The shared HTTP client: one connection pool and the concurrency limits, for every source.
/// Cheap to clone.
#[derive(Clone, Debug)]
pub struct HttpClient {
    inner: Arc<ClientInner>,
}

#[derive(Debug)]
struct ClientInner {
    client: reqwest::Client,
    options: FetchOptions,
    global: Arc<Semaphore>,
    per_host: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// The HTTP client could not be built (a bad User-Agent, no TLS roots).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client: {0}")]
pub struct ClientError(String);

impl HttpClient {
    /// Builds the client.
    pub fn new(options: FetchOptions) -> Result<HttpClient, ClientError> {
        let client = reqwest::Client::builder()
            .user_agent(options.user_agent())
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::limited(5))
            .pool_max_idle_per_host(options.max_concurrent_per_host.max(1))
            .build()
            .map_err(|error| ClientError(error.without_url().to_string()))?;
        Ok(HttpClient {
            inner: Arc::new(ClientInner {
                client,
                global: Arc::new(Semaphore::new(options.max_concurrent.max(1))),
                per_host: Mutex::new(HashMap::new()),
                options,
            }),
        })
    }

    /// The options it was built with.
    pub fn options(&self) -> &FetchOptions {
        &self.inner.options
    }

    /// A fetcher for one poll, starting from the validators committed for the source.
    pub fn fetcher(&self, validators: HttpState) -> Fetcher {
        Fetcher {
            client: self.clone(),
            state: validators,
            outcome: PollSignals::default(),
        }
    }

    async fn permits(&self, url: &Url) -> (OwnedSemaphorePermit, Option<OwnedSemaphorePermit>) {
        let host = url.host_str().unwrap_or_default().to_string();
        let host_semaphore = self.inner.per_host.lock().ok().map(|mut hosts| {
            Arc::clone(hosts.entry(host).or_insert_with(|| {
                Arc::new(Semaphore::new(
                    self.inner.options.max_concurrent_per_host.max(1),
                ))
            }))
        });
        // The host's slot first: a request queued behind its host must not hold a global slot.
        let host_permit = match host_semaphore {
            Some(semaphore) => semaphore.acquire_owned().await.ok(),
            None => None,
        };
        let global = Arc::clone(&self.inner.global);
        loop {
            if let Ok(permit) = Arc::clone(&global).acquire_owned().await {
                return (permit, host_permit);
            }
            // The semaphore is never closed; yield rather than spin if it ever were.
            tokio::task::yield_now().await;
        }
    }
}

/// Validators remembered for one URL.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    /// The last `ETag`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// The last `Last-Modified`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
}

/// The HTTP part of a source's cursor: validators by URL (credentials removed from the key).
/// The engine commits it with the batch, beside the source's own cursor.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpState {
    /// Validators by redacted URL.
    #[serde(default)]
    pub validators: BTreeMap<String, Validators>,
}

/// What the remote said about when to come back, gathered over one poll.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PollSignals {
    /// Do not poll before this (rate limits, `backoff`, `Retry-After`).
    pub defer_until: Option<OffsetDateTime>,
    /// The freshest `Cache-Control: max-age` / `Expires` seen: polling sooner is pointless.
    pub fresh_for: Option<Duration>,
    /// Requests sent.
    pub requests: u64,
    /// Responses that were 304 (or an unchanged ETag).
    pub not_modified: u64,
    /// How long each response took, in seconds.
    pub latencies: Vec<f64>,
}

/// A source's handle on the HTTP client for one poll. Built by the engine (or, in tests, by
/// [`Fetcher::with_options`]).
#[derive(Debug)]
pub struct Fetcher {
    client: HttpClient,
    state: HttpState,
    outcome: PollSignals,
}

impl Fetcher {
    /// A stand-alone fetcher with its own client, no remembered validators (tests, one-off
    /// tools).
    pub fn with_options(options: FetchOptions) -> Result<Fetcher, ClientError> {
        Ok(HttpClient::new(options)?.fetcher(HttpState::default()))
    }

    /// Fetches one request, honouring the engine's limits.
    pub async fn fetch(&mut self, request: Request) -> Result<Response, FetchError> {
        let shown_url = redact_url(&request.url);
        let fail =
            |class: FetchErrorClass, detail: String| FetchError::new(&shown_url, class, detail);
        let inner = Arc::clone(&self.client.inner);
        let mut builder = match &request.body {
            None => inner.client.get(request.url.clone()),
            Some(RequestBody::Form(pairs)) => inner.client.post(request.url.clone()).form(pairs),
            Some(RequestBody::Json(value)) => inner.client.post(request.url.clone()).json(value),
        };
        let mut headers = HeaderMap::new();
        for (name, value) in &request.headers {
            let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                fail(
                    FetchErrorClass::Client,
                    format!("`{name}` is not a header name"),
                )
            })?;
            let mut header_value = HeaderValue::from_str(value).map_err(|_| {
                // Never echo the value: it may be a credential.
                fail(
                    FetchErrorClass::Client,
                    format!("the value of header `{name}` is not valid in a header"),
                )
            })?;
            if is_secret_header(name) {
                header_value.set_sensitive(true);
            }
            headers.append(header_name, header_value);
        }
        let remembered = if request.conditional {
            self.state.validators.get(&shown_url).cloned()
        } else {
            None
        };
        if let Some(validators) = &remembered {
            if let Some(etag) = validators.etag.as_deref() {
                if let Ok(value) = HeaderValue::from_str(etag) {
                    headers.insert(reqwest::header::IF_NONE_MATCH, value);
                }
            }
            if let Some(last_modified) = validators.last_modified.as_deref() {
                if let Ok(value) = HeaderValue::from_str(last_modified) {
                    headers.insert(reqwest::header::IF_MODIFIED_SINCE, value);
                }
            }
        }
        builder = builder.headers(headers);

        let _permits = self.client.permits(&request.url).await;
        self.outcome.requests += 1;
        let started = tokio::time::Instant::now();
        let sent = builder.send().await;
        let mut response = match sent {
            Ok(response) => response,
            Err(error) => {
                self.outcome.latencies.push(started.elapsed().as_secs_f64());
                return Err(fail(classify(&error), describe(&error)));
            }
        };
        let now = OffsetDateTime::now_utc();
        let status = response.status();
        let response_headers = response.headers().clone();
        self.read_rate_limits(&response_headers, now);
        if let Some(fresh_for) = max_age(&response_headers, now) {
            self.outcome.fresh_for =
                Some(self.outcome.fresh_for.unwrap_or_default().max(fresh_for));
        }

        if status == reqwest::StatusCode::NOT_MODIFIED {
            self.outcome.latencies.push(started.elapsed().as_secs_f64());
            self.outcome.not_modified += 1;
            if request.conditional {
                // A 304 may refresh the validators (RFC 9110 §15.4.5).
                self.remember(&shown_url, &response_headers, remembered.as_ref());
            }
            return Ok(Response::NotModified);
        }
        let cap = inner.options.body_cap;
        if !status.is_success() {
            let body_excerpt = read_excerpt(&mut response, ERROR_BODY_EXCERPT.min(cap)).await;
            self.outcome.latencies.push(started.elapsed().as_secs_f64());
            let retry_after = retry_after(&response_headers, now);
            let class = match status.as_u16() {
                429 => FetchErrorClass::RateLimited,
                400..=499 => FetchErrorClass::Client,
                _ => FetchErrorClass::Server,
            };
            if let Some(wait) = retry_after {
                self.defer_for(now, wait);
            }
            return Err(FetchError {
                retry_after,
                status: Some(status.as_u16()),
                body_excerpt,
                ..fail(class, format!("the server answered {status}"))
            });
        }
        // From here on a response arrived: its status goes with any failure.
        let body_failure = |class: FetchErrorClass, detail: String| FetchError {
            status: Some(status.as_u16()),
            ..fail(class, detail)
        };
        if let Some(length) = response.content_length() {
            if length > cap as u64 {
                return Err(body_failure(
                    FetchErrorClass::Body,
                    format!("the body is {length} bytes; the cap is {cap}"),
                ));
            }
        }
        if request.conditional {
            if let (Some(sent_etag), Some(new_etag)) = (
                remembered.as_ref().and_then(|v| v.etag.as_deref()),
                header_text(&response_headers, reqwest::header::ETAG),
            ) {
                if sent_etag == new_etag {
                    // Some servers answer 200 with the very ETag we sent: nothing changed.
                    self.outcome.latencies.push(started.elapsed().as_secs_f64());
                    self.outcome.not_modified += 1;
                    return Ok(Response::NotModified);
                }
            }
        }
        let final_url = response.url().clone();
        let mut body = BytesMut::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > cap {
                        return Err(body_failure(
                            FetchErrorClass::Body,
                            format!("the body exceeds the cap of {cap} bytes"),
                        ));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(error) => {
                    let class = match classify(&error) {
                        FetchErrorClass::Timeout => FetchErrorClass::Timeout,
                        _ => FetchErrorClass::Body,
                    };
                    return Err(body_failure(
                        class,
                        format!("the body was cut short: {}", describe(&error)),
                    ));
                }
            }
        }
        self.outcome.latencies.push(started.elapsed().as_secs_f64());
        if request.conditional {
            self.remember(&shown_url, &response_headers, None);
        }
        Ok(Response::Fresh(Fetched {
            status: status.as_u16(),
            headers: response_headers,
            body: body.freeze(),
            url: final_url,
            fetched_at: now,
        }))
    }

    /// A source that reads a wait from a response body (Stack Exchange's `backoff`) asks the
    /// engine not to poll it again before `until`.
    pub fn defer_until(&mut self, until: OffsetDateTime) {
        self.outcome.defer_until = Some(match self.outcome.defer_until {
            Some(earlier) => earlier.max(until),
            None => until,
        });
    }

    /// The validators as they stand after this poll's fetches.
    pub fn http_state(&self) -> &HttpState {
        &self.state
    }

    /// What the remote said during this poll.
    pub fn signals(&self) -> &PollSignals {
        &self.outcome
    }

    /// Ends the poll: the validators to commit and the signals for the schedule.
    pub fn finish(self) -> (HttpState, PollSignals) {
        (self.state, self.outcome)
    }

    fn defer_for(&mut self, now: OffsetDateTime, wait: Duration) {
        let wait = time::Duration::try_from(wait).unwrap_or(time::Duration::DAY);
        self.defer_until(now + wait);
    }

    fn remember(&mut self, key: &str, headers: &HeaderMap, previous: Option<&Validators>) {
        // `Expires: 0` marks a response as never reusable; miniflux drops validators then.
        if header_text(headers, reqwest::header::EXPIRES).is_some_and(|value| value.trim() == "0") {
            self.state.validators.remove(key);
            return;
        }
        let etag = header_text(headers, reqwest::header::ETAG)
            .map(str::to_string)
            .or_else(|| previous.and_then(|v| v.etag.clone()));
        let last_modified = header_text(headers, reqwest::header::LAST_MODIFIED)
            .map(str::to_string)
            .or_else(|| previous.and_then(|v| v.last_modified.clone()));
        if etag.is_none() && last_modified.is_none() {
            self.state.validators.remove(key);
        } else {
            self.state.validators.insert(
                key.to_string(),
                Validators {
                    etag,
                    last_modified,
                },
            );
        }
    }

    /// `X-RateLimit-Remaining: 0` with a reset time means: not before the reset.
    fn read_rate_limits(&mut self, headers: &HeaderMap, now: OffsetDateTime) {
        let remaining = ["x-ratelimit-remaining", "ratelimit-remaining"]
            .iter()
            .find_map(|name| header_text(headers, *name))
            .and_then(|value| value.trim().parse::<f64>().ok());
        if remaining.is_some_and(|remaining| remaining < 1.0) {
            let reset = ["x-ratelimit-reset", "ratelimit-reset"]
                .iter()
                .find_map(|name| header_text(headers, *name))
                .and_then(|value| parse_rate_limit_reset(value, now));
            if let Some(reset) = reset {
                self.defer_until(reset);
            }
        }
    }
}

/// Up to `limit` bytes of an error response's body, decoded lossily. What could not be read
/// within the request timeout is left out: the excerpt only helps a source read the error.
async fn read_excerpt(response: &mut reqwest::Response, limit: usize) -> Option<String> {
    let mut excerpt = Vec::new();
    while excerpt.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = limit - excerpt.len();
                excerpt.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    (!excerpt.is_empty()).then(|| String::from_utf8_lossy(&excerpt).into_owned())
}

fn header_text(headers: &HeaderMap, name: impl reqwest::header::AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

fn is_secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name == "authorization"
        || name == "cookie"
        || name == "proxy-authorization"
        || name.contains("token")
        || name.contains("key")
        || name.contains("secret")
}

/// Query parameters whose values are credentials.
const SECRET_PARAMETERS: &[&str] = &[
    "key",
    "token",
    "access_token",
    "client_secret",
    "password",
    "app_password",
    "api_key",
    "apikey",
    "sig",
    "signature",
];

/// The URL as logs, errors and cursor keys may show it: no user info, no secret parameters.
pub fn redact_url(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    if shown.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(name, value)| {
                if SECRET_PARAMETERS.contains(&name.to_ascii_lowercase().as_str()) {
                    (name.into_owned(), "REDACTED".to_string())
                } else {
                    (name.into_owned(), value.into_owned())
                }
            })
            .collect();
        shown.query_pairs_mut().clear().extend_pairs(pairs);
    }
    shown.to_string()
}

fn classify(error: &reqwest::Error) -> FetchErrorClass {
    if error.is_timeout() {
        return FetchErrorClass::Timeout;
    }
    let chain = error_chain(error).to_ascii_lowercase();
    if chain.contains("dns error")
        || chain.contains("failed to lookup address")
        || chain.contains("name or service not known")
    {
        return FetchErrorClass::Dns;
    }
    if chain.contains("certificate")
        || chain.contains("tls")
        || chain.contains("handshake")
        || chain.contains("rustls")
    {
        return FetchErrorClass::Tls;
    }
    if error.is_body() || error.is_decode() {
        return FetchErrorClass::Body;
    }
    FetchErrorClass::Connect
}

/// reqwest's error with its causes, never with the URL (it may carry a credential).
fn error_chain(error: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        parts.push(cause.to_string());
        source = cause.source();
    }
    parts.join(": ")
}

fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "no answer within the timeout"
    } else if error.is_connect() {
        "cannot connect"
    } else if error.is_body() || error.is_decode() {
        "the body could not be read"
    } else {
        "the request failed"
    };
    let causes = error_chain(error);
    if causes.is_empty() {
        kind.to_string()
    } else {
        format!("{kind} ({causes})")
    }
}

/// `Retry-After` as seconds or an HTTP date, relative to `now`.
pub fn retry_after(headers: &HeaderMap, now: OffsetDateTime) -> Option<Duration> {
    let value = header_text(headers, reqwest::header::RETRY_AFTER)?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    let until = OffsetDateTime::from(date);
    Some(Duration::try_from(until - now).unwrap_or(Duration::ZERO))
}

/// `Cache-Control: max-age` (or `Expires`), as how long the response stays fresh.
pub fn max_age(headers: &HeaderMap, now: OffsetDateTime) -> Option<Duration> {
    if let Some(cache_control) = header_text(headers, reqwest::header::CACHE_CONTROL) {
        for directive in cache_control.split(',') {
            let directive = directive.trim().to_ascii_lowercase();
            if directive == "no-cache" || directive == "no-store" {
                return None;
            }
            if let Some(seconds) = directive.strip_prefix("max-age=") {
                return seconds
                    .trim_matches('"')
                    .parse::<u64>()
                    .ok()
                    .map(Duration::from_secs);
            }
        }
    }
    let expires = header_text(headers, reqwest::header::EXPIRES)?;
    let until = OffsetDateTime::from(httpdate::parse_http_date(expires.trim()).ok()?);
    Duration::try_from(until - now).ok()
}

/// An `X-RateLimit-Reset` value: an ISO time (Mastodon), an epoch in seconds (GitHub), or
/// seconds from now (Reddit; numbers too small to be a recent epoch).
pub fn parse_rate_limit_reset(value: &str, now: OffsetDateTime) -> Option<OffsetDateTime> {
    let value = value.trim();
    if let Ok(at) = OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339) {
        return Some(at);
    }
    let number = value
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n >= 0.0)?;
    // 10^9 s is 2001 as an epoch and 31 years as a delay: no API means the latter.
    if number >= 1.0e9 {
        OffsetDateTime::from_unix_timestamp(number as i64).ok()
    } else {
        Some(now + time::Duration::seconds_f64(number))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        assert_eq!(
            retry_after(&headers(&[("retry-after", "120")]), now),
            Some(Duration::from_secs(120))
        );
        let date = httpdate::fmt_http_date(std::time::SystemTime::from(
            now + time::Duration::seconds(90),
        ));
        assert_eq!(
            retry_after(&headers(&[("retry-after", &date)]), now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")]), now), None);
    }

    #[test]
    fn rate_limit_resets_in_three_dialects() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let mastodon = parse_rate_limit_reset("2023-11-14T22:18:20.000Z", now).unwrap();
        assert_eq!(mastodon.unix_timestamp(), 1_700_000_300);
        let github = parse_rate_limit_reset("1700000600", now).unwrap();
        assert_eq!(github.unix_timestamp(), 1_700_000_600);
        let reddit = parse_rate_limit_reset("42.0", now).unwrap();
        assert_eq!(reddit.unix_timestamp(), 1_700_000_042);
        assert!(parse_rate_limit_reset("later", now).is_none());
    }

    #[test]
    fn max_age_and_no_cache() {
        let now = OffsetDateTime::now_utc();
        assert_eq!(
            max_age(&headers(&[("cache-control", "public, max-age=15")]), now),
            Some(Duration::from_secs(15))
        );
        assert_eq!(
            max_age(&headers(&[("cache-control", "no-cache")]), now),
            None
        );
    }

    #[test]
    fn secrets_leave_urls() {
        let url = Url::parse("https://user:pw@api.example/search?q=acme&key=s3cret").unwrap();
        let shown = redact_url(&url);
        assert!(
            !shown.contains("s3cret") && !shown.contains("pw"),
            "{shown}"
        );
        assert!(shown.contains("q=acme"), "{shown}");
    }
}
