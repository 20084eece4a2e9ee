//! The one error type of the index.

use std::path::PathBuf;

use earful_core::QueryError;

/// Everything that can go wrong opening, writing or searching the index.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// Another process (or another handle in this one) holds the index's writer lock.
    #[error("index `{path}` is locked by another writer (is an `earful` daemon running?); open it read-only to search")]
    Locked {
        /// The index directory.
        path: PathBuf,
    },
    /// There is no index at the path (a read-only open never creates one).
    #[error("no index at `{path}`")]
    NotFound {
        /// The index directory.
        path: PathBuf,
    },
    /// The index on disk was built with a different schema.
    #[error("index `{path}` has a different schema than this version of earful expects; rebuild it with `earful ingest`")]
    SchemaMismatch {
        /// The index directory.
        path: PathBuf,
    },
    /// The commit payload (collector cursors) cannot be read.
    #[error("commit payload of the index is unreadable: {0}")]
    CorruptPayload(String),
    /// A stored mention cannot be read back.
    #[error("stored mention is unreadable: {0}")]
    CorruptDocument(String),
    /// A paging cursor that this index did not hand out (or for another sort).
    #[error("cursor `{0}` is not valid for this search")]
    BadCursor(String),
    /// The query does not parse or compile.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// A request parameter is out of range (a zero interval, too many buckets).
    #[error("{0}")]
    BadRequest(String),
    /// The writer thread stopped (after an error, or after `shutdown`).
    #[error("the index writer has stopped: {0}")]
    WriterStopped(String),
    /// An error from tantivy.
    #[error("tantivy: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// A file-system error.
    #[error("index i/o: {0}")]
    Io(#[from] std::io::Error),
}

impl From<tantivy::directory::error::OpenDirectoryError> for IndexError {
    fn from(error: tantivy::directory::error::OpenDirectoryError) -> IndexError {
        IndexError::Tantivy(error.into())
    }
}

impl From<tantivy::directory::error::OpenReadError> for IndexError {
    fn from(error: tantivy::directory::error::OpenReadError) -> IndexError {
        IndexError::Tantivy(error.into())
    }
}

impl From<tantivy::query::QueryParserError> for IndexError {
    fn from(error: tantivy::query::QueryParserError) -> IndexError {
        IndexError::BadRequest(error.to_string())
    }
}
