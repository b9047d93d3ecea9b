//! duoT5 (Pradeep et al. 2021, "The Expando-Mono-Duo Design Pattern"): a pairwise second pass
//! over a pointwise reranker's top k. For a query and each ordered pair `(d_i, d_j)` of its top
//! k documents (`k·(k−1)` prompts), the T5 reads
//! `Query: {q} Document0: {d_i} Document1: {d_j} Relevant:` + `</s>` and the probability that
//! `d_i` is the more relevant, `p_ij = softmax([logit(▁true), logit(▁false)])[0]` (the sigmoid
//! of the raw score, as pygaggle's `DuoT5.rescore`), is aggregated into one score per document
//! ([`DuoAggregation`], the four rules of castorini's duoT5 run conversion script).
//!
//! Truncation: pygaggle tokenizes the whole prompt and lets the tokenizer cut it at 512 tokens
//! from the end (so `Document1`'s tail goes first, then `Relevant:` and `</s>`); there is no
//! budget split between the two documents. Here, as for monoT5, the template's end always
//! stays, and the two documents share what the template and query leave (`fit_pair`) the way
//! transformers' `longest_first` shares a pair's budget: tokens come off the longer document,
//! off `Document1` on a tie, so a short document keeps all its tokens and two long ones get
//! `⌈b/2⌉` (`Document0`) and `⌊b/2⌋` (`Document1`).

use burn::tensor::backend::Backend;
use rankforge_data::{sort_trec, Corpus, Queries, Run, ScoredDoc};
use serde::{Deserialize, Serialize};

use super::reranker::{GenerativePrompts, GenerativeReranker};
use crate::error::{ModelError, Result};

/// How pairwise probabilities become one score per document (castorini's duoT5
/// `--aggregate`; `p_ij` is the probability of "true" for the prompt `(d_i, d_j)`):
///
/// - `sum`: `s_i = Σ_j p_ij`
/// - `sym_sum` (default, pygaggle's `DuoT5`): `s_i = Σ_j p_ij + Σ_j (1 − p_ji)`
/// - `log_sum`: `s_i = Σ_j log p_ij`
/// - `sym_log_sum`: `s_i = Σ_j log p_ij + Σ_j log(1 − p_ji)`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DuoAggregation {
    Sum,
    #[default]
    SymSum,
    LogSum,
    SymLogSum,
}

impl DuoAggregation {
    pub const ALL: [DuoAggregation; 4] = [
        DuoAggregation::Sum,
        DuoAggregation::SymSum,
        DuoAggregation::LogSum,
        DuoAggregation::SymLogSum,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DuoAggregation::Sum => "sum",
            DuoAggregation::SymSum => "sym_sum",
            DuoAggregation::LogSum => "log_sum",
            DuoAggregation::SymLogSum => "sym_log_sum",
        }
    }

    /// The score of each of `k` documents from the raw scores (log-odds of "true") of the
    /// ordered pairs, `raw[i][j]` for `i ≠ j` (the diagonal is not read). Probabilities and
    /// their logs are taken from the log-odds (`log p = −softplus(−x)`, `log(1 − p) =
    /// −softplus(x)`), in f64.
    pub fn aggregate(self, raw: &[Vec<f32>]) -> Vec<f64> {
        let k = raw.len();
        let log_sigmoid = |x: f64| -softplus(-x);
        (0..k)
            .map(|i| {
                (0..k)
                    .filter(|&j| j != i)
                    .map(|j| {
                        let (x_ij, x_ji) = (raw[i][j] as f64, raw[j][i] as f64);
                        match self {
                            DuoAggregation::Sum => sigmoid(x_ij),
                            DuoAggregation::SymSum => sigmoid(x_ij) + (1.0 - sigmoid(x_ji)),
                            DuoAggregation::LogSum => log_sigmoid(x_ij),
                            DuoAggregation::SymLogSum => log_sigmoid(x_ij) + log_sigmoid(-x_ji),
                        }
                    })
                    .sum()
            })
            .collect()
    }
}

impl std::str::FromStr for DuoAggregation {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| format!("`{s}`: expected sum, sym_sum, log_sum or sym_log_sum"))
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// `ln(1 + eˣ)` without overflow.
fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// duoT5's prompt of an ordered document pair, with the byte spans of both documents.
pub fn duo_prompt(query: &str, d0: &str, d1: &str) -> (String, [(usize, usize); 2]) {
    let head = format!("Query: {query} Document0: ");
    let first = (head.len(), head.len() + d0.len());
    let middle = format!("{head}{d0} Document1: ");
    let second = (middle.len(), middle.len() + d1.len());
    (format!("{middle}{d1} Relevant:"), [first, second])
}

/// `ids` (with byte `offsets`) of a duo prompt cut to `budget` tokens: the two documents'
/// tokens (those overlapping `spans`) are cut from their ends, sharing what the rest leaves as
/// `longest_first` would (see the module notes); if the rest alone is still too long, it loses
/// tokens from its start, so the template's end always stays.
pub fn fit_pair(
    ids: &[u32],
    offsets: &[(usize, usize)],
    spans: [(usize, usize); 2],
    budget: usize,
) -> Vec<u32> {
    if ids.len() <= budget {
        return ids.to_vec();
    }
    let owner: Vec<Option<usize>> = offsets
        .iter()
        .map(|&(s, e)| spans.iter().position(|&(start, end)| s < end && e > start))
        .collect();
    let n0 = owner.iter().filter(|o| **o == Some(0)).count();
    let n1 = owner.iter().filter(|o| **o == Some(1)).count();
    let documents = (n0 + n1).saturating_sub(ids.len() - budget);
    let k1 = n1.min(documents.saturating_sub(n0).max(documents / 2));
    let k0 = n0.min(documents - k1);
    let keep = [k0, k1];
    let mut seen = [0usize; 2];
    let kept: Vec<u32> = ids
        .iter()
        .zip(&owner)
        .filter(|(_, owner)| match owner {
            Some(d) => {
                seen[*d] += 1;
                seen[*d] <= keep[*d]
            }
            None => true,
        })
        .map(|(&id, _)| id)
        .collect();
    kept[kept.len().saturating_sub(budget)..].to_vec()
}

impl GenerativePrompts {
    /// The duo prompt ids of each `(query, d0, d1)` (`</s>` last), cut to the max length.
    pub fn encode_duo(&self, triples: &[(&str, &str, &str)]) -> Result<Vec<Vec<u32>>> {
        let prompts: Vec<(String, [(usize, usize); 2])> = triples
            .iter()
            .map(|&(q, d0, d1)| duo_prompt(q, d0, d1))
            .collect();
        let texts: Vec<&str> = prompts.iter().map(|(p, _)| p.as_str()).collect();
        let encodings = self
            .tokenizer
            .encode_batch(texts, false)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        Ok(encodings
            .iter()
            .zip(&prompts)
            .map(|(encoding, (_, spans))| {
                let mut ids = fit_pair(
                    encoding.get_ids(),
                    encoding.get_offsets(),
                    *spans,
                    self.max_length - 1,
                );
                ids.push(self.eos);
                ids
            })
            .collect())
    }
}

impl<B: Backend> GenerativeReranker<B> {
    /// The raw scores (log-odds of "true") of every ordered pair of each list's documents:
    /// `out[l][i][j]` for `(query_l, d_i, d_j)`, `i ≠ j` (the diagonal is 0, not scored). All
    /// lists' `k·(k−1)` prompts go through the shared batching in one call.
    pub fn duo_raw_scores(&self, lists: &[(&str, Vec<&str>)]) -> Result<Vec<Vec<Vec<f32>>>> {
        let mut triples = Vec::new();
        for (query, documents) in lists {
            for (i, d0) in documents.iter().enumerate() {
                for (j, d1) in documents.iter().enumerate() {
                    if i != j {
                        triples.push((*query, *d0, *d1));
                    }
                }
            }
        }
        let sequences: Vec<_> = self
            .prompts()
            .encode_duo(&triples)?
            .into_iter()
            .map(GenerativePrompts::sequence)
            .collect();
        let mut raw = self.raw_scores_sequences(&sequences).into_iter();
        Ok(lists
            .iter()
            .map(|(_, documents)| {
                let k = documents.len();
                (0..k)
                    .map(|i| {
                        (0..k)
                            .map(|j| {
                                if i == j {
                                    0.0
                                } else {
                                    raw.next().expect("one score per ordered pair")
                                }
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect())
    }

    /// The duo scores of each list's documents under `aggregation`.
    pub fn duo_scores(
        &self,
        lists: &[(&str, Vec<&str>)],
        aggregation: DuoAggregation,
    ) -> Result<Vec<Vec<f64>>> {
        Ok(self
            .duo_raw_scores(lists)?
            .iter()
            .map(|raw| aggregation.aggregate(raw))
            .collect())
    }
}

/// A duoT5 pass over a (mono) reranked run: each query's top `top_k` (trec_eval order) are
/// rescored by `duo` ([`GenerativeReranker::duo_scores`]) and ranked first by that score; the
/// documents below keep their order after them, with scores `s_min − 1, s_min − 2, …` below
/// the lowest duo score (so the file's scores still rank as its order). Texts are BEIR's
/// `title + " " + text`.
pub fn duo_rerank_run<B: Backend>(
    duo: &GenerativeReranker<B>,
    corpus: &Corpus,
    queries: &Queries,
    run: &Run,
    top_k: usize,
    aggregation: DuoAggregation,
) -> Result<Run> {
    let mut ordered: Vec<(String, Vec<ScoredDoc>)> = Vec::new();
    for (query_id, docs) in run.iter() {
        let mut docs = docs.to_vec();
        sort_trec(&mut docs);
        ordered.push((query_id.to_string(), docs));
    }
    let mut texts: Vec<(&str, Vec<String>)> = Vec::new();
    for (query_id, docs) in &ordered {
        let query = queries.get(query_id).ok_or_else(|| {
            ModelError::Invalid(format!(
                "run: query `{query_id}` is not in the queries file"
            ))
        })?;
        let documents = docs
            .iter()
            .take(top_k)
            .map(|doc| {
                corpus
                    .get(&doc.doc_id)
                    .map(|d| d.full_text())
                    .ok_or_else(|| {
                        ModelError::Invalid(format!(
                            "run: document `{}` (query `{query_id}`) is not in the corpus",
                            doc.doc_id
                        ))
                    })
            })
            .collect::<Result<Vec<String>>>()?;
        texts.push((query.text.as_str(), documents));
    }
    let lists: Vec<(&str, Vec<&str>)> = texts
        .iter()
        .map(|(q, docs)| (*q, docs.iter().map(String::as_str).collect()))
        .collect();
    let scores = duo.duo_scores(&lists, aggregation)?;
    let mut out = Run::new();
    for ((query_id, docs), scores) in ordered.into_iter().zip(scores) {
        let k = scores.len();
        let mut top: Vec<ScoredDoc> = docs[..k]
            .iter()
            .zip(&scores)
            .map(|(doc, &score)| ScoredDoc {
                doc_id: doc.doc_id.clone(),
                score,
            })
            .collect();
        sort_trec(&mut top);
        let floor = top.last().map_or(0.0, |d| d.score);
        top.extend(docs[k..].iter().enumerate().map(|(i, doc)| ScoredDoc {
            doc_id: doc.doc_id.clone(),
            score: floor - (i + 1) as f64,
        }));
        out.set(query_id, top);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_pair_shares_the_budget_as_longest_first() {
        // Tokens: 2 template, d0 (n0), 1 template, d1 (n1), 2 template.
        let layout = |n0: usize, n1: usize| {
            let mut ids = vec![100, 101];
            let mut offsets = vec![(0, 1), (1, 2)];
            let mut at = 10;
            for i in 0..n0 {
                ids.push(i as u32);
                offsets.push((at, at + 1));
                at += 1;
            }
            let spans0 = (10, at);
            ids.push(102);
            offsets.push((at, at + 1));
            at += 5;
            let start1 = at;
            for i in 0..n1 {
                ids.push(1000 + i as u32);
                offsets.push((at, at + 1));
                at += 1;
            }
            let spans1 = (start1, at);
            ids.extend([103, 104]);
            offsets.extend([(at, at + 1), (at + 1, at + 2)]);
            (ids, offsets, [spans0, spans1])
        };
        let count = |kept: &[u32]| {
            (
                kept.iter().filter(|&&i| i < 100).count(),
                kept.iter().filter(|&&i| i >= 1000).count(),
            )
        };
        for (n0, n1, budget, want) in [
            (10, 10, 25, (10, 10)),
            (10, 10, 15, (5, 5)),
            (10, 10, 16, (6, 5)),
            (3, 20, 15, (3, 7)),
            (20, 3, 15, (7, 3)),
            (20, 20, 5, (0, 0)),
        ] {
            let (ids, offsets, spans) = layout(n0, n1);
            let kept = fit_pair(&ids, &offsets, spans, budget);
            assert_eq!(kept.len(), budget.min(ids.len()));
            assert_eq!(count(&kept), want, "{n0} {n1} {budget}");
            assert_eq!(
                &kept[kept.len() - 2..],
                &[103, 104],
                "the template's end stays"
            );
        }
    }

    #[test]
    fn aggregations_follow_the_formulas() {
        let raw = vec![vec![0.0, 1.0], vec![-2.0, 0.0]];
        let p01 = sigmoid(1.0);
        let p10 = sigmoid(-2.0);
        let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12);
        assert!(close(&DuoAggregation::Sum.aggregate(&raw), &[p01, p10]));
        assert!(close(
            &DuoAggregation::SymSum.aggregate(&raw),
            &[p01 + 1.0 - p10, p10 + 1.0 - p01]
        ));
        assert!(close(
            &DuoAggregation::LogSum.aggregate(&raw),
            &[p01.ln(), p10.ln()]
        ));
        assert!(close(
            &DuoAggregation::SymLogSum.aggregate(&raw),
            &[p01.ln() + (1.0 - p10).ln(), p10.ln() + (1.0 - p01).ln()]
        ));
        assert_eq!("sym_log_sum".parse(), Ok(DuoAggregation::SymLogSum));
        assert!("max".parse::<DuoAggregation>().is_err());
    }
}
