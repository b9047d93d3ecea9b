//! `rankforge evaluate --config configs/eval-*.toml`: the two-stage report of
//! `rankforge_pipeline` (BM25, then each configured reranker, compared with paired tests).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use rankforge_pipeline::evaluate;
pub use rankforge_pipeline::load_config;

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// TOML config (see configs/eval-sample.toml).
    #[arg(long)]
    pub config: PathBuf,
    #[arg(long, value_enum, default_value_t = crate::device::DeviceKind::Cpu)]
    pub device: crate::device::DeviceKind,
    /// Precision of every reranker (f32, bf16, f16, int8), over the config's `precision`.
    #[arg(long, value_parser = super::common::parse_precision)]
    pub precision: Option<rankforge_model::Precision>,
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: EvaluateArgs) -> Result<()> {
    let mut config = load_config(&args.config)?;
    if let Some(precision) = args.precision {
        config
            .rerankers
            .iter_mut()
            .for_each(|r| r.precision = precision);
    }
    crate::on_device!(args.device, evaluate(&config, args.quiet))
        .with_context(|| format!("evaluating with {}", args.config.display()))
}
