//! Generative rerankers (issue 25) through the binary: `predict --raw` on the tiny monoT5-style
//! fixture model gives transformers' raw scores (`tests/fixtures/t5.json`, from
//! `scripts/reference/t5_reference.py`), without `--raw` their sigmoid (the 2-way softmax of
//! "true"); `rerank` of a BM25 run over the bundled sample scores each pair as the
//! in-process `GenerativeReranker` does.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

#[path = "../../model/tests/common/mod.rs"]
mod model_common;
use model_common::B;

#[path = "../../../tests/common/mod.rs"]
mod common;
use common::{beir_texts, rankforge, root, trec_scores, write_jsonl};

use rankforge_model::t5::{GenerativeReranker, GenerativeSettings};
use rankforge_model::{Activation, Precision, RunOptions};

fn t5_dir(name: &str) -> PathBuf {
    root().join("tests/fixtures").join(name)
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
    let path = root().join("tests/fixtures/t5.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `|a − b| ≤ 1e-5 × max(1, |b|)`: f32 on both sides, other batching (see
/// `crates/model/tests/t5.rs`).
fn assert_close(ours: f64, want: f64, what: &str) {
    assert!(
        (ours - want).abs() <= 1e-5 * want.abs().max(1.0),
        "{what}: {ours} vs {want}"
    );
}

#[test]
fn predict_gives_transformers_raw_scores_and_their_sigmoid() {
    let fx = fixture();
    let tmp = tempfile::tempdir().unwrap();
    for name in ["t5-tiny-relu", "t5-tiny-gated"] {
        let pairs = fx[name]["pairs"].as_array().unwrap();
        let rows: Vec<Value> = pairs
            .iter()
            .map(|p| json!({"query": p["query"], "document": p["document"]}))
            .collect();
        let input = tmp.path().join("pairs.jsonl");
        write_jsonl(&input, &rows);
        let output = tmp.path().join(format!("{name}.jsonl"));
        let model = t5_dir(name);
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
            log.contains("score = logit(▁true) − logit(▁false)") && log.contains("max length 512"),
            "{log}"
        );
        let raw = common::scores(&output);
        assert_eq!(raw.len(), pairs.len());
        for (p, ours) in pairs.iter().zip(&raw) {
            assert_close(
                *ours as f64,
                p["mono_raw"].as_f64().unwrap(),
                &format!("{name} raw"),
            );
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
        for (p, ours) in pairs.iter().zip(common::scores(&output)) {
            let want = p["mono_softmax_true"].as_f64().unwrap();
            assert!(
                (ours as f64 - want).abs() < 1e-6,
                "{name}: {ours} vs {want}"
            );
        }
    }
}

#[test]
fn rerank_scores_a_bm25_run_with_the_generative_reranker() {
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
        "5",
        "--output",
        s(&first),
        "--quiet",
    ]);
    let model = t5_dir("t5-tiny-gated");
    let out = tmp.path().join("t5.trec");
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
        "5",
        "--output",
        s(&out),
        "--quiet",
    ]);
    assert!(log.contains("generative reranker (T5)"), "{log}");

    let scorer = GenerativeReranker::<B>::load(
        &model,
        Some(GenerativeSettings::mono_t5()),
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
    assert!(lines.len() >= 20, "{}", lines.len());
    let pairs: Vec<(&str, &str)> = lines
        .iter()
        .map(|(q, d, _)| (queries[q].as_str(), corpus[d].as_str()))
        .collect();
    let want = scorer.score(&pairs).unwrap();
    let mut last: HashMap<&str, f64> = HashMap::new();
    for ((q, d, ours), want) in lines.iter().zip(want) {
        assert_close(*ours, want as f64, &format!("{q} {d}"));
        // Each query's documents in decreasing score order.
        if let Some(&before) = last.get(q.as_str()) {
            assert!(*ours <= before, "{q}: {ours} after {before}");
        }
        last.insert(q.as_str(), *ours);
    }
}
