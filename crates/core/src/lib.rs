//! Earful's shared vocabulary: the [`Mention`] and its JSON form, mention ids, time parsing,
//! the text analysis shared by watch matching and the index, the watch query language, and the
//! configuration file.
//!
//! Every other crate speaks in these types. This crate must never do I/O beyond reading the
//! config file it is asked to read, never hold global state, and never panic on input from
//! outside the process: every parser here returns an error that names what is wrong.

pub mod config;
pub mod id;
pub mod mention;
pub mod query;
pub mod text;
pub mod time;

pub use id::MentionId;
pub use mention::{Label, Mention, MentionError, MentionInput, Sentiment};
pub use query::{MentionQuery, QueryError};
