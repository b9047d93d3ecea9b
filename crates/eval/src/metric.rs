//! Metric names: parsing `ndcg@10,mrr@10,map,...` and printing them back.
//!
//! Accepted spellings (case-insensitive, surrounding spaces ignored):
//!
//! | metric | forms | trec_eval measure |
//! | --- | --- | --- |
//! | nDCG@k, nDCG | `ndcg@10`, `ndcg_cut_10`, `ndcg` | `ndcg_cut.10`, `ndcg` |
//! | MRR@k, MRR | `mrr@10`, `rr@10`, `mrr`, `recip_rank` | `recip_rank` on the top k |
//! | MAP, MAP@k | `map`, `map@100`, `map_cut_100` | `map`, `map_cut.100` |
//! | Recall@k | `recall@100`, `r@100`, `recall_100` | `recall.100` |
//! | Precision@k | `p@1`, `precision@1`, `P_1` | `P.1` |
//! | Success@k | `success@5`, `hit@5`, `success_5` | `success.5` |
//!
//! A cutoff is a positive integer; recall, precision and success need one.

use std::fmt;
use std::num::NonZeroUsize;
use std::str::FromStr;

use crate::error::{EvalError, Result};

/// A metric, with its cutoff k where it has one (`None`: the whole ranked list).
/// Definitions are trec_eval's; see [`crate::measures`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// Normalised discounted cumulative gain (trec_eval `ndcg_cut.k`; `ndcg` without k).
    Ndcg(Option<NonZeroUsize>),
    /// Reciprocal rank of the first relevant document within the top k (trec_eval
    /// `recip_rank`, computed on the top k; without k over the whole list).
    Mrr(Option<NonZeroUsize>),
    /// Average precision (trec_eval `map`), or counting only the top k (`map_cut.k`).
    Map(Option<NonZeroUsize>),
    /// Fraction of the relevant documents retrieved in the top k (trec_eval `recall.k`).
    Recall(NonZeroUsize),
    /// Fraction of the top k that is relevant (trec_eval `P.k`).
    Precision(NonZeroUsize),
    /// 1 if a relevant document is in the top k, else 0 (trec_eval `success.k`).
    Success(NonZeroUsize),
}

const EXPECTED: &str =
    "expected one of ndcg@k, ndcg, mrr@k, mrr, map, map@k, recall@k, p@k, success@k (k a positive integer)";

impl Metric {
    /// The cutoff k, if the metric has one.
    pub fn cutoff(&self) -> Option<usize> {
        match self {
            Metric::Ndcg(k) | Metric::Mrr(k) | Metric::Map(k) => k.map(NonZeroUsize::get),
            Metric::Recall(k) | Metric::Precision(k) | Metric::Success(k) => Some(k.get()),
        }
    }

    /// The name pytrec_eval reports this metric under (`ndcg_cut_10`, `recip_rank`, `map_cut_100`,
    /// `recall_100`, `P_1`, `success_5`). MRR@k has none of its own: pytrec_eval's `recip_rank`
    /// has no cutoff, so MRR@k is `recip_rank` of the run cut to its top k.
    pub fn trec_eval_name(&self) -> String {
        match self {
            Metric::Ndcg(Some(k)) => format!("ndcg_cut_{k}"),
            Metric::Ndcg(None) => "ndcg".to_string(),
            Metric::Mrr(_) => "recip_rank".to_string(),
            Metric::Map(Some(k)) => format!("map_cut_{k}"),
            Metric::Map(None) => "map".to_string(),
            Metric::Recall(k) => format!("recall_{k}"),
            Metric::Precision(k) => format!("P_{k}"),
            Metric::Success(k) => format!("success_{k}"),
        }
    }
}

impl fmt::Display for Metric {
    /// The canonical name: `ndcg@10`, `ndcg`, `mrr@10`, `mrr`, `map`, `map@100`, `recall@100`,
    /// `p@1`, `success@5`. It parses back to the same metric.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Metric::Ndcg(_) => "ndcg",
            Metric::Mrr(_) => "mrr",
            Metric::Map(_) => "map",
            Metric::Recall(_) => "recall",
            Metric::Precision(_) => "p",
            Metric::Success(_) => "success",
        };
        match self.cutoff() {
            Some(k) => write!(f, "{name}@{k}"),
            None => f.write_str(name),
        }
    }
}

impl FromStr for Metric {
    type Err = EvalError;

    fn from_str(input: &str) -> Result<Self> {
        let text = input.trim().to_ascii_lowercase();
        if text.is_empty() {
            return Err(EvalError::invalid_metric(input, "empty metric name"));
        }
        let (name, cutoff_text) = split_name_and_cutoff(&text);
        let cutoff = cutoff_text.map(|k| parse_cutoff(input, k)).transpose()?;
        let needs_cutoff = |build: fn(NonZeroUsize) -> Metric| {
            cutoff.map(build).ok_or_else(|| {
                EvalError::invalid_metric(
                    input,
                    format!("`{name}` needs a cutoff, e.g. `{name}@10`"),
                )
            })
        };
        match name {
            "ndcg" | "ndcg_cut" => Ok(Metric::Ndcg(cutoff)),
            "mrr" | "rr" | "recip_rank" => Ok(Metric::Mrr(cutoff)),
            "map" | "map_cut" => Ok(Metric::Map(cutoff)),
            "recall" | "r" => needs_cutoff(Metric::Recall),
            "p" | "precision" => needs_cutoff(Metric::Precision),
            "success" | "hit" => needs_cutoff(Metric::Success),
            _ => Err(EvalError::invalid_metric(
                input,
                format!("unknown metric `{name}`; {EXPECTED}"),
            )),
        }
    }
}

/// `ndcg@10` → (`ndcg`, `10`); trec_eval style `ndcg_cut_10` → (`ndcg_cut`, `10`); `map` → (`map`).
fn split_name_and_cutoff(text: &str) -> (&str, Option<&str>) {
    if let Some((name, k)) = text.split_once('@') {
        return (name.trim(), Some(k.trim()));
    }
    match text.rsplit_once('_') {
        Some((name, k)) if !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()) => {
            (name, Some(k))
        }
        _ => (text, None),
    }
}

fn parse_cutoff(input: &str, k: &str) -> Result<NonZeroUsize> {
    match k.parse::<usize>() {
        Ok(0) => Err(EvalError::invalid_metric(
            input,
            "the cutoff k must be at least 1",
        )),
        Ok(k) => Ok(NonZeroUsize::new(k).expect("k is not zero")),
        Err(_) => Err(EvalError::invalid_metric(
            input,
            format!("cutoff `{k}` is not a positive integer"),
        )),
    }
}

/// Parses a comma-separated list such as `ndcg@10,mrr@10,map,map@100,recall@100,p@1,success@5`,
/// keeping its order. Empty entries, unknown names and repeated metrics are errors.
pub fn parse_metrics(list: &str) -> Result<Vec<Metric>> {
    if list.trim().is_empty() {
        return Err(EvalError::NoMetrics);
    }
    let mut metrics: Vec<Metric> = Vec::new();
    for entry in list.split(',') {
        if entry.trim().is_empty() {
            return Err(EvalError::invalid_metric(
                list,
                "empty entry in the list (two commas in a row, or a trailing comma)",
            ));
        }
        let metric: Metric = entry.parse()?;
        if metrics.contains(&metric) {
            return Err(EvalError::DuplicateMetric(metric.to_string()));
        }
        metrics.push(metric);
    }
    Ok(metrics)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(n: usize) -> NonZeroUsize {
        NonZeroUsize::new(n).unwrap()
    }

    #[test]
    fn parses_the_documented_list_in_order() {
        let metrics = parse_metrics("ndcg@10,mrr@10,map,map@100,recall@100,p@1,success@5").unwrap();
        assert_eq!(
            metrics,
            vec![
                Metric::Ndcg(Some(k(10))),
                Metric::Mrr(Some(k(10))),
                Metric::Map(None),
                Metric::Map(Some(k(100))),
                Metric::Recall(k(100)),
                Metric::Precision(k(1)),
                Metric::Success(k(5)),
            ]
        );
        let names: Vec<String> = metrics.iter().map(Metric::to_string).collect();
        assert_eq!(
            names.join(","),
            "ndcg@10,mrr@10,map,map@100,recall@100,p@1,success@5"
        );
    }

    #[test]
    fn accepts_trec_eval_names_case_and_spaces() {
        assert_eq!(
            "NDCG_CUT_10".parse::<Metric>().unwrap(),
            Metric::Ndcg(Some(k(10)))
        );
        assert_eq!(" P_5 ".parse::<Metric>().unwrap(), Metric::Precision(k(5)));
        assert_eq!("recip_rank".parse::<Metric>().unwrap(), Metric::Mrr(None));
        assert_eq!(
            "map_cut_1000".parse::<Metric>().unwrap(),
            Metric::Map(Some(k(1000)))
        );
        assert_eq!(
            "Recall@ 20".parse::<Metric>().unwrap(),
            Metric::Recall(k(20))
        );
        assert_eq!("hit@3".parse::<Metric>().unwrap(), Metric::Success(k(3)));
        assert_eq!("ndcg".parse::<Metric>().unwrap(), Metric::Ndcg(None));
    }

    #[test]
    fn display_round_trips() {
        for name in [
            "ndcg@10",
            "ndcg",
            "mrr@10",
            "mrr",
            "map",
            "map@5",
            "recall@100",
            "p@1",
            "success@5",
        ] {
            let metric: Metric = name.parse().unwrap();
            assert_eq!(metric.to_string(), name);
        }
    }

    #[test]
    fn trec_eval_names() {
        let names: Vec<String> =
            parse_metrics("ndcg@10,mrr@10,map,map@100,recall@100,p@1,success@5")
                .unwrap()
                .iter()
                .map(Metric::trec_eval_name)
                .collect();
        assert_eq!(
            names,
            [
                "ndcg_cut_10",
                "recip_rank",
                "map",
                "map_cut_100",
                "recall_100",
                "P_1",
                "success_5"
            ]
        );
    }

    #[test]
    fn bad_names_are_clear_errors() {
        let message = |s: &str| s.parse::<Metric>().unwrap_err().to_string();
        assert!(
            message("ndcg@0").contains("at least 1"),
            "{}",
            message("ndcg@0")
        );
        assert!(message("ndcg@ten").contains("not a positive integer"));
        assert!(message("ndcg@-3").contains("not a positive integer"));
        assert!(message("bleu@4").contains("unknown metric `bleu`"));
        assert!(message("bleu@4").contains("expected one of"));
        assert!(message("recall").contains("needs a cutoff"));
        assert!(message("p").contains("`p@10`"));
        assert!(message("").contains("empty"));
        assert!(message("ndcg@99999999999999999999999").contains("not a positive integer"));
    }

    #[test]
    fn bad_lists_are_clear_errors() {
        assert!(matches!(parse_metrics(""), Err(EvalError::NoMetrics)));
        assert!(matches!(parse_metrics("  "), Err(EvalError::NoMetrics)));
        let err = parse_metrics("ndcg@10,,map").unwrap_err().to_string();
        assert!(err.contains("empty entry"), "{err}");
        let err = parse_metrics("ndcg@10,map,").unwrap_err().to_string();
        assert!(err.contains("empty entry"), "{err}");
        let err = parse_metrics("ndcg@10,NDCG_CUT_10")
            .unwrap_err()
            .to_string();
        assert_eq!(err, "metric `ndcg@10` is listed twice");
        let err = parse_metrics("ndcg@10,foo").unwrap_err().to_string();
        assert!(
            err.starts_with("invalid metric `foo`: unknown metric"),
            "{err}"
        );
    }
}
