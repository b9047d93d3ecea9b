//! Writing mined negatives in the layouts trainers read (see [`OutputFormat`]).

use std::path::Path;

use rankforge_data::{write_jsonl, FlagExample};
use serde_json::{json, Map, Value};

use crate::error::Result;
use crate::miner::{Mined, MiningData, OutputFormat};

/// The output records of `mined` in `format`, one JSON object each, with texts looked up in
/// `data` (documents as `title + " " + text`). Queries with no negatives produce none; the
/// n-tuple formats also skip queries with fewer than `num_negatives` negatives, and
/// `n_tuple_scores` those with an unscored document.
pub fn mined_records(mined: &Mined, data: MiningData<'_>, format: OutputFormat) -> Vec<Value> {
    let text = |id: &str| {
        data.corpus
            .get(id)
            .map(|d| d.full_text())
            .unwrap_or_default()
    };
    let mut records = Vec::new();
    for q in &mined.queries {
        if q.negatives.is_empty() {
            continue;
        }
        let query = data
            .queries
            .get(&q.query_id)
            .map(|x| x.text.as_str())
            .unwrap_or_default();
        let negatives: Vec<String> = q.negatives.iter().map(|d| text(&d.doc_id)).collect();
        let full = q.negatives.len() >= mined.config.num_negatives;
        match format {
            OutputFormat::Triplet => {
                for p in &q.positives {
                    let positive = text(&p.doc_id);
                    for n in &negatives {
                        records.push(json!({"query": query, "positive": positive, "negative": n}));
                    }
                }
            }
            OutputFormat::NTuple | OutputFormat::NTupleScores => {
                if !full {
                    continue;
                }
                for p in &q.positives {
                    let mut record = Map::new();
                    record.insert("query".into(), json!(query));
                    record.insert("positive".into(), json!(text(&p.doc_id)));
                    for (i, n) in negatives.iter().enumerate() {
                        record.insert(format!("negative_{}", i + 1), json!(n));
                    }
                    if format == OutputFormat::NTupleScores {
                        let scores: Option<Vec<f64>> = std::iter::once(p.score)
                            .chain(q.negatives.iter().map(|d| d.score))
                            .collect();
                        let Some(scores) = scores else { continue };
                        record.insert("score".into(), json!(scores));
                    }
                    records.push(Value::Object(record));
                }
            }
            OutputFormat::LabeledPair => {
                for p in &q.positives {
                    records.push(json!({"query": query, "passage": text(&p.doc_id), "label": 1}));
                }
                for n in &negatives {
                    records.push(json!({"query": query, "passage": n, "label": 0}));
                }
            }
            OutputFormat::LabeledList => {
                let passages: Vec<String> = q
                    .positives
                    .iter()
                    .map(|p| text(&p.doc_id))
                    .chain(negatives.iter().cloned())
                    .collect();
                let labels: Vec<u8> = q
                    .positives
                    .iter()
                    .map(|_| 1)
                    .chain(q.negatives.iter().map(|_| 0))
                    .collect();
                records.push(json!({"query": query, "passages": passages, "labels": labels}));
            }
            OutputFormat::FlagEmbedding => {
                let pos_scores: Option<Vec<f64>> = q.positives.iter().map(|d| d.score).collect();
                let neg_scores: Option<Vec<f64>> = q.negatives.iter().map(|d| d.score).collect();
                let (pos_scores, neg_scores) = match (pos_scores, neg_scores) {
                    (Some(p), Some(n)) => (Some(p), Some(n)),
                    _ => (None, None),
                };
                let example = FlagExample {
                    query: query.to_string(),
                    pos: q.positives.iter().map(|p| text(&p.doc_id)).collect(),
                    neg: negatives,
                    pos_scores,
                    neg_scores,
                    prompt: None,
                    kind: None,
                };
                records.push(serde_json::to_value(example).expect("FlagExample serialises"));
            }
        }
    }
    records
}

/// Writes [`mined_records`] in the format of `mined.config.output` as jsonl; returns the
/// number of lines written.
pub fn write_mined(path: impl AsRef<Path>, mined: &Mined, data: MiningData<'_>) -> Result<usize> {
    let records = mined_records(mined, data, mined.config.output);
    write_jsonl(path, &records)?;
    Ok(records.len())
}
