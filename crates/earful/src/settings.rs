//! Finding and loading the config: the file given, or the built-in default.

use std::path::Path;

use earful_core::config::{Config, ConfigError};

/// The default config, shipped inside the binary so `earful` runs with no file at all.
pub const BUILT_IN_CONFIG: &str = include_str!("../../../config/earful.toml");
/// How the built-in config is named in errors.
pub const BUILT_IN_NAME: &str = "<built-in config/earful.toml>";

/// Loads `path`, or the built-in config when there is none. Relative data dirs of the
/// built-in config are relative to the working directory.
pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
    match path {
        Some(path) => Config::load(path),
        None => Config::parse(BUILT_IN_CONFIG, BUILT_IN_NAME, |name| std::env::var(name).ok()),
    }
}
