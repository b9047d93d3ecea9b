//! [`ServeError`]: why a server could not start, or stopped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Why a server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{0}")]
    Config(String),
    #[error("loading {}: {source}", path.display())]
    Model {
        path: PathBuf,
        source: rankforge_model::ModelError,
    },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Worker(String),
    #[error("server: {0}")]
    Io(std::io::Error),
}

impl ServeError {
    pub fn model(path: &Path, source: rankforge_model::ModelError) -> Self {
        ServeError::Model {
            path: path.to_path_buf(),
            source,
        }
    }
}
