//! `rankforge mine`: hard negatives from BM25, a bi-encoder or both (fused), optionally
//! rescored by a cross-encoder to drop likely false negatives. Settings come from a TOML file
//! (`--config`), flags, or both (flags win).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use burn::tensor::backend::Backend;
use clap::{Args, ValueEnum};
use rankforge_data::{Corpus, Qrels, Queries, Run};
use rankforge_mining::{
    mine_hard_negatives, write_mined, Bm25Config, Bm25Index, CandidateRetriever, FusedRetriever,
    FusionConfig, MinerConfig, MiningData, OutputFormat, Rescorer, Sampling,
};
use rankforge_model::qwen3::{CausalLmFormat, CausalLmReranker};
use rankforge_model::t5::{GenerativeReranker, T5Config};
use rankforge_model::{
    Activation, BatchingConfig, BiEncoder, CrossEncoder, DenseConfig, DenseIndex, Precision,
    RunOptions,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RetrieverKind {
    #[default]
    Bm25,
    Dense,
    /// Reciprocal rank fusion of BM25 and dense.
    Fused,
}

/// The TOML layout of a mining config (`configs/mine-*.toml`). Paths are relative to the
/// working directory.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MineFile {
    pub corpus: Option<PathBuf>,
    pub queries: Option<PathBuf>,
    pub qrels: Option<PathBuf>,
    pub output: Option<PathBuf>,
    /// `bm25` (default), `dense` or `fused`.
    pub retriever: RetrieverKind,
    /// Bi-encoder directory for `dense` / `fused`.
    pub model: Option<PathBuf>,
    /// Cross-encoder or generative reranker (T5, decoder-only) directory: rescore candidates (margins then
    /// apply to its scores) and attach teacher scores.
    pub rescorer: Option<PathBuf>,
    pub bm25: Bm25Config,
    pub fusion: FusionConfig,
    pub miner: MinerConfig,
}

#[derive(Debug, Args)]
pub struct MineArgs {
    /// TOML config (fields: corpus, queries, qrels, output, retriever, model, rescorer,
    /// [bm25], [fusion], [miner]); flags override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[arg(long)]
    pub corpus: Option<PathBuf>,
    #[arg(long)]
    pub queries: Option<PathBuf>,
    /// Positives: the judged documents with grade > 0.
    #[arg(long)]
    pub qrels: Option<PathBuf>,
    /// Output jsonl.
    #[arg(long)]
    pub output: Option<PathBuf>,
    #[arg(long, value_enum)]
    pub retriever: Option<RetrieverKind>,
    /// Bi-encoder for dense / fused retrieval.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Cross-encoder or generative reranker (a T5 directory: monoT5 / RankT5; a decoder-only
    /// Qwen3 / Gemma directory) that rescores candidates (false-negative filtering, teacher
    /// scores).
    #[arg(long)]
    pub rescorer: Option<PathBuf>,
    /// The rescorer's prompt and score tokens, when it is a generative reranker.
    #[command(flatten)]
    pub generative: super::common::GenerativeArgs,
    #[arg(long)]
    pub range_min: Option<usize>,
    #[arg(long)]
    pub range_max: Option<usize>,
    #[arg(long)]
    pub num_negatives: Option<usize>,
    #[arg(long)]
    pub absolute_margin: Option<f64>,
    #[arg(long)]
    pub relative_margin: Option<f64>,
    #[arg(long)]
    pub max_score: Option<f64>,
    #[arg(long)]
    pub min_score: Option<f64>,
    /// `top` or `random`.
    #[arg(long)]
    pub sampling: Option<String>,
    #[arg(long)]
    pub seed: Option<u64>,
    /// triplet, n_tuple, n_tuple_scores, labeled_pair, labeled_list, flag_embedding.
    #[arg(long)]
    pub format: Option<String>,
    #[arg(long, value_enum, default_value_t = crate::device::DeviceKind::Cpu)]
    pub device: crate::device::DeviceKind,
    /// Sequences per forward pass of the bi-encoder and the rescorer (1: every sequence
    /// alone, unpadded, so its scores do not depend on which others share its batch, e.g.
    /// with `--shard`).
    #[arg(long, default_value_t = BatchingConfig::DEFAULT_MAX_BATCH_SIZE)]
    pub batch_size: usize,
    /// Mine shard I of N only (0-based, e.g. `$SLURM_ARRAY_TASK_ID/8`): the judged queries of
    /// the qrels, in query-id order (the order of the output), are cut into N contiguous ranges
    /// and this job mines range I; the retrievers still index the whole corpus, so
    /// `rankforge merge` of the N outputs, in shard order, is byte-identical to the unsplit one.
    #[arg(long, env = "RANKFORGE_SHARD", value_name = "I/N", value_parser = crate::shard::parse)]
    pub shard: Option<crate::shard::Shard>,
    #[arg(long, short)]
    pub quiet: bool,
}

fn parse_enum<T: for<'de> Deserialize<'de>>(flag: &str, value: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(value.to_string()))
        .map_err(|_| anyhow::anyhow!("--{flag}: unknown value `{value}`"))
}

fn settings(args: &MineArgs) -> Result<MineFile> {
    let mut file = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("{}: cannot read", path.display()))?;
            toml::from_str::<MineFile>(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        None => MineFile::default(),
    };
    macro_rules! override_with {
        ($($field:ident).+ = $value:expr) => { if let Some(v) = $value.clone() { file.$($field).+ = v.into(); } };
    }
    override_with!(corpus = args.corpus.clone().map(Some));
    override_with!(queries = args.queries.clone().map(Some));
    override_with!(qrels = args.qrels.clone().map(Some));
    override_with!(output = args.output.clone().map(Some));
    override_with!(retriever = args.retriever);
    override_with!(model = args.model.clone().map(Some));
    override_with!(rescorer = args.rescorer.clone().map(Some));
    override_with!(miner.range_min = args.range_min);
    override_with!(miner.range_max = args.range_max);
    override_with!(miner.num_negatives = args.num_negatives);
    override_with!(miner.absolute_margin = args.absolute_margin.map(Some));
    override_with!(miner.relative_margin = args.relative_margin.map(Some));
    override_with!(miner.max_score = args.max_score.map(Some));
    override_with!(miner.min_score = args.min_score.map(Some));
    override_with!(miner.seed = args.seed);
    if let Some(s) = &args.sampling {
        file.miner.sampling = parse_enum::<Sampling>("sampling", s)?;
    }
    if let Some(f) = &args.format {
        file.miner.output = parse_enum::<OutputFormat>("format", f)?;
    }
    Ok(file)
}

fn required<'a>(value: &'a Option<PathBuf>, name: &str) -> Result<&'a Path> {
    value.as_deref().ok_or_else(|| {
        anyhow::anyhow!("mine: `{name}` is required (flag --{name} or the config's `{name}`)")
    })
}

pub fn run(args: MineArgs) -> Result<()> {
    let settings = settings(&args)?;
    if let Some(output) = &settings.output {
        super::common::check_output(output)?;
    }
    crate::on_device!(
        args.device,
        mine(&settings, &args.generative, &args, args.quiet)
    )
}

/// The judgments of `shard`'s part of the judged queries (in query-id order, the order the
/// miner writes its records in).
fn shard_qrels(qrels: Qrels, shard: Option<crate::shard::Shard>) -> Qrels {
    let Some(shard) = shard else { return qrels };
    let ids: Vec<&str> = qrels.query_ids().collect();
    let mut part = Qrels::new();
    for &query_id in crate::shard::select(Some(shard), &ids, "judged queries") {
        for (doc_id, &grade) in qrels.get(query_id).into_iter().flatten() {
            part.insert(query_id, doc_id.as_str(), grade);
        }
    }
    part
}

/// The most positives (judged relevant, in the corpus) of any judged query with a text: the
/// miner retrieves `range_max` + this many candidates per query.
fn most_positives(corpus: &Corpus, queries: &Queries, qrels: &Qrels) -> usize {
    qrels
        .query_ids()
        .filter(|id| queries.contains(id))
        .map(|id| {
            qrels
                .relevant(id)
                .into_iter()
                .filter(|d| corpus.contains(d))
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// A retriever asked for at least the depth the whole (unsplit) job asks for. The miner asks
/// for `range_max` + the most positives of the queries it mines, so a shard could ask for
/// fewer candidates than the whole job, and a document tied in score at the cut could then be
/// in one list and out of the other; with every shard asking for the whole job's depth, each
/// query's candidates are the same however the job is split.
///
/// With a bi-encoder (`lengths`: each query's token length), the queries of one length are
/// retrieved at a time, in calls of one shape ([`super::retrieve::search_by_length`]): a
/// query's vector, and its candidates, depend on it alone, not on the queries that share its
/// batch or its shard.
struct WholeJobDepth<'a> {
    inner: &'a dyn CandidateRetriever,
    depth: usize,
    lengths: Option<HashMap<String, usize>>,
}

impl CandidateRetriever for WholeJobDepth<'_> {
    fn retrieve(&self, queries: &[(&str, &str)], k: usize) -> rankforge_mining::Result<Run> {
        let k = k.max(self.depth);
        let Some(lengths) = &self.lengths else {
            return self.inner.retrieve(queries, k);
        };
        let lengths: Vec<usize> = queries
            .iter()
            .map(|(id, _)| lengths.get(*id).copied().unwrap_or(0))
            .collect();
        let mut failed = None;
        let run = super::retrieve::search_by_length(
            queries,
            &lengths,
            super::retrieve::index_query_chunk(),
            |group| {
                self.inner.retrieve(group, k).map_err(|e| {
                    let message = anyhow::anyhow!("{e}");
                    failed = Some(e);
                    message
                })
            },
        );
        match (run, failed) {
            (Ok(run), _) => Ok(run),
            (Err(_), Some(e)) => Err(e),
            (Err(e), None) => Err(rankforge_mining::MiningError::Retriever(format!("{e:#}"))),
        }
    }

    fn score_documents(
        &self,
        query: &str,
        doc_ids: &[&str],
    ) -> rankforge_mining::Result<Vec<Option<f64>>> {
        self.inner.score_documents(query, doc_ids)
    }

    fn name(&self) -> &str {
        self.inner.name()
    }
}

/// A rescorer called on one query's pairs at a time (the miner lists each query's pairs
/// together): batches never mix queries, so a query's scores depend on its own pairs only, not
/// on the queries that share its shard. (Two neighbouring queries with the same text are
/// scored together.)
struct PerQueryRescorer<'a> {
    inner: &'a dyn Rescorer,
}

impl Rescorer for PerQueryRescorer<'_> {
    fn score_pairs(&self, pairs: &[(&str, &str)]) -> rankforge_mining::Result<Vec<f64>> {
        let mut scores = Vec::with_capacity(pairs.len());
        for one_query in pairs.chunk_by(|a, b| a.0 == b.0) {
            scores.extend(self.inner.score_pairs(one_query)?);
        }
        Ok(scores)
    }

    fn name(&self) -> &str {
        self.inner.name()
    }
}

fn mine<B: Backend>(
    device: &B::Device,
    settings: &MineFile,
    generative: &super::common::GenerativeArgs,
    args: &MineArgs,
    quiet: bool,
) -> Result<()>
where
    B::Device: Sync,
{
    let shard = args.shard;
    let batching = BatchingConfig {
        max_batch_size: args.batch_size,
        ..Default::default()
    };
    let corpus = Corpus::read_beir(required(&settings.corpus, "corpus")?)?;
    let queries = Queries::read_beir(required(&settings.queries, "queries")?)?;
    let qrels = Qrels::read(required(&settings.qrels, "qrels")?)?;
    let depth = settings.miner.range_max + most_positives(&corpus, &queries, &qrels);
    let qrels = shard_qrels(qrels, shard);
    let output = required(&settings.output, "output")?;
    if qrels.is_empty() {
        // An empty shard (more shards than judged queries): an empty output, and no index or
        // model to build for it.
        rankforge_data::write_jsonl::<serde_json::Value>(output, [])?;
        eprintln!(
            "no judged queries in this shard → {} (empty)",
            output.display()
        );
        return Ok(());
    }
    let needs_dense = matches!(
        settings.retriever,
        RetrieverKind::Dense | RetrieverKind::Fused
    );
    if needs_dense && settings.model.is_none() {
        bail!(
            "mine: the {:?} retriever needs `model` (a bi-encoder directory)",
            settings.retriever
        );
    }
    let bm25 = (settings.retriever != RetrieverKind::Dense)
        .then(|| Bm25Index::build(corpus.documents(), &settings.bm25, !quiet))
        .transpose()?;
    let encoder = match (&settings.model, needs_dense) {
        (Some(dir), true) => {
            let (encoder, report) = BiEncoder::<B>::builder(dir)
                .batching(batching.clone())
                .progress(!quiet)
                .load(device)
                .with_context(|| format!("loading bi-encoder {}", dir.display()))?;
            report.warn();
            Some(encoder)
        }
        _ => None,
    };
    let dense = encoder
        .as_ref()
        .map(|e| DenseIndex::build(e, &corpus, DenseConfig::default()))
        .transpose()?;
    let fused;
    let retriever: &dyn CandidateRetriever = match settings.retriever {
        RetrieverKind::Bm25 => bm25.as_ref().expect("built for bm25"),
        RetrieverKind::Dense => dense.as_ref().expect("built for dense"),
        RetrieverKind::Fused => {
            fused = FusedRetriever {
                retrievers: vec![
                    bm25.as_ref().expect("built"),
                    dense.as_ref().expect("built"),
                ],
                config: settings.fusion.clone(),
            };
            &fused
        }
    };
    let lengths = match &encoder {
        Some(encoder) => {
            let texts: Vec<&str> = queries.iter().map(|q| q.text.as_str()).collect();
            let encoded = encoder.tokenizer.encode_texts(&texts)?;
            Some(
                queries
                    .iter()
                    .zip(encoded)
                    .map(|(q, e)| (q.id.clone(), e.len()))
                    .collect(),
            )
        }
        None => None,
    };
    let retriever = WholeJobDepth {
        inner: retriever,
        depth,
        lengths,
    };
    let rescorer: Option<Box<dyn Rescorer>> = match &settings.rescorer {
        Some(dir) => {
            let (t5, causal_lm) = generative.split(dir)?;
            // Called once per query (`PerQueryRescorer`): no bar per call.
            let run = RunOptions {
                batching: batching.clone(),
                progress: false,
            };
            if T5Config::is_conditional_generation_dir(dir) {
                let (scorer, report) = GenerativeReranker::<B>::load(
                    dir,
                    t5,
                    None,
                    Activation::Sigmoid,
                    run,
                    Precision::default(),
                    device,
                )
                .with_context(|| format!("loading generative reranker {}", dir.display()))?;
                report.warn();
                Some(Box::new(scorer))
            } else if CausalLmFormat::recognise(dir).is_some() {
                let (scorer, report) = CausalLmReranker::<B>::load(
                    dir,
                    causal_lm,
                    None,
                    Activation::Sigmoid,
                    run,
                    Precision::default(),
                    device,
                )
                .with_context(|| format!("loading decoder-only reranker {}", dir.display()))?;
                report.warn();
                Some(Box::new(scorer))
            } else {
                let (ce, report) = CrossEncoder::<B>::builder(dir)
                    .batching(batching.clone())
                    .progress(false)
                    .load(device)
                    .with_context(|| format!("loading cross-encoder {}", dir.display()))?;
                if report.new_head {
                    bail!(
                        "{}: the rescorer has no trained classification head",
                        dir.display()
                    );
                }
                Some(Box::new(ce))
            }
        }
        None => {
            if generative.any() {
                bail!(
                    "mine: {} need --rescorer",
                    super::common::GENERATIVE_FLAGS.join(" / ")
                );
            }
            None
        }
    };
    let data = MiningData {
        corpus: &corpus,
        queries: &queries,
        qrels: &qrels,
    };
    let per_query = rescorer.as_deref().map(|inner| PerQueryRescorer { inner });
    let mined = mine_hard_negatives(
        data,
        &retriever,
        per_query.as_ref().map(|r| r as &dyn Rescorer),
        &settings.miner,
        !quiet,
    )?;
    let written = write_mined(
        output,
        &mined,
        MiningData {
            corpus: &corpus,
            queries: &queries,
            qrels: &qrels,
        },
    )?;
    eprintln!("{}", mined.summary);
    eprintln!("wrote {written} records → {}", output.display());
    Ok(())
}
