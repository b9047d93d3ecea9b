//! `rankforge`: fine-tune, distil, evaluate and serve neural rerankers.

mod commands;
mod device;
mod jsonl;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Tensor buffers are large and short-lived: mimalloc reuses them where glibc would hand them
/// back to the OS and fault in fresh zeroed pages on the next op.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "rankforge", version, about = "Fine-tune, distil, evaluate and serve neural rerankers", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Score (query, document) pairs with a cross-encoder.
    Predict(commands::predict::PredictArgs),
    /// Embed texts with a bi-encoder.
    Embed(commands::embed::EmbedArgs),
    /// Rerank a first-stage TREC run with a cross-encoder.
    Rerank(commands::rerank::RerankArgs),
    /// First-stage retrieval (BM25 or a bi-encoder) into a TREC run.
    Retrieve(commands::retrieve::RetrieveArgs),
    /// Fuse TREC runs (reciprocal rank or weighted score fusion).
    Fuse(commands::retrieve::FuseArgs),
    /// Mine hard negatives for training.
    Mine(commands::mine::MineArgs),
    /// trec_eval metrics of a run.
    Eval(commands::eval::EvalArgs),
    /// Two-stage report from a config: first stage vs first stage + each reranker.
    Evaluate(commands::evaluate::EvaluateArgs),
    /// Compare runs side by side, with deltas and paired significance tests.
    Compare(commands::eval::CompareArgs),
    /// Throughput benchmarks (JSON output).
    #[command(subcommand)]
    Bench(commands::bench::BenchCommand),
    /// Fine-tune a cross-encoder or train/distil a bi-encoder from a TOML run config.
    Train(commands::train::TrainArgs),
    /// Serve a reranker and/or embedder over HTTP (TEI and Cohere API shapes).
    Serve(commands::serve::ServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Predict(args) => commands::predict::run(args),
        Command::Embed(args) => commands::embed::run(args),
        Command::Rerank(args) => commands::rerank::run(args),
        Command::Retrieve(args) => commands::retrieve::run_retrieve(args),
        Command::Fuse(args) => commands::retrieve::run_fuse(args),
        Command::Mine(args) => commands::mine::run(args),
        Command::Eval(args) => commands::eval::run_eval(args),
        Command::Evaluate(args) => commands::evaluate::run(args),
        Command::Compare(args) => commands::eval::run_compare(args),
        Command::Bench(command) => commands::bench::run(command),
        Command::Train(args) => commands::train::run(args),
        Command::Serve(args) => commands::serve::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
