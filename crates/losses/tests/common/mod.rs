//! Helpers shared by the integration tests: backends, tensor construction, gradients, a
//! deterministic random generator.
#![allow(dead_code)]

use burn::backend::{Autodiff, Flex};
use burn::tensor::{Bool, Tensor, TensorData};
use rankforge_losses::{Loss, LossConfig, LossInput};

pub type Cpu = Flex;
pub type Ad = Autodiff<Flex>;

pub fn device() -> burn::tensor::Device<Cpu> {
    Default::default()
}

pub fn matrix<B: burn::tensor::backend::Backend>(rows: &[Vec<f32>]) -> Tensor<B, 2> {
    let width = rows.first().map_or(0, Vec::len);
    let flat: Vec<f32> = rows.iter().flatten().copied().collect();
    Tensor::from_data(
        TensorData::new(flat, [rows.len(), width]),
        &Default::default(),
    )
}

pub fn mask<B: burn::tensor::backend::Backend>(rows: &[Vec<bool>]) -> Tensor<B, 2, Bool> {
    let width = rows.first().map_or(0, Vec::len);
    let flat: Vec<bool> = rows.iter().flatten().copied().collect();
    Tensor::from_data(
        TensorData::new(flat, [rows.len(), width]),
        &Default::default(),
    )
}

pub fn cube<B: burn::tensor::backend::Backend>(blocks: &[Vec<Vec<f32>>]) -> Tensor<B, 3> {
    let rows = blocks.first().map_or(0, Vec::len);
    let width = blocks.first().and_then(|b| b.first()).map_or(0, Vec::len);
    let flat: Vec<f32> = blocks.iter().flatten().flatten().copied().collect();
    Tensor::from_data(
        TensorData::new(flat, [blocks.len(), rows, width]),
        &Default::default(),
    )
}

pub fn values<B: burn::tensor::backend::Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .expect("f32 data")
}

pub fn rows_of(flat: &[f32], width: usize) -> Vec<Vec<f32>> {
    flat.chunks(width).map(<[f32]>::to_vec).collect()
}

pub fn build(config_json: &str) -> Loss {
    let config: LossConfig = serde_json::from_str(config_json).expect("valid config json");
    config.build().expect("valid config")
}

/// Which tensor of an input the gradient is taken with respect to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wrt {
    Scores,
    Queries,
    Positives,
    Negatives,
}

/// A scalar loss value.
pub fn loss_value(loss: &Loss, input: &LossInput<Cpu>) -> f32 {
    let value = loss.compute(input).expect("loss computes");
    assert_eq!(value.dims(), [1]);
    values(value)[0]
}

/// The loss and its gradient with respect to `wrt`, flattened row-major.
pub fn loss_and_grad(loss: &Loss, input: &LossInput<Ad>, wrt: Wrt) -> (f32, Vec<f32>) {
    let mut input = input.clone();
    let leaf = match wrt {
        Wrt::Scores => {
            let s = input.scores.take().expect("scores").require_grad();
            input.scores = Some(s.clone());
            s
        }
        Wrt::Queries | Wrt::Positives | Wrt::Negatives => {
            let e = input.embeddings.as_mut().expect("embeddings");
            let slot = match wrt {
                Wrt::Queries => &mut e.queries,
                Wrt::Positives => &mut e.positives,
                _ => e.negatives.as_mut().expect("negatives"),
            };
            let t = slot.clone().require_grad();
            *slot = t.clone();
            t
        }
    };
    let value = loss.compute(&input).expect("loss computes");
    let scalar = values(value.clone())[0];
    let grads = value.backward();
    let grad = leaf
        .grad(&grads)
        .map(values)
        .unwrap_or_else(|| vec![0.0; leaf.dims().iter().product()]);
    (scalar, grad)
}

/// Small deterministic generator (SplitMix64) so the tests need no `rand`.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f32 {
        let u1 = self.uniform().max(1e-7);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn normal_rows(&mut self, rows: usize, width: usize) -> Vec<Vec<f32>> {
        (0..rows)
            .map(|_| (0..width).map(|_| self.normal()).collect())
            .collect()
    }

    /// Rows of distinct values on a grid of spacing `step`, shuffled: no two scores of a row
    /// are closer than `step` (keeps ranks and hinge kinks away from finite differences).
    pub fn spaced_rows(&mut self, rows: usize, width: usize, step: f32) -> Vec<Vec<f32>> {
        (0..rows)
            .map(|_| {
                let mut row: Vec<f32> = (0..width)
                    .map(|i| (i as f32 - width as f32 / 2.0) * step)
                    .collect();
                for i in (1..width).rev() {
                    row.swap(i, self.below(i + 1));
                }
                row
            })
            .collect()
    }

    /// Integer labels in `0..levels`.
    pub fn graded_rows(&mut self, rows: usize, width: usize, levels: usize) -> Vec<Vec<f32>> {
        (0..rows)
            .map(|_| (0..width).map(|_| self.below(levels) as f32).collect())
            .collect()
    }
}

/// A batch of groups as plain data, buildable on any backend.
#[derive(Clone, Debug)]
pub struct ScoreCase {
    pub scores: Vec<Vec<f32>>,
    pub labels: Vec<Vec<f32>>,
    pub teacher: Vec<Vec<f32>>,
    pub valid: Vec<Vec<bool>>,
}

impl ScoreCase {
    pub fn input<B: burn::tensor::backend::Backend>(&self) -> LossInput<B> {
        LossInput::from_scores(matrix(&self.scores))
            .with_labels(matrix(&self.labels))
            .with_teacher_scores(matrix(&self.teacher))
            .with_valid_mask(mask(&self.valid))
    }

    pub fn width(&self) -> usize {
        self.scores[0].len()
    }

    /// Random groups: scores on a grid of spacing `step` (no near-ties), labels in
    /// {0, 0.5, 1} (ties, graded, valid BCE targets), teacher scores, and a mask that pads the
    /// tail of some groups (column 0 and at least two entries always real).
    pub fn random(rng: &mut Rng, groups: usize, list: usize, step: f32) -> Self {
        let scores = rng.spaced_rows(groups, list, step);
        let labels = (0..groups)
            .map(|_| (0..list).map(|_| rng.below(3) as f32 / 2.0).collect())
            .collect();
        let teacher = rng.normal_rows(groups, list);
        let valid = (0..groups)
            .map(|_| {
                let real = 2 + rng.below(list - 1);
                (0..list).map(|i| i < real).collect()
            })
            .collect();
        Self {
            scores,
            labels,
            teacher,
            valid,
        }
    }
}

/// Bi-encoder embeddings as plain data.
#[derive(Clone, Debug)]
pub struct EmbeddingCase {
    pub queries: Vec<Vec<f32>>,
    pub positives: Vec<Vec<f32>>,
    pub negatives: Option<Vec<Vec<f32>>>,
}

impl EmbeddingCase {
    pub fn input<B: burn::tensor::backend::Backend>(&self) -> LossInput<B> {
        let input = LossInput::from_embeddings(matrix(&self.queries), matrix(&self.positives));
        match &self.negatives {
            Some(negatives) => input.with_flat_negatives(matrix(negatives)),
            None => input,
        }
    }

    pub fn random(rng: &mut Rng, n: usize, negatives: usize, width: usize) -> Self {
        Self {
            queries: rng.normal_rows(n, width),
            positives: rng.normal_rows(n, width),
            negatives: (negatives > 0).then(|| rng.normal_rows(negatives, width)),
        }
    }
}

/// Configs of every score-based loss, with non-default parameters where they exist.
pub const SCORE_LOSSES: &[&str] = &[
    r#"{"loss": "bce"}"#,
    r#"{"loss": "bce", "pos_weight": 3.0}"#,
    r#"{"loss": "mse"}"#,
    r#"{"loss": "mse", "target": "labels"}"#,
    r#"{"loss": "margin_ranking", "margin": 0.1}"#,
    r#"{"loss": "ranknet", "sigma": 1.5}"#,
    r#"{"loss": "listnet"}"#,
    r#"{"loss": "listnet", "target": "teacher_scores", "temperature": 0.7}"#,
    r#"{"loss": "listmle"}"#,
    r#"{"loss": "lambda_loss"}"#,
    r#"{"loss": "lambda_loss", "weighting": "lambda_rank", "k": 3}"#,
    r#"{"loss": "lambda_loss", "weighting": "ndcg_loss2", "sigma": 2.0}"#,
    r#"{"loss": "lambda_loss", "weighting": "none"}"#,
    r#"{"loss": "margin_mse"}"#,
    r#"{"loss": "distill_kl", "temperature": 2.0}"#,
    r#"{"loss": "distill_kl", "objective": "soft_cross_entropy", "hard_label_weight": 1.0}"#,
];

/// Configs of the in-batch loss.
pub const EMBEDDING_LOSSES: &[&str] = &[
    r#"{"loss": "infonce"}"#,
    r#"{"loss": "infonce", "symmetric": true, "temperature": 0.1}"#,
    r#"{"loss": "infonce", "similarity": "dot", "scale": 1.0}"#,
    r#"{"loss": "infonce", "similarity": "dot", "scale": 0.5, "symmetric": true}"#,
];

pub fn assert_close(what: &str, actual: f32, expected: f32, tolerance: f32) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "{what}: {actual} vs {expected} (|diff| {} > {tolerance})",
        (actual - expected).abs()
    );
}
