//! Ranking losses for rankforge: pure functions of score tensors (plus labels, a padding mask,
//! teacher scores, or bi-encoder embeddings), each with a small serde config, for any burn
//! backend and with autodiff.
//!
//! | `loss =`          | module               | needs                              | use it for |
//! |-------------------|----------------------|------------------------------------|------------|
//! | `bce`             | [`bce`]              | scores, labels                     | (query, doc) pairs with 0/1 labels; the classic cross-encoder recipe |
//! | `mse`             | [`mse`]              | scores, teacher scores             | pointwise distillation from a teacher's scores |
//! | `margin_ranking`  | [`margin_ranking`]   | scores, labels                     | triplets / pairs; hinge `max(0, m − (s⁺ − s⁻))` |
//! | `ranknet`         | [`ranknet`]          | scores, labels                     | graded lists; logistic loss on all preferred pairs |
//! | `listnet`         | [`listnet`]          | scores, labels or teacher scores   | lists with graded labels, or listwise distillation |
//! | `listmle`         | [`listmle`]          | scores, labels                     | lists with graded labels (full-permutation likelihood) |
//! | `lambda_loss`     | [`lambda_loss`]      | scores, labels                     | lists with graded labels when nDCG@k is the target; usually the strongest listwise choice |
//! | `infonce`         | [`infonce`]          | query, positive (+ negative) embeddings | bi-encoders with in-batch (and hard) negatives |
//! | `margin_mse`      | [`margin_mse`]       | scores, teacher scores, positive first | query + positive + negatives scored by a teacher (scale-free distillation) |
//! | `distill_kl`      | [`distill_kl`]       | scores, teacher scores             | group distillation, FlagEmbedding-style (KL or soft cross-entropy, temperature) |
//!
//! ColBERT (late interaction) has PyLate's two losses, called directly (not yet in the
//! [`LossConfig`] registry): [`colbert_contrastive`] (scores of each query against every
//! document of the batch, in-batch + hard negatives, temperature) and [`colbert_distillation`]
//! (KL towards teacher scores, student scores min-max normalised per query).
//!
//! # Using a loss
//! ```
//! use burn::backend::Flex;
//! use burn::tensor::Tensor;
//! use rankforge_losses::{LossConfig, LossInput};
//!
//! let config: LossConfig = serde_json::from_str(r#"{"loss": "listnet"}"#).unwrap();
//! let loss = config.build().unwrap();
//! let device = Default::default();
//! let scores = Tensor::<Flex, 2>::from_floats([[2.0, 0.5, -1.0]], &device);
//! let labels = Tensor::<Flex, 2>::from_floats([[2.0, 1.0, 0.0]], &device);
//! let value = loss.compute(&LossInput::from_scores(scores).with_labels(labels)).unwrap();
//! assert!(value.into_scalar() > 0.0);
//! ```
//! A trainer reads [`LossConfig`] from its run config, calls [`LossConfig::build`] once, checks
//! its data against [`Loss::inputs`], and calls [`Loss::compute`] per batch.
//!
//! # How the losses are organised
//! Each loss is a module holding its config struct, its formula and its reference. The config
//! implements [`RankingLoss`]: the loss's name, the [`InputSpec`] of what it reads, the check
//! of its parameters, and the formula; [`RankingLoss::compute`] adds the checks every loss
//! shares (valid parameters, required inputs present). [`LossConfig`] is declared by a
//! registry in [`config`]: one variant per loss, from which its name, inputs and computation
//! are dispatched; [`LossConfig::registered`] lists every loss with its defaults. Adding a
//! loss is a new module plus one variant in that registry.
//!
//! # Conventions shared by every loss
//! - **Shapes.** Group losses take scores `[groups, list]`: one row per query, one column per
//!   candidate. Pointwise data is `[n, 1]`. Labels and teacher scores are aligned with the
//!   scores. In-batch losses take embeddings instead.
//! - **Padding.** A valid mask (`true` = real entry; or a float mask, nonzero = real) marks
//!   padded entries. Padded entries never change the loss and get exactly zero gradient, even
//!   if they hold inf or NaN.
//! - **Precision.** Inputs of any float dtype (f16, bf16, f32) are cast to f32 on entry; the
//!   loss is an f32 `[1]` tensor. Softmaxes and log-sum-exps are shifted by their maximum and
//!   softplus is computed in a stable form, so scores of magnitude 1e4 give finite losses and
//!   gradients.
//! - **Reduction.** Mean over groups: each group's loss (for pairwise losses, the mean over its
//!   pairs) is averaged over the groups that have something to score. Groups that are all
//!   padding, or, for pairwise losses, have no pair with different labels, are left out of the
//!   mean. Pointwise losses (`bce`, `mse`) treat every real entry as a group. In-batch losses
//!   average over queries.
//! - **Targets** (labels, teacher scores) never receive gradient.

pub mod bce;
pub mod colbert_contrastive;
pub mod colbert_distillation;
pub mod config;
pub mod distill_kl;
pub mod error;
mod groups;
pub mod infonce;
pub mod input;
pub mod lambda_loss;
pub mod listmle;
pub mod listnet;
pub mod margin_mse;
pub mod margin_ranking;
pub mod mse;
mod numerics;
mod pairs;
pub mod ranking_loss;
pub mod ranknet;
pub mod target;
mod validate;

pub use bce::BceConfig;
pub use colbert_contrastive::ColbertContrastiveConfig;
pub use colbert_distillation::ColbertDistillationConfig;
pub use config::{Loss, LossConfig};
pub use distill_kl::{DistillKlConfig, DistillObjective};
pub use error::LossError;
pub use infonce::{InfoNceConfig, Similarity};
pub use input::{InBatchEmbeddings, InputKind, InputSpec, LossInput};
pub use lambda_loss::{LambdaLossConfig, LambdaWeighting};
pub use listmle::ListMleConfig;
pub use listnet::ListNetConfig;
pub use margin_mse::MarginMseConfig;
pub use margin_ranking::MarginRankingConfig;
pub use mse::MseConfig;
pub use ranking_loss::RankingLoss;
pub use ranknet::RankNetConfig;
pub use target::ScoreTarget;
