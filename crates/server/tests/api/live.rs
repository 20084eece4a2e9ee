//! Live reconfiguration of a running server on 127.0.0.1, and the small HTTP/1.1 client the
//! listener tests share.

use std::net::SocketAddr;

use earful_core::config::Config;
use earful_server::{ApiState, ReconfigureError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::common::*;

/// A server on an ephemeral loopback port, stopped by [`Server::stop`].
pub struct Server {
    pub address: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    pub async fn start(state: ApiState) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, earful_server::app(state))
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Server {
            address,
            stop,
            task,
        }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap();
    }
}

/// A response read whole over a real connection.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|error| panic!("{error}: {}", self.body))
    }
}

/// `GET path` over one HTTP/1.1 connection (closed after the response).
pub async fn http_get(address: SocketAddr, path: &str, token: Option<&str>) -> Reply {
    let mut stream = TcpStream::connect(address).await.unwrap();
    let authorization = token
        .map(|token| format!("Authorization: Bearer {token}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {address}\r\n{authorization}Connection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(key, value)| (key.trim().to_string(), value.trim().to_string()))
        .collect();
    assert!(
        !headers
            .iter()
            .any(|(key, value)| key.eq_ignore_ascii_case("transfer-encoding")
                && value.contains("chunked")),
        "this client reads whole bodies only"
    );
    Reply {
        status,
        headers,
        body: body.to_string(),
    }
}

const OLD_TOKEN: &str = "old-read-token-0123456789";
const NEW_TOKEN: &str = "new-read-token-0123456789";

fn config(watches: &[&str], token: &str, extra: &str) -> Config {
    let mut text = String::from("version = 1\n");
    for watch in watches {
        text.push_str(&format!(
            "[[watch]]\nname = \"{watch}\"\nquery = \"{watch}\"\n"
        ));
    }
    // A source named after the first watch, so a reader can tell the two lists came from
    // one config.
    text.push_str(&format!(
        "[[source]]\nname = \"{}-feed\"\nkind = \"feed\"\nurl = \"https://example.test/feed.xml\"\n",
        watches[0]
    ));
    text.push_str(&format!(
        "[server]\ntokens = [{{ name = \"reader\", token = \"{token}\" }}]\n{extra}"
    ));
    Config::parse(&text, "test.toml", |_| None).unwrap()
}

fn watch_names(reply: &Reply) -> Vec<String> {
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|watch| watch["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_running_server_takes_on_a_new_config_whole() {
    let old = config(&["acme", "globex"], OLD_TOKEN, "");
    let state = ApiState::from_config(fixture().index.clone(), &old).unwrap();
    let server = Server::start(state.clone()).await;
    let address = server.address;

    let before = http_get(address, "/api/v1/watches", Some(OLD_TOKEN)).await;
    assert_eq!(watch_names(&before), ["acme", "globex"]);
    assert_eq!(
        http_get(address, "/api/v1/watches", Some(NEW_TOKEN))
            .await
            .status,
        401
    );

    state
        .reconfigure(&config(&["acme", "initech"], NEW_TOKEN, ""))
        .unwrap();
    let after = http_get(address, "/api/v1/watches", Some(NEW_TOKEN)).await;
    assert_eq!(watch_names(&after), ["acme", "initech"]);
    // The removed token stops working at once, on every route.
    for path in ["/api/v1/watches", "/api/v1/mentions", "/metrics"] {
        assert_eq!(
            http_get(address, path, Some(OLD_TOKEN)).await.status,
            401,
            "{path}"
        );
    }

    // A config that cannot be served is refused and the running one stays.
    let bad_lexicon = config(
        &["nobody"],
        OLD_TOKEN,
        // The same word twice once lowercased: the analyzer refuses it.
        "[sentiment]\nlexicon = { Outage = -2.0, outage = -2.5 }\n",
    );
    assert!(matches!(
        state.reconfigure(&bad_lexicon),
        Err(ReconfigureError::Lexicon(_))
    ));
    // `Config::parse` refuses such a file already; the server checks again on its own.
    let mut exposed = config(&["acme"], NEW_TOKEN, "");
    exposed.server.listen = "0.0.0.0:7878".into();
    exposed.server.tokens.clear();
    let refused = state.reconfigure(&exposed).unwrap_err();
    assert!(matches!(refused, ReconfigureError::Exposure(_)));
    assert!(
        refused.to_string().contains("allow_anonymous_read"),
        "{refused}"
    );
    let still = http_get(address, "/api/v1/watches", Some(NEW_TOKEN)).await;
    assert_eq!(watch_names(&still), ["acme", "initech"]);

    let metrics = http_get(address, "/metrics", Some(NEW_TOKEN)).await;
    assert!(
        metrics
            .body
            .lines()
            .any(|line| line == "earful_server_reconfigurations_total 1"),
        "{}",
        metrics.body
    );
    server.stop().await;
}

#[test]
fn readers_see_one_whole_config_while_it_is_swapped() {
    let configs = [
        config(&["alpha", "alpha-two"], OLD_TOKEN, ""),
        config(&["beta", "beta-two"], NEW_TOKEN, ""),
    ];
    let state = ApiState::from_config(fixture().index.clone(), &configs[0]).unwrap();
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            for round in 0..2_000 {
                state.reconfigure(&configs[round % 2]).unwrap();
            }
        });
        let mut seen = std::collections::BTreeSet::new();
        while !writer.is_finished() {
            let live = state.live();
            let names: Vec<&str> = live
                .watches()
                .iter()
                .map(|watch| watch.name.as_str())
                .collect();
            // Watches and sources always come from the same config.
            assert!(
                names == ["alpha", "alpha-two"] || names == ["beta", "beta-two"],
                "{names:?}"
            );
            assert_eq!(live.sources()[0].name, format!("{}-feed", names[0]));
            seen.insert(names[0].to_string());
        }
        writer.join().unwrap();
        assert!(!seen.is_empty());
    });
}
