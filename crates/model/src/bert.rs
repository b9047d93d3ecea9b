//! The BERT encoder (embeddings → N post-LayerNorm transformer layers → optional pooler), built
//! from [`crate::layers`], with field names that mirror Hugging Face's so checkpoints map onto it
//! by a few renames (`LayerNorm` → `layer_norm`, `attention.self` → `attention.self_attn`).
//!
//! XLM-RoBERTa and ELECTRA run on the same body with the settings their config selects
//! ([`crate::architecture`]): XLM-RoBERTa's position ids start after `padding_idx` and it reads
//! no token types; ELECTRA's embeddings are `embedding_size` wide and `embeddings_project`
//! lifts them to the hidden width. Their weights load under `bert.` too (see `hf`).

use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig};
use burn::tensor::activation::tanh;
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Int, Tensor};

use crate::architecture::PositionScheme;
use crate::config::BertConfig;
use crate::layers::{
    Activation, AttentionMasks, Dropout, FeedForwardUp, LayerNorm, Linear, ResidualNorm,
    SelfAttention,
};

/// Token ids, segment ids and padding of one padded batch, all `[batch, seq]`.
#[derive(Debug, Clone)]
pub struct BertInput<B: Backend> {
    pub input_ids: Tensor<B, 2, Int>,
    pub token_type_ids: Tensor<B, 2, Int>,
    /// `true` at padding positions.
    pub padding_mask: Tensor<B, 2, Bool>,
}

/// Word + absolute position + segment embeddings, then LayerNorm and dropout. The width is
/// [`BertConfig::embedding_width`] (the hidden size except in ELECTRA).
#[derive(Module, Debug)]
pub struct BertEmbeddings<B: Backend> {
    pub word_embeddings: Embedding<B>,
    pub position_embeddings: Embedding<B>,
    pub token_type_embeddings: Embedding<B>,
    pub layer_norm: LayerNorm<B>,
    pub dropout: Dropout,
    /// Where position ids start (XLM-RoBERTa: after `padding_idx`).
    #[module(skip)]
    positions: PositionScheme,
    /// Whether token type ids are read (XLM-RoBERTa: no, all are 0).
    #[module(skip)]
    token_types: bool,
}

impl<B: Backend> BertEmbeddings<B> {
    fn new(config: &BertConfig, device: &B::Device) -> Self {
        let width = config.embedding_width();
        let embedding = |rows: usize| EmbeddingConfig::new(rows, width).init(device);
        Self {
            word_embeddings: embedding(config.vocab_size),
            position_embeddings: embedding(config.max_position_embeddings),
            token_type_embeddings: embedding(config.type_vocab_size),
            layer_norm: LayerNorm::new(width, config.layer_norm_eps, device),
            dropout: Dropout::new(config.hidden_dropout_prob),
            positions: config.position_scheme(),
            token_types: config.architecture.reads_token_types(),
        }
    }

    fn forward(&self, input: BertInput<B>) -> Tensor<B, 3> {
        let BertInput {
            input_ids,
            token_type_ids,
            padding_mask,
        } = input;
        let [batch, seq] = input_ids.dims();
        let device = input_ids.device();
        let positions = match self.positions {
            PositionScheme::FromZero => {
                Tensor::<B, 1, Int>::arange(0..seq as i64, &device).reshape([1, seq])
            }
            // transformers' `create_position_ids_from_input_ids`: tokens other than the padding
            // token count up from padding_idx + 1; the rest sit at padding_idx. Batch padding
            // (whatever id it holds) counts as padding.
            PositionScheme::AfterPadding { padding_idx } => {
                let counted = padding_mask
                    .bool_not()
                    .bool_and(input_ids.clone().not_equal_elem(padding_idx as i64))
                    .int();
                counted.clone().cumsum(1) * counted + padding_idx as i64
            }
        };
        let token_type_ids = if self.token_types {
            token_type_ids
        } else {
            Tensor::zeros([batch, seq], &device)
        };
        let words = self.word_embeddings.forward(input_ids);
        let width = words.dims()[2];
        let x = words
            + self.token_type_embeddings.forward(token_type_ids)
            + self
                .position_embeddings
                .forward(positions)
                .expand([batch, seq, width]);
        self.dropout.forward(self.layer_norm.forward(x))
    }
}

/// Self-attention and its output block (transformers' `BertAttention`).
#[derive(Module, Debug)]
pub struct BertAttention<B: Backend> {
    pub self_attn: SelfAttention<B>,
    pub output: ResidualNorm<B>,
}

/// One post-norm transformer layer.
#[derive(Module, Debug)]
pub struct BertLayer<B: Backend> {
    pub attention: BertAttention<B>,
    pub intermediate: FeedForwardUp<B>,
    pub output: ResidualNorm<B>,
}

impl<B: Backend> BertLayer<B> {
    fn new(config: &BertConfig, activation: Activation, device: &B::Device) -> Self {
        let (h, eps, p) = (
            config.hidden_size,
            config.layer_norm_eps,
            config.hidden_dropout_prob,
        );
        Self {
            attention: BertAttention {
                self_attn: SelfAttention::new(
                    h,
                    config.num_attention_heads,
                    config.attention_probs_dropout_prob,
                    device,
                ),
                output: ResidualNorm::new(h, h, eps, p, device),
            },
            intermediate: FeedForwardUp::new(
                Linear::new(h, config.intermediate_size, device),
                activation,
            ),
            output: ResidualNorm::new(config.intermediate_size, h, eps, p, device),
        }
    }

    fn forward(&self, x: Tensor<B, 3>, masks: &AttentionMasks<B>) -> Tensor<B, 3> {
        let attended = self.attention.self_attn.forward(x.clone(), masks);
        let x = self.attention.output.forward(attended, x);
        let inner = self.intermediate.forward(x.clone());
        self.output.forward(inner, x)
    }
}

#[derive(Module, Debug)]
pub struct BertEncoder<B: Backend> {
    pub layer: Vec<BertLayer<B>>,
}

/// `tanh(dense(h[CLS]))`.
#[derive(Module, Debug)]
pub struct BertPooler<B: Backend> {
    pub dense: Linear<B>,
}

impl<B: Backend> BertPooler<B> {
    pub fn new(config: &BertConfig, device: &B::Device) -> Self {
        Self {
            dense: Linear::new(config.hidden_size, config.hidden_size, device),
        }
    }

    /// `hidden`: `[batch, seq, hidden]` → `[batch, hidden]`.
    pub fn forward(&self, hidden: Tensor<B, 3>) -> Tensor<B, 2> {
        tanh(self.dense.forward(cls_vectors(hidden)))
    }
}

/// The first token's vector of every sequence: `[batch, seq, hidden]` → `[batch, hidden]`.
pub fn cls_vectors<B: Backend>(hidden: Tensor<B, 3>) -> Tensor<B, 2> {
    let [batch, _, width] = hidden.dims();
    hidden.narrow(1, 0, 1).reshape([batch, width])
}

#[derive(Module, Debug)]
pub struct BertModel<B: Backend> {
    pub embeddings: BertEmbeddings<B>,
    /// ELECTRA with `embedding_size` ≠ `hidden_size`: embedding width → hidden width.
    pub embeddings_project: Option<Linear<B>>,
    pub encoder: BertEncoder<B>,
    pub pooler: Option<BertPooler<B>>,
}

impl<B: Backend> BertModel<B> {
    /// A randomly initialised encoder (weights are normally loaded over it). `config` has
    /// been validated (its `hidden_act` is one [`Activation`] implements).
    pub fn new(config: &BertConfig, with_pooler: bool, device: &B::Device) -> Self {
        let activation = Activation::from_hidden_act(&config.hidden_act)
            .expect("a validated config names a supported activation");
        let width = config.embedding_width();
        Self {
            embeddings: BertEmbeddings::new(config, device),
            embeddings_project: (width != config.hidden_size)
                .then(|| Linear::new(width, config.hidden_size, device)),
            encoder: BertEncoder {
                layer: (0..config.num_hidden_layers)
                    .map(|_| BertLayer::new(config, activation, device))
                    .collect(),
            },
            pooler: with_pooler.then(|| BertPooler::new(config, device)),
        }
    }

    /// Last hidden states `[batch, seq, hidden]`.
    pub fn forward(&self, input: BertInput<B>) -> Tensor<B, 3> {
        self.forward_visiting(input, |_| {})
    }

    /// The embedding output (after `embeddings_project`, if any) and every layer's output (as
    /// transformers' `hidden_states`).
    pub fn hidden_states(&self, input: BertInput<B>) -> Vec<Tensor<B, 3>> {
        let mut states = Vec::with_capacity(self.encoder.layer.len() + 1);
        self.forward_visiting(input, |x| states.push(x.clone()));
        states
    }

    fn forward_visiting(
        &self,
        input: BertInput<B>,
        mut visit: impl FnMut(&Tensor<B, 3>),
    ) -> Tensor<B, 3> {
        let masks = AttentionMasks::new(input.padding_mask.clone());
        let mut x = self.embeddings.forward(input);
        if let Some(project) = &self.embeddings_project {
            x = project.forward(x);
        }
        visit(&x);
        for layer in &self.encoder.layer {
            x = layer.forward(x, &masks);
            visit(&x);
        }
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{Cpu, CpuAutodiff};
    use crate::inference::collate;
    use crate::Encoded;

    fn input() -> Encoded {
        Encoded {
            ids: vec![1, 5, 9, 2, 7, 3, 2],
            type_ids: vec![0, 0, 0, 0, 1, 1, 1],
        }
    }

    /// A training forward on CPU autodiff runs rankforge's fused kernels (each layer: six
    /// linear layers, the attention with dropout, two norms, GELU; plus the embeddings' norm);
    /// inference runs the inference kernels (linear layers, attention, in-place GELU) and
    /// flex's own LayerNorm.
    #[test]
    fn training_on_cpu_takes_the_fused_kernels_and_inference_does_not() {
        let device = Default::default();
        let config = BertConfig::tiny(16);
        let layers = config.num_hidden_layers;
        // The training forward draws dropout seeds: inside the RNG section, so that it never
        // lands between another test's seeding and its draws.
        let _rng = crate::backend::seeded_rng_section();
        let model = BertModel::<CpuAutodiff>::new(&config, false, &device);
        rankforge_kernels::trace::taken();
        let _ = model.forward(collate::<CpuAutodiff>(&[&input()], &device));
        let taken = rankforge_kernels::trace::taken();
        let count = |kernel: &str| taken.iter().filter(|&&k| k == kernel).count();
        assert_eq!(count("layer_norm"), 1 + 2 * layers, "{taken:?}");
        assert_eq!(count("linear"), 6 * layers, "{taken:?}");
        assert_eq!(count("attention_training"), layers, "{taken:?}");
        assert_eq!(count("gelu"), layers, "{taken:?}");
        assert_eq!(taken.len(), (2 + 6 + 1 + 1) * layers + 1, "{taken:?}");
        let inference = burn::module::AutodiffModule::valid(&model);
        let _ = inference.forward(collate::<Cpu>(&[&input()], &device));
        let linear = "linear_inference";
        assert_eq!(
            rankforge_kernels::trace::taken(),
            [
                linear,
                linear,
                linear,
                "attention_inference",
                linear,
                linear,
                "gelu_inference",
                linear
            ]
            .repeat(layers)
        );
    }
}
