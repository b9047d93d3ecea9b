//! A Qwen3 or Gemma `config.json` (transformers' `Qwen3Config`, `GemmaConfig`), with
//! transformers' defaults for the fields a file leaves out, and what marks a directory as a
//! decoder-only (causal LM) model.
//!
//! What Gemma changes in the Qwen3 body: no per-head q/k norms, GeGLU with the tanh GELU,
//! embeddings scaled by `√hidden`, RMSNorm gains stored as `γ − 1` (the norm multiplies by
//! `1 + weight`), `head_dim` 256 unless set.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::error::{io_err, ModelError, Result};

/// The `model_type`s read: Qwen3 and Gemma (v1) bodies.
pub const MODEL_TYPES: [&str; 2] = ["qwen3", "gemma"];

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Qwen3Config {
    #[serde(default)]
    pub architectures: Option<Vec<String>>,
    #[serde(default = "defaults::model_type")]
    pub model_type: String,
    #[serde(default = "defaults::vocab_size")]
    pub vocab_size: usize,
    #[serde(default = "defaults::hidden_size")]
    pub hidden_size: usize,
    #[serde(default = "defaults::intermediate_size")]
    pub intermediate_size: usize,
    #[serde(default = "defaults::num_hidden_layers")]
    pub num_hidden_layers: usize,
    #[serde(default = "defaults::num_attention_heads")]
    pub num_attention_heads: usize,
    /// Grouped-query attention: each key/value head serves `num_attention_heads /
    /// num_key_value_heads` query heads. Default: `num_attention_heads`.
    #[serde(default)]
    pub num_key_value_heads: Option<usize>,
    /// Default: `hidden_size / num_attention_heads` (Qwen3 sets it: 128 with hidden 1024 and
    /// 16 heads in the 0.6B model).
    #[serde(default)]
    pub head_dim: Option<usize>,
    #[serde(default = "defaults::hidden_act")]
    pub hidden_act: String,
    /// Gemma configs of older transformers name the feed-forward's activation here.
    #[serde(default)]
    pub hidden_activation: Option<String>,
    #[serde(default = "defaults::max_position_embeddings")]
    pub max_position_embeddings: usize,
    #[serde(default = "defaults::rms_norm_eps")]
    pub rms_norm_eps: f64,
    /// transformers < 5 writes `rope_theta` at the top level; 5 writes `rope_parameters`.
    #[serde(default)]
    pub rope_theta: Option<f64>,
    #[serde(default)]
    pub rope_parameters: Option<Value>,
    #[serde(default)]
    pub rope_scaling: Option<Value>,
    #[serde(default)]
    pub attention_bias: bool,
    #[serde(default)]
    pub use_sliding_window: bool,
    /// Gemma-based embedders (EmbeddingGemma) attend both ways: refused.
    #[serde(default)]
    pub use_bidirectional_attention: Option<bool>,
    /// Default: false for Qwen3, true for Gemma.
    #[serde(default)]
    pub tie_word_embeddings: Option<bool>,
}

mod defaults {
    pub fn model_type() -> String {
        "qwen3".into()
    }
    pub fn vocab_size() -> usize {
        151936
    }
    pub fn hidden_size() -> usize {
        4096
    }
    pub fn intermediate_size() -> usize {
        22016
    }
    pub fn num_hidden_layers() -> usize {
        32
    }
    pub fn num_attention_heads() -> usize {
        32
    }
    pub fn hidden_act() -> String {
        "silu".into()
    }
    pub fn max_position_embeddings() -> usize {
        32768
    }
    pub fn rms_norm_eps() -> f64 {
        1e-6
    }
}

/// transformers' default θ when a config names none.
const DEFAULT_ROPE_THETA: f64 = 10000.0;

impl Qwen3Config {
    /// Reads and checks `path` (a `config.json`).
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(io_err(path))?;
        let config: Self = serde_json::from_str(&text).map_err(|e| ModelError::Config {
            path: path.to_path_buf(),
            field: "(json)".into(),
            message: e.to_string(),
        })?;
        config.check(path)?;
        Ok(config)
    }

    fn check(&self, path: &Path) -> Result<()> {
        let bad = |field: &str, message: String| ModelError::Config {
            path: path.to_path_buf(),
            field: field.into(),
            message,
        };
        if !MODEL_TYPES.contains(&self.model_type.as_str()) {
            return Err(ModelError::Unsupported {
                path: path.to_path_buf(),
                message: format!(
                    "model_type {:?}: decoder-only rerankers are implemented for {} bodies \
                     (Llama, Gemma 2 and others are not yet)",
                    self.model_type,
                    MODEL_TYPES.join(", ")
                ),
            });
        }
        if self.is_gemma() {
            let act = self
                .hidden_activation
                .as_deref()
                .unwrap_or(&self.hidden_act);
            // transformers reads Gemma's legacy "gelu" as the tanh approximation too.
            if !["gelu", "gelu_pytorch_tanh", "gelu_new"].contains(&act) {
                return Err(bad(
                    "hidden_act",
                    format!("{act:?}: Gemma's GeGLU is implemented with the tanh GELU only"),
                ));
            }
        } else if self.hidden_act != "silu" {
            return Err(bad(
                "hidden_act",
                format!("{:?}: only silu (SwiGLU) is implemented", self.hidden_act),
            ));
        }
        let kv = self.kv_heads();
        if self.num_attention_heads == 0 || kv == 0 || !self.num_attention_heads.is_multiple_of(kv)
        {
            return Err(bad(
                "num_key_value_heads",
                format!(
                    "{kv} key/value heads must divide {} query heads",
                    self.num_attention_heads
                ),
            ));
        }
        if !self.head_dim().is_multiple_of(2) {
            return Err(bad(
                "head_dim",
                format!(
                    "{}: rotary positions need an even head size",
                    self.head_dim()
                ),
            ));
        }
        if self.use_bidirectional_attention == Some(true) {
            return Err(bad(
                "use_bidirectional_attention",
                "a bidirectional (encoder) Gemma is not a causal LM".into(),
            ));
        }
        if self.use_sliding_window {
            return Err(bad(
                "use_sliding_window",
                "sliding-window attention is not implemented".into(),
            ));
        }
        if let Some(kind) = self.rope_type() {
            if kind != "default" {
                return Err(bad(
                    "rope_parameters",
                    format!(
                        "rope_type {kind:?}: only the default rotary positions are implemented"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// A Gemma body (else Qwen3).
    pub fn is_gemma(&self) -> bool {
        self.model_type == "gemma"
    }

    /// Qwen3 normalises each head's queries and keys before the rotation; Gemma does not.
    pub fn qk_norm(&self) -> bool {
        !self.is_gemma()
    }

    /// Gemma multiplies the embeddings by `√hidden` (in f32).
    pub fn embedding_scale(&self) -> Option<f32> {
        self.is_gemma()
            .then(|| (self.hidden_size as f64).sqrt() as f32)
    }

    pub fn tie_word_embeddings(&self) -> bool {
        self.tie_word_embeddings.unwrap_or(self.is_gemma())
    }

    pub fn kv_heads(&self) -> usize {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }

    pub fn head_dim(&self) -> usize {
        self.head_dim.unwrap_or(if self.is_gemma() {
            256
        } else {
            self.hidden_size / self.num_attention_heads.max(1)
        })
    }

    /// `rope_parameters.rope_theta`, else `rope_theta`, else 10000.
    pub fn rope_theta(&self) -> f64 {
        self.rope_parameters
            .as_ref()
            .and_then(|p| p.get("rope_theta"))
            .and_then(Value::as_f64)
            .or(self.rope_theta)
            .unwrap_or(DEFAULT_ROPE_THETA)
    }

    fn rope_type(&self) -> Option<String> {
        [&self.rope_parameters, &self.rope_scaling]
            .into_iter()
            .flatten()
            .find_map(|p| {
                p.get("rope_type")
                    .or_else(|| p.get("type"))
                    .and_then(Value::as_str)
                    .map(String::from)
            })
    }
}

/// The first entry of `config.json`'s `architectures`, if the directory has one.
pub fn architecture(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(crate::hf::CONFIG_FILE)).ok()?;
    let value: Value = serde_json::from_str(&text).ok()?;
    value
        .get("architectures")?
        .as_array()?
        .first()?
        .as_str()
        .map(String::from)
}
