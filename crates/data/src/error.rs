//! Errors that point at the offending place in the user's file.

use std::path::{Path, PathBuf};

/// An error reading or writing a data file. Every variant names the file; parse errors also
/// name the 1-based line and, where one is at fault, the field.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{}: {cause}", path.display())]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{}:{line}: {}{message}", path.display(), field.as_deref().map(|f| format!("field `{f}`: ")).unwrap_or_default())]
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
}

pub type Result<T> = std::result::Result<T, DataError>;
