//! Named string fields of each line of a jsonl file: the inputs of `rankforge predict`, `embed`
//! and `bench` (`{"query": ..., "document": ...}` per line). Unlike the table readers it takes
//! any JSON value on a line (a field of a non-object is missing) and words its errors as those
//! commands always have: `pairs.jsonl:3: field `document` is missing`.

use std::path::Path;

use serde_json::Value;

use crate::error::{DataError, Result};
use crate::lines::LineReader;
use crate::table::kind;

/// What `std` says of a line that is not UTF-8 (the commands reported it in these words).
const NOT_UTF8: &str = "stream did not contain valid UTF-8";

/// The string values of `fields`, in that order, for each non-empty line of `path`, in file
/// order. The first problem ends the read with an error naming the file, the 1-based line and,
/// where one is at fault, the field. A UTF-8 byte-order mark at the start of the file is
/// dropped; a file without a single non-blank line is an error ([`DataError::no_records`]).
pub fn read_string_fields(path: impl AsRef<Path>, fields: &[&str]) -> Result<Vec<Vec<String>>> {
    let path = path.as_ref();
    let mut lines = LineReader::open(path).map_err(|error| match error {
        DataError::Io { path, cause } => DataError::Io {
            path,
            cause: std::io::Error::new(cause.kind(), format!("cannot open: {cause}")),
        },
        other => other,
    })?;
    let mut rows = Vec::new();
    while let Some((line_no, line)) = lines.next_line() {
        let line = line.map_err(|error| {
            let cause = match error {
                DataError::Io { cause, .. } => cause.to_string(),
                DataError::Parse { .. } => NOT_UTF8.to_string(),
            };
            DataError::parse(path, line_no, None, format!("not valid UTF-8: {cause}"))
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(line).map_err(|e| {
            DataError::parse(path, line_no, None, format!("not a JSON object: {e}"))
        })?;
        let row = fields
            .iter()
            .map(|&field| match value.get(field) {
                Some(Value::String(s)) => Ok(s.clone()),
                Some(other) => Err(DataError::parse(
                    path,
                    line_no,
                    Some(field),
                    format!("expected a string, found {}", string_field_kind(other)),
                )),
                None => Err(DataError::parse(
                    path,
                    line_no,
                    None,
                    format!("field `{field}` is missing"),
                )),
            })
            .collect::<Result<Vec<_>>>()?;
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(DataError::no_records(path, &[]));
    }
    Ok(rows)
}

/// [`kind`], except that these messages have always called a JSON array "an array".
fn string_field_kind(value: &Value) -> &'static str {
    match value {
        Value::Array(_) => "an array",
        other => kind(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `text` to a temporary `pairs.jsonl` and reads `fields` from it; an error is
    /// returned as its message, with the file named as the user would have typed it.
    fn read(text: &[u8], fields: &[&str]) -> std::result::Result<Vec<Vec<String>>, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pairs.jsonl");
        std::fs::write(&path, text).unwrap();
        read_string_fields(&path, fields).map_err(|e| {
            e.to_string()
                .replace(&path.display().to_string(), "pairs.jsonl")
        })
    }

    fn message(text: &[u8], fields: &[&str]) -> String {
        read(text, fields).unwrap_err()
    }

    #[test]
    fn reads_fields_in_order_and_skips_blank_lines() {
        let rows = read(
            b"{\"document\": \"d1\", \"query\": \"q1\", \"x\": 1}\n\n  \r\n{\"query\": \"q2\", \"document\": \"d2\"}",
            &["query", "document"],
        )
        .unwrap();
        assert_eq!(rows, [["q1", "d1"], ["q2", "d2"]]);
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let cases: [(&[u8], &str); 7] = [
            (
                b"{\"query\": \"q\", \"document\": \"d\"}\n\n{\"query\": \"q\"}\n",
                "pairs.jsonl:3: field `document` is missing",
            ),
            (b"[1, 2]\n", "pairs.jsonl:1: field `query` is missing"),
            (
                b"{\"query\": \"q\", \"document\": 7}\n",
                "pairs.jsonl:1: field `document`: expected a string, found a number",
            ),
            (
                b"{\"query\": [\"q\"]}\n",
                "pairs.jsonl:1: field `query`: expected a string, found an array",
            ),
            (
                b"{\"query\": null}\n",
                "pairs.jsonl:1: field `query`: expected a string, found null",
            ),
            (
                b"not json\n",
                "pairs.jsonl:1: not a JSON object: expected ident at line 1 column 2",
            ),
            (
                b"{\"query\": \"q\", \"document\": \"d\"}\n\xff\n",
                "pairs.jsonl:2: not valid UTF-8: stream did not contain valid UTF-8",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(message(text, &["query", "document"]), expected);
        }
    }

    #[test]
    fn a_file_that_cannot_be_opened_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing.jsonl");
        let error = read_string_fields(&path, &["text"])
            .unwrap_err()
            .to_string();
        let expected = format!(
            "{}: cannot open: {}",
            path.display(),
            std::fs::File::open(&path).unwrap_err()
        );
        assert_eq!(error, expected);
    }
}
