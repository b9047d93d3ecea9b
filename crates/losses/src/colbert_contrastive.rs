//! PyLate's contrastive loss for ColBERT: each query against every document of the batch (its
//! positive, its hard negatives, and the other queries' documents), cross-entropy towards its
//! positive.
//!
//! **Formula.** With `N` documents per query (the positive first, then `N − 1` hard
//! negatives) and temperature `τ`, the scores form a `[q, q·N]` matrix, query-major: column
//! `j·N + k` is query `j`'s `k`-th document, so query `i`'s positive is column `i·N`. Then
//! `ℓ_i = −log softmax(s_i / τ)_{i·N} = logsumexp_c(s_{i,c} / τ) − s_{i,i·N} / τ`, and the loss is
//! the mean over queries (PyTorch's `cross_entropy`, `reduction = "mean"`). The log-sum-exp is
//! max-shifted.
//!
//! **Inputs.** `scores` `[q, q·N]`: MaxSim of every query against every document of the
//! batch, in that order (on the model side, `rankforge_model::colbert::maxsim_scores` over the
//! documents stacked query by query, skiplist and padding masked as PyLate masks them);
//! `documents_per_query` = `N`.
//!
//! **Reduction.** Mean over queries (PyLate's `size_average = true`).
//!
//! **Related.** [`crate::infonce`] is the same objective for single-vector bi-encoders.
//!
//! **Reference.** PyLate (LightOn), `pylate.losses.Contrastive` (`temperature` default 1.0)
//! and `pylate.scores.ColBERTScores`; Khattab & Zaharia, "ColBERT" (SIGIR 2020); Santhanam et
//! al., "ColBERTv2" (NAACL 2022) for in-batch negatives.

use burn::tensor::{backend::Backend, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::error::LossError;
use crate::groups::to_f32;
use crate::input::InputKind;
use crate::numerics::logsumexp;
use crate::validate::{check_positive, invalid};

/// Name of the loss (for messages and, once registered, configs).
pub const NAME: &str = "colbert_contrastive";

/// PyLate's `Contrastive` loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ColbertContrastiveConfig {
    /// Scores are divided by it before the softmax. Default: `1.0` (PyLate's).
    pub temperature: f32,
}

impl Default for ColbertContrastiveConfig {
    fn default() -> Self {
        Self { temperature: 1.0 }
    }
}

impl ColbertContrastiveConfig {
    /// Rejects a non-positive or non-finite temperature.
    pub fn validate(&self) -> Result<(), LossError> {
        check_positive(NAME, "temperature", self.temperature)
    }

    /// The loss (`[1]`, f32) of `scores [q, q·N]` with each query's positive at column `i·N`.
    pub fn compute<B: Backend>(
        &self,
        scores: Tensor<B, 2>,
        documents_per_query: usize,
    ) -> Result<Tensor<B, 1>, LossError> {
        self.validate()?;
        let [queries, columns] = scores.dims();
        let n = documents_per_query;
        if n == 0 {
            return Err(invalid(NAME, "documents_per_query", "must be at least 1"));
        }
        if queries == 0 || !columns.is_multiple_of(n) || columns / n < queries {
            return Err(LossError::ShapeMismatch {
                loss: NAME,
                input: InputKind::Scores,
                actual: vec![queries, columns],
                expected: format!(
                    "[q, d·{n}] with q ≥ 1 and d ≥ q (each query's {n} documents, query-major)"
                ),
            });
        }
        let device = scores.device();
        let logits = to_f32(scores) / self.temperature;
        let mut positive = vec![0.0f32; queries * columns];
        for i in 0..queries {
            positive[i * columns + i * n] = 1.0;
        }
        let positive =
            Tensor::<B, 2>::from_data(TensorData::new(positive, [queries, columns]), &device);
        let target = (logits.clone() * positive).sum_dim(1);
        Ok((logsumexp(logits, 1) - target).mean())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::colbert_distillation::tests::{fixture, matrix, values};
    use burn::backend::{Autodiff, Flex};

    type Ad = Autodiff<Flex>;

    /// PyLate's loss and its gradient with respect to the score matrix, from
    /// tests/fixtures/colbert.json (scripts/reference/colbert.py): 3 queries, a positive and a
    /// hard negative each, temperature 0.5.
    #[test]
    fn matches_pylate_loss_and_score_gradients() {
        let f = fixture()["contrastive"].clone();
        let scores = matrix::<Ad>(&f["scores"]).require_grad();
        let config = ColbertContrastiveConfig {
            temperature: f["temperature"].as_f64().unwrap() as f32,
        };
        let loss = config.compute(scores.clone(), 2).unwrap();
        let value = values(loss.clone())[0];
        let want = f["loss"].as_f64().unwrap() as f32;
        assert!((value - want).abs() <= 1e-5, "loss {value} vs {want}");
        let grads = loss.backward();
        let ours = values(scores.grad(&grads).unwrap());
        let want = values(matrix::<Flex>(&f["score_gradients"]));
        let diff = ours
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(diff <= 1e-5, "score gradients differ by {diff}");
    }

    #[test]
    fn shapes_and_parameters_are_checked() {
        let scores = Tensor::<Flex, 2>::zeros([3, 4], &Default::default());
        let config = ColbertContrastiveConfig::default();
        assert!(matches!(
            config.compute(scores.clone(), 2),
            Err(LossError::ShapeMismatch { .. })
        ));
        assert!(config.compute(scores.clone(), 0).is_err());
        let bad = ColbertContrastiveConfig { temperature: 0.0 };
        assert!(bad.compute(scores, 1).is_err());
    }

    /// One query, its positive far ahead: the loss is near 0; equal scores give log(columns).
    #[test]
    fn a_clear_positive_costs_nothing_and_a_tie_costs_log_columns() {
        let d = Default::default();
        let config = ColbertContrastiveConfig::default();
        let clear = Tensor::<Flex, 2>::from_floats([[30.0, 0.0, 0.0]], &d);
        assert!(values(config.compute(clear, 3).unwrap())[0] < 1e-9);
        let tie = Tensor::<Flex, 2>::from_floats([[1.0, 1.0], [1.0, 1.0]], &d);
        let value = values(config.compute(tie, 1).unwrap())[0];
        assert!((value - 2f32.ln()).abs() < 1e-6);
    }
}
