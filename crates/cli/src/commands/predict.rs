//! `rankforge predict`: score (query, document) pairs with a cross-encoder.

use std::path::PathBuf;

use anyhow::{Context, Result};
use burn::tensor::backend::Backend;
use clap::Args;
use rankforge_model::{Activation, CrossEncoder};
use serde_json::json;

use super::common::ModelArgs;
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
    /// Write raw logits instead of sigmoid probabilities.
    #[arg(long)]
    pub raw: bool,
    #[command(flatten)]
    pub long_doc: LongDocArgs,
}

pub fn run(args: PredictArgs) -> Result<()> {
    super::common::check_output(&args.output)?;
    crate::on_device!(args.model.device, predict(&args))
}

fn predict<B: Backend>(device: &B::Device, args: &PredictArgs) -> Result<()> {
    let rows = rankforge_data::read_string_fields(&args.input, &["query", "document"])?;
    let scorer = load_cross_encoder::<B>(device, &args.model, &args.long_doc, args.raw)?;
    let pairs: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str()))
        .collect();
    let scores = scorer.score(&pairs)?;
    jsonl::write_lines(&args.output, scores.iter().map(|s| json!({ "score": s })))?;
    eprintln!("scored {} pairs → {}", scores.len(), args.output.display());
    Ok(())
}

/// Loads a cross-encoder with the CLI's settings (shared by predict, rerank and bench).
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
