//! The collector task: polls the due sources on schedule through the engine, applies a
//! reloaded config's sources between polls, and publishes every source's health after each
//! round. On stop it lets the polls in flight finish for a bounded time, then drops its
//! sender, which lets the enrichment stage drain and end.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use earful_collect::{Engine, PollReport, SourceBatch, SourceHealth, SourcesDiff};
use earful_core::config::{Config, SourceKind};
use tokio::sync::{mpsc, oneshot, watch};

/// The longest sleep between looks at the schedule (no source due, say).
const LONGEST_WAIT: Duration = Duration::from_secs(3_600);

/// Every source's health after a round of polls.
#[derive(Clone, Debug, Default)]
pub struct HealthSnapshot {
    /// Name, kind and health of every configured source.
    pub sources: Vec<(String, SourceKind, SourceHealth)>,
    /// Whether the round handed mentions on: its health may be saved only once they are
    /// committed. A round that brought nothing new can be saved at once.
    pub brought_items: bool,
}

/// A request to the collector task.
#[derive(Debug)]
pub enum Control {
    /// Apply a reloaded config's sources, resuming new ones from these cursors and health
    /// records; the reply says what changed.
    Reconfigure {
        /// The new config.
        config: Arc<Config>,
        /// The cursors of the last commit.
        committed: BTreeMap<String, serde_json::Value>,
        /// The saved health records.
        health: BTreeMap<String, SourceHealth>,
        /// Where the diff goes.
        reply: oneshot::Sender<SourcesDiff>,
    },
}

/// Completes once `stop` turns true, or its sender is gone.
pub async fn until_stopped(stop: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is dropped here: it must not live across an await.
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// How one turn of the loop ended.
enum Turn {
    Polled(Vec<PollReport>),
    Stopped,
}

/// Runs until `stop` turns true (or its sender is gone); returns the engine so the final
/// health can be saved after the final commit.
pub async fn run(
    mut engine: Engine,
    sink: mpsc::Sender<SourceBatch>,
    mut control: mpsc::Receiver<Control>,
    mut stop: watch::Receiver<bool>,
    health: watch::Sender<HealthSnapshot>,
    in_flight_grace: Duration,
) -> Engine {
    loop {
        let now = time::OffsetDateTime::now_utc();
        let wait = match engine.next_due() {
            Some(due) if due > now => Duration::try_from(due - now).unwrap_or(LONGEST_WAIT),
            Some(_) => Duration::ZERO,
            None => LONGEST_WAIT,
        }
        .min(LONGEST_WAIT);
        tokio::select! {
            biased;
            () = until_stopped(&mut stop) => break,
            Some(command) = control.recv() => {
                apply(&mut engine, command);
                health.send_replace(HealthSnapshot {
                    sources: engine.health(),
                    brought_items: false,
                });
                continue;
            }
            () = tokio::time::sleep(wait) => {}
        }
        let turn = {
            let polls = engine.poll_due(&sink);
            tokio::pin!(polls);
            tokio::select! {
                reports = &mut polls => Turn::Polled(reports),
                () = until_stopped(&mut stop) => {
                    tracing::info!(grace_ms = in_flight_grace.as_millis() as u64, "stopping: letting in-flight polls finish");
                    // Abandoned polls never sent their cursors: the next start fetches them again.
                    if tokio::time::timeout(in_flight_grace, &mut polls).await.is_err() {
                        tracing::warn!("in-flight polls abandoned at shutdown; they are fetched again on the next start");
                    }
                    Turn::Stopped
                }
            }
        };
        match turn {
            Turn::Polled(reports) => publish(&health, &engine.health(), &reports),
            Turn::Stopped => break,
        }
    }
    engine
}

fn publish(
    health: &watch::Sender<HealthSnapshot>,
    sources: &[(String, SourceKind, SourceHealth)],
    reports: &[PollReport],
) {
    if reports.is_empty() {
        return;
    }
    health.send_replace(HealthSnapshot {
        sources: sources.to_vec(),
        brought_items: reports.iter().any(|report| report.items > 0),
    });
}

fn apply(engine: &mut Engine, command: Control) {
    match command {
        Control::Reconfigure {
            config,
            committed,
            health,
            reply,
        } => {
            let diff = engine.reconfigure(&config, &committed, health);
            // The reload may have given up waiting; the change is applied all the same.
            let _ = reply.send(diff);
        }
    }
}
