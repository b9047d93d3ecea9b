//! `rankforge rerank`: rerank a first-stage TREC run with a cross-encoder or a ColBERT (the
//! directory says which; a ColBERT encodes each candidate document once per run).

use std::path::PathBuf;

use anyhow::{Context, Result};
use burn::tensor::backend::Backend;
use clap::Args;
use rankforge_data::{Corpus, Queries, Run};
use rankforge_model::RerankCandidates;

use super::common::{GenerativeArgs, ModelArgs};
use super::long_doc::LongDocArgs;
use super::predict::load_reranker;

#[derive(Debug, Args)]
pub struct RerankArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// BEIR corpus.jsonl (`_id`, `title`, `text`).
    #[arg(long)]
    pub corpus: PathBuf,
    /// BEIR queries.jsonl (`_id`, `text`).
    #[arg(long)]
    pub queries: PathBuf,
    /// First-stage TREC run (`qid Q0 docid rank score tag`).
    #[arg(long)]
    pub run: PathBuf,
    /// Documents per query to rerank (the run's best by score); the rest are dropped.
    #[arg(long, default_value_t = 100)]
    pub top_k: usize,
    /// Output TREC run.
    #[arg(long)]
    pub output: PathBuf,
    /// Run tag written in the output's last column.
    #[arg(long, default_value = "rankforge")]
    pub tag: String,
    /// Write raw logits as scores instead of sigmoid probabilities (cross-encoders; a ColBERT
    /// writes MaxSim sums either way).
    #[arg(long)]
    pub raw: bool,
    #[command(flatten)]
    pub long_doc: LongDocArgs,
    #[command(flatten)]
    pub generative: GenerativeArgs,
}

pub fn run(args: RerankArgs) -> Result<()> {
    super::common::check_output(&args.output)?;
    crate::on_device!(args.model.device, rerank(&args))
}

fn rerank<B: Backend>(device: &B::Device, args: &RerankArgs) -> Result<()> {
    let corpus = Corpus::read_beir(&args.corpus)?;
    let queries = Queries::read_beir(&args.queries)?;
    let run = Run::read(&args.run)?;
    // Every id is looked up before the model loads, so an unknown one fails at once.
    let candidates =
        RerankCandidates::gather(&corpus, &queries, &run, args.top_k).with_context(|| {
            format!(
                "{} against {} and {}",
                args.run.display(),
                args.queries.display(),
                args.corpus.display()
            )
        })?;
    let scorer = load_reranker::<B>(
        device,
        &args.model,
        &args.long_doc,
        &args.generative,
        args.raw,
    )?;
    let started = std::time::Instant::now();
    let reranked = candidates
        .score(&scorer)
        .with_context(|| format!("reranking {}", args.run.display()))?;
    reranked.write(&args.output, &args.tag)?;
    let pairs: usize = reranked.iter().map(|(_, d)| d.len()).sum();
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "reranked {} queries ({pairs} pairs) in {secs:.1}s ({:.0} pairs/s) → {}",
        reranked.num_queries(),
        pairs as f64 / secs.max(1e-9),
        args.output.display()
    );
    if let rankforge_model::Reranker::ColBert(colbert) = &scorer {
        eprintln!(
            "ColBERT: {} documents encoded for {pairs} pairs (each distinct document once)",
            colbert.documents_encoded()
        );
    }
    Ok(())
}
