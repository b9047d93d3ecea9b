//! Decoder-only rerankers (issue 25) wired into the other commands (`qwen3.rs` has predict and
//! rerank on the fixture as saved): `serve` and `mine --rescorer` load the
//! tiny Qwen3 sentence-transformers fixture (`tests/fixtures/qwen3-tiny-reranker`, scores in
//! `tests/fixtures/qwen3.json` from `scripts/reference/qwen3_reference.py`); `predict` on a
//! plain `Qwen3ForCausalLM` directory (the fixture's body without its sentence-transformers
//! files) takes `--prompt-template` (a file or the template itself), `--true-token`,
//! `--false-token` and `--instruction`, and gives the reference scores with the fixture's
//! template; the flags are refused where they do not apply; `export-classifier` writes a
//! one-logit `Qwen3ForSequenceClassification`.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

#[path = "../../model/tests/common/mod.rs"]
mod model_common;
use model_common::B;

#[path = "../../../tests/common/mod.rs"]
mod common;
use common::{post_json, rankforge, root, spawn_server, write_jsonl};

use rankforge_model::qwen3::CausalLmReranker;
use rankforge_model::{Activation, Precision, RunOptions};

fn qwen3_dir() -> PathBuf {
    root().join("tests/fixtures/qwen3-tiny-reranker")
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn sample(file: &str) -> PathBuf {
    root().join("data/sample").join(file)
}

fn ok(args: &[&str]) -> String {
    let out = rankforge(args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "rankforge {args:?} failed: {stderr}");
    stderr + &String::from_utf8_lossy(&out.stdout)
}

fn fixture() -> Value {
    let path = root().join("tests/fixtures/qwen3.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn assert_close(ours: f64, want: f64, what: &str) {
    assert!(
        (ours - want).abs() <= 1e-5 * want.abs().max(1.0),
        "{what}: {ours} vs {want}"
    );
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// `rankforge serve --model <Qwen3 dir>`: `/rerank` answers the fixture's sigmoid scores.
#[test]
fn serve_answers_the_fixture_sigmoid_scores() {
    let fx = fixture();
    let server = spawn_server(&qwen3_dir());
    for p in fx["pairs"].as_array().unwrap() {
        let body = post_json(
            &server.addr,
            "/rerank",
            &json!({"query": p["query"], "texts": [p["document"]]}),
        );
        let ours = body[0]["score"].as_f64().unwrap();
        assert_close(ours, sigmoid(p["raw_score"].as_f64().unwrap()), "serve");
    }
}

/// `mine --rescorer <Qwen3 dir>`: the mined records carry the decoder-only reranker's scores.
#[test]
fn mine_rescores_with_a_decoder_only_reranker() {
    let tmp = tempfile::tempdir().unwrap();
    let model = qwen3_dir();
    let mined = tmp.path().join("mined.jsonl");
    ok(&[
        "mine",
        "--corpus",
        s(&sample("corpus.jsonl")),
        "--queries",
        s(&sample("queries.jsonl")),
        "--qrels",
        s(&sample("qrels/train.tsv")),
        "--rescorer",
        s(&model),
        "--num-negatives",
        "2",
        "--range-max",
        "10",
        "--format",
        "n_tuple_scores",
        "--output",
        s(&mined),
        "--quiet",
    ]);
    let scorer = CausalLmReranker::<B>::load(
        &model,
        None,
        None,
        Activation::Sigmoid,
        RunOptions::default(),
        Precision::F32,
        &Default::default(),
    )
    .unwrap()
    .0;
    let text = std::fs::read_to_string(&mined).unwrap();
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!records.is_empty(), "mined nothing");
    for record in &records {
        let query = record["query"].as_str().unwrap();
        let mut documents = vec![record["positive"].as_str().unwrap()];
        for i in 1.. {
            match record.get(format!("negative_{i}")) {
                Some(n) => documents.push(n.as_str().unwrap()),
                None => break,
            }
        }
        let pairs: Vec<(&str, &str)> = documents.iter().map(|d| (query, *d)).collect();
        let want = scorer.score(&pairs).unwrap();
        let scores = record["score"].as_array().unwrap();
        assert_eq!(scores.len(), want.len());
        for (ours, want) in scores.iter().zip(want) {
            assert_close(ours.as_f64().unwrap(), want as f64, query);
        }
    }
}

/// The fixture's chat template without its `{%- set … %}` lines: a plain template over
/// `query` and `document` (as `crates/model/tests/qwen3.rs` builds it).
fn plain_template() -> String {
    std::fs::read_to_string(qwen3_dir().join("chat_template.jinja"))
        .unwrap()
        .lines()
        .filter(|line| !line.starts_with("{%- set"))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// A plain `Qwen3ForCausalLM` directory: the fixture's config, weights and tokenizer only.
fn plain_dir(tmp: &Path) -> PathBuf {
    let plain = tmp.join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    for name in ["config.json", "model.safetensors", "tokenizer.json"] {
        std::fs::copy(qwen3_dir().join(name), plain.join(name)).unwrap();
    }
    plain
}

#[test]
fn predict_on_a_plain_causal_lm_dir_takes_the_prompt_flags() {
    let fx = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let plain = plain_dir(tmp.path());
    let pairs = fx["pairs"].as_array().unwrap();
    let rows: Vec<Value> = pairs
        .iter()
        .map(|p| json!({"query": p["query"], "document": p["document"]}))
        .collect();
    let input = tmp.path().join("pairs.jsonl");
    write_jsonl(&input, &rows);
    let template_file = tmp.path().join("prompt.jinja");
    std::fs::write(&template_file, plain_template()).unwrap();
    let predict = |name: &str, extra: &[&str]| -> (std::process::Output, PathBuf) {
        let output = tmp.path().join(format!("{name}.jsonl"));
        let mut args = vec![
            "predict",
            "--model",
            s(&plain),
            "--input",
            s(&input),
            "--output",
            s(&output),
            "--max-length",
            "160",
            "--raw",
            "--quiet",
        ];
        args.extend(extra);
        (rankforge(&args), output)
    };
    let scores = |path: &Path| common::scores(path);

    // Without a template a plain directory is refused, saying what to set.
    let (out, _) = predict("none", &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("prompt template"), "{stderr}");

    // The template from a file: the reference raw scores (yes / no by default).
    let (out, from_file) = predict("file", &["--prompt-template", s(&template_file)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want: Vec<f64> = pairs
        .iter()
        .map(|p| p["raw_score"].as_f64().unwrap())
        .collect();
    let file_scores = scores(&from_file);
    for (ours, want) in file_scores.iter().zip(&want) {
        assert_close(*ours as f64, *want, "--prompt-template FILE");
    }
    // The explicit pair of tokens scores the same; the same template as a string too.
    let template = plain_template();
    let (out, explicit) = predict(
        "explicit",
        &[
            "--prompt-template",
            &template,
            "--true-token",
            "yes",
            "--false-token",
            "no",
        ],
    );
    assert!(out.status.success());
    for (ours, want) in scores(&explicit).iter().zip(&want) {
        assert_close(*ours as f64, *want, "--prompt-template STRING");
    }
    // Another template, another instruction, the true token alone: other scores.
    let (out, other) = predict(
        "other",
        &[
            "--prompt-template",
            "<Query>: {{ query }}\n<Document>: {{ document }}\n",
        ],
    );
    assert!(out.status.success());
    let other = scores(&other);
    assert!(
        other
            .iter()
            .zip(&file_scores)
            .any(|(a, b)| (a - b).abs() > 1e-4),
        "{other:?} vs {file_scores:?}"
    );
    let (out, instructed) = predict(
        "instructed",
        &[
            "--prompt-template",
            "{{ instruction }}\n<Query>: {{ query }}\n<Document>: {{ document }}\n",
            "--instruction",
            "Judge the document",
        ],
    );
    assert!(out.status.success());
    let instructed = scores(&instructed);
    assert!(
        instructed
            .iter()
            .zip(&other)
            .any(|(a, b)| (a - b).abs() > 1e-4),
        "{instructed:?} vs {other:?}"
    );
    let (out, yes_only) = predict(
        "yes_only",
        &[
            "--prompt-template",
            s(&template_file),
            "--true-token",
            "yes",
            "--false-token",
            "none",
        ],
    );
    assert!(out.status.success());
    for (ours, theirs) in scores(&yes_only).iter().zip(&file_scores) {
        assert!((ours - theirs).abs() > 1e-6, "the true token alone");
    }

    // T5's template flag is refused for a decoder-only reranker, the prompt flags for a
    // cross-encoder.
    let (out, _) = predict("t5_flag", &["--generative-template", "rank"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--generative-template"), "{stderr}");
    let out = rankforge(&[
        "predict",
        "--model",
        s(&common::minilm()),
        "--input",
        s(&input),
        "--output",
        s(&tmp.path().join("ce.jsonl")),
        "--prompt-template",
        s(&template_file),
        "--quiet",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("generative rerankers"), "{stderr}");
}

fn f32s(view: &safetensors::tensor::TensorView<'_>) -> Vec<f32> {
    assert_eq!(view.dtype(), safetensors::Dtype::F32);
    view.data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// `export-classifier`: a `Qwen3ForSequenceClassification` directory with the body's tensors
/// unchanged, no LM head, and `score.weight` = the head's `yes` row − its `no` row (the
/// LogitScore module's ids); `scripts/reference/check_qwen3_classifier.py` loads it in
/// transformers and compares its logits with the fixture's raw scores.
#[test]
fn export_classifier_writes_the_score_row_and_the_body() {
    let fx = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("classifier");
    let log = ok(&[
        "export-classifier",
        "--model",
        s(&qwen3_dir()),
        "--output",
        s(&out),
    ]);
    assert!(log.contains("Qwen3ForSequenceClassification"), "{log}");
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(
        config["architectures"],
        json!(["Qwen3ForSequenceClassification"])
    );
    assert_eq!(config["num_labels"], 1);
    assert!(out.join("tokenizer.json").is_file());

    let source_bytes = std::fs::read(qwen3_dir().join("model.safetensors")).unwrap();
    let source = safetensors::SafeTensors::deserialize(&source_bytes).unwrap();
    let bytes = std::fs::read(out.join("model.safetensors")).unwrap();
    let exported = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut want: Vec<String> = source
        .names()
        .into_iter()
        .filter(|n| *n != "lm_head.weight")
        .map(String::from)
        .collect();
    want.push("score.weight".into());
    want.sort();
    let mut got: Vec<String> = exported.names().into_iter().map(String::from).collect();
    got.sort();
    assert_eq!(got, want);
    for name in source.names() {
        if name == "lm_head.weight" {
            continue;
        }
        let (a, b) = (source.tensor(name).unwrap(), exported.tensor(name).unwrap());
        assert_eq!(a.shape(), b.shape(), "{name}");
        assert_eq!(a.data(), b.data(), "{name}");
    }
    let head_name = if source.names().contains(&"lm_head.weight") {
        "lm_head.weight"
    } else {
        "model.embed_tokens.weight"
    };
    let head = source.tensor(head_name).unwrap();
    let hidden = head.shape()[1];
    let head = f32s(&head);
    let row = |id: u64| &head[id as usize * hidden..(id as usize + 1) * hidden];
    let (yes, no) = (
        row(fx["true_token_id"].as_u64().unwrap()),
        row(fx["false_token_id"].as_u64().unwrap()),
    );
    let score = exported.tensor("score.weight").unwrap();
    assert_eq!(score.shape(), &[1, hidden]);
    for (i, s) in f32s(&score).iter().enumerate() {
        assert_eq!(*s, yes[i] - no[i], "score.weight[0, {i}]");
    }

    // An existing export is not overwritten; a cross-encoder is refused.
    let again = rankforge(&[
        "export-classifier",
        "--model",
        s(&qwen3_dir()),
        "--output",
        s(&out),
    ]);
    assert!(!again.status.success());
    let ce = rankforge(&[
        "export-classifier",
        "--model",
        s(&common::minilm()),
        "--output",
        s(&tmp.path().join("ce")),
    ]);
    assert!(!ce.status.success());
}
