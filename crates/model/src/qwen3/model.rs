//! transformers' `Qwen3ForCausalLM` from [`crate::layers`], for scoring at the last position:
//! token embedding, then per layer `x + attn(rms(x))` and `x + swiglu(rms(x))`, a final RMSNorm,
//! and the LM head's rows of the scored tokens only.
//!
//! Attention ([`Qwen3Attention`]): `q_proj` / `k_proj` / `v_proj` to `heads` query and
//! `kv_heads` key/value heads of `head_dim` (grouped-query attention), an RMSNorm over each
//! head's `head_dim` values of queries (`q_norm`) and keys (`k_norm`) **before** the rotary
//! positions (θ = `rope_theta`), causal masks over a left-padded batch ([`CausalMasks`]),
//! `o_proj`. Parameter paths are the checkpoint's names (`model.layers.N.self_attn.q_proj`,
//! `model.layers.N.mlp.gate_proj`, …) but for the projections, one level down.
//!
//! A Gemma body is the same with no q/k norms, GeGLU (tanh GELU), embeddings times `√hidden`,
//! and norm gains `1 + weight` (added at load, [`super::io`]).
//!
//! Each layer may carry LoRA branches on its seven projections ([`Qwen3LayerLora`], attached,
//! loaded, saved and merged by [`super::lora`]); a layer without them runs the plain path.

use burn::module::{Module, Param};
use burn::nn::{Embedding, EmbeddingConfig};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};

use super::config::Qwen3Config;
use super::lora::Qwen3LayerLora;
use crate::bert::BertInput;
use crate::layers::{
    adapted, CausalMasks, GroupedQueryAttention, LoraConfig, RmsNorm, Rotary, SwiGlu,
};

/// `self_attn` of a Qwen3 layer: the grouped-query attention and its per-head norms (in the
/// checkpoint `self_attn.q_norm` / `self_attn.k_norm`; here beside the projections).
#[derive(Module, Debug)]
pub struct Qwen3Attention<B: Backend> {
    pub attention: GroupedQueryAttention<B>,
    /// Qwen3's; none in Gemma.
    pub q_norm: Option<RmsNorm<B>>,
    pub k_norm: Option<RmsNorm<B>>,
}

impl<B: Backend> Qwen3Attention<B> {
    fn new(config: &Qwen3Config, device: &B::Device) -> Self {
        let d = config.head_dim();
        Self {
            attention: GroupedQueryAttention::new(
                config.hidden_size,
                config.num_attention_heads,
                config.kv_heads(),
                d,
                config.attention_bias,
                device,
            ),
            q_norm: config
                .qk_norm()
                .then(|| RmsNorm::new(d, config.rms_norm_eps, device)),
            k_norm: config
                .qk_norm()
                .then(|| RmsNorm::new(d, config.rms_norm_eps, device)),
        }
    }

    /// The per-head RMSNorm of `x: [batch, seq, heads · head_dim]`.
    fn head_norm(norm: &Option<RmsNorm<B>>, x: Tensor<B, 3>, head_dim: usize) -> Tensor<B, 3> {
        let Some(norm) = norm else {
            return x;
        };
        let [batch, seq, width] = x.dims();
        norm.forward(x.reshape([batch, seq, width / head_dim, head_dim]))
            .reshape([batch, seq, width])
    }

    fn forward(
        &self,
        x: Tensor<B, 3>,
        masks: &CausalMasks<B>,
        lora: Option<&Qwen3LayerLora<B>>,
    ) -> Tensor<B, 3> {
        let d = self.attention.head_dim();
        let a = &self.attention;
        let (q, k, v) = match lora {
            None => a.project(x),
            Some(l) => (
                adapted(&a.q_proj, l.q_proj.as_ref(), x.clone()),
                adapted(&a.k_proj, l.k_proj.as_ref(), x.clone()),
                adapted(&a.v_proj, l.v_proj.as_ref(), x),
            ),
        };
        let q = masks.rotate(Self::head_norm(&self.q_norm, q, d));
        let k = masks.rotate(Self::head_norm(&self.k_norm, k, d));
        match lora {
            None => a.attend((q, k, v), masks),
            Some(l) => adapted(&a.o_proj, l.o_proj.as_ref(), a.context((q, k, v), masks)),
        }
    }
}

/// One pre-norm decoder layer.
#[derive(Module, Debug)]
pub struct Qwen3DecoderLayer<B: Backend> {
    pub self_attn: Qwen3Attention<B>,
    pub mlp: SwiGlu<B>,
    pub input_layernorm: RmsNorm<B>,
    pub post_attention_layernorm: RmsNorm<B>,
    /// LoRA branches of this layer's projections, if any.
    pub lora: Option<Qwen3LayerLora<B>>,
}

impl<B: Backend> Qwen3DecoderLayer<B> {
    fn forward(&self, x: Tensor<B, 3>, masks: &CausalMasks<B>) -> Tensor<B, 3> {
        let lora = self.lora.as_ref();
        let x = x.clone()
            + self
                .self_attn
                .forward(self.input_layernorm.forward(x), masks, lora);
        let h = self.post_attention_layernorm.forward(x.clone());
        let mlp = match lora {
            None => self.mlp.forward(h),
            Some(l) => {
                let m = &self.mlp;
                let gate = adapted(&m.gate_proj, l.gate_proj.as_ref(), h.clone());
                let up = adapted(&m.up_proj, l.up_proj.as_ref(), h);
                adapted(&m.down_proj, l.down_proj.as_ref(), m.gated(gate, up))
            }
        };
        x + mlp
    }
}

/// `model.` of the checkpoint: embeddings, layers, final norm.
#[derive(Module, Debug)]
pub struct Qwen3Model<B: Backend> {
    pub embed_tokens: Embedding<B>,
    pub layers: Vec<Qwen3DecoderLayer<B>>,
    pub norm: RmsNorm<B>,
}

/// `lm_head` when the checkpoint has its own: `[vocab, hidden]`, PyTorch's layout.
#[derive(Module, Debug)]
pub struct LmHead<B: Backend> {
    pub weight: Param<Tensor<B, 2>>,
}

/// transformers' `Qwen3ForCausalLM`, without the full-vocabulary LM head product.
#[derive(Module, Debug)]
pub struct Qwen3ForCausalLM<B: Backend> {
    pub model: Qwen3Model<B>,
    /// `None` when tied (the embedding is the head).
    pub lm_head: Option<LmHead<B>>,
    pub rotary: Rotary,
    /// Gemma's `√hidden` on the embeddings.
    #[module(skip)]
    embedding_scale: Option<f32>,
    /// The settings of the LoRA branches the layers carry (none: no adapter).
    #[module(skip)]
    pub(crate) lora_config: Option<LoraConfig>,
}

impl<B: Backend> Qwen3ForCausalLM<B> {
    /// A randomly initialised model (weights are normally loaded over it), with its own
    /// `lm_head` when `own_lm_head`.
    pub fn new(config: &Qwen3Config, own_lm_head: bool, device: &B::Device) -> Self {
        Self {
            model: Qwen3Model {
                embed_tokens: EmbeddingConfig::new(config.vocab_size, config.hidden_size)
                    .init(device),
                layers: (0..config.num_hidden_layers)
                    .map(|_| Qwen3DecoderLayer {
                        self_attn: Qwen3Attention::new(config, device),
                        mlp: if config.is_gemma() {
                            SwiGlu::new_gelu_tanh(
                                config.hidden_size,
                                config.intermediate_size,
                                device,
                            )
                        } else {
                            SwiGlu::new(config.hidden_size, config.intermediate_size, device)
                        },
                        input_layernorm: RmsNorm::new(
                            config.hidden_size,
                            config.rms_norm_eps,
                            device,
                        ),
                        post_attention_layernorm: RmsNorm::new(
                            config.hidden_size,
                            config.rms_norm_eps,
                            device,
                        ),
                        lora: None,
                    })
                    .collect(),
                norm: RmsNorm::new(config.hidden_size, config.rms_norm_eps, device),
            },
            lm_head: own_lm_head.then(|| LmHead {
                weight: Param::from_tensor(Tensor::zeros(
                    [config.vocab_size, config.hidden_size],
                    device,
                )),
            }),
            rotary: Rotary::new(config.rope_theta(), config.head_dim()),
            embedding_scale: config.embedding_scale(),
            lora_config: None,
        }
    }

    fn embed(&self, ids: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        let x = self.model.embed_tokens.forward(ids);
        match self.embedding_scale {
            Some(scale) => x * scale,
            None => x,
        }
    }

    /// The masks of a batch of `lengths`, left padded to `seq`.
    pub fn masks(&self, lengths: &[usize], seq: usize, device: &B::Device) -> CausalMasks<B> {
        CausalMasks::left_padded(lengths, seq, &self.rotary, device)
    }

    /// The embedding output, each layer's output, then the final-normed output
    /// (`layers + 2` states, `[batch, seq, hidden]`) of left-padded `ids`.
    pub fn hidden_states(
        &self,
        ids: Tensor<B, 2, Int>,
        masks: &CausalMasks<B>,
    ) -> Vec<Tensor<B, 3>> {
        let mut x = self.embed(ids);
        let mut states = vec![x.clone()];
        for layer in &self.model.layers {
            x = layer.forward(x, masks);
            states.push(x.clone());
        }
        states.push(self.model.norm.forward(x));
        states
    }

    /// The final-normed state of the last column, `[batch, hidden]`.
    pub fn last_hidden(&self, ids: Tensor<B, 2, Int>, masks: &CausalMasks<B>) -> Tensor<B, 2> {
        let mut x = self.embed(ids);
        for layer in &self.model.layers {
            x = layer.forward(x, masks);
        }
        let [batch, seq, hidden] = x.dims();
        self.model
            .norm
            .forward(x.narrow(1, seq - 1, 1).reshape([batch, hidden]))
    }

    /// The LM head's rows of `tokens`, `[tokens, hidden]`.
    pub fn head_rows(&self, tokens: &[u32]) -> Tensor<B, 2> {
        let weight = match &self.lm_head {
            Some(head) => head.weight.val(),
            None => self.model.embed_tokens.weight.val(),
        };
        let device = weight.device();
        let ids: Vec<i64> = tokens.iter().map(|&t| t as i64).collect();
        weight.select(
            0,
            Tensor::<B, 1, Int>::from_data(TensorData::new(ids, [tokens.len()]), &device),
        )
    }

    /// The logits of the tokens whose LM head rows are `rows` (`[tokens, hidden]`, from
    /// [`Self::head_rows`]) at each row's last token: a right-padded `input` (the shared
    /// batching's layout) is moved to left padding first. `[batch, tokens]`.
    pub fn last_logits(&self, input: &BertInput<B>, rows: &Tensor<B, 2>) -> Tensor<B, 2> {
        let device = input.input_ids.device();
        let (ids, lengths, seq) = left_pad(input);
        let masks = self.masks(&lengths, seq, &device);
        let ids =
            Tensor::<B, 2, Int>::from_data(TensorData::new(ids, [lengths.len(), seq]), &device);
        self.last_hidden(ids, &masks)
            .matmul(rows.clone().transpose())
    }
}

/// A right-padded batch's ids moved to left padding (pad id 0: padding keys are masked), each
/// row's length, and the width.
pub fn left_pad<B: Backend>(input: &BertInput<B>) -> (Vec<i64>, Vec<usize>, usize) {
    let [batch, seq] = input.input_ids.dims();
    let ids: Vec<i64> = input
        .input_ids
        .clone()
        .into_data()
        .convert::<i64>()
        .into_vec()
        .expect("int ids");
    let padding: Vec<bool> = input
        .padding_mask
        .clone()
        .into_data()
        .into_vec()
        .expect("bool mask");
    let mut out = vec![0i64; batch * seq];
    let mut lengths = Vec::with_capacity(batch);
    for row in 0..batch {
        let n = (0..seq).filter(|&c| !padding[row * seq + c]).count();
        out[row * seq + seq - n..(row + 1) * seq].copy_from_slice(&ids[row * seq..row * seq + n]);
        lengths.push(n);
    }
    (out, lengths, seq)
}
