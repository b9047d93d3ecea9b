//! A generative reranker (T5, issue 25) behind `/rerank` and `/v2/rerank`: the tiny random
//! checkpoints of `scripts/reference/t5_reference.py` answer transformers' monoT5 scores
//! (`tests/fixtures/t5.json`: the sigmoid of true − false, i.e. the 2-way softmax of "true",
//! and the raw log-odds with `raw_scores`), RankT5's raw logit with the `rank` settings, the
//! same from the score cache, and `/info` names the rule.

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
    let path = root().join("tests/fixtures/t5.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn server(name: &str, generative: Option<GenerativeSettings>) -> TestServer {
    let mut config = loopback_config();
    config.reranker = Some(RerankerConfig {
        dir: root().join("tests/fixtures").join(name),
        max_length: None,
        head_seed: HEAD_SEED,
        long_doc: LongDocMode::Truncate,
        max_windows: rankforge_model::DEFAULT_MAX_WINDOWS,
        precision: Default::default(),
        generative,
        causal_lm: None,
    });
    config.cache_size = 64;
    TestServer::start(config)
}

/// The score of the one document of a TEI `/rerank` answer.
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
        "{what}: server {ours} vs transformers {want}"
    );
}

#[tokio::test]
async fn rerank_gives_transformers_monot5_scores_and_their_raw_log_odds() {
    let fx = fixture();
    for name in ["t5-tiny-relu", "t5-tiny-gated"] {
        let server = server(name, None);
        let pairs = fx[name]["pairs"].as_array().unwrap();
        for round in ["computed", "cached"] {
            for (i, p) in pairs.iter().enumerate() {
                let (q, d) = (
                    p["query"].as_str().unwrap(),
                    p["document"].as_str().unwrap(),
                );
                let what = format!("{name} pair {i} ({round})");
                let sigmoid = tei_score(&server, q, d, false).await;
                close(sigmoid, p["mono_softmax_true"].as_f64().unwrap(), &what);
                let raw = tei_score(&server, q, d, true).await;
                close(raw, p["mono_raw"].as_f64().unwrap(), &what);
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
                same[index]["mono_softmax_true"].as_f64().unwrap(),
                "cohere",
            );
            assert!(score <= last);
            last = score;
        }

        let info: Value = client()
            .get(server.url("/info"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let reranker = &info["reranker"];
        assert_eq!(
            reranker["max_input_length"], fx[name]["max_length"],
            "{info}"
        );
        assert_eq!(reranker["generative"]["template"], "mono", "{info}");
        assert_eq!(reranker["generative"]["true_token"], "▁true", "{info}");
        server.stop().unwrap();
    }
}

#[tokio::test]
async fn rank_settings_give_rankt5_raw_logits_and_truncate_false_refuses_long_prompts() {
    let fx = fixture();
    let name = "t5-tiny-relu";
    let server = server(name, Some(GenerativeSettings::rank_t5()));
    for (i, p) in fx[name]["pairs"].as_array().unwrap().iter().enumerate() {
        let (q, d) = (
            p["query"].as_str().unwrap(),
            p["document"].as_str().unwrap(),
        );
        let raw = tei_score(&server, q, d, true).await;
        close(raw, p["rank_raw"].as_f64().unwrap(), &format!("pair {i}"));
    }
    let long = "word ".repeat(2000);
    let (status, _, body) = post_json(
        &server.url("/rerank"),
        &json!({ "query": "q", "texts": [long], "truncate": false }),
    )
    .await;
    assert_eq!(status, 413, "{body}");
    let (status, _, body) = post_json(
        &server.url("/rerank"),
        &json!({ "query": "q", "texts": [long] }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    server.stop().unwrap();
}

#[test]
fn generative_settings_are_refused_for_a_cross_encoder() {
    let mut config = loopback_config();
    let mut reranker = reranker_config();
    reranker.generative = Some(GenerativeSettings::rank_t5());
    config.reranker = Some(reranker);
    let error = TestServer::try_start(config).err().expect("refused");
    assert!(error.to_string().contains("generative"), "{error}");
}
