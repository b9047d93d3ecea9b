//! Preparing a batch of groups `[groups, list]`: cast to f32, check shapes, neutralise padding,
//! and the mean over groups every group loss ends with. [`GroupLoss`] turns a formula over
//! prepared groups into a [`RankingLoss`].

use burn::tensor::{backend::Backend, Bool, FloatDType, Tensor};

use crate::error::LossError;
use crate::input::{InputKind, InputSpec, LossInput};
use crate::ranking_loss::RankingLoss;
use crate::target::ScoreTarget;

/// The loss of a batch, `[1]` f32, or why it cannot be computed.
pub(crate) type LossResult<B> = Result<Tensor<B, 1>, LossError>;

/// A loss over groups of scores `[groups, list]` and one aligned target (labels or teacher
/// scores): every loss but the in-batch one. The [`RankingLoss`] it gets declares the scores,
/// the target and an optional valid mask as its inputs, and reads them through
/// [`Groups::from_input`] and [`Groups::aligned`] before [`GroupLoss::group_loss`], so a loss
/// file holds only its parameter checks and its formula.
pub(crate) trait GroupLoss {
    /// Name in configs and in error messages.
    const NAME: &'static str;

    /// Rejects out-of-range parameters. Default: nothing to check.
    fn validate(&self) -> Result<(), LossError> {
        Ok(())
    }

    /// The tensor the scores are compared with. Default: the labels.
    fn target(&self) -> ScoreTarget {
        ScoreTarget::Labels
    }

    /// Whether column 0 of every group must hold the positive. Default: no.
    fn positive_first(&self) -> bool {
        false
    }

    /// The loss, `[1]`, of the checked groups and their target (f32, no gradient, padded
    /// entries 0).
    fn group_loss<B: Backend>(&self, groups: Groups<B>, target: Tensor<B, 2>) -> LossResult<B>;
}

impl<L: GroupLoss> RankingLoss for L {
    const NAME: &'static str = L::NAME;

    fn validate(&self) -> Result<(), LossError> {
        GroupLoss::validate(self)
    }

    fn inputs(&self) -> InputSpec {
        let spec = InputSpec::new(
            &[InputKind::Scores, self.target().input_kind()],
            &[InputKind::ValidMask],
        );
        if self.positive_first() {
            spec.with_positive_first()
        } else {
            spec
        }
    }

    fn evaluate<B: Backend>(&self, input: &LossInput<B>) -> LossResult<B> {
        let groups = Groups::from_input(L::NAME, input)?;
        let target = self.target();
        let target = groups.aligned(target.input_kind(), target.select(input))?;
        self.group_loss(groups, target)
    }
}

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

/// Fails with [`LossError::ShapeMismatch`] unless `actual` equals `expected`, the scores' shape.
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
