//! The writer: one thread owns tantivy's `IndexWriter`, upserts mentions by id and commits
//! documents together with the collector cursors that led to them.

use std::collections::BTreeMap;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use earful_core::Mention;
use serde::Serialize;
use tantivy::{IndexReader, IndexWriter, TantivyDocument, Term};
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::compile::time_range;
use crate::error::IndexError;
use crate::payload::CommitPayload;
use crate::schema::{DocumentBuilder, MentionFields};

/// How the index is written. `Default` suits a daemon.
#[derive(Clone, Debug)]
pub struct IndexOptions {
    /// tantivy's indexing memory budget, shared by its indexing threads (256 MB).
    pub writer_heap_bytes: usize,
    /// Commit once this many mentions are waiting (10,000).
    pub commit_max_docs: usize,
    /// Commit at most this long after the first uncommitted change (1 s).
    pub commit_interval: Duration,
    /// Delete mentions published longer ago than this; `None` keeps everything.
    pub retention: Option<Duration>,
    /// How often the retention sweep runs when `retention` is set (1 h; also at start).
    pub retention_check_interval: Duration,
    /// Batches that may wait for the writer before `send` blocks (16).
    pub channel_capacity: usize,
}

impl Default for IndexOptions {
    fn default() -> IndexOptions {
        IndexOptions {
            writer_heap_bytes: 256 * 1024 * 1024,
            commit_max_docs: 10_000,
            commit_interval: Duration::from_secs(1),
            retention: None,
            retention_check_interval: Duration::from_secs(3_600),
            channel_capacity: 16,
        }
    }
}

/// Mentions and the cursor deltas of the sources that produced them. The cursors are committed
/// in the same commit as the mentions, so a restart resumes exactly where the index is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Batch {
    /// Mentions to upsert (a mention whose id is indexed already replaces it).
    pub mentions: Vec<Mention>,
    /// New cursors by source name; replace the source's earlier cursor.
    pub cursors: BTreeMap<String, serde_json::Value>,
}

/// What a commit made durable.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CommitInfo {
    /// tantivy's opstamp of the commit.
    pub opstamp: u64,
    /// The payload committed with it.
    pub payload: CommitPayload,
    /// Mentions in the index after the commit.
    pub num_docs: u64,
    /// Mentions sent to the writer since the commit before (upserts count once each).
    pub docs_added: u64,
    /// How long preparing, writing and reloading took.
    pub duration: Duration,
}

/// Whether adding a batch first deletes earlier documents with the same ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Upsert {
    /// Delete, then add: the default, always correct.
    Replace,
    /// Only add: the sender has proved every id new (see [`IndexWriterHandle::send_new`]).
    AddOnly,
}

enum Command {
    Batch(Batch, Upsert),
    DeleteOlderThan(OffsetDateTime),
    Flush(SyncSender<Result<Option<CommitInfo>, String>>),
    Shutdown,
}

/// The handle producers write through. Cheap to clone; the writer thread stops when
/// [`IndexWriterHandle::shutdown`] is called (or every handle is dropped), after a final
/// commit.
#[derive(Clone)]
pub struct IndexWriterHandle {
    sender: SyncSender<Command>,
    shared: Arc<Shared>,
}

/// The writer thread, which returns the last commit.
type WriterThread = JoinHandle<Result<Option<CommitInfo>, IndexError>>;

struct Shared {
    failure: Mutex<Option<String>>,
    thread: Mutex<Option<WriterThread>>,
    /// The latest commit, for [`IndexWriterHandle::subscribe_commits`].
    commits: watch::Sender<Option<CommitInfo>>,
}

impl std::fmt::Debug for IndexWriterHandle {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("IndexWriterHandle")
            .field("failure", &self.failure())
            .finish()
    }
}

impl IndexWriterHandle {
    pub(crate) fn start(
        writer: IndexWriter<TantivyDocument>,
        reader: IndexReader,
        fields: MentionFields,
        payload: CommitPayload,
        options: IndexOptions,
    ) -> Result<IndexWriterHandle, IndexError> {
        let (sender, receiver) = mpsc::sync_channel(options.channel_capacity.max(1));
        let shared = Arc::new(Shared {
            failure: Mutex::new(None),
            thread: Mutex::new(None),
            commits: watch::Sender::new(None),
        });
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("earful-index-writer".into())
            .spawn(move || {
                let mut state = WriterState {
                    writer,
                    reader,
                    builder: DocumentBuilder::new(fields.clone()),
                    fields,
                    payload,
                    options,
                    pending_docs: 0,
                    dirty_since: None,
                    last_commit: None,
                    shared: Arc::clone(&thread_shared),
                };
                let result = state.run(receiver);
                if let Err(error) = &result {
                    tracing::error!(%error, "index writer stopped");
                    if let Ok(mut failure) = thread_shared.failure.lock() {
                        *failure = Some(error.to_string());
                    }
                }
                result
            })?;
        if let Ok(mut slot) = shared.thread.lock() {
            *slot = Some(thread);
        }
        Ok(IndexWriterHandle { sender, shared })
    }

    fn failure(&self) -> Option<String> {
        self.shared
            .failure
            .lock()
            .ok()
            .and_then(|failure| failure.clone())
    }

    /// Each commit as it happens (the latest one; a slow reader skips to the newest). The
    /// alert evaluator waits on it, so it counts exactly what readers can see, and the
    /// metrics read commit latency and throughput from it. The sender closes when the writer
    /// thread stops.
    pub fn subscribe_commits(&self) -> watch::Receiver<Option<CommitInfo>> {
        self.shared.commits.subscribe()
    }

    fn stopped(&self) -> IndexError {
        IndexError::WriterStopped(self.failure().unwrap_or_else(|| "shut down".to_string()))
    }

    /// Queues a batch; blocks while the queue is full, so a slow index slows producers.
    pub fn send(&self, batch: Batch) -> Result<(), IndexError> {
        self.sender
            .send(Command::Batch(batch, Upsert::Replace))
            .map_err(|_| self.stopped())
    }

    /// Queues a batch whose ids the caller has proved new: none is in the index, in an earlier
    /// batch, or twice in this one — as a bulk load into an empty index can tell by keeping
    /// the ids it has sent. The writer then skips the upsert's delete, which costs a look-up in
    /// every segment at each commit (6–15 % of the writer's throughput). A wrong promise
    /// leaves duplicates: when in doubt, use [`send`](Self::send).
    pub fn send_new(&self, batch: Batch) -> Result<(), IndexError> {
        self.sender
            .send(Command::Batch(batch, Upsert::AddOnly))
            .map_err(|_| self.stopped())
    }

    /// Queues the deletion of every mention published before `cutoff` (committed with the
    /// next commit).
    pub fn delete_older_than(&self, cutoff: OffsetDateTime) -> Result<(), IndexError> {
        self.sender
            .send(Command::DeleteOlderThan(cutoff))
            .map_err(|_| self.stopped())
    }

    /// Commits everything sent so far (if anything is uncommitted) and waits for it; readers
    /// of the index see it when this returns. `None` when nothing was ever committed.
    pub fn flush(&self) -> Result<Option<CommitInfo>, IndexError> {
        let (reply_sender, reply) = mpsc::sync_channel(1);
        self.sender
            .send(Command::Flush(reply_sender))
            .map_err(|_| self.stopped())?;
        match reply.recv() {
            Ok(Ok(info)) => Ok(info),
            Ok(Err(message)) => Err(IndexError::WriterStopped(message)),
            Err(_) => Err(self.stopped()),
        }
    }

    /// Commits what is pending, stops the writer thread and waits for it. Other clones of the
    /// handle fail from then on. Returns the last commit.
    pub fn shutdown(self) -> Result<Option<CommitInfo>, IndexError> {
        self.sender
            .send(Command::Shutdown)
            .map_err(|_| self.stopped())?;
        let thread = self
            .shared
            .thread
            .lock()
            .ok()
            .and_then(|mut slot| slot.take());
        let Some(thread) = thread else {
            return Err(self.stopped());
        };
        match thread.join() {
            Ok(result) => result,
            Err(_) => Err(IndexError::WriterStopped(
                "the writer thread panicked".into(),
            )),
        }
    }
}

struct WriterState {
    writer: IndexWriter<TantivyDocument>,
    reader: IndexReader,
    fields: MentionFields,
    builder: DocumentBuilder,
    payload: CommitPayload,
    options: IndexOptions,
    pending_docs: usize,
    dirty_since: Option<Instant>,
    last_commit: Option<CommitInfo>,
    shared: Arc<Shared>,
}

impl WriterState {
    fn run(&mut self, receiver: Receiver<Command>) -> Result<Option<CommitInfo>, IndexError> {
        let mut next_retention = self.options.retention.map(|_| Instant::now());
        loop {
            let now = Instant::now();
            if let (Some(due), Some(retention)) = (next_retention, self.options.retention) {
                if due <= now {
                    self.sweep(retention)?;
                    next_retention = Some(now + self.options.retention_check_interval);
                }
            }
            if let Some(dirty_since) = self.dirty_since {
                if now.duration_since(dirty_since) >= self.options.commit_interval {
                    self.commit()?;
                }
            }
            let mut wait = Duration::from_secs(3_600);
            if let Some(dirty_since) = self.dirty_since {
                wait = wait.min(
                    (dirty_since + self.options.commit_interval).saturating_duration_since(now),
                );
            }
            if let Some(due) = next_retention {
                wait = wait.min(due.saturating_duration_since(now));
            }
            match receiver.recv_timeout(wait) {
                Ok(Command::Batch(batch, upsert)) => {
                    self.add(batch, upsert)?;
                    if self.pending_docs >= self.options.commit_max_docs {
                        self.commit()?;
                    }
                }
                Ok(Command::DeleteOlderThan(cutoff)) => self.delete_older_than(cutoff)?,
                Ok(Command::Flush(reply)) => {
                    let result = if self.dirty_since.is_some() {
                        self.commit().map(|info| Some(info.clone()))
                    } else {
                        Ok(self.last_commit.clone())
                    };
                    let reply_value = result
                        .as_ref()
                        .map(Clone::clone)
                        .map_err(ToString::to_string);
                    let _ = reply.send(reply_value);
                    result?;
                }
                Err(RecvTimeoutError::Timeout) => {}
                Ok(Command::Shutdown) | Err(RecvTimeoutError::Disconnected) => {
                    if self.dirty_since.is_some() {
                        self.commit()?;
                    }
                    return Ok(self.last_commit.clone());
                }
            }
        }
    }

    fn mark_dirty(&mut self) {
        if self.dirty_since.is_none() {
            self.dirty_since = Some(Instant::now());
        }
    }

    fn add(&mut self, batch: Batch, upsert: Upsert) -> Result<(), IndexError> {
        for mention in &batch.mentions {
            let document = self.builder.build(mention)?;
            // Upsert: the delete applies to every earlier document with this id, committed or
            // not, so the same id twice in one batch also leaves one.
            if upsert == Upsert::Replace {
                self.writer
                    .delete_term(Term::from_field_text(self.fields.upsert_key, &mention.id));
            }
            self.writer.add_document(document)?;
        }
        self.pending_docs += batch.mentions.len();
        self.payload.merge_cursors(&batch.cursors);
        if !batch.mentions.is_empty() || !batch.cursors.is_empty() {
            self.mark_dirty();
        }
        Ok(())
    }

    fn delete_older_than(&mut self, cutoff: OffsetDateTime) -> Result<(), IndexError> {
        self.writer
            .delete_query(time_range(&self.fields, None, Some(cutoff)))?;
        self.mark_dirty();
        Ok(())
    }

    fn sweep(&mut self, retention: Duration) -> Result<(), IndexError> {
        let age = time::Duration::try_from(retention).unwrap_or(time::Duration::MAX);
        if let Some(cutoff) = OffsetDateTime::now_utc().checked_sub(age) {
            tracing::info!(cutoff = %earful_core::time::format_timestamp(cutoff), "retention sweep");
            self.delete_older_than(cutoff)?;
        }
        Ok(())
    }

    /// Commits with the payload (never a bare commit), then reloads the readers.
    fn commit(&mut self) -> Result<&CommitInfo, IndexError> {
        let started = Instant::now();
        self.payload.committed_at = Some(OffsetDateTime::now_utc());
        let stored = self.payload.to_stored()?;
        let mut prepared = self.writer.prepare_commit()?;
        prepared.set_payload(&stored);
        let opstamp = prepared.commit()?;
        self.reader.reload()?;
        let docs_added = self.pending_docs as u64;
        self.pending_docs = 0;
        self.dirty_since = None;
        let num_docs = self.reader.searcher().num_docs();
        let duration = started.elapsed();
        tracing::debug!(opstamp, num_docs, docs_added, ?duration, "index commit");
        let info = CommitInfo {
            opstamp,
            payload: self.payload.clone(),
            num_docs,
            docs_added,
            duration,
        };
        self.shared.commits.send_replace(Some(info.clone()));
        Ok(self.last_commit.insert(info))
    }
}
