//! Per-query measures, as trec_eval 9 (and so pytrec_eval) computes them with its default
//! relevance level 1 (`-l 1`).
//!
//! The inputs are a query's judgments and its retrieved documents in trec_eval's ranking
//! (score descending, ties by document id descending: [`rankforge_data::sort_trec`]). Each
//! retrieved document carries its grade from the qrels; a document the qrels do not judge is
//! treated as not relevant (trec_eval's `RELVALUE_NONPOOL`), and so is a negative grade
//! (trec_eval: "in the pool but unjudged").
//!
//! * relevant: grade ≥ 1 ([`RELEVANCE_LEVEL`]); `num_rel` counts the relevant documents judged
//!   for the query, retrieved or not.
//! * a cutoff k larger than the list is padded with non-relevant documents (trec_eval: "if the
//!   cutoff is larger than the number of docs retrieved, then it is assumed nonrelevant docs
//!   fill in the rest").

use std::collections::HashMap;

use rankforge_data::ScoredDoc;

use crate::metric::Metric;

/// trec_eval's default `relevance_level`: a document is relevant when its grade is at least this.
pub const RELEVANCE_LEVEL: i32 = 1;

/// One query's ranking seen through its judgments: what every measure needs.
#[derive(Debug, Clone)]
pub struct JudgedRanking {
    /// Grade of the document at each rank (rank 1 first); 0 for documents the qrels lack.
    grades: Vec<i32>,
    /// Number of judged documents with grade ≥ [`RELEVANCE_LEVEL`] (trec_eval `num_rel`).
    num_relevant: usize,
    /// The positive grades of the judged documents, largest first: the ideal ranking's gains.
    ideal_gains: Vec<i32>,
}

impl JudgedRanking {
    /// `ranked` must already be in trec_eval's order ([`rankforge_data::sort_trec`]).
    pub fn new(judgments: &HashMap<String, i32>, ranked: &[ScoredDoc]) -> Self {
        let grades = ranked
            .iter()
            .map(|doc| judgments.get(&doc.doc_id).copied().unwrap_or(0))
            .collect();
        let mut ideal_gains: Vec<i32> = judgments.values().copied().filter(|&g| g > 0).collect();
        ideal_gains.sort_unstable_by(|a, b| b.cmp(a));
        let num_relevant = judgments
            .values()
            .filter(|&&g| g >= RELEVANCE_LEVEL)
            .count();
        Self {
            grades,
            num_relevant,
            ideal_gains,
        }
    }

    /// Number of relevant documents judged for the query (trec_eval `num_rel`).
    pub fn num_relevant(&self) -> usize {
        self.num_relevant
    }

    /// The value of `metric` for this query.
    pub fn measure(&self, metric: Metric) -> f64 {
        match metric {
            Metric::Ndcg(k) => self.ndcg(k.map(|k| k.get())),
            Metric::Mrr(k) => self.reciprocal_rank(k.map(|k| k.get())),
            Metric::Map(k) => self.average_precision(k.map(|k| k.get())),
            Metric::Recall(k) => self.recall(k.get()),
            Metric::Precision(k) => self.precision(k.get()),
            Metric::Success(k) => self.success(k.get()),
        }
    }

    /// The grades of the top `cutoff` documents (all of them for `None`).
    fn top(&self, cutoff: Option<usize>) -> &[i32] {
        let n = cutoff.map_or(self.grades.len(), |k| k.min(self.grades.len()));
        &self.grades[..n]
    }

    fn relevant_in_top(&self, k: usize) -> usize {
        self.top(Some(k))
            .iter()
            .filter(|&&g| g >= RELEVANCE_LEVEL)
            .count()
    }

    /// trec_eval `ndcg_cut.k` (m_ndcg_cut.c) and, without k, `ndcg` (m_ndcg.c):
    /// DCG@k = Σ_{rank r ≤ k} gain_r / log2(r + 1) with gain = the grade when positive, else 0;
    /// nDCG@k = DCG@k / IDCG@k, where IDCG@k is the DCG of the judged documents' positive grades
    /// sorted descending (retrieved or not). 0 when the query has no positive grade.
    pub fn ndcg(&self, cutoff: Option<usize>) -> f64 {
        let dcg = discounted_gain(self.top(cutoff).iter().copied());
        let ideal_len = cutoff.map_or(self.ideal_gains.len(), |k| k.min(self.ideal_gains.len()));
        let ideal_dcg = discounted_gain(self.ideal_gains[..ideal_len].iter().copied());
        if ideal_dcg > 0.0 {
            dcg / ideal_dcg
        } else {
            0.0
        }
    }

    /// trec_eval `recip_rank` (m_recip_rank.c): 1 / rank of the first relevant document, 0 if
    /// none is retrieved. With k, only the top k count (MRR@k: `recip_rank` on the top k).
    pub fn reciprocal_rank(&self, cutoff: Option<usize>) -> f64 {
        self.top(cutoff)
            .iter()
            .position(|&g| g >= RELEVANCE_LEVEL)
            .map_or(0.0, |i| 1.0 / (i + 1) as f64)
    }

    /// trec_eval `map` (m_map.c) and `map_cut.k` (m_map_cut.c): the sum of the precision at the
    /// rank of each relevant document retrieved (in the top k), divided by `num_rel` — all the
    /// relevant documents, not min(k, num_rel). 0 when the query has no relevant document.
    pub fn average_precision(&self, cutoff: Option<usize>) -> f64 {
        if self.num_relevant == 0 {
            return 0.0;
        }
        let mut relevant_so_far = 0usize;
        let mut sum = 0.0;
        for (i, &grade) in self.top(cutoff).iter().enumerate() {
            if grade >= RELEVANCE_LEVEL {
                relevant_so_far += 1;
                sum += relevant_so_far as f64 / (i + 1) as f64;
            }
        }
        sum / self.num_relevant as f64
    }

    /// trec_eval `recall.k` (m_recall.c): relevant documents in the top k / `num_rel`; 0 when
    /// the query has no relevant document.
    pub fn recall(&self, k: usize) -> f64 {
        if self.num_relevant == 0 {
            return 0.0;
        }
        self.relevant_in_top(k) as f64 / self.num_relevant as f64
    }

    /// trec_eval `P.k` (m_P.c): relevant documents in the top k / k, k counted in full even
    /// when fewer documents were retrieved.
    pub fn precision(&self, k: usize) -> f64 {
        self.relevant_in_top(k) as f64 / k as f64
    }

    /// trec_eval `success.k` (m_success.c): 1 if a relevant document is in the top k, else 0.
    pub fn success(&self, k: usize) -> f64 {
        if self.relevant_in_top(k) > 0 {
            1.0
        } else {
            0.0
        }
    }
}

/// Σ gain / log2(rank + 1) over ranks 1, 2, ...; non-positive grades add nothing.
fn discounted_gain(grades: impl Iterator<Item = i32>) -> f64 {
    grades
        .enumerate()
        .filter(|&(_, g)| g > 0)
        .map(|(i, g)| f64::from(g) / ((i + 2) as f64).log2())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranking(judged: &[(&str, i32)], ranked: &[&str]) -> JudgedRanking {
        let judgments = judged.iter().map(|(d, g)| (d.to_string(), *g)).collect();
        let docs: Vec<ScoredDoc> = ranked
            .iter()
            .enumerate()
            .map(|(i, d)| ScoredDoc {
                doc_id: d.to_string(),
                score: -(i as f64),
            })
            .collect();
        JudgedRanking::new(&judgments, &docs)
    }

    #[test]
    fn hand_computed_values() {
        // Ranked grades: 0 (unjudged), 2, 0, 1; judged relevant: a(2), b(1), c(3) not retrieved.
        let r = ranking(
            &[("a", 2), ("b", 1), ("c", 3), ("z", 0)],
            &["x", "a", "z", "b"],
        );
        assert_eq!(r.num_relevant(), 3);
        assert_eq!(r.reciprocal_rank(None), 0.5);
        assert_eq!(r.reciprocal_rank(Some(1)), 0.0);
        assert_eq!(r.precision(2), 0.5);
        assert_eq!(r.precision(10), 0.2);
        assert_eq!(r.recall(4), 2.0 / 3.0);
        assert_eq!(r.success(1), 0.0);
        assert_eq!(r.success(2), 1.0);
        assert!((r.average_precision(None) - (0.5 + 0.5) / 3.0).abs() < 1e-12);
        assert!((r.average_precision(Some(2)) - 0.5 / 3.0).abs() < 1e-12);
        let dcg = 2.0 / 3f64.log2() + 1.0 / 5f64.log2();
        let idcg = 3.0 + 2.0 / 3f64.log2() + 1.0 / 2.0;
        assert!((r.ndcg(None) - dcg / idcg).abs() < 1e-12);
        let idcg3 = 3.0 + 2.0 / 3f64.log2() + 1.0 / 2.0;
        assert!((r.ndcg(Some(3)) - (2.0 / 3f64.log2()) / idcg3).abs() < 1e-12);
    }

    #[test]
    fn no_relevant_documents_give_zero_not_nan() {
        let r = ranking(&[("a", 0), ("b", -1)], &["a", "b"]);
        for metric in
            crate::metric::parse_metrics("ndcg@10,ndcg,mrr,map,map@5,recall@5,p@5,success@5")
                .unwrap()
        {
            assert_eq!(r.measure(metric), 0.0, "{metric}");
        }
    }

    #[test]
    fn negative_grades_are_not_relevant_and_have_no_gain() {
        let r = ranking(&[("a", -2), ("b", 1)], &["a", "b"]);
        assert_eq!(r.num_relevant(), 1);
        assert_eq!(r.reciprocal_rank(None), 0.5);
        assert!((r.ndcg(None) - 1.0 / 3f64.log2()).abs() < 1e-12);
    }

    #[test]
    fn empty_ranking_is_zero() {
        let r = ranking(&[("a", 1)], &[]);
        assert_eq!(r.ndcg(Some(10)), 0.0);
        assert_eq!(r.precision(1), 0.0);
        assert_eq!(r.average_precision(None), 0.0);
    }
}
