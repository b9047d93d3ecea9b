//! `rankforge rerank`: rerank a first-stage TREC run with a cross-encoder or a ColBERT (the
//! directory says which; a ColBERT encodes each candidate document once per run).

use std::path::PathBuf;

use anyhow::{Context, Result};
use burn::tensor::backend::Backend;
use clap::Args;
use indicatif::ProgressBar;
use rankforge_data::{Corpus, Queries, Run};
use rankforge_model::run_options::progress_bar;
use rankforge_model::t5::{duo_rerank_run, DuoAggregation, GenerativeReranker, T5Config};
use rankforge_model::{Activation, RerankCandidates, RunOptions};

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
    /// duoT5 checkpoint (a T5ForConditionalGeneration directory): after the first reranker,
    /// rescore each query's top `--duo-top-k` by every ordered pair of documents
    /// (`Query: {q} Document0: {d0} Document1: {d1} Relevant:`); the documents below follow
    /// in the first reranker's order.
    #[arg(long)]
    pub duo_model: Option<PathBuf>,
    /// duoT5: documents per query rescored pairwise (k·(k−1) prompts each).
    #[arg(long, default_value_t = 50, requires = "duo_model")]
    pub duo_top_k: usize,
    /// duoT5: how a document's pairwise probabilities add up: sym_sum (pygaggle's), sum,
    /// log_sum or sym_log_sum.
    #[arg(long, default_value = "sym_sum", requires = "duo_model")]
    pub duo_aggregate: DuoAggregation,
    /// Rerank shard I of N only (0-based, e.g. `$SLURM_ARRAY_TASK_ID/8`): the queries of
    /// `--run`, in query-id order, are cut into N contiguous ranges and this job reranks range
    /// I; `rankforge merge` of the N outputs is byte-identical to the unsplit run.
    #[arg(long, env = "RANKFORGE_SHARD", value_name = "I/N", value_parser = crate::shard::parse)]
    pub shard: Option<crate::shard::Shard>,
}

pub fn run(args: RerankArgs) -> Result<()> {
    super::common::check_output(&args.output)?;
    crate::on_device!(args.model.device, rerank(&args))
}

/// `shard`'s part of the run's queries (in query-id order, as the run holds them).
fn shard_run(run: Run, shard: Option<crate::shard::Shard>) -> Run {
    let Some(shard) = shard else { return run };
    let ids: Vec<&str> = run.query_ids().collect();
    let mut part = Run::new();
    for &query_id in crate::shard::select(Some(shard), &ids, "queries") {
        part.set(query_id, run.get(query_id).unwrap_or_default().to_vec());
    }
    part
}

/// `score` called on each query of `run` alone (a one-query run), the results in one run.
/// Batches then never mix queries, so a query's scores depend on its own candidates only, not
/// on the other queries of the run: they are the same in any `--shard`, and merged shards are
/// byte-identical to the unsplit run.
fn per_query(
    run: &Run,
    progress: bool,
    message: &'static str,
    mut score: impl FnMut(&Run) -> Result<Run>,
) -> Result<Run> {
    let bar =
        progress_bar(run.num_queries(), progress, message).unwrap_or_else(ProgressBar::hidden);
    let mut out = Run::new();
    for (query_id, docs) in run.iter() {
        let mut one = Run::new();
        one.set(query_id, docs.to_vec());
        for (id, scored) in score(&one)?.iter() {
            out.set(id, scored.to_vec());
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(out)
}

fn rerank<B: Backend>(device: &B::Device, args: &RerankArgs) -> Result<()> {
    let corpus = Corpus::read_beir(&args.corpus)?;
    let queries = Queries::read_beir(&args.queries)?;
    let run = shard_run(Run::read(&args.run)?, args.shard);
    if run.is_empty() {
        // An empty shard (more shards than queries): nothing to rerank, no model to load.
        run.write(&args.output, &args.tag)?;
        eprintln!(
            "no queries in this shard → {} (empty)",
            args.output.display()
        );
        return Ok(());
    }
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
    // The bars are per query here (see `per_query`), not per forward pass.
    let mut model_args = args.model.clone();
    model_args.quiet = true;
    let scorer = load_reranker::<B>(
        device,
        &model_args,
        &args.long_doc,
        &args.generative,
        args.raw,
    )?;
    let started = std::time::Instant::now();
    let mut reranked = if let rankforge_model::Reranker::ColBert(_) = &scorer {
        // A ColBERT scores the whole run at once, each candidate document encoded once; its
        // documents share batches across queries, so with --shard its scores may differ from
        // the unsplit run's in the last bits.
        candidates.score(&scorer).map_err(anyhow::Error::from)
    } else {
        drop(candidates);
        per_query(&run, !args.model.quiet, "reranking", |one| {
            Ok(RerankCandidates::gather(&corpus, &queries, one, args.top_k)?.score(&scorer)?)
        })
    }
    .with_context(|| format!("reranking {}", args.run.display()))?;
    if let Some(duo_dir) = &args.duo_model {
        if args.duo_top_k < 2 {
            anyhow::bail!(
                "--duo-top-k {}: pairs need at least 2 documents",
                args.duo_top_k
            );
        }
        if !T5Config::is_conditional_generation_dir(duo_dir) {
            anyhow::bail!(
                "{}: --duo-model takes a T5ForConditionalGeneration directory (duoT5)",
                duo_dir.display()
            );
        }
        let run_options = RunOptions {
            batching: args.model.batching(),
            progress: false,
        };
        let (duo, report) = GenerativeReranker::<B>::load(
            duo_dir,
            None,
            None,
            Activation::Identity,
            run_options,
            args.model.precision,
            device,
        )
        .with_context(|| format!("loading duoT5 {}", duo_dir.display()))?;
        report.warn();
        let duo_started = std::time::Instant::now();
        reranked = per_query(&reranked, !args.model.quiet, "duoT5", |one| {
            Ok(duo_rerank_run(
                &duo,
                &corpus,
                &queries,
                one,
                args.duo_top_k,
                args.duo_aggregate,
            )?)
        })
        .with_context(|| format!("duoT5 pass with {}", duo_dir.display()))?;
        let k = args.duo_top_k;
        eprintln!(
            "duoT5 ({}): top {k} of each query, up to {} ordered pairs each, in {:.1}s",
            args.duo_aggregate.name(),
            k * (k - 1),
            duo_started.elapsed().as_secs_f64()
        );
    }
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
