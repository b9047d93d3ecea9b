//! Training records as the trainers of the field ship them, normalised to one shape.
//!
//! sentence-transformers' datasets (anchor/query + positive + negative or negative_1..n,
//! pair + label, pair + teacher margin, query + document list + label list) and FlagEmbedding's
//! `query / pos / neg / pos_scores / neg_scores` all become a [`TrainingRecord`]: a query, its
//! documents, one label per document and, where the file carries them, one teacher score per
//! document. A [`TrainingSource`] hands records out in fixed blocks of rows that can be read in
//! any order, so a trainer can shuffle within a bounded buffer and resume at any row without
//! holding the file in memory.

use crate::error::Result;

/// One training record: a query and its documents, positives first.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingRecord {
    /// The query (or anchor) text, with its prompt prepended where the layout has one.
    pub query: String,
    /// Document texts: every positive first (in file order), then every negative.
    pub documents: Vec<String>,
    /// One label per document: the file's grade/label where it has one, else 1 for a
    /// positive and 0 for a negative.
    pub labels: Vec<f32>,
    /// One teacher score per document, when the file carries them (FlagEmbedding's
    /// `pos_scores` + `neg_scores`, a `scores` list, or a MarginMSE margin `m` of a
    /// (positive, negative) triplet stored as `[m, 0]`, which gives the same margin).
    pub teacher_scores: Option<Vec<f32>>,
    /// How many of `documents` are positives (the first `positives` entries).
    pub positives: usize,
}

/// A record and where it came from: the 1-based line (text formats) or row (parquet, Arrow
/// IPC) that errors and logs name.
#[derive(Debug, Clone, PartialEq)]
pub struct SourcedRecord {
    pub row: usize,
    pub record: TrainingRecord,
}

/// Training records in blocks of [`TrainingSource::block_rows`] rows (the last block may be
/// shorter) that can be read in any order. Implementations keep only an index in memory (row
/// count, block offsets), never the records themselves.
pub trait TrainingSource: Send + Sync {
    /// Rows per block (the last block may hold fewer).
    fn block_rows(&self) -> usize;

    /// Records in the source (skipped bad rows excluded in skip mode).
    fn rows(&self) -> usize;

    /// Number of blocks: `rows().div_ceil(block_rows())` for a source that skips nothing.
    fn blocks(&self) -> usize;

    /// The records of block `index`, in file order.
    fn read_block(&self, index: usize) -> Result<Vec<SourcedRecord>>;
}

/// A [`TrainingSource`] over records held in memory (tests, small generated sets).
#[derive(Debug, Clone)]
pub struct InMemoryTraining {
    records: Vec<TrainingRecord>,
    block_rows: usize,
}

impl InMemoryTraining {
    /// `records` served in blocks of `block_rows` (at least 1).
    pub fn new(records: Vec<TrainingRecord>, block_rows: usize) -> Self {
        Self {
            records,
            block_rows: block_rows.max(1),
        }
    }
}

impl TrainingSource for InMemoryTraining {
    fn block_rows(&self) -> usize {
        self.block_rows
    }

    fn rows(&self) -> usize {
        self.records.len()
    }

    fn blocks(&self) -> usize {
        self.records.len().div_ceil(self.block_rows)
    }

    fn read_block(&self, index: usize) -> Result<Vec<SourcedRecord>> {
        let start = (index * self.block_rows).min(self.records.len());
        let end = (start + self.block_rows).min(self.records.len());
        Ok(self.records[start..end]
            .iter()
            .enumerate()
            .map(|(i, record)| SourcedRecord {
                row: start + i + 1,
                record: record.clone(),
            })
            .collect())
    }
}
