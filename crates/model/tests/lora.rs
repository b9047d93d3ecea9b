//! LoRA adapters on the decoder-only reranker (issue 25) against peft: the adapter of
//! `scripts/reference/lora_reference.py` (`tests/fixtures/lora/qwen3-tiny-adapter`: r = 4,
//! alpha = 8, all seven projections of both layers of the tiny Qwen3 reranker, lora_B seeded
//! non-zero) and its reference outputs (`tests/fixtures/lora/lora.json`).
//!
//! Tolerances: raw scores 1e-5 absolute (scores of magnitude ~1–3), as the base model's own
//! parity (`tests/qwen3.rs`): both sides run f32 through two layers of width 32 and differ by
//! summation order only (measured ~1e-6, printed with `--nocapture`); an adapter read with A and
//! B swapped, untransposed, a wrong scaling (α/r vs α/√r) or a projection left out moves the
//! scores by 0.1 or more (the adapter moves them by up to 3.1). The loss 1e-5; LoRA
//! gradients: L2 norm and sum within 1e-4 of the norm and the first 8 values (peft's layout)
//! within the same bound, the bound the other training parity tests use (`assert_gradients_match`):
//! a backward pass sums more products in other orders. Merged against unmerged, in memory and
//! through a saved directory: 1e-5 (`W + s·A·B` rounds once more than the branch). Save →
//! load: exact (the f32 values are written and read back bit for bit).

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use burn::module::{AutodiffModule, Module, ModuleVisitor, Param};
use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::tensor::activation::log_softmax;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Int, Tensor, TensorData};
use common::*;
use rankforge_model::layers::{LoraConfig, LORA_TARGETS};
use rankforge_model::qwen3::lora::{peft_tensor_name, ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE};
use rankforge_model::qwen3::{io, CausalLmReranker, Qwen3ForCausalLM};
use rankforge_model::{Activation, Precision};
use serde_json::Value;

type Ad = rankforge_model::backend::CpuAutodiff;
type Balanced = burn::backend::Autodiff<
    rankforge_model::backend::Cpu,
    burn::backend::autodiff::checkpoint::strategy::BalancedCheckpointing,
>;

fn base_dir() -> PathBuf {
    repo_root().join("tests/fixtures/qwen3-tiny-reranker")
}

fn adapter_dir() -> PathBuf {
    repo_root().join("tests/fixtures/lora/qwen3-tiny-adapter")
}

fn fx() -> Value {
    fixture("lora/lora.json")
}

fn ids_of(v: &Value) -> Vec<Vec<u32>> {
    v.as_array().unwrap().iter().map(u32s).collect()
}

fn pair_ids(fx: &Value) -> Vec<Vec<u32>> {
    fx["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| u32s(&p["ids"]))
        .collect()
}

fn pair_scores(fx: &Value, key: &str) -> Vec<f32> {
    fx["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[key].as_f64().unwrap() as f32)
        .collect()
}

fn tokens(fx: &Value) -> [u32; 2] {
    [
        fx["true_token_id"].as_u64().unwrap() as u32,
        fx["false_token_id"].as_u64().unwrap() as u32,
    ]
}

fn reranker() -> CausalLmReranker<B> {
    CausalLmReranker::<B>::load(
        base_dir(),
        None,
        None,
        Activation::Identity,
        run(8),
        Precision::F32,
        &Default::default(),
    )
    .unwrap()
    .0
}

/// Raw scores `logit(true) − logit(false)` at the last position of `prompts` as one
/// left-padded batch, `[prompts]`: the differentiable path a training step takes.
fn raw_scores<A: Backend>(
    model: &Qwen3ForCausalLM<A>,
    prompts: &[Vec<u32>],
    tokens: [u32; 2],
) -> Tensor<A, 1> {
    let device = Default::default();
    let seq = prompts.iter().map(Vec::len).max().unwrap();
    let lengths: Vec<usize> = prompts.iter().map(Vec::len).collect();
    let mut ids = vec![0i64; prompts.len() * seq];
    for (row, p) in prompts.iter().enumerate() {
        for (c, &t) in p.iter().enumerate() {
            ids[row * seq + seq - p.len() + c] = t as i64;
        }
    }
    let masks = model.masks(&lengths, seq, &device);
    let ids = Tensor::<A, 2, Int>::from_data(TensorData::new(ids, [prompts.len(), seq]), &device);
    let logits = model
        .last_hidden(ids, &masks)
        .matmul(model.head_rows(&tokens).transpose());
    let n = prompts.len();
    (logits.clone().narrow(1, 0, 1) - logits.narrow(1, 1, 1)).reshape([n])
}

/// Each prompt scored alone (a batch of one), as the reference runs them.
fn scores_one_by_one<A: Backend>(
    model: &Qwen3ForCausalLM<A>,
    prompts: &[Vec<u32>],
    tokens: [u32; 2],
) -> Vec<f32> {
    prompts
        .iter()
        .map(|p| {
            raw_scores(model, std::slice::from_ref(p), tokens)
                .into_scalar()
                .elem::<f32>()
        })
        .collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    max_abs_diff(a, b)
}

/// The group's loss: cross-entropy over its raw scores, the positive at index 0.
fn group_loss<A: Backend>(
    model: &Qwen3ForCausalLM<A>,
    prompts: &[Vec<u32>],
    tokens: [u32; 2],
) -> (Tensor<A, 1>, Tensor<A, 1>) {
    let scores = raw_scores(model, prompts, tokens);
    let n = prompts.len();
    let loss = -log_softmax(scores.clone().reshape([1, n]), 1)
        .narrow(1, 0, 1)
        .reshape([1]);
    (loss, scores)
}

/// The base model with the fixture's adapter, base frozen, on an autodiff backend.
fn trainable<A: AutodiffBackend>() -> Qwen3ForCausalLM<A> {
    let (mut model, _, _) = io::load::<A>(&base_dir(), &Default::default()).unwrap();
    model.load_adapter(adapter_dir()).unwrap();
    model.freeze_base()
}

/// Module path → the gradient's dims and values (burn's layout), `None` without one.
type FoundGrads = BTreeMap<String, Option<(Vec<usize>, Vec<f32>)>>;

/// Every float parameter's path and its gradient (values row-major in burn's layout, and
/// dims), or `None`.
struct Grads<'a, A: AutodiffBackend> {
    grads: &'a A::Gradients,
    path: Vec<String>,
    found: FoundGrads,
}

impl<A: AutodiffBackend> ModuleVisitor<A> for Grads<'_, A> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<A, D>>) {
        let grad = param.val().grad(self.grads).map(|g| {
            (
                g.dims().to_vec(),
                g.into_data().convert::<f32>().into_vec().unwrap(),
            )
        });
        self.found.insert(self.path.join("."), grad);
    }
}

fn gradients<A: AutodiffBackend>(model: &Qwen3ForCausalLM<A>, grads: &A::Gradients) -> FoundGrads {
    let mut visitor = Grads::<A> {
        grads,
        path: Vec::new(),
        found: BTreeMap::new(),
    };
    model.visit(&mut visitor);
    visitor.found
}

/// A LoRA matrix's module path (`model.layers.1.lora.q_proj.lora_b`) as peft names it.
fn peft_name(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split('.').collect();
    match parts.as_slice() {
        ["model", "layers", i, "lora", proj, ab] => {
            Some(peft_tensor_name(i.parse().unwrap(), proj, *ab == "lora_b"))
        }
        _ => None,
    }
}

/// `[rows, cols]` row-major → its transpose, row-major.
fn transposed(dims: &[usize], values: &[f32]) -> Vec<f32> {
    let (rows, cols) = (dims[0], dims[1]);
    (0..cols)
        .flat_map(|c| (0..rows).map(move |r| values[r * cols + c]))
        .collect()
}

#[test]
fn adapter_scores_match_peft_and_merging_changes_nothing() {
    let fx = fx();
    let prompts = pair_ids(&fx);
    let base = pair_scores(&fx, "base_score");
    let want = pair_scores(&fx, "adapter_score");
    let want_merged = pair_scores(&fx, "merged_score");

    let mut reranker = reranker();
    let plain = reranker.raw_scores_encoded(&prompts);
    let config = reranker.load_adapter(adapter_dir(), false).unwrap();
    assert_eq!((config.r, config.alpha, config.scaling()), (4, 8.0, 2.0));
    assert_eq!(config.target_modules.len(), 7);
    let adapted = reranker.raw_scores_encoded(&prompts);
    // The batched path (left padding) and each prompt alone.
    let alone = scores_one_by_one(&reranker.model, &prompts, tokens(&fx));
    let moved = max_diff(&base, &want);
    let d_base = max_diff(&plain, &base);
    let d = max_diff(&adapted, &want);
    let d_alone = max_diff(&alone, &want);
    reranker.model.merge_lora();
    assert!(reranker.model.lora_config().is_none());
    let merged = reranker.raw_scores_encoded(&prompts);
    let d_merged = max_diff(&merged, &adapted);
    let d_peft_merged = max_diff(&merged, &want_merged);
    println!(
        "the adapter moves peft's scores by up to {moved:.3}; base {d_base:.2e}, adapter \
         {d:.2e} (batched) {d_alone:.2e} (alone) vs peft; merged vs unmerged {d_merged:.2e}, \
         vs peft's merge_and_unload {d_peft_merged:.2e}"
    );
    assert!(moved > 1.0, "the fixture's adapter must matter: {moved}");
    assert!(d_base < 1e-5, "{plain:?} vs {base:?}");
    assert!(d < 1e-5, "{adapted:?} vs {want:?}");
    assert!(d_alone < 1e-5, "{alone:?} vs {want:?}");
    assert!(d_merged < 1e-5, "{merged:?} vs {adapted:?}");
    assert!(d_peft_merged < 1e-5, "{merged:?} vs {want_merged:?}");

    // Merged at load.
    let mut at_load = reranker_with(true);
    assert!(at_load.model.lora_config().is_none());
    let d_load = max_diff(&at_load.raw_scores_encoded(&prompts), &merged);
    assert!(d_load == 0.0, "{d_load}");
    at_load.model.merge_lora(); // nothing left to merge
}

fn reranker_with(merge: bool) -> CausalLmReranker<B> {
    let mut r = reranker();
    r.load_adapter(adapter_dir(), merge).unwrap();
    r
}

/// One FlagEmbedding-style step (1 positive + 3 negatives, cross-entropy over the raw scores,
/// positive first): the loss and every LoRA matrix's gradient against peft's; the frozen base
/// gets no gradient, so an optimizer sees (and keeps state for) the 28 LoRA matrices only.
#[test]
fn one_step_loss_and_lora_gradients_match_peft_and_the_base_gets_none() {
    let fx = fx();
    let step = &fx["step"];
    let prompts = ids_of(&step["ids"]);
    let model = trainable::<Ad>();
    let (loss, scores) = group_loss(&model, &prompts, tokens(&fx));
    let scores: Vec<f32> = scores.into_data().into_vec().unwrap();
    let value: f32 = loss.clone().into_scalar().elem();
    let want_loss = step["loss"].as_f64().unwrap() as f32;
    let d_scores = max_diff(&scores, &f32s(&step["scores"]));
    println!(
        "loss {value} vs peft {want_loss} ({:.2e}); group scores {d_scores:.2e}",
        (value - want_loss).abs()
    );
    assert!((value - want_loss).abs() < 1e-5);
    assert!(d_scores < 1e-5, "{scores:?}");

    let grads = loss.backward();
    let found = gradients(&model, &grads);
    let want = step["lora_gradients"].as_object().unwrap();
    let mut checked = 0;
    let mut worst = 0f64;
    for (path, grad) in &found {
        match peft_name(path) {
            None => assert!(grad.is_none(), "frozen {path} got a gradient"),
            Some(name) => {
                let (dims, values) = grad
                    .as_ref()
                    .unwrap_or_else(|| panic!("{path}: no gradient"));
                let values = transposed(dims, values);
                let reference = &want[&name];
                let norm = values
                    .iter()
                    .map(|&x| (x as f64).powi(2))
                    .sum::<f64>()
                    .sqrt();
                let sum: f64 = values.iter().map(|&x| x as f64).sum();
                let want_norm = reference["norm"].as_f64().unwrap();
                let want_sum = reference["sum"].as_f64().unwrap();
                let tol = (1e-4 * want_norm).max(1e-6);
                let first = f32s(&reference["first"]);
                let d_first = max_diff(&values[..first.len()], &first) as f64;
                assert!(
                    (norm - want_norm).abs() <= tol
                        && (sum - want_sum).abs() <= tol
                        && d_first <= tol,
                    "{name}: norm {norm} vs {want_norm}, sum {sum} vs {want_sum}, first {d_first}"
                );
                assert!(want_norm > 1e-4, "{name}: a zero gradient proves little");
                worst = worst.max((norm - want_norm).abs() / want_norm);
                checked += 1;
            }
        }
    }
    println!("LoRA gradient norms within {worst:.2e} (relative) of peft's");
    assert_eq!(checked, want.len(), "every peft LoRA gradient checked");
    assert_eq!(checked, 28);
    assert!(found.len() > 28, "the base parameters were visited");

    // What an optimizer receives: the LoRA matrices only, so it keeps state for them alone.
    let weight_before: Vec<f32> = model.model.layers[0]
        .self_attn
        .attention
        .q_proj
        .weight
        .val()
        .into_data()
        .into_vec()
        .unwrap();
    let a_before: Vec<f32> = lora_a(&model, 0, "q_proj");
    let params = GradientsParams::from_grads(grads, &model);
    assert_eq!(params.len(), 28);
    let mut optim = AdamWConfig::new().init::<Ad, Qwen3ForCausalLM<Ad>>();
    let model = optim.step(1e-2, model, params);
    assert_eq!(optim.to_record().len(), 28, "optimizer state for LoRA only");
    let weight_after: Vec<f32> = model.model.layers[0]
        .self_attn
        .attention
        .q_proj
        .weight
        .val()
        .into_data()
        .into_vec()
        .unwrap();
    assert_eq!(weight_before, weight_after, "a frozen weight moved");
    assert_ne!(
        a_before,
        lora_a(&model, 0, "q_proj"),
        "the adapter did not move"
    );
}

fn lora_a<A: Backend>(model: &Qwen3ForCausalLM<A>, layer: usize, name: &str) -> Vec<f32> {
    model.model.layers[layer]
        .lora
        .as_ref()
        .unwrap()
        .get(name)
        .unwrap()
        .lora_a
        .val()
        .into_data()
        .into_vec()
        .unwrap()
}

/// Saved and loaded back: the same matrices bit for bit (and as the peft file's), the same
/// settings, the same scores.
#[test]
fn save_then_load_round_trip_is_exact() {
    let fx = fx();
    let prompts = pair_ids(&fx);
    let device = Default::default();
    let (mut model, _, _) = io::load::<B>(&base_dir(), &device).unwrap();
    let config = model.load_adapter(adapter_dir()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("adapter");
    model
        .save_adapter(&out, Some("tests/fixtures/qwen3-tiny-reranker"))
        .unwrap();
    let (mut again, _, _) = io::load::<B>(&base_dir(), &device).unwrap();
    let reread = again.load_adapter(&out).unwrap();
    assert_eq!(reread, config);
    for layer in 0..2 {
        for name in LORA_TARGETS {
            assert_eq!(lora_a(&model, layer, name), lora_a(&again, layer, name));
        }
    }
    let before = scores_one_by_one(&model, &prompts, tokens(&fx));
    let after = scores_one_by_one(&again, &prompts, tokens(&fx));
    assert_eq!(before, after);
    // The tensors written are peft's, byte for byte, under the same names.
    let ours = std::fs::read(out.join(ADAPTER_WEIGHTS_FILE)).unwrap();
    let theirs = std::fs::read(adapter_dir().join(ADAPTER_WEIGHTS_FILE)).unwrap();
    let ours = safetensors::SafeTensors::deserialize(&ours).unwrap();
    let theirs = safetensors::SafeTensors::deserialize(&theirs).unwrap();
    let mut names = ours.names();
    names.sort();
    let mut want = theirs.names();
    want.sort();
    assert_eq!(names, want);
    for name in names {
        let (a, b) = (ours.tensor(name).unwrap(), theirs.tensor(name).unwrap());
        assert_eq!(a.shape(), b.shape(), "{name}");
        assert_eq!(a.data(), b.data(), "{name}");
    }
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join(ADAPTER_CONFIG_FILE)).unwrap())
            .unwrap();
    for key in [
        "r",
        "lora_alpha",
        "lora_dropout",
        "peft_type",
        "task_type",
        "bias",
        "use_rslora",
    ] {
        assert!(written.get(key).is_some(), "{key}");
    }
}

/// Fresh branches: seeded (the same seed, the same A), peft's bounds, B zero (a no-op).
#[test]
fn attached_adapters_are_seeded_no_ops() {
    let fx = fx();
    let prompts = pair_ids(&fx);
    let device = Default::default();
    let (mut model, _, _) = io::load::<B>(&base_dir(), &device).unwrap();
    let base = scores_one_by_one(&model, &prompts, tokens(&fx));
    let mut config = LoraConfig::new(8, 16.0);
    config.target_modules = vec!["q_proj".into(), "down_proj".into()];
    model.attach_lora(config.clone(), 5).unwrap();
    assert_eq!(scores_one_by_one(&model, &prompts, tokens(&fx)), base);
    let layer = model.model.layers[1].lora.as_ref().unwrap();
    assert!(layer.get("k_proj").is_none() && layer.get("down_proj").is_some());
    let a = lora_a(&model, 1, "down_proj");
    assert_eq!(a.len(), 64 * 8);
    assert!(a.iter().all(|v| v.abs() <= 1.0 / 8.0) && a.iter().any(|&v| v != 0.0));
    let (mut other, _, _) = io::load::<B>(&base_dir(), &device).unwrap();
    other.attach_lora(config.clone(), 5).unwrap();
    assert_eq!(lora_a(&other, 1, "down_proj"), a);
    other.attach_lora(config, 6).unwrap();
    assert_ne!(lora_a(&other, 1, "down_proj"), a);
}

/// The merged directory (base files + `W + s·B·A`) loads as the same reranker and scores as
/// the unmerged adapter and as peft's `merge_and_unload`.
#[test]
fn the_merged_directory_scores_as_peft_merge_and_unload() {
    let fx = fx();
    let prompts = pair_ids(&fx);
    let device = Default::default();
    let (mut model, _, _) = io::load::<B>(&base_dir(), &device).unwrap();
    model.load_adapter(adapter_dir()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("merged");
    let written = model.save_merged(base_dir(), &out).unwrap();
    assert_eq!(written, out.join("model.safetensors"));
    for file in [
        "modules.json",
        "config.json",
        "tokenizer.json",
        "1_LogitScore/config.json",
    ] {
        assert!(out.join(file).is_file(), "{file}");
    }
    let merged = CausalLmReranker::<B>::load(
        &out,
        None,
        None,
        Activation::Identity,
        run(8),
        Precision::F32,
        &device,
    )
    .unwrap()
    .0;
    let scores = merged.raw_scores_encoded(&prompts);
    let d_peft = max_diff(&scores, &pair_scores(&fx, "merged_score"));
    let d_unmerged = max_diff(&scores, &pair_scores(&fx, "adapter_score"));
    println!(
        "merged directory vs peft merge_and_unload {d_peft:.2e}, vs the adapter {d_unmerged:.2e}"
    );
    assert!(d_peft < 1e-5 && d_unmerged < 1e-5, "{scores:?}");
    // Only the adapted projections changed.
    let read = |dir: &std::path::Path| std::fs::read(dir.join("model.safetensors")).unwrap();
    let (a, b) = (read(&out), read(&base_dir()));
    let (a, b) = (
        safetensors::SafeTensors::deserialize(&a).unwrap(),
        safetensors::SafeTensors::deserialize(&b).unwrap(),
    );
    for name in b.names() {
        let changed = a.tensor(name).unwrap().data() != b.tensor(name).unwrap().data();
        let adapted = LORA_TARGETS
            .iter()
            .any(|t| name.ends_with(&format!("{t}.weight")));
        assert_eq!(changed, adapted, "{name}");
    }
}

/// Adapters rankforge cannot compute as peft would are refused with the reason.
#[test]
fn unsupported_or_incomplete_adapters_are_refused() {
    let device = Default::default();
    let tmp = tempfile::tempdir().unwrap();
    let config: Value = serde_json::from_str(
        &std::fs::read_to_string(adapter_dir().join(ADAPTER_CONFIG_FILE)).unwrap(),
    )
    .unwrap();
    let cases: [(&str, Value); 3] = [
        ("use_dora", serde_json::json!(true)),
        ("target_modules", serde_json::json!(["q_proj", "lm_head"])),
        ("r", serde_json::json!(8)),
    ];
    for (key, value) in cases {
        let dir = tmp.path().join(key);
        std::fs::create_dir_all(&dir).unwrap();
        let mut c = config.clone();
        c[key] = value;
        std::fs::write(dir.join(ADAPTER_CONFIG_FILE), c.to_string()).unwrap();
        std::fs::copy(
            adapter_dir().join(ADAPTER_WEIGHTS_FILE),
            dir.join(ADAPTER_WEIGHTS_FILE),
        )
        .unwrap();
        let (mut model, _, _) = io::load::<B>(&base_dir(), &device).unwrap();
        let err = model.load_adapter(&dir).unwrap_err().to_string();
        println!("{key}: {err}");
        assert!(
            err.contains(key) || err.contains("lm_head") || err.contains("shape"),
            "{key}: {err}"
        );
        assert!(model.lora_config().is_none());
    }
    // Fewer targets than the file holds: the rest are unexpected tensors.
    let dir = tmp.path().join("fewer");
    std::fs::create_dir_all(&dir).unwrap();
    let mut c = config.clone();
    c["target_modules"] = serde_json::json!(["q_proj"]);
    std::fs::write(dir.join(ADAPTER_CONFIG_FILE), c.to_string()).unwrap();
    std::fs::copy(
        adapter_dir().join(ADAPTER_WEIGHTS_FILE),
        dir.join(ADAPTER_WEIGHTS_FILE),
    )
    .unwrap();
    let (mut model, _, _) = io::load::<B>(&base_dir(), &device).unwrap();
    let err = model.load_adapter(&dir).unwrap_err().to_string();
    assert!(err.contains("k_proj.lora_A"), "{err}");
}

/// burn 0.21's `BalancedCheckpointing` (recompute cheap, memory-bound operations in the backward
/// pass instead of keeping their outputs) gives the gradients of the default strategy, bit for
/// bit: it changes what is kept, not what is computed (the decoder's projections have no bias,
/// so none takes rankforge's fused `Autodiff<Flex>` linear kernel, which under another
/// strategy would fall back to burn's operations).
#[test]
fn balanced_checkpointing_gives_the_same_loss_and_gradients() {
    let fx = fx();
    let prompts = ids_of(&fx["step"]["ids"]);
    let lora_grads = |found: FoundGrads| {
        found
            .into_iter()
            .filter(|(p, _)| peft_name(p).is_some())
            .map(|(p, g)| (p, g.unwrap().1))
            .collect::<BTreeMap<_, _>>()
    };
    let plain = trainable::<Ad>();
    let (loss, _) = group_loss(&plain, &prompts, tokens(&fx));
    let l_plain: f32 = loss.clone().into_scalar().elem();
    let g_plain = lora_grads(gradients(&plain, &loss.backward()));
    let balanced = trainable::<Balanced>();
    let (loss, _) = group_loss(&balanced, &prompts, tokens(&fx));
    let l_balanced: f32 = loss.clone().into_scalar().elem();
    let g_balanced = lora_grads(gradients(&balanced, &loss.backward()));
    assert_eq!(g_plain.len(), 28);
    assert_eq!(
        g_plain.keys().collect::<Vec<_>>(),
        g_balanced.keys().collect::<Vec<_>>()
    );
    let scale = g_plain.values().flatten().fold(0f32, |m, v| m.max(v.abs()));
    let worst = g_plain
        .iter()
        .map(|(p, g)| max_diff(g, &g_balanced[p]))
        .fold(0f32, f32::max);
    println!(
        "balanced checkpointing: loss {:.2e} apart, gradients {worst:.2e} (largest {scale:.3})",
        (l_plain - l_balanced).abs()
    );
    assert_eq!(l_plain, l_balanced);
    assert_eq!(g_plain, g_balanced, "largest difference {worst}");
}

/// Writes what `scripts/reference/check_lora_saved.py` loads with peft and transformers: the
/// fixture adapter after one AdamW step (so it differs from anything peft wrote) saved as an
/// adapter directory, the same merged into a full directory, and rankforge's scores of both.
/// Run by the script (`RANKFORGE_LORA_OUT=DIR cargo test … -- --ignored`).
#[test]
#[ignore = "run by scripts/reference/check_lora_saved.py"]
fn write_an_adapter_for_the_peft_check() {
    let Some(out) = std::env::var_os("RANKFORGE_LORA_OUT").map(PathBuf::from) else {
        panic!("set RANKFORGE_LORA_OUT");
    };
    let fx = fx();
    let prompts = ids_of(&fx["step"]["ids"]);
    let model = trainable::<Ad>();
    let (loss, _) = group_loss(&model, &prompts, tokens(&fx));
    let params = GradientsParams::from_grads(loss.backward(), &model);
    let mut optim = AdamWConfig::new().init::<Ad, Qwen3ForCausalLM<Ad>>();
    let model = optim.step(1e-2, model, params).valid();
    let base = base_dir();
    model
        .save_adapter(out.join("adapter"), Some(base.to_str().unwrap()))
        .unwrap();
    let pairs = pair_ids(&fx);
    let adapter_scores = scores_one_by_one(&model, &pairs, tokens(&fx));
    model.save_merged(&base, out.join("merged")).unwrap();
    let mut merged = model;
    merged.merge_lora();
    let merged_scores = scores_one_by_one(&merged, &pairs, tokens(&fx));
    let report = serde_json::json!({
        "ids": pairs,
        "adapter_scores": adapter_scores,
        "merged_scores": merged_scores,
        "true_token_id": tokens(&fx)[0],
        "false_token_id": tokens(&fx)[1],
    });
    std::fs::write(out.join("rankforge.json"), report.to_string()).unwrap();
}

/// The same on a Gemma body (GeGLU, norm gains stored as `γ − 1`, embeddings × √hidden): a
/// seeded adapter with non-zero B scores alike unmerged, merged in memory and merged into a
/// directory loaded back (the merge touches the projections only, so Gemma's load-time norm
/// shift is not written twice).
#[test]
fn a_gemma_adapter_merges_into_a_directory_that_scores_alike() {
    let dir = repo_root().join("tests/fixtures/gemma-tiny-reranker");
    let device = Default::default();
    let (mut model, config, _) = io::load::<B>(&dir, &device).unwrap();
    model.attach_lora(LoraConfig::new(4, 8.0), 11).unwrap();
    for layer in &mut model.model.layers {
        let lora = layer.lora.as_mut().unwrap();
        for (k, branch) in [
            &mut lora.q_proj,
            &mut lora.k_proj,
            &mut lora.v_proj,
            &mut lora.o_proj,
            &mut lora.gate_proj,
            &mut lora.up_proj,
            &mut lora.down_proj,
        ]
        .into_iter()
        .enumerate()
        {
            let branch = branch.as_mut().unwrap();
            let [r, d_out] = branch.lora_b.dims();
            let values: Vec<f32> = (0..r * d_out)
                .map(|i| 0.3 * ((i * 7 + k * 13) as f32).sin())
                .collect();
            branch.lora_b = Param::from_tensor(Tensor::from_data(
                TensorData::new(values, [r, d_out]),
                &device,
            ));
        }
    }
    let vocab = config.vocab_size as u32;
    let prompts: Vec<Vec<u32>> = (0..3)
        .map(|p| {
            (0..12 + 5 * p)
                .map(|i| (i * 31 + p * 7 + 3) % vocab)
                .collect()
        })
        .collect();
    let tokens = [5, 9];
    let plain = {
        let (base, _, _) = io::load::<B>(&dir, &device).unwrap();
        scores_one_by_one(&base, &prompts, tokens)
    };
    let adapted = scores_one_by_one(&model, &prompts, tokens);
    let tmp = tempfile::tempdir().unwrap();
    model.save_merged(&dir, tmp.path().join("merged")).unwrap();
    let (reloaded, _, _) = io::load::<B>(&tmp.path().join("merged"), &device).unwrap();
    let from_dir = scores_one_by_one(&reloaded, &prompts, tokens);
    model.merge_lora();
    let in_memory = scores_one_by_one(&model, &prompts, tokens);
    let moved = max_diff(&plain, &adapted);
    let (d_dir, d_mem) = (
        max_diff(&from_dir, &adapted),
        max_diff(&in_memory, &adapted),
    );
    println!("gemma: the adapter moves scores by {moved:.3}; merged dir {d_dir:.2e}, in memory {d_mem:.2e}");
    assert!(moved > 0.1, "{moved}");
    assert!(
        d_dir < 1e-5 && d_mem < 1e-5,
        "{from_dir:?} {in_memory:?} vs {adapted:?}"
    );
}
