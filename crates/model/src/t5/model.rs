//! The T5 encoder–decoder (transformers' `modeling_t5.py`) built from [`crate::layers`], with
//! the checkpoint's module names (`SelfAttention`, `EncDecAttention`, `DenseReluDense` and the
//! `layer.N` lists are renamed on load, see [`super::io`]):
//!
//! - a shared embedding (`shared`) feeds both stacks (no position embeddings, no scaling);
//! - each stack: N pre-norm blocks, then `final_layer_norm` (RMS, no mean or bias) and dropout;
//! - a block: `x + SelfAttention(layer_norm(x))`, in the decoder `x + EncDecAttention(
//!   layer_norm(x), encoder output)`, then `x + DenseReluDense(layer_norm(x))`;
//! - attention: `q`, `k`, `v`, `o` without biases, no `1/√d` scaling of `q·kᵀ`, plus a relative
//!   position bias that the first block of each stack owns (`relative_attention_bias`) and the
//!   later ones share: bidirectional buckets in the encoder, causal ones in the decoder, none in
//!   cross-attention;
//! - `DenseReluDense`: `wo(act(wi(x)))` (`"relu"`: original T5, monoT5) or
//!   `wo(act(wi_0(x)) ⊙ wi_1(x))` (`"gated-gelu"`: v1.1, mT5, with `gelu_new`);
//! - the LM head: `lm_head.weight` when the checkpoint has it, else the shared embedding; the
//!   decoder's output is scaled by `d_model^-0.5` before it when `tie_word_embeddings` is true
//!   (transformers' `scale_decoder_outputs`), not when false. Only the rows of the scored
//!   tokens are ever multiplied ([`T5ForConditionalGeneration::token_logits`]).

use burn::module::{Module, Param};
use burn::nn::{Embedding, EmbeddingConfig};
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Int, Tensor, TensorData};

use super::config::{FeedForwardKind, T5Config};
use crate::bert::BertInput;
use crate::layers::{
    attention_bias, Activation, BiasedAttention, Dropout, Linear, RelativePositionBias, RmsNorm,
};

/// `DenseReluDense`: `wi` (plain) or `wi_0` / `wi_1` (gated), then `wo`.
#[derive(Module, Debug)]
pub struct T5FeedForward<B: Backend> {
    pub wi: Option<Linear<B>>,
    pub wi_0: Option<Linear<B>>,
    pub wi_1: Option<Linear<B>>,
    pub wo: Linear<B>,
    pub dropout: Dropout,
    #[module(skip)]
    activation: Activation,
}

impl<B: Backend> T5FeedForward<B> {
    pub fn new(
        d_model: usize,
        d_ff: usize,
        kind: FeedForwardKind,
        dropout: f64,
        device: &B::Device,
    ) -> Self {
        let linear = |d_in, d_out| Linear::new_with_bias(d_in, d_out, false, device);
        Self {
            wi: (!kind.gated).then(|| linear(d_model, d_ff)),
            wi_0: kind.gated.then(|| linear(d_model, d_ff)),
            wi_1: kind.gated.then(|| linear(d_model, d_ff)),
            wo: linear(d_ff, d_model),
            dropout: Dropout::new(dropout),
            activation: kind.activation,
        }
    }

    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let hidden = match (&self.wi, &self.wi_0, &self.wi_1) {
            (Some(wi), _, _) => self.activation.forward(wi.forward(x)),
            (None, Some(wi_0), Some(wi_1)) => {
                self.activation.forward(wi_0.forward(x.clone())) * wi_1.forward(x)
            }
            _ => unreachable!("a feed-forward has wi or both wi_0 and wi_1"),
        };
        self.wo.forward(self.dropout.forward(hidden))
    }
}

/// `x + dropout(attention(layer_norm(x)))`: `T5LayerSelfAttention` / `T5LayerCrossAttention`.
#[derive(Module, Debug)]
pub struct T5LayerAttention<B: Backend> {
    pub attention: BiasedAttention<B>,
    pub layer_norm: RmsNorm<B>,
    pub dropout: Dropout,
}

impl<B: Backend> T5LayerAttention<B> {
    fn forward(
        &self,
        x: Tensor<B, 3>,
        context: Option<Tensor<B, 3>>,
        bias: &Tensor<B, 4>,
    ) -> Tensor<B, 3> {
        let attended = self
            .attention
            .forward(self.layer_norm.forward(x.clone()), context, bias);
        x + self.dropout.forward(attended)
    }
}

/// `x + dropout(DenseReluDense(layer_norm(x)))`: `T5LayerFF`.
#[derive(Module, Debug)]
pub struct T5LayerFeedForward<B: Backend> {
    pub dense_relu_dense: T5FeedForward<B>,
    pub layer_norm: RmsNorm<B>,
    pub dropout: Dropout,
}

/// One block: self-attention, cross-attention (decoder only), feed-forward.
#[derive(Module, Debug)]
pub struct T5Block<B: Backend> {
    pub self_attention: T5LayerAttention<B>,
    pub cross_attention: Option<T5LayerAttention<B>>,
    pub ff: T5LayerFeedForward<B>,
}

impl<B: Backend> T5Block<B> {
    fn forward(
        &self,
        x: Tensor<B, 3>,
        self_bias: &Tensor<B, 4>,
        cross: Option<(&Tensor<B, 3>, &Tensor<B, 4>)>,
    ) -> Tensor<B, 3> {
        let mut x = self.self_attention.forward(x, None, self_bias);
        if let (Some(layer), Some((encoded, bias))) = (&self.cross_attention, cross) {
            x = layer.forward(x, Some(encoded.clone()), bias);
        }
        let ff = &self.ff;
        let out = ff
            .dense_relu_dense
            .forward(ff.layer_norm.forward(x.clone()));
        x + ff.dropout.forward(out)
    }
}

/// `T5Stack` without its `embed_tokens` (the shared embedding is the model's).
#[derive(Module, Debug)]
pub struct T5Stack<B: Backend> {
    pub block: Vec<T5Block<B>>,
    pub final_layer_norm: RmsNorm<B>,
    pub dropout: Dropout,
    #[module(skip)]
    is_decoder: bool,
}

impl<B: Backend> T5Stack<B> {
    pub fn new(config: &T5Config, is_decoder: bool, device: &B::Device) -> Self {
        let kind = config
            .feed_forward_kind()
            .expect("a checked config has a supported feed-forward");
        let layers = if is_decoder {
            config.decoder_layers()
        } else {
            config.num_layers
        };
        let d = config.d_model;
        let eps = config.layer_norm_epsilon;
        let p = config.dropout_rate;
        let attention_layer = |relative: bool| T5LayerAttention {
            attention: BiasedAttention::new(
                d,
                config.num_heads,
                config.d_kv,
                relative.then(|| {
                    RelativePositionBias::new(
                        config.relative_attention_num_buckets,
                        config.num_heads,
                        config.relative_attention_max_distance,
                        !is_decoder,
                        device,
                    )
                }),
                p,
                device,
            ),
            layer_norm: RmsNorm::new(d, eps, device),
            dropout: Dropout::new(p),
        };
        Self {
            block: (0..layers)
                .map(|i| T5Block {
                    self_attention: attention_layer(i == 0),
                    cross_attention: is_decoder.then(|| attention_layer(false)),
                    ff: T5LayerFeedForward {
                        dense_relu_dense: T5FeedForward::new(d, config.d_ff, kind, p, device),
                        layer_norm: RmsNorm::new(d, eps, device),
                        dropout: Dropout::new(p),
                    },
                })
                .collect(),
            final_layer_norm: RmsNorm::new(d, eps, device),
            dropout: Dropout::new(p),
            is_decoder,
        }
    }

    /// The relative position bias of the first block, `[1, heads, queries, keys]`.
    fn position_bias(&self, queries: usize, keys: usize) -> Option<Tensor<B, 4>> {
        self.block
            .first()
            .and_then(|b| b.self_attention.attention.relative_attention_bias.as_ref())
            .map(|bias| bias.forward(queries, keys))
    }

    /// Embedded tokens `x` (`[batch, seq, d_model]`, `padding` `[batch, seq]`) through every
    /// block, then the final norm; `visit` sees each block's output. A decoder attends causally
    /// over `x` and, through `cross`, over the encoder's output and its padding.
    fn forward_visiting(
        &self,
        x: Tensor<B, 3>,
        padding: &Tensor<B, 2, Bool>,
        cross: Option<(&Tensor<B, 3>, &Tensor<B, 2, Bool>)>,
        mut visit: impl FnMut(&Tensor<B, 3>),
    ) -> Tensor<B, 3> {
        let seq = x.dims()[1];
        let self_bias = attention_bias(self.position_bias(seq, seq), padding, seq, self.is_decoder);
        let cross_bias = cross.map(|(_, padding)| attention_bias(None, padding, seq, false));
        let cross = cross.zip(cross_bias.as_ref()).map(|((e, _), b)| (e, b));
        let mut x = self.dropout.forward(x);
        for block in &self.block {
            x = block.forward(x, &self_bias, cross);
            visit(&x);
        }
        self.dropout.forward(self.final_layer_norm.forward(x))
    }
}

/// `lm_head` when the checkpoint has its own: `[vocab, d_model]`, PyTorch's layout.
#[derive(Module, Debug)]
pub struct LmHead<B: Backend> {
    pub weight: Param<Tensor<B, 2>>,
}

/// transformers' `T5ForConditionalGeneration`, without the full-vocabulary LM head product.
#[derive(Module, Debug)]
pub struct T5ForConditionalGeneration<B: Backend> {
    pub shared: Embedding<B>,
    pub encoder: T5Stack<B>,
    pub decoder: T5Stack<B>,
    pub lm_head: Option<LmHead<B>>,
    /// `tie_word_embeddings`: the decoder output is scaled by `d_model^-0.5`.
    #[module(skip)]
    scale_decoder_output: bool,
}

impl<B: Backend> T5ForConditionalGeneration<B> {
    /// A randomly initialised model (weights are normally loaded over it), with its own
    /// `lm_head` when `own_lm_head`.
    pub fn new(config: &T5Config, own_lm_head: bool, device: &B::Device) -> Self {
        Self {
            shared: EmbeddingConfig::new(config.vocab_size, config.d_model).init(device),
            encoder: T5Stack::new(config, false, device),
            decoder: T5Stack::new(config, true, device),
            lm_head: own_lm_head.then(|| LmHead {
                weight: Param::from_tensor(Tensor::zeros(
                    [config.vocab_size, config.d_model],
                    device,
                )),
            }),
            scale_decoder_output: config.tie_word_embeddings,
        }
    }

    pub fn d_model(&self) -> usize {
        self.shared.weight.dims()[1]
    }

    pub fn scales_decoder_output(&self) -> bool {
        self.scale_decoder_output
    }

    /// The encoder's output `[batch, seq, d_model]` (padding from `input.padding_mask`;
    /// token types are ignored).
    pub fn encode(&self, input: &BertInput<B>) -> Tensor<B, 3> {
        self.encoder_hidden_states(input)
            .pop()
            .expect("the final state")
    }

    /// Each encoder block's output, then the final-normed output (`num_layers + 1` states).
    pub fn encoder_hidden_states(&self, input: &BertInput<B>) -> Vec<Tensor<B, 3>> {
        let mut states = Vec::new();
        let x = self.shared.forward(input.input_ids.clone());
        let last = self
            .encoder
            .forward_visiting(x, &input.padding_mask, None, |s| states.push(s.clone()));
        states.push(last);
        states
    }

    /// The decoder's output `[batch, steps, d_model]` for `decoder_ids` (`[batch, steps]`)
    /// over `encoded` (`[batch, seq, d_model]`, `encoder_padding` `[batch, seq]`), scaled for
    /// the LM head as the config says.
    pub fn decode(
        &self,
        decoder_ids: Tensor<B, 2, Int>,
        encoded: &Tensor<B, 3>,
        encoder_padding: &Tensor<B, 2, Bool>,
    ) -> Tensor<B, 3> {
        let [batch, steps] = decoder_ids.dims();
        let padding = Tensor::<B, 2, Bool>::from_data(
            TensorData::new(vec![false; batch * steps], [batch, steps]),
            &decoder_ids.device(),
        );
        let x = self.shared.forward(decoder_ids);
        let out =
            self.decoder
                .forward_visiting(x, &padding, Some((encoded, encoder_padding)), |_| {});
        if self.scale_decoder_output {
            out * (self.d_model() as f64).powf(-0.5)
        } else {
            out
        }
    }

    /// The LM head's logits of `tokens` only: `hidden` `[rows, d_model]` → `[rows, tokens]`.
    pub fn token_logits(&self, hidden: Tensor<B, 2>, tokens: &[u32]) -> Tensor<B, 2> {
        let device = hidden.device();
        let ids: Vec<i64> = tokens.iter().map(|&t| t as i64).collect();
        let ids = Tensor::<B, 1, Int>::from_data(TensorData::new(ids, [tokens.len()]), &device);
        let weight = match &self.lm_head {
            Some(head) => head.weight.val(),
            None => self.shared.weight.val(),
        };
        hidden.matmul(weight.select(0, ids).transpose())
    }

    /// The LM head's logits over the whole vocabulary: `hidden` `[rows, d_model]` →
    /// `[rows, vocab]` (training's cross-entropy over the vocabulary).
    pub fn vocab_logits(&self, hidden: Tensor<B, 2>) -> Tensor<B, 2> {
        let weight = match &self.lm_head {
            Some(head) => head.weight.val(),
            None => self.shared.weight.val(),
        };
        hidden.matmul(weight.transpose())
    }

    /// One encoder pass and one decoder step from `start` (`decoder_start_token_id`): the
    /// decoder's output at the first position, scaled for the LM head, `[batch, d_model]`.
    pub fn first_step_hidden(&self, input: &BertInput<B>, start: u32) -> Tensor<B, 2> {
        let encoded = self.encode(input);
        let batch = encoded.dims()[0];
        let starts = Tensor::<B, 2, Int>::from_data(
            TensorData::new(vec![start as i64; batch], [batch, 1]),
            &encoded.device(),
        );
        let decoded = self.decode(starts, &encoded, &input.padding_mask);
        let d = decoded.dims()[2];
        decoded.reshape([batch, d])
    }

    /// The logits of `tokens` at the first output position ([`Self::first_step_hidden`]),
    /// `[batch, tokens]`.
    pub fn first_step_logits(
        &self,
        input: &BertInput<B>,
        start: u32,
        tokens: &[u32],
    ) -> Tensor<B, 2> {
        self.token_logits(self.first_step_hidden(input, start), tokens)
    }
}
