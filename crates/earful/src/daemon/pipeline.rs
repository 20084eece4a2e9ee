//! The pieces `earful collect --once` and the daemon share: opening the data directory, the
//! enrichment stage between the collectors and the index writer, and the source health records
//! in the state database.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::Context;
use earful_collect::{SourceBatch, SourceHealth};
use earful_core::config::{Config, SourceKind};
use earful_enrich::Enricher;
use earful_index::{Batch, IndexError, IndexWriterHandle, MentionIndex};
use earful_store::Store;
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};

use crate::settings;

/// Poll batches waiting for enrichment before the collectors wait (a slow index slows them).
pub const BATCH_CHANNEL_CAPACITY: usize = 16;

/// What a data directory holds, opened for writing.
#[derive(Debug)]
pub struct DataDir {
    /// The index, with its writer lock held.
    pub index: MentionIndex,
    /// The collector cursors of the last commit.
    pub committed: BTreeMap<String, serde_json::Value>,
    /// The state database.
    pub store: Store,
    /// Every source's last saved health.
    pub health: BTreeMap<String, SourceHealth>,
}

/// Opens (creating when new) the index and the state database of `config.data_dir`.
pub fn open_data(config: &Config) -> anyhow::Result<DataDir> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create `{}`", config.data_dir.display()))?;
    let index_dir = config.data_dir.join("index");
    let index = MentionIndex::open(&index_dir, settings::index_options(&config.index))
        .with_context(|| format!("cannot open the index in `{}`", index_dir.display()))?;
    let committed = index
        .commit_payload()
        .context("cannot read the committed cursors")?
        .cursors;
    let store = open_store(config)?;
    let health = load_health(&store)?;
    Ok(DataDir {
        index,
        committed,
        store,
        health,
    })
}

/// Opens another connection to the state database of `config`.
pub fn open_store(config: &Config) -> anyhow::Result<Store> {
    let store_path = config.data_dir.join("state.sqlite");
    Ok(Store::open(&store_path)?)
}

/// Every source's saved health record; one this build cannot read starts afresh.
pub fn load_health(store: &Store) -> anyhow::Result<BTreeMap<String, SourceHealth>> {
    let mut health = BTreeMap::new();
    for row in store.all_source_health()? {
        match serde_json::from_value::<SourceHealth>(row.record) {
            Ok(record) => {
                health.insert(row.source, record);
            }
            Err(error) => {
                tracing::warn!(source = %row.source, %error, "stored health unreadable; starting afresh");
            }
        }
    }
    Ok(health)
}

/// Saves health records in one transaction. Callers save after the commit that holds what the
/// records count, so the health table never claims items the index does not hold.
pub fn save_health<'a>(
    store: &Store,
    records: impl IntoIterator<Item = (&'a str, SourceKind, &'a SourceHealth)>,
) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    for (source, kind, health) in records {
        rows.push((source, kind.as_str(), serde_json::to_value(health)?));
    }
    store.put_source_health_all(
        rows.iter()
            .map(|(source, kind, record)| (*source, *kind, record)),
        OffsetDateTime::now_utc(),
    )?;
    Ok(())
}

/// Starts the enrichment stage: a thread of its own (enrichment is CPU work) that takes each
/// poll's batch from the collectors' bounded channel, enriches it with the current
/// [`Enricher`] (a reload swaps it in `enricher`), and hands the mentions to the writer with
/// that poll's cursor, so both land in one commit. It ends when every collector has dropped
/// its sender, or with the writer's error when the writer has stopped.
pub fn spawn_enrich_stage(
    enricher: watch::Receiver<Arc<Enricher>>,
    mut batches: mpsc::Receiver<SourceBatch>,
    writer: IndexWriterHandle,
) -> std::io::Result<JoinHandle<Result<(), IndexError>>> {
    std::thread::Builder::new()
        .name("earful-enrich".into())
        .spawn(move || {
            while let Some(batch) = batches.blocking_recv() {
                let current = Arc::clone(&enricher.borrow());
                let now = OffsetDateTime::now_utc();
                let mentions = batch
                    .mentions
                    .into_iter()
                    .map(|input| current.enrich_bound(input, now, &batch.bound_watches))
                    .collect();
                writer.send(Batch {
                    mentions,
                    cursors: BTreeMap::from([(batch.source, batch.cursor)]),
                })?;
            }
            Ok(())
        })
}

/// An enricher that never changes, for one-shot commands.
pub fn fixed_enricher(enricher: Enricher) -> watch::Receiver<Arc<Enricher>> {
    // The receiver keeps the value after the sender is gone.
    watch::channel(Arc::new(enricher)).1
}
