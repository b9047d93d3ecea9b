//! [`AppState`]: what every handler can reach, and admission of requests.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::OwnedSemaphorePermit;

use crate::cache::ScoreCache;
use crate::config::ServeConfig;
use crate::errors::ApiError;
use crate::limits::ConcurrencyLimit;
use crate::metrics::Metrics;
use crate::queue::Queue;
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
    /// Time a request's body may take to arrive (408 after it); see
    /// [`crate::ConnectionLimits::body_read_timeout`].
    pub body_read_timeout: Duration,
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
}
