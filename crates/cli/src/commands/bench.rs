//! `rankforge bench predict`: cross-encoder throughput on a pairs file, as JSON.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Result};
use burn::tensor::backend::Backend;
use clap::{Args, Subcommand};
use serde_json::json;

use super::common::ModelArgs;
use super::long_doc::LongDocArgs;
use super::predict::load_cross_encoder;
use crate::jsonl;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Pairs/s of the cross-encoder over the pairs of `--input` (median of `--repeat` runs).
    Predict(BenchPredictArgs),
}

#[derive(Debug, Args)]
pub struct BenchPredictArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// jsonl of `{"query", "document"}` pairs (the same file the PyTorch benchmark reads).
    #[arg(long)]
    pub input: PathBuf,
    /// Timed repetitions after one warm-up pass.
    #[arg(long, default_value_t = 5)]
    pub repeat: usize,
    /// Write the result JSON here as well as to stdout.
    #[arg(long)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub long_doc: LongDocArgs,
}

pub fn run(command: BenchCommand) -> Result<()> {
    match command {
        BenchCommand::Predict(args) => crate::on_device!(args.model.device, bench_predict(&args)),
    }
}

fn bench_predict<B: Backend>(device: &B::Device, args: &BenchPredictArgs) -> Result<()> {
    if args.repeat == 0 {
        bail!("--repeat must be at least 1");
    }
    let rows = jsonl::read_string_fields(&args.input, &["query", "document"])?;
    let mut model_args = args.model.clone();
    model_args.quiet = true;
    let scorer = load_cross_encoder::<B>(device, &model_args, &args.long_doc, true)?;
    let pairs: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str()))
        .collect();
    let tokens: usize = scorer.encode(&pairs)?.0.iter().map(|e| e.len()).sum();
    scorer.score(&pairs)?;
    let mut seconds = Vec::with_capacity(args.repeat);
    for _ in 0..args.repeat {
        let started = Instant::now();
        scorer.score(&pairs)?;
        seconds.push(started.elapsed().as_secs_f64());
    }
    seconds.sort_by(f64::total_cmp);
    let median = seconds[seconds.len() / 2];
    let result = json!({
        "system": "rankforge",
        "backend": std::any::type_name::<B>(),
        "pairs": pairs.len(),
        "tokens": tokens,
        "batch_size": args.model.batch_size,
        "max_length": scorer.tokenizer.max_length(),
        "repeat": args.repeat,
        "seconds": seconds,
        "median_seconds": median,
        "pairs_per_second": pairs.len() as f64 / median,
        "peak_rss_mb": peak_rss_mb(),
    });
    let text = serde_json::to_string_pretty(&result)?;
    println!("{text}");
    if let Some(path) = &args.output {
        std::fs::write(path, text + "\n")?;
    }
    Ok(())
}

/// Peak resident set size of this process (Linux `VmHWM`), in MB.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
