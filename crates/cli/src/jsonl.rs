//! JSON-lines output for the CLI. (Input goes through `rankforge_data::read_string_fields`,
//! whose errors name the file, the line and the field.)

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use rankforge_data::AtomicFile;
use serde_json::Value;

/// Writes one JSON value per line, atomically (a failed write leaves the previous file).
pub fn write_lines(path: &Path, values: impl IntoIterator<Item = Value>) -> Result<()> {
    let failed = || format!("{}: write failed", path.display());
    let mut out =
        AtomicFile::create(path).with_context(|| format!("{}: cannot create", path.display()))?;
    for value in values {
        serde_json::to_writer(&mut out, &value).with_context(failed)?;
        out.write_all(b"\n").with_context(failed)?;
    }
    out.commit().with_context(failed)
}
