//! Flags shared by the commands that run a model.

use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;
use clap::Args;
use rankforge_model::qwen3::CausalLmSettings;
use rankforge_model::t5::{GenerativeSettings, PromptTemplate};
use rankforge_model::GenerativeOptions;
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

/// How a generative reranker (a T5 directory, or a decoder-only Qwen3 / Gemma one) builds its
/// prompt and reads its score; none of them given: as the model says (castorini's monoT5 rule
/// for a T5). A flag applies to whichever generative kind was loaded, and is refused for the
/// other kinds of model.
#[derive(Debug, Clone, Default, Args)]
pub struct GenerativeArgs {
    /// Generative rerankers (T5): `mono` (`Query: {q} Document: {d} Relevant:`, scored by
    /// ▁true / ▁false) or `rank` (RankT5: `Query: {q} Document: {d}`, scored by
    /// `<extra_id_10>` alone).
    #[arg(long, env = "RANKFORGE_GENERATIVE_TEMPLATE", value_parser = parse_template)]
    pub generative_template: Option<PromptTemplate>,
    /// Generative rerankers: the vocabulary piece whose logit scores relevance (e.g. `▁yes`).
    #[arg(long, env = "RANKFORGE_TRUE_TOKEN")]
    pub true_token: Option<String>,
    /// Generative rerankers: the piece whose logit is subtracted (e.g. `▁no`); `none`: score
    /// by the true token alone.
    #[arg(long, env = "RANKFORGE_FALSE_TOKEN")]
    pub false_token: Option<String>,
    /// Decoder-only rerankers (Qwen3, Gemma): the prompt, a Jinja template with
    /// `{{ query }}` and `{{ document }}` (and `{{ instruction }}`), or a file holding one; needed
    /// for a plain `*ForCausalLM` directory without a chat template.
    #[arg(long, env = "RANKFORGE_PROMPT_TEMPLATE", value_name = "FILE|STRING")]
    pub prompt_template: Option<String>,
    /// Decoder-only rerankers: a system message before each pair (sentence-transformers'
    /// `prompt`); default: the saved default prompt; `""`: none.
    #[arg(long, env = "RANKFORGE_INSTRUCTION")]
    pub instruction: Option<String>,
}

/// How the flags are named, for messages.
pub const GENERATIVE_FLAGS: [&str; 5] = [
    "--generative-template",
    "--prompt-template",
    "--true-token",
    "--false-token",
    "--instruction",
];

impl GenerativeArgs {
    /// The flags as the library's [`GenerativeOptions`].
    pub fn options(&self) -> GenerativeOptions {
        GenerativeOptions {
            template: self.generative_template,
            prompt_template: self.prompt_template.clone(),
            true_token: self.true_token.clone(),
            false_token: self.false_token.clone(),
            instruction: self.instruction.clone(),
        }
    }

    /// Whether any flag was given.
    pub fn any(&self) -> bool {
        !self.options().is_empty()
    }

    /// The settings for the model in `model`: a T5's or a decoder-only reranker's, as the
    /// directory holds; fails when a flag does not apply to it (e.g. any of them for a
    /// cross-encoder).
    pub fn split(
        &self,
        model: &Path,
    ) -> anyhow::Result<(Option<GenerativeSettings>, Option<CausalLmSettings>)> {
        Ok(self.options().split(model, GENERATIVE_FLAGS)?)
    }
}

/// `mono` | `rank`.
pub fn parse_template(value: &str) -> Result<PromptTemplate, String> {
    serde_json::from_value(serde_json::Value::String(value.to_string()))
        .map_err(|_| format!("`{value}`: expected mono or rank"))
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
