//! The training loop shared by both model families: micro-batches → loss → backward →
//! accumulated gradients → AdamW step with the scheduled learning rate; logging, dev
//! evaluation with best-model tracking and early stopping, and resumable checkpoints.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::optim::{GradientsAccumulator, GradientsParams};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::ElementConversion;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::checkpoint::{
    find_checkpoint, read_state, write_checkpoint, RngState, TrainerState, MODEL_DIR,
    OPTIMIZER_FILE,
};
use crate::config::TrainConfig;
use crate::data::{stream_seed, DataCache, DataPosition, Stream, TrainData};
use crate::error::{Result, TrainError};
use crate::eval::{metric_value, DevEvaluation, Metrics};
use crate::optimizer::{AdamW, AdamWSettings};
use crate::report::{MetricsLog, MetricsRecord};
use crate::schedule::LrSchedule;
use crate::task::TrainTask;

/// Directory names inside the output directory.
pub const BEST_DIR: &str = "best";
pub const FINAL_DIR: &str = "final";
/// TREC runs of the dev evaluations, in the output directory: the best model's, the final
/// model's and the untrained model's (for fusion, significance tests, `rankforge eval`).
pub const BEST_DEV_RUN: &str = "best-dev.trec";
pub const FINAL_DEV_RUN: &str = "final-dev.trec";
pub const INITIAL_DEV_RUN: &str = "initial-dev.trec";
pub const BM25_DEV_RUN: &str = "bm25-dev.trec";

/// How a run is driven (command-line switches, not part of the config).
#[derive(Debug, Clone, Default)]
pub struct TrainOptions {
    /// Continue from `<output_dir>/checkpoint`.
    pub resume: bool,
    /// Start afresh in an output directory that holds an earlier run, deleting that run's
    /// outputs first (without it such a start is refused: see [`crate::run_dir`]).
    pub overwrite: bool,
    /// Stop (as if killed) once this many optimizer steps are done, writing nothing more.
    /// For testing resumption.
    pub stop_after_steps: Option<usize>,
    /// No progress bar and no chatter on stderr.
    pub quiet: bool,
}

/// What the loop reports back.
#[derive(Debug, Clone)]
pub struct LoopOutcome {
    pub state: TrainerState,
    /// Dev metrics of the final model (None when the run was stopped by `stop_after_steps`).
    pub final_metrics: Option<Metrics>,
    /// Training pairs per second over this process's training steps.
    pub pairs_per_s: f64,
    pub stopped_early: bool,
    /// Tokens per sequence at most, in training, in the dev evaluations and in the saved model.
    pub max_length: usize,
}

/// Steps of the whole run: `max_steps`, else epochs × micro-batches / accumulation.
pub fn total_steps(config: &TrainConfig, data: &TrainData) -> usize {
    let t = &config.train;
    t.max_steps.unwrap_or_else(|| {
        (t.epochs * data.batches_per_epoch(t.batch_size)).div_ceil(t.grad_accum_steps)
    })
}

/// The schedule of a run.
pub fn schedule(config: &TrainConfig, total: usize) -> LrSchedule {
    let t = &config.train;
    LrSchedule {
        peak: t.learning_rate,
        warmup_steps: t
            .warmup_steps
            .unwrap_or((t.warmup_ratio * total as f64).round() as usize),
        total_steps: total,
        kind: t.schedule,
    }
}

fn progress_bar(total: usize, done: usize, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "train {bar:30} {pos}/{len} [{elapsed_precise} < {eta_precise}] {msg}",
        )
        .expect("valid template"),
    );
    bar.set_position(done as u64);
    bar
}

/// Runs (or resumes) the loop for `task`, starting from `initial` unless resuming. Without
/// a dev set (`dev` false: a training file and no `data.dir`) nothing is evaluated: no
/// `best/`, no dev runs, final metrics empty.
pub fn run_loop<B: AutodiffBackend, T: TrainTask<B>>(
    config: &TrainConfig,
    options: &TrainOptions,
    task: &T,
    data: &TrainData,
    dev: bool,
    initial: T::Model,
    device: &B::Device,
) -> Result<LoopOutcome> {
    let output_dir = config.run.output_dir.as_path();
    let seed = config.run.seed;
    let t = &config.train;
    let total = total_steps(config, data);
    let lr_schedule = schedule(config, total);
    let mut optimizer = AdamW::<B>::new(AdamWSettings {
        beta1: t.adam_beta1,
        beta2: t.adam_beta2,
        epsilon: t.adam_epsilon,
        weight_decay: t.weight_decay,
        max_grad_norm: t.max_grad_norm,
        head_lr_multiplier: t.head_lr_multiplier,
    });
    let config_toml = config.to_toml();
    let say = |message: String| {
        if !options.quiet {
            eprintln!("{message}");
        }
    };

    let (mut model, mut state, mut log, mut last_checkpoint) = if options.resume {
        let checkpoint = find_checkpoint(output_dir).ok_or_else(|| TrainError::Resume {
            path: output_dir.into(),
            message: "no checkpoint here (was the run started with this output_dir?)".into(),
        })?;
        let state = read_state(&checkpoint)?;
        if state.config_toml != config_toml {
            return Err(TrainError::Resume {
                path: checkpoint,
                message: "it was written with a different config; start a new output_dir or \
                          restore the original config"
                    .into(),
            });
        }
        if state.data_rows.is_some_and(|rows| rows != data.examples()) {
            return Err(TrainError::Resume {
                path: checkpoint,
                message: format!(
                    "it was written over {} training examples and the data now holds {}: the \
                     recorded position would point at other rows (was the training file \
                     changed?)",
                    state.data_rows.unwrap_or_default(),
                    data.examples()
                ),
            });
        }
        let model = task.load(&checkpoint.join(MODEL_DIR))?;
        optimizer.load(&checkpoint.join(OPTIMIZER_FILE), device)?;
        let log = MetricsLog::open(output_dir, Some(state.step))?;
        let at = state.position;
        let (epoch, next) = if at.offset >= data.examples() {
            (at.epoch + 1, 0)
        } else {
            (at.epoch, at.offset)
        };
        say(format!(
            "resuming from {} at step {}/{} (epoch {}, example {} of {})",
            checkpoint.display(),
            state.step,
            state.total_steps,
            epoch + 1,
            next + 1,
            data.examples()
        ));
        (model, state, log, Some(checkpoint))
    } else {
        let mut log = MetricsLog::open(output_dir, None)?;
        let (initial_metrics, best) = if config.eval.initial && dev {
            say("evaluating the initial model on the dev set".into());
            let DevEvaluation { metrics, run } = task.evaluate(&initial)?;
            write_dev_run(&run, &output_dir.join(INITIAL_DEV_RUN), "initial")?;
            log.push(MetricsRecord::Eval {
                step: 0,
                metrics: metrics.iter().cloned().collect(),
            })?;
            let best = metric_value(&metrics, &config.eval.select).map(|v| (v, 0));
            task.save(&initial, &output_dir.join(BEST_DIR))?;
            write_dev_run(&run, &output_dir.join(BEST_DEV_RUN), "best")?;
            (metrics, best)
        } else {
            (Vec::new(), None)
        };
        let state = TrainerState {
            step: 0,
            position: DataPosition::default(),
            rng: RngState {
                scheme: "splitmix64(seed, step|epoch|example); backend reseeded per step".into(),
                seed,
                next_step: 0,
            },
            best,
            evals_without_improvement: 0,
            initial_metrics,
            total_steps: total,
            pairs_seen: 0,
            config_toml: config_toml.clone(),
            data_rows: Some(data.examples()),
        };
        (initial, state, log, None)
    };

    let bar = progress_bar(total, state.step, options.quiet);
    // A progress bar draws nothing into a log file: there, every logged step prints a line.
    let plain_progress = !options.quiet && !std::io::stderr().is_terminal();
    let first_step_here = state.step;
    let mut data_cache = DataCache::default();
    let mut train_seconds = 0.0f64;
    let mut pairs_this_process = 0u64;
    let mut window_loss = 0.0f64;
    let mut window_steps = 0usize;
    let mut final_metrics = None;
    let mut last_eval_step = None;
    let mut stopped_early = false;

    while state.step < total {
        if options.stop_after_steps.is_some_and(|n| state.step >= n) {
            bar.abandon();
            return Ok(LoopOutcome {
                state,
                final_metrics: None,
                pairs_per_s: rate(pairs_this_process, train_seconds),
                stopped_early: false,
                max_length: task.max_length(),
            });
        }
        let step = state.step;
        let lr = lr_schedule.lr(step);
        let started = Instant::now();
        let (grads, step_loss, pairs) = {
            let _rng = rankforge_model::backend::seeded_rng_section();
            B::seed(device, stream_seed(seed, Stream::Dropout, &[step as u64]));
            accumulate_micro_batches(
                task,
                data,
                &model,
                seed,
                &mut state.position,
                &mut data_cache,
                t.batch_size,
                t.grad_accum_steps,
            )
        }
        .map_err(|e| with_checkpoint(e, step, &last_checkpoint))?;
        let (updated, report) = optimizer
            .step(lr, model, grads, step)
            .map_err(|e| with_checkpoint(e, step, &last_checkpoint))?;
        model = updated;
        train_seconds += started.elapsed().as_secs_f64();
        pairs_this_process += pairs as u64;
        state.pairs_seen += pairs as u64;
        state.step += 1;
        state.rng.next_step = state.step;
        window_loss += step_loss;
        window_steps += 1;
        let pairs_per_s = rate(pairs_this_process, train_seconds);
        bar.set_position(state.step as u64);
        bar.set_message(format!(
            "loss {step_loss:.4} lr {lr:.2e} {pairs_per_s:.1} pairs/s"
        ));

        let last = state.step == total;
        if state.step % t.log_every_steps.max(1) == 0 || last {
            if plain_progress {
                let done_here = state.step - first_step_here;
                say(progress_line(
                    state.step,
                    total,
                    window_loss / window_steps as f64,
                    lr,
                    pairs_per_s,
                    train_seconds,
                    train_seconds / done_here as f64 * (total - state.step) as f64,
                ));
            }
            log.push(MetricsRecord::Train {
                step: state.step,
                epoch: state.position.epoch,
                loss: window_loss / window_steps as f64,
                lr,
                grad_norm: report.grad_norm,
                pairs_per_s,
            })?;
            window_loss = 0.0;
            window_steps = 0;
        }

        let every = config.eval.every_steps;
        let mut evaluated = false;
        if dev && (last || (every > 0 && state.step % every == 0)) {
            bar.suspend(|| say(format!("evaluating at step {}", state.step)));
            let DevEvaluation { metrics, run } = task.evaluate(&model)?;
            evaluated = true;
            last_eval_step = Some(state.step);
            log.push(MetricsRecord::Eval {
                step: state.step,
                metrics: metrics.iter().cloned().collect(),
            })?;
            let value = metric_value(&metrics, &config.eval.select).unwrap_or(f64::NEG_INFINITY);
            if state.best.is_none_or(|(best, _)| value > best) {
                state.best = Some((value, state.step));
                state.evals_without_improvement = 0;
                task.save(&model, &output_dir.join(BEST_DIR))?;
                write_dev_run(&run, &output_dir.join(BEST_DEV_RUN), "best")?;
            } else {
                state.evals_without_improvement += 1;
            }
            bar.suspend(|| say(format!("step {}: {}", state.step, format_metrics(&metrics))));
            stopped_early = !last
                && config
                    .eval
                    .early_stopping_patience
                    .is_some_and(|p| state.evals_without_improvement >= p);
            if last || stopped_early {
                // This evaluation is of the model that final/ will hold.
                write_dev_run(&run, &output_dir.join(FINAL_DEV_RUN), "final")?;
                final_metrics = Some(metrics);
            }
        }

        let cadence = config.checkpoint.every_steps;
        if last || evaluated || stopped_early || (cadence > 0 && state.step % cadence == 0) {
            last_checkpoint = Some(save_checkpoint(
                task, &model, &optimizer, &state, output_dir,
            )?);
        }
        if stopped_early {
            say(format!(
                "early stopping: {} evaluations without improvement of {}",
                state.evals_without_improvement, config.eval.select
            ));
            break;
        }
    }
    bar.finish_and_clear();
    if !dev {
        final_metrics = Some(Vec::new());
    } else if final_metrics.is_none() && last_eval_step != Some(state.step) {
        // A resumed run that had already finished, or zero steps: evaluate what there is.
        let DevEvaluation { metrics, run } = task.evaluate(&model)?;
        write_dev_run(&run, &output_dir.join(FINAL_DEV_RUN), "final")?;
        final_metrics = Some(metrics);
    }
    task.save(&model, &output_dir.join(FINAL_DIR))?;
    Ok(LoopOutcome {
        state,
        final_metrics,
        pairs_per_s: rate(pairs_this_process, train_seconds),
        stopped_early,
        max_length: task.max_length(),
    })
}

/// The plain-text progress line of a logged step (for stderr that is not a terminal).
fn progress_line(
    step: usize,
    total: usize,
    loss: f64,
    lr: f64,
    pairs_per_s: f64,
    elapsed_s: f64,
    eta_s: f64,
) -> String {
    let clock = |s: f64| {
        let s = s.max(0.0).round() as u64;
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    };
    format!(
        "step {step}/{total} loss {loss:.4} lr {lr:.2e} {pairs_per_s:.1} pairs/s elapsed {} eta {}",
        clock(elapsed_s),
        clock(eta_s)
    )
}

/// Writes a dev run atomically (temp file, then rename), tagged `rankforge-<tag>`.
pub(crate) fn write_dev_run(run: &rankforge_data::Run, path: &Path, tag: &str) -> Result<()> {
    let tmp = path.with_extension(format!("trec.tmp-{}", std::process::id()));
    run.write(&tmp, &format!("rankforge-{tag}"))?;
    std::fs::rename(&tmp, path).map_err(|cause| TrainError::Io {
        path: path.into(),
        cause,
    })
}

fn rate(pairs: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        pairs as f64 / seconds
    } else {
        0.0
    }
}

/// `ndcg@10 0.6812  mrr@10 0.6421`
pub fn format_metrics(metrics: &Metrics) -> String {
    metrics
        .iter()
        .map(|(n, v)| format!("{n} {v:.4}"))
        .collect::<Vec<_>>()
        .join("  ")
}

fn with_checkpoint(error: TrainError, step: usize, last: &Option<PathBuf>) -> TrainError {
    match error {
        TrainError::NonFinite { what, value, .. } => TrainError::NonFinite {
            what,
            value,
            step,
            last_checkpoint: last.clone(),
        },
        other => other,
    }
}

/// Runs `accum` micro-batches, returning their summed gradients (each loss divided by
/// `accum`), the mean loss and the number of pairs seen.
#[allow(clippy::too_many_arguments)]
fn accumulate_micro_batches<B: AutodiffBackend, T: TrainTask<B>>(
    task: &T,
    data: &TrainData,
    model: &T::Model,
    seed: u64,
    position: &mut DataPosition,
    cache: &mut DataCache,
    batch_size: usize,
    accum: usize,
) -> Result<(GradientsParams, f64, usize)> {
    let mut accumulator = GradientsAccumulator::<T::Model>::new();
    let mut single = None;
    let mut loss_sum = 0.0;
    let mut pairs = 0;
    for _ in 0..accum {
        let groups = data.next_batch(seed, position, batch_size, cache)?;
        pairs += task.pairs_in(&groups);
        let loss = task.loss(model, &groups)?;
        let value = f64::from(loss.clone().into_scalar().elem::<f32>());
        if !value.is_finite() {
            return Err(TrainError::NonFinite {
                what: "loss",
                value,
                step: 0,
                last_checkpoint: None,
            });
        }
        loss_sum += value;
        let loss = if accum > 1 {
            loss.div_scalar(accum as f64)
        } else {
            loss
        };
        let grads = GradientsParams::from_grads(loss.backward(), model);
        if accum == 1 {
            single = Some(grads);
        } else {
            accumulator.accumulate(model, grads);
        }
    }
    let grads = single.unwrap_or_else(|| accumulator.grads());
    Ok((grads, loss_sum / accum as f64, pairs))
}

fn save_checkpoint<B: AutodiffBackend, T: TrainTask<B>>(
    task: &T,
    model: &T::Model,
    optimizer: &AdamW<B>,
    state: &TrainerState,
    output_dir: &Path,
) -> Result<PathBuf> {
    write_checkpoint(output_dir, state, |dir| {
        task.save(model, &dir.join(MODEL_DIR))?;
        optimizer.save(&dir.join(OPTIMIZER_FILE))
    })
}

#[cfg(test)]
mod tests {
    use super::progress_line;

    #[test]
    fn progress_line_reads_like_the_bar() {
        let line = progress_line(30, 230, 1.99435, 9.71e-5, 2.04, 3725.4, 59.6);
        assert_eq!(
            line,
            "step 30/230 loss 1.9944 lr 9.71e-5 2.0 pairs/s elapsed 1:02:05 eta 0:01:00"
        );
    }
}
