//! The one place a loss is chosen from a config: the registry of losses, which declares
//! [`LossConfig`] (serde-tagged by `loss`), and the validated [`Loss`] it builds.
//!
//! Adding a loss takes a module implementing [`RankingLoss`] for its config struct and one
//! variant in the `loss_registry!` invocation below; the variant carries the serde tag and
//! aliases, and the macro derives every dispatch from it.

use burn::tensor::{backend::Backend, Tensor};
use serde::{Deserialize, Serialize};

use crate::bce::BceConfig;
use crate::colbert_contrastive::ColbertContrastiveConfig;
use crate::colbert_distillation::ColbertDistillationConfig;
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
use crate::ranking_loss::RankingLoss;
use crate::ranknet::RankNetConfig;

/// Declares the config enum as written and, from its variants (each wrapping a config that
/// implements [`RankingLoss`] and [`Default`]), the methods that reach a variant's loss.
/// The `match`es are generated, so the variant list is the only list of losses.
macro_rules! loss_registry {
    (
        $(#[$enum_attribute:meta])*
        pub enum $registry:ident {
            $(
                $(#[$variant_attribute:meta])*
                $variant:ident($config:ty),
            )+
        }
    ) => {
        $(#[$enum_attribute])*
        pub enum $registry {
            $(
                $(#[$variant_attribute])*
                $variant($config),
            )+
        }

        impl $registry {
            /// Every registered loss with its default parameters, in registry order.
            pub fn registered() -> Vec<$registry> {
                vec![$($registry::$variant(<$config>::default()),)+]
            }

            /// The name written in configs (`loss = "..."`).
            pub fn name(&self) -> &'static str {
                match self {
                    $($registry::$variant(_) => <$config as RankingLoss>::NAME,)+
                }
            }

            /// The inputs this loss reads.
            pub fn inputs(&self) -> InputSpec {
                match self {
                    $($registry::$variant(config) => config.inputs(),)+
                }
            }

            fn validate(&self) -> Result<(), LossError> {
                match self {
                    $($registry::$variant(config) => config.validate(),)+
                }
            }

            fn compute<B: Backend>(
                &self,
                input: &LossInput<B>,
            ) -> Result<Tensor<B, 1>, LossError> {
                match self {
                    $($registry::$variant(config) => config.compute(input),)+
                }
            }
        }
    };
}

loss_registry! {
    /// A loss and its parameters, as written in a run config:
    ///
    /// ```toml
    /// [loss]
    /// loss = "lambda_loss"
    /// weighting = "ndcg_loss2pp"
    /// k = 10
    /// ```
    ///
    /// The `loss` key picks the variant; the other keys are that loss's fields (all optional,
    /// with the defaults documented on each config struct). Unknown keys are rejected.
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
        /// [`crate::colbert_contrastive`]: PyLate's in-batch contrastive loss for ColBERT.
        ColbertContrastive(ColbertContrastiveConfig),
        /// [`crate::colbert_distillation`]: PyLate's KL distillation for ColBERT.
        ColbertDistillation(ColbertDistillationConfig),
    }
}

impl LossConfig {
    /// Whether the loss scores a ColBERT's MaxSim (PyLate's losses): the in-batch matrix
    /// `[q, q·N]` of [`crate::colbert_contrastive`] has another shape than a group's scores,
    /// so trainers route these to late-interaction models only.
    pub fn is_late_interaction(&self) -> bool {
        matches!(
            self,
            LossConfig::ColbertContrastive(_) | LossConfig::ColbertDistillation(_)
        )
    }

    /// Validates the parameters and returns the loss to compute.
    pub fn build(&self) -> Result<Loss, LossError> {
        self.validate()?;
        Ok(Loss {
            config: self.clone(),
        })
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
        self.config.compute(input)
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
