//! Queries: BEIR `queries.jsonl` (`{"_id","text",...}`), MS MARCO `queries.tsv`
//! (`id<TAB>text`, no header), or any jsonl/csv/tsv table with named columns.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::id_lookup::IdLookup;
use crate::mode::{Issues, Loaded, ReadMode};
use crate::table::{read_rows, TableFormat, TableOptions};
use crate::write::{write_jsonl, write_tsv};

/// One query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Query {
    #[serde(rename = "_id")]
    pub id: String,
    pub text: String,
}

impl Query {
    pub fn new(id: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            text: text.into(),
        }
    }
}

/// Which columns hold a query's fields. Defaults are BEIR's: `_id`, `text`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueryColumns {
    /// Query id column (default `_id`). Strings or integers.
    pub id: String,
    /// Text column (default `text`).
    pub text: String,
}

impl Default for QueryColumns {
    fn default() -> Self {
        Self {
            id: "_id".into(),
            text: "text".into(),
        }
    }
}

/// Queries in file order, with lookup by id. Ids are unique.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Queries {
    queries: Vec<Query>,
    positions: HashMap<String, usize>,
}

impl Queries {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a query; a duplicate id is refused and returned as `Err(query)`.
    pub fn push(&mut self, query: Query) -> std::result::Result<(), Query> {
        if self.positions.contains_key(&query.id) {
            return Err(query);
        }
        self.positions.insert(query.id.clone(), self.queries.len());
        self.queries.push(query);
        Ok(())
    }

    pub fn get(&self, id: &str) -> Option<&Query> {
        self.positions.get(id).map(|&i| &self.queries[i])
    }

    pub fn contains(&self, id: &str) -> bool {
        self.positions.contains_key(id)
    }

    pub fn queries(&self) -> &[Query] {
        &self.queries
    }

    pub fn iter(&self) -> impl Iterator<Item = &Query> {
        self.queries.iter()
    }

    pub fn len(&self) -> usize {
        self.queries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queries.is_empty()
    }

    /// The queries for which `keep` holds, in file order (e.g. those judged in a qrels split).
    pub fn filtered(&self, mut keep: impl FnMut(&Query) -> bool) -> Queries {
        let mut out = Queries::new();
        for query in self.queries.iter().filter(|q| keep(q)) {
            let _ = out.push(query.clone());
        }
        out
    }

    /// `(id, text)` pairs, the shape retrievers take.
    pub fn pairs(&self) -> Vec<(&str, &str)> {
        self.queries
            .iter()
            .map(|q| (q.id.as_str(), q.text.as_str()))
            .collect()
    }

    /// Reads any jsonl/csv/tsv table. Missing or non-string fields and duplicate ids are errors
    /// at their line (or skipped records in [`ReadMode::Skip`]). A file without a single query
    /// is an error ([`crate::DataError::no_records`]).
    pub fn read(
        path: impl AsRef<Path>,
        options: &TableOptions,
        columns: &QueryColumns,
    ) -> Result<Loaded<Queries>> {
        let path = path.as_ref();
        let mut issues = Issues::new(options.mode);
        let mut queries = Queries::new();
        let required = [columns.id.as_str(), columns.text.as_str()];
        read_rows(path, options, &required, &[], &mut issues, |row| {
            let id = row.id(&columns.id)?;
            let text = row.text(&columns.text)?;
            queries
                .push(Query { id, text })
                .map_err(|q| row.error(&columns.id, format!("duplicate query id `{}`", q.id)))
        })?;
        let empty = queries.is_empty();
        issues.finish_nonempty(path, queries, empty)
    }

    /// Reads BEIR `queries.jsonl` (or the parquet / Arrow IPC form Hugging Face ships, by
    /// extension: [`TableFormat::beir`]), strictly.
    pub fn read_beir(path: impl AsRef<Path>) -> Result<Queries> {
        let path = path.as_ref();
        let options = TableOptions {
            format: TableFormat::beir(path),
            ..TableOptions::default()
        };
        Self::read(path, &options, &QueryColumns::default()).map(Loaded::into_data)
    }

    /// Reads MS MARCO style queries: `id<TAB>text`, no header.
    pub fn read_msmarco(path: impl AsRef<Path>, mode: ReadMode) -> Result<Loaded<Queries>> {
        let columns = QueryColumns {
            id: "0".into(),
            text: "1".into(),
        };
        Self::read(path, &TableOptions::headerless_tsv(mode), &columns)
    }

    /// Writes BEIR `queries.jsonl` (`_id`, `text`).
    pub fn write_beir(&self, path: impl AsRef<Path>) -> Result<()> {
        write_jsonl(path, &self.queries)
    }

    /// Writes `id<TAB>text` lines.
    pub fn write_msmarco(&self, path: impl AsRef<Path>) -> Result<()> {
        write_tsv(
            path,
            None,
            self.queries
                .iter()
                .map(|q| [q.id.as_str(), q.text.as_str()]),
        )
    }
}

impl IdLookup for Queries {
    fn contains_id(&self, id: &str) -> bool {
        self.contains(id)
    }
}
