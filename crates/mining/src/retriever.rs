//! The seams between first stages, rescorers and the miner.
//!
//! BM25 implements [`CandidateRetriever`] here; a dense retriever (bi-encoder) and a
//! cross-encoder ([`Rescorer`]) implement them in the crates that own the models, without this
//! crate depending on those.

use rankforge_data::Run;

use crate::bm25::Bm25Index;
use crate::error::Result;

/// A first stage: for each query, its best documents.
pub trait CandidateRetriever: Sync {
    /// For each `(query id, query text)`, up to `k` documents with scores (higher = better).
    /// Lists may come in any order; callers sort with [`rankforge_data::sort_trec`].
    fn retrieve(&self, queries: &[(&str, &str)], k: usize) -> Result<Run>;

    /// Scores of given documents for one query, on the same scale as [`Self::retrieve`]; used
    /// for the scores of positives that were not retrieved (margin filters need them).
    /// `None` where a retriever cannot score a single document; the default is all `None`.
    fn score_documents(&self, _query: &str, doc_ids: &[&str]) -> Result<Vec<Option<f64>>> {
        Ok(vec![None; doc_ids.len()])
    }

    /// A short name for reports and run tags.
    fn name(&self) -> &str {
        "retriever"
    }
}

/// A second stage that scores `(query text, document text)` pairs, e.g. a cross-encoder.
/// The miner uses it to rescore candidates and positives (filtering false negatives by
/// margins on its scores) and to attach teacher scores to the output.
pub trait Rescorer: Sync {
    /// One score per pair, in order; higher = more relevant.
    fn score_pairs(&self, pairs: &[(&str, &str)]) -> Result<Vec<f64>>;

    fn name(&self) -> &str {
        "rescorer"
    }
}

impl CandidateRetriever for Bm25Index {
    fn retrieve(&self, queries: &[(&str, &str)], k: usize) -> Result<Run> {
        Ok(self.search_run(queries, k, false))
    }

    fn score_documents(&self, query: &str, doc_ids: &[&str]) -> Result<Vec<Option<f64>>> {
        Ok(doc_ids
            .iter()
            .map(|id| {
                self.internal_doc(id)
                    .map(|doc| self.score_document(query, doc) as f64)
            })
            .collect())
    }

    fn name(&self) -> &str {
        "bm25"
    }
}

/// Settings of a BM25 retrieval command. Every field has a default.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Bm25RetrieveConfig {
    /// Documents per query (default 1000).
    pub top_k: usize,
    /// Index and scoring settings (default: Lucene BM25, k1 0.9, b 0.4, bm25s English analyzer).
    pub bm25: crate::bm25::Bm25Config,
}

impl Default for Bm25RetrieveConfig {
    fn default() -> Self {
        Self {
            top_k: 1000,
            bm25: Default::default(),
        }
    }
}

/// Indexes `corpus` and retrieves `top_k` documents for every query: the whole of a
/// `retrieve` command. Threads: rayon's global pool.
pub fn bm25_retrieve(
    corpus: &rankforge_data::Corpus,
    queries: &rankforge_data::Queries,
    config: &Bm25RetrieveConfig,
    progress: bool,
) -> Result<Run> {
    let index = Bm25Index::build(corpus.documents(), &config.bm25, progress)?;
    Ok(index.search_run(&queries.pairs(), config.top_k, progress))
}
