//! Mean squared error between scores and targets — pointwise distillation.
//!
//! **Formula.** `ℓ = (s − t)²` for a student score `s` and a target `t`: the teacher's score
//! (default) or the label.
//!
//! **Inputs.** `scores` `[groups, list]`, `teacher_scores` (or `labels`) `[groups, list]`,
//! optional valid mask.
//!
//! **Data shape.** (query, document) pairs scored by a teacher cross-encoder, as `[n, 1]`, or
//! lists scored by a teacher.
//!
//! **Reduction.** Every real entry is its own group: the mean over all unpadded entries.
//!
//! **Related.** [`crate::margin_mse`] matches score differences instead of absolute scores,
//! which tolerates a teacher on another scale; [`crate::distill_kl`] matches the teacher's
//! distribution over a group.
//!
//! **Reference.** Hofstätter et al., "Improving Efficient Neural Ranking Models with
//! Cross-Architecture Knowledge Distillation" (2020), arXiv:2010.02666 (as the pointwise
//! baseline); sentence-transformers `MSELoss`.

use burn::tensor::{backend::Backend, Tensor};
use serde::{Deserialize, Serialize};

use crate::groups::{mask_to_f32, GroupLoss, Groups, LossResult};
use crate::target::ScoreTarget;

/// Name in configs: `loss = "mse"`.
pub const NAME: &str = "mse";

/// Mean squared error on scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MseConfig {
    /// What the scores regress to. Default: `"teacher_scores"`.
    pub target: ScoreTarget,
}

impl Default for MseConfig {
    fn default() -> Self {
        Self {
            target: ScoreTarget::TeacherScores,
        }
    }
}

impl GroupLoss for MseConfig {
    const NAME: &'static str = NAME;

    fn target(&self) -> ScoreTarget {
        self.target
    }

    fn group_loss<B: Backend>(&self, groups: Groups<B>, target: Tensor<B, 2>) -> LossResult<B> {
        let valid = mask_to_f32(groups.valid);
        let count = valid.clone().sum().clamp_min(1.0);
        Ok(((groups.scores - target).square() * valid).sum() / count)
    }
}
