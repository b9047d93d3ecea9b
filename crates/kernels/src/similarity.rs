//! How two embeddings are compared: the one definition the in-batch losses and dense retrieval
//! share (a config's `similarity = "cosine" | "dot"`).

use serde::{Deserialize, Serialize};

/// Similarity of query and document embeddings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Similarity {
    /// Cosine similarity (sentence-transformers' default): embeddings L2-normalised first.
    #[default]
    Cosine,
    /// Raw dot product.
    Dot,
}
