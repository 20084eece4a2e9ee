//! After each index commit: save the sources' health and evaluate the alerts (on the blocking
//! pool, one evaluation at a time; commits that arrive meanwhile are taken together). And the
//! delivery loop, which sends due notifications from the outbox as soon as an evaluation
//! queues some, and again when a retry falls due.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use earful_alert::{Deliverer, Due, Evaluator};
use earful_index::{CommitInfo, MentionIndex};
use earful_store::Store;
use time::OffsetDateTime;
use tokio::sync::{watch, Notify};

use crate::daemon::collector::{until_stopped, HealthSnapshot};
use crate::daemon::pipeline;

/// The longest one delivery run takes before the loop looks at its signals again.
const DELIVERY_RUN_BUDGET: Duration = Duration::from_secs(10);
/// The longest sleep of the delivery loop with nothing due.
const DELIVERY_IDLE_WAIT: Duration = Duration::from_secs(60);

/// What the after-commit task works with.
pub struct AfterCommit {
    /// The index the evaluator counts in.
    pub index: Arc<MentionIndex>,
    /// The state database (alerts, outbox, health).
    pub store: Arc<Mutex<Store>>,
    /// The current evaluator (a reload swaps it).
    pub evaluator: watch::Receiver<Arc<Evaluator>>,
    /// The latest health of every source.
    pub health: watch::Receiver<HealthSnapshot>,
    /// Wakes the delivery loop.
    pub deliver: Arc<Notify>,
    /// Saves a round's health this long after it, at the latest, when no commit came.
    pub health_deadline: Duration,
}

impl AfterCommit {
    /// Runs until `stop` turns true or the writer is gone.
    pub async fn run(
        mut self,
        mut commits: watch::Receiver<Option<CommitInfo>>,
        mut stop: watch::Receiver<bool>,
    ) {
        // A round that handed mentions on waits for a commit before its health is saved.
        let mut health_waiting_since: Option<tokio::time::Instant> = None;
        let mut collector_running = true;
        loop {
            let deadline = health_waiting_since.map(|since| since + self.health_deadline);
            let sleep_until = deadline
                .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3_600));
            tokio::select! {
                biased;
                () = until_stopped(&mut stop) => return,
                changed = commits.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    health_waiting_since = None;
                    self.after_commit().await;
                }
                changed = self.health.changed(), if collector_running => {
                    if changed.is_err() {
                        collector_running = false;
                        continue;
                    }
                    if self.health.borrow_and_update().brought_items {
                        health_waiting_since.get_or_insert_with(tokio::time::Instant::now);
                    } else if health_waiting_since.is_none() {
                        self.save_health().await;
                    }
                }
                () = tokio::time::sleep_until(sleep_until), if deadline.is_some() => {
                    health_waiting_since = None;
                    self.save_health().await;
                }
            }
        }
    }

    async fn save_health(&mut self) {
        let snapshot = self.health.borrow_and_update().clone();
        let store = Arc::clone(&self.store);
        let saved = tokio::task::spawn_blocking(move || save(&store, &snapshot)).await;
        if let Err(error) = saved.map_err(anyhow::Error::from).and_then(|result| result) {
            tracing::warn!(error = %format!("{error:#}"), "cannot save the source health");
        }
    }

    /// Saves health, then evaluates. Runs on the blocking pool: both are synchronous.
    async fn after_commit(&mut self) {
        let snapshot = self.health.borrow_and_update().clone();
        let evaluator = Arc::clone(&self.evaluator.borrow());
        let index = Arc::clone(&self.index);
        let store = Arc::clone(&self.store);
        let outcome = tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
            save(&store, &snapshot)?;
            evaluate(&evaluator, &index, &store)
        })
        .await;
        match outcome
            .map_err(anyhow::Error::from)
            .and_then(|result| result)
        {
            Ok(queued) if queued > 0 => self.deliver.notify_one(),
            Ok(_) => {}
            Err(error) => {
                tracing::error!(error = %format!("{error:#}"), "alert evaluation failed; retried after the next commit");
            }
        }
    }
}

/// Saves the health records of a snapshot.
pub fn save(store: &Mutex<Store>, snapshot: &HealthSnapshot) -> anyhow::Result<()> {
    if snapshot.sources.is_empty() {
        return Ok(());
    }
    let store = store
        .lock()
        .map_err(|_| anyhow::anyhow!("the state database lock is poisoned"))?;
    pipeline::save_health(
        &store,
        snapshot
            .sources
            .iter()
            .map(|(name, kind, health)| (name.as_str(), *kind, health)),
    )
}

/// Evaluates every watch; returns how many notifications were queued.
pub fn evaluate(
    evaluator: &Evaluator,
    index: &MentionIndex,
    store: &Mutex<Store>,
) -> anyhow::Result<usize> {
    let mut store = store
        .lock()
        .map_err(|_| anyhow::anyhow!("the state database lock is poisoned"))?;
    let report = evaluator.evaluate(index, &mut store, OffsetDateTime::now_utc())?;
    if report.state_changes > 0 || report.queued > 0 {
        tracing::info!(
            series = report.series,
            state_changes = report.state_changes,
            queued = report.queued,
            "alerts evaluated"
        );
    }
    Ok(report.queued)
}

/// The delivery loop: one connection to the state database of its own, so a slow channel
/// never holds the lock the evaluator needs. Not `Send` (the deliverer's random source is
/// per thread): it runs on a thread of its own (see [`spawn_delivery`]).
pub async fn deliver_loop(
    mut store: Store,
    mut deliverer: watch::Receiver<Arc<Deliverer>>,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
    drain_budget: Duration,
) {
    loop {
        let current = Arc::clone(&deliverer.borrow_and_update());
        deliver_once(&current, &mut store, DELIVERY_RUN_BUDGET).await;
        let wait = match store.next_attempt_at() {
            Ok(Some(at)) => Duration::try_from(at - OffsetDateTime::now_utc())
                .unwrap_or(Duration::ZERO)
                .clamp(Duration::from_millis(200), DELIVERY_IDLE_WAIT),
            Ok(None) => DELIVERY_IDLE_WAIT,
            Err(error) => {
                tracing::warn!(%error, "cannot read the outbox schedule");
                DELIVERY_IDLE_WAIT
            }
        };
        tokio::select! {
            biased;
            () = until_stopped(&mut stop) => break,
            () = wake.notified() => {}
            _ = deliverer.changed() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
    // The final evaluation has queued what the final commit raised: send what is due now,
    // for a bounded time; the rest waits in the outbox for the next start.
    let current = Arc::clone(&deliverer.borrow());
    deliver_once(&current, &mut store, drain_budget).await;
}

/// Starts the delivery loop on a thread with a single-threaded runtime of its own.
pub fn spawn_delivery(
    store: Store,
    deliverer: watch::Receiver<Arc<Deliverer>>,
    wake: Arc<Notify>,
    stop: watch::Receiver<bool>,
    drain_budget: Duration,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("earful-deliver".into())
        .spawn(move || runtime.block_on(deliver_loop(store, deliverer, wake, stop, drain_budget)))
}

async fn deliver_once(deliverer: &Deliverer, store: &mut Store, budget: Duration) {
    match deliverer.deliver(store, Due::Scheduled, budget).await {
        Ok(report) if report.sent + report.retried + report.dead > 0 => tracing::info!(
            sent = report.sent,
            retried = report.retried,
            dead = report.dead,
            pending = report.pending,
            "notifications delivered"
        ),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "notification delivery failed; retried later"),
    }
}
