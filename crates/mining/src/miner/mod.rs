//! Hard-negative mining with the knobs of sentence-transformers' `mine_hard_negatives`.
//!
//! For every judged query: retrieve `range_max + #positives` candidates from any
//! [`CandidateRetriever`], optionally rescore them (and the positives) with a [`Rescorer`] such
//! as a cross-encoder and re-rank by its scores, drop the positives, keep ranks
//! `[range_min, range_max)`, drop candidates above `max_score` / below `min_score` / within
//! `absolute_margin` or `relative_margin` of the positive score, then take `num_negatives` of
//! the rest (`top` or seeded `random`). Every removal is counted in the [`MiningSummary`].
//!
//! Multiple positives: all are excluded from the candidates, and the margins are measured
//! against the lowest-scoring positive, so a negative is never within the margin of any
//! positive. (sentence-transformers mines each (query, positive) row separately; with one
//! positive per query the two agree.)

pub mod config;
pub mod output;
pub mod summary;

use std::collections::HashSet;

use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::SeedableRng;
use rankforge_data::{sort_trec, Corpus, Qrels, Queries, ScoredDoc};

use crate::bm25::index::progress_bar;
use crate::error::Result;
use crate::retriever::{CandidateRetriever, Rescorer};

pub use config::{MinerConfig, OutputFormat, Sampling};
pub use output::{mined_records, write_mined};
pub use summary::{FilterCounts, MiningSummary, ScoreStats};

/// The data the miner reads: documents, query texts, and judgments (grade > 0 = positive).
#[derive(Clone, Copy)]
pub struct MiningData<'a> {
    pub corpus: &'a Corpus,
    pub queries: &'a Queries,
    pub qrels: &'a Qrels,
}

/// A document chosen by the miner, with its score (retriever's, or the rescorer's when one
/// was given); `None` for a positive nobody could score.
#[derive(Debug, Clone, PartialEq)]
pub struct MinedDoc {
    pub doc_id: String,
    pub score: Option<f64>,
}

/// One query's positives and mined negatives (negatives best first).
#[derive(Debug, Clone, PartialEq)]
pub struct MinedQuery {
    pub query_id: String,
    pub positives: Vec<MinedDoc>,
    pub negatives: Vec<MinedDoc>,
}

/// The miner's result: per query, in query-id order, and the report.
#[derive(Debug, Clone)]
pub struct Mined {
    pub queries: Vec<MinedQuery>,
    pub summary: MiningSummary,
    /// The settings used (the output writer needs the format and `num_negatives`).
    pub config: MinerConfig,
}

struct Pending<'a> {
    query_id: &'a str,
    text: &'a str,
    positives: Vec<&'a str>,
}

/// Mines hard negatives for every query of `data.qrels` with at least one positive.
pub fn mine_hard_negatives(
    data: MiningData<'_>,
    retriever: &dyn CandidateRetriever,
    rescorer: Option<&dyn Rescorer>,
    config: &MinerConfig,
    progress: bool,
) -> Result<Mined> {
    config.validate()?;
    let mut summary = MiningSummary {
        retriever: retriever.name().to_string(),
        rescorer: rescorer.map(|r| r.name().to_string()),
        queries_judged: data.qrels.num_queries(),
        ..Default::default()
    };

    // Queries with text and at least one positive in the corpus.
    let mut pending = Vec::new();
    for query_id in data.qrels.query_ids() {
        let Some(query) = data.queries.get(query_id) else {
            summary.queries_missing_text.push(query_id.to_string());
            continue;
        };
        let mut positives = data.qrels.relevant(query_id);
        let before = positives.len();
        positives.retain(|d| data.corpus.contains(d));
        summary.positives_missing_from_corpus += before - positives.len();
        if positives.is_empty() {
            summary.queries_without_positives.push(query_id.to_string());
            continue;
        }
        pending.push(Pending {
            query_id,
            text: &query.text,
            positives,
        });
    }

    let most_positives = pending.iter().map(|p| p.positives.len()).max().unwrap_or(0);
    let pairs: Vec<(&str, &str)> = pending.iter().map(|p| (p.query_id, p.text)).collect();
    let bar = progress_bar(progress, 1, "retrieving candidates");
    let run = retriever.retrieve(&pairs, config.range_max + most_positives)?;
    bar.finish_and_clear();

    // Per query: positives' scores and in-range candidates, before the score filters.
    let mut staged: Vec<(Vec<MinedDoc>, Vec<ScoredDoc>)> = Vec::with_capacity(pending.len());
    let mut removed = FilterCounts::default();
    for p in &pending {
        let mut candidates = run.get(p.query_id).map(<[_]>::to_vec).unwrap_or_default();
        sort_trec(&mut candidates);
        summary.candidates_retrieved += candidates.len();
        let positive_set: HashSet<&str> = p.positives.iter().copied().collect();
        let mut positives: Vec<MinedDoc> = p
            .positives
            .iter()
            .map(|&id| MinedDoc {
                doc_id: id.to_string(),
                score: candidates.iter().find(|c| c.doc_id == id).map(|c| c.score),
            })
            .collect();
        let before = candidates.len();
        candidates.retain(|c| !positive_set.contains(c.doc_id.as_str()));
        removed.positives += before - candidates.len();
        let in_range_end = candidates.len().min(config.range_max);
        let in_range = candidates
            .len()
            .min(in_range_end.saturating_sub(config.range_min));
        removed.rank_range += candidates.len() - in_range;
        let kept: Vec<ScoredDoc> = candidates
            .into_iter()
            .skip(config.range_min)
            .take(in_range)
            .collect();
        if rescorer.is_none() {
            let unscored: Vec<&str> = positives
                .iter()
                .filter(|d| d.score.is_none())
                .map(|d| d.doc_id.as_str())
                .collect();
            if !unscored.is_empty() {
                let scores = retriever.score_documents(p.text, &unscored)?;
                let unscored: Vec<String> = unscored.into_iter().map(str::to_string).collect();
                for (id, score) in unscored.iter().zip(scores) {
                    if let Some(d) = positives.iter_mut().find(|d| &d.doc_id == id) {
                        d.score = score;
                    }
                }
            }
        }
        staged.push((positives, kept));
    }

    if let Some(rescorer) = rescorer {
        rescore(data, &pending, &mut staged, rescorer, progress)?;
    }

    let mut queries = Vec::with_capacity(pending.len());
    let mut positive_scores = Vec::new();
    let mut negative_scores = Vec::new();
    for (p, (positives, candidates)) in pending.iter().zip(staged) {
        summary.positives_without_score += positives.iter().filter(|d| d.score.is_none()).count();
        let reference = positives
            .iter()
            .filter_map(|d| d.score)
            .min_by(f64::total_cmp);
        let has_margin = config.absolute_margin.is_some() || config.relative_margin.is_some();
        if reference.is_none() && has_margin {
            summary.queries_without_margin_reference += 1;
        }
        let (negatives, counts) = select_negatives(candidates, reference, config, p.query_id);
        removed.add(&counts);
        if negatives.len() < config.num_negatives {
            summary
                .queries_with_too_few_negatives
                .push(p.query_id.to_string());
        }
        if !negatives.is_empty() {
            summary.queries_mined += 1;
        }
        summary.negatives_selected += negatives.len();
        positive_scores.extend(positives.iter().filter_map(|d| d.score));
        negative_scores.extend(negatives.iter().filter_map(|d| d.score));
        queries.push(MinedQuery {
            query_id: p.query_id.to_string(),
            positives,
            negatives,
        });
    }
    summary.removed = removed;
    summary.positive_scores = ScoreStats::of(&positive_scores);
    summary.negative_scores = ScoreStats::of(&negative_scores);
    Ok(Mined {
        queries,
        summary,
        config: config.clone(),
    })
}

/// Replaces every candidate's and positive's score with the rescorer's (one batch for all
/// queries) and re-ranks the candidates by it.
fn rescore(
    data: MiningData<'_>,
    pending: &[Pending<'_>],
    staged: &mut [(Vec<MinedDoc>, Vec<ScoredDoc>)],
    rescorer: &dyn Rescorer,
    progress: bool,
) -> Result<()> {
    let texts: Vec<Vec<String>> = staged
        .iter()
        .map(|(positives, candidates)| {
            positives
                .iter()
                .map(|d| d.doc_id.as_str())
                .chain(candidates.iter().map(|c| c.doc_id.as_str()))
                .map(|id| {
                    data.corpus
                        .get(id)
                        .map(|d| d.full_text())
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect();
    let pairs: Vec<(&str, &str)> = pending
        .iter()
        .zip(&texts)
        .flat_map(|(p, docs)| docs.iter().map(move |t| (p.text, t.as_str())))
        .collect();
    let bar = progress_bar(progress, 1, "rescoring candidates");
    let scores = rescorer.score_pairs(&pairs)?;
    bar.finish_and_clear();
    if scores.len() != pairs.len() {
        return Err(crate::MiningError::Retriever(format!(
            "rescorer {} returned {} scores for {} pairs",
            rescorer.name(),
            scores.len(),
            pairs.len()
        )));
    }
    let mut scores = scores.into_iter();
    for (positives, candidates) in staged.iter_mut() {
        for d in positives.iter_mut() {
            d.score = scores.next();
        }
        for c in candidates.iter_mut() {
            c.score = scores.next().unwrap_or(f64::NEG_INFINITY);
        }
        sort_trec(candidates);
    }
    Ok(())
}

/// Applies the score filters to in-range candidates (best first) and samples the negatives.
fn select_negatives(
    candidates: Vec<ScoredDoc>,
    positive_score: Option<f64>,
    config: &MinerConfig,
    query_id: &str,
) -> (Vec<MinedDoc>, FilterCounts) {
    let mut counts = FilterCounts::default();
    let mut eligible: Vec<ScoredDoc> = Vec::with_capacity(candidates.len());
    for candidate in candidates {
        let s = candidate.score;
        let counter = if config.max_score.is_some_and(|m| s > m) {
            &mut counts.max_score
        } else if config.min_score.is_some_and(|m| s < m) {
            &mut counts.min_score
        } else if matches!((config.absolute_margin, positive_score), (Some(m), Some(p)) if s > p - m)
        {
            &mut counts.absolute_margin
        } else if matches!((config.relative_margin, positive_score), (Some(m), Some(p)) if s > p * (1.0 - m))
        {
            &mut counts.relative_margin
        } else {
            eligible.push(candidate);
            continue;
        };
        *counter += 1;
    }
    let take = config.num_negatives.min(eligible.len());
    counts.not_sampled = eligible.len() - take;
    let picked: Vec<usize> = match config.sampling {
        Sampling::Top => (0..take).collect(),
        Sampling::Random => {
            let mut rng = StdRng::seed_from_u64(config.seed ^ stable_hash(query_id));
            let mut picked = sample(&mut rng, eligible.len(), take).into_vec();
            picked.sort_unstable();
            picked
        }
    };
    let negatives = picked
        .into_iter()
        .map(|i| MinedDoc {
            doc_id: eligible[i].doc_id.clone(),
            score: Some(eligible[i].score),
        })
        .collect();
    (negatives, counts)
}

/// FNV-1a of a string: a per-query seed that does not depend on std's randomised hasher.
fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
