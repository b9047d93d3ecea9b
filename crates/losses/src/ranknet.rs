//! RankNet: logistic loss on score differences over all preferred pairs of a list.
//!
//! **Formula.** For every pair of real entries `(i, j)` of a group with `label_i > label_j`:
//! `ℓ_ij = log(1 + exp(−σ·(s_i − s_j)))` (natural log), the cross-entropy of
//! `P(i ≻ j) = sigmoid(σ·(s_i − s_j))` against the target 1. Computed with a stable softplus.
//!
//! **Inputs.** `scores` `[groups, list]`, `labels` `[groups, list]` (binary or graded),
//! optional valid mask. Equal labels (ties) form no pair.
//!
//! **Data shape.** Graded lists per query, or query + positive + negatives with binary labels.
//!
//! **Reduction.** Mean over the pairs of each group, then mean over the groups that have a
//! pair. (With equally many pairs per group this equals sentence-transformers'
//! `RankNetLoss(reduction_log="natural")`, which averages over all pairs of the batch.)
//!
//! **Related.** [`crate::lambda_loss`] is RankNet with metric-aware pair weights;
//! [`crate::margin_ranking`] is the hinge version.
//!
//! **Reference.** Burges et al., "Learning to Rank using Gradient Descent", ICML 2005.

use burn::tensor::{backend::Backend, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::LossError;
use crate::groups::Groups;
use crate::input::{InputKind, InputSpec, LossInput};
use crate::numerics::softplus;
use crate::pairs::{mean_over_pairs_then_groups, score_differences};

/// Name in configs: `loss = "ranknet"`.
pub const NAME: &str = "ranknet";

/// RankNet pairwise logistic loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RankNetConfig {
    /// Steepness σ of the sigmoid on score differences. Default: `1.0`.
    pub sigma: f32,
}

impl Default for RankNetConfig {
    fn default() -> Self {
        Self { sigma: 1.0 }
    }
}

impl RankNetConfig {
    /// Rejects a non-positive or non-finite σ.
    pub fn validate(&self) -> Result<(), LossError> {
        crate::config::check_positive(NAME, "sigma", self.sigma)
    }

    /// Scores and labels, optional mask.
    pub fn inputs(&self) -> InputSpec {
        InputSpec::new(
            &[InputKind::Scores, InputKind::Labels],
            &[InputKind::ValidMask],
        )
    }

    /// The loss, `[1]`.
    pub fn compute<B: Backend>(&self, input: &LossInput<B>) -> Result<Tensor<B, 1>, LossError> {
        self.validate()?;
        let groups = Groups::from_input(NAME, input)?;
        let labels = groups.aligned(InputKind::Labels, input.labels.as_ref())?;
        let pairs = groups.preferred_pairs(&labels);
        let per_pair = softplus(score_differences(groups.scores).mul_scalar(-self.sigma));
        Ok(mean_over_pairs_then_groups(per_pair, pairs))
    }
}
