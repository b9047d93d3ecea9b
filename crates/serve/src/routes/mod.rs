//! The HTTP surface: shared state, the router, and one module per endpoint group.

mod embed;
mod info;
mod rerank;

pub use info::describe;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::OwnedSemaphorePermit;

use crate::cache::ScoreCache;
use crate::config::ServeConfig;
use crate::errors::{method_not_allowed, route_not_found, ApiError};
use crate::limits::ConcurrencyLimit;
use crate::metrics::{track_requests, Metrics};
use crate::queue::{Job, JobOutput, Queue, Work};
use crate::worker::{LoadedModels, WorkerStatus};

/// What every handler can reach. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub config: Arc<ServeConfig>,
    pub model_id: Arc<str>,
    pub models: Arc<LoadedModels>,
    pub queue: Arc<Queue>,
    pub worker: WorkerStatus,
    pub metrics: Metrics,
    pub concurrency: ConcurrencyLimit,
    pub cache: Option<Arc<ScoreCache>>,
}

/// One admitted request: holds a concurrency slot and counts as in flight until dropped.
pub struct RequestSlot {
    _permit: OwnedSemaphorePermit,
    metrics: Metrics,
}

impl Drop for RequestSlot {
    fn drop(&mut self) {
        self.metrics.in_flight.dec();
    }
}

impl AppState {
    /// Admits a request, or 429 when `--max-concurrent-requests` are already in flight.
    pub fn admit(&self) -> Result<RequestSlot, ApiError> {
        let permit = self.concurrency.try_enter()?;
        self.metrics.in_flight.inc();
        Ok(RequestSlot {
            _permit: permit,
            metrics: self.metrics.clone(),
        })
    }

    /// Queues tokenized work for the worker and waits for its rows.
    pub async fn infer(&self, work: Work) -> Result<JobOutput, ApiError> {
        let (job, reply) = Job::new(work);
        self.queue.push(job).map_err(|_| ApiError::unhealthy())?;
        self.metrics.queue_depth.set(self.queue.depth() as i64);
        reply
            .await
            .map_err(|_| ApiError::unhealthy())?
            .map_err(ApiError::backend)
    }
}

/// Every endpoint, with JSON errors for unknown routes and methods, the body size limit and
/// request metrics.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.limits.max_body_bytes;
    Router::new()
        .route("/rerank", post(rerank::tei_rerank))
        .route("/v2/rerank", post(rerank::cohere_rerank))
        .route("/embed", post(embed::embed))
        .route("/health", get(info::health))
        .route("/info", get(info::info))
        .route("/metrics", get(info::metrics))
        .route("/openapi.json", get(info::openapi))
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            track_requests,
        ))
        .with_state(state)
}
