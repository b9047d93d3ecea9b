//! Generic tabular input: jsonl, csv and tsv files whose columns are named by the caller.
//!
//! Every typed reader in this crate (corpus, queries, pairs, triples) goes through
//! [`read_rows`], so they all report errors the same way: file, 1-based line, column.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{DataError, Result};
use crate::lines::{open_text, LineReader};
use crate::mode::{Issues, ReadMode};

/// The layout of a tabular file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TableFormat {
    /// Chosen from the extension: `.jsonl`/`.ndjson`/`.json` → jsonl, `.csv` → csv,
    /// `.tsv`/`.tab` → tsv, `.parquet` → parquet.
    #[default]
    Auto,
    /// One JSON object per line; columns are keys.
    Jsonl,
    /// Comma separated, RFC 4180 quoting.
    Csv,
    /// Tab separated, no quoting (the MS MARCO convention: a field cannot hold a tab or newline).
    Tsv,
    /// Apache Parquet; needs the crate feature `parquet` (off by default). Error "lines" are
    /// 1-based row numbers.
    Parquet,
}

impl TableFormat {
    /// Resolves [`TableFormat::Auto`] from the file's extension.
    pub fn resolve(self, path: &Path) -> Result<TableFormat> {
        if self != TableFormat::Auto {
            return Ok(self);
        }
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        match ext.as_str() {
            "jsonl" | "ndjson" | "json" => Ok(TableFormat::Jsonl),
            "csv" => Ok(TableFormat::Csv),
            "tsv" | "tab" => Ok(TableFormat::Tsv),
            "parquet" | "pq" => Ok(TableFormat::Parquet),
            _ => Err(DataError::parse(
                path,
                0,
                None,
                format!("cannot tell the format from the extension `{ext}`: set the format (jsonl, csv, tsv or parquet)"),
            )),
        }
    }
}

/// How to read a tabular file. All fields have defaults, so a TOML table may name only some.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TableOptions {
    /// File layout; default `auto` (from the extension).
    pub format: TableFormat,
    /// Whether a csv/tsv file starts with a header row naming the columns (default true).
    /// Without one, columns are named by their 0-based position: `"0"`, `"1"`, ... Ignored for
    /// jsonl.
    pub header: bool,
    /// Strict (default) or skip-and-report.
    pub mode: ReadMode,
}

impl Default for TableOptions {
    fn default() -> Self {
        Self {
            format: TableFormat::Auto,
            header: true,
            mode: ReadMode::Strict,
        }
    }
}

impl TableOptions {
    /// Options for a headerless tab-separated file (MS MARCO style).
    pub fn headerless_tsv(mode: ReadMode) -> Self {
        Self {
            format: TableFormat::Tsv,
            header: false,
            mode,
        }
    }
}

/// One record of a tabular file, with typed accessors whose errors name file, line and column.
pub struct Row<'a> {
    path: &'a Path,
    line: usize,
    cells: Cells<'a>,
}

enum Cells<'a> {
    Json(Map<String, Value>),
    Flat {
        values: Vec<String>,
        columns: &'a HashMap<String, usize>,
    },
}

impl<'a> Row<'a> {
    /// 1-based line the record starts on.
    pub fn line(&self) -> usize {
        self.line
    }

    /// A parse error at this row, naming `column`.
    pub fn error(&self, column: &str, message: impl Into<String>) -> DataError {
        DataError::parse(self.path, self.line, Some(column), message)
    }

    fn take(&mut self, column: &str) -> Result<Option<Value>> {
        match &mut self.cells {
            Cells::Json(map) => Ok(map.remove(column)),
            Cells::Flat { values, columns } => {
                let Some(&index) = columns.get(column) else {
                    return Ok(None);
                };
                match values.get_mut(index) {
                    Some(value) => Ok(Some(Value::String(std::mem::take(value)))),
                    None => Err(DataError::parse(
                        self.path,
                        self.line,
                        Some(column),
                        format!(
                            "missing: the row has {} column(s), the field is column {}",
                            values.len(),
                            index + 1
                        ),
                    )),
                }
            }
        }
    }

    fn is_flat(&self) -> bool {
        matches!(self.cells, Cells::Flat { .. })
    }

    /// A required identifier: a string, or an integer (written back as its decimal form).
    pub fn id(&mut self, column: &str) -> Result<String> {
        match self.take(column)? {
            Some(Value::String(s)) if !s.is_empty() => Ok(s),
            Some(Value::String(_)) => Err(self.error(column, "empty identifier")),
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
            Some(other) => Err(self.error(
                column,
                format!("expected a string or integer id, found {}", kind(&other)),
            )),
            None => Err(self.error(column, "missing")),
        }
    }

    /// A required string.
    pub fn text(&mut self, column: &str) -> Result<String> {
        self.optional_text(column)?
            .ok_or_else(|| self.error(column, "missing"))
    }

    /// An optional string: absent or `null` give `None`.
    pub fn optional_text(&mut self, column: &str) -> Result<Option<String>> {
        match self.take(column)? {
            Some(Value::String(s)) => Ok(Some(s)),
            Some(Value::Null) | None => Ok(None),
            Some(other) => {
                Err(self.error(column, format!("expected a string, found {}", kind(&other))))
            }
        }
    }

    /// A required number (in csv/tsv, a cell that parses as one).
    pub fn number(&mut self, column: &str) -> Result<f64> {
        self.optional_number(column)?
            .ok_or_else(|| self.error(column, "missing"))
    }

    /// An optional number: absent or `null` give `None`.
    pub fn optional_number(&mut self, column: &str) -> Result<Option<f64>> {
        let flat = self.is_flat();
        let value = match self.take(column)? {
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) if flat => Some(
                s.trim()
                    .parse::<f64>()
                    .map_err(|_| self.error(column, format!("`{s}` is not a number")))?,
            ),
            Some(Value::Null) | None => None,
            Some(other) => {
                return Err(self.error(column, format!("expected a number, found {}", kind(&other))))
            }
        };
        match value {
            Some(v) if !v.is_finite() => Err(self.error(column, "number is not finite")),
            v => Ok(v),
        }
    }

    /// An optional list of strings (jsonl only; in csv/tsv a cell must hold a JSON array).
    pub fn optional_text_list(&mut self, column: &str) -> Result<Option<Vec<String>>> {
        let Some(value) = self.take_list(column)? else {
            return Ok(None);
        };
        value
            .into_iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s),
                other => Err(self.error(
                    column,
                    format!("item {i}: expected a string, found {}", kind(&other)),
                )),
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// An optional list of finite numbers.
    pub fn optional_number_list(&mut self, column: &str) -> Result<Option<Vec<f64>>> {
        let Some(value) = self.take_list(column)? else {
            return Ok(None);
        };
        value
            .into_iter()
            .enumerate()
            .map(|(i, item)| match item.as_f64() {
                Some(v) if v.is_finite() => Ok(v),
                Some(_) => Err(self.error(column, format!("item {i}: number is not finite"))),
                None => Err(self.error(
                    column,
                    format!("item {i}: expected a number, found {}", kind(&item)),
                )),
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    fn take_list(&mut self, column: &str) -> Result<Option<Vec<Value>>> {
        let flat = self.is_flat();
        match self.take(column)? {
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(Value::String(s)) if flat => match serde_json::from_str::<Value>(&s) {
                Ok(Value::Array(items)) => Ok(Some(items)),
                _ => Err(self.error(column, "expected a JSON array in the cell")),
            },
            Some(Value::Null) | None => Ok(None),
            Some(other) => {
                Err(self.error(column, format!("expected a list, found {}", kind(&other))))
            }
        }
    }
}

/// What a JSON value is, for "expected …, found {kind}" messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Reads every record of a tabular file and hands it to `visit`. Errors from malformed lines or
/// from `visit` go through `issues` (strict: stop; skip: record and continue). `required`
/// columns are checked against a csv/tsv header before any row is read; a missing one is an
/// error in either mode, since every row would fail.
pub(crate) fn read_rows(
    path: &Path,
    options: &TableOptions,
    required: &[&str],
    issues: &mut Issues,
    mut visit: impl FnMut(&mut Row) -> Result<()>,
) -> Result<()> {
    match options.format.resolve(path)? {
        TableFormat::Jsonl => read_jsonl(path, issues, &mut visit),
        TableFormat::Tsv => read_tsv(path, options.header, required, issues, &mut visit),
        TableFormat::Csv => read_csv(path, options.header, required, issues, &mut visit),
        #[cfg(feature = "parquet")]
        TableFormat::Parquet => {
            crate::parquet_input::read_parquet(path, required, issues, &mut |line, map| {
                visit(&mut json_row(path, line, map))
            })
        }
        #[cfg(not(feature = "parquet"))]
        TableFormat::Parquet => Err(DataError::parse(
            path,
            0,
            None,
            "parquet input needs rankforge-data built with the `parquet` feature",
        )),
        TableFormat::Auto => unreachable!("resolved above"),
    }
}

/// A row of named JSON values (jsonl, parquet).
fn json_row(path: &Path, line: usize, map: Map<String, Value>) -> Row<'_> {
    Row {
        path,
        line,
        cells: Cells::Json(map),
    }
}

fn read_jsonl(
    path: &Path,
    issues: &mut Issues,
    visit: &mut impl FnMut(&mut Row) -> Result<()>,
) -> Result<()> {
    let mut lines = LineReader::open(path)?;
    while let Some((line_no, line)) = lines.next_line() {
        let outcome = line.and_then(|line| {
            if line.trim().is_empty() {
                return Ok(());
            }
            let map = match serde_json::from_str::<Value>(line) {
                Ok(Value::Object(map)) => map,
                Ok(other) => {
                    return Err(DataError::parse(
                        path,
                        line_no,
                        None,
                        format!("expected a JSON object, found {}", kind(&other)),
                    ))
                }
                Err(e) => {
                    return Err(DataError::parse(
                        path,
                        line_no,
                        None,
                        format!("malformed JSON: {e}"),
                    ))
                }
            };
            visit(&mut json_row(path, line_no, map))
        });
        if let Err(error) = outcome {
            issues.report(error)?;
        }
    }
    Ok(())
}

fn column_index(
    path: &Path,
    header: Option<&[String]>,
    required: &[&str],
) -> Result<HashMap<String, usize>> {
    match header {
        Some(names) => {
            let columns: HashMap<String, usize> = names
                .iter()
                .enumerate()
                .map(|(i, n)| (n.trim().to_string(), i))
                .collect();
            for &name in required {
                if !columns.contains_key(name) {
                    return Err(DataError::parse(
                        path,
                        1,
                        Some(name),
                        format!(
                            "column not found in the header (columns: {})",
                            names.join(", ")
                        ),
                    ));
                }
            }
            Ok(columns)
        }
        None => {
            let mut columns = HashMap::new();
            for &name in required {
                let index: usize = name.parse().map_err(|_| {
                    DataError::parse(
                        path,
                        0,
                        Some(name),
                        "the file has no header: name columns by 0-based position (\"0\", \"1\", ...)",
                    )
                })?;
                columns.insert(name.to_string(), index);
            }
            Ok(columns)
        }
    }
}

/// The columns of a csv or tsv file, for both readers: with a header, named by the file's first
/// non-empty record; without one, by 0-based position. `required` columns are checked as soon
/// as the names are known.
struct FlatColumns<'a> {
    path: &'a Path,
    has_header: bool,
    required: &'a [&'a str],
    index: Option<HashMap<String, usize>>,
}

impl<'a> FlatColumns<'a> {
    fn new(path: &'a Path, has_header: bool, required: &'a [&'a str]) -> Result<Self> {
        let index = if has_header {
            None
        } else {
            Some(column_index(path, None, required)?)
        };
        Ok(Self {
            path,
            has_header,
            required,
            index,
        })
    }

    /// One non-empty record starting on line `line`: the header while none was read yet, else
    /// a row for `visit`, whose error goes through `issues`.
    fn record(
        &mut self,
        line: usize,
        values: Vec<String>,
        issues: &mut Issues,
        visit: &mut impl FnMut(&mut Row) -> Result<()>,
    ) -> Result<()> {
        let Some(columns) = &self.index else {
            self.index = Some(column_index(self.path, Some(&values), self.required)?);
            return Ok(());
        };
        let outcome = visit(&mut Row {
            path: self.path,
            line,
            cells: Cells::Flat { values, columns },
        });
        if let Err(error) = outcome {
            issues.report(error)?;
        }
        Ok(())
    }

    /// At the end of the file: one without even a header holds no records.
    fn finish(&self) -> Result<()> {
        if self.index.is_none() && self.has_header {
            return Err(DataError::no_records(self.path, &[]));
        }
        Ok(())
    }
}

fn read_tsv(
    path: &Path,
    has_header: bool,
    required: &[&str],
    issues: &mut Issues,
    visit: &mut impl FnMut(&mut Row) -> Result<()>,
) -> Result<()> {
    let mut lines = LineReader::open(path)?;
    let mut columns = FlatColumns::new(path, has_header, required)?;
    while let Some((line_no, line)) = lines.next_line() {
        let line = match line {
            Ok(line) => line,
            Err(error) => {
                issues.report(error)?;
                continue;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let values: Vec<String> = line.split('\t').map(str::to_string).collect();
        columns.record(line_no, values, issues, visit)?;
    }
    columns.finish()
}

fn read_csv(
    path: &Path,
    has_header: bool,
    required: &[&str],
    issues: &mut Issues,
    visit: &mut impl FnMut(&mut Row) -> Result<()>,
) -> Result<()> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(open_text(path)?);
    let mut columns = FlatColumns::new(path, has_header, required)?;
    let mut record = csv::ByteRecord::new();
    loop {
        let line_no = reader.position().line() as usize;
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line() as usize).unwrap_or(line_no);
                match e.kind() {
                    csv::ErrorKind::Io(_) => {
                        return Err(DataError::io(path, std::io::Error::other(e.to_string())))
                    }
                    _ => {
                        issues.report(DataError::parse(path, line, None, e.to_string()))?;
                        continue;
                    }
                }
            }
        }
        let line_no = record
            .position()
            .map(|p| p.line() as usize)
            .unwrap_or(line_no);
        let mut values = Vec::with_capacity(record.len());
        let mut bad_utf8 = None;
        for (i, field) in record.iter().enumerate() {
            match std::str::from_utf8(field) {
                Ok(s) => values.push(s.to_string()),
                Err(e) => {
                    bad_utf8 = Some(format!(
                        "invalid UTF-8 in column {} at byte {}",
                        i + 1,
                        e.valid_up_to() + 1
                    ));
                    break;
                }
            }
        }
        if let Some(message) = bad_utf8 {
            issues.report(DataError::parse(path, line_no, None, message))?;
            continue;
        }
        if values.len() == 1 && values[0].trim().is_empty() {
            continue;
        }
        columns.record(line_no, values, issues, visit)?;
    }
    columns.finish()
}
