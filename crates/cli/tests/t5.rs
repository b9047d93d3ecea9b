//! Generative rerankers (issue 25) through the binary: `predict --raw` on the tiny monoT5-style
//! fixture model gives transformers' raw scores (`tests/fixtures/t5.json`, from
//! `scripts/reference/t5_reference.py`), without `--raw` their sigmoid (the 2-way softmax of
//! "true"); `rerank` of a BM25 run over the bundled sample scores each pair as the
//! in-process `GenerativeReranker` does.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

#[path = "../../model/tests/common/mod.rs"]
mod model_common;
use model_common::B;

#[path = "../../../tests/common/mod.rs"]
mod common;
use common::{beir_texts, post_json, rankforge, root, spawn_server, trec_scores, write_jsonl};

use rankforge_model::t5::{GenerativeReranker, GenerativeSettings};
use rankforge_model::{Activation, Precision, RunOptions};

fn t5_dir(name: &str) -> PathBuf {
    root().join("tests/fixtures").join(name)
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn sample(file: &str) -> PathBuf {
    root().join("data/sample").join(file)
}

/// Runs rankforge, asserts success, returns stderr and stdout.
fn ok(args: &[&str]) -> String {
    let out = rankforge(args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "rankforge {args:?} failed: {stderr}");
    stderr + &String::from_utf8_lossy(&out.stdout)
}

fn fixture() -> Value {
    let path = root().join("tests/fixtures/t5.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `|a − b| ≤ 1e-5 × max(1, |b|)`: f32 on both sides, other batching (see
/// `crates/model/tests/t5.rs`).
fn assert_close(ours: f64, want: f64, what: &str) {
    assert!(
        (ours - want).abs() <= 1e-5 * want.abs().max(1.0),
        "{what}: {ours} vs {want}"
    );
}

#[test]
fn predict_gives_transformers_raw_scores_and_their_sigmoid() {
    let fx = fixture();
    let tmp = tempfile::tempdir().unwrap();
    for name in ["t5-tiny-relu", "t5-tiny-gated"] {
        let pairs = fx[name]["pairs"].as_array().unwrap();
        let rows: Vec<Value> = pairs
            .iter()
            .map(|p| json!({"query": p["query"], "document": p["document"]}))
            .collect();
        let input = tmp.path().join("pairs.jsonl");
        write_jsonl(&input, &rows);
        let output = tmp.path().join(format!("{name}.jsonl"));
        let model = t5_dir(name);
        let log = ok(&[
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
        assert!(
            log.contains("score = logit(▁true) − logit(▁false)") && log.contains("max length 512"),
            "{log}"
        );
        let raw = common::scores(&output);
        assert_eq!(raw.len(), pairs.len());
        for (p, ours) in pairs.iter().zip(&raw) {
            assert_close(
                *ours as f64,
                p["mono_raw"].as_f64().unwrap(),
                &format!("{name} raw"),
            );
        }
        ok(&[
            "predict",
            "--model",
            s(&model),
            "--input",
            s(&input),
            "--output",
            s(&output),
            "--quiet",
        ]);
        for (p, ours) in pairs.iter().zip(common::scores(&output)) {
            let want = p["mono_softmax_true"].as_f64().unwrap();
            assert!(
                (ours as f64 - want).abs() < 1e-6,
                "{name}: {ours} vs {want}"
            );
        }
    }
}

#[test]
fn rerank_scores_a_bm25_run_with_the_generative_reranker() {
    let tmp = tempfile::tempdir().unwrap();
    let first = tmp.path().join("bm25.trec");
    ok(&[
        "retrieve",
        "--corpus",
        s(&sample("corpus.jsonl")),
        "--queries",
        s(&sample("queries.jsonl")),
        "--qrels",
        s(&sample("qrels/dev.tsv")),
        "--top-k",
        "5",
        "--output",
        s(&first),
        "--quiet",
    ]);
    let model = t5_dir("t5-tiny-gated");
    let out = tmp.path().join("t5.trec");
    let log = ok(&[
        "rerank",
        "--model",
        s(&model),
        "--corpus",
        s(&sample("corpus.jsonl")),
        "--queries",
        s(&sample("queries.jsonl")),
        "--run",
        s(&first),
        "--top-k",
        "5",
        "--output",
        s(&out),
        "--quiet",
    ]);
    assert!(log.contains("generative reranker (T5)"), "{log}");

    let scorer = GenerativeReranker::<B>::load(
        &model,
        Some(GenerativeSettings::mono_t5()),
        None,
        Activation::Sigmoid,
        RunOptions::default(),
        Precision::F32,
        &Default::default(),
    )
    .unwrap()
    .0;
    let queries = beir_texts(&sample("queries.jsonl"), false);
    let corpus = beir_texts(&sample("corpus.jsonl"), true);
    let lines = trec_scores(&out);
    assert!(lines.len() >= 20, "{}", lines.len());
    let pairs: Vec<(&str, &str)> = lines
        .iter()
        .map(|(q, d, _)| (queries[q].as_str(), corpus[d].as_str()))
        .collect();
    let want = scorer.score(&pairs).unwrap();
    let mut last: HashMap<&str, f64> = HashMap::new();
    for ((q, d, ours), want) in lines.iter().zip(want) {
        assert_close(*ours, want as f64, &format!("{q} {d}"));
        // Each query's documents in decreasing score order.
        if let Some(&before) = last.get(q.as_str()) {
            assert!(*ours <= before, "{q}: {ours} after {before}");
        }
        last.insert(q.as_str(), *ours);
    }
}

/// `--generative-template rank` scores by RankT5's `<extra_id_10>` logit, `--true-token ▁yes
/// --false-token ▁no` by mT5's pair (transformers' `rank_raw`, `mono_yes_no_raw`); the flags
/// are refused for a cross-encoder.
#[test]
fn predict_flags_pick_the_template_and_score_tokens() {
    let fx = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let name = "t5-tiny-relu";
    let pairs = fx[name]["pairs"].as_array().unwrap();
    let rows: Vec<Value> = pairs
        .iter()
        .map(|p| json!({"query": p["query"], "document": p["document"]}))
        .collect();
    let input = tmp.path().join("pairs.jsonl");
    write_jsonl(&input, &rows);
    let model = t5_dir(name);
    for (flags, key) in [
        (vec!["--generative-template", "rank"], "rank_raw"),
        (
            vec!["--true-token", "▁yes", "--false-token", "▁no"],
            "mono_yes_no_raw",
        ),
    ] {
        let output = tmp.path().join(format!("{key}.jsonl"));
        let mut args = vec![
            "predict",
            "--model",
            s(&model),
            "--input",
            s(&input),
            "--output",
            s(&output),
            "--raw",
            "--quiet",
        ];
        args.extend(&flags);
        let log = ok(&args);
        assert!(log.contains("generative reranker (T5)"), "{log}");
        for (p, ours) in pairs.iter().zip(common::scores(&output)) {
            assert_close(ours as f64, p[key].as_f64().unwrap(), &format!("{flags:?}"));
        }
    }
    let cross_encoder = common::minilm();
    let out = rankforge(&[
        "predict",
        "--model",
        s(&cross_encoder),
        "--input",
        s(&input),
        "--output",
        s(&tmp.path().join("ce.jsonl")),
        "--generative-template",
        "rank",
        "--quiet",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("generative rerankers"), "{stderr}");
}

/// `rankforge serve --model <T5 dir>`: `/rerank` answers transformers' monoT5 probabilities.
#[test]
fn serve_answers_the_fixture_sigmoid_scores() {
    let fx = fixture();
    let name = "t5-tiny-gated";
    let server = spawn_server(&t5_dir(name));
    for p in fx[name]["pairs"].as_array().unwrap() {
        let body = post_json(
            &server.addr,
            "/rerank",
            &json!({"query": p["query"], "texts": [p["document"]]}),
        );
        let ours = body[0]["score"].as_f64().unwrap();
        assert_close(ours, p["mono_softmax_true"].as_f64().unwrap(), "serve");
    }
}

/// `mine --rescorer <T5 dir>`: the mined records carry the generative reranker's scores
/// (sigmoid of true − false) for the positive and each negative.
#[test]
fn mine_rescores_with_a_generative_reranker() {
    let tmp = tempfile::tempdir().unwrap();
    let model = t5_dir("t5-tiny-gated");
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
    let scorer = GenerativeReranker::<B>::load(
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
    // Generative flags without a rescorer are refused.
    let out = rankforge(&[
        "mine",
        "--corpus",
        s(&sample("corpus.jsonl")),
        "--queries",
        s(&sample("queries.jsonl")),
        "--qrels",
        s(&sample("qrels/train.tsv")),
        "--true-token",
        "▁yes",
        "--output",
        s(&tmp.path().join("x.jsonl")),
        "--quiet",
    ]);
    assert!(!out.status.success());
}

/// `rerank --duo-model`: monoT5 over a BM25 run's top 5, then duoT5 over each query's mono top
/// 3 (6 ordered pairs): those 3 come first, scored as the in-process
/// `GenerativeReranker::duo_scores` aggregates them (sym_sum by default, log_sum when asked),
/// and the other 2 follow in the mono order.
#[test]
fn rerank_with_a_duo_model_rescores_the_mono_top_k_pairwise() {
    use rankforge_model::t5::DuoAggregation;
    let tmp = tempfile::tempdir().unwrap();
    let first = tmp.path().join("bm25.trec");
    ok(&[
        "retrieve",
        "--corpus",
        s(&sample("corpus.jsonl")),
        "--queries",
        s(&sample("queries.jsonl")),
        "--qrels",
        s(&sample("qrels/dev.tsv")),
        "--top-k",
        "5",
        "--output",
        s(&first),
        "--quiet",
    ]);
    let mono_dir = t5_dir("t5-tiny-relu");
    let duo_dir = t5_dir("t5-tiny-gated");
    let (corpus_path, queries_path) = (sample("corpus.jsonl"), sample("queries.jsonl"));
    let rerank = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "rerank",
            "--model",
            s(&mono_dir),
            "--corpus",
            s(&corpus_path),
            "--queries",
            s(&queries_path),
            "--run",
            s(&first),
            "--top-k",
            "5",
            "--output",
            s(out),
            "--quiet",
        ];
        args.extend(extra);
        ok(&args)
    };
    let mono_out = tmp.path().join("mono.trec");
    rerank(&mono_out, &[]);
    let load = |dir: &Path| {
        GenerativeReranker::<B>::load(
            dir,
            None,
            None,
            Activation::Identity,
            RunOptions::default(),
            Precision::F32,
            &Default::default(),
        )
        .unwrap()
        .0
    };
    let duo = load(&duo_dir);
    let queries = beir_texts(&sample("queries.jsonl"), false);
    let corpus = beir_texts(&sample("corpus.jsonl"), true);
    let by_query = |path: &Path| {
        let mut lists: Vec<(String, Vec<(String, f64)>)> = Vec::new();
        for (q, d, score) in trec_scores(path) {
            match lists.last_mut() {
                Some((last, docs)) if *last == q => docs.push((d, score)),
                _ => lists.push((q, vec![(d, score)])),
            }
        }
        lists
    };
    let mono = by_query(&mono_out);
    for (aggregation, flags) in [
        (DuoAggregation::SymSum, vec![]),
        (DuoAggregation::LogSum, vec!["--duo-aggregate", "log_sum"]),
    ] {
        let out = tmp.path().join(format!("duo-{}.trec", aggregation.name()));
        let mut args = vec!["--duo-model", s(&duo_dir), "--duo-top-k", "3"];
        args.extend(&flags);
        let log = rerank(&out, &args);
        assert!(log.contains("duoT5"), "{log}");
        let reranked = by_query(&out);
        assert_eq!(reranked.len(), mono.len());
        for ((q, docs), (mono_q, mono_docs)) in reranked.iter().zip(&mono) {
            assert_eq!(q, mono_q);
            assert_eq!(docs.len(), mono_docs.len());
            let k = mono_docs.len().min(3);
            let top: Vec<&str> = mono_docs[..k].iter().map(|(d, _)| d.as_str()).collect();
            let texts: Vec<&str> = top.iter().map(|d| corpus[*d].as_str()).collect();
            let want = duo
                .duo_scores(&[(queries[q].as_str(), texts)], aggregation)
                .unwrap()
                .remove(0);
            for (d, score) in &docs[..k] {
                let i = top
                    .iter()
                    .position(|t| t == d)
                    .expect("a mono top-k document");
                assert_close(*score, want[i], &format!("{q} {d} {}", aggregation.name()));
            }
            let rest: Vec<&str> = docs[k..].iter().map(|(d, _)| d.as_str()).collect();
            let mono_rest: Vec<&str> = mono_docs[k..].iter().map(|(d, _)| d.as_str()).collect();
            assert_eq!(rest, mono_rest, "{q}: below the duo top k, the mono order");
        }
    }
}
