//! The handlers' side of the [`Queue`]: a request's tokenized work goes to the one inference
//! worker, and its rows come back.

use crate::errors::ApiError;
use crate::metrics::Metrics;
use crate::queue::{Job, JobOutput, Queue, Work};

/// Queues tokenized work for the worker and waits for its rows: 503 when the queue is closed
/// or the worker is gone, 500 (backend) when the model failed on the batch.
pub async fn infer(queue: &Queue, metrics: &Metrics, work: Work) -> Result<JobOutput, ApiError> {
    let (job, reply) = Job::new(work);
    queue.push(job).map_err(|_| ApiError::unhealthy())?;
    metrics.queue_depth.set(queue.depth() as i64);
    reply
        .await
        .map_err(|_| ApiError::unhealthy())?
        .map_err(ApiError::backend)
}
