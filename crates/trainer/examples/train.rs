//! Trains from a run config without the CLI: `cargo run --release -p rankforge-trainer
//! --example train -- configs/quickstart.toml [--resume] [--quiet]` (CPU).

use std::path::PathBuf;

use rankforge_trainer::{train, TrainConfig, TrainOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = PathBuf::from(
        args.first()
            .ok_or("usage: train <config.toml> [--resume] [--quiet]")?,
    );
    let config = TrainConfig::from_file(&path)?;
    let options = TrainOptions {
        resume: args.iter().any(|a| a == "--resume"),
        quiet: args.iter().any(|a| a == "--quiet"),
        overwrite: args.iter().any(|a| a == "--overwrite"),
        stop_after_steps: None,
    };
    let started = std::time::Instant::now();
    let summary =
        train::<rankforge_model::backend::CpuAutodiff>(&config, &options, &Default::default())?;
    println!(
        "{} steps in {:.0}s, {:.1} training pairs/s",
        summary.steps,
        started.elapsed().as_secs_f64(),
        summary.pairs_per_s
    );
    print!("{}", summary.table());
    Ok(())
}
