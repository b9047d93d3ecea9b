//! Comparing systems (runs) on the same qrels: means, deltas against the first run (the
//! baseline), paired significance tests over per-query values, and how often the top-ranked
//! document changes.

use rankforge_data::{sort_trec, Qrels, Run};

use crate::error::{EvalError, Result};
use crate::evaluate::{evaluate, Evaluation};
use crate::metric::Metric;
use crate::stats::{paired_randomization_test, paired_t_test};

/// Settings of [`compare`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompareOptions {
    /// Sign-flip permutations of the randomisation test (0: skip the test). When the m queries
    /// on which two systems differ allow 2^m ≤ permutations, the test is exact instead.
    pub permutations: usize,
    /// Seed of the randomisation test; the same seed gives the same p-values.
    pub seed: u64,
}

impl Default for CompareOptions {
    /// 10,000 permutations, seed 42.
    fn default() -> Self {
        Self {
            permutations: 10_000,
            seed: 42,
        }
    }
}

/// One system's numbers on one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct SystemScore {
    pub system: String,
    /// Mean over the qrels' queries.
    pub mean: f64,
    /// `mean` minus the baseline's mean (0 for the baseline).
    pub delta: f64,
    /// Paired two-sided t-test against the baseline (`None` for the baseline, or with fewer
    /// than two queries).
    pub t_test_p: Option<f64>,
    /// Paired two-sided randomisation test against the baseline (`None` for the baseline or
    /// when `permutations` is 0).
    pub randomization_p: Option<f64>,
}

/// All systems on one metric, baseline first.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricComparison {
    pub metric: Metric,
    pub systems: Vec<SystemScore>,
}

/// How often a system's top-ranked document differs from the baseline's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopOneChange {
    pub system: String,
    /// Qrels queries whose first document (trec_eval order) differs from the baseline's; a
    /// query where exactly one of the two retrieved nothing counts as differing.
    pub queries_differing: usize,
    pub num_queries: usize,
}

impl TopOneChange {
    /// `queries_differing / num_queries`.
    pub fn fraction(&self) -> f64 {
        self.queries_differing as f64 / self.num_queries as f64
    }
}

/// The result of [`compare`]: per metric, each system against the baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// System names, baseline first.
    pub systems: Vec<String>,
    pub metrics: Vec<Metric>,
    /// One row per metric, in the order asked for.
    pub rows: Vec<MetricComparison>,
    /// One entry per system (the baseline's is 0).
    pub top_one_changes: Vec<TopOneChange>,
    /// Each system's full evaluation (per-query values), in `systems` order.
    pub evaluations: Vec<Evaluation>,
    pub options: CompareOptions,
}

/// Evaluates every run on `metrics` (as [`evaluate`] does: means over the qrels' queries) and
/// compares each with the first run, the baseline. Errors when `runs` is empty, or as
/// [`evaluate`] does.
pub fn compare<S: AsRef<str>>(
    qrels: &Qrels,
    runs: &[(S, Run)],
    metrics: &[Metric],
    options: &CompareOptions,
) -> Result<Comparison> {
    let Some((_, baseline_run)) = runs.first() else {
        return Err(EvalError::NoRuns);
    };
    let evaluations = runs
        .iter()
        .map(|(_, run)| evaluate(qrels, run, metrics))
        .collect::<Result<Vec<_>>>()?;
    let systems: Vec<String> = runs
        .iter()
        .map(|(name, _)| name.as_ref().to_string())
        .collect();
    let baseline = &evaluations[0];

    let rows = metrics
        .iter()
        .enumerate()
        .map(|(metric_index, metric)| MetricComparison {
            metric: *metric,
            systems: systems
                .iter()
                .zip(&evaluations)
                .enumerate()
                .map(|(system_index, (system, evaluation))| {
                    let seed = test_seed(options.seed, metric_index, system_index);
                    let against = (system_index > 0).then_some((baseline, seed, options));
                    score_system(system, evaluation, metric, against)
                })
                .collect(),
        })
        .collect();

    let baseline_tops = top_documents(qrels, baseline_run);
    let top_one_changes = runs
        .iter()
        .zip(&systems)
        .map(|((_, run), system)| {
            let tops = top_documents(qrels, run);
            TopOneChange {
                system: system.clone(),
                queries_differing: tops
                    .iter()
                    .zip(&baseline_tops)
                    .filter(|(a, b)| a != b)
                    .count(),
                num_queries: qrels.num_queries(),
            }
        })
        .collect();

    Ok(Comparison {
        systems,
        metrics: metrics.to_vec(),
        rows,
        top_one_changes,
        evaluations,
        options: *options,
    })
}

/// `system`'s mean on `metric` and, against a baseline (`None` for the baseline itself), the
/// delta and the paired tests over the per-query values.
fn score_system(
    system: &str,
    evaluation: &Evaluation,
    metric: &Metric,
    against: Option<(&Evaluation, u64, &CompareOptions)>,
) -> SystemScore {
    let values = evaluation
        .per_query(metric)
        .expect("every metric was evaluated");
    let mean = evaluation.mean(metric).expect("every metric was evaluated");
    let Some((baseline, seed, options)) = against else {
        return SystemScore {
            system: system.to_string(),
            mean,
            delta: 0.0,
            t_test_p: None,
            randomization_p: None,
        };
    };
    let base_values = baseline
        .per_query(metric)
        .expect("every metric was evaluated");
    let base_mean = baseline.mean(metric).expect("every metric was evaluated");
    SystemScore {
        system: system.to_string(),
        mean,
        delta: mean - base_mean,
        t_test_p: paired_t_test(values, base_values).map(|test| test.p_value),
        randomization_p: paired_randomization_test(values, base_values, options.permutations, seed),
    }
}

/// For each qrels query (sorted), the id of the run's first document in trec_eval order.
fn top_documents(qrels: &Qrels, run: &Run) -> Vec<Option<String>> {
    qrels
        .query_ids()
        .map(|query_id| {
            let mut ranked = run.get(query_id).unwrap_or_default().to_vec();
            sort_trec(&mut ranked);
            ranked.into_iter().next().map(|top| top.doc_id)
        })
        .collect()
}

/// A distinct, reproducible seed for each (metric, system) test.
fn test_seed(seed: u64, metric_index: usize, system_index: usize) -> u64 {
    seed ^ ((metric_index as u64) << 32) ^ (system_index as u64).wrapping_mul(0x9E37_79B9)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::parse_metrics;

    fn fixture() -> (Qrels, Run, Run) {
        let mut qrels = Qrels::new();
        let mut base = Run::new();
        let mut better = Run::new();
        for q in 0..20 {
            let query = format!("q{q:02}");
            qrels.insert(&query, "rel", 1);
            base.push(&query, "rel", 0.5);
            base.push(&query, "other", if q % 2 == 0 { 1.0 } else { 0.1 });
            better.push(&query, "rel", 2.0);
            better.push(&query, "other", 1.0);
        }
        (qrels, base, better)
    }

    #[test]
    fn deltas_tests_and_top_one_changes() {
        let (qrels, base, better) = fixture();
        let metrics = parse_metrics("mrr,p@1").unwrap();
        let runs = [("base", base), ("better", better)];
        let comparison = compare(&qrels, &runs, &metrics, &CompareOptions::default()).unwrap();
        assert_eq!(comparison.systems, ["base", "better"]);
        let mrr = &comparison.rows[0];
        assert_eq!(mrr.metric, metrics[0]);
        assert_eq!(mrr.systems[0].mean, 0.75);
        assert_eq!(mrr.systems[0].delta, 0.0);
        assert_eq!(mrr.systems[0].t_test_p, None);
        assert_eq!(mrr.systems[1].mean, 1.0);
        assert_eq!(mrr.systems[1].delta, 0.25);
        assert!(mrr.systems[1].t_test_p.unwrap() < 0.001);
        // 10 queries differ by 0.5: p ≈ 2 / 2^10.
        assert!(mrr.systems[1].randomization_p.unwrap() < 0.005);
        assert_eq!(comparison.top_one_changes[0].queries_differing, 0);
        assert_eq!(comparison.top_one_changes[1].queries_differing, 10);
        assert_eq!(comparison.top_one_changes[1].fraction(), 0.5);
    }

    #[test]
    fn no_runs_is_an_error_and_permutations_zero_skips_the_test() {
        let (qrels, base, _) = fixture();
        let metrics = parse_metrics("map").unwrap();
        let none: [(&str, Run); 0] = [];
        assert!(matches!(
            compare(&qrels, &none, &metrics, &CompareOptions::default()),
            Err(EvalError::NoRuns)
        ));
        let options = CompareOptions {
            permutations: 0,
            seed: 1,
        };
        let runs = [("a", base.clone()), ("b", base)];
        let comparison = compare(&qrels, &runs, &metrics, &options).unwrap();
        assert_eq!(comparison.rows[0].systems[1].randomization_p, None);
        assert_eq!(comparison.rows[0].systems[1].t_test_p, Some(1.0));
    }
}
