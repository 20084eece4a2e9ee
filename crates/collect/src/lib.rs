//! Earful's collectors: one polite poll engine and a small module per public source.
//!
//! The engine ([`engine`]) owns everything every source shares — the schedule with jitter,
//! conditional requests, `Retry-After` and rate-limit headers, backoff, the concurrency limits,
//! the body cap, the health record and metrics. A source module (`sources::*`) knows only its
//! URLs, its paging, its cursor and its field mapping: it asks the [`Fetcher`] for responses
//! and turns them into [`MentionInput`](earful_core::MentionInput)s. The registry of kinds is
//! one `match` in [`sources::build`].
//!
//! What this crate must never do:
//! - move a cursor past data that is not in the batch it travels with (cursors are committed
//!   by the index writer together with the mentions they led to);
//! - drop a good item because a neighbour is malformed (the bad one is skipped and counted);
//! - retry in a tight loop, or abandon a failing source silently;
//! - grow memory with the input (bodies are capped, queues are bounded).

pub mod engine;
pub mod fetch;
pub mod health;
pub mod metrics;
pub mod schedule;
pub mod source;
pub mod sources;

pub use engine::{
    CommittedCursor, Engine, EngineError, EngineOptions, PollReport, SourceBatch, SourcesDiff,
    CURSOR_VERSION,
};
pub use fetch::{
    FetchError, FetchErrorClass, FetchOptions, Fetched, Fetcher, HttpClient, HttpState, Request,
    RequestBody, Response,
};
pub use health::{HealthState, LastError, SourceHealth};
pub use metrics::CollectMetrics;
pub use schedule::SchedulePolicy;
pub use source::{Collected, PollContext, SearchTerm, SkippedItem, SourceError};
