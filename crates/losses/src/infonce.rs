//! InfoNCE / multiple-negatives ranking loss with in-batch negatives, for bi-encoders.
//!
//! **Formula.** With similarity `sim` (cosine by default) and scale `τ⁻¹` (`scale = 1 /
//! temperature`), every query `q_i` is classified against all candidate documents of the batch
//! — every positive `p_j` and every hard negative `h_k` (of any query):
//! `ℓ_i = −log [ exp(sim(q_i, p_i)/τ) / (Σ_j exp(sim(q_i, p_j)/τ) + Σ_k exp(sim(q_i, h_k)/τ)) ]`.
//! With `symmetric = true` the loss is averaged with the document-to-query direction,
//! `−log [ exp(sim(q_i, p_i)/τ) / Σ_j exp(sim(q_j, p_i)/τ) ]` (hard negatives are not
//! anchors). Log-sum-exps are max-shifted; the loss is unchanged when all similarities shift
//! by a constant.
//!
//! **Similarity.** `cosine` (default): rows are L2-normalised (`x / max(‖x‖, 1e-12)`), so
//! similarities lie in `[−1, 1]` and the scale sets the softmax sharpness (sentence-transformers
//! uses scale 20; FlagEmbedding temperature 0.02, i.e. scale 50). `dot`: raw inner products,
//! for models trained with unnormalised embeddings; use a small scale (e.g. 1).
//!
//! **Inputs.** `embeddings`: queries `[n, d]`, positives `[n, d]` (row `i` is query `i`'s
//! positive), optional hard negatives `[k, d]` (give `[n, m, d]` through
//! [`crate::LossInput::with_negatives_per_query`]). Queries must have distinct positives:
//! a duplicate positive in the batch is counted as a negative.
//!
//! **Data shape.** (query, positive) pairs, optionally with mined hard negatives; larger
//! batches give more negatives.
//!
//! **Reduction.** Mean over queries (the groups). Equals sentence-transformers'
//! `MultipleNegativesRankingLoss` (and `MultipleNegativesSymmetricRankingLoss` when symmetric).
//!
//! **Related.** [`crate::distill_kl`] distils a teacher's scores over the same candidates;
//! for cross-encoders, [`crate::listnet`] on query + positive + negatives lists plays this
//! role.
//!
//! **Reference.** van den Oord et al., "Representation Learning with Contrastive Predictive
//! Coding" (2018), arXiv:1807.03748; Henderson et al., "Efficient Natural Language Response
//! Suggestion for Smart Reply" (2017), arXiv:1705.00652; Karpukhin et al., "Dense Passage
//! Retrieval" (2020).

use burn::tensor::{backend::Backend, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::LossError;
use crate::groups::{check_same_shape, to_f32};
use crate::input::{InputKind, InputSpec, LossInput};
use crate::numerics::logsumexp;
use crate::ranking_loss::RankingLoss;
use crate::validate::{check_positive, invalid};

/// Name in configs: `loss = "infonce"`.
pub const NAME: &str = "infonce";

/// Scale used when neither `scale` nor `temperature` is set (sentence-transformers' default).
pub const DEFAULT_SCALE: f32 = 20.0;

/// Smallest norm a vector is divided by when normalising (as PyTorch's `F.normalize`).
const NORM_EPSILON: f32 = 1e-12;

/// How query and document embeddings are compared (shared with dense retrieval).
pub use rankforge_kernels::Similarity;

/// In-batch contrastive loss (InfoNCE / multiple negatives ranking).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InfoNceConfig {
    /// Similarity function. Default: `"cosine"`.
    pub similarity: Similarity,
    /// Multiplier of the similarities (`1 / temperature`). Default: 20 when `temperature` is
    /// not set either.
    pub scale: Option<f32>,
    /// Temperature dividing the similarities; the alternative to `scale` (set one, not both).
    /// Default: none.
    pub temperature: Option<f32>,
    /// Also classify each positive against all queries and average both directions.
    /// Default: `false`.
    pub symmetric: bool,
}

impl Default for InfoNceConfig {
    fn default() -> Self {
        Self {
            similarity: Similarity::Cosine,
            scale: None,
            temperature: None,
            symmetric: false,
        }
    }
}

impl RankingLoss for InfoNceConfig {
    const NAME: &'static str = NAME;

    /// Rejects setting both `scale` and `temperature`, and non-positive values.
    fn validate(&self) -> Result<(), LossError> {
        if self.scale.is_some() && self.temperature.is_some() {
            return Err(invalid(
                NAME,
                "temperature",
                "set either `scale` or `temperature` (scale = 1 / temperature)",
            ));
        }
        if let Some(scale) = self.scale {
            check_positive(NAME, "scale", scale)?;
        }
        if let Some(temperature) = self.temperature {
            check_positive(NAME, "temperature", temperature)?;
        }
        Ok(())
    }

    /// Query and positive embeddings, optional hard negatives.
    fn inputs(&self) -> InputSpec {
        InputSpec::new(
            &[InputKind::QueryEmbeddings, InputKind::PositiveEmbeddings],
            &[InputKind::NegativeEmbeddings],
        )
    }

    fn evaluate<B: Backend>(&self, input: &LossInput<B>) -> Result<Tensor<B, 1>, LossError> {
        let embeddings = input.embeddings.as_ref().ok_or(LossError::MissingInput {
            loss: NAME,
            input: InputKind::QueryEmbeddings,
        })?;
        let [query_count, width] = embeddings.queries.dims();
        if query_count == 0 {
            return Err(LossError::ShapeMismatch {
                loss: NAME,
                input: InputKind::QueryEmbeddings,
                actual: vec![query_count, width],
                expected: "at least one query".into(),
            });
        }
        let query_dims = [query_count, width];
        check_same_shape(
            NAME,
            InputKind::PositiveEmbeddings,
            &embeddings.positives.dims(),
            &query_dims,
        )?;
        if let Some(negatives) = &embeddings.negatives {
            let [_, negative_width] = negatives.dims();
            if negative_width != width {
                return Err(LossError::ShapeMismatch {
                    loss: NAME,
                    input: InputKind::NegativeEmbeddings,
                    actual: negatives.dims().to_vec(),
                    expected: format!("[k, {width}] like the queries"),
                });
            }
        }

        let queries = self.prepare(embeddings.queries.clone());
        let positives = self.prepare(embeddings.positives.clone());
        let scale = self.effective_scale();
        let positive_logit = (queries.clone() * positives.clone())
            .sum_dim(1)
            .mul_scalar(scale);

        let candidates = match &embeddings.negatives {
            Some(negatives) => {
                Tensor::cat(vec![positives.clone(), self.prepare(negatives.clone())], 0)
            }
            None => positives.clone(),
        };
        let query_logits = queries
            .clone()
            .matmul(candidates.transpose())
            .mul_scalar(scale);
        let mut per_query = logsumexp(query_logits, 1) - positive_logit.clone();
        if self.symmetric {
            let document_logits = positives.matmul(queries.transpose()).mul_scalar(scale);
            let backward = logsumexp(document_logits, 1) - positive_logit;
            per_query = (per_query + backward).div_scalar(2.0);
        }
        Ok(per_query.mean())
    }
}

impl InfoNceConfig {
    /// The multiplier applied to similarities.
    pub fn effective_scale(&self) -> f32 {
        match (self.scale, self.temperature) {
            (Some(scale), _) => scale,
            (None, Some(temperature)) => 1.0 / temperature,
            (None, None) => DEFAULT_SCALE,
        }
    }

    /// Casts to f32 and, for cosine similarity, L2-normalises the rows.
    fn prepare<B: Backend>(&self, embeddings: Tensor<B, 2>) -> Tensor<B, 2> {
        let embeddings = to_f32(embeddings);
        match self.similarity {
            Similarity::Dot => embeddings,
            Similarity::Cosine => {
                let norm = embeddings
                    .clone()
                    .square()
                    .sum_dim(1)
                    .sqrt()
                    .clamp_min(NORM_EPSILON);
                embeddings / norm
            }
        }
    }
}
