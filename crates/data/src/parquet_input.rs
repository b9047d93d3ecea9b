//! Parquet input (cargo feature `parquet`, off by default: the `parquet` crate adds compile
//! time that most users of jsonl/tsv data do not need). Rows are read with the crate's record
//! API as JSON objects, which the table reader wraps in the same typed accessors as jsonl rows,
//! so column names, types and error messages behave alike; the "line" of an error is the
//! 1-based row number.

use std::path::Path;

use parquet::file::reader::{FileReader, SerializedFileReader};
use serde_json::{Map, Value};

use crate::error::{DataError, Result};
use crate::mode::Issues;

/// Hands every row of the file to `visit` with its 1-based number, as a JSON object keyed by
/// column. Errors from a row or from `visit` go through `issues`.
pub(crate) fn read_parquet(
    path: &Path,
    required: &[&str],
    issues: &mut Issues,
    visit: &mut impl FnMut(usize, Map<String, Value>) -> Result<()>,
) -> Result<()> {
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let reader = SerializedFileReader::new(file).map_err(|e| {
        DataError::parse(path, 0, None, format!("not a readable parquet file: {e}"))
    })?;
    let schema = reader.metadata().file_metadata().schema_descr();
    let columns: Vec<String> = schema
        .root_schema()
        .get_fields()
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    for &name in required {
        if !columns.iter().any(|c| c == name) {
            return Err(DataError::parse(
                path,
                0,
                Some(name),
                format!(
                    "column not found in the parquet schema (columns: {})",
                    columns.join(", ")
                ),
            ));
        }
    }
    let rows = reader
        .get_row_iter(None)
        .map_err(|e| DataError::parse(path, 0, None, e.to_string()))?;
    for (index, row) in rows.enumerate() {
        let row_no = index + 1;
        let outcome = row
            .map_err(|e| DataError::parse(path, row_no, None, e.to_string()))
            .and_then(|row| match row.to_json_value() {
                Value::Object(map) => visit(row_no, map),
                _ => Err(DataError::parse(path, row_no, None, "row is not a record")),
            });
        if let Err(error) = outcome {
            issues.report(error)?;
        }
    }
    Ok(())
}
