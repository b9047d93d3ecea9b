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

/// Document vectors scored against a query in one matrix product at most (bounds the
/// `query rows × tokens` similarity block: 32 × 65,536 × 4 bytes = 8 MiB).
const TOKENS_PER_PRODUCT: usize = 65_536;

/// [`maxsim`] of `query` against each of `documents` (every row scored), with the similarities
/// of the query against all the documents' vectors from one matrix product per
/// [`TOKENS_PER_PRODUCT`] tokens on `device` (as PyLate scores a candidate list), then each
/// query row's maximum per document, summed. Equal to [`maxsim`] up to the order of the
/// additions inside each dot product (the backend's GEMM).
pub fn maxsim_many<B: Backend>(
    query: &TokenVectors,
    documents: &[&TokenVectors],
    device: &B::Device,
) -> Vec<f32> {
    let dim = query.dim;
    let rows = query.rows();
    let mut out = vec![0.0f32; documents.len()];
    if rows == 0 {
        return out;
    }
    let q = Tensor::<B, 2>::from_data(
        burn::tensor::TensorData::new(query.data.clone(), [rows, dim]),
        device,
    );
    let mut start = 0;
    while start < documents.len() {
        // Whole documents up to the token budget (at least one).
        let mut end = start;
        let mut tokens = 0;
        while end < documents.len()
            && (end == start || tokens + documents[end].rows() <= TOKENS_PER_PRODUCT)
        {
            assert_eq!(
                documents[end].dim, dim,
                "query and document vectors differ in width"
            );
            tokens += documents[end].rows();
            end += 1;
        }
        if tokens > 0 {
            let mut data = Vec::with_capacity(tokens * dim);
            for document in &documents[start..end] {
                data.extend_from_slice(&document.data);
            }
            let d = Tensor::<B, 2>::from_data(
                burn::tensor::TensorData::new(data, [tokens, dim]),
                device,
            );
            let sims: Vec<f32> = q
                .clone()
                .matmul(d.transpose())
                .into_data()
                .convert::<f32>()
                .into_vec::<f32>()
                .expect("similarities convert to f32");
            let mut column = 0;
            for (score, document) in out[start..end].iter_mut().zip(&documents[start..end]) {
                let width = document.rows();
                if width > 0 {
                    *score = (0..rows)
                        .map(|r| {
                            let line = &sims[r * tokens + column..r * tokens + column + width];
                            line.iter().copied().fold(f32::NEG_INFINITY, f32::max)
                        })
                        .sum();
                }
                column += width;
            }
        }
        start = end;
    }
    out
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

/// Each query against its own `list` documents: `queries [g, lq, dim]`, `documents
/// [g·list, ld, dim]` (group-major: query `i`'s documents are rows `i·list .. (i+1)·list`),
/// `document_mask [g·list, ld]` → `[g, list]`. The diagonal blocks of [`maxsim_scores`],
/// without the cross-query similarities (PyLate's `colbert_kd_scores`, for the distillation
/// and group losses); masked similarities are multiplied by 0 as there.
pub fn maxsim_group_scores<B: Backend>(
    queries: Tensor<B, 3>,
    documents: Tensor<B, 3>,
    document_mask: Tensor<B, 2, Bool>,
) -> Tensor<B, 2> {
    let [g, lq, dim] = queries.dims();
    let [n, ld, _] = documents.dims();
    assert!(
        g > 0 && n.is_multiple_of(g),
        "{n} documents for {g} queries: a whole list each"
    );
    let list = n / g;
    // [g, lq, dim] · [g, dim, list·ld] → [g, lq, list, ld]
    let sims = queries
        .matmul(documents.reshape([g, list * ld, dim]).swap_dims(1, 2))
        .reshape([g, lq, list, ld]);
    let keep = document_mask.float().reshape([g, 1, list, ld]);
    (sims * keep).max_dim(3).sum_dim(1).reshape([g, list])
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    type B = crate::backend::Cpu;

    /// One product for many documents (some empty, some past a product's token budget) gives
    /// the pairwise scores.
    #[test]
    fn many_documents_score_as_pairwise_maxsim() {
        let device = Default::default();
        let dim = 5;
        let vectors = |rows: usize, seed: f32| {
            TokenVectors::new(
                dim,
                (0..rows * dim)
                    .map(|i| ((i as f32 + seed) * 0.73).cos())
                    .collect(),
            )
        };
        let query = vectors(7, 0.5);
        let mut documents: Vec<TokenVectors> = (0..40)
            .map(|i| vectors(if i % 9 == 4 { 0 } else { 1 + i % 13 }, i as f32))
            .collect();
        documents.push(vectors(TOKENS_PER_PRODUCT + 3, 2.0));
        documents.push(vectors(3, 9.0));
        let refs: Vec<&TokenVectors> = documents.iter().collect();
        let many = maxsim_many::<B>(&query, &refs, &device);
        for (document, score) in documents.iter().zip(&many) {
            let want = maxsim(&query, document, None, None);
            assert!(
                (want - score).abs() <= 1e-5 * want.abs().max(1.0),
                "{score} vs {want}"
            );
        }
        assert_eq!(many[4], 0.0, "a document without vectors scores 0");
    }

    /// The group scores are the diagonal blocks of the full in-batch matrix.
    #[test]
    fn group_scores_are_the_diagonal_blocks_of_the_in_batch_scores() {
        let device = Default::default();
        let (g, list, lq, ld, dim) = (3, 2, 4, 5, 3);
        let values = |n: usize, seed: f32| -> Vec<f32> {
            (0..n).map(|i| ((i as f32 + seed) * 0.37).sin()).collect()
        };
        let queries = Tensor::<B, 3>::from_data(
            TensorData::new(values(g * lq * dim, 1.0), [g, lq, dim]),
            &device,
        );
        let documents = Tensor::<B, 3>::from_data(
            TensorData::new(values(g * list * ld * dim, 7.0), [g * list, ld, dim]),
            &device,
        );
        let mask: Vec<bool> = (0..g * list * ld).map(|i| i % 3 != 1).collect();
        let mask = Tensor::<B, 2, Bool>::from_data(TensorData::new(mask, [g * list, ld]), &device);
        let full = maxsim_scores(queries.clone(), documents.clone(), mask.clone())
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        let groups = maxsim_group_scores(queries, documents, mask)
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        for i in 0..g {
            for k in 0..list {
                let want = full[i * g * list + i * list + k];
                let got = groups[i * list + k];
                assert!((want - got).abs() < 1e-6, "{i},{k}: {got} vs {want}");
            }
        }
    }
}
