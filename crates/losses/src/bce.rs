//! Binary cross-entropy on logits — the pointwise cross-encoder loss.
//!
//! **Formula.** For a score (logit) `x` and a label `y ∈ [0, 1]`, with positive weight `w`:
//! `ℓ = −[w·y·log σ(x) + (1 − y)·log(1 − σ(x))]`, computed as
//! `(1 − y)·x + (1 + (w − 1)·y)·softplus(−x)` with a stable softplus, so `|x| = 1e4` is fine.
//! Identical to PyTorch's `BCEWithLogitsLoss(pos_weight = w)`.
//!
//! **Inputs.** `scores` `[groups, list]` (logits), `labels` `[groups, list]` (1 relevant, 0 not,
//! or a probability), optional valid mask.
//!
//! **Data shape.** (query, document) pairs with binary labels, as `[n, 1]`; lists with binary
//! labels also work, every entry being its own example.
//!
//! **Reduction.** Every real entry is its own group: the mean over all unpadded entries.
//!
//! **Related.** [`crate::mse`] regresses teacher scores instead of labels; listwise losses
//! ([`crate::listnet`], [`crate::lambda_loss`]) usually rank better once hard negatives exist.
//!
//! **Reference.** The standard MS MARCO cross-encoder objective, e.g. Nogueira & Cho,
//! "Passage Re-ranking with BERT" (2019), arXiv:1901.04085.

use burn::tensor::{backend::Backend, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::LossError;
use crate::groups::{mask_to_f32, GroupLoss, Groups, LossResult};
use crate::numerics::softplus;
use crate::validate::check_positive;

/// Name in configs: `loss = "bce"`.
pub const NAME: &str = "bce";

/// Binary cross-entropy on logits.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BceConfig {
    /// Weight of the positive term (PyTorch's `pos_weight`), e.g. `#negatives / #positives`
    /// for unbalanced data. Default: none (weight 1).
    pub pos_weight: Option<f32>,
}

impl GroupLoss for BceConfig {
    const NAME: &'static str = NAME;

    /// Rejects a non-positive or non-finite `pos_weight`.
    fn validate(&self) -> Result<(), LossError> {
        match self.pos_weight {
            Some(w) => check_positive(NAME, "pos_weight", w),
            None => Ok(()),
        }
    }

    fn group_loss<B: Backend>(&self, groups: Groups<B>, labels: Tensor<B, 2>) -> LossResult<B> {
        let pos_weight = self.pos_weight.unwrap_or(1.0);
        let logits = groups.scores;
        let per_entry = (labels.clone().neg() + 1.0) * logits.clone()
            + (labels * (pos_weight - 1.0) + 1.0) * softplus(logits.neg());
        let valid = mask_to_f32(groups.valid);
        let count = valid.clone().sum().clamp_min(1.0);
        Ok((per_entry * valid).sum() / count)
    }
}
