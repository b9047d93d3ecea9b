//! JSON-lines input and output for the CLI, with errors naming file, line and field.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::Value;

/// Reads a jsonl file and extracts, from each non-empty line, the string fields `fields`.
pub fn read_string_fields(path: &Path, fields: &[&str]) -> Result<Vec<Vec<String>>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut rows = Vec::new();
    for (index, line) in BufReader::new(file).lines().enumerate() {
        let line_no = index + 1;
        let line =
            line.with_context(|| format!("{}:{line_no}: not valid UTF-8", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(&line)
            .with_context(|| format!("{}:{line_no}: not a JSON object", path.display()))?;
        let mut row = Vec::with_capacity(fields.len());
        for field in fields {
            match value.get(field) {
                Some(Value::String(s)) => row.push(s.clone()),
                Some(other) => bail!(
                    "{}:{line_no}: field `{field}`: expected a string, found {}",
                    path.display(),
                    kind(other)
                ),
                None => bail!("{}:{line_no}: field `{field}` is missing", path.display()),
            }
        }
        rows.push(row);
    }
    Ok(rows)
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Writes one JSON value per line.
pub fn write_lines(path: &Path, values: impl IntoIterator<Item = Value>) -> Result<()> {
    let file = std::fs::File::create(path)
        .with_context(|| format!("{}: cannot create", path.display()))?;
    let mut out = BufWriter::new(file);
    for value in values {
        serde_json::to_writer(&mut out, &value)?;
        out.write_all(b"\n")?;
    }
    out.flush()
        .with_context(|| format!("{}: write failed", path.display()))
}
