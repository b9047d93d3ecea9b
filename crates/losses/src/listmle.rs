//! ListMLE: negative Plackett–Luce log-likelihood of the label order.
//!
//! **Formula.** Order the real entries of a group by label, descending (ties keep their input
//! order): `π(1), …, π(n)`. Then
//! `ℓ = −Σ_k [ s_π(k) − log Σ_{r ≥ k} exp(s_π(r)) ]`.
//! Each inner log-sum-exp is shifted by its own maximum, so `|s| = 1e4` stays finite. No
//! sort is differentiated: the "at or after `k` in the order" sets are built from label
//! comparisons, `O(list²)` memory per group.
//!
//! **Inputs.** `scores` `[groups, list]`, `labels` `[groups, list]` (graded; only their order
//! matters), optional valid mask.
//!
//! **Data shape.** A query with a list of documents with graded labels; with binary labels
//! the order among equal labels is arbitrary (input order), so prefer graded labels.
//!
//! **Reduction.** Mean over the groups that have a real entry. Equals sentence-transformers'
//! `ListMLELoss(respect_input_order=False)` when labels have no ties.
//!
//! **Related.** [`crate::listnet`] (top-one probabilities instead of the full permutation);
//! [`crate::lambda_loss`] (metric-driven); position-aware p-ListMLE (Lan et al., UAI 2014)
//! is not implemented.
//!
//! **Reference.** Xia et al., "Listwise Approach to Learning to Rank — Theory and Algorithm",
//! ICML 2008.

use burn::tensor::{backend::Backend, Tensor};
use serde::{Deserialize, Serialize};

use crate::groups::{mean_over_groups, GroupLoss, Groups, LossResult};
use crate::numerics::masked_logsumexp;
use crate::pairs::{earlier_position, row_vs_column};

/// Name in configs: `loss = "listmle"`.
pub const NAME: &str = "listmle";

/// ListMLE (Plackett–Luce likelihood of the label order). No parameters.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListMleConfig {}

impl GroupLoss for ListMleConfig {
    const NAME: &'static str = NAME;

    fn group_loss<B: Backend>(&self, groups: Groups<B>, labels: Tensor<B, 2>) -> LossResult<B> {
        let [group_count, list] = groups.dims();
        let device = groups.scores.device();

        // remaining[g, k, r]: entry r is still unplaced when entry k is drawn, i.e. r comes at
        // or after k in the label order (label_r < label_k, or equal and not earlier).
        let (label_k, label_r) = row_vs_column(labels, group_count, list);
        let r_before_k = earlier_position::<B>(group_count, list, &device);
        let tie_not_before = label_r
            .clone()
            .equal(label_k.clone())
            .bool_and(r_before_k.bool_not());
        let (_, valid_r) = row_vs_column(groups.valid.clone(), group_count, list);
        let remaining = label_r
            .lower(label_k)
            .bool_or(tie_not_before)
            .bool_and(valid_r);

        let (_, score_r) = row_vs_column(groups.scores.clone(), group_count, list);
        let log_normalizer = masked_logsumexp(score_r, remaining, 2).reshape([group_count, list]);
        let log_likelihood = (groups.scores - log_normalizer)
            .mask_fill(groups.valid.clone().bool_not(), 0.0)
            .sum_dim(1)
            .reshape([group_count]);
        let non_empty = groups.valid.any_dim(1).reshape([group_count]);
        Ok(mean_over_groups(log_likelihood.neg(), non_empty))
    }
}
