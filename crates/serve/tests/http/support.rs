//! Test servers on loopback ports, a reqwest client, and direct library scoring to compare with.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::thread::JoinHandle;

use rankforge_model::backend::Cpu;
use rankforge_model::{BiEncoder, CrossEncoder, LongDocMode};
use rankforge_serve::{
    ConnectionLimits, EmbedderConfig, RerankerConfig, ServeConfig, ServeError, Server,
};
use serde_json::Value;
use tokio::sync::oneshot;

/// Every test model runs with this input length (short: keeps the debug-build tests fast).
pub const MAX_LENGTH: usize = 128;
pub const HEAD_SEED: u64 = 42;

pub fn minilm() -> PathBuf {
    let dir = std::env::var_os("RANKFORGE_MINILM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.cache/models/all-MiniLM-L6-v2")
        });
    assert!(
        dir.join("model.safetensors").is_file(),
        "all-MiniLM-L6-v2 not found at {}: run scripts/fetch_model.sh (scripts/test.sh does)",
        dir.display()
    );
    dir
}

pub fn reranker_config() -> RerankerConfig {
    RerankerConfig {
        dir: minilm(),
        max_length: Some(MAX_LENGTH),
        head_seed: HEAD_SEED,
        long_doc: LongDocMode::Truncate,
        max_windows: rankforge_model::DEFAULT_MAX_WINDOWS,
        precision: Default::default(),
        generative: None,
        causal_lm: None,
    }
}

pub fn embedder_config() -> EmbedderConfig {
    EmbedderConfig {
        dir: minilm(),
        max_length: Some(MAX_LENGTH),
        precision: Default::default(),
    }
}

/// A config on 127.0.0.1, any free port, with no model.
pub fn loopback_config() -> ServeConfig {
    ServeConfig::new("127.0.0.1:0".parse().unwrap())
}

/// A real server on its own thread and tokio runtime.
pub struct TestServer {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<Result<(), ServeError>>>,
}

impl TestServer {
    pub fn start(config: ServeConfig) -> Self {
        Self::try_start(config).expect("server starts")
    }

    pub fn try_start(config: ServeConfig) -> Result<Self, ServeError> {
        Self::try_start_with_connections(config, ConnectionLimits::default())
    }

    /// A server with its own connection cap and timeouts.
    pub fn start_with_connections(config: ServeConfig, connections: ConnectionLimits) -> Self {
        Self::try_start_with_connections(config, connections).expect("server starts")
    }

    pub fn try_start_with_connections(
        config: ServeConfig,
        connections: ConnectionLimits,
    ) -> Result<Self, ServeError> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let server = match Server::start_with_connections::<Cpu>(
                    config,
                    connections,
                    Default::default(),
                )
                .await
                {
                    Ok(server) => server,
                    Err(error) => {
                        let message = error.to_string();
                        ready_tx.send(Err(error)).unwrap();
                        return Err(ServeError::Config(message));
                    }
                };
                ready_tx.send(Ok(server.local_addr())).unwrap();
                server
                    .run_until(async {
                        let _ = shutdown_rx.await;
                    })
                    .await
            })
        });
        match ready_rx.recv().expect("server thread reports") {
            Ok(addr) => {
                assert!(addr.ip().is_loopback());
                Ok(Self {
                    addr,
                    shutdown: Some(shutdown_tx),
                    thread: Some(thread),
                })
            }
            Err(error) => {
                let _ = thread.join();
                Err(error)
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Signals shutdown (stop accepting, finish in-flight requests) without waiting.
    pub fn begin_shutdown(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }

    /// Shuts down and waits for the server to stop.
    pub fn stop(mut self) -> Result<(), ServeError> {
        self.begin_shutdown();
        self.thread.take().unwrap().join().expect("server thread")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.begin_shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One server with both models and default limits, shared by the tests that need nothing
/// special (it lives until the test process ends).
pub fn shared() -> &'static TestServer {
    static SHARED: OnceLock<TestServer> = OnceLock::new();
    SHARED.get_or_init(|| {
        let mut config = loopback_config();
        config.reranker = Some(reranker_config());
        config.embedder = Some(embedder_config());
        TestServer::start(config)
    })
}

fn reference_scorer() -> &'static Mutex<CrossEncoder<Cpu>> {
    static SCORER: OnceLock<Mutex<CrossEncoder<Cpu>>> = OnceLock::new();
    SCORER.get_or_init(|| {
        let (scorer, _) = CrossEncoder::<Cpu>::builder(minilm())
            .max_length(Some(MAX_LENGTH))
            .head_seed(HEAD_SEED)
            .load(&Default::default())
            .unwrap();
        Mutex::new(scorer)
    })
}

/// `CrossEncoder::score` (what `rankforge predict` runs) of `(query, doc)` for every doc.
pub fn library_scores(query: &str, docs: &[&str]) -> Vec<f32> {
    let pairs: Vec<(&str, &str)> = docs.iter().map(|d| (query, *d)).collect();
    reference_scorer().lock().unwrap().score(&pairs).unwrap()
}

/// Raw logits of `CrossEncoder::logits`.
pub fn library_logits(query: &str, docs: &[&str]) -> Vec<f32> {
    let pairs: Vec<(&str, &str)> = docs.iter().map(|d| (query, *d)).collect();
    reference_scorer()
        .lock()
        .unwrap()
        .logits(&pairs)
        .unwrap()
        .into_iter()
        .map(|row| row[0])
        .collect()
}

/// `CrossEncoder::score` with another long-document mode.
pub fn library_scores_with(long_doc: LongDocMode, query: &str, docs: &[&str]) -> Vec<f32> {
    let mut scorer = reference_scorer().lock().unwrap();
    let saved = scorer.long_doc;
    scorer.long_doc = long_doc;
    let pairs: Vec<(&str, &str)> = docs.iter().map(|d| (query, *d)).collect();
    let scores = scorer.score(&pairs);
    scorer.long_doc = saved;
    scores.unwrap()
}

pub fn library_embeddings(texts: &[&str]) -> Vec<Vec<f32>> {
    static ENCODER: OnceLock<Mutex<BiEncoder<Cpu>>> = OnceLock::new();
    let encoder = ENCODER.get_or_init(|| {
        let (encoder, _) = BiEncoder::<Cpu>::builder(minilm())
            .max_length(Some(MAX_LENGTH))
            .load(&Default::default())
            .unwrap();
        Mutex::new(encoder)
    });
    encoder.lock().unwrap().embed(texts).unwrap()
}

/// Indices from the highest score to the lowest.
pub fn ranking(scores: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order
}

pub fn assert_close(actual: &[f32], expected: &[f32], tolerance: f32, what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= tolerance,
            "{what}[{i}]: server {a} vs library {e} (tolerance {tolerance})"
        );
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("reqwest client")
}

/// Status, headers and JSON body of a POST.
pub async fn post_json(
    url: &str,
    body: &Value,
) -> (reqwest::StatusCode, reqwest::header::HeaderMap, Value) {
    let response = client().post(url).json(body).send().await.expect("request");
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{url}: body is not JSON ({e}): {text}"));
    (status, headers, json)
}

/// Status and JSON body of a POST with a raw (possibly malformed) body.
pub async fn post_raw(url: &str, body: impl Into<reqwest::Body>) -> (reqwest::StatusCode, Value) {
    let response = client()
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("request");
    let status = response.status();
    let text = response.text().await.expect("body");
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{url}: body is not JSON ({e}): {text}"));
    (status, json)
}

pub async fn get_text(url: &str) -> (reqwest::StatusCode, String) {
    let response = client().get(url).send().await.expect("request");
    (response.status(), response.text().await.expect("body"))
}

/// Asserts a JSON error of `status` and `error_type`.
pub fn assert_error(status: reqwest::StatusCode, body: &Value, want: u16, error_type: &str) {
    assert_eq!(status.as_u16(), want, "status; body {body}");
    assert_eq!(body["error_type"], error_type, "error_type; body {body}");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "error message; body {body}"
    );
}

/// The value of an unlabelled (or fully labelled) sample in Prometheus text.
pub fn metric(text: &str, sample: &str) -> f64 {
    text.lines()
        .find_map(|line| {
            line.strip_prefix(sample)
                .and_then(|rest| rest.strip_prefix(' '))
                .map(|value| value.trim().parse::<f64>().unwrap())
        })
        .unwrap_or_else(|| panic!("no sample `{sample}` in metrics:\n{text}"))
}

pub const QUERY: &str = "How do neural networks learn?";
pub const DOCS: [&str; 5] = [
    "Neural networks learn by adjusting weights with gradient descent and backpropagation.",
    "The recipe needs two cups of flour and a pinch of salt.",
    "Backpropagation computes the gradient of the loss with respect to every weight.",
    "Paris is the capital of France.",
    "Deep learning models are trained on large datasets.",
];

/// Waits (≤ 10 s) until the server reports `count` requests in flight.
pub async fn wait_for_in_flight(server: &TestServer, count: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, text) = get_text(&server.url("/metrics")).await;
        if metric(&text, "rankforge_in_flight_requests") as usize >= count {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never saw {count} requests in flight"
        );
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
}
