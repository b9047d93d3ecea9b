//! Retrieval data formats. Every reader reports bad input as a [`DataError`] naming the file,
//! the line (text formats; the 1-based row for parquet and Arrow IPC) and the field; in
//! [`ReadMode::Skip`] bad records are skipped and returned in [`Loaded::skipped`] with their
//! reasons. Nothing is dropped silently. Every text reader drops a UTF-8 byte-order mark at
//! the start of its file, and a file without a single record (empty, blank lines, only a
//! header) is an error naming it ([`DataError::no_records`]) rather than empty data.
//!
//! Tables: jsonl/ndjson, csv and tsv are read by line readers (exact source lines in errors,
//! streaming); parquet and Arrow IPC (`.arrow`, `.ipc`, `.feather`) through polars, reading
//! only the columns a reader names, a bounded chunk of rows at a time. [`TableFormat`] picks
//! one from the extension or as set.
//!
//! | format | reader | writer |
//! |---|---|---|
//! | BEIR `corpus.jsonl` | [`Corpus::read_beir`], [`Corpus::read`] | [`Corpus::write_beir`] |
//! | BEIR `queries.jsonl` | [`Queries::read_beir`], [`Queries::read`] | [`Queries::write_beir`] |
//! | BEIR dataset dir | [`BeirDataset::load`] | |
//! | qrels (BEIR tsv / TREC) | [`Qrels::read`], [`Qrels::read_checked`] | [`Qrels::write`] |
//! | TREC run | [`Run::read`] | [`Run::write`] |
//! | FlagEmbedding jsonl | [`read_flag_jsonl`] | [`write_flag_jsonl`] |
//! | MS MARCO collection / queries tsv | [`Corpus::read_msmarco`], [`Queries::read_msmarco`] | `write_msmarco` |
//! | MS MARCO triples tsv | [`read_msmarco_triples`], [`read_triples`] | [`write_msmarco_triples`] |
//! | labeled pairs | [`read_labeled_pairs`] | [`write_jsonl`] |
//! | jsonl of named string fields (the CLI's `predict`/`embed`/`bench` inputs) | [`read_string_fields`] | [`write_jsonl`] |
//! | any jsonl/csv/tsv/parquet/Arrow IPC table with named columns (corpus, queries, triples, labeled pairs) | the `read` functions with [`TableOptions`] | [`write_jsonl`], [`write_csv`], [`write_tsv`] |
//! | training files: sentence-transformers triplets / n-tuples / pairs / labeled pairs / MarginMSE / labeled lists, FlagEmbedding; any of the table formats | [`TrainingFile::open`] with [`TrainingColumns`] (a [`TrainingSource`] read in blocks) | [`write_flag_jsonl`], [`write_jsonl`] |

pub mod atomic;
pub mod beir;
mod columnar;
pub mod corpus;
pub mod error;
pub mod flag;
mod id_lookup;
mod jsonl;
mod lines;
pub mod mode;
pub mod pairs;
pub mod qrels;
pub mod queries;
pub mod run;
pub mod table;
pub mod training;
pub mod training_file;
pub mod write;

pub use atomic::{check_writable, write_atomic, AtomicFile};
pub use beir::BeirDataset;
pub use corpus::{Corpus, CorpusColumns, Document};
pub use error::{DataError, Result};
pub use flag::{read_flag_jsonl, write_flag_jsonl, FlagExample};
pub use id_lookup::IdLookup;
pub use jsonl::read_string_fields;
pub use mode::{Loaded, ReadMode, SkipReport};
pub use pairs::{
    read_labeled_pairs, read_msmarco_triples, read_triples, write_msmarco_triples, LabeledPair,
    PairColumns, Triple, TripleColumns,
};
pub use qrels::{Qrels, QrelsCheck};
pub use queries::{Queries, Query, QueryColumns};
pub use run::{sort_trec, Run, ScoredDoc};
pub use table::{Row, TableFormat, TableOptions};
pub use training::{InMemoryTraining, SourcedRecord, TrainingRecord, TrainingSource};
pub use training_file::{TrainingColumns, TrainingFile, TrainingLayout};
pub use write::{write_csv, write_jsonl, write_tsv};
