//! ColBERT training on the tiny world: PyLate's contrastive and distillation losses, a run
//! whose saved model reranks the dev candidates with the metrics the trainer reported,
//! resumption, continuing from a ColBERT directory, and the config checks.

mod common;

use std::path::Path;

use common::*;
use rankforge_model::colbert::ColBert;
use rankforge_model::rerank_run;
use rankforge_trainer::{train, TrainConfig, TrainOptions};

/// burn's CPU backend has one process-wide RNG (see training.rs): one run at a time.
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

/// The world with a base whose vocabulary holds Stanford's markers.
fn colbert_world() -> World {
    let world = World::new();
    std::fs::remove_dir_all(&world.base).unwrap();
    write_base_model_with(&world.base, &["[unused0]", "[unused1]"]);
    world
}

/// A ColBERT config over `world` (tiny lengths), with `loss` and `extra` TOML appended.
fn config_text(world: &World, name: &str, loss: &str, extra: &str) -> String {
    world
        .config_text(name, loss, "")
        .replace("kind = \"cross_encoder\"", "kind = \"colbert\"")
        .replace("max_length = 32\n", "")
        + &format!(
            "\n[colbert]\ndim = 8\nquery_length = 12\ndocument_length = 16\n\
             query_prefix = \"[unused0]\"\ndocument_prefix = \"[unused1]\"\n{extra}"
        )
}

fn config(world: &World, name: &str, loss: &str, extra: &str) -> TrainConfig {
    TrainConfig::from_toml(
        &config_text(world, name, loss, extra),
        Path::new("colbert.toml"),
    )
    .unwrap()
}

/// The dev metrics of `dir`'s ColBERT reranking the run's BM25 candidates, loaded as every
/// command loads it.
fn rerank_metrics(world: &World, run_dir: &Path, dir: &Path) -> Vec<(String, f64)> {
    let (colbert, _) = ColBert::<Cpu>::load(dir, &Default::default()).unwrap();
    let beir =
        rankforge_data::BeirDataset::load(&world.data, "dev", rankforge_data::ReadMode::Strict)
            .unwrap()
            .into_data();
    let candidates = rankforge_data::Run::read(run_dir.join("bm25-dev.trec")).unwrap();
    let run = rerank_run(&colbert, &beir.corpus, &beir.queries, &candidates, 10).unwrap();
    let metrics = rankforge_eval::parse_metrics("ndcg@10,mrr@10").unwrap();
    let evaluation = rankforge_eval::evaluate(&beir.qrels, &run, &metrics).unwrap();
    ["ndcg@10", "mrr@10"]
        .iter()
        .zip(&metrics)
        .map(|(name, m)| (name.to_string(), evaluation.mean(m).unwrap()))
        .collect()
}

fn assert_close(a: &[(String, f64)], b: &[(String, f64)], tolerance: f64) {
    assert_eq!(a.len(), b.len());
    for ((na, va), (nb, vb)) in a.iter().zip(b) {
        assert_eq!(na, nb);
        assert!((va - vb).abs() <= tolerance, "{na}: {va} vs {vb}");
    }
}

/// From a plain encoder with the contrastive loss: the loss falls, the projection and the
/// encoder learn, the saved PyLate directory reloads and reranks the dev candidates with the
/// trainer's final metrics, and a second run with the same seed is identical.
#[test]
fn contrastive_training_from_a_plain_encoder_saves_a_pylate_model_that_reranks_as_trained() {
    let _serial = serial();
    let world = colbert_world();
    let device = Default::default();
    let cfg = config(
        &world,
        "contrastive",
        "loss = \"colbert_contrastive\"\ntemperature = 0.5",
        "",
    );
    let summary = train::<CpuAutodiff>(&cfg, &quiet(), &device).unwrap();
    let out = &cfg.run.output_dir;
    let after = summary.final_metrics.clone().unwrap();
    assert!(summary.steps > 0);
    for file in [
        "modules.json",
        "1_Dense/config.json",
        "config_sentence_transformers.json",
        "model.safetensors",
        "tokenizer.json",
        "README.md",
    ] {
        assert!(out.join("final").join(file).is_file(), "{file} missing");
    }
    let card = std::fs::read_to_string(out.join("final/README.md")).unwrap();
    assert!(card.contains("library_name: PyLate") && card.contains("- colbert"));
    let settings: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("final/config_sentence_transformers.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(settings["query_prefix"], "[unused0]");
    assert_eq!(settings["document_length"], 16);
    assert_eq!(settings["query_length"], 12);
    let reloaded = rerank_metrics(&world, out, &out.join("final"));
    assert_close(&reloaded, &after, 1e-9);

    // The loss fell over training (mean of the first and last steps' logged losses).
    let log = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let losses: Vec<f64> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("loss").and_then(|x| x.as_f64()))
        .collect();
    assert!(losses.len() >= 6, "{losses:?}");
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
    let (first, last) = (mean(&losses[..3]), mean(&losses[losses.len() - 3..]));
    assert!(last < first, "loss did not fall: {first} -> {last}");

    // Same seed, same weights.
    let again = config(
        &world,
        "contrastive-again",
        "loss = \"colbert_contrastive\"\ntemperature = 0.5",
        "",
    );
    train::<CpuAutodiff>(&again, &quiet(), &device).unwrap();
    assert_eq!(
        std::fs::read(out.join("final/model.safetensors")).unwrap(),
        std::fs::read(again.run.output_dir.join("final/model.safetensors")).unwrap()
    );
    assert_eq!(
        std::fs::read(out.join("final/1_Dense/model.safetensors")).unwrap(),
        std::fs::read(again.run.output_dir.join("final/1_Dense/model.safetensors")).unwrap()
    );
}

/// Distillation from a cross-encoder teacher trained here (PyLate's KL loss over each query's
/// group), the first-stage evaluation over the whole corpus, and a killed run resumed to the
/// same weights as an uninterrupted one.
#[test]
fn distillation_from_a_cross_encoder_resumes_exactly_and_evaluates_as_a_first_stage() {
    let _serial = serial();
    let world = colbert_world();
    let device = Default::default();
    let teacher = world.config("teacher", r#"loss = "listnet""#, "");
    train::<CpuAutodiff>(&teacher, &quiet(), &device).unwrap();
    let distill = format!(
        "\n[distill]\nteacher = \"{}\"\n",
        teacher.run.output_dir.join("best").display()
    );
    let text = |name: &str| {
        config_text(&world, name, "loss = \"colbert_distillation\"", "")
            .replace("top_k = 10", "top_k = 10\nmode = \"retrieve\"")
            + &distill
    };
    let full_config = TrainConfig::from_toml(&text("full"), Path::new("d.toml")).unwrap();
    let full = train::<CpuAutodiff>(&full_config, &quiet(), &device).unwrap();
    assert!(full.final_metrics.is_some());

    let resumed_config = TrainConfig::from_toml(&text("resumed"), Path::new("d.toml")).unwrap();
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
    for file in ["model.safetensors", "1_Dense/model.safetensors"] {
        assert!(
            std::fs::read(full_config.run.output_dir.join("final").join(file)).unwrap()
                == std::fs::read(resumed_config.run.output_dir.join("final").join(file)).unwrap(),
            "{file} differs after resuming"
        );
    }
    assert_close(
        &resumed.final_metrics.unwrap(),
        &full.final_metrics.unwrap(),
        1e-12,
    );
}

/// A ColBERT directory as the base continues with its own settings and projection (no new
/// parameters); `[colbert]` may only change its lengths.
#[test]
fn a_colbert_base_continues_with_its_own_settings() {
    let _serial = serial();
    let world = colbert_world();
    let device = Default::default();
    let first = config(&world, "first", "loss = \"colbert_contrastive\"", "");
    train::<CpuAutodiff>(&first, &quiet(), &device).unwrap();
    let base = first.run.output_dir.join("final");
    let text = |name: &str, extra: &str| {
        format!(
            "[run]\noutput_dir = \"{}\"\nseed = 3\n[model]\nkind = \"colbert\"\nbase = \"{}\"\n\
             [data]\ndir = \"{}\"\nnegatives = 3\nnegative_pool = 6\n[train]\nmax_steps = 2\n\
             batch_size = 3\n[eval]\ntop_k = 10\n[loss]\nloss = \"colbert_contrastive\"\n{extra}",
            world.tmp.path().join(name).display(),
            base.display(),
            world.data.display()
        )
    };
    let cfg = TrainConfig::from_toml(&text("second", ""), Path::new("c.toml")).unwrap();
    let summary = train::<CpuAutodiff>(&cfg, &quiet(), &device).unwrap();
    // Before training, the loaded model scores as the first run's final model.
    let first_metrics = rerank_metrics(&world, &first.run.output_dir, &base);
    assert_close(&summary.initial_metrics, &first_metrics, 1e-9);

    let refused =
        TrainConfig::from_toml(&text("third", "[colbert]\ndim = 4\n"), Path::new("c.toml"))
            .unwrap();
    let err = train::<CpuAutodiff>(&refused, &quiet(), &device)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("already a ColBERT") && err.contains("dim"),
        "{err}"
    );
}

/// What a ColBERT config may not say, and the ColBERT losses on other kinds.
#[test]
fn config_checks_name_the_conflict() {
    let world = colbert_world();
    let refuse = |text: String, needle: &str| {
        let err = TrainConfig::from_toml(&text, Path::new("x.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{err}");
    };
    refuse(
        world.config_text("ce", "loss = \"colbert_contrastive\"", ""),
        "model.kind = \"colbert\"",
    );
    refuse(
        config_text(&world, "a", "loss = \"infonce\"", ""),
        "colbert_contrastive",
    );
    refuse(
        config_text(&world, "b", "loss = \"colbert_distillation\"", ""),
        "[distill]",
    );
    refuse(
        config_text(&world, "c", "loss = \"listnet\"", "")
            .replace("kind = \"colbert\"", "kind = \"colbert\"\nmax_length = 32"),
        "document_length",
    );
    refuse(
        world.config_text("d", "loss = \"listnet\"", "") + "\n[colbert]\ndim = 8\n",
        "[colbert] applies",
    );
    refuse(
        config_text(&world, "e", "loss = \"colbert_contrastive\"", "")
            .replace("negatives = 3", "negatives = 0")
            .replace("batch_size = 3", "batch_size = 1"),
        "nothing is learnt",
    );
    // Group losses read each query's MaxSim against its own group.
    TrainConfig::from_toml(
        &config_text(&world, "f", "loss = \"listnet\"", ""),
        Path::new("x.toml"),
    )
    .unwrap();
}

/// PyLate's default markers `[Q] ` / `[D] ` are not in the world's vocabulary: the new
/// ColBERT adds them (the word embedding grows by two rows), trains them, and saves a
/// tokenizer that holds them, so the saved model reranks as the trainer reported.
#[test]
fn default_markers_are_added_to_the_vocabulary_and_saved() {
    let _serial = serial();
    let world = World::new();
    let device = Default::default();
    let text = config_text(&world, "markers", "loss = \"colbert_contrastive\"", "")
        .replace("query_prefix = \"[unused0]\"\n", "")
        .replace("document_prefix = \"[unused1]\"\n", "");
    let cfg = TrainConfig::from_toml(&text, Path::new("m.toml")).unwrap();
    let summary = train::<CpuAutodiff>(&cfg, &quiet(), &device).unwrap();
    let out = cfg.run.output_dir.join("final");
    let tokenizer = tokenizers::Tokenizer::from_file(out.join("tokenizer.json")).unwrap();
    let base_vocab = tokenizers::Tokenizer::from_file(world.base.join("tokenizer.json"))
        .unwrap()
        .get_vocab_size(true);
    assert_eq!(tokenizer.get_vocab_size(true), base_vocab + 2);
    assert!(tokenizer.token_to_id("[Q] ").is_some() && tokenizer.token_to_id("[D] ").is_some());
    let (colbert, _) = ColBert::<Cpu>::load(&out, &device).unwrap();
    assert_eq!(colbert.settings().query_prefix, "[Q] ");
    let reloaded = rerank_metrics(&world, &cfg.run.output_dir, &out);
    assert_close(&reloaded, &summary.final_metrics.unwrap(), 1e-9);
}
