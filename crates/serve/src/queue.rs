//! The queue between the HTTP handlers and the one inference worker, and the dynamic batcher:
//! the worker takes the oldest job and, with it, the following jobs of the same kind while
//! they fit `--max-batch-requests` and `--max-batch-tokens`.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use rankforge_model::colbert::ColBertEncoded;
use rankforge_model::Encoded;
use tokio::sync::oneshot;

use crate::config::BatchLimits;

/// Tokenized work for the model.
#[derive(Debug)]
pub enum Work {
    /// Cross-encoder sequences; sequence `i` belongs to pair `owners[i]` of `pairs`.
    Rerank {
        sequences: Vec<Encoded>,
        owners: Vec<usize>,
        pairs: usize,
    },
    /// Bi-encoder sequences, one per text; `normalize`: L2-normalise the embeddings.
    Embed {
        sequences: Vec<Encoded>,
        normalize: bool,
    },
    /// ColBERT: a query and its documents, tokenized by the model's `ColBertTokenizer`; one
    /// row per document, its MaxSim score.
    ColBertRerank {
        query: Box<ColBertEncoded>,
        documents: Vec<ColBertEncoded>,
    },
    /// ColBERT: texts tokenized as documents (or queries); one row per text, its scored token
    /// vectors flattened (`tokens × dim`).
    EmbedAll { sequences: Vec<ColBertEncoded> },
}

/// Which jobs can share a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkKind {
    Rerank,
    Embed { normalize: bool },
    ColBertRerank,
    EmbedAll,
}

impl WorkKind {
    /// Work the ColBERT model runs (tokenized by its own tokenizer).
    pub fn is_colbert(self) -> bool {
        matches!(self, WorkKind::ColBertRerank | WorkKind::EmbedAll)
    }
}

impl Work {
    pub fn kind(&self) -> WorkKind {
        match self {
            Work::Rerank { .. } => WorkKind::Rerank,
            Work::Embed { normalize, .. } => WorkKind::Embed {
                normalize: *normalize,
            },
            Work::ColBertRerank { .. } => WorkKind::ColBertRerank,
            Work::EmbedAll { .. } => WorkKind::EmbedAll,
        }
    }

    /// The cross-encoder or bi-encoder sequences (empty for ColBERT work, whose sequences are
    /// `ColBertEncoded`).
    pub fn sequences(&self) -> &[Encoded] {
        match self {
            Work::Rerank { sequences, .. } | Work::Embed { sequences, .. } => sequences,
            Work::ColBertRerank { .. } | Work::EmbedAll { .. } => &[],
        }
    }

    /// Sequences the model runs.
    pub fn sequence_count(&self) -> usize {
        match self {
            Work::Rerank { sequences, .. } | Work::Embed { sequences, .. } => sequences.len(),
            Work::EmbedAll { sequences } => sequences.len(),
            Work::ColBertRerank { documents, .. } => 1 + documents.len(),
        }
    }

    /// Output rows: one per pair (rerank), per text (embed) or per document (ColBERT rerank).
    pub fn rows(&self) -> usize {
        match self {
            Work::Rerank { pairs, .. } => *pairs,
            Work::Embed { sequences, .. } => sequences.len(),
            Work::EmbedAll { sequences } => sequences.len(),
            Work::ColBertRerank { documents, .. } => documents.len(),
        }
    }

    /// Tokens (unpadded) of all sequences.
    pub fn tokens(&self) -> usize {
        match self {
            Work::ColBertRerank { query, documents } => {
                query.len() + documents.iter().map(ColBertEncoded::len).sum::<usize>()
            }
            Work::EmbedAll { sequences } => sequences.iter().map(ColBertEncoded::len).sum(),
            _ => self.sequences().iter().map(Encoded::len).sum(),
        }
    }
}

/// What the worker sends back for one job.
#[derive(Debug)]
pub struct JobOutput {
    /// Rerank: one logit row per pair; embed: one embedding per text; ColBERT rerank: one
    /// MaxSim row per document; embed_all: one row of flattened token vectors per text.
    pub rows: Vec<Vec<f32>>,
    /// From enqueueing to the worker taking the job.
    pub queue_time: Duration,
    /// The worker's time on the batch the job ran in.
    pub inference_time: Duration,
    /// Requests in that batch (this one included).
    pub batch_requests: usize,
}

pub type JobResult = Result<JobOutput, String>;

/// One request's work, waiting for the worker.
#[derive(Debug)]
pub struct Job {
    pub work: Work,
    pub tokens: usize,
    pub enqueued: Instant,
    pub reply: oneshot::Sender<JobResult>,
}

impl Job {
    /// A job and the receiver its result arrives on.
    pub fn new(work: Work) -> (Self, oneshot::Receiver<JobResult>) {
        let (reply, receiver) = oneshot::channel();
        let tokens = work.tokens();
        (
            Self {
                work,
                tokens,
                enqueued: Instant::now(),
                reply,
            },
            receiver,
        )
    }
}

#[derive(Debug, Default)]
struct State {
    jobs: VecDeque<Job>,
    closed: bool,
}

/// A multi-producer queue that the one worker thread blocks on.
#[derive(Debug, Default)]
pub struct Queue {
    state: Mutex<State>,
    ready: Condvar,
}

/// The queue no longer takes jobs (the server is shutting down).
#[derive(Debug)]
pub struct Closed(pub Job);

impl Queue {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves the queue consistent (push/pop are atomic).
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a job; refused once [`Queue::close`] was called.
    pub fn push(&self, job: Job) -> Result<(), Closed> {
        let mut state = self.lock();
        if state.closed {
            return Err(Closed(job));
        }
        state.jobs.push_back(job);
        drop(state);
        self.ready.notify_one();
        Ok(())
    }

    /// Stops taking jobs; the worker still drains what is queued, then [`Queue::next_batch`]
    /// returns `None`.
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }

    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Jobs waiting.
    pub fn depth(&self) -> usize {
        self.lock().jobs.len()
    }

    /// Blocks until there is work and returns the next batch (see [`take_batch`]); `None` once
    /// the queue is closed and empty.
    pub fn next_batch(&self, limits: &BatchLimits) -> Option<Vec<Job>> {
        let mut state = self.lock();
        loop {
            if !state.jobs.is_empty() {
                return Some(take_batch(&mut state.jobs, limits));
            }
            if state.closed {
                return None;
            }
            state = self
                .ready
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }
}

/// Removes the oldest job and, in queue order, the later jobs of its kind while the batch stays
/// within `max_batch_requests` and `max_batch_tokens` (the first job that does not fit ends
/// the batch, so no job is overtaken for long). Jobs of another kind keep their place.
pub fn take_batch(jobs: &mut VecDeque<Job>, limits: &BatchLimits) -> Vec<Job> {
    let Some(first) = jobs.pop_front() else {
        return Vec::new();
    };
    let kind = first.work.kind();
    let mut tokens = first.tokens;
    let mut batch = vec![first];
    let mut index = 0;
    while index < jobs.len() && batch.len() < limits.max_batch_requests.max(1) {
        if jobs[index].work.kind() != kind {
            index += 1;
            continue;
        }
        if tokens + jobs[index].tokens > limits.max_batch_tokens {
            break;
        }
        let job = jobs.remove(index).expect("index is in range");
        tokens += job.tokens;
        batch.push(job);
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rerank_job(tokens: usize) -> Job {
        let sequence = Encoded {
            ids: vec![1; tokens],
            type_ids: vec![0; tokens],
        };
        Job::new(Work::Rerank {
            sequences: vec![sequence],
            owners: vec![0],
            pairs: 1,
        })
        .0
    }

    fn embed_job(tokens: usize) -> Job {
        let sequence = Encoded {
            ids: vec![1; tokens],
            type_ids: vec![0; tokens],
        };
        Job::new(Work::Embed {
            sequences: vec![sequence],
            normalize: true,
        })
        .0
    }

    fn limits(tokens: usize, requests: usize) -> BatchLimits {
        BatchLimits {
            max_batch_tokens: tokens,
            max_batch_requests: requests,
            max_batch_size: 32,
        }
    }

    #[test]
    fn batch_stops_at_request_limit() {
        let mut jobs: VecDeque<Job> = (0..5).map(|_| rerank_job(10)).collect();
        assert_eq!(take_batch(&mut jobs, &limits(1000, 3)).len(), 3);
        assert_eq!(jobs.len(), 2);
    }

    #[test]
    fn batch_stops_at_token_budget_but_oversized_job_runs_alone() {
        let mut jobs: VecDeque<Job> = [500, 40, 40, 40].into_iter().map(rerank_job).collect();
        let first = take_batch(&mut jobs, &limits(100, 10));
        assert_eq!(first.iter().map(|j| j.tokens).collect::<Vec<_>>(), [500]);
        let second = take_batch(&mut jobs, &limits(100, 10));
        assert_eq!(
            second.iter().map(|j| j.tokens).collect::<Vec<_>>(),
            [40, 40]
        );
        assert_eq!(jobs.len(), 1);
    }

    #[test]
    fn batch_takes_one_kind_and_leaves_others_in_place() {
        let mut jobs: VecDeque<Job> = VecDeque::new();
        jobs.push_back(rerank_job(5));
        jobs.push_back(embed_job(6));
        jobs.push_back(rerank_job(7));
        let batch = take_batch(&mut jobs, &limits(1000, 10));
        assert_eq!(batch.iter().map(|j| j.tokens).collect::<Vec<_>>(), [5, 7]);
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].work.kind(), WorkKind::Embed { normalize: true });
    }

    #[test]
    fn closed_queue_drains_then_ends() {
        let queue = Queue::new();
        queue.push(rerank_job(3)).unwrap();
        queue.close();
        assert!(queue.push(rerank_job(3)).is_err());
        assert_eq!(queue.next_batch(&limits(100, 10)).map(|b| b.len()), Some(1));
        assert!(queue.next_batch(&limits(100, 10)).is_none());
    }
}
