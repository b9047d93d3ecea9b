//! Training files in the layouts of sentence-transformers' trainers and FlagEmbedding, read as
//! [`TrainingRecord`]s in blocks of rows that can be read in any order ([`TrainingFile`]).
//!
//! | layout | columns (defaults) | record |
//! |---|---|---|
//! | `triplets` | `query` (or `anchor`), `positive`, optional `negative` and/or `negative_1..negative_n`, optional `score` | the positive (label 1), then the negatives (label 0); `score`: a MarginMSE margin (one negative), n margins, or n + 1 scores aligned with the documents |
//! | `pairs` | `query` (or `anchor`), `document` (or `positive`), `label` | one document with its label (a number or a boolean; a positive when above 0); `score`, if present, is its teacher score |
//! | `lists` | `query` (or `anchor`), `documents` (or `docs`), `labels`, optional `score` list | the documents with their labels (positives, label above 0, moved first, order otherwise kept), at least one positive |
//! | `flag` | `query`, `pos`, optional `neg`, `pos_scores`, `neg_scores`, `prompt` | positives (label 1), then negatives (label 0), teacher scores from `pos_scores` + `neg_scores`, `prompt` prepended to the query |
//!
//! The layout is detected from the columns (`auto`, the default): `pos` → flag, a document
//! list → lists, a label with a document → pairs, a positive → triplets; a file that fits none
//! is an error listing its columns. Column names are overridable ([`TrainingColumns`], the
//! `[data.columns]` table of a run config); each key takes a name or a list of names tried in
//! order.
//!
//! FlagEmbedding's `prompt`: its embedder trainer builds the query as
//! `query_instruction_format.format(prompt, query)`, with the format `"{}{}"` by default, i.e.
//! the prompt concatenated in front of the query as is (no separator added). rankforge does the
//! same whenever a row has a non-null prompt (FlagEmbedding applies it only when an instruction
//! is configured; set `prompt = []` to ignore the column).
//!
//! jsonl, csv and tsv are read by the line readers: [`TrainingFile::open`] reads the file once,
//! validating every row and keeping only the byte offset of each block's first record, and
//! [`TrainingSource::read_block`] seeks there; reported lines are file lines. Parquet and Arrow
//! IPC take the row count from the file's metadata, and a block is a row range read with
//! projection (only the layout's columns). A bad row is an error naming file, line/row and
//! column ([`ReadMode::Strict`]: at open for text, when its block is read for parquet/IPC),
//! or is skipped and reported by [`TrainingFile::skipped`] ([`ReadMode::Skip`]: every format
//! is read once at open then); blocks then hold `block_rows` good records each.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::columnar::{ColumnarFile, Flow};
use crate::error::{DataError, Result};
use crate::mode::{Issues, ReadMode, SkipReport};
use crate::table::{kind, read_text, Row, TableFormat, TableOptions, TextStart};
use crate::training::{SourcedRecord, TrainingRecord, TrainingSource};

/// How a training file's columns make a record (see the [module docs](self)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrainingLayout {
    /// Detected from the columns present (the default).
    #[default]
    Auto,
    /// sentence-transformers (anchor, positive[, negative | negative_1..n][, score]).
    Triplets,
    /// sentence-transformers labeled pairs (query, document, label).
    Pairs,
    /// sentence-transformers labeled lists (query, documents, labels[, score]).
    Lists,
    /// FlagEmbedding (query, pos, neg, pos_scores, neg_scores, prompt).
    Flag,
}

/// The column names of a training file, for every layout (the `[data.columns]` table of a run
/// config). Each field takes a column name or a list of names tried in order (the first one a
/// row has is used); an empty list turns an optional column off. Defaults follow
/// sentence-transformers and FlagEmbedding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainingColumns {
    /// `auto` (default: detected from the columns), `triplets`, `pairs`, `lists` or `flag`.
    pub layout: TrainingLayout,
    /// The query (every layout); default `["query", "anchor"]`.
    #[serde(deserialize_with = "names")]
    pub query: Vec<String>,
    /// Triplets: the positive document; default `["positive"]`.
    #[serde(deserialize_with = "names")]
    pub positive: Vec<String>,
    /// Triplets: the negative document(s): a column of this name, and every column named
    /// `<name>_<n>` (`negative_1`, `negative_2`, ...), in order of `n`; default `["negative"]`.
    #[serde(deserialize_with = "names")]
    pub negative: Vec<String>,
    /// Pairs: the document; default `["document", "positive"]`.
    #[serde(deserialize_with = "names")]
    pub document: Vec<String>,
    /// Pairs: the label (a number or a boolean; a grade is kept as a float); default
    /// `["label"]`.
    #[serde(deserialize_with = "names")]
    pub label: Vec<String>,
    /// Teacher scores: for triplets, a MarginMSE margin (positive minus negative) with one
    /// negative, a list of margins (one per negative) or a list of scores aligned with
    /// [positive, negatives...]; for pairs, the document's score; for lists, a list aligned
    /// with the documents. Default `["score", "scores"]`.
    #[serde(deserialize_with = "names")]
    pub score: Vec<String>,
    /// Lists: the document list; default `["documents", "docs"]`.
    #[serde(deserialize_with = "names")]
    pub documents: Vec<String>,
    /// Lists: the label list, aligned with the documents; default `["labels"]`.
    #[serde(deserialize_with = "names")]
    pub labels: Vec<String>,
    /// FlagEmbedding: the positive list; default `["pos"]`.
    #[serde(deserialize_with = "names")]
    pub pos: Vec<String>,
    /// FlagEmbedding: the negative list (optional); default `["neg"]`.
    #[serde(deserialize_with = "names")]
    pub neg: Vec<String>,
    /// FlagEmbedding: teacher scores of the positives; default `["pos_scores"]`.
    #[serde(deserialize_with = "names")]
    pub pos_scores: Vec<String>,
    /// FlagEmbedding: teacher scores of the negatives; default `["neg_scores"]`.
    #[serde(deserialize_with = "names")]
    pub neg_scores: Vec<String>,
    /// FlagEmbedding: an instruction prepended to the query as is; default `["prompt"]`.
    #[serde(deserialize_with = "names")]
    pub prompt: Vec<String>,
}

impl Default for TrainingColumns {
    fn default() -> Self {
        let v = |names: &[&str]| names.iter().map(|n| n.to_string()).collect();
        Self {
            layout: TrainingLayout::Auto,
            query: v(&["query", "anchor"]),
            positive: v(&["positive"]),
            negative: v(&["negative"]),
            document: v(&["document", "positive"]),
            label: v(&["label"]),
            score: v(&["score", "scores"]),
            documents: v(&["documents", "docs"]),
            labels: v(&["labels"]),
            pos: v(&["pos"]),
            neg: v(&["neg"]),
            pos_scores: v(&["pos_scores"]),
            neg_scores: v(&["neg_scores"]),
            prompt: v(&["prompt"]),
        }
    }
}

/// A column name or a list of them.
fn names<'de, D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Names {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Names::deserialize(deserializer)? {
        Names::One(name) => vec![name],
        Names::Many(names) => names,
    })
}

impl TrainingColumns {
    /// The layout the columns `present` fit: the configured one, or for `auto`, the first of
    /// flag (`pos`), lists (a document list), pairs (a label and a document), triplets (a
    /// positive). `None` when `auto` finds none.
    pub fn detect(&self, present: &[String]) -> Option<TrainingLayout> {
        if self.layout != TrainingLayout::Auto {
            return Some(self.layout);
        }
        let has = |names: &[String]| names.iter().any(|n| present.contains(n));
        if has(&self.pos) {
            Some(TrainingLayout::Flag)
        } else if has(&self.documents) {
            Some(TrainingLayout::Lists)
        } else if has(&self.label) && has(&self.document) {
            Some(TrainingLayout::Pairs)
        } else if has(&self.positive) {
            Some(TrainingLayout::Triplets)
        } else {
            None
        }
    }

    /// The column lists a `layout` needs (one of each list).
    fn required(&self, layout: TrainingLayout) -> Vec<&[String]> {
        let mut out: Vec<&[String]> = vec![&self.query];
        match layout {
            TrainingLayout::Triplets => out.push(&self.positive),
            TrainingLayout::Pairs => out.extend([&self.document[..], &self.label]),
            TrainingLayout::Lists => out.extend([&self.documents[..], &self.labels]),
            TrainingLayout::Flag => out.push(&self.pos),
            TrainingLayout::Auto => {}
        }
        out
    }

    /// Every column `layout` may read, among `present` (a projection).
    fn wanted<'a>(&'a self, layout: TrainingLayout, present: &'a [String]) -> Vec<&'a str> {
        let mut lists: Vec<&[String]> = vec![&self.query];
        match layout {
            TrainingLayout::Triplets => lists.extend([&self.positive[..], &self.score]),
            TrainingLayout::Pairs => lists.extend([&self.document[..], &self.label, &self.score]),
            TrainingLayout::Lists => lists.extend([&self.documents[..], &self.labels, &self.score]),
            TrainingLayout::Flag => lists.extend([
                &self.pos[..],
                &self.neg,
                &self.pos_scores,
                &self.neg_scores,
                &self.prompt,
            ]),
            TrainingLayout::Auto => {}
        }
        let mut wanted: Vec<&str> = lists
            .iter()
            .flat_map(|names| names.iter())
            .filter(|n| present.contains(n))
            .map(String::as_str)
            .collect();
        if layout == TrainingLayout::Triplets {
            wanted.extend(
                present
                    .iter()
                    .filter(|c| negative_rank(&self.negative, c).is_some())
                    .map(String::as_str),
            );
        }
        wanted
    }

    /// The record of one row in `layout` (resolved, not `auto`).
    fn record(&self, layout: TrainingLayout, row: &mut Row) -> Result<TrainingRecord> {
        let query = required_text(row, &self.query)?;
        match layout {
            TrainingLayout::Triplets => self.triplet(row, query),
            TrainingLayout::Pairs => self.pair(row, query),
            TrainingLayout::Lists => self.list(row, query),
            TrainingLayout::Flag => self.flag(row, query),
            TrainingLayout::Auto => unreachable!("the layout is resolved at open"),
        }
    }

    fn triplet(&self, row: &mut Row, query: String) -> Result<TrainingRecord> {
        let positive = required_text(row, &self.positive)?;
        let mut negatives: Vec<(usize, String)> = row
            .column_names()
            .into_iter()
            .filter_map(|c| negative_rank(&self.negative, &c).map(|rank| (rank, c)))
            .collect();
        negatives.sort();
        let mut documents = vec![positive];
        for (_, column) in &negatives {
            let text = row.optional_text(column)?;
            documents.push(text.ok_or_else(|| row.error(column, "missing"))?);
        }
        let n = negatives.len();
        let teacher_scores = match first_present(row, &self.score) {
            None => None,
            Some(column) => match score_value(row, &column)? {
                None => None,
                Some(Score::One(margin)) if n == 1 => Some(vec![margin, 0.0]),
                Some(Score::One(_)) => {
                    return Err(row.error(
                        &column,
                        format!("one margin for {n} negatives: give a list of {n} margins or {} scores", n + 1),
                    ))
                }
                Some(Score::Many(scores)) if scores.len() == n + 1 => Some(scores),
                Some(Score::Many(margins)) if margins.len() == n && n > 0 => {
                    // Margins positive - negative_i: the positive scores the largest margin,
                    // each negative that minus its own (one negative: [m, 0]).
                    let top = margins.iter().copied().fold(f32::MIN, f32::max);
                    Some(
                        std::iter::once(top)
                            .chain(margins.iter().map(|m| top - m))
                            .collect(),
                    )
                }
                Some(Score::Many(scores)) => {
                    return Err(row.error(
                        &column,
                        format!(
                            "{} scores for 1 positive and {n} negatives (expected {n} margins or {} scores)",
                            scores.len(),
                            n + 1
                        ),
                    ))
                }
            },
        };
        let mut labels = vec![0.0; documents.len()];
        labels[0] = 1.0;
        Ok(TrainingRecord {
            query,
            documents,
            labels,
            teacher_scores,
            positives: 1,
        })
    }

    fn pair(&self, row: &mut Row, query: String) -> Result<TrainingRecord> {
        let document = required_text(row, &self.document)?;
        let column = first_present(row, &self.label)
            .ok_or_else(|| row.error(first_name(&self.label), "missing"))?;
        let label = grade(row, &column)?.ok_or_else(|| row.error(&column, "missing"))?;
        let teacher_scores = match first_present(row, &self.score) {
            None => None,
            Some(column) => match score_value(row, &column)? {
                None => None,
                Some(Score::One(score)) => Some(vec![score]),
                Some(Score::Many(_)) => {
                    return Err(row.error(&column, "expected one score for the pair, found a list"))
                }
            },
        };
        Ok(TrainingRecord {
            query,
            documents: vec![document],
            labels: vec![label],
            teacher_scores,
            positives: usize::from(label > 0.0),
        })
    }

    fn list(&self, row: &mut Row, query: String) -> Result<TrainingRecord> {
        let column = first_present(row, &self.documents)
            .ok_or_else(|| row.error(first_name(&self.documents), "missing"))?;
        let documents = row
            .optional_text_list(&column)?
            .ok_or_else(|| row.error(&column, "missing"))?;
        if documents.is_empty() {
            return Err(row.error(&column, "no documents"));
        }
        let labels_column = first_present(row, &self.labels)
            .ok_or_else(|| row.error(first_name(&self.labels), "missing"))?;
        let labels =
            grade_list(row, &labels_column)?.ok_or_else(|| row.error(&labels_column, "missing"))?;
        if labels.len() != documents.len() {
            return Err(row.error(
                &labels_column,
                format!("{} labels for {} documents", labels.len(), documents.len()),
            ));
        }
        let scores = match first_present(row, &self.score) {
            None => None,
            Some(column) => match score_value(row, &column)? {
                None => None,
                Some(Score::Many(scores)) if scores.len() == documents.len() => Some(scores),
                Some(Score::Many(scores)) => {
                    return Err(row.error(
                        &column,
                        format!("{} scores for {} documents", scores.len(), documents.len()),
                    ))
                }
                Some(Score::One(_)) => {
                    return Err(row.error(
                        &column,
                        "expected a list of scores aligned with the documents, found a number",
                    ))
                }
            },
        };
        let positives = labels.iter().filter(|&&l| l > 0.0).count();
        if positives == 0 {
            return Err(row.error(&labels_column, "no document with a label above 0"));
        }
        // Positives first (stable), as every record has them.
        let mut order: Vec<usize> = (0..documents.len()).collect();
        order.sort_by_key(|&i| labels[i] <= 0.0);
        let mut documents: Vec<Option<String>> = documents.into_iter().map(Some).collect();
        Ok(TrainingRecord {
            query,
            documents: order
                .iter()
                .map(|&i| documents[i].take().unwrap())
                .collect(),
            labels: order.iter().map(|&i| labels[i]).collect(),
            teacher_scores: scores.map(|s| order.iter().map(|&i| s[i]).collect()),
            positives,
        })
    }

    fn flag(&self, row: &mut Row, query: String) -> Result<TrainingRecord> {
        let pos_column = first_present(row, &self.pos)
            .ok_or_else(|| row.error(first_name(&self.pos), "missing"))?;
        let pos = row
            .optional_text_list(&pos_column)?
            .ok_or_else(|| row.error(&pos_column, "missing"))?;
        if pos.is_empty() {
            return Err(row.error(&pos_column, "no positive passages"));
        }
        let neg = match first_present(row, &self.neg) {
            Some(column) => row.optional_text_list(&column)?.unwrap_or_default(),
            None => Vec::new(),
        };
        let mut lists = Vec::new();
        for (names, passages, what) in [
            (&self.pos_scores, pos.len(), "positive"),
            (&self.neg_scores, neg.len(), "negative"),
        ] {
            let column = first_present(row, names);
            let scores = match &column {
                Some(column) => row.optional_number_list(column)?,
                None => None,
            };
            if let (Some(column), Some(scores)) = (&column, &scores) {
                if scores.len() != passages {
                    return Err(row.error(
                        column,
                        format!("{} scores for {passages} {what} passages", scores.len()),
                    ));
                }
            }
            lists.push((first_name(names).to_string(), passages, scores));
        }
        let teacher_scores = match (&lists[0].2, &lists[1].2) {
            (None, None) => None,
            (Some(p), Some(n)) => Some(p.iter().chain(n).map(|&s| s as f32).collect()),
            (Some(p), None) if lists[1].1 == 0 => Some(p.iter().map(|&s| s as f32).collect()),
            _ => {
                let (missing, other) = if lists[0].2.is_none() {
                    (&lists[0].0, &lists[1].0)
                } else {
                    (&lists[1].0, &lists[0].0)
                };
                return Err(row.error(
                    missing,
                    format!("missing while `{other}` is given (teacher scores need both)"),
                ));
            }
        };
        let prompt = match first_present(row, &self.prompt) {
            Some(column) => row.optional_text(&column)?,
            None => None,
        };
        let query = match prompt {
            Some(prompt) => format!("{prompt}{query}"),
            None => query,
        };
        let positives = pos.len();
        let mut labels = vec![1.0; positives];
        labels.resize(positives + neg.len(), 0.0);
        Ok(TrainingRecord {
            query,
            documents: pos.into_iter().chain(neg).collect(),
            labels,
            teacher_scores,
            positives,
        })
    }
}

/// The rank of a negative column: 0 for the plain name, `n` for `<name>_<n>`.
fn negative_rank(names: &[String], column: &str) -> Option<usize> {
    names.iter().find_map(|name| {
        if column == name {
            return Some(0);
        }
        let n: usize = column
            .strip_prefix(name.as_str())?
            .strip_prefix('_')?
            .parse()
            .ok()?;
        Some(n)
    })
}

fn first_name(names: &[String]) -> &str {
    names.first().map(String::as_str).unwrap_or("?")
}

fn first_present(row: &Row, names: &[String]) -> Option<String> {
    names.iter().find(|n| row.has(n)).cloned()
}

/// The text of the first of `names` the row has; an error naming the first name if none.
fn required_text(row: &mut Row, names: &[String]) -> Result<String> {
    match first_present(row, names) {
        Some(column) => row.text(&column),
        None => Err(row.error(first_name(names), "missing")),
    }
}

/// A label: a finite number or a boolean (1 / 0); in csv/tsv a cell that parses as one.
fn grade(row: &mut Row, column: &str) -> Result<Option<f32>> {
    let flat = row.is_flat();
    let value = match row.take_value(column)? {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if flat && s.trim().is_empty() => return Ok(None),
        Some(Value::Bool(b)) => f64::from(u8::from(b)),
        Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
        Some(Value::String(s)) if flat => match s.trim() {
            "true" | "True" => 1.0,
            "false" | "False" => 0.0,
            t => t
                .parse::<f64>()
                .map_err(|_| row.error(column, format!("`{s}` is not a number")))?,
        },
        Some(other) => {
            return Err(row.error(
                column,
                format!("expected a number or a boolean, found {}", kind(&other)),
            ))
        }
    };
    if !value.is_finite() {
        return Err(row.error(column, "number is not finite"));
    }
    Ok(Some(value as f32))
}

/// A list of labels (finite numbers or booleans).
fn grade_list(row: &mut Row, column: &str) -> Result<Option<Vec<f32>>> {
    let Some(items) = row.take_list(column)? else {
        return Ok(None);
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let value = match &item {
                Value::Bool(b) => f64::from(u8::from(*b)),
                Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
                other => {
                    return Err(row.error(
                        column,
                        format!(
                            "item {i}: expected a number or a boolean, found {}",
                            kind(other)
                        ),
                    ))
                }
            };
            if !value.is_finite() {
                return Err(row.error(column, format!("item {i}: number is not finite")));
            }
            Ok(value as f32)
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

enum Score {
    One(f32),
    Many(Vec<f32>),
}

/// A teacher score cell: a number or a list of numbers (in csv/tsv, a number or a JSON array).
fn score_value(row: &mut Row, column: &str) -> Result<Option<Score>> {
    let flat = row.is_flat();
    let value = match row.take_value(column)? {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if flat && s.trim().is_empty() => return Ok(None),
        Some(Value::String(s)) if flat && s.trim_start().starts_with('[') => {
            serde_json::from_str::<Value>(&s)
                .map_err(|_| row.error(column, "expected a JSON array in the cell"))?
        }
        Some(Value::String(s)) if flat => {
            let v: f64 = s
                .trim()
                .parse()
                .map_err(|_| row.error(column, format!("`{s}` is not a number")))?;
            serde_json::Number::from_f64(v)
                .map(Value::Number)
                .ok_or_else(|| row.error(column, "number is not finite"))?
        }
        Some(value) => value,
    };
    let number = |row: &Row, v: &Value, at: Option<usize>| -> Result<f32> {
        let item = at.map(|i| format!("item {i}: ")).unwrap_or_default();
        match v.as_f64() {
            Some(x) if x.is_finite() => Ok(x as f32),
            Some(_) => Err(row.error(column, format!("{item}number is not finite"))),
            None => Err(row.error(
                column,
                format!("{item}expected a number, found {}", kind(v)),
            )),
        }
    };
    match &value {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| number(row, v, Some(i)))
            .collect::<Result<Vec<_>>>()
            .map(|s| Some(Score::Many(s))),
        other => number(row, other, None).map(|s| Some(Score::One(s))),
    }
}

/// Where a block starts: a text record (byte offset, lines before it) or a row range of a
/// columnar file (0-based, end exclusive).
#[derive(Debug, Clone, Copy)]
enum Block {
    Text { offset: u64, lines_before: usize },
    Rows { start: usize, end: usize },
}

enum Body {
    Text {
        format: TableFormat,
        header: bool,
        columns: Option<Arc<HashMap<String, usize>>>,
    },
    Columnar {
        file: ColumnarFile,
        projection: Vec<String>,
    },
}

/// A training file read as a [`TrainingSource`]: jsonl, csv or tsv (with a header), parquet
/// or Arrow IPC, in any layout of [`TrainingColumns`]. Holds the block index, never the
/// records.
pub struct TrainingFile {
    path: PathBuf,
    columns: TrainingColumns,
    layout: TrainingLayout,
    mode: ReadMode,
    block_rows: usize,
    rows: usize,
    blocks: Vec<Block>,
    skipped: Vec<DataError>,
    body: Body,
}

impl std::fmt::Debug for TrainingFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrainingFile")
            .field("path", &self.path)
            .field("layout", &self.layout)
            .field("rows", &self.rows)
            .field("block_rows", &self.block_rows)
            .field("skipped", &self.skipped.len())
            .finish()
    }
}

impl TrainingFile {
    /// Opens a training file: resolves its format (`options.format`, from the extension by
    /// default) and layout (`columns.layout`, detected from the columns by default; the
    /// columns a layout needs are checked against a schema or header here), then indexes
    /// blocks of `block_rows` records (at least 1). jsonl/csv/tsv are read once, every row
    /// validated: in [`ReadMode::Strict`] the first bad row is the error (file, line, column);
    /// in [`ReadMode::Skip`] bad rows are left out and listed by [`TrainingFile::skipped`].
    /// Parquet and Arrow IPC in strict mode take the row count from the metadata and read no
    /// data: a bad value is the error of [`TrainingSource::read_block`] for its block (file,
    /// row, column); in skip mode they are read once like the text formats. A file without a
    /// single usable record is an error.
    pub fn open(
        path: impl AsRef<Path>,
        columns: &TrainingColumns,
        options: &TableOptions,
        block_rows: usize,
    ) -> Result<TrainingFile> {
        let path = path.as_ref();
        let format = options.format.resolve(path)?;
        let block_rows = block_rows.max(1);
        let mut file = if format.is_columnar() {
            Self::open_columnar(path, format, columns)?
        } else {
            Self::open_text(path, format, options.header, columns)?
        };
        file.mode = options.mode;
        file.block_rows = block_rows;
        file.index()?;
        Ok(file)
    }

    fn new(path: &Path, columns: &TrainingColumns, layout: TrainingLayout, body: Body) -> Self {
        TrainingFile {
            path: path.to_path_buf(),
            columns: columns.clone(),
            layout,
            mode: ReadMode::Strict,
            block_rows: 1,
            rows: 0,
            blocks: Vec::new(),
            skipped: Vec::new(),
            body,
        }
    }

    /// The layout for `present` columns, or an error listing them; checks that the columns a
    /// layout needs are there (`line` 0 for a schema, 1 for a header).
    fn layout_for(
        path: &Path,
        columns: &TrainingColumns,
        present: &[String],
        line: usize,
        what: &str,
    ) -> Result<TrainingLayout> {
        let layout = columns.detect(present).ok_or_else(|| {
            DataError::parse(
                path,
                0,
                None,
                format!(
                    "cannot tell the training layout from the columns ({}): expected a query \
                     (`query`/`anchor`) with `positive` [+ `negative`/`negative_1..n`] \
                     (triplets), `document` + `label` (pairs), `documents`/`docs` + `labels` \
                     (lists) or `pos` [+ `neg`] (flag); set the layout or the names in \
                     [data.columns]",
                    present.join(", ")
                ),
            )
        })?;
        for names in columns.required(layout) {
            if !names.iter().any(|n| present.contains(n)) {
                let also = if names.len() > 1 {
                    format!(
                        " (nor {})",
                        names[1..]
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                } else {
                    String::new()
                };
                return Err(DataError::parse(
                    path,
                    line,
                    Some(first_name(names)),
                    format!(
                        "column not found{also} in the {what} (columns: {}), needed by the {} layout",
                        present.join(", "),
                        layout_name(layout)
                    ),
                ));
            }
        }
        Ok(layout)
    }

    fn open_columnar(
        path: &Path,
        format: TableFormat,
        columns: &TrainingColumns,
    ) -> Result<TrainingFile> {
        let file = ColumnarFile::open(path, format)?;
        let what = match format {
            TableFormat::Parquet => "parquet schema",
            _ => "Arrow IPC schema",
        };
        let present = file.columns().to_vec();
        let layout = Self::layout_for(path, columns, &present, 0, what)?;
        let wanted = columns.wanted(layout, &present);
        let projection = file.projection(&[], &wanted)?;
        Ok(Self::new(
            path,
            columns,
            layout,
            Body::Columnar { file, projection },
        ))
    }

    fn open_text(
        path: &Path,
        format: TableFormat,
        header: bool,
        columns: &TrainingColumns,
    ) -> Result<TrainingFile> {
        if format != TableFormat::Jsonl && !header {
            return Err(DataError::parse(
                path,
                0,
                None,
                "a training file needs named columns: a csv/tsv file needs a header",
            ));
        }
        // The columns: a csv/tsv header, or the keys of the first jsonl record.
        let mut first: Option<Vec<String>> = None;
        let mut probe = Issues::new(ReadMode::Skip);
        let header_columns = read_text(
            path,
            format,
            header,
            &[],
            &TextStart::default(),
            &mut probe,
            &mut |row| {
                first = Some(row.column_names());
                Ok(Flow::Stop)
            },
        )?;
        let present = match (&header_columns, first) {
            (Some(index), _) => {
                let mut names: Vec<(&String, &usize)> = index.iter().collect();
                names.sort_by_key(|(_, &i)| i);
                names.into_iter().map(|(n, _)| n.clone()).collect()
            }
            (None, Some(keys)) => keys,
            (None, None) => {
                let skipped = probe.finish(()).skipped;
                return Err(DataError::no_records(path, &skipped));
            }
        };
        let (line, what) = match format {
            TableFormat::Jsonl => (0, "first record"),
            _ => (1, "header"),
        };
        let layout = Self::layout_for(path, columns, &present, line, what)?;
        Ok(Self::new(
            path,
            columns,
            layout,
            Body::Text {
                format,
                header,
                columns: header_columns,
            },
        ))
    }

    /// Indexes the blocks. Text files: one pass that validates every row and records where each
    /// block starts. Parquet and Arrow IPC: in strict mode the row count from the metadata and
    /// fixed row ranges (no data read); in skip mode one pass that validates every row, so
    /// blocks hold `block_rows` good rows each and the skipped rows are known at open.
    fn index(&mut self) -> Result<()> {
        let mut issues = Issues::new(self.mode);
        let mut count = 0usize;
        let mut blocks = Vec::new();
        let (columns, layout, block_rows) = (&self.columns, self.layout, self.block_rows);
        match &self.body {
            Body::Text { format, header, .. } => {
                // From the top: a csv/tsv header is read (again) as the header.
                read_text(
                    &self.path,
                    *format,
                    *header,
                    &[],
                    &TextStart::default(),
                    &mut issues,
                    &mut |row| {
                        columns.record(layout, row)?;
                        if count.is_multiple_of(block_rows) {
                            let (offset, lines_before) = row.resume();
                            blocks.push(Block::Text {
                                offset,
                                lines_before,
                            });
                        }
                        count += 1;
                        Ok(Flow::Continue)
                    },
                )?;
            }
            Body::Columnar { file, .. } if self.mode == ReadMode::Strict => {
                // Strict: the row count from the metadata, blocks of fixed row ranges, no data
                // read until a block is (its first bad value is that read's error).
                count = file.rows();
                blocks = (0..count)
                    .step_by(block_rows)
                    .map(|start| Block::Rows {
                        start,
                        end: (start + block_rows).min(count),
                    })
                    .collect();
            }
            Body::Columnar { file, projection } => {
                let path = &self.path;
                file.read_range(0, file.rows(), projection, &mut |row_no, map| {
                    let outcome = map
                        .and_then(|map| columns.record(layout, &mut Row::json(path, row_no, map)));
                    match outcome {
                        Ok(_) => {
                            if count.is_multiple_of(block_rows) {
                                if let Some(Block::Rows { end, .. }) = blocks.last_mut() {
                                    *end = row_no - 1;
                                }
                                blocks.push(Block::Rows {
                                    start: row_no - 1,
                                    end: file.rows(),
                                });
                            }
                            count += 1;
                        }
                        Err(error) => issues.report(error)?,
                    }
                    Ok(Flow::Continue)
                })?;
            }
        }
        let skipped = issues.finish(()).skipped;
        if count == 0 {
            return Err(DataError::no_records(&self.path, &skipped));
        }
        self.rows = count;
        self.blocks = blocks;
        self.skipped = skipped;
        Ok(())
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The layout in use (detected, or as configured).
    pub fn layout(&self) -> TrainingLayout {
        self.layout
    }

    /// The rows left out in [`ReadMode::Skip`], each a parse error naming file, line or row,
    /// and column (always empty in [`ReadMode::Strict`]).
    pub fn skipped(&self) -> &[DataError] {
        &self.skipped
    }

    /// A printable report of [`TrainingFile::skipped`] (empty when nothing was).
    pub fn skip_report(&self) -> SkipReport<'_> {
        SkipReport(&self.skipped)
    }
}

/// The layout's name as configured.
pub fn layout_name(layout: TrainingLayout) -> &'static str {
    match layout {
        TrainingLayout::Auto => "auto",
        TrainingLayout::Triplets => "triplets",
        TrainingLayout::Pairs => "pairs",
        TrainingLayout::Lists => "lists",
        TrainingLayout::Flag => "flag",
    }
}

impl TrainingSource for TrainingFile {
    fn block_rows(&self) -> usize {
        self.block_rows
    }

    fn rows(&self) -> usize {
        self.rows
    }

    fn blocks(&self) -> usize {
        self.blocks.len()
    }

    fn read_block(&self, index: usize) -> Result<Vec<SourcedRecord>> {
        let Some(&block) = self.blocks.get(index) else {
            return Ok(Vec::new());
        };
        let want = self.block_rows.min(self.rows - index * self.block_rows);
        let mut out = Vec::with_capacity(want);
        // Bad rows were reported at open: skip mode passes over them again silently.
        let mut issues = Issues::new(self.mode);
        let (columns, layout) = (&self.columns, self.layout);
        match (&self.body, block) {
            (
                Body::Text {
                    format,
                    header,
                    columns: header_columns,
                },
                Block::Text {
                    offset,
                    lines_before,
                },
            ) => {
                let start = TextStart {
                    offset,
                    lines_before,
                    columns: header_columns.clone(),
                };
                read_text(
                    &self.path,
                    *format,
                    *header,
                    &[],
                    &start,
                    &mut issues,
                    &mut |row| {
                        let record = columns.record(layout, row)?;
                        out.push(SourcedRecord {
                            row: row.line(),
                            record,
                        });
                        Ok(if out.len() == want {
                            Flow::Stop
                        } else {
                            Flow::Continue
                        })
                    },
                )?;
            }
            (Body::Columnar { file, projection }, Block::Rows { start, end }) => {
                let path = &self.path;
                file.read_range(start, end - start, projection, &mut |row_no, map| {
                    let outcome = map
                        .and_then(|map| columns.record(layout, &mut Row::json(path, row_no, map)));
                    match outcome {
                        Ok(record) => out.push(SourcedRecord {
                            row: row_no,
                            record,
                        }),
                        Err(error) => issues.report(error)?,
                    }
                    Ok(if out.len() == want {
                        Flow::Stop
                    } else {
                        Flow::Continue
                    })
                })?;
            }
            _ => unreachable!("blocks match the file's body"),
        }
        if out.len() != want {
            return Err(DataError::parse(
                &self.path,
                0,
                None,
                format!(
                    "block {index}: {} records where {want} were indexed (was the file changed?)",
                    out.len()
                ),
            ));
        }
        Ok(out)
    }
}
