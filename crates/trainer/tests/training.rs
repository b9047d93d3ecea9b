//! End-to-end training on a tiny model: determinism, resumption, NaN stop, outputs, and the
//! bi-encoder paths.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use rankforge_model::{CrossEncoder, Precision};
use rankforge_trainer::checkpoint::find_checkpoint;
use rankforge_trainer::report::{MetricsRecord, METRICS_FILE};
use rankforge_trainer::{train, TrainError, TrainOptions};

/// burn's CPU backend has one process-wide RNG: dropout draws of one run would interleave
/// with another test's model initialisation. Training tests therefore run one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn quiet() -> TrainOptions {
    TrainOptions {
        quiet: true,
        ..Default::default()
    }
}

fn assert_close(a: &[(String, f64)], b: &[(String, f64)]) {
    assert_eq!(a.len(), b.len());
    for ((na, va), (nb, vb)) in a.iter().zip(b) {
        assert_eq!(na, nb);
        assert!((va - vb).abs() < 1e-12, "{na}: {va} vs {vb}");
    }
}

/// Bit-identical weights; on failure, reports the largest difference.
fn assert_same_weights(a: &Path, b: &Path) {
    let (wa, wb) = (weights(a), weights(b));
    if wa != wb {
        let floats = |w: &[u8]| -> Vec<f32> {
            let n = u64::from_le_bytes(w[..8].try_into().unwrap()) as usize;
            w[8 + n..]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect()
        };
        let max = floats(&wa)
            .iter()
            .zip(floats(&wb))
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        panic!("weights differ, max abs difference {max}");
    }
}

/// The TREC run at `path`, evaluated against the world's dev qrels, gives `reported`.
fn assert_run_scores(world: &World, path: &Path, reported: &[(String, f64)]) {
    let qrels =
        rankforge_data::BeirDataset::load(&world.data, "dev", rankforge_data::ReadMode::Strict)
            .unwrap()
            .into_data()
            .qrels;
    let names: Vec<&str> = reported.iter().map(|(n, _)| n.as_str()).collect();
    let metrics = rankforge_eval::parse_metrics(&names.join(",")).unwrap();
    let run = rankforge_data::Run::read(path).unwrap();
    let evaluation = rankforge_eval::evaluate(&qrels, &run, &metrics).unwrap();
    for ((name, value), metric) in reported.iter().zip(&metrics) {
        let recomputed = evaluation.mean(metric).unwrap();
        assert!(
            (value - recomputed).abs() < 1e-6,
            "{}: {name} {value} vs {recomputed}",
            path.display()
        );
    }
}

fn weights(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join("model.safetensors")).unwrap()
}

/// The f32 tensors of `dir/model.safetensors` by name, without the cross-encoder's `bert.`
/// prefix (a bi-encoder directory has none), so a base model and a trained one line up.
fn tensors(dir: &Path) -> BTreeMap<String, Vec<f32>> {
    let bytes = weights(dir);
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    file.tensors()
        .into_iter()
        .map(|(name, view)| {
            assert_eq!(view.dtype(), safetensors::Dtype::F32, "{name}");
            let values = view
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect();
            let name = name.strip_prefix("bert.").unwrap_or(&name).to_string();
            (name, values)
        })
        .collect()
}

/// `‖trained − base‖ / ‖base‖` over the encoder tensors the two directories share (every
/// tensor of the base; the new classification head is not in it). Every shared tensor must
/// have the same shape and finite values.
fn relative_change(base: &Path, trained: &Path) -> f64 {
    let (base, trained) = (tensors(base), tensors(trained));
    let (mut diff, mut norm) = (0.0f64, 0.0f64);
    for (name, b) in &base {
        let t = trained
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing from the trained model"));
        assert_eq!(t.len(), b.len(), "{name}");
        for (x, y) in t.iter().zip(b) {
            assert!(x.is_finite() && y.is_finite(), "{name}: {x} vs {y}");
            diff += f64::from(x - y).powi(2);
            norm += f64::from(*y).powi(2);
        }
    }
    assert!(!base.is_empty() && norm > 0.0);
    (diff / norm).sqrt()
}

/// The band of [`relative_change`] after the test world's listnet run (12 steps, peak lr
/// 1e-3; measured 4.6e-3, the norm dominated by the LayerNorm weights of 1). An unchanged
/// model gives 0, weight decay alone (gradients zeroed) 7e-5, a 10× learning rate 4.3e-2.
const WEIGHT_CHANGE: (f64, f64) = (1e-3, 2e-2);

#[test]
fn same_seed_gives_identical_metrics_and_weights() {
    let _serial = serial();
    let world = World::new();
    let device = Default::default();
    let a = train::<CpuAutodiff>(
        &world.config("a", r#"loss = "listnet""#, ""),
        &quiet(),
        &device,
    )
    .unwrap();
    let b = train::<CpuAutodiff>(
        &world.config("b", r#"loss = "listnet""#, ""),
        &quiet(),
        &device,
    )
    .unwrap();
    assert!(a.steps > 4, "{} steps", a.steps);
    assert_close(
        &a.final_metrics.clone().unwrap(),
        &b.final_metrics.clone().unwrap(),
    );
    assert_eq!(
        weights(&world.tmp.path().join("a/final")),
        weights(&world.tmp.path().join("b/final"))
    );
    // Training moved the encoder away from the base model, by a plausible amount.
    let change = relative_change(&world.base, &world.tmp.path().join("a/final"));
    assert!(
        (WEIGHT_CHANGE.0..WEIGHT_CHANGE.1).contains(&change),
        "relative L2 change of the encoder {change}, expected in {WEIGHT_CHANGE:?}"
    );
}

#[test]
fn different_seeds_give_different_weights() {
    let _serial = serial();
    let world = World::new();
    let device = Default::default();
    let a = world.config("a", r#"loss = "listnet""#, "");
    let mut b = world.config("b", r#"loss = "listnet""#, "");
    b.run.seed = 8;
    train::<CpuAutodiff>(&a, &quiet(), &device).unwrap();
    train::<CpuAutodiff>(&b, &quiet(), &device).unwrap();
    assert_ne!(
        weights(&world.tmp.path().join("a/final")),
        weights(&world.tmp.path().join("b/final"))
    );
}

#[test]
fn resumed_run_matches_uninterrupted_run() {
    let _serial = serial();
    let world = World::new();
    let device = Default::default();
    // Gradient accumulation and cosine decay in the mix, so the optimizer and schedule state
    // both have to come back right.
    let extra = "grad_accum_steps = 2\nschedule = \"cosine\"";
    let full = train::<CpuAutodiff>(
        &world.config("full", r#"loss = "lambda_loss""#, extra),
        &quiet(),
        &device,
    )
    .unwrap();

    let config = world.config("resumed", r#"loss = "lambda_loss""#, extra);
    let stopped = train::<CpuAutodiff>(
        &config,
        &TrainOptions {
            stop_after_steps: Some(5),
            quiet: true,
            ..Default::default()
        },
        &device,
    )
    .unwrap();
    assert_eq!(stopped.steps, 5);
    assert!(stopped.final_metrics.is_none());
    // Killed after step 5; the last checkpoint is step 4 (every 2 steps), step 5 is redone.
    let checkpoint = find_checkpoint(&config.run.output_dir).unwrap();
    let state = rankforge_trainer::checkpoint::read_state(&checkpoint).unwrap();
    assert_eq!(state.step, 4);

    let resumed = train::<CpuAutodiff>(
        &config,
        &TrainOptions {
            resume: true,
            quiet: true,
            ..Default::default()
        },
        &device,
    )
    .unwrap();
    assert_eq!(resumed.steps, full.steps);
    // Weights are bit-identical (below); metric means may differ in the last ulp because the
    // evaluator sums per-query values in hash order.
    assert_close(
        &resumed.final_metrics.clone().unwrap(),
        &full.final_metrics.clone().unwrap(),
    );
    assert_eq!(resumed.best.map(|b| b.1), full.best.map(|b| b.1));
    assert_same_weights(
        &world.tmp.path().join("full/final"),
        &world.tmp.path().join("resumed/final"),
    );
    // The metrics log has each step once.
    let log = std::fs::read_to_string(config.run.output_dir.join(METRICS_FILE)).unwrap();
    let steps: Vec<usize> = log
        .lines()
        .map(|l| serde_json::from_str::<MetricsRecord>(l).unwrap())
        .filter_map(|r| match r {
            MetricsRecord::Train { step, .. } => Some(step),
            _ => None,
        })
        .collect();
    assert_eq!(steps, (1..=full.steps).collect::<Vec<_>>());
}

/// Issue 19: a fresh run into a directory holding a run is refused (and deletes nothing);
/// `--resume` continues it after a killed checkpoint write left a partial `checkpoint.tmp-<pid>`
/// (which is removed and never used); `--overwrite` starts again from nothing.
#[test]
fn a_fresh_run_over_an_existing_one_is_refused_and_stale_checkpoint_writes_are_removed() {
    let _serial = serial();
    let world = World::new();
    let device = Default::default();
    let config = world.config("twice", r#"loss = "listnet""#, "");
    let dir = config.run.output_dir.clone();
    let stop_after = |steps| TrainOptions {
        stop_after_steps: Some(steps),
        quiet: true,
        ..Default::default()
    };
    train::<CpuAutodiff>(&config, &stop_after(2), &device).unwrap();
    let best = std::fs::read(dir.join("best/model.safetensors")).unwrap();
    let log = std::fs::read_to_string(dir.join(METRICS_FILE)).unwrap();

    let error = train::<CpuAutodiff>(&config, &quiet(), &device)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("already holds a run") && error.contains("--resume"),
        "{error}"
    );
    assert_eq!(
        std::fs::read(dir.join("best/model.safetensors")).unwrap(),
        best
    );
    assert_eq!(
        std::fs::read_to_string(dir.join(METRICS_FILE)).unwrap(),
        log
    );

    // A checkpoint write killed midway (pid 4000000 exceeds Linux's pid_max: never alive).
    let stale = dir.join("checkpoint.tmp-4000000");
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join("state.json"), "{ truncated").unwrap();
    let resumed = train::<CpuAutodiff>(
        &config,
        &TrainOptions {
            resume: true,
            quiet: true,
            ..Default::default()
        },
        &device,
    )
    .unwrap();
    assert!(resumed.final_metrics.is_some());
    assert!(!stale.exists(), "the partial checkpoint write is removed");

    let again = train::<CpuAutodiff>(
        &config,
        &TrainOptions {
            overwrite: true,
            stop_after_steps: Some(1),
            quiet: true,
            ..Default::default()
        },
        &device,
    )
    .unwrap();
    assert_eq!(again.steps, 1);
    assert!(
        !dir.join("final").exists(),
        "the old run's final model is gone"
    );
    let steps = std::fs::read_to_string(dir.join(METRICS_FILE))
        .unwrap()
        .lines()
        .filter(|l| l.contains("\"train\""))
        .count();
    assert_eq!(steps, 1, "a fresh metrics log");
}

#[test]
fn resume_without_checkpoint_or_with_changed_config_is_refused() {
    let _serial = serial();
    let world = World::new();
    let device = Default::default();
    let config = world.config("r", r#"loss = "listnet""#, "");
    let resume = TrainOptions {
        resume: true,
        quiet: true,
        ..Default::default()
    };
    let error = train::<CpuAutodiff>(&config, &resume, &device).unwrap_err();
    assert!(matches!(error, TrainError::Resume { .. }), "{error}");
    train::<CpuAutodiff>(
        &config,
        &TrainOptions {
            stop_after_steps: Some(2),
            quiet: true,
            ..Default::default()
        },
        &device,
    )
    .unwrap();
    let mut changed = config.clone();
    changed.train.learning_rate = 5e-4;
    let error = train::<CpuAutodiff>(&changed, &resume, &device).unwrap_err();
    assert!(error.to_string().contains("different config"), "{error}");
}

#[test]
fn non_finite_loss_stops_the_run_and_keeps_the_last_good_checkpoint() {
    let _serial = serial();
    let world = World::new();
    let device = Default::default();
    let mut config = world.config("nan", r#"loss = "listnet""#, "");
    config.train.learning_rate = 1e30;
    config.train.warmup_ratio = 0.0;
    config.train.max_grad_norm = 0.0;
    config.checkpoint.every_steps = 1;
    let error = train::<CpuAutodiff>(&config, &quiet(), &device).unwrap_err();
    let message = error.to_string();
    match error {
        TrainError::NonFinite {
            step,
            last_checkpoint,
            ..
        } => {
            assert!(step >= 1, "step {step}");
            let checkpoint = last_checkpoint.expect("a checkpoint was written before");
            let state = rankforge_trainer::checkpoint::read_state(&checkpoint).unwrap();
            assert_eq!(state.step, step);
            assert!(checkpoint.join("model/model.safetensors").is_file());
        }
        other => panic!("expected a non-finite error, got {other}"),
    }
    assert!(message.contains("training stopped") && message.contains("checkpoint"));
}

#[test]
fn outputs_are_written_and_the_trained_model_loads_for_inference() {
    let _serial = serial();
    let world = World::new();
    let device = Default::default();
    let config = world.config("out", r#"loss = "bce""#, "");
    let summary = train::<CpuAutodiff>(&config, &quiet(), &device).unwrap();
    let out = &config.run.output_dir;
    for file in [
        "metrics.jsonl",
        "loss.png",
        "learning_rate.png",
        "dev_metrics.png",
        "README.md",
        "config.toml",
        "final/model.safetensors",
        "final/README.md",
        "best/config.json",
        "checkpoint/state.json",
        "checkpoint/optimizer.safetensors",
        "checkpoint/model/model.safetensors",
        "bm25-dev.trec",
        "initial-dev.trec",
        "best-dev.trec",
        "final-dev.trec",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    // The dev runs are the ones the reported metrics were computed on.
    assert_run_scores(
        &world,
        &out.join("final-dev.trec"),
        summary.final_metrics.as_ref().unwrap(),
    );
    assert_run_scores(&world, &out.join("bm25-dev.trec"), &summary.bm25_metrics);
    let card = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(card.contains("ndcg@10") && card.contains("bce") && card.contains("before"));
    // The final model is an HF directory that the inference path loads; it reproduces the
    // final dev metrics.
    let (scorer, report) = CrossEncoder::<Cpu>::builder(out.join("final"))
        .max_length(Some(32))
        .head_seed(0)
        .load(&device)
        .unwrap();
    assert!(!report.new_head);
    let scores = scorer.score(&[("what about t0w0", "t0w0 t0w1")]).unwrap();
    assert!(scores[0].is_finite());
    let evals: Vec<MetricsRecord> = std::fs::read_to_string(out.join(METRICS_FILE))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|r| matches!(r, MetricsRecord::Eval { .. }))
        .collect();
    assert_eq!(evals.first().unwrap().step(), 0);
    assert_eq!(evals.last().unwrap().step(), summary.steps);
}

#[test]
fn early_stopping_ends_the_run_after_patience_evaluations() {
    let _serial = serial();
    let world = World::new();
    let device = Default::default();
    let mut config = world.config("early", r#"loss = "listnet""#, "");
    config.train.learning_rate = 1e-9;
    config.train.epochs = 6;
    config.eval.every_steps = 1;
    config.eval.early_stopping_patience = Some(2);
    let summary = train::<CpuAutodiff>(&config, &quiet(), &device).unwrap();
    assert!(summary.stopped_early);
    assert!(summary.steps < summary.total_steps);
    // final-dev.trec is the run of the stopping evaluation (the model in final/).
    let final_metrics = summary.final_metrics.unwrap();
    let names: Vec<&str> = final_metrics.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, config.eval.metrics);
    assert_run_scores(
        &world,
        &config.run.output_dir.join("final-dev.trec"),
        &final_metrics,
    );
}

#[test]
fn bi_encoder_trains_with_in_batch_negatives_and_distils_a_cross_encoder() {
    let _serial = serial();
    let world = World::new();
    let device = Default::default();
    // Teacher: a cross-encoder trained in this test.
    let teacher = world.config("teacher", r#"loss = "listnet""#, "");
    train::<CpuAutodiff>(&teacher, &quiet(), &device).unwrap();

    let bi = |name: &str, loss: &str, distill: &str| {
        let text = world
            .config_text(name, loss, "in_batch_weight = 0.5")
            .replace("kind = \"cross_encoder\"", "kind = \"bi_encoder\"")
            + distill;
        rankforge_trainer::TrainConfig::from_toml(&text, Path::new("bi.toml")).unwrap()
    };
    let contrastive = bi("infonce", r#"loss = "infonce""#, "");
    let summary = train::<CpuAutodiff>(&contrastive, &quiet(), &device).unwrap();
    assert!(summary.final_metrics.is_some());
    let distill = bi(
        "distil",
        r#"loss = "margin_mse""#,
        &format!(
            "\n[distill]\nteacher = \"{}\"\n",
            teacher.run.output_dir.join("best").display()
        ),
    );
    let summary = train::<CpuAutodiff>(&distill, &quiet(), &device).unwrap();
    let out = &distill.run.output_dir;
    assert!(summary.final_metrics.is_some());
    for file in ["modules.json", "1_Pooling/config.json", "model.safetensors"] {
        assert!(out.join("final").join(file).is_file(), "{file} missing");
    }
}

/// `eval.mode = "retrieve"`: a bi-encoder is scored as a first stage over the whole corpus.
/// The reported metrics equal those of the saved model's own dense top-k, computed apart from
/// the trainer (DenseIndex + trec_eval metrics), and differ from reranking BM25's top-k.
#[test]
fn bi_encoder_first_stage_evaluation_retrieves_from_the_whole_corpus() {
    use rankforge_model::{BiEncoder, DenseConfig, DenseIndex};
    let _serial = serial();
    let world = World::new();
    let device = Default::default();
    let bi = |name: &str, mode: &str| {
        let text = world
            .config_text(name, r#"loss = "infonce""#, "")
            .replace("kind = \"cross_encoder\"", "kind = \"bi_encoder\"")
            .replace(
                "[eval]",
                &format!("[eval]\nmode = \"{mode}\"\nmetrics = [\"ndcg@10\", \"recall@10\"]"),
            );
        rankforge_trainer::TrainConfig::from_toml(&text, Path::new("bi.toml")).unwrap()
    };
    let retrieve = bi("retrieve", "retrieve");
    let summary = train::<CpuAutodiff>(&retrieve, &quiet(), &device).unwrap();
    let reported = summary.final_metrics.unwrap();

    let dev_set =
        rankforge_data::BeirDataset::load(&world.data, "dev", rankforge_data::ReadMode::Strict)
            .unwrap()
            .into_data();
    let (corpus, queries, qrels) = (dev_set.corpus, dev_set.queries, dev_set.qrels);
    let (encoder, _) = BiEncoder::<Cpu>::builder(retrieve.run.output_dir.join("final"))
        .load(&device)
        .unwrap();
    let index = DenseIndex::build(
        &encoder,
        &corpus,
        DenseConfig {
            cache_dir: None,
            ..Default::default()
        },
    )
    .unwrap();
    let dev: Vec<(&str, &str)> = queries
        .iter()
        .filter(|q| qrels.get(&q.id).is_some())
        .map(|q| (q.id.as_str(), q.text.as_str()))
        .collect();
    let run = index.search(&dev, 10).unwrap();
    // Every query got a full top 10 from the whole corpus, not only from BM25's candidates.
    assert_eq!(run.num_queries(), dev.len());
    let metrics = rankforge_eval::parse_metrics("ndcg@10,recall@10").unwrap();
    let expected = rankforge_eval::evaluate(&qrels, &run, &metrics).unwrap();
    for ((name, value), metric) in reported.iter().zip(&metrics) {
        let want = expected.mean(metric).unwrap();
        assert!((value - want).abs() < 1e-9, "{name}: {value} vs {want}");
    }

    // The same training evaluated by reranking BM25's top 10 reports other numbers.
    let rerank = bi("rerank", "rerank");
    let reranked = train::<CpuAutodiff>(&rerank, &quiet(), &device).unwrap();
    assert_eq!(
        weights(&rerank.run.output_dir.join("final")),
        weights(&retrieve.run.output_dir.join("final"))
    );
    assert_ne!(reranked.final_metrics.unwrap(), reported);
    let card = std::fs::read_to_string(retrieve.run.output_dir.join("final/README.md"))
        .or_else(|_| std::fs::read_to_string(retrieve.run.output_dir.join("README.md")))
        .unwrap();
    assert!(card.contains("first stage"), "{card}");
}

/// Mixed precision: the forward/backward in bf16 (and f16) from f32 master weights. The run
/// learns (weights move, metrics are finite), the saved model is f32, and it differs from the
/// f32 run's (the half forward changes the arithmetic).
#[test]
fn mixed_precision_trains_f32_master_weights() {
    let _serial = serial();
    let world = World::new();
    let device = Default::default();
    let f32_run = world.config("f32", r#"loss = "listnet""#, "");
    train::<CpuAutodiff>(&f32_run, &quiet(), &device).unwrap();
    for (name, precision) in [("bf16", Precision::Bf16), ("f16", Precision::F16)] {
        let mut config = world.config(name, r#"loss = "listnet""#, "");
        config.run.precision = precision;
        let summary = train::<CpuAutodiff>(&config, &quiet(), &device).unwrap();
        let metrics = summary.final_metrics.unwrap();
        assert!(metrics.iter().all(|(_, v)| v.is_finite()), "{metrics:?}");
        let final_dir = world.tmp.path().join(name).join("final");
        let header = String::from_utf8_lossy(&weights(&final_dir)[..4096]).to_string();
        assert!(
            header.contains("\"F32\"") && !header.contains("F16"),
            "{header}"
        );
        assert_ne!(
            weights(&final_dir),
            weights(&world.tmp.path().join("f32/final"))
        );
        let losses: Vec<f64> = std::fs::read_to_string(config.run.output_dir.join(METRICS_FILE))
            .unwrap()
            .lines()
            .filter_map(|l| match serde_json::from_str(l).unwrap() {
                MetricsRecord::Train { loss, .. } => Some(loss),
                _ => None,
            })
            .collect();
        assert!(
            !losses.is_empty() && losses.iter().all(|l| l.is_finite()),
            "{losses:?}"
        );
    }
}
