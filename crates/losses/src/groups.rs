//! Preparing a batch of groups `[groups, list]`: cast to f32, check shapes, neutralise padding,
//! and the mean over groups every group loss ends with.

use burn::tensor::{backend::Backend, Bool, FloatDType, Int, Tensor};

use crate::error::LossError;
use crate::input::{InputKind, LossInput};

/// Casts a float tensor of any dtype to f32 (a no-op for f32). Every loss computes in f32 so
/// that f16/bf16 models get f32-accurate softmaxes and log-sum-exps.
pub(crate) fn to_f32<B: Backend, const D: usize>(tensor: Tensor<B, D>) -> Tensor<B, D> {
    tensor.cast(FloatDType::F32)
}

/// A boolean mask as 0/1 f32 values.
pub(crate) fn mask_to_f32<B: Backend, const D: usize>(mask: Tensor<B, D, Bool>) -> Tensor<B, D> {
    to_f32(mask.float())
}

/// Scores of a batch of groups, in f32, with padded entries replaced by 0.
///
/// Replacing padded scores with a constant (rather than multiplying by the mask later) cuts
/// them out of the graph: whatever the padded values are (even inf/NaN), they receive exactly
/// zero gradient and cannot leak into the loss.
pub(crate) struct Groups<B: Backend> {
    /// f32 scores `[groups, list]`, padded entries set to 0.
    pub scores: Tensor<B, 2>,
    /// `true` for real entries `[groups, list]`.
    pub valid: Tensor<B, 2, Bool>,
    loss: &'static str,
}

impl<B: Backend> Groups<B> {
    /// Reads and checks the scores and the mask of `input`.
    pub fn from_input(loss: &'static str, input: &LossInput<B>) -> Result<Self, LossError> {
        let scores = input.scores.clone().ok_or(LossError::MissingInput {
            loss,
            input: InputKind::Scores,
        })?;
        let valid = match input.valid.clone() {
            Some(valid) => {
                check_same_shape(loss, InputKind::ValidMask, &valid.dims(), &scores.dims())?;
                valid
            }
            None => Tensor::<B, 2, Bool>::full(scores.dims(), true, &scores.device()),
        };
        let scores = to_f32(scores).mask_fill(valid.clone().bool_not(), 0.0);
        Ok(Self {
            scores,
            valid,
            loss,
        })
    }

    /// `[groups, list]`.
    pub fn dims(&self) -> [usize; 2] {
        self.scores.dims()
    }

    /// `true` for padded entries.
    pub fn padding(&self) -> Tensor<B, 2, Bool> {
        self.valid.clone().bool_not()
    }

    /// A required companion tensor (labels, teacher scores) aligned with the scores: checked,
    /// cast to f32, padded entries set to 0.
    pub fn aligned(
        &self,
        kind: InputKind,
        tensor: Option<&Tensor<B, 2>>,
    ) -> Result<Tensor<B, 2>, LossError> {
        let tensor = tensor.cloned().ok_or(LossError::MissingInput {
            loss: self.loss,
            input: kind,
        })?;
        check_same_shape(self.loss, kind, &tensor.dims(), &self.dims())?;
        Ok(to_f32(tensor).detach().mask_fill(self.padding(), 0.0))
    }

    /// Pairs `(i, j)` of real entries with `labels[i] > labels[j]`, `[groups, list, list]`.
    pub fn preferred_pairs(&self, labels: &Tensor<B, 2>) -> Tensor<B, 3, Bool> {
        let [groups, list] = self.dims();
        let (valid_i, valid_j) = row_vs_column(self.valid.clone(), groups, list);
        let (label_i, label_j) = row_vs_column(labels.clone(), groups, list);
        valid_i.bool_and(valid_j).bool_and(label_i.greater(label_j))
    }
}

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

/// Mean of per-group losses `[groups]` over the groups flagged in `counted` (groups with
/// something to score); `[1]`. Groups left out contribute nothing; an all-empty batch gives 0.
pub(crate) fn mean_over_groups<B: Backend>(
    per_group: Tensor<B, 1>,
    counted: Tensor<B, 1, Bool>,
) -> Tensor<B, 1> {
    let count = mask_to_f32(counted.clone()).sum().clamp_min(1.0);
    per_group.mask_fill(counted.bool_not(), 0.0).sum() / count
}

pub(crate) fn check_same_shape(
    loss: &'static str,
    input: InputKind,
    actual: &[usize],
    expected: &[usize],
) -> Result<(), LossError> {
    if actual == expected {
        Ok(())
    } else {
        Err(LossError::ShapeMismatch {
            loss,
            input,
            actual: actual.to_vec(),
            expected: format!("{expected:?} like the scores"),
        })
    }
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
