//! A T5 `config.json` (transformers' `T5Config`; mT5's `MT5Config` has the same fields), with
//! transformers' defaults for the fields a file leaves out.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::error::{ModelError, Result};
use crate::layers::Activation;

/// The `model_type`s read as T5.
pub const MODEL_TYPES: [&str; 2] = ["t5", "mt5"];
/// The `architectures` loaded as a generative reranker.
pub const CONDITIONAL_GENERATION: [&str; 2] =
    ["T5ForConditionalGeneration", "MT5ForConditionalGeneration"];

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct T5Config {
    #[serde(default)]
    pub architectures: Option<Vec<String>>,
    #[serde(default = "defaults::model_type")]
    pub model_type: String,
    #[serde(default = "defaults::vocab_size")]
    pub vocab_size: usize,
    #[serde(default = "defaults::d_model")]
    pub d_model: usize,
    #[serde(default = "defaults::d_kv")]
    pub d_kv: usize,
    #[serde(default = "defaults::d_ff")]
    pub d_ff: usize,
    #[serde(default = "defaults::num_layers")]
    pub num_layers: usize,
    /// Default: `num_layers`.
    #[serde(default)]
    pub num_decoder_layers: Option<usize>,
    #[serde(default = "defaults::num_heads")]
    pub num_heads: usize,
    #[serde(default = "defaults::num_buckets")]
    pub relative_attention_num_buckets: usize,
    #[serde(default = "defaults::max_distance")]
    pub relative_attention_max_distance: usize,
    #[serde(default = "defaults::dropout_rate")]
    pub dropout_rate: f64,
    #[serde(default = "defaults::layer_norm_epsilon")]
    pub layer_norm_epsilon: f64,
    /// `"relu"` (original T5, monoT5), `"gated-gelu"` (v1.1, mT5: gelu_new), or
    /// `[gated-]{relu, gelu, gelu_new}`.
    #[serde(default = "defaults::feed_forward_proj")]
    pub feed_forward_proj: String,
    /// True (the default): the LM head is the shared embedding and the decoder's output is
    /// scaled by `d_model^-0.5` before it. False (v1.1, mT5): `lm_head.weight`, no scaling.
    #[serde(default = "defaults::tie_word_embeddings")]
    pub tie_word_embeddings: bool,
    #[serde(default)]
    pub pad_token_id: Option<u32>,
    /// An id or a list of ids (the first is `</s>`).
    #[serde(default)]
    pub eos_token_id: Option<Value>,
    /// Default: `pad_token_id` (0 in T5).
    #[serde(default)]
    pub decoder_start_token_id: Option<u32>,
}

mod defaults {
    pub fn model_type() -> String {
        "t5".into()
    }
    pub fn vocab_size() -> usize {
        32128
    }
    pub fn d_model() -> usize {
        512
    }
    pub fn d_kv() -> usize {
        64
    }
    pub fn d_ff() -> usize {
        2048
    }
    pub fn num_layers() -> usize {
        6
    }
    pub fn num_heads() -> usize {
        8
    }
    pub fn num_buckets() -> usize {
        32
    }
    pub fn max_distance() -> usize {
        128
    }
    pub fn dropout_rate() -> f64 {
        0.1
    }
    pub fn layer_norm_epsilon() -> f64 {
        1e-6
    }
    pub fn feed_forward_proj() -> String {
        "relu".into()
    }
    pub fn tie_word_embeddings() -> bool {
        true
    }
}

/// The feed-forward of each block: `wo(act(wi(x)))`, or gated `wo(act(wi_0(x)) ⊙ wi_1(x))`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedForwardKind {
    pub gated: bool,
    pub activation: Activation,
}

impl T5Config {
    /// Reads and checks `path`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(crate::error::io_err(path))?;
        let config: Self = serde_json::from_str(&text).map_err(|e| ModelError::Config {
            path: path.to_path_buf(),
            field: "(file)".into(),
            message: e.to_string(),
        })?;
        config.check(path)?;
        Ok(config)
    }

    fn check(&self, path: &Path) -> Result<()> {
        let err = |field: &str, message: String| ModelError::Config {
            path: PathBuf::from(path),
            field: field.into(),
            message,
        };
        if !MODEL_TYPES.contains(&self.model_type.as_str()) {
            return Err(err(
                "model_type",
                format!("{:?} is not T5 (one of {MODEL_TYPES:?})", self.model_type),
            ));
        }
        self.feed_forward_kind()
            .map_err(|message| err("feed_forward_proj", message))?;
        for (field, value) in [
            ("vocab_size", self.vocab_size),
            ("d_model", self.d_model),
            ("d_kv", self.d_kv),
            ("d_ff", self.d_ff),
            ("num_heads", self.num_heads),
            ("num_layers", self.num_layers),
            ("num_decoder_layers", self.decoder_layers()),
        ] {
            if value == 0 {
                return Err(err(field, "must be at least 1".into()));
            }
        }
        if self.relative_attention_num_buckets < 4 {
            return Err(err(
                "relative_attention_num_buckets",
                format!("{} (at least 4)", self.relative_attention_num_buckets),
            ));
        }
        if self.relative_attention_max_distance < self.relative_attention_num_buckets / 2 {
            return Err(err(
                "relative_attention_max_distance",
                format!(
                    "{} is under half the buckets ({})",
                    self.relative_attention_max_distance, self.relative_attention_num_buckets
                ),
            ));
        }
        if self.eos_id().is_none() {
            return Err(err(
                "eos_token_id",
                format!("{:?}: an id or a list of ids", self.eos_token_id),
            ));
        }
        Ok(())
    }

    /// `feed_forward_proj` as transformers reads it: `[gated-]ACT`, `"gated-gelu"` meaning
    /// `gelu_new` (the tanh approximation).
    pub fn feed_forward_kind(&self) -> std::result::Result<FeedForwardKind, String> {
        let parts: Vec<&str> = self.feed_forward_proj.split('-').collect();
        let (gated, name) = match parts.as_slice() {
            [name] => (false, *name),
            ["gated", name] => (true, *name),
            _ => {
                return Err(format!(
                    "{:?}: expected `ACT` or `gated-ACT`",
                    self.feed_forward_proj
                ))
            }
        };
        let activation = match name {
            "relu" => Activation::Relu,
            "gelu" if gated => Activation::GeluTanh,
            "gelu" => Activation::Gelu,
            "gelu_new" => Activation::GeluTanh,
            other => {
                return Err(format!(
                    "activation {other:?} is not supported (relu, gelu, gelu_new, gated or not)"
                ))
            }
        };
        Ok(FeedForwardKind { gated, activation })
    }

    pub fn decoder_layers(&self) -> usize {
        self.num_decoder_layers.unwrap_or(self.num_layers)
    }

    /// `</s>` (the first id when `eos_token_id` is a list); 1, T5's, when absent.
    pub fn eos_id(&self) -> Option<u32> {
        match &self.eos_token_id {
            None => Some(1),
            Some(Value::Number(n)) => n.as_u64().map(|n| n as u32),
            Some(Value::Array(ids)) => ids.first().and_then(Value::as_u64).map(|n| n as u32),
            Some(_) => None,
        }
    }

    /// The decoder's first input: `decoder_start_token_id`, else `pad_token_id`, else 0.
    pub fn decoder_start_id(&self) -> u32 {
        self.decoder_start_token_id
            .or(self.pad_token_id)
            .unwrap_or(0)
    }

    /// Whether `dir`'s `config.json` is a T5 (or mT5) for conditional generation: its
    /// `model_type` is one of [`MODEL_TYPES`] and its `architectures` (when it names any)
    /// include one of [`CONDITIONAL_GENERATION`]. Unreadable files are not.
    pub fn is_conditional_generation_dir(dir: &Path) -> bool {
        let Ok(text) = std::fs::read_to_string(dir.join(crate::hf::CONFIG_FILE)) else {
            return false;
        };
        let Ok(Value::Object(raw)) = serde_json::from_str::<Value>(&text) else {
            return false;
        };
        let model_type = raw.get("model_type").and_then(Value::as_str);
        let architectures: Vec<&str> = raw
            .get("architectures")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        model_type.is_some_and(|t| MODEL_TYPES.contains(&t))
            && (architectures.is_empty()
                || architectures
                    .iter()
                    .any(|a| CONDITIONAL_GENERATION.contains(a)))
    }
}
