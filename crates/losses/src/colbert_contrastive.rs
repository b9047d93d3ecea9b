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
//! documents stacked query by query, skiplist and padding masked as PyLate masks them); `N`
//! is `columns / q`. An optional valid mask `[q, q·N]` drops padded documents (a query whose
//! negative pool ran short) from every softmax; PyLate has no padding, and without a mask the
//! formula is its own.
//!
//! **Reduction.** Mean over queries (PyLate's `size_average = true`).
//!
//! **Related.** [`crate::infonce`] is the same objective for single-vector bi-encoders.
//!
//! **Reference.** PyLate (LightOn), `pylate.losses.Contrastive` (`temperature` default 1.0)
//! and `pylate.scores.ColBERTScores`; Khattab & Zaharia, "ColBERT" (SIGIR 2020); Santhanam et
//! al., "ColBERTv2" (NAACL 2022) for in-batch negatives.

use burn::tensor::{backend::Backend, Bool, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::error::LossError;
use crate::groups::{check_same_shape, to_f32};
use crate::input::{InputKind, InputSpec, LossInput};
use crate::numerics::masked_logsumexp;
use crate::ranking_loss::RankingLoss;
use crate::validate::{check_positive, invalid};

/// Name in configs: `loss = "colbert_contrastive"`.
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

impl RankingLoss for ColbertContrastiveConfig {
    const NAME: &'static str = NAME;

    /// Rejects a non-positive or non-finite temperature.
    fn validate(&self) -> Result<(), LossError> {
        check_positive(NAME, "temperature", self.temperature)
    }

    /// The in-batch score matrix; a valid mask `[q, q·N]` leaves padded documents out of every
    /// query's softmax.
    fn inputs(&self) -> InputSpec {
        InputSpec::new(&[InputKind::Scores], &[InputKind::ValidMask])
    }

    /// `N` is read off the shape: `columns / queries`.
    fn evaluate<B: Backend>(&self, input: &LossInput<B>) -> Result<Tensor<B, 1>, LossError> {
        let scores = input.scores.clone().ok_or(LossError::MissingInput {
            loss: NAME,
            input: InputKind::Scores,
        })?;
        let [queries, columns] = scores.dims();
        if queries == 0 || !columns.is_multiple_of(queries) {
            return Err(shape_error([queries, columns], "N"));
        }
        if let Some(valid) = &input.valid {
            check_same_shape(
                NAME,
                InputKind::ValidMask,
                &valid.dims(),
                &[queries, columns],
            )?;
        }
        self.loss(scores, columns / queries, input.valid.clone())
    }
}

fn shape_error(actual: [usize; 2], n: &str) -> LossError {
    LossError::ShapeMismatch {
        loss: NAME,
        input: InputKind::Scores,
        actual: actual.to_vec(),
        expected: format!(
            "[q, q·{n}] with q ≥ 1 (each query's {n} documents, query-major, positive first)"
        ),
    }
}

impl ColbertContrastiveConfig {
    /// The loss (`[1]`, f32) of `scores [q, d·N]` (d ≥ q) with each query's positive at column
    /// `i·N`, every column real.
    pub fn compute_in_batch<B: Backend>(
        &self,
        scores: Tensor<B, 2>,
        documents_per_query: usize,
    ) -> Result<Tensor<B, 1>, LossError> {
        self.validate()?;
        self.loss(scores, documents_per_query, None)
    }

    fn loss<B: Backend>(
        &self,
        scores: Tensor<B, 2>,
        documents_per_query: usize,
        valid: Option<Tensor<B, 2, Bool>>,
    ) -> Result<Tensor<B, 1>, LossError> {
        let [queries, columns] = scores.dims();
        let n = documents_per_query;
        if n == 0 {
            return Err(invalid(NAME, "documents_per_query", "must be at least 1"));
        }
        if queries == 0 || !columns.is_multiple_of(n) || columns / n < queries {
            return Err(shape_error([queries, columns], &n.to_string()));
        }
        let device = scores.device();
        let logits = to_f32(scores) / self.temperature;
        let mut positive = vec![false; queries * columns];
        for i in 0..queries {
            positive[i * columns + i * n] = true;
        }
        let positive =
            Tensor::<B, 2, Bool>::from_data(TensorData::new(positive, [queries, columns]), &device);
        // A query's positive always takes part, whatever the mask says.
        let valid = valid
            .unwrap_or_else(|| Tensor::full([queries, columns], true, &device))
            .bool_or(positive.clone());
        let target = logits
            .clone()
            .mask_fill(positive.bool_not(), 0.0)
            .sum_dim(1);
        Ok((masked_logsumexp(logits, valid, 1) - target).mean())
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
        let loss = config.compute_in_batch(scores.clone(), 2).unwrap();
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
            config.compute_in_batch(scores.clone(), 2),
            Err(LossError::ShapeMismatch { .. })
        ));
        assert!(config.compute_in_batch(scores.clone(), 0).is_err());
        let bad = ColbertContrastiveConfig { temperature: 0.0 };
        assert!(bad.compute_in_batch(scores, 1).is_err());
    }

    /// One query, its positive far ahead: the loss is near 0; equal scores give log(columns).
    #[test]
    fn a_clear_positive_costs_nothing_and_a_tie_costs_log_columns() {
        let d = Default::default();
        let config = ColbertContrastiveConfig::default();
        let clear = Tensor::<Flex, 2>::from_floats([[30.0, 0.0, 0.0]], &d);
        assert!(values(config.compute_in_batch(clear, 3).unwrap())[0] < 1e-9);
        let tie = Tensor::<Flex, 2>::from_floats([[1.0, 1.0], [1.0, 1.0]], &d);
        let value = values(config.compute_in_batch(tie, 1).unwrap())[0];
        assert!((value - 2f32.ln()).abs() < 1e-6);
    }

    /// Through the registry (`LossInput`, N read off the shape) the loss equals the direct
    /// one; a masked column counts as if the document were absent, whatever its score.
    #[test]
    fn the_configured_loss_reads_n_off_the_shape_and_drops_masked_columns() {
        let d = Default::default();
        let loss =
            crate::LossConfig::ColbertContrastive(ColbertContrastiveConfig { temperature: 0.5 })
                .build()
                .unwrap();
        let scores = [[3.0, 1.0, 0.5, 2.0], [0.2, 9.0, 1.5, -1.0]];
        let direct = ColbertContrastiveConfig { temperature: 0.5 }
            .compute_in_batch(Tensor::<Flex, 2>::from_floats(scores, &d), 2)
            .unwrap();
        let input = LossInput::from_scores(Tensor::<Flex, 2>::from_floats(scores, &d));
        assert_eq!(
            values(loss.compute(&input).unwrap()),
            values(direct),
            "same formula"
        );
        // Column 1 (query 0's negative, score 1.0 or 9.0 in row 1) masked out: equal to the
        // matrix without it.
        let valid = Tensor::<Flex, 2, Bool>::from_data(
            TensorData::new(
                vec![true, false, true, true, true, false, true, true],
                [2, 4],
            ),
            &d,
        );
        let masked = loss
            .compute(
                &LossInput::from_scores(Tensor::<Flex, 2>::from_floats(scores, &d))
                    .with_valid_mask(valid),
            )
            .unwrap();
        let by_hand: f32 = [[3.0f32, 0.5, 2.0], [0.2, 1.5, -1.0]]
            .iter()
            .zip([0usize, 1])
            .map(|(row, positive)| {
                let lse = row.iter().map(|x| (x / 0.5).exp()).sum::<f32>().ln();
                lse - row[positive] / 0.5
            })
            .sum::<f32>()
            / 2.0;
        assert!((values(masked)[0] - by_hand).abs() < 1e-5);
        let odd = LossInput::from_scores(Tensor::<Flex, 2>::zeros([2, 3], &d));
        assert!(matches!(
            loss.compute(&odd),
            Err(LossError::ShapeMismatch { .. })
        ));
    }
}
