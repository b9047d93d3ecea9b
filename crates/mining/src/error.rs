//! Errors of the mining crate.

use std::path::PathBuf;

use rankforge_data::DataError;

#[derive(Debug, thiserror::Error)]
pub enum MiningError {
    /// Reading or writing a data file failed (names file, line and field).
    #[error(transparent)]
    Data(#[from] DataError),
    /// A setting is out of range or inconsistent.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A saved index could not be read back.
    #[error("{}: {message}", path.display())]
    Index { path: PathBuf, message: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A first-stage retriever or rescorer implemented elsewhere failed.
    #[error("{0}")]
    Retriever(String),
}

impl MiningError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        MiningError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

pub type Result<T> = std::result::Result<T, MiningError>;
