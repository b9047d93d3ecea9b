//! The one inference worker: a thread that loads the models, owns them for its whole life
//! (burn models stay on the thread that made them), and runs batches from the [`Queue`]
//! through the model crate's inference path (`CrossEncoder::logits_encoded`,
//! `BiEncoder::embed_encoded`, both over `run_batched`; a ColBERT reranker's
//! `ColBert::encode_scored` and MaxSim; a generative reranker's
//! `GenerativeReranker::raw_scores_sequences`; a decoder-only reranker's
//! `CausalLmReranker::raw_scores_encoded`).

use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use burn::tensor::backend::Backend;
use rankforge_model::colbert::{maxsim, ColBert, ColBertEncoded, ColBertTokenizer};
use rankforge_model::qwen3::prompt::PromptBuilder;
use rankforge_model::qwen3::{CausalLmFormat, CausalLmReranker};
use rankforge_model::t5::{GenerativePrompts, GenerativeReranker, GenerativeSettings, T5Config};
use rankforge_model::{
    Activation, BatchingConfig, BiEncoder, CrossEncoder, EmbeddingHead, Encoded, LongDocMode,
    RunOptions, TextTokenizer,
};
use tokio::sync::oneshot;

use crate::config::{BatchLimits, EmbedderConfig, RerankerConfig, ServeConfig};
use crate::metrics::Metrics;
use crate::queue::{Job, JobOutput, Queue, Work, WorkKind};
use crate::serve_error::ServeError;
use crate::tokenization::LengthTokenizer;

/// What the HTTP side needs to know about the reranker (the model itself stays on the worker).
#[derive(Debug, Clone)]
pub struct RerankerInfo {
    pub tokenizer: Arc<TextTokenizer>,
    pub lengths: LengthTokenizer,
    pub long_doc: LongDocMode,
    /// max-chunk: windows per document at most.
    pub max_windows: usize,
    pub max_length: usize,
    /// Loading made a new classification head (the checkpoint had none).
    pub new_head: bool,
}

/// What the HTTP side needs to know about the embedder.
#[derive(Debug, Clone)]
pub struct EmbedderInfo {
    pub tokenizer: Arc<TextTokenizer>,
    pub lengths: LengthTokenizer,
    pub max_length: usize,
    pub head: EmbeddingHead,
    pub dimension: usize,
}

/// What the HTTP side needs to know about a ColBERT reranker (`--model` naming a PyLate or
/// Stanford ColBERT directory): its tokenizer, so handlers tokenize off the worker.
#[derive(Debug, Clone)]
pub struct ColBertInfo {
    pub tokenizer: Arc<ColBertTokenizer>,
    pub dim: usize,
    pub query_length: usize,
    pub document_length: usize,
}

/// What the HTTP side needs to know about a generative reranker (`--model` naming a
/// `T5ForConditionalGeneration` directory): its prompt encoder, so handlers tokenize off the
/// worker, and the rule it scores by.
#[derive(Debug, Clone)]
pub struct GenerativeInfo {
    pub prompts: Arc<GenerativePrompts>,
    pub settings: GenerativeSettings,
}

/// What the HTTP side needs to know about a decoder-only reranker (`--model` naming a
/// sentence-transformers `LogitScore` or a `*ForCausalLM` directory: Qwen3, Gemma): its prompt
/// builder, so handlers build and tokenize prompts off the worker, and the rule it scores by
/// (for `/info`).
#[derive(Debug, Clone)]
pub struct CausalLmInfo {
    pub prompts: Arc<PromptBuilder>,
    /// `{"kind": "decoder-only", "model_type", "rule", "true_token", "false_token", "system"}`.
    pub description: serde_json::Value,
}

/// The models the worker loaded. `--model` loads one of `reranker` (a cross-encoder),
/// `colbert`, `generative` or `causal_lm`, as its directory says.
#[derive(Debug, Clone, Default)]
pub struct LoadedModels {
    pub reranker: Option<RerankerInfo>,
    pub embedder: Option<EmbedderInfo>,
    pub colbert: Option<ColBertInfo>,
    pub generative: Option<GenerativeInfo>,
    pub causal_lm: Option<CausalLmInfo>,
}

struct Models<B: Backend> {
    reranker: Option<CrossEncoder<B>>,
    reranker_new_head: bool,
    embedder: Option<BiEncoder<B>>,
    colbert: Option<ColBert<B>>,
    generative: Option<GenerativeReranker<B>>,
    causal_lm: Option<CausalLmReranker<B>>,
}

/// Whether the worker still runs (cheap to clone; read by `/health`).
#[derive(Debug, Clone)]
pub struct WorkerStatus(Arc<AtomicBool>);

impl WorkerStatus {
    pub fn is_alive(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Marks the worker stopped when its thread ends, however it ends.
struct StoppedOnDrop(WorkerStatus);

impl Drop for StoppedOnDrop {
    fn drop(&mut self) {
        self.0 .0.store(false, Ordering::SeqCst);
    }
}

/// The running worker thread.
#[derive(Debug)]
pub struct WorkerHandle {
    thread: JoinHandle<()>,
    status: WorkerStatus,
}

impl WorkerHandle {
    pub fn status(&self) -> WorkerStatus {
        self.status.clone()
    }

    /// Waits for the worker to drain the (closed) queue and stop.
    pub fn join(self) {
        // The worker catches panics of the model; a panic elsewhere has already answered the
        // jobs it held (their senders were dropped), so there is nothing more to report.
        let _ = self.thread.join();
    }
}

/// Starts the worker thread, waits until it has loaded the models, and returns what the HTTP
/// side needs to know about them.
pub async fn start<B: Backend>(
    config: &ServeConfig,
    device: B::Device,
    queue: Arc<Queue>,
    metrics: Metrics,
) -> Result<(LoadedModels, WorkerHandle), ServeError> {
    let (loaded_tx, loaded_rx) = oneshot::channel();
    let reranker = config.reranker.clone();
    let embedder = config.embedder.clone();
    let batching = config.batching.clone();
    let status = WorkerStatus(Arc::new(AtomicBool::new(true)));
    let guard = StoppedOnDrop(status.clone());
    let thread = std::thread::Builder::new()
        .name("rankforge-inference".into())
        .spawn(move || {
            let _guard = guard;
            let loaded = load_models::<B>(reranker.as_ref(), embedder.as_ref(), &batching, &device)
                .and_then(|models| describe(&models).map(|info| (models, info)));
            let models = match loaded {
                Ok((models, info)) => {
                    if loaded_tx.send(Ok(info)).is_err() {
                        return;
                    }
                    models
                }
                Err(error) => {
                    let _ = loaded_tx.send(Err(error));
                    return;
                }
            };
            while let Some(batch) = queue.next_batch(&batching) {
                metrics.queue_depth.set(queue.depth() as i64);
                run_batch(&models, batch, &metrics);
            }
        })
        .map_err(|e| ServeError::Worker(format!("cannot start the inference thread: {e}")))?;
    let handle = WorkerHandle { thread, status };
    match loaded_rx.await {
        Ok(Ok(loaded)) => Ok((loaded, handle)),
        Ok(Err(error)) => {
            handle.join();
            Err(error)
        }
        Err(_) => {
            handle.join();
            Err(ServeError::Worker(
                "the inference thread stopped while loading the models".into(),
            ))
        }
    }
}

fn load_models<B: Backend>(
    reranker: Option<&RerankerConfig>,
    embedder: Option<&EmbedderConfig>,
    batching: &BatchLimits,
    device: &B::Device,
) -> Result<Models<B>, ServeError> {
    let batching = BatchingConfig {
        max_batch_size: batching.max_batch_size,
        max_batch_tokens: batching.max_batch_tokens,
    };
    let mut reranker_new_head = false;
    let mut colbert = None;
    let mut generative = None;
    let mut causal_lm = None;
    let reranker = match reranker {
        Some(config) if ColBert::<B>::recognise(&config.dir).is_some() => {
            colbert = Some(load_colbert::<B>(config, &batching, device)?);
            None
        }
        Some(config) if T5Config::is_conditional_generation_dir(&config.dir) => {
            if config.causal_lm.is_some() {
                return Err(ServeError::Config(format!(
                    "{}: a prompt template and instruction are for decoder-only rerankers \
                     (sentence-transformers LogitScore or *ForCausalLM directories)",
                    config.dir.display()
                )));
            }
            generative = Some(load_generative::<B>(config, &batching, device)?);
            None
        }
        Some(config) if CausalLmFormat::recognise(&config.dir).is_some() => {
            if config.generative.is_some() {
                return Err(ServeError::Config(format!(
                    "{}: T5 generative settings (template mono / rank) are for \
                     T5ForConditionalGeneration directories; a decoder-only reranker takes a \
                     prompt template and true / false tokens",
                    config.dir.display()
                )));
            }
            causal_lm = Some(load_causal_lm::<B>(config, &batching, device)?);
            None
        }
        other => other,
    };
    if let Some(config) = reranker.filter(|c| c.causal_lm.is_some()) {
        return Err(ServeError::Config(format!(
            "{}: a prompt template, instruction and true / false tokens are for generative \
             rerankers (T5ForConditionalGeneration, *ForCausalLM or sentence-transformers \
             LogitScore directories)",
            config.dir.display()
        )));
    }
    if let Some(config) = reranker.filter(|c| c.generative.is_some()) {
        return Err(ServeError::Config(format!(
            "{}: generative settings (template, true / false token) are for generative \
             rerankers (T5ForConditionalGeneration directories)",
            config.dir.display()
        )));
    }
    let reranker = reranker
        .map(|config| -> Result<CrossEncoder<B>, ServeError> {
            let (scorer, report) = CrossEncoder::<B>::builder(&config.dir)
                .max_length(config.max_length)
                .precision(config.precision)
                .head_seed(config.head_seed)
                .batching(batching.clone())
                .long_doc(
                    rankforge_model::LongDocSettings::from(config.long_doc)
                        .with_max_windows(config.max_windows),
                )
                .load(device)
                .map_err(|e| ServeError::model(&config.dir, e))?;
            let labels = scorer.model.num_labels();
            if labels != 1 {
                return Err(ServeError::Config(format!(
                    "{}: the reranker has {labels} labels; relevance scores need exactly 1",
                    config.dir.display()
                )));
            }
            reranker_new_head = report.new_head;
            report.warn();
            Ok(scorer)
        })
        .transpose()?;
    let embedder = embedder
        .map(|config| -> Result<BiEncoder<B>, ServeError> {
            let (encoder, report) = BiEncoder::<B>::builder(&config.dir)
                .max_length(config.max_length)
                .precision(config.precision)
                .batching(batching.clone())
                .load(device)
                .map_err(|e| ServeError::model(&config.dir, e))?;
            report.warn();
            Ok(encoder)
        })
        .transpose()?;
    Ok(Models {
        reranker,
        reranker_new_head,
        embedder,
        colbert,
        generative,
        causal_lm,
    })
}

/// A decoder-only reranker (Qwen3, Gemma) behind `/rerank` and `/v2/rerank`: as a generative
/// one, the worker keeps raw scores (true − false logit) for the cache and the sigmoid.
fn load_causal_lm<B: Backend>(
    config: &RerankerConfig,
    batching: &BatchingConfig,
    device: &B::Device,
) -> Result<CausalLmReranker<B>, ServeError> {
    if config.long_doc != LongDocMode::Truncate {
        return Err(ServeError::Config(format!(
            "{}: a decoder-only reranker cuts the pair to fit its prompt; max-chunk is for \
             cross-encoders",
            config.dir.display()
        )));
    }
    let run = RunOptions {
        batching: batching.clone(),
        progress: false,
    };
    let (scorer, report) = CausalLmReranker::<B>::load(
        &config.dir,
        config.causal_lm.clone(),
        config.max_length,
        Activation::Identity,
        run,
        config.precision,
        device,
    )
    .map_err(|e| ServeError::model(&config.dir, e))?;
    report.warn();
    Ok(scorer)
}

/// `/info`'s description of a decoder-only reranker's rule.
fn describe_causal_lm<B: Backend>(scorer: &CausalLmReranker<B>) -> serde_json::Value {
    let prompts = scorer.prompts();
    let token = |id: &u32| prompts.tokenizer().id_to_token(*id);
    let ids = scorer.token_ids();
    let true_token = token(&ids[0]);
    let false_token = ids.get(1).and_then(token);
    let rule = match &false_token {
        Some(f) => format!(
            "logit({:?}) − logit({f:?})",
            true_token.clone().unwrap_or_default()
        ),
        None => format!("logit({:?})", true_token.clone().unwrap_or_default()),
    };
    serde_json::json!({
        "kind": "decoder-only",
        "model_type": scorer.config.model_type,
        "rule": rule,
        "true_token": true_token,
        "false_token": false_token,
        "system": prompts.system(),
    })
}

/// A generative reranker (T5) behind `/rerank` and `/v2/rerank`: the worker keeps raw scores
/// (true − false logit), so the sigmoid and the cache work as for a cross-encoder's logit;
/// max-chunk is for cross-encoders.
fn load_generative<B: Backend>(
    config: &RerankerConfig,
    batching: &BatchingConfig,
    device: &B::Device,
) -> Result<GenerativeReranker<B>, ServeError> {
    if config.long_doc != LongDocMode::Truncate {
        return Err(ServeError::Config(format!(
            "{}: a generative reranker cuts the document to fit its prompt; max-chunk is for \
             cross-encoders",
            config.dir.display()
        )));
    }
    let run = RunOptions {
        batching: batching.clone(),
        progress: false,
    };
    let (scorer, report) = GenerativeReranker::<B>::load(
        &config.dir,
        config.generative.clone(),
        config.max_length,
        Activation::Identity,
        run,
        config.precision,
        device,
    )
    .map_err(|e| ServeError::model(&config.dir, e))?;
    report.warn();
    Ok(scorer)
}

/// A ColBERT behind `/rerank`, `/v2/rerank` and `/embed_all`: `max_length` is its document
/// length; max-chunk is for cross-encoders.
fn load_colbert<B: Backend>(
    config: &RerankerConfig,
    batching: &BatchingConfig,
    device: &B::Device,
) -> Result<ColBert<B>, ServeError> {
    if config.long_doc != LongDocMode::Truncate {
        return Err(ServeError::Config(format!(
            "{}: a ColBERT model truncates documents at its document length; max-chunk is for \
             cross-encoders",
            config.dir.display()
        )));
    }
    let run = RunOptions {
        batching: batching.clone(),
        progress: false,
    };
    let (colbert, report) = ColBert::<B>::load_for_inference(
        &config.dir,
        device,
        run,
        config.precision,
        config.max_length,
    )
    .map_err(|e| ServeError::model(&config.dir, e))?;
    report.warn();
    Ok(colbert)
}

fn describe<B: Backend>(models: &Models<B>) -> Result<LoadedModels, ServeError> {
    let reranker = models
        .reranker
        .as_ref()
        .map(|scorer| -> Result<RerankerInfo, ServeError> {
            Ok(RerankerInfo {
                tokenizer: Arc::new(scorer.tokenizer.clone()),
                lengths: LengthTokenizer::new(&scorer.tokenizer).map_err(ServeError::Config)?,
                long_doc: scorer.long_doc,
                max_windows: scorer.max_windows,
                max_length: scorer.tokenizer.max_length(),
                new_head: models.reranker_new_head,
            })
        })
        .transpose()?;
    let embedder = models
        .embedder
        .as_ref()
        .map(|encoder| -> Result<EmbedderInfo, ServeError> {
            Ok(EmbedderInfo {
                tokenizer: Arc::new(encoder.tokenizer.clone()),
                lengths: LengthTokenizer::new(&encoder.tokenizer).map_err(ServeError::Config)?,
                max_length: encoder.tokenizer.max_length(),
                head: encoder.head(),
                dimension: encoder.config.hidden_size(),
            })
        })
        .transpose()?;
    let colbert = models.colbert.as_ref().map(|colbert| ColBertInfo {
        tokenizer: Arc::new(colbert.tokenizer.clone()),
        dim: colbert.model.dim(),
        query_length: colbert.settings().query_length,
        document_length: colbert.settings().document_length,
    });
    let generative = models.generative.as_ref().map(|scorer| GenerativeInfo {
        prompts: Arc::new(scorer.prompts().clone()),
        settings: scorer.settings().clone(),
    });
    let causal_lm = models.causal_lm.as_ref().map(|scorer| CausalLmInfo {
        prompts: Arc::new(scorer.prompts().clone()),
        description: describe_causal_lm(scorer),
    });
    Ok(LoadedModels {
        reranker,
        embedder,
        colbert,
        generative,
        causal_lm,
    })
}

/// Sequences of several jobs in one list: job j's sequences are `sequences[inputs[j]]` and its
/// output rows `spans[j]`, both contiguous, so any run of consecutive jobs is one contiguous
/// slice too.
struct Merged {
    sequences: Vec<Encoded>,
    /// Sequence i belongs to output row `owners[i]` (counted over the whole batch).
    owners: Vec<usize>,
    rows: usize,
    spans: Vec<Range<usize>>,
    inputs: Vec<Range<usize>>,
}

fn merge(works: Vec<Work>) -> Merged {
    let mut merged = Merged {
        sequences: Vec::new(),
        owners: Vec::new(),
        rows: 0,
        spans: Vec::with_capacity(works.len()),
        inputs: Vec::with_capacity(works.len()),
    };
    for work in works {
        let start = merged.rows;
        let first_input = merged.sequences.len();
        match work {
            Work::Rerank {
                sequences,
                owners,
                pairs,
            } => {
                merged
                    .owners
                    .extend(owners.iter().map(|owner| start + owner));
                merged.sequences.extend(sequences);
                merged.rows += pairs;
            }
            Work::Embed { sequences, .. } => {
                merged.owners.extend(start..start + sequences.len());
                merged.rows += sequences.len();
                merged.sequences.extend(sequences);
            }
            Work::ColBertRerank { .. } | Work::EmbedAll { .. } => {
                unreachable!("ColBERT work runs through run_colbert, unmerged")
            }
        }
        merged.spans.push(start..merged.rows);
        merged.inputs.push(first_input..merged.sequences.len());
    }
    merged
}

impl Merged {
    /// The sequences, owners (counted from the first of these jobs' rows) and row count of
    /// the consecutive jobs `jobs`.
    fn part(&self, jobs: Range<usize>) -> (&[Encoded], Vec<usize>, usize) {
        if jobs.is_empty() {
            return (&[], Vec::new(), 0);
        }
        let inputs = self.inputs[jobs.start].start..self.inputs[jobs.end - 1].end;
        let rows = self.spans[jobs.start].start..self.spans[jobs.end - 1].end;
        let owners = self.owners[inputs.clone()]
            .iter()
            .map(|owner| owner - rows.start)
            .collect();
        (&self.sequences[inputs], owners, rows.len())
    }
}

/// One job's rows, or why the model failed on it.
type Rows = Result<Vec<Vec<f32>>, String>;

/// Runs `f`, turning a panic into an error that names it.
fn guarded(f: impl FnOnce() -> Rows) -> Rows {
    catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|panic| Err(format!("the model panicked: {}", panic_message(&*panic))))
}

/// Runs consecutive jobs (job j has `row_counts[j]` output rows) through `run`, which takes a
/// range of jobs and returns their rows in order, and returns each job's own result. When a run
/// of several jobs fails (an error, or a panic of the model, which is caught), the range is
/// split in halves and each half run again, down to single jobs: a request the model cannot
/// run fails alone instead of taking the requests it was batched with down with it. Also
/// returns how many failed runs were split.
fn run_isolating(
    row_counts: &[usize],
    run: &mut dyn FnMut(Range<usize>) -> Rows,
) -> (Vec<Rows>, usize) {
    fn isolate(
        jobs: Range<usize>,
        row_counts: &[usize],
        run: &mut dyn FnMut(Range<usize>) -> Rows,
        out: &mut Vec<Rows>,
        splits: &mut usize,
    ) {
        let expected: usize = row_counts[jobs.clone()].iter().sum();
        let result = guarded(|| run(jobs.clone())).and_then(|rows| {
            if rows.len() == expected {
                Ok(rows)
            } else {
                Err(format!(
                    "the model returned {} rows for {expected} inputs",
                    rows.len()
                ))
            }
        });
        match result {
            Ok(rows) => {
                let mut rows = rows.into_iter();
                for &count in &row_counts[jobs] {
                    out.push(Ok(rows.by_ref().take(count).collect()));
                }
            }
            Err(message) if jobs.len() <= 1 => out.extend(jobs.map(|_| Err(message.clone()))),
            Err(_) => {
                *splits += 1;
                let middle = jobs.start + jobs.len() / 2;
                isolate(jobs.start..middle, row_counts, run, out, splits);
                isolate(middle..jobs.end, row_counts, run, out, splits);
            }
        }
    }
    let mut out = Vec::with_capacity(row_counts.len());
    let mut splits = 0;
    isolate(0..row_counts.len(), row_counts, run, &mut out, &mut splits);
    (out, splits)
}

/// Runs one batch of same-kind jobs as one call into the inference path and answers each job
/// with its own rows. If that call fails, the batch is split until the failure is pinned on
/// the jobs that cause it ([`run_isolating`]): only they get the error.
fn run_batch<B: Backend>(models: &Models<B>, mut batch: Vec<Job>, metrics: &Metrics) {
    // A job whose handler is gone (the client disconnected, or its connection was dropped at
    // the shutdown deadline) is not run: nobody would read its rows.
    batch.retain(|job| !job.reply.is_closed());
    if batch.is_empty() {
        return;
    }
    let started = Instant::now();
    let kind = batch[0].work.kind();
    let requests = batch.len();
    let tokens: usize = batch.iter().map(|job| job.tokens).sum();
    let mut replies = Vec::with_capacity(requests);
    let mut works = Vec::with_capacity(requests);
    for job in batch {
        metrics
            .queue_seconds
            .observe(started.duration_since(job.enqueued).as_secs_f64());
        replies.push((job.reply, started.duration_since(job.enqueued)));
        works.push(job.work);
    }
    let sequence_count: usize = works.iter().map(Work::sequence_count).sum();
    let row_counts: Vec<usize> = works.iter().map(Work::rows).collect();
    let (results, splits) = if kind.is_colbert() {
        run_isolating(&row_counts, &mut |jobs| run_colbert(models, &works[jobs]))
    } else {
        let merged = merge(works);
        run_isolating(&row_counts, &mut |jobs| {
            let (sequences, owners, rows) = merged.part(jobs);
            run_model(models, kind, sequences, &owners, rows)
        })
    };
    metrics.batch_splits.inc_by(splits as u64);
    let inference_time = started.elapsed();
    metrics.record_batch(requests, sequence_count, tokens, inference_time);
    for ((reply, queue_time), result) in replies.into_iter().zip(results) {
        let _ = reply.send(result.map(|rows| JobOutput {
            rows,
            queue_time,
            inference_time,
            batch_requests: requests,
        }));
    }
}

fn run_model<B: Backend>(
    models: &Models<B>,
    kind: WorkKind,
    sequences: &[Encoded],
    owners: &[usize],
    rows: usize,
) -> Rows {
    match kind {
        WorkKind::Rerank => {
            if let Some(scorer) = &models.generative {
                // One prompt per pair: raw scores, one row each.
                if sequences.len() != rows {
                    return Err("a generative rerank job has one prompt per pair".into());
                }
                return Ok(scorer
                    .raw_scores_sequences(sequences)
                    .into_iter()
                    .map(|s| vec![s])
                    .collect());
            }
            if let Some(scorer) = &models.causal_lm {
                // One prompt per pair: raw scores, one row each.
                if sequences.len() != rows {
                    return Err("a decoder-only rerank job has one prompt per pair".into());
                }
                let prompts: Vec<Vec<u32>> = sequences.iter().map(|s| s.ids.clone()).collect();
                return Ok(scorer
                    .raw_scores_encoded(&prompts)
                    .into_iter()
                    .map(|s| vec![s])
                    .collect());
            }
            let scorer = models
                .reranker
                .as_ref()
                .ok_or("no reranker model is loaded")?;
            scorer
                .logits_encoded(sequences, owners, rows)
                .map_err(|e| e.to_string())
        }
        WorkKind::Embed { normalize } => {
            let encoder = models
                .embedder
                .as_ref()
                .ok_or("no embedding model is loaded")?;
            let head = EmbeddingHead {
                pooling: encoder.head().pooling,
                normalize,
            };
            Ok(encoder.embed_encoded(sequences, head))
        }
        WorkKind::ColBertRerank | WorkKind::EmbedAll => {
            Err("ColBERT work runs through run_colbert".into())
        }
    }
}

/// ColBERT jobs: every query and document of `works` encoded in one call
/// (`ColBert::encode_scored`, the token-budgeted batches of the inference path), then each
/// document's MaxSim against its query (rerank), or each text's vectors (embed_all).
fn run_colbert<B: Backend>(models: &Models<B>, works: &[Work]) -> Rows {
    let colbert = models
        .colbert
        .as_ref()
        .ok_or("no ColBERT model is loaded")?;
    let mut sequences: Vec<ColBertEncoded> = Vec::new();
    for work in works {
        match work {
            Work::ColBertRerank { query, documents } => {
                sequences.push(ColBertEncoded::clone(query));
                sequences.extend(documents.iter().cloned());
            }
            Work::EmbedAll { sequences: texts } => sequences.extend(texts.iter().cloned()),
            _ => return Err("a cross-encoder or bi-encoder job among ColBERT work".into()),
        }
    }
    let mut vectors = colbert.encode_scored(&sequences).into_iter();
    let mut rows = Vec::new();
    for work in works {
        match work {
            Work::ColBertRerank { documents, .. } => {
                let query = vectors.next().ok_or("missing query vectors")?;
                for _ in documents {
                    let document = vectors.next().ok_or("missing document vectors")?;
                    rows.push(vec![maxsim(&query, &document, None, None)]);
                }
            }
            Work::EmbedAll { sequences } => {
                for _ in sequences {
                    rows.push(vectors.next().ok_or("missing vectors")?.data);
                }
            }
            _ => unreachable!("checked above"),
        }
    }
    Ok(rows)
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ServeConfig;
    use rankforge_model::backend::Cpu;
    use std::path::PathBuf;

    /// Issue 19 (12), the splitting alone: a stand-in model that panics on any run containing
    /// job 3 and fails (an error) on any run containing job 6.
    #[test]
    fn failing_jobs_are_isolated_by_splitting_the_batch() {
        let row_counts = [1, 2, 1, 1, 3, 1, 1, 1];
        let mut calls = Vec::new();
        let (results, splits) = run_isolating(&row_counts, &mut |jobs: Range<usize>| {
            calls.push(jobs.clone());
            if jobs.contains(&3) {
                panic!("bad input in job 3");
            }
            if jobs.contains(&6) {
                return Err("job 6 is not runnable".into());
            }
            Ok(jobs
                .flat_map(|job| vec![vec![job as f32]; row_counts[job]])
                .collect())
        });
        assert_eq!(results.len(), row_counts.len());
        for (job, result) in results.iter().enumerate() {
            match job {
                3 => {
                    let error = result.as_ref().unwrap_err();
                    assert!(
                        error.contains("the model panicked: bad input in job 3"),
                        "{error}"
                    );
                }
                6 => assert_eq!(result.as_ref().unwrap_err(), "job 6 is not runnable"),
                _ => assert_eq!(
                    result.as_ref().unwrap(),
                    &vec![vec![job as f32]; row_counts[job]],
                    "job {job}"
                ),
            }
        }
        assert_eq!(calls[0], 0..8, "the batch runs whole first");
        assert!(splits >= 1);
        assert!(
            calls.len() < 2 * row_counts.len(),
            "halving, not one pass per job and more: {calls:?}"
        );
    }

    #[test]
    fn a_batch_that_runs_is_not_split() {
        let (results, splits) = run_isolating(&[2, 1], &mut |jobs: Range<usize>| {
            Ok(vec![vec![0.0]; if jobs == (0..2) { 3 } else { 0 }])
        });
        assert_eq!(splits, 0);
        assert_eq!(results[0].as_ref().unwrap().len(), 2);
        assert_eq!(results[1].as_ref().unwrap().len(), 1);
    }

    fn minilm() -> PathBuf {
        std::env::var_os("RANKFORGE_MINILM_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("../../.cache/models/all-MiniLM-L6-v2")
            })
    }

    /// Sends `work` to the worker (through the queue) and waits for its result.
    async fn submit(queue: &Queue, work: Work) -> Result<JobOutput, String> {
        let (job, reply) = Job::new(work);
        queue.push(job).expect("queue open");
        reply.await.expect("the worker answers")
    }

    fn rerank_work(sequence: Encoded) -> Work {
        Work::Rerank {
            sequences: vec![sequence],
            owners: vec![0],
            pairs: 1,
        }
    }

    /// Issue 19 (12), with the real model and a real panic: 16 rerank jobs taken as one batch,
    /// one of them holding a token id past the embedding table (burn's embedding lookup panics
    /// on it). Before, all 16 got the panic as their error; now only that one does, the other
    /// 15 get the scores they get when run alone, and the worker keeps serving.
    #[tokio::test]
    async fn a_job_the_model_panics_on_fails_alone_and_the_worker_survives() {
        let dir = minilm();
        assert!(
            dir.join("model.safetensors").is_file(),
            "all-MiniLM-L6-v2 not found at {}: run scripts/fetch_model.sh",
            dir.display()
        );
        let mut config = ServeConfig::new("127.0.0.1:0".parse().unwrap());
        config.reranker = Some(RerankerConfig {
            dir: dir.clone(),
            max_length: Some(64),
            head_seed: 42,
            long_doc: LongDocMode::Truncate,
            max_windows: rankforge_model::DEFAULT_MAX_WINDOWS,
            precision: Default::default(),
            generative: None,
            causal_lm: None,
        });
        let tokenizer = TextTokenizer::from_file(&dir.join("tokenizer.json"), 64).unwrap();
        let pairs: Vec<(String, String)> = (0..16)
            .map(|i| {
                (
                    format!("question number {i}"),
                    format!("an answer that mentions {} things", i * 7),
                )
            })
            .collect();
        let pair_refs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(q, d)| (q.as_str(), d.as_str()))
            .collect();
        let mut sequences = tokenizer.encode_pairs(&pair_refs).unwrap();
        let bad = 5;
        sequences[bad].ids[2] = 1_000_000;

        // Queued before the worker starts, so its first batch holds all 16.
        let queue = Arc::new(Queue::new());
        let mut replies = Vec::new();
        for sequence in &sequences {
            let (job, reply) = Job::new(rerank_work(sequence.clone()));
            queue.push(job).unwrap();
            replies.push(reply);
        }
        let metrics = Metrics::new();
        let (_, worker) = start::<Cpu>(&config, Default::default(), queue.clone(), metrics.clone())
            .await
            .unwrap();
        let mut batched = Vec::new();
        for (i, reply) in replies.into_iter().enumerate() {
            let result = reply.await.expect("the worker answers every job");
            if i == bad {
                let error = result.expect_err("the bad job fails");
                assert!(!error.is_empty());
                batched.push(None);
            } else {
                let output = result.unwrap_or_else(|e| panic!("good job {i} failed: {e}"));
                assert_eq!(output.batch_requests, 16, "all 16 were taken as one batch");
                batched.push(Some(output.rows));
            }
        }
        assert!(metrics.batch_splits.get() >= 1);

        // The worker is alive and each good job, run alone, scores as it did in the batch.
        assert!(worker.status().is_alive());
        for (i, rows) in batched.iter().enumerate() {
            let alone = submit(&queue, rerank_work(sequences[i].clone())).await;
            match rows {
                None => assert!(alone.is_err(), "the bad job still fails alone"),
                Some(rows) => {
                    let alone = alone.unwrap().rows;
                    assert!(
                        (alone[0][0] - rows[0][0]).abs() <= 1e-5,
                        "job {i}: {} in the batch vs {} alone",
                        rows[0][0],
                        alone[0][0]
                    );
                }
            }
        }
        assert!(worker.status().is_alive());
        queue.close();
        worker.join();
    }
}
