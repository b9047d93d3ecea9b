//! Pairwise views of a `[groups, list]` batch: `(i, j)` broadcasts, preferred pairs, score
//! differences, ranks from pairwise comparisons, and the mean over pairs then groups.

use burn::tensor::{backend::Backend, Bool, Int, Tensor};

use crate::groups::{mask_to_f32, mean_over_groups};

/// Broadcasts `x [groups, list]` to two `[groups, list, list]` views: `x[g, i]` and `x[g, j]`
/// at position `(g, i, j)`.
pub(crate) fn row_vs_column<B: Backend, K>(
    x: Tensor<B, 2, K>,
    groups: usize,
    list: usize,
) -> (Tensor<B, 3, K>, Tensor<B, 3, K>)
where
    K: burn::tensor::BasicOps<B>,
{
    let at_i = x.clone().unsqueeze_dim::<3>(2).expand([groups, list, list]);
    let at_j = x.unsqueeze_dim::<3>(1).expand([groups, list, list]);
    (at_i, at_j)
}

/// Pairs `(i, j)` of real entries with `labels[i] > labels[j]`, `[groups, list, list]`.
pub(crate) fn preferred_pairs<B: Backend>(
    valid: &Tensor<B, 2, Bool>,
    labels: &Tensor<B, 2>,
) -> Tensor<B, 3, Bool> {
    let [groups, list] = labels.dims();
    let (valid_i, valid_j) = row_vs_column(valid.clone(), groups, list);
    let (label_i, label_j) = row_vs_column(labels.clone(), groups, list);
    valid_i.bool_and(valid_j).bool_and(label_i.greater(label_j))
}

/// `true` at `(g, i, j)` where `j < i`, `[groups, list, list]`: breaks ties by position.
pub(crate) fn earlier_position<B: Backend>(
    groups: usize,
    list: usize,
    device: &B::Device,
) -> Tensor<B, 3, Bool> {
    let position = Tensor::<B, 1, Int>::arange(0..list as i64, device);
    let at_i = position
        .clone()
        .reshape([1, list, 1])
        .expand([groups, list, list]);
    let at_j = position.reshape([1, 1, list]).expand([groups, list, list]);
    at_j.lower(at_i)
}

/// `s[g, i] − s[g, j]` at `(g, i, j)`, `[groups, list, list]`.
pub(crate) fn score_differences<B: Backend>(scores: Tensor<B, 2>) -> Tensor<B, 3> {
    let [groups, list] = scores.dims();
    let (at_i, at_j) = row_vs_column(scores, groups, list);
    at_i - at_j
}

/// Per-pair losses `[groups, list, list]` averaged over the selected pairs of each group, then
/// over the groups that have at least one pair; `[1]`.
pub(crate) fn mean_over_pairs_then_groups<B: Backend>(
    per_pair: Tensor<B, 3>,
    pairs: Tensor<B, 3, Bool>,
) -> Tensor<B, 1> {
    let [groups, list, _] = per_pair.dims();
    let pair_count = mask_to_f32(pairs.clone())
        .reshape([groups, list * list])
        .sum_dim(1)
        .reshape([groups]);
    let pair_sum = per_pair
        .mask_fill(pairs.bool_not(), 0.0)
        .reshape([groups, list * list])
        .sum_dim(1)
        .reshape([groups]);
    let has_pairs = pair_count.clone().greater_elem(0.0);
    mean_over_groups(pair_sum / pair_count.clamp_min(1.0), has_pairs)
}

/// Per-pair losses `[groups, list, list]` averaged over the [`preferred_pairs`] of each
/// group, then over the groups that have one; `[1]`.
pub(crate) fn mean_over_preferred_pairs<B: Backend>(
    per_pair: Tensor<B, 3>,
    valid: &Tensor<B, 2, Bool>,
    labels: &Tensor<B, 2>,
) -> Tensor<B, 1> {
    mean_over_pairs_then_groups(per_pair, preferred_pairs(valid, labels))
}

/// 1-based rank of each real entry when its group is sorted by `values`, descending; ties go
/// to the earlier position. `[groups, list]` f32, no gradient. Padded entries get arbitrary
/// ranks the caller must mask out.
pub(crate) fn descending_rank<B: Backend>(
    values: Tensor<B, 2>,
    valid: Tensor<B, 2, Bool>,
) -> Tensor<B, 2> {
    let [groups, list] = values.dims();
    let device = values.device();
    let (value_i, value_j) = row_vs_column(values.detach(), groups, list);
    let (_, valid_j) = row_vs_column(valid, groups, list);
    let tie_earlier = value_j
        .clone()
        .equal(value_i.clone())
        .bool_and(earlier_position::<B>(groups, list, &device));
    let ahead = value_j
        .greater(value_i)
        .bool_or(tie_earlier)
        .bool_and(valid_j);
    mask_to_f32(ahead).sum_dim(2).reshape([groups, list]) + 1.0
}
