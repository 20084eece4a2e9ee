//! `/export.csv`: every match of a search as CSV, streamed from the index's export while the
//! client reads it. A bounded channel between the blocking export and the response body
//! keeps memory flat, and a client that goes away stops the export.

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use earful_core::Mention;
use earful_index::IndexError;
use time::OffsetDateTime;
use tokio::sync::mpsc;

use crate::api::params::{FilterParams, PageParams};
use crate::error::ApiError;
use crate::state::ApiState;

/// Rows per chunk sent to the client.
const ROWS_PER_CHUNK: usize = 200;
/// Chunks waiting for the client, at most.
const CHUNKS_QUEUED: usize = 4;

/// Why an export stopped early.
#[derive(Debug)]
enum ExportStop {
    Index(IndexError),
    Csv(String),
    /// The client hung up.
    Gone,
}

impl From<IndexError> for ExportStop {
    fn from(error: IndexError) -> ExportStop {
        ExportStop::Index(error)
    }
}

struct Chunker {
    writer: csv::Writer<Vec<u8>>,
    rows: usize,
    sender: mpsc::Sender<Result<Bytes, std::io::Error>>,
}

impl Chunker {
    fn write(&mut self, row: &[String]) -> Result<(), ExportStop> {
        self.writer
            .write_record(row)
            .map_err(|error| ExportStop::Csv(error.to_string()))?;
        self.rows += 1;
        if self.rows >= ROWS_PER_CHUNK {
            self.send()?;
        }
        Ok(())
    }

    fn send(&mut self) -> Result<(), ExportStop> {
        let full = std::mem::replace(&mut self.writer, csv::Writer::from_writer(Vec::new()));
        let chunk = full
            .into_inner()
            .map_err(|error| ExportStop::Csv(error.to_string()))?;
        self.rows = 0;
        if chunk.is_empty() {
            return Ok(());
        }
        self.sender
            .blocking_send(Ok(Bytes::from(chunk)))
            .map_err(|_| ExportStop::Gone)
    }
}

pub(crate) async fn export_csv(
    State(state): State<ApiState>,
    Query(filters): Query<FilterParams>,
    Query(page): Query<PageParams>,
) -> Result<Response, ApiError> {
    let (query, filters) = filters.parse(OffsetDateTime::now_utc())?;
    let (sort, _, _) = page.parse()?;
    let (sender, mut receiver) = mpsc::channel(CHUNKS_QUEUED);
    let index = state.index().clone();
    tokio::task::spawn_blocking(move || {
        let mut chunker = Chunker {
            writer: csv::Writer::from_writer(Vec::new()),
            rows: 0,
            sender: sender.clone(),
        };
        let header: Vec<String> = Mention::CSV_HEADER
            .iter()
            .map(|name| name.to_string())
            .collect();
        let outcome = chunker
            .write(&header)
            .and_then(|()| {
                index.export(&query, &filters, sort, |mention| {
                    chunker.write(&mention.csv_record())
                })
            })
            .and_then(|exported| chunker.send().map(|()| exported));
        match outcome {
            Ok(exported) => tracing::debug!(exported, "csv export finished"),
            Err(ExportStop::Gone) => tracing::debug!("csv export stopped: the client left"),
            Err(ExportStop::Index(error)) => {
                tracing::error!(%error, "csv export failed");
                // The head is sent already; a broken body tells the client it is incomplete.
                let _ = sender.blocking_send(Err(std::io::Error::other("the export failed")));
            }
            Err(ExportStop::Csv(error)) => {
                tracing::error!(%error, "csv export failed");
                let _ = sender.blocking_send(Err(std::io::Error::other("the export failed")));
            }
        }
    });
    let stream = futures::stream::poll_fn(move |context| receiver.poll_recv(context));
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"earful-mentions.csv\"",
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}
