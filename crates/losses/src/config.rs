//! The one place a loss is chosen from a config: [`LossConfig`] (serde-tagged by `loss`) and
//! the validated [`Loss`] it builds.

use burn::tensor::{backend::Backend, Tensor};
use serde::{Deserialize, Serialize};

use crate::bce::BceConfig;
use crate::distill_kl::DistillKlConfig;
use crate::error::LossError;
use crate::infonce::InfoNceConfig;
use crate::input::{InputSpec, LossInput};
use crate::lambda_loss::LambdaLossConfig;
use crate::listmle::ListMleConfig;
use crate::listnet::ListNetConfig;
use crate::margin_mse::MarginMseConfig;
use crate::margin_ranking::MarginRankingConfig;
use crate::mse::MseConfig;
use crate::ranknet::RankNetConfig;

/// A loss and its parameters, as written in a run config:
///
/// ```toml
/// [loss]
/// loss = "lambda_loss"
/// weighting = "ndcg_loss2pp"
/// k = 10
/// ```
///
/// The `loss` key picks the variant; the other keys are that loss's fields (all optional, with
/// the defaults documented on each config struct). Unknown keys are rejected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "loss", rename_all = "snake_case")]
pub enum LossConfig {
    /// [`crate::bce`]: binary cross-entropy on logits.
    #[serde(alias = "binary_cross_entropy")]
    Bce(BceConfig),
    /// [`crate::mse`]: mean squared error to teacher scores.
    Mse(MseConfig),
    /// [`crate::margin_ranking`]: pairwise hinge.
    #[serde(alias = "hinge")]
    MarginRanking(MarginRankingConfig),
    /// [`crate::ranknet`]: pairwise logistic.
    #[serde(rename = "ranknet", alias = "rank_net")]
    RankNet(RankNetConfig),
    /// [`crate::listnet`]: listwise softmax cross-entropy.
    #[serde(rename = "listnet", alias = "list_net")]
    ListNet(ListNetConfig),
    /// [`crate::listmle`]: Plackett–Luce likelihood.
    #[serde(rename = "listmle", alias = "list_mle")]
    ListMle(ListMleConfig),
    /// [`crate::lambda_loss`]: nDCG-weighted pairwise logistic.
    #[serde(alias = "lambdaloss")]
    LambdaLoss(LambdaLossConfig),
    /// [`crate::infonce`]: in-batch contrastive for bi-encoders.
    #[serde(
        rename = "infonce",
        alias = "info_nce",
        alias = "multiple_negatives_ranking"
    )]
    InfoNce(InfoNceConfig),
    /// [`crate::margin_mse`]: margin distillation.
    MarginMse(MarginMseConfig),
    /// [`crate::distill_kl`]: KL / soft cross-entropy distillation over a group.
    #[serde(alias = "kl_div")]
    DistillKl(DistillKlConfig),
}

impl LossConfig {
    /// Validates the parameters and returns the loss to compute.
    pub fn build(&self) -> Result<Loss, LossError> {
        match self {
            LossConfig::Bce(c) => c.validate(),
            LossConfig::Mse(c) => c.validate(),
            LossConfig::MarginRanking(c) => c.validate(),
            LossConfig::RankNet(c) => c.validate(),
            LossConfig::ListNet(c) => c.validate(),
            LossConfig::ListMle(c) => c.validate(),
            LossConfig::LambdaLoss(c) => c.validate(),
            LossConfig::InfoNce(c) => c.validate(),
            LossConfig::MarginMse(c) => c.validate(),
            LossConfig::DistillKl(c) => c.validate(),
        }?;
        Ok(Loss {
            config: self.clone(),
        })
    }

    /// The name written in configs (`loss = "..."`).
    pub fn name(&self) -> &'static str {
        match self {
            LossConfig::Bce(_) => crate::bce::NAME,
            LossConfig::Mse(_) => crate::mse::NAME,
            LossConfig::MarginRanking(_) => crate::margin_ranking::NAME,
            LossConfig::RankNet(_) => crate::ranknet::NAME,
            LossConfig::ListNet(_) => crate::listnet::NAME,
            LossConfig::ListMle(_) => crate::listmle::NAME,
            LossConfig::LambdaLoss(_) => crate::lambda_loss::NAME,
            LossConfig::InfoNce(_) => crate::infonce::NAME,
            LossConfig::MarginMse(_) => crate::margin_mse::NAME,
            LossConfig::DistillKl(_) => crate::distill_kl::NAME,
        }
    }

    /// The inputs this loss reads.
    pub fn inputs(&self) -> InputSpec {
        match self {
            LossConfig::Bce(c) => c.inputs(),
            LossConfig::Mse(c) => c.inputs(),
            LossConfig::MarginRanking(c) => c.inputs(),
            LossConfig::RankNet(c) => c.inputs(),
            LossConfig::ListNet(c) => c.inputs(),
            LossConfig::ListMle(c) => c.inputs(),
            LossConfig::LambdaLoss(c) => c.inputs(),
            LossConfig::InfoNce(c) => c.inputs(),
            LossConfig::MarginMse(c) => c.inputs(),
            LossConfig::DistillKl(c) => c.inputs(),
        }
    }
}

/// A validated loss, built by [`LossConfig::build`]. Works with any backend, with or without
/// autodiff.
#[derive(Debug, Clone, PartialEq)]
pub struct Loss {
    config: LossConfig,
}

impl Loss {
    /// The loss of a batch, an f32 tensor of shape `[1]` (mean over groups; see each loss).
    ///
    /// Fails with [`LossError::MissingInput`] when an input in [`Loss::inputs`]`.required` is
    /// absent, and [`LossError::ShapeMismatch`] when shapes disagree.
    pub fn compute<B: Backend>(&self, input: &LossInput<B>) -> Result<Tensor<B, 1>, LossError> {
        input.check_present(self.name(), &self.inputs())?;
        match &self.config {
            LossConfig::Bce(c) => c.compute(input),
            LossConfig::Mse(c) => c.compute(input),
            LossConfig::MarginRanking(c) => c.compute(input),
            LossConfig::RankNet(c) => c.compute(input),
            LossConfig::ListNet(c) => c.compute(input),
            LossConfig::ListMle(c) => c.compute(input),
            LossConfig::LambdaLoss(c) => c.compute(input),
            LossConfig::InfoNce(c) => c.compute(input),
            LossConfig::MarginMse(c) => c.compute(input),
            LossConfig::DistillKl(c) => c.compute(input),
        }
    }

    /// The inputs this loss reads, for checking data before training.
    pub fn inputs(&self) -> InputSpec {
        self.config.inputs()
    }

    /// The name written in configs.
    pub fn name(&self) -> &'static str {
        self.config.name()
    }

    /// The configuration it was built from.
    pub fn config(&self) -> &LossConfig {
        &self.config
    }
}

/// Fails unless `value` is finite and > 0.
pub(crate) fn check_positive(
    loss: &'static str,
    parameter: &'static str,
    value: f32,
) -> Result<(), LossError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(LossError::InvalidConfig {
            loss,
            parameter,
            reason: format!("must be a positive number, got {value}"),
        })
    }
}
