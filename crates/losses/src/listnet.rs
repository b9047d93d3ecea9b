//! ListNet: cross-entropy between a target distribution over a list and the model's.
//!
//! **Formula.** With target values `t` (labels, or teacher scores) and temperature `T`:
//! `ℓ = −Σ_i softmax(t / T)_i · log_softmax(s)_i`, over the real entries of the group (the
//! "top-one probability" version of ListNet). The log-softmax is a max-shifted log-sum-exp, so
//! it is stable at any score scale, and it is unchanged when all scores shift by a constant.
//!
//! **Inputs.** `scores` `[groups, list]`, `labels` or `teacher_scores` `[groups, list]`
//! (per `target`), optional valid mask.
//!
//! **Data shape.** A query with a list of documents and graded (or binary) labels; or a list
//! scored by a teacher (listwise distillation with `target = "teacher_scores"`).
//!
//! **Reduction.** Mean over the groups that have a real entry. Equals sentence-transformers'
//! `ListNetLoss` (temperature 1, labels).
//!
//! **Related.** [`crate::distill_kl`] is the same cross-entropy with the temperature on both
//! sides (and a KL option); [`crate::listmle`] models a whole permutation;
//! [`crate::lambda_loss`] targets nDCG directly.
//!
//! **Reference.** Cao et al., "Learning to Rank: From Pairwise Approach to Listwise Approach",
//! ICML 2007.

use burn::tensor::{backend::Backend, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::LossError;
use crate::groups::{mean_over_groups, GroupLoss, Groups, LossResult};
use crate::numerics::{masked_log_softmax, masked_softmax};
use crate::target::ScoreTarget;
use crate::validate::check_positive;

/// Name in configs: `loss = "listnet"`.
pub const NAME: &str = "listnet";

/// ListNet top-one cross-entropy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListNetConfig {
    /// Where the target distribution comes from. Default: `"labels"`.
    pub target: ScoreTarget,
    /// Temperature dividing the target values before their softmax (higher: flatter target).
    /// The predicted scores are not divided. Default: `1.0`.
    pub temperature: f32,
}

impl Default for ListNetConfig {
    fn default() -> Self {
        Self {
            target: ScoreTarget::Labels,
            temperature: 1.0,
        }
    }
}

impl GroupLoss for ListNetConfig {
    const NAME: &'static str = NAME;

    /// Rejects a non-positive or non-finite temperature.
    fn validate(&self) -> Result<(), LossError> {
        check_positive(NAME, "temperature", self.temperature)
    }

    fn target(&self) -> ScoreTarget {
        self.target
    }

    fn group_loss<B: Backend>(&self, groups: Groups<B>, target: Tensor<B, 2>) -> LossResult<B> {
        let [group_count, _] = groups.dims();
        let target_probs =
            masked_softmax(target.div_scalar(self.temperature), groups.valid.clone(), 1);
        let log_probs = masked_log_softmax(groups.scores, groups.valid.clone(), 1);
        let per_group = (target_probs * log_probs)
            .sum_dim(1)
            .reshape([group_count])
            .neg();
        let non_empty = groups.valid.any_dim(1).reshape([group_count]);
        Ok(mean_over_groups(per_group, non_empty))
    }
}
