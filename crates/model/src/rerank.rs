//! Second-stage reranking of a first-stage run: the top `k` documents of every query are
//! scored by a cross-encoder in one pass through the shared inference path.

use rankforge_data::{sort_trec, Corpus, Queries, Run, ScoredDoc};

use burn::tensor::backend::Backend;

use crate::cross_encoder::CrossEncoder;
use crate::error::{ModelError, Result};

/// Reranks the top `top_k` documents (trec_eval order) of every query of `run` that `queries`
/// holds. Documents are `title + " " + text` as in BEIR. Documents below the top k are dropped:
/// the output holds the reranked lists only. Every query and document must be known.
pub fn rerank_run<B: Backend>(
    scorer: &CrossEncoder<B>,
    corpus: &Corpus,
    queries: &Queries,
    run: &Run,
    top_k: usize,
) -> Result<Run> {
    let mut texts: Vec<(String, Vec<(String, String)>)> = Vec::new();
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
        texts.push((query.text.clone(), list));
    }
    let pairs: Vec<(&str, &str)> = texts
        .iter()
        .flat_map(|(query, docs)| {
            docs.iter()
                .map(move |(_, text)| (query.as_str(), text.as_str()))
        })
        .collect();
    let scores = scorer.score(&pairs)?;
    let mut reranked = Run::new();
    let mut next = scores.into_iter();
    for ((query_id, _), (_, docs)) in run.iter().zip(&texts) {
        let list: Vec<ScoredDoc> = docs
            .iter()
            .map(|(doc_id, _)| ScoredDoc {
                doc_id: doc_id.clone(),
                score: next.next().expect("one score per pair") as f64,
            })
            .collect();
        reranked.set(query_id, list);
    }
    reranked.sort();
    Ok(reranked)
}
