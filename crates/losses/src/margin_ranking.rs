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
use crate::groups::Groups;
use crate::input::{InputKind, InputSpec, LossInput};
use crate::pairs::{mean_over_pairs_then_groups, score_differences};

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

impl MarginRankingConfig {
    /// Rejects a non-finite margin.
    pub fn validate(&self) -> Result<(), LossError> {
        if self.margin.is_finite() {
            Ok(())
        } else {
            Err(LossError::InvalidConfig {
                loss: NAME,
                parameter: "margin",
                reason: format!("must be finite, got {}", self.margin),
            })
        }
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
        let hinge = relu(score_differences(groups.scores).neg() + self.margin);
        Ok(mean_over_pairs_then_groups(hinge, pairs))
    }
}
