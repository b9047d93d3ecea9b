//! `rankforge embed`: embed texts with a bi-encoder.

use std::path::PathBuf;

use anyhow::{Context, Result};
use burn::tensor::backend::Backend;
use clap::Args;
use serde_json::json;

use super::common::ModelArgs;
use crate::jsonl;

#[derive(Debug, Args)]
pub struct EmbedArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Input jsonl: one `{"text": "..."}` per line.
    #[arg(long)]
    pub input: PathBuf,
    /// Output jsonl: one `{"embedding": [...]}` per input line, same order, with the model's
    /// own pooling, normalisation and max_seq_length.
    #[arg(long)]
    pub output: PathBuf,
}

pub fn run(args: EmbedArgs) -> Result<()> {
    super::common::check_output(&args.output)?;
    crate::on_device!(args.model.device, embed(&args))
}

fn embed<B: Backend>(device: &B::Device, args: &EmbedArgs) -> Result<()> {
    let rows = rankforge_data::read_string_fields(&args.input, &["text"])?;
    let (encoder, report) = args
        .model
        .bi_encoder::<B>()
        .load(device)
        .with_context(|| format!("loading bi-encoder {}", args.model.model.display()))?;
    report.warn();
    let texts: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    let embeddings = encoder.embed(&texts)?;
    jsonl::write_lines(
        &args.output,
        embeddings.iter().map(|e| json!({ "embedding": e })),
    )?;
    eprintln!(
        "embedded {} texts → {}",
        embeddings.len(),
        args.output.display()
    );
    Ok(())
}
