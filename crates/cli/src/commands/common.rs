//! Flags shared by the commands that run a model.

use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;
use clap::Args;
use rankforge_model::{
    BatchingConfig, BiEncoder, BiEncoderBuilder, CrossEncoder, CrossEncoderBuilder, Precision,
    DEFAULT_HEAD_SEED,
};

use crate::device::DeviceKind;

#[derive(Debug, Clone, Args)]
pub struct ModelArgs {
    /// Hugging Face model directory (config.json, model.safetensors, tokenizer.json).
    #[arg(long, env = "RANKFORGE_MODEL")]
    pub model: PathBuf,
    /// Tokens per sequence at most [default: the length the model was saved with
    /// (cross-encoders: `tokenizer_config.json` `model_max_length`; bi-encoders:
    /// `sentence_bert_config.json` `max_seq_length`), capped by its position table; with
    /// none saved, the position table capped at 512]. Printed at load.
    #[arg(long)]
    pub max_length: Option<usize>,
    /// Sequences per forward pass at most.
    #[arg(long, default_value_t = BatchingConfig::DEFAULT_MAX_BATCH_SIZE)]
    pub batch_size: usize,
    /// Padded tokens (sequences × longest) per forward pass at most.
    #[arg(long, default_value_t = BatchingConfig::DEFAULT_MAX_BATCH_TOKENS)]
    pub max_batch_tokens: usize,
    /// Where to run.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
    /// Precision of the forward pass: f32; bf16 / f16 (weights cast once at load; on the CPU
    /// backend bf16 runs the Linear layers with AVX512_BF16 products where the CPU has them, f16
    /// is for GPUs); int8 (CPU: Linear layers with int8 weights and dynamically quantized
    /// activations; f32 on other devices).
    #[arg(long, default_value = "f32", value_parser = parse_precision)]
    pub precision: Precision,
    /// Seed of the classification head made for a checkpoint that has none.
    #[arg(long, default_value_t = DEFAULT_HEAD_SEED)]
    pub head_seed: u64,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

impl ModelArgs {
    pub fn batching(&self) -> BatchingConfig {
        BatchingConfig {
            max_batch_size: self.batch_size,
            max_batch_tokens: self.max_batch_tokens,
        }
    }

    /// The model crate's cross-encoder builder with these flags applied.
    pub fn cross_encoder<B: Backend>(&self) -> CrossEncoderBuilder<B> {
        CrossEncoder::<B>::builder(&self.model)
            .max_length(self.max_length)
            .precision(self.precision)
            .head_seed(self.head_seed)
            .batching(self.batching())
            .progress(!self.quiet)
    }

    /// The model crate's bi-encoder builder with these flags applied.
    pub fn bi_encoder<B: Backend>(&self) -> BiEncoderBuilder<B> {
        BiEncoder::<B>::builder(&self.model)
            .max_length(self.max_length)
            .precision(self.precision)
            .batching(self.batching())
            .progress(!self.quiet)
    }
}

/// `f32` | `bf16` | `f16` | `int8`.
pub fn parse_precision(value: &str) -> Result<Precision, String> {
    serde_json::from_value(serde_json::Value::String(value.to_string()))
        .map_err(|_| format!("`{value}`: expected f32, bf16, f16 or int8"))
}

/// Fails now, before any input is read or model loaded, if the command could not write
/// `output` when its work is done (a missing parent is created; a directory, a read-only file
/// or an unwritable directory is an error naming the path).
pub fn check_output(output: &Path) -> anyhow::Result<()> {
    rankforge_data::check_writable(output)
        .map_err(|e| anyhow::anyhow!("{}: cannot write the output here: {e}", output.display()))
}
