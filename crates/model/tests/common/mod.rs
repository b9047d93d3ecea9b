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

type Autodiff = rankforge_model::backend::CpuAutodiff;
type Gradients = <Autodiff as burn::tensor::backend::AutodiffBackend>::Gradients;

/// Checks every float parameter's gradient in `grads` against a PyTorch fixture (`want`: HF
/// tensor name → `{norm, sum, first?}`): L2 norm and sum within 1e-4 of the norm (at least 1e-6:
/// a key bias's gradient is zero in exact arithmetic, float noise of ~1e-7 on both sides), the
/// first values where given, and every fixture tensor checked. `hf_name` maps a module path to
/// the checkpoint's tensor name.
pub fn assert_gradients_match<M: burn::module::Module<Autodiff>>(
    label: &str,
    model: &M,
    grads: &Gradients,
    want: &serde_json::Map<String, serde_json::Value>,
    hf_name: impl Fn(&str) -> String,
) {
    let mut collect = CollectGrads {
        grads,
        path: Vec::new(),
        found: Vec::new(),
    };
    model.visit(&mut collect);
    let mut checked = std::collections::BTreeSet::new();
    let mut worst = 0.0f64;
    for (path, values) in collect.found {
        let name = hf_name(&path);
        let reference = want
            .get(&name)
            .unwrap_or_else(|| panic!("{label}: {path} ({name}) not in the fixture"));
        let norm = values.iter().map(|x| x * x).sum::<f64>().sqrt();
        let sum: f64 = values.iter().sum();
        let want_norm = reference["norm"].as_f64().unwrap();
        let want_sum = reference["sum"].as_f64().unwrap();
        let tol = (1e-4 * want_norm).max(1e-6);
        assert!(
            (norm - want_norm).abs() <= tol && (sum - want_sum).abs() <= tol,
            "{label} {name}: norm {norm} vs {want_norm}, sum {sum} vs {want_sum}"
        );
        if let Some(first) = reference.get("first") {
            let first: Vec<f32> = f32s(first);
            let ours: Vec<f32> = values[..first.len()].iter().map(|&x| x as f32).collect();
            let diff = max_abs_diff(&ours, &first);
            assert!(diff as f64 <= tol, "{label} {name}: first values {diff}");
        }
        worst = worst.max((norm - want_norm).abs() / want_norm.max(1e-2));
        checked.insert(name);
    }
    eprintln!("{label}: gradient norms within {worst:e} (relative) of PyTorch's");
    let all: std::collections::BTreeSet<String> = want.keys().cloned().collect();
    assert_eq!(checked, all, "{label}: every PyTorch parameter checked");
}

/// Every float parameter's gradient, with its module path, flattened (as f64).
struct CollectGrads<'a> {
    grads: &'a Gradients,
    path: Vec<String>,
    found: Vec<(String, Vec<f64>)>,
}

impl burn::module::ModuleVisitor<Autodiff> for CollectGrads<'_> {
    // A model enum's variant (`Bert`, `ModernBert`) is not part of a checkpoint name.
    fn enter_module(&mut self, name: &str, container_type: &str) {
        if !container_type.starts_with("Enum:") {
            self.path.push(name.to_string());
        }
    }

    fn exit_module(&mut self, _name: &str, container_type: &str) {
        if !container_type.starts_with("Enum:") {
            self.path.pop();
        }
    }

    fn visit_float<const D: usize>(
        &mut self,
        param: &burn::module::Param<burn::tensor::Tensor<Autodiff, D>>,
    ) {
        let path = self.path.join(".");
        let grad = param
            .val()
            .grad(self.grads)
            .unwrap_or_else(|| panic!("{path}: no gradient"));
        let values: Vec<f64> = grad.into_data().convert::<f64>().into_vec().unwrap();
        self.found.push((path, values));
    }
}

/// A fixture's `pairs` given as `{"query", "document"}` objects (the generative rerankers'
/// fixtures), as owned strings.
pub fn query_document_pairs(entry: &serde_json::Value) -> Vec<(String, String)> {
    entry["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["query"].as_str().unwrap().to_string(),
                p["document"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Borrowed `(query, document)` pairs, as the scorers take them.
pub fn refs(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs
        .iter()
        .map(|(q, d)| (q.as_str(), d.as_str()))
        .collect()
}

/// Run options batching at most `batch` sequences, without a progress bar.
pub fn run(batch: usize) -> rankforge_model::RunOptions {
    rankforge_model::RunOptions {
        batching: rankforge_model::BatchingConfig {
            max_batch_size: batch,
            ..Default::default()
        },
        progress: false,
    }
}
