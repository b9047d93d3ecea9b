//! `rankforge predict`: score (query, document) pairs with a cross-encoder or a ColBERT.

use std::path::PathBuf;

use anyhow::{Context, Result};
use burn::tensor::backend::Backend;
use clap::Args;
use rankforge_model::{Activation, CrossEncoder, Reranker, RerankerOptions};
use serde_json::json;

use super::common::{GenerativeArgs, ModelArgs};
use super::long_doc::LongDocArgs;
use crate::jsonl;

#[derive(Debug, Args)]
pub struct PredictArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Input jsonl: one `{"query": "...", "document": "..."}` per line.
    #[arg(long)]
    pub input: PathBuf,
    /// Output jsonl: one `{"score": x}` per input line, same order.
    #[arg(long)]
    pub output: PathBuf,
    /// Write raw logits instead of sigmoid probabilities (cross-encoders; a ColBERT's scores
    /// are MaxSim sums either way).
    #[arg(long)]
    pub raw: bool,
    #[command(flatten)]
    pub long_doc: LongDocArgs,
    #[command(flatten)]
    pub generative: GenerativeArgs,
}

pub fn run(args: PredictArgs) -> Result<()> {
    super::common::check_output(&args.output)?;
    crate::on_device!(args.model.device, predict(&args))
}

fn predict<B: Backend>(device: &B::Device, args: &PredictArgs) -> Result<()> {
    let rows = rankforge_data::read_string_fields(&args.input, &["query", "document"])?;
    let scorer = load_reranker::<B>(
        device,
        &args.model,
        &args.long_doc,
        &args.generative,
        args.raw,
    )?;
    let pairs: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str()))
        .collect();
    let scores = scorer.score_pairs(&pairs)?;
    jsonl::write_lines(&args.output, scores.iter().map(|s| json!({ "score": s })))?;
    eprintln!("scored {} pairs → {}", scores.len(), args.output.display());
    Ok(())
}

/// Loads the second-stage model of `--model` with the CLI's settings (predict, rerank): a
/// ColBERT when the directory is marked as one (PyLate's `config_sentence_transformers.json`
/// with `similarity_fn_name: "MaxSim"` or a `pylate` module, Stanford's `artifact.metadata`),
/// a generative reranker for a `T5ForConditionalGeneration` directory, a decoder-only one
/// for a sentence-transformers `LogitScore` or `*ForCausalLM` directory (prompt and score
/// tokens from `generative`), else a cross-encoder, as [`Reranker::load`] decides. For a ColBERT, `--max-length` sets the
/// document length and `--raw` changes nothing (MaxSim sums have no activation).
pub fn load_reranker<B: Backend>(
    device: &B::Device,
    args: &ModelArgs,
    long_doc: &LongDocArgs,
    generative: &GenerativeArgs,
    raw: bool,
) -> Result<Reranker<B>> {
    let (t5, causal_lm) = generative.split(&args.model)?;
    let options = RerankerOptions {
        max_length: args.max_length,
        precision: args.precision,
        batching: args.batching(),
        progress: !args.quiet,
        head_seed: args.head_seed,
        activation: if raw {
            Activation::Identity
        } else {
            Activation::Sigmoid
        },
        long_doc: long_doc.mode()?,
        generative: t5,
    };
    let (scorer, report) = Reranker::<B>::load_with(&args.model, &options, causal_lm, device)
        .with_context(|| format!("loading reranker {}", args.model.display()))?;
    if let Reranker::ColBert(colbert) = &scorer {
        let s = colbert.settings();
        eprintln!(
            "note: {}: ColBERT ({:?} format, dim {}), MaxSim scores; queries {} tokens, \
             documents at most {}",
            args.model.display(),
            colbert.format,
            colbert.model.dim(),
            s.query_length,
            s.document_length
        );
    }
    report.warn();
    Ok(scorer)
}

/// Loads a cross-encoder with the CLI's settings (bench).
pub fn load_cross_encoder<B: Backend>(
    device: &B::Device,
    args: &ModelArgs,
    long_doc: &LongDocArgs,
    raw: bool,
) -> Result<CrossEncoder<B>> {
    let activation = if raw {
        Activation::Identity
    } else {
        Activation::Sigmoid
    };
    let (scorer, report) = args
        .cross_encoder::<B>()
        .activation(activation)
        .long_doc(long_doc.mode()?)
        .load(device)
        .with_context(|| format!("loading cross-encoder {}", args.model.display()))?;
    report.warn();
    Ok(scorer)
}
