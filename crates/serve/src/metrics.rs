//! Prometheus metrics of one server (its own registry, so several servers in one process — the
//! tests — do not mix counts), served as text at `GET /metrics`.

use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus::{
    exponential_buckets, Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter,
    IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

use crate::errors::ErrorKind;

/// The paths counted by name; anything else is counted as `other`.
pub const ENDPOINTS: [&str; 9] = [
    "/rerank",
    "/v2/rerank",
    "/embed",
    "/embed_all",
    "/health",
    "/info",
    "/metrics",
    "/openapi.json",
    "other",
];

#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub errors: IntCounterVec,
    pub request_seconds: HistogramVec,
    pub queue_depth: IntGauge,
    pub in_flight: IntGauge,
    pub queue_seconds: Histogram,
    pub tokenization_seconds: Histogram,
    pub inference_seconds: Histogram,
    pub batch_requests: Histogram,
    pub batch_sequences: Histogram,
    pub batch_tokens: Histogram,
    pub tokens: IntCounter,
    pub sequences: IntCounter,
    pub cache_hits: IntCounter,
    pub cache_misses: IntCounter,
    pub cache_entries: IntGauge,
    pub batch_splits: IntCounter,
    pub open_connections: IntGauge,
    pub header_timeouts: IntCounter,
}

fn latency_buckets() -> Vec<f64> {
    // 0.5 ms … ~65 s
    exponential_buckets(0.0005, 2.0, 18).expect("valid buckets")
}

fn size_buckets(max: f64) -> Vec<f64> {
    let mut buckets = vec![1.0];
    while *buckets.last().expect("non-empty") < max {
        let next = buckets.last().expect("non-empty") * 2.0;
        buckets.push(next);
    }
    buckets
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("rankforge_requests_total", "HTTP requests by endpoint"),
            &["endpoint"],
        )
        .expect("valid metric");
        let errors = IntCounterVec::new(
            Opts::new(
                "rankforge_errors_total",
                "Error responses by error_type (the JSON body's)",
            ),
            &["kind"],
        )
        .expect("valid metric");
        let request_seconds = HistogramVec::new(
            HistogramOpts::new(
                "rankforge_request_duration_seconds",
                "Time from request to response, by endpoint",
            )
            .buckets(latency_buckets()),
            &["endpoint"],
        )
        .expect("valid metric");
        let histogram = |name: &str, help: &str, buckets: Vec<f64>| {
            Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets))
                .expect("valid metric")
        };
        let gauge = |name: &str, help: &str| IntGauge::new(name, help).expect("valid metric");
        let counter = |name: &str, help: &str| IntCounter::new(name, help).expect("valid metric");
        let metrics = Self {
            requests,
            errors,
            request_seconds,
            queue_depth: gauge(
                "rankforge_queue_depth",
                "Requests waiting for the inference worker",
            ),
            in_flight: gauge(
                "rankforge_in_flight_requests",
                "Requests being handled (tokenizing, queued or running)",
            ),
            queue_seconds: histogram(
                "rankforge_queue_duration_seconds",
                "Time a request waited in the queue",
                latency_buckets(),
            ),
            tokenization_seconds: histogram(
                "rankforge_tokenization_duration_seconds",
                "Time spent tokenizing a request",
                latency_buckets(),
            ),
            inference_seconds: histogram(
                "rankforge_inference_duration_seconds",
                "Time the worker spent on a batch (all its forward passes)",
                latency_buckets(),
            ),
            batch_requests: histogram(
                "rankforge_batch_requests",
                "Requests per worker batch",
                size_buckets(1024.0),
            ),
            batch_sequences: histogram(
                "rankforge_batch_sequences",
                "Sequences per worker batch",
                size_buckets(65536.0),
            ),
            batch_tokens: histogram(
                "rankforge_batch_tokens",
                "Tokens (unpadded) per worker batch",
                size_buckets(1048576.0),
            ),
            tokens: counter("rankforge_tokens_total", "Tokens sent through the model"),
            sequences: counter(
                "rankforge_sequences_total",
                "Sequences sent through the model",
            ),
            cache_hits: counter(
                "rankforge_cache_hits_total",
                "Score cache lookups that found a score",
            ),
            cache_misses: counter(
                "rankforge_cache_misses_total",
                "Score cache lookups that found none (only counted when the cache is on)",
            ),
            cache_entries: gauge("rankforge_cache_entries", "Scores held by the cache"),
            batch_splits: counter(
                "rankforge_batch_splits_total",
                "Worker batches (or parts of one) whose forward pass failed and were split to \
                 find the requests that fail",
            ),
            open_connections: gauge(
                "rankforge_open_connections",
                "Client connections open now (at most --max-connections)",
            ),
            header_timeouts: counter(
                "rankforge_header_timeouts_total",
                "Connections closed because a request head did not arrive in time \
                 (--header-read-timeout)",
            ),
            registry,
        };
        metrics.register_all();
        for endpoint in ENDPOINTS {
            metrics.requests.with_label_values(&[endpoint]);
        }
        for kind in ErrorKind::ALL {
            metrics.errors.with_label_values(&[kind.as_str()]);
        }
        metrics
    }

    fn register_all(&self) {
        let collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(self.requests.clone()),
            Box::new(self.errors.clone()),
            Box::new(self.request_seconds.clone()),
            Box::new(self.queue_depth.clone()),
            Box::new(self.in_flight.clone()),
            Box::new(self.queue_seconds.clone()),
            Box::new(self.tokenization_seconds.clone()),
            Box::new(self.inference_seconds.clone()),
            Box::new(self.batch_requests.clone()),
            Box::new(self.batch_sequences.clone()),
            Box::new(self.batch_tokens.clone()),
            Box::new(self.tokens.clone()),
            Box::new(self.sequences.clone()),
            Box::new(self.cache_hits.clone()),
            Box::new(self.cache_misses.clone()),
            Box::new(self.cache_entries.clone()),
            Box::new(self.batch_splits.clone()),
            Box::new(self.open_connections.clone()),
            Box::new(self.header_timeouts.clone()),
        ];
        for collector in collectors {
            self.registry
                .register(collector)
                .expect("metric names are unique");
        }
    }

    /// One worker batch: how many requests, sequences and tokens, and how long it ran.
    pub fn record_batch(&self, requests: usize, sequences: usize, tokens: usize, took: Duration) {
        self.batch_requests.observe(requests as f64);
        self.batch_sequences.observe(sequences as f64);
        self.batch_tokens.observe(tokens as f64);
        self.tokens.inc_by(tokens as u64);
        self.sequences.inc_by(sequences as u64);
        self.inference_seconds.observe(took.as_secs_f64());
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding of gathered metrics");
        String::from_utf8(out).expect("prometheus text is UTF-8")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Middleware: counts every request by endpoint, times it, and counts error responses by the
/// kind [`crate::errors::ApiError`] left in the response's extensions.
pub async fn track_requests(
    State(metrics): State<Metrics>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let endpoint = ENDPOINTS
        .iter()
        .find(|&&known| known == path)
        .copied()
        .unwrap_or("other");
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.requests.with_label_values(&[endpoint]).inc();
    metrics
        .request_seconds
        .with_label_values(&[endpoint])
        .observe(started.elapsed().as_secs_f64());
    if let Some(kind) = response.extensions().get::<ErrorKind>() {
        metrics.errors.with_label_values(&[kind.as_str()]).inc();
    }
    response
}
