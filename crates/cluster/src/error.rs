//! The one error type of the scale-out roles.

/// Why a scale-out role could not start or had to stop. Messages name the NATS URL (without
/// credentials) or the object at fault, and say what to check.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The first connection to NATS failed.
    #[error(
        "cannot reach NATS at `{url}`: {reason}; check that nats-server runs there with JetStream \
         enabled (`nats-server -js`) and that `[cluster] nats` (or `--nats`) names it"
    )]
    Unreachable {
        /// The server list, credentials removed.
        url: String,
        /// What the client said.
        reason: String,
    },
    /// The server answered but refused a JetStream request.
    #[error(
        "NATS at `{url}` refused to {what}: {reason}; is JetStream enabled (`nats-server -js`)?"
    )]
    JetStream {
        /// The server list, credentials removed.
        url: String,
        /// What was asked (`create stream \`EARFUL_MENTIONS\``).
        what: String,
        /// What the server or client said.
        reason: String,
    },
    /// The index writer stopped or failed.
    #[error("the index writer failed: {0}")]
    Index(#[from] earful_index::IndexError),
    /// A stage of the role stopped unexpectedly.
    #[error("{0}")]
    Stopped(String),
}
