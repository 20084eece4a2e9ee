//! `earful config check`: validate the config; print every problem as FILE:LINE: key: problem.

use std::path::Path;
use std::process::ExitCode;

use crate::settings;

/// Checks the config and prints a one-line summary when it is valid.
pub fn run(config_path: Option<&Path>) -> anyhow::Result<ExitCode> {
    let config = settings::load(config_path)?;
    let name = config_path
        .map(|path| path.display().to_string())
        .unwrap_or_else(|| settings::BUILT_IN_NAME.to_string());
    println!(
        "{name}: ok ({} watches, {} sources, {} notifiers; data in {})",
        config.watches.len(),
        config.sources.len(),
        config.notifiers.len(),
        config.data_dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
