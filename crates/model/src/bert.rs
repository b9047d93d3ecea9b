//! The BERT encoder (embeddings → N post-LayerNorm transformer layers → optional pooler), with
//! field names that mirror Hugging Face's so checkpoints map onto it by a few renames
//! (`LayerNorm` → `layer_norm`, `attention.self` → `attention.self_attn`).

use burn::module::Module;
use burn::nn::{
    Dropout, DropoutConfig, Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear,
    LinearConfig,
};
use burn::tensor::activation::tanh;
use burn::tensor::backend::Backend;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Bool, Int, Tensor};

use crate::attention_softmax::masked_scaled_softmax;
use crate::config::BertConfig;

/// `linear` applied to every token of `x: [batch, seq, d_in]` as one `[batch · seq, d_in]`
/// matrix product (a view, no copy, for a contiguous `x`). burn applies a `Linear` to a 3-d input
/// as a batched product against the broadcast weight, and its weight gradient as one
/// `[d_in, d_out]` product per sequence summed afterwards: a `[batch, d_in, d_out]`
/// intermediate per layer and short products (`k = seq`). Flattened, the weight gradient is one
/// product with `k = batch · seq`, as PyTorch computes it.
fn token_linear<B: Backend>(linear: &Linear<B>, x: Tensor<B, 3>) -> Tensor<B, 3> {
    let [batch, seq, d_in] = x.dims();
    let out = crate::linear_kernel::linear(linear, x.reshape([batch * seq, d_in]));
    let d_out = out.dims()[1];
    out.reshape([batch, seq, d_out])
}

/// Token ids, segment ids and padding of one padded batch, all `[batch, seq]`.
#[derive(Debug, Clone)]
pub struct BertInput<B: Backend> {
    pub input_ids: Tensor<B, 2, Int>,
    pub token_type_ids: Tensor<B, 2, Int>,
    /// `true` at padding positions.
    pub padding_mask: Tensor<B, 2, Bool>,
}

#[derive(Module, Debug)]
pub struct BertEmbeddings<B: Backend> {
    pub word_embeddings: Embedding<B>,
    pub position_embeddings: Embedding<B>,
    pub token_type_embeddings: Embedding<B>,
    pub layer_norm: LayerNorm<B>,
    pub dropout: Dropout,
    /// The norm's ε (burn keeps `LayerNorm`'s private; the fused training op needs it).
    layer_norm_eps: f64,
}

impl<B: Backend> BertEmbeddings<B> {
    fn new(config: &BertConfig, device: &B::Device) -> Self {
        Self {
            word_embeddings: EmbeddingConfig::new(config.vocab_size, config.hidden_size)
                .init(device),
            position_embeddings: EmbeddingConfig::new(
                config.max_position_embeddings,
                config.hidden_size,
            )
            .init(device),
            token_type_embeddings: EmbeddingConfig::new(config.type_vocab_size, config.hidden_size)
                .init(device),
            layer_norm: layer_norm(config, device),
            dropout: DropoutConfig::new(config.hidden_dropout_prob).init(),
            layer_norm_eps: config.layer_norm_eps,
        }
    }

    fn forward(
        &self,
        input_ids: Tensor<B, 2, Int>,
        token_type_ids: Tensor<B, 2, Int>,
    ) -> Tensor<B, 3> {
        let [batch, seq] = input_ids.dims();
        let device = input_ids.device();
        let positions = Tensor::<B, 1, Int>::arange(0..seq as i64, &device).reshape([1, seq]);
        let words = self.word_embeddings.forward(input_ids);
        let hidden = words.dims()[2];
        let x = words
            + self.token_type_embeddings.forward(token_type_ids)
            + self
                .position_embeddings
                .forward(positions)
                .expand([batch, seq, hidden]);
        let x = crate::layer_norm::layer_norm(&self.layer_norm, self.layer_norm_eps, x);
        crate::dropout::apply(&self.dropout, x)
    }
}

#[derive(Module, Debug)]
pub struct BertSelfAttention<B: Backend> {
    pub query: Linear<B>,
    pub key: Linear<B>,
    pub value: Linear<B>,
    pub dropout: Dropout,
    num_heads: usize,
}

/// The padding of one batch in the two forms attention takes, each built at most once per
/// batch and shared by every layer.
#[derive(Debug)]
struct AttentionMasks<B: Backend> {
    /// `[batch, seq]`, `true` at padding keys (the CPU inference kernel's form).
    key_padding: Tensor<B, 2, Bool>,
    expanded: std::cell::OnceCell<Tensor<B, 4, Bool>>,
}

impl<B: Backend> AttentionMasks<B> {
    fn new(key_padding: Tensor<B, 2, Bool>) -> Self {
        Self {
            key_padding,
            expanded: std::cell::OnceCell::new(),
        }
    }

    /// `[batch, 1, seq, seq]`, `true` where a key is padding (the same for every head, so
    /// burn's attention kernels broadcast it instead of copying it per head); `bool_not` twice
    /// materialises the broadcast view into one contiguous buffer.
    fn expanded(&self) -> &Tensor<B, 4, Bool> {
        self.expanded.get_or_init(|| {
            let [batch, seq] = self.key_padding.dims();
            self.key_padding
                .clone()
                .reshape([batch, 1, 1, seq])
                .expand([batch, 1, seq, seq])
                .bool_not()
                .bool_not()
        })
    }
}

impl<B: Backend> BertSelfAttention<B> {
    fn forward(&self, x: Tensor<B, 3>, masks: &AttentionMasks<B>) -> Tensor<B, 3> {
        let [batch, seq, hidden] = x.dims();
        let head_dim = hidden / self.num_heads;
        let q = token_linear(&self.query, x.clone());
        let k = token_linear(&self.key, x.clone());
        let v = token_linear(&self.value, x);
        let training = B::ad_enabled(&q.device()) && self.dropout.prob > 0.0;
        // CPU (burn-flex, f32): one kernel that reads the heads in place, for training
        // (dropout, one autodiff op) and for inference; anything else: burn's ops below.
        let (q, k, v) = if training {
            match crate::attention_training::fused_training_attention(
                q,
                k,
                v,
                &masks.key_padding,
                self.num_heads,
                &self.dropout,
            ) {
                Ok(context) => return context,
                Err(projections) => projections,
            }
        } else {
            match crate::attention_inference::fused_self_attention(
                &q,
                &k,
                &v,
                &masks.key_padding,
                self.num_heads,
            ) {
                Some(context) => return context,
                None => (q, k, v),
            }
        };
        let split = |t: Tensor<B, 3>| {
            t.reshape([batch, seq, self.num_heads, head_dim])
                .swap_dims(1, 2)
        };
        let (q, k, v) = (split(q), split(k), split(v));
        let attention_mask = masks.expanded();
        let context = if training {
            // Training on backends without a fused attention (GPU, half precision on CPU):
            // attention-probability dropout needs the explicit softmax (one autodiff op, see
            // `attention_softmax`).
            let scores = q.matmul(k.swap_dims(2, 3));
            let mask = attention_mask
                .clone()
                .expand([batch, self.num_heads, seq, seq]);
            let scale = 1.0 / (head_dim as f64).sqrt();
            crate::dropout::apply(&self.dropout, masked_scaled_softmax(scores, mask, scale))
                .matmul(v)
        } else {
            attention(
                q,
                k,
                v,
                Some(attention_mask.clone()),
                None,
                AttentionModuleOptions::default(),
            )
        };
        context.swap_dims(1, 2).reshape([batch, seq, hidden])
    }
}

/// Dense → dropout → residual → LayerNorm: BERT's `*Output` blocks.
#[derive(Module, Debug)]
pub struct BertResidualOutput<B: Backend> {
    pub dense: Linear<B>,
    pub layer_norm: LayerNorm<B>,
    pub dropout: Dropout,
    /// The norm's ε (see [`BertEmbeddings`]).
    layer_norm_eps: f64,
}

impl<B: Backend> BertResidualOutput<B> {
    fn new(d_in: usize, config: &BertConfig, device: &B::Device) -> Self {
        Self {
            dense: LinearConfig::new(d_in, config.hidden_size).init(device),
            layer_norm: layer_norm(config, device),
            dropout: DropoutConfig::new(config.hidden_dropout_prob).init(),
            layer_norm_eps: config.layer_norm_eps,
        }
    }

    fn forward(&self, x: Tensor<B, 3>, residual: Tensor<B, 3>) -> Tensor<B, 3> {
        let x = crate::dropout::apply(&self.dropout, token_linear(&self.dense, x)) + residual;
        crate::layer_norm::layer_norm(&self.layer_norm, self.layer_norm_eps, x)
    }
}

#[derive(Module, Debug)]
pub struct BertAttention<B: Backend> {
    pub self_attn: BertSelfAttention<B>,
    pub output: BertResidualOutput<B>,
}

#[derive(Module, Debug)]
pub struct BertIntermediate<B: Backend> {
    pub dense: Linear<B>,
}

#[derive(Module, Debug)]
pub struct BertLayer<B: Backend> {
    pub attention: BertAttention<B>,
    pub intermediate: BertIntermediate<B>,
    pub output: BertResidualOutput<B>,
}

impl<B: Backend> BertLayer<B> {
    fn new(config: &BertConfig, device: &B::Device) -> Self {
        let h = config.hidden_size;
        Self {
            attention: BertAttention {
                self_attn: BertSelfAttention {
                    query: LinearConfig::new(h, h).init(device),
                    key: LinearConfig::new(h, h).init(device),
                    value: LinearConfig::new(h, h).init(device),
                    dropout: DropoutConfig::new(config.attention_probs_dropout_prob).init(),
                    num_heads: config.num_attention_heads,
                },
                output: BertResidualOutput::new(h, config, device),
            },
            intermediate: BertIntermediate {
                dense: LinearConfig::new(h, config.intermediate_size).init(device),
            },
            output: BertResidualOutput::new(config.intermediate_size, config, device),
        }
    }

    fn forward(&self, x: Tensor<B, 3>, masks: &AttentionMasks<B>) -> Tensor<B, 3> {
        let attended = self.attention.self_attn.forward(x.clone(), masks);
        let x = self.attention.output.forward(attended, x);
        let inner = crate::gelu::gelu(token_linear(&self.intermediate.dense, x.clone()));
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
            dense: LinearConfig::new(config.hidden_size, config.hidden_size).init(device),
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
    pub encoder: BertEncoder<B>,
    pub pooler: Option<BertPooler<B>>,
}

impl<B: Backend> BertModel<B> {
    /// A randomly initialised encoder (weights are normally loaded over it).
    pub fn new(config: &BertConfig, with_pooler: bool, device: &B::Device) -> Self {
        Self {
            embeddings: BertEmbeddings::new(config, device),
            encoder: BertEncoder {
                layer: (0..config.num_hidden_layers)
                    .map(|_| BertLayer::new(config, device))
                    .collect(),
            },
            pooler: with_pooler.then(|| BertPooler::new(config, device)),
        }
    }

    /// Last hidden states `[batch, seq, hidden]`.
    pub fn forward(&self, input: BertInput<B>) -> Tensor<B, 3> {
        self.forward_visiting(input, |_| {})
    }

    /// The embedding output and every layer's output (as transformers' `hidden_states`).
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
        let masks = AttentionMasks::new(input.padding_mask);
        let mut x = self
            .embeddings
            .forward(input.input_ids, input.token_type_ids);
        visit(&x);
        for layer in &self.encoder.layer {
            x = layer.forward(x, &masks);
            visit(&x);
        }
        x
    }
}

fn layer_norm<B: Backend>(config: &BertConfig, device: &B::Device) -> LayerNorm<B> {
    LayerNormConfig::new(config.hidden_size)
        .with_epsilon(config.layer_norm_eps)
        .init(device)
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
        crate::specialize::trace::taken();
        let _ = model.forward(collate::<CpuAutodiff>(&[&input()], &device));
        let taken = crate::specialize::trace::taken();
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
            crate::specialize::trace::taken(),
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
