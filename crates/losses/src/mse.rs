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

use crate::error::LossError;
use crate::groups::{mask_to_f32, Groups};
use crate::input::{InputKind, InputSpec, LossInput};
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

impl MseConfig {
    /// Nothing to check.
    pub fn validate(&self) -> Result<(), LossError> {
        Ok(())
    }

    /// Scores and the target, optional mask.
    pub fn inputs(&self) -> InputSpec {
        InputSpec::new(
            &[InputKind::Scores, self.target.input_kind()],
            &[InputKind::ValidMask],
        )
    }

    /// The loss, `[1]`.
    pub fn compute<B: Backend>(&self, input: &LossInput<B>) -> Result<Tensor<B, 1>, LossError> {
        let groups = Groups::from_input(NAME, input)?;
        let target = groups.aligned(self.target.input_kind(), self.target.select(input))?;
        let valid = mask_to_f32(groups.valid);
        let count = valid.clone().sum().clamp_min(1.0);
        Ok(((groups.scores - target).square() * valid).sum() / count)
    }
}
