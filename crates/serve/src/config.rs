//! What a server is started with: which models, where it listens, how it batches, and the
//! limits it enforces on clients.

use rankforge_model::qwen3::CausalLmSettings;
use rankforge_model::t5::GenerativeSettings;
use rankforge_model::Precision;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use rankforge_model::{BatchingConfig, LongDocMode};

/// The reranker behind `/rerank` and `/v2/rerank`: a cross-encoder, a ColBERT, a generative
/// reranker (T5) or a decoder-only one (Qwen3, Gemma), as its directory says.
#[derive(Debug, Clone)]
pub struct RerankerConfig {
    /// Hugging Face model directory.
    pub dir: PathBuf,
    /// Tokens per (query, document) sequence at most; `None`: the model's limit (≤ 512).
    pub max_length: Option<usize>,
    /// Seed of the classification head made for a checkpoint that has none.
    pub head_seed: u64,
    /// Truncate long documents, or score windows and keep the best (max-chunk).
    pub long_doc: LongDocMode,
    /// max-chunk: windows per document at most (the first ones; a document cut short is
    /// reported on stderr). `rankforge_model::DEFAULT_MAX_WINDOWS` unless set.
    pub max_windows: usize,
    /// Float type of the forward pass (weights cast once at load).
    pub precision: Precision,
    /// A generative reranker's (T5 directory's) prompt and score tokens; `None`: castorini's
    /// monoT5 rule. Refused for other models.
    pub generative: Option<GenerativeSettings>,
    /// A decoder-only reranker's (Qwen3 / Gemma directory's) prompt template, score tokens and
    /// instruction; `None`: as its directory says. Refused for other models.
    pub causal_lm: Option<CausalLmSettings>,
}

/// The bi-encoder behind `/embed`.
#[derive(Debug, Clone)]
pub struct EmbedderConfig {
    /// sentence-transformers (or plain HF BERT) model directory.
    pub dir: PathBuf,
    /// Tokens per text at most; `None`: the model's `max_seq_length`.
    pub max_length: Option<usize>,
    /// Float type of the forward pass (weights cast once at load).
    pub precision: Precision,
}

/// How the inference worker groups queued requests (dynamic batching).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchLimits {
    /// Tokens (unpadded) of the requests the worker takes together at most; a single larger
    /// request still runs, alone. Also the padded-token budget of one forward pass.
    pub max_batch_tokens: usize,
    /// Requests the worker takes together at most.
    pub max_batch_requests: usize,
    /// Sequences per forward pass at most.
    pub max_batch_size: usize,
}

impl Default for BatchLimits {
    fn default() -> Self {
        Self {
            max_batch_tokens: BatchingConfig::DEFAULT_MAX_BATCH_TOKENS,
            max_batch_requests: 32,
            max_batch_size: BatchingConfig::DEFAULT_MAX_BATCH_SIZE,
        }
    }
}

/// What one client may ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLimits {
    /// Documents (rerank) or inputs (embed) per request at most (413 above).
    pub max_client_batch_size: usize,
    /// Requests being handled at once at most (429 above).
    pub max_concurrent_requests: usize,
    /// Request body bytes at most (413 above).
    pub max_body_bytes: usize,
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self {
            max_client_batch_size: 256,
            max_concurrent_requests: 512,
            max_body_bytes: 2_000_000,
        }
    }
}

/// How the server treats client connections: how many it keeps open, how long a slow or idle
/// client may hold one, and how long a shutdown waits for them. Requests are read by hyper's
/// HTTP/1.1 connection; these bound what a slow, stalled or silent client costs the server
/// (a socket and a slot), so that half-sent requests cannot exhaust its file descriptors or
/// keep it from shutting down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Client connections open at once at most. At the cap the server stops accepting: further
    /// clients wait in the kernel's listen backlog and are served as soon as a connection closes
    /// (nothing is refused). Keep it well below the process's open-file limit (`ulimit -n`,
    /// often 1024), and at least `max_concurrent_requests`, since each request in flight holds
    /// a connection. Default 512.
    pub max_connections: usize,
    /// Time a client has to send a request's head (request line and headers), counted from
    /// when the connection opens or its previous response was sent; after it the connection is
    /// closed without an answer (hyper's `header_read_timeout`). Default 10 s.
    pub header_read_timeout: Duration,
    /// Time a client has to send a request's whole body once its head arrived; after it the
    /// request is answered 408 (`error_type` `request_timeout`) and the connection closed.
    /// Default 30 s.
    pub body_read_timeout: Duration,
    /// Time a connection may stay open with no request in progress and no bytes moving (between
    /// keep-alive requests, or before the first one) before the server closes it. Idle time
    /// also counts toward `header_read_timeout` (the connection waits for a request head), so
    /// the shorter of the two applies. Default 5 s.
    pub keep_alive_timeout: Duration,
    /// After a shutdown signal (SIGTERM, Ctrl-C) the server stops accepting, closes idle
    /// connections and lets requests in progress finish for at most this long; connections
    /// still open then are dropped. Default 20 s.
    pub shutdown_timeout: Duration,
}

impl ConnectionLimits {
    /// Checks the settings that have no safe meaning (no connection at all, a zero timeout).
    pub fn validate(&self) -> Result<(), String> {
        if self.max_connections == 0 {
            return Err("max connections must be at least 1".into());
        }
        let timeouts = [
            ("header read timeout", self.header_read_timeout),
            ("body read timeout", self.body_read_timeout),
            ("keep-alive timeout", self.keep_alive_timeout),
            ("shutdown timeout", self.shutdown_timeout),
        ];
        for (name, value) in timeouts {
            if value.is_zero() {
                return Err(format!("{name} must be longer than 0"));
            }
        }
        Ok(())
    }
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 512,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            keep_alive_timeout: Duration::from_secs(5),
            shutdown_timeout: Duration::from_secs(20),
        }
    }
}

/// Everything a server needs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Where to listen (port 0: any free port; see [`crate::Server::local_addr`]).
    pub bind: SocketAddr,
    pub reranker: Option<RerankerConfig>,
    pub embedder: Option<EmbedderConfig>,
    /// The name reported in `/info` and responses; default: the model directory's name.
    pub model_id: Option<String>,
    pub batching: BatchLimits,
    pub limits: RequestLimits,
    /// Entries of the (model, query, document) → score cache; 0 turns it off.
    pub cache_size: usize,
}

impl ServeConfig {
    /// A config that listens on `bind`, with no model yet and default limits.
    pub fn new(bind: SocketAddr) -> Self {
        Self {
            bind,
            reranker: None,
            embedder: None,
            model_id: None,
            batching: BatchLimits::default(),
            limits: RequestLimits::default(),
            cache_size: 0,
        }
    }

    /// Checks the settings that have no safe meaning (a zero budget, no model at all).
    pub fn validate(&self) -> Result<(), String> {
        if self.reranker.is_none() && self.embedder.is_none() {
            return Err(
                "nothing to serve: give a reranker (--model) and/or an embedder (--embed-model)"
                    .into(),
            );
        }
        let positive = [
            ("max batch tokens", self.batching.max_batch_tokens),
            ("max batch requests", self.batching.max_batch_requests),
            ("batch size", self.batching.max_batch_size),
            ("max client batch size", self.limits.max_client_batch_size),
            (
                "max concurrent requests",
                self.limits.max_concurrent_requests,
            ),
            ("max body bytes", self.limits.max_body_bytes),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(format!("{name} must be at least 1"));
            }
        }
        if self.reranker.as_ref().is_some_and(|r| r.max_windows == 0) {
            return Err("max windows per document must be at least 1".into());
        }
        if let Some(RerankerConfig {
            long_doc: LongDocMode::MaxChunk { window, stride },
            ..
        }) = &self.reranker
        {
            if *window == 0 || *stride == 0 || stride > window {
                return Err(format!(
                    "max-chunk needs 0 < stride <= window (window {window}, stride {stride})"
                ));
            }
        }
        Ok(())
    }

    /// The name clients see: `model_id`, else the reranker's (or embedder's) directory name.
    pub fn display_model_id(&self) -> String {
        if let Some(id) = &self.model_id {
            return id.clone();
        }
        let dir = self
            .reranker
            .as_ref()
            .map(|r| &r.dir)
            .or(self.embedder.as_ref().map(|e| &e.dir));
        dir.and_then(|d| d.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "rankforge".into())
    }
}
