//! One module per subcommand. Each `run` returns the exit code on success; errors are
//! reported by [`report`].

pub mod alerts;
pub mod collect;
pub mod config_check;
pub mod detect;
pub mod ingest;
pub mod run;
pub mod score;
pub mod search;
pub mod sources;
pub mod stats;

use std::process::ExitCode;

use earful_core::config::ConfigError;

/// Exit code: a runtime failure (I/O, a locked index, …).
pub const EXIT_FAILURE: u8 = 1;
/// Exit code: bad usage or an invalid config.
pub const EXIT_USAGE: u8 = 2;
/// Exit code of `ingest`: it finished, but some input lines were rejected.
pub const EXIT_REJECTED_LINES: u8 = 3;

/// An error in what the user asked for (a bad query, a bad time), as opposed to a failure
/// while doing it. Exits with [`EXIT_USAGE`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Prints an error as one sentence on stderr and picks the exit code.
pub fn report(error: &anyhow::Error) -> ExitCode {
    if let Some(config_error) = error.downcast_ref::<ConfigError>() {
        eprintln!("{config_error}");
        return ExitCode::from(EXIT_USAGE);
    }
    let message = error
        .chain()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ");
    eprintln!("error: {message}");
    if error.downcast_ref::<UsageError>().is_some() {
        ExitCode::from(EXIT_USAGE)
    } else {
        ExitCode::from(EXIT_FAILURE)
    }
}
