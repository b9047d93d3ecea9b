//! Fusing several runs into one: reciprocal rank fusion and weighted score fusion.

use std::collections::HashMap;

use rankforge_data::{sort_trec, Run, ScoredDoc};
use serde::{Deserialize, Serialize};

use crate::error::{MiningError, Result};

/// How runs are combined.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FusionMethod {
    /// Reciprocal rank fusion (Cormack et al., SIGIR 2009): `Σ wᵢ / (k + rankᵢ)`, rank from 1.
    /// Uses ranks only, so runs on different scales combine safely. Default.
    #[default]
    Rrf,
    /// Weighted sum of per-query normalised scores: `Σ wᵢ · norm(scoreᵢ)`.
    Score,
}

/// Per-query score normalisation for [`FusionMethod::Score`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalization {
    /// `(s − min) / (max − min)` per query (all 1 when the scores are equal). Default.
    #[default]
    MinMax,
    /// `(s − mean) / std` per query (all 0 when the scores are equal).
    ZScore,
    /// Raw scores.
    None,
}

/// Fusion settings. Every field has a default, so a TOML table may name only some.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FusionConfig {
    /// `rrf` (default) or `score`.
    pub method: FusionMethod,
    /// RRF's k (default 60).
    pub rrf_k: f64,
    /// Normalisation for score fusion (default `min_max`).
    pub normalization: Normalization,
    /// One weight per run (default: all 1). Applies to both methods.
    pub weights: Option<Vec<f64>>,
    /// Two-run shorthand for weights `[alpha, 1 − alpha]` (default unset).
    pub alpha: Option<f64>,
    /// Keep this many documents per query after fusion (default 1000; 0 keeps all).
    pub top_k: usize,
}

impl Default for FusionConfig {
    fn default() -> Self {
        Self {
            method: FusionMethod::Rrf,
            rrf_k: 60.0,
            normalization: Normalization::MinMax,
            weights: None,
            alpha: None,
            top_k: 1000,
        }
    }
}

impl FusionConfig {
    /// The weight of each of `runs` runs, after checking the settings.
    pub fn resolved_weights(&self, runs: usize) -> Result<Vec<f64>> {
        let bad = |m: String| Err(MiningError::Config(m));
        if !(self.rrf_k.is_finite() && self.rrf_k >= 0.0) {
            return bad("fusion.rrf_k must be a finite number ≥ 0".into());
        }
        let weights = match (&self.weights, self.alpha) {
            (Some(_), Some(_)) => {
                return bad("fusion: set either weights or alpha, not both".into())
            }
            (Some(w), None) => w.clone(),
            (None, Some(alpha)) => {
                if runs != 2 || !(0.0..=1.0).contains(&alpha) {
                    return bad(format!(
                        "fusion.alpha needs exactly 2 runs (got {runs}) and a value in [0, 1]"
                    ));
                }
                vec![alpha, 1.0 - alpha]
            }
            (None, None) => vec![1.0; runs],
        };
        if weights.len() != runs {
            return bad(format!("fusion: {} weights for {runs} runs", weights.len()));
        }
        if weights.iter().any(|w| !w.is_finite()) {
            return bad("fusion: weights must be finite".into());
        }
        Ok(weights)
    }
}

/// Fuses `runs` as configured. Every query of any run appears in the result; a document's
/// missing entries (a run that did not retrieve it) contribute nothing to RRF and the run's
/// lowest normalised score for that query to score fusion. Lists come out in trec_eval's order.
///
/// Every fused score is finite. A non-finite score in an input run is an error naming the run
/// (1-based, in the order given), the query and the document; so is a fused score that does
/// not fit in an `f64` — possible only with raw scores ([`Normalization::None`]) or weights
/// near `f64::MAX`, since normalisation itself cannot overflow ([`normalize`]).
pub fn fuse(runs: &[&Run], config: &FusionConfig) -> Result<Run> {
    if runs.is_empty() {
        return Err(MiningError::Config("fusion needs at least one run".into()));
    }
    let weights = config.resolved_weights(runs.len())?;
    for (index, run) in runs.iter().enumerate() {
        if let Some((query, doc)) = first_non_finite(run) {
            return Err(MiningError::Retriever(format!(
                "fusion: run {} of {} has a non-finite score ({}) for query `{query}`, \
                 document `{}`",
                index + 1,
                runs.len(),
                doc.score,
                doc.doc_id
            )));
        }
    }
    let mut fused = match config.method {
        FusionMethod::Rrf => reciprocal_rank_fusion(runs, config.rrf_k, &weights),
        FusionMethod::Score => score_fusion(runs, &weights, config.normalization),
    };
    if let Some((query, doc)) = first_non_finite(&fused) {
        let how = match config.method {
            FusionMethod::Rrf => "the weights are too large",
            FusionMethod::Score if config.normalization == Normalization::None => {
                "raw scores times weights exceed the range of f64: normalise (min_max or \
                 z_score) or scale the scores down"
            }
            FusionMethod::Score => "the weights are too large",
        };
        return Err(MiningError::Config(format!(
            "fusion: the fused score of query `{query}`, document `{}` overflows: {how}",
            doc.doc_id
        )));
    }
    if config.top_k > 0 {
        fused.truncate(config.top_k);
    }
    Ok(fused)
}

/// The first (query, document) of `run` whose score is NaN or infinite.
fn first_non_finite(run: &Run) -> Option<(&str, &ScoredDoc)> {
    run.iter().find_map(|(query, docs)| {
        docs.iter()
            .find(|d| !d.score.is_finite())
            .map(|d| (query, d))
    })
}

fn all_query_ids<'a>(runs: &[&'a Run]) -> Vec<&'a str> {
    let mut ids: Vec<&str> = runs.iter().flat_map(|r| r.query_ids()).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

fn sorted_list(run: &Run, query_id: &str) -> Vec<ScoredDoc> {
    let mut docs = run.get(query_id).map(<[_]>::to_vec).unwrap_or_default();
    sort_trec(&mut docs);
    docs
}

fn into_sorted_run(by_query: Vec<(&str, HashMap<String, f64>)>) -> Run {
    let mut run = Run::new();
    for (query_id, scores) in by_query {
        let mut docs: Vec<ScoredDoc> = scores
            .into_iter()
            .map(|(doc_id, score)| ScoredDoc { doc_id, score })
            .collect();
        sort_trec(&mut docs);
        run.set(query_id, docs);
    }
    run
}

/// Reciprocal rank fusion: `score(d) = Σᵢ wᵢ / (k + rankᵢ(d))`, ranks from 1 in trec_eval's
/// order of each run. Result sorted, not truncated; [`fuse`] also checks that it is finite.
pub fn reciprocal_rank_fusion(runs: &[&Run], k: f64, weights: &[f64]) -> Run {
    let by_query = all_query_ids(runs)
        .into_iter()
        .map(|qid| {
            let mut scores: HashMap<String, f64> = HashMap::new();
            for (run, &w) in runs.iter().zip(weights) {
                for (rank, doc) in sorted_list(run, qid).into_iter().enumerate() {
                    *scores.entry(doc.doc_id).or_default() += w / (k + (rank + 1) as f64);
                }
            }
            (qid, scores)
        })
        .collect();
    into_sorted_run(by_query)
}

/// Normalises one query's scores in place. For finite input the result is finite whatever the
/// magnitudes (±1e308 included): min-max is computed on halved scores when `max − min` would
/// overflow, z-score on scores divided by their largest magnitude when they are large or tiny
/// enough for sums or squares to overflow or underflow (z-scores do not change under
/// scaling). Min-max results lie in [0, 1].
pub fn normalize(scores: &mut [f64], normalization: Normalization) {
    if scores.is_empty() {
        return;
    }
    match normalization {
        Normalization::None => {}
        Normalization::MinMax => {
            let min = scores.iter().copied().fold(f64::INFINITY, f64::min);
            let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            // Halving is exact for all but subnormal numbers, and halved scores cannot
            // overflow when subtracted: use them only when the plain span does overflow.
            let halve = !(max - min).is_finite();
            let scale = if halve { 0.5 } else { 1.0 };
            let (min, span) = (min * scale, max * scale - min * scale);
            for s in scores.iter_mut() {
                *s = if span > 0.0 {
                    ((*s * scale - min) / span).clamp(0.0, 1.0)
                } else {
                    1.0
                };
            }
        }
        Normalization::ZScore => {
            let largest = scores.iter().fold(0.0f64, |m, s| m.max(s.abs()));
            // In [1e-100, 1e100] sums and squares of up to 1e8 scores stay finite and normal.
            if largest > 0.0 && !(1e-100..=1e100).contains(&largest) {
                for s in scores.iter_mut() {
                    *s /= largest;
                }
            }
            let n = scores.len() as f64;
            let mean = scores.iter().sum::<f64>() / n;
            let std = (scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / n).sqrt();
            for s in scores.iter_mut() {
                *s = if std > 0.0 { (*s - mean) / std } else { 0.0 };
            }
        }
    }
}

/// Weighted score fusion: per query, each run's scores are normalised, then
/// `score(d) = Σᵢ wᵢ · normᵢ(d)`, where a run that did not retrieve `d` contributes its lowest
/// normalised score for that query. Result sorted, not truncated; [`fuse`] also checks that
/// inputs and result are finite.
pub fn score_fusion(runs: &[&Run], weights: &[f64], normalization: Normalization) -> Run {
    let by_query = all_query_ids(runs)
        .into_iter()
        .map(|qid| {
            let lists: Vec<(Vec<String>, Vec<f64>)> = runs
                .iter()
                .map(|run| {
                    let docs = run.get(qid).unwrap_or(&[]);
                    let mut scores: Vec<f64> = docs.iter().map(|d| d.score).collect();
                    normalize(&mut scores, normalization);
                    (docs.iter().map(|d| d.doc_id.clone()).collect(), scores)
                })
                .collect();
            let mut fused: HashMap<String, f64> = HashMap::new();
            for (ids, _) in &lists {
                for id in ids {
                    fused.entry(id.clone()).or_insert(0.0);
                }
            }
            for ((ids, scores), &w) in lists.iter().zip(weights) {
                let floor = scores.iter().copied().fold(f64::INFINITY, f64::min);
                let floor = if floor.is_finite() { floor } else { 0.0 };
                let present: HashMap<&str, f64> = ids
                    .iter()
                    .map(String::as_str)
                    .zip(scores.iter().copied())
                    .collect();
                for (doc, total) in fused.iter_mut() {
                    *total += w * present.get(doc.as_str()).copied().unwrap_or(floor);
                }
            }
            (qid, fused)
        })
        .collect();
    into_sorted_run(by_query)
}

/// A first stage that fuses other first stages (e.g. BM25 + dense) with [`fuse`]: each
/// retrieves `k` candidates, the fused list keeps the top `k`. Scores of single documents
/// (margin filters) are not defined for a fusion.
pub struct FusedRetriever<'a> {
    pub retrievers: Vec<&'a dyn crate::CandidateRetriever>,
    pub config: FusionConfig,
}

impl crate::CandidateRetriever for FusedRetriever<'_> {
    fn retrieve(&self, queries: &[(&str, &str)], k: usize) -> Result<Run> {
        let runs = self
            .retrievers
            .iter()
            .map(|r| r.retrieve(queries, k))
            .collect::<Result<Vec<Run>>>()?;
        let refs: Vec<&Run> = runs.iter().collect();
        let config = FusionConfig {
            top_k: k,
            ..self.config.clone()
        };
        fuse(&refs, &config)
    }

    fn name(&self) -> &str {
        "fused"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lists: &[(&str, &[(&str, f64)])]) -> Run {
        let mut run = Run::new();
        for (q, docs) in lists {
            for (d, s) in *docs {
                run.push(*q, *d, *s);
            }
        }
        run
    }

    fn ids(run: &Run, q: &str) -> Vec<String> {
        run.get(q)
            .unwrap()
            .iter()
            .map(|d| d.doc_id.clone())
            .collect()
    }

    #[test]
    fn rrf_by_hand() {
        let a = run(&[("q", &[("x", 10.0), ("y", 9.0), ("z", 8.0)])]);
        let b = run(&[("q", &[("z", 0.9), ("x", 0.8)]), ("q2", &[("w", 1.0)])]);
        let fused = fuse(&[&a, &b], &FusionConfig::default()).unwrap();
        let scores: HashMap<String, f64> = fused
            .get("q")
            .unwrap()
            .iter()
            .map(|d| (d.doc_id.clone(), d.score))
            .collect();
        assert!((scores["x"] - (1.0 / 61.0 + 1.0 / 62.0)).abs() < 1e-12);
        assert!((scores["z"] - (1.0 / 63.0 + 1.0 / 61.0)).abs() < 1e-12);
        assert!((scores["y"] - 1.0 / 62.0).abs() < 1e-12);
        assert_eq!(ids(&fused, "q"), ["x", "z", "y"]);
        assert_eq!(ids(&fused, "q2"), ["w"]);
    }

    #[test]
    fn rrf_uses_ranks_not_input_order_and_weights() {
        // Unsorted input: ranks come from scores.
        let a = run(&[("q", &[("low", 1.0), ("high", 5.0)])]);
        let config = FusionConfig {
            rrf_k: 0.0,
            weights: Some(vec![2.0]),
            ..Default::default()
        };
        let fused = fuse(&[&a], &config).unwrap();
        assert_eq!(fused.get("q").unwrap()[0].doc_id, "high");
        assert!((fused.get("q").unwrap()[0].score - 2.0).abs() < 1e-12);
    }

    #[test]
    fn score_fusion_min_max_with_alpha() {
        let a = run(&[("q", &[("x", 10.0), ("y", 5.0), ("z", 0.0)])]);
        let b = run(&[("q", &[("y", 3.0), ("z", 1.0)])]);
        let config = FusionConfig {
            method: FusionMethod::Score,
            alpha: Some(0.25),
            ..Default::default()
        };
        let fused = fuse(&[&a, &b], &config).unwrap();
        let s: HashMap<String, f64> = fused
            .get("q")
            .unwrap()
            .iter()
            .map(|d| (d.doc_id.clone(), d.score))
            .collect();
        // a: x 1, y 0.5, z 0; b: y 1, z 0, x missing → b's floor 0.
        assert!((s["x"] - 0.25).abs() < 1e-12);
        assert!((s["y"] - (0.25 * 0.5 + 0.75)).abs() < 1e-12);
        assert!((s["z"] - 0.0).abs() < 1e-12);
        assert_eq!(ids(&fused, "q"), ["y", "x", "z"]);
    }

    #[test]
    fn z_score_normalisation() {
        let mut scores = vec![1.0, 2.0, 3.0];
        normalize(&mut scores, Normalization::ZScore);
        let std = (2.0f64 / 3.0).sqrt();
        assert!((scores[0] + 1.0 / std).abs() < 1e-12 && scores[1].abs() < 1e-12);
        let mut flat = vec![4.0, 4.0];
        normalize(&mut flat, Normalization::ZScore);
        assert_eq!(flat, [0.0, 0.0]);
        normalize(&mut flat, Normalization::MinMax);
        assert_eq!(flat, [1.0, 1.0]);
    }

    #[test]
    fn truncation_and_bad_configs() {
        let a = run(&[("q", &[("x", 3.0), ("y", 2.0), ("z", 1.0)])]);
        let config = FusionConfig {
            top_k: 2,
            ..Default::default()
        };
        assert_eq!(fuse(&[&a], &config).unwrap().get("q").unwrap().len(), 2);
        assert!(fuse(&[], &FusionConfig::default()).is_err());
        let alpha_one_run = FusionConfig {
            alpha: Some(0.5),
            ..Default::default()
        };
        assert!(fuse(&[&a], &alpha_one_run).is_err());
        let wrong_weights = FusionConfig {
            weights: Some(vec![1.0, 1.0]),
            ..Default::default()
        };
        assert!(fuse(&[&a], &wrong_weights).is_err());
        let parsed: FusionConfig =
            toml::from_str("method = \"score\"\nnormalization = \"z_score\"\nalpha = 0.3").unwrap();
        assert_eq!(parsed.normalization, Normalization::ZScore);
        assert!(toml::from_str::<FusionConfig>("k = 60").is_err());
    }

    #[test]
    fn fused_retriever_combines_first_stages() {
        use crate::CandidateRetriever;
        struct Fixed(Run);
        impl CandidateRetriever for Fixed {
            fn retrieve(&self, _: &[(&str, &str)], k: usize) -> Result<Run> {
                let mut run = self.0.clone();
                run.truncate(k);
                Ok(run)
            }
        }
        let a = Fixed(run(&[("q", &[("x", 3.0), ("y", 2.0), ("z", 1.0)])]));
        let b = Fixed(run(&[("q", &[("z", 0.9), ("y", 0.5)])]));
        let fused = FusedRetriever {
            retrievers: vec![&a, &b],
            config: FusionConfig::default(),
        };
        let out = fused.retrieve(&[("q", "text")], 2).unwrap();
        // a keeps x, y; b keeps z, y: y is in both.
        assert_eq!(ids(&out, "q"), ["y", "z"]);
        assert_eq!(fused.name(), "fused");
    }
}
