//! Evaluating one run against qrels: per-query values and their means.
//!
//! Conventions (trec_eval's, so numbers compare with published ones):
//! * Queries are the qrels' queries, in sorted id order. A qrels query that the run lacks, or
//!   for which it retrieved nothing, counts 0 for every metric and is still in the mean: this is
//!   `trec_eval -c`. (Plain trec_eval and pytrec_eval average over the queries that are in both
//!   the run and the qrels; the two agree whenever the run covers every judged query.)
//! * A qrels query with no relevant document is kept too (its values are 0), as trec_eval does.
//! * Run queries absent from the qrels are ignored; [`Evaluation::ignored_run_queries`] counts
//!   them.
//! * Each list is ranked as trec_eval ranks it — score descending, ties by document id
//!   descending ([`rankforge_data::sort_trec`]) — whatever its order in the run.

use rankforge_data::{sort_trec, Qrels, Run};

use crate::error::{EvalError, Result};
use crate::measures::JudgedRanking;
use crate::metric::Metric;

/// Per-query values and means of some metrics for one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    metrics: Vec<Metric>,
    query_ids: Vec<String>,
    /// `values[m][q]`: metric `metrics[m]` on query `query_ids[q]`.
    values: Vec<Vec<f64>>,
    means: Vec<f64>,
    queries_without_results: usize,
    ignored_run_queries: usize,
}

/// Evaluates `run` against `qrels` on each of `metrics` (see the module doc for the
/// conventions). Errors when there are no metrics or the qrels have no query.
pub fn evaluate(qrels: &Qrels, run: &Run, metrics: &[Metric]) -> Result<Evaluation> {
    if metrics.is_empty() {
        return Err(EvalError::NoMetrics);
    }
    if qrels.is_empty() {
        return Err(EvalError::EmptyQrels);
    }
    let mut query_ids = Vec::with_capacity(qrels.num_queries());
    let mut values = vec![Vec::with_capacity(qrels.num_queries()); metrics.len()];
    let mut queries_without_results = 0;
    for (query_id, judgments) in qrels.iter() {
        let mut ranked = run.get(query_id).unwrap_or_default().to_vec();
        if ranked.is_empty() {
            queries_without_results += 1;
        }
        sort_trec(&mut ranked);
        let ranking = JudgedRanking::new(judgments, &ranked);
        for (metric, column) in metrics.iter().zip(values.iter_mut()) {
            column.push(ranking.measure(*metric));
        }
        query_ids.push(query_id.to_string());
    }
    let ignored_run_queries = run.query_ids().filter(|q| qrels.get(q).is_none()).count();
    let means = values.iter().map(|column| mean(column)).collect();
    Ok(Evaluation {
        metrics: metrics.to_vec(),
        query_ids,
        values,
        means,
        queries_without_results,
        ignored_run_queries,
    })
}

pub(crate) fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

impl Evaluation {
    /// The metrics, in the order they were asked for.
    pub fn metrics(&self) -> &[Metric] {
        &self.metrics
    }

    /// The evaluated queries (the qrels'), in sorted order; per-query values follow this order.
    pub fn query_ids(&self) -> &[String] {
        &self.query_ids
    }

    /// Number of queries averaged over (all the qrels' queries).
    pub fn num_queries(&self) -> usize {
        self.query_ids.len()
    }

    /// Qrels queries the run retrieved nothing for (they count 0).
    pub fn queries_without_results(&self) -> usize {
        self.queries_without_results
    }

    /// Run queries that the qrels do not judge (left out, as trec_eval does).
    pub fn ignored_run_queries(&self) -> usize {
        self.ignored_run_queries
    }

    /// The mean of `metric` over the queries, if it was evaluated.
    pub fn mean(&self, metric: &Metric) -> Option<f64> {
        self.index_of(metric).map(|m| self.means[m])
    }

    /// (metric, mean) in the order the metrics were asked for.
    pub fn means(&self) -> impl Iterator<Item = (Metric, f64)> + '_ {
        self.metrics.iter().copied().zip(self.means.iter().copied())
    }

    /// The per-query values of `metric`, in [`Evaluation::query_ids`] order.
    pub fn per_query(&self, metric: &Metric) -> Option<&[f64]> {
        self.index_of(metric).map(|m| self.values[m].as_slice())
    }

    /// The value of `metric` on one query.
    pub fn value(&self, metric: &Metric, query_id: &str) -> Option<f64> {
        let m = self.index_of(metric)?;
        let q = self
            .query_ids
            .binary_search_by(|id| id.as_str().cmp(query_id))
            .ok()?;
        Some(self.values[m][q])
    }

    fn index_of(&self, metric: &Metric) -> Option<usize> {
        self.metrics.iter().position(|m| m == metric)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::parse_metrics;

    #[test]
    fn averages_over_qrels_queries_and_ignores_unjudged_ones() {
        let mut qrels = Qrels::new();
        qrels.insert("q1", "a", 1);
        qrels.insert("q2", "b", 1);
        let mut run = Run::new();
        run.push("q1", "a", 1.0);
        run.push("q9", "b", 1.0);
        let metrics = parse_metrics("p@1,mrr").unwrap();
        let eval = evaluate(&qrels, &run, &metrics).unwrap();
        assert_eq!(eval.num_queries(), 2);
        assert_eq!(eval.queries_without_results(), 1);
        assert_eq!(eval.ignored_run_queries(), 1);
        assert_eq!(eval.mean(&metrics[0]), Some(0.5));
        assert_eq!(eval.value(&metrics[1], "q2"), Some(0.0));
        assert_eq!(eval.per_query(&metrics[1]), Some(&[1.0, 0.0][..]));
        assert_eq!(eval.value(&metrics[1], "q9"), None);
    }

    #[test]
    fn ranks_by_score_then_doc_id_descending_not_by_run_order() {
        let mut qrels = Qrels::new();
        qrels.insert("q", "a", 1);
        let mut run = Run::new();
        run.push("q", "a", 1.0);
        run.push("q", "b", 1.0); // tie: "b" > "a", so "b" ranks first
        run.push("q", "c", 0.5);
        let metric = "mrr".parse().unwrap();
        let eval = evaluate(&qrels, &run, &[metric]).unwrap();
        assert_eq!(eval.mean(&metric), Some(0.5));
    }

    #[test]
    fn empty_inputs_are_errors_not_nan() {
        let metric = "map".parse().unwrap();
        assert!(matches!(
            evaluate(&Qrels::new(), &Run::new(), &[metric]),
            Err(EvalError::EmptyQrels)
        ));
        let mut qrels = Qrels::new();
        qrels.insert("q", "a", 1);
        assert!(matches!(
            evaluate(&qrels, &Run::new(), &[]),
            Err(EvalError::NoMetrics)
        ));
        let eval = evaluate(&qrels, &Run::new(), &[metric]).unwrap();
        assert_eq!(eval.mean(&metric), Some(0.0));
    }
}
