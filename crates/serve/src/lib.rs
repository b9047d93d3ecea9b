//! rankforge's HTTP service: rerank in the text-embeddings-inference (`POST /rerank`) and
//! Cohere (`POST /v2/rerank`, also Jina and LiteLLM) shapes, embed (`POST /embed`), plus
//! `/health`, `/info`, `/metrics` (Prometheus) and `/openapi.json`. The reranker is a
//! cross-encoder or, when its directory is one, a ColBERT (MaxSim scores, and its per-token
//! vectors at `POST /embed_all`).
//!
//! Request flow: handler (validation, limits, score cache) → tokenization on tokio's blocking
//! pool → [`inference::infer`] → [`queue::Queue`] → the one inference worker thread, which owns
//! the models and takes queued requests together (dynamic batching, bounded by
//! `max_batch_tokens` and `max_batch_requests`) into one call of the model crate's inference
//! path → scores back to each handler, with timing headers. If that call fails (or the model
//! panics), the batch is split until only the requests that cause the failure get the error.
//!
//! Connections ([`connections`]): the server's own accept loop keeps at most
//! `max_connections` open, gives each client a header and a body read timeout, closes idle
//! keep-alive connections, and on shutdown drops what is still open after a deadline (all in
//! [`ConnectionLimits`]).
//!
//! ```no_run
//! # async fn example() -> Result<(), rankforge_serve::ServeError> {
//! use rankforge_serve::{RerankerConfig, ServeConfig, Server};
//! let mut config = ServeConfig::new("127.0.0.1:8080".parse().unwrap());
//! config.reranker = Some(RerankerConfig {
//!     dir: "models/my-reranker".into(),
//!     max_length: None,
//!     head_seed: 42,
//!     long_doc: Default::default(),
//!     max_windows: rankforge_model::DEFAULT_MAX_WINDOWS,
//!     precision: Default::default(),
//!     generative: None,
//!     causal_lm: None,
//! });
//! let server = Server::start::<rankforge_model::backend::Cpu>(config, Default::default()).await?;
//! server.run_until(rankforge_serve::shutdown_signal()).await
//! # }
//! ```

pub mod cache;
pub mod config;
pub mod connections;
pub mod errors;
pub mod inference;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod queue;
pub mod routes;
pub mod schemas;
mod serve_error;
pub mod server;
pub mod state;
pub mod timing;
pub mod tokenization;
pub mod worker;

pub use config::{
    BatchLimits, ConnectionLimits, EmbedderConfig, RequestLimits, RerankerConfig, ServeConfig,
};
pub use errors::{ApiError, ErrorKind};
pub use serve_error::ServeError;
pub use server::{serve_blocking, serve_blocking_with_connections, shutdown_signal, Server};
