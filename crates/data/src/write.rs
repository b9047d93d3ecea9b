//! Writers shared by the typed formats: jsonl from any `Serialize`, csv with quoting, and tsv
//! that refuses fields it could not write back faithfully. Each writes atomically
//! ([`crate::atomic`]): a failed write leaves the previous file as it was.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use crate::atomic::AtomicFile;
use crate::error::{DataError, Result};

/// Writes one JSON object per line.
pub fn write_jsonl<'a, T: Serialize + 'a>(
    path: impl AsRef<Path>,
    items: impl IntoIterator<Item = &'a T>,
) -> Result<()> {
    let path = path.as_ref();
    let mut out = create(path)?;
    for item in items {
        serde_json::to_writer(&mut out, item)
            .map_err(|e| DataError::io(path, std::io::Error::other(e)))?;
        out.write_all(b"\n").map_err(|e| DataError::io(path, e))?;
    }
    out.commit().map_err(|e| DataError::io(path, e))
}

/// Writes tab-separated rows. A field holding a tab or a line break cannot be written without
/// changing it, so it is an error naming the 1-based output line and column.
pub fn write_tsv<'a, R, F>(path: impl AsRef<Path>, header: Option<&[&str]>, rows: R) -> Result<()>
where
    R: IntoIterator<Item = F>,
    F: IntoIterator<Item = &'a str>,
{
    let path = path.as_ref();
    let mut out = create(path)?;
    let mut line = 0;
    if let Some(header) = header {
        line += 1;
        writeln!(out, "{}", header.join("\t")).map_err(|e| DataError::io(path, e))?;
    }
    for row in rows {
        line += 1;
        for (column, field) in row.into_iter().enumerate() {
            if field.contains(['\t', '\n', '\r']) {
                return Err(DataError::parse(
                    path,
                    line,
                    Some(&(column + 1).to_string()),
                    "a tab or line break in a field cannot be written as tsv: use jsonl",
                ));
            }
            if column > 0 {
                out.write_all(b"\t").map_err(|e| DataError::io(path, e))?;
            }
            out.write_all(field.as_bytes())
                .map_err(|e| DataError::io(path, e))?;
        }
        out.write_all(b"\n").map_err(|e| DataError::io(path, e))?;
    }
    out.commit().map_err(|e| DataError::io(path, e))
}

/// Writes comma-separated rows with RFC 4180 quoting (fields holding commas, quotes or line
/// breaks are quoted), optionally under a header.
pub fn write_csv<'a, R, F>(path: impl AsRef<Path>, header: Option<&[&str]>, rows: R) -> Result<()>
where
    R: IntoIterator<Item = F>,
    F: IntoIterator<Item = &'a str>,
{
    let path = path.as_ref();
    let mut out = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(create(path)?);
    let io = |e: csv::Error| DataError::io(path, std::io::Error::other(e));
    if let Some(header) = header {
        out.write_record(header).map_err(io)?;
    }
    for row in rows {
        out.write_record(row).map_err(io)?;
    }
    out.into_inner()
        .map_err(|e| DataError::io(path, e.into_error()))?
        .commit()
        .map_err(|e| DataError::io(path, e))
}

fn create(path: &Path) -> Result<AtomicFile> {
    AtomicFile::create(path).map_err(|e| DataError::io(path, e))
}
