//! `rankforge`: fine-tune, distil, evaluate and serve neural rerankers.

mod commands;
mod device;
mod jsonl;
mod shard;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Tensor buffers are large and short-lived: mimalloc reuses them where glibc would hand them
/// back to the OS and fault in fresh zeroed pages on the next op.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's purge delay: by default freed memory goes back to the OS after 10 ms, and a
/// training step, whose activations are freed and reallocated every step, then spends much of
/// its time in the kernel zeroing fresh pages. Memory is kept for reuse instead (peak RSS stays
/// what the largest batch needed), unless `MIMALLOC_PURGE_DELAY` says otherwise.
mod allocator {
    use std::os::raw::{c_int, c_long};

    /// `mi_option_purge_delay` in the `mi_option_e` enum of both mimalloc v2 and v3.
    const MI_OPTION_PURGE_DELAY: c_int = 15;

    extern "C" {
        fn mi_option_set(option: c_int, value: c_long);
        #[cfg(test)]
        fn mi_option_get(option: c_int) -> c_long;
    }

    pub fn keep_freed_memory() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            // SAFETY: plain setters of mimalloc's option table, linked in by libmimalloc-sys.
            unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
        }
    }

    #[cfg(test)]
    #[test]
    fn purge_delay_is_the_option_we_set() {
        // SAFETY: as above.
        let before = unsafe { mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert!(
            before >= 0,
            "mimalloc's default is a purge delay in ms, got {before}"
        );
        unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
        assert_eq!(unsafe { mi_option_get(MI_OPTION_PURGE_DELAY) }, -1);
    }
}

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
    /// Merge the outputs of a job split with `--shard I/N` (runs, embeddings, mined records).
    Merge(commands::merge::MergeArgs),
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
    /// Write a decoder-only yes/no reranker (Qwen3, Gemma) as a one-logit
    /// *ForSequenceClassification directory (score row = W[true] − W[false]).
    ExportClassifier(commands::export::ExportClassifierArgs),
}

fn main() -> ExitCode {
    allocator::keep_freed_memory();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Predict(args) => commands::predict::run(args),
        Command::Embed(args) => commands::embed::run(args),
        Command::Rerank(args) => commands::rerank::run(args),
        Command::Retrieve(args) => commands::retrieve::run_retrieve(args),
        Command::Fuse(args) => commands::retrieve::run_fuse(args),
        Command::Mine(args) => commands::mine::run(args),
        Command::Merge(args) => commands::merge::run(args),
        Command::Eval(args) => commands::eval::run_eval(args),
        Command::Evaluate(args) => commands::evaluate::run(args),
        Command::Compare(args) => commands::eval::run_compare(args),
        Command::ExportClassifier(args) => commands::export::run(args),
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
