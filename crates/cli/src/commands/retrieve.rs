//! `rankforge retrieve` (BM25, dense or ColBERT first stage) and `rankforge fuse`.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use burn::tensor::backend::Backend;
use clap::{Args, ValueEnum};
use rankforge_data::{Corpus, Qrels, Queries, Run};
use rankforge_mining::{fuse, Bm25Config, Bm25Index, FusionConfig, FusionMethod, Normalization};
use rankforge_model::colbert::{ColBert, ColBertIndex};
use rankforge_model::{BatchingConfig, BiEncoder, DenseConfig, DenseIndex, RunOptions, Similarity};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RetrievalMethod {
    /// Lucene BM25 over title + text.
    Bm25,
    /// A bi-encoder (`--model`), exact cosine top-k.
    Dense,
    /// A ColBERT (`--model`, PyLate or Stanford format): exact MaxSim of each query over every
    /// document's token vectors, top-k. The vectors are held in memory: 4 × dim bytes per
    /// scored document token (at dim 128 and 180 tokens, ~92 KB a document at most; the
    /// command prints the total), so this suits collections up to ~100k documents.
    Colbert,
}

#[derive(Debug, Args)]
pub struct RetrieveArgs {
    #[arg(long, value_enum, default_value_t = RetrievalMethod::Bm25)]
    pub method: RetrievalMethod,
    /// BEIR corpus.jsonl.
    #[arg(long)]
    pub corpus: PathBuf,
    /// BEIR queries.jsonl.
    #[arg(long)]
    pub queries: PathBuf,
    /// Only retrieve for the queries judged in these qrels.
    #[arg(long)]
    pub qrels: Option<PathBuf>,
    /// Documents per query.
    #[arg(long, default_value_t = 100)]
    pub top_k: usize,
    /// Output TREC run.
    #[arg(long)]
    pub output: PathBuf,
    /// BM25 k1.
    #[arg(long, default_value_t = 0.9)]
    pub k1: f32,
    /// BM25 b.
    #[arg(long, default_value_t = 0.4)]
    pub b: f32,
    /// Dense: a bi-encoder directory (sentence-transformers or plain HF BERT); colbert: a
    /// ColBERT directory.
    #[arg(long, env = "RANKFORGE_MODEL")]
    pub model: Option<PathBuf>,
    /// Dense, colbert: sequences per forward pass.
    #[arg(long, default_value_t = BatchingConfig::DEFAULT_MAX_BATCH_SIZE)]
    pub batch_size: usize,
    /// Dense: where to cache corpus embeddings (keyed by model and corpus content).
    #[arg(long, default_value = ".cache/embeddings")]
    pub embedding_cache: PathBuf,
    /// Dense: do not read or write the embedding cache.
    #[arg(long)]
    pub no_cache: bool,
    #[arg(long, value_enum, default_value_t = crate::device::DeviceKind::Cpu)]
    pub device: crate::device::DeviceKind,
    /// Dense, colbert: precision of the forward pass (f32, bf16, f16, int8; see `predict --help`).
    #[arg(long, default_value = "f32", value_parser = super::common::parse_precision)]
    pub precision: rankforge_model::Precision,
    /// Run tag written in the output's last column [default: the method].
    #[arg(long)]
    pub tag: Option<String>,
    /// Retrieve for shard I of N only (0-based, e.g. `$SLURM_ARRAY_TASK_ID/8`): the queries
    /// (in file order, after the `--qrels` filter) are cut into N contiguous ranges and this
    /// job takes range I; BM25 statistics and dense embeddings stay the whole corpus's, so
    /// `rankforge merge` of the N outputs is byte-identical to the unsplit run.
    #[arg(long, env = "RANKFORGE_SHARD", value_name = "I/N", value_parser = crate::shard::parse)]
    pub shard: Option<crate::shard::Shard>,
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run_retrieve(args: RetrieveArgs) -> Result<()> {
    super::common::check_output(&args.output)?;
    let corpus = Corpus::read_beir(&args.corpus)?;
    let mut queries = Queries::read_beir(&args.queries)?;
    if let Some(path) = &args.qrels {
        let qrels = Qrels::read(path)?;
        queries = queries.filtered(|q| qrels.get(&q.id).is_some());
        if queries.is_empty() {
            bail!(
                "{}: none of its queries is in {}",
                path.display(),
                args.queries.display()
            );
        }
    }
    if let Some(shard) = args.shard {
        shard.announce("queries", queries.len());
        let range = shard.range(queries.len());
        let mut position = 0;
        queries = queries.filtered(|_| {
            position += 1;
            range.contains(&(position - 1))
        });
    }
    let tag = args
        .tag
        .clone()
        .unwrap_or_else(|| format!("{:?}", args.method).to_lowercase());
    if queries.is_empty() {
        // An empty shard (more shards than queries): nothing to retrieve, and no index or
        // model to build for it.
        Run::new().write(&args.output, &tag)?;
        eprintln!(
            "no queries in this shard → {} (empty)",
            args.output.display()
        );
        return Ok(());
    }
    let started = std::time::Instant::now();
    let run = match args.method {
        RetrievalMethod::Bm25 => {
            let config = Bm25Config {
                k1: args.k1,
                b: args.b,
                ..Default::default()
            };
            let index = Bm25Index::build(corpus.documents(), &config, !args.quiet)?;
            index.search_run(&queries.pairs(), args.top_k, !args.quiet)
        }
        RetrievalMethod::Dense => {
            crate::on_device!(args.device, dense_run(&args, &corpus, &queries))?
        }
        RetrievalMethod::Colbert => {
            crate::on_device!(args.device, colbert_run(&args, &corpus, &queries))?
        }
    };
    run.write(&args.output, &tag)?;
    eprintln!(
        "retrieved top {} for {} queries over {} documents in {:.1}s → {}",
        args.top_k,
        run.num_queries(),
        corpus.len(),
        started.elapsed().as_secs_f64(),
        args.output.display()
    );
    Ok(())
}

fn dense_run<B: Backend>(
    device: &B::Device,
    args: &RetrieveArgs,
    corpus: &Corpus,
    queries: &Queries,
) -> Result<Run> {
    let Some(model) = &args.model else {
        bail!("--method dense needs --model (a bi-encoder directory)")
    };
    let (encoder, report) = BiEncoder::<B>::builder(model)
        .batching(BatchingConfig {
            max_batch_size: args.batch_size,
            ..Default::default()
        })
        .progress(!args.quiet)
        .precision(args.precision)
        .load(device)
        .with_context(|| format!("loading bi-encoder {}", model.display()))?;
    report.warn();
    let config = DenseConfig {
        similarity: Similarity::Cosine,
        // Each precision under its own directory: int8 and CPU bf16 keep f32 tensors, so the
        // cache key (which hashes the weights' dtype) would not tell them from f32.
        cache_dir: (!args.no_cache).then(|| match args.precision {
            rankforge_model::Precision::F32 => args.embedding_cache.clone(),
            other => args.embedding_cache.join(other.name()),
        }),
        ..Default::default()
    };
    let index = DenseIndex::build(&encoder, corpus, config)?;
    let pairs = queries.pairs();
    let texts: Vec<&str> = pairs.iter().map(|(_, text)| *text).collect();
    let lengths: Vec<usize> = encoder
        .tokenizer
        .encode_texts(&texts)?
        .iter()
        .map(|e| e.len())
        .collect();
    let chunk = index_query_chunk();
    search_by_length(&pairs, &lengths, chunk, |group| {
        Ok(index.search(group, args.top_k)?)
    })
}

/// Queries per call of [`DenseIndex::search`]: the index scores this many queries per pass
/// over the corpus (`DenseConfig::query_chunk`).
pub fn index_query_chunk() -> usize {
    DenseConfig::default().query_chunk.max(1)
}

/// `search` called on the queries of one token length at a time (`lengths[i]` is query i's),
/// `chunk` queries a call (a call short of `chunk` filled up with copies of its first query
/// under ids that are dropped), the results in one run. A batch of queries of one length has
/// no padding, and every call has the same shape, so a query's vector and scores depend on it
/// alone, not on the queries that share its batch: they are the same in any `--shard`, and
/// merged shards are byte-identical to the unsplit run.
pub fn search_by_length(
    queries: &[(&str, &str)],
    lengths: &[usize],
    chunk: usize,
    mut search: impl FnMut(&[(&str, &str)]) -> Result<Run>,
) -> Result<Run> {
    let mut groups: std::collections::BTreeMap<usize, Vec<(&str, &str)>> = Default::default();
    for (&query, &length) in queries.iter().zip(lengths) {
        groups.entry(length).or_default().push(query);
    }
    let fillers: Vec<String> = (0..chunk).map(|i| format!("\u{1}filler-{i}")).collect();
    let mut run = Run::new();
    for group in groups.values() {
        for piece in group.chunks(chunk) {
            let text = piece[0].1;
            let mut call = piece.to_vec();
            call.extend(
                fillers[..chunk - piece.len()]
                    .iter()
                    .map(|id| (id.as_str(), text)),
            );
            let found = search(&call)?;
            for &(query_id, _) in piece {
                run.set(query_id, found.get(query_id).unwrap_or_default().to_vec());
            }
        }
    }
    Ok(run)
}

/// Exact ColBERT retrieval: every document encoded once, held in memory, and scored against
/// every query ([`ColBertIndex`]).
fn colbert_run<B: Backend>(
    device: &B::Device,
    args: &RetrieveArgs,
    corpus: &Corpus,
    queries: &Queries,
) -> Result<Run> {
    let Some(model) = &args.model else {
        bail!("--method colbert needs --model (a ColBERT directory)")
    };
    if ColBert::<B>::recognise(model).is_none() {
        bail!(
            "{}: not a ColBERT directory (PyLate's config_sentence_transformers.json with \
             similarity_fn_name MaxSim, or Stanford's artifact.metadata)",
            model.display()
        );
    }
    let run = RunOptions {
        batching: BatchingConfig {
            max_batch_size: args.batch_size,
            ..Default::default()
        },
        progress: !args.quiet,
    };
    let (colbert, report) =
        ColBert::<B>::load_for_inference(model, device, run, args.precision, None)
            .with_context(|| format!("loading ColBERT {}", model.display()))?;
    report.warn();
    let index = ColBertIndex::build(&colbert, corpus)?;
    eprintln!(
        "colbert index: {} documents, {} vectors of dim {}, {:.1} MB ({:.1} KB per document)",
        index.len(),
        index.vectors(),
        colbert.model.dim(),
        index.bytes() as f64 / 1e6,
        index.bytes() as f64 / 1e3 / index.len().max(1) as f64
    );
    Ok(index.search(&colbert, &queries.pairs(), args.top_k)?)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FuseMethod {
    /// Reciprocal rank fusion.
    Rrf,
    /// Weighted sum of normalised scores.
    Weighted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FuseNormalization {
    MinMax,
    ZScore,
    None,
}

#[derive(Debug, Args)]
pub struct FuseArgs {
    /// TREC runs to fuse.
    #[arg(long, num_args = 2.., required = true)]
    pub runs: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = FuseMethod::Rrf)]
    pub method: FuseMethod,
    /// RRF's k.
    #[arg(long, default_value_t = 60.0)]
    pub rrf_k: f64,
    /// Per-run weights (default: all 1).
    #[arg(long, num_args = 1.., value_delimiter = ',')]
    pub weights: Option<Vec<f64>>,
    /// Two runs: weights alpha and 1 − alpha.
    #[arg(long)]
    pub alpha: Option<f64>,
    /// Score normalisation of weighted fusion.
    #[arg(long, value_enum, default_value_t = FuseNormalization::MinMax)]
    pub normalization: FuseNormalization,
    /// Documents per query kept (0 = all).
    #[arg(long, default_value_t = 1000)]
    pub top_k: usize,
    #[arg(long)]
    pub output: PathBuf,
}

pub fn run_fuse(args: FuseArgs) -> Result<()> {
    super::common::check_output(&args.output)?;
    let runs: Vec<Run> = args.runs.iter().map(Run::read).collect::<Result<_, _>>()?;
    let config = FusionConfig {
        method: match args.method {
            FuseMethod::Rrf => FusionMethod::Rrf,
            FuseMethod::Weighted => FusionMethod::Score,
        },
        rrf_k: args.rrf_k,
        normalization: match args.normalization {
            FuseNormalization::MinMax => Normalization::MinMax,
            FuseNormalization::ZScore => Normalization::ZScore,
            FuseNormalization::None => Normalization::None,
        },
        weights: args.weights.clone(),
        alpha: args.alpha,
        top_k: args.top_k,
    };
    let refs: Vec<&Run> = runs.iter().collect();
    let fused = fuse(&refs, &config)?;
    fused.write(&args.output, "fused")?;
    eprintln!(
        "fused {} runs over {} queries → {}",
        runs.len(),
        fused.num_queries(),
        args.output.display()
    );
    Ok(())
}
