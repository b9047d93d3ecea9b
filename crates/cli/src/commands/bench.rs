//! `rankforge bench predict`: cross-encoder inference throughput on a pairs file, as JSON.
//! `rankforge bench train`: cross-encoder training throughput on a groups file, as JSON.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use burn::tensor::backend::{AutodiffBackend, Backend};
use clap::{Args, Subcommand};
use rankforge_losses::LossConfig;
use rankforge_trainer::bench::{bench_cross_encoder_training, BenchGroup, TrainBenchSettings};
use serde_json::json;

use super::common::ModelArgs;
use super::long_doc::LongDocArgs;
use super::predict::load_cross_encoder;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Pairs/s of the cross-encoder over the pairs of `--input` (median of `--repeat` runs).
    Predict(BenchPredictArgs),
    /// Training pairs/s of the cross-encoder: the trainer's optimizer steps over the groups of
    /// `--groups` (the file scripts/reference/train_pytorch.py trains on).
    Train(BenchTrainArgs),
}

#[derive(Debug, Args)]
pub struct BenchTrainArgs {
    /// Base model directory (a new seeded head when it has none).
    #[arg(long)]
    pub model: PathBuf,
    /// jsonl of `{"query", "docs": [...], "labels": [...]}` groups, all of one size.
    #[arg(long)]
    pub groups: PathBuf,
    /// (query, document) pairs per optimizer step (whole groups: rounded down to a multiple of
    /// the group size, at least one group).
    #[arg(long, default_value_t = 16)]
    pub batch_pairs: usize,
    #[arg(long, default_value_t = 256)]
    pub max_length: usize,
    #[arg(long, default_value_t = 12)]
    pub steps: usize,
    /// Leading steps left out of the timing.
    #[arg(long, default_value_t = 2)]
    pub warmup_steps: usize,
    #[arg(long, default_value_t = 3e-5)]
    pub lr: f64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long, value_enum, default_value_t = crate::device::DeviceKind::Cpu)]
    pub device: crate::device::DeviceKind,
    /// Write the result JSON here as well as to stdout.
    #[arg(long)]
    pub output: Option<PathBuf>,
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
    let output = match &command {
        BenchCommand::Predict(args) => args.output.as_deref(),
        BenchCommand::Train(args) => args.output.as_deref(),
    };
    if let Some(output) = output {
        super::common::check_output(output)?;
    }
    match command {
        BenchCommand::Predict(args) => crate::on_device!(args.model.device, bench_predict(&args)),
        BenchCommand::Train(args) => match args.device {
            crate::device::DeviceKind::Cpu => {
                bench_train::<rankforge_model::backend::CpuAutodiff>(&Default::default(), &args)
            }
            #[cfg(feature = "cuda")]
            crate::device::DeviceKind::Cuda => {
                bench_train::<rankforge_model::backend::CudaAutodiff>(&Default::default(), &args)
            }
            #[cfg(not(feature = "cuda"))]
            crate::device::DeviceKind::Cuda => Err(crate::device::not_built("cuda")),
            #[cfg(feature = "wgpu")]
            crate::device::DeviceKind::Wgpu => {
                bench_train::<rankforge_model::backend::WgpuAutodiff>(&Default::default(), &args)
            }
            #[cfg(not(feature = "wgpu"))]
            crate::device::DeviceKind::Wgpu => Err(crate::device::not_built("wgpu")),
        },
    }
}

fn bench_predict<B: Backend>(device: &B::Device, args: &BenchPredictArgs) -> Result<()> {
    if args.repeat == 0 {
        bail!("--repeat must be at least 1");
    }
    let rows = rankforge_data::read_string_fields(&args.input, &["query", "document"])?;
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
        "precision": args.model.precision.name(),
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
    emit(&result, args.output.as_deref())
}

/// Reads benchmark groups; errors name the file, line and field.
fn read_groups(path: &Path) -> Result<Vec<BenchGroup>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let mut groups = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let group: BenchGroup = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not a group", path.display(), index + 1))?;
        if group.docs.is_empty() || group.docs.len() != group.labels.len() {
            bail!(
                "{}:{}: field `labels` must have one entry per entry of `docs` (at least one)",
                path.display(),
                index + 1
            );
        }
        if let Some(first) = groups.first().map(|g: &BenchGroup| g.docs.len()) {
            if group.docs.len() != first {
                bail!(
                    "{}:{}: field `docs` has {} entries, earlier groups {first}",
                    path.display(),
                    index + 1,
                    group.docs.len()
                );
            }
        }
        groups.push(group);
    }
    if groups.is_empty() {
        bail!("{}: no groups", path.display());
    }
    Ok(groups)
}

fn bench_train<B: AutodiffBackend>(device: &B::Device, args: &BenchTrainArgs) -> Result<()> {
    if args.steps <= args.warmup_steps {
        bail!("--steps must exceed --warmup-steps");
    }
    let groups = read_groups(&args.groups)?;
    let group_size = groups[0].docs.len();
    let settings = TrainBenchSettings {
        groups_per_step: (args.batch_pairs / group_size).max(1),
        steps: args.steps,
        warmup_steps: args.warmup_steps,
        max_length: args.max_length,
        learning_rate: args.lr,
        loss: LossConfig::ListNet(Default::default()),
        seed: args.seed,
    };
    let report = bench_cross_encoder_training::<B>(&args.model, &groups, &settings, device)?;
    let result = json!({
        "framework": "rankforge",
        "backend": std::any::type_name::<B>(),
        "batch_pairs": report.pairs_per_step,
        "max_length": args.max_length,
        "timed_steps": report.timed_steps,
        "step_seconds": report.step_seconds,
        "pairs_per_s": report.pairs_per_s,
        "losses": report.losses,
        "peak_rss_mb": peak_rss_mb(),
    });
    emit(&result, args.output.as_deref())
}

/// Prints a result as pretty JSON on stdout and, when asked, writes it to `output` as well.
fn emit(result: &serde_json::Value, output: Option<&Path>) -> Result<()> {
    let text = serde_json::to_string_pretty(result)?;
    println!("{text}");
    if let Some(path) = output {
        rankforge_data::write_atomic(path, text + "\n")
            .with_context(|| format!("{}: cannot write", path.display()))?;
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
