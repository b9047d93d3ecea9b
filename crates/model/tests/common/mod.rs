//! Shared helpers of the model crate's integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

pub type B = rankforge_model::backend::Cpu;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// all-MiniLM-L6-v2, fetched by `scripts/fetch_model.sh` (the test scripts run it first).
pub fn minilm_dir() -> PathBuf {
    let dir = std::env::var_os("RANKFORGE_MINILM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".cache/models/all-MiniLM-L6-v2"));
    assert!(
        dir.join("model.safetensors").is_file(),
        "all-MiniLM-L6-v2 not found at {}: run scripts/fetch_model.sh (scripts/test.sh does)",
        dir.display()
    );
    dir
}

pub fn fixture(name: &str) -> serde_json::Value {
    let path = repo_root().join("tests/fixtures").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

pub fn f32s(v: &serde_json::Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

pub fn u32s(v: &serde_json::Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

pub fn strs(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

/// The largest `|a[i] − b[i]|` of two equally long, non-empty vectors of finite values.
///
/// Panics otherwise: a fold with `f32::max` skips a NaN difference (and `inf − inf` is NaN),
/// and a zip of unequal lengths compares a prefix, so a NaN, infinite, short or empty output
/// would pass any tolerance.
pub fn max_abs_diff(ours: &[f32], reference: &[f32]) -> f32 {
    assert_eq!(ours.len(), reference.len(), "length mismatch");
    assert!(!ours.is_empty(), "nothing to compare");
    for (side, values) in [("ours", ours), ("reference", reference)] {
        if let Some(i) = values.iter().position(|x| !x.is_finite()) {
            panic!("{side}[{i}] = {} is not finite", values[i]);
        }
    }
    ours.iter()
        .zip(reference)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}
