//! Errors of a training run; each names the file, step or setting at fault.

use std::path::PathBuf;

/// What can stop a run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The config file does not parse or fails validation.
    #[error("config {path}: {message}")]
    Config { path: PathBuf, message: String },
    #[error("{path}: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error(transparent)]
    Data(#[from] rankforge_data::DataError),
    #[error(transparent)]
    Model(#[from] rankforge_model::ModelError),
    #[error(transparent)]
    Loss(#[from] rankforge_losses::LossError),
    #[error(transparent)]
    Mining(#[from] rankforge_mining::MiningError),
    #[error(transparent)]
    Eval(#[from] rankforge_eval::EvalError),
    /// A loss or gradient norm became NaN or infinite.
    #[error(
        "the {what} became {value} at step {step}: training stopped. The last good checkpoint \
         is kept{}; lower train.learning_rate or set train.max_grad_norm",
        last_checkpoint.as_ref().map(|p| format!(" at {}", p.display())).unwrap_or_default()
    )]
    NonFinite {
        what: &'static str,
        value: f64,
        step: usize,
        last_checkpoint: Option<PathBuf>,
    },
    /// `--resume` found no checkpoint, or one written by a different config.
    #[error("cannot resume from {path}: {message}")]
    Resume { path: PathBuf, message: String },
    /// Data that cannot form a single training example.
    #[error("no training data: {0}")]
    NoData(String),
    /// Anything else, said in words.
    #[error("{0}")]
    Other(String),
}

pub type Result<T> = std::result::Result<T, TrainError>;

/// `map_err` helper for I/O on `path`.
pub fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |cause| TrainError::Io {
        path: path.to_path_buf(),
        cause,
    }
}
