//! The `rankforge` binary on the families beyond BERT (issue 20): the tiny XLM-RoBERTa, ELECTRA
//! and ModernBERT checkpoints of `tests/fixtures/tiny-models/` (built by
//! `scripts/reference/tiny_models.py`) through predict, embed, dense retrieval, train (both
//! kinds), rerank and serve, with the scores transformers / sentence-transformers gave.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

#[path = "../../model/tests/common/mod.rs"]
mod model_common;
use model_common::{f32s, max_abs_diff};

#[path = "../../../tests/common/mod.rs"]
mod common;
use common::{
    assert_embed_matches, beir_texts, post_json, rankforge, root, spawn_server, trec_scores,
    write_fixture_pairs, write_jsonl,
};

fn tiny(name: &str) -> PathBuf {
    root().join("tests/fixtures/tiny-models").join(name)
}

fn fixture() -> Value {
    let path = root().join("tests/fixtures/tiny_models.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Runs rankforge, asserts success, returns stderr (notes and reports).
fn ok(args: &[&str]) -> String {
    let out = rankforge(args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "rankforge {args:?} failed: {stderr}");
    stderr + &String::from_utf8_lossy(&out.stdout)
}

fn read_f32s(path: &Path, field: &str) -> Vec<f32> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()[field]
                .as_f64()
                .unwrap() as f32
        })
        .collect()
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn predict_matches_transformers_on_every_family() {
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixture();
    let input = write_fixture_pairs(tmp.path(), &fx);
    let output = tmp.path().join("scores.jsonl");
    for name in ["xlm-roberta-ce", "electra-ce", "modernbert-ce"] {
        let model = tiny(name);
        let notes = ok(&[
            "predict",
            "--model",
            s(&model),
            "--input",
            s(&input),
            "--output",
            s(&output),
        ]);
        let length = fx[name]["max_length"].as_u64().unwrap();
        assert!(
            notes.contains(&format!("max length {length} tokens")),
            "{notes}"
        );
        let scores = read_f32s(&output, "score");
        let diff = max_abs_diff(&scores, &f32s(&fx[name]["st_cross_encoder_scores"]));
        assert!(diff <= 1e-5, "{name}: vs CrossEncoder.predict: {diff}");

        ok(&[
            "predict",
            "--model",
            s(&model),
            "--input",
            s(&input),
            "--output",
            s(&output),
            "--raw",
            "--quiet",
        ]);
        let want = f32s(&fx[name]["logits"]);
        let scale = want.iter().fold(1.0f32, |m, x| m.max(x.abs()));
        let diff = max_abs_diff(&read_f32s(&output, "score"), &want);
        assert!(diff <= 1e-5 * scale, "{name}: logits: {diff}");
    }
}

#[test]
fn embed_and_dense_retrieval_run_on_the_xlm_roberta_and_modernbert_bi_encoders() {
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixture();
    for name in ["modernbert-bi", "xlm-roberta-bi"] {
        let want = &fx[name]["embeddings"];
        assert_embed_matches(tmp.path(), &tiny(name), &fx["texts"], want, &[]);
    }
    let model = tiny("xlm-roberta-bi");

    let sample = root().join("data/sample");
    let run = tmp.path().join("dense.trec");
    ok(&[
        "retrieve",
        "--method",
        "dense",
        "--model",
        s(&model),
        "--corpus",
        s(&sample.join("corpus.jsonl")),
        "--queries",
        s(&sample.join("queries.jsonl")),
        "--top-k",
        "5",
        "--output",
        s(&run),
        "--embedding-cache",
        s(&tmp.path().join("cache")),
        "--quiet",
    ]);
    let lines = std::fs::read_to_string(&run).unwrap().lines().count();
    assert_eq!(lines, 120 * 5, "120 sample queries × top 5");
}

fn train_config(dir: &Path, name: &str, kind: &str, base: &Path, loss: &str) -> PathBuf {
    let config = dir.join(format!("{name}.toml"));
    std::fs::write(
        &config,
        format!(
            "[run]\noutput_dir = {:?}\nseed = 7\n\
             [model]\nkind = \"{kind}\"\nbase = {:?}\nmax_length = 48\n\
             [data]\ndir = {:?}\nnegatives = 1\nnegative_pool = 5\nmax_dev_queries = 4\n\
             [train]\nmax_steps = 2\nbatch_size = 2\nlearning_rate = 1e-4\n\
             [eval]\nevery_steps = 0\ntop_k = 8\n\
             [checkpoint]\nevery_steps = 0\n\
             [loss]\nloss = \"{loss}\"\n",
            s(&dir.join(name)),
            s(base),
            s(&root().join("data/sample")),
        ),
    )
    .unwrap();
    config
}

/// Fine-tunes each tiny cross-encoder for two steps on the sample data; the saved model keeps
/// its family (config.json, tensor names), and predict, rerank and serve on it give the trainer's
/// own dev scores.
#[test]
fn train_then_predict_rerank_and_serve_every_family() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = root().join("data/sample");
    for (name, class) in [
        ("xlm-roberta-ce", "XLMRobertaForSequenceClassification"),
        ("electra-ce", "ElectraForSequenceClassification"),
        ("modernbert-ce", "ModernBertForSequenceClassification"),
    ] {
        let config = train_config(tmp.path(), name, "cross_encoder", &tiny(name), "listnet");
        let report = ok(&["train", "--config", s(&config), "--quiet"]);
        assert!(report.contains("max length 48 tokens"), "{report}");
        let out = tmp.path().join(name);
        let saved = out.join("final");
        let saved_config: Value =
            serde_json::from_str(&std::fs::read_to_string(saved.join("config.json")).unwrap())
                .unwrap();
        assert_eq!(saved_config["architectures"][0], class, "{name}");
        let names =
            rankforge_model::hf::safetensors_names(&saved.join("model.safetensors")).unwrap();
        let original =
            rankforge_model::hf::safetensors_names(&tiny(name).join("model.safetensors")).unwrap();
        assert_eq!(names, original, "{name}: the checkpoint's own tensor names");

        // The trainer's final dev scores, reproduced by rerank over its own candidates.
        let trainer = trec_scores(&out.join("final-dev.trec"));
        assert_eq!(trainer.len(), 4 * 8);
        let reranked = tmp.path().join(format!("{name}-reranked.trec"));
        ok(&[
            "rerank",
            "--model",
            s(&saved),
            "--corpus",
            s(&sample.join("corpus.jsonl")),
            "--queries",
            s(&sample.join("queries.jsonl")),
            "--run",
            s(&out.join("bm25-dev.trec")),
            "--top-k",
            "8",
            "--output",
            s(&reranked),
            "--quiet",
        ]);
        let mut got = trec_scores(&reranked);
        let mut want = trainer.clone();
        got.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        want.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert_eq!((&g.0, &g.1), (&w.0, &w.1));
            assert!((g.2 - w.2).abs() <= 1e-6, "{name}: rerank {g:?} vs {w:?}");
        }

        // serve (TEI /rerank), one query's candidates.
        let queries = beir_texts(&sample.join("queries.jsonl"), false);
        let corpus = beir_texts(&sample.join("corpus.jsonl"), true);
        let qid = &trainer[0].0;
        let docs: Vec<&(String, String, f64)> = trainer.iter().filter(|t| &t.0 == qid).collect();
        let texts: Vec<&str> = docs.iter().map(|t| corpus[&t.1].as_str()).collect();
        let server = spawn_server(&saved);
        let body = post_json(
            &server.addr,
            "/rerank",
            &json!({"query": queries[qid], "texts": texts}),
        );
        drop(server);
        let mut served = vec![f32::NAN; docs.len()];
        for row in body.as_array().unwrap() {
            served[row["index"].as_u64().unwrap() as usize] = row["score"].as_f64().unwrap() as f32;
        }
        let expected: Vec<f32> = docs.iter().map(|t| t.2 as f32).collect();
        let diff = max_abs_diff(&served, &expected);
        assert!(diff <= 1e-6, "{name}: serve vs trainer: {diff}");
    }
}

/// The XLM-R and ModernBERT bi-encoders fine-tune too, and are saved as sentence-transformers
/// directories of their family's base model that embed reads back.
#[test]
fn train_the_xlm_roberta_and_modernbert_bi_encoders() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, class) in [
        ("xlm-roberta-bi", "XLMRobertaModel"),
        ("modernbert-bi", "ModernBertModel"),
    ] {
        let config = train_config(tmp.path(), name, "bi_encoder", &tiny(name), "infonce");
        ok(&["train", "--config", s(&config), "--quiet"]);
        let saved = tmp.path().join(name).join("final");
        let saved_config: Value =
            serde_json::from_str(&std::fs::read_to_string(saved.join("config.json")).unwrap())
                .unwrap();
        assert_eq!(saved_config["architectures"][0], class);
        assert!(saved.join("modules.json").is_file());
        let input = tmp.path().join("texts.jsonl");
        write_jsonl(&input, &[json!({"text": "how to finish a table"})]);
        let output = tmp.path().join("emb.jsonl");
        ok(&[
            "embed",
            "--model",
            s(&saved),
            "--input",
            s(&input),
            "--output",
            s(&output),
            "--quiet",
        ]);
        assert_eq!(std::fs::read_to_string(&output).unwrap().lines().count(), 1);
    }
}

/// `mine` with the XLM-R bi-encoder (fused retrieval) and the ELECTRA cross-encoder as
/// rescorer, then with the ModernBERT pair (dense retrieval), and `evaluate` with the three
/// tiny cross-encoders as rerankers, on the sample data.
#[test]
fn mine_and_evaluate_with_every_family() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = root().join("data/sample");
    let mined = tmp.path().join("mined.jsonl");
    for (retriever, model, rescorer) in [
        ("fused", "xlm-roberta-bi", "electra-ce"),
        ("dense", "modernbert-bi", "modernbert-ce"),
    ] {
        ok(&[
            "mine",
            "--corpus",
            s(&sample.join("corpus.jsonl")),
            "--queries",
            s(&sample.join("queries.jsonl")),
            "--qrels",
            s(&sample.join("qrels/train.tsv")),
            "--retriever",
            retriever,
            "--model",
            s(&tiny(model)),
            "--rescorer",
            s(&tiny(rescorer)),
            "--num-negatives",
            "2",
            // The rescorer scores every retrieved candidate: a shallow pool keeps the debug
            // build quick.
            "--range-max",
            "10",
            "--output",
            s(&mined),
            "--quiet",
        ]);
        let rows = std::fs::read_to_string(&mined).unwrap().lines().count();
        assert!(rows > 0, "mined nothing with {model} and {rescorer}");
    }

    let out_dir = tmp.path().join("report");
    let config = tmp.path().join("eval.toml");
    std::fs::write(
        &config,
        format!(
            "dataset = {:?}\nsplit = \"dev\"\noutput_dir = {:?}\n\
             metrics = [\"ndcg@10\"]\n\
             [first_stage]\ntop_k = 5\n\
             [[rerankers]]\nname = \"xlmr\"\nmodel = {:?}\nmax_length = 64\n\
             [[rerankers]]\nname = \"electra\"\nmodel = {:?}\nmax_length = 64\n\
             [[rerankers]]\nname = \"modernbert\"\nmodel = {:?}\nmax_length = 64\n",
            s(&sample),
            s(&out_dir),
            s(&tiny("xlm-roberta-ce")),
            s(&tiny("electra-ce")),
            s(&tiny("modernbert-ce")),
        ),
    )
    .unwrap();
    let table = ok(&["evaluate", "--config", s(&config), "--quiet"]);
    assert!(
        table.contains("bm25+xlmr")
            && table.contains("bm25+electra")
            && table.contains("bm25+modernbert"),
        "{table}"
    );
    for run in [
        "bm25_xlmr.trec",
        "bm25_electra.trec",
        "bm25_modernbert.trec",
    ] {
        let lines = std::fs::read_to_string(out_dir.join(run)).unwrap();
        assert!(lines.lines().count() > 0, "{run} is empty");
    }
}
