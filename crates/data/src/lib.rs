//! Retrieval data formats. Every reader reports bad input as a [`DataError`] naming the file,
//! the line and the field; nothing is dropped silently.

pub mod error;
pub mod qrels;
pub mod run;

pub use error::{DataError, Result};
pub use qrels::Qrels;
pub use run::{sort_trec, Run, ScoredDoc};
