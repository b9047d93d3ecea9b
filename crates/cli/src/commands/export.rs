//! `rankforge export-classifier`: a decoder-only yes/no reranker (Qwen3, Gemma) written as a
//! one-logit `*ForSequenceClassification` directory (`score.weight = W[true] − W[false]`,
//! vLLM's `from_2_way_softmax`), for engines that only serve sequence classification.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use rankforge_model::qwen3::export_classifier;

use super::common::GenerativeArgs;

#[derive(Debug, Args)]
pub struct ExportClassifierArgs {
    /// A decoder-only reranker: a sentence-transformers `LogitScore` directory or a
    /// `Qwen3ForCausalLM` / `GemmaForCausalLM` directory.
    #[arg(long)]
    pub model: PathBuf,
    /// The directory to write (`config.json`, `model.safetensors`, tokenizer files).
    #[arg(long)]
    pub output: PathBuf,
    /// The score tokens (`--true-token`, `--false-token`; the prompt flags do not apply: a
    /// classifier is given the prompt by its caller).
    #[command(flatten)]
    pub generative: GenerativeArgs,
}

pub fn run(args: ExportClassifierArgs) -> Result<()> {
    if args.generative.prompt_template.is_some() || args.generative.instruction.is_some() {
        bail!(
            "export-classifier: --prompt-template / --instruction are not part of a classifier \
             (its caller builds the prompt); only --true-token / --false-token apply"
        );
    }
    if args.output.join("model.safetensors").exists() {
        bail!(
            "{}: already holds a model.safetensors; choose a new directory",
            args.output.display()
        );
    }
    let (_, causal_lm) = args.generative.split(&args.model)?;
    let export = export_classifier(&args.model, causal_lm.as_ref(), &args.output)
        .with_context(|| format!("exporting {}", args.model.display()))?;
    let false_part = match export.false_token_id {
        Some(id) => format!(" − W[{id}]"),
        None => String::new(),
    };
    eprintln!(
        "wrote {} ({}: score.weight = W[{}]{false_part} of {}, body weights unchanged); its \
         logit at the last token is the reranker's raw score",
        export.output.display(),
        export.architecture,
        export.true_token_id,
        export.head
    );
    Ok(())
}
