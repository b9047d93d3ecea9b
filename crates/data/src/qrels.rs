//! Relevance judgments: BEIR `qrels/*.tsv` (`query-id corpus-id score`, header optional) and
//! TREC qrels (`qid 0 docid rel`).

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;

use crate::error::{DataError, Result};
use crate::id_lookup::IdLookup;
use crate::lines::LineReader;
use crate::mode::{Issues, Loaded, ReadMode};

/// Which ids a qrels file must agree with; `None` skips that check.
#[derive(Default, Clone, Copy)]
pub struct QrelsCheck<'a> {
    pub queries: Option<&'a dyn IdLookup>,
    pub corpus: Option<&'a dyn IdLookup>,
}

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

    /// Total number of (query, document) judgments.
    pub fn num_judgments(&self) -> usize {
        self.by_query.values().map(HashMap::len).sum()
    }

    /// Documents judged relevant (grade > 0) for a query, sorted by id.
    pub fn relevant(&self, query_id: &str) -> Vec<&str> {
        let mut docs: Vec<&str> = self
            .by_query
            .get(query_id)
            .map(|d| {
                d.iter()
                    .filter(|(_, &g)| g > 0)
                    .map(|(id, _)| id.as_str())
                    .collect()
            })
            .unwrap_or_default();
        docs.sort_unstable();
        docs
    }

    /// Reads BEIR tsv (`query-id<TAB>corpus-id<TAB>score`, with or without the header) or TREC
    /// qrels (`qid iter docid rel`, whitespace separated). A duplicate (query, doc) pair is an
    /// error: silently keeping one grade would hide a broken file. Grades are integers, as
    /// trec_eval's are: `-1`, `0`, `2`, or an integral decimal such as `1.0` or `2.00` (written by
    /// tools that store grades as floats); anything else (`0.5`, `1.9`, `1e2`, `NaN`, `inf`, a
    /// value outside the 32-bit range) is an error at its line and field `score`, never rounded.
    /// A file without a single judgment is an error ([`DataError::no_records`]).
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        Self::read_checked(path, ReadMode::Strict, &QrelsCheck::default()).map(Loaded::into_data)
    }

    /// Reads like [`Qrels::read`], and also checks every query id and document id against the
    /// given queries and corpus (an unknown id is an error at its line). In [`ReadMode::Skip`]
    /// bad lines are skipped and reported instead.
    pub fn read_checked(
        path: impl AsRef<Path>,
        mode: ReadMode,
        check: &QrelsCheck<'_>,
    ) -> Result<Loaded<Self>> {
        let path = path.as_ref();
        let mut lines = LineReader::open(path)?;
        let mut issues = Issues::new(mode);
        let mut qrels = Qrels::new();
        while let Some((line_no, line)) = lines.next_line() {
            let outcome = line.and_then(|line| qrels.parse_line(path, line_no, line, check));
            if let Err(error) = outcome {
                issues.report(error)?;
            }
        }
        let empty = qrels.is_empty();
        issues.finish_nonempty(path, qrels, empty)
    }

    fn parse_line(
        &mut self,
        path: &Path,
        line_no: usize,
        line: &str,
        check: &QrelsCheck<'_>,
    ) -> Result<()> {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.is_empty() {
            return Ok(());
        }
        if line_no == 1 && cols[0].eq_ignore_ascii_case("query-id") {
            return Ok(());
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
        let grade = parse_grade(grade).ok_or_else(|| {
            DataError::parse(
                path,
                line_no,
                Some("score"),
                format!(
                    "`{grade}` is not an integer relevance grade (a whole number such as 0, 1 or 2 \
                     in the 32-bit range; `1.0` is accepted)"
                ),
            )
        })?;
        if let Some(queries) = check.queries {
            if !queries.contains_id(qid) {
                return Err(DataError::parse(
                    path,
                    line_no,
                    Some("query-id"),
                    format!("unknown query `{qid}` (not in the queries file)"),
                ));
            }
        }
        if let Some(corpus) = check.corpus {
            if !corpus.contains_id(did) {
                return Err(DataError::parse(
                    path,
                    line_no,
                    Some("corpus-id"),
                    format!("unknown document `{did}` (not in the corpus)"),
                ));
            }
        }
        let judged = self.by_query.entry(qid.to_string()).or_default();
        if judged.contains_key(did) {
            return Err(DataError::parse(
                path,
                line_no,
                Some("corpus-id"),
                format!("duplicate judgment for query `{qid}` and document `{did}`"),
            ));
        }
        judged.insert(did.to_string(), grade);
        Ok(())
    }

    /// Writes BEIR tsv (atomically) with its header, queries and documents in sorted order.
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
        crate::atomic::write_atomic(path, out).map_err(|e| DataError::io(path, e))
    }
}

/// A relevance grade: an `i32` in decimal (`-1`, `+2`), optionally followed by a fractional
/// part of zeros only (`1.0`, `3.000`). `None` for anything else.
fn parse_grade(text: &str) -> Option<i32> {
    let whole = match text.split_once('.') {
        Some((whole, zeros)) if !zeros.is_empty() && zeros.bytes().all(|b| b == b'0') => whole,
        Some(_) => return None,
        None => text,
    };
    whole.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::parse_grade;

    #[test]
    fn grades_are_exact_integers() {
        for (text, grade) in [
            ("0", 0),
            ("1", 1),
            ("-1", -1),
            ("+2", 2),
            ("1.0", 1),
            ("2.00", 2),
            ("-1.0", -1),
            ("2147483647", i32::MAX),
        ] {
            assert_eq!(parse_grade(text), Some(grade), "{text}");
        }
        for text in [
            "1.9",
            "0.5",
            "1.",
            ".0",
            "-.0",
            "NaN",
            "nan",
            "inf",
            "-inf",
            "1e2",
            "1.0e0",
            "",
            "2147483648",
            "1e308",
            "0x1",
            "1.01",
            " 1",
            "1,0",
        ] {
            assert_eq!(parse_grade(text), None, "{text}");
        }
    }
}
