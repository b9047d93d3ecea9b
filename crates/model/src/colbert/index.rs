//! Exact ColBERT retrieval over a whole corpus (`rankforge retrieve --method colbert`): every
//! document's scored vectors held in memory, and each query's MaxSim against all of them.
//!
//! Memory: a document costs `4 · dim` bytes per scored token (its tokens up to
//! `document_length`, less the skiplist), e.g. 128 × 4 = 512 bytes a token, so at most
//! 92 KB for a 180-token document with `dim` 128; [`ColBertIndex::bytes`] says what an
//! index holds. At SciFact's 5k documents that is a few hundred MB at most; at 100k documents of
//! ~150 tokens, ~8 GB: exact search is meant for collections of that size or less (a
//! compressed token index, as PLAID's, is left for later).
//!
//! Speed: the similarities of a block of queries against a block of documents are one matrix
//! product on the model's backend (`[query tokens, dim] × [dim, document tokens]`); the max
//! over each document's columns and the sum over each query's rows are taken on the host.
//! Each document is encoded once, each (query token, document token) product computed once.

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use rankforge_data::{sort_trec, Corpus, Run, ScoredDoc};

use super::score::TokenVectors;
use super::ColBert;
use crate::error::Result;

/// Queries per matrix product.
const QUERY_BLOCK: usize = 64;
/// Document tokens per matrix product (whole documents; a longer one goes alone).
const DOCUMENT_BLOCK_TOKENS: usize = 8192;

/// Every document's scored vectors, concatenated.
#[derive(Debug, Clone)]
pub struct ColBertIndex {
    ids: Vec<String>,
    dim: usize,
    /// All documents' vectors, row-major, document after document.
    data: Vec<f32>,
    /// Document `i`'s rows are `offsets[i]..offsets[i + 1]`.
    offsets: Vec<usize>,
}

impl ColBertIndex {
    /// Encodes every document of `corpus` (`title + " " + text`, as BEIR joins them).
    pub fn build<B: Backend>(model: &ColBert<B>, corpus: &Corpus) -> Result<Self> {
        let texts: Vec<String> = corpus.iter().map(|d| d.full_text()).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let vectors = model.encode_documents(&refs)?;
        let ids = corpus.iter().map(|d| d.id.clone()).collect();
        Ok(Self::from_vectors(ids, model.model.dim(), vectors))
    }

    /// An index of documents encoded beforehand (`ids[i]`'s vectors are `vectors[i]`).
    pub fn from_vectors(ids: Vec<String>, dim: usize, vectors: Vec<TokenVectors>) -> Self {
        assert_eq!(ids.len(), vectors.len(), "one id per document");
        let mut offsets = Vec::with_capacity(vectors.len() + 1);
        offsets.push(0);
        let mut data = Vec::with_capacity(vectors.iter().map(|v| v.data.len()).sum());
        for v in &vectors {
            assert_eq!(v.dim, dim, "every document has vectors of width {dim}");
            data.extend_from_slice(&v.data);
            offsets.push(offsets.last().copied().unwrap_or(0) + v.rows());
        }
        Self {
            ids,
            dim,
            data,
            offsets,
        }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Vectors held, over all documents.
    pub fn vectors(&self) -> usize {
        self.offsets.last().copied().unwrap_or(0)
    }

    /// Bytes the vectors take (`4 · dim` per vector).
    pub fn bytes(&self) -> usize {
        self.data.len() * std::mem::size_of::<f32>()
    }

    /// MaxSim of each query against every document: `[queries][documents]`. A query row's
    /// best match over a document with no vector counts 0, as [`super::maxsim`] has it.
    pub fn score_all<B: Backend>(
        &self,
        queries: &[TokenVectors],
        device: &B::Device,
    ) -> Vec<Vec<f32>> {
        let mut out = vec![vec![0.0f32; self.len()]; queries.len()];
        for (block_index, block) in queries.chunks(QUERY_BLOCK).enumerate() {
            let first = block_index * QUERY_BLOCK;
            let rows: Vec<usize> = block.iter().map(TokenVectors::rows).collect();
            let total_rows: usize = rows.iter().sum();
            if total_rows == 0 {
                continue;
            }
            let q_data: Vec<f32> = block.iter().flat_map(|q| q.data.iter().copied()).collect();
            let q =
                Tensor::<B, 2>::from_data(TensorData::new(q_data, [total_rows, self.dim]), device);
            let mut doc = 0;
            while doc < self.len() {
                // Whole documents up to the token budget (at least one).
                let start = doc;
                let mut end = doc + 1;
                while end < self.len()
                    && self.offsets[end + 1] - self.offsets[start] <= DOCUMENT_BLOCK_TOKENS
                {
                    end += 1;
                }
                doc = end;
                let (t0, t1) = (self.offsets[start], self.offsets[end]);
                let columns = t1 - t0;
                if columns == 0 {
                    continue;
                }
                let d = Tensor::<B, 2>::from_data(
                    TensorData::new(
                        self.data[t0 * self.dim..t1 * self.dim].to_vec(),
                        [columns, self.dim],
                    ),
                    device,
                );
                let sims: Vec<f32> = q
                    .clone()
                    .matmul(d.transpose())
                    .into_data()
                    .convert::<f32>()
                    .into_vec::<f32>()
                    .expect("similarities convert to f32");
                let mut row = 0;
                for (i, &query_rows) in rows.iter().enumerate() {
                    let scores = &mut out[first + i];
                    for r in row..row + query_rows {
                        let line = &sims[r * columns..(r + 1) * columns];
                        for (j, score) in scores.iter_mut().enumerate().take(end).skip(start) {
                            let (c0, c1) = (self.offsets[j] - t0, self.offsets[j + 1] - t0);
                            if c0 < c1 {
                                *score += line[c0..c1]
                                    .iter()
                                    .copied()
                                    .fold(f32::NEG_INFINITY, f32::max);
                            }
                        }
                    }
                    row += query_rows;
                }
            }
        }
        out
    }

    /// The top `top_k` documents of each `(query id, query text)` by MaxSim, as a run (ties in
    /// trec_eval order).
    pub fn search<B: Backend>(
        &self,
        model: &ColBert<B>,
        queries: &[(&str, &str)],
        top_k: usize,
    ) -> Result<Run> {
        let texts: Vec<&str> = queries.iter().map(|(_, text)| *text).collect();
        let encoded = model.encode_queries(&texts)?;
        let scores = self.score_all::<B>(&encoded, &model.device);
        let mut run = Run::new();
        for ((query_id, _), scores) in queries.iter().zip(scores) {
            let mut docs: Vec<ScoredDoc> = self
                .ids
                .iter()
                .zip(scores)
                .map(|(id, score)| ScoredDoc {
                    doc_id: id.clone(),
                    score: score as f64,
                })
                .collect();
            sort_trec(&mut docs);
            docs.truncate(top_k);
            run.set(*query_id, docs);
        }
        run.sort();
        Ok(run)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::colbert::maxsim;
    use rand::{rngs::StdRng, Rng, SeedableRng};

    fn random_vectors(rng: &mut StdRng, rows: usize, dim: usize) -> TokenVectors {
        TokenVectors::new(
            dim,
            (0..rows * dim)
                .map(|_| rng.random_range(-1.0..1.0))
                .collect(),
        )
    }

    /// Blocks of queries and of documents (more than one of each, documents without vectors
    /// among them) score as `maxsim` pair by pair.
    #[test]
    fn block_scores_equal_pairwise_maxsim() {
        let mut rng = StdRng::seed_from_u64(3);
        let dim = 4;
        let documents: Vec<TokenVectors> = (0..300)
            .map(|i| random_vectors(&mut rng, if i % 17 == 0 { 0 } else { 20 + i % 40 }, dim))
            .collect();
        assert!(documents.iter().map(TokenVectors::rows).sum::<usize>() > DOCUMENT_BLOCK_TOKENS);
        let queries: Vec<TokenVectors> = (0..QUERY_BLOCK + 6)
            .map(|i| random_vectors(&mut rng, 3 + i % 5, dim))
            .collect();
        let ids = (0..documents.len()).map(|i| format!("d{i}")).collect();
        let index = ColBertIndex::from_vectors(ids, dim, documents.clone());
        let scores = index.score_all::<crate::backend::Cpu>(&queries, &Default::default());
        for (q, row) in queries.iter().zip(&scores) {
            for (d, &score) in documents.iter().zip(row) {
                let want = maxsim(q, d, None, None);
                assert!((score - want).abs() <= 1e-4, "{score} vs {want}");
            }
        }
    }
}
