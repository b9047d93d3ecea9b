//! Training tuples as tables: MS MARCO style triples (`query<TAB>positive<TAB>negative`, no
//! header) and labeled pairs (`query`, `document`, `label`), from jsonl/csv/tsv with named
//! columns.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::mode::{Issues, Loaded, ReadMode};
use crate::table::{read_rows, TableOptions};
use crate::write::write_tsv;

/// A query with one relevant and one non-relevant passage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Triple {
    pub query: String,
    pub positive: String,
    pub negative: String,
}

/// Which columns hold a triple. Defaults: `query`, `positive`, `negative`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TripleColumns {
    pub query: String,
    pub positive: String,
    pub negative: String,
}

impl Default for TripleColumns {
    fn default() -> Self {
        Self {
            query: "query".into(),
            positive: "positive".into(),
            negative: "negative".into(),
        }
    }
}

/// Reads triples from any jsonl/csv/tsv table; a file without a single triple is an error.
pub fn read_triples(
    path: impl AsRef<Path>,
    options: &TableOptions,
    columns: &TripleColumns,
) -> Result<Loaded<Vec<Triple>>> {
    let path = path.as_ref();
    let mut issues = Issues::new(options.mode);
    let mut triples = Vec::new();
    let required = [
        columns.query.as_str(),
        columns.positive.as_str(),
        columns.negative.as_str(),
    ];
    read_rows(path, options, &required, &[], &mut issues, |row| {
        triples.push(Triple {
            query: row.text(&columns.query)?,
            positive: row.text(&columns.positive)?,
            negative: row.text(&columns.negative)?,
        });
        Ok(())
    })?;
    let empty = triples.is_empty();
    issues.finish_nonempty(path, triples, empty)
}

/// Reads MS MARCO `triples.train.small.tsv`: `query<TAB>positive<TAB>negative`, no header.
pub fn read_msmarco_triples(path: impl AsRef<Path>, mode: ReadMode) -> Result<Loaded<Vec<Triple>>> {
    let columns = TripleColumns {
        query: "0".into(),
        positive: "1".into(),
        negative: "2".into(),
    };
    read_triples(path, &TableOptions::headerless_tsv(mode), &columns)
}

/// Writes `query<TAB>positive<TAB>negative` lines without a header.
pub fn write_msmarco_triples(path: impl AsRef<Path>, triples: &[Triple]) -> Result<()> {
    write_tsv(
        path,
        None,
        triples
            .iter()
            .map(|t| [t.query.as_str(), t.positive.as_str(), t.negative.as_str()]),
    )
}

/// A (query, document) pair with a relevance label or score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabeledPair {
    pub query: String,
    pub document: String,
    pub label: f64,
}

/// Which columns hold a labeled pair. Defaults: `query`, `document`, `label`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PairColumns {
    pub query: String,
    pub document: String,
    pub label: String,
}

impl Default for PairColumns {
    fn default() -> Self {
        Self {
            query: "query".into(),
            document: "document".into(),
            label: "label".into(),
        }
    }
}

/// Reads labeled pairs from any jsonl/csv/tsv table; the label must be a number. A file
/// without a single pair is an error.
pub fn read_labeled_pairs(
    path: impl AsRef<Path>,
    options: &TableOptions,
    columns: &PairColumns,
) -> Result<Loaded<Vec<LabeledPair>>> {
    let path = path.as_ref();
    let mut issues = Issues::new(options.mode);
    let mut pairs = Vec::new();
    let required = [
        columns.query.as_str(),
        columns.document.as_str(),
        columns.label.as_str(),
    ];
    read_rows(path, options, &required, &[], &mut issues, |row| {
        pairs.push(LabeledPair {
            query: row.text(&columns.query)?,
            document: row.text(&columns.document)?,
            label: row.number(&columns.label)?,
        });
        Ok(())
    })?;
    let empty = pairs.is_empty();
    issues.finish_nonempty(path, pairs, empty)
}
