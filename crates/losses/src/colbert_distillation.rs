//! PyLate's distillation loss for ColBERT: KL divergence between the teacher's and the
//! student's score distributions over each query's candidates, the student's scores min-max
//! normalised per query first (PyLate's default).
//!
//! **Formula.** For query `i` with student MaxSim scores `s_i` and teacher scores `t_i` over
//! its `n` candidates: with `normalize_scores`,
//! `s'_i = (s_i − min_j s_ij) / (max_j s_ij − min_j s_ij + 1e-8)` (gradients flow through the
//! min and max, as in PyTorch), else `s'_i = s_i`; then with `log p = log_softmax(t_i)` and
//! `log q = log_softmax(s'_i)`, `ℓ_i = Σ_j p_j (log p_j − log q_j)`, and the loss is
//! `Σ_i ℓ_i / q` (PyTorch's `KLDivLoss(reduction = "batchmean", log_target = True)`). The
//! teacher gets no gradient. Log-softmaxes are max-shifted.
//!
//! **Inputs.** `scores` `[q, n]` (the model side computes them with
//! `rankforge_model::colbert::maxsim_group_scores`, each query against its own candidates);
//! `teacher_scores` `[q, n]`, raw (logits of a cross-encoder, e.g. `mine --rescorer`): the
//! softmax makes them a distribution; an optional valid mask `[q, n]` leaves padded
//! candidates out of the min / max, the softmaxes and the sum.
//!
//! **Reduction.** Sum over queries and candidates divided by the number of queries.
//!
//! **Related.** [`crate::distill_kl`] is the same divergence with a temperature and without
//! the min-max normalisation, for cross-encoders and bi-encoders.
//!
//! **Reference.** PyLate (LightOn), `pylate.losses.Distillation` (`normalize_scores = True`,
//! `size_average = True`) with `pylate.scores.colbert_kd_scores`; Santhanam et al.,
//! "ColBERTv2" (NAACL 2022), distillation of cross-encoder scores into ColBERT.

use burn::tensor::{backend::Backend, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::LossError;
use crate::groups::{GroupLoss, Groups, LossResult};
use crate::input::{InputKind, LossInput};
use crate::numerics::masked_log_softmax;
use crate::ranking_loss::RankingLoss;
use crate::target::ScoreTarget;

/// Name in configs: `loss = "colbert_distillation"`.
pub const NAME: &str = "colbert_distillation";

/// Added to the score range before dividing by it (PyLate's epsilon).
const RANGE_EPSILON: f32 = 1e-8;

/// Stands in for padded entries in the per-query min / max (far outside any MaxSim score).
const FAR: f32 = 1e30;

/// PyLate's `Distillation` loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ColbertDistillationConfig {
    /// Min-max normalise each query's student scores before the softmax. Default: `true`
    /// (PyLate's).
    pub normalize_scores: bool,
}

impl Default for ColbertDistillationConfig {
    fn default() -> Self {
        Self {
            normalize_scores: true,
        }
    }
}

impl GroupLoss for ColbertDistillationConfig {
    const NAME: &'static str = NAME;

    fn target(&self) -> ScoreTarget {
        ScoreTarget::TeacherScores
    }

    /// Padded entries (a query with fewer candidates than the batch's lists) take no part:
    /// the min / max, both softmaxes and the sum run over each query's real candidates (PyLate
    /// has no padding; without a mask this is its formula exactly).
    fn group_loss<B: Backend>(&self, groups: Groups<B>, teacher: Tensor<B, 2>) -> LossResult<B> {
        let [queries, _] = groups.dims();
        let padding = groups.padding();
        let mut student = groups.scores;
        if self.normalize_scores {
            let max = student.clone().mask_fill(padding.clone(), -FAR).max_dim(1);
            let min = student.clone().mask_fill(padding.clone(), FAR).min_dim(1);
            student = (student - min.clone()) / (max - min + RANGE_EPSILON);
        }
        let log_q = masked_log_softmax(student, groups.valid.clone(), 1);
        let log_p = masked_log_softmax(teacher, groups.valid.clone(), 1);
        let pointwise = (log_p.clone().exp() * (log_p - log_q)).mask_fill(padding, 0.0);
        Ok(pointwise.sum() / queries as f32)
    }
}

impl ColbertDistillationConfig {
    /// The loss (`[1]`, f32) of student `scores [q, n]` against `teacher_scores [q, n]`, every
    /// entry real (the configured loss takes a valid mask through [`LossInput`]).
    pub fn compute_scores<B: Backend>(
        &self,
        scores: Tensor<B, 2>,
        teacher_scores: Tensor<B, 2>,
    ) -> Result<Tensor<B, 1>, LossError> {
        let dims = scores.dims();
        if dims[0] == 0 || dims[1] == 0 {
            return Err(LossError::ShapeMismatch {
                loss: NAME,
                input: InputKind::Scores,
                actual: dims.to_vec(),
                expected: "[q, n] with q, n ≥ 1".into(),
            });
        }
        RankingLoss::compute(
            self,
            &LossInput::from_scores(scores).with_teacher_scores(teacher_scores),
        )
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use burn::tensor::TensorData;

    type Ad = Autodiff<Flex>;

    /// tests/fixtures/colbert.json (scripts/reference/colbert.py).
    pub(crate) fn fixture() -> serde_json::Value {
        let text = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/colbert.json"
        ));
        serde_json::from_str(text).unwrap()
    }

    pub(crate) fn matrix<B: Backend>(rows: &serde_json::Value) -> Tensor<B, 2> {
        let rows: Vec<Vec<f32>> = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap() as f32)
                    .collect()
            })
            .collect();
        let shape = [rows.len(), rows[0].len()];
        let flat: Vec<f32> = rows.into_iter().flatten().collect();
        Tensor::from_data(TensorData::new(flat, shape), &Default::default())
    }

    pub(crate) fn values<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
        t.into_data().convert::<f32>().to_vec::<f32>().unwrap()
    }

    /// PyLate's loss and its gradient with respect to the student scores: 2 queries, 3
    /// candidates each, teacher scores, normalised student scores.
    #[test]
    fn matches_pylate_loss_and_score_gradients() {
        let f = fixture()["distillation"].clone();
        let teacher: Vec<Vec<f64>> = f["batch"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| serde_json::from_value(b["teacher_scores"].clone()).unwrap())
            .collect();
        let teacher = matrix::<Ad>(&serde_json::to_value(teacher).unwrap());
        let scores = matrix::<Ad>(&f["scores"]).require_grad();
        let config = ColbertDistillationConfig::default();
        let loss = config.compute_scores(scores.clone(), teacher).unwrap();
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
        // The normalisation divides by a score range of ~0.05: gradients are ~20× the scores'
        // rounding in the fixture (7 significant digits).
        assert!(diff <= 1e-4, "score gradients differ by {diff}");
    }

    /// A student whose normalised scores equal the teacher's distribution costs 0; the loss
    /// is invariant to shifting and scaling the student (normalised) and shifting the teacher.
    #[test]
    fn matching_distributions_cost_nothing_and_normalisation_removes_scale() {
        let d = Default::default();
        let config = ColbertDistillationConfig::default();
        let teacher = Tensor::<Flex, 2>::from_floats([[1.0, 0.5, 0.0]], &d);
        let student = Tensor::<Flex, 2>::from_floats([[10.0, 9.5, 9.0]], &d);
        let zero = values(
            config
                .compute_scores(student.clone(), teacher.clone())
                .unwrap(),
        )[0];
        assert!(zero.abs() < 1e-6, "{zero}");
        let a = values(
            config
                .compute_scores(student.clone() * 3.0 + 1.0, teacher.clone() + 5.0)
                .unwrap(),
        )[0];
        assert!(a.abs() < 1e-6, "{a}");
        let raw = ColbertDistillationConfig {
            normalize_scores: false,
        };
        assert!(values(raw.compute_scores(student * 3.0, teacher).unwrap())[0] > 0.01);
    }

    #[test]
    fn mismatched_teacher_shape_is_refused() {
        let d = Default::default();
        let s = Tensor::<Flex, 2>::zeros([2, 3], &d);
        let t = Tensor::<Flex, 2>::zeros([2, 2], &d);
        let err = ColbertDistillationConfig::default()
            .compute_scores(s, t)
            .unwrap_err();
        assert!(matches!(
            err,
            LossError::ShapeMismatch {
                input: InputKind::TeacherScores,
                ..
            }
        ));
    }

    /// A padded candidate takes no part: the loss of a query with a masked third entry
    /// equals the loss of the two real ones alone, whatever the padded scores are.
    #[test]
    fn padded_candidates_are_left_out() {
        let d = Default::default();
        let loss = crate::LossConfig::ColbertDistillation(Default::default())
            .build()
            .unwrap();
        let valid = Tensor::<Flex, 2, burn::tensor::Bool>::from_data(
            TensorData::new(vec![true, true, false], [1, 3]),
            &d,
        );
        let padded = loss
            .compute(
                &LossInput::from_scores(Tensor::<Flex, 2>::from_floats([[5.0, 4.2, 99.0]], &d))
                    .with_teacher_scores(Tensor::from_floats([[1.0, 2.0, -50.0]], &d))
                    .with_valid_mask(valid),
            )
            .unwrap();
        let alone = ColbertDistillationConfig::default()
            .compute_scores(
                Tensor::<Flex, 2>::from_floats([[5.0, 4.2]], &d),
                Tensor::from_floats([[1.0, 2.0]], &d),
            )
            .unwrap();
        let (a, b) = (values(padded)[0], values(alone)[0]);
        assert!(a > 0.1 && (a - b).abs() < 1e-6, "{a} vs {b}");
    }
}
