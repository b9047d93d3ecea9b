//! End-to-end tests of the `rankforge` binary: its outputs equal PyTorch's (fixture written by
//! scripts/reference/model_parity.py), its errors name the file, line and field.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

/// The model crate's test helpers: the parity comparison (lengths and finiteness checked).
#[path = "../crates/model/tests/common/mod.rs"]
mod model_common;
use model_common::{f32s, max_abs_diff};

#[path = "common/mod.rs"]
mod common;
use common::*;

#[test]
fn predict_matches_pytorch_logits_and_sentence_transformers_scores() {
    let tmp = tempfile::tempdir().unwrap();
    let model = fixture_cross_encoder(tmp.path());
    let fx = fixture();
    let input = write_fixture_pairs(tmp.path(), &fx);
    let output = tmp.path().join("scores.jsonl");
    let (m, i, o) = (
        model.to_str().unwrap(),
        input.to_str().unwrap(),
        output.to_str().unwrap(),
    );

    ok(&[
        "predict",
        "--model",
        m,
        "--input",
        i,
        "--output",
        o,
        "--raw",
        "--batch-size",
        "5",
        "--quiet",
    ]);
    let logits: Vec<f32> = scores(&output);
    let want = f32s(&fx["logits"]);
    let scale = want.iter().fold(1.0f32, |m, x| m.max(x.abs()));
    let diff = max_abs_diff(&logits, &want);
    assert!(
        diff <= 1e-5 * scale,
        "logits vs PyTorch: max abs diff {diff} (scale {scale})"
    );
    ok(&[
        "predict", "--model", m, "--input", i, "--output", o, "--quiet",
    ]);
    let st_scores: Vec<f32> = scores(&output);
    let diff = max_abs_diff(&st_scores, &f32s(&fx["st_cross_encoder_scores"]));
    assert!(
        diff <= 1e-5,
        "scores vs sentence-transformers: max abs diff {diff}"
    );
}

#[test]
fn embed_matches_sentence_transformers() {
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixture();
    assert_embed_matches(tmp.path(), &minilm(), &fx["texts"], &fx["embeddings"], &[]);
}

#[test]
fn rerank_reorders_the_top_k_with_predict_scores() {
    let tmp = tempfile::tempdir().unwrap();
    let model = fixture_cross_encoder(tmp.path());
    let corpus = tmp.path().join("corpus.jsonl");
    write_jsonl(
        &corpus,
        &[
            json!({"_id": "d1", "title": "Tides", "text": "Tides are caused by the moon's gravity."}),
            json!({"_id": "d2", "title": "", "text": "Stock markets closed higher."}),
            json!({"_id": "d3", "title": "Paris", "text": "Paris is the capital of France."}),
            json!({"_id": "d4", "title": "", "text": "A fourth document that the top-k cut drops."}),
        ],
    );
    let queries = tmp.path().join("queries.jsonl");
    write_jsonl(
        &queries,
        &[
            json!({"_id": "q1", "text": "what causes tides"}),
            json!({"_id": "q2", "text": "capital of france"}),
        ],
    );
    let run = tmp.path().join("bm25.trec");
    std::fs::write(&run, "q1 Q0 d2 1 9.0 bm25\nq1 Q0 d1 2 8.0 bm25\nq1 Q0 d3 3 7.0 bm25\nq1 Q0 d4 4 1.0 bm25\nq2 Q0 d3 1 5.0 bm25\nq2 Q0 d1 2 4.0 bm25\n").unwrap();
    let out = tmp.path().join("reranked.trec");
    let m = model.to_str().unwrap();
    ok(&[
        "rerank",
        "--model",
        m,
        "--corpus",
        corpus.to_str().unwrap(),
        "--queries",
        queries.to_str().unwrap(),
        "--run",
        run.to_str().unwrap(),
        "--top-k",
        "3",
        "--output",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    let lines: Vec<Vec<String>> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect();
    assert_eq!(lines.len(), 5, "top 3 of q1 and both of q2");
    assert!(!lines.iter().any(|l| l[2] == "d4"), "below the top-k cut");
    // Scores are the cross-encoder's: the same as predict on the same texts.
    let pairs = tmp.path().join("pairs.jsonl");
    write_jsonl(
        &pairs,
        &[
            json!({"query": "what causes tides", "document": "Tides Tides are caused by the moon's gravity."}),
        ],
    );
    let scores = tmp.path().join("s.jsonl");
    ok(&[
        "predict",
        "--model",
        m,
        "--input",
        pairs.to_str().unwrap(),
        "--output",
        scores.to_str().unwrap(),
        "--quiet",
    ]);
    let want = read_field(&scores, "score")[0].as_f64().unwrap();
    let got: f64 = lines.iter().find(|l| l[0] == "q1" && l[2] == "d1").unwrap()[4]
        .parse()
        .unwrap();
    assert!((got - want).abs() < 1e-6, "{got} vs {want}");
    for q in ["q1", "q2"] {
        let ranked: Vec<f64> = lines
            .iter()
            .filter(|l| l[0] == q)
            .map(|l| l[4].parse().unwrap())
            .collect();
        assert!(ranked.windows(2).all(|w| w[0] >= w[1]), "sorted by score");
    }

    std::fs::write(&run, "q1 Q0 d9 1 9.0 bm25\n").unwrap();
    let msg = err(&[
        "rerank",
        "--model",
        m,
        "--corpus",
        corpus.to_str().unwrap(),
        "--queries",
        queries.to_str().unwrap(),
        "--run",
        run.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(msg.contains("d9") && msg.contains("corpus"), "{msg}");
}

#[test]
fn bad_input_names_file_line_and_field() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("pairs.jsonl");
    std::fs::write(
        &input,
        "{\"query\": \"q\", \"document\": \"d\"}\n\n{\"query\": \"q\", \"doc\": \"d\"}\n",
    )
    .unwrap();
    let out = tmp.path().join("o.jsonl");
    let m = minilm();
    let msg = err(&[
        "predict",
        "--model",
        m.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(
        msg.contains("pairs.jsonl:3") && msg.contains("`document`"),
        "{msg}"
    );
    std::fs::write(&input, "{\"query\": \"q\", \"document\": 7}\n").unwrap();
    let msg = err(&[
        "predict",
        "--model",
        m.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(
        msg.contains("pairs.jsonl:1") && msg.contains("expected a string"),
        "{msg}"
    );
    std::fs::write(&input, "not json\n").unwrap();
    let msg = err(&[
        "predict",
        "--model",
        m.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(msg.contains("pairs.jsonl:1"), "{msg}");
    std::fs::write(&input, "{\"query\": \"q\", \"document\": \"d\"}\n").unwrap();
    let msg = err(&[
        "predict",
        "--model",
        "/no/such/model",
        "--input",
        input.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(msg.contains("/no/such/model/config.json"), "{msg}");
    let msg = err(&[
        "predict",
        "--model",
        m.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--long-doc",
        "max-chunk",
        "--chunk-window",
        "10",
        "--chunk-stride",
        "20",
    ]);
    assert!(msg.contains("--chunk-stride"), "{msg}");
}

#[test]
fn eval_prints_json_and_compare_a_table() {
    let tmp = tempfile::tempdir().unwrap();
    let qrels = tmp.path().join("qrels.tsv");
    std::fs::write(&qrels, "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td3\t2\n").unwrap();
    let a = tmp.path().join("a.trec");
    std::fs::write(&a, "q1 Q0 d2 1 2.0 a\nq1 Q0 d1 2 1.0 a\nq2 Q0 d3 1 1.0 a\n").unwrap();
    let b = tmp.path().join("b.trec");
    std::fs::write(&b, "q1 Q0 d1 1 2.0 b\nq2 Q0 d3 1 1.0 b\n").unwrap();
    let out = ok(&[
        "eval",
        "--qrels",
        qrels.to_str().unwrap(),
        "--run",
        a.to_str().unwrap(),
        "--metrics",
        "mrr@10,p@1",
        "--json",
    ]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!((v["mrr@10"].as_f64().unwrap() - 0.75).abs() < 1e-12);
    assert!((v["p@1"].as_f64().unwrap() - 0.5).abs() < 1e-12);
    let table = ok(&[
        "compare",
        "--qrels",
        qrels.to_str().unwrap(),
        "--runs",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--metrics",
        "mrr@10",
    ]);
    assert!(table.contains("mrr@10") && table.contains('b'), "{table}");
    let msg = err(&[
        "eval",
        "--qrels",
        qrels.to_str().unwrap(),
        "--run",
        a.to_str().unwrap(),
        "--metrics",
        "ndcg@0",
    ]);
    assert!(msg.contains("ndcg@0"), "{msg}");
}

#[test]
fn dense_retrieval_equals_brute_force_cosine_over_embed_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let docs = [
        ("d1", "Tides", "Tides are caused by the moon's gravity."),
        ("d2", "", "Stock markets closed higher."),
        ("d3", "Paris", "Paris is the capital of France."),
        (
            "d4",
            "",
            "Bread rises because yeast produces carbon dioxide.",
        ),
    ];
    let corpus = tmp.path().join("corpus.jsonl");
    write_jsonl(
        &corpus,
        &docs
            .iter()
            .map(|(id, t, x)| json!({"_id": id, "title": t, "text": x}))
            .collect::<Vec<_>>(),
    );
    let queries = tmp.path().join("queries.jsonl");
    write_jsonl(
        &queries,
        &[
            json!({"_id": "q1", "text": "why does dough rise"}),
            json!({"_id": "q2", "text": "french capital"}),
        ],
    );
    let run = tmp.path().join("dense.trec");
    let m = minilm();
    let cache = tmp.path().join("cache");
    let args = [
        "retrieve",
        "--method",
        "dense",
        "--model",
        m.to_str().unwrap(),
        "--corpus",
        corpus.to_str().unwrap(),
        "--queries",
        queries.to_str().unwrap(),
        "--top-k",
        "3",
        "--output",
        run.to_str().unwrap(),
        "--quiet",
        "--embedding-cache",
        cache.to_str().unwrap(),
    ];
    ok(&args);
    // Brute force with `embed` (normalised embeddings: cosine = dot).
    let texts = tmp.path().join("texts.jsonl");
    let mut rows: Vec<Value> = docs.iter().map(|(_, t, x)| json!({"text": if t.is_empty() { x.to_string() } else { format!("{t} {x}") }})).collect();
    rows.push(json!({"text": "why does dough rise"}));
    rows.push(json!({"text": "french capital"}));
    write_jsonl(&texts, &rows);
    let emb = tmp.path().join("emb.jsonl");
    ok(&[
        "embed",
        "--model",
        m.to_str().unwrap(),
        "--input",
        texts.to_str().unwrap(),
        "--output",
        emb.to_str().unwrap(),
    ]);
    let vectors: Vec<Vec<f32>> = read_field(&emb, "embedding").iter().map(f32s).collect();
    assert_eq!(vectors.len(), rows.len());
    assert!(vectors
        .iter()
        .all(|v| v.len() == 384 && v.iter().all(|x| x.is_finite())));
    let lines: Vec<Vec<String>> = std::fs::read_to_string(&run)
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect();
    assert_eq!(lines.len(), 6, "top 3 for each of 2 queries");
    for (qi, qid) in ["q1", "q2"].iter().enumerate() {
        let q = &vectors[docs.len() + qi];
        let mut want: Vec<(f32, &str)> = docs
            .iter()
            .enumerate()
            .map(|(di, (id, _, _))| (vectors[di].iter().zip(q).map(|(a, b)| a * b).sum(), *id))
            .collect();
        want.sort_by(|a, b| b.0.total_cmp(&a.0));
        let got: Vec<&Vec<String>> = lines.iter().filter(|l| l[0] == *qid).collect();
        assert_eq!(got.len(), 3, "{qid}");
        for (rank, line) in got.iter().enumerate() {
            assert_eq!(line[2], want[rank].1, "{qid} rank {rank}");
            assert!((line[4].parse::<f32>().unwrap() - want[rank].0).abs() < 1e-5);
        }
    }
    assert_eq!(lines.iter().find(|l| l[0] == "q1").unwrap()[2], "d4");
    assert_eq!(lines.iter().find(|l| l[0] == "q2").unwrap()[2], "d3");
    // A second run reads the embedding cache and gives the same run.
    let again = tmp.path().join("again.trec");
    let mut args2 = args.to_vec();
    let pos = args2
        .iter()
        .position(|a| *a == run.to_str().unwrap())
        .unwrap();
    args2[pos] = again.to_str().unwrap();
    ok(&args2);
    assert_eq!(std::fs::read(&run).unwrap(), std::fs::read(&again).unwrap());
    assert_eq!(
        std::fs::read_dir(tmp.path().join("cache")).unwrap().count(),
        1
    );
    // Issue 19: corrupted cache bytes are detected by the checksum, reported, and the corpus
    // embedded again (before: the bytes were used and changed the ranking silently).
    let cache_file = std::fs::read_dir(&cache)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&cache_file).unwrap();
    let first_vector = 56..56 + 384 * 4; // after magic, key, docs and dim
    bytes[first_vector].fill(0x3f);
    std::fs::write(&cache_file, &bytes).unwrap();
    let out = rankforge(&args2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("checksum mismatch"), "{stderr}");
    assert_eq!(std::fs::read(&run).unwrap(), std::fs::read(&again).unwrap());
    let rewritten = std::fs::read(&cache_file).unwrap();
    assert_ne!(rewritten, bytes, "the cache file is rebuilt");
    ok(&args2);
}

#[test]
fn bm25_retrieve_fuse_and_mine_on_the_sample_data() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = root().join("data/sample");
    let s = |p: &str| sample.join(p).to_str().unwrap().to_string();
    let bm25 = tmp.path().join("bm25.trec");
    ok(&[
        "retrieve",
        "--corpus",
        &s("corpus.jsonl"),
        "--queries",
        &s("queries.jsonl"),
        "--qrels",
        &s("qrels/dev.tsv"),
        "--top-k",
        "50",
        "--output",
        bm25.to_str().unwrap(),
        "--quiet",
    ]);
    let metrics: Value = serde_json::from_str(&ok(&[
        "eval",
        "--qrels",
        &s("qrels/dev.tsv"),
        "--run",
        bm25.to_str().unwrap(),
        "--json",
    ]))
    .unwrap();
    let ndcg = metrics["ndcg@10"].as_f64().unwrap();
    assert!(
        (0.5..0.8).contains(&ndcg),
        "BM25 nDCG@10 on the sample dev split: {ndcg}"
    );

    let fused = tmp.path().join("fused.trec");
    ok(&[
        "fuse",
        "--runs",
        bm25.to_str().unwrap(),
        bm25.to_str().unwrap(),
        "--output",
        fused.to_str().unwrap(),
    ]);
    let fused_metrics: Value = serde_json::from_str(&ok(&[
        "eval",
        "--qrels",
        &s("qrels/dev.tsv"),
        "--run",
        fused.to_str().unwrap(),
        "--json",
    ]))
    .unwrap();
    assert!(
        (fused_metrics["ndcg@10"].as_f64().unwrap() - ndcg).abs() < 1e-9,
        "fusing a run with itself keeps its order"
    );

    let config = tmp.path().join("mine.toml");
    std::fs::write(&config, format!(
        "corpus = \"{}\"\nqueries = \"{}\"\nqrels = \"{}\"\nretriever = \"bm25\"\n[miner]\nnum_negatives = 3\nrange_min = 2\noutput = \"labeled_list\"\n",
        s("corpus.jsonl"), s("queries.jsonl"), s("qrels/train.tsv"))).unwrap();
    let mined = tmp.path().join("mined.jsonl");
    ok(&[
        "mine",
        "--config",
        config.to_str().unwrap(),
        "--output",
        mined.to_str().unwrap(),
        "--quiet",
    ]);
    let lines: Vec<Value> = std::fs::read_to_string(&mined)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 80, "one labeled list per train query");
    let mut full = 0;
    for line in &lines {
        let labels = line["labels"].as_array().unwrap();
        let negatives = labels.iter().filter(|l| l.as_f64() == Some(0.0)).count();
        assert!((1..=3).contains(&negatives), "{labels:?}");
        full += usize::from(negatives == 3);
        assert_eq!(line["passages"].as_array().unwrap().len(), labels.len());
    }
    // BM25 finds too few candidates below rank 2 for one query; the summary reports it.
    assert!(full >= 79, "{full} of 80 lists have all 3 negatives");
    std::fs::write(&config, "corpus = \"x\"\nunknown_key = 1\n").unwrap();
    let msg = err(&["mine", "--config", config.to_str().unwrap()]);
    assert!(
        msg.contains("mine.toml") && msg.contains("unknown_key"),
        "{msg}"
    );
}

/// A three-query BEIR collection written into `dir`.
fn tiny_beir(dir: &Path) -> PathBuf {
    let data = dir.join("beir");
    std::fs::create_dir_all(data.join("qrels")).unwrap();
    let docs = [
        ("d1", "Aspirin reduces the risk of heart attacks in adults."),
        ("d2", "Heart attacks are caused by blocked arteries."),
        (
            "d3",
            "Vitamin D deficiency is common in northern countries.",
        ),
        (
            "d4",
            "Sunlight exposure increases vitamin D levels in the skin.",
        ),
        ("d5", "Coffee consumption and the risk of heart disease."),
        ("d6", "Regular exercise lowers blood pressure."),
    ];
    let corpus: Vec<Value> = docs
        .iter()
        .map(|(id, text)| json!({"_id": id, "title": "", "text": text}))
        .collect();
    write_jsonl(&data.join("corpus.jsonl"), &corpus);
    write_jsonl(
        &data.join("queries.jsonl"),
        &[
            json!({"_id": "q1", "text": "does aspirin prevent heart attacks"}),
            json!({"_id": "q2", "text": "how does the skin make vitamin D"}),
            json!({"_id": "q3", "text": "heart disease risk"}),
        ],
    );
    std::fs::write(
        data.join("qrels/dev.tsv"),
        "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td4\t1\nq3\td5\t1\nq3\td2\t1\n",
    )
    .unwrap();
    data
}

#[test]
fn evaluate_reports_bm25_and_the_reranker_with_predict_scores() {
    let tmp = tempfile::tempdir().unwrap();
    let model = fixture_cross_encoder(tmp.path());
    let data = tiny_beir(tmp.path());
    let out_dir = tmp.path().join("report");
    let config = tmp.path().join("eval.toml");
    std::fs::write(
        &config,
        format!(
            "dataset = {:?}\nsplit = \"dev\"\noutput_dir = {:?}\n\
             metrics = [\"ndcg@10\", \"mrr@10\", \"recall@3\", \"p@1\"]\n\
             [first_stage]\ntop_k = 3\n\
             [[rerankers]]\nname = \"ce\"\nmodel = {:?}\nmax_length = 64\n",
            data, out_dir, model
        ),
    )
    .unwrap();
    let table = ok(&["evaluate", "--config", config.to_str().unwrap(), "--quiet"]);
    assert!(table.contains("bm25+ce") && table.contains("ms"), "{table}");

    // The reranked run holds the cross-encoder's scores of BM25's top 3, as `predict` gives them.
    let bm25_run = std::fs::read_to_string(out_dir.join("bm25.trec")).unwrap();
    let ce_run = std::fs::read_to_string(out_dir.join("bm25_ce.trec")).unwrap();
    let fields = |line: &str| -> (String, String, f64) {
        let f: Vec<&str> = line.split_whitespace().collect();
        (f[0].to_string(), f[2].to_string(), f[4].parse().unwrap())
    };
    let bm25: Vec<_> = bm25_run.lines().map(fields).collect();
    let reranked: Vec<_> = ce_run.lines().map(fields).collect();
    // q2's terms match two documents only.
    assert_eq!(bm25.len(), 8, "{bm25_run}");
    assert_eq!(reranked.len(), 8, "{ce_run}");
    let texts: std::collections::HashMap<&str, &str> = [
        ("q1", "does aspirin prevent heart attacks"),
        ("q2", "how does the skin make vitamin D"),
        ("q3", "heart disease risk"),
    ]
    .into_iter()
    .collect();
    let corpus: std::collections::HashMap<String, String> =
        read_field(&data.join("corpus.jsonl"), "_id")
            .into_iter()
            .zip(read_field(&data.join("corpus.jsonl"), "text"))
            .map(|(id, text)| {
                (
                    id.as_str().unwrap().to_string(),
                    text.as_str().unwrap().to_string(),
                )
            })
            .collect();
    let pairs = tmp.path().join("pairs.jsonl");
    let rows: Vec<Value> = reranked
        .iter()
        .map(|(q, d, _)| json!({"query": texts[q.as_str()], "document": corpus[d]}))
        .collect();
    write_jsonl(&pairs, &rows);
    let scores = tmp.path().join("scores.jsonl");
    ok(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--input",
        pairs.to_str().unwrap(),
        "--output",
        scores.to_str().unwrap(),
        "--max-length",
        "64",
    ]);
    let predicted = read_field(&scores, "score");
    assert_eq!(predicted.len(), reranked.len());
    for ((q, d, score), want) in reranked.iter().zip(&predicted) {
        let want = want.as_f64().unwrap();
        assert!(
            (score - want).abs() < 1e-4,
            "{q} {d}: {score} vs predict {want}"
        );
        assert!(
            bm25.iter().any(|(bq, bd, _)| bq == q && bd == d),
            "{q} {d} not in BM25's top 3"
        );
    }
    for q in ["q1", "q2", "q3"] {
        let ranked: Vec<f64> = reranked.iter().filter(|r| r.0 == q).map(|r| r.2).collect();
        assert!(ranked.windows(2).all(|w| w[0] >= w[1]), "{q}: {ranked:?}");
    }

    // report.json's BM25 numbers are `rankforge eval`'s on the written run; the PNG is a PNG.
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("report.json")).unwrap())
            .unwrap();
    let eval = ok(&[
        "eval",
        "--qrels",
        data.join("qrels/dev.tsv").to_str().unwrap(),
        "--run",
        out_dir.join("bm25.trec").to_str().unwrap(),
        "--metrics",
        "ndcg@10,mrr@10,recall@3,p@1",
        "--json",
    ]);
    let eval: Value = serde_json::from_str(&eval).unwrap();
    for metric in ["ndcg@10", "mrr@10", "recall@3", "p@1"] {
        let row = &report["comparison"]["metrics"][metric];
        let got = row["bm25"]["mean"].as_f64().unwrap();
        assert!(
            (got - eval[metric].as_f64().unwrap()).abs() < 1e-12,
            "{metric}: {row}"
        );
        assert!(row["bm25+ce"]["mean"].is_f64(), "{metric}: {row}");
    }
    assert_eq!(report["queries"], 3);
    assert!(report["wall_ms_per_query"]["bm25+ce"].as_f64().unwrap() > 0.0);
    let png = std::fs::read(out_dir.join("report.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    // Unknown keys are refused by name.
    std::fs::write(
        &config,
        format!("dataset = {data:?}\noutput_dir = {out_dir:?}\ntop_k = 5\n"),
    )
    .unwrap();
    let msg = err(&["evaluate", "--config", config.to_str().unwrap()]);
    assert!(msg.contains("top_k") && msg.contains("eval.toml"), "{msg}");
}

#[test]
fn bench_train_times_optimizer_steps_and_names_bad_group_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let groups = tmp.path().join("groups.jsonl");
    write_jsonl(
        &groups,
        &[
            json!({"query": "aspirin and heart attacks", "docs": ["Aspirin reduces heart attacks.", "Vitamin D and sunlight."], "labels": [1.0, 0.0]}),
            json!({"query": "vitamin D from the skin", "docs": ["Sunlight makes vitamin D in the skin.", "Coffee and heart disease."], "labels": [1.0, 0.0]}),
        ],
    );
    let model = minilm();
    let out = ok(&[
        "bench",
        "train",
        "--model",
        model.to_str().unwrap(),
        "--groups",
        groups.to_str().unwrap(),
        "--batch-pairs",
        "4",
        "--max-length",
        "32",
        "--steps",
        "3",
        "--warmup-steps",
        "1",
    ]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["batch_pairs"], 4, "{v}");
    assert_eq!(v["timed_steps"], 2, "{v}");
    assert_eq!(v["losses"].as_array().unwrap().len(), 3, "{v}");
    assert!(v["pairs_per_s"].as_f64().unwrap() > 0.0, "{v}");
    // ListNet over two documents starts near ln 2 with a fresh head.
    let first = v["losses"][0].as_f64().unwrap();
    assert!((first - std::f64::consts::LN_2).abs() < 0.2, "{v}");

    write_jsonl(
        &groups,
        &[
            json!({"query": "q", "docs": ["a", "b"], "labels": [1.0, 0.0]}),
            json!({"query": "q", "docs": ["a", "b"], "labels": [1.0]}),
        ],
    );
    let msg = err(&[
        "bench",
        "train",
        "--model",
        model.to_str().unwrap(),
        "--groups",
        groups.to_str().unwrap(),
    ]);
    assert!(
        msg.contains("groups.jsonl:2") && msg.contains("labels"),
        "{msg}"
    );
}

#[test]
fn predict_in_bf16_and_f16_stays_within_one_percent_of_pytorch() {
    let tmp = tempfile::tempdir().unwrap();
    let model = fixture_cross_encoder(tmp.path());
    let fx = fixture();
    let input = write_fixture_pairs(tmp.path(), &fx);
    let want = f32s(&fx["logits"]);
    let scale = want.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    for precision in ["bf16", "f16"] {
        let output = tmp.path().join(format!("{precision}.jsonl"));
        ok(&[
            "predict",
            "--model",
            model.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
            "--raw",
            "--precision",
            precision,
        ]);
        let got: Vec<f32> = scores(&output);
        let diff = max_abs_diff(&got, &want);
        assert!(diff <= 1e-2 * scale, "{precision}: {diff} (scale {scale})");
    }
    let msg = err(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        tmp.path().join("x.jsonl").to_str().unwrap(),
        "--precision",
        "fp8",
    ]);
    assert!(msg.contains("fp8") && msg.contains("bf16"), "{msg}");
}

/// Issue 27: a model trained at a short length is saved with it, and `predict`, `rerank` and
/// `serve` on the saved directory (no `--max-length`) reproduce the trainer's own final dev
/// scores. The sample documents are longer than 32 tokens, so a loader that fell back to the
/// position table (512) scores them differently.
#[test]
fn saved_model_reproduces_the_trainers_dev_scores_in_predict_rerank_and_serve() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = root().join("data/sample");
    let out = tmp.path().join("run");
    let config = tmp.path().join("train.toml");
    std::fs::write(&config, tiny_train_config(&out, &minilm())).unwrap();
    let report = ok(&["train", "--config", config.to_str().unwrap(), "--quiet"]);
    assert!(report.contains("max length 32 tokens"), "{report}");
    let final_dir = out.join("final");
    let m = final_dir.to_str().unwrap();
    let trainer = trec_scores(&out.join("final-dev.trec"));
    assert_eq!(trainer.len(), 4 * 8, "4 dev queries × top 8");

    let queries = beir_texts(&sample.join("queries.jsonl"), false);
    let corpus = beir_texts(&sample.join("corpus.jsonl"), true);
    let longest = trainer
        .iter()
        .map(|(_, d, _)| corpus[d].len())
        .max()
        .unwrap();
    assert!(
        longest > 200,
        "documents longer than 32 tokens ({longest} chars)"
    );

    // rerank over the trainer's own candidates.
    let reranked = tmp.path().join("reranked.trec");
    ok(&[
        "rerank",
        "--model",
        m,
        "--corpus",
        sample.join("corpus.jsonl").to_str().unwrap(),
        "--queries",
        sample.join("queries.jsonl").to_str().unwrap(),
        "--run",
        out.join("bm25-dev.trec").to_str().unwrap(),
        "--top-k",
        "8",
        "--output",
        reranked.to_str().unwrap(),
        "--quiet",
    ]);
    let mut want = trainer.clone();
    let mut got = trec_scores(&reranked);
    want.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    got.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!((&g.0, &g.1), (&w.0, &w.1));
        assert!((g.2 - w.2).abs() <= 1e-6, "rerank {g:?} vs trainer {w:?}");
    }

    // predict on the same (query, document) texts.
    let pairs = tmp.path().join("pairs.jsonl");
    let rows: Vec<Value> = trainer
        .iter()
        .map(|(q, d, _)| json!({"query": queries[q], "document": corpus[d]}))
        .collect();
    write_jsonl(&pairs, &rows);
    let scored = tmp.path().join("scores.jsonl");
    let predicted = rankforge(&[
        "predict",
        "--model",
        m,
        "--input",
        pairs.to_str().unwrap(),
        "--output",
        scored.to_str().unwrap(),
    ]);
    let notes = String::from_utf8_lossy(&predicted.stderr);
    assert!(predicted.status.success(), "{notes}");
    assert!(notes.contains("max length 32 tokens"), "{notes}");
    let predicted: Vec<f32> = scores(&scored);
    let trained: Vec<f32> = trainer.iter().map(|t| t.2 as f32).collect();
    let diff = max_abs_diff(&predicted, &trained);
    assert!(diff <= 1e-6, "predict vs trainer: max abs diff {diff}");

    // serve, one request per dev query (TEI /rerank).
    let server = spawn_server(&final_dir);
    let mut served = Vec::new();
    let mut expected = Vec::new();
    let mut qids: Vec<&String> = trainer.iter().map(|t| &t.0).collect();
    qids.dedup();
    for qid in qids {
        let docs: Vec<&(String, String, f64)> = trainer.iter().filter(|t| &t.0 == qid).collect();
        let texts: Vec<&str> = docs.iter().map(|t| corpus[&t.1].as_str()).collect();
        let body = post_json(
            &server.addr,
            "/rerank",
            &json!({"query": queries[qid], "texts": texts}),
        );
        let mut by_index = vec![f32::NAN; docs.len()];
        for row in body.as_array().unwrap() {
            by_index[row["index"].as_u64().unwrap() as usize] =
                row["score"].as_f64().unwrap() as f32;
        }
        served.extend(by_index);
        expected.extend(docs.iter().map(|t| t.2 as f32));
    }
    drop(server);
    let diff = max_abs_diff(&served, &expected);
    assert!(diff <= 1e-6, "serve vs trainer: max abs diff {diff}");
}

/// Issue 19: a write that fails midway (here the file-size limit kills the process, as a full
/// disk fails it) leaves the previous output whole: outputs are written to a temporary file and
/// renamed into place. Before, the output was truncated first and left cut mid-line.
#[test]
fn a_write_killed_midway_leaves_the_previous_output_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = root().join("data/sample");
    let s = |p: &str| sample.join(p).to_str().unwrap().to_string();
    let out = tmp.path().join("bm25.trec");
    let retrieve = |top_k: &str| {
        vec![
            "retrieve".to_string(),
            "--corpus".into(),
            s("corpus.jsonl"),
            "--queries".into(),
            s("queries.jsonl"),
            "--top-k".into(),
            top_k.into(),
            "--output".into(),
            out.to_str().unwrap().into(),
            "--quiet".into(),
        ]
    };
    let args = retrieve("5");
    ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let good = std::fs::read(&out).unwrap();
    assert!(good.len() > 4096, "a run larger than the limit below");
    // bash's `ulimit -f` counts 1024-byte blocks: 2 KiB, less than either output.
    let status = Command::new("bash")
        .arg("-c")
        .arg(r#"ulimit -f 2; exec "$@""#)
        .arg("bash")
        .arg(env!("CARGO_BIN_EXE_rankforge"))
        .args(retrieve("50"))
        .output()
        .unwrap();
    assert!(!status.status.success(), "the limited write must fail");
    assert_eq!(
        std::fs::read(&out).unwrap(),
        good,
        "the previous output is untouched"
    );
}

/// Issue 19: an output that cannot be written is found before any input is read or model
/// loaded (before: after all inference). The model path does not exist, so an error that
/// names the output proves the check came first.
#[test]
fn an_unwritable_output_is_refused_before_the_work_starts() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-model");
    let input = tmp.path().join("pairs.jsonl");
    write_jsonl(&input, &[json!({"query": "q", "document": "d"})]);
    let dir_as_output = tmp.path().to_str().unwrap();
    for command in ["predict", "embed"] {
        let msg = err(&[
            command,
            "--model",
            missing.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--output",
            dir_as_output,
        ]);
        assert!(
            msg.contains("cannot write the output") && msg.contains(dir_as_output),
            "{command}: {msg}"
        );
    }
    let msg = err(&[
        "rerank",
        "--model",
        missing.to_str().unwrap(),
        "--corpus",
        "missing-corpus.jsonl",
        "--queries",
        "missing-queries.jsonl",
        "--run",
        "missing.trec",
        "--output",
        dir_as_output,
    ]);
    assert!(msg.contains("cannot write the output"), "{msg}");
}
