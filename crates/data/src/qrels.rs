//! Relevance judgments: BEIR `qrels/*.tsv` (`query-id corpus-id score`, header optional) and
//! TREC qrels (`qid 0 docid rel`).

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use crate::error::{DataError, Result};

/// Graded judgments: query id → (document id → relevance grade). Grades ≤ 0 mean "judged not
/// relevant", as in trec_eval.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Qrels {
    by_query: BTreeMap<String, HashMap<String, i32>>,
}

impl Qrels {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the grade of (`query_id`, `doc_id`), replacing an earlier one.
    pub fn insert(&mut self, query_id: impl Into<String>, doc_id: impl Into<String>, grade: i32) {
        self.by_query
            .entry(query_id.into())
            .or_default()
            .insert(doc_id.into(), grade);
    }

    /// Judgments of one query.
    pub fn get(&self, query_id: &str) -> Option<&HashMap<String, i32>> {
        self.by_query.get(query_id)
    }

    /// Query ids in sorted order.
    pub fn query_ids(&self) -> impl Iterator<Item = &str> {
        self.by_query.keys().map(String::as_str)
    }

    /// (query id, judgments) in query-id order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &HashMap<String, i32>)> {
        self.by_query.iter().map(|(q, d)| (q.as_str(), d))
    }

    pub fn num_queries(&self) -> usize {
        self.by_query.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_query.is_empty()
    }

    /// Reads BEIR tsv (`query-id<TAB>corpus-id<TAB>score`, with or without the header) or TREC
    /// qrels (`qid iter docid rel`, whitespace separated). A duplicate (query, doc) pair is an
    /// error: silently keeping one grade would hide a broken file.
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
        let mut qrels = Qrels::new();
        for (index, line) in BufReader::new(file).lines().enumerate() {
            let line_no = index + 1;
            let line = line.map_err(|e| DataError::parse(path, line_no, None, e.to_string()))?;
            let trimmed = line.trim();
            if trimmed.is_empty() {
                continue;
            }
            let cols: Vec<&str> = trimmed.split_whitespace().collect();
            if line_no == 1
                && cols
                    .first()
                    .is_some_and(|c| c.eq_ignore_ascii_case("query-id"))
            {
                continue;
            }
            let (qid, did, grade) = match cols.len() {
                3 => (cols[0], cols[1], cols[2]),
                4 => (cols[0], cols[2], cols[3]),
                n => {
                    return Err(DataError::parse(
                        path,
                        line_no,
                        None,
                        format!("expected 3 columns (query-id corpus-id score) or 4 (qid iter docid rel), found {n}"),
                    ))
                }
            };
            let grade: i32 = grade
                .parse()
                .or_else(|_| grade.parse::<f64>().map(|g| g as i32))
                .map_err(|_| {
                    DataError::parse(
                        path,
                        line_no,
                        Some("score"),
                        format!("`{grade}` is not a number"),
                    )
                })?;
            let judged = qrels.by_query.entry(qid.to_string()).or_default();
            if judged.insert(did.to_string(), grade).is_some() {
                return Err(DataError::parse(
                    path,
                    line_no,
                    Some("corpus-id"),
                    format!("duplicate judgment for query `{qid}` and document `{did}`"),
                ));
            }
        }
        Ok(qrels)
    }

    /// Writes BEIR tsv with its header, queries and documents in sorted order.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let mut out = Vec::new();
        writeln!(out, "query-id\tcorpus-id\tscore").unwrap();
        for (qid, docs) in &self.by_query {
            let mut docs: Vec<_> = docs.iter().collect();
            docs.sort();
            for (did, grade) in docs {
                writeln!(out, "{qid}\t{did}\t{grade}").unwrap();
            }
        }
        std::fs::write(path, out).map_err(|e| DataError::io(path, e))
    }
}
