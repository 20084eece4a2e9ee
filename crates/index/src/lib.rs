//! Earful's search index: the tantivy schema of a [`Mention`](earful_core::Mention), the one
//! writer that upserts mentions by id and commits them together with the collector cursors
//! that led to them, and the searches the product needs — boolean queries with filters, sorts
//! and stable cursor paging, highlights, timelines by label, top authors/sources/terms, label
//! share and a streaming export.
//!
//! ```no_run
//! use earful_index::{Batch, IndexOptions, MentionIndex, SearchRequest};
//! use earful_core::MentionQuery;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let index = MentionIndex::open("data/index".as_ref(), IndexOptions::default())?;
//! let writer = index.start_writer()?;
//! writer.send(Batch::default())?;
//! writer.flush()?;
//! let page = index.search(&SearchRequest::new(MentionQuery::parse("acme -\"acme acres\"")?))?;
//! println!("{} mentions", page.total);
//! # Ok(()) }
//! ```
//!
//! What this crate must never do:
//! - commit without the payload (`prepare_commit` + `set_payload`, never a bare `commit()`):
//!   documents and cursors must move together, or a crash loses or duplicates mentions;
//! - disagree with the watch matcher: a query finds here exactly what
//!   `earful_core::query::MatchTarget` tags (a differential property test checks this);
//! - grow memory with its input: the writer's queue is bounded and exports are paged;
//! - panic on anything from outside (queries, cursors, a locked or foreign index): every such
//!   failure is an [`IndexError`] that names the thing at fault.

mod aggregate;
mod compile;
mod error;
mod exclusion;
mod index;
mod metrics;
mod payload;
mod phrase;
mod schema;
mod search;
mod writer;

/// The tantivy schema of the index and its analyzers, for tools that need raw tantivy access
/// (the raw-tantivy ingest reference benchmark, inspection). Searching goes through
/// [`MentionIndex`].
pub mod raw {
    /// The schema every Earful index has.
    pub fn schema() -> tantivy::schema::Schema {
        crate::schema::build_schema()
    }

    /// Registers the analyzers the schema names on a tantivy index.
    pub fn register_tokenizers(index: &tantivy::Index) {
        crate::schema::register_tokenizers(index)
    }
}

pub use aggregate::{
    LabelShare, SignificantTerm, TimelineBucket, TopField, MAX_TIMELINE_BUCKETS,
    SIGNIFICANT_TERMS_BASELINE_SIZE,
};
pub use error::IndexError;
pub use index::MentionIndex;
pub use metrics::{IndexMetrics, COMMIT_SECONDS_BUCKETS};
pub use payload::{CommitPayload, PAYLOAD_VERSION};
pub use search::{Filters, Highlight, Hit, SearchRequest, SearchResults, Sort};
pub use writer::{Batch, CommitInfo, IndexOptions, IndexWriterHandle};
