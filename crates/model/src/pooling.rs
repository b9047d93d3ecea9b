//! The bi-encoder: text → encoder (BERT, XLM-RoBERTa, ELECTRA) → pooling (mean / cls / max) →
//! optional L2 normalisation, as sentence-transformers' `Transformer → Pooling → Normalize`
//! pipeline.

use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Tensor};
use serde::{Deserialize, Serialize};

use crate::bert::{cls_vectors, BertInput, BertModel};

/// How token vectors become one sentence vector (`1_Pooling/config.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// Mean of the non-padding token vectors (sentence-transformers' `pooling_mode_mean_tokens`).
    #[default]
    Mean,
    /// The `[CLS]` vector.
    Cls,
    /// Element-wise maximum over non-padding tokens.
    Max,
}

impl std::str::FromStr for Pooling {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "mean" => Ok(Pooling::Mean),
            "cls" => Ok(Pooling::Cls),
            "max" => Ok(Pooling::Max),
            other => Err(format!("unknown pooling `{other}` (mean, cls, max)")),
        }
    }
}

impl Pooling {
    pub fn as_str(&self) -> &'static str {
        match self {
            Pooling::Mean => "mean",
            Pooling::Cls => "cls",
            Pooling::Max => "max",
        }
    }

    /// `hidden [batch, seq, dim]`, `padding_mask [batch, seq]` (true = padding) → `[batch, dim]`.
    pub fn apply<B: Backend>(
        &self,
        hidden: Tensor<B, 3>,
        padding_mask: Tensor<B, 2, Bool>,
    ) -> Tensor<B, 2> {
        let [batch, seq, dim] = hidden.dims();
        match self {
            Pooling::Cls => cls_vectors(hidden),
            Pooling::Mean => {
                let keep = padding_mask.bool_not().float().reshape([batch, seq, 1]);
                let summed = (hidden * keep.clone()).sum_dim(1).reshape([batch, dim]);
                let counts = keep.sum_dim(1).reshape([batch, 1]).clamp_min(1e-9);
                summed / counts
            }
            Pooling::Max => {
                let mask = padding_mask
                    .reshape([batch, seq, 1])
                    .expand([batch, seq, dim]);
                hidden
                    .mask_fill(mask, -1e9)
                    .max_dim(1)
                    .reshape([batch, dim])
            }
        }
    }
}

/// Row-wise L2 normalisation (sentence-transformers' `Normalize`: `x / max(‖x‖, 1e-12)`).
pub fn l2_normalize<B: Backend>(x: Tensor<B, 2>) -> Tensor<B, 2> {
    let norms = x.clone().powi_scalar(2).sum_dim(1).sqrt().clamp_min(1e-12);
    x / norms
}

/// Encoder plus the sentence-transformers settings that turn its output into embeddings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingHead {
    pub pooling: Pooling,
    pub normalize: bool,
}

impl EmbeddingHead {
    /// Sentence embeddings `[batch, dim]` from the encoder.
    pub fn embed<B: Backend>(&self, bert: &BertModel<B>, input: BertInput<B>) -> Tensor<B, 2> {
        let mask = input.padding_mask.clone();
        let pooled = self.pooling.apply(bert.forward(input), mask);
        if self.normalize {
            l2_normalize(pooled)
        } else {
            pooled
        }
    }
}
