//! Starting and stopping: load the models on the worker thread, bind the listener, serve until
//! a shutdown signal, then stop accepting, finish in-flight requests (for at most the shutdown
//! timeout), drain the queue and join the worker.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use burn::tensor::backend::Backend;
use tokio::net::TcpListener;

use crate::cache::ScoreCache;
use crate::config::{ConnectionLimits, ServeConfig};
use crate::limits::ConcurrencyLimit;
use crate::metrics::Metrics;
use crate::queue::Queue;
use crate::routes::router;
use crate::serve_error::ServeError;
use crate::state::AppState;
use crate::worker::{self, WorkerHandle};

/// A server with its models loaded and its port bound, not yet answering.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    state: AppState,
    worker: WorkerHandle,
    connections: ConnectionLimits,
}

impl Server {
    /// Loads the models (on the inference thread, on `device`) and binds `config.bind`; the
    /// connections get [`ConnectionLimits::default`].
    pub async fn start<B: Backend>(
        config: ServeConfig,
        device: B::Device,
    ) -> Result<Self, ServeError> {
        Self::start_with_connections::<B>(config, ConnectionLimits::default(), device).await
    }

    /// [`Server::start`] with another connection cap and timeouts.
    pub async fn start_with_connections<B: Backend>(
        config: ServeConfig,
        connections: ConnectionLimits,
        device: B::Device,
    ) -> Result<Self, ServeError> {
        config.validate().map_err(ServeError::Config)?;
        connections.validate().map_err(ServeError::Config)?;
        let metrics = Metrics::new();
        let queue = Arc::new(Queue::new());
        let (models, worker) =
            worker::start::<B>(&config, device, queue.clone(), metrics.clone()).await?;
        let listener = match TcpListener::bind(config.bind).await {
            Ok(listener) => listener,
            Err(source) => {
                queue.close();
                worker.join();
                return Err(ServeError::Bind {
                    addr: config.bind,
                    source,
                });
            }
        };
        let state = AppState {
            model_id: config.display_model_id().into(),
            models: Arc::new(models),
            queue,
            worker: worker.status(),
            metrics,
            concurrency: ConcurrencyLimit::new(config.limits.max_concurrent_requests),
            cache: ScoreCache::new(config.cache_size).map(Arc::new),
            body_read_timeout: connections.body_read_timeout,
            config: Arc::new(config),
        };
        Ok(Self {
            listener,
            state,
            worker,
            connections,
        })
    }

    /// The address it listens on (the real port when `bind` asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// What `/info` reports.
    pub fn info(&self) -> crate::schemas::InfoResponse {
        crate::routes::describe(&self.state)
    }

    /// Serves until `shutdown` completes, then stops accepting, closes idle connections, lets
    /// in-flight requests finish (connections still open after the shutdown timeout are
    /// dropped), drains the queue and stops the worker.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let Server {
            listener,
            state,
            worker,
            connections,
        } = self;
        let queue = state.queue.clone();
        let metrics = state.metrics.clone();
        crate::connections::serve(listener, router(state), connections, metrics, shutdown).await;
        queue.close();
        tokio::task::spawn_blocking(move || worker.join())
            .await
            .map_err(|e| ServeError::Worker(format!("joining the inference thread: {e}")))?;
        Ok(())
    }
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
}

/// Starts a server on its own tokio runtime and serves until Ctrl-C or SIGTERM (what
/// `rankforge serve` runs). `on_ready` is called once the port is bound, with the address and
/// the `/info` description. `http_threads`: tokio worker threads (default: one per core). The
/// connections get [`ConnectionLimits::default`].
pub fn serve_blocking<B: Backend>(
    config: ServeConfig,
    device: B::Device,
    http_threads: Option<usize>,
    on_ready: impl FnOnce(SocketAddr, &crate::schemas::InfoResponse),
) -> Result<(), ServeError> {
    serve_blocking_with_connections::<B>(
        config,
        ConnectionLimits::default(),
        device,
        http_threads,
        on_ready,
    )
}

/// [`serve_blocking`] with another connection cap and timeouts.
pub fn serve_blocking_with_connections<B: Backend>(
    config: ServeConfig,
    connections: ConnectionLimits,
    device: B::Device,
    http_threads: Option<usize>,
    on_ready: impl FnOnce(SocketAddr, &crate::schemas::InfoResponse),
) -> Result<(), ServeError> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = http_threads {
        builder.worker_threads(threads.max(1));
    }
    let runtime = builder
        .enable_all()
        .thread_name("rankforge-http")
        .build()
        .map_err(ServeError::Io)?;
    runtime.block_on(async move {
        let server = Server::start_with_connections::<B>(config, connections, device).await?;
        on_ready(server.local_addr(), &server.info());
        server.run_until(shutdown_signal()).await
    })
}
