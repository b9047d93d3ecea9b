//! Miner settings, named after sentence-transformers' `mine_hard_negatives`.

use serde::{Deserialize, Serialize};

use crate::error::{MiningError, Result};

/// How negatives are picked among the candidates that survive the filters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sampling {
    /// The highest-scoring ones (hardest). Default.
    #[default]
    Top,
    /// Uniformly at random (seeded; kept in rank order).
    Random,
}

/// What the miner writes, one JSON object per line. Column names follow sentence-transformers
/// where it has them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputFormat {
    /// `{"query", "positive", "negative"}`: one line per (positive, negative). Default.
    #[default]
    Triplet,
    /// `{"query", "positive", "negative_1", ..., "negative_n"}`: one line per positive; queries
    /// with fewer than `num_negatives` negatives are left out (and counted).
    NTuple,
    /// As `n_tuple` plus `"score": [positive score, negative scores...]` (teacher scores, e.g.
    /// for MarginMSE); left out when a positive has no score.
    NTupleScores,
    /// `{"query", "passage", "label"}`: label 1 for each positive, 0 for each negative.
    LabeledPair,
    /// `{"query", "passages": [...], "labels": [1, ..., 0, ...]}`: one line per query.
    LabeledList,
    /// FlagEmbedding: `{"query", "pos", "neg", "pos_scores", "neg_scores"}` (scores when every
    /// document has one).
    FlagEmbedding,
}

/// Hard-negative mining settings. Every field has a default, so a TOML table may name only
/// some. Ranks count candidates after the positives are removed, from 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MinerConfig {
    /// Skip the `range_min` best candidates (likely unlabeled positives). Default 0.
    pub range_min: usize,
    /// Consider only candidates ranked below `range_max`; also the retrieval depth (plus the
    /// number of positives). Default 100.
    pub range_max: usize,
    /// Negatives per query (default 3).
    pub num_negatives: usize,
    /// Drop a candidate scoring above `positive − absolute_margin` (default unset). The
    /// positive score is the lowest of the query's positives.
    pub absolute_margin: Option<f64>,
    /// Drop a candidate scoring above `positive · (1 − relative_margin)` (default unset).
    pub relative_margin: Option<f64>,
    /// Drop candidates scoring above this (default unset).
    pub max_score: Option<f64>,
    /// Drop candidates scoring below this (default unset).
    pub min_score: Option<f64>,
    /// `top` (default) or `random`.
    pub sampling: Sampling,
    /// Seed of `random` sampling (default 42); each query's draw depends only on the seed and
    /// its id.
    pub seed: u64,
    /// Output layout (default `triplet`).
    pub output: OutputFormat,
}

impl Default for MinerConfig {
    fn default() -> Self {
        Self {
            range_min: 0,
            range_max: 100,
            num_negatives: 3,
            absolute_margin: None,
            relative_margin: None,
            max_score: None,
            min_score: None,
            sampling: Sampling::Top,
            seed: 42,
            output: OutputFormat::Triplet,
        }
    }
}

impl MinerConfig {
    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(MiningError::Config(format!("miner.{m}")));
        if self.range_max == 0 || self.range_min >= self.range_max {
            return bad("range_min must be smaller than range_max, and range_max at least 1");
        }
        if self.num_negatives == 0 {
            return bad("num_negatives must be at least 1");
        }
        for (name, value) in [
            ("absolute_margin", self.absolute_margin),
            ("relative_margin", self.relative_margin),
            ("max_score", self.max_score),
            ("min_score", self.min_score),
        ] {
            if value.is_some_and(|v| !v.is_finite()) {
                return bad(&format!("{name} must be finite"));
            }
        }
        if let (Some(min), Some(max)) = (self.min_score, self.max_score) {
            if min > max {
                return bad("min_score must not exceed max_score");
            }
        }
        Ok(())
    }
}
