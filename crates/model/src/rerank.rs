//! Second-stage reranking of a first-stage run: the top `k` documents of every query are
//! scored in one call of a [`CandidateScorer`]: a cross-encoder (every pair in one pass through
//! the shared inference path) or a ColBERT (each distinct document encoded once), or a
//! [`crate::Reranker`] holding either.

use rankforge_data::{sort_trec, Corpus, Queries, Run, ScoredDoc};

use crate::error::{ModelError, Result};
use crate::reranker::{CandidateList, CandidateScorer};

/// The (query, document) texts a rerank scores: for every query of a run, its top `top_k`
/// documents (trec_eval order) with `title + " " + text` as in BEIR. Gathered before a model is
/// loaded, an unknown query or document is found before any inference.
#[derive(Debug, Clone)]
pub struct RerankCandidates {
    /// One list per query of the run, in its order.
    lists: Vec<GatheredList>,
}

/// `(query id, query text, [(document id, document text)])`.
type GatheredList = (String, String, Vec<(String, String)>);

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

    /// Scores every list with `scorer` in one call; the result holds the reranked lists only.
    pub fn score<S: CandidateScorer + ?Sized>(&self, scorer: &S) -> Result<Run> {
        let lists: Vec<CandidateList<'_>> = self
            .lists
            .iter()
            .map(|(_, query, docs)| CandidateList {
                query: query.as_str(),
                documents: docs
                    .iter()
                    .map(|(id, text)| (id.as_str(), text.as_str()))
                    .collect(),
            })
            .collect();
        let mut scores = scorer.score_candidates(&lists)?.into_iter().flatten();
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
pub fn rerank_run<S: CandidateScorer + ?Sized>(
    scorer: &S,
    corpus: &Corpus,
    queries: &Queries,
    run: &Run,
    top_k: usize,
) -> Result<Run> {
    RerankCandidates::gather(corpus, queries, run, top_k)?.score(scorer)
}
