//! Generic tabular input: jsonl, csv, tsv, parquet and Arrow IPC files whose columns are named
//! by the caller.
//!
//! Every typed reader in this crate (corpus, queries, pairs, triples, training files) goes
//! through [`read_rows`] (or, for reads that start mid-file, [`read_text`] and
//! [`crate::columnar`]), so they all report errors the same way: file, 1-based line (text
//! formats) or row (columnar formats), column.
//!
//! The text formats are read here, line by line: the line readers give the exact source line
//! of a bad value and stream. The columnar formats (parquet, Arrow IPC) go through polars in
//! [`crate::columnar`], reading only the columns the caller names, a bounded chunk of rows at
//! a time; see that module for why polars reads only those.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::columnar::{ColumnarFile, Flow};
use crate::error::{DataError, Result};
use crate::lines::{open_text_at, text_end, LineReader};
use crate::mode::{Issues, ReadMode};

/// The layout of a tabular file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TableFormat {
    /// Chosen from the extension: `.jsonl`/`.ndjson`/`.json` → jsonl, `.csv` → csv,
    /// `.tsv`/`.tab` → tsv, `.parquet`/`.pq` → parquet, `.arrow`/`.ipc`/`.feather` → Arrow IPC.
    #[default]
    Auto,
    /// One JSON object per line; columns are keys.
    Jsonl,
    /// Comma separated, RFC 4180 quoting.
    Csv,
    /// Tab separated, no quoting (the MS MARCO convention: a field cannot hold a tab or newline).
    Tsv,
    /// Apache Parquet, read through polars with column projection. Error "lines" are 1-based
    /// row numbers.
    Parquet,
    /// Arrow IPC file format (Feather v2), read through polars with column projection. Error
    /// "lines" are 1-based row numbers.
    Ipc,
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
            "arrow" | "ipc" | "feather" => Ok(TableFormat::Ipc),
            _ => Err(DataError::parse(
                path,
                0,
                None,
                format!("cannot tell the format from the extension `{ext}`: set the format (jsonl, csv, tsv, parquet or ipc)"),
            )),
        }
    }

    /// The format of a BEIR file (`corpus.*`, `queries.*`): parquet or Arrow IPC when the
    /// extension says so (Hugging Face ships BEIR sets as parquet), else jsonl, BEIR's own
    /// format, whatever the extension.
    pub fn beir(path: &Path) -> TableFormat {
        match TableFormat::Auto.resolve(path) {
            Ok(format) if format.is_columnar() => format,
            _ => TableFormat::Jsonl,
        }
    }

    /// Whether this (resolved) format is columnar: parquet or Arrow IPC.
    pub fn is_columnar(self) -> bool {
        matches!(self, TableFormat::Parquet | TableFormat::Ipc)
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
    /// jsonl, parquet and Arrow IPC.
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
    /// Where a text read can start again to read this record first: a byte offset (counted
    /// after a byte-order mark) and the number of lines before it. The offset is the record's
    /// first line, or for csv possibly a blank line before it. `(0, 0)` for the columnar
    /// formats.
    resume: (u64, usize),
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
    /// 1-based line the record starts on (1-based row for parquet and Arrow IPC).
    pub fn line(&self) -> usize {
        self.line
    }

    /// Where [`read_text`] can start again to read this record first: a byte offset in a text
    /// file (after a byte-order mark) and the number of lines before that offset.
    pub(crate) fn resume(&self) -> (u64, usize) {
        self.resume
    }

    /// A row of named JSON values (jsonl, parquet, Arrow IPC).
    pub(crate) fn json(path: &'a Path, line: usize, map: Map<String, Value>) -> Self {
        Row {
            path,
            line,
            resume: (0, 0),
            cells: Cells::Json(map),
        }
    }

    /// Whether the row has `column` (a key of a JSON object, a header column of csv/tsv).
    pub(crate) fn has(&self, column: &str) -> bool {
        match &self.cells {
            Cells::Json(map) => map.contains_key(column),
            Cells::Flat { columns, .. } => columns.contains_key(column),
        }
    }

    /// The column names the row has (JSON keys, or the csv/tsv columns), for messages.
    pub(crate) fn column_names(&self) -> Vec<String> {
        match &self.cells {
            Cells::Json(map) => map.keys().cloned().collect(),
            Cells::Flat { columns, .. } => {
                let mut names: Vec<(&String, &usize)> = columns.iter().collect();
                names.sort_by_key(|(_, &i)| i);
                names.into_iter().map(|(n, _)| n.clone()).collect()
            }
        }
    }

    /// The raw value of `column`, taken out of the row: a JSON value, or a csv/tsv cell as a
    /// string (see [`Row::is_flat`]). `None` when absent.
    pub(crate) fn take_value(&mut self, column: &str) -> Result<Option<Value>> {
        self.take(column)
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

    /// Whether the cells are csv/tsv text (numbers and lists arrive as strings to parse).
    pub(crate) fn is_flat(&self) -> bool {
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

    pub(crate) fn take_list(&mut self, column: &str) -> Result<Option<Vec<Value>>> {
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
/// columns are checked against a csv/tsv header or a parquet/IPC schema before any row is
/// read; a missing one is an error in either mode, since every row would fail. Parquet and
/// Arrow IPC files are read with projection: only `required` and `optional` columns (those of
/// them the file has) are decoded, so a visitor must name every column it reads in one of the
/// two.
pub(crate) fn read_rows(
    path: &Path,
    options: &TableOptions,
    required: &[&str],
    optional: &[&str],
    issues: &mut Issues,
    mut visit: impl FnMut(&mut Row) -> Result<()>,
) -> Result<()> {
    let format = options.format.resolve(path)?;
    if format.is_columnar() {
        let file = ColumnarFile::open(path, format)?;
        let projection = file.projection(required, optional)?;
        return file.read_range(0, file.rows(), &projection, &mut |row_no, map| {
            let outcome = map.and_then(|map| visit(&mut Row::json(path, row_no, map)));
            if let Err(error) = outcome {
                issues.report(error)?;
            }
            Ok(Flow::Continue)
        });
    }
    read_text(
        path,
        format,
        options.header,
        required,
        &TextStart::default(),
        issues,
        &mut |row| visit(row).map(|()| Flow::Continue),
    )
    .map(|_| ())
}

/// Where a read of a text file (jsonl, csv, tsv) starts: at the beginning of the file
/// ([`TextStart::default`]), or at a record found by an earlier read ([`Row::offset`], the
/// number of lines before it, and a csv/tsv file's columns as that read returned them).
#[derive(Debug, Clone, Default)]
pub(crate) struct TextStart {
    /// Byte offset of the record's first line, after a byte-order mark.
    pub(crate) offset: u64,
    /// Lines before that record, so reported lines stay file lines.
    pub(crate) lines_before: usize,
    /// The columns of a csv/tsv file (from its header, or its positions): `None` at the start
    /// of the file, where the header is read.
    pub(crate) columns: Option<Arc<HashMap<String, usize>>>,
}

/// Reads the records of a text file of `format` (jsonl, csv or tsv) from `start`, handing each
/// to `visit` until the file ends or `visit` returns [`Flow::Stop`]. Errors go through
/// `issues` as in [`read_rows`]. Returns the csv/tsv columns (`None` for jsonl), to start a
/// later read mid-file with.
pub(crate) fn read_text(
    path: &Path,
    format: TableFormat,
    header: bool,
    required: &[&str],
    start: &TextStart,
    issues: &mut Issues,
    visit: &mut dyn FnMut(&mut Row) -> Result<Flow>,
) -> Result<Option<Arc<HashMap<String, usize>>>> {
    match format {
        TableFormat::Jsonl => read_jsonl(path, start, issues, visit).map(|()| None),
        TableFormat::Tsv => read_tsv(path, header, required, start, issues, visit).map(Some),
        TableFormat::Csv => read_csv(path, header, required, start, issues, visit).map(Some),
        other => unreachable!("{other:?} is not a resolved text format"),
    }
}

fn read_jsonl(
    path: &Path,
    start: &TextStart,
    issues: &mut Issues,
    visit: &mut dyn FnMut(&mut Row) -> Result<Flow>,
) -> Result<()> {
    let mut lines = LineReader::open_at(path, start.offset, start.lines_before)?;
    loop {
        let offset = lines.position();
        let Some((line_no, line)) = lines.next_line() else {
            break;
        };
        let mut flow = Flow::Continue;
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
            let mut row = Row::json(path, line_no, map);
            row.resume = (offset, line_no - 1);
            flow = visit(&mut row)?;
            Ok(())
        });
        if let Err(error) = outcome {
            issues.report(error)?;
        }
        if flow == Flow::Stop {
            break;
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
/// as the names are known. A read that starts mid-file is handed the columns found by the read
/// that started at the top.
struct FlatColumns<'a> {
    path: &'a Path,
    has_header: bool,
    required: &'a [&'a str],
    index: Option<Arc<HashMap<String, usize>>>,
}

impl<'a> FlatColumns<'a> {
    fn new(
        path: &'a Path,
        has_header: bool,
        required: &'a [&'a str],
        start: &TextStart,
    ) -> Result<Self> {
        let index = match &start.columns {
            Some(columns) => Some(columns.clone()),
            None if has_header => None,
            None => Some(Arc::new(column_index(path, None, required)?)),
        };
        Ok(Self {
            path,
            has_header,
            required,
            index,
        })
    }

    /// One non-empty record starting on line `line`, read again from `resume` (see
    /// [`Row::resume`]): the header while none was read yet, else a row for `visit`, whose
    /// error goes through `issues`.
    fn record(
        &mut self,
        line: usize,
        resume: (u64, usize),
        values: Vec<String>,
        issues: &mut Issues,
        visit: &mut dyn FnMut(&mut Row) -> Result<Flow>,
    ) -> Result<Flow> {
        let Some(columns) = &self.index else {
            self.index = Some(Arc::new(column_index(
                self.path,
                Some(&values),
                self.required,
            )?));
            return Ok(Flow::Continue);
        };
        let outcome = visit(&mut Row {
            path: self.path,
            line,
            resume,
            cells: Cells::Flat { values, columns },
        });
        match outcome {
            Ok(flow) => Ok(flow),
            Err(error) => issues.report(error).map(|()| Flow::Continue),
        }
    }

    /// At the end of the file: one without even a header holds no records. Returns the
    /// columns.
    fn finish(self) -> Result<Arc<HashMap<String, usize>>> {
        match self.index {
            Some(index) => Ok(index),
            None if self.has_header => Err(DataError::no_records(self.path, &[])),
            None => Ok(Arc::default()),
        }
    }
}

fn read_tsv(
    path: &Path,
    has_header: bool,
    required: &[&str],
    start: &TextStart,
    issues: &mut Issues,
    visit: &mut dyn FnMut(&mut Row) -> Result<Flow>,
) -> Result<Arc<HashMap<String, usize>>> {
    let mut lines = LineReader::open_at(path, start.offset, start.lines_before)?;
    let mut columns = FlatColumns::new(path, has_header, required, start)?;
    loop {
        let offset = lines.position();
        let Some((line_no, line)) = lines.next_line() else {
            break;
        };
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
        if columns.record(line_no, (offset, line_no - 1), values, issues, visit)? == Flow::Stop {
            break;
        }
    }
    columns.finish()
}

fn read_csv(
    path: &Path,
    has_header: bool,
    required: &[&str],
    start: &TextStart,
    issues: &mut Issues,
    visit: &mut dyn FnMut(&mut Row) -> Result<Flow>,
) -> Result<Arc<HashMap<String, usize>>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(open_text_at(path, start.offset)?);
    let mut columns = FlatColumns::new(path, has_header, required, start)?;
    let mut record = csv::ByteRecord::new();
    // The csv reader counts lines and bytes from where it started. It skips blank lines
    // without a record, and a record's own position is where the skipping began, so the line
    // a record starts on is counted back from the position after it; that needs to know
    // whether the record ended with a line break (not the last line of a file without one).
    let (text_len, ends_with_newline) = text_end(path)?;
    let file_line = |line: u64| start.lines_before + line as usize;
    let file_offset = |byte: u64| start.offset + byte;
    loop {
        let line_no = file_line(reader.position().line());
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| file_line(p.line())).unwrap_or(line_no);
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
        let after = reader.position();
        let resume = record
            .position()
            .map(|p| (file_offset(p.byte()), file_line(p.line()) - 1))
            .unwrap_or((start.offset, start.lines_before));
        let breaks_inside: usize = record
            .iter()
            .map(|field| field.iter().filter(|&&b| b == b'\n').count())
            .sum();
        let terminated = ends_with_newline || file_offset(after.byte()) < text_len;
        let line_no =
            (file_line(after.line()) - usize::from(terminated) - breaks_inside).max(resume.1 + 1);
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
        if columns.record(line_no, resume, values, issues, visit)? == Flow::Stop {
            break;
        }
    }
    columns.finish()
}
