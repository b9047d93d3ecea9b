//! Margin ranking (hinge) loss over preferred pairs.
//!
//! **Formula.** For every pair of real entries `(i, j)` of a group with `label_i > label_j`:
//! `ℓ_ij = max(0, margin − (s_i − s_j))`. It is zero once the preferred document leads by at
//! least `margin`; its gradient there is exactly zero.
//!
//! **Inputs.** `scores` `[groups, list]`, `labels` `[groups, list]` (binary or graded),
//! optional valid mask. Equal labels form no pair.
//!
//! **Data shape.** Triplets (query, positive, negative) as `[n, 2]` with labels `[1, 0]`, or
//! query + positive + negatives, or graded lists (all ordered pairs are used).
//!
//! **Reduction.** Mean over the pairs of each group, then mean over the groups that have a
//! pair.
//!
//! **Related.** [`crate::ranknet`] is its smooth (logistic) counterpart, which keeps pushing
//! pairs beyond the margin; [`crate::lambda_loss`] weights pairs by their nDCG impact.
//!
//! **Reference.** Herbrich, Graepel & Obermayer, "Large Margin Rank Boundaries for Ordinal
//! Regression" (2000); PyTorch `MarginRankingLoss`.

use burn::tensor::{activation::relu, backend::Backend, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::LossError;
use crate::groups::{GroupLoss, Groups, LossResult};
use crate::pairs::{mean_over_preferred_pairs, score_differences};
use crate::validate::check_finite;

/// Name in configs: `loss = "margin_ranking"`.
pub const NAME: &str = "margin_ranking";

/// Pairwise hinge loss `max(0, margin − (s⁺ − s⁻))`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MarginRankingConfig {
    /// The lead the preferred document must have over the other. Default: `1.0`.
    pub margin: f32,
}

impl Default for MarginRankingConfig {
    fn default() -> Self {
        Self { margin: 1.0 }
    }
}

impl GroupLoss for MarginRankingConfig {
    const NAME: &'static str = NAME;

    /// Rejects a non-finite margin.
    fn validate(&self) -> Result<(), LossError> {
        check_finite(NAME, "margin", self.margin)
    }

    fn group_loss<B: Backend>(&self, groups: Groups<B>, labels: Tensor<B, 2>) -> LossResult<B> {
        let hinge = relu(score_differences(groups.scores).neg() + self.margin);
        Ok(mean_over_preferred_pairs(hinge, &groups.valid, &labels))
    }
}
