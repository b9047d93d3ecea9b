//! The one inference worker: a thread that loads the models, owns them for its whole life
//! (burn models stay on the thread that made them), and runs batches from the [`Queue`]
//! through the model crate's inference path (`CrossEncoder::logits_encoded`,
//! `BiEncoder::embed_encoded`, both over `run_batched`).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use burn::tensor::backend::Backend;
use rankforge_model::{
    BatchingConfig, BiEncoder, CrossEncoder, EmbeddingHead, Encoded, LongDocMode, TextTokenizer,
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

/// The models the worker loaded.
#[derive(Debug, Clone, Default)]
pub struct LoadedModels {
    pub reranker: Option<RerankerInfo>,
    pub embedder: Option<EmbedderInfo>,
}

struct Models<B: Backend> {
    reranker: Option<CrossEncoder<B>>,
    reranker_new_head: bool,
    embedder: Option<BiEncoder<B>>,
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
    let reranker = reranker
        .map(|config| -> Result<CrossEncoder<B>, ServeError> {
            let (scorer, report) = CrossEncoder::<B>::builder(&config.dir)
                .max_length(config.max_length)
                .precision(config.precision)
                .head_seed(config.head_seed)
                .batching(batching.clone())
                .long_doc(config.long_doc)
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
    })
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
                dimension: encoder.config.hidden_size,
            })
        })
        .transpose()?;
    Ok(LoadedModels { reranker, embedder })
}

/// Sequences of several jobs in one list; `spans[j]` is job j's range of output rows.
struct Merged {
    sequences: Vec<Encoded>,
    owners: Vec<usize>,
    rows: usize,
    spans: Vec<std::ops::Range<usize>>,
}

fn merge(works: Vec<Work>) -> Merged {
    let mut merged = Merged {
        sequences: Vec::new(),
        owners: Vec::new(),
        rows: 0,
        spans: Vec::with_capacity(works.len()),
    };
    for work in works {
        let start = merged.rows;
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
                merged.rows += sequences.len();
                merged.sequences.extend(sequences);
            }
        }
        merged.spans.push(start..merged.rows);
    }
    merged
}

/// Runs one batch of same-kind jobs as one call into the inference path and answers each job
/// with its own rows.
fn run_batch<B: Backend>(models: &Models<B>, batch: Vec<Job>, metrics: &Metrics) {
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
    let merged = merge(works);
    let sequence_count = merged.sequences.len();
    let result = catch_unwind(AssertUnwindSafe(|| run_model(models, kind, &merged)))
        .unwrap_or_else(|panic| Err(format!("the model panicked: {}", panic_message(&*panic))));
    let inference_time = started.elapsed();
    metrics.record_batch(requests, sequence_count, tokens, inference_time);
    match result {
        Ok(rows) => {
            for ((reply, queue_time), span) in replies.into_iter().zip(merged.spans) {
                let _ = reply.send(Ok(JobOutput {
                    rows: rows[span].to_vec(),
                    queue_time,
                    inference_time,
                    batch_requests: requests,
                }));
            }
        }
        Err(message) => {
            for (reply, _) in replies {
                let _ = reply.send(Err(message.clone()));
            }
        }
    }
}

fn run_model<B: Backend>(
    models: &Models<B>,
    kind: WorkKind,
    merged: &Merged,
) -> Result<Vec<Vec<f32>>, String> {
    match kind {
        WorkKind::Rerank => {
            let scorer = models
                .reranker
                .as_ref()
                .ok_or("no reranker model is loaded")?;
            scorer
                .logits_encoded(&merged.sequences, &merged.owners, merged.rows)
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
            Ok(encoder.embed_encoded(&merged.sequences, head))
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}
