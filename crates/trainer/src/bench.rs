//! Training-throughput benchmark: cross-encoder optimizer steps on fixed groups, timed the way
//! `scripts/reference/train_pytorch.py` times its plain PyTorch loop, so the two are compared on
//! the same (query, documents, labels) groups. Each step is the trainer's own: the
//! [`CrossEncoderTask`] loss (tokenize → collate → forward with dropout → loss), backward,
//! clipping and the AdamW update, under the same learning-rate schedule.

use std::path::Path;
use std::time::Instant;

use burn::optim::GradientsParams;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::ElementConversion;
use rankforge_data::Corpus;
use rankforge_losses::LossConfig;
use serde::{Deserialize, Serialize};

use rankforge_model::Precision;

use crate::config::ScheduleKind;
use crate::cross_encoder::{BaseModel, CrossEncoderTask, TaskInputs};
use crate::data::Group;
use crate::error::{Result, TrainError};
use crate::eval::DevSet;
use crate::optimizer::{AdamW, AdamWSettings};
use crate::schedule::LrSchedule;
use crate::task::TrainTask;

/// One training group as the benchmark files hold it (a jsonl line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchGroup {
    pub query: String,
    pub docs: Vec<String>,
    pub labels: Vec<f32>,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct TrainBenchSettings {
    /// Groups per optimizer step.
    pub groups_per_step: usize,
    pub steps: usize,
    /// Leading steps not timed (allocator and kernel warm-up).
    pub warmup_steps: usize,
    pub max_length: usize,
    pub learning_rate: f64,
    pub loss: LossConfig,
    pub seed: u64,
}

/// Timings of a benchmark run.
#[derive(Debug, Clone, Serialize)]
pub struct TrainBenchReport {
    pub timed_steps: usize,
    pub pairs_per_step: usize,
    pub pairs_per_s: f64,
    pub step_seconds: Vec<f64>,
    pub losses: Vec<f64>,
}

/// Runs `settings.steps` optimizer steps over `groups` (cycled in file order) from the model
/// in `base_dir` (a new seeded head if it has none) and times them.
pub fn bench_cross_encoder_training<B: AutodiffBackend>(
    base_dir: &Path,
    groups: &[BenchGroup],
    settings: &TrainBenchSettings,
    device: &B::Device,
) -> Result<TrainBenchReport> {
    let list = groups.first().map_or(0, |g| g.docs.len());
    if list == 0
        || groups
            .iter()
            .any(|g| g.docs.len() != list || g.labels.len() != list)
    {
        return Err(TrainError::NoData(
            "benchmark groups must be non-empty, all with the same number of documents and labels"
                .into(),
        ));
    }
    let batches: Vec<Group> = groups
        .iter()
        .map(|group| Group {
            query: group.query.clone(),
            docs: group.docs.clone(),
            labels: group.labels.clone(),
            valid: vec![true; list],
            teacher: None,
            row: None,
        })
        .collect();
    let corpus = Corpus::new();
    let dev = DevSet::empty();
    B::seed(device, settings.seed);
    let base = BaseModel {
        dir: base_dir,
        max_length: Some(settings.max_length),
        head_seed: settings.seed,
        loss: &settings.loss,
        eval_batch_size: 32,
        precision: Precision::F32,
    };
    let inputs = TaskInputs {
        corpus: &corpus,
        dev: &dev,
    };
    let (task, mut model, _) = CrossEncoderTask::<B>::load_base(&base, inputs, device)?;
    let mut optimizer = AdamW::<B>::new(AdamWSettings {
        beta1: 0.9,
        beta2: 0.999,
        epsilon: 1e-8,
        weight_decay: 0.01,
        max_grad_norm: 1.0,
        head_lr_multiplier: 1.0,
    });
    let schedule = LrSchedule {
        peak: settings.learning_rate,
        warmup_steps: (settings.steps / 10).max(1),
        total_steps: settings.steps,
        kind: ScheduleKind::Linear,
    };
    let per_step = settings.groups_per_step.max(1);
    let mut step_seconds = Vec::new();
    let mut losses = Vec::new();
    for step in 0..settings.steps {
        let micro: Vec<Group> = (0..per_step)
            .map(|i| batches[(step * per_step + i) % batches.len()].clone())
            .collect();
        let started = Instant::now();
        let loss = task.loss(&model, &micro)?;
        let value = f64::from(loss.clone().into_scalar().elem::<f32>());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let (updated, _) = optimizer.step(schedule.lr(step), model, grads, step)?;
        model = updated;
        let seconds = started.elapsed().as_secs_f64();
        losses.push(value);
        if step >= settings.warmup_steps {
            step_seconds.push(seconds);
        }
    }
    let pairs_per_step = per_step * list;
    let timed: f64 = step_seconds.iter().sum();
    Ok(TrainBenchReport {
        timed_steps: step_seconds.len(),
        pairs_per_step,
        pairs_per_s: if timed > 0.0 {
            (pairs_per_step * step_seconds.len()) as f64 / timed
        } else {
            0.0
        },
        step_seconds,
        losses,
    })
}
