//! Preparing a batch of groups `[groups, list]`: cast to f32, check shapes, neutralise padding,
//! and the mean over groups every group loss ends with.

use burn::tensor::{backend::Backend, Bool, FloatDType, Tensor};

use crate::error::LossError;
use crate::input::{InputKind, LossInput};
use crate::pairs::row_vs_column;

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
