//! Serves an existing index read-only with the full router, without the daemon: for trying the
//! web UI on an index `earful ingest` built, and for load-testing the search API.
//!
//! ```text
//! cargo run --release -p earful-server --example serve -- DATA/index 127.0.0.1:7878 [DATA/state.sqlite]
//! ```
//!
//! With the state database, the alert pages, API and feeds and the sources' health show too.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use earful_core::config::ServerConfig;
use earful_index::MentionIndex;
use earful_server::{app, check_exposure, ApiState};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let Some(index_dir) = args.next().map(PathBuf::from) else {
        return Err("usage: serve INDEX_DIR [LISTEN_ADDRESS] [STATE_DATABASE]".into());
    };
    let server = ServerConfig {
        listen: args.next().unwrap_or_else(|| "127.0.0.1:7878".into()),
        ..ServerConfig::default()
    };
    // The same refusal as the daemon's: no open server on a public address.
    let address: SocketAddr = check_exposure(&server)?;
    let index = Arc::new(MentionIndex::open_read_only(&index_dir)?);
    let mut state = ApiState::new(index).with_server_config(&server);
    if let Some(database) = args.next().map(PathBuf::from) {
        state = state.with_state_database(earful_store::Store::open(&database)?);
    }
    let listener = tokio::net::TcpListener::bind(address).await?;
    eprintln!("serving {} on http://{address}", index_dir.display());
    axum::serve(listener, app(state)).await?;
    Ok(())
}
