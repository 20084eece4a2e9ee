//! # A farm of feeds on loopback, for the collection scale benchmark
//!
//! Serves `COUNT` RSS feeds (`/feeds/{n}.xml`, 10 items each, an ETag per feed, 304 to a
//! matching `If-None-Match`) on 127.0.0.1, writes an Earful config with one `feed` source per
//! feed, and can time a plain fetch of every feed as the reference a collection cycle is
//! compared with. `scripts/bench-collect.sh` drives it.
//!
//! ```text
//! cargo run --release -p earful-collect --example feed_farm -- serve 2000 PORT CONFIG.toml
//! cargo run --release -p earful-collect --example feed_farm -- fetch-all 2000 PORT [--conditional]
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures::StreamExt;

const ITEMS_PER_FEED: usize = 10;

struct Farm {
    count: usize,
    /// When the farm started: items are dated just before it, inside any look-back window.
    started: time::OffsetDateTime,
    requests: AtomicU64,
    not_modified: AtomicU64,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: feed_farm serve COUNT PORT CONFIG | fetch-all COUNT PORT [--conditional]";
    let mode = args.get(1).ok_or(usage)?;
    let count: usize = args.get(2).ok_or(usage)?.parse()?;
    let port: u16 = args.get(3).ok_or(usage)?.parse()?;
    match mode.as_str() {
        "serve" => serve(count, port, args.get(4).ok_or(usage)?).await,
        "fetch-all" => fetch_all(count, port, args.iter().any(|a| a == "--conditional")).await,
        _ => Err(usage.into()),
    }
}

async fn serve(
    count: usize,
    port: u16,
    config_path: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut config = String::from(
        "version = 1\ndata_dir = \"data\"\n\n[collect]\ncontact_url = \"https://example.invalid/bench\"\nmax_concurrent = 32\nmax_concurrent_per_host = 32\n\n[[watch]]\nname = \"acme\"\nquery = 'acme'\n\n",
    );
    for n in 0..count {
        config.push_str(&format!(
            "[[source]]\nname = \"feed-{n}\"\nkind = \"feed\"\nurl = \"http://127.0.0.1:{port}/feeds/{n}.xml\"\n\n"
        ));
    }
    std::fs::write(config_path, config)?;
    let farm = Arc::new(Farm {
        count,
        started: time::OffsetDateTime::now_utc(),
        requests: AtomicU64::new(0),
        not_modified: AtomicU64::new(0),
    });
    let app = Router::new()
        .route("/feeds/{file}", get(feed))
        .route("/stats", get(stats))
        .with_state(Arc::clone(&farm));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    eprintln!("serving {count} feeds on 127.0.0.1:{port}; config in {config_path}");
    axum::serve(listener, app).await?;
    Ok(())
}

async fn stats(State(farm): State<Arc<Farm>>) -> String {
    format!(
        "requests {} not_modified {}\n",
        farm.requests.load(Ordering::Relaxed),
        farm.not_modified.load(Ordering::Relaxed)
    )
}

async fn feed(
    State(farm): State<Arc<Farm>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    farm.requests.fetch_add(1, Ordering::Relaxed);
    let Some(n) = file
        .strip_suffix(".xml")
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|n| *n < farm.count)
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = format!("\"feed-{n}-v1\"");
    if headers.get("if-none-match").and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        farm.not_modified.fetch_add(1, Ordering::Relaxed);
        return (StatusCode::NOT_MODIFIED, [("etag", etag)]).into_response();
    }
    let mut body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>Feed {n}</title><link>http://127.0.0.1/{n}</link><language>en-us</language>\n"
    );
    for item in 0..ITEMS_PER_FEED {
        let published =
            farm.started - time::Duration::minutes((n * ITEMS_PER_FEED + item) as i64 % 600);
        let date = httpdate::fmt_http_date(std::time::SystemTime::from(published));
        let subject = if (n + item) % 3 == 0 {
            "Acme"
        } else {
            "The widget"
        };
        body.push_str(&format!(
            "<item><title>{subject} update {n}.{item}</title><link>http://127.0.0.1/{n}/{item}</link><guid>feed-{n}-item-{item}</guid><pubDate>{date}</pubDate><description>&lt;p&gt;{subject} shipped a release today; some users report the sync is broken and support is slow, others love the new dashboard. Item {item} of feed {n}.&lt;/p&gt;</description></item>\n"
        ));
    }
    body.push_str("</channel></rss>\n");
    (
        StatusCode::OK,
        [
            ("content-type", "application/rss+xml".to_string()),
            ("etag", etag),
        ],
        body,
    )
        .into_response()
}

/// The reference: fetch every feed once with a bare client at the collectors' concurrency,
/// reading the bodies and nothing more.
async fn fetch_all(
    count: usize,
    port: u16,
    conditional: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let started = Instant::now();
    let bytes = AtomicU64::new(0);
    futures::stream::iter(0..count)
        .map(|n| {
            let client = client.clone();
            let bytes = &bytes;
            async move {
                let mut request = client.get(format!("http://127.0.0.1:{port}/feeds/{n}.xml"));
                if conditional {
                    request = request.header("if-none-match", format!("\"feed-{n}-v1\""));
                }
                if let Ok(response) = request.send().await {
                    if let Ok(body) = response.bytes().await {
                        bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
                    }
                }
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<()>>()
        .await;
    println!(
        "fetched {count} feeds ({} bytes{}) in {:.3} s",
        bytes.load(Ordering::Relaxed),
        if conditional { ", conditional" } else { "" },
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
