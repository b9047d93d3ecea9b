//! `rankforge rerank`: rerank a first-stage TREC run with a cross-encoder.

use std::path::PathBuf;

use anyhow::{Context, Result};
use burn::tensor::backend::Backend;
use clap::Args;
use rankforge_data::{Corpus, Queries, Run};

use super::common::ModelArgs;
use super::long_doc::LongDocArgs;
use super::predict::load_cross_encoder;

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
    /// Write raw logits as scores instead of sigmoid probabilities.
    #[arg(long)]
    pub raw: bool,
    #[command(flatten)]
    pub long_doc: LongDocArgs,
}

pub fn run(args: RerankArgs) -> Result<()> {
    super::common::check_output(&args.output)?;
    crate::on_device!(args.model.device, rerank(&args))
}

fn rerank<B: Backend>(device: &B::Device, args: &RerankArgs) -> Result<()> {
    let corpus = Corpus::read_beir(&args.corpus)?;
    let queries = Queries::read_beir(&args.queries)?;
    let run = Run::read(&args.run)?;
    check_run_ids(args, &corpus, &queries, &run)?;
    let scorer = load_cross_encoder::<B>(device, &args.model, &args.long_doc, args.raw)?;
    let started = std::time::Instant::now();
    let reranked = rankforge_model::rerank_run(&scorer, &corpus, &queries, &run, args.top_k)
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
    Ok(())
}

/// Every query of the run, and every document of its top k, must be in the queries file and
/// the corpus: checked before the model loads, with an error naming the files.
fn check_run_ids(args: &RerankArgs, corpus: &Corpus, queries: &Queries, run: &Run) -> Result<()> {
    for (query_id, docs) in run.iter() {
        if queries.get(query_id).is_none() {
            anyhow::bail!(
                "{}: query `{query_id}` is not in the queries file {}",
                args.run.display(),
                args.queries.display()
            );
        }
        let mut docs = docs.to_vec();
        rankforge_data::sort_trec(&mut docs);
        if let Some(missing) = docs
            .iter()
            .take(args.top_k)
            .find(|d| corpus.get(&d.doc_id).is_none())
        {
            anyhow::bail!(
                "{}: document `{}` (query `{query_id}`) is not in the corpus {}",
                args.run.display(),
                missing.doc_id,
                args.corpus.display()
            );
        }
    }
    Ok(())
}
