//! What the miner did: score statistics of positives vs negatives, and how many candidates
//! each filter removed.

use std::fmt;

use serde::Serialize;

/// Count, mean, standard deviation and quantiles of a set of scores.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScoreStats {
    pub count: usize,
    pub mean: f64,
    pub std: f64,
    pub min: f64,
    pub p25: f64,
    pub median: f64,
    pub p75: f64,
    pub max: f64,
}

impl ScoreStats {
    /// Statistics of `scores` (population std; quantiles by linear interpolation, as numpy).
    pub fn of(scores: &[f64]) -> Self {
        if scores.is_empty() {
            return Self::default();
        }
        let mut sorted = scores.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len() as f64;
        let mean = sorted.iter().sum::<f64>() / n;
        let std = (sorted.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / n).sqrt();
        let quantile = |q: f64| {
            let pos = q * (sorted.len() - 1) as f64;
            let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
            sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
        };
        Self {
            count: sorted.len(),
            mean,
            std,
            min: sorted[0],
            p25: quantile(0.25),
            median: quantile(0.5),
            p75: quantile(0.75),
            max: sorted[sorted.len() - 1],
        }
    }
}

/// Candidates removed by each filter, counted under the first filter that removed them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FilterCounts {
    /// Retrieved candidates that are positives of their query.
    pub positives: usize,
    /// Outside `[range_min, range_max)`.
    pub rank_range: usize,
    pub max_score: usize,
    pub min_score: usize,
    pub absolute_margin: usize,
    pub relative_margin: usize,
    /// Eligible but not picked (beyond `num_negatives`).
    pub not_sampled: usize,
}

impl FilterCounts {
    pub(crate) fn add(&mut self, other: &FilterCounts) {
        self.positives += other.positives;
        self.rank_range += other.rank_range;
        self.max_score += other.max_score;
        self.min_score += other.min_score;
        self.absolute_margin += other.absolute_margin;
        self.relative_margin += other.relative_margin;
        self.not_sampled += other.not_sampled;
    }
}

/// The mining report. `Display` prints it as a table.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MiningSummary {
    pub retriever: String,
    pub rescorer: Option<String>,
    /// Queries in the qrels.
    pub queries_judged: usize,
    /// Queries that produced at least one negative.
    pub queries_mined: usize,
    /// Queries with fewer than `num_negatives` negatives (ids).
    pub queries_with_too_few_negatives: Vec<String>,
    /// Queries with no positive judgment (grade > 0) in the corpus (ids).
    pub queries_without_positives: Vec<String>,
    /// Judged queries whose text is not in the queries file (ids).
    pub queries_missing_text: Vec<String>,
    /// Positive judgments naming a document absent from the corpus.
    pub positives_missing_from_corpus: usize,
    /// Positives with no score (not retrieved and the retriever cannot score them); margin
    /// filters of their query use the other positives, or are skipped when none has a score.
    pub positives_without_score: usize,
    /// Queries whose margin filters were skipped for want of any positive score.
    pub queries_without_margin_reference: usize,
    pub candidates_retrieved: usize,
    pub removed: FilterCounts,
    pub negatives_selected: usize,
    pub positive_scores: ScoreStats,
    pub negative_scores: ScoreStats,
}

impl fmt::Display for MiningSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scorer = match &self.rescorer {
            Some(r) => format!("{} candidates rescored by {r}", self.retriever),
            None => self.retriever.clone(),
        };
        writeln!(f, "Hard-negative mining ({scorer})")?;
        writeln!(
            f,
            "{:<10} {:>12} {:>12} {:>12}",
            "score", "positive", "negative", "difference"
        )?;
        let (p, n) = (&self.positive_scores, &self.negative_scores);
        writeln!(
            f,
            "{:<10} {:>12} {:>12} {:>12}",
            "count", p.count, n.count, ""
        )?;
        for (name, pv, nv) in [
            ("mean", p.mean, n.mean),
            ("std", p.std, n.std),
            ("min", p.min, n.min),
            ("25%", p.p25, n.p25),
            ("median", p.median, n.median),
            ("75%", p.p75, n.p75),
            ("max", p.max, n.max),
        ] {
            writeln!(f, "{name:<10} {pv:>12.4} {nv:>12.4} {:>12.4}", pv - nv)?;
        }
        writeln!(
            f,
            "queries: {} judged, {} mined, {} with fewer than the requested negatives, {} without positives, {} missing text",
            self.queries_judged,
            self.queries_mined,
            self.queries_with_too_few_negatives.len(),
            self.queries_without_positives.len(),
            self.queries_missing_text.len()
        )?;
        let r = &self.removed;
        writeln!(
            f,
            "candidates: {} retrieved; removed {} positives, {} outside the rank range, {} above max_score, {} below min_score, {} by absolute_margin, {} by relative_margin; {} eligible but not sampled; {} negatives selected",
            self.candidates_retrieved,
            r.positives,
            r.rank_range,
            r.max_score,
            r.min_score,
            r.absolute_margin,
            r.relative_margin,
            r.not_sampled,
            self.negatives_selected
        )?;
        if self.positives_missing_from_corpus
            + self.positives_without_score
            + self.queries_without_margin_reference
            > 0
        {
            writeln!(
                f,
                "positives: {} missing from the corpus, {} without a score; {} queries mined without margin filters (no positive score)",
                self.positives_missing_from_corpus,
                self.positives_without_score,
                self.queries_without_margin_reference
            )?;
        }
        Ok(())
    }
}
