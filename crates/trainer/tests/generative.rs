//! Generative reranker (T5) training (issue 25): one training step against PyTorch
//! (`scripts/reference/t5_train_reference.py`, `tests/fixtures/t5_train.json`: monoT5's
//! cross-entropy over the vocabulary and ListNet on the raw score, their losses and a few
//! parameters' gradients), then runs on the tiny world whose saved `T5ForConditionalGeneration`
//! reloads and reranks the dev candidates with the metrics the trainer reported, and the
//! config checks.
//!
//! Tolerances: losses 1e-5 relative; gradients 1e-5 × max(1, the tensor's largest |value|)
//! (f32 on both sides through 2 + 2 blocks; a wrong mask, target or tie moves them by far more).

mod common;

use std::path::{Path, PathBuf};

use burn::module::Param;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::Tensor;
use common::*;
use rankforge_model::t5::{io, GenerativeReranker, T5ForConditionalGeneration};
use rankforge_model::{rerank_run, Activation, Precision, Reranker, RerankerOptions, RunOptions};
use rankforge_trainer::generative::{lm_loss, raw_scores};
use rankforge_trainer::{train, TrainConfig, TrainOptions};
use serde_json::Value;

type B = CpuAutodiff;

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture_dir(name: &str) -> PathBuf {
    repo().join("tests/fixtures").join(name)
}

/// A copy of a fixture model with `dropout_rate` 0 (PyTorch's side ran in eval mode).
fn without_dropout(name: &str, tmp: &Path) -> PathBuf {
    let out = tmp.join(name);
    std::fs::create_dir_all(&out).unwrap();
    for entry in std::fs::read_dir(fixture_dir(name)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), out.join(entry.file_name())).unwrap();
    }
    let path = out.join("config.json");
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config["dropout_rate"] = 0.0.into();
    std::fs::write(&path, config.to_string()).unwrap();
    out
}

fn flat(v: &Value) -> Vec<f32> {
    match v {
        Value::Array(items) => items.iter().flat_map(flat).collect(),
        Value::Number(n) => vec![n.as_f64().unwrap() as f32],
        other => panic!("{other}"),
    }
}

fn values<const D: usize>(t: Tensor<<B as AutodiffBackend>::InnerBackend, D>) -> Vec<f32> {
    t.into_data().into_vec().unwrap()
}

fn assert_grad(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: size");
    let scale = want.iter().fold(1.0f32, |m, w| m.max(w.abs()));
    let worst = got
        .iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst <= 1e-5 * scale,
        "{what}: max |Δ| {worst} (scale {scale})"
    );
}

/// Gradient of a parameter, PyTorch's layout (`transpose`: a Linear weight, `[in, out]` here).
fn grad2(
    param: &Param<Tensor<B, 2>>,
    grads: &<B as AutodiffBackend>::Gradients,
    transpose: bool,
) -> Tensor<<B as AutodiffBackend>::InnerBackend, 2> {
    let g = param.grad(grads).expect("a gradient");
    if transpose {
        g.transpose()
    } else {
        g
    }
}

#[test]
fn one_step_losses_and_gradients_match_pytorch() {
    let fx: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("tests/fixtures/t5_train.json")).unwrap(),
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let device = Default::default();
    let groups = fx["groups"].as_array().unwrap();
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut labels = Vec::new();
    let mut valid = Vec::new();
    for g in groups {
        for ((d, l), v) in g["documents"]
            .as_array()
            .unwrap()
            .iter()
            .zip(g["labels"].as_array().unwrap())
            .zip(g["valid"].as_array().unwrap())
        {
            pairs.push((
                g["query"].as_str().unwrap().into(),
                d.as_str().unwrap().into(),
            ));
            labels.push(l.as_f64().unwrap() as f32);
            valid.push(v.as_bool().unwrap());
        }
    }
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(q, d)| (q.as_str(), d.as_str()))
        .collect();
    for name in ["t5-tiny-relu", "t5-tiny-gated"] {
        let dir = without_dropout(name, tmp.path());
        let (reranker, _) = GenerativeReranker::<B>::load(
            &dir,
            None,
            None,
            Activation::Identity,
            RunOptions::default(),
            Precision::F32,
            &device,
        )
        .unwrap();
        let (model, parts): (T5ForConditionalGeneration<B>, _) = reranker.split();
        let prompts = parts.prompts.encode(&refs).unwrap();
        let start = parts.config.decoder_start_id();
        let tokens = parts.token_ids.clone();
        for objective in ["lm", "listnet"] {
            let want = &fx[name][objective];
            let loss = match objective {
                "lm" => {
                    let targets: Vec<u32> = labels
                        .iter()
                        .map(|&l| if l > 0.0 { tokens[0] } else { tokens[1] })
                        .collect();
                    lm_loss(&model, &prompts, &targets, &valid, start, &device)
                }
                _ => {
                    let scores = raw_scores(&model, &prompts, start, &tokens, &device)
                        .reshape([groups.len(), 3]);
                    let input = rankforge_losses::LossInput::from_scores(scores)
                        .with_labels(Tensor::from_data(
                            burn::tensor::TensorData::new(labels.clone(), [groups.len(), 3]),
                            &device,
                        ))
                        .with_valid_mask(Tensor::from_data(
                            burn::tensor::TensorData::new(valid.clone(), [groups.len(), 3]),
                            &device,
                        ));
                    let loss = rankforge_losses::LossConfig::ListNet(Default::default())
                        .build()
                        .unwrap();
                    loss.compute(&input).unwrap()
                }
            };
            let value = loss.clone().into_scalar();
            let want_loss = want["loss"].as_f64().unwrap() as f32;
            assert!(
                (value - want_loss).abs() <= 1e-5 * want_loss.abs().max(1.0),
                "{name} {objective}: loss {value} vs {want_loss}"
            );
            let grads = loss.backward();
            let what = |p: &str| format!("{name} {objective} {p}");
            let wanted = &want["gradients"];
            let e0 = &model.encoder.block[0];
            let d0 = &model.decoder.block[0];
            let d1 = &model.decoder.block[1];
            let checks: Vec<(&str, Tensor<_, 2>)> = vec![
                (
                    "encoder.block.0.layer.0.SelfAttention.q.weight",
                    grad2(&e0.self_attention.attention.q.weight, &grads, true),
                ),
                (
                    "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
                    grad2(
                        &e0.self_attention
                            .attention
                            .relative_attention_bias
                            .as_ref()
                            .unwrap()
                            .weight,
                        &grads,
                        false,
                    ),
                ),
                (
                    "decoder.block.0.layer.1.EncDecAttention.k.weight",
                    grad2(
                        &d0.cross_attention.as_ref().unwrap().attention.k.weight,
                        &grads,
                        true,
                    ),
                ),
                (
                    "decoder.block.1.layer.2.DenseReluDense.wo.weight",
                    grad2(&d1.ff.dense_relu_dense.wo.weight, &grads, true),
                ),
            ];
            for (key, got) in checks {
                assert_grad(&values(got), &flat(&wanted[key]["values"]), &what(key));
            }
            let norm = model.decoder.final_layer_norm.weight.grad(&grads).unwrap();
            assert_grad(
                &values(norm),
                &flat(&wanted["decoder.final_layer_norm.weight"]["values"]),
                &what("decoder.final_layer_norm.weight"),
            );
            let mut rows_of = vec![("shared.weight", model.shared.weight.clone())];
            if let Some(head) = &model.lm_head {
                rows_of.push(("lm_head.weight", head.weight.clone()));
            }
            for (key, param) in rows_of {
                let entry = &wanted[key];
                let g = grad2(&param, &grads, false);
                let rows: Vec<f32> = entry["rows"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .flat_map(|r| {
                        let r = r.as_u64().unwrap() as usize;
                        let d = g.dims()[1];
                        values(g.clone().slice([r..r + 1, 0..d]))
                    })
                    .collect();
                assert_grad(&rows, &flat(&entry["values"]), &what(key));
            }
        }
    }
}

fn quiet() -> TrainOptions {
    TrainOptions {
        quiet: true,
        ..Default::default()
    }
}

/// A generative run over the tiny world from the tiny monoT5-style fixture.
fn config(world: &World, name: &str, loss: &str, generative: &str) -> TrainConfig {
    let text = world
        .config_text(name, loss, "")
        .replace("kind = \"cross_encoder\"", "kind = \"generative\"")
        .replace(
            &format!("base = \"{}\"", world.base.display()),
            &format!("base = \"{}\"", fixture_dir("t5-tiny-relu").display()),
        )
        .replace("max_length = 32", "max_length = 48")
        + generative;
    TrainConfig::from_toml(&text, Path::new("generative.toml")).unwrap()
}

/// The dev metrics of the saved model reranking the run's BM25 candidates, loaded as every
/// command loads it.
fn rerank_metrics(world: &World, run_dir: &Path, dir: &Path) -> Vec<(String, f64)> {
    let (reranker, report) =
        Reranker::<Cpu>::load(dir, &RerankerOptions::default(), &Default::default()).unwrap();
    assert_eq!(reranker.kind(), "generative (T5)");
    // The length trained at, recorded in tokenizer_config.json and read back by default.
    assert_eq!(report.max_length.as_ref().map(|(n, _)| *n), Some(48));
    let beir =
        rankforge_data::BeirDataset::load(&world.data, "dev", rankforge_data::ReadMode::Strict)
            .unwrap()
            .into_data();
    let candidates = rankforge_data::Run::read(run_dir.join("bm25-dev.trec")).unwrap();
    let run = rerank_run(&reranker, &beir.corpus, &beir.queries, &candidates, 10).unwrap();
    let metrics = rankforge_eval::parse_metrics("ndcg@10,mrr@10").unwrap();
    let evaluation = rankforge_eval::evaluate(&beir.qrels, &run, &metrics).unwrap();
    ["ndcg@10", "mrr@10"]
        .iter()
        .zip(&metrics)
        .map(|(name, m)| (name.to_string(), evaluation.mean(m).unwrap()))
        .collect()
}

/// monoT5's objective (loss = "bce" standing for the vocabulary cross-entropy) and RankT5's
/// (ListNet on the raw score): the saved `T5ForConditionalGeneration` directory holds the
/// checkpoint's tensor names, config and tokenizer, loads back as a generative reranker, and
/// reranks the dev candidates with the trainer's final metrics; the weights moved.
#[test]
fn training_saves_a_t5_that_reranks_as_trained() {
    let _serial = serial();
    let world = World::new();
    let device = Default::default();
    for (name, loss, generative) in [
        ("mono", "loss = \"bce\"", ""),
        (
            "rank",
            "loss = \"listnet\"",
            "\n[generative]\nobjective = \"score\"\n",
        ),
    ] {
        let cfg = config(&world, name, loss, generative);
        let summary = train::<CpuAutodiff>(&cfg, &quiet(), &device).unwrap();
        assert!(summary.steps > 0);
        let out = &cfg.run.output_dir;
        let saved = out.join("final");
        for file in ["config.json", "model.safetensors", "tokenizer.json"] {
            assert!(saved.join(file).is_file(), "{name}: {file} missing");
        }
        let mut names = io::tensor_names(&saved.join("model.safetensors")).unwrap();
        names.sort();
        let mut base_names =
            io::tensor_names(&fixture_dir("t5-tiny-relu").join("model.safetensors")).unwrap();
        base_names.retain(|n| !n.ends_with("embed_tokens.weight"));
        base_names.sort();
        assert_eq!(
            names, base_names,
            "{name}: the checkpoint's own tensor names"
        );
        let after = summary.final_metrics.clone().unwrap();
        let reloaded = rerank_metrics(&world, out, &saved);
        for ((na, va), (nb, vb)) in reloaded.iter().zip(&after) {
            assert_eq!(na, nb);
            assert!((va - vb).abs() <= 1e-9, "{name} {na}: {va} vs {vb}");
        }
        let (trained, _, _) = io::load::<Cpu>(&saved, &device).unwrap();
        let (base, _, _) = io::load::<Cpu>(&fixture_dir("t5-tiny-relu"), &device).unwrap();
        let moved = (trained.shared.weight.val() - base.shared.weight.val())
            .abs()
            .max()
            .into_scalar();
        assert!(moved > 0.0, "{name}: the embedding did not move");
    }
}

#[test]
fn config_checks() {
    let world = World::new();
    let text = |loss: &str, generative: &str| {
        world
            .config_text("x", loss, "")
            .replace("kind = \"cross_encoder\"", "kind = \"generative\"")
            + generative
    };
    let err = |t: String| {
        TrainConfig::from_toml(&t, Path::new("g.toml"))
            .unwrap_err()
            .to_string()
    };
    let e = err(text("loss = \"listnet\"", ""));
    assert!(e.contains("objective = \"lm\""), "{e}");
    let e = err(text(
        "loss = \"bce\"",
        "\n[generative]\ntemplate = \"rank\"\n",
    ));
    assert!(e.contains("false token"), "{e}");
    let cross = world.config_text("y", "loss = \"bce\"", "") + "\n[generative]\n";
    let e = err(cross);
    assert!(e.contains("[generative] applies"), "{e}");
    TrainConfig::from_toml(
        &text(
            "loss = \"lambda_loss\"",
            "\n[generative]\ntemplate = \"rank\"\nobjective = \"score\"\n",
        ),
        Path::new("g.toml"),
    )
    .unwrap();
}

/// A run stopped after 5 steps and resumed from its checkpoint (a T5 directory plus the
/// optimizer state) ends with the weights and metrics of an uninterrupted run.
#[test]
fn a_resumed_run_ends_as_an_uninterrupted_one() {
    let _serial = serial();
    let world = World::new();
    let device = Default::default();
    let full_config = config(&world, "full", "loss = \"bce\"", "");
    let full = train::<CpuAutodiff>(&full_config, &quiet(), &device).unwrap();
    let resumed_config = config(&world, "resumed", "loss = \"bce\"", "");
    let stopped = train::<CpuAutodiff>(
        &resumed_config,
        &TrainOptions {
            stop_after_steps: Some(5),
            quiet: true,
            ..Default::default()
        },
        &device,
    )
    .unwrap();
    assert_eq!(stopped.steps, 5);
    let resumed = train::<CpuAutodiff>(
        &resumed_config,
        &TrainOptions {
            resume: true,
            quiet: true,
            ..Default::default()
        },
        &device,
    )
    .unwrap();
    assert_eq!(resumed.steps, full.steps);
    let weights =
        |c: &TrainConfig| std::fs::read(c.run.output_dir.join("final/model.safetensors")).unwrap();
    assert!(
        weights(&full_config) == weights(&resumed_config),
        "model.safetensors differs after resuming"
    );
    let (a, b) = (full.final_metrics.unwrap(), resumed.final_metrics.unwrap());
    for ((na, va), (nb, vb)) in a.iter().zip(&b) {
        assert_eq!(na, nb);
        assert!((va - vb).abs() <= 1e-12, "{na}: {va} vs {vb}");
    }
}
