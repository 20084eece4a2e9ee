//! `earful alerts`: alerts with their state, evidence and delivery status per channel;
//! `earful alerts deliver`: try every pending notification again now. Also the evaluation and
//! delivery that `ingest` and `collect --once` run after their final commit
//! ([`evaluate_and_deliver`]).

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use earful_alert::{Alert, Deliverer, DeliveryReport, Due, Evaluator, RetryPolicy};
use earful_core::config::Config;
use earful_index::MentionIndex;
use earful_store::{Notification, Store};
use serde_json::json;
use time::OffsetDateTime;

use crate::settings;

/// How long a one-shot command spends delivering; what is left stays in the outbox.
const ONE_SHOT_DELIVERY_BUDGET: Duration = Duration::from_secs(20);

/// Arguments of `earful alerts`.
#[derive(Debug, Args)]
pub struct AlertsArgs {
    #[command(subcommand)]
    action: Option<AlertsAction>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = AlertsFormat::Table)]
    format: AlertsFormat,
    /// Only this watch's alerts.
    #[arg(long)]
    watch: Option<String>,
    /// Most alerts shown, newest first.
    #[arg(long, default_value_t = 50)]
    limit: usize,
}

#[derive(Debug, Subcommand)]
enum AlertsAction {
    /// Deliver every pending notification now, ignoring the backoff schedule (tries still
    /// count towards `max_attempts`).
    Deliver {
        /// Stop after this long; what is left stays pending.
        #[arg(long, default_value = "60s", value_parser = parse_duration)]
        budget: Duration,
    },
}

fn parse_duration(raw: &str) -> Result<Duration, String> {
    earful_core::time::parse_duration(raw).map_err(|error| error.to_string())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum AlertsFormat {
    /// A table for people.
    Table,
    /// `{"alerts": [...], "outbox": {...}}`: each alert in its JSON form plus `deliveries`.
    Json,
}

/// The state database of a config.
pub fn open_store(config: &Config) -> anyhow::Result<Store> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create `{}`", config.data_dir.display()))?;
    let path = config.data_dir.join("state.sqlite");
    Ok(Store::open(&path)?)
}

/// Delivers the outbox through the config's channels, for at most `budget`.
fn deliver(
    config: &Config,
    store: &mut Store,
    due: Due,
    budget: Duration,
) -> anyhow::Result<DeliveryReport> {
    let deliverer = Deliverer::from_config(&config.notifiers, RetryPolicy::default())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the delivery runtime")?;
    Ok(runtime.block_on(deliverer.deliver(store, due, budget))?)
}

/// After a final commit: evaluates every watch against the index, then delivers what is due
/// for a bounded time. Prints a one-line summary on stderr.
pub fn evaluate_and_deliver(config: &Config, index: &MentionIndex) -> anyhow::Result<()> {
    let mut store = open_store(config)?;
    let evaluator = Evaluator::from_config(config)?;
    let evaluation = evaluator.evaluate(index, &mut store, OffsetDateTime::now_utc())?;
    let delivery = match deliver(config, &mut store, Due::Scheduled, ONE_SHOT_DELIVERY_BUDGET) {
        Ok(delivery) => delivery,
        // The mentions and the alerts are committed; a channel that cannot be set up must not
        // turn that into a failure. Its notifications wait in the outbox.
        Err(error) => {
            eprintln!(
                "alerts: {} state changes, {} notifications queued; not delivered: {error:#}",
                evaluation.state_changes, evaluation.queued
            );
            return Ok(());
        }
    };
    eprintln!(
        "alerts: {} state changes, {} notifications queued, {} sent, {} to retry, {} dead; {} pending in the outbox",
        evaluation.state_changes,
        evaluation.queued,
        delivery.sent,
        delivery.retried,
        delivery.dead,
        delivery.pending
    );
    Ok(())
}

/// Runs `earful alerts`.
pub fn run(config_path: Option<&Path>, args: AlertsArgs) -> anyhow::Result<ExitCode> {
    let config = settings::load(config_path)?;
    let mut store = open_store(&config)?;
    if let Some(AlertsAction::Deliver { budget }) = args.action {
        let report = deliver(&config, &mut store, Due::Everything, budget)?;
        eprintln!(
            "delivered {}, {} to retry, {} dead; {} pending in the outbox",
            report.sent, report.retried, report.dead, report.pending
        );
        return Ok(ExitCode::SUCCESS);
    }
    let records = store.alerts(args.watch.as_deref(), args.limit)?;
    let mut rows = Vec::with_capacity(records.len());
    for record in &records {
        let alert = Alert::from_record(record)?;
        let deliveries = store.notifications_for(&record.id)?;
        rows.push((alert, deliveries));
    }
    let counts = store.outbox_counts()?;
    match args.format {
        AlertsFormat::Json => {
            let alerts: Vec<serde_json::Value> = rows
                .iter()
                .map(|(alert, deliveries)| {
                    let mut value = serde_json::to_value(alert).unwrap_or_default();
                    value["deliveries"] = deliveries.iter().map(delivery_json).collect();
                    value
                })
                .collect();
            let document = json!({"alerts": alerts, "outbox": counts});
            println!("{}", serde_json::to_string_pretty(&document)?);
        }
        AlertsFormat::Table => print_table(&rows, counts),
    }
    Ok(ExitCode::SUCCESS)
}

fn delivery_json(notification: &Notification) -> serde_json::Value {
    json!({
        "channel": notification.channel,
        "event": notification.event,
        "state": notification.state,
        "attempts": notification.attempts,
        "next_attempt_at": earful_core::time::format_timestamp(notification.next_attempt_at),
        "delivered_at": notification.delivered_at.map(earful_core::time::format_timestamp),
        "last_error": notification.last_error,
    })
}

fn print_table(rows: &[(Alert, Vec<Notification>)], counts: earful_store::OutboxCounts) {
    if rows.is_empty() {
        println!("no alerts");
    }
    for (alert, deliveries) in rows {
        let evidence = &alert.evidence;
        println!(
            "{}  {:<8}  {}",
            alert.id,
            alert.state.as_str(),
            alert.headline()
        );
        println!(
            "    score {:.1}, negative share {:.0}% (baseline {:.0}%), since {}",
            evidence.score,
            evidence.negative_share.window * 100.0,
            evidence.negative_share.baseline * 100.0,
            earful_core::time::format_timestamp(alert.episode_start)
        );
        if !evidence.rising_terms.is_empty() {
            let terms: Vec<&str> = evidence
                .rising_terms
                .iter()
                .map(|term| term.term.as_str())
                .collect();
            println!("    rising: {}", terms.join(", "));
        }
        for mention in evidence.top_mentions.iter().take(3) {
            println!(
                "    - {}: {}",
                mention.author.as_deref().unwrap_or("someone"),
                mention.url.as_deref().unwrap_or(&mention.id)
            );
        }
        for delivery in deliveries {
            let error = delivery
                .last_error
                .as_deref()
                .map(|error| format!(" ({error})"))
                .unwrap_or_default();
            println!(
                "    {} {}: {} after {} tries{error}",
                delivery.channel, delivery.event, delivery.state, delivery.attempts
            );
        }
    }
    println!(
        "outbox: {} pending, {} sent, {} dead",
        counts.pending, counts.sent, counts.dead
    );
}
