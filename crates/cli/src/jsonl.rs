//! JSON-lines output for the CLI. (Input goes through `rankforge_data::read_string_fields`,
//! whose errors name the file, the line and the field.)

use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;

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
