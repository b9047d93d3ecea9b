//! Documents: BEIR `corpus.jsonl` (`{"_id","title","text",...}`), MS MARCO `collection.tsv`
//! (`id<TAB>text`, no header), or any jsonl/csv/tsv table with named columns.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::id_lookup::IdLookup;
use crate::mode::{Issues, Loaded, ReadMode};
use crate::table::{read_rows, TableFormat, TableOptions};
use crate::write::{write_jsonl, write_tsv};

/// One document. `title` is empty when the source has none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(default)]
    pub title: String,
    pub text: String,
}

impl Document {
    pub fn new(id: impl Into<String>, title: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            title: title.into(),
            text: text.into(),
        }
    }

    /// `title + " " + text` (just `text` when there is no title): what BM25 indexes and what
    /// BEIR feeds to models.
    pub fn full_text(&self) -> String {
        if self.title.is_empty() {
            self.text.clone()
        } else {
            format!("{} {}", self.title, self.text)
        }
    }
}

/// Which columns hold a document's fields. Defaults are BEIR's: `_id`, `title`, `text`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorpusColumns {
    /// Document id column (default `_id`). Strings or integers.
    pub id: String,
    /// Title column (default `title`); optional in every row; `None` to ignore titles.
    pub title: Option<String>,
    /// Text column (default `text`).
    pub text: String,
}

impl Default for CorpusColumns {
    fn default() -> Self {
        Self {
            id: "_id".into(),
            title: Some("title".into()),
            text: "text".into(),
        }
    }
}

/// Documents in file order, with lookup by id. Ids are unique.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Corpus {
    documents: Vec<Document>,
    positions: HashMap<String, usize>,
}

impl Corpus {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a document; a duplicate id is refused and returned as `Err(document)`.
    pub fn push(&mut self, document: Document) -> std::result::Result<(), Document> {
        if self.positions.contains_key(&document.id) {
            return Err(document);
        }
        self.positions
            .insert(document.id.clone(), self.documents.len());
        self.documents.push(document);
        Ok(())
    }

    pub fn get(&self, id: &str) -> Option<&Document> {
        self.positions.get(id).map(|&i| &self.documents[i])
    }

    /// Position of a document in file order.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.positions.get(id).copied()
    }

    pub fn contains(&self, id: &str) -> bool {
        self.positions.contains_key(id)
    }

    pub fn documents(&self) -> &[Document] {
        &self.documents
    }

    pub fn iter(&self) -> impl Iterator<Item = &Document> {
        self.documents.iter()
    }

    pub fn len(&self) -> usize {
        self.documents.len()
    }

    pub fn is_empty(&self) -> bool {
        self.documents.is_empty()
    }

    /// Reads any jsonl/csv/tsv table. Missing id or text, a non-string text, or a duplicate id
    /// is an error at that line (or a skipped record in [`ReadMode::Skip`]). A file without a
    /// single document is an error ([`crate::DataError::no_records`]).
    pub fn read(
        path: impl AsRef<Path>,
        options: &TableOptions,
        columns: &CorpusColumns,
    ) -> Result<Loaded<Corpus>> {
        let path = path.as_ref();
        let mut issues = Issues::new(options.mode);
        let mut corpus = Corpus::new();
        let required = [columns.id.as_str(), columns.text.as_str()];
        let optional: Vec<&str> = columns.title.as_deref().into_iter().collect();
        read_rows(path, options, &required, &optional, &mut issues, |row| {
            let id = row.id(&columns.id)?;
            let title = match &columns.title {
                Some(column) => row.optional_text(column)?.unwrap_or_default(),
                None => String::new(),
            };
            let text = row.text(&columns.text)?;
            if let Some(first) = corpus.position(&id) {
                return Err(row.error(
                    &columns.id,
                    format!(
                        "duplicate document id `{id}` (first seen as document {})",
                        first + 1
                    ),
                ));
            }
            let _ = corpus.push(Document { id, title, text });
            Ok(())
        })?;
        let empty = corpus.is_empty();
        issues.finish_nonempty(path, corpus, empty)
    }

    /// Reads BEIR `corpus.jsonl` (or the parquet / Arrow IPC form Hugging Face ships, by
    /// extension: [`TableFormat::beir`]), strictly.
    pub fn read_beir(path: impl AsRef<Path>) -> Result<Corpus> {
        let path = path.as_ref();
        let options = TableOptions {
            format: TableFormat::beir(path),
            ..TableOptions::default()
        };
        Self::read(path, &options, &CorpusColumns::default()).map(Loaded::into_data)
    }

    /// Reads an MS MARCO style collection: `id<TAB>text`, no header.
    pub fn read_msmarco(path: impl AsRef<Path>, mode: ReadMode) -> Result<Loaded<Corpus>> {
        let columns = CorpusColumns {
            id: "0".into(),
            title: None,
            text: "1".into(),
        };
        Self::read(path, &TableOptions::headerless_tsv(mode), &columns)
    }

    /// Writes BEIR `corpus.jsonl` (`_id`, `title`, `text`).
    pub fn write_beir(&self, path: impl AsRef<Path>) -> Result<()> {
        write_jsonl(path, &self.documents)
    }

    /// Writes `id<TAB>text` lines (title and text joined by a space, as [`Document::full_text`]).
    pub fn write_msmarco(&self, path: impl AsRef<Path>) -> Result<()> {
        let texts: Vec<String> = self.documents.iter().map(Document::full_text).collect();
        write_tsv(
            path,
            None,
            self.documents
                .iter()
                .zip(&texts)
                .map(|(d, t)| [d.id.as_str(), t.as_str()]),
        )
    }
}

impl IdLookup for Corpus {
    fn contains_id(&self, id: &str) -> bool {
        self.contains(id)
    }
}
