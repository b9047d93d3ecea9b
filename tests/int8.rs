//! `--precision int8` (and CPU `bf16`) end to end: the commands that run a model accept it,
//! scores stay close to f32 and keep their order, and the outputs that describe a model record
//! the precision. The kernels' exact arithmetic is tested in `rankforge-kernels`
//! (`int8_gemm`, `bf16_gemm`); here only the wiring.

use std::path::Path;

use serde_json::{json, Value};

/// The model crate's test helpers (the shared helpers below use them).
#[path = "../crates/model/tests/common/mod.rs"]
mod model_common;

#[path = "common/mod.rs"]
mod common;
use common::*;

/// The parity fixture's pairs as a `predict` input (short sequences keep the debug build fast).
fn write_pairs(dir: &Path) -> std::path::PathBuf {
    write_fixture_pairs(dir, &fixture())
}

/// Pairs `(i, j)` ordered the same way by both score lists, over all pairs: Kendall's tau.
fn kendall_tau(a: &[f32], b: &[f32]) -> f64 {
    let (mut concordant, mut discordant) = (0i64, 0i64);
    for i in 0..a.len() {
        for j in i + 1..a.len() {
            let s = (a[i] - a[j]).signum() * (b[i] - b[j]).signum();
            if s > 0.0 {
                concordant += 1;
            } else if s < 0.0 {
                discordant += 1;
            }
        }
    }
    (concordant - discordant) as f64 / (concordant + discordant).max(1) as f64
}

#[test]
fn predict_in_int8_and_bf16_stays_close_to_f32() {
    let tmp = tempfile::tempdir().unwrap();
    // The fixture's trained-looking head: logits of a few units, not the random head's.
    let model = fixture_cross_encoder(tmp.path());
    let input = write_pairs(tmp.path());
    let run = |precision: &str| {
        let output = tmp.path().join(format!("{precision}.jsonl"));
        ok(&[
            "predict",
            "--model",
            model.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
            "--raw",
            "--max-length",
            "64",
            "--precision",
            precision,
            "--quiet",
        ]);
        scores(&output)
    };
    let f32s = run("f32");
    let spread = f32s.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    for (precision, tolerance) in [("int8", 0.15), ("bf16", 0.05)] {
        let got = run(precision);
        assert_eq!(got.len(), f32s.len());
        let diff = got
            .iter()
            .zip(&f32s)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        eprintln!(
            "{precision}: max |Δ logit| {diff} (largest |logit| {spread}), Kendall tau {:.3}",
            kendall_tau(&got, &f32s)
        );
        assert!(
            diff <= tolerance * spread,
            "{precision}: {got:?} vs {f32s:?}"
        );
        assert!(
            kendall_tau(&got, &f32s) >= 0.8,
            "{precision}: {got:?} vs {f32s:?}"
        );
    }
}

#[test]
fn embed_and_bench_accept_int8_and_record_it() {
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixture();
    let texts: Vec<Value> = fx["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| json!({ "text": t }))
        .collect();
    let input = tmp.path().join("texts.jsonl");
    write_jsonl(&input, &texts);
    let m = minilm();
    let embed = |precision: &str| {
        let output = tmp.path().join(format!("emb-{precision}.jsonl"));
        ok(&[
            "embed",
            "--model",
            m.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
            "--precision",
            precision,
            "--quiet",
        ]);
        read_field(&output, "embedding")
            .into_iter()
            .map(|v| {
                v.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap())
                    .collect::<Vec<f64>>()
            })
            .collect::<Vec<_>>()
    };
    let (f32s, int8s) = (embed("f32"), embed("int8"));
    for (a, b) in f32s.iter().zip(&int8s) {
        // Normalised embeddings: the dot product is the cosine.
        let cosine: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        assert!(cosine > 0.98, "int8 embedding cosine {cosine}");
    }

    let pairs = write_pairs(tmp.path());
    let out = ok(&[
        "bench",
        "predict",
        "--model",
        m.to_str().unwrap(),
        "--input",
        pairs.to_str().unwrap(),
        "--max-length",
        "32",
        "--repeat",
        "1",
        "--precision",
        "int8",
    ]);
    let report: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(report["precision"], "int8", "{report}");
}

#[test]
fn an_unknown_precision_names_the_choices() {
    let stderr = err(&[
        "predict",
        "--model",
        "x",
        "--input",
        "x",
        "--output",
        "x",
        "--precision",
        "int4",
    ]);
    assert!(stderr.contains("int8"), "{stderr}");
}
