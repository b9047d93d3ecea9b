//! A decoder-only reranker (Qwen3, issue 25) behind `/rerank` and `/v2/rerank`: the tiny
//! sentence-transformers `LogitScore` directory of `scripts/reference/qwen3_reference.py`
//! answers its reference scores (`tests/fixtures/qwen3.json`: the raw `logit(yes) − logit(no)`
//! with `raw_scores`, its sigmoid otherwise), the same from the score cache, and `/info` names
//! the rule; T5 settings are refused for it.

#[path = "http/support.rs"]
mod support;

use std::path::PathBuf;

use rankforge_model::t5::GenerativeSettings;
use rankforge_model::LongDocMode;
use rankforge_serve::RerankerConfig;
use serde_json::{json, Value};
use support::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture() -> Value {
    let path = root().join("tests/fixtures/qwen3.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn qwen3_config() -> RerankerConfig {
    RerankerConfig {
        dir: root().join("tests/fixtures/qwen3-tiny-reranker"),
        max_length: None,
        head_seed: HEAD_SEED,
        long_doc: LongDocMode::Truncate,
        max_windows: rankforge_model::DEFAULT_MAX_WINDOWS,
        precision: Default::default(),
        generative: None,
        causal_lm: None,
    }
}

async fn tei_score(server: &TestServer, query: &str, document: &str, raw: bool) -> f64 {
    let (status, _, body) = post_json(
        &server.url("/rerank"),
        &json!({ "query": query, "texts": [document], "raw_scores": raw }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body[0]["score"].as_f64().unwrap()
}

fn close(ours: f64, want: f64, what: &str) {
    assert!(
        (ours - want).abs() <= 1e-5 * want.abs().max(1.0),
        "{what}: server {ours} vs sentence-transformers {want}"
    );
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[tokio::test]
async fn rerank_gives_the_fixture_sigmoid_and_raw_scores() {
    let fx = fixture();
    let mut config = loopback_config();
    config.reranker = Some(qwen3_config());
    config.cache_size = 64;
    let server = TestServer::start(config);
    let pairs = fx["pairs"].as_array().unwrap();
    for round in ["computed", "cached"] {
        for (i, p) in pairs.iter().enumerate() {
            let (q, d) = (
                p["query"].as_str().unwrap(),
                p["document"].as_str().unwrap(),
            );
            let want = p["raw_score"].as_f64().unwrap();
            let what = format!("pair {i} ({round})");
            close(tei_score(&server, q, d, true).await, want, &what);
            close(tei_score(&server, q, d, false).await, sigmoid(want), &what);
        }
    }
    // Cohere's shape: all documents of the first query at once, best first.
    let query = pairs[0]["query"].as_str().unwrap();
    let same: Vec<&Value> = pairs.iter().filter(|p| p["query"] == query).collect();
    let documents: Vec<&str> = same
        .iter()
        .map(|p| p["document"].as_str().unwrap())
        .collect();
    let (status, _, body) = post_json(
        &server.url("/v2/rerank"),
        &json!({ "query": query, "documents": documents }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), documents.len());
    let mut last = f64::INFINITY;
    for r in results {
        let index = r["index"].as_u64().unwrap() as usize;
        let score = r["relevance_score"].as_f64().unwrap();
        close(
            score,
            sigmoid(same[index]["raw_score"].as_f64().unwrap()),
            "cohere",
        );
        assert!(score <= last);
        last = score;
    }
    // A long document: cut to fit (the template's suffix kept), or refused with truncate:false.
    let long = "word ".repeat(2000);
    let (status, _, body) = post_json(
        &server.url("/rerank"),
        &json!({ "query": "q", "texts": [long], "truncate": false }),
    )
    .await;
    assert_eq!(status, 413, "{body}");
    let (status, _, body) = post_json(
        &server.url("/rerank"),
        &json!({ "query": "q", "texts": [long], "max_tokens_per_doc": 8 }),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let info: Value = client()
        .get(server.url("/info"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let reranker = &info["reranker"];
    assert_eq!(reranker["max_input_length"], fx["max_length"], "{info}");
    assert_eq!(reranker["generative"]["kind"], "decoder-only", "{info}");
    assert_eq!(reranker["generative"]["model_type"], "qwen3", "{info}");
    let rule = reranker["generative"]["rule"].as_str().unwrap();
    assert!(rule.starts_with("logit(") && rule.contains('−'), "{info}");
    server.stop().unwrap();
}

#[test]
fn t5_settings_are_refused_for_a_decoder_only_reranker() {
    let mut config = loopback_config();
    let mut reranker = qwen3_config();
    reranker.generative = Some(GenerativeSettings::rank_t5());
    config.reranker = Some(reranker);
    let error = TestServer::try_start(config).err().expect("refused");
    assert!(error.to_string().contains("decoder-only"), "{error}");
}
