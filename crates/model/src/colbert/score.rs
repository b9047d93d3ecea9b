//! MaxSim, ColBERT's late-interaction score: for each query vector, the largest dot product
//! with any document vector, summed over the query vectors.

use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Tensor};

/// Per-token vectors of one text, `rows × dim`, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenVectors {
    pub dim: usize,
    pub data: Vec<f32>,
}

impl TokenVectors {
    pub fn new(dim: usize, data: Vec<f32>) -> Self {
        assert!(
            dim > 0 && data.len().is_multiple_of(dim),
            "{} values in rows of {dim}",
            data.len()
        );
        Self { dim, data }
    }

    /// Number of vectors.
    pub fn rows(&self) -> usize {
        self.data.len() / self.dim
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// The rows where `keep` is true.
    pub fn select(&self, keep: &[bool]) -> Self {
        assert_eq!(keep.len(), self.rows(), "one flag per vector");
        let data = (0..self.rows())
            .filter(|&i| keep[i])
            .flat_map(|i| self.row(i).iter().copied())
            .collect();
        Self::new(self.dim, data)
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `Σ_i max_j <q_i, d_j>` over the query rows `query_mask` keeps and the document rows
/// `document_mask` keeps (`None`: all). Masked entries are excluded, as Stanford ColBERT
/// scores and as PyLate does on the vectors its `encode` returns (those already lack the
/// skiplist tokens). A query vector with no document vector left adds 0. (PyLate's
/// `rank.rerank` pads a query's candidates with zero vectors to the longest, so there a query
/// vector whose every similarity is negative gets 0 instead of its best; with trained models
/// such rows are rare.)
pub fn maxsim(
    query: &TokenVectors,
    document: &TokenVectors,
    query_mask: Option<&[bool]>,
    document_mask: Option<&[bool]>,
) -> f32 {
    assert_eq!(
        query.dim, document.dim,
        "query and document vectors differ in width"
    );
    let kept = |mask: Option<&[bool]>, i: usize| mask.is_none_or(|m| m[i]);
    let doc_rows: Vec<&[f32]> = (0..document.rows())
        .filter(|&j| kept(document_mask, j))
        .map(|j| document.row(j))
        .collect();
    if doc_rows.is_empty() {
        return 0.0;
    }
    (0..query.rows())
        .filter(|&i| kept(query_mask, i))
        .map(|i| {
            let q = query.row(i);
            doc_rows
                .iter()
                .map(|d| dot(q, d))
                .fold(f32::NEG_INFINITY, f32::max)
        })
        .sum()
}

/// PyLate's training-time scores (`colbert_scores` / `colbert_kd_scores` with a documents
/// mask), differentiable: `queries [q, lq, dim]`, `documents [n, ld, dim]` (padded),
/// `document_mask [n, ld]` (`true` = scored) → `[q, n]`. A masked similarity is multiplied by
/// 0 rather than excluded, as PyLate does; it differs from [`maxsim`] only when every scored
/// similarity of a query token is negative.
pub fn maxsim_scores<B: Backend>(
    queries: Tensor<B, 3>,
    documents: Tensor<B, 3>,
    document_mask: Tensor<B, 2, Bool>,
) -> Tensor<B, 2> {
    let [q, lq, dim] = queries.dims();
    let [n, ld, _] = documents.dims();
    // [q·lq, dim] · [dim, n·ld] → [q, lq, n, ld]
    let sims = queries
        .reshape([q * lq, dim])
        .matmul(documents.reshape([n * ld, dim]).transpose())
        .reshape([q, lq, n, ld]);
    let keep = document_mask.float().reshape([1, 1, n, ld]);
    (sims * keep).max_dim(3).sum_dim(1).reshape([q, n])
}
