//! A bounded load test of a running `rankforge serve`: `--clients` concurrent clients each send
//! `--requests` TEI-style `/rerank` requests of one query × `--docs` documents, taken in turn
//! from a pairs file (`{"query", "document"}` per line, `--docs` consecutive lines per query).
//! It stops by itself after the fixed count or `--max-seconds`, whichever comes first, and
//! prints JSON: throughput, latency percentiles, errors.
//!
//! Loopback only: `--url` must name 127.0.0.1, localhost or [::1].
//!
//!   cargo run --release -p rankforge-serve --example loadtest -- \
//!     --url http://127.0.0.1:8080 --pairs pairs.jsonl --clients 4 --requests 5 --docs 50

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use serde_json::{json, Value};

#[derive(Debug, Parser)]
struct Args {
    /// Server base URL (loopback only).
    #[arg(long)]
    url: String,
    /// jsonl of `{"query", "document"}`; every `--docs` consecutive lines share a query.
    #[arg(long)]
    pairs: PathBuf,
    /// Concurrent clients.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// Requests per client.
    #[arg(long, default_value_t = 5)]
    requests: usize,
    /// Documents per request.
    #[arg(long, default_value_t = 50)]
    docs: usize,
    /// Stop sending new requests after this many seconds.
    #[arg(long, default_value_t = 600)]
    max_seconds: u64,
    /// Wait this long at most for `/health` to answer before starting.
    #[arg(long, default_value_t = 300)]
    ready_seconds: u64,
    /// Write the result JSON here as well as to stdout.
    #[arg(long)]
    output: Option<PathBuf>,
}

struct Outcome {
    status: u16,
    latency: Duration,
    batch_requests: Option<f64>,
}

fn check_loopback(url: &str) -> Result<()> {
    let rest = url
        .strip_prefix("http://")
        .context("--url must start with http://")?;
    let host = rest.split('/').next().unwrap_or_default();
    let host = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host.split(':').next().unwrap_or_default()
    };
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        bail!("--url must be a loopback address (127.0.0.1, localhost, [::1]), got {host}");
    }
    Ok(())
}

/// Request bodies: one per group of `docs` consecutive pairs.
fn request_bodies(path: &PathBuf, docs: usize) -> Result<Vec<Value>> {
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    let pairs: Vec<(String, String)> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, line)| {
            let row: Value = serde_json::from_str(line)
                .with_context(|| format!("{}:{}", path.display(), i + 1))?;
            let field = |name: &str| {
                row[name]
                    .as_str()
                    .map(str::to_string)
                    .with_context(|| format!("{}:{}: no `{name}`", path.display(), i + 1))
            };
            Ok((field("query")?, field("document")?))
        })
        .collect::<Result<_>>()?;
    if pairs.len() < docs || docs == 0 {
        bail!("{}: need at least --docs {docs} pairs", path.display());
    }
    Ok(pairs
        .chunks_exact(docs)
        .map(|group| {
            let texts: Vec<&str> = group.iter().map(|(_, d)| d.as_str()).collect();
            json!({ "query": group[0].0, "texts": texts })
        })
        .collect())
}

async fn wait_ready(client: &reqwest::Client, url: &str, limit: Duration) -> Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(response) = client.get(format!("{url}/health")).send().await {
            if response.status().is_success() {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            bail!("{url}/health did not answer within {} s", limit.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    check_loopback(&args.url)?;
    let url = args.url.trim_end_matches('/').to_string();
    let bodies = request_bodies(&args.pairs, args.docs)?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(args.max_seconds + 60))
        .build()?;
    wait_ready(&client, &url, Duration::from_secs(args.ready_seconds)).await?;

    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.max_seconds);
    let mut tasks = Vec::new();
    for client_index in 0..args.clients {
        let client = client.clone();
        let endpoint = format!("{url}/rerank");
        let bodies = bodies.clone();
        let requests = args.requests;
        let clients = args.clients;
        tasks.push(tokio::spawn(async move {
            let mut outcomes = Vec::with_capacity(requests);
            for k in 0..requests {
                if Instant::now() >= deadline {
                    break;
                }
                let body = &bodies[(k * clients + client_index) % bodies.len()];
                let sent = Instant::now();
                let outcome = match client.post(&endpoint).json(body).send().await {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let batch_requests = response
                            .headers()
                            .get("x-batch-requests")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.parse().ok());
                        let ok = response.bytes().await.is_ok();
                        Outcome {
                            status: if ok { status } else { 0 },
                            latency: sent.elapsed(),
                            batch_requests,
                        }
                    }
                    Err(_) => Outcome {
                        status: 0,
                        latency: sent.elapsed(),
                        batch_requests: None,
                    },
                };
                outcomes.push(outcome);
            }
            outcomes
        }));
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.extend(task.await?);
    }
    let elapsed = started.elapsed().as_secs_f64();

    let ok: Vec<&Outcome> = outcomes.iter().filter(|o| o.status == 200).collect();
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    for outcome in outcomes.iter().filter(|o| o.status != 200) {
        let key = match outcome.status {
            0 => "connection".to_string(),
            status => status.to_string(),
        };
        *errors.entry(key).or_default() += 1;
    }
    let mut latencies: Vec<f64> = ok
        .iter()
        .map(|o| o.latency.as_secs_f64() * 1000.0)
        .collect();
    latencies.sort_by(f64::total_cmp);
    let batch: Vec<f64> = ok.iter().filter_map(|o| o.batch_requests).collect();
    let result = json!({
        "clients": args.clients,
        "requests_per_client": args.requests,
        "docs_per_request": args.docs,
        "requests": outcomes.len(),
        "ok": ok.len(),
        "errors": outcomes.len() - ok.len(),
        "errors_by_status": errors,
        "seconds": elapsed,
        "requests_per_second": ok.len() as f64 / elapsed,
        "pairs_per_second": (ok.len() * args.docs) as f64 / elapsed,
        "latency_ms": {
            "p50": percentile(&latencies, 0.50),
            "p90": percentile(&latencies, 0.90),
            "p99": percentile(&latencies, 0.99),
            "max": latencies.last().copied().unwrap_or(f64::NAN),
        },
        "mean_requests_per_worker_batch": if batch.is_empty() { f64::NAN } else { batch.iter().sum::<f64>() / batch.len() as f64 },
        "stopped_by_time_limit": outcomes.len() < args.clients * args.requests,
    });
    let text = serde_json::to_string_pretty(&result)?;
    println!("{text}");
    if let Some(path) = &args.output {
        std::fs::write(path, text + "\n")?;
    }
    Ok(())
}
