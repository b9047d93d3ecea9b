//! `rankforge serve`: the HTTP reranking / embedding service (rankforge-serve) — TEI-style
//! `/rerank` and `/embed`, Cohere-style `/v2/rerank`, `/health`, `/info`, `/metrics`,
//! `/openapi.json`. Every flag can also be set through its `RANKFORGE_*` environment variable.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use burn::tensor::backend::Backend;
use clap::Args;
use rankforge_model::{BatchingConfig, LongDocMode};
use rankforge_serve::{
    BatchLimits, ConnectionLimits, EmbedderConfig, RequestLimits, RerankerConfig, ServeConfig,
};

use super::long_doc::LongDocKind;
use crate::device::DeviceKind;

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Reranker served at /rerank and /v2/rerank: a cross-encoder (HF directory), or a ColBERT
    /// (PyLate or Stanford directory: MaxSim scores, plus per-token vectors at /embed_all).
    #[arg(long, env = "RANKFORGE_MODEL")]
    pub model: Option<PathBuf>,
    /// Bi-encoder served at /embed (sentence-transformers directory).
    #[arg(long, env = "RANKFORGE_EMBED_MODEL")]
    pub embed_model: Option<PathBuf>,
    /// Model name reported in /info and responses [default: the model directory's name].
    #[arg(long, env = "RANKFORGE_MODEL_ID")]
    pub model_id: Option<String>,
    /// Address to listen on.
    #[arg(long, env = "RANKFORGE_HOST", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub host: IpAddr,
    /// Port to listen on (0: any free port).
    #[arg(long, env = "RANKFORGE_PORT", default_value_t = 8080)]
    pub port: u16,
    /// Reranker: tokens per (query, document) sequence at most [default: the length the model
    /// was saved with (`tokenizer_config.json` `model_max_length`), capped by its position
    /// table; with none saved, the position table capped at 512].
    #[arg(long, env = "RANKFORGE_MAX_LENGTH")]
    pub max_length: Option<usize>,
    /// Embedder: tokens per text at most [default: its saved `max_seq_length`].
    #[arg(long, env = "RANKFORGE_EMBED_MAX_LENGTH")]
    pub embed_max_length: Option<usize>,
    /// Seed of the classification head made for a checkpoint that has none.
    #[arg(long, env = "RANKFORGE_HEAD_SEED", default_value_t = 42)]
    pub head_seed: u64,
    /// What to do with documents longer than the reranker's input.
    #[arg(long, env = "RANKFORGE_LONG_DOC", value_enum, default_value_t = LongDocKind::Truncate)]
    pub long_doc: LongDocKind,
    /// max-chunk: document tokens per window (shrunk to what the query leaves free).
    #[arg(long, env = "RANKFORGE_CHUNK_WINDOW", default_value_t = 384)]
    pub chunk_window: usize,
    /// max-chunk: tokens between the starts of consecutive windows (≤ window).
    #[arg(long, env = "RANKFORGE_CHUNK_STRIDE", default_value_t = 256)]
    pub chunk_stride: usize,
    /// max-chunk: windows per document at most (the first ones); a document cut short is
    /// reported on stderr.
    #[arg(long, env = "RANKFORGE_CHUNK_MAX_WINDOWS", default_value_t = rankforge_model::DEFAULT_MAX_WINDOWS)]
    pub chunk_max_windows: usize,
    /// Sequences per forward pass at most.
    #[arg(long, env = "RANKFORGE_BATCH_SIZE", default_value_t = BatchingConfig::DEFAULT_MAX_BATCH_SIZE)]
    pub batch_size: usize,
    /// Tokens the worker takes from the queue at once (and padded tokens per forward pass)
    /// at most; a larger single request still runs, alone.
    #[arg(
        long,
        env = "RANKFORGE_MAX_BATCH_TOKENS",
        default_value_t = BatchingConfig::DEFAULT_MAX_BATCH_TOKENS
    )]
    pub max_batch_tokens: usize,
    /// Requests the worker batches together at most.
    #[arg(long, env = "RANKFORGE_MAX_BATCH_REQUESTS", default_value_t = 32)]
    pub max_batch_requests: usize,
    /// Documents (or embed inputs) per request at most; more is refused with 413.
    #[arg(long, env = "RANKFORGE_MAX_CLIENT_BATCH_SIZE", default_value_t = 256)]
    pub max_client_batch_size: usize,
    /// Requests handled at once at most; more are refused with 429.
    #[arg(long, env = "RANKFORGE_MAX_CONCURRENT_REQUESTS", default_value_t = 512)]
    pub max_concurrent_requests: usize,
    /// Request body bytes at most; larger bodies are refused with 413.
    #[arg(long, env = "RANKFORGE_MAX_BODY_BYTES", default_value_t = 2_000_000)]
    pub max_body_bytes: usize,
    /// Scores kept in the (model, query, document) LRU cache; 0 turns the cache off.
    #[arg(long, env = "RANKFORGE_CACHE_SIZE", default_value_t = 0)]
    pub cache_size: usize,
    /// Client connections open at once at most; further clients wait in the listen backlog
    /// until one closes.
    #[arg(long, env = "RANKFORGE_MAX_CONNECTIONS", default_value_t = 512)]
    pub max_connections: usize,
    /// Seconds a client has to send a request's head; then the connection is closed.
    #[arg(long, env = "RANKFORGE_HEADER_READ_TIMEOUT", default_value_t = 10.0)]
    pub header_read_timeout: f64,
    /// Seconds a client has to send a request's body once its head arrived; then 408.
    #[arg(long, env = "RANKFORGE_BODY_READ_TIMEOUT", default_value_t = 30.0)]
    pub body_read_timeout: f64,
    /// Seconds an idle keep-alive connection stays open.
    #[arg(long, env = "RANKFORGE_KEEP_ALIVE_TIMEOUT", default_value_t = 5.0)]
    pub keep_alive_timeout: f64,
    /// Seconds a shutdown (SIGTERM, Ctrl-C) waits for requests in progress before it drops the
    /// connections still open.
    #[arg(long, env = "RANKFORGE_SHUTDOWN_TIMEOUT", default_value_t = 20.0)]
    pub shutdown_timeout: f64,
    /// Threads answering HTTP [default: one per core].
    #[arg(long, env = "RANKFORGE_HTTP_THREADS")]
    pub http_threads: Option<usize>,
    /// Where the models run.
    #[arg(long, env = "RANKFORGE_DEVICE", value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
    /// Precision of the forward pass: f32, bf16, f16 (for GPUs) or int8 (CPU; see
    /// `predict --help`).
    #[arg(long, env = "RANKFORGE_PRECISION", default_value = "f32", value_parser = super::common::parse_precision)]
    pub precision: rankforge_model::Precision,
    /// A generative reranker's (T5 or decoder-only directory's) prompt and score tokens.
    #[command(flatten)]
    pub generative: super::common::GenerativeArgs,
}

impl ServeArgs {
    fn long_doc_mode(&self) -> LongDocMode {
        match self.long_doc {
            LongDocKind::Truncate => LongDocMode::Truncate,
            LongDocKind::MaxChunk => LongDocMode::MaxChunk {
                window: self.chunk_window,
                stride: self.chunk_stride,
            },
        }
    }

    /// The connection limits these flags describe; a timeout that is not a positive number of
    /// seconds is an error naming its flag.
    pub fn connections(&self) -> Result<ConnectionLimits> {
        let seconds = |flag: &str, value: f64| {
            Duration::try_from_secs_f64(value)
                .ok()
                .filter(|d| !d.is_zero())
                .with_context(|| {
                    format!("--{flag} must be a positive number of seconds, not {value}")
                })
        };
        let limits = ConnectionLimits {
            max_connections: self.max_connections,
            header_read_timeout: seconds("header-read-timeout", self.header_read_timeout)?,
            body_read_timeout: seconds("body-read-timeout", self.body_read_timeout)?,
            keep_alive_timeout: seconds("keep-alive-timeout", self.keep_alive_timeout)?,
            shutdown_timeout: seconds("shutdown-timeout", self.shutdown_timeout)?,
        };
        limits
            .validate()
            .map_err(|e| anyhow::anyhow!("--max-connections: {e}"))?;
        Ok(limits)
    }

    /// The library config these flags describe.
    pub fn config(&self) -> Result<ServeConfig> {
        let (generative, causal_lm) = match &self.model {
            Some(dir) => self.generative.split(dir)?,
            None if self.generative.any() => {
                anyhow::bail!("serve: generative reranker flags need --model")
            }
            None => (None, None),
        };
        Ok(ServeConfig {
            bind: SocketAddr::new(self.host, self.port),
            reranker: self.model.as_ref().map(|dir| RerankerConfig {
                dir: dir.clone(),
                max_length: self.max_length,
                head_seed: self.head_seed,
                long_doc: self.long_doc_mode(),
                max_windows: self.chunk_max_windows,
                precision: self.precision,
                generative,
                causal_lm,
            }),
            embedder: self.embed_model.as_ref().map(|dir| EmbedderConfig {
                dir: dir.clone(),
                max_length: self.embed_max_length,
                precision: self.precision,
            }),
            model_id: self.model_id.clone(),
            batching: BatchLimits {
                max_batch_tokens: self.max_batch_tokens,
                max_batch_requests: self.max_batch_requests,
                max_batch_size: self.batch_size,
            },
            limits: RequestLimits {
                max_client_batch_size: self.max_client_batch_size,
                max_concurrent_requests: self.max_concurrent_requests,
                max_body_bytes: self.max_body_bytes,
            },
            cache_size: self.cache_size,
        })
    }
}

pub fn run(args: ServeArgs) -> Result<()> {
    crate::on_device!(args.device, serve(&args))
}

fn serve<B: Backend>(device: &B::Device, args: &ServeArgs) -> Result<()> {
    let config = args.config()?;
    rankforge_serve::serve_blocking_with_connections::<B>(
        config,
        args.connections()?,
        device.clone(),
        args.http_threads,
        |addr, info| {
            let colbert = info.reranker.as_ref().is_some_and(|r| r.colbert.is_some());
            let endpoints = match (&info.reranker, &info.embedder) {
                (Some(_), Some(_)) if colbert => "/rerank, /v2/rerank, /embed_all, /embed",
                (Some(_), None) if colbert => "/rerank, /v2/rerank, /embed_all",
                (Some(_), Some(_)) => "/rerank, /v2/rerank, /embed",
                (Some(_), None) => "/rerank, /v2/rerank",
                _ => "/embed",
            };
            eprintln!(
                "rankforge serve: {} on http://{addr} ({endpoints}; /health /info /metrics /openapi.json). Ctrl-C or SIGTERM stops it.",
                info.model_id
            );
        },
    )
    .context("rankforge serve")?;
    eprintln!("rankforge serve: stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    #[test]
    fn flags_map_to_the_library_config() {
        let cli = Cli::parse_from([
            "serve",
            "--model",
            "ce",
            "--embed-model",
            "bi",
            "--port",
            "0",
            "--long-doc",
            "max-chunk",
            "--chunk-window",
            "64",
            "--chunk-stride",
            "32",
            "--chunk-max-windows",
            "3",
            "--max-batch-requests",
            "7",
            "--max-client-batch-size",
            "9",
            "--precision",
            "bf16",
        ]);
        let config = cli.serve.config().unwrap();
        assert_eq!(config.bind, "127.0.0.1:0".parse().unwrap());
        let reranker = config.reranker.unwrap();
        assert_eq!(reranker.dir, PathBuf::from("ce"));
        assert_eq!(
            reranker.long_doc,
            LongDocMode::MaxChunk {
                window: 64,
                stride: 32
            }
        );
        assert_eq!(reranker.max_windows, 3);
        assert_eq!(reranker.precision, rankforge_model::Precision::Bf16);
        let embedder = config.embedder.unwrap();
        assert_eq!(embedder.dir, PathBuf::from("bi"));
        assert_eq!(embedder.precision, rankforge_model::Precision::Bf16);
        assert_eq!(config.batching.max_batch_requests, 7);
        assert_eq!(config.limits.max_client_batch_size, 9);
        assert_eq!(config.cache_size, 0);
        let connections = cli.serve.connections().unwrap();
        assert_eq!(connections, ConnectionLimits::default());
    }

    #[test]
    fn connection_flags_map_to_the_limits_and_bad_ones_are_named() {
        let parse = |extra: &[&str]| {
            let mut args = vec!["serve", "--model", "ce"];
            args.extend_from_slice(extra);
            Cli::parse_from(args).serve.connections()
        };
        let limits = parse(&["--max-connections", "8", "--header-read-timeout", "0.5"]).unwrap();
        assert_eq!(limits.max_connections, 8);
        assert_eq!(limits.header_read_timeout, Duration::from_millis(500));
        let error = parse(&["--body-read-timeout", "0"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("--body-read-timeout"), "{error}");
        let error = parse(&["--shutdown-timeout=-1"]).unwrap_err().to_string();
        assert!(error.contains("--shutdown-timeout"), "{error}");
        let error = parse(&["--max-connections", "0"]).unwrap_err().to_string();
        assert!(error.contains("--max-connections"), "{error}");
    }

    #[test]
    fn every_flag_has_a_rankforge_environment_variable() {
        use clap::CommandFactory;
        let command = Cli::command();
        for argument in command.get_arguments() {
            let id = argument.get_id().as_str();
            if id == "help" || id == "version" {
                continue;
            }
            let env = argument
                .get_env()
                .unwrap_or_else(|| panic!("--{id} has no environment variable"));
            let expected = format!("RANKFORGE_{}", id.to_uppercase());
            assert_eq!(env.to_str().unwrap(), expected, "--{id}");
        }
    }
}
