//! A loopback HTTP server for source tests: it serves scripted replies per path (recorded
//! payloads from `../shared/fixtures/sources/` or given bytes), honours an ETag like a real
//! server, can delay or cut a reply short, and records every request it got.
//!
//! Plain tokio rather than a framework, so a test can send what no well-behaved server would
//! (a body shorter than its `Content-Length`). Every connection is closed after its reply.
// Test helpers: a failure here is a failed test, so panicking is the right response.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::{BTreeMap, HashMap};

use earful_core::config::{Config, SourceConfig};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

/// The directory of recorded source payloads.
pub fn fixtures_dir() -> PathBuf {
    let from_env = std::env::var("EARFUL_SOURCE_FIXTURES")
        .ok()
        .map(PathBuf::from);
    from_env.unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/sources")
    })
}

/// The bytes of a recorded payload, by file name (`hackernews.json`).
pub fn fixture(name: &str) -> Vec<u8> {
    let path = fixtures_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

/// One scripted reply.
#[derive(Clone, Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// Headers to send (besides `Content-Length` and `Connection`).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// Wait this long before answering (for timeouts).
    pub delay: Option<Duration>,
    /// Send only this many body bytes, then close (the `Content-Length` stays the full size).
    pub truncate_at: Option<usize>,
    /// Answer 304 when the request's `If-None-Match` is this ETag; send it as `ETag` otherwise.
    pub etag: Option<String>,
}

impl Reply {
    /// A 200 with this body.
    pub fn ok(body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status: 200,
            headers: Vec::new(),
            body: body.into(),
            delay: None,
            truncate_at: None,
            etag: None,
        }
    }

    /// A 200 with a recorded payload, typed by its extension.
    pub fn fixture(name: &str) -> Reply {
        let content_type = if name.ends_with(".json") {
            "application/json"
        } else {
            "application/xml"
        };
        Reply::ok(fixture(name)).header("content-type", content_type)
    }

    /// A bodyless reply with this status.
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            ..Reply::ok(Vec::new())
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Sets the status.
    pub fn with_status(mut self, status: u16) -> Reply {
        self.status = status;
        self
    }

    /// Waits before answering.
    pub fn delayed(mut self, delay: Duration) -> Reply {
        self.delay = Some(delay);
        self
    }

    /// Cuts the body after `bytes` bytes.
    pub fn truncated(mut self, bytes: usize) -> Reply {
        self.truncate_at = Some(bytes);
        self
    }

    /// Serves it with an ETag, answering 304 to a matching `If-None-Match`.
    pub fn with_etag(mut self, etag: &str) -> Reply {
        self.etag = Some(etag.to_string());
        self
    }
}

/// A request the server received.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// Header names are lower-cased.
    pub headers: BTreeMap<String, String>,
    /// The request body.
    pub body: Vec<u8>,
    /// The status the server answered.
    pub status: u16,
}

impl Recorded {
    /// A header's value, by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// A query parameter's (decoded) value.
    pub fn query_param(&self, name: &str) -> Option<String> {
        let query = self.query.as_deref()?;
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }
}

/// Decides whether a conditional route applies to a request.
type Matcher = Box<dyn Fn(&Recorded) -> bool + Send>;

#[derive(Default)]
struct Script {
    /// Replies by `path` or `path?query`; the last one of each list repeats.
    replies: HashMap<String, Vec<Reply>>,
    /// Routes chosen by a predicate on the request (a query parameter, say); checked first,
    /// newest first.
    matched: Vec<(String, Matcher, Reply)>,
    requests: Vec<Recorded>,
}

/// The server. Stops when dropped.
pub struct TestServer {
    address: std::net::SocketAddr,
    script: Arc<Mutex<Script>>,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    /// Starts on 127.0.0.1 with an ephemeral port, in the current tokio runtime.
    pub async fn start() -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let script = Arc::new(Mutex::new(Script::default()));
        let accept_script = Arc::clone(&script);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let connection_script = Arc::clone(&accept_script);
                tokio::spawn(async move {
                    let _ = serve(stream, connection_script).await;
                });
            }
        });
        TestServer {
            address,
            script,
            task,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The URL of a path on this server.
    pub fn url(&self, path_and_query: &str) -> Url {
        Url::parse(&format!("{}{path_and_query}", self.base_url())).unwrap()
    }

    /// Serves `reply` at `route` (a path, or a path with its exact query) from now on.
    pub fn serve(&self, route: &str, reply: Reply) {
        self.serve_in_turn(route, vec![reply]);
    }

    /// Serves these replies in turn at `route`; the last one repeats.
    pub fn serve_in_turn(&self, route: &str, replies: Vec<Reply>) {
        assert!(!replies.is_empty(), "a route needs at least one reply");
        self.script
            .lock()
            .unwrap()
            .replies
            .insert(route.to_string(), replies);
    }

    /// Serves `reply` at `path` to the requests `matches` accepts (checked before plain
    /// routes; the latest matching rule wins).
    pub fn serve_matching(
        &self,
        path: &str,
        matches: impl Fn(&Recorded) -> bool + Send + 'static,
        reply: Reply,
    ) {
        self.script
            .lock()
            .unwrap()
            .matched
            .push((path.to_string(), Box::new(matches), reply));
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        self.script.lock().unwrap().requests.clone()
    }

    /// The requests to one path.
    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|request| request.path == path)
            .collect()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.script.lock().unwrap().requests.clear();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut stream: TcpStream, script: Arc<Mutex<Script>>) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..read]);
        if let Some(end) = find(&buffer, b"\r\n\r\n") {
            break end;
        }
        if buffer.len() > 1 << 20 {
            return Ok(());
        }
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]).to_string();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let mut headers = BTreeMap::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    let content_length: usize = headers
        .get("content-length")
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    let mut body = buffer[header_end + 4..].to_vec();
    while body.len() < content_length {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..read]);
    }
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path.to_string(), Some(query.to_string())),
        None => (target.clone(), None),
    };
    let mut recorded = Recorded {
        method,
        path: path.clone(),
        query,
        headers,
        body,
        status: 0,
    };
    let reply = {
        let mut script = script.lock().unwrap();
        let matched = script
            .matched
            .iter()
            .rev()
            .find(|(route, matches, _)| *route == path && matches(&recorded))
            .map(|(_, _, reply)| reply.clone());
        // An exact `path?query` route wins over the bare path.
        let route = if script.replies.contains_key(&target) {
            target.clone()
        } else {
            path.clone()
        };
        let reply = matched.or_else(|| script.replies.get_mut(&route).map(next_reply));
        reply.unwrap_or_else(|| {
            Reply::ok(format!("no reply scripted for {target}")).with_status(404)
        })
    };
    let not_modified = reply.etag.as_deref().is_some_and(|etag| {
        recorded
            .headers
            .get("if-none-match")
            .is_some_and(|sent| sent.split(',').any(|one| one.trim() == etag))
    });
    let status = if not_modified { 304 } else { reply.status };
    recorded.status = status;
    script.lock().unwrap().requests.push(recorded);
    if let Some(delay) = reply.delay {
        tokio::time::sleep(delay).await;
    }
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(etag) = &reply.etag {
        head.push_str(&format!("etag: {etag}\r\n"));
    }
    let body: &[u8] = if not_modified { &[] } else { &reply.body };
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    stream.write_all(head.as_bytes()).await?;
    let sent = reply.truncate_at.unwrap_or(body.len()).min(body.len());
    stream.write_all(&body[..sent]).await?;
    stream.flush().await?;
    stream.shutdown().await?;
    Ok(())
}

fn next_reply(replies: &mut Vec<Reply>) -> Reply {
    if replies.len() > 1 {
        replies.remove(0)
    } else {
        replies[0].clone()
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        304 => "Not Modified",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// A config from TOML text (panics on a problem: the test is wrong).
pub fn config(text: &str) -> Config {
    Config::parse(text, "test.toml", |_| None).unwrap_or_else(|error| panic!("{error}"))
}

/// The first `[[source]]` of a config.
pub fn source_config(text: &str) -> SourceConfig {
    config(text).sources.remove(0)
}
