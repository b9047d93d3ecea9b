//! Decoder-only yes/no rerankers (issue 25) through the binary: `predict --raw` on the tiny
//! Qwen3 reranker saved by sentence-transformers (`tests/fixtures/qwen3-tiny-reranker`) gives
//! sentence-transformers' raw scores `logit(yes) − logit(no)` (`tests/fixtures/qwen3.json`,
//! from `scripts/reference/qwen3_reference.py`), without `--raw` their sigmoid (its
//! CrossEncoder's default); `rerank` of a BM25 run scores each pair as the in-process
//! `CausalLmReranker` does.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

#[path = "../../model/tests/common/mod.rs"]
mod model_common;
use model_common::B;

#[path = "../../../tests/common/mod.rs"]
mod common;
use common::{beir_texts, rankforge, root, trec_scores, write_jsonl};

use rankforge_model::qwen3::CausalLmReranker;
use rankforge_model::{Activation, Precision, RunOptions};

fn model_dir() -> PathBuf {
    root().join("tests/fixtures/qwen3-tiny-reranker")
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn sample(file: &str) -> PathBuf {
    root().join("data/sample").join(file)
}

/// Runs rankforge, asserts success, returns stderr and stdout.
fn ok(args: &[&str]) -> String {
    let out = rankforge(args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "rankforge {args:?} failed: {stderr}");
    stderr + &String::from_utf8_lossy(&out.stdout)
}

fn fixture() -> Value {
    let path = root().join("tests/fixtures/qwen3.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// f32 on both sides, other batching (see `crates/model/tests/qwen3.rs`).
fn assert_close(ours: f64, want: f64, what: &str) {
    assert!(
        (ours - want).abs() <= 1e-5 * want.abs().max(1.0),
        "{what}: {ours} vs {want}"
    );
}

#[test]
fn predict_gives_sentence_transformers_raw_scores_and_their_sigmoid() {
    let fx = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let pairs = fx["pairs"].as_array().unwrap();
    let rows: Vec<Value> = pairs
        .iter()
        .map(|p| json!({"query": p["query"], "document": p["document"]}))
        .collect();
    let input = tmp.path().join("pairs.jsonl");
    write_jsonl(&input, &rows);
    let output = tmp.path().join("scores.jsonl");
    let model = model_dir();
    let log = ok(&[
        "predict",
        "--model",
        s(&model),
        "--input",
        s(&input),
        "--output",
        s(&output),
        "--raw",
        "--quiet",
    ]);
    assert!(
        log.contains("decoder-only reranker")
            && log.contains("logit(\"yes\") − logit(\"no\")")
            && log.contains("max length 160"),
        "{log}"
    );
    let raw = common::scores(&output);
    assert_eq!(raw.len(), pairs.len());
    for (p, ours) in pairs.iter().zip(&raw) {
        assert_close(*ours as f64, p["raw_score"].as_f64().unwrap(), "raw");
    }
    ok(&[
        "predict",
        "--model",
        s(&model),
        "--input",
        s(&input),
        "--output",
        s(&output),
        "--quiet",
    ]);
    let want = fx["batch_sigmoid_scores"].as_array().unwrap();
    for (ours, want) in common::scores(&output).iter().zip(want) {
        let want = want.as_f64().unwrap();
        assert!((*ours as f64 - want).abs() < 1e-6, "{ours} vs {want}");
    }
}

#[test]
fn rerank_scores_a_bm25_run_with_the_decoder_only_reranker() {
    let tmp = tempfile::tempdir().unwrap();
    let first = tmp.path().join("bm25.trec");
    ok(&[
        "retrieve",
        "--corpus",
        s(&sample("corpus.jsonl")),
        "--queries",
        s(&sample("queries.jsonl")),
        "--qrels",
        s(&sample("qrels/dev.tsv")),
        "--top-k",
        "4",
        "--output",
        s(&first),
        "--quiet",
    ]);
    let model = model_dir();
    let out = tmp.path().join("qwen3.trec");
    let log = ok(&[
        "rerank",
        "--model",
        s(&model),
        "--corpus",
        s(&sample("corpus.jsonl")),
        "--queries",
        s(&sample("queries.jsonl")),
        "--run",
        s(&first),
        "--top-k",
        "4",
        "--output",
        s(&out),
        "--quiet",
    ]);
    assert!(log.contains("decoder-only reranker"), "{log}");
    let scorer = CausalLmReranker::<B>::load(
        &model,
        None,
        None,
        Activation::Sigmoid,
        RunOptions::default(),
        Precision::F32,
        &Default::default(),
    )
    .unwrap()
    .0;
    let queries = beir_texts(&sample("queries.jsonl"), false);
    let corpus = beir_texts(&sample("corpus.jsonl"), true);
    let lines = trec_scores(&out);
    assert!(lines.len() >= 12, "{}", lines.len());
    let pairs: Vec<(&str, &str)> = lines
        .iter()
        .map(|(q, d, _)| (queries[q].as_str(), corpus[d].as_str()))
        .collect();
    let want = scorer.score(&pairs).unwrap();
    for ((q, d, ours), want) in lines.iter().zip(want) {
        assert_close(*ours, want as f64, &format!("{q} {d}"));
    }
}
