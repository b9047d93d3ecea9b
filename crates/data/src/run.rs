//! Ranked result lists: TREC run files (`qid Q0 docid rank score tag`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use crate::error::{DataError, Result};
use crate::lines::LineReader;

/// One retrieved document and its score.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredDoc {
    pub doc_id: String,
    pub score: f64,
}

/// A run: for each query, its retrieved documents. Lists are kept in the order given; use
/// [`Run::sort`] for trec_eval's order (score descending, then doc id descending).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Run {
    by_query: BTreeMap<String, Vec<ScoredDoc>>,
}

impl Run {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one document to a query's list.
    pub fn push(&mut self, query_id: impl Into<String>, doc_id: impl Into<String>, score: f64) {
        self.by_query
            .entry(query_id.into())
            .or_default()
            .push(ScoredDoc {
                doc_id: doc_id.into(),
                score,
            });
    }

    /// Replaces a query's whole list.
    pub fn set(&mut self, query_id: impl Into<String>, docs: Vec<ScoredDoc>) {
        self.by_query.insert(query_id.into(), docs);
    }

    pub fn get(&self, query_id: &str) -> Option<&[ScoredDoc]> {
        self.by_query.get(query_id).map(Vec::as_slice)
    }

    pub fn query_ids(&self) -> impl Iterator<Item = &str> {
        self.by_query.keys().map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &[ScoredDoc])> {
        self.by_query
            .iter()
            .map(|(q, d)| (q.as_str(), d.as_slice()))
    }

    pub fn num_queries(&self) -> usize {
        self.by_query.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_query.is_empty()
    }

    /// Sorts every list the way trec_eval ranks: score descending, ties broken by document id
    /// descending (so results are deterministic and match published numbers).
    pub fn sort(&mut self) {
        for docs in self.by_query.values_mut() {
            sort_trec(docs);
        }
    }

    /// Keeps the first `k` documents of every list (after sorting, the top k).
    pub fn truncate(&mut self, k: usize) {
        for docs in self.by_query.values_mut() {
            docs.truncate(k);
        }
    }

    /// Reads a TREC run (`qid Q0 docid rank score [tag]`, whitespace separated). A UTF-8
    /// byte-order mark at the start of the file is dropped. A document listed twice for one
    /// query, a non-finite score, and a file without a single entry are errors.
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let mut lines = LineReader::open(path)?;
        let mut run = Run::new();
        let mut seen: std::collections::HashSet<(String, String)> = Default::default();
        while let Some((line_no, line)) = lines.next_line() {
            let line = line?;
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.is_empty() {
                continue;
            }
            if cols.len() < 5 {
                return Err(DataError::parse(
                    path,
                    line_no,
                    None,
                    format!(
                        "expected `qid Q0 docid rank score [tag]`, found {} columns",
                        cols.len()
                    ),
                ));
            }
            cols[3].parse::<i64>().map_err(|_| {
                DataError::parse(
                    path,
                    line_no,
                    Some("rank"),
                    format!("`{}` is not an integer", cols[3]),
                )
            })?;
            let score: f64 = cols[4].parse().map_err(|_| {
                DataError::parse(
                    path,
                    line_no,
                    Some("score"),
                    format!("`{}` is not a number", cols[4]),
                )
            })?;
            if !score.is_finite() {
                return Err(DataError::parse(
                    path,
                    line_no,
                    Some("score"),
                    "score is not finite",
                ));
            }
            if !seen.insert((cols[0].to_string(), cols[2].to_string())) {
                return Err(DataError::parse(
                    path,
                    line_no,
                    Some("docid"),
                    format!(
                        "document `{}` listed twice for query `{}`",
                        cols[2], cols[0]
                    ),
                ));
            }
            run.push(cols[0], cols[2], score);
        }
        if run.is_empty() {
            return Err(DataError::no_records(path, &[]));
        }
        Ok(run)
    }

    /// Writes a TREC run atomically, each list sorted as trec_eval ranks it, ranks starting at 1.
    pub fn write(&self, path: impl AsRef<Path>, tag: &str) -> Result<()> {
        let path = path.as_ref();
        let mut out =
            crate::atomic::AtomicFile::create(path).map_err(|e| DataError::io(path, e))?;
        for (qid, docs) in &self.by_query {
            let mut docs = docs.clone();
            sort_trec(&mut docs);
            for (rank, doc) in docs.iter().enumerate() {
                writeln!(
                    out,
                    "{qid} Q0 {} {} {} {tag}",
                    doc.doc_id,
                    rank + 1,
                    doc.score
                )
                .map_err(|e| DataError::io(path, e))?;
            }
        }
        out.commit().map_err(|e| DataError::io(path, e))
    }
}

/// trec_eval's order: score descending, then document id descending.
pub fn sort_trec(docs: &mut [ScoredDoc]) {
    docs.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| b.doc_id.cmp(&a.doc_id))
    });
}
