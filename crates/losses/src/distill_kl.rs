//! KL divergence / soft cross-entropy between the teacher's and the student's score
//! distributions over a group (listwise distillation, as FlagEmbedding trains rerankers).
//!
//! **Formula.** With temperature `T`, teacher distribution `p = softmax(t / T)` and student
//! log-distribution `log q = log_softmax(s / T)` over the real entries of a group:
//! - `kl_divergence`: `T² · Σ_i p_i (log p_i − log q_i)` (0 when the student matches);
//! - `soft_cross_entropy`: `T² · (−Σ_i p_i log q_i)` (KL plus the teacher's entropy; same
//!   gradient).
//!
//! The `T²` factor keeps gradient magnitudes comparable across temperatures (Hinton et al.).
//! Optionally `hard_label_weight · (−log_softmax(s)_0)` is added: cross-entropy towards the
//! positive in column 0, at temperature 1. FlagEmbedding's reranker distillation is
//! `objective = "soft_cross_entropy"`, `temperature = 1`, `hard_label_weight = 1`.
//!
//! **Inputs.** `scores` `[groups, list]`, `teacher_scores` `[groups, list]`, optional valid
//! mask; with `hard_label_weight > 0` the positive must be in column 0.
//!
//! **Data shape.** A query with a positive and negatives (FlagEmbedding `pos`, `neg`,
//! `pos_scores`, `neg_scores`), or any list scored by a teacher.
//!
//! **Reduction.** Mean over the groups that have a real entry (PyTorch's `KLDivLoss`
//! `batchmean`).
//!
//! **Related.** [`crate::listnet`] with `target = "teacher_scores"` is the soft
//! cross-entropy without the student temperature; [`crate::margin_mse`] matches margins.
//!
//! **Reference.** Hinton, Vinyals & Dean, "Distilling the Knowledge in a Neural Network"
//! (2015), arXiv:1503.02531; FlagEmbedding reranker fine-tuning (BAAI, `AbsRerankerModel`).

use burn::tensor::{backend::Backend, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::LossError;
use crate::groups::{mask_to_f32, mean_over_groups, GroupLoss, Groups, LossResult};
use crate::numerics::masked_log_softmax;
use crate::target::ScoreTarget;
use crate::validate::{check_non_negative, check_positive};

/// Name in configs: `loss = "distill_kl"`.
pub const NAME: &str = "distill_kl";

/// Which divergence [`DistillKlConfig`] minimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DistillObjective {
    /// `KL(p ‖ q)`.
    KlDivergence,
    /// `H(p, q) = KL(p ‖ q) + H(p)`.
    SoftCrossEntropy,
}

/// Distillation of a teacher's score distribution over each group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DistillKlConfig {
    /// Temperature applied to teacher and student scores. Default: `1.0`.
    pub temperature: f32,
    /// Divergence to minimise. Default: `"kl_divergence"`.
    pub objective: DistillObjective,
    /// Weight of an added cross-entropy towards the positive in column 0. Default: `0.0`.
    pub hard_label_weight: f32,
}

impl Default for DistillKlConfig {
    fn default() -> Self {
        Self {
            temperature: 1.0,
            objective: DistillObjective::KlDivergence,
            hard_label_weight: 0.0,
        }
    }
}

impl GroupLoss for DistillKlConfig {
    const NAME: &'static str = NAME;

    /// Rejects a non-positive temperature and a negative hard-label weight.
    fn validate(&self) -> Result<(), LossError> {
        check_positive(NAME, "temperature", self.temperature)?;
        check_non_negative(NAME, "hard_label_weight", self.hard_label_weight)
    }

    fn target(&self) -> ScoreTarget {
        ScoreTarget::TeacherScores
    }

    /// The hard-label term reads column 0 as the positive.
    fn positive_first(&self) -> bool {
        self.hard_label_weight > 0.0
    }

    fn group_loss<B: Backend>(&self, groups: Groups<B>, teacher: Tensor<B, 2>) -> LossResult<B> {
        let [group_count, _] = groups.dims();
        let valid = groups.valid.clone();
        let temperature = self.temperature;

        let teacher_log_probs =
            masked_log_softmax(teacher.div_scalar(temperature), valid.clone(), 1);
        let teacher_probs = teacher_log_probs
            .clone()
            .exp()
            .mask_fill(valid.clone().bool_not(), 0.0);
        let student_log_probs = masked_log_softmax(
            groups.scores.clone().div_scalar(temperature),
            valid.clone(),
            1,
        );
        let log_ratio = match self.objective {
            DistillObjective::KlDivergence => teacher_log_probs - student_log_probs,
            DistillObjective::SoftCrossEntropy => student_log_probs.neg(),
        };
        let mut per_group = (teacher_probs * log_ratio)
            .sum_dim(1)
            .reshape([group_count])
            .mul_scalar(temperature * temperature);

        if self.hard_label_weight > 0.0 {
            let positive_log_prob = masked_log_softmax(groups.scores, valid.clone(), 1)
                .narrow(1, 0, 1)
                .reshape([group_count]);
            let positive_valid = mask_to_f32(valid.clone().narrow(1, 0, 1).reshape([group_count]));
            per_group =
                per_group - positive_log_prob * positive_valid.mul_scalar(self.hard_label_weight);
        }
        let non_empty = valid.any_dim(1).reshape([group_count]);
        Ok(mean_over_groups(per_group, non_empty))
    }
}
