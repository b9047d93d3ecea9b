//! Errors of the evaluation crate: every message says what was wrong and what is expected.

use std::path::{Path, PathBuf};

/// Why a metric list, an evaluation, a comparison or a chart could not be made.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A metric name that does not parse (unknown name, missing or bad cutoff, empty entry).
    #[error("invalid metric `{input}`: {reason}")]
    InvalidMetric { input: String, reason: String },
    /// The same metric asked for twice in one list.
    #[error("metric `{0}` is listed twice")]
    DuplicateMetric(String),
    /// An empty metric list.
    #[error("no metrics given: expected a comma-separated list such as `ndcg@10,mrr@10,map`")]
    NoMetrics,
    /// Qrels with no query: there is nothing to average over.
    #[error("the qrels have no queries: nothing to evaluate")]
    EmptyQrels,
    /// `compare` called without a run.
    #[error("no runs to compare: give at least one (the first is the baseline)")]
    NoRuns,
    /// Chart data that cannot be drawn (empty, mismatched lengths, non-finite values).
    #[error("cannot draw chart: {0}")]
    InvalidChart(String),
    /// The plotting backend failed.
    #[error("{}: drawing failed: {message}", path.display())]
    Plot { path: PathBuf, message: String },
    /// Writing an output file failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl EvalError {
    pub(crate) fn invalid_metric(input: &str, reason: impl Into<String>) -> Self {
        EvalError::InvalidMetric {
            input: input.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        EvalError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn plot(path: &Path, message: impl std::fmt::Display) -> Self {
        EvalError::Plot {
            path: path.to_path_buf(),
            message: message.to_string(),
        }
    }
}

pub type Result<T> = std::result::Result<T, EvalError>;
