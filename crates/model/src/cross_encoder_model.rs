//! The cross-encoder: `[CLS] query [SEP] document [SEP]` → encoder → score head → logits,
//! exactly transformers' `*ForSequenceClassification` of the family. [`CrossEncoderModel`] is
//! one of two bodies with their heads: [`BertCrossEncoderModel`] for the BERT family
//! ([`HeadKind`]), and ModernBERT's [`ModernBertForSequenceClassification`]. The BERT family's
//! heads:
//!
//! - BERT: pooler (`tanh(dense(h₀))`) → dropout → `classifier`;
//! - XLM-RoBERTa: dropout → `classifier.dense` → tanh → dropout → `classifier.out_proj`;
//! - ELECTRA: the same with GELU.
//!
//! One head type covers all three: `classifier` is always the output projection (BERT's
//! `classifier`, the others' `classifier.out_proj`) and `head_dense` the others'
//! `classifier.dense`, whose place BERT's pooler takes.

use burn::module::{Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use rand::{rngs::StdRng, SeedableRng};
use rand_distr::{Distribution, Normal};

pub use crate::architecture::HeadKind;
use crate::bert::{cls_vectors, BertInput, BertModel, BertPooler};
use crate::config::BertConfig;
use crate::encoder_config::EncoderConfig;
use crate::layers::{Dropout, Linear};
use crate::modernbert::ModernBertForSequenceClassification;

/// A cross-encoder's trainable part: an encoder body and its score head. burn sees the variant
/// as one more level of the module tree (`Bert.bert.encoder…`); weights are loaded and saved
/// per variant with the checkpoint's own names (see [`crate::hf`], [`crate::modernbert`]).
#[derive(Module, Debug)]
pub enum CrossEncoderModel<B: Backend> {
    /// BERT, XLM-RoBERTa or ELECTRA.
    Bert(BertCrossEncoderModel<B>),
    ModernBert(ModernBertForSequenceClassification<B>),
}

impl<B: Backend> From<BertCrossEncoderModel<B>> for CrossEncoderModel<B> {
    fn from(model: BertCrossEncoderModel<B>) -> Self {
        CrossEncoderModel::Bert(model)
    }
}

impl<B: Backend> From<ModernBertForSequenceClassification<B>> for CrossEncoderModel<B> {
    fn from(model: ModernBertForSequenceClassification<B>) -> Self {
        CrossEncoderModel::ModernBert(model)
    }
}

impl<B: Backend> CrossEncoderModel<B> {
    /// A randomly initialised cross-encoder of the config's body with `num_labels` outputs.
    pub fn new(config: &EncoderConfig, num_labels: usize, device: &B::Device) -> Self {
        match config {
            EncoderConfig::Bert(c) => BertCrossEncoderModel::new(c, num_labels, device).into(),
            EncoderConfig::ModernBert(c) => {
                ModernBertForSequenceClassification::new(c, num_labels, device).into()
            }
        }
    }

    pub fn num_labels(&self) -> usize {
        match self {
            CrossEncoderModel::Bert(m) => m.num_labels(),
            CrossEncoderModel::ModernBert(m) => m.num_labels(),
        }
    }

    /// Logits `[batch, num_labels]`.
    pub fn forward(&self, input: BertInput<B>) -> Tensor<B, 2> {
        match self {
            CrossEncoderModel::Bert(m) => m.forward(input),
            CrossEncoderModel::ModernBert(m) => m.forward(input),
        }
    }

    /// A new classification head drawn from N(0, `std`²) with a seeded generator, biases zero
    /// (see [`BertCrossEncoderModel::reset_head`]).
    pub fn reset_head(self, seed: u64, std: f64) -> Self {
        match self {
            CrossEncoderModel::Bert(m) => m.reset_head(seed, std).into(),
            CrossEncoderModel::ModernBert(m) => m.reset_head(seed, std).into(),
        }
    }

    /// Sets the output projection from PyTorch-layout values (`weight` is `[num_labels,
    /// hidden]` row-major).
    pub fn set_head(self, weight_out_in: &[f32], bias: &[f32]) -> Self {
        match self {
            CrossEncoderModel::Bert(m) => m.set_head(weight_out_in, bias).into(),
            CrossEncoderModel::ModernBert(mut m) => {
                m.classifier = set_output_projection(&m.classifier, weight_out_in, bias);
                m.into()
            }
        }
    }

    /// The BERT-family model, if this is one.
    pub fn as_bert(&self) -> Option<&BertCrossEncoderModel<B>> {
        match self {
            CrossEncoderModel::Bert(m) => Some(m),
            CrossEncoderModel::ModernBert(_) => None,
        }
    }

    pub fn as_bert_mut(&mut self) -> Option<&mut BertCrossEncoderModel<B>> {
        match self {
            CrossEncoderModel::Bert(m) => Some(m),
            CrossEncoderModel::ModernBert(_) => None,
        }
    }

    /// The ModernBERT model, if this is one.
    pub fn as_modernbert(&self) -> Option<&ModernBertForSequenceClassification<B>> {
        match self {
            CrossEncoderModel::ModernBert(m) => Some(m),
            CrossEncoderModel::Bert(_) => None,
        }
    }

    pub fn as_modernbert_mut(&mut self) -> Option<&mut ModernBertForSequenceClassification<B>> {
        match self {
            CrossEncoderModel::ModernBert(m) => Some(m),
            CrossEncoderModel::Bert(_) => None,
        }
    }
}

/// A BERT-family cross-encoder (`BertForSequenceClassification`,
/// `XLMRobertaForSequenceClassification`, `ElectraForSequenceClassification`).
#[derive(Module, Debug)]
pub struct BertCrossEncoderModel<B: Backend> {
    /// The encoder (with BERT's pooler), under `bert.` whatever the family.
    pub bert: BertModel<B>,
    /// [`HeadKind::Dense`]: the head's hidden layer (`classifier.dense` in the checkpoint).
    pub head_dense: Option<Linear<B>>,
    pub dropout: Dropout,
    /// The output projection, `[hidden] → [num_labels]`.
    pub classifier: Linear<B>,
    #[module(skip)]
    head: HeadKind,
}

impl<B: Backend> BertCrossEncoderModel<B> {
    /// A randomly initialised cross-encoder with `num_labels` outputs and the head of the
    /// config's family.
    pub fn new(config: &BertConfig, num_labels: usize, device: &B::Device) -> Self {
        let head = config.architecture.head();
        let hidden = config.hidden_size;
        let dense_head = matches!(head, HeadKind::Dense(_));
        Self {
            bert: BertModel::new(config, !dense_head, device),
            head_dense: dense_head.then(|| Linear::new(hidden, hidden, device)),
            dropout: Dropout::new(config.classifier_dropout()),
            classifier: Linear::new(hidden, num_labels, device),
            head,
        }
    }

    /// Which score head this model has.
    pub fn head(&self) -> HeadKind {
        self.head
    }

    pub fn num_labels(&self) -> usize {
        self.classifier.weight.dims()[1]
    }

    /// Logits `[batch, num_labels]`.
    pub fn forward(&self, input: BertInput<B>) -> Tensor<B, 2> {
        let hidden = self.bert.forward(input);
        let features = match self.head {
            HeadKind::Pooler => self
                .bert
                .pooler
                .as_ref()
                .expect("a BERT cross-encoder always has a pooler")
                .forward(hidden),
            HeadKind::Dense(activation) => {
                let dense = self
                    .head_dense
                    .as_ref()
                    .expect("a dense head always has its dense layer");
                let first = self.dropout.forward(cls_vectors(hidden));
                activation.forward(dense.forward(first))
            }
        };
        self.classifier.forward(self.dropout.forward(features))
    }

    /// Replaces the classification head, as transformers initialises a new one: weights drawn
    /// from N(0, `std`²) with a seeded generator (independent of the backend, so CPU and GPU get
    /// the same head), biases zero. A dense head draws `classifier.dense` first, then the output
    /// projection; BERT's pooler is the encoder's and stays.
    pub fn reset_head(mut self, seed: u64, std: f64) -> Self {
        let [hidden, labels] = self.classifier.weight.dims();
        let mut rng = StdRng::seed_from_u64(seed);
        let normal = Normal::new(0.0f32, std as f32).expect("std is finite and positive");
        let mut draw = |n: usize| -> Vec<f32> { (0..n).map(|_| normal.sample(&mut rng)).collect() };
        if let Some(dense) = self.head_dense.take() {
            let [d_in, d_out] = dense.weight.dims();
            self.head_dense = Some(linear_from_pytorch(
                &draw(d_in * d_out),
                &vec![0.0; d_out],
                [d_out, d_in],
                &dense.weight.device(),
            ));
        }
        let weights = draw(hidden * labels);
        self.set_head(&weights, &vec![0.0; labels])
    }

    /// Sets the head from PyTorch-layout values: `weight` is `[num_labels, hidden]` row-major.
    pub fn set_head(mut self, weight_out_in: &[f32], bias: &[f32]) -> Self {
        self.classifier = set_output_projection(&self.classifier, weight_out_in, bias);
        self
    }

    /// Ensures a BERT head's pooler exists (a bi-encoder checkpoint may lack one; transformers
    /// then initialises it randomly too). Other heads have no pooler.
    pub fn ensure_pooler(mut self, config: &BertConfig, device: &B::Device) -> Self {
        if self.head == HeadKind::Pooler && self.bert.pooler.is_none() {
            self.bert.pooler = Some(BertPooler::new(config, device));
        }
        self
    }
}

/// A layer of `layer`'s shape with PyTorch-layout values: `weight` is `[out, in]` row-major.
pub(crate) fn set_output_projection<B: Backend>(
    layer: &Linear<B>,
    weight_out_in: &[f32],
    bias: &[f32],
) -> Linear<B> {
    let [hidden, labels] = layer.weight.dims();
    assert_eq!(
        weight_out_in.len(),
        hidden * labels,
        "head weight has the wrong size"
    );
    assert_eq!(bias.len(), labels, "head bias has the wrong size");
    let device = layer.weight.device();
    linear_from_pytorch(weight_out_in, bias, [labels, hidden], &device)
}

/// A linear layer from PyTorch-layout values: `weight` is `[out, in]` row-major.
pub(crate) fn linear_from_pytorch<B: Backend>(
    weight_out_in: &[f32],
    bias: &[f32],
    [d_out, d_in]: [usize; 2],
    device: &B::Device,
) -> Linear<B> {
    let weight = Tensor::<B, 2>::from_data(
        TensorData::new(weight_out_in.to_vec(), [d_out, d_in]),
        device,
    )
    .transpose();
    Linear {
        weight: Param::from_tensor(weight),
        bias: Some(Param::from_tensor(Tensor::from_data(
            TensorData::new(bias.to_vec(), [d_out]),
            device,
        ))),
    }
}
