//! Errors that point at the offending place in the user's file.

use std::path::{Path, PathBuf};

/// An error reading or writing a data file. Every variant names the file; parse errors also
/// name the 1-based line and, where one is at fault, the field. Line 0 marks an error about the
/// file as a whole (no records, unknown format, a column missing from a parquet schema): it is
/// shown as `file: message`.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{}: {cause}", path.display())]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{}{}: {}{message}", path.display(), if *line > 0 { format!(":{line}") } else { String::new() }, field.as_deref().map(|f| format!("field `{f}`: ")).unwrap_or_default())]
    Parse {
        path: PathBuf,
        line: usize,
        field: Option<String>,
        message: String,
    },
}

impl DataError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.to_path_buf(),
            cause: source,
        }
    }

    pub fn parse(
        path: &Path,
        line: usize,
        field: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        DataError::Parse {
            path: path.to_path_buf(),
            line,
            field: field.map(str::to_string),
            message: message.into(),
        }
    }

    /// The error for an input file without a single record (empty, or only blank lines, a
    /// byte-order mark or a header): a reader never hands back empty data as if it were a
    /// successful read. `skipped` are the records dropped in [`crate::ReadMode::Skip`], if
    /// every record was bad.
    pub fn no_records(path: &Path, skipped: &[DataError]) -> Self {
        let message = match skipped.first() {
            None => format!("{NO_RECORDS} (empty, or only blank lines or a header)"),
            Some(first) => format!(
                "{NO_RECORDS} that could be used: all {} were skipped (the first: {first})",
                skipped.len()
            ),
        };
        DataError::parse(path, 0, None, message)
    }
}

/// What [`DataError::no_records`] says, for callers that test for it.
pub const NO_RECORDS: &str = "holds no records";

pub type Result<T> = std::result::Result<T, DataError>;
