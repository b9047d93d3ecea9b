//! ColBERT through the binary (issue 26): the tiny PyLate and Stanford fixture models of
//! `tests/fixtures/colbert/` recognised by their directories, and `rerank`, `predict`,
//! `embed --multi-vector`, `retrieve --method colbert`, `evaluate` and `serve` giving the
//! scores of `ColBert::score` in-process (which `crates/model/tests/colbert.rs` checks against
//! PyLate's).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

#[path = "../../model/tests/common/mod.rs"]
mod model_common;
use model_common::B;

#[path = "../../../tests/common/mod.rs"]
mod common;
use common::{beir_texts, post_json, rankforge, root, trec_scores, write_jsonl};

use rankforge_model::colbert::{read_token_vectors, ColBert, ColBertFormat};

fn colbert_dir(name: &str) -> PathBuf {
    root().join("tests/fixtures/colbert").join(name)
}

fn load(name: &str) -> ColBert<B> {
    ColBert::<B>::load(colbert_dir(name), &Default::default())
        .unwrap()
        .0
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Runs rankforge, asserts success, returns stderr and stdout.
fn ok(args: &[&str]) -> String {
    let out = rankforge(args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "rankforge {args:?} failed: {stderr}");
    stderr + &String::from_utf8_lossy(&out.stdout)
}

fn sample(file: &str) -> PathBuf {
    root().join("data/sample").join(file)
}

/// `|a − b| ≤ 1e-5 × max(1, |b|)`: the same model on other batches.
fn assert_close(ours: f64, want: f64, what: &str) {
    assert!(
        (ours - want).abs() <= 1e-5 * want.abs().max(1.0),
        "{what}: {ours} vs ColBert::score {want}"
    );
}

/// BM25 top `k` of the sample's dev queries.
fn bm25_run(dir: &Path, k: usize) -> PathBuf {
    let run = dir.join("bm25.trec");
    ok(&[
        "retrieve",
        "--corpus",
        s(&sample("corpus.jsonl")),
        "--queries",
        s(&sample("queries.jsonl")),
        "--qrels",
        s(&sample("qrels/dev.tsv")),
        "--top-k",
        &k.to_string(),
        "--output",
        s(&run),
        "--quiet",
    ]);
    run
}

/// Each (query, document, score) of a TREC file against `ColBert::score`, for the first
/// `queries` queries.
fn assert_run_scores(model: &ColBert<B>, run: &Path, queries: usize) -> usize {
    let query_text = beir_texts(&sample("queries.jsonl"), false);
    let corpus = beir_texts(&sample("corpus.jsonl"), true);
    let lines = trec_scores(run);
    let mut by_query: Vec<(String, Vec<(String, f64)>)> = Vec::new();
    for (q, d, score) in lines {
        match by_query.last_mut() {
            Some((last, docs)) if *last == q => docs.push((d, score)),
            _ => by_query.push((q, vec![(d, score)])),
        }
    }
    let mut checked = 0;
    for (q, docs) in by_query.iter().take(queries) {
        let texts: Vec<&str> = docs.iter().map(|(d, _)| corpus[d].as_str()).collect();
        let want = model.score(&query_text[q], &texts).unwrap();
        for ((d, ours), want) in docs.iter().zip(want) {
            assert_close(*ours, want as f64, &format!("{q} {d}"));
            checked += 1;
        }
    }
    checked
}

#[test]
fn colbert_directories_are_recognised_and_others_are_not() {
    assert_eq!(
        ColBert::<B>::recognise(colbert_dir("pylate-tiny")),
        Some(ColBertFormat::PyLate)
    );
    assert_eq!(
        ColBert::<B>::recognise(colbert_dir("stanford-tiny")),
        Some(ColBertFormat::Stanford)
    );
    for other in ["xlm-roberta-ce", "xlm-roberta-bi", "modernbert-bi"] {
        let dir = root().join("tests/fixtures/tiny-models").join(other);
        assert!(dir.is_dir(), "{}", dir.display());
        assert_eq!(ColBert::<B>::recognise(&dir), None, "{other}");
    }
}

#[test]
fn rerank_and_predict_score_with_maxsim_and_encode_each_document_once() {
    let tmp = tempfile::tempdir().unwrap();
    let first = bm25_run(tmp.path(), 6);
    let model = load("pylate-tiny");
    let mut reranked_scores = Vec::new();
    for name in ["pylate-tiny", "stanford-tiny"] {
        let out = tmp.path().join(format!("{name}.trec"));
        let log = ok(&[
            "rerank",
            "--model",
            s(&colbert_dir(name)),
            "--corpus",
            s(&sample("corpus.jsonl")),
            "--queries",
            s(&sample("queries.jsonl")),
            "--run",
            s(&first),
            "--top-k",
            "6",
            "--output",
            s(&out),
            "--quiet",
        ]);
        assert!(log.contains("ColBERT"), "{log}");
        // The cache: one encoding per distinct document of the run, fewer than its pairs.
        let lines = trec_scores(&out);
        let distinct: HashSet<&str> = lines.iter().map(|(_, d, _)| d.as_str()).collect();
        let encoded = format!(
            "ColBERT: {} documents encoded for {} pairs",
            distinct.len(),
            lines.len()
        );
        assert!(log.contains(&encoded), "{encoded}\n{log}");
        assert!(
            distinct.len() < lines.len(),
            "the sample's runs share documents"
        );
        assert!(assert_run_scores(&model, &out, 4) >= 12);
        reranked_scores.push(lines);
    }
    // Both formats of the same weights rerank alike.
    let stanford: HashMap<(&str, &str), f64> = reranked_scores[1]
        .iter()
        .map(|(q, d, score)| ((q.as_str(), d.as_str()), *score))
        .collect();
    assert_eq!(stanford.len(), reranked_scores[0].len());
    for (q, d, score) in &reranked_scores[0] {
        let other = stanford[&(q.as_str(), d.as_str())];
        assert_close(other, *score, &format!("stanford vs pylate, {q} {d}"));
    }

    // predict: pairs (one repeated) scored as ColBert::score does.
    let queries = beir_texts(&sample("queries.jsonl"), false);
    let corpus = beir_texts(&sample("corpus.jsonl"), true);
    let pairs = [
        ("q001", "d0046"),
        ("q001", "d0001"),
        ("q002", "d0038"),
        ("q001", "d0046"),
    ];
    let rows: Vec<Value> = pairs
        .iter()
        .map(|(q, d)| json!({"query": queries[*q], "document": corpus[*d]}))
        .collect();
    let input = tmp.path().join("pairs.jsonl");
    write_jsonl(&input, &rows);
    let output = tmp.path().join("scores.jsonl");
    ok(&[
        "predict",
        "--model",
        s(&colbert_dir("pylate-tiny")),
        "--input",
        s(&input),
        "--output",
        s(&output),
    ]);
    let scores = common::scores(&output);
    assert_eq!(scores.len(), pairs.len());
    for ((q, d), ours) in pairs.iter().zip(&scores) {
        let want = model.score(&queries[*q], &[corpus[*d].as_str()]).unwrap()[0];
        assert_close(*ours as f64, want as f64, &format!("predict {q} {d}"));
    }
    assert_eq!(scores[0], scores[3], "the same pair, the same score");

    // Max-chunk is for cross-encoders.
    let out = rankforge(&[
        "predict",
        "--model",
        s(&colbert_dir("pylate-tiny")),
        "--input",
        s(&input),
        "--output",
        s(&output),
        "--long-doc",
        "max-chunk",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("max-chunk"));
}

#[test]
fn embed_multi_vector_writes_the_documented_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let texts = [
        "Film finishes such as polyurethane form a hard layer.",
        "?!",
        "a much longer text that the tiny model's short document length cuts off well before \
         its end, since it keeps only a couple of dozen tokens",
    ];
    let rows: Vec<Value> = texts.iter().map(|t| json!({ "text": t })).collect();
    let input = tmp.path().join("texts.jsonl");
    write_jsonl(&input, &rows);
    let model = load("pylate-tiny");
    let model_dir = colbert_dir("pylate-tiny");
    for queries in [false, true] {
        let output = tmp.path().join(format!("vectors-{queries}.bin"));
        let mut args = vec![
            "embed",
            "--model",
            s(&model_dir),
            "--input",
            s(&input),
            "--output",
            s(&output),
            "--multi-vector",
        ];
        if queries {
            args.push("--queries");
        }
        ok(&args);
        let want = if queries {
            model.encode_queries(&texts).unwrap()
        } else {
            model.encode_documents(&texts).unwrap()
        };
        // The header and lengths as documented, then the values.
        let bytes = std::fs::read(&output).unwrap();
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        assert_eq!(&bytes[..4], b"RFMV");
        assert_eq!(u32_at(4), 1, "version");
        assert_eq!(u32_at(8) as usize, model.model.dim());
        assert_eq!(
            u64::from_le_bytes(bytes[12..20].try_into().unwrap()),
            texts.len() as u64
        );
        let lengths: Vec<usize> = (0..texts.len())
            .map(|i| u32_at(20 + 4 * i) as usize)
            .collect();
        assert_eq!(
            lengths,
            want.iter().map(|v| v.rows()).collect::<Vec<_>>(),
            "queries {queries}"
        );
        let total: usize = lengths.iter().sum();
        assert_eq!(
            bytes.len(),
            20 + 4 * texts.len() + 4 * total * model.model.dim()
        );
        let read = read_token_vectors(&output).unwrap();
        for (ours, want) in read.iter().zip(&want) {
            let diff = model_common::max_abs_diff(&ours.data, &want.data);
            assert!(diff <= 1e-6, "queries {queries}: {diff}");
        }
    }
    let read = read_token_vectors(&tmp.path().join("vectors-true.bin")).unwrap();
    let query_length = model.settings().query_length;
    assert!(
        read.iter().all(|v| v.rows() == query_length),
        "queries are expanded to query_length"
    );
    // A cross-encoder has no per-token vectors to write.
    let out = rankforge(&[
        "embed",
        "--model",
        s(&root().join("tests/fixtures/tiny-models/xlm-roberta-ce")),
        "--input",
        s(&input),
        "--output",
        s(&tmp.path().join("x.bin")),
        "--multi-vector",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a ColBERT"));
}

#[test]
fn retrieve_colbert_ranks_the_corpus_by_exact_maxsim() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("colbert.trec");
    let log = ok(&[
        "retrieve",
        "--method",
        "colbert",
        "--model",
        s(&colbert_dir("pylate-tiny")),
        "--corpus",
        s(&sample("corpus.jsonl")),
        "--queries",
        s(&sample("queries.jsonl")),
        "--qrels",
        s(&sample("qrels/dev.tsv")),
        "--top-k",
        "5",
        "--output",
        s(&run),
        "--quiet",
    ]);
    assert!(log.contains("KB per document"), "{log}");
    let lines = trec_scores(&run);
    let mut per_query: HashMap<&str, Vec<(&str, f64)>> = HashMap::new();
    for (q, d, score) in &lines {
        per_query.entry(q).or_default().push((d, *score));
    }
    let dev_queries: HashSet<String> = std::fs::read_to_string(sample("qrels/dev.tsv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect();
    assert_eq!(per_query.len(), dev_queries.len());
    assert!(per_query.values().all(|docs| docs.len() == 5));

    // The first query's top document is the argmax of ColBert::score over the whole corpus.
    let model = load("pylate-tiny");
    let queries = beir_texts(&sample("queries.jsonl"), false);
    let corpus = beir_texts(&sample("corpus.jsonl"), true);
    let (q, docs) = per_query.iter().min_by_key(|(q, _)| **q).unwrap();
    let ids: Vec<&String> = corpus.keys().collect();
    let texts: Vec<&str> = ids.iter().map(|id| corpus[*id].as_str()).collect();
    let all = model.score(&queries[*q], &texts).unwrap();
    let best = all.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let (top_doc, top_score) = docs[0];
    assert_close(top_score, best as f64, &format!("{q}: top score"));
    let top_index = ids.iter().position(|id| id.as_str() == top_doc).unwrap();
    assert_close(all[top_index] as f64, top_score, &format!("{q} {top_doc}"));
}

#[test]
fn evaluate_reranks_with_a_colbert_from_the_config() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("report");
    let config = tmp.path().join("eval.toml");
    std::fs::write(
        &config,
        format!(
            "dataset = {:?}\nsplit = \"dev\"\noutput_dir = {:?}\n\
             metrics = [\"ndcg@10\", \"recall@5\"]\n\
             [first_stage]\ntop_k = 5\n\
             [[rerankers]]\nname = \"colbert\"\nmodel = {:?}\n",
            s(&root().join("data/sample")),
            s(&out),
            s(&colbert_dir("pylate-tiny")),
        ),
    )
    .unwrap();
    let log = ok(&["evaluate", "--config", s(&config), "--quiet"]);
    assert!(log.contains("bm25+colbert"), "{log}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert!(report["wall_ms_per_query"]["bm25+colbert"].is_number());
    assert!(assert_run_scores(&load("pylate-tiny"), &out.join("bm25_colbert.trec"), 3) >= 10);
}

#[test]
fn serve_reranks_with_maxsim_and_embeds_every_token() {
    let model = load("pylate-tiny");
    let server = common::spawn_server(&colbert_dir("pylate-tiny"));
    let query = "how do I protect a wooden table";
    let texts = [
        "Film finishes such as polyurethane form a hard layer.",
        "Freelancers pay their own tax.",
        "Oil soaks into the wood.",
    ];
    let want = model.score(query, &texts).unwrap();
    let ranked = post_json(
        &server.addr,
        "/rerank",
        // MaxSim sums, with no sigmoid, whether or not raw scores are asked for.
        &json!({"query": query, "texts": texts}),
    );
    let ranked = ranked.as_array().unwrap();
    assert_eq!(ranked.len(), texts.len());
    for rank in ranked {
        let index = rank["index"].as_u64().unwrap() as usize;
        let score = rank["score"].as_f64().unwrap();
        assert_close(score, want[index] as f64, &format!("/rerank {index}"));
    }
    let best = want
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .unwrap()
        .0;
    assert_eq!(ranked[0]["index"].as_u64().unwrap() as usize, best);

    let vectors = post_json(&server.addr, "/embed_all", &json!({"inputs": texts}));
    let vectors = vectors.as_array().unwrap();
    let documents = model.encode_documents(&texts).unwrap();
    assert_eq!(vectors.len(), texts.len());
    for (got, want) in vectors.iter().zip(&documents) {
        let rows = got.as_array().unwrap();
        assert_eq!(rows.len(), want.rows());
        let flat: Vec<f32> = rows.iter().flat_map(model_common::f32s).collect();
        assert!(model_common::max_abs_diff(&flat, &want.data) <= 1e-5);
    }
}
