//! Columnar input: Apache Parquet and Arrow IPC (`.arrow`, `.ipc`, `.feather`), read through
//! polars.
//!
//! Why polars only for the columnar formats: every tabular input of this crate reports a bad
//! value with the file, the place and the column. For parquet and Arrow IPC the place is the
//! 1-based row index, which the columnar layout gives exactly, and polars reads those files
//! with column projection and row ranges, so a command reads only the columns it names and
//! memory is bounded by one chunk of rows ([`CHUNK_ROWS`], or one IPC record batch), not by the
//! file. jsonl, csv and tsv stay on the line readers of [`crate::table`]: they report the exact
//! source line of a bad value (polars' text readers report none, and blank lines or csv fields
//! quoted across lines break "row = line"), and they already stream.
//!
//! Each row is converted to a JSON object of its projected cells (strings, integers, floats,
//! booleans, lists of those; null stays null, which the accessors treat as missing) and handed
//! to the same typed accessors as a jsonl row ([`crate::table::Row`]), so column names, types
//! and error messages behave alike; the "line" of an error is the 1-based row.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use polars::prelude::{
    AnyValue, Column, DataFrame, FileMetadataRef, ParquetReader, SerReader, Series,
};
use polars_arrow::io::ipc::read as ipc;
use serde_json::{Map, Number, Value};

use crate::error::{DataError, Result};
use crate::table::TableFormat;

/// Rows decoded at a time when a parquet file is read in full: memory holds one chunk of the
/// projected columns, not the file.
pub(crate) const CHUNK_ROWS: usize = 16_384;

/// What a visitor says after a row: go on, or stop reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    Stop,
}

/// An open parquet or Arrow IPC file: its schema's top-level column names and its row count,
/// both from the file's metadata (no data is read until [`ColumnarFile::read_range`]).
pub(crate) struct ColumnarFile {
    path: PathBuf,
    columns: Vec<String>,
    rows: usize,
    source: Source,
}

enum Source {
    Parquet(FileMetadataRef),
    Ipc(Arc<ipc::FileMetadata>),
}

impl ColumnarFile {
    /// Reads the metadata of `path` as `format` ([`TableFormat::Parquet`] or
    /// [`TableFormat::Ipc`]). A file that is not one is an error naming it.
    pub(crate) fn open(path: &Path, format: TableFormat) -> Result<Self> {
        let mut file = File::open(path).map_err(|e| DataError::io(path, e))?;
        match format {
            TableFormat::Parquet => {
                let not_parquet = |e: polars::error::PolarsError| {
                    DataError::parse(path, 0, None, format!("not a readable parquet file: {e}"))
                };
                let mut reader = ParquetReader::new(file);
                let metadata = reader.get_metadata().map_err(not_parquet)?.clone();
                let schema = reader.schema().map_err(not_parquet)?;
                Ok(Self {
                    path: path.to_path_buf(),
                    columns: schema.iter_names().map(|n| n.to_string()).collect(),
                    rows: metadata.num_rows,
                    source: Source::Parquet(metadata),
                })
            }
            TableFormat::Ipc => {
                let not_ipc = |e: polars::error::PolarsError| {
                    DataError::parse(path, 0, None, format!("not a readable Arrow IPC file: {e}"))
                };
                let metadata = ipc::read_file_metadata(&mut file).map_err(not_ipc)?;
                let rows =
                    ipc::get_row_count_from_blocks(&mut file, &metadata.blocks).map_err(not_ipc)?;
                Ok(Self {
                    path: path.to_path_buf(),
                    columns: metadata
                        .schema
                        .iter_names()
                        .map(|n| n.to_string())
                        .collect(),
                    rows: usize::try_from(rows).unwrap_or(0),
                    source: Source::Ipc(Arc::new(metadata)),
                })
            }
            other => unreachable!("{other:?} is not a columnar format"),
        }
    }

    /// The schema's top-level column names, in file order.
    pub(crate) fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Rows in the file (from its metadata).
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    pub(crate) fn has(&self, column: &str) -> bool {
        self.columns.iter().any(|c| c == column)
    }

    /// The columns to read: every `required` one (an error listing the schema's columns if one
    /// is absent) and those of `optional` the file has, each once, in schema order.
    pub(crate) fn projection(&self, required: &[&str], optional: &[&str]) -> Result<Vec<String>> {
        for &name in required {
            if !self.has(name) {
                return Err(self.missing_column(name));
            }
        }
        Ok(self
            .columns
            .iter()
            .filter(|c| required.contains(&c.as_str()) || optional.contains(&c.as_str()))
            .cloned()
            .collect())
    }

    /// The error for a column the file's schema lacks.
    pub(crate) fn missing_column(&self, name: &str) -> DataError {
        let kind = match self.source {
            Source::Parquet(_) => "parquet",
            Source::Ipc(_) => "Arrow IPC",
        };
        DataError::parse(
            &self.path,
            0,
            Some(name),
            format!(
                "column not found in the {kind} schema (columns: {})",
                self.columns.join(", ")
            ),
        )
    }

    /// Hands rows `[start, start + len)` (0-based, clipped to the file) to `visit`, each with
    /// its 1-based row number and its `projection` cells as a JSON object, or the error of a
    /// cell that cannot be converted (naming row and column). Reading stops when `visit`
    /// returns [`Flow::Stop`] or an error.
    pub(crate) fn read_range(
        &self,
        start: usize,
        len: usize,
        projection: &[String],
        visit: &mut dyn FnMut(usize, Result<Map<String, Value>>) -> Result<Flow>,
    ) -> Result<()> {
        let end = start.saturating_add(len).min(self.rows);
        if start >= end {
            return Ok(());
        }
        if projection.is_empty() {
            // No column to decode (a frame without columns has no height): every row is empty.
            for row in start..end {
                if visit(row + 1, Ok(Map::new()))? == Flow::Stop {
                    break;
                }
            }
            return Ok(());
        }
        match &self.source {
            Source::Parquet(metadata) => {
                let mut at = start;
                while at < end {
                    let n = CHUNK_ROWS.min(end - at);
                    let file = File::open(&self.path).map_err(|e| DataError::io(&self.path, e))?;
                    let mut reader = ParquetReader::new(file)
                        .with_columns(Some(projection.to_vec()))
                        .with_slice(Some((at, n)));
                    reader.set_metadata(metadata.clone());
                    let frame = reader.finish().map_err(|e| self.read_error(at, e))?;
                    if self.visit_frame(&frame, at, projection, visit)? == Flow::Stop {
                        return Ok(());
                    }
                    at += n;
                }
                Ok(())
            }
            Source::Ipc(metadata) => {
                let file = File::open(&self.path).map_err(|e| DataError::io(&self.path, e))?;
                let mut indices: Vec<usize> = projection
                    .iter()
                    .filter_map(|c| self.columns.iter().position(|n| n == c))
                    .collect();
                indices.sort_unstable();
                let mut reader =
                    ipc::FileReader::new(file, (**metadata).clone(), Some(indices), None);
                let mut skip = reader
                    .skip_blocks_till_limit(start as u64)
                    .map_err(|e| self.read_error(start, e))?
                    as usize;
                // Rows before the current batch, 0-based.
                let mut batch_start = start - skip;
                for batch in reader {
                    let batch = batch.map_err(|e| self.read_error(batch_start, e))?;
                    let frame = DataFrame::from(batch);
                    let height = frame.height();
                    let first = batch_start + skip;
                    let take = (height - skip.min(height)).min(end.saturating_sub(first));
                    let frame = frame.slice(skip as i64, take);
                    if self.visit_frame(&frame, first, projection, visit)? == Flow::Stop {
                        return Ok(());
                    }
                    batch_start += height;
                    skip = 0;
                    if batch_start >= end {
                        break;
                    }
                }
                Ok(())
            }
        }
    }

    fn read_error(&self, row: usize, error: impl std::fmt::Display) -> DataError {
        DataError::parse(
            &self.path,
            0,
            None,
            format!("cannot read the rows from {}: {error}", row + 1),
        )
    }

    /// Converts each row of `frame` (whose first row is file row `first`, 0-based) and hands
    /// it to `visit`.
    fn visit_frame(
        &self,
        frame: &DataFrame,
        first: usize,
        projection: &[String],
        visit: &mut dyn FnMut(usize, Result<Map<String, Value>>) -> Result<Flow>,
    ) -> Result<Flow> {
        let columns: Vec<&Column> = projection
            .iter()
            .filter_map(|name| frame.column(name).ok())
            .collect();
        for i in 0..frame.height() {
            let row_no = first + i + 1;
            let map = columns
                .iter()
                .map(|column| {
                    let name = column.name().as_str();
                    let value = column
                        .get(i)
                        .map_err(|e| e.to_string())
                        .and_then(|v| json_value(&v))
                        .map_err(|m| DataError::parse(&self.path, row_no, Some(name), m))?;
                    Ok((name.to_string(), value))
                })
                .collect::<Result<Map<String, Value>>>();
            if visit(row_no, map)? == Flow::Stop {
                return Ok(Flow::Stop);
            }
        }
        Ok(Flow::Continue)
    }
}

/// One cell as JSON: null, booleans, integers, finite floats, strings, lists of those.
fn json_value(value: &AnyValue) -> std::result::Result<Value, String> {
    Ok(match value {
        AnyValue::Null => Value::Null,
        AnyValue::Boolean(b) => Value::Bool(*b),
        AnyValue::String(s) => Value::String(s.to_string()),
        AnyValue::StringOwned(s) => Value::String(s.to_string()),
        AnyValue::Int8(v) => Value::from(*v),
        AnyValue::Int16(v) => Value::from(*v),
        AnyValue::Int32(v) => Value::from(*v),
        AnyValue::Int64(v) => Value::from(*v),
        AnyValue::UInt8(v) => Value::from(*v),
        AnyValue::UInt16(v) => Value::from(*v),
        AnyValue::UInt32(v) => Value::from(*v),
        AnyValue::UInt64(v) => Value::from(*v),
        AnyValue::Float32(v) => float(f64::from(*v))?,
        AnyValue::Float64(v) => float(*v)?,
        AnyValue::List(items) => list(items)?,
        AnyValue::Binary(_) | AnyValue::BinaryOwned(_) => {
            return Err("expected text, found binary data".into())
        }
        other => return Err(format!("unsupported type {}", other.dtype())),
    })
}

fn float(v: f64) -> std::result::Result<Value, String> {
    Number::from_f64(v)
        .map(Value::Number)
        .ok_or_else(|| "number is not finite".to_string())
}

fn list(items: &Series) -> std::result::Result<Value, String> {
    (0..items.len())
        .map(|i| {
            items
                .get(i)
                .map_err(|e| e.to_string())
                .and_then(|v| json_value(&v))
                .map_err(|m| format!("item {i}: {m}"))
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map(Value::Array)
}
