//! Finding and loading the config: the file given, or the built-in default.

use std::path::Path;

use earful_core::config::{Config, ConfigError, IndexConfig};
use earful_index::IndexOptions;

/// The default config, shipped inside the binary so `earful` runs with no file at all.
pub const BUILT_IN_CONFIG: &str = include_str!("../../../config/earful.toml");
/// How the built-in config is named in errors.
pub const BUILT_IN_NAME: &str = "<built-in config/earful.toml>";

/// Loads `path`, or the built-in config when there is none. Relative data dirs of the
/// built-in config are relative to the working directory.
pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
    match path {
        Some(path) => Config::load(path),
        None => Config::parse(BUILT_IN_CONFIG, BUILT_IN_NAME, |name| {
            std::env::var(name).ok()
        }),
    }
}

/// The index writer's options from `[index]`.
pub fn index_options(config: &IndexConfig) -> IndexOptions {
    IndexOptions {
        writer_heap_bytes: config.writer_heap_mb.saturating_mul(1024 * 1024),
        commit_max_docs: config.commit_docs,
        commit_interval: config.commit_interval.0,
        retention: config.retention.map(|retention| retention.0),
        ..IndexOptions::default()
    }
}
