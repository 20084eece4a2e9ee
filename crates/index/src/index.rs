//! [`MentionIndex`]: opening the index (read-write or read-only), searching, exporting.

use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use earful_core::{Mention, MentionQuery};
use tantivy::collector::Count;
use tantivy::directory::MmapDirectory;
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument,
    TantivyError, Term,
};

use crate::compile::compile_request;
use crate::error::IndexError;
use crate::payload::CommitPayload;
use crate::schema::{build_schema, register_tokenizers, MentionFields};
use crate::search::{
    decode_cursor, encode_cursor, Filters, Highlight, Hit, SearchRequest, SearchResults, Sort,
    SortKey, SortedCollector,
};
use crate::writer::{IndexOptions, IndexWriterHandle};

/// Hits per internal page of [`MentionIndex::export`].
const EXPORT_PAGE: usize = 1_000;
/// Longest highlight snippet, in characters.
const SNIPPET_CHARS: usize = 240;

/// The mention index in one directory.
pub struct MentionIndex {
    path: PathBuf,
    index: Index,
    reader: IndexReader,
    pub(crate) fields: MentionFields,
    options: IndexOptions,
    /// Held from a read-write open until [`MentionIndex::start_writer`] takes it.
    writer: Mutex<Option<IndexWriter<TantivyDocument>>>,
    read_only: bool,
}

impl std::fmt::Debug for MentionIndex {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("MentionIndex")
            .field("path", &self.path)
            .field("read_only", &self.read_only)
            .finish()
    }
}

impl MentionIndex {
    /// Opens (or creates) the index in `dir` for writing. Takes the writer lock at once: while
    /// another process writes, this fails with [`IndexError::Locked`]; use
    /// [`MentionIndex::open_read_only`] to search then.
    pub fn open(dir: &Path, options: IndexOptions) -> Result<MentionIndex, IndexError> {
        std::fs::create_dir_all(dir)?;
        let directory = MmapDirectory::open(dir)?;
        let index = if Index::exists(&directory)? {
            Index::open(directory)?
        } else {
            Index::create(directory, build_schema(), tantivy::IndexSettings::default())?
        };
        let writer = index
            .writer(options.writer_heap_bytes)
            .map_err(|error| match error {
                TantivyError::LockFailure(..) => IndexError::Locked {
                    path: dir.to_path_buf(),
                },
                other => IndexError::Tantivy(other),
            })?;
        Self::finish_open(dir, index, options, Some(writer), ReloadPolicy::Manual)
    }

    /// Opens an existing index for searching only, beside a daemon that writes it. Searches
    /// see new commits shortly after they happen (or after [`MentionIndex::reload`]).
    pub fn open_read_only(dir: &Path) -> Result<MentionIndex, IndexError> {
        let not_found = || IndexError::NotFound {
            path: dir.to_path_buf(),
        };
        if !dir.is_dir() {
            return Err(not_found());
        }
        let directory = MmapDirectory::open(dir)?;
        if !Index::exists(&directory)? {
            return Err(not_found());
        }
        let index = Index::open(directory)?;
        Self::finish_open(
            dir,
            index,
            IndexOptions::default(),
            None,
            ReloadPolicy::OnCommitWithDelay,
        )
    }

    fn finish_open(
        dir: &Path,
        index: Index,
        options: IndexOptions,
        writer: Option<IndexWriter<TantivyDocument>>,
        policy: ReloadPolicy,
    ) -> Result<MentionIndex, IndexError> {
        let schema_matches =
            serde_json::to_value(index.schema()).ok() == serde_json::to_value(build_schema()).ok();
        if !schema_matches {
            return Err(IndexError::SchemaMismatch {
                path: dir.to_path_buf(),
            });
        }
        let fields = MentionFields::from_schema(&index.schema()).map_err(|_| {
            IndexError::SchemaMismatch {
                path: dir.to_path_buf(),
            }
        })?;
        register_tokenizers(&index);
        let reader = index.reader_builder().reload_policy(policy).try_into()?;
        Ok(MentionIndex {
            path: dir.to_path_buf(),
            index,
            reader,
            fields,
            options,
            read_only: writer.is_none(),
            writer: Mutex::new(writer),
        })
    }

    /// The index directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Starts the writer thread. Only once per read-write open.
    pub fn start_writer(&self) -> Result<IndexWriterHandle, IndexError> {
        if self.read_only {
            return Err(IndexError::BadRequest(format!(
                "index `{}` is open read-only",
                self.path.display()
            )));
        }
        let writer = self
            .writer
            .lock()
            .ok()
            .and_then(|mut slot| slot.take())
            .ok_or_else(|| IndexError::WriterStopped("the writer was started already".into()))?;
        IndexWriterHandle::start(
            writer,
            self.reader.clone(),
            self.fields.clone(),
            self.commit_payload()?,
            self.options.clone(),
        )
    }

    /// The payload of the latest commit on disk: the collector cursors.
    pub fn commit_payload(&self) -> Result<CommitPayload, IndexError> {
        let metas = self.index.load_metas()?;
        CommitPayload::from_stored(metas.payload.as_deref())
    }

    /// Makes searches see the latest commit now (a read-only index also does it by itself,
    /// shortly after each commit).
    pub fn reload(&self) -> Result<(), IndexError> {
        Ok(self.reader.reload()?)
    }

    /// Mentions in the index.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub(crate) fn searcher(&self) -> Searcher {
        self.reader.searcher()
    }

    /// How many mentions match.
    pub fn count(&self, query: &MentionQuery, filters: &Filters) -> Result<usize, IndexError> {
        let compiled = compile_request(&self.fields, query.root(), filters);
        Ok(self.searcher().search(&*compiled, &Count)?)
    }

    /// The mention with this id (exact, case-sensitive), if indexed.
    pub fn get(&self, id: &str) -> Result<Option<Mention>, IndexError> {
        let searcher = self.searcher();
        let query = TermQuery::new(
            Term::from_field_text(self.fields.upsert_key, id),
            IndexRecordOption::Basic,
        );
        let found = searcher.search(
            &query,
            &SortedCollector {
                sort: Sort::Newest,
                after: None,
                limit: 1,
            },
        )?;
        found
            .first()
            .map(|(_, address, _)| self.load(&searcher, *address))
            .transpose()
    }

    /// One page of results.
    pub fn search(&self, request: &SearchRequest) -> Result<SearchResults, IndexError> {
        let searcher = self.searcher();
        let after = request
            .cursor
            .as_deref()
            .map(|cursor| decode_cursor(cursor, request.sort))
            .transpose()?;
        let limit = request.limit.min(SearchRequest::MAX_LIMIT);
        let compiled = compile_request(&self.fields, request.query.root(), &request.filters);
        // The first page counts in the same pass over the matches; later pages scan a narrowed
        // range, so they count separately.
        let (total, page) = match after {
            None => {
                let (total, page) =
                    self.page_counted(&searcher, &*compiled, request.sort, limit)?;
                (total, page)
            }
            Some(_) => {
                let total = compiled.count(&searcher)?;
                (
                    total,
                    self.page(&searcher, &*compiled, request.sort, after, limit)?,
                )
            }
        };
        let snippets = if request.highlight {
            let query_only = crate::compile::compile_node(&self.fields, request.query.root());
            let mut generator =
                SnippetGenerator::create(&searcher, &*query_only, self.fields.text)?;
            generator.set_max_num_chars(SNIPPET_CHARS);
            Some(generator)
        } else {
            None
        };
        let next_cursor = match page.last() {
            Some((key, _)) if page.len() == limit => Some(encode_cursor(request.sort, *key)),
            _ => None,
        };
        let hits = page
            .into_iter()
            .map(|(_, hit)| hit)
            .map(|mut hit| {
                if let Some(generator) = &snippets {
                    hit.highlight = Some(highlight(generator, &hit.mention.text));
                }
                hit
            })
            .collect();
        Ok(SearchResults {
            total,
            hits,
            next_cursor,
        })
    }

    /// Streams every match in the order of `sort`, from one snapshot of the index, without
    /// holding them all: pages are fetched internally. Stops at the first error `each`
    /// returns. Returns how many mentions were given.
    pub fn export<E: From<IndexError>>(
        &self,
        query: &MentionQuery,
        filters: &Filters,
        sort: Sort,
        mut each: impl FnMut(Mention) -> Result<(), E>,
    ) -> Result<u64, E> {
        let searcher = self.searcher();
        let compiled = compile_request(&self.fields, query.root(), filters);
        let mut after = None;
        let mut given = 0u64;
        loop {
            let page = self.page(&searcher, &*compiled, sort, after, EXPORT_PAGE)?;
            let full = page.len() == EXPORT_PAGE;
            for (key, hit) in page {
                after = Some(key);
                each(hit.mention)?;
                given += 1;
            }
            if !full {
                return Ok(given);
            }
        }
    }

    /// The hits after `after`, best first.
    fn page(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
        sort: Sort,
        after: Option<SortKey>,
        limit: usize,
    ) -> Result<Vec<(SortKey, Hit)>, IndexError> {
        let collector = SortedCollector { sort, after, limit };
        // For the time sorts, narrow the scan to the remaining time range too.
        let narrowed: Option<Box<dyn Query>> = match (sort, after) {
            (Sort::Newest | Sort::Oldest, Some((primary, _))) => {
                let nanos = crate::search::i64_order_inverse(if sort == Sort::Newest {
                    primary
                } else {
                    u64::MAX - primary
                });
                let bound = Term::from_field_date(
                    self.fields.published_at,
                    tantivy::DateTime::from_timestamp_nanos(nanos),
                );
                let range = if sort == Sort::Newest {
                    RangeQuery::new(Bound::Unbounded, Bound::Included(bound))
                } else {
                    RangeQuery::new(Bound::Included(bound), Bound::Unbounded)
                };
                Some(Box::new(BooleanQuery::new(vec![
                    (Occur::Must, query.box_clone()),
                    (Occur::Must, Box::new(range)),
                ])))
            }
            _ => None,
        };
        let found = searcher.search(narrowed.as_deref().unwrap_or(query), &collector)?;
        self.load_hits(searcher, found)
    }

    /// The first page of a sort and the number of matches, in one pass.
    fn page_counted(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
        sort: Sort,
        limit: usize,
    ) -> Result<(usize, Vec<(SortKey, Hit)>), IndexError> {
        let collector = SortedCollector {
            sort,
            after: None,
            limit,
        };
        let (total, found) = searcher.search(query, &(Count, collector))?;
        Ok((total, self.load_hits(searcher, found)?))
    }

    fn load_hits(
        &self,
        searcher: &Searcher,
        found: Vec<crate::search::Collected>,
    ) -> Result<Vec<(SortKey, Hit)>, IndexError> {
        found
            .into_iter()
            .map(|(key, address, score)| {
                let mention = self.load(searcher, address)?;
                Ok((
                    key,
                    Hit {
                        mention,
                        score,
                        highlight: None,
                    },
                ))
            })
            .collect()
    }

    fn load(&self, searcher: &Searcher, address: DocAddress) -> Result<Mention, IndexError> {
        let document: TantivyDocument = searcher.doc(address)?;
        let json = document
            .get_first(self.fields.stored)
            .and_then(|value| value.as_str())
            .ok_or_else(|| IndexError::CorruptDocument("no stored mention".into()))?;
        serde_json::from_str(json).map_err(|error| IndexError::CorruptDocument(error.to_string()))
    }
}

fn highlight(generator: &SnippetGenerator, text: &str) -> Highlight {
    let snippet = generator.snippet(text);
    if snippet.fragment().is_empty() {
        // Nothing matched in the text (a title match, or `*`): show its beginning.
        let end = text
            .char_indices()
            .nth(SNIPPET_CHARS)
            .map_or(text.len(), |(at, _)| at);
        let fragment = text[..end].to_string();
        return Highlight {
            html: escape_html(&fragment),
            fragment,
            ranges: Vec::new(),
        };
    }
    Highlight {
        fragment: snippet.fragment().to_string(),
        ranges: snippet
            .highlighted()
            .iter()
            .map(|range| (range.start, range.end))
            .collect(),
        html: snippet.to_html(),
    }
}

fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#x27;"),
            other => escaped.push(other),
        }
    }
    escaped
}
