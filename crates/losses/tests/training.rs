//! End to end: a linear scorer trained with each loss by plain Adam on a synthetic ranking
//! task must improve its nDCG on held-out queries (nDCG computed here, trec_eval style).

mod common;

use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::{backend::Backend, Tensor, TensorData};
use common::{build, mask, matrix, values, Ad, Rng};
use rankforge_losses::{Loss, LossInput};

const FEATURES: usize = 6;
const LIST: usize = 8;
const STEPS: usize = 150;
const LEARNING_RATE: f64 = 0.05;

/// nDCG over the whole list with gains 2^label − 1, averaged over queries with a relevant
/// document. `scores[q][i]`, `labels[q][i]`, `valid[q][i]`.
fn mean_ndcg(scores: &[Vec<f32>], labels: &[Vec<f32>], valid: &[Vec<bool>]) -> f32 {
    let dcg = |order: &[usize], labels: &[f32]| -> f32 {
        order
            .iter()
            .enumerate()
            .map(|(rank, &i)| (2f32.powf(labels[i]) - 1.0) / (rank as f32 + 2.0).log2())
            .sum()
    };
    let mut total = 0.0;
    let mut counted = 0;
    for ((scores, labels), valid) in scores.iter().zip(labels).zip(valid) {
        let real: Vec<usize> = (0..scores.len()).filter(|&i| valid[i]).collect();
        let mut by_score = real.clone();
        by_score.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
        let mut ideal = real;
        ideal.sort_by(|&a, &b| labels[b].total_cmp(&labels[a]));
        let best = dcg(&ideal, labels);
        if best > 0.0 {
            total += dcg(&by_score, labels) / best;
            counted += 1;
        }
    }
    total / counted as f32
}

/// Queries with `LIST` candidate documents each; relevance grows with a hidden linear score.
struct RankingTask {
    features: Vec<f32>, // [queries * LIST * FEATURES]
    true_scores: Vec<Vec<f32>>,
    graded: Vec<Vec<f32>>,
    binary: Vec<Vec<f32>>,
    valid: Vec<Vec<bool>>,
}

impl RankingTask {
    fn new(rng: &mut Rng, hidden: &[f32], queries: usize) -> Self {
        let mut features = Vec::new();
        let (mut true_scores, mut graded, mut binary, mut valid) = (vec![], vec![], vec![], vec![]);
        for q in 0..queries {
            let mut docs: Vec<Vec<f32>> = rng.normal_rows(LIST, FEATURES);
            let score = |x: &Vec<f32>| x.iter().zip(hidden).map(|(a, b)| a * b).sum::<f32>();
            // The best document goes first (for the positive-first losses); the model only
            // sees features, so the position carries no signal it could use.
            let best = (0..LIST).max_by(|&a, &b| score(&docs[a]).total_cmp(&score(&docs[b])));
            docs.swap(0, best.unwrap());
            let t: Vec<f32> = docs.iter().map(score).collect();
            let labels: Vec<f32> = t
                .iter()
                .map(|&s| {
                    if s > 1.5 {
                        2.0
                    } else if s > 0.0 {
                        1.0
                    } else {
                        0.0
                    }
                })
                .collect();
            binary.push(
                labels
                    .iter()
                    .map(|&l| if l >= 1.0 { 1.0 } else { 0.0 })
                    .collect(),
            );
            graded.push(labels);
            true_scores.push(t);
            // Every other query has its last two candidates padded.
            let real = if q % 2 == 0 { LIST } else { LIST - 2 };
            valid.push((0..LIST).map(|i| i < real).collect());
            features.extend(docs.into_iter().flatten());
        }
        Self {
            features,
            true_scores,
            graded,
            binary,
            valid,
        }
    }

    fn queries(&self) -> usize {
        self.graded.len()
    }

    fn scores<B: Backend>(&self, model: &Linear<B>) -> Tensor<B, 2> {
        let rows = self.queries() * LIST;
        let x: Tensor<B, 2> = Tensor::from_data(
            TensorData::new(self.features.clone(), [rows, FEATURES]),
            &Default::default(),
        );
        model.forward(x).reshape([self.queries(), LIST])
    }

    fn ndcg(&self, model: &Linear<Ad>) -> f32 {
        let flat = values(self.scores(model));
        let scores: Vec<Vec<f32>> = flat.chunks(LIST).map(<[f32]>::to_vec).collect();
        mean_ndcg(&scores, &self.graded, &self.valid)
    }
}

/// A linear scorer pointing away from the hidden direction, so training has work to do.
fn bad_start(hidden: &[f32]) -> Linear<Ad> {
    let device = Default::default();
    let mut model = LinearConfig::new(FEATURES, 1).init::<Ad>(&device);
    let norm = hidden.iter().map(|v| v * v).sum::<f32>().sqrt();
    let mut weights: Vec<f32> = hidden.iter().map(|v| -0.3 * v / norm).collect();
    weights[0] += 0.4;
    model.weight = Param::from_tensor(Tensor::from_data(
        TensorData::new(weights, [FEATURES, 1]),
        &device,
    ));
    model
}

fn train(loss: &Loss, task: &RankingTask, mut model: Linear<Ad>) -> Linear<Ad> {
    let mut optimizer = AdamConfig::new().init::<Ad, Linear<Ad>>();
    let labels = if loss.name() == "bce" {
        &task.binary
    } else {
        &task.graded
    };
    for _ in 0..STEPS {
        let input = LossInput::from_scores(task.scores(&model))
            .with_labels(matrix(labels))
            .with_teacher_scores(matrix(&task.true_scores))
            .with_valid_mask(mask(&task.valid));
        let value = loss.compute(&input).expect("loss computes");
        let grads = GradientsParams::from_grads(value.backward(), &model);
        model = optimizer.step(LEARNING_RATE, model, grads);
    }
    model
}

#[test]
fn a_linear_scorer_learns_to_rank_with_every_group_loss() {
    let mut rng = Rng::new(2024);
    let hidden: Vec<f32> = rng.normal_rows(1, FEATURES).remove(0);
    let train_task = RankingTask::new(&mut rng, &hidden, 32);
    let test_task = RankingTask::new(&mut rng, &hidden, 64);
    let before = test_task.ndcg(&bad_start(&hidden));
    assert!(before < 0.75, "the start should be poor, nDCG {before}");
    for config in [
        r#"{"loss": "bce"}"#,
        r#"{"loss": "mse"}"#,
        r#"{"loss": "margin_ranking"}"#,
        r#"{"loss": "ranknet"}"#,
        r#"{"loss": "listnet"}"#,
        r#"{"loss": "listmle"}"#,
        r#"{"loss": "lambda_loss"}"#,
        r#"{"loss": "lambda_loss", "weighting": "lambda_rank", "k": 3}"#,
        r#"{"loss": "margin_mse"}"#,
        r#"{"loss": "distill_kl", "temperature": 2.0}"#,
    ] {
        let loss = build(config);
        let model = train(&loss, &train_task, bad_start(&hidden));
        let after = test_task.ndcg(&model);
        eprintln!("{config}: held-out nDCG {before:.3} -> {after:.3}");
        assert!(
            after >= 0.9 && after >= before + 0.2,
            "{config}: nDCG {before:.3} -> {after:.3}"
        );
    }
}

#[derive(Module, Debug)]
struct BiEncoder<B: Backend> {
    query: Linear<B>,
    document: Linear<B>,
}

fn random_linear(rng: &mut Rng) -> Linear<Ad> {
    let device = Default::default();
    let mut layer = LinearConfig::new(FEATURES, FEATURES)
        .with_bias(false)
        .init::<Ad>(&device);
    let weights: Vec<f32> = rng.normal_rows(FEATURES, FEATURES).concat();
    layer.weight = Param::from_tensor(Tensor::from_data(
        TensorData::new(weights, [FEATURES, FEATURES]),
        &device,
    ));
    layer
}

/// Recall-style nDCG of the bi-encoder: each query ranks all documents of the pool by cosine
/// similarity; one relevant document.
fn retrieval_ndcg(model: &BiEncoder<Ad>, queries: &[Vec<f32>], documents: &[Vec<f32>]) -> f32 {
    let encode = |layer: &Linear<Ad>, rows: &[Vec<f32>]| {
        let x = layer.forward(matrix::<Ad>(rows));
        let norm = x.clone().square().sum_dim(1).sqrt();
        x / norm
    };
    let similarity =
        encode(&model.query, queries).matmul(encode(&model.document, documents).transpose());
    let n = documents.len();
    let flat = values(similarity);
    let scores: Vec<Vec<f32>> = flat.chunks(n).map(<[f32]>::to_vec).collect();
    let labels: Vec<Vec<f32>> = (0..queries.len())
        .map(|q| (0..n).map(|d| if d == q { 1.0 } else { 0.0 }).collect())
        .collect();
    mean_ndcg(&scores, &labels, &vec![vec![true; n]; queries.len()])
}

#[test]
fn a_bi_encoder_learns_to_retrieve_with_infonce() {
    let mut rng = Rng::new(77);
    // Queries are a fixed linear distortion of their document plus noise.
    let distortion = rng.normal_rows(FEATURES, FEATURES);
    let pairs = |rng: &mut Rng, n: usize| -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
        let documents = rng.normal_rows(n, FEATURES);
        let queries = documents
            .iter()
            .map(|d| {
                (0..FEATURES)
                    .map(|i| {
                        (0..FEATURES).map(|j| distortion[i][j] * d[j]).sum::<f32>()
                            + 0.1 * rng.normal()
                    })
                    .collect()
            })
            .collect();
        (queries, documents)
    };
    let (train_queries, train_documents) = pairs(&mut rng, 256);
    let (test_queries, test_documents) = pairs(&mut rng, 64);
    for config in [
        r#"{"loss": "infonce"}"#,
        r#"{"loss": "infonce", "symmetric": true, "temperature": 0.1}"#,
    ] {
        let loss = build(config);
        let mut model = BiEncoder {
            query: random_linear(&mut Rng::new(5)),
            document: random_linear(&mut Rng::new(6)),
        };
        let before = retrieval_ndcg(&model, &test_queries, &test_documents);
        let mut optimizer = AdamConfig::new().init::<Ad, BiEncoder<Ad>>();
        let mut batch_rng = Rng::new(8);
        for _ in 0..STEPS {
            let batch: Vec<usize> = (0..16).map(|_| batch_rng.below(256)).collect();
            let negatives: Vec<usize> = (0..16).map(|_| batch_rng.below(256)).collect();
            let pick = |rows: &[Vec<f32>], ids: &[usize]| -> Vec<Vec<f32>> {
                ids.iter().map(|&i| rows[i].clone()).collect()
            };
            let input = LossInput::from_embeddings(
                model.query.forward(matrix(&pick(&train_queries, &batch))),
                model
                    .document
                    .forward(matrix(&pick(&train_documents, &batch))),
            )
            .with_flat_negatives(
                model
                    .document
                    .forward(matrix(&pick(&train_documents, &negatives))),
            );
            let value = loss.compute(&input).expect("loss computes");
            let grads = GradientsParams::from_grads(value.backward(), &model);
            model = optimizer.step(LEARNING_RATE, model, grads);
        }
        let after = retrieval_ndcg(&model, &test_queries, &test_documents);
        eprintln!("{config}: held-out retrieval nDCG {before:.3} -> {after:.3}");
        assert!(
            after >= 0.8 && after >= before + 0.3,
            "{config}: nDCG {before:.3} -> {after:.3}"
        );
    }
}
