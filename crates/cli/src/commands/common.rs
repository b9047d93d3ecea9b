//! Flags shared by the commands that run a model.

use std::path::PathBuf;

use clap::Args;
use rankforge_model::{BatchingConfig, LoadReport, Precision, RunOptions};

use crate::device::DeviceKind;

#[derive(Debug, Clone, Args)]
pub struct ModelArgs {
    /// Hugging Face model directory (config.json, model.safetensors, tokenizer.json).
    #[arg(long, env = "RANKFORGE_MODEL")]
    pub model: PathBuf,
    /// Tokens per sequence at most [default: the model's max positions capped at 512 for
    /// cross-encoders; `max_seq_length` of sentence-transformers models for embeddings].
    #[arg(long)]
    pub max_length: Option<usize>,
    /// Sequences per forward pass at most.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Padded tokens (sequences × longest) per forward pass at most.
    #[arg(long, default_value_t = 16384)]
    pub max_batch_tokens: usize,
    /// Where to run.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
    /// Float type of the forward pass: f32, or bf16 / f16 (weights cast once at load; for
    /// GPUs, slower than f32 on the CPU backend).
    #[arg(long, default_value = "f32", value_parser = parse_precision)]
    pub precision: Precision,
    /// Seed of the classification head made for a checkpoint that has none.
    #[arg(long, default_value_t = 42)]
    pub head_seed: u64,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

impl ModelArgs {
    pub fn run_options(&self) -> RunOptions {
        RunOptions {
            batching: BatchingConfig {
                max_batch_size: self.batch_size,
                max_batch_tokens: self.max_batch_tokens,
            },
            progress: !self.quiet,
        }
    }
}

/// `f32` | `bf16` | `f16`.
pub fn parse_precision(value: &str) -> Result<Precision, String> {
    serde_json::from_value(serde_json::Value::String(value.to_string()))
        .map_err(|_| format!("`{value}`: expected f32, bf16 or f16"))
}

/// Tells the user what loading had to make up or leave out.
pub fn warn_about(report: &LoadReport, args: &ModelArgs) {
    if report.new_head {
        eprintln!(
            "warning: {} has no classification head; a new one was initialised (seed {}). \
             Its scores mean nothing until the model is fine-tuned.",
            args.model.display(),
            args.head_seed
        );
    }
    if report.new_pooler {
        eprintln!(
            "warning: {} has no pooler; a new one was initialised.",
            args.model.display()
        );
    }
    if !report.unused.is_empty() {
        eprintln!(
            "note: {} tensors in the checkpoint are not used: {}",
            report.unused.len(),
            report.unused.join(", ")
        );
    }
}
