//! The cross-encoder: `[CLS] query [SEP] document [SEP]` → BERT → pooler → dropout → linear →
//! logits, exactly `BertForSequenceClassification`.

use burn::module::{Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use rand::{rngs::StdRng, SeedableRng};
use rand_distr::{Distribution, Normal};

use crate::bert::{BertInput, BertModel, BertPooler};
use crate::config::BertConfig;
use crate::layers::{Dropout, Linear};

#[derive(Module, Debug)]
pub struct CrossEncoderModel<B: Backend> {
    pub bert: BertModel<B>,
    pub dropout: Dropout,
    pub classifier: Linear<B>,
}

impl<B: Backend> CrossEncoderModel<B> {
    /// A randomly initialised cross-encoder with `num_labels` outputs.
    pub fn new(config: &BertConfig, num_labels: usize, device: &B::Device) -> Self {
        Self {
            bert: BertModel::new(config, true, device),
            dropout: Dropout::new(config.classifier_dropout()),
            classifier: Linear::new(config.hidden_size, num_labels, device),
        }
    }

    pub fn num_labels(&self) -> usize {
        self.classifier.weight.dims()[1]
    }

    /// Logits `[batch, num_labels]`.
    pub fn forward(&self, input: BertInput<B>) -> Tensor<B, 2> {
        let hidden = self.bert.forward(input);
        let pooled = self
            .bert
            .pooler
            .as_ref()
            .expect("a cross-encoder always has a pooler")
            .forward(hidden);
        self.classifier.forward(self.dropout.forward(pooled))
    }

    /// Replaces the classification head, as transformers initialises a new one: weights drawn
    /// from N(0, `std`²) with a seeded generator (independent of the backend, so CPU and GPU get
    /// the same head), bias zero.
    pub fn reset_head(self, seed: u64, std: f64) -> Self {
        let [hidden, labels] = self.classifier.weight.dims();
        let mut rng = StdRng::seed_from_u64(seed);
        let normal = Normal::new(0.0f32, std as f32).expect("std is finite and positive");
        // burn stores Linear weights as [in, out].
        let weights: Vec<f32> = (0..hidden * labels)
            .map(|_| normal.sample(&mut rng))
            .collect();
        self.set_head(&weights, &vec![0.0; labels])
    }

    /// Sets the head from PyTorch-layout values: `weight` is `[num_labels, hidden]` row-major.
    pub fn set_head(mut self, weight_out_in: &[f32], bias: &[f32]) -> Self {
        let [hidden, labels] = self.classifier.weight.dims();
        assert_eq!(
            weight_out_in.len(),
            hidden * labels,
            "head weight has the wrong size"
        );
        assert_eq!(bias.len(), labels, "head bias has the wrong size");
        let device = self.classifier.weight.device();
        let weight = Tensor::<B, 2>::from_data(
            TensorData::new(weight_out_in.to_vec(), [labels, hidden]),
            &device,
        )
        .transpose();
        self.classifier.weight = Param::from_tensor(weight);
        self.classifier.bias = Some(Param::from_tensor(Tensor::from_data(
            TensorData::new(bias.to_vec(), [labels]),
            &device,
        )));
        self
    }

    /// Ensures a pooler exists (a bi-encoder checkpoint may lack one; transformers then
    /// initialises it randomly too).
    pub fn ensure_pooler(mut self, config: &BertConfig, device: &B::Device) -> Self {
        if self.bert.pooler.is_none() {
            self.bert.pooler = Some(BertPooler::new(config, device));
        }
        self
    }
}
