//! `rankforge eval` and `rankforge compare`: trec_eval metrics of runs.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use rankforge_data::{Qrels, Run};
use rankforge_eval::{compare, evaluate, parse_metrics, CompareOptions};

const DEFAULT_METRICS: &str = "ndcg@10,mrr@10,map,recall@100,p@1";

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Judgments: BEIR qrels tsv or TREC qrels.
    #[arg(long)]
    pub qrels: PathBuf,
    /// TREC run to evaluate.
    #[arg(long)]
    pub run: PathBuf,
    /// Comma-separated metrics: ndcg@k, mrr@k, map, map@k, recall@k, p@k, success@k.
    #[arg(long, default_value = DEFAULT_METRICS)]
    pub metrics: String,
    /// Print one JSON object `{"ndcg@10": ..., ...}` instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also write per-query values (`query_id<TAB>metric<TAB>value`) here.
    #[arg(long)]
    pub per_query: Option<PathBuf>,
}

pub fn run_eval(args: EvalArgs) -> Result<()> {
    if let Some(path) = &args.per_query {
        super::common::check_output(path)?;
    }
    let metrics = parse_metrics(&args.metrics)?;
    let qrels = Qrels::read(&args.qrels)?;
    let run = Run::read(&args.run)?;
    let evaluation = evaluate(&qrels, &run, &metrics)
        .with_context(|| format!("evaluating {}", args.run.display()))?;
    if args.json {
        println!("{}", evaluation.to_json());
    } else {
        println!("{}", evaluation.to_table());
        eprintln!(
            "{} queries judged; {} without results (counted as 0, as trec_eval -c); {} run queries not judged (ignored)",
            evaluation.num_queries(),
            evaluation.queries_without_results(),
            evaluation.ignored_run_queries()
        );
    }
    if let Some(path) = &args.per_query {
        evaluation.write_per_query_tsv_file(path)?;
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Judgments: BEIR qrels tsv or TREC qrels.
    #[arg(long)]
    pub qrels: PathBuf,
    /// Runs to compare; the first is the baseline. `NAME=PATH` names a run (default: the file
    /// stem).
    #[arg(long, num_args = 1.., required = true)]
    pub runs: Vec<String>,
    #[arg(long, default_value = DEFAULT_METRICS)]
    pub metrics: String,
    /// Permutations of the paired randomisation test.
    #[arg(long, default_value_t = 10_000)]
    pub permutations: usize,
    /// Seed of the randomisation test.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run_compare(args: CompareArgs) -> Result<()> {
    let metrics = parse_metrics(&args.metrics)?;
    let qrels = Qrels::read(&args.qrels)?;
    let mut runs = Vec::new();
    for spec in &args.runs {
        let (name, path) = match spec.split_once('=') {
            Some((name, path)) => (name.to_string(), PathBuf::from(path)),
            None => {
                let path = PathBuf::from(spec);
                let stem = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().to_string())
                    .unwrap_or_else(|| spec.clone());
                (stem, path)
            }
        };
        if runs.iter().any(|(n, _): &(String, Run)| *n == name) {
            bail!("two runs are named `{name}`: name them with NAME=PATH");
        }
        runs.push((name, Run::read(&path)?));
    }
    let options = CompareOptions {
        permutations: args.permutations,
        seed: args.seed,
    };
    let comparison = compare(&qrels, &runs, &metrics, &options)?;
    if args.json {
        println!("{}", comparison.to_json());
    } else {
        println!("{}", comparison.to_table());
    }
    Ok(())
}
