//! Second-stage reranking of a first-stage run: the top `k` documents of every query are
//! scored by a cross-encoder in one pass through the shared inference path.

use rankforge_data::{sort_trec, Corpus, Queries, Run, ScoredDoc};

use burn::tensor::backend::Backend;

use crate::cross_encoder::CrossEncoder;
use crate::error::{ModelError, Result};

/// The (query, document) texts a rerank scores: for every query of a run, its top `top_k`
/// documents (trec_eval order) with `title + " " + text` as in BEIR. Gathered before a model is
/// loaded, an unknown query or document is found before any inference.
#[derive(Debug, Clone)]
pub struct RerankCandidates {
    /// One list per query of the run, in its order.
    lists: Vec<CandidateList>,
}

/// `(query id, query text, [(document id, document text)])`.
type CandidateList = (String, String, Vec<(String, String)>);

impl RerankCandidates {
    /// The top `top_k` of every query of `run`; every query and document must be in `queries`
    /// and `corpus`.
    pub fn gather(corpus: &Corpus, queries: &Queries, run: &Run, top_k: usize) -> Result<Self> {
        let mut lists = Vec::new();
        for (query_id, docs) in run.iter() {
            let query = queries.get(query_id).ok_or_else(|| {
                ModelError::Invalid(format!(
                    "run: query `{query_id}` is not in the queries file"
                ))
            })?;
            let mut docs = docs.to_vec();
            sort_trec(&mut docs);
            docs.truncate(top_k);
            let mut list = Vec::with_capacity(docs.len());
            for doc in docs {
                let document = corpus.get(&doc.doc_id).ok_or_else(|| {
                    ModelError::Invalid(format!(
                        "run: document `{}` (query `{query_id}`) is not in the corpus",
                        doc.doc_id
                    ))
                })?;
                list.push((doc.doc_id, document.full_text()));
            }
            lists.push((query_id.to_string(), query.text.clone(), list));
        }
        Ok(Self { lists })
    }

    /// Scores every pair in one pass through the shared inference path; the result holds the
    /// reranked lists only.
    pub fn score<B: Backend>(&self, scorer: &CrossEncoder<B>) -> Result<Run> {
        let pairs: Vec<(&str, &str)> = self
            .lists
            .iter()
            .flat_map(|(_, query, docs)| {
                docs.iter()
                    .map(move |(_, text)| (query.as_str(), text.as_str()))
            })
            .collect();
        let mut scores = scorer.score(&pairs)?.into_iter();
        let mut reranked = Run::new();
        for (query_id, _, docs) in &self.lists {
            let list: Vec<ScoredDoc> = docs
                .iter()
                .map(|(doc_id, _)| ScoredDoc {
                    doc_id: doc_id.clone(),
                    score: scores.next().expect("one score per pair") as f64,
                })
                .collect();
            reranked.set(query_id, list);
        }
        reranked.sort();
        Ok(reranked)
    }
}

/// Reranks the top `top_k` documents (trec_eval order) of every query of `run` that `queries`
/// holds ([`RerankCandidates::gather`], then [`RerankCandidates::score`]). Documents below the
/// top k are dropped: the output holds the reranked lists only.
pub fn rerank_run<B: Backend>(
    scorer: &CrossEncoder<B>,
    corpus: &Corpus,
    queries: &Queries,
    run: &Run,
    top_k: usize,
) -> Result<Run> {
    RerankCandidates::gather(corpus, queries, run, top_k)?.score(scorer)
}
