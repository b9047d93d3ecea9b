//! Dev evaluation: rerank each dev query's BM25 candidates with the model under training
//! (through the model crate's shared inference path) and compute trec_eval metrics.

use rankforge_data::{Corpus, Qrels, Queries, Run, ScoredDoc};
use rankforge_eval::{evaluate, parse_metrics, Metric};

use crate::config::EvalSection;
use crate::data::{dev_candidates, Collection};
use crate::error::{Result, TrainError};
use rankforge_mining::Bm25Index;

/// Metric name (as written in the config) and its mean over the dev queries.
pub type Metrics = Vec<(String, f64)>;

/// One dev evaluation: the metrics and the run (TREC) they were computed on.
#[derive(Debug, Clone)]
pub struct DevEvaluation {
    pub metrics: Metrics,
    pub run: Run,
}

/// Dev queries, their judgments and the BM25 candidates to rerank.
#[derive(Debug, Clone)]
pub struct DevSet {
    pub queries: Queries,
    pub qrels: Qrels,
    pub candidates: Run,
    pub top_k: usize,
    names: Vec<String>,
    metrics: Vec<Metric>,
}

impl DevSet {
    /// A dev set with nothing to evaluate (benchmarks that only time training steps).
    pub fn empty() -> Self {
        Self {
            queries: Queries::new(),
            qrels: Qrels::new(),
            candidates: Run::new(),
            top_k: 0,
            names: Vec::new(),
            metrics: Vec::new(),
        }
    }

    /// The judged dev queries (at most `limit`), their qrels and BM25 top-`top_k` candidates.
    pub fn new(
        collection: &Collection,
        index: &Bm25Index,
        eval: &EvalSection,
        limit: Option<usize>,
    ) -> Result<Self> {
        let queries = collection.judged_queries(&collection.dev_qrels, limit);
        if queries.is_empty() {
            return Err(TrainError::NoData(
                "the dev split has no query with a relevant document".into(),
            ));
        }
        // Only the evaluated queries' judgments, so limited runs average over what they rank.
        let mut qrels = Qrels::new();
        for query in queries.iter() {
            if let Some(judged) = collection.dev_qrels.get(&query.id) {
                for (doc, &grade) in judged {
                    qrels.insert(query.id.clone(), doc.clone(), grade);
                }
            }
        }
        let candidates = dev_candidates(index, &queries, eval.top_k);
        let metrics = parse_metrics(&eval.metrics.join(","))?;
        Ok(Self {
            queries,
            qrels,
            candidates,
            top_k: eval.top_k,
            names: eval.metrics.clone(),
            metrics,
        })
    }

    /// Metrics of a run over the dev queries.
    pub fn score_run(&self, run: &Run) -> Result<Metrics> {
        let evaluation = evaluate(&self.qrels, run, &self.metrics)?;
        Ok(self
            .names
            .iter()
            .zip(&self.metrics)
            .map(|(name, metric)| (name.clone(), evaluation.mean(metric).unwrap_or(0.0)))
            .collect())
    }

    /// Metrics of `run`, kept together with it.
    pub fn evaluate_run(&self, run: Run) -> Result<DevEvaluation> {
        Ok(DevEvaluation {
            metrics: self.score_run(&run)?,
            run,
        })
    }

    /// Metrics of the BM25 candidates themselves (the first stage alone).
    pub fn bm25_metrics(&self) -> Result<Metrics> {
        self.score_run(&self.candidates)
    }

    /// A run that orders each query's candidates by `scores` (one per candidate, in the
    /// candidate run's trec order), for models that score candidates themselves.
    pub fn run_from_scores(&self, mut scores: impl FnMut(&str, &[ScoredDoc]) -> Vec<f64>) -> Run {
        let mut run = Run::new();
        for (query_id, docs) in self.candidates.iter() {
            let mut docs = docs.to_vec();
            rankforge_data::sort_trec(&mut docs);
            docs.truncate(self.top_k);
            let values = scores(query_id, &docs);
            let list = docs
                .into_iter()
                .zip(values)
                .map(|(d, score)| ScoredDoc {
                    doc_id: d.doc_id,
                    score,
                })
                .collect();
            run.set(query_id, list);
        }
        run.sort();
        run
    }
}

/// The value of `name` in `metrics`.
pub fn metric_value(metrics: &Metrics, name: &str) -> Option<f64> {
    metrics.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
}

/// The unique candidate documents of a dev set, in first-seen order.
pub fn candidate_documents<'a>(
    dev: &DevSet,
    corpus: &'a Corpus,
) -> Vec<&'a rankforge_data::Document> {
    let mut seen = std::collections::HashSet::new();
    let mut docs = Vec::new();
    for (_, list) in dev.candidates.iter() {
        for d in list.iter().take(dev.top_k) {
            if seen.insert(d.doc_id.clone()) {
                if let Some(doc) = corpus.get(&d.doc_id) {
                    docs.push(doc);
                }
            }
        }
    }
    docs
}
