//! Config parsing: defaults, unknown keys named, errors that name the file, and the shipped
//! configs under configs/ all valid.

use std::path::Path;

use rankforge_trainer::config::{ModelKind, ScheduleKind};
use rankforge_trainer::{TrainConfig, TrainError};

const MINIMAL: &str = r#"
[run]
output_dir = "runs/x"
[model]
kind = "cross_encoder"
base = "m"
[data]
dir = "d"
[loss]
loss = "listnet"
"#;

fn parse(text: &str) -> Result<TrainConfig, TrainError> {
    TrainConfig::from_toml(text, Path::new("configs/bad.toml"))
}

#[test]
fn minimal_config_gets_documented_defaults() {
    let config = parse(MINIMAL).unwrap();
    assert_eq!(config.run.seed, 42);
    assert_eq!(config.model.kind, ModelKind::CrossEncoder);
    assert_eq!(
        config.model.max_length, None,
        "the saved length of the base"
    );
    assert_eq!(config.data.negatives, 7);
    assert_eq!(config.train.batch_size, 4);
    assert_eq!(config.train.learning_rate, 2e-5);
    assert_eq!(config.train.schedule, ScheduleKind::Linear);
    assert_eq!(config.train.max_grad_norm, 1.0);
    assert_eq!(config.eval.metrics, vec!["ndcg@10", "mrr@10"]);
    assert_eq!(config.eval.top_k, 100);
    assert_eq!(
        config.eval.mode,
        rankforge_trainer::config::EvalMode::Rerank
    );
    // Round trip through TOML.
    assert_eq!(parse(&config.to_toml()).unwrap(), config);
}

fn error_of(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn unknown_keys_are_rejected_by_name_with_the_file() {
    let message = error_of(&MINIMAL.replace("[data]", "[data]\nnegativs = 3"));
    assert!(message.contains("configs/bad.toml"), "{message}");
    assert!(message.contains("negativs"), "{message}");
    let message = error_of(&(MINIMAL.to_string() + "[trian]\nepochs = 1\n"));
    assert!(message.contains("trian"), "{message}");
    // Inside the loss table too.
    let message =
        error_of(&MINIMAL.replace("loss = \"listnet\"", "loss = \"listnet\"\ntemprature = 2.0"));
    assert!(message.contains("temprature"), "{message}");
}

#[test]
fn bad_values_are_explained() {
    for (edit, expected) in [
        ("[train]\nbatch_size = 0", "train.batch_size"),
        ("[train]\nlearning_rate = -1.0", "train.learning_rate"),
        ("[eval]\nselect = \"map\"", "eval.select"),
        (
            "[eval]\nmetrics = [\"ndcg@x\"]\nselect = \"ndcg@x\"",
            "eval.metrics",
        ),
        (
            "[data]\ndir = \"d\"\nnegatives = 9\nnegative_pool = 4",
            "negative_pool",
        ),
    ] {
        let text = if edit.starts_with("[data]") {
            MINIMAL.replace("[data]\ndir = \"d\"", edit)
        } else {
            MINIMAL.to_string() + edit + "\n"
        };
        let message = error_of(&text);
        assert!(message.contains(expected), "{edit}: {message}");
        assert!(message.contains("configs/bad.toml"), "{message}");
    }
}

#[test]
fn precision_is_f32_bf16_or_f16() {
    for name in ["f32", "bf16", "f16"] {
        let text = MINIMAL.replace(
            "output_dir = \"runs/x\"",
            &format!("output_dir = \"runs/x\"\nprecision = \"{name}\""),
        );
        TrainConfig::from_toml(&text, Path::new("configs/ok.toml")).unwrap();
    }
    let message = error_of(&MINIMAL.replace(
        "output_dir = \"runs/x\"",
        "output_dir = \"runs/x\"\nprecision = \"fp8\"",
    ));
    assert!(
        message.contains("fp8") && message.contains("bf16"),
        "{message}"
    );
    // int8 is an inference precision: refused for training, with the file named.
    let message = error_of(&MINIMAL.replace(
        "output_dir = \"runs/x\"",
        "output_dir = \"runs/x\"\nprecision = \"int8\"",
    ));
    assert!(
        message.contains("int8") && message.contains("inference"),
        "{message}"
    );
}

#[test]
fn losses_must_fit_the_model_kind() {
    let message = error_of(&MINIMAL.replace("\"listnet\"", "\"infonce\""));
    assert!(message.contains("embeddings"), "{message}");
    let message = error_of(&MINIMAL.replace("\"listnet\"", "\"margin_mse\""));
    assert!(message.contains("teacher"), "{message}");
    let bi = MINIMAL
        .replace("cross_encoder", "bi_encoder")
        .replace("\"listnet\"", "\"margin_mse\"");
    let message = error_of(&bi);
    assert!(message.contains("[distill]"), "{message}");
    // A cross-encoder cannot search a corpus: first-stage evaluation is for bi-encoders.
    let message = error_of(&format!("{MINIMAL}[eval]\nmode = \"retrieve\"\n"));
    assert!(
        message.contains("eval.mode") && message.contains("bi-encoders"),
        "{message}"
    );
    let message = error_of(&format!("{MINIMAL}[eval]\nmode = \"search\"\n"));
    assert!(message.contains("search"), "{message}");
}

/// Issue 19: configs whose loss gets no gradient from the data they describe are refused
/// (before: `negatives = 0` trained with loss 0 for as long as asked).
#[test]
fn losses_that_cannot_learn_from_the_data_are_refused() {
    for loss in ["listnet", "bce", "lambda_loss", "ranknet", "listmle"] {
        let text = MINIMAL
            .replace("\"listnet\"", &format!("\"{loss}\""))
            .replace("dir = \"d\"", "dir = \"d\"\nnegatives = 0");
        let message = error_of(&text);
        assert!(
            message.contains("data.negatives") && message.contains(loss),
            "{loss}: {message}"
        );
    }
    let bi = MINIMAL
        .replace("cross_encoder", "bi_encoder")
        .replace("\"listnet\"", "\"infonce\"")
        .replace("dir = \"d\"", "dir = \"d\"\nnegatives = 0");
    parse(&format!("{bi}[train]\nbatch_size = 2\n")).expect("in-batch negatives suffice");
    let message = error_of(&format!("{bi}[train]\nbatch_size = 1\n"));
    assert!(message.contains("train.batch_size"), "{message}");
}

/// `[data] train_file`: `dir` becomes optional (dev only), the streaming keys are checked and
/// name themselves, the BEIR-only keys and `[distill] teacher` are refused with a file.
#[test]
fn training_file_keys_are_checked() {
    let file = MINIMAL.replace("dir = \"d\"", "train_file = \"train.parquet\"");
    let config = parse(&file).unwrap();
    assert_eq!(config.data.dir, None);
    assert_eq!(config.data.shuffle_buffer(), 10_000);
    assert_eq!(config.data.block_rows(), 1_000);
    assert_eq!(parse(&config.to_toml()).unwrap(), config);
    // A BEIR run serialises as before (the new keys are absent), so its checkpoints resume.
    assert!(!parse(MINIMAL).unwrap().to_toml().contains("shuffle_buffer"));
    let with = |keys: &str| file.replace("[data]", &format!("[data]\n{keys}"));
    parse(&with(
        "dir = \"d\"\nformat = \"jsonl\"\nshuffle_buffer = 64\nblock_rows = 64",
    ))
    .unwrap();
    for (keys, expected) in [
        (
            "shuffle_buffer = 10\nblock_rows = 20",
            "data.shuffle_buffer (10)",
        ),
        ("block_rows = 0", "data.block_rows"),
        ("max_train_queries = 5", "data.max_train_queries"),
        ("format = \"xlsx\"", "xlsx"),
    ] {
        let message = error_of(&with(keys));
        assert!(message.contains(expected), "{keys}: {message}");
    }
    for key in ["shuffle_buffer = 10", "block_rows = 10", "format = \"csv\""] {
        let message = error_of(&MINIMAL.replace("[data]", &format!("[data]\n{key}")));
        assert!(message.contains("data.train_file"), "{key}: {message}");
    }
    let message = error_of(&MINIMAL.replace("dir = \"d\"\n", ""));
    assert!(
        message.contains("dir") && message.contains("train_file"),
        "{message}"
    );

    // Distillation on a file: its teacher scores, no [distill] teacher (student_scale stays).
    let bi = file
        .replace("cross_encoder", "bi_encoder")
        .replace("\"listnet\"", "\"margin_mse\"");
    parse(&bi).expect("the file's teacher scores are checked when it is opened");
    parse(&file.replace("\"listnet\"", "\"distill_kl\""))
        .expect("a cross-encoder distils from a file's teacher scores");
    parse(&format!("{bi}[distill]\nstudent_scale = 10.0\n")).unwrap();
    let message = error_of(&format!("{bi}[distill]\nteacher = \"t\"\n"));
    assert!(message.contains("[distill] teacher"), "{message}");
    let beir_bi = MINIMAL
        .replace("cross_encoder", "bi_encoder")
        .replace("\"listnet\"", "\"margin_mse\"");
    let message = error_of(&format!("{beir_bi}[distill]\nstudent_scale = 10.0\n"));
    assert!(message.contains("teacher"), "{message}");

    // Pointwise pairs: groups of one train with bce / mse, not with a group loss.
    let pairs = file.replace("[data]", "[data]\nnegatives = 0");
    parse(&pairs.replace("\"listnet\"", "\"bce\"")).unwrap();
    let message = error_of(&pairs);
    assert!(
        message.contains("data.negatives") && message.contains("pointwise"),
        "{message}"
    );
}

#[test]
fn missing_file_is_named() {
    let error = TrainConfig::from_file(Path::new("configs/does-not-exist.toml")).unwrap_err();
    assert!(error.to_string().contains("does-not-exist.toml"));
}

#[test]
fn shipped_configs_are_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        // eval-*.toml (rankforge evaluate) and mine-*.toml (rankforge mine) are checked by the
        // cli crate's tests.
        if name.starts_with("eval-") || name.starts_with("mine-") {
            continue;
        }
        if path.extension().is_some_and(|e| e == "toml") {
            TrainConfig::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
            seen += 1;
        }
    }
    assert!(seen >= 3, "{seen} configs");
}
