//! Evaluation for rankforge: retrieval metrics exactly as trec_eval / pytrec_eval define them,
//! comparison of systems with paired significance tests, and reports (aligned tables, JSON,
//! per-query TSV, PNG charts).
//!
//! ```
//! use rankforge_data::{Qrels, Run};
//! use rankforge_eval::{evaluate, parse_metrics};
//!
//! let mut qrels = Qrels::new();
//! qrels.insert("q1", "d1", 2);
//! let mut run = Run::new();
//! run.push("q1", "d0", 0.9);
//! run.push("q1", "d1", 0.5);
//! let metrics = parse_metrics("ndcg@10,mrr@10,p@1").unwrap();
//! let evaluation = evaluate(&qrels, &run, &metrics).unwrap();
//! assert_eq!(evaluation.mean(&metrics[1]), Some(0.5));
//! println!("{}", evaluation.to_table());
//! ```
//!
//! Conventions: see [`evaluate`](mod@evaluate) (which queries are averaged: the qrels', with
//! zeros for queries without results, as `trec_eval -c`) and [`measures`] (each metric's
//! trec_eval definition).

pub mod compare;
pub mod error;
pub mod evaluate;
pub mod measures;
pub mod metric;
pub mod plot;
pub mod report;
pub mod stats;

pub use compare::{
    compare, CompareOptions, Comparison, MetricComparison, SystemScore, TopOneChange,
};
pub use error::{EvalError, Result};
pub use evaluate::{evaluate, Evaluation};
pub use metric::{parse_metrics, Metric};
pub use plot::{BarChart, BarSeries, LinePlot, LineSeries};
pub use report::MeansMap;
pub use stats::{paired_randomization_test, paired_t_test, TTest};
