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
//! `rankforge_model::colbert::maxsim_scores`, each query against its own candidates);
//! `teacher_scores` `[q, n]`, raw (logits of a cross-encoder, e.g. `mine --rescorer`): the
//! softmax makes them a distribution.
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
use crate::groups::to_f32;
use crate::input::InputKind;
use crate::numerics::logsumexp;

/// Name of the loss (for messages and, once registered, configs).
pub const NAME: &str = "colbert_distillation";

/// Added to the score range before dividing by it (PyLate's epsilon).
const RANGE_EPSILON: f32 = 1e-8;

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

fn log_softmax<B: Backend>(x: Tensor<B, 2>) -> Tensor<B, 2> {
    x.clone() - logsumexp(x, 1)
}

impl ColbertDistillationConfig {
    /// The loss (`[1]`, f32) of student `scores [q, n]` against `teacher_scores [q, n]`.
    pub fn compute<B: Backend>(
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
        if teacher_scores.dims() != dims {
            return Err(LossError::ShapeMismatch {
                loss: NAME,
                input: InputKind::TeacherScores,
                actual: teacher_scores.dims().to_vec(),
                expected: format!("{dims:?} like the scores"),
            });
        }
        let mut student = to_f32(scores);
        if self.normalize_scores {
            let max = student.clone().max_dim(1);
            let min = student.clone().min_dim(1);
            student = (student - min.clone()) / (max - min + RANGE_EPSILON);
        }
        let log_q = log_softmax(student);
        let log_p = log_softmax(to_f32(teacher_scores).detach());
        let pointwise = log_p.clone().exp() * (log_p - log_q);
        Ok(pointwise.sum() / dims[0] as f32)
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
        let loss = config.compute(scores.clone(), teacher).unwrap();
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
        let zero = values(config.compute(student.clone(), teacher.clone()).unwrap())[0];
        assert!(zero.abs() < 1e-6, "{zero}");
        let a = values(
            config
                .compute(student.clone() * 3.0 + 1.0, teacher.clone() + 5.0)
                .unwrap(),
        )[0];
        assert!(a.abs() < 1e-6, "{a}");
        let raw = ColbertDistillationConfig {
            normalize_scores: false,
        };
        assert!(values(raw.compute(student * 3.0, teacher).unwrap())[0] > 0.01);
    }

    #[test]
    fn mismatched_teacher_shape_is_refused() {
        let d = Default::default();
        let s = Tensor::<Flex, 2>::zeros([2, 3], &d);
        let t = Tensor::<Flex, 2>::zeros([2, 2], &d);
        let err = ColbertDistillationConfig::default()
            .compute(s, t)
            .unwrap_err();
        assert!(matches!(
            err,
            LossError::ShapeMismatch {
                input: InputKind::TeacherScores,
                ..
            }
        ));
    }
}
