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
//! **Implementation.** RankNet is LambdaLoss without weighting: both average a pairwise
//! logistic term over the preferred pairs of each group, then over groups, so RankNet reuses
//! LambdaLoss's pairwise core ([`crate::lambda_loss`]) and its reduction as they are. It is
//! not computed as `lambda_loss` with `weighting = "none"`, which measures in bits (÷ ln 2,
//! a different rounding) and computes ranks and gains RankNet does not need.
//!
//! **Related.** [`crate::lambda_loss`] is RankNet with metric-aware pair weights;
//! [`crate::margin_ranking`] is the hinge version.
//!
//! **Reference.** Burges et al., "Learning to Rank using Gradient Descent", ICML 2005.

use burn::tensor::{backend::Backend, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::LossError;
use crate::groups::{GroupLoss, Groups, LossResult};
use crate::lambda_loss::pairwise_logistic;
use crate::pairs::mean_over_preferred_pairs;
use crate::validate::check_positive;

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

impl GroupLoss for RankNetConfig {
    const NAME: &'static str = NAME;

    /// Rejects a non-positive or non-finite σ.
    fn validate(&self) -> Result<(), LossError> {
        check_positive(NAME, "sigma", self.sigma)
    }

    fn group_loss<B: Backend>(&self, groups: Groups<B>, labels: Tensor<B, 2>) -> LossResult<B> {
        let per_pair = pairwise_logistic(groups.scores, self.sigma);
        Ok(mean_over_preferred_pairs(per_pair, &groups.valid, &labels))
    }
}
