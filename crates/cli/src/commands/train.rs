//! `rankforge train`: fine-tune a cross-encoder or train/distil a bi-encoder from a TOML run
//! config (see `rankforge_trainer::config` for every field), on groups mined from a BEIR
//! directory or on a training file streamed in bounded memory (`[data] train_file`).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use rankforge_trainer::{train, TrainConfig, TrainOptions, TrainSummary};

use crate::device::DeviceKind;

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Run config (TOML), e.g. configs/quickstart.toml.
    #[arg(long)]
    pub config: PathBuf,
    /// Continue an interrupted run from `<output_dir>/checkpoint` (same config required).
    #[arg(long, conflicts_with = "overwrite")]
    pub resume: bool,
    /// Start afresh even though `<output_dir>` holds an earlier run, deleting that run's
    /// outputs (models, checkpoint, metrics, dev runs) first. Without it such a start is refused.
    #[arg(long)]
    pub overwrite: bool,
    /// Where to train.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
    /// No progress bar or progress messages (CI); the before/after table is still printed.
    #[arg(long, short)]
    pub quiet: bool,
    /// Stop once this many optimizer steps are done, as if the process were killed (for
    /// trying out `--resume`).
    #[arg(long)]
    pub stop_after_steps: Option<usize>,
}

pub fn run(args: TrainArgs) -> Result<()> {
    let config = TrainConfig::from_file(&args.config)?;
    let options = TrainOptions {
        resume: args.resume,
        overwrite: args.overwrite,
        stop_after_steps: args.stop_after_steps,
        quiet: args.quiet,
    };
    let started = std::time::Instant::now();
    let summary = match args.device {
        DeviceKind::Cpu => {
            train::<rankforge_model::backend::CpuAutodiff>(&config, &options, &Default::default())
        }
        #[cfg(feature = "cuda")]
        DeviceKind::Cuda => {
            train::<rankforge_model::backend::CudaAutodiff>(&config, &options, &Default::default())
        }
        #[cfg(not(feature = "cuda"))]
        DeviceKind::Cuda => return Err(crate::device::not_built("cuda")),
        #[cfg(feature = "wgpu")]
        DeviceKind::Wgpu => {
            train::<rankforge_model::backend::WgpuAutodiff>(&config, &options, &Default::default())
        }
        #[cfg(not(feature = "wgpu"))]
        DeviceKind::Wgpu => return Err(crate::device::not_built("wgpu")),
    }
    .with_context(|| format!("training with {}", args.config.display()))?;
    print_summary(&summary, started.elapsed().as_secs_f64());
    Ok(())
}

fn print_summary(summary: &TrainSummary, seconds: f64) {
    println!(
        "{} of {} steps in {:.0}s ({:.1} training pairs/s){}",
        summary.steps,
        summary.total_steps,
        seconds,
        summary.pairs_per_s,
        if summary.stopped_early {
            ", stopped early"
        } else {
            ""
        }
    );
    if summary.bm25_metrics.is_empty() {
        println!("no dev evaluation: [data] has no dir (a BEIR directory with a dev split)");
    } else {
        println!("dev reranking quality (BM25 candidates):");
        print!("{}", summary.table());
    }
    if let Some((value, step)) = summary.best {
        println!("best model: {value:.4} at step {step}");
    }
    println!("outputs: {}", summary.output_dir.display());
}
