//! LambdaLoss: RankNet pairs weighted by how much swapping them changes nDCG.
//!
//! **Formula.** Rank the real entries of a group by the model's scores (`r_i`, 1-based, ties
//! to the earlier position) and define gains `G_i = (2^max(label_i, 0) − 1) / maxDCG@k` and
//! discounts `D_i = log2(1 + r_i)`. For every pair with `label_i > label_j` where `r_i ≤ k`
//! or `r_j ≤ k`:
//! `ℓ_ij = −w_ij · log2 sigmoid(σ·(s_i − s_j))`, with weights (no gradient through them):
//! - `lambda_rank`: `|1/D_i − 1/D_j| · |G_i − G_j|` (LambdaRank's ΔnDCG, a coarse bound);
//! - `ndcg_loss2`: `δ_ij · |G_i − G_j|`, `δ_ij = |1/log2(1+|r_i−r_j|) − 1/log2(2+|r_i−r_j|)|`;
//! - `ndcg_loss2pp`: `μ · ndcg_loss2 + lambda_rank` (the paper's best, the default);
//! - `none`: 1 (RankNet in base 2).
//!
//! The log-sigmoid is a stable softplus; ranks come from pairwise comparisons (no sort is
//! differentiated).
//!
//! **Inputs.** `scores` `[groups, list]`, `labels` `[groups, list]` (graded), optional valid
//! mask.
//!
//! **Data shape.** A query with a list of documents with graded (or binary) labels, e.g. a
//! positive and mined hard negatives.
//!
//! **Reduction.** Mean over the selected pairs of each group, then mean over the groups that
//! have a pair. With equally many pairs per group this equals sentence-transformers'
//! `LambdaLoss` (which averages over all pairs of the batch).
//!
//! **Related.** [`crate::ranknet`] is the unweighted case; [`crate::listnet`] and
//! [`crate::listmle`] are listwise alternatives.
//!
//! **Reference.** Wang et al., "The LambdaLoss Framework for Ranking Metric Optimization",
//! CIKM 2018 (Eq. 11–18); Burges, "From RankNet to LambdaRank to LambdaMART" (2010).

use std::f32::consts::LN_2;

use burn::tensor::{backend::Backend, Bool, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::LossError;
use crate::groups::{mask_to_f32, GroupLoss, Groups, LossResult};
use crate::numerics::softplus;
use crate::pairs::{
    descending_rank, mean_over_pairs_then_groups, preferred_pairs, row_vs_column, score_differences,
};
use crate::validate::{check_non_negative, check_positive, invalid};

/// Name in configs: `loss = "lambda_loss"`.
pub const NAME: &str = "lambda_loss";

/// How LambdaLoss weights a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LambdaWeighting {
    /// `μ · ndcg_loss2 + lambda_rank` (NDCG-Loss2++).
    #[serde(alias = "ndcg_loss2_pp")]
    NdcgLoss2pp,
    /// NDCG-Loss2: the tighter bound on nDCG.
    NdcgLoss2,
    /// LambdaRank: `|ΔDCG|` of swapping the pair.
    #[serde(alias = "lambdarank")]
    LambdaRank,
    /// All weights 1.
    None,
}

/// LambdaLoss (Wang et al. 2018).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LambdaLossConfig {
    /// Pair weighting scheme. Default: `"ndcg_loss2pp"`.
    pub weighting: LambdaWeighting,
    /// nDCG cut-off: only pairs with an entry in the model's top `k` count, and maxDCG is the
    /// ideal DCG@k. Default: none (the whole list).
    pub k: Option<usize>,
    /// Steepness σ of the sigmoid on score differences. Default: `1.0`.
    pub sigma: f32,
    /// Weight μ of NDCG-Loss2 inside NDCG-Loss2++ (ignored by other schemes). Default: `10.0`.
    pub mu: f32,
}

impl Default for LambdaLossConfig {
    fn default() -> Self {
        Self {
            weighting: LambdaWeighting::NdcgLoss2pp,
            k: None,
            sigma: 1.0,
            mu: 10.0,
        }
    }
}

/// Lower bound on maxDCG, so a group without any gain does not divide by zero.
const MIN_MAX_DCG: f32 = 1e-10;

impl GroupLoss for LambdaLossConfig {
    const NAME: &'static str = NAME;

    /// Rejects `k = 0`, a non-positive σ and a negative μ.
    fn validate(&self) -> Result<(), LossError> {
        check_positive(NAME, "sigma", self.sigma)?;
        check_non_negative(NAME, "mu", self.mu)?;
        if self.k == Some(0) {
            return Err(invalid(
                NAME,
                "k",
                "must be at least 1 (leave it out for the whole list)",
            ));
        }
        Ok(())
    }

    fn group_loss<B: Backend>(&self, groups: Groups<B>, labels: Tensor<B, 2>) -> LossResult<B> {
        let [group_count, list] = groups.dims();
        let cutoff = self.k.unwrap_or(list) as f32;

        let rank = descending_rank(groups.scores.clone(), groups.valid.clone());
        let gain = self.normalized_gain(&labels, &groups.valid, cutoff);
        let weights = self.pair_weights(rank.clone(), gain);

        let (rank_i, rank_j) = row_vs_column(rank, group_count, list);
        let in_top_k = rank_i
            .lower_equal_elem(cutoff)
            .bool_or(rank_j.lower_equal_elem(cutoff));
        let pairs = preferred_pairs(&groups.valid, &labels).bool_and(in_top_k);

        let neg_log2_sigmoid = pairwise_logistic(groups.scores, self.sigma).div_scalar(LN_2);
        Ok(mean_over_pairs_then_groups(
            weights * neg_log2_sigmoid,
            pairs,
        ))
    }
}

/// The pairwise core LambdaLoss shares with [`crate::ranknet`]: `−ln sigmoid(σ·(s_i − s_j))`
/// at `(g, i, j)`, `[groups, list, list]`, in nats, as a stable softplus. Both losses average
/// it (LambdaLoss in bits and weighted) over their pairs with
/// [`mean_over_pairs_then_groups`].
pub(crate) fn pairwise_logistic<B: Backend>(scores: Tensor<B, 2>, sigma: f32) -> Tensor<B, 3> {
    softplus(score_differences(scores).mul_scalar(-sigma))
}

impl LambdaLossConfig {
    /// `(2^max(label, 0) − 1) / maxDCG@k`, 0 at padded entries; `[groups, list]`.
    fn normalized_gain<B: Backend>(
        &self,
        labels: &Tensor<B, 2>,
        valid: &Tensor<B, 2, Bool>,
        cutoff: f32,
    ) -> Tensor<B, 2> {
        let raw_gain = (labels.clone().clamp_min(0.0).mul_scalar(LN_2).exp() - 1.0)
            .mask_fill(valid.clone().bool_not(), 0.0);
        let ideal_rank = descending_rank(labels.clone(), valid.clone());
        let in_ideal_top_k = mask_to_f32(ideal_rank.clone().lower_equal_elem(cutoff));
        let max_dcg = (raw_gain.clone() / log2_one_plus(ideal_rank) * in_ideal_top_k)
            .sum_dim(1)
            .clamp_min(MIN_MAX_DCG);
        raw_gain / max_dcg
    }

    /// The scheme's pair weights `[groups, list, list]` from ranks and normalized gains.
    fn pair_weights<B: Backend>(&self, rank: Tensor<B, 2>, gain: Tensor<B, 2>) -> Tensor<B, 3> {
        let [group_count, list] = rank.dims();
        let (gain_i, gain_j) = row_vs_column(gain, group_count, list);
        let gain_gap = (gain_i - gain_j).abs();
        let (rank_i, rank_j) = row_vs_column(rank, group_count, list);

        let lambda_rank = || {
            let inverse_discount_gap = (log2_one_plus(rank_i.clone()).recip()
                - log2_one_plus(rank_j.clone()).recip())
            .abs();
            inverse_discount_gap * gain_gap.clone()
        };
        let ndcg_loss2 = || {
            // Ranks of distinct real entries differ by at least 1; the clamp only keeps the
            // (masked-out) diagonal and padded pairs finite.
            let rank_gap = (rank_i.clone() - rank_j.clone()).abs().clamp_min(1.0);
            let delta = (log2_one_plus(rank_gap.clone()).recip()
                - log2_one_plus(rank_gap + 1.0).recip())
            .abs();
            delta * gain_gap.clone()
        };
        match self.weighting {
            LambdaWeighting::NdcgLoss2pp => ndcg_loss2().mul_scalar(self.mu) + lambda_rank(),
            LambdaWeighting::NdcgLoss2 => ndcg_loss2(),
            LambdaWeighting::LambdaRank => lambda_rank(),
            LambdaWeighting::None => gain_gap.ones_like(),
        }
    }
}

/// `log2(1 + x)`.
fn log2_one_plus<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    x.log1p().div_scalar(LN_2)
}
