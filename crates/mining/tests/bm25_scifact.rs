//! BM25 on BEIR SciFact against bm25s: nDCG@10 on dev, top-10 documents and scores of the
//! fixture queries and a save/load round trip (ignored without ../shared/data/scifact), and
//! analyzer tokens (always).
//! Fixture: `tests/fixtures/bm25_scifact.json` from `scripts/reference/bm25_scifact.py`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rankforge_data::{BeirDataset, Qrels, ReadMode, Run};
use rankforge_mining::{Analyzer, AnalyzerConfig, Bm25Config, Bm25Index};
use serde_json::Value;

/// The SciFact folder; the test that reads it is ignored where it is missing (see
/// crates/data/build.rs), except under `CI=true`, where it fails here.
fn scifact_dir() -> PathBuf {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/scifact"
    ));
    assert!(
        dir.join("corpus.jsonl").exists(),
        "SciFact not found at {} (see DATA.md in ../shared/data)",
        dir.display()
    );
    dir
}

fn fixture() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/bm25_scifact.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("fixture json")
}

/// trec_eval's ndcg_cut_10: run sorted by score desc then doc id desc, linear graded gains,
/// log2 discount, ideal from all judged grades; queries without relevant documents skipped,
/// queries absent from the run count 0.
fn ndcg_at_10(run: &Run, qrels: &Qrels) -> f64 {
    let mut total = 0.0;
    let mut count = 0;
    for (qid, judged) in qrels.iter() {
        let mut ideal: Vec<i32> = judged.values().copied().filter(|&g| g > 0).collect();
        if ideal.is_empty() {
            continue;
        }
        ideal.sort_unstable_by(|a, b| b.cmp(a));
        let idcg: f64 = ideal
            .iter()
            .take(10)
            .enumerate()
            .map(|(i, &g)| g as f64 / ((i + 2) as f64).log2())
            .sum();
        let mut docs = run.get(qid).map(<[_]>::to_vec).unwrap_or_default();
        rankforge_data::sort_trec(&mut docs);
        let dcg: f64 = docs
            .iter()
            .take(10)
            .enumerate()
            .map(|(i, d)| {
                judged.get(&d.doc_id).copied().unwrap_or(0).max(0) as f64 / ((i + 2) as f64).log2()
            })
            .sum();
        total += dcg / idcg;
        count += 1;
    }
    total / count as f64
}

#[test]
#[cfg_attr(
    not(shared_data_scifact),
    ignore = "needs ../shared/data/scifact (see DATA.md there)"
)]
fn scifact_dev_ndcg_and_top10_match_bm25s() {
    let dir = scifact_dir();
    let fixture = fixture();
    let data = BeirDataset::load(&dir, "dev", ReadMode::Strict)
        .unwrap()
        .into_data();
    let index = Bm25Index::build(data.corpus.documents(), &Bm25Config::default(), false).unwrap();
    assert_eq!(index.num_docs(), 5183);

    // Quality: within 0.005 of bm25s's nDCG@10 (0.663).
    let queries = data.judged_queries();
    let run = index.search_run(&queries.pairs(), 100, false);
    let ndcg = ndcg_at_10(&run, &data.qrels);
    let reference = fixture["dev_ndcg_at_10"].as_f64().unwrap();
    println!("nDCG@10 scifact dev: ours {ndcg:.4}, bm25s {reference:.4}");
    assert!(
        (ndcg - reference).abs() < 0.005,
        "nDCG@10 {ndcg} vs bm25s {reference}"
    );

    // Top-10 parity: same scores rank by rank (1e-4), same documents up to ties.
    for query in fixture["queries"].as_array().unwrap() {
        let qid = query["query_id"].as_str().unwrap();
        let expected: Vec<(String, f64)> = query["top10"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["doc_id"].as_str().unwrap().to_string(),
                    h["score"].as_f64().unwrap(),
                )
            })
            .collect();
        let ours = index.search(query["text"].as_str().unwrap(), 10);
        let ours: Vec<(String, f64)> = ours
            .iter()
            .map(|h| (index.doc_id(h.doc).to_string(), h.score as f64))
            .collect();
        assert_eq!(ours.len(), expected.len(), "query {qid}");
        for (rank, ((_, s_ours), (_, s_ref))) in ours.iter().zip(&expected).enumerate() {
            assert!(
                (s_ours - s_ref).abs() < 1e-4,
                "query {qid} rank {}: {s_ours} vs {s_ref}",
                rank + 1
            );
        }
        let cutoff = expected.last().unwrap().1;
        let ours_map: HashMap<&str, f64> = ours.iter().map(|(d, s)| (d.as_str(), *s)).collect();
        let ref_map: HashMap<&str, f64> = expected.iter().map(|(d, s)| (d.as_str(), *s)).collect();
        for (doc, score) in &expected {
            match ours_map.get(doc.as_str()) {
                Some(s) => assert!((s - score).abs() < 1e-4, "query {qid} doc {doc}"),
                None => assert!(
                    (score - cutoff).abs() < 1e-4,
                    "query {qid}: bm25s's {doc} missing, not a tie"
                ),
            }
        }
        for (doc, score) in &ours {
            if !ref_map.contains_key(doc.as_str()) {
                assert!(
                    (score - cutoff).abs() < 1e-4,
                    "query {qid}: our {doc} is not in bm25s's top 10, not a tie"
                );
            }
        }
    }

    // Save / load round trip gives the same results.
    let file = tempfile::NamedTempFile::new().unwrap();
    index.save(file.path()).unwrap();
    let loaded = Bm25Index::load(file.path()).unwrap();
    assert_eq!(loaded.num_postings(), index.num_postings());
    let again = loaded.search_run(&queries.pairs(), 100, false);
    assert_eq!(again, run);
}

/// Analyzer parity with bm25s.tokenize(..., stopwords="en", stemmer=english), on the texts the
/// fixture carries (no data set needed).
#[test]
fn analyzer_tokens_match_bm25s() {
    let fixture = fixture();
    let analyzer = Analyzer::new(AnalyzerConfig::default()).unwrap();
    let samples = fixture["analyzer_samples"].as_array().unwrap();
    assert!(!samples.is_empty());
    for sample in samples {
        let expected: Vec<&str> = sample["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert_eq!(analyzer.tokens(sample["text"].as_str().unwrap()), expected);
    }
}
