//! Errors of the model crate. Each names the file (and field or tensor) at fault.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{}: {cause}", path.display())]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{}: field `{field}`: {message}", path.display())]
    Config {
        path: PathBuf,
        field: String,
        message: String,
    },
    #[error("{}: unsupported model: {message}", path.display())]
    Unsupported { path: PathBuf, message: String },
    #[error("{}: missing tensors: {}", path.display(), names.join(", "))]
    MissingTensors { path: PathBuf, names: Vec<String> },
    #[error("{}: {message}", path.display())]
    Weights { path: PathBuf, message: String },
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, ModelError>;

pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> ModelError {
    let path = path.into();
    move |cause| ModelError::Io { path, cause }
}
