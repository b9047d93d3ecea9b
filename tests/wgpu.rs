//! The GPU code path without a GPU: the `rankforge` binary built with `--features wgpu` runs
//! burn's cubecl kernels and fusion (what `--device cuda` runs) on whatever Vulkan device the
//! machine has; in CI that is Mesa's lavapipe, a software Vulkan 1.3 driver
//! (`scripts/install_vulkan.sh`). None of rankforge's hand-written CPU kernels run here: every
//! operation takes burn's generic composition, so these tests check that path end to end
//! against the PyTorch fixtures and against the CPU backend.
//!
//! Tolerances: 1e-4 absolute on logits of magnitude ~5 and 1e-5 on unit-norm embeddings. The
//! GPU kernels reduce in other orders (tiled matmuls, tree reductions in softmax and
//! LayerNorm), so f32 results differ from PyTorch's CPU ones in the last few bits per
//! operation; over 6 layers that stays below 1e-5 relative.
//!
//! `cargo test -p rankforge-cli --features wgpu --test wgpu`

use std::path::Path;

use serde_json::{json, Value};

#[path = "../crates/model/tests/common/mod.rs"]
mod model_common;
use model_common::{f32s, max_abs_diff};

#[path = "common/mod.rs"]
mod common;
use common::*;

/// `predict --raw` with the default batching (32 sequences, 16384 tokens).
fn predict(model: &Path, input: &Path, output: &Path, device: &str) -> Vec<f32> {
    ok(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
        "--raw",
        "--device",
        device,
    ]);
    scores(output)
}

#[test]
fn predict_on_wgpu_matches_pytorch_and_the_cpu_backend() {
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixture();
    let model = fixture_cross_encoder(tmp.path());
    let rows: Vec<Value> = fx["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| json!({"query": p[0], "document": p[1]}))
        .collect();
    let input = tmp.path().join("pairs.jsonl");
    write_jsonl(&input, &rows);
    let gpu = predict(&model, &input, &tmp.path().join("wgpu.jsonl"), "wgpu");
    let cpu = predict(&model, &input, &tmp.path().join("cpu.jsonl"), "cpu");
    let torch = f32s(&fx["logits"]);
    let diff = max_abs_diff(&gpu, &torch);
    assert!(diff <= 1e-4, "wgpu vs PyTorch: max abs diff {diff}");
    let diff = max_abs_diff(&gpu, &cpu);
    assert!(diff <= 1e-4, "wgpu vs cpu: max abs diff {diff}");
}

/// lavapipe binds at most 128 MiB per buffer, and burn's wgpu backend computes a larger tensor
/// wrongly without an error: 11 pairs of 512 tokens (12 heads: 138 MB of attention scores)
/// scored 0.2769 each where the CPU and PyTorch give −1.1196. The inference path cuts such
/// batches (`rankforge_kernels::backend::max_tensor_bytes`), so the default batching is right.
#[test]
fn batches_over_the_devices_buffer_limit_are_cut_and_score_right() {
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixture();
    let model = fixture_cross_encoder(tmp.path());
    let long = &fx["pairs"][8];
    let rows: Vec<Value> = (0..11)
        .map(|_| json!({"query": long[0], "document": long[1]}))
        .collect();
    let input = tmp.path().join("long.jsonl");
    write_jsonl(&input, &rows);
    let gpu = predict(&model, &input, &tmp.path().join("wgpu.jsonl"), "wgpu");
    let want = vec![fx["logits"][8].as_f64().unwrap() as f32; 11];
    let diff = max_abs_diff(&gpu, &want);
    assert!(
        diff <= 1e-4,
        "11 × 512 tokens on wgpu: max abs diff {diff} ({gpu:?})"
    );
}

/// int8 has CPU kernels only: on wgpu it would run f32 while reporting int8, so it is refused
/// before the model loads, naming what to use instead.
#[test]
fn int8_on_wgpu_is_refused_with_the_alternative() {
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixture();
    let model = fixture_cross_encoder(tmp.path());
    let input = write_fixture_pairs(tmp.path(), &fx);
    let output = tmp.path().join("out.jsonl");
    let message = err(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
        "--device",
        "wgpu",
        "--precision",
        "int8",
    ]);
    assert!(
        message.contains("int8 runs on the CPU backend only") && message.contains("bf16"),
        "{message}"
    );
    assert!(!output.exists(), "nothing is written");
}

#[test]
fn embed_on_wgpu_matches_sentence_transformers() {
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixture();
    let (texts, want) = (&fx["texts"], &fx["embeddings"]);
    assert_embed_matches(tmp.path(), &minilm(), texts, want, &["--device", "wgpu"]);
}

/// Two optimizer steps of the cross-encoder on the bundled sample, on wgpu (autodiff through
/// burn's generic attention, dropout and AdamW tensor path); the saved model then scores on
/// the CPU backend as it did on wgpu, so save/load round-trips across backends.
#[test]
fn training_steps_on_wgpu_save_a_model_the_cpu_scores_alike() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = root().join("data/sample");
    let out = tmp.path().join("run");
    let config = tmp.path().join("train.toml");
    std::fs::write(&config, tiny_train_config(&out, &minilm())).unwrap();
    ok(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--device",
        "wgpu",
        "--quiet",
    ]);
    let log = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let losses: Vec<f64> = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["kind"] == "train")
        .map(|r| r["loss"].as_f64().unwrap())
        .collect();
    assert_eq!(losses.len(), 2, "{log}");
    assert!(
        losses.iter().all(|l| l.is_finite() && *l > 0.0),
        "{losses:?}"
    );

    // The trainer's own final dev scores (computed on wgpu) against the CPU backend's scores
    // of the saved model on the same pairs.
    let trec = std::fs::read_to_string(out.join("final-dev.trec")).unwrap();
    let corpus = beir_texts(&sample.join("corpus.jsonl"), true);
    let queries = beir_texts(&sample.join("queries.jsonl"), false);
    let mut rows = Vec::new();
    let mut trainer = Vec::new();
    for line in trec.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        rows.push(json!({"query": queries[f[0]], "document": corpus[f[2]]}));
        trainer.push(f[4].parse::<f32>().unwrap());
    }
    assert_eq!(rows.len(), 4 * 8);
    let input = tmp.path().join("dev-pairs.jsonl");
    write_jsonl(&input, &rows);
    let output = tmp.path().join("cpu.jsonl");
    ok(&[
        "predict",
        "--model",
        out.join("final").to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ]);
    let diff = max_abs_diff(&scores(&output), &trainer);
    assert!(diff <= 1e-4, "cpu scores of the wgpu-trained model: {diff}");
}
